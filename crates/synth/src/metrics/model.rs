//! The usage model itself: one container instance's reading at an instant, the daily
//! pattern and the noise, and the fixed-width numbers both outputs print.

use std::collections::HashMap;

use crate::rng::Rng;
use crate::signals::{ContainerSignals, Signals};

/// One container's usage at an instant.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reading {
    /// What the cgroup got, millicores (capped at the limit).
    pub(super) cpu_m: f64,
    /// What the process wanted, millicores (for throttling).
    pub(super) demand_m: f64,
    /// Working set, bytes.
    pub(super) mem: f64,
}

/// Minutes as given, non-finite or negative read as 0.
pub(super) fn clean(minutes: f64) -> f64 {
    if minutes.is_finite() {
        minutes.max(0.0)
    } else {
        0.0
    }
}

pub(super) fn finite(x: f64, default: f64) -> f64 {
    if x.is_finite() { x } else { default }
}

/// The container's noise seed: forked from the caller's generator by its identity, so it
/// does not depend on the other containers.
pub(super) fn seed(rng: &Rng, c: &ContainerSignals) -> u64 {
    rng.fork(&format!(
        "metrics/{}/{}/{}",
        c.namespace, c.pod, c.container
    ))
    .next_u64()
}

/// The generator for one container at one second; `salt` separates independent draws.
pub(super) fn point_rng(seed: u64, t_ms: i64, salt: u64) -> Rng {
    let second = t_ms.div_euclid(1000) as u64;
    Rng::new(
        seed ^ second.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ salt.wrapping_mul(0xD6E8_FEB8_6659_FD93),
    )
}

/// The daily traffic factor at a Unix time in ms: 1.3 at 14:00 UTC, 0.7 at 04:00, a
/// cosine warped so that the 14 hours of decline and the 10 of climb are each smooth.
pub(super) fn daily(t_ms: i64) -> f64 {
    let hour = t_ms.rem_euclid(86_400_000) as f64 / 3_600_000.0;
    let since_peak = (hour - 14.0).rem_euclid(24.0);
    let phase = if since_peak < 14.0 {
        since_peak / 28.0
    } else {
        0.5 + (since_peak - 14.0) / 20.0
    };
    1.0 + 0.3 * (std::f64::consts::TAU * phase).cos()
}

/// The usage of `c` at `t_ms` (daily factor `daily` at that time), or `None` when no
/// instance of it runs then.
pub(super) fn reading(
    c: &ContainerSignals,
    seed: u64,
    cap_ms: i64,
    t_ms: i64,
    daily: f64,
) -> Option<Reading> {
    let ago = (cap_ms - t_ms) as f64 / 60_000.0;
    let started = if c.running && ago <= clean(c.started_minutes_ago) {
        clean(c.started_minutes_ago)
    } else {
        match &c.previous {
            Some(p) if ago <= clean(p.started_minutes_ago) && ago >= clean(p.ended_minutes_ago) => {
                clean(p.started_minutes_ago)
            }
            _ => return None,
        }
    };
    let mut r = point_rng(seed, t_ms, 0);
    let cpu_noise = r.noise(0.05);
    let mem_noise = r.noise(0.02);
    let mut demand = finite(c.cpu_base_m, 0.0).max(0.0) * daily * cpu_noise;
    let mut mem = finite(c.mem_base, 0.0).max(0.0) * (1.0 + (daily - 1.0) / 3.0) * mem_noise;
    if let Some(onset) = c.onset_minutes_ago.map(clean)
        && ago <= onset
    {
        demand *= finite(c.cpu_factor, 1.0).max(0.0);
        let leaking_for = onset.min(started) - ago;
        mem += finite(c.mem_slope_per_min, 0.0) * leaking_for.max(0.0);
    }
    let cpu = match c.cpu_limit_m.filter(|l| l.is_finite() && *l > 0.0) {
        // At the quota a container gets just under it, period after period.
        Some(limit) if demand > limit => limit * (0.97 + 0.03 * r.unit()),
        _ => demand,
    };
    let mem = match c.mem_limit.filter(|l| l.is_finite() && *l > 0.0) {
        Some(limit) => mem.min(limit),
        None => mem,
    };
    Some(Reading {
        cpu_m: cpu.max(0.0),
        demand_m: demand.max(0.0),
        mem: mem.max(0.0),
    })
}

/// CFS periods per second the container ran in (of the 10 periods of 100 ms a second):
/// a container serving traffic runs in most of them, one near its limit in all, an idle
/// one in few (never fewer than 1, nor than the throttled ones).
pub(super) fn periods_per_second(c: &ContainerSignals, r: Reading) -> f64 {
    let Some(limit) = c.cpu_limit_m.filter(|l| l.is_finite() && *l > 0.0) else {
        return 0.0;
    };
    (10.0 * (2.0 * r.demand_m / limit).clamp(0.1, 1.0)).max(throttled_per_second(c, r))
}

/// Throttled CFS periods per second (10 periods of 100 ms per second): none below 70% of
/// the limit, all of them at 120% demand and beyond.
pub(super) fn throttled_per_second(c: &ContainerSignals, r: Reading) -> f64 {
    let Some(limit) = c.cpu_limit_m.filter(|l| l.is_finite() && *l > 0.0) else {
        return 0.0;
    };
    let pressure = ((r.demand_m / limit - 0.7) / 0.5).clamp(0.0, 1.0);
    10.0 * pressure
}

pub(super) fn nanocores(millicores: f64) -> u64 {
    let n = (finite(millicores, 0.0) * 1e6).round();
    if n > 0.0 { n as u64 } else { 0 }
}

pub(super) fn kib(bytes: f64) -> u64 {
    let k = (finite(bytes, 0.0) / 1024.0).round();
    if k > 0.0 { k as u64 } else { 0 }
}

/// `x` with at most `places` decimals, trailing zeros dropped (`0.25`, `3`, `1048576`):
/// how Prometheus prints sample values, from fixed-precision formatting.
pub(super) fn decimals(x: f64, places: usize) -> String {
    let x = finite(x, 0.0);
    let mut s = format!("{x:.places$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".to_string();
    }
    s
}

pub(super) fn pod_node_map(signals: &Signals) -> HashMap<(&str, &str), &str> {
    let mut m = HashMap::with_capacity(signals.pod_nodes.len());
    for ((ns, pod), node) in &signals.pod_nodes {
        m.entry((ns.as_str(), pod.as_str()))
            .or_insert(node.as_str());
    }
    m
}
