use super::*;

use serde_json::{Value, json};

/// The engines' tests state a cluster in a few objects and logs.
pub use intel_fixture::snapshot_with_logs as snapshot;

pub fn r(kind: &str, ns: &str, name: &str) -> ObjectRef {
    ObjectRef::new(kind, ns, name)
}

fn meta(
    name: &str,
    ns: &str,
    uid: &str,
    labels: Value,
    owner: Option<(&str, &str, &str)>,
) -> Value {
    let mut m = json!({"name": name, "uid": uid, "labels": labels});
    if !ns.is_empty() {
        m["namespace"] = json!(ns);
    }
    if let Some((kind, oname, ouid)) = owner {
        m["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind, "name": oname, "uid": ouid, "controller": true}]);
    }
    m
}

fn cluster() -> Snapshot {
    let pod =
        |name: &str, owner: Option<(&str, &str, &str)>, node: &str, labels: Value, extra: Value| {
            let mut p = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": meta(name, "a", &format!("u-{name}"), labels, owner),
            "spec": {"nodeName": node, "containers": [{"name": "app"}]}});
            if let Value::Object(m) = extra {
                for (k, v) in m {
                    p["spec"][k] = v;
                }
            }
            p
        };
    snapshot(
        vec![
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "uid": "n1",
                "labels": {"topology.kubernetes.io/zone": "z1"}}}),
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n2", "uid": "n2",
                "labels": {"failure-domain.beta.kubernetes.io/zone": "z2"}}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("web", "a", "d1", json!({}), None),
                "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "envFrom": [{"configMapRef": {"name": "web-env"}}],
                        "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "web-secret", "key": "pw"}}}]}],
                        "volumes": [{"name": "cfg", "projected": {"sources": [{"configMap": {"name": "web-files"}}]}}]}}}}),
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta("web-7f", "a", "r1", json!({"app": "web"}), Some(("Deployment", "web", "d1")))}),
            pod(
                "web-7f-1",
                Some(("ReplicaSet", "web-7f", "r1")),
                "n1",
                json!({"app": "web", "pod-template-hash": "7f"}),
                json!({"containers": [{"name": "app", "envFrom": [{"configMapRef": {"name": "web-env"}}]}]}),
            ),
            pod(
                "web-7f-2",
                Some(("ReplicaSet", "web-7f", "r1")),
                "n2",
                json!({"app": "web", "pod-template-hash": "7f"}),
                json!({}),
            ),
            pod(
                "web-7f-3",
                Some(("ReplicaSet", "web-7f", "r1")),
                "n2",
                json!({"app": "web", "pod-template-hash": "7f"}),
                json!({}),
            ),
            // A pod whose ReplicaSet was not captured, a bare pod, a static pod.
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("api", "a", "d2", json!({}), None),
                "spec": {"template": {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": []}}}}),
            pod(
                "api-5c-1",
                Some(("ReplicaSet", "api-5c", "gone")),
                "n1",
                json!({"app": "api", "pod-template-hash": "5c"}),
                json!({}),
            ),
            pod(
                "debug",
                None,
                "n1",
                json!({"app": "debug"}),
                json!({"imagePullSecrets": [{"name": "pull"}]}),
            ),
            {
                let mut p = pod(
                    "etcd-n1",
                    None,
                    "n1",
                    json!({"component": "etcd"}),
                    json!({}),
                );
                p["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "n1", "controller": true}]);
                p
            },
            // CronJob → Job → pod
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("backup", "a", "cj", json!({}), None),
                "spec": {"jobTemplate": {"spec": {"template": {"metadata": {"labels": {"app": "backup"}},
                    "spec": {"containers": [{"name": "b", "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "backup-cfg", "key": "k"}}}]}]}}}}}}),
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "backup-1", "namespace": "a", "uid": "j1",
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "backup", "uid": "cj", "controller": true}]}}),
            pod(
                "backup-1-x",
                Some(("Job", "backup-1", "j1")),
                "n2",
                json!({"app": "backup"}),
                json!({"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}),
            ),
            // Storage
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta("data", "a", "pvc1", json!({}), None),
                "spec": {"volumeName": "pv-1"}}),
            json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta("pv-1", "", "pv1", json!({}), None),
                "spec": {"claimRef": {"namespace": "a", "name": "data"}, "nodeAffinity": {"required": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["z2"]}]}]}}}}),
            // Selection
            json!({"apiVersion": "v1", "kind": "Service", "metadata": meta("web", "a", "s1", json!({}), None),
                "spec": {"selector": {"app": "web"}, "clusterIP": "10.96.0.1"}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": meta("backup", "a", "s2", json!({}), None),
                "spec": {"selector": {"app": "backup"}}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": meta("web", "b", "s3", json!({}), None),
                "spec": {"selector": {"app": "web"}}}),
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta("web", "a", "pdb1", json!({}), None),
                "spec": {"selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}}}),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta("deny", "a", "np1", json!({}), None),
                "spec": {"podSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}}}),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta("edge", "a", "i1", json!({}), None),
                "spec": {"rules": [{"host": "x.example.com", "http": {"paths": [{"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}),
            json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta("web", "a", "h1", json!({}), None),
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("web-env", "a", "c1", json!({}), None), "data": {}}),
        ],
        vec![],
    )
}

fn targets(rel: &Relations, from: &ObjectRef, kind: RelationKind) -> Vec<String> {
    rel.from(from)
        .iter()
        .filter(|r| r.kind == kind)
        .map(|r| r.to.to_string())
        .collect()
}

#[test]
fn owner_chains_and_workloads() {
    let s = cluster();
    let rel = Relations::build(&s);
    assert_eq!(
        rel.workload_of(&r("Pod", "a", "web-7f-1")),
        r("Deployment", "a", "web")
    );
    assert_eq!(
        rel.workload_of(&r("ReplicaSet", "a", "web-7f")),
        r("Deployment", "a", "web")
    );
    assert_eq!(
        rel.workload_of(&r("Pod", "a", "backup-1-x")),
        r("CronJob", "a", "backup")
    );
    assert_eq!(
        rel.workload_of(&r("Pod", "a", "debug")),
        r("Pod", "a", "debug")
    );
    assert_eq!(
        rel.workload_of(&r("Pod", "a", "etcd-n1")),
        r("Pod", "a", "etcd-n1"),
        "a Node owner is no workload"
    );
    assert_eq!(
        rel.workload_of(&r("Pod", "a", "api-5c-1")),
        r("Deployment", "a", "api"),
        "missing ReplicaSet inferred from pod-template-hash"
    );
    assert_eq!(
        targets(&rel, &r("Pod", "a", "web-7f-1"), RelationKind::OwnedBy),
        vec!["ReplicaSet/a/web-7f"]
    );
    assert_eq!(
        targets(&rel, &r("Pod", "a", "etcd-n1"), RelationKind::OwnedBy),
        vec!["Node/n1"]
    );
    assert_eq!(
        rel.pods_of(&r("Deployment", "a", "web")),
        vec![
            r("Pod", "a", "web-7f-1"),
            r("Pod", "a", "web-7f-2"),
            r("Pod", "a", "web-7f-3")
        ]
    );
    let wls: Vec<String> = rel.workloads().map(|w| w.to_string()).collect();
    assert_eq!(
        wls,
        vec![
            "CronJob/a/backup",
            "Deployment/a/api",
            "Deployment/a/web",
            "Pod/a/debug",
            "Pod/a/etcd-n1"
        ]
    );
}

#[test]
fn nodes_zones_and_storage() {
    let s = cluster();
    let rel = Relations::build(&s);
    let on_n2: Vec<String> = rel
        .to(&r("Node", "", "n2"))
        .iter()
        .filter(|x| x.kind == RelationKind::RunsOn)
        .map(|x| x.from.to_string())
        .collect();
    assert_eq!(
        on_n2,
        vec![
            "CronJob/a/backup",
            "Deployment/a/web",
            "Pod/a/backup-1-x",
            "Pod/a/web-7f-2",
            "Pod/a/web-7f-3"
        ]
    );
    let web_n2 = rel
        .related(&r("Deployment", "a", "web"), &r("Node", "", "n2"))
        .unwrap();
    assert_eq!(
        (web_n2.kind, web_n2.evidence.as_str()),
        (RelationKind::RunsOn, "2 pod(s) on the node")
    );
    assert_eq!(
        targets(&rel, &r("Node", "", "n1"), RelationKind::InZone),
        vec!["Zone/z1"]
    );
    assert_eq!(
        targets(&rel, &r("Node", "", "n2"), RelationKind::InZone),
        vec!["Zone/z2"]
    );
    // Pod → PVC → PV → zone
    assert_eq!(
        targets(&rel, &r("Pod", "a", "backup-1-x"), RelationKind::Mounts),
        vec!["PersistentVolumeClaim/a/data"]
    );
    assert_eq!(
        targets(
            &rel,
            &r("PersistentVolumeClaim", "a", "data"),
            RelationKind::BoundTo
        ),
        vec!["PersistentVolume/pv-1"]
    );
    assert_eq!(
        targets(
            &rel,
            &r("PersistentVolume", "", "pv-1"),
            RelationKind::InZone
        ),
        vec!["Zone/z2"]
    );
    assert_eq!(
        rel.from(&r("PersistentVolumeClaim", "a", "data")).len(),
        1,
        "spec.volumeName and the PV's claimRef give one relation"
    );
}

#[test]
fn selection_routes_scaling_and_config() {
    let s = cluster();
    let rel = Relations::build(&s);
    let web1 = r("Pod", "a", "web-7f-1");
    assert_eq!(
        targets(&rel, &web1, RelationKind::SelectedBy),
        vec!["PodDisruptionBudget/a/web", "Service/a/web"]
    );
    assert_eq!(
        targets(&rel, &r("Pod", "a", "debug"), RelationKind::SelectedBy),
        vec!["NetworkPolicy/a/deny"],
        "NotIn web selects the others only"
    );
    let svc_web: Vec<String> = rel
        .to(&r("Service", "a", "web"))
        .iter()
        .map(|x| format!("{:?} {}", x.kind, x.from))
        .collect();
    assert_eq!(
        svc_web,
        vec![
            "SelectedBy Deployment/a/web",
            "SelectedBy Pod/a/web-7f-1",
            "SelectedBy Pod/a/web-7f-2",
            "SelectedBy Pod/a/web-7f-3",
            "Routes Ingress/a/edge"
        ],
        "other namespace's pods are not selected; ingress routes"
    );
    assert!(rel.to(&r("Service", "b", "web")).is_empty());
    assert_eq!(
        rel.related(&r("Deployment", "a", "web"), &r("Service", "a", "web"))
            .unwrap()
            .evidence,
        "3 pod(s) selected by spec.selector app=web"
    );
    // Template-level selection for a CronJob with a running pod, and pod-level.
    assert!(
        rel.related(&r("CronJob", "a", "backup"), &r("Service", "a", "backup"))
            .is_some()
    );
    let hpa = rel
        .related(
            &r("Deployment", "a", "web"),
            &r("HorizontalPodAutoscaler", "a", "web"),
        )
        .unwrap();
    assert_eq!(
        (hpa.kind, hpa.from.kind.as_str()),
        (RelationKind::Scales, "HorizontalPodAutoscaler")
    );
    assert_eq!(
        targets(&rel, &r("Deployment", "a", "web"), RelationKind::UsesConfig),
        vec![
            "ConfigMap/a/web-env",
            "ConfigMap/a/web-files",
            "Secret/a/web-secret"
        ]
    );
    let missing = rel
        .related(
            &r("Deployment", "a", "web"),
            &r("ConfigMap", "a", "web-files"),
        )
        .unwrap();
    assert!(
        missing.evidence.ends_with("ConfigMap not in snapshot"),
        "{}",
        missing.evidence
    );
    assert!(
        targets(&rel, &web1, RelationKind::UsesConfig).is_empty(),
        "kept on the workload"
    );
    assert_eq!(
        targets(&rel, &r("Pod", "a", "debug"), RelationKind::UsesConfig),
        vec!["Secret/a/pull"],
        "a bare pod keeps its own"
    );
    assert_eq!(
        targets(&rel, &r("CronJob", "a", "backup"), RelationKind::UsesConfig),
        vec!["ConfigMap/a/backup-cfg"]
    );
    assert!(
        rel.related(&r("Pod", "a", "debug"), &r("Service", "a", "web"))
            .is_none()
    );
}

#[test]
fn hostile_objects_never_panic() {
    let s = snapshot(
        vec![
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad", "namespace": "a", "uid": "p1",
                "ownerReferences": [{"kind": "ReplicaSet", "name": "x", "uid": "loop-a", "controller": true}]},
                "spec": {"containers": "oops", "nodeName": 7}}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "env", "namespace": "a", "uid": "p2"},
                "spec": {"containers": [{"name": "c", "env": [{"name": "N", "value": 42}]}], "volumes": null}}),
            // An ownership cycle.
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "x", "namespace": "a", "uid": "loop-a",
                "ownerReferences": [{"kind": "ReplicaSet", "name": "y", "uid": "loop-b", "controller": true}]}}),
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "y", "namespace": "a", "uid": "loop-b",
                "ownerReferences": [{"kind": "ReplicaSet", "name": "x", "uid": "loop-a", "controller": true}]}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "a", "uid": "s1"}, "spec": null}),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "a", "uid": "i1"},
                "spec": {"rules": [{"http": {"paths": [{"backend": {"service": {"name": 5}}}]}}]}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "a", "uid": "c1"}, "data": null}),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "n", "namespace": "a", "uid": "n1"},
                "spec": {"podSelector": {"matchExpressions": [{"key": "app", "operator": "Bogus"}]},
                    "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "x"}}}], "ports": [{"port": "http"}]}]}}),
            json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv", "uid": "pv1"},
                "spec": {"nodeAffinity": {"required": "nope"}, "claimRef": {"namespace": "a", "name": "gone"}}}),
        ],
        vec![("a", "bad", "dial tcp 999.1.1.1:80 \u{0}\u{ff} é 10.0.0.")],
    );
    let rel = Relations::build(&s);
    let w = rel.workload_of(&r("Pod", "a", "bad"));
    assert_eq!(w.kind, "ReplicaSet", "a cycle stops, it does not loop");
    assert!(
        rel.from(&r("PersistentVolume", "", "pv")).is_empty(),
        "a claim that is gone binds nothing"
    );
    assert!(rel.service_map().edges.is_empty());
}

#[test]
fn deterministic_and_sorted() {
    let a = Relations::build(&cluster());
    let b = Relations::build(&cluster());
    assert_eq!(a.all(), b.all());
    sorted(&a);
    let demo = Relations::build(&intel_fixture::snapshot());
    assert!(demo.all().iter().any(|r| r.kind == RelationKind::DependsOn));
    sorted(&demo);
}

fn sorted(a: &Relations) {
    assert!(a.all().windows(2).all(|w| w[0] < w[1]));
    assert!(
        a.inc
            .windows(2)
            .map(|w| (&a.out[w[0] as usize], &a.out[w[1] as usize]))
            .all(|(x, y)| (&x.to, x.kind, &x.from) < (&y.to, y.kind, &y.from))
    );
    assert_eq!(a.all().len(), a.inc.len());
    let mut seen = a.inc.clone();
    seen.sort_unstable();
    assert!(seen.iter().enumerate().all(|(i, &p)| p as usize == i));
}

#[test]
fn demo_relations() {
    let s = intel_fixture::snapshot();
    let rel = Relations::build(&s);
    let pods = rel.pods_of(&r("Deployment", "shop", "auth"));
    assert_eq!(pods.len(), 2);
    for p in &pods {
        assert_eq!(rel.workload_of(p), r("Deployment", "shop", "auth"));
        assert_eq!(
            targets(&rel, p, RelationKind::SelectedBy),
            vec!["PodDisruptionBudget/shop/auth", "Service/shop/auth"]
        );
    }
    assert_eq!(
        rel.workload_of(&r("Pod", "shop", "postgres-0")),
        r("StatefulSet", "shop", "postgres")
    );
    assert_eq!(
        targets(&rel, &r("Pod", "shop", "postgres-0"), RelationKind::RunsOn),
        vec!["Node/node-c1"]
    );
    assert_eq!(
        targets(&rel, &r("Pod", "shop", "postgres-0"), RelationKind::Mounts),
        vec!["PersistentVolumeClaim/shop/data-postgres-0"]
    );
    assert_eq!(
        targets(
            &rel,
            &r("PersistentVolume", "", "pvc-0d1e2f"),
            RelationKind::InZone
        ),
        vec!["Zone/eu-west-1c"]
    );
    assert_eq!(
        targets(
            &rel,
            &r("StatefulSet", "shop", "postgres"),
            RelationKind::UsesConfig
        ),
        vec!["Secret/shop/postgres-credentials"]
    );
    assert_eq!(
        targets(&rel, &r("Ingress", "shop", "shop"), RelationKind::Routes),
        vec!["Service/shop/frontend"]
    );
    let deps = targets(
        &rel,
        &r("Deployment", "shop", "checkout"),
        RelationKind::DependsOn,
    );
    assert_eq!(
        deps,
        vec![
            "Service/shop/auth",
            "Service/shop/postgres",
            "Service/shop/redis"
        ]
    );
    let nodes: Vec<String> = targets(
        &rel,
        &r("Deployment", "shop", "frontend"),
        RelationKind::RunsOn,
    );
    assert_eq!(nodes.len(), 2);
}

/// Scale check (run with `cargo test --release --lib scale_150k -- --ignored
/// --nocapture`): 150,000 pods, 10,000 Services, 5,000 nodes.
#[test]
#[ignore]
fn scale_150k_pods() {
    let t0 = std::time::Instant::now();
    let mut objects = Vec::new();
    for n in 0..5000 {
        objects.push(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": format!("n{n}"), "uid": format!("n{n}"),
            "labels": {"topology.kubernetes.io/zone": format!("z{}", n % 3)}}}));
    }
    let mut logs = Vec::new();
    for ns_i in 0..100 {
        let ns = format!("ns{ns_i}");
        objects.push(json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny", "namespace": ns, "uid": format!("np-{ns}")},
            "spec": {"podSelector": {}, "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "app1"}}}]}]}}));
        for a in 0..100 {
            let app = format!("app{a}");
            let uid = format!("d-{ns}-{app}");
            objects.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": app, "namespace": ns, "uid": uid},
                "spec": {"template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [{"name": "app",
                    "env": [{"name": "NEXT_HOST", "value": format!("app{}", (a + 1) % 100)},
                            {"name": "DB_URL", "value": format!("postgres://u:p@app{}.{ns}:5432/x", (a + 7) % 100)}],
                    "envFrom": [{"configMapRef": {"name": format!("{app}-env")}}]}]}}}}));
            objects.push(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("{app}-env"), "namespace": ns, "uid": format!("cm-{ns}-{app}")},
                "data": {"CACHE_HOST": format!("app{}", (a + 3) % 100), "MODE": "fast"}}));
            objects.push(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": format!("{app}-h"), "namespace": ns, "uid": format!("r-{ns}-{app}"),
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "uid": uid, "controller": true}]}}));
            objects.push(json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": app, "namespace": ns, "uid": format!("s-{ns}-{app}")},
                "spec": {"selector": {"app": app}, "clusterIP": format!("10.{}.{}.1", 100 + ns_i, a)}}));
            objects.push(
                json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                "metadata": {"name": app, "namespace": ns, "uid": format!("pdb-{ns}-{app}")},
                "spec": {"selector": {"matchLabels": {"app": app}}}}),
            );
            for p in 0..15 {
                let pod = format!("{app}-h-{p}");
                objects.push(json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": pod, "namespace": ns, "uid": format!("p-{ns}-{pod}"), "labels": {"app": app, "pod-template-hash": "h"},
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{app}-h"), "uid": format!("r-{ns}-{app}"), "controller": true}]},
                    "spec": {"nodeName": format!("n{}", (ns_i * 1500 + a * 15 + p) % 5000),
                        "containers": [{"name": "app", "env": [{"name": "NEXT_HOST", "value": format!("app{}", (a + 1) % 100)}],
                            "envFrom": [{"configMapRef": {"name": format!("{app}-env")}}]}]}}));
                if p == 0 {
                    logs.push((
                        ns.clone(),
                        pod,
                        format!(
                            "dial tcp 10.{}.{}.1:80: timeout\n",
                            100 + ns_i,
                            (a + 5) % 100
                        )
                        .repeat(20),
                    ));
                }
            }
        }
    }
    let mut s = snapshot(objects, vec![]);
    for (ns, pod, text) in logs {
        s.logs.insert(
            intel_model::LogKey {
                namespace: ns,
                pod,
                container: "app".into(),
                previous: false,
            },
            text,
        );
    }
    let t1 = std::time::Instant::now();
    s.index();
    let t2 = std::time::Instant::now();
    let rss = || {
        std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
            .map_or(0, |pages| pages * 4096 / (1 << 20))
    };
    let before = rss();
    let rel = Relations::build(&s);
    let t3 = std::time::Instant::now();
    eprintln!(
        "snapshot {:?}, index {:?}, relations+map {:?} (+{} MiB resident): {} relations, {} map edges",
        t1 - t0,
        t2 - t1,
        t3 - t2,
        rss().saturating_sub(before),
        rel.all().len(),
        rel.service_map().edges.len()
    );
    // Determinism at scale: sorted both ways.
    assert!(rel.all().windows(2).all(|w| w[0] < w[1]));
    assert!(
        rel.inc
            .windows(2)
            .all(|w| { inc_order(&rel.out[w[0] as usize], &rel.out[w[1] as usize]).is_lt() })
    );
    assert_eq!(rel.pods_of(&r("Deployment", "ns3", "app4")).len(), 15);
    assert_eq!(
        rel.service_map()
            .depends_on(&r("Deployment", "ns3", "app4"))
            .len(),
        5
    );
    assert!(
        t3 - t2 < std::time::Duration::from_secs(30),
        "relations at scale took {:?}",
        t3 - t2
    );
}
