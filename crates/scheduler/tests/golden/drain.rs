//! Draining a node with cluster-autoscaler's default rules: what stays, what moves, what
//! blocks (reasons and messages as cluster-autoscaler writes them), each rule with its near
//! miss; and a drain applied, placed and reverted.

use serde_json::{Value, json};

use intel_scheduler::drain::{BlockReason, Outcome, drain, plan};

use super::V131;
use super::common::{cluster, merge, node, running};

fn owned(name: &str, kind: &str, patch: Value) -> Value {
    let mut p = running(name, "100m", "128Mi", "n1");
    merge(
        &mut p,
        json!({"metadata": {"ownerReferences": [{"apiVersion": "apps/v1", "kind": kind, "name": "owner", "uid": "u1", "controller": true}]}}),
    );
    merge(&mut p, patch);
    p
}

fn pdb(namespace: &str, app: &str, allowed: i64) -> Value {
    json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
           "metadata": {"name": format!("{app}-pdb"), "namespace": namespace},
           "spec": {"selector": {"matchLabels": {"app": app}}, "minAvailable": 1},
           "status": {"disruptionsAllowed": allowed}})
}

/// The outcome for one pod on n1 among `extra` objects.
fn outcome_of(pod: Value, extra: Vec<Value>) -> Outcome {
    let mut objects = vec![node("n1", "4", "8Gi"), node("n2", "4", "8Gi"), pod];
    objects.extend(extra);
    let c = cluster(V131, objects);
    let p = plan(&c, "n1").unwrap();
    assert_eq!(p.pods.len(), 1, "{p:?}");
    p.pods[0].1.clone()
}

fn blocks(o: &Outcome) -> Option<(BlockReason, &str)> {
    match o {
        Outcome::Blocks { reason, message } => Some((*reason, message.as_str())),
        _ => None,
    }
}

#[test]
fn what_stays_and_what_moves() {
    assert_eq!(
        outcome_of(owned("web-1", "ReplicaSet", json!({})), vec![]),
        Outcome::Moves
    );
    assert_eq!(
        outcome_of(owned("db-0", "StatefulSet", json!({})), vec![]),
        Outcome::Moves
    );
    assert!(matches!(
        outcome_of(owned("agent", "DaemonSet", json!({})), vec![]),
        Outcome::Stays { .. }
    ));
    let mirror = owned(
        "etcd-n1",
        "Node",
        json!({"metadata": {"annotations": {"kubernetes.io/config.mirror": "abc"}}}),
    );
    assert!(matches!(outcome_of(mirror, vec![]), Outcome::Stays { .. }));
    let done = owned("job-1", "Job", json!({"status": {"phase": "Succeeded"}}));
    // A finished pod is not in the scheduler's cache at all: nothing to drain on n1.
    let c = cluster(V131, vec![node("n1", "4", "8Gi"), done]);
    assert!(plan(&c, "n1").unwrap().pods.is_empty());
}

#[test]
fn unreplicated_and_custom_controllers_block() {
    let bare = running("debug", "100m", "128Mi", "n1");
    assert_eq!(
        blocks(&outcome_of(bare.clone(), vec![])),
        Some((BlockReason::NotReplicated, "shop/debug is not replicated"))
    );
    let mut safe = bare;
    merge(
        &mut safe,
        json!({"metadata": {"annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "true"}}}),
    );
    assert_eq!(outcome_of(safe, vec![]), Outcome::Moves);
    let rollout = owned("web-1", "Rollout", json!({}));
    assert_eq!(
        blocks(&outcome_of(rollout, vec![])).map(|b| b.0),
        Some(BlockReason::NotReplicated)
    );
}

#[test]
fn kube_system_pods_need_a_budget() {
    let dns = owned(
        "coredns-1",
        "ReplicaSet",
        json!({"metadata": {"namespace": "kube-system", "labels": {"app": "coredns"}}}),
    );
    assert_eq!(
        blocks(&outcome_of(dns.clone(), vec![])),
        Some((
            BlockReason::UnmovableKubeSystemPod,
            "non-daemonset, non-mirrored, non-pdb-assigned kube-system pod present: coredns-1"
        ))
    );
    assert_eq!(
        outcome_of(dns, vec![pdb("kube-system", "coredns", 1)]),
        Outcome::Moves
    );
}

#[test]
fn annotations_local_storage_and_budgets() {
    let not_safe = owned(
        "web-1",
        "ReplicaSet",
        json!({"metadata": {"annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}}}),
    );
    assert_eq!(
        blocks(&outcome_of(not_safe, vec![])),
        Some((
            BlockReason::NotSafeToEvictAnnotation,
            "pod annotated as not safe to evict present: web-1"
        ))
    );
    let scratch = |medium: Option<&str>, safe: Option<&str>| {
        let mut v = json!({"name": "scratch", "emptyDir": {}});
        if let Some(m) = medium {
            v["emptyDir"]["medium"] = json!(m);
        }
        let mut p = owned("web-1", "ReplicaSet", json!({"spec": {"volumes": [v]}}));
        if let Some(s) = safe {
            merge(
                &mut p,
                json!({"metadata": {"annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes": s}}}),
            );
        }
        p
    };
    assert_eq!(
        blocks(&outcome_of(scratch(None, None), vec![])),
        Some((
            BlockReason::LocalStorageRequested,
            "pod with local storage present: web-1"
        ))
    );
    assert_eq!(
        outcome_of(scratch(Some("Memory"), None), vec![]),
        Outcome::Moves
    );
    assert_eq!(
        outcome_of(scratch(None, Some("cache, scratch")), vec![]),
        Outcome::Moves
    );
    let host = owned(
        "web-1",
        "ReplicaSet",
        json!({"spec": {"volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}]}}),
    );
    assert_eq!(
        blocks(&outcome_of(host, vec![])).map(|b| b.0),
        Some(BlockReason::LocalStorageRequested)
    );

    let web = owned(
        "web-1",
        "ReplicaSet",
        json!({"metadata": {"labels": {"app": "web"}}}),
    );
    assert_eq!(
        blocks(&outcome_of(web.clone(), vec![pdb("shop", "web", 0)])),
        Some((
            BlockReason::NotEnoughPdb,
            "not enough pod disruption budget to move shop/web-1"
        ))
    );
    assert_eq!(outcome_of(web, vec![pdb("shop", "web", 1)]), Outcome::Moves);
}

#[test]
fn a_budget_of_one_lets_one_pod_of_two_go() {
    let a = owned(
        "web-1",
        "ReplicaSet",
        json!({"metadata": {"labels": {"app": "web"}}}),
    );
    let mut b = owned(
        "web-2",
        "ReplicaSet",
        json!({"metadata": {"labels": {"app": "web"}}}),
    );
    b["metadata"]["name"] = json!("web-2");
    let c = cluster(
        V131,
        vec![node("n1", "4", "8Gi"), a, b, pdb("shop", "web", 1)],
    );
    let p = plan(&c, "n1").unwrap();
    assert_eq!(p.pods[0].1, Outcome::Moves);
    assert_eq!(
        blocks(&p.pods[1].1).map(|b| b.0),
        Some(BlockReason::NotEnoughPdb)
    );
    assert!(!p.drainable);
}

#[test]
fn a_drain_applied_places_the_pods_and_reverts() {
    let mut objects = vec![
        node("n1", "4", "8Gi"),
        node("n2", "4", "8Gi"),
        node("n3", "1", "1Gi"),
    ];
    objects.push(owned("web-1", "ReplicaSet", json!({})));
    let mut agent = owned("agent-n1", "DaemonSet", json!({}));
    agent["metadata"]["name"] = json!("agent-n1");
    objects.push(agent);
    let mut big = owned("big-1", "ReplicaSet", json!({}));
    big["metadata"]["name"] = json!("big-1");
    big["spec"]["containers"][0]["resources"]["requests"]["cpu"] = json!("3500m");
    objects.push(big);
    let mut c = cluster(V131, objects);
    let mark = c.mark();
    let d = drain(&mut c, "n1", false).unwrap();
    assert!(d.plan.drainable);
    assert!(
        c.node("n1").unwrap().unschedulable,
        "the drained node stays, cordoned"
    );
    // In the node's order (by name): big-1 only fits on n2; then web-1 scores best on the
    // emptier n3 (least allocated).
    assert_eq!(
        d.placed,
        [
            ("shop/big-1".to_string(), "n2".to_string()),
            ("shop/web-1".to_string(), "n3".to_string())
        ]
    );
    assert_eq!(d.placed.len() + d.stuck.len(), 2);
    assert_eq!(
        c.node("n1").unwrap().pods.len(),
        1,
        "the DaemonSet pod stays"
    );
    c.revert(mark);
    assert!(!c.node("n1").unwrap().unschedulable);
    assert_eq!(c.node("n1").unwrap().pods.len(), 3);
}
