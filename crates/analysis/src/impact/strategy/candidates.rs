//! The strategies themselves: each a [`Candidate`] with its edits (what the simulation
//! adds to the change), the commands that make it and how to undo it. Which to try is
//! `advise.rs`'s choice; whether it helps is the simulation's.

use serde_json::{Value, json};

use super::{Candidate, ns_flag, patch_command, target};
use crate::diagnose::remedy::values::shell_quote;
use crate::impact::change::{Edit, ResourceEdit};
use crate::impact::target::Workload;

/// `kubectl -n NS VERB kind/NAME REST`.
fn kubectl(w: &Workload, verb: &str, rest: &str) -> String {
    let cmd = format!(
        "{} {verb} {}/{}",
        ns_flag(&w.namespace),
        w.kind.to_ascii_lowercase(),
        shell_quote(&w.name)
    );
    if rest.is_empty() {
        cmd
    } else {
        format!("{cmd} {rest}")
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
    crate::impact::plan::set_path(
        &mut obj,
        &["spec", "template", "metadata", "labels", "track"],
        json!("canary"),
    );
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

/// Resuming a paused Deployment, so the change rolls out.
pub fn resume(w: &Workload) -> Candidate {
    let patch = json!({"spec": {"paused": false}});
    Candidate {
        kind: "resume",
        title: format!("Resume {} so the change rolls out", w.label()),
        why: "a paused Deployment takes template changes but rolls none out".into(),
        risk: "low",
        edits: vec![Edit::Patch {
            target: target(w),
            patch: patch.clone(),
        }],
        replaces_change: false,
        commands: vec![kubectl(w, "rollout resume", "")],
        rollback: vec![kubectl(w, "rollout pause", "")],
    }
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
        rollback: vec![kubectl(w, "rollout undo", "")],
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
        rollback: vec![kubectl(w, "rollout undo", "")],
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
        crate::impact::plan::set_path(&mut obj, &["spec", "hard", k], json!(v));
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
        commands: vec![kubectl(w, "scale", &format!("--replicas={n}"))],
        rollback: vec![kubectl(
            w,
            "scale",
            &format!("--replicas={}", w.replicas_before()),
        )],
    }
}
