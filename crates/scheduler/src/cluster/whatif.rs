//! What-ifs on one loaded cluster: every change is journalled, and [`Cluster::revert`]
//! undoes the changes since a [`Mark`] newest first. A fork and its revert cost what
//! changed, not the cluster (a copy of 150,000 pods for each question would not).

use k8s_openapi::api::core::v1::Taint;

use super::{Cluster, NodeInfo};

/// A point in a cluster's what-if history ([`Cluster::mark`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark(usize);

/// One journalled change, with what undoing it needs.
#[derive(Debug, Clone)]
pub(super) enum Change {
    PodAdded,
    Bound {
        pod: usize,
    },
    Unbound {
        pod: usize,
        node: String,
        at: usize,
    },
    NodeAdded {
        name: String,
    },
    /// A node taken out (its pods were unbound first, each journalled).
    NodeRemoved {
        node: Box<NodeInfo>,
    },
    /// A pod's requests before a resize.
    Resized {
        pod: usize,
        requests: Box<crate::resources::Resources>,
        non_zero: (i64, i64),
    },
    /// A node's taints or cordon before an edit.
    NodeEdited {
        name: String,
        taints: Vec<Taint>,
        unschedulable: bool,
    },
}

impl Cluster {
    /// The current point of the what-if history.
    pub fn mark(&self) -> Mark {
        Mark(self.journal.len())
    }

    /// Undoes every change since `mark`, newest first. Nodes put back one after the other
    /// (a zone's) are re-indexed once, before the next change that needs the index.
    pub fn revert(&mut self, mark: Mark) {
        let mut stale = false;
        while self.journal.len() > mark.0 {
            let Some(change) = self.journal.pop() else {
                break;
            };
            if stale && !matches!(change, Change::NodeRemoved { .. }) {
                self.reindex_nodes();
                stale = false;
            }
            match change {
                Change::PodAdded => {
                    let i = self.pods.len() - 1;
                    self.unbind_raw(i);
                    self.selected.clear();
                    if let Some(p) = self.pods.pop() {
                        if let Some(list) = self.by_namespace.get_mut(&p.namespace) {
                            if list.last() == Some(&i) {
                                list.pop();
                            }
                        }
                        self.pod_ix.remove(&(p.namespace, p.name));
                    }
                    self.placement.pop();
                    if self.with_anti_affinity.last() == Some(&i) {
                        self.with_anti_affinity.pop();
                    }
                    if self.with_affinity.last() == Some(&i) {
                        self.with_affinity.pop();
                    }
                }
                Change::Bound { pod } => {
                    self.unbind_raw(pod);
                }
                Change::Unbound { pod, node, at } => {
                    self.bind_raw(pod, &node, Some(at));
                }
                Change::NodeAdded { name } => {
                    self.nodes.retain(|n| n.name != name);
                    self.reindex_nodes();
                }
                Change::NodeRemoved { node } => {
                    let at = self.nodes.partition_point(|n| n.name < node.name);
                    self.nodes.insert(at, *node);
                    stale = true;
                }
                Change::Resized {
                    pod,
                    requests,
                    non_zero,
                } => {
                    self.set_requests(pod, *requests, non_zero);
                }
                Change::NodeEdited {
                    name,
                    taints,
                    unschedulable,
                } => {
                    if let Some(&n) = self.node_ix.get(&name) {
                        self.nodes[n].taints = taints;
                        self.nodes[n].unschedulable = unschedulable;
                    }
                }
            }
        }
        if stale {
            self.reindex_nodes();
        }
    }

    /// Takes a node out of the cluster (a node or zone lost): its pods are unbound first
    /// and returned, in the order they were bound, for the caller to place again.
    pub fn remove_node(&mut self, name: &str) -> Option<Vec<usize>> {
        let &n = self.node_ix.get(name)?;
        let pods = self.nodes[n].pods.clone();
        for &p in &pods {
            self.unbind(p);
        }
        let node = self.nodes.remove(n);
        self.journal.push(Change::NodeRemoved {
            node: Box::new(node),
        });
        self.reindex_nodes();
        Some(pods)
    }

    /// Takes several nodes out at once (a zone, a pool): their pods unbound and returned
    /// in order, the nodes removed, and the index rebuilt once rather than per node.
    /// Names that are not nodes are skipped.
    pub fn remove_nodes(&mut self, names: &[String]) -> Vec<usize> {
        let mut pods = Vec::new();
        let mut gone = std::collections::BTreeSet::new();
        for name in names {
            let Some(&n) = self.node_ix.get(name) else {
                continue;
            };
            if !gone.insert(n) {
                continue;
            }
            let on = self.nodes[n].pods.clone();
            for &p in &on {
                self.unbind(p);
            }
            pods.extend(on);
        }
        // Newest journal entry last: nodes by descending position, so each revert
        // re-inserts by name wherever the others are.
        for &n in gone.iter().rev() {
            let node = self.nodes.remove(n);
            self.journal.push(Change::NodeRemoved {
                node: Box::new(node),
            });
        }
        if !gone.is_empty() {
            self.reindex_nodes();
        }
        pods
    }

    fn edit_node(&mut self, name: &str, edit: impl FnOnce(&mut NodeInfo)) -> bool {
        let Some(&n) = self.node_ix.get(name) else {
            return false;
        };
        self.journal.push(Change::NodeEdited {
            name: name.to_string(),
            taints: self.nodes[n].taints.clone(),
            unschedulable: self.nodes[n].unschedulable,
        });
        edit(&mut self.nodes[n]);
        true
    }

    /// Adds a taint to a node (a drained node stays, tainted, so its topology domain still
    /// counts).
    pub fn taint(&mut self, name: &str, taint: Taint) -> bool {
        self.edit_node(name, |n| n.taints.push(taint))
    }

    /// Gives pod `i` other requests (a rightsizing applied): where it is bound, the node's
    /// accounting follows. False when there is no such pod.
    pub fn resize(
        &mut self,
        i: usize,
        requests: crate::resources::Resources,
        non_zero: (i64, i64),
    ) -> bool {
        let Some(pod) = self.pods.get(i) else {
            return false;
        };
        self.journal.push(Change::Resized {
            pod: i,
            requests: Box::new(pod.requests.clone()),
            non_zero: pod.non_zero,
        });
        self.set_requests(i, requests, non_zero);
        true
    }

    /// Sets a pod's requests without journalling, moving its node's accounting along.
    fn set_requests(
        &mut self,
        i: usize,
        requests: crate::resources::Resources,
        non_zero: (i64, i64),
    ) {
        let bound = self.unbind_raw(i);
        self.pods[i].requests = requests;
        self.pods[i].non_zero = non_zero;
        if let Some((node, at)) = bound {
            self.bind_raw(i, &node, Some(at));
        }
    }

    /// Cordons (or uncordons) a node.
    pub fn cordon(&mut self, name: &str, unschedulable: bool) -> bool {
        self.edit_node(name, |n| n.unschedulable = unschedulable)
    }
}
