//! The migration plan (`-o plan`): how to get from the cluster as it is to the
//! consolidation the report recommends, safely. Rightsizing first when the plan re-packs on
//! the rightsized requests (each change rolled out and checked before the nodes go), then
//! the freed nodes in waves, every one of them cordoned first: at most a share of the cluster's nodes per wave (the
//! disruption budget, 10% by default) and never more evictions from one
//! PodDisruptionBudget's pods in a wave than it allows now, since a wave's drains run
//! together. Each step has its exact command, how to verify it and how to roll it back;
//! each wave its end state, simulated by replaying the moves on the scheduler's cluster.
//! The plan carries a content hash, so the safe-execution path can refuse one that was
//! edited.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use intel_scheduler::Cluster;
use intel_scheduler::consolidate::Freed;

use super::consolidate::{self, Consolidations, PodUsage, Totals};
use super::rightsize::Rightsizing;
use crate::diagnose::remedy::values::shell_quote;

/// One command of the plan.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// `wave.step`, from 1.
    pub id: String,
    /// `set-resources`, `cordon`, `drain`, `delete-node`.
    pub action: String,
    pub target: String,
    pub command: String,
    pub verify: String,
    pub rollback: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Wave {
    pub wave: usize,
    pub title: String,
    pub nodes: Vec<String>,
    pub steps: Vec<Step>,
    /// The cluster once this wave is done, simulated.
    pub end_state: Totals,
    /// Before the next wave: what must hold.
    pub verify: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub cluster: String,
    pub captured_at: String,
    /// `asRequested` or `rightsized`: which consolidation the plan carries out.
    pub consolidation: &'static str,
    /// At most this many nodes drained per wave.
    pub max_nodes_per_wave: usize,
    pub before: Totals,
    pub waves: Vec<Wave>,
    pub after: Totals,
    pub monthly_saved: f64,
    /// Where the prices came from.
    pub price_sources: Vec<String>,
    /// sha256 of this document as compact JSON, keys sorted, with this field empty.
    pub sha256: String,
}

/// Splits the freed nodes into waves: at most `per_wave` nodes, and no budget asked for
/// more evictions in one wave than it allows.
fn waves_of<'a>(cluster: &Cluster, freed: &'a [Freed], per_wave: usize) -> Vec<Vec<&'a Freed>> {
    let mut out: Vec<Vec<&Freed>> = Vec::new();
    let mut spent: BTreeMap<usize, i32> = BTreeMap::new();
    for f in freed {
        let mut asks: BTreeMap<usize, i32> = BTreeMap::new();
        for m in &f.moves {
            let (ns, name) = m.pod.split_once('/').unwrap_or_default();
            let Some(p) = cluster.pod(ns, name) else {
                continue;
            };
            for (b, budget) in cluster.pdbs.iter().enumerate() {
                if budget.covers(&cluster.pods[p]) {
                    *asks.entry(b).or_default() += 1;
                }
            }
        }
        let fits = out.last().is_some_and(|w| {
            w.len() < per_wave
                && asks.iter().all(|(b, n)| {
                    spent.get(b).copied().unwrap_or(0) + n <= cluster.pdbs[*b].disruptions_allowed
                })
        });
        if !fits {
            out.push(Vec::new());
            spent.clear();
        }
        for (b, n) in asks {
            *spent.entry(b).or_default() += n;
        }
        if let Some(w) = out.last_mut() {
            w.push(f);
        }
    }
    out
}

/// The plan for the consolidation that frees the most (the rightsized one when it frees
/// more). The cluster is the same afterwards.
#[allow(clippy::too_many_arguments)]
pub fn plan(
    cluster: &mut Cluster,
    cluster_name: &str,
    captured_at: &str,
    rows: &[Rightsizing],
    c: &Consolidations,
    usage: &PodUsage,
    wave_percent: f64,
    money: &super::cost::Cost,
) -> Plan {
    let rightsized = c
        .rightsized
        .as_ref()
        .filter(|r| r.result.freed.len() > c.as_requested.result.freed.len());
    let chosen = rightsized.unwrap_or(&c.as_requested);
    let per_wave = ((cluster.nodes.len() as f64 * wave_percent / 100.0).floor() as usize).max(1);
    let mark = cluster.mark();
    let mut waves = Vec::new();
    if rightsized.is_some() {
        let mut steps = Vec::new();
        for r in rows
            .iter()
            .filter(|r| !r.patch.is_empty() && super::worth_changing(r))
        {
            let (ns, target) = super::rightsize::ns_target(&r.subject);
            for command in &r.patch {
                steps.push(Step {
                    id: String::new(),
                    action: "set-resources".into(),
                    target: format!("{} container {}", r.subject, r.container),
                    command: command.clone(),
                    verify: format!("kubectl -n {ns} rollout status {target} --timeout=10m"),
                    rollback: format!("kubectl -n {ns} rollout undo {target}"),
                });
            }
        }
        consolidate::apply(cluster, rows);
        waves.push(Wave {
            wave: 0,
            title: "Rightsize the workloads the consolidation re-packs".into(),
            nodes: Vec::new(),
            steps,
            end_state: consolidate::totals(cluster, &[], usage),
            verify: vec![
                "kubectl get pods -A --field-selector=status.phase=Pending   # none".into(),
            ],
        });
    }
    let mut gone: Vec<String> = Vec::new();
    for (n, group) in waves_of(cluster, &chosen.result.freed, per_wave)
        .into_iter()
        .enumerate()
    {
        let mut steps = Vec::new();
        // The first wave cordons every node the plan removes, so that no evicted pod
        // lands on a node a later wave drains (the scheduler would spread them there).
        if n == 0 {
            for f in &chosen.result.freed {
                let node = shell_quote(&f.node);
                steps.push(Step {
                    id: String::new(),
                    action: "cordon".into(),
                    target: f.node.clone(),
                    command: format!("kubectl cordon {node}"),
                    verify: format!(
                        "kubectl get node {node} -o jsonpath='{{.spec.unschedulable}}'   # true"
                    ),
                    rollback: format!("kubectl uncordon {node}"),
                });
            }
        }
        for f in &group {
            let node = shell_quote(&f.node);
            let mut cmds = consolidate::drain_steps(cluster, f).into_iter();
            let _cordon = cmds.next();
            let drain = cmds.next().unwrap_or_default();
            steps.push(Step {
                id: String::new(),
                action: "drain".into(),
                target: f.node.clone(),
                command: drain,
                verify: format!(
                    "kubectl get pods -A --field-selector spec.nodeName={node},status.phase=Running   # only the pods that stay (DaemonSet, mirror): {}",
                    f.stays.len()
                ),
                rollback: format!("kubectl uncordon {node}   # the moved pods stay where they went"),
            });
            steps.push(Step {
                id: String::new(),
                action: "delete-node".into(),
                target: f.node.clone(),
                command: format!(
                    "kubectl delete node {node}   # Karpenter terminates the instance on delete; with cluster-autoscaler or a managed node group, skip this and let the autoscaler remove the empty node, or terminate the instance through the provider with the group's desired size reduced"
                ),
                verify: format!("kubectl get node {node}   # NotFound"),
                rollback: "scale the node group up by one".into(),
            });
            // The simulated end state: the moves as the consolidation found them.
            cluster.cordon(&f.node, true);
            let ix = |id: &str| {
                let (ns, name) = id.split_once('/').unwrap_or_default();
                cluster.pod(ns, name)
            };
            let moving: Vec<(usize, String)> = f
                .moves
                .iter()
                .filter_map(|m| Some((ix(&m.pod)?, m.to.clone())))
                .collect();
            let deleted: Vec<usize> = f.deleted.iter().filter_map(|d| ix(d)).collect();
            for &(p, _) in &moving {
                cluster.unbind(p);
            }
            for p in deleted {
                cluster.unbind(p);
            }
            for (p, to) in moving {
                cluster.bind(p, &to);
            }
            gone.push(f.node.clone());
        }
        let nodes: Vec<String> = group.iter().map(|f| f.node.clone()).collect();
        waves.push(Wave {
            wave: waves.len() + usize::from(rightsized.is_none()),
            title: format!("Drain and remove {} node(s)", nodes.len()),
            nodes,
            steps,
            end_state: consolidate::totals(cluster, &gone, usage),
            verify: vec![
                "kubectl get pods -A --field-selector=status.phase=Pending   # none".into(),
                "kubectl get pdb -A   # every budget back to its allowed disruptions".into(),
            ],
        });
    }
    cluster.revert(mark);
    for w in &mut waves {
        for (i, s) in w.steps.iter_mut().enumerate() {
            s.id = format!("{}.{}", w.wave, i + 1);
        }
    }
    let mut plan = Plan {
        api_version: "intel.kubectl.io/v1alpha1",
        kind: "MigrationPlan",
        cluster: cluster_name.to_string(),
        captured_at: captured_at.to_string(),
        consolidation: if rightsized.is_some() {
            "rightsized"
        } else {
            "asRequested"
        },
        max_nodes_per_wave: per_wave,
        // The cluster as it is, not as rightsized.
        before: c.as_requested.before.clone(),
        after: chosen.after.clone(),
        waves,
        monthly_saved: if rightsized.is_some() {
            money.monthly_saved_rightsized.unwrap_or(0.0)
        } else {
            money.monthly_saved
        },
        price_sources: money.sources.clone(),
        sha256: String::new(),
    };
    plan.sha256 = content_hash(&plan);
    plan
}

/// sha256 of the plan as compact JSON with its keys sorted and `sha256` empty: what
/// anyone can recompute from the document, whatever order a tool wrote its keys in.
pub fn content_hash(plan: &Plan) -> String {
    let mut blank = plan.clone();
    blank.sha256.clear();
    // A `Value`'s maps are sorted by key.
    let value = serde_json::to_value(&blank).unwrap_or_default();
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
