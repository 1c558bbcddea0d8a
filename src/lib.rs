//! kubectl-intel: snapshot bundles of Kubernetes clusters, deterministic analyses over
//! them, and the surfaces (CLI, MCP, a read-only API replay) that expose them.
//!
//! The pipeline is `sources → snapshot → analysis → report → surfaces`; see
//! `ARCHITECTURE.md` for the code map and the invariants each module keeps.

pub mod analysis;
pub mod bundle;
pub mod capture;
pub mod cli;
pub mod engine;
pub mod fixture;
pub mod mcp;
pub mod model;
pub mod redact;
pub mod serve;
pub mod source;
pub mod synth;
pub mod timing;
