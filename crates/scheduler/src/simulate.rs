//! One scheduling cycle for one pod: PreFilter, Filter on every node, and on failure the
//! preemption dry run and the FailedScheduling message, as kube-scheduler would write it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cluster::{Cluster, PodInfo};
use crate::filters::{self, Code, Status};
use crate::message::{fit_error, histogram};

/// Why a node was not considered at all: NodeAffinity's PreFilter named other nodes.
const NOT_SELECTED: &str = "node(s) didn't satisfy plugin(s) [NodeAffinity]";

/// What the scheduler would decide for one pod.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub namespace: String,
    pub name: String,
    pub schedulable: bool,
    /// The FailedScheduling event's text; `None` when the pod fits.
    pub message: Option<String>,
    /// Nodes the pod fits on, by name.
    pub feasible: Vec<String>,
    /// Per node that rejected it, the first failing plugin's status.
    pub rejected: Vec<(String, Status)>,
    /// A PreFilter plugin rejected the pod for every node.
    pub pre_filter: Option<Status>,
    /// When the pod fits nowhere but preemption would make room: the node where evicting
    /// lower-priority pods is enough.
    pub preemption_node: Option<String>,
}

/// Simulates scheduling `pod` (which must not be bound in `cluster`) on `cluster`.
pub fn simulate(cluster: &Cluster, pod: &PodInfo) -> Verdict {
    let mut v = Verdict {
        namespace: pod.namespace.clone(),
        name: pod.name.clone(),
        schedulable: false,
        message: None,
        feasible: Vec::new(),
        rejected: Vec::new(),
        pre_filter: None,
        preemption_node: None,
    };
    let total = cluster.nodes.len();
    if total == 0 {
        v.message = Some("no nodes available to schedule pods".into());
        return v;
    }
    let pre = filters::pre_filter(cluster, pod);
    if let Some(status) = &pre.rejected {
        let post = preemption_message(cluster, pod, &BTreeMap::new(), None);
        v.message = Some(fit_error(
            total,
            Some(&status.reasons.join(", ")),
            &BTreeMap::new(),
            post.as_deref(),
        ));
        v.pre_filter = Some(status.clone());
        return v;
    }
    for node in &cluster.nodes {
        if pre
            .node_names
            .as_ref()
            .is_some_and(|names| !names.contains(&node.name))
        {
            v.rejected.push((
                node.name.clone(),
                Status::unresolvable("NodeAffinity", NOT_SELECTED),
            ));
            continue;
        }
        match filters::filter(cluster, &pre, pod, node) {
            None => v.feasible.push(node.name.clone()),
            Some(status) => v.rejected.push((node.name.clone(), status)),
        }
    }
    if !v.feasible.is_empty() {
        v.schedulable = true;
        return v;
    }
    let hist = histogram(
        v.rejected
            .iter()
            .flat_map(|(_, s)| s.reasons.iter().map(String::as_str)),
    );
    let statuses: BTreeMap<String, Status> = v.rejected.iter().cloned().collect();
    let mut helpful = None;
    let post = preemption_message(cluster, pod, &statuses, Some(&mut helpful));
    v.preemption_node = helpful;
    v.message = Some(fit_error(total, None, &hist, post.as_deref()));
    v
}

/// DefaultPreemption's PostFilter message: `preemption: ` and a second fit error over the
/// nodes where preemption was tried (only those that failed with `Unschedulable`), every
/// other node counting as "Preemption is not helpful for scheduling". `None` when evicting
/// lower-priority pods would make room somewhere (the scheduler then nominates that node
/// and adds no message); the node goes to `helpful`.
fn preemption_message(
    cluster: &Cluster,
    pod: &PodInfo,
    statuses: &BTreeMap<String, Status>,
    helpful: Option<&mut Option<String>>,
) -> Option<String> {
    if pod.spec.preemption_policy.as_deref() == Some("Never") {
        return Some("preemption: not eligible due to preemptionPolicy=Never.".into());
    }
    let mut tried: Vec<String> = Vec::new();
    let mut work: Option<Cluster> = None;
    for (node_name, status) in statuses {
        if status.code != Code::Unschedulable {
            continue;
        }
        let Some(node) = cluster.node(node_name) else {
            continue;
        };
        let victims: Vec<usize> = node
            .pods
            .iter()
            .copied()
            .filter(|&p| cluster.pods[p].priority < pod.priority)
            .collect();
        if victims.is_empty() {
            tried.push("No preemption victims found for incoming pod".into());
            continue;
        }
        // Remove every lower-priority pod from the node and filter again.
        let c = work.get_or_insert_with(|| cluster.clone());
        for &p in &victims {
            c.unbind(p);
        }
        let pre = filters::pre_filter(c, pod);
        let after = c
            .node(node_name)
            .and_then(|n| filters::filter(c, &pre, pod, n));
        for &p in &victims {
            c.bind(p, node_name);
        }
        match after {
            None => {
                if let Some(h) = helpful {
                    *h = Some(node_name.clone());
                }
                return None;
            }
            Some(s) => tried.extend(s.reasons),
        }
    }
    let total = cluster.nodes.len();
    let candidates = statuses
        .values()
        .filter(|s| s.code == Code::Unschedulable)
        .count();
    let mut hist = histogram(tried.iter().map(String::as_str));
    if total > candidates {
        *hist
            .entry("Preemption is not helpful for scheduling".into())
            .or_default() += total - candidates;
    }
    let mut msg = format!("preemption: {}", fit_error(total, None, &hist, None));
    if cluster.version.preemption_double_period() {
        msg.push('.');
    }
    Some(msg)
}
