//! An incident as the plan's starting point — the brief's "how do we prevent this?" after a
//! diagnosis. The root causes of a diagnose report (run on the same snapshot, or read from
//! its JSON) become the scenarios to simulate: the cause's workload failing outright,
//! whether it has a revision to go back to, a datastore's primary, a node lost; and the
//! plan's fixes for the causes come first.

use serde::Serialize;
use serde_json::Value;

use intel_scheduler::Cluster;

use super::index::Index;
use super::scenario::Scenario;

/// Root causes taken from a report, at most.
pub const CAUSES: usize = 3;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    /// Where the diagnosis came from: `diagnose "checkout is failing"`, `report diag.json`.
    pub source: String,
    pub causes: Vec<Cause>,
    /// The diagnosis' own long-term fixes for these causes (keeping it from coming back).
    pub fixes: Vec<crate::report::Recommendation>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cause {
    pub rank: u64,
    /// `Deployment shop/auth`.
    pub subject: String,
    /// The diagnosis' category (`OOMKilled`, `ImagePullBackOff`, …).
    pub category: String,
    #[serde(skip)]
    kind: String,
    #[serde(skip)]
    namespace: String,
    #[serde(skip)]
    name: String,
}

impl Incident {
    /// The root causes of a diagnose report (its JSON) for `cluster`. A report of another
    /// analysis, or one that names no root cause, is refused with what to do instead.
    pub fn from_report(report: &Value, source: &str, cluster: &str) -> Result<Incident, String> {
        let analysis = report["analysis"].as_str().unwrap_or_default();
        if analysis != "diagnose_cluster_issue" {
            return Err(format!(
                "{source}: not a diagnose report (its analysis is {:?}); write one with `kubectl intel diagnose SYMPTOM -o json`",
                analysis
            ));
        }
        let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
        let causes: Vec<Cause> = report["rootCauses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| {
                let of = c["subject"]["cluster"].as_str().unwrap_or_default();
                of.is_empty() || of == cluster
            })
            .take(CAUSES)
            .map(|c| {
                let s = &c["subject"];
                let (kind, namespace, name) =
                    (text(s, "kind"), text(s, "namespace"), text(s, "name"));
                Cause {
                    rank: c["rank"].as_u64().unwrap_or_default(),
                    subject: if namespace.is_empty() {
                        format!("{kind} {name}")
                    } else {
                        format!("{kind} {namespace}/{name}")
                    },
                    category: text(c, "category"),
                    kind,
                    namespace,
                    name,
                }
            })
            .collect();
        if causes.is_empty() {
            return Err(format!(
                "{source}: the diagnosis names no root cause in cluster {cluster}, so there is no incident to plan from; run dr-plan without it for the whole cluster"
            ));
        }
        let ranks: Vec<u64> = causes.iter().map(|c| c.rank).collect();
        let fixes = report["recommendations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["horizon"] == "long-term")
            .filter(|r| r["addresses"].as_u64().is_some_and(|a| ranks.contains(&a)))
            .filter_map(|r| serde_json::from_value(r.clone()).ok())
            .collect();
        Ok(Incident {
            source: source.to_string(),
            causes,
            fixes,
        })
    }

    /// The scenarios that replay the causes: a workload failing and its way back (a
    /// rollback), a replicated datastore's primary, a node lost. A pod stands for its
    /// workload. Causes of other kinds (a Service, a claim) add none.
    pub fn scenarios(&self, cluster: &Cluster, index: &Index) -> Vec<Scenario> {
        let mut out: Vec<Scenario> = Vec::new();
        for c in &self.causes {
            let workload = match c.kind.as_str() {
                "Node" => {
                    if cluster.node(&c.name).is_some() {
                        out.push(Scenario::Node(c.name.clone()));
                    }
                    None
                }
                "Pod" => cluster
                    .pod(&c.namespace, &c.name)
                    .and_then(|p| index.by_pod.get(&p))
                    .copied(),
                kind => index
                    .by_label
                    .get(&format!("{kind} {}/{}", c.namespace, c.name))
                    .copied(),
            };
            let Some(w) = workload.map(|w| &index.workloads[w]) else {
                continue;
            };
            let at = format!("{}/{}", w.namespace, w.name);
            if w.kind != "DaemonSet" {
                out.push(Scenario::Workload(at.clone()));
            }
            out.push(Scenario::Rollback(at.clone()));
            let store = w
                .pods
                .first()
                .is_some_and(|&p| super::spof::is_datastore(&cluster.pods[p]));
            if store && w.desired >= 2 {
                out.push(Scenario::Primary(at));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        out.retain(|s| seen.insert(s.clone()));
        out
    }

    /// The rank of the cause `subject` (`Kind namespace/name`) is, if it is one.
    pub fn rank_of(&self, subject: &str) -> Option<u64> {
        self.causes
            .iter()
            .find(|c| c.subject == subject)
            .map(|c| c.rank)
    }
}
