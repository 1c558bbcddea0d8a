//! Usage series from the bundle's metrics.k8s.io samples: per container and per node, in
//! time order. Analyses read slopes (a leak climbing toward its limit) and saturation from
//! here instead of re-parsing sample files.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::quantity;
use super::snapshot::Snapshot;

/// One reading: the sample time (RFC 3339), CPU in millicores, memory in bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub time: String,
    pub cpu_millis: f64,
    pub memory_bytes: f64,
}

/// (namespace, pod, container).
pub type ContainerKey = (String, String, String);

#[derive(Debug, Default)]
pub struct Usage {
    pub containers: BTreeMap<ContainerKey, Vec<Reading>>,
    pub nodes: BTreeMap<String, Vec<Reading>>,
}

#[derive(Deserialize)]
struct List<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

#[derive(Deserialize, Default)]
struct Meta {
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize, Default)]
struct UsageView {
    #[serde(default)]
    cpu: String,
    #[serde(default)]
    memory: String,
}

#[derive(Deserialize)]
struct NodeMetrics {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    usage: UsageView,
}

#[derive(Deserialize)]
struct PodMetrics {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    containers: Vec<ContainerMetrics>,
}

#[derive(Deserialize)]
struct ContainerMetrics {
    #[serde(default)]
    name: String,
    #[serde(default)]
    usage: UsageView,
}

fn reading(time: &str, u: &UsageView) -> Option<Reading> {
    Some(Reading {
        time: time.to_string(),
        cpu_millis: quantity::cpu_millis(&u.cpu)?,
        memory_bytes: quantity::bytes(&u.memory)?,
    })
}

impl Usage {
    /// Builds the series from the snapshot's samples (already in time order). Items that do
    /// not parse are skipped: a partial series is still evidence.
    pub fn build(snap: &Snapshot) -> Usage {
        let mut out = Usage::default();
        for sample in &snap.metrics {
            if let Some(nodes) = sample
                .nodes
                .as_deref()
                .and_then(|r| serde_json::from_str::<List<NodeMetrics>>(r.get()).ok())
            {
                for n in nodes.items {
                    if let Some(r) = reading(&sample.time, &n.usage) {
                        out.nodes.entry(n.metadata.name).or_default().push(r);
                    }
                }
            }
            if let Some(pods) = sample
                .pods
                .as_deref()
                .and_then(|r| serde_json::from_str::<List<PodMetrics>>(r.get()).ok())
            {
                for p in pods.items {
                    for c in &p.containers {
                        if let Some(r) = reading(&sample.time, &c.usage) {
                            let key = (
                                p.metadata.namespace.clone(),
                                p.metadata.name.clone(),
                                c.name.clone(),
                            );
                            out.containers.entry(key).or_default().push(r);
                        }
                    }
                }
            }
        }
        out
    }

    /// The series of every container of a pod, by container name.
    pub fn pod(&self, namespace: &str, pod: &str) -> Vec<(&str, &[Reading])> {
        let start = (namespace.to_string(), pod.to_string(), String::new());
        self.containers
            .range(start..)
            .take_while(|((ns, p, _), _)| ns == namespace && p == pod)
            .map(|((_, _, c), v)| (c.as_str(), v.as_slice()))
            .collect()
    }
}

impl Snapshot {
    /// Usage series per container and per node; parsed on every call, so keep the result.
    pub fn usage(&self) -> Usage {
        Usage::build(self)
    }
}
