//! `optimize_workload_placement`, first part: rightsizing. Each container of each
//! Deployment, StatefulSet and DaemonSet gets the requests and limits a strategy computes
//! from the usage the snapshot holds (`rightsize.rs`: krr's `simple`), with the basis of
//! each number and the commands that apply it. Consolidation, contention, traffic, time
//! of day, cost and the migration plan are the parts still to come (issue 22).

pub mod rightsize;

use serde_json::json;

use intel_engine::Relations;
use intel_model::Snapshot;

use crate::report::{
    ClusterData, Evidence, Finding, Impact, Recommendation, Report, RequestEcho, Severity, Subject,
    source_limitations,
};
use rightsize::{Rightsizing, Simple};

/// What to compute: the strategy and its settings.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub simple: Simple,
}

/// A change smaller than this share of the current value is not worth a rollout.
const WORTH: f64 = 0.10;

fn mib(b: i64) -> String {
    format!("{}Mi", b >> 20)
}

fn show(v: Option<i64>, f: impl Fn(i64) -> String) -> String {
    v.map_or("unset".into(), f)
}

/// Whether a proposal moves a current value by at least [`WORTH`] (or sets an unset one).
fn differs(current: Option<i64>, proposed: Option<i64>) -> bool {
    match (current, proposed) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(c), Some(p)) => (p - c).abs() as f64 >= WORTH * c.max(1) as f64,
    }
}

pub fn optimize(snap: &Snapshot, rel: &Relations, req: &Request) -> Report {
    let series = crate::detect::container_series(snap);
    let usage = snap.usage();
    let rows = rightsize::rightsize(snap, rel, &series, &usage, &req.simple);
    build(snap, req, &rows)
}

fn build(snap: &Snapshot, req: &Request, rows: &[Rightsizing]) -> Report {
    let cluster = snap.cluster();
    let mut findings = Vec::new();
    let mut recommendations = Vec::new();
    let (mut cpu_now, mut cpu_then, mut mem_now, mut mem_then) = (0i64, 0i64, 0i64, 0i64);
    let mut insufficient = 0;
    for r in rows {
        if r.cpu.value.is_none() && r.memory.value.is_none() {
            insufficient += 1;
        }
        let cpu_moves = differs(r.current.cpu_request, r.cpu.value);
        let mem_moves = differs(r.current.memory_request, r.memory.value);
        // Totals over the replicas, for what can be compared both ways.
        if let (Some(c), Some(p)) = (r.current.cpu_request, r.cpu.value) {
            cpu_now += c * r.replicas;
            cpu_then += p * r.replicas;
        }
        if let (Some(c), Some(p)) = (r.current.memory_request, r.memory.value) {
            mem_now += c * r.replicas;
            mem_then += p * r.replicas;
        }
        if !cpu_moves && !mem_moves {
            continue;
        }
        let rises = |now: Option<i64>, then: Option<i64>| match (now, then) {
            (Some(c), Some(p)) => p > c,
            (None, Some(_)) => true,
            _ => false,
        };
        let falls = |now: Option<i64>, then: Option<i64>| now.zip(then).is_some_and(|(c, p)| p < c);
        let up = rises(r.current.cpu_request, r.cpu.value)
            || rises(r.current.memory_request, r.memory.value);
        let down = falls(r.current.cpu_request, r.cpu.value)
            || falls(r.current.memory_request, r.memory.value);
        // A resource without a proposal stays as it is, and says why.
        let change =
            |now: String, then: &rightsize::Proposal, f: &dyn Fn(i64) -> String| match then.value {
                Some(v) => format!("{now} → {}", f(v)),
                None => format!(
                    "{now} unchanged ({})",
                    then.info.as_deref().unwrap_or("no proposal")
                ),
            };
        let message = format!(
            "container {}: CPU request {}, memory request {}{}{}",
            r.container,
            change(
                show(r.current.cpu_request, |c| format!("{c}m")),
                &r.cpu,
                &|c| format!("{c}m")
            ),
            change(show(r.current.memory_request, mib), &r.memory, &mib),
            r.memory
                .value
                .map(|m| format!(
                    " and limit {} → {}",
                    show(r.current.memory_limit, mib),
                    mib(m)
                ))
                .unwrap_or_default(),
            r.memory
                .info
                .as_deref()
                .filter(|_| r.memory.value.is_some())
                .map(|i| format!("; {i}"))
                .unwrap_or_default()
        );
        let basis = format!(
            "{} points of CPU and {} of memory over {} from {} pod(s) ({}); CPU p{} {}, memory max {}, {} OOM kill(s)",
            r.basis.cpu_points,
            r.basis.memory_points,
            crate::detect::human_duration(r.basis.span_seconds),
            r.basis.pods,
            r.basis.source,
            req.simple.cpu_percentile,
            r.basis
                .cpu_percentile_millis
                .map_or("-".into(), |c| format!("{c:.1}m")),
            r.basis
                .memory_max_bytes
                .map_or("-".into(), |m| format!("{:.1}Mi", m / 1048576.0)),
            r.basis.oom_kills
        );
        findings.push(Finding {
            id: String::new(),
            kind: match (up, down) {
                (true, false) => "UnderRequested",
                (false, true) => "OverRequested",
                _ => "Misrequested",
            }
            .into(),
            severity: if r.basis.oom_kills > 0 {
                Severity::Warning
            } else {
                Severity::Info
            },
            subject: Subject::from_label(cluster, &r.subject),
            since: None,
            message: message.clone(),
            evidence: vec![Evidence {
                source: r.basis.source.clone(),
                location: format!("{} container {}", r.subject, r.container),
                text: basis.clone(),
                at: None,
            }],
            resolved: None,
        });
        let (ns, target) = rightsize::ns_target(&r.subject);
        recommendations.push(Recommendation {
            rank: 0,
            title: format!("Rightsize {} container {}", r.subject, r.container),
            why: format!("{message}; from {basis} (krr simple)"),
            // Lowering what a container is given can starve it; raising cannot.
            risk: if down { "medium" } else { "low" }.into(),
            horizon: "long-term".into(),
            expected_effect: format!(
                "requests follow use: {} of CPU and {} of memory per replica, {} replica(s)",
                show(r.cpu.value, |c| format!("{c}m")),
                show(r.memory.value, mib),
                r.replicas
            ),
            steps: r.patch.clone(),
            verify: vec![format!(
                "kubectl -n {ns} rollout status {target} --timeout=10m"
            )],
            rollback: vec![format!("kubectl -n {ns} rollout undo {target}")],
            addresses: None,
        });
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.subject.cmp(&b.subject))
    });
    for (i, f) in findings.iter_mut().enumerate() {
        f.id = format!("F{}", i + 1);
    }
    for (i, r) in recommendations.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    crate::diagnose::remedy::values::seal(&mut recommendations);
    let summary = format!(
        "{} container(s) rightsized with krr simple (CPU p{}, memory max + {}%), {} to change, {} without enough data; CPU requests {}m → {}m and memory requests {} → {} where both are known.",
        rows.len(),
        req.simple.cpu_percentile,
        req.simple.memory_buffer_percentage,
        recommendations.len(),
        insufficient,
        cpu_now,
        cpu_then,
        mib(mem_now),
        mib(mem_then)
    );
    let mut limitations = vec![
        format!(
            "krr simple needs {} points per resource: metrics.k8s.io samples alone (a capture's few) rarely reach it; capture with --prometheus for a history.",
            req.simple.points_required
        ),
        "Consolidation, contention, traffic, time of day, cost and the migration plan are not computed yet.".to_string(),
    ];
    // krr's simple strategy wants three hours of history (`history_range_enough`).
    let span = rows.iter().map(|r| r.basis.span_seconds).max().unwrap_or(0);
    if !rows.is_empty() && span < 3 * 3600 {
        limitations.push(format!(
            "The usage history covers {} (krr wants at least 3 hours): daily peaks outside it are not in these numbers; capture with --prometheus --window 24h or more.",
            crate::detect::human_duration(span)
        ));
    }
    limitations.extend(source_limitations(snap));
    Report {
        analysis: "optimize_workload_placement".into(),
        request: RequestEcho::plain("rightsizing (krr simple)".into(), "rightsizing"),
        clusters: vec![ClusterData::of(snap)],
        summary,
        root_causes: Vec::new(),
        findings,
        chains: Vec::new(),
        recommendations,
        impact: Impact {
            note: "Rightsizing changes no service's availability; decreases are rolled out like any template change.".into(),
            ..Impact::default()
        },
        limitations,
        details: json!({
            "strategy": {"name": "simple", "settings": req.simple},
            "rightsizing": rows,
        }),
    }
}
