//! Failure scenarios simulated on the scheduler's cluster: nodes lost (one, a zone, a
//! pool) with their pods placed again where the scheduler would put them, or a workload
//! failing outright. Each says what was displaced, what found room, what stays Pending
//! (with the scheduler's message), which workloads lose replicas and which callers lose
//! what they call. Every scenario is reverted: the next starts from the same cluster.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use intel_scheduler::{Cluster, place};

use super::index::Index;
use super::spof::ZONE;

/// What to fail.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "camelCase")]
pub enum Scenario {
    Node(String),
    Zone(String),
    Pool(String),
    Workload(String),
    /// A configuration rollback of `NAMESPACE/NAME` to its previous revision.
    Rollback(String),
    /// The primary of datastore `NAMESPACE/NAME` lost with its node.
    Primary(String),
}

impl Scenario {
    /// `zone=eu-west-1a`, `node=X`, `pool=P`, `workload=NS/NAME`, `rollback=NS/NAME`,
    /// `primary=NS/NAME`.
    pub fn parse(text: &str) -> Result<Scenario, String> {
        let (k, v) = text
            .split_once('=')
            .filter(|(_, v)| !v.is_empty())
            .ok_or_else(|| format!("--scenario {text:?}: expected zone=NAME, node=NAME, pool=NAME, workload=NAMESPACE/NAME, rollback=NAMESPACE/NAME or primary=NAMESPACE/NAME"))?;
        Ok(match k {
            "zone" => Scenario::Zone(v.into()),
            "node" => Scenario::Node(v.into()),
            "pool" => Scenario::Pool(v.into()),
            "workload" => Scenario::Workload(v.into()),
            "rollback" => Scenario::Rollback(v.into()),
            "primary" => Scenario::Primary(v.into()),
            _ => {
                return Err(format!(
                    "--scenario {text:?}: {k:?} is not zone, node, pool, workload, rollback or primary"
                ));
            }
        })
    }

    pub fn text(&self) -> String {
        match self {
            Scenario::Node(n) => format!("node={n}"),
            Scenario::Zone(n) => format!("zone={n}"),
            Scenario::Pool(n) => format!("pool={n}"),
            Scenario::Workload(n) => format!("workload={n}"),
            Scenario::Rollback(n) => format!("rollback={n}"),
            Scenario::Primary(n) => format!("primary={n}"),
        }
    }
}

/// A workload's replicas through a scenario.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Loss {
    pub subject: String,
    pub desired: i32,
    /// Running before the failure.
    pub before: i32,
    /// Still running the moment it happens.
    pub during: i32,
    /// Running once the displaced pods are placed again.
    pub after: i32,
    /// `down` (none running after), `degraded` (fewer than before), `recovers` (all placed
    /// again, after a gap), `down-until-rescheduled` (none running during, all after).
    pub state: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    pub pod: String,
    pub workload: String,
    /// kube-scheduler's FailedScheduling message.
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub scenario: Scenario,
    pub nodes_lost: Vec<String>,
    /// Pods of lost nodes a controller recreates.
    pub displaced: usize,
    pub placed: usize,
    /// Pods that fit nowhere (the first of each workload, with its message), and how many.
    pub pending: Vec<Pending>,
    pub pending_total: usize,
    /// Workloads that lose replicas, worst first.
    pub losses: Vec<Loss>,
    /// Callers of a workload that is down after the failure (they lose what they call),
    /// with it.
    pub dependents: Vec<(String, String)>,
    /// `survives` (every workload back at its count), `degraded`, `outage` (some workload
    /// has none running after).
    pub verdict: String,
    /// How long each workload that lost replicas takes to be back, in parts (nodes lost).
    pub rto: Vec<super::rto::Rto>,
    /// A rollback scenario's answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<super::rollback::Rollback>,
    /// A primary scenario's datastore: its primary, failover and writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<super::primary::Primary>,
}

/// Each workload's pods bound to a node now.
fn running(cluster: &Cluster, index: &Index) -> Vec<i32> {
    index
        .workloads
        .iter()
        .map(|w| {
            w.pods
                .iter()
                .filter(|&&p| cluster.node_of(p).is_some())
                .count() as i32
        })
        .collect()
}

/// The nodes a scenario loses (empty for a workload scenario).
fn lost_nodes(cluster: &Cluster, s: &Scenario) -> Result<Vec<String>, String> {
    let pick = |f: &dyn Fn(&intel_scheduler::NodeInfo) -> bool| -> Vec<String> {
        cluster
            .nodes
            .iter()
            .filter(|n| f(n))
            .map(|n| n.name.clone())
            .collect()
    };
    let out = match s {
        Scenario::Node(n) => pick(&|x| x.name == *n),
        Scenario::Zone(z) => pick(&|x| x.labels.get(ZONE) == Some(z)),
        Scenario::Pool(p) => pick(&|x| crate::impact::pool_of(x).is_some_and(|(_, v)| v == *p)),
        Scenario::Workload(_) | Scenario::Rollback(_) | Scenario::Primary(_) => {
            return Ok(Vec::new());
        }
    };
    if out.is_empty() {
        return Err(format!(
            "--scenario {}: no node matches (the cluster has {} nodes)",
            s.text(),
            cluster.nodes.len()
        ));
    }
    Ok(out)
}

/// Simulates one scenario; the cluster is the same afterwards.
pub fn simulate(cluster: &mut Cluster, index: &Index, s: &Scenario) -> Result<Outcome, String> {
    simulate_for(cluster, index, s, None)
}

/// At most this many workloads get the scheduler's message for a pending pod (the rest
/// are counted): on a large cluster a lost zone strands pods of thousands of workloads.
pub const MESSAGES: usize = 20;

/// [`simulate`], placing again only the displaced pods of workload `only` when given (a
/// fix's effect on one workload: its pods are placed before the others').
pub fn simulate_for(
    cluster: &mut Cluster,
    index: &Index,
    s: &Scenario,
    only: Option<usize>,
) -> Result<Outcome, String> {
    // A primary fails with its node.
    let mut primary = None;
    let nodes = match s {
        Scenario::Primary(text) => {
            let w = index.find(text, "primary")?;
            let p = super::primary::find(cluster, &index.workloads, &index.workloads[w])?;
            let nodes = vec![p.node.clone()];
            primary = Some((w, p));
            nodes
        }
        _ => lost_nodes(cluster, s)?,
    };
    let mark = cluster.mark();
    let before = running(cluster, index);
    let mut displaced = Vec::new();
    match s {
        Scenario::Rollback(_) => {}
        Scenario::Workload(text) => {
            let w = index.find(text, "workload")?;
            for &p in &index.workloads[w].pods {
                cluster.unbind(p);
            }
        }
        _ => displaced = cluster.remove_nodes(&nodes),
    }
    let during = running(cluster, index);
    // Controllers recreate the replicated pods; DaemonSet pods of a lost node go with it.
    let movable: Vec<usize> = displaced
        .iter()
        .copied()
        .filter(|p| only.is_none_or(|w| index.by_pod.get(p) == Some(&w)))
        .filter(|&p| {
            let pod = &cluster.pods[p];
            !pod.terminal
                && pod.drain.controller.as_ref().is_some_and(|(k, _)| {
                    matches!(
                        k.as_str(),
                        "ReplicaSet" | "StatefulSet" | "ReplicationController" | "Job"
                    )
                })
        })
        .collect();
    let mut start = 0;
    let mut placed = 0;
    let mut stuck: Vec<usize> = Vec::new();
    for &p in &movable {
        let pod = cluster.pods[p].unbound();
        let (placement, next) = place(cluster, &pod, start);
        start = next;
        match placement.node {
            Some(node) => {
                cluster.bind(p, &node);
                placed += 1;
            }
            None => stuck.push(p),
        }
    }
    // The scheduler's message for the first pending pod of each workload.
    let mut pending = Vec::new();
    let mut seen = BTreeSet::new();
    for &p in &stuck {
        let w = index.by_pod.get(&p).copied();
        if seen.len() >= MESSAGES || !seen.insert(w) {
            continue;
        }
        let pod = cluster.pods[p].unbound();
        pending.push(Pending {
            pod: format!("{}/{}", pod.namespace, pod.name),
            workload: w.map(|w| index.workloads[w].label()).unwrap_or_default(),
            message: intel_scheduler::simulate(cluster, &pod)
                .message
                .unwrap_or_default(),
        });
    }
    let after = running(cluster, index);
    if let Some((_, p)) = primary.as_mut() {
        let (ns, name) = p.pod.split_once('/').unwrap_or_default();
        p.rescheduled = cluster
            .pod(ns, name)
            .is_some_and(|i| cluster.node_of(i).is_some());
    }
    cluster.revert(mark);

    let mut losses = Vec::new();
    let mut down: Vec<usize> = Vec::new();
    for (i, w) in index.workloads.iter().enumerate() {
        if w.kind == "DaemonSet" || during[i] >= before[i] {
            continue;
        }
        let state = if after[i] == 0 {
            down.push(i);
            "down"
        } else if after[i] < before[i] {
            "degraded"
        } else if during[i] == 0 {
            "down-until-rescheduled"
        } else {
            "recovers"
        };
        losses.push(Loss {
            subject: w.label(),
            desired: w.desired,
            before: before[i],
            during: during[i],
            after: after[i],
            state: state.into(),
        });
    }
    let rank = |s: &str| match s {
        "down" => 0,
        "degraded" => 1,
        "down-until-rescheduled" => 2,
        _ => 3,
    };
    losses.sort_by(|a, b| {
        rank(&a.state)
            .cmp(&rank(&b.state))
            .then_with(|| a.subject.cmp(&b.subject))
    });
    let mut dependents: BTreeMap<String, String> = BTreeMap::new();
    for &i in &down {
        let w = &index.workloads[i];
        for d in &w.dependents {
            dependents.entry(d.clone()).or_insert_with(|| w.label());
        }
    }
    let mut verdict = if !down.is_empty() {
        "outage"
    } else if losses.iter().any(|l| l.state == "degraded") {
        "degraded"
    } else {
        "survives"
    };
    // Without failover, writes stop until the primary runs again: its callers lose them,
    // for good when it finds no node.
    if let Some((w, p)) = &primary {
        if p.failover == "none" {
            let ds = &index.workloads[*w];
            for d in &ds.dependents {
                dependents.entry(d.clone()).or_insert_with(|| ds.label());
            }
            verdict = if p.rescheduled && verdict != "outage" {
                "degraded"
            } else {
                "outage"
            };
        }
    }
    Ok(Outcome {
        scenario: s.clone(),
        nodes_lost: nodes,
        displaced: movable.len(),
        placed,
        pending_total: stuck.len(),
        pending,
        losses,
        dependents: dependents.into_iter().collect(),
        verdict: verdict.into(),
        rto: Vec::new(),
        rollback: None,
        primary: primary.map(|(_, p)| p),
    })
}
