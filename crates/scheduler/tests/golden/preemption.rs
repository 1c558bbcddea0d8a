//! DefaultPreemption's part of the message: victims by priority, nodes it cannot help,
//! preemptionPolicy Never, the old double period, and clusters with no nodes.

use serde_json::json;

use super::common::{node, pod_with};
use super::{V131, expect};

fn busy(name: &str, node: &str, priority: i64) -> serde_json::Value {
    pod_with(
        name,
        "900m",
        "100Mi",
        json!({"spec": {"nodeName": node, "priority": priority}, "status": {"phase": "Running"}}),
    )
}

#[test]
fn lower_priority_victims_make_room() {
    let objects = vec![node("n1", "1", "1Gi"), busy("batch", "n1", 0)];
    let important = pod_with("api", "500m", "100Mi", json!({"spec": {"priority": 1000}}));
    let v = super::common::schedule(V131, objects.clone(), important);
    assert!(!v.schedulable);
    // Preemption would help: the scheduler nominates n1 and writes no preemption part.
    assert_eq!(v.preemption_node.as_deref(), Some("n1"));
    assert_eq!(
        v.message.as_deref(),
        Some("0/1 nodes are available: 1 Insufficient cpu.")
    );
    // Equal priority is no victim.
    expect(
        "equal priority",
        V131,
        objects.clone(),
        pod_with("api", "500m", "100Mi", json!({"spec": {"priority": 0}})),
        Some(
            "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
        ),
    );
    expect(
        "never preempts",
        V131,
        objects.clone(),
        pod_with(
            "api",
            "500m",
            "100Mi",
            json!({"spec": {"priority": 1000, "preemptionPolicy": "Never"}}),
        ),
        Some(
            "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.",
        ),
    );
    // Victims that do not free enough: the reason after removing them is counted.
    expect(
        "victims not enough",
        V131,
        vec![node("n1", "1", "1Gi"), busy("batch", "n1", 0)],
        pod_with("api", "1500m", "100Mi", json!({"spec": {"priority": 1000}})),
        Some(
            "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Insufficient cpu.",
        ),
    );
    // Since 1.34 a request above the node's allocatable is not even tried.
    expect(
        "above allocatable, 1.34",
        "v1.34.0",
        vec![node("n1", "1", "1Gi"), busy("batch", "n1", 0)],
        pod_with("api", "1500m", "100Mi", json!({"spec": {"priority": 1000}})),
        Some(
            "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
        ),
    );
}

#[test]
fn releases_before_1_28_doubled_the_period() {
    expect(
        "1.26",
        "v1.26.15",
        vec![node("n1", "1", "1Gi"), busy("batch", "n1", 0)],
        pod_with("api", "500m", "100Mi", json!({})),
        Some(
            "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..",
        ),
    );
}

#[test]
fn no_nodes_at_all() {
    expect(
        "empty cluster",
        V131,
        vec![],
        pod_with("api", "500m", "100Mi", json!({})),
        Some("no nodes available to schedule pods"),
    );
}

#[test]
fn deterministic() {
    let objects = vec![
        node("n2", "1", "1Gi"),
        node("n1", "1", "1Gi"),
        busy("a", "n1", 0),
        busy("b", "n2", 0),
    ];
    let pod = pod_with("api", "500m", "100Mi", json!({}));
    let one = super::common::schedule(V131, objects.clone(), pod.clone());
    let two = super::common::schedule(V131, objects, pod);
    assert_eq!(format!("{one:?}"), format!("{two:?}"));
    assert_eq!(
        one.rejected
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        ["n1", "n2"]
    );
}
