//! Scoring and placement: the default score plugins' arithmetic (least allocated,
//! balanced allocation, PreferNoSchedule taints, preferred node affinity), the number of
//! feasible nodes the scheduler looks for, and placements that spread.

use serde_json::{Value, json};

use intel_scheduler::score::{feasible_nodes_to_find, score};
use intel_scheduler::{PodInfo, place};

use super::V131;
use super::common::{cluster, merge, node, node_with, pod_with, running};

fn info(pod: Value) -> PodInfo {
    PodInfo::from_pod(&serde_json::from_value(pod).unwrap())
}

fn parts(s: &intel_scheduler::score::NodeScore) -> Vec<(&str, i64)> {
    s.plugins.iter().map(|p| (p.plugin, p.score)).collect()
}

/// `TestNumFeasibleNodesToFind` with the adaptive default.
#[test]
fn how_many_feasible_nodes_the_scheduler_looks_for() {
    assert_eq!(feasible_nodes_to_find(10), 10);
    assert_eq!(feasible_nodes_to_find(99), 99);
    assert_eq!(feasible_nodes_to_find(100), 100);
    assert_eq!(feasible_nodes_to_find(1000), 420);
    assert_eq!(feasible_nodes_to_find(3333), 799);
    assert_eq!(feasible_nodes_to_find(5000), 500);
    assert_eq!(feasible_nodes_to_find(6000), 300);
    assert_eq!(feasible_nodes_to_find(100_000), 5000);
}

#[test]
fn least_allocated_and_balanced() {
    // 4 cores / 8Gi, 1 core and 2Gi used; the pod asks 1 core and 2Gi.
    let c = cluster(
        V131,
        vec![node("n1", "4", "8Gi"), running("old", "1", "2Gi", "n1")],
    );
    let pod = info(pod_with("web", "1", "2Gi", json!({})));
    let s = score(&c, &pod, &[0]);
    // cpu (4000-2000)*100/4000 = 50, memory 50: least allocated 50; fractions equal:
    // balanced 100.
    assert_eq!(
        parts(&s[0]),
        [
            ("NodeResourcesFit", 50),
            ("TaintToleration", 300),
            ("NodeAffinity", 0),
            ("NodeResourcesBalancedAllocation", 100),
            ("ImageLocality", 0)
        ]
    );
    assert_eq!(s[0].total, 450);
    // Unbalanced: 3 of 4 cores, 2 of 8Gi after the pod: std = (0.75-0.25)/2 = 0.25 → 75.
    let c = cluster(
        V131,
        vec![node("n1", "4", "8Gi"), running("old", "2", "", "n1")],
    );
    let pod = info(pod_with("web", "1", "2Gi", json!({})));
    let s = score(&c, &pod, &[0]);
    assert_eq!(parts(&s[0])[3], ("NodeResourcesBalancedAllocation", 75));
    // least: cpu (4000-3000)*100/4000 = 25; memory uses the 200Mi default for "old"
    // (no memory request): (8192-2048-200)Mi*100/8192Mi = 72 → (25+72)/2 = 48.
    assert_eq!(parts(&s[0])[0], ("NodeResourcesFit", 48));
}

#[test]
fn best_effort_pods_and_the_release() {
    let objects = vec![node("n1", "4", "8Gi")];
    let pod = info(pod_with("web", "", "", json!({})));
    // No requests: scoring counts 100m and 200Mi; balanced allocation skips the pod
    // from 1.33 on.
    let s = score(&cluster("v1.33.0", objects.clone()), &pod, &[0]);
    assert!(
        s[0].plugins
            .iter()
            .all(|p| p.plugin != "NodeResourcesBalancedAllocation"),
        "{s:?}"
    );
    let s = score(&cluster(V131, objects), &pod, &[0]);
    assert_eq!(parts(&s[0])[3], ("NodeResourcesBalancedAllocation", 100));
}

#[test]
fn prefer_no_schedule_and_preferred_affinity_move_the_choice() {
    let soft = node_with(
        "a",
        "4",
        "8Gi",
        json!({"spec": {"taints": [{"key": "spot", "value": "true", "effect": "PreferNoSchedule"}]}}),
    );
    let plain = node("b", "4", "8Gi");
    let c = cluster(V131, vec![soft.clone(), plain.clone()]);
    let pod = info(pod_with("web", "100m", "128Mi", json!({})));
    let (p, _) = place(&c, &pod, 0);
    assert_eq!(p.node.as_deref(), Some("b"), "{p:?}");
    // Tolerating the taint makes them equal: both best, the first by name chosen.
    let tolerant = info(pod_with(
        "web",
        "100m",
        "128Mi",
        json!({"spec": {"tolerations": [{"key": "spot", "operator": "Exists", "effect": "PreferNoSchedule"}]}}),
    ));
    let (p, _) = place(&c, &tolerant, 0);
    assert_eq!(p.best, ["a", "b"]);
    assert_eq!(p.node.as_deref(), Some("a"));
    // A preferred term for the tainted node's label does not outweigh the taint: the
    // taint costs 3 × 100, the preference gives 2 × 100, and b still wins.
    let mut zone_a = soft;
    merge(
        &mut zone_a,
        json!({"metadata": {"labels": {"disk": "ssd"}}}),
    );
    let c = cluster(V131, vec![zone_a, plain]);
    let prefers = info(pod_with(
        "web",
        "100m",
        "128Mi",
        json!({"spec": {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 50, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}}
        ]}}}}),
    ));
    let (p, _) = place(&c, &prefers, 0);
    assert_eq!(p.node.as_deref(), Some("b"), "{p:?}");
    let both = info(pod_with(
        "web",
        "100m",
        "128Mi",
        json!({"spec": {
        "tolerations": [{"key": "spot", "operator": "Exists"}],
        "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 50, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}}
        ]}}}}),
    ));
    let (p, _) = place(&c, &both, 0);
    assert_eq!(p.node.as_deref(), Some("a"), "{p:?}");
    assert_eq!(p.best, ["a"]);
}

#[test]
fn placements_prefer_the_emptier_node_and_report_what_is_not_scored() {
    let c = cluster(
        V131,
        vec![
            node("a", "4", "8Gi"),
            node("b", "4", "8Gi"),
            running("busy", "2", "4Gi", "a"),
        ],
    );
    let (p, next) = place(&c, &info(pod_with("web", "500m", "1Gi", json!({}))), 0);
    assert_eq!(p.node.as_deref(), Some("b"));
    assert_eq!(next, 0, "two nodes, both examined: back to the start");
    assert!(
        p.unscored.is_empty(),
        "every default score plugin is modelled"
    );
    assert!(p.scores[0].total > p.scores[1].total);
    // Nowhere to go: no node, no scores.
    let (p, _) = place(&c, &info(pod_with("web", "64", "1Gi", json!({}))), 0);
    assert!(p.node.is_none() && p.best.is_empty() && p.scores.is_empty());
}

fn owned_by(name: &str, node: &str, rs: &str) -> Value {
    let mut p = running(name, "100m", "128Mi", node);
    p["metadata"]["labels"] = json!({"app": "web"});
    p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": "u", "controller": true}]);
    p
}

fn replica_set(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "namespace": "shop"},
           "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
}

/// The system default spreading: without constraints of its own, a pod of a ReplicaSet
/// goes where fewer of its siblings run (per host, skew 3; per zone, skew 5).
#[test]
fn system_default_spreading_prefers_fewer_siblings() {
    let zoned = |name: &str, zone: &str| {
        node_with(
            "n",
            "4",
            "8Gi",
            json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone}}}),
        )
    };
    let objects = vec![
        zoned("a", "z1"),
        zoned("b", "z1"),
        replica_set("web-rs"),
        owned_by("web-1", "a", "web-rs"),
        owned_by("web-2", "a", "web-rs"),
    ];
    let c = cluster(V131, objects.clone());
    let mut incoming = pod_with("web-3", "100m", "128Mi", json!({}));
    incoming["metadata"]["labels"] = json!({"app": "web"});
    incoming["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-rs", "uid": "u", "controller": true}]);
    let s = score(&c, &info(incoming.clone()), &[0, 1]);
    let spread = |n: usize| {
        s[n].plugins
            .iter()
            .find(|p| p.plugin == "PodTopologySpread")
            .map(|p| p.score)
    };
    // b has no sibling: 2 × 100; a has two: lower.
    assert_eq!(spread(1), Some(200), "{s:?}");
    assert!(spread(0) < spread(1), "{s:?}");
    let (p, _) = place(&c, &info(incoming.clone()), 0);
    assert_eq!(p.node.as_deref(), Some("b"));
    // The near miss: a pod nothing selects (no owner, no Service) is not spread.
    let mut loner = incoming;
    loner["metadata"]["ownerReferences"] = json!(null);
    loner["metadata"]["labels"] = json!({"app": "solo"});
    let s = score(&c, &info(loner), &[0, 1]);
    assert!(
        s.iter()
            .all(|n| n.plugins.iter().all(|p| p.plugin != "PodTopologySpread")),
        "{s:?}"
    );
}

#[test]
fn preferred_pod_affinity_and_anti_affinity() {
    let objects = vec![
        node("a", "4", "8Gi"),
        node("b", "4", "8Gi"),
        running("cache-0", "100m", "128Mi", "a"),
    ];
    let c = cluster(V131, objects);
    let term = |weight: i64| json!([{"weight": weight, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "cache-0"}}, "topologyKey": "kubernetes.io/hostname"}}]);
    let near = info(pod_with(
        "web",
        "100m",
        "128Mi",
        json!({"spec": {"affinity": {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": term(50)}}}}),
    ));
    let s = score(&c, &near, &[0, 1]);
    let ipa = |s: &[intel_scheduler::score::NodeScore], n: usize| {
        s[n].plugins
            .iter()
            .find(|p| p.plugin == "InterPodAffinity")
            .map(|p| p.score)
    };
    assert_eq!((ipa(&s, 0), ipa(&s, 1)), (Some(200), Some(0)), "{s:?}");
    let far = info(pod_with(
        "web",
        "100m",
        "128Mi",
        json!({"spec": {"affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": term(50)}}}}),
    ));
    let s = score(&c, &far, &[0, 1]);
    assert_eq!((ipa(&s, 0), ipa(&s, 1)), (Some(0), Some(200)), "{s:?}");
    // Nothing to weigh: the plugin gives no score.
    let s = score(
        &c,
        &info(pod_with("web", "100m", "128Mi", json!({}))),
        &[0, 1],
    );
    assert_eq!(ipa(&s, 0), None);
}

#[test]
fn image_locality() {
    let with_image = |name: &str, mb: i64| {
        node_with(
            name,
            "4",
            "8Gi",
            json!({"metadata": {"name": name},
        "status": {"images": [{"names": ["registry.example/app:1", "registry.example/app@sha256:abc"], "sizeBytes": mb * 1024 * 1024}]}}),
        )
    };
    let c = cluster(V131, vec![with_image("a", 500), node("b", "4", "8Gi")]);
    let pod = info(pod_with(
        "web",
        "100m",
        "128Mi",
        json!({"spec": {"containers": [{"name": "c", "image": "registry.example/app:1"}]}}),
    ));
    let s = score(&c, &pod, &[0, 1]);
    let il = |n: usize| {
        s[n].plugins
            .iter()
            .find(|p| p.plugin == "ImageLocality")
            .map(|p| p.score)
    };
    // 500 MB on one node of two: scaled to 250 MB; (250-23)/(1000-23) of 100 = 23.
    assert_eq!((il(0), il(1)), (Some(23), Some(0)), "{s:?}");
    // Untagged names are :latest.
    let c = cluster(
        V131,
        vec![node_with(
            "a",
            "4",
            "8Gi",
            json!({"status": {"images": [{"names": ["nginx:latest"], "sizeBytes": 2_000_000_000i64}]}}),
        )],
    );
    let s = score(
        &c,
        &info(pod_with(
            "web",
            "",
            "",
            json!({"spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
        )),
        &[0],
    );
    assert_eq!(
        s[0].plugins
            .iter()
            .find(|p| p.plugin == "ImageLocality")
            .map(|p| p.score),
        Some(100)
    );
}
