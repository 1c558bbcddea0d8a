//! Business impact in money, users and SLO budget — only from business context
//! (`intel.kubectl.io/revenue-per-hour`, `…/users`, `…/slo` annotations), and said plainly
//! when there is none.

use serde::Serialize;

use crate::diagnose::Prepared;
use crate::report::Report;
use intel_engine::ObjectRef;
use intel_model::Snapshot;

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct BusinessView {
    /// Revenue lost so far: revenue per hour at risk × hours of impact (business context).
    pub revenue_lost: Option<f64>,
    pub revenue_per_hour_at_risk: Option<f64>,
    pub users_affected: Option<f64>,
    pub impact_seconds: Option<i64>,
    pub slo_burn: Vec<SloBurn>,
    /// The figures used, and what was missing.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SloBurn {
    pub subject: String,
    /// The objective, percent (99.9).
    pub slo: f64,
    /// Minutes of failure the objective allows in 30 days.
    pub budget_minutes_30d: f64,
    /// Minutes of budget this incident consumed (share failing × duration).
    pub burned_minutes: f64,
    pub burned_percent: f64,
    /// Where the objective was read.
    pub source: String,
}

const SLO_ANNOTATION: &str = "intel.kubectl.io/slo";

fn annotation(snap: &Snapshot, o: &ObjectRef, key: &str) -> Option<String> {
    snap.index()
        .by_name(&o.kind, &o.namespace, &o.name)
        .first()
        .and_then(|id| snap.get(*id))
        .and_then(|obj| {
            obj.value()
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(key))
                .and_then(|v| v.as_str())
                .map(String::from)
        })
}

/// Money, users and SLO budget, only from business context.
pub(super) fn business(
    prepared: &[Prepared],
    report: &Report,
    impact_seconds: Option<i64>,
) -> BusinessView {
    let mut b = BusinessView {
        impact_seconds,
        ..BusinessView::default()
    };
    if let Some(biz) = &report.impact.business {
        b.revenue_per_hour_at_risk = biz.revenue_per_hour_at_risk;
        b.users_affected = biz.users_affected;
        b.revenue_lost = match (biz.revenue_per_hour_at_risk, impact_seconds) {
            (Some(r), Some(s)) => Some((r * s as f64 / 3600.0 * 100.0).round() / 100.0),
            _ => None,
        };
        b.notes.extend(biz.sources.iter().cloned());
    } else {
        b.notes.push(report.impact.note.clone());
    }
    for s in &report.impact.services {
        let Some(p) = prepared.iter().find(|p| p.name == s.subject.cluster) else {
            continue;
        };
        let o = s.subject.object();
        let ns = ObjectRef::new("Namespace", "", &o.namespace);
        let found = annotation(p.snap, &o, SLO_ANNOTATION)
            .map(|v| {
                (
                    v,
                    format!("annotation {SLO_ANNOTATION} on {} {}", o.kind, o.name),
                )
            })
            .or_else(|| {
                annotation(p.snap, &ns, SLO_ANNOTATION).map(|v| {
                    (
                        v,
                        format!("annotation {SLO_ANNOTATION} on namespace {}", o.namespace),
                    )
                })
            });
        let Some((value, source)) = found else {
            continue;
        };
        let Ok(slo) = value.trim().trim_end_matches('%').parse::<f64>() else {
            b.notes
                .push(format!("{source}: {value:?} is not a percentage; ignored"));
            continue;
        };
        if !(0.0..100.0).contains(&slo) {
            continue;
        }
        let budget = (100.0 - slo) / 100.0 * 30.0 * 24.0 * 60.0;
        let share = match (s.state.as_str(), s.error_rate) {
            ("down", _) => 1.0,
            (_, Some(r)) => r,
            _ => 1.0,
        };
        let minutes = impact_seconds.unwrap_or(0) as f64 / 60.0 * share;
        if s.error_rate.is_none() && s.state != "down" {
            b.notes.push(format!(
                "{}: its error rate is unknown; the burn assumes every request failed (an upper bound)",
                s.subject.label()
            ));
        }
        b.slo_burn.push(SloBurn {
            subject: s.subject.label(),
            slo,
            budget_minutes_30d: (budget * 10.0).round() / 10.0,
            burned_minutes: (minutes * 10.0).round() / 10.0,
            burned_percent: if budget > 0.0 {
                (minutes / budget * 1000.0).round() / 10.0
            } else {
                0.0
            },
            source,
        });
    }
    b
}
