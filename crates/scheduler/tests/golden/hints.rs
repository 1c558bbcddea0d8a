//! What would make a pod fit: each hint checked by scheduling again with the change, with
//! the snapshot's values, and no hint where the change would not help.

use serde_json::{Value, json};

use intel_scheduler::hints::{Hint, what_would_fit};
use intel_scheduler::{PodInfo, simulate};

use super::V131;
use super::common::{cluster, node, node_with, pod_with, running};

fn hints(objects: Vec<Value>, pod: Value) -> Vec<Hint> {
    let mut c = cluster(V131, objects);
    let pod = PodInfo::from_pod(&serde_json::from_value(pod).unwrap());
    let v = simulate(&c, &pod);
    let before = format!("{:?}", c.nodes);
    let h = what_would_fit(&mut c, &pod, &v);
    assert_eq!(
        format!("{:?}", c.nodes),
        before,
        "hints leave the cluster as it was"
    );
    h
}

fn tainted(name: &str, key: &str, value: &str, cpu: &str) -> Value {
    node_with(
        name,
        cpu,
        "8Gi",
        json!({"spec": {"taints": [{"key": key, "value": value, "effect": "NoSchedule"}]}}),
    )
}

#[test]
fn tolerate_the_taint_that_keeps_it_out() {
    let h = hints(
        vec![tainted("gpu-1", "dedicated", "gpu", "4")],
        pod_with("web", "1", "1Gi", json!({})),
    );
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[0].change, "add the toleration dedicated=gpu:NoSchedule");
    assert_eq!(h[0].effect, "fits on 1 node(s)");
    // Near miss: the tainted node is also too small — tolerating alone does not help, so
    // no toleration is suggested; the resources are.
    let h = hints(
        vec![tainted("gpu-1", "dedicated", "gpu", "500m")],
        pod_with("web", "1", "1Gi", json!({})),
    );
    assert!(h.iter().all(|x| !x.change.contains("toleration")), "{h:?}");
    // A system taint fits, but says what those nodes are for.
    let h = hints(
        vec![tainted(
            "cp-1",
            "node-role.kubernetes.io/control-plane",
            "",
            "4",
        )],
        pod_with("web", "1", "1Gi", json!({})),
    );
    assert_eq!(
        h[0].change,
        "add the toleration node-role.kubernetes.io/control-plane:NoSchedule"
    );
    assert!(
        h[0].effect.contains("reserved for system components"),
        "{h:?}"
    );
}

#[test]
fn uncordon_and_labels() {
    let cordoned = node_with("n1", "4", "8Gi", json!({"spec": {"unschedulable": true}}));
    let h = hints(vec![cordoned], pod_with("web", "1", "1Gi", json!({})));
    assert_eq!(h[0].change, "uncordon node n1 (kubectl uncordon n1)");
    let h = hints(
        vec![node("n1", "4", "8Gi")],
        pod_with(
            "web",
            "1",
            "1Gi",
            json!({"spec": {"nodeSelector": {"disktype": "ssd"}}}),
        ),
    );
    assert_eq!(
        h[0].change,
        "no node has the label disktype=ssd: fix the nodeSelector or label a node"
    );
    assert_eq!(h[0].effect, "without it the pod fits on 1 node(s)");
    // Near miss: a label some node has is not blamed.
    let labelled = node_with(
        "n2",
        "100m",
        "8Gi",
        json!({"metadata": {"labels": {"disktype": "ssd"}}}),
    );
    let h = hints(
        vec![node("n1", "4", "8Gi"), labelled],
        pod_with(
            "web",
            "1",
            "1Gi",
            json!({"spec": {"nodeSelector": {"disktype": "ssd"}}}),
        ),
    );
    assert!(
        h.iter()
            .all(|x| !x.change.contains("no node has the label")),
        "{h:?}"
    );
}

#[test]
fn the_nearest_node_and_what_it_lacks() {
    let objects = vec![
        node("big", "4", "8Gi"),
        node("small", "2", "8Gi"),
        running("a", "3500m", "1Gi", "big"),
        running("b", "1", "1Gi", "small"),
    ];
    let h = hints(objects, pod_with("web", "1500m", "1Gi", json!({})));
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(
        h[0].change,
        "free or add capacity: the nearest node, small, lacks 500m cpu (requests 1500m, 1000m free of 2000m)"
    );
}

#[test]
fn a_pod_that_fits_needs_nothing() {
    assert!(
        hints(
            vec![node("n1", "4", "8Gi")],
            pod_with("web", "1", "1Gi", json!({}))
        )
        .is_empty()
    );
}
