//! The failure-class fixtures, by where the failure shows.

pub mod injected;
pub mod network;
pub mod pods;
pub mod series;
