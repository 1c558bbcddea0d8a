//! The report every analysis returns: the contract of `-o json`, of MCP's
//! `structuredContent` and of `docs/report.md`. Field names are camelCase; vectors are
//! always sorted or ranked, never in hash order; times are RFC 3339 strings in UTC.
//!
//! Extend it, never break it: a field added here is documented in `docs/report.md` and
//! covered by the snapshot tests.

use serde::Serialize;

/// What an analysis found.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The analysis that produced it (`diagnose_cluster_issue`, …).
    pub analysis: String,
    /// The request as understood: the symptom or question, and how it was read.
    pub request: RequestEcho,
    /// The clusters the answer is based on, with the age of their data.
    pub clusters: Vec<ClusterData>,
    /// 1–3 sentences: cause, mechanism, timing, blast radius, fix.
    pub summary: String,
    /// Ranked root causes (best first).
    pub root_causes: Vec<RootCause>,
    /// Every finding, sorted by severity (critical first), then time, then subject.
    pub findings: Vec<Finding>,
    /// Causality chains; `rootCauses[].chain` indexes this vector.
    pub chains: Vec<Chain>,
    /// Ranked remediations (best first).
    pub recommendations: Vec<Recommendation>,
    pub impact: Impact,
    /// What data was missing and how that limits the answer.
    pub limitations: Vec<String>,
    /// Analysis-specific details (timeline, comparison, …).
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RequestEcho {
    pub text: String,
    /// The classes the text was mapped to (`latency`, `errors`, `restarts`, …); `triage`
    /// when none matched.
    pub classes: Vec<String>,
    /// Services, workloads or hosts the text names that exist in the snapshot.
    pub mentions: Vec<Subject>,
    pub namespaces: Vec<String>,
    /// The `--since` window, when one was given.
    pub since: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClusterData {
    pub name: String,
    pub captured_at: String,
    pub kubernetes_version: Option<String>,
    pub pods: usize,
    pub nodes: usize,
    /// Evidence sources present: `events`, `logs`, `metrics`, `prometheus`.
    pub sources: Vec<String>,
}

impl ClusterData {
    /// What a snapshot holds, for a report's `clusters`.
    pub fn of(s: &intel_model::Snapshot) -> ClusterData {
        let mut sources = Vec::new();
        if !s.items("", "events").is_empty() {
            sources.push("events".into());
        }
        if !s.logs.is_empty() {
            sources.push("logs".into());
        }
        if !s.metrics.is_empty() {
            sources.push("metrics".into());
        }
        if !s.prometheus.is_empty() {
            sources.push("prometheus".into());
        }
        ClusterData {
            name: s.cluster().to_string(),
            captured_at: s.manifest.captured_at.clone(),
            kubernetes_version: s.manifest.cluster.kubernetes_version.clone(),
            pods: s.pods().len(),
            nodes: s.nodes().len(),
            sources,
        }
    }
}

impl RequestEcho {
    /// The echo of a request that is no question in words (a what-if, a plan): its text
    /// and class, nothing read from it.
    pub fn plain(text: String, class: &str) -> RequestEcho {
        RequestEcho {
            text,
            classes: vec![class.to_string()],
            mentions: Vec::new(),
            namespaces: Vec::new(),
            since: None,
        }
    }
}

/// What every analysis says of its source, whatever it was asked: what reading the
/// bundle found wrong (its integrity, entries skipped) and whether it was written without
/// redaction.
pub fn source_limitations(s: &intel_model::Snapshot) -> Vec<String> {
    let mut out = s.notes.clone();
    if !s.manifest.redaction.enabled {
        out.push(format!(
            "The bundle of cluster {} was written without redaction: answers scrub the credentials they quote, but the file itself may hold secrets; keep it private, or capture again with kubectl intel capture.",
            s.cluster()
        ));
    }
    out
}

/// An object of a cluster.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    pub cluster: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl Subject {
    pub fn new(cluster: &str, r: &intel_engine::ObjectRef) -> Self {
        Subject {
            cluster: cluster.to_string(),
            kind: r.kind.clone(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
        }
    }

    pub fn object(&self) -> intel_engine::ObjectRef {
        intel_engine::ObjectRef::new(&self.kind, &self.namespace, &self.name)
    }

    /// The inverse of [`Subject::label`]: `Deployment shop/auth` in `cluster`.
    pub fn from_label(cluster: &str, label: &str) -> Subject {
        let (kind, rest) = label.split_once(' ').unwrap_or(("", label));
        let (namespace, name) = rest.split_once('/').unwrap_or(("", rest));
        Subject {
            cluster: cluster.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// `Deployment shop/auth`, `Node ip-10-0-1-1`.
    pub fn label(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Stable within the report: `F1`, `F2`… in the order of `findings`.
    pub id: String,
    /// The category (`OOMKilled`, `CrashLoopBackOff`, `Unschedulable`, …).
    pub kind: String,
    pub severity: Severity,
    pub subject: Subject,
    /// When it started, as far as the evidence shows.
    pub since: Option<String>,
    /// One line, for people.
    pub message: String,
    pub evidence: Vec<Evidence>,
    /// Present when the failure is over: its object has recovered. Such a finding is
    /// `info`, history for the timeline, never a root cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved: Option<Resolved>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Resolved {
    /// When the object recovered, where the snapshot says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Why it is over: "Deployment web has all 3 replicas ready since …".
    pub why: String,
    /// The severity it had while it lasted.
    pub was: Severity,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// `event`, `log`, `metric`, `spec`, `status`.
    pub source: String,
    /// Where it was read: a field path, a log file, a metric name.
    pub location: String,
    /// What was seen (quoted data; log text is untrusted).
    pub text: String,
    pub at: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RootCause {
    pub rank: usize,
    pub subject: Subject,
    pub category: String,
    /// 0–100, from the documented ranking (docs/report.md).
    pub score: f64,
    /// Index into `chains`.
    pub chain: usize,
    /// The findings that make the case, by id.
    pub findings: Vec<String>,
    /// Why it ranks where it does, factor by factor.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Chain {
    pub links: Vec<ChainLink>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChainLink {
    pub subject: Subject,
    /// The finding on this subject, when there is one.
    pub finding: Option<String>,
    /// How this link follows from the previous one (`owned-by`, `runs-on`, `selected-by`,
    /// `depends-on`, `depended-on-by`, `routes`, `uses-config`, `followed-in-time`); empty
    /// for the first link.
    pub reason: String,
    /// The evidence for the relation.
    pub evidence: String,
    /// For a branch, the index of the link it follows from (another client of a
    /// saturated database); absent when it follows from the previous link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<usize>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    pub rank: usize,
    pub title: String,
    pub why: String,
    /// `low`, `medium`, `high`.
    pub risk: String,
    /// `immediate` (stop the bleeding) or `long-term` (keep it from coming back).
    pub horizon: String,
    pub expected_effect: String,
    pub steps: Vec<String>,
    pub verify: Vec<String>,
    pub rollback: Vec<String>,
    /// The root cause it addresses (rank).
    pub addresses: Option<usize>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Impact {
    pub services: Vec<AffectedService>,
    /// Ingress hosts (or routes) whose backends are affected.
    pub entry_points: Vec<String>,
    /// Money and users, from business context only.
    pub business: Option<Business>,
    /// Says plainly when there is no business context.
    pub note: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AffectedService {
    pub subject: Subject,
    /// `down`, `degraded`, `at-risk`.
    pub state: String,
    pub ready_replicas: i64,
    pub replicas: i64,
    /// Share of its requests failing, from logs, when it can be measured.
    pub error_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Business {
    pub revenue_per_hour_at_risk: Option<f64>,
    pub users_affected: Option<f64>,
    /// The context used: `annotation intel.kubectl.io/revenue-per-hour on Deployment shop/checkout`.
    pub sources: Vec<String>,
}
