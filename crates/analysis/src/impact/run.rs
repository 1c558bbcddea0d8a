//! One simulation of a resolved change on a cluster: node changes first, then admission
//! objects, deleted workloads, the rollouts in the order named, then each changed
//! workload scaled to its autoscaler's maximum. The cluster is the same afterwards.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use intel_model::Snapshot;
use intel_scheduler::Cluster;
use intel_scheduler::drain::Budget;

use super::admission::{Admission, Quota, pod_usage};
use super::change::ChangeError;
use super::nodes;
use super::plan::{NodeOp, Plan};
use super::rollout::{self, Outcome};
use super::sim::{Blocker, Sim, Step};
use super::target::Workload;

/// `safe`: every step fits with room to spare; `risky`: it completes, but some step
/// waited for old pods to make room, no replica was ready at some step, or the
/// autoscaler's maximum does not fit; `fails`: some step cannot proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Safe,
    Risky,
    Fails,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Safe => "safe",
            Verdict::Risky => "risky",
            Verdict::Fails => "fails",
        }
    }
}

/// How one workload fared.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadResult {
    pub subject: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// `rollout`, `scale`, `create`, `delete`, `unchanged`.
    pub action: String,
    pub desired: i32,
    pub completed: bool,
    /// The fewest replicas ready at any step.
    pub min_ready: i32,
    /// Replicas ready before the change.
    pub ready_before: i32,
    /// A step waited for room that only old pods' removal made.
    pub waited: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocker: Option<Blocker>,
    /// The autoscaler's maximum, and how many replicas fit when it is reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaler: Option<AutoscalerCheck>,
}

impl WorkloadResult {
    /// A rollout that leaves no replica ready at some step (Recreate, or maxUnavailable as
    /// large as the replicas) when some were ready before: an outage by design.
    pub fn outage(&self) -> bool {
        self.action == "rollout" && self.completed && self.min_ready == 0 && self.ready_before > 0
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoscalerCheck {
    pub name: String,
    pub max_replicas: i32,
    pub fit: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocker: Option<Blocker>,
}

#[derive(Debug, Clone)]
pub struct Run {
    pub steps: Vec<Step>,
    pub workloads: Vec<WorkloadResult>,
    /// Node changes that could not proceed or stranded pods.
    pub node_blockers: Vec<Blocker>,
    pub verdict: Verdict,
}

impl Run {
    /// The first step that cannot proceed.
    pub fn first_blocked(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.blocker.is_some())
    }
}

/// What every simulation of one snapshot shares.
pub struct Ground {
    pub admission: Admission,
    pub priorities: BTreeMap<String, i32>,
    pub default_priority: i32,
}

impl Ground {
    pub fn new(snap: &Snapshot) -> Ground {
        let mut priorities = BTreeMap::new();
        let mut default_priority = 0;
        for pc in snap.items("scheduling.k8s.io", "priorityclasses") {
            let v = pc.value();
            let value = v.get("value").and_then(Value::as_i64).unwrap_or(0) as i32;
            priorities.insert(pc.meta.name.clone(), value);
            if v.get("globalDefault").and_then(Value::as_bool) == Some(true) {
                default_priority = value;
            }
        }
        Ground {
            admission: Admission::from_snapshot(snap),
            priorities,
            default_priority,
        }
    }
}

/// A quota the change adds has no `status.used` yet: what the namespace's pods use now.
fn with_usage(cluster: &Cluster, q: &Value) -> Quota {
    let mut quota = Quota::from_value(q);
    if q.pointer("/status/used").is_none() {
        let ns = quota.namespace.clone();
        for p in cluster
            .pods
            .iter()
            .filter(|p| p.namespace == ns && !p.terminal)
        {
            let spec = serde_json::to_value(&p.spec).unwrap_or_default();
            quota.charge(&pod_usage(&spec), 1);
        }
    }
    quota
}

/// A budget the change adds: what it allows now, from the ready pods it covers (the
/// disruption controller's arithmetic for minAvailable and maxUnavailable).
fn budget(cluster: &Cluster, pdb: &Value) -> Budget {
    let mut b =
        serde_json::from_value::<k8s_openapi::api::policy::v1::PodDisruptionBudget>(pdb.clone())
            .map(|p| Budget::from_pdb(&p))
            .unwrap_or(Budget {
                namespace: String::new(),
                name: String::new(),
                selector: None,
                disruptions_allowed: 0,
            });
    if pdb.pointer("/status/disruptionsAllowed").is_none() {
        let covered = cluster
            .pods
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                p.namespace == b.namespace
                    && cluster.node_of(*i).is_some()
                    && intel_scheduler::selectors::label_selector_matches(
                        b.selector.as_ref(),
                        &p.labels,
                    )
            })
            .count() as i32;
        let resolve = |v: &Value| match v {
            Value::Number(n) => n.as_i64().unwrap_or(0) as i32,
            Value::String(s) => s
                .strip_suffix('%')
                .and_then(|p| p.parse::<i64>().ok())
                .map_or(0, |p| ((p * covered as i64 + 99) / 100) as i32),
            _ => 0,
        };
        b.disruptions_allowed = if let Some(min) = pdb.pointer("/spec/minAvailable") {
            (covered - resolve(min)).max(0)
        } else if let Some(max) = pdb.pointer("/spec/maxUnavailable") {
            resolve(max).min(covered)
        } else {
            0
        };
    }
    b
}

fn result(w: &Workload, action: &str, o: &Outcome) -> WorkloadResult {
    WorkloadResult {
        subject: w.label(),
        kind: w.kind.clone(),
        namespace: w.namespace.clone(),
        name: w.name.clone(),
        action: action.into(),
        desired: o.desired,
        completed: o.completed,
        min_ready: o.min_ready,
        ready_before: w.pods.iter().filter(|(_, r)| *r).count() as i32,
        waited: o.waited,
        blocker: o.blocker.clone(),
        autoscaler: None,
    }
}

/// Simulates `plan` on `cluster`; the cluster is unchanged afterwards.
pub fn run(ground: &Ground, cluster: &mut Cluster, plan: &Plan) -> Result<Run, ChangeError> {
    let saved_pdbs = cluster.pdbs.clone();
    cluster.pdbs.retain(|b| {
        !plan
            .deleted_pdbs
            .contains(&(b.namespace.clone(), b.name.clone()))
    });
    for p in &plan.pdbs {
        let b = budget(cluster, p);
        cluster
            .pdbs
            .retain(|x| !(x.namespace == b.namespace && x.name == b.name));
        cluster.pdbs.push(b);
    }
    let mut admission = ground.admission.clone();
    admission.quotas.retain(|q| {
        !plan
            .deleted_quotas
            .contains(&(q.namespace.clone(), q.name.clone()))
    });
    for q in &plan.quotas {
        admission.set_quota(with_usage(cluster, q));
    }
    for lr in &plan.limit_ranges {
        admission.add_limit_range(lr);
    }
    let mut sim = Sim::new(
        cluster,
        admission,
        ground.priorities.clone(),
        ground.default_priority,
    );
    let outcome = simulate(&mut sim, plan);
    let steps = sim.finish();
    cluster.pdbs = saved_pdbs;
    let (workloads, node_blockers) = outcome?;
    let verdict = if !node_blockers.is_empty() || workloads.iter().any(|w| !w.completed) {
        Verdict::Fails
    } else if workloads.iter().any(|w| {
        w.waited || w.outage() || w.autoscaler.as_ref().is_some_and(|a| a.blocker.is_some())
    }) {
        Verdict::Risky
    } else {
        Verdict::Safe
    };
    Ok(Run {
        steps,
        workloads,
        node_blockers,
        verdict,
    })
}

type Simulated = Result<(Vec<WorkloadResult>, Vec<Blocker>), ChangeError>;

fn simulate(sim: &mut Sim, plan: &Plan) -> Simulated {
    let mut node_blockers = Vec::new();
    let last = |sim: &Sim| sim.steps.last().and_then(|s| s.blocker.clone());
    for op in &plan.nodes {
        let stranded = match op {
            NodeOp::Cordon(n) => nodes::cordon(sim, n).map(|_| 0),
            NodeOp::Drain(n) => nodes::drain(sim, n),
            NodeOp::Delete(n) => nodes::delete_node(sim, n),
            NodeOp::ScalePool(p, k) => nodes::scale_pool(sim, p, *k),
        }
        .map_err(ChangeError)?;
        if stranded > 0 {
            if let Some(b) = last(sim) {
                node_blockers.push(b);
            }
        }
    }
    let mut out = Vec::new();
    for w in &plan.deleted {
        let o = rollout::delete(sim, w);
        out.push(result(w, "delete", &o));
    }
    for w in &plan.workloads {
        let (action, o) = if w.before.is_none() {
            ("create", rollout::create(sim, w))
        } else if w.template_changed() {
            let o = match w.kind.as_str() {
                "StatefulSet" => rollout::statefulset(sim, w),
                "DaemonSet" => rollout::daemonset(sim, w),
                "Job" => rollout::create(sim, w),
                _ => rollout::deployment(sim, w),
            };
            ("rollout", o)
        } else if w.replicas_after() != w.replicas_before() {
            ("scale", rollout::scale(sim, w))
        } else {
            let ready = w.pods.iter().filter(|(_, r)| *r).count() as i32;
            let o = Outcome {
                completed: true,
                min_ready: ready,
                desired: w.replicas_after(),
                ..Outcome::default()
            };
            ("unchanged", o)
        };
        let mut r = result(w, action, &o);
        let key = (w.kind.clone(), w.namespace.clone(), w.name.clone());
        if let (Some(b), true) = (plan.hpas.get(&key), o.completed) {
            if b.max > o.desired {
                let (fit, blocker) = rollout::headroom(sim, w, b.max - o.desired);
                r.autoscaler = Some(AutoscalerCheck {
                    name: b.name.clone(),
                    max_replicas: b.max,
                    fit: o.desired + fit,
                    blocker,
                });
            }
        }
        out.push(r);
    }
    Ok((out, node_blockers))
}
