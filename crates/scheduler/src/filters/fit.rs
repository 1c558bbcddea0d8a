//! NodeResourcesFit: the pod's requests against what is left of the node's allocatable.

use super::{Code, Status};
use crate::cluster::{NodeInfo, PodInfo};
use crate::version::KubeVersion;

/// One resource a node lacks for a pod: (name as the reason says it, requested, left,
/// allocatable). Also what "what would make it fit" reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub resource: String,
    pub requested: i64,
    pub free: i64,
    pub allocatable: i64,
}

/// Every resource `node` lacks for `pod`, in the order `fitsRequest` checks them: the
/// pod count, cpu, memory, ephemeral storage, then scalar resources (by name; Go's map
/// order is random, ours is sorted). A resource the pod does not request never fails,
/// even on an overcommitted node.
pub fn insufficient(pod: &PodInfo, node: &NodeInfo) -> Vec<Shortfall> {
    let mut out = Vec::new();
    let (alloc, used, want) = (&node.allocatable, &node.requested, &pod.requests);
    let pods = node.pods.len() as i64;
    if pods + 1 > node.allowed_pods {
        out.push(Shortfall {
            resource: "pods".into(),
            requested: 1,
            free: node.allowed_pods - pods,
            allocatable: node.allowed_pods,
        });
    }
    if want.is_zero() {
        return out;
    }
    let mut check = |name: &str, want: i64, alloc: i64, used: i64| {
        if want > 0 && want > alloc - used {
            out.push(Shortfall {
                resource: name.to_string(),
                requested: want,
                free: alloc - used,
                allocatable: alloc,
            });
        }
    };
    check("cpu", want.milli_cpu, alloc.milli_cpu, used.milli_cpu);
    check("memory", want.memory, alloc.memory, used.memory);
    check(
        "ephemeral-storage",
        want.ephemeral_storage,
        alloc.ephemeral_storage,
        used.ephemeral_storage,
    );
    for (name, &q) in &want.scalar {
        if q == 0 {
            continue;
        }
        check(name, q, alloc.scalar(name), used.scalar(name));
    }
    out
}

/// The filter: `Too many pods` and `Insufficient <resource>` together in one status.
/// Since 1.34 a request above the node's whole allocatable makes it unresolvable.
pub fn fit(version: KubeVersion, pod: &PodInfo, node: &NodeInfo) -> Option<Status> {
    let short = insufficient(pod, node);
    if short.is_empty() {
        return None;
    }
    let unresolvable = version.oversized_request_unresolvable()
        && short
            .iter()
            .any(|s| s.resource != "pods" && s.requested > s.allocatable);
    Some(Status {
        plugin: "NodeResourcesFit",
        code: if unresolvable {
            Code::UnschedulableAndUnresolvable
        } else {
            Code::Unschedulable
        },
        reasons: short
            .iter()
            .map(|s| {
                if s.resource == "pods" {
                    "Too many pods".to_string()
                } else {
                    format!("Insufficient {}", s.resource)
                }
            })
            .collect(),
    })
}
