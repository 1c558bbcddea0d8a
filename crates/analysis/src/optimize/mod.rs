//! `optimize_workload_placement`. Each container of each Deployment, StatefulSet and
//! DaemonSet gets the requests and limits a strategy computes from the usage the snapshot
//! holds (`rightsize.rs`: krr's `simple`), with the basis of each number and the commands
//! that apply it; the nodes that can be emptied, as requested and after the rightsizing,
//! come from the scheduler engine (`consolidate.rs`); what the nodes cost, who uses it and
//! what consolidation saves, from a dated price table or OpenCost's rates (`cost.rs`).
//! Contention, traffic, time of day and the migration plan are the parts still to come
//! (issue 22).

pub mod consolidate;
pub mod cost;
pub mod daily;
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
        time_of_day(snap, rel, &series, &rows, &money)
    });
    let spreads = phase("optimize: contention and spread", || {
        spread::changes(cluster, rel, &series)
    });
    let flows = phase("optimize: traffic", || traffic::traffic(snap, rel, cluster));
    let mut report = build(snap, cluster, req, &rows, &consolidation, &money);
    daily_findings(snap, &idle, &mut report);
    spread_findings(snap, &spreads, &mut report);
    traffic_findings(snap, &flows, &mut report);
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
    consolidation_findings(
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
        price_basis(money)
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
            "Consolidation tried the {} least utilized nodes; {skipped} more were not tried (raise --max-candidates).",
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

/// A finding per node consolidation frees as requested, and one recommendation per
/// consolidation (as requested, after the rightsizing) with the drains in their order.
fn consolidation_findings(
    snap: &Snapshot,
    cluster: &Cluster,
    c: &Consolidations,
    money: &cost::Cost,
    findings: &mut Vec<Finding>,
    recommendations: &mut Vec<Recommendation>,
) {
    let cluster_name = snap.cluster();
    for f in &c.as_requested.result.freed {
        let targets: std::collections::BTreeSet<&str> =
            f.moves.iter().map(|m| m.to.as_str()).collect();
        findings.push(Finding {
            id: String::new(),
            kind: "RemovableNode".into(),
            severity: Severity::Info,
            subject: Subject::from_label(cluster_name, &format!("Node {}", f.node)),
            since: None,
            message: format!(
                "node {} ({:.0}% requested) can be emptied: {} pod(s) move to {}{}",
                f.node,
                f.utilization * 100.0,
                f.moves.len(),
                if targets.is_empty() {
                    "nowhere (none needs to)".to_string()
                } else {
                    targets.into_iter().collect::<Vec<_>>().join(", ")
                },
                if f.stays.is_empty() {
                    String::new()
                } else {
                    format!("; {} DaemonSet or mirror pod(s) go with it", f.stays.len())
                }
            ),
            evidence: f
                .moves
                .iter()
                .map(|m| Evidence {
                    source: "scheduler".into(),
                    location: m.pod.clone(),
                    text: format!(
                        "{} → {} (passes the scheduler's filters there)",
                        m.from, m.to
                    ),
                    at: None,
                })
                .collect(),
            resolved: None,
        });
    }
    let mut recommend = |title: String,
                         why: String,
                         outcome: &consolidate::Outcome,
                         saved: f64,
                         first: Vec<String>| {
        if outcome.result.freed.is_empty() {
            return;
        }
        let mut steps = first;
        let mut verify = Vec::new();
        let mut rollback = Vec::new();
        for f in &outcome.result.freed {
            steps.extend(consolidate::drain_steps(cluster, f));
            let node = crate::diagnose::remedy::values::shell_quote(&f.node);
            verify.push(format!(
                "kubectl get pods -A --field-selector spec.nodeName={node},status.phase=Running"
            ));
            rollback.push(format!("kubectl uncordon {node}"));
        }
        let (b, a) = (&outcome.before, &outcome.after);
        // Nodes are the largest saving: they go before the rightsizing.
        let at = recommendations
            .iter()
            .position(|r: &Recommendation| r.title.starts_with("Rightsize "))
            .unwrap_or(recommendations.len());
        recommendations.insert(at, Recommendation {
            rank: 0,
            title,
            why,
            risk: "medium".into(),
            horizon: "long-term".into(),
            expected_effect: format!(
                "{} → {} nodes; CPU requests {}% → {}% and memory requests {}% → {}% of allocatable{}",
                b.nodes,
                a.nodes,
                b.cpu_request_percent,
                a.cpu_request_percent,
                b.memory_request_percent,
                a.memory_request_percent,
                match (b.cpu_usage_percent, a.cpu_usage_percent) {
                    (Some(x), Some(y)) => format!("; CPU use {x}% → {y}%"),
                    _ => String::new(),
                }
            ) + &format!("; saves ${saved:.2} a month ({})", price_basis(money)),
            steps,
            verify,
            rollback,
            addresses: None,
        });
    };
    let freed = |o: &consolidate::Outcome| {
        o.result
            .freed
            .iter()
            .map(|f| f.node.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    recommend(
        format!(
            "Remove {} node(s): {}",
            c.as_requested.result.freed.len(),
            freed(&c.as_requested)
        ),
        "their pods fit on the other nodes as requested, within every disruption budget, and no pod blocks the drain (cluster-autoscaler's rules)".into(),
        &c.as_requested,
        money.monthly_saved,
        Vec::new(),
    );
    if let Some(r) = &c.rightsized {
        if r.result.freed.len() > c.as_requested.result.freed.len() {
            recommend(
                format!(
                    "Rightsize, then remove {} node(s): {}",
                    r.result.freed.len(),
                    freed(r)
                ),
                format!(
                    "re-packed on the rightsized requests, {} more node(s) empty than as requested",
                    r.result.freed.len() - c.as_requested.result.freed.len()
                ),
                r,
                money.monthly_saved_rightsized.unwrap_or(0.0),
                vec![
                    "# apply the rightsizing recommendations above and wait for their rollouts"
                        .into(),
                ],
            );
        }
    }
}

/// Where a cost's prices came from, in a few words.
fn price_basis(money: &cost::Cost) -> String {
    match money.sources.as_slice() {
        [] => "no nodes priced".into(),
        [one] => format!("priced at {one}"),
        [first, rest @ ..] => format!(
            "priced at {first} and {} other source(s), details.cost.sources",
            rest.len()
        ),
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

/// The workloads idle at the same hours every day (`daily.rs`), priced at the nodes'
/// average rates.
fn time_of_day(
    snap: &Snapshot,
    rel: &Relations,
    series: &std::collections::BTreeMap<(String, String, String), crate::detect::ContainerSeries>,
    rows: &[Rightsizing],
    money: &cost::Cost,
) -> Vec<daily::IdleWindow> {
    let mut requests: std::collections::BTreeMap<&str, (i64, i64, i64)> = Default::default();
    for r in rows {
        let e = requests.entry(r.subject.as_str()).or_default();
        e.0 += r.current.cpu_request.unwrap_or(0);
        e.1 += r.current.memory_request.unwrap_or(0);
        e.2 = r.replicas;
    }
    let mut candidates = Vec::new();
    for w in rel.workloads() {
        if !matches!(w.kind.as_str(), "Deployment" | "StatefulSet") {
            continue;
        }
        let subject = format!("{} {}/{}", w.kind, w.namespace, w.name);
        let Some(&(cpu, mem, replicas)) = requests.get(subject.as_str()) else {
            continue;
        };
        let prefixes = rightsize::name_prefixes(rel, w);
        let cpu_series = daily::summed(series, &w.namespace, |pod| {
            prefixes.iter().any(|p| rightsize::generated_from(pod, p))
        });
        if cpu_series.is_empty() {
            continue;
        }
        candidates.push(daily::Candidate {
            workload: w,
            replicas,
            hpa: !rightsize::hpa_resources(snap, rel, w).is_empty(),
            requests: (cpu, mem),
            cpu: cpu_series,
        });
    }
    let n = money.nodes.len().max(1) as f64;
    let price = (
        money.nodes.iter().map(|p| p.cpu_core_hour).sum::<f64>() / n,
        money.nodes.iter().map(|p| p.ram_gib_hour).sum::<f64>() / n,
    );
    daily::windows(rel, &candidates, price)
}

/// An `IdleByHour` finding per window, and a recommendation per schedule proposed.
fn daily_findings(snap: &Snapshot, idle: &[daily::IdleWindow], report: &mut Report) {
    use crate::diagnose::remedy::values::shell_quote;
    for w in idle {
        let hours = format!("{:02}:00–{:02}:00 UTC", w.start_hour, w.end_hour);
        let window = match (w.hours, w.weekends) {
            (0, _) => "all weekend (Saturday and Sunday, UTC)".to_string(),
            (_, true) => format!("{hours} and all weekend"),
            _ => hours,
        };
        report.findings.push(Finding {
            id: format!("F{}", report.findings.len() + 1),
            kind: "IdleByHour".into(),
            severity: Severity::Info,
            subject: Subject::from_label(snap.cluster(), &w.subject),
            since: None,
            message: format!(
                "{} is idle {window} on every day the series cover ({} day(s)): at most {:.1}m of CPU against {:.1}m in its busiest hour{}",
                w.subject,
                w.days,
                w.window_max_millis,
                w.peak_millis,
                w.held_back
                    .as_ref()
                    .map(|h| format!("; no schedule: {h}"))
                    .unwrap_or_default()
            ),
            evidence: vec![Evidence {
                source: "prometheus".into(),
                location: w.subject.clone(),
                text: format!(
                    "CPU summed over its pods, averaged per hour: idle hours at most 10% of the busiest, {} hour(s) in a row",
                    w.hours
                ),
                at: None,
            }],
            resolved: None,
        });
        let Some(object) = &w.scaled_object else {
            continue;
        };
        let (ns, target) = rightsize::ns_target(&w.subject);
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        report.recommendations.push(Recommendation {
            rank: report.recommendations.len() + 1,
            title: format!("Scale {} to zero {window}", w.subject),
            why: format!(
                "idle {window} on each of {} day(s) and nothing that calls it is busy then",
                w.days
            ),
            risk: "medium".into(),
            horizon: "long-term".into(),
            expected_effect: format!(
                "{} replica(s) off {} hour(s) a week: ${:.2} a month of requests at the nodes' average rates (details.cost.sources), realized as the autoscaler removes the nodes they free (KEDA installed)",
                w.replicas, w.off_hours_a_week, w.monthly_saved
            ),
            steps: vec![format!(
                "printf '%s' {} | kubectl apply -f -",
                shell_quote(&object.to_string())
            )],
            verify: vec![format!(
                "kubectl -n {ns} get scaledobject {} -o jsonpath='{{.status.conditions}}'",
                shell_quote(name)
            )],
            rollback: vec![
                format!("kubectl -n {ns} delete scaledobject {}", shell_quote(name)),
                format!("kubectl -n {ns} scale {target} --replicas={}", w.replicas),
            ],
            addresses: None,
        });
    }
    crate::diagnose::remedy::values::seal(&mut report.recommendations);
}

/// A finding per piled-up workload and contending pair, and a recommendation for each
/// change the simulation says fits and spreads.
fn spread_findings(snap: &Snapshot, changes: &[spread::Change], report: &mut Report) {
    for c in changes {
        report.findings.push(Finding {
            id: format!("F{}", report.findings.len() + 1),
            kind: c.kind.clone(),
            severity: if c.kind == "PiledOnNode" {
                Severity::Warning
            } else {
                Severity::Info
            },
            subject: Subject::from_label(snap.cluster(), &c.subject),
            since: None,
            message: c.message.clone(),
            evidence: vec![Evidence {
                source: "scheduler".into(),
                location: c.subject.clone(),
                text: format!(
                    "now {}; simulated with the change {}",
                    render_counts(&c.before),
                    render_counts(&c.after)
                ),
                at: None,
            }],
            resolved: None,
        });
        if !c.fits {
            continue;
        }
        let (ns, target) = rightsize::ns_target(&c.subject);
        report.recommendations.push(Recommendation {
            rank: report.recommendations.len() + 1,
            title: match c.kind.as_str() {
                "Contention" => format!("Keep {} apart from what it contends with", c.subject),
                "PiledInZone" => format!("Spread {} over zones", c.subject),
                _ => format!("Spread {} over nodes", c.subject),
            },
            why: c.message.clone(),
            risk: "low".into(),
            horizon: "long-term".into(),
            expected_effect: format!(
                "{} instead of {}, simulated with the scheduler's filters and scores",
                render_counts(&c.after),
                render_counts(&c.before)
            ),
            steps: vec![c.patch.clone()],
            verify: vec![format!(
                "kubectl -n {ns} rollout status {target} --timeout=10m"
            )],
            rollback: vec![format!("kubectl -n {ns} rollout undo {target}")],
            addresses: None,
        });
    }
    crate::diagnose::remedy::values::seal(&mut report.recommendations);
    if changes.iter().any(|c| c.kind != "Contention" && c.fits) {
        report.limitations.push(
            "The spread changes are preferences (ScheduleAnyway); consolidation honours only what the scheduler requires, so emptying the nodes it names can put those replicas back together: spread them first, or use whenUnsatisfiable: DoNotSchedule where keeping them apart matters more than the nodes.".into(),
        );
    }
}

fn render_counts(c: &std::collections::BTreeMap<String, usize>) -> String {
    c.iter()
        .map(|(k, n)| format!("{n} on {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A `CrossZoneTraffic` finding and a recommendation per pair that sends much across
/// zones; what the traffic analysis could not weigh goes to the limitations.
fn traffic_findings(snap: &Snapshot, t: &traffic::Traffic, report: &mut Report) {
    for p in &t.pairs {
        let message = format!(
            "{} → {}: {:.0}% of {:.1} KB/s crosses zones ({:.1} GB a month, ${:.2} at ${} per GB, OpenCost's inter-zone rate); the callee runs in {}",
            p.caller,
            p.callee,
            p.cross_zone_share * 100.0,
            p.bytes_per_second / 1000.0,
            p.cross_zone_gb_month,
            p.monthly_cost,
            traffic::ZONE_EGRESS_PER_GB,
            render_counts(&p.callee_zones)
        );
        report.findings.push(Finding {
            id: format!("F{}", report.findings.len() + 1),
            kind: "CrossZoneTraffic".into(),
            severity: Severity::Info,
            subject: Subject::from_label(snap.cluster(), &p.callee),
            since: None,
            message: message.clone(),
            evidence: vec![Evidence {
                source: "prometheus".into(),
                location: "istio_workload_bytes".into(),
                text: format!(
                    "{:.1} bytes/s from {} (caller pods {})",
                    p.bytes_per_second,
                    p.caller,
                    render_counts(&p.caller_zones)
                ),
                at: None,
            }],
            resolved: None,
        });
        if p.commands.is_empty() {
            continue;
        }
        report.recommendations.push(Recommendation {
            rank: report.recommendations.len() + 1,
            title: match p.fix.as_str() {
                "route" => format!("Keep {} → {} in the zone", p.caller, p.callee),
                _ => format!("Spread {} over its callers' zones, then keep traffic in the zone", p.callee),
            },
            why: message,
            risk: "low".into(),
            horizon: "long-term".into(),
            expected_effect: format!(
                "most of {:.1} GB a month stays in its zone (up to ${:.2} a month){}",
                p.cross_zone_gb_month,
                p.monthly_cost,
                p.spread_to
                    .as_ref()
                    .map(|z| format!("; the callee simulated spread: {}", render_counts(z)))
                    .unwrap_or_default()
            ),
            steps: p.commands.clone(),
            verify: vec![format!(
                "kubectl get endpointslices -A -o jsonpath='{{range .items[*].endpoints[*]}}{{.zone}} {{.hints}}{{\"\\n\"}}{{end}}'"
            )],
            rollback: vec!["kubectl rollout undo (the spread) and remove the routing setting from the Service".into()],
            addresses: None,
        });
    }
    crate::diagnose::remedy::values::seal(&mut report.recommendations);
    if t.unweighed_cross_zone_pairs > 0 {
        report.limitations.push(format!(
            "{} caller–callee pair(s) of the service map run mostly in different zones, but {} weighs their traffic: capture with --prometheus on a cluster with Istio (istio_request_bytes_sum, istio_response_bytes_sum) to price them.",
            t.unweighed_cross_zone_pairs,
            if t.bytes_known { "no series" } else { "no bytes series in the bundle" }
        ));
    }
}
