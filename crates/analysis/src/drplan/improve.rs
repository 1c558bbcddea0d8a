//! The fixes of single points of failure, simulated: the workload with the replicas and
//! the spreading the fix asks for, its pods placed again by the scheduler engine, then
//! every scenario that took it down or degraded it run again, the workload's own
//! displaced pods placed first (the others' do not change whether it stays up, except
//! by taking room first, which is not modelled). What the fix changes is then a
//! simulated fact, not a promise.

use serde::Serialize;

use k8s_openapi::api::core::v1::TopologySpreadConstraint;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use intel_scheduler::{Cluster, place};

use super::index::Index;
use super::scenario::{self, Outcome};
use super::spof::Spof;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Effect {
    pub scenario: String,
    /// The workload's state in the scenario before and after the fix (`unaffected` when it
    /// loses nothing).
    pub before: String,
    pub after: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Improvement {
    pub subject: String,
    /// The single point of failure it removes.
    pub removes: String,
    /// What was simulated: `2 replicas spread over kubernetes.io/hostname`.
    pub change: String,
    pub effects: Vec<Effect>,
    /// How much better the workload fares over those scenarios: per scenario, the steps
    /// between its state before and after (down 3, down until rescheduled 2, degraded 1,
    /// otherwise 0), summed. Fixes are ranked by it.
    pub gain: i64,
}

fn badness(state: &str) -> i64 {
    match state {
        "down" => 3,
        "down-until-rescheduled" => 2,
        "degraded" => 1,
        _ => 0,
    }
}

fn state_of(o: &Outcome, subject: &str) -> String {
    o.losses
        .iter()
        .find(|l| l.subject == subject)
        .map_or("unaffected".into(), |l| l.state.clone())
}

/// The scenarios (nodes, zones, pools) that took each workload down or degraded it, by
/// subject, built once.
pub fn hurt(outcomes: &[Outcome]) -> std::collections::BTreeMap<&str, Vec<&Outcome>> {
    let mut out: std::collections::BTreeMap<&str, Vec<&Outcome>> = Default::default();
    for o in outcomes {
        if matches!(
            o.scenario,
            scenario::Scenario::Workload(_) | scenario::Scenario::Rollback(_)
        ) {
            continue;
        }
        for l in &o.losses {
            if matches!(
                l.state.as_str(),
                "down" | "degraded" | "down-until-rescheduled"
            ) {
                out.entry(l.subject.as_str()).or_default().push(o);
            }
        }
    }
    out
}

/// Simulates the fix of `spof` against `hit`, the scenarios that hurt it. `None`
/// for kinds whose fix is not a placement (a datastore's replication, a zonal volume, a
/// budget).
pub fn simulate(
    cluster: &mut Cluster,
    index: &Index,
    spof: &Spof,
    hit: &[&Outcome],
) -> Option<Improvement> {
    let (replicas, key) = match spof.kind.as_str() {
        "single-replica" | "lone-dns" | "lone-ingress-controller" => {
            (spof.desired.max(2), "kubernetes.io/hostname")
        }
        "one-node" | "no-spread" => (spof.desired.max(2), "kubernetes.io/hostname"),
        "one-zone" => (spof.desired.max(2), super::spof::ZONE),
        "fan-in" => (spof.desired.max(3), super::spof::ZONE),
        _ => return None,
    };
    let w = *index.by_label.get(&spof.subject)?;
    if hit.is_empty() {
        return None;
    }
    let template = cluster.pods[*index.workloads[w].pods.first()?].unbound();
    let mark = cluster.mark();
    for &p in &index.workloads[w].pods {
        cluster.unbind(p);
    }
    let mut pod = template.clone();
    pod.spec.topology_spread_constraints = Some(vec![TopologySpreadConstraint {
        max_skew: 1,
        topology_key: key.to_string(),
        when_unsatisfiable: "ScheduleAnyway".into(),
        label_selector: Some(LabelSelector {
            match_labels: Some(spof.labels.clone()),
            match_expressions: None,
        }),
        ..TopologySpreadConstraint::default()
    }]);
    let mut improved = index.clone();
    improved.workloads[w].pods.clear();
    improved.workloads[w].desired = replicas;
    let mut start = 0;
    for k in 0..replicas {
        let mut p = pod.clone();
        p.name = format!("{}-improved-{k}", template.name);
        let i = cluster.add_pod(p);
        let (placement, next) = place(cluster, &cluster.pods[i].unbound(), start);
        start = next;
        if let Some(node) = placement.node {
            cluster.bind(i, &node);
        }
        improved.workloads[w].pods.push(i);
        improved.by_pod.insert(i, w);
    }
    let mut effects = Vec::new();
    for &o in hit {
        let after = scenario::simulate_for(cluster, &improved, &o.scenario, Some(w))
            .map(|a| state_of(&a, &spof.subject))
            .unwrap_or_else(|e| format!("not simulated: {e}"));
        effects.push(Effect {
            scenario: o.scenario.text(),
            before: state_of(o, &spof.subject),
            after,
        });
    }
    cluster.revert(mark);
    let gain = effects
        .iter()
        .map(|e| badness(&e.before) - badness(&e.after))
        .sum();
    Some(Improvement {
        subject: spof.subject.clone(),
        removes: spof.kind.clone(),
        change: format!("{replicas} replicas spread over {key}"),
        effects,
        gain,
    })
}
