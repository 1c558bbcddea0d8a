//! The findings and recommendations of consolidation, time of day, contention and
//! traffic (the rightsizing's are built with the report in `mod.rs`).

use super::*;

/// A finding per node consolidation frees as requested, and one recommendation per
/// consolidation (as requested, after the rightsizing) with the drains in their order.
pub(super) fn consolidation_findings(
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
                    "# first apply the Rightsize recommendations of this report and wait for their rollouts"
                        .into(),
                ],
            );
        }
    }
}

/// Where a cost's prices came from, in a few words.
pub(super) fn price_basis(money: &cost::Cost) -> String {
    match money.sources.as_slice() {
        [] => "no nodes priced".into(),
        [one] => format!("priced at {one}"),
        [first, rest @ ..] => format!(
            "priced at {first} and {} other source(s), details.cost.sources",
            rest.len()
        ),
    }
}

/// An `IdleByHour` finding per window, and a recommendation per schedule proposed.
pub(super) fn daily_findings(snap: &Snapshot, idle: &[daily::IdleWindow], report: &mut Report) {
    use crate::diagnose::remedy::values::shell_quote;
    for w in idle {
        let hours = format!("{:02}:00–{:02}:00 UTC", w.start_hour, w.end_hour);
        // The schedule covers weekends only where `daily::windows` made it weekday-only.
        let weekdays = w
            .scaled_object
            .as_ref()
            .and_then(|o| o.pointer("/spec/triggers/0/metadata/start"))
            .and_then(|v| v.as_str())
            .is_some_and(|c| c.ends_with("1-5") || c.ends_with("* * 1"));
        let window = match (
            w.hours,
            w.weekends && (weekdays || w.scaled_object.is_none()),
        ) {
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
pub(super) fn spread_findings(snap: &Snapshot, changes: &[spread::Change], report: &mut Report) {
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
pub(super) fn traffic_findings(snap: &Snapshot, t: &traffic::Traffic, report: &mut Report) {
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
