//! `simulate_scheduling`: the `schedule` primitive as a tool, the same request and answer
//! (`intel_scheduler::request`) with the cluster's data line and paging.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::clusters::ClusterData;
use super::markdown::{fenced, header, paging};
use super::page::{self, Page};
use super::tools::{Answer, DataSource};
use intel_scheduler::Cluster;
use intel_scheduler::request::{PodAnswer, Request, answer, text};

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
    };
    if req.pods.is_empty() && !req.pending && req.manifests.is_empty() {
        return Err(
            "say which pods: `pods` (namespace/name), `pending: true` or a `manifest`".into(),
        );
    }
    let snap = data
        .fleet
        .get(&data.name)
        .ok_or_else(|| format!("cluster {} holds no snapshot", data.name))?;
    let mut cluster = Cluster::from_snapshot(snap);
    let answers = answer(&mut cluster, &req).map_err(|e| e.to_string())?;
    let Page {
        items,
        total,
        next_cursor,
    } = page::paginate(answers, offset, limit);
    let mut md = header("Scheduling simulation", data);
    md.push_str(&fenced("text", &text(&items)));
    md.push_str(&paging(items.len(), offset, total, next_cursor.as_deref()));
    let out = SimulateSchedulingOutput {
        source: DataSource::of(data),
        pods: items,
        total,
        next_cursor,
    };
    Answer::new(md, &out)
}
