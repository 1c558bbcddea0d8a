//! The `schedule` question as the CLI and MCP ask it: which pods (named, pending, or from a
//! manifest), and the answer per pod — the verdict, the FailedScheduling text, the reasons
//! by node, and where a pod that fits would go. One place, so both surfaces say the same.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;
use serde_json::{Value, json};

use crate::cluster::{Cluster, PodInfo};
use crate::drain::{Drained, Outcome, drain};
use crate::hints::{Hint, what_would_fit};
use crate::score::{NodeScore, Placement, place};
use crate::simulate::{Verdict, simulate};

/// Which pods to schedule.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Pods of the cluster, `NAMESPACE/NAME`; a bound one is taken off its node first.
    pub pods: Vec<String>,
    /// Every pod waiting for a node.
    pub pending: bool,
    /// Pods or workloads (their pod template), as parsed manifests.
    pub manifests: Vec<Value>,
    /// Nodes to drain, one after the other (each with the ones before it drained), as
    /// cluster-autoscaler would: what stays, what blocks, where the evicted pods go.
    pub drains: Vec<String>,
}

/// A request that names what is not there: the message says what and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError(pub String);

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RequestError {}

/// One pod's answer: `message` is the FailedScheduling text (null when it fits).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodAnswer {
    pub namespace: String,
    pub name: String,
    pub schedulable: bool,
    pub message: Option<String>,
    /// Where it fits.
    pub nodes: Vec<String>,
    /// Per reason, the nodes that gave it (each node's first failing plugin).
    pub reasons: BTreeMap<String, Vec<String>>,
    /// Where evicting lower-priority pods would make room.
    pub preemption_node: Option<String>,
    /// Where it would go: the first by name of the best-scored nodes (the scheduler picks
    /// one of `best` at random).
    pub choice: Option<String>,
    pub best: Vec<String>,
    /// The five best scores with each plugin's weighted part.
    pub scores: Vec<NodeScore>,
    /// Score plugins not modelled.
    pub unscored: Vec<&'static str>,
    /// For a pod that fits nowhere: changes that would let it, each checked by scheduling
    /// it again with the change.
    pub fixes: Vec<Hint>,
}

fn pod_answer(v: Verdict, placement: Option<Placement>, fixes: Vec<Hint>) -> PodAnswer {
    let mut reasons: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (node, status) in &v.rejected {
        for r in &status.reasons {
            reasons.entry(r.clone()).or_default().push(node.clone());
        }
    }
    for r in v.pre_filter.iter().flat_map(|s| &s.reasons) {
        reasons.entry(r.clone()).or_default();
    }
    PodAnswer {
        namespace: v.namespace,
        name: v.name,
        schedulable: v.schedulable,
        message: v.message,
        nodes: v.feasible,
        reasons,
        preemption_node: v.preemption_node,
        choice: placement.as_ref().and_then(|p| p.node.clone()),
        best: placement
            .as_ref()
            .map(|p| p.best.clone())
            .unwrap_or_default(),
        scores: placement
            .as_ref()
            .map(|p| p.scores.iter().take(5).cloned().collect())
            .unwrap_or_default(),
        unscored: placement.map(|p| p.unscored).unwrap_or_default(),
        fixes,
    }
}

fn answer_one(cluster: &mut Cluster, pod: &PodInfo) -> PodAnswer {
    let verdict = simulate(cluster, pod);
    let placement = verdict.schedulable.then(|| place(cluster, pod, 0).0);
    let fixes = what_would_fit(cluster, pod, &verdict);
    pod_answer(verdict, placement, fixes)
}

/// The pod a manifest describes: a Pod as it is; a workload's pod template with the
/// workload's namespace (`default` when it has none) and the name `<workload>-new`.
pub fn pod_from_manifest(value: &Value) -> Result<Pod, RequestError> {
    let kind = value["kind"].as_str().unwrap_or_default();
    let namespace = value["metadata"]["namespace"].as_str().unwrap_or("default");
    let name = value["metadata"]["name"].as_str().unwrap_or("pod");
    let pod = match kind {
        "Pod" => value.clone(),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController"
        | "CronJob" => {
            let template = if kind == "CronJob" {
                &value["spec"]["jobTemplate"]["spec"]["template"]
            } else {
                &value["spec"]["template"]
            };
            if !template.is_object() {
                return Err(RequestError(format!(
                    "{kind} {name} has no pod template (spec.template)"
                )));
            }
            let mut metadata = template["metadata"].clone();
            if !metadata.is_object() {
                metadata = json!({});
            }
            metadata["name"] = json!(format!("{name}-new"));
            metadata["namespace"] = json!(namespace);
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]})
        }
        other => {
            return Err(RequestError(format!(
                "kind {other:?} has no pods; give a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob"
            )));
        }
    };
    let mut pod: Pod = serde_json::from_value(pod)
        .map_err(|e| RequestError(format!("{kind} {name}: not a valid pod spec: {e}")))?;
    if pod.metadata.namespace.is_none() {
        pod.metadata.namespace = Some(namespace.to_string());
    }
    Ok(pod)
}

/// Answers the pods of `req` on `cluster`, in the order asked: named pods, then the pending
/// ones (in snapshot order), then the manifests. The cluster is left as it was.
pub fn answer(cluster: &mut Cluster, req: &Request) -> Result<Vec<PodAnswer>, RequestError> {
    let mut out = Vec::new();
    for wanted in &req.pods {
        let Some((ns, name)) = wanted.split_once('/') else {
            return Err(RequestError(format!(
                "pod {wanted:?}: write NAMESPACE/NAME"
            )));
        };
        let Some(i) = cluster.pod(ns, name) else {
            return Err(RequestError(format!("no pod {ns}/{name} in this cluster")));
        };
        // A bound pod is taken off its node: where would it go now?
        let mark = cluster.mark();
        cluster.unbind(i);
        let pod = cluster.pods[i].unbound();
        out.push(answer_one(cluster, &pod));
        cluster.revert(mark);
    }
    if req.pending {
        let pending: Vec<usize> = (0..cluster.pods.len())
            .filter(|&i| cluster.pods[i].bound.is_none() && !cluster.pods[i].terminal)
            .collect();
        for i in pending {
            let pod = cluster.pods[i].clone();
            out.push(answer_one(cluster, &pod));
        }
    }
    for m in &req.manifests {
        let pod = pod_from_manifest(m)?;
        out.push(answer_one(cluster, &PodInfo::from_pod(&pod)));
    }
    Ok(out)
}

/// Drains the nodes of `req` one after the other and says how each went; the cluster is
/// left as it was.
pub fn drains(cluster: &mut Cluster, req: &Request) -> Result<Vec<Drained>, RequestError> {
    let mark = cluster.mark();
    let mut out = Vec::new();
    for node in &req.drains {
        match drain(cluster, node, false) {
            Some(d) => out.push(d),
            None => {
                cluster.revert(mark);
                return Err(RequestError(format!("no node {node:?} in this cluster")));
            }
        }
    }
    cluster.revert(mark);
    Ok(out)
}

/// Drains as text, a paragraph per node.
pub fn drains_text(drains: &[Drained]) -> String {
    let mut s = String::new();
    for d in drains {
        let blockers: Vec<&str> = d
            .plan
            .pods
            .iter()
            .filter_map(|(_, o)| match o {
                Outcome::Blocks { message, .. } => Some(message.as_str()),
                _ => None,
            })
            .collect();
        if blockers.is_empty() {
            s.push_str(&format!("drain {}: drainable\n", d.plan.node));
        } else {
            s.push_str(&format!(
                "drain {}: blocked by {} pod(s): {}\n",
                d.plan.node,
                blockers.len(),
                blockers.join("; ")
            ));
        }
        for (pod, o) in &d.plan.pods {
            if let Outcome::Stays { why } = o {
                s.push_str(&format!("  {pod} stays: {why}\n"));
            }
        }
        for (pod, node) in &d.placed {
            s.push_str(&format!("  {pod} moves to {node}\n"));
        }
        for (pod, why) in &d.stuck {
            s.push_str(&format!("  {pod} fits nowhere: {why}\n"));
        }
    }
    s
}

/// Node names, the first ten and a count of the rest.
fn list(nodes: &[String]) -> String {
    if nodes.len() <= 10 {
        nodes.join(", ")
    } else {
        format!("{} and {} more", nodes[..10].join(", "), nodes.len() - 10)
    }
}

/// The answers as text, a paragraph per pod.
pub fn text(answers: &[PodAnswer]) -> String {
    let mut s = String::new();
    if answers.is_empty() {
        s.push_str("no pods to schedule\n");
    }
    for a in answers {
        if a.schedulable {
            s.push_str(&format!(
                "{}/{}: fits on {} node(s): {}\n",
                a.namespace,
                a.name,
                a.nodes.len(),
                list(&a.nodes)
            ));
            if let (Some(choice), Some(top)) = (&a.choice, a.scores.first()) {
                let parts: Vec<String> = top
                    .plugins
                    .iter()
                    .map(|p| format!("{} {}", p.plugin, p.score))
                    .collect();
                let tie = if a.best.len() > 1 {
                    format!(
                        "; {} nodes tie, the scheduler picks one at random",
                        a.best.len()
                    )
                } else {
                    String::new()
                };
                s.push_str(&format!(
                    "  best: {choice} (score {}: {}){tie}\n",
                    top.total,
                    parts.join(", ")
                ));
            }
            continue;
        }
        s.push_str(&format!("{}/{}: does not fit\n", a.namespace, a.name));
        if let Some(m) = &a.message {
            s.push_str(&format!("  {m}\n"));
        }
        for (reason, nodes) in &a.reasons {
            if !nodes.is_empty() {
                s.push_str(&format!("  {reason}: {}\n", list(nodes)));
            }
        }
        if let Some(n) = &a.preemption_node {
            s.push_str(&format!(
                "  preempting lower-priority pods on {n} would make room\n"
            ));
        }
        for f in &a.fixes {
            s.push_str(&format!("  would fit: {} ({})\n", f.change, f.effect));
        }
    }
    s
}
