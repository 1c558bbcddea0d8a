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

    /// The series of the pods `keep` accepts (namespace, pod name) only: the samples are
    /// scanned without building the other pods' values (a what-if about one workload of
    /// 150,000 pods reads a few of them).
    pub fn build_for(snap: &Snapshot, keep: impl Fn(&str, &str) -> bool) -> Usage {
        #[derive(Deserialize)]
        struct Lite<'a> {
            #[serde(borrow, default)]
            items: Vec<LitePod<'a>>,
        }
        #[derive(Deserialize)]
        struct LitePod<'a> {
            #[serde(borrow, default)]
            metadata: LiteMeta<'a>,
            #[serde(borrow)]
            containers: Option<&'a serde_json::value::RawValue>,
        }
        #[derive(Deserialize, Default)]
        struct LiteMeta<'a> {
            #[serde(borrow, default)]
            namespace: std::borrow::Cow<'a, str>,
            #[serde(borrow, default)]
            name: std::borrow::Cow<'a, str>,
        }
        let mut out = Usage::default();
        for sample in &snap.metrics {
            let Some(pods) = sample
                .pods
                .as_deref()
                .and_then(|r| serde_json::from_str::<Lite>(r.get()).ok())
            else {
                continue;
            };
            for p in pods.items {
                if !keep(&p.metadata.namespace, &p.metadata.name) {
                    continue;
                }
                let Some(containers) = p
                    .containers
                    .and_then(|c| serde_json::from_str::<Vec<ContainerMetrics>>(c.get()).ok())
                else {
                    continue;
                };
                for c in &containers {
                    if let Some(r) = reading(&sample.time, &c.usage) {
                        let key = (
                            p.metadata.namespace.to_string(),
                            p.metadata.name.to_string(),
                            c.name.clone(),
                        );
                        out.containers.entry(key).or_default().push(r);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{ClusterInfo, Manifest};
    use crate::snapshot::MetricsSample;

    #[test]
    fn a_filtered_usage_is_the_full_one_restricted() {
        let mut snap = Snapshot::new(Manifest::new(
            ClusterInfo {
                name: "t".into(),
                context: None,
                server: None,
                kubernetes_version: None,
            },
            "2026-01-01T00:00:00Z".into(),
        ));
        for (i, t) in ["2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"]
            .iter()
            .enumerate()
        {
            let list = serde_json::json!({"items": [
                {"metadata": {"namespace": "a", "name": "p1"}, "containers": [{"name": "app", "usage": {"cpu": "100m", "memory": format!("{}Mi", 10 + i)}}]},
                {"metadata": {"namespace": "a", "name": "p2"}, "containers": [{"name": "app", "usage": {"cpu": "1", "memory": "1Gi"}}, {"name": "side", "usage": {"cpu": "5m", "memory": "1Mi"}}]},
                {"metadata": {"namespace": "b", "name": "p1"}, "containers": [{"name": "app", "usage": {"cpu": "2", "memory": "2Gi"}}]}
            ]});
            snap.metrics.push(MetricsSample {
                time: t.to_string(),
                nodes: None,
                pods: Some(serde_json::value::to_raw_value(&list).unwrap()),
            });
        }
        let full = Usage::build(&snap);
        let some = Usage::build_for(&snap, |ns, pod| ns == "a" && pod != "p1");
        let want: BTreeMap<_, _> = full
            .containers
            .iter()
            .filter(|((ns, pod, _), _)| ns == "a" && pod != "p1")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(some.containers, want);
        assert_eq!(some.containers.len(), 2);
        assert_eq!(full.containers.len(), 4);
    }
}
