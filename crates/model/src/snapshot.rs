//! The in-memory snapshot of one cluster, and a fleet of them.
//!
//! A snapshot is the same whether it was read from a bundle or captured live: resource
//! lists keyed by type, logs, metric samples, Prometheus series, and the manifest saying
//! where they came from. Everything is held in ordered maps and sorted vectors so that any
//! walk over it is deterministic. Indexes are built once on demand ([`Snapshot::index`]).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::value::RawValue;

use super::index::Index;
use super::manifest::Manifest;
use super::object::Object;
use super::rtype::{ResourceType, TypeKey};

/// All objects of one resource type, sorted by (namespace, name).
#[derive(Debug)]
pub struct ResourceList {
    pub rtype: ResourceType,
    pub items: Vec<Object>,
}

impl ResourceList {
    pub fn new(rtype: ResourceType, mut items: Vec<Object>) -> Self {
        sort_objects(&mut items);
        ResourceList { rtype, items }
    }
}

/// Sorts by (namespace, name), uid as the tie-break, the order bundles store items in.
pub fn sort_objects(items: &mut [Object]) {
    items.sort_by(|a, b| {
        (&a.meta.namespace, &a.meta.name, &a.meta.uid).cmp(&(
            &b.meta.namespace,
            &b.meta.name,
            &b.meta.uid,
        ))
    });
}

/// A container log file: `logs/<namespace>/<pod>/<container>[.previous].log`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogKey {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    /// The previous (terminated) instance of a restarted container.
    pub previous: bool,
}

impl LogKey {
    pub fn bundle_path(&self) -> String {
        let suffix = if self.previous {
            ".previous.log"
        } else {
            ".log"
        };
        format!(
            "logs/{}/{}/{}{suffix}",
            self.namespace, self.pod, self.container
        )
    }

    pub fn from_bundle_path(path: &str) -> Option<Self> {
        let rest = path.strip_prefix("logs/")?;
        let mut parts = rest.split('/');
        let (ns, pod, file) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || ns.is_empty() || pod.is_empty() {
            return None;
        }
        let (container, previous) = match file.strip_suffix(".previous.log") {
            Some(c) => (c, true),
            None => (file.strip_suffix(".log")?, false),
        };
        if container.is_empty() {
            return None;
        }
        Some(LogKey {
            namespace: ns.to_string(),
            pod: pod.to_string(),
            container: container.to_string(),
            previous,
        })
    }
}

/// One metrics.k8s.io sample: the NodeMetricsList and PodMetricsList taken at `time`.
#[derive(Debug)]
pub struct MetricsSample {
    /// RFC 3339, as in the bundle path `metrics/<time>/`.
    pub time: String,
    pub nodes: Option<Box<RawValue>>,
    pub pods: Option<Box<RawValue>>,
}

#[derive(Debug)]
pub struct Snapshot {
    pub manifest: Manifest,
    pub resources: BTreeMap<TypeKey, ResourceList>,
    pub logs: BTreeMap<LogKey, String>,
    /// Sorted by time.
    pub metrics: Vec<MetricsSample>,
    /// Prometheus range-query responses by series name.
    pub prometheus: BTreeMap<String, Box<RawValue>>,
    /// What reading it found wrong without stopping (files that differ from the
    /// manifest, entries skipped): every analysis states these as limitations.
    pub notes: Vec<String>,
    index: OnceLock<Index>,
}

impl Snapshot {
    pub fn new(manifest: Manifest) -> Self {
        Snapshot {
            manifest,
            resources: BTreeMap::new(),
            logs: BTreeMap::new(),
            metrics: Vec::new(),
            prometheus: BTreeMap::new(),
            notes: Vec::new(),
            index: OnceLock::new(),
        }
    }

    /// The cluster's name, as fleets key it.
    pub fn cluster(&self) -> &str {
        &self.manifest.cluster.name
    }

    /// Removes a type's list. Invalidates the index.
    pub fn remove_list(&mut self, key: &TypeKey) -> Option<ResourceList> {
        self.index = OnceLock::new();
        self.resources.remove(key)
    }

    /// Adds (or replaces) a type's list. Invalidates the index.
    pub fn insert_list(&mut self, list: ResourceList) {
        self.index = OnceLock::new();
        self.resources.insert(list.rtype.key(), list);
    }

    /// The list for a group and plural, whatever its version (a snapshot holds one
    /// version per type: the preferred one at capture).
    pub fn list(&self, group: &str, resource: &str) -> Option<&ResourceList> {
        self.resources
            .iter()
            .find(|(k, _)| k.group == group && k.resource == resource)
            .map(|(_, l)| l)
    }

    /// Items of a type by group and plural; empty when the type is absent.
    pub fn items(&self, group: &str, resource: &str) -> &[Object] {
        self.list(group, resource)
            .map(|l| l.items.as_slice())
            .unwrap_or(&[])
    }

    pub fn pods(&self) -> &[Object] {
        self.items("", "pods")
    }

    pub fn nodes(&self) -> &[Object] {
        self.items("", "nodes")
    }

    /// Indexes by uid, by (kind, namespace, name), owners, pods per node, Service→pods and
    /// events per object. Built on first use; adding lists afterwards rebuilds it.
    pub fn index(&self) -> &Index {
        self.index.get_or_init(|| Index::build(self))
    }

    /// Counts of objects per kind, sorted by kind then group, for summaries.
    pub fn counts(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = self
            .resources
            .values()
            .map(|l| {
                let label = if l.rtype.group.is_empty() {
                    l.rtype.kind.clone()
                } else {
                    format!("{}.{}", l.rtype.kind, l.rtype.group)
                };
                (label, l.items.len())
            })
            .collect();
        out.sort();
        out
    }
}

/// Several clusters side by side (dev, staging, prod), keyed by cluster name. Snapshots
/// are shared, so a fleet of some loaded clusters (an MCP comparison) costs no copy.
#[derive(Debug, Default, Clone)]
pub struct Fleet {
    pub clusters: BTreeMap<String, std::sync::Arc<Snapshot>>,
}

impl Fleet {
    /// Adds a snapshot; a second cluster of the same name gets a `-2`, `-3`… suffix so
    /// two bundles of one cluster (before and after) can be compared.
    pub fn add(&mut self, mut snapshot: Snapshot) -> &str {
        let base = snapshot.manifest.cluster.name.clone();
        let mut name = base.clone();
        let mut n = 2;
        while self.clusters.contains_key(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        snapshot.manifest.cluster.name = name.clone();
        self.clusters
            .insert(name.clone(), std::sync::Arc::new(snapshot));
        self.clusters
            .get_key_value(&name)
            .map(|(k, _)| k.as_str())
            .unwrap_or_default()
    }

    pub fn get(&self, cluster: &str) -> Option<&Snapshot> {
        self.clusters.get(cluster).map(|s| &**s)
    }

    /// Adds a snapshot already shared elsewhere, under its own cluster name (the caller
    /// keeps names distinct).
    pub fn add_shared(&mut self, snapshot: std::sync::Arc<Snapshot>) {
        self.clusters
            .insert(snapshot.manifest.cluster.name.clone(), snapshot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_paths_round_trip() {
        let k = LogKey {
            namespace: "shop".into(),
            pod: "auth-1".into(),
            container: "app".into(),
            previous: true,
        };
        assert_eq!(k.bundle_path(), "logs/shop/auth-1/app.previous.log");
        assert_eq!(LogKey::from_bundle_path(&k.bundle_path()), Some(k));
        assert_eq!(
            LogKey::from_bundle_path("logs/shop/auth-1/app.log").map(|k| k.previous),
            Some(false)
        );
        assert_eq!(LogKey::from_bundle_path("logs/shop/app.log"), None);
        assert_eq!(LogKey::from_bundle_path("logs/shop/p/app.txt"), None);
    }
}
