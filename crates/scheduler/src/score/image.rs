//! ImageLocality's score: how much of the pod's images the node already has, each image's
//! size scaled by the share of nodes that have it (so an image everywhere adds little).

use std::collections::BTreeMap;

use crate::cluster::{NodeInfo, PodInfo, normalized_image};

use super::MAX_NODE_SCORE;

/// 23 MB: below this, a node scores nothing.
const MIN_THRESHOLD: i64 = 23 * 1024 * 1024;
/// 1000 MB per container: above this, a node scores the maximum.
const MAX_CONTAINER_THRESHOLD: i64 = 1000 * 1024 * 1024;

/// Per image name, its size and how many nodes have it.
pub fn image_states(nodes: &[NodeInfo]) -> BTreeMap<String, (i64, usize)> {
    let mut states: BTreeMap<String, (i64, usize)> = BTreeMap::new();
    for n in nodes {
        for (names, size) in &n.images {
            for name in names {
                let e = states.entry(name.clone()).or_insert((*size, 0));
                e.1 += 1;
            }
        }
    }
    states
}

/// The pod's images, normalised once for every node it is scored on.
pub(super) fn pod_images(pod: &PodInfo) -> Vec<String> {
    pod.spec
        .init_containers
        .iter()
        .flatten()
        .chain(&pod.spec.containers)
        .map(|c| normalized_image(c.image.as_deref().unwrap_or_default()))
        .collect()
}

/// The score of one node (already 0–100; the plugin normalises nothing).
pub(super) fn score(
    states: &BTreeMap<String, (i64, usize)>,
    total_nodes: usize,
    node: &NodeInfo,
    images: &[String],
) -> i64 {
    let max = MAX_CONTAINER_THRESHOLD * images.len() as i64;
    if max <= MIN_THRESHOLD {
        return 0;
    }
    let mut sum: i64 = 0;
    if !node.images.is_empty() {
        for name in images {
            let on_node = node.images.iter().any(|(names, _)| names.contains(name));
            if let (true, Some((size, nodes))) = (on_node, states.get(name)) {
                sum += (*size as f64 * (*nodes as f64 / total_nodes.max(1) as f64)) as i64;
            }
        }
    }
    let sum = sum.clamp(MIN_THRESHOLD, max);
    MAX_NODE_SCORE * (sum - MIN_THRESHOLD) / (max - MIN_THRESHOLD)
}
