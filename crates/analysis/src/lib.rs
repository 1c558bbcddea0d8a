//! The analyses: pure functions from snapshots and a request to a [`report::Report`].
//!
//! Must never: do I/O, read the clock or the environment, iterate a hash map into output.
//! "Now" is each snapshot's capture time.

pub mod detect;
pub mod diagnose;
pub mod drplan;
pub mod explain;
pub mod graph;
pub mod impact;
pub mod optimize;
pub mod render;
pub mod report;
pub mod timeline;
