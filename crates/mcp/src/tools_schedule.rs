//! `simulate_scheduling`: the `schedule` primitive as a tool, the same request and answer
//! (`intel_scheduler::request`) with the cluster's data line and paging.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::clusters::ClusterData;
use super::markdown::{fenced, header, paging};
use super::page::{self, Page};
use super::tools::{Answer, DataSource};
use intel_scheduler::Cluster;
use intel_scheduler::drain::Drained;
use intel_scheduler::request::{PodAnswer, Request, answer, drains, drains_text, text};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimulateSchedulingInput {
    /// The cluster (a name from list_clusters). Optional when one is loaded.
    #[allow(dead_code)] // Read by `tools::call` before parsing, to pick the cluster.
    pub cluster: Option<String>,
    /// Pods of the cluster as "namespace/name". A running pod is taken off its node first,
    /// so the answer is where it would go now.
    pub pods: Option<Vec<String>>,
    /// Every pod waiting for a node.
    pub pending: Option<bool>,
    /// A Pod, or a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob (its pod
    /// template), as a JSON object: would it fit, and where.
    pub manifest: Option<serde_json::Value>,
    /// Nodes to drain as cluster-autoscaler would, one after the other: what stays, what
    /// blocks the drain (with its reason), where the evicted pods go.
    pub drain: Option<Vec<String>>,
    /// Pods per answer (default 50).
    pub limit: Option<usize>,
    /// The nextCursor of a previous answer.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SimulateSchedulingOutput {
    pub source: DataSource,
    /// One answer per pod: `message` is kube-scheduler's FailedScheduling text (null when
    /// the pod fits), `reasons` each reason with the nodes that gave it, `choice`/`best`
    /// where a pod that fits would go.
    pub pods: Vec<PodAnswer>,
    pub total: usize,
    pub next_cursor: Option<String>,
    /// The drains asked for, in order.
    pub drains: Vec<Drained>,
}

pub fn simulate_scheduling(
    data: &ClusterData,
    input: SimulateSchedulingInput,
) -> Result<Answer, String> {
    let offset = page::offset(input.cursor.as_deref())?;
    let limit = page::limit(input.limit)?;
    let req = Request {
        pods: input.pods.unwrap_or_default(),
        pending: input.pending.unwrap_or(false),
        manifests: input.manifest.into_iter().collect(),
        drains: input.drain.unwrap_or_default(),
    };
    if req.pods.is_empty() && !req.pending && req.manifests.is_empty() && req.drains.is_empty() {
        return Err(
            "say which pods: `pods` (namespace/name), `pending: true`, a `manifest` or nodes to `drain`".into(),
        );
    }
    let snap = data
        .fleet
        .get(&data.name)
        .ok_or_else(|| format!("cluster {} holds no snapshot", data.name))?;
    let mut cluster = Cluster::from_snapshot(snap);
    let answers = answer(&mut cluster, &req).map_err(|e| e.to_string())?;
    let drained = drains(&mut cluster, &req).map_err(|e| e.to_string())?;
    let Page {
        items,
        total,
        next_cursor,
    } = page::paginate(answers, offset, limit);
    let mut md = header("Scheduling simulation", data);
    md.push_str(&fenced("text", &(text(&items) + &drains_text(&drained))));
    md.push_str(&paging(items.len(), offset, total, next_cursor.as_deref()));
    let out = SimulateSchedulingOutput {
        source: DataSource::of(data),
        pods: items,
        total,
        next_cursor,
        drains: drained,
    };
    Answer::new(md, &out)
}
