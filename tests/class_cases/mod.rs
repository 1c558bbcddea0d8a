//! The failure-class fixtures, by where the failure shows.

pub mod pods;
