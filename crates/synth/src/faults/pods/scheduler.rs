//! The scheduler's filters over the cluster as it is (taints, affinity, volume zones,
//! resources), and binding pods to nodes. Its own file because several families place pods.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::topology::Topology;
use crate::world::World;

use super::{bytes, cpu_m, spec_requests};

pub(super) struct NodeView {
    pub(super) name: String,
    pub(super) zone: String,
    pub(super) ip: String,
    labels: Map<String, Value>,
    taints: Vec<Value>,
    unschedulable: bool,
    cpu_alloc: f64,
    mem_alloc: f64,
    pods_alloc: f64,
    cpu_used: f64,
    mem_used: f64,
    /// (namespace, labels, name) of the pods bound to the node.
    pods: Vec<(String, Value, String)>,
}

pub(super) fn node_views(world: &World) -> Vec<NodeView> {
    let mut nodes: Vec<NodeView> = world
        .names("Node", None)
        .into_iter()
        .filter_map(|(_, name)| {
            let n = world.get("Node", "", &name)?;
            Some(NodeView {
                zone: n["metadata"]["labels"]["topology.kubernetes.io/zone"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                ip: n["status"]["addresses"]
                    .as_array()
                    .and_then(|a| a.iter().find(|x| x["type"] == "InternalIP"))
                    .and_then(|x| x["address"].as_str())
                    .unwrap_or_default()
                    .to_string(),
                labels: n["metadata"]["labels"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                taints: n["spec"]["taints"].as_array().cloned().unwrap_or_default(),
                unschedulable: n["spec"]["unschedulable"].as_bool() == Some(true),
                cpu_alloc: cpu_m(&n["status"]["allocatable"]["cpu"]),
                mem_alloc: bytes(&n["status"]["allocatable"]["memory"]),
                pods_alloc: n["status"]["allocatable"]["pods"]
                    .as_str()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(110.0),
                cpu_used: 0.0,
                mem_used: 0.0,
                pods: Vec::new(),
                name,
            })
        })
        .collect();
    let index: BTreeMap<String, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.clone(), i))
        .collect();
    for p in world.objects().filter(|o| o["kind"] == "Pod") {
        let Some(node) = p["spec"]["nodeName"].as_str() else {
            continue;
        };
        let phase = p["status"]["phase"].as_str().unwrap_or("Pending");
        if phase == "Succeeded" || phase == "Failed" {
            continue;
        }
        if let Some(&i) = index.get(node) {
            let (cpu, mem) = spec_requests(&p["spec"]);
            let n = &mut nodes[i];
            n.cpu_used += cpu;
            n.mem_used += mem;
            n.pods.push((
                p["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                p["metadata"]["labels"].clone(),
                p["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ));
        }
    }
    nodes
}

pub(super) enum Verdict {
    Fit,
    /// A filter that preemption cannot help (taints, selectors, volume zones).
    Unresolvable(String),
    /// Filters that evicting lower-priority pods could satisfy (resources, anti-affinity).
    Unschedulable(Vec<String>),
}

fn tolerates(tolerations: &[Value], taint: &Value) -> bool {
    tolerations.iter().any(|t| {
        let op = t["operator"].as_str().unwrap_or("Equal");
        let key_ok = match t["key"].as_str() {
            None | Some("") => op == "Exists",
            Some(k) => Some(k) == taint["key"].as_str(),
        };
        let value_ok = op == "Exists"
            || t["value"].as_str().unwrap_or_default()
                == taint["value"].as_str().unwrap_or_default();
        let effect_ok = match t["effect"].as_str() {
            None | Some("") => true,
            Some(e) => Some(e) == taint["effect"].as_str(),
        };
        key_ok && value_ok && effect_ok
    })
}

fn node_matches(spec: &Value, labels: &Map<String, Value>) -> bool {
    if let Some(sel) = spec["nodeSelector"].as_object() {
        if sel.iter().any(|(k, v)| labels.get(k) != Some(v)) {
            return false;
        }
    }
    let terms = &spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        ["nodeSelectorTerms"];
    let Some(terms) = terms.as_array() else {
        return true;
    };
    terms.iter().any(|term| {
        term["matchExpressions"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| {
                let key = e["key"].as_str().unwrap_or_default();
                let have = labels.get(key).and_then(Value::as_str);
                let values: Vec<&str> = e["values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                match e["operator"].as_str().unwrap_or_default() {
                    "In" => have.is_some_and(|h| values.contains(&h)),
                    "NotIn" => have.is_none_or(|h| !values.contains(&h)),
                    "Exists" => have.is_some(),
                    "DoesNotExist" => have.is_none(),
                    _ => false,
                }
            })
    })
}

/// kube-scheduler's filters for one node, in its order, stopping at the first failure.
/// `exclude`: a pod already bound whose own footprint does not count (it is being moved).
pub(super) fn filter(
    node: &NodeView,
    spec: &Value,
    ns: &str,
    zones: &[String],
    exclude: (f64, f64),
) -> Verdict {
    let tolerations = spec["tolerations"].as_array().cloned().unwrap_or_default();
    if node.unschedulable
        && !tolerates(
            &tolerations,
            &json!({"key": "node.kubernetes.io/unschedulable", "value": "", "effect": "NoSchedule"}),
        )
    {
        return Verdict::Unresolvable("node(s) were unschedulable".into());
    }
    for t in &node.taints {
        let effect = t["effect"].as_str().unwrap_or_default();
        if (effect == "NoSchedule" || effect == "NoExecute") && !tolerates(&tolerations, t) {
            return Verdict::Unresolvable(format!(
                "node(s) had untolerated taint {{{}: {}}}",
                t["key"].as_str().unwrap_or_default(),
                t["value"].as_str().unwrap_or_default()
            ));
        }
    }
    if !node_matches(spec, &node.labels) {
        return Verdict::Unresolvable("node(s) didn't match Pod's node affinity/selector".into());
    }
    let (cpu, mem) = spec_requests(spec);
    let mut short = Vec::new();
    if node.pods.len() as f64 + 1.0 > node.pods_alloc {
        short.push("Too many pods".to_string());
    }
    if cpu > 0.0 && node.cpu_used - exclude.0 + cpu > node.cpu_alloc {
        short.push("Insufficient cpu".to_string());
    }
    if mem > 0.0 && node.mem_used - exclude.1 + mem > node.mem_alloc {
        short.push("Insufficient memory".to_string());
    }
    if !short.is_empty() {
        return Verdict::Unschedulable(short);
    }
    if !zones.is_empty() && !zones.contains(&node.zone) {
        return Verdict::Unresolvable("node(s) had volume node affinity conflict".into());
    }
    let anti =
        &spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
    for term in anti.as_array().into_iter().flatten() {
        if term["topologyKey"] != "kubernetes.io/hostname" {
            continue;
        }
        let sel = term["labelSelector"]["matchLabels"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        if node
            .pods
            .iter()
            .any(|(pns, labels, _)| pns == ns && sel.iter().all(|(k, v)| &labels[k] == v))
        {
            return Verdict::Unschedulable(vec![
                "node(s) didn't match pod anti-affinity rules".into(),
            ]);
        }
    }
    Verdict::Fit
}

/// Zones the pod's bound volumes are pinned to.
fn volume_zones(world: &World, ns: &str, spec: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for v in spec["volumes"].as_array().into_iter().flatten() {
        let Some(claim) = v["persistentVolumeClaim"]["claimName"].as_str() else {
            continue;
        };
        let Some(pv) = world
            .get("PersistentVolumeClaim", ns, claim)
            .and_then(|c| c["spec"]["volumeName"].as_str())
            .and_then(|pv| world.get("PersistentVolume", "", pv))
        else {
            continue;
        };
        for term in pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for e in term["matchExpressions"].as_array().into_iter().flatten() {
                if e["key"] == "topology.kubernetes.io/zone" {
                    out.extend(
                        e["values"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|z| z.as_str().map(str::to_string)),
                    );
                }
            }
        }
    }
    out
}

/// Where the scheduler puts a pod with `spec` (the least allocated fitting node), or its
/// FailedScheduling message. `moving`: a bound pod of the namespace being re-placed.
pub(super) fn try_schedule(
    world: &World,
    ns: &str,
    spec: &Value,
    moving: Option<&str>,
) -> Result<String, String> {
    let zones = volume_zones(world, ns, spec);
    let mut nodes = node_views(world);
    let mut exclude_on = String::new();
    if let Some(m) = moving {
        if let Some(p) = world.get("Pod", ns, m) {
            exclude_on = p["spec"]["nodeName"]
                .as_str()
                .unwrap_or_default()
                .to_string();
        }
        for n in &mut nodes {
            n.pods.retain(|(pns, _, name)| !(pns == ns && name == m));
        }
    }
    let own = spec_requests(spec);
    let mut best: Option<(f64, String)> = None;
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let (mut hopeless, mut victimless) = (0usize, 0usize);
    for n in &nodes {
        let ex = if n.name == exclude_on {
            own
        } else {
            (0.0, 0.0)
        };
        match filter(n, spec, ns, &zones, ex) {
            Verdict::Fit => {
                let score = (n.cpu_used - ex.0) / n.cpu_alloc.max(1.0)
                    + (n.mem_used - ex.1) / n.mem_alloc.max(1.0);
                if best
                    .as_ref()
                    .is_none_or(|(s, name)| score < *s || (score == *s && n.name < *name))
                {
                    best = Some((score, n.name.clone()));
                }
            }
            Verdict::Unresolvable(r) => {
                *reasons.entry(r).or_default() += 1;
                hopeless += 1;
            }
            Verdict::Unschedulable(rs) => {
                for r in rs {
                    *reasons.entry(r).or_default() += 1;
                }
                victimless += 1;
            }
        }
    }
    if let Some((_, name)) = best {
        return Ok(name);
    }
    let total = nodes.len();
    let mut parts: Vec<String> = reasons.iter().map(|(r, c)| format!("{c} {r}")).collect();
    parts.sort();
    let mut pre = Vec::new();
    if hopeless > 0 {
        pre.push(format!(
            "{hopeless} Preemption is not helpful for scheduling"
        ));
    }
    if victimless > 0 {
        pre.push(format!(
            "{victimless} No preemption victims found for incoming pod"
        ));
    }
    pre.sort();
    Err(format!(
        "0/{total} nodes are available: {}. preemption: 0/{total} nodes are available: {}.",
        parts.join(", "),
        pre.join(", ")
    ))
}

/// Schedules an unbound pod that must fit, and binds it.
pub(super) fn place(
    world: &mut World,
    topo: &mut Topology,
    ns: &str,
    pod: &str,
) -> Result<String, String> {
    let spec = world
        .get("Pod", ns, pod)
        .map(|p| p["spec"].clone())
        .ok_or_else(|| format!("no pod {ns}/{pod}"))?;
    let node = try_schedule(world, ns, &spec, None)
        .map_err(|m| format!("pod {ns}/{pod} cannot be scheduled: {m}"))?;
    bind(world, topo, ns, pod, &node);
    Ok(node)
}

pub(super) fn bind(world: &mut World, topo: &mut Topology, ns: &str, pod: &str, node: &str) {
    let mut req = (0.0, 0.0);
    if let Some(p) = world.get_mut("Pod", ns, pod) {
        p["spec"]["nodeName"] = json!(node);
        req = spec_requests(&p["spec"]);
    }
    topo_adjust(topo, node, req.0, req.1);
}

/// Moves a running pod to another node (as if it had been placed there).
pub(super) fn move_pod(world: &mut World, topo: &mut Topology, ns: &str, pod: &str, to: &str) {
    let host = node_views(world)
        .into_iter()
        .find(|n| n.name == to)
        .map(|n| n.ip)
        .unwrap_or_default();
    let mut from = String::new();
    let mut req = (0.0, 0.0);
    if let Some(p) = world.get_mut("Pod", ns, pod) {
        from = p["spec"]["nodeName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        req = spec_requests(&p["spec"]);
        p["spec"]["nodeName"] = json!(to);
        p["status"]["hostIP"] = json!(host);
        p["status"]["hostIPs"] = json!([{"ip": host}]);
    }
    topo_adjust(topo, &from, -req.0, -req.1);
    topo_adjust(topo, to, req.0, req.1);
    for pn in world
        .signals
        .pod_nodes
        .iter_mut()
        .filter(|((n, p), _)| n == ns && p == pod)
    {
        pn.1 = to.to_string();
    }
}

pub(super) fn topo_adjust(topo: &mut Topology, node: &str, cpu: f64, mem: f64) {
    if let Some(n) = topo.nodes.iter_mut().find(|n| n.name == node) {
        n.cpu_used_m = (n.cpu_used_m + cpu).max(0.0);
        n.mem_used = (n.mem_used + mem).max(0.0);
        if cpu >= 0.0 {
            n.pods += 1;
        } else {
            n.pods = n.pods.saturating_sub(1);
        }
    }
}
