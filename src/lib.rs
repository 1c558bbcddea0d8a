//! kubectl-intel: snapshot bundles of Kubernetes clusters, deterministic analyses over
//! them, and the surfaces (CLI, MCP, a read-only API replay) that expose them.
//!
//! The pipeline is `sources → snapshot → analysis → report → surfaces`, one crate per
//! stage under `crates/`; see `ARCHITECTURE.md` for the code map and the invariants each
//! crate keeps. This crate is the binary's: the command line (`cli`), plus the pipeline's
//! crates re-exported under the names the code map uses, for the integration tests.

pub mod cli;
#[doc(hidden)]
pub mod fuzzing;

pub use intel_analysis as analysis;
pub use intel_bundle as bundle;
pub use intel_capture as capture;
pub use intel_engine as engine;
pub use intel_exit as exit;
pub use intel_fixture as fixture;
pub use intel_mcp as mcp;
pub use intel_model as model;
pub use intel_redact as redact;
pub use intel_scheduler as scheduler;
pub use intel_serve as serve;
pub use intel_source as source;
pub use intel_synth as synth;
pub use intel_timing as timing;
