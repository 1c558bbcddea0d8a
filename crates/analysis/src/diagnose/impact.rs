//! Business impact: which services are affected (down, degraded), through which entry
//! points (Ingress hosts), what share of their requests fail, and — only where business
//! context exists (`intel.kubectl.io/revenue-per-hour`, `…/users` on workloads, Services
//! or namespaces) — money and users. Without context the report says so.

use std::collections::BTreeSet;

use crate::detect::{Hit, jint};
use crate::report::{AffectedService, Business, Chain, Impact, Severity, Subject};
use intel_engine::relations::RelationKind;
use intel_engine::{ObjectRef, Relations};
use intel_model::Snapshot;

const REVENUE: &str = "intel.kubectl.io/revenue-per-hour";
const USERS: &str = "intel.kubectl.io/users";

pub fn impact(
    snap: &Snapshot,
    rel: &Relations,
    cluster: &str,
    hits: &[Hit],
    chain: Option<&Chain>,
) -> Impact {
    let mut affected: BTreeSet<ObjectRef> = BTreeSet::new();
    if let Some(chain) = chain {
        for l in &chain.links {
            let o = l.subject.object();
            if matches!(
                o.kind.as_str(),
                "Deployment" | "StatefulSet" | "DaemonSet" | "CronJob"
            ) {
                affected.insert(o);
            }
        }
    }
    let mut out = Impact::default();
    for w in &affected {
        let (ready, want) = replicas(snap, w);
        let critical = hits
            .iter()
            .any(|h| h.subject == *w && h.severity == Severity::Critical);
        let state = if want > 0 && ready == 0 {
            "down"
        } else if critical || ready < want {
            "degraded"
        } else {
            "at-risk"
        };
        let error_rate = None;
        out.services.push(AffectedService {
            subject: Subject::new(cluster, w),
            state: state.into(),
            ready_replicas: ready,
            replicas: want,
            error_rate,
        });
    }
    out.entry_points = entry_points(snap, rel, &affected);
    let (business, note) = business_of(snap, rel, &affected);
    out.business = business;
    out.note = note;
    out
}

/// Ingress hosts routing (through a Service) to one of `affected`.
pub(crate) fn entry_points(
    snap: &Snapshot,
    rel: &Relations,
    affected: &BTreeSet<ObjectRef>,
) -> Vec<String> {
    let mut out = Vec::new();
    let map = rel.service_map();
    for ing in snap.items("networking.k8s.io", "ingresses") {
        let iref = ObjectRef::of(ing);
        let reaches = rel.from(&iref).iter().any(|r| {
            r.kind == RelationKind::Routes
                && map
                    .node(&r.to)
                    .and_then(|n| n.service_for.as_ref())
                    .is_some_and(|w| affected.contains(w))
        });
        if reaches {
            let v = ing.value();
            let hosts: Vec<String> = v
                .pointer("/spec/rules")
                .and_then(|r| r.as_array())
                .map(|rs| {
                    rs.iter()
                        .filter_map(|r| r.get("host").and_then(|h| h.as_str()).map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            if hosts.is_empty() {
                out.push(format!("Ingress {}/{}", iref.namespace, iref.name));
            }
            for h in hosts {
                out.push(format!("{h} (Ingress {}/{})", iref.namespace, iref.name));
            }
        }
    }
    out
}

/// The annotated business figures of `affected` (each annotation counted once), with
/// the note saying what they are or that there are none.
pub(crate) fn business_of(
    snap: &Snapshot,
    rel: &Relations,
    affected: &BTreeSet<ObjectRef>,
) -> (Option<Business>, String) {
    let mut revenue = 0.0;
    let mut users = 0.0;
    let mut sources = Vec::new();
    let mut counted: BTreeSet<(&str, String)> = BTreeSet::new();
    for w in affected {
        for (key, total, label) in [
            (REVENUE, &mut revenue, "revenue-per-hour"),
            (USERS, &mut users, "users"),
        ] {
            if let Some((v, from)) = annotation(snap, rel, w, key) {
                if counted.insert((key, from.clone())) {
                    *total += v;
                    sources.push(format!("{label} {v} from {from}"));
                }
            }
        }
    }
    business(sources, revenue, users)
}

fn business(mut sources: Vec<String>, revenue: f64, users: f64) -> (Option<Business>, String) {
    sources.sort();
    sources.dedup();
    if sources.is_empty() {
        return (None, "No business context: no intel.kubectl.io/revenue-per-hour or intel.kubectl.io/users annotation on the affected workloads, their Services or namespaces, so impact is stated in services and replicas only.".into());
    }
    (
        Some(Business {
            revenue_per_hour_at_risk: (revenue > 0.0).then_some(revenue),
            users_affected: (users > 0.0).then_some(users),
            sources,
        }),
        "Money and users are the annotated figures of the affected services, not a measurement."
            .into(),
    )
}

pub(crate) fn replicas(snap: &Snapshot, w: &ObjectRef) -> (i64, i64) {
    let ids = snap.index().by_name(&w.kind, &w.namespace, &w.name);
    let Some(v) = ids.first().and_then(|id| snap.get(*id)).map(|o| o.value()) else {
        return (0, 0);
    };
    let want = jint(&v, &["spec", "replicas"])
        .or_else(|| jint(&v, &["status", "desiredNumberScheduled"]))
        .unwrap_or(1);
    let ready = jint(&v, &["status", "readyReplicas"])
        .or_else(|| jint(&v, &["status", "numberReady"]))
        .unwrap_or(0);
    (ready, want)
}

/// A business annotation on the workload, a Service selecting it, or its namespace.
fn annotation(snap: &Snapshot, rel: &Relations, w: &ObjectRef, key: &str) -> Option<(f64, String)> {
    let get = |kind: &str, ns: &str, name: &str| -> Option<f64> {
        let ids = snap.index().by_name(kind, ns, name);
        let v = ids.first().and_then(|id| snap.get(*id))?.value();
        v.pointer("/metadata/annotations")?
            .get(key)?
            .as_str()?
            .trim()
            .parse::<f64>()
            .ok()
    };
    if let Some(v) = get(&w.kind, &w.namespace, &w.name) {
        return Some((v, format!("{} {}/{}", w.kind, w.namespace, w.name)));
    }
    for r in rel.from(w) {
        if r.kind == RelationKind::SelectedBy && r.to.kind == "Service" {
            if let Some(v) = get("Service", &r.to.namespace, &r.to.name) {
                return Some((v, format!("Service {}/{}", r.to.namespace, r.to.name)));
            }
        }
    }
    get("Namespace", "", &w.namespace).map(|v| (v, format!("Namespace {}", w.namespace)))
}
