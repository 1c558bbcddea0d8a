//! The optimize (rightsizing) benchmark (BENCHMARKS.md; `scripts/bench-optimize.sh` runs it
//! in release on the 150k-pod bundle): after the load (the bundle read, the relations built
//! once, as the MCP server keeps them), every container of every workload rightsized with
//! krr's simple strategy, report included.
//!
//!   cargo run --release -p intel-analysis --example optimize_bench -- BUNDLE

use std::time::Instant;

use intel_analysis::optimize::{Request, optimize};
use intel_engine::Relations;

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
    let r = optimize(&snap, &rel, &Request::default());
    let rows = r.details["rightsizing"].as_array().map_or(0, Vec::len);
    println!(
        "optimize (rightsizing): {rows} containers, {} to change, in {:.2} s",
        r.recommendations.len(),
        t.elapsed().as_secs_f64()
    );
}
