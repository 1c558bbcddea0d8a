//! metrics.k8s.io over the bundle's samples, so `kubectl top` works against a replay.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize;
use serde_json::value::RawValue;

use intel_model::Snapshot;

/// One sample's items, split per object so a namespace or name can be served alone.
pub struct Sample {
    pub nodes: Vec<Item>,
    pub pods: Vec<Item>,
}

pub struct Item {
    pub namespace: String,
    pub name: String,
    pub raw: Box<RawValue>,
}

pub struct Samples {
    samples: Vec<Sample>,
    replay: bool,
    node_cursor: AtomicUsize,
    pod_cursor: AtomicUsize,
}

#[derive(Deserialize)]
struct ListView {
    #[serde(default)]
    items: Vec<Box<RawValue>>,
}

#[derive(Deserialize, Default)]
struct ItemView {
    #[serde(default)]
    metadata: ItemMeta,
}

#[derive(Deserialize, Default)]
struct ItemMeta {
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    name: String,
}

fn items(raw: Option<&RawValue>) -> Vec<Item> {
    let Some(list) = raw.and_then(|r| serde_json::from_str::<ListView>(r.get()).ok()) else {
        return Vec::new();
    };
    // Kept in the bundle's order: a replay answers what metrics-server answered.
    list.items
        .into_iter()
        .map(|raw| {
            let v: ItemView = serde_json::from_str(raw.get()).unwrap_or_default();
            Item {
                namespace: v.metadata.namespace,
                name: v.metadata.name,
                raw,
            }
        })
        .collect()
}

impl Samples {
    pub fn new(snap: &Snapshot, replay: bool) -> Self {
        let samples = snap
            .metrics
            .iter()
            .map(|s| Sample {
                nodes: items(s.nodes.as_deref()),
                pods: items(s.pods.as_deref()),
            })
            .collect();
        Samples {
            samples,
            replay,
            node_cursor: AtomicUsize::new(0),
            pod_cursor: AtomicUsize::new(0),
        }
    }

    pub fn available(&self) -> bool {
        !self.samples.is_empty()
    }

    /// The sample to answer from: the newest, or in replay mode the next one in time order
    /// (cycling), with separate cursors so a node and a pod request pair up.
    pub fn current(&self, pods: bool) -> Option<&Sample> {
        let n = self.samples.len();
        if n == 0 {
            return None;
        }
        if !self.replay {
            return self.samples.last();
        }
        let cursor = if pods {
            &self.pod_cursor
        } else {
            &self.node_cursor
        };
        let i = cursor.fetch_add(1, Ordering::SeqCst) % n;
        self.samples.get(i)
    }
}
