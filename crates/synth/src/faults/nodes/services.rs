//! Service faults and their near misses: `service-selector-mismatch` and
//! `service-port-mismatch` (a Service edit that leaves it routing nowhere), the harmless
//! `service-edit`, and `scale-to-zero` (an app scaled to zero on purpose; its scale-down is
//! reused by the DNS outage).

use serde_json::{Value, json};

use crate::scenario::Fault;
use crate::signals::{LogLine, PeerError};
use crate::world::World;

use super::cluster::{event_names, expire_events, owner_of, pod_signals_mut, slices_of, terminal};
use super::lifecycle::{delete_pod, recount};
use super::traffic::{callers_param, edge_failure, fail_callers, ingress_lines, routed};
use super::{klog, managed, record_edit};

// -- Service edits --------------------------------------------------------------------------

fn edit_service(
    world: &mut World,
    ns: &str,
    svc: &str,
    since: f64,
    manager: &str,
    field: Value,
    edit: impl FnOnce(&mut Value),
) -> Result<(), String> {
    let time = world.at(since);
    let s = world
        .get_mut("Service", ns, svc)
        .ok_or_else(|| format!("no Service {ns}/{svc}"))?;
    edit(s);
    record_edit(s, managed(manager, &time, json!({"f:spec": field})));
    Ok(())
}

/// The pods a Service selects now: traffic through the Service stops reaching them when it
/// breaks. (Signals have no traffic onset: their whole log window shows no requests.)
fn idle_backends(world: &mut World, ns: &str, svc: &str) {
    let Some(sel) = world
        .get("Service", ns, svc)
        .and_then(|s| s["spec"]["selector"].as_object().cloned())
    else {
        return;
    };
    let pods: Vec<String> = world
        .names("Pod", Some(ns))
        .into_iter()
        .filter(|(_, p)| {
            world.get("Pod", ns, p).is_some_and(|v| {
                !terminal(v) && sel.iter().all(|(k, x)| v["metadata"]["labels"][k] == *x)
            })
        })
        .map(|(_, p)| p)
        .collect();
    for p in pods {
        for sig in pod_signals_mut(world, ns, &p) {
            sig.rps = 0.0;
        }
    }
}

/// A Service's selector changed (a typo, a label the pods do not carry, a label renamed by a
/// chart refactor): the EndpointSlice controller empties its slices, kube-proxy rejects
/// connections to the ClusterIP, and its callers get `connection refused`. Params: `app`
/// (the Service), `selector` (the new selector, required), `clients` (apps calling it;
/// default: every app configured with it), `errorRate` (0.3), `status` (503), `manager`
/// (who edited it), `since`. When an Ingress routes to the Service, ingress-nginx logs
/// that it has no active endpoint and answers 503.
pub(super) fn service_selector_mismatch(world: &mut World, f: &Fault) -> Result<(), String> {
    let svc = f.app()?.to_string();
    let ns = f.namespace.clone();
    let selector = f
        .params
        .get("selector")
        .cloned()
        .filter(Value::is_object)
        .ok_or("service-selector-mismatch needs `selector` (a map)")?;
    let manager = f.str("manager").unwrap_or("kubectl-client-side-apply");
    idle_backends(world, &ns, &svc);
    edit_service(
        world,
        &ns,
        &svc,
        f.since,
        manager,
        json!({"f:selector": {}}),
        |s| s["spec"]["selector"] = selector,
    )?;
    for slice in slices_of(world, &ns, &svc) {
        if let Some(s) = world.get_mut("EndpointSlice", &ns, &slice) {
            s["endpoints"] = Value::Null;
        }
    }
    let rate = f.num("errorRate").unwrap_or(0.3);
    let status = f.num("status").unwrap_or(503.0) as u16;
    let callers = callers_param(world, f, &ns, &svc);
    fail_callers(
        world,
        &ns,
        &svc,
        &callers,
        PeerError::Refused,
        f.since,
        rate,
        status,
        None,
    );
    if routed(world, &ns, &svc) {
        edge_failure(
            world,
            &ns,
            &svc,
            PeerError::ServerError,
            f.since,
            rate.max(0.5),
        );
        let lines = sync_times(f.since)
            .into_iter()
            .map(|t| LogLine {
                minutes_ago: t,
                text: klog(
                    world,
                    'W',
                    t,
                    7,
                    "controller.go:1214",
                    &format!("Service \"{ns}/{svc}\" does not have any active Endpoint."),
                ),
            })
            .collect();
        ingress_lines(world, lines);
    }
    Ok(())
}

/// Times the ingress controller re-syncs after `since` (every few minutes, and at once).
fn sync_times(since: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut t = since - 0.05;
    let mut k = 0u32;
    while t > 0.2 {
        out.push(t - 0.0043 * (k % 9) as f64);
        t -= 4.7;
        k += 1;
    }
    out
}

/// A Service's `targetPort` no longer matches the port the container listens on: its
/// endpoints stay ready (readiness probes target the container port), but connections to
/// the ClusterIP are forwarded to a closed port and refused. Params: `app` (the Service),
/// `targetPort` (required), `clients`, `errorRate` (0.3), `status` (502), `manager`,
/// `since`.
pub(super) fn service_port_mismatch(world: &mut World, f: &Fault) -> Result<(), String> {
    let svc = f.app()?.to_string();
    let ns = f.namespace.clone();
    let port = f
        .params
        .get("targetPort")
        .cloned()
        .filter(|v| v.is_u64())
        .ok_or("service-port-mismatch needs a numeric `targetPort`")?;
    let manager = f.str("manager").unwrap_or("kubectl-client-side-apply");
    idle_backends(world, &ns, &svc);
    edit_service(
        world,
        &ns,
        &svc,
        f.since,
        manager,
        json!({"f:ports": {}}),
        |s| s["spec"]["ports"][0]["targetPort"] = port.clone(),
    )?;
    for slice in slices_of(world, &ns, &svc) {
        if let Some(s) = world.get_mut("EndpointSlice", &ns, &slice) {
            s["ports"][0]["port"] = port.clone();
        }
    }
    let rate = f.num("errorRate").unwrap_or(0.3);
    let status = f.num("status").unwrap_or(502.0) as u16;
    let callers = callers_param(world, f, &ns, &svc);
    fail_callers(
        world,
        &ns,
        &svc,
        &callers,
        PeerError::Refused,
        f.since,
        rate,
        status,
        None,
    );
    if routed(world, &ns, &svc) {
        edge_failure(world, &ns, &svc, PeerError::Refused, f.since, rate.max(0.5));
    }
    Ok(())
}

/// A harmless Service edit (a near miss beside a real one): `targetPort` (a number or a
/// port name the containers declare), `selector`, `annotations`, by `manager`, `since`
/// minutes ago. Endpoints are unchanged: the edit resolves to the same pods and port.
pub(super) fn service_edit(world: &mut World, f: &Fault) -> Result<(), String> {
    let svc = f.app()?.to_string();
    let ns = f.namespace.clone();
    let manager = f.str("manager").unwrap_or("kubectl-client-side-apply");
    let target = f.params.get("targetPort").cloned();
    let selector = f.params.get("selector").cloned();
    let annotations = f
        .params
        .get("annotations")
        .and_then(Value::as_object)
        .cloned();
    let mut fields = json!({});
    if target.is_some() {
        fields["f:ports"] = json!({});
    }
    if selector.is_some() {
        fields["f:selector"] = json!({});
    }
    edit_service(world, &ns, &svc, f.since, manager, fields, |s| {
        if let Some(t) = target {
            s["spec"]["ports"][0]["targetPort"] = t;
        }
        if let Some(sel) = selector {
            s["spec"]["selector"] = sel;
        }
        if let Some(a) = annotations {
            for (k, v) in a {
                s["metadata"]["annotations"][k] = v;
            }
        }
    })
}

// -- scale to zero -------------------------------------------------------------------------------

/// Scales a Deployment to 0 `since` minutes ago through the scale subresource: replicas 0,
/// pods gone (Killing events), the Service's slices empty, the controller's event.
pub(super) fn scale_down(
    world: &mut World,
    ns: &str,
    app: &str,
    since: f64,
    manager: &str,
    annotations: &Value,
) -> Result<(), String> {
    let time = world.at(since);
    let d = world
        .get_mut("Deployment", ns, app)
        .ok_or_else(|| format!("no Deployment {ns}/{app}"))?;
    let before = d["spec"]["replicas"].as_u64().unwrap_or(1);
    d["spec"]["replicas"] = json!(0);
    if let Some(a) = annotations.as_object() {
        for (k, v) in a {
            d["metadata"]["annotations"][k] = v.clone();
        }
    }
    let mut entry = managed(manager, &time, json!({"f:spec": {"f:replicas": {}}}));
    entry["apiVersion"] = json!("autoscaling/v1");
    entry["subresource"] = json!("scale");
    record_edit(d, entry);
    if !annotations.as_object().is_none_or(|a| a.is_empty()) {
        let mut a = managed(
            "kubectl-annotate",
            &time,
            json!({"f:metadata": {"f:annotations": {}}}),
        );
        a["apiVersion"] = json!("apps/v1");
        record_edit(d, a);
    }
    let mut rs_name = String::new();
    for (_, rs) in world.names("ReplicaSet", Some(ns)) {
        if let Some(r) = world.get_mut("ReplicaSet", ns, &rs) {
            let mine = owner_of(r).is_some_and(|(k, n)| k == "Deployment" && n == app);
            if mine && r["spec"]["replicas"].as_u64().unwrap_or(0) > 0 {
                r["spec"]["replicas"] = json!(0);
                rs_name = rs.clone();
            }
        }
    }
    for pod in world.pods_of(ns, app) {
        delete_pod(world, ns, &pod, since - 0.02);
    }

    for slice in slices_of(world, ns, app) {
        if let Some(s) = world.get_mut("EndpointSlice", ns, &slice) {
            s["endpoints"] = Value::Null;
        }
    }
    if !rs_name.is_empty() {
        world.event(
            ("Deployment", ns, app),
            "Normal",
            "ScalingReplicaSet",
            &format!("Scaled down replica set {rs_name} from {before} to 0"),
            "deployment-controller",
            since,
            since,
            1,
        );
    }
    recount(world, ns, app, since);
    Ok(())
}

/// A near miss: a Deployment scaled to 0 on purpose `since` minutes ago, its reason
/// recorded in `annotations` (a map added to the Deployment). Its Service has no endpoints
/// and nothing calls it. Params: `app`, `since`, `annotations`, `manager` (kubectl).
pub(super) fn scale_to_zero(world: &mut World, f: &Fault) -> Result<(), String> {
    let app = f.app()?.to_string();
    let annotations = f.params.get("annotations").cloned().unwrap_or(json!({}));
    let manager = f.str("manager").unwrap_or("kubectl").to_string();
    let before = event_names(world);
    scale_down(
        world,
        &f.namespace.clone(),
        &app,
        f.since,
        &manager,
        &annotations,
    )?;
    expire_events(world, &before);
    Ok(())
}
