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

/// Whether every usage quantity of a NodeMetrics or PodMetrics item is a quantity
/// `kubectl top` can read. One bad value makes kubectl reject the whole list, so such items
/// are not served (a bundle we did not write can hold anything).
fn usable(raw: &RawValue) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(raw.get()) else {
        return false;
    };
    let ok = |usage: &serde_json::Value| {
        usage.as_object().is_none_or(|m| {
            m.values().all(|q| {
                q.as_str()
                    .and_then(intel_model::quantity::milli_value)
                    .is_some_and(|n| n >= 0)
            })
        })
    };
    ok(&v["usage"])
        && v["containers"]
            .as_array()
            .is_none_or(|cs| cs.iter().all(|c| ok(&c["usage"])))
}

fn items(raw: Option<&RawValue>) -> Vec<Item> {
    let Some(list) = raw.and_then(|r| serde_json::from_str::<ListView>(r.get()).ok()) else {
        return Vec::new();
    };
    // Kept in the bundle's order: a replay answers what metrics-server answered.
    list.items
        .into_iter()
        .filter(|raw| usable(raw))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An item whose usage kubectl cannot read is not served; the others are (issue 25:
    /// one invalid quantity broke `kubectl top` for the whole list).
    #[test]
    fn unreadable_quantities_are_not_served() {
        let list = RawValue::from_string(
            r#"{"items":[
                {"metadata":{"name":"good"},"usage":{"cpu":"250m","memory":"128Mi"}},
                {"metadata":{"name":"words"},"usage":{"cpu":"lots","memory":"128Mi"}},
                {"metadata":{"name":"negative"},"usage":{"cpu":"-1","memory":"1Ki"}},
                {"metadata":{"name":"pod","namespace":"shop"},"containers":[{"name":"a","usage":{"cpu":"1n","memory":"12e9x"}}]},
                {"metadata":{"name":"pod-ok","namespace":"shop"},"containers":[{"name":"a","usage":{"cpu":"1n","memory":"1Gi"}}]}
            ]}"#
            .to_string(),
        )
        .unwrap();
        let names: Vec<String> = items(Some(&list)).into_iter().map(|i| i.name).collect();
        assert_eq!(names, ["good", "pod-ok"]);
    }
}
