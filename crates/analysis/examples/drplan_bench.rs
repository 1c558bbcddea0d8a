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

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // The binary's allocator settings (src/main.rs).
    // SAFETY: first thing, before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(43, 0) };
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    // SAFETY: as above.
    unsafe { libmimalloc_sys::mi_option_set(15, -1) };
    let path = std::env::args().nth(1).expect("usage: drplan_bench BUNDLE");
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
