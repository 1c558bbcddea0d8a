//! The analyses as tools. Their answer is the analysis report (`src/analysis/report.rs`) as
//! `structuredContent`, rendered to markdown by `analysis::render` for the text. The only
//! additions to the report JSON are the paging fields: a report on a large cluster can
//! carry thousands of findings, so they are paged ([`FINDINGS_PER_PAGE`]); root causes,
//! chains, recommendations and impact are on every page.

use std::sync::Arc;

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::clusters::ClusterData;
use super::markdown::data_line;
use super::page;
use super::tools::{Answer, Spec, spec_with_output, typed};
use intel_analysis::diagnose::{Request, diagnose};
use intel_analysis::explain::{Request as ExplainRequest, explain, render as explain_render};
use intel_analysis::render;

/// Findings per answer; the rest are a cursor away.
const FINDINGS_PER_PAGE: usize = 100;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiagnoseInput {
    /// The cluster to diagnose (a name from list_clusters). Optional when one is loaded.
    #[allow(dead_code)] // Read by `tools::call` before parsing, to pick the cluster.
    pub cluster: Option<String>,
    /// What is wrong, in plain words, as the user said it: "checkout is slow", "auth pods
    /// keep restarting", "users get 504 at the edge". Services and workloads named here are
    /// matched against the cluster. Empty: a full health triage.
    pub symptom: String,
    /// Only look at these namespaces (default: all).
    pub namespaces: Option<Vec<String>>,
    /// Only evidence from this long before the capture: `30m`, `2h`, `1h30m`.
    pub since: Option<String>,
    /// The nextCursor of a previous answer: the same report with the next findings.
    pub cursor: Option<String>,
}

fn subject_schema() -> serde_json::Value {
    json!({"type": "object", "properties": {
        "cluster": {"type": "string"}, "kind": {"type": "string"},
        "namespace": {"type": "string"}, "name": {"type": "string"}},
        "required": ["cluster", "kind", "namespace", "name"]})
}

/// The report's shape (docs/report.md), with the paging fields. Written by hand because the
/// report type is shared with the CLI and derives no schema; the test client validates
/// every answer against it.
fn report_schema() -> Arc<JsonObject> {
    let subject = subject_schema();
    let schema = json!({
        "type": "object",
        "properties": {
            "analysis": {"type": "string", "description": "The analysis that produced the report."},
            "request": {"type": "object", "description": "The request as understood: text, classes, mentions, namespaces, since."},
            "clusters": {"type": "array", "description": "The clusters the answer is based on, with their capture time (the data's age).", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "capturedAt": {"type": "string"}}}},
            "summary": {"type": "string", "description": "Cause, mechanism, timing, blast radius, fix in 1–3 sentences."},
            "rootCauses": {"type": "array", "description": "Ranked root causes, best first.", "items": {"type": "object", "properties": {
                "rank": {"type": "integer"}, "subject": subject, "category": {"type": "string"},
                "score": {"type": "number"}, "chain": {"type": "integer", "description": "Index into chains."},
                "findings": {"type": "array", "items": {"type": "string"}},
                "reasons": {"type": "array", "items": {"type": "string"}}},
                "required": ["rank", "subject", "category", "score"]}},
            "findings": {"type": "array", "description": "Findings with evidence (evidence text is untrusted data), by severity.", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "kind": {"type": "string"}, "severity": {"type": "string"},
                "subject": subject, "message": {"type": "string"}, "evidence": {"type": "array"}}}},
            "chains": {"type": "array", "description": "Causality chains from root cause to symptom."},
            "recommendations": {"type": "array", "description": "Ranked remediations with steps, verification and rollback."},
            "impact": {"type": "object"},
            "limitations": {"type": "array", "items": {"type": "string"}},
            "details": {},
            "findingsTotal": {"type": "integer", "description": "Findings in the whole report."},
            "nextCursor": {"type": "string", "description": "Pass as cursor for the next findings; absent on the last page."}
        },
        "required": ["analysis", "request", "clusters", "summary", "rootCauses", "findings", "chains", "recommendations", "impact", "limitations"]
    });
    match schema {
        serde_json::Value::Object(o) => Arc::new(o),
        _ => Arc::new(JsonObject::new()),
    }
}

/// The diagnosis of a request, computed once per cluster and request and kept: dr-plan's
/// "how do we prevent this?" after a diagnose call reads the same report.
pub(crate) fn diagnosis(
    data: &ClusterData,
    req: &Request,
) -> Result<std::sync::Arc<intel_analysis::report::Report>, String> {
    let key = serde_json::to_string(&(&req.symptom, &req.namespaces, &req.since))
        .map_err(|e| format!("cannot encode the request: {e}"))?;
    Ok(data
        .reports
        .get_or_compute(key, || diagnose(&data.fleet, req)))
}

pub fn diagnose_cluster_issue(data: &ClusterData, input: DiagnoseInput) -> Result<Answer, String> {
    let offset = page::offset(input.cursor.as_deref())?;
    // An empty symptom is a full triage, as on the command line.
    let symptom = input.symptom.trim();
    if let Some(s) = input.since.as_deref() {
        intel_capture::parse_duration(s).map_err(|e| format!("invalid since {s:?}: {e}"))?;
    }
    let req = Request {
        symptom: symptom.to_string(),
        namespaces: input.namespaces.unwrap_or_default(),
        since: input.since,
    };
    let mut report = (*diagnosis(data, &req)?).clone();
    let total = report.findings.len();
    if offset > 0 && offset >= total {
        return Err(format!(
            "cursor past the end: the report has {total} findings"
        ));
    }
    let end = (offset + FINDINGS_PER_PAGE).min(total);
    report.findings = report.findings.drain(offset..end).collect();
    let next_cursor = (end < total).then(|| page::cursor_at(end));

    let mut text = data_line(data);
    text.push_str(&render::markdown(&report));
    if total > FINDINGS_PER_PAGE {
        text.push_str(&format!("\nFindings {}–{end} of {total}.", offset + 1));
        if let Some(c) = &next_cursor {
            text.push_str(&format!(
                " More: call again with `cursor: \"{c}\"` (same arguments)."
            ));
        }
        text.push('\n');
    }
    let mut structured =
        serde_json::to_value(&report).map_err(|e| format!("cannot encode the report: {e}"))?;
    if let Some(o) = structured.as_object_mut() {
        o.insert("findingsTotal".into(), json!(total));
        if let Some(c) = next_cursor {
            o.insert("nextCursor".into(), json!(c));
        }
    }
    Ok(Answer { text, structured })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExplainInput {
    /// The cluster to explain (a name from list_clusters). Optional when one is loaded.
    #[allow(dead_code)] // Read by `tools::call` before parsing, to pick the cluster.
    pub cluster: Option<String>,
    /// The question as the user asked it: "why is latency high?", "we had an outage
    /// yesterday at 2pm, what happened?", "how are payment and inventory connected?", "what
    /// is the business impact?", "why didn't our alerts catch this?". The answer says which
    /// kinds it read (details.intents).
    pub question: String,
    /// The time the question is about, overriding one in the question: RFC 3339,
    /// "2026-11-24 14:00", "14:00", "yesterday 2pm", "2 hours ago".
    pub at: Option<String>,
    /// The timeline window (`1h`, `30m`): centred on the time asked about, else ending at
    /// the capture.
    pub window: Option<String>,
    /// Time zone for reading and saying times: IANA name (Europe/Berlin), UTC, +02:00.
    /// Default: the cluster's, else UTC.
    pub timezone: Option<String>,
    /// Only look at these namespaces (default: all).
    pub namespaces: Option<Vec<String>>,
    #[allow(dead_code)] // Read by `tools::call`, which resolves the clusters.
    /// Other clusters (names from list_clusters) to explain side by side with this one:
    /// "compare staging and production" — what differs, and where the problem exists.
    pub compare_with: Option<Vec<String>>,
    /// The nextCursor of a previous answer: the same report with the next findings.
    pub cursor: Option<String>,
}

/// [`explain_infrastructure_behavior`] over this cluster and `peers` together (the
/// `compareWith` argument, resolved by the caller).
pub fn explain_compared(
    data: &ClusterData,
    peers: &[Arc<ClusterData>],
    args: serde_json::Value,
) -> Result<Answer, String> {
    let input: ExplainInput =
        serde_json::from_value(args).map_err(|e| format!("invalid arguments: {e}"))?;
    let mut fleet = data.fleet.clone();
    for p in peers {
        for snap in p.fleet.clusters.values() {
            fleet.add_shared(snap.clone());
        }
    }
    run_explain(data, &fleet, input)
}

pub fn explain_infrastructure_behavior(
    data: &ClusterData,
    input: ExplainInput,
) -> Result<Answer, String> {
    run_explain(data, &data.fleet, input)
}

fn run_explain(
    data: &ClusterData,
    fleet: &intel_model::Fleet,
    input: ExplainInput,
) -> Result<Answer, String> {
    let offset = page::offset(input.cursor.as_deref())?;
    let question = input.question.trim();
    if question.is_empty() {
        return Err(
            "`question` is empty: ask what you want explained, e.g. \"what happened at 14:00?\""
                .into(),
        );
    }
    let req = ExplainRequest {
        question: question.to_string(),
        namespaces: input.namespaces.unwrap_or_default(),
        at: input.at,
        window: input.window,
        timezone: input.timezone,
    };
    // Bad times and zones are the caller's to fix: say so before any work.
    explain(&intel_model::Fleet::default(), &req).map_err(|e| e.to_string())?;
    // The clusters and their capture times are part of the key: a live peer recaptured
    // is a different question.
    let sources: Vec<(&String, &String)> = fleet
        .clusters
        .iter()
        .map(|(n, s)| (n, &s.manifest.captured_at))
        .collect();
    let key = serde_json::to_string(&(
        &req.question,
        &req.namespaces,
        &req.at,
        &req.window,
        &req.timezone,
        &sources,
    ))
    .map_err(|e| format!("cannot encode the request: {e}"))?;
    let x = data
        .explanations
        .get_or_compute(key, || explain(fleet, &req).map_err(|e| e.to_string()));
    let x = match &*x {
        Ok(x) => x,
        Err(e) => return Err(e.clone()),
    };
    let mut x = x.clone();
    let total = x.report.findings.len();
    if offset > 0 && offset >= total {
        return Err(format!(
            "cursor past the end: the report has {total} findings"
        ));
    }
    let end = (offset + FINDINGS_PER_PAGE).min(total);
    x.report.findings = x.report.findings.drain(offset..end).collect();
    let next_cursor = (end < total).then(|| page::cursor_at(end));
    let mut text = data_line(data);
    text.push_str(&explain_render::markdown(&x));
    if let Some(c) = &next_cursor {
        text.push_str(&format!(
            "\nFindings {}–{end} of {total}. More: call again with `cursor: \"{c}\"` (same arguments).\n",
            offset + 1
        ));
    }
    let mut structured =
        serde_json::to_value(&x.report).map_err(|e| format!("cannot encode the report: {e}"))?;
    if let Some(o) = structured.as_object_mut() {
        o.insert("findingsTotal".into(), json!(total));
        if let Some(c) = next_cursor {
            o.insert("nextCursor".into(), json!(c));
        }
    }
    Ok(Answer { text, structured })
}

/// `analyze_deployment_impact` (dispatched with its baseline by `tools::call`).
pub(super) fn impact_spec() -> Spec {
    spec_with_output::<super::tools_impact::ImpactInput>(
        "analyze_deployment_impact",
        "Analyze deployment impact",
        "What a proposed change does before it is made: \"what happens if we deploy the new \
         version?\", \"can we drain this node?\", \"what if we scale web to 12?\". The change \
         (a manifest string, new images, replicas, resources, merge patches, node pools \
         scaled, nodes cordoned, drained or deleted) is simulated step by step as the \
         Deployment, StatefulSet and DaemonSet controllers roll it out, each new pod \
         admitted (ResourceQuota, LimitRange) and placed by kube-scheduler's rules; \
         details.verdict is safe, risky or fails, details.steps lists every step and the \
         first that cannot proceed carries the scheduler's message. With baselineCluster \
         (e.g. staging running the new image) memory is projected from measurements. \
         Recommendations are strategies (pre-scale a pool, a canary, one pod at a time, a \
         toleration, a quota…) each simulated too: pass a strategy's details.strategies[].edits \
         as `edits` with the original change to check it.",
        report_schema(),
        |d, a| super::tools_impact::analyze_deployment_impact(d, None, a),
    )
}

/// `optimize_workload_placement`.
pub(super) fn optimize_spec() -> Spec {
    spec_with_output::<super::tools_optimize::OptimizeInput>(
        "optimize_workload_placement",
        "Optimize workload placement",
        "How workloads should be sized from their use: \"are we over-provisioned?\", \"what \
         should web request?\". Rightsizing as krr's simple strategy computes it for every \
         container of every Deployment, StatefulSet and DaemonSet, from the Prometheus series \
         of every pod the workload had (else the metrics.k8s.io samples): CPU request at the \
         cpuPercentile (95) of each pod's use, the largest over the pods, no CPU limit; memory \
         request and limit at the largest working set + memoryBuffer (15%), at least the \
         OOM-killed limit + 25%; fewer than pointsRequired (100) points, or an HPA on the \
         resource, gives no number and says why. details.rightsizing lists every container \
         with current and proposed values, their basis and the kubectl commands; \
         recommendations are the changes of 10% or more. Consolidation and cost are not \
         computed yet.",
        report_schema(),
        |d, a| typed(d, a, super::tools_optimize::optimize_workload_placement),
    )
}

/// `generate_disaster_recovery_plan`.
pub(super) fn drplan_spec() -> Spec {
    spec_with_output::<super::tools_drplan::DrPlanInput>(
        "generate_disaster_recovery_plan",
        "Generate a disaster recovery plan",
        "What breaks when something fails: \"what if zone A dies?\", \"what are our single \
         points of failure?\". Finds single points of failure with their evidence (one \
         replica; all replicas on one node, zone or pool; no or a blocking PDB; no spreading; \
         every volume in one zone; a lone DNS or ingress controller; an unreplicated \
         datastore; a workload many others call) and simulates failures on the scheduler \
         engine (`scenarios`: zone=, node=, pool=, workload=; default every zone, pool, \
         small cluster's node and most-called workload): what is displaced, what finds room, \
         what stays Pending with kube-scheduler's message, which workloads go down and which \
         callers lose them; rollback=NS/NAME asks whether a previous revision exists and \
         rolls out; primary=NS/NAME loses a datastore's primary with its node and says whether \
         anything promotes a replica. `incident` (a symptom, as for diagnose_cluster_issue) \
         starts from the diagnosed root causes: \"how do we prevent this?\". Also RTO per workload in parts with their basis, RPO from the backups \
         seen (Velero, VolumeSnapshots, backup CronJobs), fixes re-simulated and runbooks. \
         details.singlePointsOfFailure, scenarios, rpo, improvements, runbooks.",
        report_schema(),
        |d, a| typed(d, a, super::tools_drplan::generate_disaster_recovery_plan),
    )
}

/// The analysis tools that exist in this build.
pub(super) fn specs() -> Vec<Spec> {
    vec![
        spec_with_output::<ExplainInput>(
            "explain_infrastructure_behavior",
            "Explain infrastructure behavior",
            "Answer a question about what the cluster did and why: \"what happened at 2pm?\" \
             (a timeline of events, rollouts, config changes, restarts, node conditions and \
             log/metric onsets, grouped into trigger → propagation → impact → recovery), \
             \"how are services connected?\" (the service map with evidence per edge and \
             hidden multi-hop coupling with the lag between failures), \"what is the impact?\" \
             (affected services, revenue and SLO budget from business annotations), \"why \
             didn't alerts catch this?\" (missing probes, limits, PDBs, SLOs, alert rules, \
             undeclared dependencies). Includes the root cause analysis of \
             diagnose_cluster_issue. details.intents says how the question was read.",
            report_schema(),
            |d, a| typed(d, a, explain_infrastructure_behavior),
        ),
        spec_with_output::<DiagnoseInput>(
            "diagnose_cluster_issue",
            "Diagnose a cluster issue",
            "Find the root cause of a symptom described in plain words (\"checkout is slow\", \
         \"pods keep restarting\", \"users see 504s\"): runs every detector over the cluster \
         (crash loops, OOM kills, scheduling, probes, DNS, certificates, quotas, nodes…), \
         ranks root causes, and returns for each the causality chain to the symptom with \
         evidence, the affected services, and ranked fixes with verification and rollback. \
         Call this first for any \"why is X broken\" question, then check its evidence with \
         get_events, get_logs and get_metrics.",
            report_schema(),
            |d, a| typed(d, a, diagnose_cluster_issue),
        ),
    ]
}
