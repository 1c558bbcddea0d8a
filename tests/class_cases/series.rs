//! Classes read from Prometheus series: a latency cascade followed to the deepest callee
//! that is slow on its own.

use super::super::Case;
use crate::common::cluster::Cluster;
use serde_json::json;

const BOUNDS: [f64; 7] = [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// 30 minutes of an app's request-duration histogram, as raw cumulative counters, every
/// request of a minute taking `before` seconds until `onset` minutes before capture and
/// `after` since.
fn histogram(c: &mut Cluster, app: &str, before: f64, after: f64, onset: i64) {
    for pod in c.pods(app) {
        let mut les: Vec<String> = BOUNDS.iter().map(|b| b.to_string()).collect();
        les.push("+Inf".into());
        for (i, le) in les.iter().enumerate() {
            let bound = BOUNDS.get(i).copied().unwrap_or(f64::INFINITY);
            let mut total = 0.0;
            let values: Vec<f64> = (0..30)
                .map(|m| {
                    let minutes_before = 29 - m;
                    let latency = if minutes_before < onset {
                        after
                    } else {
                        before
                    };
                    if latency <= bound {
                        total += 600.0;
                    }
                    total
                })
                .collect();
            c.series(
                "http_server_request_duration_seconds_bucket",
                json!({"namespace": "payments", "pod": pod, "le": le}),
                &values,
            );
        }
    }
}

/// storefront → orders → inventory → pricing-db. `inventory_first`: inventory slows on its
/// own and the callers follow; otherwise pricing-db slows first and everything above it.
fn cascade(inventory_first: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("pricing-db", 1, &[])
        .app(
            "inventory",
            2,
            &[(
                "PRICING_DB_HOST",
                "pricing-db.payments.svc.cluster.local:80",
            )],
        )
        .app(
            "orders",
            2,
            &[(
                "INVENTORY_URL",
                "http://inventory.payments.svc.cluster.local",
            )],
        )
        .app(
            "storefront",
            2,
            &[("ORDERS_URL", "http://orders.payments.svc.cluster.local")],
        );
    if inventory_first {
        histogram(&mut c, "pricing-db", 0.01, 0.01, 0);
    } else {
        histogram(&mut c, "pricing-db", 0.01, 0.4, 16);
    }
    histogram(&mut c, "inventory", 0.04, 0.8, 15);
    histogram(&mut c, "orders", 0.06, 0.9, 14);
    histogram(&mut c, "storefront", 0.08, 1.2, 14);
    c
}

/// pricing's CPU is throttled in `share` of its CFS periods for the last 15 minutes (rates,
/// as capture stores them), after an hour without; every other workload runs unthrottled.
fn throttled(share: f64) -> Cluster {
    let mut c = Cluster::new();
    c.app("pricing", 2, &[]).app(
        "orders",
        2,
        &[("PRICING_URL", "http://pricing.payments.svc.cluster.local")],
    );
    for app in ["pricing", "orders"] {
        for pod in c.pods(app) {
            let labels = json!({"namespace": "payments", "pod": pod, "container": app});
            c.series(
                "container_cpu_cfs_periods_total",
                labels.clone(),
                &[10.0; 30],
            );
            let throttled: Vec<f64> = (0..30)
                .map(|m| {
                    if app == "pricing" && m >= 15 {
                        10.0 * share
                    } else {
                        0.0
                    }
                })
                .collect();
            c.series(
                "container_cpu_cfs_throttled_periods_total",
                labels,
                &throttled,
            );
        }
    }
    c
}

/// The same cascade read from Istio's telemetry as capture stores it: the 90th percentile
/// of `istio_request_duration_milliseconds` per destination workload, in milliseconds.
fn istio_cascade() -> Cluster {
    let mut c = Cluster::new();
    c.app("pricing-db", 1, &[])
        .app(
            "inventory",
            2,
            &[(
                "PRICING_DB_HOST",
                "pricing-db.payments.svc.cluster.local:80",
            )],
        )
        .app(
            "orders",
            2,
            &[(
                "INVENTORY_URL",
                "http://inventory.payments.svc.cluster.local",
            )],
        );
    for (app, before, after, onset) in [
        ("pricing-db", 9.0, 9.0, 0),
        ("inventory", 45.0, 950.0, 15),
        ("orders", 60.0, 990.0, 14),
    ] {
        let values: Vec<f64> = (0..30)
            .map(|m| if 29 - m < onset { after } else { before })
            .collect();
        c.series(
            "istio_request_duration_milliseconds_p90",
            json!({"destination_workload_namespace": "payments", "destination_workload": app}),
            &values,
        );
    }
    c
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "cpu-throttled-alone",
            symptom: "orders are slow",
            cluster: throttled(0.7),
            want: Some("Deployment/pricing"),
            never: &[],
            category: Some("CPUThrottling"),
        },
        Case {
            name: "cpu-throttled-now-and-then (twin)",
            symptom: "orders are slow",
            cluster: throttled(0.1),
            want: None,
            never: &["CPUThrottling"],
            category: None,
        },
        Case {
            name: "latency-cascade-deepest-slow-callee",
            symptom: "the storefront is slow",
            cluster: cascade(true),
            want: Some("Deployment/inventory"),
            never: &[],
            category: Some("LatencyIncrease"),
        },
        Case {
            name: "latency-cascade-from-istio-telemetry",
            symptom: "orders are slow",
            cluster: istio_cascade(),
            want: Some("Deployment/inventory"),
            never: &[],
            category: Some("LatencyIncrease"),
        },
        Case {
            name: "latency-cascade-from-the-database (twin)",
            symptom: "the storefront is slow",
            cluster: cascade(false),
            want: Some("Deployment/pricing-db"),
            never: &[],
            category: Some("LatencyIncrease"),
        },
    ]
}
