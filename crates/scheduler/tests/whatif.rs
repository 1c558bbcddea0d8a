//! What-ifs on one loaded cluster: changes are journalled and a revert restores the cluster
//! exactly, so verdicts after it are the verdicts before it.

use intel_scheduler::{Cluster, simulate};
use k8s_openapi::api::core::v1::Taint;

/// Everything a verdict can read, in a canonical order.
fn digest(c: &Cluster) -> String {
    let mut out = String::new();
    for n in &c.nodes {
        let mut ports: Vec<String> = n.ports.iter().map(|p| format!("{p:?}")).collect();
        ports.sort();
        out.push_str(&format!(
            "{} {:?} {:?} {:?} {:?} {:?} {}\n",
            n.name, n.requested, n.non_zero, n.pods, ports, n.taints, n.unschedulable
        ));
    }
    for i in 0..c.pods.len() {
        out.push_str(&format!(
            "{} {:?}\n",
            c.pods[i].name,
            c.node_of(i).map(|n| &n.name)
        ));
    }
    out
}

fn library(name: &str) -> Cluster {
    Cluster::from_snapshot(&intel_synth::scenario_snapshot(name).expect("scenario"))
}

#[test]
fn a_hundred_changes_revert_to_the_same_cluster_and_verdicts() {
    let mut c = library("pending-insufficient-cpu");
    let before = digest(&c);
    let pending: Vec<usize> = (0..c.pods.len())
        .filter(|&i| c.pods[i].bound.is_none() && !c.pods[i].terminal)
        .collect();
    assert!(!pending.is_empty());
    let verdicts_before: Vec<String> = pending
        .iter()
        .map(|&i| format!("{:?}", simulate(&c, &c.pods[i])))
        .collect();

    let mark = c.mark();
    let mut changes = 0;
    // Move 40 running pods to another node they fit on (or just off their node).
    let running: Vec<usize> = (0..c.pods.len())
        .filter(|&i| c.node_of(i).is_some())
        .take(40)
        .collect();
    for &i in &running {
        let from = c.unbind(i).unwrap();
        changes += 1;
        let v = simulate(&c, &c.pods[i].unbound());
        if let Some(to) = v.feasible.iter().find(|n| **n != from) {
            assert!(c.bind(i, &to.clone()));
            changes += 1;
        }
    }
    let first = c.nodes[0].name.clone();
    let second = c.nodes[1].name.clone();
    let displaced = c.remove_node(&first).unwrap();
    changes += 1 + displaced.len();
    assert!(c.taint(
        &second,
        Taint {
            key: "drain".into(),
            effect: "NoSchedule".into(),
            ..Taint::default()
        }
    ));
    assert!(c.cordon(&second, true));
    let mut extra = c.nodes[2].clone();
    extra.name = "extra-node".into();
    assert!(c.add_node(extra));
    assert!(
        !c.add_node(c.nodes[3].clone()),
        "a node of that name exists"
    );
    changes += 3;
    for &r in running.iter().take(10) {
        let mut p = c.pods[r].unbound();
        p.name = format!("{}-copy", p.name);
        let i = c.add_pod(p);
        c.bind(i, "extra-node");
        changes += 2;
    }
    assert!(changes >= 100, "{changes} changes");
    assert_ne!(digest(&c), before);

    c.revert(mark);
    assert_eq!(digest(&c), before, "revert restores the cluster");
    let verdicts_after: Vec<String> = pending
        .iter()
        .map(|&i| format!("{:?}", simulate(&c, &c.pods[i])))
        .collect();
    assert_eq!(verdicts_after, verdicts_before);
}

#[test]
fn losing_a_zone_places_its_pods_elsewhere_and_reverts() {
    let mut c = library("healthy-baseline");
    let before = digest(&c);
    let zone_of = |c: &Cluster, n: usize| {
        c.nodes[n]
            .labels
            .get("topology.kubernetes.io/zone")
            .cloned()
    };
    let zone = zone_of(&c, 0).expect("zoned nodes");
    let lost: Vec<String> = (0..c.nodes.len())
        .filter(|&n| zone_of(&c, n).as_deref() == Some(zone.as_str()))
        .map(|n| c.nodes[n].name.clone())
        .collect();
    let mark = c.mark();
    let mut displaced = Vec::new();
    for name in &lost {
        displaced.extend(c.remove_node(name).unwrap());
    }
    assert!(!displaced.is_empty());
    let (mut placed, mut stuck) = (0, 0);
    for &i in &displaced {
        let v = simulate(&c, &c.pods[i].unbound());
        match v.feasible.first() {
            Some(node) => {
                let node = node.clone();
                assert!(c.bind(i, &node));
                assert_ne!(
                    zone_of(&c, c.nodes.iter().position(|n| n.name == node).unwrap()).as_deref(),
                    Some(zone.as_str())
                );
                placed += 1;
            }
            None => {
                assert!(
                    v.message
                        .as_deref()
                        .unwrap_or_default()
                        .starts_with(&format!("0/{} nodes are available", c.nodes.len()))
                );
                stuck += 1;
            }
        }
    }
    println!(
        "zone {zone}: {} nodes lost, {placed} pods placed elsewhere, {stuck} stuck",
        lost.len()
    );
    assert!(placed > 0);
    c.revert(mark);
    assert_eq!(digest(&c), before);
}

/// A zone taken out at once displaces the same pods as node by node, leaves the same
/// verdicts, and reverts to the same cluster: one re-index instead of one per node.
#[test]
fn removing_a_zone_at_once_equals_node_by_node() {
    let mut c = library("healthy-baseline");
    let before = digest(&c);
    let zone = c.nodes[0]
        .labels
        .get("topology.kubernetes.io/zone")
        .cloned()
        .expect("zoned nodes");
    let lost: Vec<String> = c
        .nodes
        .iter()
        .filter(|n| n.labels.get("topology.kubernetes.io/zone") == Some(&zone))
        .map(|n| n.name.clone())
        .collect();
    let mark = c.mark();
    let mut one_by_one = Vec::new();
    for n in &lost {
        one_by_one.extend(c.remove_node(n).unwrap());
    }
    let after_one = digest(&c);
    c.revert(mark);
    assert_eq!(digest(&c), before);
    let mark = c.mark();
    let mut names = lost.clone();
    names.push("no-such-node".into());
    names.push(lost[0].clone());
    let at_once = c.remove_nodes(&names);
    assert_eq!(at_once, one_by_one);
    assert_eq!(digest(&c), after_one);
    // Placing one displaced pod works on the re-indexed cluster.
    let p = at_once[0];
    let v = simulate(&c, &c.pods[p].unbound());
    if let Some(n) = v.feasible.first().cloned() {
        assert!(c.bind(p, &n));
    }
    c.revert(mark);
    assert_eq!(digest(&c), before);
}
