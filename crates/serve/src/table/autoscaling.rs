//! The HorizontalPodAutoscaler printer.
//!
//! Separate because `formatHPAMetrics` (the TARGETS column) is a small formatter of its own,
//! covering every metric source type and the autoscaling/v1 CPU-percentage shape.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::cells::{age, at, int_at, list_at, name_of, opt_int_at, quantity, str_at};
use super::{AGE, Col, NAME, Row, c};

/// `formatHPAMetrics` over autoscaling/v2 (and the v1 CPU-percentage shape), best effort.
fn hpa_targets(hpa: &Value) -> String {
    const MAX: usize = 2;
    let mut specs: Vec<Value> = list_at(hpa, &["spec", "metrics"]).to_vec();
    let mut statuses: Vec<Value> = list_at(hpa, &["status", "currentMetrics"]).to_vec();
    let v1_target = opt_int_at(hpa, &["spec", "targetCPUUtilizationPercentage"]);
    if let (true, Some(target)) = (specs.is_empty(), v1_target) {
        specs.push(json!({"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": target}}}));
        if let Some(cur) = opt_int_at(hpa, &["status", "currentCPUUtilizationPercentage"]) {
            statuses.push(json!({"type": "Resource", "resource": {"name": "cpu",
                "current": {"averageUtilization": cur}}}));
        }
    }
    if specs.is_empty() {
        return "<none>".into();
    }
    let q = |v: &Value, path: &[&str]| quantity(at(v, path), "<nil>");
    let mut list: Vec<String> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let status = statuses.get(i);
        let cur = |kind: &str| status.and_then(|s| at(s, &[kind]));
        let text = match str_at(spec, &["type"]) {
            kind @ ("External" | "Object") => {
                let key = if kind == "External" {
                    "external"
                } else {
                    "object"
                };
                if at(spec, &[key, "target", "averageValue"]).is_some() {
                    let current = cur(key)
                        .filter(|c| at(c, &["current", "averageValue"]).is_some())
                        .map_or("<unknown>".to_string(), |c| {
                            q(c, &["current", "averageValue"])
                        });
                    format!(
                        "{current}/{} (avg)",
                        q(spec, &[key, "target", "averageValue"])
                    )
                } else {
                    let current =
                        cur(key).map_or("<unknown>".to_string(), |c| q(c, &["current", "value"]));
                    format!("{current}/{}", q(spec, &[key, "target", "value"]))
                }
            }
            "Pods" => {
                let current = cur("pods").map_or("<unknown>".to_string(), |c| {
                    q(c, &["current", "averageValue"])
                });
                format!("{current}/{}", q(spec, &["pods", "target", "averageValue"]))
            }
            kind @ ("Resource" | "ContainerResource") => {
                let key = if kind == "Resource" {
                    "resource"
                } else {
                    "containerResource"
                };
                let name = str_at(spec, &[key, "name"]);
                if at(spec, &[key, "target", "averageValue"]).is_some() {
                    let current = cur(key).map_or("<unknown>".to_string(), |c| {
                        q(c, &["current", "averageValue"])
                    });
                    format!(
                        "{name}: {current}/{}",
                        q(spec, &[key, "target", "averageValue"])
                    )
                } else {
                    let current = cur(key)
                        .and_then(|c| opt_int_at(c, &["current", "averageUtilization"]))
                        .map_or("<unknown>".to_string(), |u| format!("{u}%"));
                    let target = opt_int_at(spec, &[key, "target", "averageUtilization"])
                        .map_or("<auto>".to_string(), |u| format!("{u}%"));
                    format!("{name}: {current}/{target}")
                }
            }
            _ => "<unknown type>".into(),
        };
        list.push(text);
    }
    let count = list.len();
    if count > MAX {
        list.truncate(MAX);
        format!("{} + {} more...", list.join(", "), count - MAX)
    } else {
        list.join(", ")
    }
}

pub(super) fn hpa_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Reference",
            "string",
            "scaleTargetRef points to the target resource to scale.",
        ),
        c(
            "Targets",
            "string",
            "metrics contains the specifications for which to use to calculate the desired replica count.",
        ),
        c(
            "MinPods",
            "string",
            "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.",
        ),
        c(
            "MaxPods",
            "string",
            "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up.",
        ),
        c(
            "Replicas",
            "string",
            "currentReplicas is current number of replicas of pods managed by this autoscaler.",
        ),
        AGE,
    ]
}

pub(super) fn print_hpa(hpa: &Value, now: Timestamp) -> Row {
    let reference = format!(
        "{}/{}",
        str_at(hpa, &["spec", "scaleTargetRef", "kind"]),
        str_at(hpa, &["spec", "scaleTargetRef", "name"])
    );
    let min_pods =
        opt_int_at(hpa, &["spec", "minReplicas"]).map_or("<unset>".to_string(), |n| n.to_string());
    Row::new(vec![
        json!(name_of(hpa)),
        json!(reference),
        json!(hpa_targets(hpa)),
        json!(min_pods),
        json!(int_at(hpa, &["spec", "maxReplicas"])),
        json!(int_at(hpa, &["status", "currentReplicas"])),
        age(hpa, now),
    ])
}
