//! Edge cases across the plugins, one fact each: toleration corners, the histogram with
//! several reasons per node and counts past nine, matchFields NotIn, two spread constraints,
//! what spread and affinity do not count, preemption corners, and volume corners.

use serde_json::{Value, json};

use super::common::{merge, node, node_with, pod, pod_with, running};
use super::{V131, expect};

const HOPELESS_1: &str =
    "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";

fn one(reason: &str) -> String {
    format!("0/1 nodes are available: 1 {reason}. {HOPELESS_1}")
}

fn with(patch: Value) -> Value {
    pod_with("web", "100m", "128Mi", patch)
}

#[test]
fn toleration_corners() {
    let taint = |effect: &str| {
        node_with(
            "n1",
            "4",
            "8Gi",
            json!({"spec": {"taints": [{"key": "k", "value": "v", "effect": effect}]}}),
        )
    };
    // A toleration for NoExecute does not tolerate NoSchedule.
    expect(
        "NoExecute toleration, NoSchedule taint",
        V131,
        vec![taint("NoSchedule")],
        with(
            json!({"spec": {"tolerations": [{"key": "k", "operator": "Equal", "value": "v", "effect": "NoExecute"}]}}),
        ),
        Some(&one("node(s) had untolerated taint {k: v}")),
    );
    // An empty effect tolerates NoExecute too.
    expect(
        "empty effect, NoExecute taint",
        V131,
        vec![taint("NoExecute")],
        with(json!({"spec": {"tolerations": [{"key": "k", "operator": "Exists"}]}})),
        None,
    );
    // Value mismatch with Equal and no value given.
    expect(
        "Equal without value",
        V131,
        vec![taint("NoSchedule")],
        with(json!({"spec": {"tolerations": [{"key": "k", "operator": "Equal"}]}})),
        Some(&one("node(s) had untolerated taint {k: v}")),
    );
    // The unschedulable taint tolerated by a toleration for every key.
    let cordoned = node_with("n1", "4", "8Gi", json!({"spec": {"unschedulable": true}}));
    expect(
        "cordoned, tolerate everything",
        V131,
        vec![cordoned.clone()],
        with(json!({"spec": {"tolerations": [{"operator": "Exists"}]}})),
        None,
    );
    // A cordoned node that also fails the selector reports only the cordon.
    expect(
        "cordoned and mismatched",
        V131,
        vec![cordoned],
        with(json!({"spec": {"nodeSelector": {"disk": "ssd"}}})),
        Some(&one("node(s) were unschedulable")),
    );
}

#[test]
fn histograms_count_each_reason_and_sort_as_strings() {
    let mut objects = vec![
        node_with("a", "4", "100Mi", json!({})),
        node_with("b", "100m", "100Mi", json!({})),
    ];
    expect(
        "memory on two, cpu on one",
        V131,
        objects.clone(),
        pod("web", "1", "1Gi"),
        Some(
            "0/2 nodes are available: 1 Insufficient cpu, 2 Insufficient memory. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
        ),
    );
    objects.clear();
    for i in 0..10 {
        objects.push(node_with(
            &format!("small-{i}"),
            "100m",
            "8Gi",
            json!({"metadata": {"name": format!("small-{i}")}}),
        ));
    }
    for i in 0..2 {
        objects.push(node_with(&format!("t-{i}"), "4", "8Gi", json!({"metadata": {"name": format!("t-{i}")}, "spec": {"taints": [{"key": "a", "value": "b", "effect": "NoSchedule"}]}})));
    }
    expect(
        "ten and two",
        V131,
        objects,
        pod("web", "1", "128Mi"),
        Some(
            "0/12 nodes are available: 10 Insufficient cpu, 2 node(s) had untolerated taint {a: b}. preemption: 0/12 nodes are available: 10 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.",
        ),
    );
}

#[test]
fn node_affinity_corners() {
    let not_in = json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["n1"]}]}]}}}}});
    expect(
        "matchFields NotIn, only that node",
        V131,
        vec![node("n1", "4", "8Gi")],
        with(not_in.clone()),
        Some(&one("node(s) didn't match Pod's node affinity/selector")),
    );
    expect(
        "matchFields NotIn, another node fits",
        V131,
        vec![node("n1", "4", "8Gi"), node("n2", "4", "8Gi")],
        with(not_in),
        None,
    );
    let both = json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["n2"]}],
         "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}]}}}}});
    expect(
        "expressions and fields in one term",
        V131,
        vec![node("n1", "4", "8Gi"), node("n2", "4", "8Gi")],
        with(both),
        None,
    );
    let gt = json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["3"]}]}]}}}}});
    expect(
        "Gt on a label that is no number",
        V131,
        vec![node_with(
            "n1",
            "4",
            "8Gi",
            json!({"metadata": {"labels": {"gen": "four"}}}),
        )],
        with(gt.clone()),
        Some(&one("node(s) didn't match Pod's node affinity/selector")),
    );
    expect(
        "Gt on a number",
        V131,
        vec![node_with(
            "n1",
            "4",
            "8Gi",
            json!({"metadata": {"labels": {"gen": "4"}}}),
        )],
        with(gt),
        None,
    );
}

fn zoned(name: &str, zone: &str, extra: Value) -> Value {
    let mut n = node_with(
        "n",
        "4",
        "8Gi",
        json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "zone": zone}}}),
    );
    merge(&mut n, extra);
    n
}

fn web_on(name: &str, node: &str, extra: Value) -> Value {
    let mut p = running(name, "10m", "10Mi", node);
    p["metadata"]["labels"] = json!({"app": "web"});
    merge(&mut p, extra);
    p
}

fn spread(constraints: Value, labels: Value) -> Value {
    let mut p = with(json!({"spec": {"topologySpreadConstraints": constraints}}));
    p["metadata"]["labels"] = labels;
    p
}

fn c(key: &str, skew: i64) -> Value {
    json!({"maxSkew": skew, "topologyKey": key, "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}})
}

#[test]
fn what_spread_counts() {
    let nodes = || vec![zoned("a1", "a", json!({})), zoned("b1", "b", json!({}))];
    // Zone a has two, zone b none (counted: node affinity policy Ignore). With maxSkew 2
    // a pod that does not match its own selector adds nothing and fits in a; one that
    // matches would make the skew 3.
    let mut objects = nodes();
    objects.push(web_on("w1", "a1", json!({})));
    objects.push(web_on("w2", "a1", json!({})));
    let mut ignore = c("zone", 2);
    ignore["nodeAffinityPolicy"] = json!("Ignore");
    let mut other = spread(json!([ignore.clone()]), json!({"app": "other"}));
    merge(&mut other, json!({"spec": {"nodeSelector": {"zone": "a"}}}));
    expect("self does not match", V131, objects.clone(), other, None);
    let mut same = spread(json!([ignore]), json!({"app": "web"}));
    merge(&mut same, json!({"spec": {"nodeSelector": {"zone": "a"}}}));
    expect(
        "self matches",
        V131,
        objects,
        same,
        Some(
            "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) didn't match pod topology spread constraints. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.",
        ),
    );
    // Terminating pods and other namespaces' pods are not counted.
    let mut objects = nodes();
    objects.push(web_on(
        "w1",
        "a1",
        json!({"metadata": {"deletionTimestamp": "2026-11-24T13:59:00Z"}}),
    ));
    objects.push(web_on(
        "w2",
        "a1",
        json!({"metadata": {"namespace": "other"}}),
    ));
    let mut p = spread(json!([c("zone", 1)]), json!({"app": "web"}));
    merge(&mut p, json!({"spec": {"nodeSelector": {"zone": "a"}}}));
    expect(
        "terminating and foreign pods not counted",
        V131,
        objects,
        p,
        None,
    );
    // Two constraints: zone skew fine, host skew not.
    let mut objects = vec![
        zoned("a1", "a", json!({})),
        zoned("a2", "a", json!({})),
        zoned("b1", "b", json!({})),
    ];
    objects.push(web_on("w1", "a1", json!({})));
    objects.push(web_on("w2", "b1", json!({})));
    // The host constraint counts every node (policy Ignore): a2 is an empty domain.
    let mut host = c("kubernetes.io/hostname", 1);
    host["nodeAffinityPolicy"] = json!("Ignore");
    let mut p = spread(json!([c("zone", 1), host]), json!({"app": "web"}));
    merge(
        &mut p,
        json!({"spec": {"nodeSelector": {"kubernetes.io/hostname": "a1"}}}),
    );
    expect(
        "host skew",
        V131,
        objects,
        p,
        Some(
            "0/3 nodes are available: 1 node(s) didn't match pod topology spread constraints, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.",
        ),
    );
    // nodeTaintsPolicy Honor leaves a tainted zone uncounted.
    let mut objects = vec![
        zoned("a1", "a", json!({})),
        zoned(
            "b1",
            "b",
            json!({"spec": {"taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]}}),
        ),
    ];
    objects.push(web_on("w1", "a1", json!({})));
    let mut honour = c("zone", 1);
    honour["nodeTaintsPolicy"] = json!("Honor");
    expect(
        "taints policy Honor",
        V131,
        objects.clone(),
        spread(json!([honour]), json!({"app": "web"})),
        None,
    );
    expect(
        "taints policy Ignore",
        V131,
        objects,
        spread(json!([c("zone", 1)]), json!({"app": "web"})),
        Some(
            "0/2 nodes are available: 1 node(s) didn't match pod topology spread constraints, 1 node(s) had untolerated taint {k: v}. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.",
        ),
    );
}

#[test]
fn affinity_corners() {
    let objects = vec![
        zoned("a1", "a", json!({})),
        web_on(
            "w1",
            "a1",
            json!({"metadata": {"labels": {"app": "web", "rev": "1"}}}),
        ),
    ];
    // Anti-affinity to the same revision only (matchLabelKeys): revision 2 may join.
    let anti = |rev: &str| {
        let mut p = with(
            json!({"spec": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone", "matchLabelKeys": ["rev"]}]}}}}),
        );
        p["metadata"]["labels"] = json!({"app": "web", "rev": rev});
        p
    };
    expect("other revision", V131, objects.clone(), anti("2"), None);
    expect(
        "same revision",
        V131,
        objects.clone(),
        anti("1"),
        Some(
            "0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
        ),
    );
    // An empty namespaceSelector selects every namespace.
    let mut elsewhere = objects.clone();
    elsewhere[1]["metadata"]["namespace"] = json!("other");
    let aff = |ns_sel: Value| {
        with(
            json!({"spec": {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone", "namespaceSelector": ns_sel}]}}}}),
        )
    };
    expect(
        "empty namespaceSelector",
        V131,
        elsewhere.clone(),
        aff(json!({})),
        None,
    );
    // Without one, only the pod's own namespace (and this pod, app=api, is not the first
    // of a group that wants itself).
    let mut api = with(
        json!({"spec": {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone"}]}}}}),
    );
    api["metadata"]["labels"] = json!({"app": "api"});
    expect(
        "no namespaceSelector",
        V131,
        elsewhere,
        api,
        Some(&one("node(s) didn't match pod affinity rules")),
    );
}

#[test]
fn preemption_and_prefilter_corners() {
    // Higher priority, but the only node with victims is tainted: not a candidate.
    let tainted = node_with(
        "n1",
        "1",
        "1Gi",
        json!({"spec": {"taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]}}),
    );
    let low = running("batch", "900m", "100Mi", "n1");
    expect(
        "victims behind a taint",
        V131,
        vec![tainted, low],
        pod_with("api", "500m", "100Mi", json!({"spec": {"priority": 1000}})),
        Some(&one("node(s) had untolerated taint {k: v}")),
    );
    // A PreFilter rejection with preemptionPolicy Never.
    expect(
        "missing claim, never preempts",
        V131,
        vec![node("n1", "4", "8Gi")],
        with(
            json!({"spec": {"preemptionPolicy": "Never", "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}}),
        ),
        Some(
            "0/1 nodes are available: persistentvolumeclaim \"data\" not found. preemption: not eligible due to preemptionPolicy=Never.",
        ),
    );
    // The same on 1.27: the double period after the preemption part.
    expect(
        "missing claim, 1.27",
        "v1.27.16",
        vec![node("n1", "4", "8Gi")],
        with(
            json!({"spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}}),
        ),
        Some(
            "0/1 nodes are available: persistentvolumeclaim \"data\" not found. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling..",
        ),
    );
    // Overhead alone is a request: a pod with none of its own still needs room for it.
    expect(
        "overhead only",
        V131,
        vec![
            node_with("n1", "100m", "8Gi", json!({})),
            running("busy", "100m", "", "n1"),
        ],
        pod_with("web", "", "", json!({"spec": {"overhead": {"cpu": "10m"}}})),
        Some(
            "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
        ),
    );
    // A scalar resource requested as zero is ignored.
    expect(
        "zero gpu",
        V131,
        vec![node("n1", "4", "8Gi")],
        pod_with(
            "web",
            "",
            "",
            json!({"spec": {"containers": [{"name": "c", "image": "x", "resources": {"requests": {"nvidia.com/gpu": "0"}}}]}}),
        ),
        None,
    );
}

fn claim(name: &str, volume: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "shop"},
           "spec": {"volumeName": volume, "accessModes": ["ReadWriteOnce"]}, "status": {"phase": "Bound"}})
}

fn pv(name: &str, labels: Value, extra: Value) -> Value {
    let mut v = json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name, "labels": labels},
                       "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}, "status": {"phase": "Bound"}});
    merge(&mut v, extra);
    v
}

fn using(claim: &str) -> Value {
    with(
        json!({"spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}]}}),
    )
}

#[test]
fn volume_corners() {
    let zone = |z: &str| {
        node_with(
            "n1",
            "4",
            "8Gi",
            json!({"metadata": {"labels": {"topology.kubernetes.io/zone": z}}}),
        )
    };
    expect(
        "bound to a volume that does not exist",
        V131,
        vec![
            zone("a"),
            claim("data", "pv-gone"),
            pv("pv-other", json!({}), json!({})),
        ],
        using("data"),
        Some(
            &one(
                "persistentvolumeclaim \"data\" bound to non-existent persistentvolume \"pv-gone\"",
            )
            .replace(". 1 persistentvolumeclaim", ". persistentvolumeclaim")
            .replace(
                "available: 1 persistentvolumeclaim",
                "available: persistentvolumeclaim",
            ),
        ),
    );
    expect(
        "a volume in two zones",
        V131,
        vec![
            zone("b"),
            claim("data", "pv-ab"),
            pv(
                "pv-ab",
                json!({"topology.kubernetes.io/zone": "a__b"}),
                json!({}),
            ),
        ],
        using("data"),
        None,
    );
    expect(
        "beta label on the volume, GA on the node",
        V131,
        vec![
            zone("b"),
            claim("data", "pv-a"),
            pv(
                "pv-a",
                json!({"failure-domain.beta.kubernetes.io/zone": "a"}),
                json!({}),
            ),
        ],
        using("data"),
        Some(&one("node(s) had no available volume zone")),
    );
    // A volume already attached on the node is no new attachment.
    let csinode = json!({"apiVersion": "storage.k8s.io/v1", "kind": "CSINode", "metadata": {"name": "n1"},
                         "spec": {"drivers": [{"name": "ebs.csi.aws.com", "nodeID": "i-1", "allocatable": {"count": 1}}]}});
    let csi = pv(
        "vol-1",
        json!({}),
        json!({"spec": {"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-1"}}}),
    );
    let mut holder = running("reader", "", "", "n1");
    merge(
        &mut holder,
        json!({"spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}}),
    );
    expect(
        "shared attachment",
        V131,
        vec![zone("a"), csinode, csi, claim("data", "vol-1"), holder],
        using("data"),
        None,
    );
}
