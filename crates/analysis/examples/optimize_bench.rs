//! The optimize benchmark (BENCHMARKS.md; `scripts/bench-optimize.sh` runs it in release on
//! the 150k-pod bundle): after the load (the bundle read, the relations and the scheduler's
//! cluster built once, as the MCP server keeps them), the whole analysis — every container
//! rightsized with krr's simple strategy, consolidation as requested and rightsized, cost —
//! report included.
//!
//!   cargo run --release -p intel-analysis --example optimize_bench -- BUNDLE

use std::time::Instant;

use intel_analysis::optimize::{Request, optimize_on};
use intel_engine::Relations;
use intel_scheduler::Cluster;

mod common;

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: optimize_bench BUNDLE");
    let snap = common::load(&path);
    let t = Instant::now();
    let rel = Relations::build(&snap);
    println!("relations: {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let mut cluster = Cluster::from_snapshot(&snap);
    println!("scheduler cluster: {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let r = optimize_on(&snap, &rel, &mut cluster, &Request::default());
    let rows = r.details["rightsizing"].as_array().map_or(0, Vec::len);
    let c = &r.details["consolidation"];
    let freed = |k: &str| c[k]["freed"].as_array().map_or(0, Vec::len);
    println!(
        "optimize: {rows} containers rightsized, {} recommendations, {} nodes freed as requested and {} rightsized ({} not tried), in {:.2} s",
        r.recommendations.len(),
        freed("asRequested"),
        freed("rightsized"),
        c["asRequested"]["notTried"],
        t.elapsed().as_secs_f64()
    );
}
