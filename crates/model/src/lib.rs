//! The snapshot model: typed access to a captured cluster, independent of where it came
//! from (a bundle on disk or a live capture). Owns objects, resource types, the manifest,
//! and the relation indexes. Never does I/O.

pub mod duration;
pub mod index;
pub mod manifest;
pub mod object;
pub mod quantity;
pub mod rtype;
pub mod selector;
pub mod snapshot;
pub mod usage;

pub use index::{Index, ObjId};
pub use manifest::Manifest;
pub use object::{Meta, Object, OwnerRef};
pub use rtype::{ResourceType, TypeKey};
pub use snapshot::{Fleet, LogKey, MetricsSample, ResourceList, Snapshot};
