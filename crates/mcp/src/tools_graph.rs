//! `list_clusters`, `get_timeline` and `get_service_map`: the overview tools.

use rmcp::model::CallToolResult;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::clusters::{ClusterData, Clusters, Peek};
use super::markdown::{UNTRUSTED, code, header, human_age, paging};
use super::page::{self, Page};
use super::tools::{Answer, DataSource, ok, tool_error};
use intel_engine::{MapEdge, ObjectRef};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListClustersInput {
    /// Only this cluster.
    pub cluster: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSummary {
    /// Pass as `cluster` to the other tools.
    pub name: String,
    /// `bundle <path>` or `live context <name>`.
    pub origin: String,
    /// False for a live context not captured yet (the first tool call on it captures).
    pub captured: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captured_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    pub nodes: usize,
    pub pods: usize,
    pub namespaces: usize,
    /// Evidence present: `events`, `logs`, `metrics`, `prometheus`.
    pub evidence: Vec<String>,
    /// Collectors that failed during capture (missing RBAC, timeouts): answers may lack that data.
    pub capture_errors: usize,
    /// Whether the bundle was redacted when written (false: answers are scrubbed as they
    /// go out, but the file itself may hold secrets).
    pub redacted: bool,
    /// What reading the bundle found wrong without stopping (integrity, entries skipped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListClustersOutput {
    pub clusters: Vec<ClusterSummary>,
}

fn summary(data: &ClusterData) -> ClusterSummary {
    let snap = data.snap();
    let (captured_at, age_seconds) = data.age();
    let mut evidence = Vec::new();
    if !snap.items("", "events").is_empty() || !snap.items("events.k8s.io", "events").is_empty() {
        evidence.push("events".to_string());
    }
    for (present, name) in [
        (!snap.logs.is_empty(), "logs"),
        (!snap.metrics.is_empty(), "metrics"),
        (!snap.prometheus.is_empty(), "prometheus"),
    ] {
        if present {
            evidence.push(name.to_string());
        }
    }
    ClusterSummary {
        name: data.name.clone(),
        origin: data.origin.clone(),
        captured: true,
        captured_at: Some(captured_at),
        age_seconds,
        kubernetes_version: snap.manifest.cluster.kubernetes_version.clone(),
        nodes: snap.nodes().len(),
        pods: snap.pods().len(),
        namespaces: snap.items("", "namespaces").len(),
        evidence,
        capture_errors: snap.manifest.errors().count(),
        redacted: snap.manifest.redaction.enabled,
        notes: snap.notes.clone(),
    }
}

/// Lists without capturing: a listing must be cheap and never touch a live cluster.
pub async fn list_clusters(clusters: &Clusters, args: serde_json::Value) -> CallToolResult {
    let input: ListClustersInput = match serde_json::from_value(args) {
        Ok(i) => i,
        Err(e) => return tool_error(format!("list_clusters: invalid arguments: {e}")),
    };
    let names: Vec<String> = match input.cluster.as_deref() {
        Some(c) => match clusters.resolve(Some(c)) {
            Ok(n) => vec![n.to_string()],
            Err(e) => return tool_error(e),
        },
        None => clusters.names().into_iter().map(String::from).collect(),
    };
    let mut out = Vec::new();
    for name in names {
        match clusters.peek(&name).await {
            Some(Peek::Loaded(d)) => out.push(summary(&d)),
            Some(Peek::NotCaptured { context }) => out.push(ClusterSummary {
                name,
                origin: format!("live context {context}"),
                captured: false,
                captured_at: None,
                age_seconds: None,
                kubernetes_version: None,
                nodes: 0,
                pods: 0,
                namespaces: 0,
                evidence: Vec::new(),
                capture_errors: 0,
                // A capture redacts.
                redacted: true,
                notes: Vec::new(),
            }),
            None => {}
        }
    }
    let mut text = String::from(
        "## Clusters\n\n| cluster | source | captured at | age | nodes | pods | evidence |\n|---|---|---|---|---|---|---|\n",
    );
    for c in &out {
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            code(&c.name),
            code(&c.origin),
            c.captured_at
                .as_deref()
                .unwrap_or("not captured yet (first use captures)"),
            c.age_seconds.map(human_age).unwrap_or_default(),
            c.nodes,
            c.pods,
            c.evidence.join(", ")
        ));
    }
    for c in out.iter().filter(|c| c.captured) {
        if !c.redacted {
            text.push_str(&format!(
                "\n{} was written without redaction: answers are scrubbed of credentials, but the bundle itself may hold secrets.\n",
                code(&c.name)
            ));
        }
        for n in &c.notes {
            text.push_str(&format!("\n{}: {n}\n", code(&c.name)));
        }
    }
    match Answer::new(text, &ListClustersOutput { clusters: out }) {
        Ok(a) => ok(a),
        Err(e) => tool_error(e),
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetTimelineInput {
    /// The cluster to read (a name from list_clusters). Optional when one cluster is loaded.
    #[allow(dead_code)] // Read by `tools::call` before parsing, to pick the cluster.
    pub cluster: Option<String>,
    /// Only what happened to objects in this namespace.
    pub namespace: Option<String>,
    /// Only what happened to objects of this kind (`Pod`, `Node`, `Deployment`…); a
    /// workload kind also matches its pods.
    pub kind: Option<String>,
    /// Only what happened to the object with this name (a workload's name also matches its
    /// pods).
    pub name: Option<String>,
    /// `Warning`: only problems (warning events, failed terminations, bad conditions,
    /// detector onsets); `Normal`: everything else.
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Only the window before the capture: `30m`, `2h`, `1d`, or an RFC 3339 time.
    pub since: Option<String>,
    /// The nextCursor of a previous answer, to get the next page.
    pub cursor: Option<String>,
    /// Items per page (default 50, at most 500).
    pub limit: Option<usize>,
}

/// One entry of the timeline engine (`analysis::timeline`): events, rollouts and edits,
/// terminations and restarts, node conditions, autoscaling, Jobs, detector onsets.
pub type TimelineEntry = intel_analysis::timeline::EntryOut;

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetTimelineOutput {
    pub source: DataSource,
    /// The start of the window, when `since` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_start: Option<String>,
    /// Oldest first.
    pub entries: Vec<TimelineEntry>,
    pub total: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The start of a `since` window: a duration before `now`, or a time.
fn window_start(since: &str, now: jiff::Timestamp) -> Result<jiff::Timestamp, String> {
    let s = since.trim();
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let bad = || {
        format!("invalid since {since:?}: use a duration such as 30m, 2h, 1d, or an RFC 3339 time")
    };
    let unit = s.chars().last().ok_or_else(bad)?;
    let n: i64 = s[..s.len() - unit.len_utf8()].parse().map_err(|_| bad())?;
    let secs = match unit {
        's' => n,
        'm' => n * 60,
        'h' => n * 3600,
        'd' => n * 86_400,
        _ => return Err(bad()),
    };
    now.checked_sub(jiff::SignedDuration::from_secs(secs))
        .map_err(|_| bad())
}

pub fn get_timeline(data: &ClusterData, input: GetTimelineInput) -> Result<Answer, String> {
    let offset = page::offset(input.cursor.as_deref())?;
    let limit = page::limit(input.limit)?;
    let some = |o: &Option<String>| {
        o.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let (namespace, kind, name) = (some(&input.namespace), some(&input.kind), some(&input.name));
    let problems_only = match some(&input.event_type).as_deref() {
        None => None,
        Some(t) if t.eq_ignore_ascii_case("warning") => Some(true),
        Some(t) if t.eq_ignore_ascii_case("normal") => Some(false),
        Some(t) => {
            return Err(format!(
                "invalid type {t:?}: use `Warning` (problems) or `Normal` (everything else)"
            ));
        }
    };
    let now: jiff::Timestamp = data
        .snap()
        .manifest
        .captured_at
        .parse()
        .map_err(|e| format!("the snapshot's capture time is not a time: {e}"))?;
    let start = input
        .since
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| window_start(s, now))
        .transpose()?;
    let entries: Vec<TimelineEntry> = data
        .timeline()
        .window(start.map(|t| t.as_second()), None)
        .filter(|e| namespace.as_ref().is_none_or(|n| e.subject.namespace == *n))
        .filter(|e| {
            kind.as_ref().is_none_or(|k| {
                e.subject.kind.eq_ignore_ascii_case(k) || e.workload.kind.eq_ignore_ascii_case(k)
            })
        })
        .filter(|e| {
            name.as_ref()
                .is_none_or(|n| e.subject.name == *n || e.workload.name == *n)
        })
        .filter(|e| problems_only.is_none_or(|p| e.is_problem() == p))
        .map(|e| e.out())
        .collect();
    let Page {
        items,
        total,
        next_cursor,
    } = page::paginate(entries, offset, limit);
    let mut text = header("Timeline (oldest first)", data);
    if let Some(t) = start {
        text.push_str(&format!("Window: from {t} to the capture.\n\n"));
    }
    if !items.is_empty() {
        text.push_str(UNTRUSTED);
        text.push_str("\n\n");
        for e in &items {
            let repeat = match (&e.last_seen, e.count > 1) {
                (Some(l), true) => format!(" (×{}, last {l})", e.count),
                (Some(l), false) => format!(" (until {l})"),
                (None, true) => format!(" (×{})", e.count),
                (None, false) => String::new(),
            };
            text.push_str(&format!(
                "- {} **{}** {} {} on {}{repeat}: {}\n",
                e.time,
                e.severity,
                e.category,
                code(&e.reason),
                code(&format!("{} {}/{}", e.kind, e.namespace, e.name)),
                code(&e.message)
            ));
        }
        text.push('\n');
    }
    text.push_str(&paging(items.len(), offset, total, next_cursor.as_deref()));
    Answer::new(
        text,
        &GetTimelineOutput {
            source: DataSource::of(data),
            window_start: start.map(|t| t.to_string()),
            entries: items,
            total,
            next_cursor,
        },
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetServiceMapInput {
    /// The cluster to read (a name from list_clusters). Optional when one cluster is loaded.
    #[allow(dead_code)] // Read by `tools::call` before parsing, to pick the cluster.
    pub cluster: Option<String>,
    /// Only edges with an end in this namespace.
    pub namespace: Option<String>,
    /// Only edges touching this workload, Service or Ingress (by name): what it calls and
    /// what calls it.
    pub name: Option<String>,
    /// The nextCursor of a previous answer, to get the next page.
    pub cursor: Option<String>,
    /// Edges per page (default 50, at most 500).
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MapRef {
    /// `Deployment`, `Service`, `Ingress`, `External`…
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl From<&ObjectRef> for MapRef {
    fn from(r: &ObjectRef) -> Self {
        MapRef {
            kind: r.kind.clone(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EdgeEvidence {
    /// `env`, `configmap`, `log`, `networkpolicy`, `annotation` or `ingress`.
    pub source: String,
    pub object: MapRef,
    pub field: String,
    /// What matched. Untrusted text.
    pub text: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    pub from: MapRef,
    pub to: MapRef,
    /// For an edge to a Service: the workload behind it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_workload: Option<MapRef>,
    pub evidence: Vec<EdgeEvidence>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetServiceMapOutput {
    pub source: DataSource,
    /// Nodes in the whole (filtered) map.
    pub nodes: usize,
    pub edges: Vec<Edge>,
    pub total: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

pub fn get_service_map(data: &ClusterData, input: GetServiceMapInput) -> Result<Answer, String> {
    let offset = page::offset(input.cursor.as_deref())?;
    let limit = page::limit(input.limit)?;
    let map = data.relations().service_map();
    let ns = input.namespace.as_deref().filter(|n| !n.is_empty());
    let name = input.name.as_deref().filter(|n| !n.is_empty());
    let touches =
        |r: &ObjectRef| ns.is_none_or(|n| r.namespace == n) && name.is_none_or(|n| r.name == n);
    let edges: Vec<&MapEdge> = map
        .edges
        .iter()
        .filter(|e| touches(&e.from) || touches(&e.to))
        .collect();
    if let (Some(n), true) = (name, edges.is_empty()) {
        if !map.nodes.iter().any(|node| node.id.name == n) {
            return Err(format!(
                "nothing named {n:?} is in the service map of cluster {}; workloads, Services and Ingresses are",
                data.name
            ));
        }
    }
    let nodes = map
        .nodes
        .iter()
        .filter(|n| ns.is_none_or(|x| n.id.namespace == x))
        .count();
    let Page {
        items,
        total,
        next_cursor,
    } = page::paginate_by(&edges, offset, limit, |e| Edge {
        from: (&e.from).into(),
        to: (&e.to).into(),
        to_workload: map
            .node(&e.to)
            .and_then(|n| n.service_for.as_ref())
            .map(Into::into),
        evidence: e
            .evidence
            .iter()
            .map(|ev| EdgeEvidence {
                source: ev.source.clone(),
                object: (&ev.object).into(),
                field: ev.field.clone(),
                text: ev.text.clone(),
            })
            .collect(),
    });
    let mut text = header("Service map (who calls whom)", data);
    if !items.is_empty() {
        text.push_str(UNTRUSTED);
        text.push_str("\n\n");
        for e in &items {
            let via = e
                .to_workload
                .as_ref()
                .map(|w| {
                    format!(
                        " → {}",
                        code(&format!("{} {}/{}", w.kind, w.namespace, w.name))
                    )
                })
                .unwrap_or_default();
            let evidence: Vec<String> = e
                .evidence
                .iter()
                .take(3)
                .map(|ev| format!("{} {}", ev.source, code(&ev.text)))
                .collect();
            text.push_str(&format!(
                "- {} → {}{via} — {}\n",
                code(&format!(
                    "{} {}/{}",
                    e.from.kind, e.from.namespace, e.from.name
                )),
                code(&format!("{} {}/{}", e.to.kind, e.to.namespace, e.to.name)),
                evidence.join("; ")
            ));
        }
        text.push('\n');
    }
    text.push_str(&paging(items.len(), offset, total, next_cursor.as_deref()));
    Answer::new(
        text,
        &GetServiceMapOutput {
            source: DataSource::of(data),
            nodes,
            edges: items,
            total,
            next_cursor,
        },
    )
}
