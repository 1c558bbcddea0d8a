//! Ways to make a change go through, each one simulated: the strategy's edits are added
//! to the change (or replace it, for a canary) and the whole change runs again; only
//! strategies whose simulated verdict is better than the change's are kept, and each
//! carries that verdict, so a test can apply the same edits and check it.

use serde::Serialize;
use serde_json::Value;

use intel_model::Snapshot;
use intel_scheduler::Cluster;

use super::change::{Change, Edit};
use super::nodes::pools;
use super::plan::Plan;
use super::run::{Ground, Run, Verdict, run};
use super::target::Workload;
use crate::diagnose::remedy::values::shell_quote;

mod candidates;

pub use candidates::*;

/// A strategy, with its simulated outcome.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Strategy {
    /// `pre-scale`, `lower-surge`, `canary`, `tolerate-taint`, `fix-node-selector`,
    /// `raise-quota`, `raise-limit`, `within-limit-range`, `relax-budget`,
    /// `fewer-replicas`, `proceed`.
    pub kind: String,
    pub title: String,
    pub why: String,
    /// `low`, `medium`, `high`.
    pub risk: String,
    /// What is added to the change (or, with `replacesChange`, the whole change).
    pub edits: Vec<Edit>,
    pub replaces_change: bool,
    /// The verdict the change gets with these edits, simulated.
    pub verdict: Verdict,
    pub outcome: String,
    pub commands: Vec<String>,
    pub verify: Vec<String>,
    pub rollback: Vec<String>,
}

pub struct Candidate {
    pub kind: &'static str,
    pub title: String,
    pub why: String,
    pub risk: &'static str,
    pub edits: Vec<Edit>,
    pub replaces_change: bool,
    pub commands: Vec<String>,
    pub rollback: Vec<String>,
}

/// The change with a strategy's edits, resolved and run.
pub fn try_edits(
    snap: &Snapshot,
    ground: &Ground,
    cluster: &mut Cluster,
    change: &Change,
    edits: &[Edit],
    replaces: bool,
    prepare: &dyn Fn(&mut Plan),
) -> Option<Run> {
    let mut c = change.clone();
    if replaces {
        c.edits.retain(|e| {
            matches!(
                e,
                Edit::ScaleNodes { .. } | Edit::Cordon { .. } | Edit::Drain { .. }
            )
        });
    }
    c.edits.extend(edits.iter().cloned());
    let mut plan = Plan::resolve(snap, &c).ok()?;
    prepare(&mut plan);
    run(ground, cluster, &plan).ok()
}

fn ns_flag(ns: &str) -> String {
    format!("kubectl -n {}", shell_quote(ns))
}

fn patch_command(w: &Workload, patch: &Value) -> String {
    format!(
        "{} patch {} {} --type merge -p {}",
        ns_flag(&w.namespace),
        w.kind.to_ascii_lowercase(),
        shell_quote(&w.name),
        shell_quote(&patch.to_string())
    )
}

/// The commands that make the change itself, in the order it is simulated.
pub fn change_commands(cluster: &Cluster, change: &Change, plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for w in &plan.workloads {
        let kind = w.kind.to_ascii_lowercase();
        let Some(before) = &w.before else {
            continue;
        };
        // A patched or applied workload's command is the patch or the manifest itself.
        if plan
            .declared
            .contains(&(w.kind.clone(), w.namespace.clone(), w.name.clone()))
        {
            continue;
        }
        let containers = |v: &Value| -> Vec<(String, Value)> {
            v.pointer("/spec/template/spec/containers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or_default().to_string(),
                        c.clone(),
                    )
                })
                .collect()
        };
        let old = containers(before);
        let mut images = Vec::new();
        for (name, c) in containers(&w.after) {
            let prev = old.iter().find(|(n, _)| *n == name).map(|(_, c)| c);
            if prev.map(|p| &p["image"]) != Some(&c["image"]) {
                if let Some(img) = c["image"].as_str() {
                    images.push(shell_quote(&format!("{name}={img}")));
                }
            }
            if prev.map(|p| &p["resources"]) != Some(&c["resources"]) {
                let list = |side: &str| -> String {
                    c["resources"][side]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(",")
                };
                let (req, lim) = (list("requests"), list("limits"));
                let mut cmd = format!(
                    "{} set resources {kind}/{} -c {}",
                    ns_flag(&w.namespace),
                    shell_quote(&w.name),
                    shell_quote(&name)
                );
                if !req.is_empty() {
                    cmd.push_str(&format!(" --requests={}", shell_quote(&req)));
                }
                if !lim.is_empty() {
                    cmd.push_str(&format!(" --limits={}", shell_quote(&lim)));
                }
                out.push(cmd);
            }
        }
        if !images.is_empty() {
            out.push(format!(
                "{} set image {kind}/{} {}",
                ns_flag(&w.namespace),
                shell_quote(&w.name),
                images.join(" ")
            ));
        }
        if w.replicas_after() != w.replicas_before() && w.kind != "DaemonSet" {
            out.push(format!(
                "{} scale {kind}/{} --replicas={}",
                ns_flag(&w.namespace),
                shell_quote(&w.name),
                w.replicas_after()
            ));
        }
    }
    for e in &change.edits {
        match e {
            Edit::Patch { target, patch } => {
                let w = plan
                    .workloads
                    .iter()
                    .find(|w| w.patched_as.iter().any(|t| t == target));
                if let Some(w) = w {
                    out.push(patch_command(w, patch));
                }
            }
            Edit::ScaleNodes { pool, nodes } => out.extend(scale_commands(cluster, pool, *nodes)),
            Edit::Cordon { node } => out.push(format!("kubectl cordon {}", shell_quote(node))),
            Edit::Drain { node } => out.push(format!(
                "kubectl drain {} --ignore-daemonsets --delete-emptydir-data",
                shell_quote(node)
            )),
            Edit::Delete { target } => out.push(format!("kubectl delete {}", shell_quote(target))),
            Edit::Apply { object } => out.push(format!(
                "kubectl apply -f - <<'EOF'\n{}\nEOF",
                serde_json::to_string_pretty(object).unwrap_or_default()
            )),
            _ => {}
        }
    }
    out
}

fn target(w: &Workload) -> String {
    format!("{}/{}/{}", w.namespace, w.kind.to_ascii_lowercase(), w.name)
}

/// Pre-scaling a pool: the fewest nodes (up to 64) that make the change complete, and the
/// fewest that make it safe, found by doubling then halving (more nodes never make a
/// rollout fail where fewer let it through).
pub fn pre_scale(
    snap: &Snapshot,
    ground: &Ground,
    cluster: &mut Cluster,
    change: &Change,
    base: &[Edit],
    prepare: &dyn Fn(&mut Plan),
    current: Verdict,
) -> Vec<(String, usize, usize, Run)> {
    let mut out = Vec::new();
    let all = pools(cluster);
    for (pool, (_, members)) in all.iter().take(8) {
        let size = members.len();
        let attempt = |cluster: &mut Cluster, k: usize| {
            let mut edits = base.to_vec();
            edits.push(Edit::ScaleNodes {
                pool: pool.clone(),
                nodes: size + k,
            });
            try_edits(snap, ground, cluster, change, &edits, false, prepare)
        };
        let Some(at_max) = attempt(cluster, 64) else {
            continue;
        };
        if at_max.verdict >= current {
            continue;
        }
        let want = at_max.verdict;
        // Doubling to a bracket, then binary search for the fewest nodes reaching `want`.
        let (mut lo, mut hi) = (0usize, 1usize);
        let mut best: Option<Run> = None;
        while hi < 64 {
            match attempt(cluster, hi) {
                Some(r) if r.verdict <= want => {
                    best = Some(r);
                    break;
                }
                _ => {
                    lo = hi;
                    hi *= 2;
                }
            }
        }
        let (mut hi, mut best) = match best {
            Some(b) => (hi, b),
            None => (64, at_max),
        };
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            match attempt(cluster, mid) {
                Some(r) if r.verdict <= want => {
                    hi = mid;
                    best = r;
                }
                _ => lo = mid,
            }
        }
        out.push((pool.clone(), size, size + hi, best));
    }
    out
}

/// The commands that scale a pool, where the nodes say which tool owns it.
pub fn scale_commands(cluster: &Cluster, pool: &str, nodes: usize) -> Vec<String> {
    let all = pools(cluster);
    let Some((key, members)) = all.get(pool) else {
        return Vec::new();
    };
    let node = members.first().and_then(|n| cluster.node(n));
    let eks_cluster = node.and_then(|n| n.labels.get("alpha.eksctl.io/cluster-name"));
    match (key.as_str(), eks_cluster) {
        ("eks.amazonaws.com/nodegroup", Some(c)) => vec![format!(
            "eksctl scale nodegroup --cluster {} --name {} --nodes {nodes} --nodes-max {nodes}",
            shell_quote(c),
            shell_quote(pool)
        )],
        ("karpenter.sh/nodepool", _) => vec![format!(
            "kubectl get nodepool {} -o jsonpath='{{.spec.limits}}'   # Karpenter adds the nodes for pending pods when the NodePool's limits allow {nodes} nodes",
            shell_quote(pool)
        )],
        _ => vec![format!(
            "# scale node group {pool} (nodes labelled {key}={pool}) from {} to {nodes} nodes with the tool that owns it, then check: kubectl get nodes -l {}",
            members.len(),
            shell_quote(&format!("{key}={pool}"))
        )],
    }
}
