use super::*;
use crate::relations::RelationKind;
use crate::relations::tests::{r, snapshot};
use serde_json::{Value, json};

fn dep(ns: &str, name: &str, env: Value, spec: Value, annotations: Value) -> Value {
    let mut pod_spec = json!({"containers": [{"name": "app", "env": env}]});
    if let Value::Object(m) = spec {
        for (k, v) in m {
            pod_spec[k] = v;
        }
    }
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "uid": format!("d-{ns}-{name}")},
        "spec": {"selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}, "annotations": annotations}, "spec": pod_spec}}})
}

fn svc(ns: &str, name: &str, ip: &str, port: i64) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "uid": format!("s-{ns}-{name}")},
        "spec": {"selector": {"app": name}, "clusterIP": ip, "ports": [{"port": port}]}})
}

fn env(pairs: &[(&str, &str)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect(),
    )
}

/// (from, to, sources) of every edge leaving `from`.
fn edges_of(map: &ServiceMap, from: &ObjectRef) -> Vec<(String, Vec<String>)> {
    map.edges_from(from)
        .iter()
        .map(|e| {
            let mut sources: Vec<String> = e.evidence.iter().map(|x| x.source.clone()).collect();
            sources.dedup();
            (e.to.to_string(), sources)
        })
        .collect()
}

fn shop() -> Snapshot {
    let mut objects = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod", "uid": "ns-prod", "labels": {"env": "prod"}}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "uid": "ns-shop"}}),
    ];
    for (i, name) in [
        "db",
        "redis",
        "auth",
        "checkout",
        "search",
        "mq",
        "users",
        "memcached",
        "client",
    ]
    .iter()
    .enumerate()
    {
        objects.push(svc("shop", name, &format!("10.96.0.{}", 10 + i), 8080));
    }
    for (i, name) in ["db", "ledger", "billing"].iter().enumerate() {
        objects.push(svc("prod", name, &format!("10.96.1.{}", 10 + i), 8080));
    }
    objects.push(dep("prod", "ledger", json!([]), json!({}), json!({})));
    objects.push(dep(
        "shop",
        "client",
        env(&[
            ("DB_HOST", "db"),
            ("LEDGER", "ledger.prod"),
            (
                "BILLING_URL",
                "http://billing.prod.svc.cluster.local:9000/v1",
            ),
            ("PROD_DB", "db.prod.svc"),
            ("CACHE", "redis:6379"),
            (
                "DATABASE_URL",
                "postgres://auth:<redacted:0123456789ab>@users:5432/x",
            ),
            ("PEERS", "search:9200, mq:5672"),
            ("STRIPE", "https://api.stripe.com/v1/charges"),
            ("SELF", "client:8080"),
            // Negatives: substrings, lookalikes, constants, non-address keys.
            ("AUTHOR", "auth-team"),
            ("NAME", "mycheckout-x"),
            ("CHECKOUT_DB", "checkout_db:5432"),
            ("MODE", "AUTH"),
            ("CACHE_DRIVER", "memcached"),
            ("SERVICE_NAME", "checkout"),
            ("NOTE", "talk to checkout later"),
            ("LOG_FILE", "/var/log/app.log"),
            ("GHOST", "ghost.prod:80"),
            ("LOCAL", "http://localhost:8080"),
        ]),
        json!({}),
        json!({}),
    ));
    objects.push(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "worker-env", "namespace": "shop", "uid": "cm1"},
        "data": {"QUEUE_HOST": "mq", "MODE": "auth"}}));
    objects.push(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "worker-files", "namespace": "shop", "uid": "cm2"},
        "data": {"app.yaml": "db:\n  url: jdbc:postgresql://db.prod:5432/x\ncache:\n  host: redis\n  mode: auth\n"}}));
    objects.push(dep(
        "shop",
        "worker",
        json!([{"name": "Q", "valueFrom": {"configMapKeyRef": {"name": "worker-env", "key": "QUEUE_HOST"}}}]),
        json!({"containers": [{"name": "app", "envFrom": [{"configMapRef": {"name": "worker-env"}}]}],
            "volumes": [{"name": "files", "configMap": {"name": "worker-files"}}]}),
        json!({}),
    ));
    objects.push(dep(
        "shop",
        "reporter",
        json!([]),
        json!({}),
        json!({"intel.kubectl.io/depends-on": "search, prod/billing, worker, nothing-here"}),
    ));
    // search: a Deployment with a running pod whose log dials mq's ClusterIP.
    objects.push(dep("shop", "search", json!([]), json!({}), json!({})));
    objects.push(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "search-1", "namespace": "shop", "uid": "p-search", "labels": {"app": "search"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "search", "uid": "d-shop-search", "controller": true}]},
        "spec": {"nodeName": "n1", "containers": [{"name": "app"}]}}));
    // NetworkPolicy: worker may reach ledger pods in prod; a namespace-wide peer is no evidence.
    objects.push(json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "worker-egress", "namespace": "shop", "uid": "np1"},
        "spec": {"podSelector": {"matchLabels": {"app": "worker"}}, "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"namespaceSelector": {"matchLabels": {"env": "prod"}}, "podSelector": {"matchLabels": {"app": "ledger"}}}],
                 "ports": [{"port": 8080, "protocol": "TCP"}]},
                {"to": [{"namespaceSelector": {}}]},
                {"to": [{"podSelector": {"matchLabels": {"app": "db"}}}], "ports": [{"port": 5432}]}
            ]}}));
    let log = "2026-01-01T00:00:00Z connecting to amqp 10.96.0.15:5672 ok\nself 10.96.0.14:8080\nunknown 10.96.9.9:1\n";
    snapshot(objects, vec![("shop", "search-1", log)])
}

#[test]
fn env_forms_resolve_strictly() {
    let s = shop();
    let rel = Relations::build(&s);
    let map = rel.service_map();
    assert_eq!(
        edges_of(map, &r("Deployment", "shop", "client")),
        vec![
            (
                "External/api.stripe.com".to_string(),
                vec!["env".to_string()]
            ),
            ("Service/prod/billing".into(), vec!["env".into()]),
            ("Service/prod/db".into(), vec!["env".into()]),
            ("Service/prod/ledger".into(), vec!["env".into()]),
            ("Service/shop/db".into(), vec!["env".into()]),
            ("Service/shop/mq".into(), vec!["env".into()]),
            ("Service/shop/redis".into(), vec!["env".into()]),
            ("Service/shop/search".into(), vec!["env".into()]),
            ("Service/shop/users".into(), vec!["env".into()]),
        ]
    );
    let users = &map.edges_from(&r("Deployment", "shop", "client"))[8];
    assert_eq!(
        users.evidence[0],
        Evidence {
            source: "env".into(),
            object: r("Deployment", "shop", "client"),
            field: "spec.template.spec.containers[app].env[DATABASE_URL]".into(),
            text: "postgres://users:5432".into(),
        }
    );
    let ext = map.node(&ObjectRef::external("api.stripe.com")).unwrap();
    assert_eq!(ext.kind, "External");
    let ledger = map.node(&r("Service", "prod", "ledger")).unwrap();
    assert_eq!(ledger.service_for, Some(r("Deployment", "prod", "ledger")));
    assert_eq!(
        map.depends_on(&r("Deployment", "shop", "client")),
        vec![
            &r("Deployment", "prod", "ledger"),
            &r("Deployment", "shop", "search")
        ],
        "only Services with a workload behind them resolve to workloads"
    );
}

#[test]
fn config_maps_annotations_logs_and_policies() {
    let s = shop();
    let rel = Relations::build(&s);
    let map = rel.service_map();
    assert_eq!(
        edges_of(map, &r("Deployment", "shop", "worker")),
        vec![
            ("Service/prod/db".to_string(), vec!["configmap".to_string()]),
            ("Service/prod/ledger".into(), vec!["networkpolicy".into()]),
            ("Service/shop/mq".into(), vec!["configmap".into()]),
            ("Service/shop/redis".into(), vec!["configmap".into()]),
        ],
        "mode: auth is not an address; the port-5432 rule matches no db Service port; \
         a namespace-wide peer is no evidence"
    );
    let mq = &map.edges_from(&r("Deployment", "shop", "worker"))[2];
    let fields: Vec<&str> = mq.evidence.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        vec!["data[QUEUE_HOST]"],
        "valueFrom and envFrom give one item"
    );
    assert_eq!(
        edges_of(map, &r("Deployment", "shop", "reporter")),
        vec![
            (
                "Deployment/shop/worker".to_string(),
                vec!["annotation".to_string()]
            ),
            ("Service/prod/billing".into(), vec!["annotation".into()]),
            ("Service/shop/search".into(), vec!["annotation".into()]),
        ]
    );
    let search = map.edges_from(&r("Deployment", "shop", "search"));
    assert_eq!(
        search.len(),
        1,
        "own ClusterIP and unknown IPs give nothing"
    );
    assert_eq!(search[0].to, r("Service", "shop", "mq"));
    assert_eq!(
        search[0].evidence,
        vec![Evidence {
            source: "log".into(),
            object: r("Pod", "shop", "search-1"),
            field: "logs/shop/search-1/app.log".into(),
            text: "2026-01-01T00:00:00Z connecting to amqp 10.96.0.15:5672 ok".into(),
        }]
    );
    assert_eq!(
        map.dependents_of(&r("Deployment", "shop", "search")),
        vec![
            &r("Deployment", "shop", "client"),
            &r("Deployment", "shop", "reporter")
        ]
    );
    // Relations carry the map's edges as DependsOn.
    let d = rel
        .related(
            &r("Deployment", "shop", "reporter"),
            &r("Deployment", "shop", "worker"),
        )
        .unwrap();
    assert_eq!(d.kind, RelationKind::DependsOn);
    assert!(
        d.evidence
            .starts_with("annotation spec.template.metadata.annotations")
    );
}

#[test]
fn paths_take_the_shortest_route_by_name() {
    let mut objects = Vec::new();
    for name in ["payment", "checkout", "zeta", "inventory", "audit"] {
        objects.push(svc("pay", name, "None", 80));
    }
    objects.push(dep(
        "pay",
        "payment",
        env(&[
            ("CHECKOUT_ADDR", "checkout:80"),
            ("ZETA_URL", "http://zeta"),
        ]),
        json!({}),
        json!({}),
    ));
    objects.push(dep(
        "pay",
        "checkout",
        env(&[("INVENTORY_URL", "http://inventory/")]),
        json!({}),
        json!({}),
    ));
    objects.push(dep(
        "pay",
        "zeta",
        env(&[("INVENTORY_URL", "http://inventory.pay/")]),
        json!({}),
        json!({}),
    ));
    objects.push(dep(
        "pay",
        "inventory",
        env(&[("AUDIT", "audit.pay.svc.cluster.local")]),
        json!({}),
        json!({}),
    ));
    objects.push(dep("pay", "audit", json!([]), json!({}), json!({})));
    let s = snapshot(objects, vec![]);
    let rel = Relations::build(&s);
    let map = rel.service_map();
    let p = |n: &str| r("Deployment", "pay", n);
    assert_eq!(
        map.path(&p("payment"), &p("inventory")),
        Some(vec![p("payment"), p("checkout"), p("inventory")])
    );
    assert_eq!(
        map.path(&p("payment"), &p("audit")),
        Some(vec![
            p("payment"),
            p("checkout"),
            p("inventory"),
            p("audit")
        ])
    );
    assert_eq!(map.path(&p("inventory"), &p("payment")), None);
    assert_eq!(map.path(&p("audit"), &p("audit")), Some(vec![p("audit")]));
    assert_eq!(
        map.depends_on(&p("payment")),
        vec![&p("checkout"), &p("zeta")]
    );
    assert_eq!(
        map.dependents_of(&p("inventory")),
        vec![&p("checkout"), &p("zeta")]
    );
}

#[test]
fn names_of_no_service_are_kept_as_unresolved_by_their_shape() {
    let s = snapshot(
        vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "pay", "uid": "ns-pay"}}),
            svc("pay", "ledger", "10.96.9.9", 80),
            dep("pay", "ledger", json!([]), json!({}), json!({})),
            dep(
                "pay",
                "invoicing",
                env(&[
                    ("A", "http://ledgr.pay.svc.cluster.local:80"),
                    ("B", "ledgr.pay:80"),
                    ("C", "ledgr:80"),
                    ("D", "https://api.stripe.com"),
                    ("E", "http://localhost:8080"),
                    ("F", "otel-collector.observability.svc:4317"),
                    ("G", "ledger:80"),
                ]),
                json!({}),
                json!({}),
            ),
        ],
        vec![],
    );
    let rel = Relations::build(&s);
    let map = rel.service_map();
    let got: Vec<(&str, &str, bool)> = map
        .unresolved
        .iter()
        .map(|u| (u.host.as_str(), u.service.as_str(), u.qualified))
        .collect();
    // In-cluster forms of a namespace the snapshot has, and a bare name, with no such
    // Service; never an external host, localhost, a namespace not captured, or a
    // name that resolves.
    assert_eq!(
        got,
        vec![
            ("ledgr", "ledgr", false),
            ("ledgr.pay", "ledgr", true),
            ("ledgr.pay.svc.cluster.local", "ledgr", true),
        ]
    );
    assert!(
        map.unresolved
            .iter()
            .all(|u| u.from == r("Deployment", "pay", "invoicing"))
    );
}

#[test]
fn headless_members_and_gateway_routes() {
    let mut headless = svc("data", "pg", "None", 5432);
    headless["spec"]["clusterIP"] = json!("None");
    let s = snapshot(
        vec![
            headless,
            svc("data", "web", "10.96.5.5", 80),
            dep("data", "pg", json!([]), json!({}), json!({})),
            dep(
                "data",
                "web",
                env(&[
                    ("PRIMARY", "pg-0.pg.data.svc.cluster.local:5432"),
                    ("REPLICA", "pg-1.pg:5432"),
                ]),
                json!({}),
                json!({}),
            ),
            json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                "metadata": {"name": "edge", "namespace": "data", "uid": "hr1"},
                "spec": {"rules": [{"backendRefs": [{"name": "web", "port": 80}, {"name": "missing"},
                    {"kind": "Bucket", "group": "storage.example.com", "name": "web"}]}]}}),
        ],
        vec![],
    );
    let rel = Relations::build(&s);
    let map = rel.service_map();
    let web = map.edges_from(&r("Deployment", "data", "web"));
    assert_eq!(web.len(), 1);
    assert_eq!(web[0].to, r("Service", "data", "pg"));
    assert_eq!(web[0].evidence.len(), 2, "both StatefulSet member names");
    let route = r("HTTPRoute", "data", "edge");
    assert_eq!(map.node(&route).unwrap().kind, INGRESS);
    assert_eq!(
        edges_of(map, &route),
        vec![("Service/data/web".to_string(), vec!["ingress".to_string()])]
    );
    let routes: Vec<String> = rel
        .from(&route)
        .iter()
        .map(|x| format!("{:?} {}", x.kind, x.to))
        .collect();
    assert_eq!(
        routes,
        vec!["Routes Service/data/missing", "Routes Service/data/web"]
    );
    assert_eq!(
        map.path(&route, &r("Deployment", "data", "pg"))
            .map(|p| p.len()),
        Some(3)
    );
}

#[test]
fn demo_service_map_is_exact() {
    let s = intel_fixture::snapshot();
    let rel = Relations::build(&s);
    let map = rel.service_map();
    let got: Vec<(String, String, Vec<String>)> = map
        .edges
        .iter()
        .map(|e| {
            let mut sources: Vec<String> = e.evidence.iter().map(|x| x.source.clone()).collect();
            sources.dedup();
            (e.from.to_string(), e.to.to_string(), sources)
        })
        .collect();
    let want = [
        ("Deployment/shop/auth", "Service/shop/postgres", vec!["env"]),
        (
            "Deployment/shop/checkout",
            "Service/shop/auth",
            vec!["env", "log"],
        ),
        (
            "Deployment/shop/checkout",
            "Service/shop/postgres",
            vec!["env"],
        ),
        (
            "Deployment/shop/checkout",
            "Service/shop/redis",
            vec!["env"],
        ),
        (
            "Deployment/shop/frontend",
            "Service/shop/checkout",
            vec!["env"],
        ),
        (
            "Ingress/shop/shop",
            "Service/shop/frontend",
            vec!["ingress"],
        ),
    ];
    let want: Vec<(String, String, Vec<String>)> = want
        .iter()
        .map(|(a, b, c)| {
            (
                a.to_string(),
                b.to_string(),
                c.iter().map(|s| s.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(got, want);

    let edge = |from: &str, to: &str| {
        map.edges
            .iter()
            .find(|e| e.from.name == from && e.to.name == to)
            .unwrap()
    };
    let pg = &edge("checkout", "postgres").evidence[0];
    assert_eq!(
        pg.field,
        "spec.template.spec.containers[checkout].env[DATABASE_URL]"
    );
    assert_eq!(pg.text, "postgres://postgres.shop:5432");
    let auth = edge("checkout", "auth");
    let log = auth.evidence.iter().find(|e| e.source == "log").unwrap();
    assert!(
        log.text.contains("dial tcp 10.96.3.12:9000"),
        "{}",
        log.text
    );
    assert!(log.text.chars().count() <= 200);
    assert_eq!(log.object.kind, "Pod");
    assert!(auth.evidence.iter().filter(|e| e.source == "log").count() <= MAX_LOG_EVIDENCE);
    assert_eq!(edge("checkout", "redis").evidence[0].text, "redis");
    assert_eq!(
        edge("frontend", "checkout").evidence[0].text,
        "http://checkout.shop.svc.cluster.local:8080"
    );

    let d = |n: &str| r("Deployment", "shop", n);
    let pg_sts = r("StatefulSet", "shop", "postgres");
    assert_eq!(
        map.node(&r("Service", "shop", "auth")).unwrap().service_for,
        Some(d("auth"))
    );
    assert_eq!(
        map.node(&r("Service", "shop", "postgres"))
            .unwrap()
            .service_for,
        Some(pg_sts.clone())
    );
    assert_eq!(
        map.depends_on(&d("checkout")),
        vec![&d("auth"), &d("redis"), &pg_sts]
    );
    assert_eq!(map.dependents_of(&pg_sts), vec![&d("auth"), &d("checkout")]);
    // All dependents at once equal each workload's, asked one by one.
    let all = map.dependents();
    for n in map.nodes.iter().filter(|n| n.kind == WORKLOAD) {
        let one = map.dependents_of(&n.id);
        assert_eq!(
            all.get(&n.id).cloned().unwrap_or_default(),
            one,
            "{:?}",
            n.id
        );
    }
    assert!(!all.is_empty());
    assert_eq!(
        map.path(&r("Ingress", "shop", "shop"), &pg_sts),
        Some(vec![
            r("Ingress", "shop", "shop"),
            d("frontend"),
            d("checkout"),
            pg_sts.clone()
        ])
    );
    assert_eq!(
        map.node(&r("Ingress", "shop", "shop")).unwrap().kind,
        INGRESS
    );

    // Deterministic, and building again from the relations gives the same map.
    let again = ServiceMap::build(&s, &rel);
    assert_eq!(&again, map);
    let json = serde_json::to_string(map).unwrap();
    assert_eq!(
        json,
        serde_json::to_string(&Relations::build(&intel_fixture::snapshot()).service_map()).unwrap()
    );
    assert!(!json.contains("hunter2"), "no credential in evidence");
    assert!(json.contains("\"serviceFor\""));
}
