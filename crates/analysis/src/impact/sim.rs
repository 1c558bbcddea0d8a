//! The ground a rollout runs on: the scheduler's cluster plus what the API server admits,
//! with pods created, scheduled and deleted as the controllers would, and every step
//! recorded. A simulation marks the cluster when it starts and reverts it when it ends,
//! so strategies are simulated on the same cluster one after another.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use intel_scheduler::cluster::Mark;
use intel_scheduler::filters::node as node_filters;
use intel_scheduler::{Cluster, PodInfo, place, simulate};

use super::admission::Admission;

/// Why a step cannot proceed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blocker {
    /// `capacity`, `taint`, `node-affinity`, `anti-affinity`, `pod-affinity`,
    /// `topology-spread`, `volume-zone`, `volume`, `host-port`, `cordoned`, `quota`,
    /// `limit-range`, `pdb`, `drain`, `crash`, `no-nodes`.
    pub kind: String,
    /// The pod (or node) that cannot go on, `namespace/name`.
    pub subject: String,
    /// The scheduler's FailedScheduling text, or the API server's or drain's message.
    pub message: String,
}

/// One step of a simulated change, as the controllers take it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// 1-based.
    pub step: usize,
    /// `Deployment shop/web`, `Node ip-10-0-1-1`.
    pub subject: String,
    pub action: String,
    /// Replicas wanted when the change is done (0 for node steps).
    pub desired: i32,
    pub new_replicas: i32,
    pub new_ready: i32,
    pub old_replicas: i32,
    pub old_ready: i32,
    /// Pods created but not placed.
    pub pending: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocker: Option<Blocker>,
}

/// What the scheduler's first-failing plugins say, as a blocker kind.
fn kind_of(plugin: &str, reasons: &[String]) -> &'static str {
    let any = |s: &str| reasons.iter().any(|r| r.contains(s));
    match plugin {
        "NodeResourcesFit" => "capacity",
        "TaintToleration" => "taint",
        "NodeAffinity" => "node-affinity",
        "InterPodAffinity" if any("anti-affinity") => "anti-affinity",
        "InterPodAffinity" => "pod-affinity",
        "PodTopologySpread" => "topology-spread",
        "VolumeZone" => "volume-zone",
        "VolumeBinding" if any("volume node affinity conflict") => "volume-zone",
        "VolumeBinding" | "VolumeRestrictions" | "NodeVolumeLimits" => "volume",
        "NodeUnschedulable" => "cordoned",
        "NodePorts" => "host-port",
        _ => "scheduling",
    }
}

/// The scheduler's reason for a pod that fits nowhere, with its dominant blocker kind:
/// the plugin that rejected the most of the nodes the pod targets. A node the pod's
/// node selector or required node affinity does not match is not a target (whatever
/// plugin stopped it first, e.g. a tainted control-plane node), so NodeAffinity is the
/// blocker only when no node the pod selects is left; nodes a node-name restriction
/// excluded do not count (a DaemonSet pod is about its own node).
pub fn unschedulable(cluster: &Cluster, pod: &PodInfo) -> Blocker {
    let v = simulate(cluster, pod);
    let subject = format!("{}/{}", pod.namespace, pod.name);
    let message = v.message.clone().unwrap_or_default();
    if cluster.nodes.is_empty() {
        return Blocker {
            kind: "no-nodes".into(),
            subject,
            message,
        };
    }
    if let Some(pre) = &v.pre_filter {
        return Blocker {
            kind: kind_of(pre.plugin, &pre.reasons).into(),
            subject,
            message,
        };
    }
    let mut targeted: BTreeMap<&str, (usize, Vec<String>)> = BTreeMap::new();
    let mut untargeted = 0;
    for (node, status) in &v.rejected {
        if status.plugin == "NodeAffinity"
            && status
                .reasons
                .iter()
                .any(|r| r.contains("didn't satisfy plugin(s) [NodeAffinity]"))
        {
            continue;
        }
        let selected = status.plugin != "NodeAffinity"
            && cluster
                .node(node)
                .is_none_or(|n| node_filters::affinity(pod, n).is_none());
        if !selected {
            untargeted += 1;
            continue;
        }
        let e = targeted.entry(status.plugin).or_default();
        e.0 += 1;
        e.1.extend(status.reasons.iter().cloned());
    }
    let kind = targeted
        .iter()
        .max_by(|a, b| a.1.0.cmp(&b.1.0).then_with(|| b.0.cmp(a.0)))
        .map(|(plugin, (_, reasons))| kind_of(plugin, reasons))
        .unwrap_or(if untargeted > 0 {
            "node-affinity"
        } else {
            "scheduling"
        });
    Blocker {
        kind: kind.into(),
        subject,
        message,
    }
}

/// `SetDefaults_Pod`: a container (or init container) that states a limit and no request
/// for a resource requests its limit. Done on pods, not templates, before admission.
pub fn default_requests_from_limits(spec: &mut Value) {
    for list in ["containers", "initContainers"] {
        let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for c in cs.iter_mut() {
            let Some(limits) = c
                .pointer("/resources/limits")
                .and_then(Value::as_object)
                .cloned()
            else {
                continue;
            };
            for (k, v) in limits {
                let has = c.pointer(&format!("/resources/requests/{k}")).is_some();
                if !has {
                    super::plan::set_path(c, &["resources", "requests", &k], v);
                }
            }
        }
    }
}

/// A pod the simulation created.
#[derive(Debug, Clone)]
pub struct NewPod {
    pub index: usize,
    /// Its spec as admitted (LimitRange defaults filled), for the quota when it goes.
    pub spec: Value,
}

pub struct Sim<'c> {
    pub cluster: &'c mut Cluster,
    pub admission: Admission,
    /// PriorityClass values by name, and the global default's.
    priorities: BTreeMap<String, i32>,
    default_priority: i32,
    /// The scheduler's rotating start (`nextStartNodeIndex`).
    start: usize,
    pub steps: Vec<Step>,
    mark: Mark,
    /// Claims the simulation created (new StatefulSet ordinals), removed when it ends.
    claims: Vec<(String, String)>,
    /// New pods whose containers are predicted not to become ready (an OOM kill measured
    /// elsewhere): the controllers see them unavailable.
    pub crashing: BTreeMap<String, String>,
}

impl<'c> Sim<'c> {
    pub fn new(
        cluster: &'c mut Cluster,
        admission: Admission,
        priorities: BTreeMap<String, i32>,
        default_priority: i32,
    ) -> Sim<'c> {
        let mark = cluster.mark();
        Sim {
            cluster,
            admission,
            priorities,
            default_priority,
            start: 0,
            steps: Vec::new(),
            mark,
            claims: Vec::new(),
            crashing: BTreeMap::new(),
        }
    }

    /// Undoes everything the simulation did to the cluster.
    pub fn finish(self) -> Vec<Step> {
        for key in &self.claims {
            self.cluster.pvcs.remove(key);
        }
        self.cluster.revert(self.mark);
        self.steps
    }

    pub fn record(&mut self, mut step: Step) {
        step.step = self.steps.len() + 1;
        self.steps.push(step);
    }

    /// Creates a pod from a template's spec, as the controller's create call would be
    /// admitted: LimitRange defaults and bounds, then ResourceQuota. `Err` carries the API
    /// server's message (what a `FailedCreate` event says after "Error creating: ").
    pub fn create(
        &mut self,
        namespace: &str,
        name: &str,
        labels: &Value,
        owner: (&str, &str),
        template_spec: &Value,
    ) -> Result<NewPod, Blocker> {
        let mut spec = template_spec.clone();
        default_requests_from_limits(&mut spec);
        let refuse = |kind: &str, message: String| Blocker {
            kind: kind.into(),
            subject: format!("{namespace}/{name}"),
            message,
        };
        self.admission
            .limit(namespace, name, &mut spec)
            .map_err(|m| refuse("limit-range", m))?;
        self.admission
            .admit(namespace, name, &spec)
            .map_err(|m| refuse("quota", m))?;
        let priority = spec
            .get("priorityClassName")
            .and_then(Value::as_str)
            .and_then(|c| self.priorities.get(c).copied())
            .unwrap_or(self.default_priority);
        let mut full = spec.clone();
        super::plan::set_path(&mut full, &["priority"], json!(priority));
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "namespace": namespace,
                "name": name,
                "labels": labels,
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner.0, "name": owner.1, "controller": true}],
            },
            "spec": full,
            "status": {"phase": "Pending"},
        });
        let info = PodInfo::from_json(&pod.to_string()).ok_or_else(|| {
            refuse(
                "invalid",
                format!(
                    "the pod template of {}/{} is not a valid pod spec",
                    owner.0, owner.1
                ),
            )
        })?;
        let index = self.cluster.add_pod(info);
        Ok(NewPod { index, spec })
    }

    /// Places a pod as the scheduler would; false when it fits nowhere now.
    pub fn schedule(&mut self, index: usize) -> bool {
        if self.cluster.node_of(index).is_some() {
            return true;
        }
        let pod = self.cluster.pods[index].unbound();
        let (placement, next) = place(self.cluster, &pod, self.start);
        self.start = next;
        match placement.node {
            Some(node) => self.cluster.bind(index, &node),
            None => false,
        }
    }

    /// Deletes a pod: off its node, and its quota released.
    pub fn delete(&mut self, index: usize, spec: Option<&Value>) {
        self.cluster.unbind(index);
        let namespace = self.cluster.pods[index].namespace.clone();
        let spec = match spec {
            Some(s) => s.clone(),
            None => serde_json::to_value(&self.cluster.pods[index].spec).unwrap_or_default(),
        };
        self.admission.release(&namespace, &spec);
    }

    pub fn bound(&self, index: usize) -> bool {
        self.cluster.node_of(index).is_some()
    }

    /// Ready: placed, and not predicted to crash.
    pub fn ready(&self, index: usize) -> bool {
        self.bound(index) && !self.crashing.contains_key(&self.owner_key(index))
    }

    fn owner_key(&self, index: usize) -> String {
        let p = &self.cluster.pods[index];
        match &p.drain.controller {
            Some((k, n)) => format!("{}/{k}/{n}", p.namespace),
            None => String::new(),
        }
    }

    /// Why a created pod is not running: the scheduler's verdict, or the crash predicted.
    pub fn blocker(&self, index: usize) -> Blocker {
        let key = self.owner_key(index);
        let p = &self.cluster.pods[index];
        if let Some(why) = self.crashing.get(&key) {
            if self.bound(index) {
                return Blocker {
                    kind: "crash".into(),
                    subject: format!("{}/{}", p.namespace, p.name),
                    message: why.clone(),
                };
            }
        }
        unschedulable(self.cluster, &p.unbound())
    }

    /// Marks the pods a controller creates as predicted to crash.
    pub fn predict_crash(&mut self, namespace: &str, owner_kind: &str, owner: &str, why: String) {
        self.crashing
            .insert(format!("{namespace}/{owner_kind}/{owner}"), why);
    }

    pub fn add_claim(&mut self, namespace: &str, name: &str, class: Option<&str>, size: &str) {
        let key = (namespace.to_string(), name.to_string());
        if self.cluster.pvcs.contains_key(&key) {
            return;
        }
        let pvc = json!({
            "metadata": {"namespace": namespace, "name": name},
            "spec": {"storageClassName": class, "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
            "status": {"phase": "Pending"},
        });
        if let Ok(pvc) = serde_json::from_value(pvc) {
            self.cluster.pvcs.insert(key.clone(), pvc);
            self.claims.push(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn a_limit_without_a_request_is_the_request() {
        let mut spec = json!({
            "containers": [{"name": "a", "resources": {"limits": {"memory": "2Gi", "cpu": "1"}, "requests": {"cpu": "250m"}}}],
            "initContainers": [{"name": "i", "resources": {"limits": {"memory": "64Mi"}}}]
        });
        super::default_requests_from_limits(&mut spec);
        assert_eq!(
            spec.pointer("/containers/0/resources/requests"),
            Some(&json!({"cpu": "250m", "memory": "2Gi"}))
        );
        assert_eq!(
            spec.pointer("/initContainers/0/resources/requests"),
            Some(&json!({"memory": "64Mi"}))
        );
        // Near miss: nothing to copy.
        let mut none = json!({"containers": [{"name": "a"}]});
        super::default_requests_from_limits(&mut none);
        assert_eq!(none, json!({"containers": [{"name": "a"}]}));
    }
}
