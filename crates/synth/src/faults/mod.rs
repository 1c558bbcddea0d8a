//! The fault kinds scenarios can name. Each group file exposes
//! `apply(world, topo, fault) -> Option<Result<(), String>>`: `None` when the kind is not
//! one of its own, so kinds are dispatched without a central table to edit.

mod core;
mod nodes;
mod pods;

use super::scenario::Fault;
use super::topology::Topology;
use super::world::World;

type Group = fn(&mut World, &mut Topology, &Fault) -> Option<Result<(), String>>;

const GROUPS: &[Group] = &[core::apply, pods::apply, nodes::apply];

pub fn apply(world: &mut World, topo: &mut Topology, fault: &Fault) -> Result<(), String> {
    for g in GROUPS {
        if let Some(result) = g(world, topo, fault) {
            return result;
        }
    }
    Err(format!(
        "unknown fault type {:?}; known: {}",
        fault.kind,
        known().join(", ")
    ))
}

/// Every fault kind, for error messages and docs.
pub fn known() -> Vec<&'static str> {
    let mut k: Vec<&'static str> = core::KINDS
        .iter()
        .chain(pods::KINDS)
        .chain(nodes::KINDS)
        .copied()
        .collect();
    k.sort();
    k
}
