//! The configuration rollback scenario: is there a revision to go back to (a Deployment's
//! older ReplicaSets, a StatefulSet's or DaemonSet's ControllerRevisions), and would
//! rolling back to it go through — simulated by the impact analysis as the controller
//! would roll the old template out.

use serde::Serialize;
use serde_json::{Value, json};

use intel_engine::Relations;
use intel_model::Snapshot;
use intel_scheduler::Cluster;

use crate::impact::{Change, Edit, Request, impact_on};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollback {
    pub subject: String,
    /// The revision running now and the one rolled back to.
    pub current_revision: Option<i64>,
    pub previous_revision: Option<i64>,
    /// Images of the revision rolled back to, against the current ones.
    pub images_now: Vec<String>,
    pub images_then: Vec<String>,
    /// `no-history` (nothing to go back to), or impact's verdict of rolling back:
    /// `safe`, `risky`, `fails`.
    pub verdict: String,
    /// Impact's summary of the rollback's simulation, or why there is none.
    pub detail: String,
    /// The command that rolls it back.
    pub command: Option<String>,
}

fn revision(v: &Value) -> Option<i64> {
    v.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

fn images(template: Option<&Value>) -> Vec<String> {
    template
        .and_then(|t| t.pointer("/spec/containers"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("image").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// Revisions of a workload, newest first: (revision, pod template).
fn history(snap: &Snapshot, kind: &str, ns: &str, name: &str) -> Vec<(i64, Value)> {
    let mut out = Vec::new();
    if kind == "Deployment" {
        for rs in snap.items("apps", "replicasets") {
            if rs.meta.namespace != ns
                || !rs
                    .controller()
                    .is_some_and(|c| c.kind == "Deployment" && c.name == name)
            {
                continue;
            }
            let v = rs.value();
            if let (Some(r), Some(mut t)) = (revision(&v), v.pointer("/spec/template").cloned()) {
                // The ReplicaSet's own label is not part of the Deployment's template.
                if let Some(l) = t
                    .pointer_mut("/metadata/labels")
                    .and_then(Value::as_object_mut)
                {
                    l.remove("pod-template-hash");
                }
                out.push((r, t));
            }
        }
    } else {
        for cr in snap.items("apps", "controllerrevisions") {
            if cr.meta.namespace != ns
                || !cr
                    .controller()
                    .is_some_and(|c| c.kind == kind && c.name == name)
            {
                continue;
            }
            let v = cr.value();
            let r = v.get("revision").and_then(Value::as_i64);
            let t = v.pointer("/data/spec/template").cloned();
            if let (Some(r), Some(mut t)) = (r, t) {
                if let Some(o) = t.as_object_mut() {
                    o.remove("$patch");
                }
                out.push((r, t));
            }
        }
    }
    out.sort_by_key(|b| std::cmp::Reverse(b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

pub fn simulate(
    snap: &Snapshot,
    rel: &Relations,
    cluster: &mut Cluster,
    kind: &str,
    ns: &str,
    name: &str,
) -> Rollback {
    let subject = format!("{kind} {ns}/{name}");
    let hist = history(snap, kind, ns, name);
    let current_template = snap
        .index()
        .by_name(kind, ns, name)
        .first()
        .and_then(|id| snap.get(*id))
        .and_then(|o| o.value().pointer("/spec/template").cloned());
    let images_now = images(current_template.as_ref());
    let current = hist.first().map(|(r, _)| *r);
    // The revision before the one running now.
    let previous = hist
        .iter()
        .find(|(r, t)| Some(*r) != current && Some(t) != current_template.as_ref());
    let Some((prev, template)) = previous else {
        return Rollback {
            subject,
            current_revision: current,
            previous_revision: None,
            images_now,
            images_then: Vec::new(),
            verdict: "no-history".into(),
            detail: format!(
                "no earlier revision is kept ({} {}): there is nothing to roll back to — keep revisionHistoryLimit above 0 and redeploy a known-good manifest instead",
                hist.len(),
                if kind == "Deployment" {
                    "ReplicaSet(s) with a revision"
                } else {
                    "ControllerRevision(s)"
                }
            ),
            command: None,
        };
    };
    let images_then = images(Some(template));
    // The workload as it is, with the old template in place of the current one (a merge
    // patch would keep what the newer revision added).
    let mut object = snap
        .index()
        .by_name(kind, ns, name)
        .first()
        .and_then(|id| snap.get(*id))
        .map(|o| o.value())
        .unwrap_or_else(|| json!({"metadata": {"name": name, "namespace": ns}}));
    crate::impact::plan::set_path(&mut object, &["kind"], json!(kind));
    crate::impact::plan::set_path(&mut object, &["spec", "template"], template.clone());
    if let Some(o) = object.as_object_mut() {
        o.remove("status");
    }
    let change = Change {
        edits: vec![Edit::Apply { object }],
        namespace: None,
    };
    let req = Request {
        change,
        baseline: None,
    };
    let (verdict, detail) = match impact_on(snap, rel, cluster, &req) {
        Ok(r) => (
            r.details["verdict"].as_str().unwrap_or("fails").to_string(),
            r.summary,
        ),
        Err(e) => ("fails".into(), e.0),
    };
    Rollback {
        subject,
        current_revision: current,
        previous_revision: Some(*prev),
        images_now,
        images_then,
        verdict,
        detail,
        command: Some(format!(
            "kubectl -n {} rollout undo {}/{} --to-revision={prev}",
            crate::diagnose::remedy::values::shell_quote(ns),
            kind.to_ascii_lowercase(),
            crate::diagnose::remedy::values::shell_quote(name)
        )),
    }
}
