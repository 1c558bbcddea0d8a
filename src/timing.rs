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
    eprintln!("timing: {name}: {:.3} s", start.elapsed().as_secs_f64());
    out
}
