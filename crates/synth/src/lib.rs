//! Synthetic clusters: a deterministic generator of realistic snapshots, and the incident
//! scenarios built on it. Same seed and options, byte-identical bundle.
//!
//! `generate` assembles a cluster from `apps` (what runs) via `topology` (where) and
//! `workload` (the objects of one app) into a `world`; `history` gives it a past (failures
//! that resolved long or shortly before capture); a `scenario` injects `faults`; then
//! `logs` and `metrics` render what the containers' `signals` say they did.

pub mod apps;
pub mod faults;
pub mod generate;
pub mod history;
pub mod logs;
pub mod metrics;
pub mod rng;
pub mod scenario;
pub mod signals;
pub mod topology;
pub mod workload;
pub mod world;

pub use generate::{Options, SynthError, generate};
pub use scenario::Scenario;

/// A library scenario as `kubectl intel synth --scenario NAME` writes it: its own seed
/// and node count, the default size otherwise.
pub fn scenario_snapshot(name: &str) -> Result<intel_model::Snapshot, SynthError> {
    let scenario = Scenario::resolve(name)?;
    let opts = Options {
        seed: scenario.seed.unwrap_or(1),
        nodes: scenario.nodes.unwrap_or(Options::default().nodes),
        ..Options::default()
    };
    generate(&opts, Some(&scenario))
}

/// The demo cluster behind `kubectl intel demo`: the shop during the brief's first incident
/// (a leaking auth rollout cascading to the database and the edge).
pub fn demo() -> Result<intel_model::Snapshot, SynthError> {
    let scenario = Scenario::resolve("auth-memory-leak")?;
    let opts = Options {
        seed: scenario.seed.unwrap_or(1),
        cluster_name: "demo".into(),
        ..Options::default()
    };
    let mut snap = generate(&opts, Some(&scenario))?;
    snap.manifest.cluster.name = "demo".into();
    Ok(snap)
}
