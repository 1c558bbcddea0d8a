//! The impact analysis's benchmark (BENCHMARKS.md; `scripts/bench-impact.sh` runs it in
//! release on the 150k-pod bundle): after the load (the bundle read, the scheduler's
//! cluster and the relations built once, as the MCP server keeps them), a 100-replica
//! rollout of a Deployment with a new image simulated end to end — plan, projection,
//! every controller step placed by the scheduler engine, strategies, report.
//!
//!   cargo run --release -p intel-analysis --example impact_bench -- BUNDLE [NS/NAME]

use std::time::Instant;

use intel_analysis::impact::{Change, Request, impact_on};
use intel_engine::Relations;
use intel_scheduler::Cluster;

mod common;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: impact_bench BUNDLE [NS/NAME]");
    let snap = common::load(&path);
    let t = Instant::now();
    let mut cluster = Cluster::from_snapshot(&snap);
    println!("scheduler cluster: {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let rel = Relations::build(&snap);
    println!("relations: {:.2} s", t.elapsed().as_secs_f64());
    // The first Deployment by name, or the one asked for.
    let target = args.next().unwrap_or_else(|| {
        let d = snap
            .items("apps", "deployments")
            .first()
            .expect("a Deployment");
        format!("{}/{}", d.meta.namespace, d.meta.name)
    });
    let (ns, name) = target.split_once('/').expect("NS/NAME");
    let image = format!("{ns}/deployment/{name}=registry.example.com/{name}:bench");
    let replicas = format!("{ns}/deployment/{name}=100");
    // A: the image and 100 replicas at once (the controller's default 25%/25%).
    let mut a = Change::default();
    a.set_image(&image).expect("set image");
    a.replicas(&replicas).expect("replicas");
    measure(
        &snap,
        &rel,
        &mut cluster,
        a,
        &format!("new image and 100 replicas for {ns}/{name}"),
    );
    // B: the same, one pod at a time (maxSurge 1, maxUnavailable 0): every step a sync.
    let mut b = Change::default();
    b.set_image(&image).expect("set image");
    b.replicas(&replicas).expect("replicas");
    b.patch(&format!(
        "{ns}/deployment/{name}={{\"spec\":{{\"strategy\":{{\"rollingUpdate\":{{\"maxSurge\":1,\"maxUnavailable\":0}}}}}}}}"
    ))
    .expect("patch");
    measure(
        &snap,
        &rel,
        &mut cluster,
        b,
        &format!("the same one pod at a time for {ns}/{name}"),
    );
}

fn measure(
    snap: &intel_model::Snapshot,
    rel: &Relations,
    cluster: &mut Cluster,
    change: Change,
    what: &str,
) {
    let req = Request {
        change,
        baseline: None,
    };
    let mut times = Vec::new();
    let mut verdict = String::new();
    let mut steps = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let r = impact_on(snap, rel, cluster, &req).expect("impact");
        times.push(t.elapsed().as_secs_f64());
        verdict = r.details["verdict"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        steps = r.details["steps"].as_array().map_or(0, Vec::len);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{what}: {verdict} in {steps} steps; {:.3} s median of 3 (min {:.3}, max {:.3})",
        times[1], times[0], times[2]
    );
}
