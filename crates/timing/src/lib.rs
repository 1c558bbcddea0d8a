//! Phase timings on stderr, when `INTEL_TIMINGS` is set: how BENCHMARKS.md splits a run
//! into reading, relations, evidence and detectors without a profiler. Never on stdout,
//! so reports stay byte-identical with or without it.

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("INTEL_TIMINGS").is_some_and(|v| !v.is_empty()))
}

/// Runs `f`, and reports how long it took as phase `name`.
pub fn phase<T>(name: &str, f: impl FnOnce() -> T) -> T {
    if !enabled() {
        return f();
    }
    let start = Instant::now();
    let out = f();
    eprintln!(
        "timing: {name}: {:.3} s{}",
        start.elapsed().as_secs_f64(),
        memory()
    );
    out
}

/// Resident and peak memory after a phase (Linux; empty elsewhere): where the run's
/// memory goes, which costs the kernel a page zeroing per new page.
fn memory() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return String::new();
    };
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
            .map_or(0, |kb| kb >> 10)
    };
    format!(
        " (rss {} MiB, peak {} MiB)",
        field("VmRSS:"),
        field("VmHWM:")
    )
}
