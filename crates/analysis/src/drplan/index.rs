//! Workloads and their pods in the scheduler's cluster, indexed once: a Deployment's pods
//! through its ReplicaSets, a StatefulSet's and a DaemonSet's directly. Built in one pass
//! over the ReplicaSets and one over the pods, never a scan of all pods per workload.

use std::collections::BTreeMap;

use serde_json::Value;

use intel_model::Snapshot;
use intel_scheduler::Cluster;

/// A workload of the cluster with the pods the scheduler's cluster holds for it.
#[derive(Debug, Clone)]
pub struct Owned {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// `spec.replicas` (a DaemonSet: the pods it has).
    pub desired: i32,
    /// Positions in `Cluster::pods` of its non-terminal pods.
    pub pods: Vec<usize>,
    /// The workloads that call it (service map), as `Kind namespace/name`, sorted.
    pub dependents: Vec<String>,
}

impl Owned {
    /// Its pods bound to a node in `cluster` now.
    pub fn bound(&self, cluster: &Cluster) -> Vec<usize> {
        self.pods
            .iter()
            .copied()
            .filter(|&p| cluster.node_of(p).is_some())
            .collect()
    }

    pub fn label(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace, self.name)
    }
}

#[derive(Clone)]
pub struct Index {
    pub workloads: Vec<Owned>,
    /// `Kind namespace/name` → position in `workloads`.
    pub by_label: BTreeMap<String, usize>,
    /// Pod position → workload position.
    pub by_pod: BTreeMap<usize, usize>,
}

const KINDS: &[(&str, &str, &str)] = &[
    ("apps", "deployments", "Deployment"),
    ("apps", "statefulsets", "StatefulSet"),
    ("apps", "daemonsets", "DaemonSet"),
];

impl Index {
    /// The one workload named `NAMESPACE/NAME` (any kind), for `--scenario FLAG=…`.
    pub fn find(&self, text: &str, flag: &str) -> Result<usize, String> {
        let (ns, name) = text
            .split_once('/')
            .ok_or_else(|| format!("--scenario {flag}={text}: expected NAMESPACE/NAME"))?;
        let hits: Vec<usize> = self
            .workloads
            .iter()
            .enumerate()
            .filter(|(_, w)| w.namespace == ns && w.name == name)
            .map(|(i, _)| i)
            .collect();
        match hits.as_slice() {
            [w] => Ok(*w),
            [] => Err(format!(
                "--scenario {flag}={text}: no workload of that name"
            )),
            _ => Err(format!(
                "--scenario {flag}={text}: more than one workload of that name"
            )),
        }
    }

    /// Each workload's callers, from one pass over the service map's edges.
    pub fn attach(&mut self, map: &intel_engine::servicemap::ServiceMap) {
        let all = map.dependents();
        for w in &mut self.workloads {
            let id = intel_engine::ObjectRef::new(&w.kind, &w.namespace, &w.name);
            w.dependents = all
                .get(&id)
                .into_iter()
                .flatten()
                .map(|d| format!("{} {}/{}", d.kind, d.namespace, d.name))
                .collect();
        }
    }

    pub fn build(snap: &Snapshot, cluster: &Cluster) -> Index {
        let mut workloads = Vec::new();
        let mut by_key: BTreeMap<(String, String, String), usize> = BTreeMap::new();
        for (group, resource, kind) in KINDS {
            for o in snap.items(group, resource) {
                let desired = if *kind == "DaemonSet" {
                    0
                } else {
                    o.value()
                        .pointer("/spec/replicas")
                        .and_then(Value::as_i64)
                        .map_or(1, |n| n.clamp(0, i32::MAX as i64) as i32)
                };
                by_key.insert(
                    (
                        kind.to_string(),
                        o.meta.namespace.clone(),
                        o.meta.name.clone(),
                    ),
                    workloads.len(),
                );
                workloads.push(Owned {
                    kind: kind.to_string(),
                    namespace: o.meta.namespace.clone(),
                    name: o.meta.name.clone(),
                    desired,
                    pods: Vec::new(),
                    dependents: Vec::new(),
                });
            }
        }
        // ReplicaSet → its Deployment.
        let mut rs_owner: BTreeMap<(String, String), usize> = BTreeMap::new();
        for rs in snap.items("apps", "replicasets") {
            if let Some(c) = rs.controller().filter(|c| c.kind == "Deployment") {
                if let Some(&w) = by_key.get(&(
                    "Deployment".into(),
                    rs.meta.namespace.clone(),
                    c.name.clone(),
                )) {
                    rs_owner.insert((rs.meta.namespace.clone(), rs.meta.name.clone()), w);
                }
            }
        }
        let mut by_pod = BTreeMap::new();
        for (i, p) in cluster.pods.iter().enumerate() {
            if p.terminal {
                continue;
            }
            let Some((kind, name)) = &p.drain.controller else {
                continue;
            };
            let w = match kind.as_str() {
                "ReplicaSet" => rs_owner.get(&(p.namespace.clone(), name.clone())).copied(),
                k => by_key
                    .get(&(k.to_string(), p.namespace.clone(), name.clone()))
                    .copied(),
            };
            if let Some(w) = w {
                workloads[w].pods.push(i);
                by_pod.insert(i, w);
            }
        }
        for w in workloads.iter_mut().filter(|w| w.kind == "DaemonSet") {
            w.desired = w.pods.len() as i32;
        }
        let by_label = workloads
            .iter()
            .enumerate()
            .map(|(i, w)| (w.label(), i))
            .collect();
        Index {
            workloads,
            by_label,
            by_pod,
        }
    }
}
