//! `generate_disaster_recovery_plan`: what breaks when a node, a zone, a pool or a
//! workload fails, found by simulation. The single points of failure (`spof.rs`) are read
//! from where pods run, the specs and the service map; the scenarios (`scenario.rs`) fail
//! nodes or workloads on the scheduler engine's cluster and place the displaced pods
//! again as kube-scheduler would; `rto.rs` says how long each hit workload takes to be
//! back, part by part with its basis; `report.rs` states it all. The workloads and their pods
//! are indexed once (`index.rs`).

mod improve;
pub mod incident;
mod index;
pub mod primary;
mod report;
pub mod rollback;
pub mod rpo;
pub mod rto;
pub mod runbook;
pub mod scenario;
pub mod spof;

use intel_engine::Relations;
use intel_model::Snapshot;
use intel_scheduler::Cluster;

pub use scenario::Scenario;

use crate::report::Report;

/// What to simulate: the scenarios asked for, or (empty) every zone, every pool when
/// there are several (in clusters of at most [`POOLS_UP_TO`] nodes), every node of a
/// cluster of at most [`ALL_NODES_UP_TO`] nodes, the [`TOP_DEPENDED_ON`] workloads others
/// depend on most, and the primaries of the [`PRIMARIES`] replicated datastores others
/// depend on most.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub scenarios: Vec<Scenario>,
    /// A diagnosed incident to start from: its causes' scenarios are simulated (before
    /// any asked for, in place of the defaults) and their fixes come first.
    pub incident: Option<incident::Incident>,
}

pub const ALL_NODES_UP_TO: usize = 50;
pub const TOP_DEPENDED_ON: usize = 20;
/// Fixes simulated per plan, critical single points of failure first.
pub const IMPROVEMENTS: usize = 20;
/// Replicated datastores whose primary is failed by default, the most depended on first.
pub const PRIMARIES: usize = 5;
/// Node pools are default scenarios up to this many nodes.
pub const POOLS_UP_TO: usize = 500;

/// Builds the scheduler's cluster and the relations, then [`plan_on`].
pub fn plan(snap: &Snapshot, req: &Request) -> Result<Report, String> {
    let mut cluster = Cluster::from_snapshot(snap);
    let rel = Relations::build(snap);
    plan_on(snap, &rel, &mut cluster, req)
}

/// The plan on a cluster already built from `snap`; the cluster is the same afterwards.
pub fn plan_on(
    snap: &Snapshot,
    rel: &Relations,
    cluster: &mut Cluster,
    req: &Request,
) -> Result<Report, String> {
    use intel_timing::phase;
    let mut index = phase("dr-plan: index", || index::Index::build(snap, cluster));
    index.attach(rel.service_map());
    let spofs = phase("dr-plan: single points of failure", || {
        let mut all = spof::find(cluster, &index);
        all.extend(spof::external(rel.service_map()));
        all
    });
    let mut scenarios = req
        .incident
        .as_ref()
        .map(|i| i.scenarios(cluster, &index))
        .unwrap_or_default();
    let from_incident = !scenarios.is_empty();
    let all = req.scenarios.is_empty() && !from_incident;
    let mut left_out = Vec::new();
    if all {
        (scenarios, left_out) = defaults(cluster, &index);
    }
    for s in &req.scenarios {
        if !scenarios.contains(s) {
            scenarios.push(s.clone());
        }
    }
    let mut outcomes = phase("dr-plan: scenarios", || {
        scenarios
            .iter()
            .map(|s| scenario::simulate(cluster, &index, s))
            .collect::<Result<Vec<_>, _>>()
    })?;
    for o in outcomes.iter_mut() {
        let Scenario::Rollback(text) = &o.scenario else {
            continue;
        };
        let (ns, name) = text.split_once('/').unwrap_or(("", text));
        let hits: Vec<&index::Owned> = index
            .workloads
            .iter()
            .filter(|w| w.namespace == ns && w.name == name && w.kind != "Job")
            .collect();
        let [w] = hits.as_slice() else {
            return Err(format!(
                "--scenario rollback={text}: {} workload of that name",
                if hits.is_empty() {
                    "no"
                } else {
                    "more than one"
                }
            ));
        };
        let r = phase("dr-plan: rollback", || {
            rollback::simulate(snap, rel, cluster, &w.kind, ns, name)
        });
        o.verdict = match r.verdict.as_str() {
            "safe" => "survives",
            "risky" => "degraded",
            "no-history" => "no-rollback",
            _ => "outage",
        }
        .into();
        o.rollback = Some(r);
    }
    let detection = rto::grace_period(snap, cluster.version);
    // What each workload's pods show, read once across scenarios.
    let mut observed: std::collections::BTreeMap<String, rto::Observed> = Default::default();
    phase("dr-plan: rto", || {
        // A failed workload: how long one replica takes to heal itself, from its probes.
        for o in outcomes.iter_mut() {
            let Scenario::Workload(text) = &o.scenario else {
                continue;
            };
            let Ok(w) = index.find(text, "workload") else {
                continue;
            };
            let w = &index.workloads[w];
            let seen = observed
                .entry(w.label())
                .or_insert_with(|| rto::observe(snap, cluster, w));
            o.rto.push(rto::self_healing(snap, cluster, w, seen));
        }
        for o in outcomes.iter_mut().filter(|o| !o.nodes_lost.is_empty()) {
            // Zones with no node left.
            let gone: std::collections::BTreeSet<&String> = o.nodes_lost.iter().collect();
            let mut hit: std::collections::BTreeSet<&String> = Default::default();
            let mut kept: std::collections::BTreeSet<&String> = Default::default();
            for n in &cluster.nodes {
                if let Some(z) = n.labels.get(spof::ZONE) {
                    if gone.contains(&n.name) {
                        hit.insert(z);
                    } else {
                        kept.insert(z);
                    }
                }
            }
            let lost_zones: Vec<String> = hit.difference(&kept).map(|z| (*z).clone()).collect();
            for l in &o.losses {
                let Some(w) = index.by_label.get(&l.subject).map(|&i| &index.workloads[i]) else {
                    continue;
                };
                let stuck = o
                    .pending
                    .iter()
                    .find(|p| p.workload == l.subject)
                    .map(|p| p.message.as_str());
                let seen = observed
                    .entry(w.label())
                    .or_insert_with(|| rto::observe(snap, cluster, w));
                o.rto.push(rto::estimate(
                    cluster,
                    w,
                    &detection,
                    seen,
                    stuck,
                    &lost_zones,
                ));
            }
        }
    });
    // Data at risk: every workload that keeps state (claims) or is a datastore.
    let rpos: Vec<rpo::Rpo> = phase("dr-plan: rpo", || {
        index
            .workloads
            .iter()
            .filter(|w| w.kind != "DaemonSet")
            .filter(|w| {
                w.pods.first().is_some_and(|&p| {
                    let pod = &cluster.pods[p];
                    spof::is_datastore(pod)
                        || pod
                            .spec
                            .volumes
                            .iter()
                            .flatten()
                            .any(|v| v.persistent_volume_claim.is_some())
                })
            })
            .map(|w| rpo::estimate(snap, cluster, w))
            .collect()
    });
    let improvements: Vec<improve::Improvement> = phase("dr-plan: improvements", || {
        // Critical ones first, at most IMPROVEMENTS of them.
        let hurt = improve::hurt(&outcomes);
        let mut order: Vec<&spof::Spof> = spofs
            .iter()
            .filter(|s| hurt.contains_key(s.subject.as_str()))
            .collect();
        order.sort_by_key(|s| s.severity != "critical");
        let mut done: Vec<improve::Improvement> = order
            .into_iter()
            .filter_map(|s| improve::simulate(cluster, &index, s, &hurt[s.subject.as_str()]))
            .take(IMPROVEMENTS)
            .collect();
        // The fixes that help most first (a stable sort keeps the critical ones ahead
        // among equals).
        done.sort_by_key(|i| std::cmp::Reverse(i.gain));
        done
    });
    let runbooks = runbook::build(snap, &outcomes, &rpos);
    Ok(phase("dr-plan: report", || {
        report::build(
            snap,
            rel,
            &report::Parts {
                spofs: &spofs,
                outcomes: &outcomes,
                rpos: &rpos,
                improvements: &improvements,
                runbooks: &runbooks,
                all,
                left_out: &left_out,
                incident: req.incident.as_ref(),
            },
        )
    }))
}

/// Every zone, every pool (when several), every node of a small cluster, and the
/// workloads others depend on most.
/// With them, what was left out and how to ask for it (the report's limitations).
fn defaults(cluster: &Cluster, index: &index::Index) -> (Vec<Scenario>, Vec<String>) {
    use std::collections::BTreeSet;
    let mut out = Vec::new();
    let mut left = Vec::new();
    let nodes = cluster.nodes.len();
    let zones: BTreeSet<&String> = cluster
        .nodes
        .iter()
        .filter_map(|n| n.labels.get(spof::ZONE))
        .collect();
    out.extend(zones.into_iter().map(|z| Scenario::Zone(z.clone())));
    let pools: BTreeSet<String> = cluster
        .nodes
        .iter()
        .filter_map(|n| crate::impact::pool_of(n).map(|(_, v)| v))
        .collect();
    // A pool of a large cluster holds most of its pods: on request only there.
    if pools.len() > 1 && nodes <= POOLS_UP_TO {
        out.extend(pools.into_iter().map(Scenario::Pool));
    } else if pools.len() > 1 {
        left.push(format!(
            "The {} node pools were not failed ({nodes} nodes; by default only up to {POOLS_UP_TO}): ask for one with --scenario pool=NAME.",
            pools.len()
        ));
    }
    if nodes <= ALL_NODES_UP_TO {
        out.extend(cluster.nodes.iter().map(|n| Scenario::Node(n.name.clone())));
    } else {
        left.push(format!(
            "Nodes were not failed one by one ({nodes} nodes; by default only up to {ALL_NODES_UP_TO}): each zone's scenario loses them together; ask for one with --scenario node=NAME."
        ));
    }
    let mut depended: Vec<(usize, String)> = index
        .workloads
        .iter()
        .filter(|w| w.kind != "DaemonSet")
        .map(|w| (w.dependents.len(), format!("{}/{}", w.namespace, w.name)))
        .filter(|(n, _)| *n > 0)
        .collect();
    depended.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    depended.dedup_by(|a, b| a.1 == b.1);
    if depended.len() > TOP_DEPENDED_ON {
        left.push(format!(
            "{} of the {} workloads others depend on were failed, the most depended on; ask for another with --scenario workload=NAMESPACE/NAME.",
            TOP_DEPENDED_ON,
            depended.len()
        ));
    }
    out.extend(
        depended
            .into_iter()
            .take(TOP_DEPENDED_ON)
            .map(|(_, w)| Scenario::Workload(w)),
    );
    // Replicated datastores, the most depended on first: does anything take over from
    // the primary? (A single copy is already a single point of failure of its own.)
    let mut stores: Vec<(usize, String)> = index
        .workloads
        .iter()
        .filter(|w| w.kind != "DaemonSet" && w.desired >= 2)
        .filter(|w| {
            w.pods
                .first()
                .is_some_and(|&p| spof::is_datastore(&cluster.pods[p]))
        })
        .map(|w| (w.dependents.len(), format!("{}/{}", w.namespace, w.name)))
        .collect();
    stores.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    if stores.len() > PRIMARIES {
        left.push(format!(
            "The primaries of {PRIMARIES} of the {} replicated datastores were failed, the most depended on; ask for another with --scenario primary=NAMESPACE/NAME.",
            stores.len()
        ));
    }
    out.extend(
        stores
            .into_iter()
            .take(PRIMARIES)
            .map(|(_, w)| Scenario::Primary(w)),
    );
    (out, left)
}
