//! Shared analysis engines: pure functions of a snapshot that every analysis builds on.
//!
//! - [`relations`]: typed relations between objects (ownership, placement, selection,
//!   routing, scaling, storage, zones, configuration, dependencies), each with evidence;
//!   `workload_of` / `pods_of` between pods and the workloads that own them.
//! - [`servicemap`]: the dependency graph between workloads, Services, Ingresses and
//!   external hosts, inferred from env and ConfigMap values, ClusterIPs in logs,
//!   NetworkPolicy egress, Ingress/Gateway routes and the `intel.kubectl.io/depends-on`
//!   annotation; workload → workload queries (`depends_on`, `dependents_of`, `path`).
//!
//! One call builds both: [`Relations::build`] builds the relations, the service map over
//! them, and adds the map's edges as `DependsOn` relations; [`Relations::service_map`]
//! returns the map.
//!
//! Must never: do I/O, read the clock or the environment, or iterate a hash map into
//! output. Every output is a sorted vector; ties are broken by name. Nothing scans all
//! pods per pod: selectors go through inverted label indexes, workloads are read from
//! their templates, references are interned so the per-pod work moves integers.
//! At 150,000 pods (a million relations) a build takes a few seconds and ~350 MiB.

mod hosts;
mod log_addresses;
pub mod relations;
pub mod servicemap;
pub mod views;

pub use log_addresses::LogAddresses;
pub use relations::{ObjectRef, Relation, RelationKind, Relations};
pub use servicemap::{Evidence, MapEdge, MapNode, ServiceMap};
