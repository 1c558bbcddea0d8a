//! Every value a remedy names comes from a small hand-built snapshot, computed as its
//! `why` says; and no remedy of any category carries a `<placeholder>`.

use serde_json::{Value, json};

use super::*;
use crate::detect::{Change, Hit};
use crate::report::Severity;
use intel_engine::Relations;
use intel_model::manifest::{ClusterInfo, Manifest};
use intel_model::{MetricsSample, Object, ResourceList, ResourceType, Snapshot, TypeKey};

fn list(group: &str, resource: &str, items: Vec<Value>) -> ResourceList {
    let rtype = ResourceType::builtin(&TypeKey::new(group, "v1", resource)).expect("built-in type");
    ResourceList::new(
        rtype,
        items
            .iter()
            .map(|v| Object::from_value(v).expect("object"))
            .collect(),
    )
}

fn owner(kind: &str, name: &str) -> Value {
    json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": format!("uid-{name}"), "controller": true}])
}

fn meta(name: &str, extra: Value) -> Value {
    let mut m = json!({"name": name, "namespace": "shop", "uid": format!("uid-{name}")});
    if let (Some(m), Some(e)) = (m.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    m
}

fn container(name: &str, image: &str, resources: Value) -> Value {
    json!({"name": name, "image": image, "resources": resources})
}

fn deployment(name: &str, replicas: i64, revision: &str, containers: Vec<Value>) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": meta(name, json!({"annotations": {"deployment.kubernetes.io/revision": revision}})),
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}}}})
}

fn replicaset(deploy: &str, revision: i64, containers: Vec<Value>) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": meta(&format!("{deploy}-{revision}"), json!({
            "annotations": {"deployment.kubernetes.io/revision": revision.to_string()},
            "ownerReferences": owner("Deployment", deploy)})),
        "spec": {"template": {"spec": {"containers": containers}}}})
}

fn pod(name: &str, rs: &str, app: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": meta(name, json!({"labels": {"app": app}, "ownerReferences": owner("ReplicaSet", rs)})),
        "spec": {"nodeName": "n1", "containers": [{"name": app, "image": "x"}]}})
}

/// The shop: `auth` (limits 512Mi/250m, a 1Gi `proxy` sidecar, three revisions, a budget),
/// `nolimit` (no limit, 300Mi observed), `reqonly` (a request only), `bare` (nothing),
/// `solo` (one revision), `web` (3 replicas), `cart` (4 replicas under an autoscaler
/// capped at 5), `full` (at its autoscaler's maximum of 5), `exprs` (matchExpressions),
/// an Ingress serving Secret `shop-tls`, node `n1`.
fn shop() -> Snapshot {
    let mut s = Snapshot::new(Manifest::new(
        ClusterInfo::default(),
        "2026-01-01T00:00:00Z".into(),
    ));
    let auth = |tag: &str| {
        vec![
            container(
                "auth",
                &format!("reg.example.com:5000/shop/auth:{tag}"),
                json!({"limits": {"memory": "512Mi", "cpu": "250m"}, "requests": {"memory": "256Mi", "cpu": "100m"}}),
            ),
            container(
                "proxy",
                "envoyproxy/envoy:v1.31",
                json!({"limits": {"memory": "1Gi"}, "requests": {"memory": "1Gi"}}),
            ),
        ]
    };
    let plain = |name: &str, resources: Value| {
        vec![container(name, &format!("shop/{name}:1.0"), resources)]
    };
    let mut exprs = deployment("exprs", 1, "1", plain("exprs", json!({})));
    exprs["spec"]["selector"] = json!({"matchLabels": {"app": "exprs"},
        "matchExpressions": [{"key": "track", "operator": "In", "values": ["stable", "canary"]}]});
    s.insert_list(list(
        "apps",
        "deployments",
        vec![
            deployment("auth", 2, "3", auth("v3")),
            deployment(
                "nolimit",
                1,
                "1",
                plain("nolimit", json!({"requests": {"memory": "128Mi"}})),
            ),
            deployment(
                "reqonly",
                1,
                "1",
                plain(
                    "reqonly",
                    json!({"requests": {"memory": "256Mi", "cpu": "250m"}}),
                ),
            ),
            deployment("bare", 1, "1", plain("bare", json!({}))),
            deployment("solo", 1, "1", plain("solo", json!({}))),
            deployment("web", 3, "1", plain("web", json!({}))),
            deployment("cart", 4, "1", plain("cart", json!({}))),
            deployment("full", 5, "1", plain("full", json!({}))),
            exprs,
        ],
    ));
    s.insert_list(list(
        "apps",
        "replicasets",
        vec![
            replicaset("auth", 1, auth("v1")),
            replicaset("auth", 2, auth("v2")),
            replicaset("auth", 3, auth("v3")),
            replicaset("nolimit", 1, plain("nolimit", json!({}))),
            replicaset("solo", 1, plain("solo", json!({}))),
        ],
    ));
    s.insert_list(list(
        "",
        "pods",
        vec![
            pod("auth-3-a", "auth-3", "auth"),
            pod("auth-3-b", "auth-3", "auth"),
            pod("nolimit-1-a", "nolimit-1", "nolimit"),
        ],
    ));
    s.insert_list(list(
        "",
        "nodes",
        vec![json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "n1", "uid": "uid-n1"},
        "status": {"allocatable": {"memory": "15Gi", "cpu": "3800m"}}})],
    ));
    let hpa = |name: &str, target: &str, min: i64, max: i64| {
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta(name, json!({})),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                "minReplicas": min, "maxReplicas": max}})
    };
    s.insert_list(list(
        "autoscaling",
        "horizontalpodautoscalers",
        vec![
            hpa("cart", "cart", 2, 5),
            hpa("full", "full", 2, 5),
            hpa("api", "web-api", 3, 10),
        ],
    ));
    s.insert_list(list(
        "policy",
        "poddisruptionbudgets",
        vec![json!({"apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget", "metadata": meta("auth-pdb", json!({})),
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "auth"}}}})],
    ));
    s.insert_list(list(
        "",
        "secrets",
        vec![json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": meta("shop-tls", json!({})), "type": "kubernetes.io/tls"})],
    ));
    s.insert_list(list("networking.k8s.io", "ingresses", vec![json!({"apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress", "metadata": meta("edge", json!({})),
        "spec": {"tls": [{"hosts": ["shop.example.com", "www.shop.example.com"], "secretName": "shop-tls"},
                         {"hosts": ["other.example.com"], "secretName": "other-tls"}]}})]));
    s.insert_list(list(
        "",
        "services",
        vec![json!({"apiVersion": "v1", "kind": "Service",
        "metadata": meta("auth", json!({})),
        "spec": {"selector": {"app": "auth-v2"}, "ports": [{"port": 80, "targetPort": 8080}]}})],
    ));
    let sample = |t: &str, mem: &str| MetricsSample {
        time: t.into(),
        nodes: None,
        pods: serde_json::value::RawValue::from_string(
            json!({"items": [{"metadata": {"namespace": "shop", "name": "nolimit-1-a"},
                "containers": [{"name": "nolimit", "usage": {"cpu": "40m", "memory": mem}}]}]})
            .to_string(),
        )
        .ok(),
    };
    s.metrics = vec![
        sample("2026-01-01T00:00:00Z", "250Mi"),
        sample("2026-01-01T00:01:00Z", "300Mi"),
        sample("2026-01-01T00:02:00Z", "280Mi"),
    ];
    s
}

fn dep(name: &str) -> ObjectRef {
    ObjectRef::new("Deployment", "shop", name)
}

/// The remedies for one finding of `category` on `subject` (evidence at `location`).
fn run(
    snap: &Snapshot,
    category: &'static str,
    subject: &ObjectRef,
    hit: Hit,
    change: Option<&Change>,
) -> Vec<Remedy> {
    let rel = Relations::build(snap);
    let hits = vec![hit];
    let facts = Facts::new(snap, &rel, &hits, &[0]);
    remedies(category, subject, Some(subject), change, &facts)
}

fn hit(subject: &ObjectRef, kind: &'static str, location: &str, text: &str) -> Hit {
    Hit::new(subject.clone(), kind, Severity::Critical, 0.8).ev("status", location, text, None)
}

fn texts(r: &Remedy) -> Vec<&str> {
    let mut out = vec![r.title.as_str(), r.why.as_str(), r.effect.as_str()];
    out.extend(
        r.steps
            .iter()
            .chain(&r.verify)
            .chain(&r.rollback)
            .map(String::as_str),
    );
    out
}

fn all_text(rs: &[Remedy]) -> String {
    rs.iter().flat_map(texts).collect::<Vec<_>>().join("\n")
}

fn oom(container: &str) -> Hit {
    hit(
        &dep("auth"),
        "OOMKilled",
        &format!("Pod shop/auth-3-a status.containerStatuses[{container}].lastState.terminated"),
        "reason=OOMKilled exitCode=137",
    )
}

#[test]
fn memory_limit_is_raised_per_named_container() {
    let s = shop();
    let rs = run(&s, "OOMKilled", &dep("auth"), oom("auth"), None);
    let r = rs
        .iter()
        .find(|r| r.title.contains("more memory headroom"))
        .expect("memory remedy");
    assert_eq!(
        r.steps,
        vec![
            "kubectl set resources deployment/auth -n shop -c auth --limits=memory=768Mi --requests=memory=256Mi"
        ]
    );
    assert!(
        r.why
            .contains("current memory limit 512Mi × 1.5 = 768Mi; request 256Mi kept"),
        "{}",
        r.why
    );
    assert!(
        !all_text(&rs).contains("-c proxy"),
        "only the container that was killed"
    );

    // 1Gi × 1.5 = 1536Mi; a request equal to the limit (Guaranteed) rises with it.
    let rs = run(&s, "OOMKilled", &dep("auth"), oom("proxy"), None);
    let r = rs
        .iter()
        .find(|r| r.title.contains("more memory headroom"))
        .expect("memory remedy");
    assert_eq!(
        r.steps,
        vec![
            "kubectl set resources deployment/auth -n shop -c proxy --limits=memory=1536Mi --requests=memory=1536Mi"
        ]
    );
    assert!(r.why.contains("1Gi × 1.5 = 1536Mi"), "{}", r.why);
    assert!(r.why.contains("Guaranteed QoS"), "{}", r.why);
}

#[test]
fn memory_without_a_limit_comes_from_usage_then_the_request() {
    let s = shop();
    let step = |name: &str| {
        let rs = run(
            &s,
            "OOMKilled",
            &dep(name),
            hit(&dep(name), "OOMKilled", "node event", "OOM"),
            None,
        );
        rs.into_iter()
            .find(|r| r.title.contains("more memory headroom"))
            .expect("memory remedy")
    };
    let r = step("nolimit");
    assert_eq!(
        r.steps,
        vec![
            "kubectl set resources deployment/nolimit -n shop -c nolimit --limits=memory=450Mi --requests=memory=128Mi"
        ]
    );
    assert!(
        r.why
            .contains("no memory limit; its peak observed usage 300Mi × 1.5 = 450Mi"),
        "{}",
        r.why
    );
    let r = step("reqonly");
    assert_eq!(
        r.steps,
        vec![
            "kubectl set resources deployment/reqonly -n shop -c reqonly --limits=memory=384Mi --requests=memory=256Mi"
        ]
    );
    assert!(r.why.contains("request 256Mi × 1.5 = 384Mi"), "{}", r.why);
    let r = step("bare");
    assert!(
        r.steps[0].starts_with("measure container bare with kubectl top pods -n shop --containers"),
        "{:?}",
        r.steps
    );
    assert!(
        r.why.contains("neither a memory limit nor a request"),
        "{}",
        r.why
    );
}

#[test]
fn cpu_limit_is_raised_by_half() {
    let s = shop();
    let h = hit(
        &dep("auth"),
        "CPUThrottling",
        "metrics.k8s.io pods/shop/auth-3-a container auth",
        "cpu 250m against limit 250m",
    );
    let rs = run(&s, "CPUThrottling", &dep("auth"), h, None);
    let r = rs
        .iter()
        .find(|r| r.title.contains("CPU limit"))
        .expect("cpu remedy");
    assert_eq!(
        r.steps,
        vec![
            "kubectl set resources deployment/auth -n shop -c auth --limits=cpu=375m --requests=cpu=100m"
        ]
    );
    assert!(
        r.why.contains("current cpu limit 250m × 1.5 = 375m"),
        "{}",
        r.why
    );
    // No CPU limit: the request × 1.5 (no usage sampled for it).
    let h = hit(
        &dep("reqonly"),
        "CPUThrottling",
        "prometheus",
        "pod=reqonly-1-a container=reqonly: 40%",
    );
    let rs = run(&s, "CPUThrottling", &dep("reqonly"), h, None);
    assert!(
        all_text(&rs).contains("-c reqonly --limits=cpu=375m --requests=cpu=250m"),
        "{}",
        all_text(&rs)
    );
}

#[test]
fn pods_are_watched_by_the_workloads_selector() {
    let s = shop();
    let rs = run(&s, "OOMKilled", &dep("auth"), oom("auth"), Some(&rollout()));
    assert!(
        all_text(&rs).contains("kubectl get pods -n shop -l app=auth -w"),
        "{}",
        all_text(&rs)
    );
    let rs = run(
        &s,
        "ImagePullBackOff",
        &dep("exprs"),
        hit(&dep("exprs"), "ImagePullBackOff", "x", "y"),
        None,
    );
    assert!(
        all_text(&rs)
            .contains("kubectl get pods -n shop -l 'app=exprs,track in (canary,stable)' -w"),
        "{}",
        all_text(&rs)
    );
}

fn rollout() -> Change {
    Change {
        subject: dep("auth"),
        at: 0,
        kind: "rollout",
        message: "rollout of auth to revision 3".into(),
        via: None,
    }
}

#[test]
fn image_returns_to_the_previous_revision() {
    let s = shop();
    let h = hit(
        &dep("auth"),
        "ImagePullBackOff",
        "Pod shop/auth-3-a status.containerStatuses[auth].state.waiting",
        "ErrImagePull",
    );
    let rs = run(&s, "ImagePullBackOff", &dep("auth"), h, None);
    let r = rs
        .iter()
        .find(|r| r.title.starts_with("Fix the image"))
        .expect("image remedy");
    assert!(
        r.steps.contains(&"kubectl set image deployment/auth -n shop auth=reg.example.com:5000/shop/auth:v2   # the images of revision 2".to_string()),
        "{:?}",
        r.steps
    );
    assert!(r.why.contains("previous revision 2 (the current one is 3), auth ran reg.example.com:5000/shop/auth:v2 (now reg.example.com:5000/shop/auth:v3)"), "{}", r.why);

    // One revision only: say what runs and where to look, invent nothing.
    let h = hit(
        &dep("solo"),
        "ImagePullBackOff",
        "status.containerStatuses[solo].state.waiting",
        "ErrImagePull",
    );
    let rs = run(&s, "ImagePullBackOff", &dep("solo"), h, None);
    let r = rs
        .iter()
        .find(|r| r.title.starts_with("Fix the image"))
        .expect("image remedy");
    assert!(
        r.why
            .contains("no earlier revision of Deployment solo; now solo runs shop/solo:1.0"),
        "{}",
        r.why
    );
    assert!(
        r.steps[1].starts_with("list the tags that exist in shop/solo of container solo"),
        "{:?}",
        r.steps
    );
    assert_eq!(
        super::repository("reg:5000/a/b:v1@sha256:00"),
        "reg:5000/a/b"
    );
    assert_eq!(super::repository("reg:5000/a/b"), "reg:5000/a/b");
}

#[test]
fn autoscaler_maximum_is_raised_and_restored() {
    let s = shop();
    let h = ObjectRef::new("HorizontalPodAutoscaler", "shop", "api");
    let rs = run(
        &s,
        "AutoscalerAtMax",
        &h,
        hit(&h, "AutoscalerAtMax", "x", "y"),
        None,
    );
    assert_eq!(
        rs[0].steps,
        vec![
            r#"kubectl patch horizontalpodautoscaler/api -n shop --type=merge -p '{"spec":{"maxReplicas":15}}'"#
        ]
    );
    assert_eq!(
        rs[0].rollback,
        vec![
            r#"kubectl patch horizontalpodautoscaler/api -n shop --type=merge -p '{"spec":{"maxReplicas":10}}'"#
        ]
    );
    assert!(
        rs[0].why.contains("maxReplicas 10 × 1.5, rounded up = 15"),
        "{}",
        rs[0].why
    );
}

#[test]
fn scaling_starts_from_current_replicas_within_the_autoscaler() {
    let s = shop();
    let relieve = |name: &str| {
        let rs = run(
            &s,
            "TrafficSurge",
            &dep(name),
            hit(&dep(name), "TrafficSurge", "x", "y"),
            None,
        );
        rs.into_iter()
            .find(|r| r.title.starts_with("Relieve"))
            .expect("scale remedy")
    };
    let r = relieve("web");
    assert_eq!(
        r.steps[0],
        "kubectl scale deployment/web -n shop --replicas=5"
    );
    assert_eq!(
        r.rollback,
        vec!["kubectl scale deployment/web -n shop --replicas=3"]
    );
    assert!(
        r.why
            .contains("web runs 3 replicas; 3 × 1.5, rounded up = 5"),
        "{}",
        r.why
    );
    // 4 × 1.5 = 6, capped by the autoscaler's maximum of 5: its floor is raised.
    let r = relieve("cart");
    assert_eq!(
        r.steps[0],
        r#"kubectl patch horizontalpodautoscaler/cart -n shop --type=merge -p '{"spec":{"maxReplicas":5,"minReplicas":5}}'"#
    );
    assert_eq!(
        r.rollback,
        vec![
            r#"kubectl patch horizontalpodautoscaler/cart -n shop --type=merge -p '{"spec":{"maxReplicas":5,"minReplicas":2}}'"#
        ]
    );
    // Already at the maximum: the maximum rises too.
    let r = relieve("full");
    assert_eq!(
        r.steps[0],
        r#"kubectl patch horizontalpodautoscaler/full -n shop --type=merge -p '{"spec":{"maxReplicas":8,"minReplicas":8}}'"#
    );
    assert!(r.why.contains("maxReplicas 5 is raised to 8"), "{}", r.why);
}

#[test]
fn budget_is_restored_to_its_captured_spec() {
    let s = shop();
    let pdb = ObjectRef::new("PodDisruptionBudget", "shop", "auth-pdb");
    let rs = run(
        &s,
        "PDBAllowsNoDisruption",
        &pdb,
        hit(&pdb, "PDBAllowsNoDisruption", "x", "y"),
        None,
    );
    let r = &rs[0];
    assert_eq!(
        r.steps[0],
        "kubectl scale deployment/auth -n shop --replicas=3   # keep capacity during the drain"
    );
    assert_eq!(
        r.rollback,
        vec![
            r#"kubectl patch poddisruptionbudget/auth-pdb -n shop --type=merge -p '{"spec":{"maxUnavailable":null,"minAvailable":2}}'   # the budget as captured"#,
            "kubectl scale deployment/auth -n shop --replicas=2",
        ]
    );
    assert!(
        r.why.contains("auth runs 2 replicas; 2 + 1 = 3"),
        "{}",
        r.why
    );
}

#[test]
fn service_rollback_restores_its_selector_and_ports() {
    let s = shop();
    let svc = ObjectRef::new("Service", "shop", "auth");
    let rs = run(
        &s,
        "ServiceSelectorMismatch",
        &svc,
        hit(&svc, "ServiceSelectorMismatch", "x", "y"),
        None,
    );
    assert_eq!(
        rs[0].rollback,
        vec![
            r#"kubectl patch service/auth -n shop --type=json -p '[{"op":"add","path":"/spec/selector","value":{"app":"auth-v2"}},{"op":"add","path":"/spec/ports","value":[{"port":80,"targetPort":8080}]}]'   # the selector and ports as captured"#
        ]
    );
}

#[test]
fn tls_is_verified_on_the_hosts_served_with_the_secret() {
    let s = shop();
    let secret = ObjectRef::new("Secret", "shop", "shop-tls");
    let rs = run(
        &s,
        "CertificateExpired",
        &secret,
        hit(&secret, "CertificateExpired", "x", "y"),
        None,
    );
    assert_eq!(
        rs[0].verify,
        vec![
            "openssl s_client -connect shop.example.com:443 -servername shop.example.com </dev/null | openssl x509 -noout -enddate",
            "openssl s_client -connect www.shop.example.com:443 -servername www.shop.example.com </dev/null | openssl x509 -noout -enddate",
        ]
    );
    // A Secret no Ingress serves: its own certificate is read.
    let other = ObjectRef::new("Secret", "shop", "lonely-tls");
    let rs = run(
        &s,
        "CertificateExpired",
        &other,
        hit(&other, "CertificateExpired", "x", "y"),
        None,
    );
    assert!(
        rs[0].verify[0]
            .starts_with("kubectl get secret lonely-tls -n shop -o jsonpath='{.data.tls\\.crt}'"),
        "{:?}",
        rs[0].verify
    );
}

#[test]
fn bound_and_node_come_from_the_snapshot() {
    let s = shop();
    let mut h = hit(
        &dep("reqonly"),
        "UnboundedMemoryUse",
        "evicted pod status.message (node n1)",
        "The node was low on resource: memory. Container reqonly was using 12Gi, request is 256Mi",
    );
    h.via.push(ObjectRef::new("Node", "", "n1"));
    let rs = run(&s, "UnboundedMemoryUse", &dep("reqonly"), h, None);
    let r = rs
        .iter()
        .find(|r| r.title.starts_with("Set a memory limit"))
        .expect("bound remedy");
    assert_eq!(
        r.steps,
        vec![
            "kubectl set resources deployment/reqonly -n shop -c reqonly --limits=memory=384Mi --requests=memory=256Mi"
        ]
    );
    assert!(
        r.why
            .contains("memory request 256Mi × 1.5 = 384Mi, where it has no memory limit"),
        "{}",
        r.why
    );
    assert!(
        r.verify
            .contains(&"kubectl describe node n1 | grep -A6 Conditions".to_string()),
        "{:?}",
        r.verify
    );
    // No request: the node's allocatable frames the choice.
    let mut h = hit(
        &dep("bare"),
        "UnboundedMemoryUse",
        "evicted pod",
        "Container bare was using 12Gi, request is 0",
    );
    h.via.push(ObjectRef::new("Node", "", "n1"));
    let rs = run(&s, "UnboundedMemoryUse", &dep("bare"), h, None);
    let r = rs
        .iter()
        .find(|r| r.title.starts_with("Set a memory limit"))
        .expect("bound remedy");
    assert!(
        r.steps[0].contains("keeping it well below the 15Gi node n1 offers"),
        "{:?}",
        r.steps
    );
}

/// The first `<word …>` token in a text (not a shell redirection such as `</dev/null`).
fn placeholder(text: &str) -> Option<&str> {
    for (i, _) in text.match_indices('<') {
        let rest = &text[i + 1..];
        if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        if let Some(end) = rest.find(['>', '<', '\n']) {
            if rest[end..].starts_with('>') {
                return Some(&text[i..i + end + 2]);
            }
        }
    }
    None
}

#[test]
fn no_remedy_of_any_category_carries_a_placeholder() {
    // Built at run time, so that no placeholder stands in the source either.
    let (open, close) = ('<', '>');
    let more = format!("{open}more{close}");
    assert_eq!(
        placeholder(&format!("--replicas={more} x")),
        Some(more.as_str())
    );
    assert_eq!(placeholder("s_client </dev/null | x > y"), None);
    const CATEGORIES: &[&str] = &[
        "MemoryLimitTooLow",
        "LatencyIncrease",
        "FaultInjection",
        "NetworkPolicyBlocks",
        "NodeNotFound",
        "FailedMount",
        "SandboxCreationFailed",
        "RequestExceedsNodeCapacity",
        "SchedulerNotRunning",
        "ScaledToZero",
        "MemoryLeak",
        "OOMKilled",
        "OutOfMemory",
        "CrashLoopBackOff",
        "ContainerFailed",
        "Restarts",
        "Panics",
        "CPUThrottling",
        "ImagePullBackOff",
        "CreateContainerConfigError",
        "MissingConfigReference",
        "Unschedulable",
        "VolumeZoneConflict",
        "ServiceSelectorMismatch",
        "ServicePortMismatch",
        "AutoscalerAtMax",
        "ResourceQuotaExceeded",
        "DrainBlockedByPDB",
        "PDBAllowsNoDisruption",
        "SuspendedCronJob",
        "CronJobNotRunning",
        "JobFailed",
        "CertificateExpired",
        "CertificateRenewalFailing",
        "TLSErrors",
        "NodeNotReady",
        "NodeFlapping",
        "NodeNetworkUnavailable",
        "UnboundedMemoryUse",
        "EphemeralStorageExhaustion",
        "ProbeMisconfiguration",
        "ReadinessProbeFailing",
        "LivenessProbeFailing",
        "StartupProbeFailing",
        "TrafficSurge",
        "SlowOperations",
        "ConnectionsExhausted",
        "ConfigChange",
        "SomethingNew",
    ];
    let subjects = [
        dep("auth"),
        dep("nolimit"),
        dep("bare"),
        dep("solo"),
        dep("cart"),
        dep("full"),
        dep("ghost"),
        ObjectRef::new("Pod", "shop", "auth-3-a"),
        ObjectRef::new("DaemonSet", "shop", "agent"),
        ObjectRef::new("HorizontalPodAutoscaler", "shop", "api"),
        ObjectRef::new("HorizontalPodAutoscaler", "shop", "ghost"),
        ObjectRef::new("PodDisruptionBudget", "shop", "auth-pdb"),
        ObjectRef::new("PodDisruptionBudget", "shop", "ghost"),
        ObjectRef::new("Secret", "shop", "shop-tls"),
        ObjectRef::new("Secret", "shop", "ghost"),
        ObjectRef::new("Service", "shop", "auth"),
        ObjectRef::new("Service", "shop", "ghost"),
        ObjectRef::new("Node", "", "n1"),
    ];
    let config_edit = Change {
        subject: dep("auth"),
        at: 0,
        kind: "config-edit",
        message: "ConfigMap auth-config edited".into(),
        via: Some(ObjectRef::new("ConfigMap", "shop", "auth-config")),
    };
    let empty = Snapshot::new(Manifest::new(
        ClusterInfo::default(),
        "2026-01-01T00:00:00Z".into(),
    ));
    for snap in [&shop(), &empty] {
        let rel = Relations::build(snap);
        for subject in &subjects {
            let hits = vec![hit(
                subject,
                "OOMKilled",
                "Pod shop/auth-3-a status.containerStatuses[auth].lastState",
                "x",
            )];
            let facts = Facts::new(snap, &rel, &hits, &[0]);
            for category in CATEGORIES {
                for change in [None, Some(&rollout()), Some(&config_edit)] {
                    for workload in [None, Some(subject)] {
                        let rs = remedies(category, subject, workload, change, &facts);
                        assert!(!rs.is_empty());
                        for r in &rs {
                            for t in texts(r) {
                                assert_eq!(placeholder(t), None, "{category} on {subject}: {t}");
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn statefulset_image_returns_to_its_previous_controller_revision() {
    let mut s = shop();
    let sts = |image: &str| json!({"containers": [{"name": "db", "image": image}]});
    s.insert_list(list(
        "apps",
        "statefulsets",
        vec![json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": meta("db", json!({})),
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": sts("postgres:17.1")}}})],
    ));
    let rev = |n: i64, image: &str| {
        json!({"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": meta(&format!("db-{n}"), json!({"ownerReferences": owner("StatefulSet", "db")})),
            "revision": n, "data": {"spec": {"template": {"spec": sts(image), "$patch": "replace"}}}})
    };
    s.insert_list(list(
        "apps",
        "controllerrevisions",
        vec![rev(1, "postgres:16.4"), rev(2, "postgres:17.1")],
    ));
    let db = ObjectRef::new("StatefulSet", "shop", "db");
    let rs = run(
        &s,
        "ImagePullBackOff",
        &db,
        hit(&db, "ImagePullBackOff", "x", "y"),
        None,
    );
    let r = rs
        .iter()
        .find(|r| r.title.starts_with("Fix the image"))
        .expect("image remedy");
    assert_eq!(
        r.steps[1],
        "kubectl set image statefulset/db -n shop db=postgres:16.4   # the images of revision 1"
    );
    assert!(all_text(&rs).contains("kubectl get pods -n shop -l app=db -w"));
}
