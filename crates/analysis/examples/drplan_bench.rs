//! The dr-plan benchmark (BENCHMARKS.md; `scripts/bench-drplan.sh` runs it in release on
//! the 150k-pod bundle): after the load (bundle, scheduler cluster, relations), the plan
//! with every zone and the 20 most depended-on workloads — single points of failure,
//! every scenario with its pods placed again, RTO, RPO, fixes re-simulated, runbooks.
//!
//!   cargo run --release -p intel-analysis --example drplan_bench -- BUNDLE

use std::time::Instant;

use intel_analysis::drplan::{Request, plan_on};
use intel_engine::Relations;
use intel_scheduler::Cluster;

mod common;

fn main() {
    let path = std::env::args().nth(1).expect("usage: drplan_bench BUNDLE");
    let snap = common::load(&path);
    let t = Instant::now();
    let mut cluster = Cluster::from_snapshot(&snap);
    let rel = Relations::build(&snap);
    println!(
        "scheduler cluster and relations: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let r = plan_on(&snap, &rel, &mut cluster, &Request::default()).expect("plan");
    let scenarios = r.details["scenarios"].as_array().map_or(0, Vec::len);
    let spofs = r.details["singlePointsOfFailure"]
        .as_array()
        .map_or(0, Vec::len);
    println!(
        "dr-plan, every zone and pool and the 20 most depended-on workloads: {scenarios} scenarios, {spofs} single points of failure in {:.2} s",
        t.elapsed().as_secs_f64()
    );
}
