//! Ways to make a change go through, each one simulated: the strategy's edits are added
//! to the change (or replace it, for a canary) and the whole change runs again; only
//! strategies whose simulated verdict is better than the change's are kept, and each
//! carries that verdict, so a test can apply the same edits and check it.

use serde::Serialize;
use serde_json::{Value, json};

use intel_model::Snapshot;
use intel_scheduler::Cluster;

use super::change::{Change, Edit, ResourceEdit};
use super::nodes::pools;
use super::plan::Plan;
use super::run::{Ground, Run, Verdict, run};
use super::target::Workload;
use crate::diagnose::remedy::values::shell_quote;

/// A strategy, with its simulated outcome.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Strategy {
    /// `pre-scale`, `lower-surge`, `canary`, `tolerate-taint`, `fix-node-selector`,
    /// `raise-quota`, `raise-limit`, `within-limit-range`, `relax-budget`,
    /// `fewer-replicas`, `proceed`.
    pub kind: String,
    pub title: String,
    pub why: String,
    /// `low`, `medium`, `high`.
    pub risk: String,
    /// What is added to the change (or, with `replacesChange`, the whole change).
    pub edits: Vec<Edit>,
    pub replaces_change: bool,
    /// The verdict the change gets with these edits, simulated.
    pub verdict: Verdict,
    pub outcome: String,
    pub commands: Vec<String>,
    pub verify: Vec<String>,
    pub rollback: Vec<String>,
}

pub struct Candidate {
    pub kind: &'static str,
    pub title: String,
    pub why: String,
    pub risk: &'static str,
    pub edits: Vec<Edit>,
    pub replaces_change: bool,
    pub commands: Vec<String>,
    pub rollback: Vec<String>,
}

/// The change with a strategy's edits, resolved and run.
pub fn try_edits(
    snap: &Snapshot,
    ground: &Ground,
    cluster: &mut Cluster,
    change: &Change,
    edits: &[Edit],
    replaces: bool,
    prepare: &dyn Fn(&mut Plan),
) -> Option<Run> {
    let mut c = change.clone();
    if replaces {
        c.edits.retain(|e| {
            matches!(
                e,
                Edit::ScaleNodes { .. } | Edit::Cordon { .. } | Edit::Drain { .. }
            )
        });
    }
    c.edits.extend(edits.iter().cloned());
    let mut plan = Plan::resolve(snap, &c).ok()?;
    prepare(&mut plan);
    run(ground, cluster, &plan).ok()
}

fn ns_flag(ns: &str) -> String {
    format!("kubectl -n {}", shell_quote(ns))
}

fn patch_command(w: &Workload, patch: &Value) -> String {
    format!(
        "{} patch {} {} --type merge -p {}",
        ns_flag(&w.namespace),
        w.kind.to_ascii_lowercase(),
        shell_quote(&w.name),
        shell_quote(&patch.to_string())
    )
}

/// The commands that make the change itself, in the order it is simulated.
pub fn change_commands(cluster: &Cluster, change: &Change, plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for w in &plan.workloads {
        let kind = w.kind.to_ascii_lowercase();
        let Some(before) = &w.before else {
            continue;
        };
        // A patched or applied workload's command is the patch or the manifest itself.
        if plan
            .declared
            .contains(&(w.kind.clone(), w.namespace.clone(), w.name.clone()))
        {
            continue;
        }
        let containers = |v: &Value| -> Vec<(String, Value)> {
            v.pointer("/spec/template/spec/containers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or_default().to_string(),
                        c.clone(),
                    )
                })
                .collect()
        };
        let old = containers(before);
        let mut images = Vec::new();
        for (name, c) in containers(&w.after) {
            let prev = old.iter().find(|(n, _)| *n == name).map(|(_, c)| c);
            if prev.map(|p| &p["image"]) != Some(&c["image"]) {
                if let Some(img) = c["image"].as_str() {
                    images.push(shell_quote(&format!("{name}={img}")));
                }
            }
            if prev.map(|p| &p["resources"]) != Some(&c["resources"]) {
                let list = |side: &str| -> String {
                    c["resources"][side]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(",")
                };
                let (req, lim) = (list("requests"), list("limits"));
                let mut cmd = format!(
                    "{} set resources {kind}/{} -c {}",
                    ns_flag(&w.namespace),
                    shell_quote(&w.name),
                    shell_quote(&name)
                );
                if !req.is_empty() {
                    cmd.push_str(&format!(" --requests={}", shell_quote(&req)));
                }
                if !lim.is_empty() {
                    cmd.push_str(&format!(" --limits={}", shell_quote(&lim)));
                }
                out.push(cmd);
            }
        }
        if !images.is_empty() {
            out.push(format!(
                "{} set image {kind}/{} {}",
                ns_flag(&w.namespace),
                shell_quote(&w.name),
                images.join(" ")
            ));
        }
        if w.replicas_after() != w.replicas_before() && w.kind != "DaemonSet" {
            out.push(format!(
                "{} scale {kind}/{} --replicas={}",
                ns_flag(&w.namespace),
                shell_quote(&w.name),
                w.replicas_after()
            ));
        }
    }
    for e in &change.edits {
        match e {
            Edit::Patch { target, patch } => {
                let w = plan
                    .workloads
                    .iter()
                    .find(|w| w.patched_as.iter().any(|t| t == target));
                if let Some(w) = w {
                    out.push(patch_command(w, patch));
                }
            }
            Edit::ScaleNodes { pool, nodes } => out.extend(scale_commands(cluster, pool, *nodes)),
            Edit::Cordon { node } => out.push(format!("kubectl cordon {}", shell_quote(node))),
            Edit::Drain { node } => out.push(format!(
                "kubectl drain {} --ignore-daemonsets --delete-emptydir-data",
                shell_quote(node)
            )),
            Edit::Delete { target } => out.push(format!("kubectl delete {}", shell_quote(target))),
            Edit::Apply { object } => out.push(format!(
                "kubectl apply -f - <<'EOF'\n{}\nEOF",
                serde_json::to_string_pretty(object).unwrap_or_default()
            )),
            _ => {}
        }
    }
    out
}

fn target(w: &Workload) -> String {
    format!("{}/{}/{}", w.namespace, w.kind.to_ascii_lowercase(), w.name)
}

/// Pre-scaling a pool: the fewest nodes (up to 64) that make the change complete, and the
/// fewest that make it safe, found by doubling then halving (more nodes never make a
/// rollout fail where fewer let it through).
pub fn pre_scale(
    snap: &Snapshot,
    ground: &Ground,
    cluster: &mut Cluster,
    change: &Change,
    base: &[Edit],
    prepare: &dyn Fn(&mut Plan),
    current: Verdict,
) -> Vec<(String, usize, usize, Run)> {
    let mut out = Vec::new();
    let all = pools(cluster);
    for (pool, (_, members)) in all.iter().take(8) {
        let size = members.len();
        let attempt = |cluster: &mut Cluster, k: usize| {
            let mut edits = base.to_vec();
            edits.push(Edit::ScaleNodes {
                pool: pool.clone(),
                nodes: size + k,
            });
            try_edits(snap, ground, cluster, change, &edits, false, prepare)
        };
        let Some(at_max) = attempt(cluster, 64) else {
            continue;
        };
        if at_max.verdict >= current {
            continue;
        }
        let want = at_max.verdict;
        // Doubling to a bracket, then binary search for the fewest nodes reaching `want`.
        let (mut lo, mut hi) = (0usize, 1usize);
        let mut best: Option<Run> = None;
        while hi < 64 {
            match attempt(cluster, hi) {
                Some(r) if r.verdict <= want => {
                    best = Some(r);
                    break;
                }
                _ => {
                    lo = hi;
                    hi *= 2;
                }
            }
        }
        let (mut hi, mut best) = match best {
            Some(b) => (hi, b),
            None => (64, at_max),
        };
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            match attempt(cluster, mid) {
                Some(r) if r.verdict <= want => {
                    hi = mid;
                    best = r;
                }
                _ => lo = mid,
            }
        }
        out.push((pool.clone(), size, size + hi, best));
    }
    out
}

/// The commands that scale a pool, where the nodes say which tool owns it.
pub fn scale_commands(cluster: &Cluster, pool: &str, nodes: usize) -> Vec<String> {
    let all = pools(cluster);
    let Some((key, members)) = all.get(pool) else {
        return Vec::new();
    };
    let node = members.first().and_then(|n| cluster.node(n));
    let eks_cluster = node.and_then(|n| n.labels.get("alpha.eksctl.io/cluster-name"));
    match (key.as_str(), eks_cluster) {
        ("eks.amazonaws.com/nodegroup", Some(c)) => vec![format!(
            "eksctl scale nodegroup --cluster {} --name {} --nodes {nodes} --nodes-max {nodes}",
            shell_quote(c),
            shell_quote(pool)
        )],
        ("karpenter.sh/nodepool", _) => vec![format!(
            "kubectl get nodepool {} -o jsonpath='{{.spec.limits}}'   # Karpenter adds the nodes for pending pods when the NodePool's limits allow {nodes} nodes",
            shell_quote(pool)
        )],
        _ => vec![format!(
            "# scale node group {pool} (nodes labelled {key}={pool}) from {} to {nodes} nodes with the tool that owns it, then check: kubectl get nodes -l {}",
            members.len(),
            shell_quote(&format!("{key}={pool}"))
        )],
    }
}

/// The canary: a separate Deployment of `n` replicas running the new template beside
/// the current one (same labels, so its Services send it a share of the traffic).
pub fn canary(w: &Workload, n: i32) -> Option<Candidate> {
    if w.kind != "Deployment" || w.before.is_none() {
        return None;
    }
    let name = format!("{}-canary", w.name);
    let mut obj = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": w.namespace},
        "spec": {
            "replicas": n,
            "selector": w.after.pointer("/spec/selector").cloned().unwrap_or(Value::Null),
            "template": w.after.pointer("/spec/template").cloned().unwrap_or(Value::Null),
        }
    });
    obj["spec"]["template"]["metadata"]["labels"]["track"] = json!("canary");
    if let Some(sel) = obj
        .pointer_mut("/spec/selector/matchLabels")
        .and_then(Value::as_object_mut)
    {
        sel.insert("track".into(), json!("canary"));
    }
    let manifest = serde_json::to_string_pretty(&obj).unwrap_or_default();
    let r = w.replicas_after().max(1);
    Some(Candidate {
        kind: "canary",
        title: format!(
            "Canary: run the new version as {name} with {n} replica(s) ({}% of {r}) first",
            n * 100 / r
        ),
        why: format!(
            "{n} new pod(s) fit beside the current {r} without removing any; the full rollout does not go through as it is"
        ),
        risk: "low",
        edits: vec![Edit::Apply { object: obj }],
        replaces_change: true,
        commands: vec![format!("kubectl apply -f - <<'EOF'\n{manifest}\nEOF")],
        rollback: vec![format!(
            "{} delete deployment {}",
            ns_flag(&w.namespace),
            shell_quote(&name)
        )],
    })
}

pub fn lower_surge(w: &Workload) -> Option<Candidate> {
    if w.kind != "Deployment" || w.before.is_none() {
        return None;
    }
    let patch = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}}});
    let old = w
        .before
        .as_ref()
        .and_then(|b| b.pointer("/spec/strategy").cloned())
        .unwrap_or(json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}));
    Some(Candidate {
        kind: "lower-surge",
        title: format!("Roll {} out one pod at a time: maxSurge 0, maxUnavailable 1", w.label()),
        why: "no extra pod is created before an old one is removed, so the rollout needs no spare room (one replica fewer while each pod is replaced)".into(),
        risk: "medium",
        edits: vec![Edit::Patch { target: target(w), patch: patch.clone() }],
        replaces_change: false,
        commands: vec![patch_command(w, &patch)],
        rollback: vec![patch_command(w, &json!({"spec": {"strategy": old}}))],
    })
}

/// A rolling update instead of Recreate: one new pod beside the old ones at a time, none
/// removed before its replacement runs.
pub fn rolling_instead(w: &Workload) -> Option<Candidate> {
    if w.kind != "Deployment" {
        return None;
    }
    let patch = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}}});
    Some(Candidate {
        kind: "rolling-update",
        title: format!("Roll {} out with RollingUpdate (maxSurge 1, maxUnavailable 0) instead of Recreate", w.label()),
        why: "Recreate removes every old pod before the first new one starts; a rolling update keeps serving. Keep Recreate if the pods must not run side by side (a ReadWriteOnce volume, a singleton)".into(),
        risk: "medium",
        edits: vec![Edit::Patch { target: target(w), patch: patch.clone() }],
        replaces_change: false,
        commands: vec![patch_command(w, &patch)],
        rollback: vec![patch_command(w, &json!({"spec": {"strategy": {"type": "Recreate", "rollingUpdate": null}}}))],
    })
}

pub fn tolerate(w: &Workload, key: &str, value: Option<&str>, effect: &str) -> Candidate {
    let mut list = w
        .after
        .pointer("/spec/template/spec/tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let before = list.clone();
    list.push(match value {
        Some(v) => json!({"key": key, "operator": "Equal", "value": v, "effect": effect}),
        None => json!({"key": key, "operator": "Exists", "effect": effect}),
    });
    let patch = json!({"spec": {"template": {"spec": {"tolerations": list}}}});
    let text = match value {
        Some(v) => format!("{key}={v}:{effect}"),
        None => format!("{key}:{effect}"),
    };
    Candidate {
        kind: "tolerate-taint",
        title: format!("Tolerate the taint {text} in {}", w.label()),
        why: format!(
            "the nodes with room carry the taint {text}; check the pool is meant for this workload before tolerating it"
        ),
        risk: "medium",
        edits: vec![Edit::Patch {
            target: target(w),
            patch: patch.clone(),
        }],
        replaces_change: false,
        commands: vec![patch_command(w, &patch)],
        rollback: vec![patch_command(
            w,
            &json!({"spec": {"template": {"spec": {"tolerations": before}}}}),
        )],
    }
}

pub fn fix_selector(w: &Workload, key: &str, wanted: &str, existing: Option<&str>) -> Candidate {
    let value = existing.map_or(Value::Null, |v| json!(v));
    let patch = json!({"spec": {"template": {"spec": {"nodeSelector": {key: value}}}}});
    let (title, why) = match existing {
        Some(v) => (
            format!(
                "Set the node selector {key}={v} (not {wanted}) in {}",
                w.label()
            ),
            format!("no node carries {key}={wanted}; nodes carry {key}={v}"),
        ),
        None => (
            format!("Drop the node selector {key}={wanted} from {}", w.label()),
            format!("no node carries the label {key}"),
        ),
    };
    Candidate {
        kind: "fix-node-selector",
        title,
        why,
        risk: "low",
        edits: vec![Edit::Patch {
            target: target(w),
            patch: patch.clone(),
        }],
        replaces_change: false,
        commands: vec![patch_command(w, &patch)],
        rollback: vec![patch_command(
            w,
            &json!({"spec": {"template": {"spec": {"nodeSelector": {key: wanted}}}}}),
        )],
    }
}

pub fn raise_limit(w: &Workload, container: &str, request: &str, limit: &str) -> Candidate {
    Candidate {
        kind: "raise-limit",
        title: format!(
            "Set the memory of container {container} of {} to request {request}, limit {limit} with the new version",
            w.label()
        ),
        why: "the new version's measured memory is over the limit it would run with".into(),
        risk: "low",
        edits: vec![Edit::SetResources {
            target: format!("{}/{container}", target(w)),
            resources: ResourceEdit {
                requests: vec![("memory".into(), request.into())],
                limits: vec![("memory".into(), limit.into())],
            },
        }],
        replaces_change: false,
        // The change's commands with the edit carry the whole resources.
        commands: Vec::new(),
        rollback: vec![format!(
            "{} rollout undo {}/{}",
            ns_flag(&w.namespace),
            w.kind.to_ascii_lowercase(),
            shell_quote(&w.name)
        )],
    }
}

/// A limit brought within the namespace LimitRange's maximum (and the request with it).
pub fn within_limit_range(
    w: &Workload,
    container: &str,
    res: &str,
    max: &str,
    limit: &str,
) -> Candidate {
    let request = w
        .after
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
        .and_then(|c| {
            c.pointer(&format!("/resources/requests/{res}"))
                .and_then(Value::as_str)
        })
        .map(str::to_string);
    let over = |q: &str| {
        intel_model::quantity::milli_value(q)
            .zip(intel_model::quantity::milli_value(max))
            .is_some_and(|(a, b)| a > b)
    };
    let request = match request {
        Some(r) if !over(&r) => r,
        _ => max.to_string(),
    };
    Candidate {
        kind: "within-limit-range",
        title: format!(
            "Keep the {res} limit of container {container} of {} within the namespace's LimitRange: {max} (not {limit})",
            w.label()
        ),
        why: format!(
            "the LimitRange of {} allows at most {max} of {res} per container; the API server refuses pods asking more",
            w.namespace
        ),
        risk: "medium",
        edits: vec![Edit::SetResources {
            target: format!("{}/{container}", target(w)),
            resources: ResourceEdit {
                requests: vec![(res.to_string(), request.clone())],
                limits: vec![(res.to_string(), max.to_string())],
            },
        }],
        replaces_change: false,
        commands: Vec::new(),
        rollback: vec![format!(
            "{} rollout undo {}/{}",
            ns_flag(&w.namespace),
            w.kind.to_ascii_lowercase(),
            shell_quote(&w.name)
        )],
    }
}

pub fn raise_quota(quota: &Value, hard: &[(String, String)]) -> Option<Candidate> {
    let ns = quota.pointer("/metadata/namespace")?.as_str()?;
    let name = quota.pointer("/metadata/name")?.as_str()?;
    let mut obj = quota.clone();
    let mut patch_hard = serde_json::Map::new();
    let mut old_hard = serde_json::Map::new();
    for (k, v) in hard {
        old_hard.insert(k.clone(), obj["spec"]["hard"][k].clone());
        obj["spec"]["hard"][k] = json!(v);
        patch_hard.insert(k.clone(), json!(v));
    }
    if let Some(m) = obj.as_object_mut() {
        m.insert("kind".into(), json!("ResourceQuota"));
    }
    let patch = json!({"spec": {"hard": patch_hard}});
    let undo = json!({"spec": {"hard": old_hard}});
    let text: Vec<String> = hard.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Some(Candidate {
        kind: "raise-quota",
        title: format!("Raise ResourceQuota {ns}/{name} to {}", text.join(", ")),
        why: "the rollout's extra pods need more than the quota leaves".into(),
        risk: "low",
        edits: vec![Edit::Apply { object: obj }],
        replaces_change: false,
        commands: vec![format!(
            "{} patch resourcequota {} --type merge -p {}",
            ns_flag(ns),
            shell_quote(name),
            shell_quote(&patch.to_string())
        )],
        rollback: vec![format!(
            "{} patch resourcequota {} --type merge -p {}",
            ns_flag(ns),
            shell_quote(name),
            shell_quote(&undo.to_string())
        )],
    })
}

pub fn relax_budget(pdb: &Value) -> Option<Candidate> {
    let ns = pdb.pointer("/metadata/namespace")?.as_str()?;
    let name = pdb.pointer("/metadata/name")?.as_str()?;
    let mut obj = pdb.clone();
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("minAvailable");
        spec.insert("maxUnavailable".into(), json!(1));
    }
    if let Some(m) = obj.as_object_mut() {
        m.remove("status");
        m.insert("kind".into(), json!("PodDisruptionBudget"));
    }
    let old = pdb.get("spec").cloned().unwrap_or(Value::Null);
    Some(Candidate {
        kind: "relax-budget",
        title: format!(
            "Let PodDisruptionBudget {ns}/{name} allow one disruption (maxUnavailable 1) for the drain"
        ),
        why: "the budget allows no disruption now, so the drain cannot evict its pods".into(),
        risk: "medium",
        edits: vec![Edit::Apply { object: obj }],
        replaces_change: false,
        commands: vec![format!(
            "{} patch pdb {} --type merge -p {}",
            ns_flag(ns),
            shell_quote(name),
            shell_quote(&json!({"spec": {"minAvailable": null, "maxUnavailable": 1}}).to_string())
        )],
        rollback: vec![format!(
            "{} patch pdb {} --type merge -p {}",
            ns_flag(ns),
            shell_quote(name),
            shell_quote(&json!({"spec": old}).to_string())
        )],
    })
}

pub fn fewer_replicas(w: &Workload, n: i32) -> Candidate {
    Candidate {
        kind: "fewer-replicas",
        title: format!(
            "Run {} with {n} replicas (as many as its placement rules allow)",
            w.label()
        ),
        why: format!(
            "only {n} replicas can be placed under its required (anti-)affinity or spread rules on these nodes"
        ),
        risk: "high",
        edits: vec![Edit::Replicas {
            target: target(w),
            replicas: n,
        }],
        replaces_change: false,
        commands: vec![format!(
            "{} scale {}/{} --replicas={n}",
            ns_flag(&w.namespace),
            w.kind.to_ascii_lowercase(),
            shell_quote(&w.name)
        )],
        rollback: vec![format!(
            "{} scale {}/{} --replicas={}",
            ns_flag(&w.namespace),
            w.kind.to_ascii_lowercase(),
            shell_quote(&w.name),
            w.replicas_before()
        )],
    }
}
