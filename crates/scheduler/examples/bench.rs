//! The scheduler engine's benchmark (BENCHMARKS.md; `scripts/bench-schedule.sh` runs it in
//! release on the 150k-pod bundle): building the cluster, one pod's what-if (take a
//! running pod off its node, simulate, put it back) over a thousand pods, a fork and
//! revert of a 100-pod change, and a zone lost with every displaced pod placed again as
//! the scheduler would (filter until enough nodes fit, score, take the best).
//!
//!   cargo run --release -p intel-scheduler --example bench -- BUNDLE

use std::time::Instant;

use intel_scheduler::{Cluster, place, simulate};

/// The allocator the binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    // The binary's allocator settings (src/main.rs): no transparent huge pages, memory kept
    // until exit; without them the kernel's page zeroing is a third of this run.
    // SAFETY: first thing, before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(43, 0) };
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    // SAFETY: as above.
    unsafe { libmimalloc_sys::mi_option_set(15, -1) };
    let path = std::env::args().nth(1).expect("usage: bench BUNDLE");
    let t = Instant::now();
    let snap = intel_bundle::read_bundle(std::path::Path::new(&path))
        .expect("read bundle")
        .snapshot;
    println!(
        "read bundle: {:.2} s ({} pods)",
        t.elapsed().as_secs_f64(),
        snap.pods().len()
    );

    let t = Instant::now();
    let mut c = Cluster::from_snapshot(&snap);
    println!(
        "cluster: {:.2} s ({} nodes, {} pods), peak RSS so far {} MiB",
        t.elapsed().as_secs_f64(),
        c.nodes.len(),
        c.pods.len(),
        peak_rss_mib()
    );

    // One pod's what-if, over a thousand bound pods spread through the cluster.
    let bound: Vec<usize> = (0..c.pods.len())
        .filter(|&i| c.node_of(i).is_some())
        .collect();
    let step = (bound.len() / 1000).max(1);
    let mut times = Vec::new();
    let mut fits_back = 0;
    for &i in bound.iter().step_by(step).take(1000) {
        let t = Instant::now();
        let node = c.unbind(i).expect("bound");
        let v = simulate(&c, &c.pods[i].unbound());
        c.bind(i, &node);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        fits_back += usize::from(v.feasible.contains(&node));
    }
    times.sort_by(f64::total_cmp);
    println!(
        "what-if, one pod ({} pods): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {fits_back} fit back",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or(0.0)
    );

    // Fork and revert a 100-pod change: 50 pods moved to the next node.
    let mut forks = Vec::new();
    for round in 0..20 {
        let t = Instant::now();
        let mark = c.mark();
        for &i in bound.iter().skip(round * 50).take(50) {
            let node = c.unbind(i).expect("bound");
            let at = c.nodes.iter().position(|n| n.name == node).unwrap_or(0);
            let next = c.nodes[(at + 1) % c.nodes.len()].name.clone();
            c.bind(i, &next);
        }
        c.revert(mark);
        forks.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    forks.sort_by(f64::total_cmp);
    println!(
        "fork + 100 changes + revert: p50 {:.3} ms, max {:.3} ms",
        percentile(&forks, 0.5),
        forks.last().copied().unwrap_or(0.0)
    );

    // Lose a zone, place every displaced pod again.
    let zone = c.nodes[0]
        .labels
        .get("topology.kubernetes.io/zone")
        .cloned()
        .unwrap_or_default();
    let lost: Vec<String> = c
        .nodes
        .iter()
        .filter(|n| n.labels.get("topology.kubernetes.io/zone") == Some(&zone))
        .map(|n| n.name.clone())
        .collect();
    let t = Instant::now();
    let mark = c.mark();
    let mut displaced = Vec::new();
    for n in &lost {
        displaced.extend(c.remove_node(n).unwrap_or_default());
    }
    let removed = t.elapsed().as_secs_f64();
    let (mut placed, mut stuck, mut start) = (0, 0, 0);
    for &i in &displaced {
        let (p, next) = place(&c, &c.pods[i].unbound(), start);
        start = next;
        match p.node {
            Some(node) => {
                c.bind(i, &node);
                placed += 1;
            }
            None => stuck += 1,
        }
    }
    let total = t.elapsed().as_secs_f64();
    c.revert(mark);
    println!(
        "zone {zone} lost: {} nodes removed in {removed:.2} s; {} pods placed again in {:.2} s in all ({placed} placed, {stuck} stuck); reverted in {:.2} s",
        lost.len(),
        displaced.len(),
        total,
        t.elapsed().as_secs_f64() - total
    );
    println!("peak RSS: {} MiB", peak_rss_mib());
}
