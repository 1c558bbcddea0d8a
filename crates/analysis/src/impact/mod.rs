//! `analyze_deployment_impact`: what a proposed change does before it is made. The change
//! (`change.rs`) is resolved against the snapshot (`plan.rs`), its resources projected
//! from evidence (`project.rs`), and simulated step by step as the controllers would roll
//! it out (`rollout.rs`, on `sim.rs`: the scheduler engine plus admission), with node
//! changes (`nodes.rs`). Strategies (`strategy.rs`, chosen in `advise.rs`) are each
//! simulated again. The blast radius comes from the service map, the report's shape is
//! every analysis's.

pub mod admission;
mod advise;
pub mod change;
mod nodes;
pub mod plan;
mod project;
mod report;
mod rollout;
pub mod run;
mod sim;
pub mod strategy;
mod target;

use intel_engine::Relations;
use intel_model::Snapshot;
use intel_scheduler::Cluster;

pub use change::{Change, ChangeError, Edit, ResourceEdit};
pub use nodes::pool_of;
pub use run::Verdict;
pub use sim::{Blocker, Step};

use crate::report::Report;

/// What to simulate: the change, and optionally a cluster where the new version already
/// runs (its usage is the new version's measure).
pub struct Request<'a> {
    pub change: Change,
    pub baseline: Option<&'a Snapshot>,
}

/// Simulates the change on one snapshot: builds the scheduler's cluster and the
/// relations, then [`impact_on`].
pub fn impact(snap: &Snapshot, req: &Request) -> Result<Report, ChangeError> {
    let mut cluster = Cluster::from_snapshot(snap);
    let rel = Relations::build(snap);
    impact_on(snap, &rel, &mut cluster, req)
}

/// Simulates the change on a cluster already built from `snap` (a server keeps one per
/// snapshot); the cluster is the same afterwards.
pub fn impact_on(
    snap: &Snapshot,
    rel: &Relations,
    cluster: &mut Cluster,
    req: &Request,
) -> Result<Report, ChangeError> {
    if req.change.is_empty() {
        return Err(ChangeError(
            "no change given: say what to simulate (-f FILE, --set-image, --replicas, --set-resources, --scale-nodes, --cordon, --drain, --delete or --patch)".into(),
        ));
    }
    use intel_timing::phase;
    let mut plan = phase("impact: plan", || plan::Plan::resolve(snap, &req.change))?;
    let (projections, mut limitations) = phase("impact: projections", || {
        project::project(snap, req.baseline, &plan)
    });
    project::apply(&projections, &mut plan);
    let ground = run::Ground::new(snap);
    let outcome = phase("impact: simulation", || run::run(&ground, cluster, &plan))?;
    let strategies = phase("impact: strategies", || {
        advise::advise(
            snap,
            &ground,
            cluster,
            &req.change,
            &plan,
            &outcome,
            &projections,
        )
    });
    if ground.admission.quotas.iter().any(|q| q.scoped) {
        limitations.push("ResourceQuotas with scopes (BestEffort, PriorityClass, …) are not simulated; their namespaces' admission may be stricter than shown.".into());
    }
    Ok(report::build(
        snap,
        rel,
        &req.change,
        &plan,
        &outcome,
        &projections,
        strategies,
        limitations,
    ))
}
