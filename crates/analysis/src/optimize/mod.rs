//! `optimize_workload_placement`. Each container of each Deployment, StatefulSet and
//! DaemonSet gets the requests and limits a strategy computes from the usage the snapshot
//! holds (`rightsize.rs`: krr's `simple`, or the VPA recommender's estimate, `vpa.rs`),
//! with the basis of each number and the commands that apply it; the nodes that can be
//! emptied, as requested and after the rightsizing, come from the scheduler engine
//! (`consolidate.rs`); what the nodes cost, who uses it and what consolidation saves, from
//! a dated price table or OpenCost's rates (`cost.rs`); the migration plan that gets there
//! in waves (`plan.rs`); workloads idle by the hour (`daily.rs`), piled up or contending
//! (`spread.rs`) and chatty across zones (`traffic.rs`), each change simulated; their
//! findings and recommendations in `findings.rs`.

pub mod consolidate;
pub mod cost;
pub mod daily;
mod findings;
pub mod plan;
pub mod rightsize;
pub mod spread;
pub mod traffic;
pub mod vpa;

use serde_json::json;

use intel_engine::Relations;
use intel_model::Snapshot;
use intel_scheduler::Cluster;
use intel_scheduler::consolidate::Settings;

use crate::report::{
    ClusterData, Evidence, Finding, Impact, Recommendation, Report, RequestEcho, Severity, Subject,
    source_limitations,
};
use consolidate::{Consolidations, PodUsage};
use rightsize::{Rightsizing, Simple};

/// Nodes tried for consolidation by default, the least utilized first.
pub const CANDIDATES: usize = 500;

/// What to compute: the strategy and its settings.
#[derive(Debug, Clone)]
pub struct Request {
    pub simple: Simple,
    /// With the VPA recommender's estimate instead of krr's `simple` (its points and HPA
    /// rules still apply).
    pub vpa: Option<vpa::Vpa>,
    pub consolidation: Settings,
    pub prices: cost::Prices,
    /// At most this share of the nodes, in percent, drained in one wave of the plan.
    pub wave_percent: f64,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            simple: Simple::default(),
            vpa: None,
            consolidation: Settings {
                max_candidates: Some(CANDIDATES),
            },
            prices: cost::Prices::default(),
            wave_percent: 10.0,
        }
    }
}

/// A change smaller than this share of the current value is not worth a rollout.
const WORTH: f64 = 0.10;

fn mib(b: i64) -> String {
    format!("{}Mi", b >> 20)
}

fn show(v: Option<i64>, f: impl Fn(i64) -> String) -> String {
    v.map_or("unset".into(), f)
}

/// Whether a row's proposal moves its CPU or memory request enough to roll it out.
pub(super) fn worth_changing(r: &Rightsizing) -> bool {
    differs(r.current.cpu_request, r.cpu.value) || differs(r.current.memory_request, r.memory.value)
}

/// Whether a proposal moves a current value by at least [`WORTH`] (or sets an unset one).
fn differs(current: Option<i64>, proposed: Option<i64>) -> bool {
    match (current, proposed) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(c), Some(p)) => (p - c).abs() as f64 >= WORTH * c.max(1) as f64,
    }
}

/// Builds the scheduler's cluster, then [`optimize_on`].
pub fn optimize(snap: &Snapshot, rel: &Relations, req: &Request) -> Report {
    let mut cluster = Cluster::from_snapshot(snap);
    optimize_on(snap, rel, &mut cluster, req)
}

/// The analysis on a cluster already built from `snap`; the cluster is the same afterwards.
pub fn optimize_on(
    snap: &Snapshot,
    rel: &Relations,
    cluster: &mut Cluster,
    req: &Request,
) -> Report {
    use intel_timing::phase;
    let series = crate::detect::container_series(snap);
    let usage = snap.usage();
    let rows = phase("optimize: rightsizing", || {
        rightsize::rightsize(snap, rel, &series, &usage, &req.simple, req.vpa.as_ref())
    });
    let per_pod = pod_usage(&series, &usage);
    let consolidation = phase("optimize: consolidation", || {
        consolidate::consolidate(cluster, &rows, &req.consolidation, &per_pod)
    });
    let names = |o: &consolidate::Outcome| -> Vec<String> {
        o.result.freed.iter().map(|f| f.node.clone()).collect()
    };
    let rightsized = consolidation.rightsized.as_ref().map(names);
    let money = cost::cost(
        cluster,
        &req.prices,
        &per_pod,
        &names(&consolidation.as_requested),
        rightsized.as_deref(),
    );
    let migration = plan::plan(
        cluster,
        snap.cluster(),
        &snap.manifest.captured_at,
        &rows,
        &consolidation,
        &per_pod,
        req.wave_percent,
        &money,
    );
    let idle = phase("optimize: time of day", || {
        daily::time_of_day(rel, &series, &rows, &money)
    });
    let spreads = phase("optimize: contention and spread", || {
        spread::changes(snap, cluster, rel, &series)
    });
    let flows = phase("optimize: traffic", || traffic::traffic(snap, rel, cluster));
    let mut report = build(snap, cluster, req, &rows, &consolidation, &money);
    findings::daily_findings(snap, &idle, &mut report);
    findings::spread_findings(snap, &spreads, &mut report);
    findings::traffic_findings(snap, &flows, &mut report);
    if let serde_json::Value::Object(d) = &mut report.details {
        d.insert(
            "plan".into(),
            serde_json::to_value(&migration).unwrap_or_default(),
        );
        d.insert(
            "timeOfDay".into(),
            serde_json::to_value(&idle).unwrap_or_default(),
        );
        d.insert(
            "placement".into(),
            serde_json::to_value(&spreads).unwrap_or_default(),
        );
        d.insert(
            "traffic".into(),
            serde_json::to_value(&flows).unwrap_or_default(),
        );
    }
    report
}

fn mean(points: &[(i64, f64)]) -> Option<f64> {
    (!points.is_empty()).then(|| points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64)
}

/// Each pod's average use (its containers' summed), from the Prometheus series where a
/// pod has them, else from the metrics.k8s.io samples.
fn pod_usage(
    series: &std::collections::BTreeMap<(String, String, String), crate::detect::ContainerSeries>,
    usage: &intel_model::usage::Usage,
) -> PodUsage {
    let mut out = PodUsage::new();
    for ((ns, pod, _), s) in series {
        let e = out.entry((ns.clone(), pod.clone())).or_default();
        e.0 += mean(&s.cpu_millis).unwrap_or(0.0);
        e.1 += mean(&s.memory_bytes).unwrap_or(0.0);
    }
    let mut samples = PodUsage::new();
    for ((ns, pod, _), readings) in &usage.containers {
        if readings.is_empty() || out.contains_key(&(ns.clone(), pod.clone())) {
            continue;
        }
        let n = readings.len() as f64;
        let e = samples.entry((ns.clone(), pod.clone())).or_default();
        e.0 += readings.iter().map(|r| r.cpu_millis).sum::<f64>() / n;
        e.1 += readings.iter().map(|r| r.memory_bytes).sum::<f64>() / n;
    }
    out.extend(samples);
    out
}

fn build(
    snap: &Snapshot,
    scheduler: &Cluster,
    req: &Request,
    rows: &[Rightsizing],
    consolidation: &Consolidations,
    money: &cost::Cost,
) -> Report {
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
                .and_then(|m| match &r.vpa {
                    // krr sets the limit to the request; the VPA keeps the limit's
                    // proportion to the request, and leaves an unset one unset.
                    None => Some(m),
                    Some(_) => r
                        .current
                        .memory_limit
                        .zip(r.current.memory_request.filter(|q| *q > 0))
                        .map(|(l, q)| (m as f64 * l as f64 / q as f64).ceil() as i64),
                })
                .map(|l| format!(
                    " and limit {} → {}",
                    show(r.current.memory_limit, mib),
                    mib(l + (1 << 20) - 1)
                ))
                .unwrap_or_default(),
            r.memory
                .info
                .as_deref()
                .filter(|_| r.memory.value.is_some())
                .map(|i| format!("; {i}"))
                .unwrap_or_default()
        );
        let mut basis = format!(
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
        if let Some(e) = &r.vpa {
            let bounds = |x: Option<vpa::Estimate>, f: &dyn Fn(f64) -> String| {
                x.map_or("-".into(), |x| {
                    format!(
                        "{} [{} – {}]",
                        f(x.target),
                        f(x.lower_bound),
                        f(x.upper_bound)
                    )
                })
            };
            basis.push_str(&format!(
                "; VPA target [bounds]: CPU {}, memory {}, confidence {:.3}",
                bounds(e.cpu, &|c| format!("{c:.0}m")),
                bounds(e.memory, &|m| format!("{:.0}Mi", m / 1048576.0)),
                e.confidence
            ));
        }
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
            why: format!("{message}; from {basis} ({})", strategy_name(req)),
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
    findings::consolidation_findings(
        snap,
        scheduler,
        consolidation,
        money,
        &mut findings,
        &mut recommendations,
    );
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
    let rightsized = recommendations
        .iter()
        .filter(|r| r.title.starts_with("Rightsize"))
        .count();
    let c = &consolidation.as_requested;
    let mut summary = format!(
        "{} container(s) rightsized with {}, {} to change, {} without enough data; CPU requests {}m → {}m and memory requests {} → {} where both are known. Consolidation frees {} of {} node(s) as requested (CPU requests {}% → {}% of allocatable, memory {}% → {}%)",
        rows.len(),
        strategy_name(req),
        rightsized,
        insufficient,
        cpu_now,
        cpu_then,
        mib(mem_now),
        mib(mem_then),
        c.result.freed.len(),
        c.before.nodes,
        c.before.cpu_request_percent,
        c.after.cpu_request_percent,
        c.before.memory_request_percent,
        c.after.memory_request_percent,
    );
    if let Some(r) = &consolidation.rightsized {
        summary.push_str(&format!(
            "; re-packed on the rightsized requests it frees {}",
            r.result.freed.len()
        ));
    }
    summary.push_str(&format!(
        ". The nodes cost ${:.2} a month, ${:.2} of it idle; consolidation saves ${:.2} a month{} ({}).",
        money.monthly_total,
        money.monthly_idle,
        money.monthly_saved,
        money
            .monthly_saved_rightsized
            .map(|m| format!(", ${m:.2} after the rightsizing"))
            .unwrap_or_default(),
        findings::price_basis(money)
    ));
    let mut limitations = vec![
        format!(
            "Rightsizing needs {} points per resource: metrics.k8s.io samples alone (a capture's few) rarely reach it; capture with --prometheus for a history.",
            req.simple.points_required
        ),
        format!(
            "Prices are on-demand list prices (table dated {}) or OpenCost's default rates, without discounts, storage or network; give your own with --prices.",
            money.dated
        ),
        "Consolidation moves pods best-fit (the fullest node that passes the scheduler's filters); the default scheduler spreads them (LeastAllocated), so drains should follow the plan's order, and nodes are removed from their node group (or by the autoscaler) once empty.".to_string(),
        "Consolidation honours what the scheduler requires (affinity, required spreading, budgets) and not its preferences: replicas without required spreading or anti-affinity can end up on fewer nodes or zones than now; add them first where availability needs them.".to_string(),
    ];
    let skipped = consolidation.as_requested.result.not_tried;
    if skipped > 0 {
        limitations.push(format!(
            "Consolidation tried {} nodes (the first of each candidate order: least utilized, least requested, smallest); {skipped} more were not tried (raise --max-candidates).",
            req.consolidation.max_candidates.unwrap_or(0)
        ));
    }
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
        request: RequestEcho::plain(
            format!("rightsizing ({}) and consolidation", strategy_name(req)),
            "placement",
        ),
        clusters: vec![ClusterData::of(snap)],
        summary,
        root_causes: Vec::new(),
        findings,
        chains: Vec::new(),
        recommendations,
        impact: Impact {
            note: "Rightsizing changes no service's availability; decreases are rolled out like any template change. Draining a node moves its pods within their disruption budgets.".into(),
            ..Impact::default()
        },
        limitations,
        details: json!({
            "strategy": match &req.vpa {
                Some(v) => json!({"name": "vpa", "settings": v, "pointsRequired": req.simple.points_required}),
                None => json!({"name": "simple", "settings": req.simple}),
            },
            "rightsizing": rows,
            "consolidation": consolidation,
            "cost": money,
        }),
    }
}

/// The strategy in a few words, with its settings.
fn strategy_name(req: &Request) -> String {
    match &req.vpa {
        Some(v) => format!(
            "the VPA recommender (CPU p{}, memory p{} of daily peaks, + {}%)",
            v.target_percentile * 100.0,
            v.target_percentile * 100.0,
            v.safety_margin_fraction * 100.0
        ),
        None => format!(
            "krr simple (CPU p{}, memory max + {}%)",
            req.simple.cpu_percentile, req.simple.memory_buffer_percentage
        ),
    }
}
