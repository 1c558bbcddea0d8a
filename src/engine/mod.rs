//! Shared analysis engines: pure functions of a snapshot that every analysis builds on.
//!
//! - [`relations`]: typed relations between objects (ownership, placement, selection,
//!   routing, scaling, storage, zones, configuration, dependencies), each with evidence.
//! - [`servicemap`]: the dependency graph between workloads, Services, Ingresses and
//!   external hosts, inferred from configuration, logs, NetworkPolicies and annotations.
//!
//! Must never: do I/O, read the clock or the environment, or iterate a hash map into
//! output. Every output is a sorted vector; ties are broken by name. Nothing scans all
//! pods per pod: selectors go through inverted label indexes, workloads are read from
//! their templates.

mod hosts;
pub mod relations;
pub mod servicemap;
mod views;

pub use relations::{ObjectRef, Relation, RelationKind, Relations};
pub use servicemap::{Evidence, MapEdge, MapNode, ServiceMap};
