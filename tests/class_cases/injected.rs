//! Faults injected on purpose and still in force: a Chaos Mesh experiment, an Istio
//! VirtualService fault.

use super::super::Case;
use crate::common::cluster::{Cluster, ago, lines_until};
use serde_json::json;

/// storefront calls inventory, whose pods a NetworkChaos delays by 2 s; `over`: the
/// experiment has recovered (its records and condition say so).
fn network_chaos(over: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("inventory", 2, &[]).app(
        "storefront",
        2,
        &[(
            "INVENTORY_URL",
            "http://inventory.payments.svc.cluster.local",
        )],
    );
    let pods = c.pods("inventory");
    let records: Vec<serde_json::Value> = pods
        .iter()
        .map(|p| json!({"id": format!("payments/{p}"), "selectorKey": ".", "phase": if over { "Not Injected" } else { "Injected" }, "injectedCount": 1, "recoveredCount": if over { 1 } else { 0 }}))
        .collect();
    c.objects.push(json!({"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "NetworkChaos",
        "metadata": {"name": "inventory-latency", "namespace": "payments", "uid": "nc-1", "creationTimestamp": ago(20)},
        "spec": {"action": "delay", "mode": "all", "selector": {"namespaces": ["payments"], "labelSelectors": {"app.kubernetes.io/name": "inventory"}},
                 "delay": {"latency": "2000ms", "jitter": "0ms", "correlation": "0"}, "direction": "to"},
        "status": {"conditions": [
            {"type": "Selected", "status": "True"},
            {"type": "AllInjected", "status": if over { "False" } else { "True" }},
            {"type": "AllRecovered", "status": if over { "True" } else { "False" }},
            {"type": "Paused", "status": "False"}],
            "experiment": {"desiredPhase": if over { "Stop" } else { "Run" }, "containerRecords": records}}}));
    let ip = c.cluster_ip("inventory");
    let line = format!(
        "level=warn msg=\"slow upstream\" upstream=inventory addr={ip}:80 duration_ms=2040"
    );
    c.log("storefront", &lines_until(&line, 30, 0));
    c
}

/// An Istio VirtualService aborting 100% of the requests to ratings with HTTP 500 (twin:
/// the same VirtualService, only routing).
fn istio_abort(fault: bool) -> Cluster {
    let mut c = Cluster::new();
    c.app("ratings", 2, &[])
        .app("reviews", 2, &[("RATINGS_HOSTNAME", "ratings")]);
    let mut route = json!({"route": [{"destination": {"host": "ratings", "subset": "v1"}}]});
    if fault {
        route["fault"] = json!({"abort": {"httpStatus": 500, "percentage": {"value": 100.0}}});
    }
    c.objects.push(json!({"apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService",
        "metadata": {"name": "ratings", "namespace": "payments", "uid": "vs-1", "creationTimestamp": ago(25)},
        "spec": {"hosts": ["ratings"], "http": [route]}}));
    c
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "chaos-mesh-network-delay",
            symptom: "the storefront is slow",
            cluster: network_chaos(false),
            want: Some("Deployment/inventory"),
            never: &[],
            category: Some("FaultInjection"),
        },
        Case {
            name: "chaos-mesh-experiment-recovered (twin)",
            symptom: "the storefront is slow",
            cluster: network_chaos(true),
            want: None,
            never: &["FaultInjection"],
            category: None,
        },
        Case {
            name: "istio-virtualservice-abort",
            symptom: "reviews show no ratings",
            cluster: istio_abort(true),
            want: Some("Deployment/ratings"),
            never: &[],
            category: Some("FaultInjection"),
        },
        Case {
            name: "istio-virtualservice-routing-only (twin)",
            symptom: "reviews show no ratings",
            cluster: istio_abort(false),
            want: None,
            never: &["FaultInjection"],
            category: None,
        },
    ]
}
