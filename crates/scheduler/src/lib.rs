//! kube-scheduler's verdicts, offline: would a pod fit, on which nodes, and if not, exactly
//! why — in the words the cluster's own scheduler writes in its FailedScheduling events.
//!
//! The engine the what-if analyses (impact, placement, disaster recovery) share, and the
//! `schedule` primitive. A [`Cluster`] is the scheduler cache's view of a snapshot (nodes,
//! the non-terminal pods bound to them, the volume objects); [`simulate`] runs one
//! scheduling cycle for one pod: the default profile's PreFilter and Filter plugins in
//! their order, each node stopping at its first failing plugin, then DefaultPreemption's
//! dry run and `FitError`'s message. Reason texts that changed between releases come from
//! [`version`], keyed by the snapshot's Kubernetes version.
//!
//! Pure: no I/O, no clock; the same cluster and pod give the same verdict.

pub mod cluster;
pub mod consolidate;
pub mod drain;
pub mod filters;
pub mod hints;
mod lite;
pub mod message;
pub mod request;
pub mod resources;
pub mod score;
pub mod selectors;
pub mod simulate;
pub mod version;

pub use cluster::{Cluster, NodeInfo, PodInfo};
pub use filters::{Code, Status};
pub use score::{Placement, place};
pub use simulate::{Verdict, simulate};
pub use version::KubeVersion;
