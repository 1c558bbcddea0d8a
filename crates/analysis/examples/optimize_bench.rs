//! The optimize (rightsizing) benchmark (BENCHMARKS.md; `scripts/bench-optimize.sh` runs it
//! in release on the 150k-pod bundle): after the load (the bundle read, the relations built
//! once, as the MCP server keeps them), every container of every workload rightsized with
//! krr's simple strategy, report included.
//!
//!   cargo run --release -p intel-analysis --example optimize_bench -- BUNDLE

use std::time::Instant;

use intel_analysis::optimize::{Request, optimize};
use intel_engine::Relations;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: optimize_bench BUNDLE");
    let t = Instant::now();
    let snap = intel_bundle::read_bundle(std::path::Path::new(&path))
        .expect("read bundle")
        .snapshot;
    println!(
        "read bundle: {:.2} s ({} pods, {} nodes)",
        t.elapsed().as_secs_f64(),
        snap.pods().len(),
        snap.nodes().len()
    );
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
