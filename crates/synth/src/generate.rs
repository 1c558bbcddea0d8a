//! Assembles a whole cluster: nodes, system components, the shop (replicated over tenant
//! namespaces to reach the requested pod count), batch jobs, cluster-level objects; applies
//! the cluster's history and a scenario's faults; renders logs and metrics; returns a
//! snapshot like a capture's.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::apps::{self, AppSpec, Kind};
use super::history;
use super::logs::{self, LogOptions};
use super::metrics;
use super::scenario::Scenario;
use super::topology::{Pool, Topology};
use super::workload::{self, Built, Ips, object_meta};
use super::world::World;
use intel_model::manifest::{ClusterInfo, Collector, Manifest, Redaction, Window};
use intel_model::{LogKey, Object, ResourceList, ResourceType, Snapshot, TypeKey};

/// Default capture time: fixed, so a seed alone determines the bundle.
pub const DEFAULT_CAPTURED_AT: &str = "2026-11-24T14:00:00Z";

#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub nodes: usize,
    /// Target pod count; 0 = one shop at its natural size.
    pub pods: usize,
    pub captured_at: jiff::Timestamp,
    pub cluster_name: String,
    /// metrics.k8s.io samples over the last `samples * interval` minutes.
    pub samples: usize,
    pub sample_interval_minutes: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 1,
            nodes: 12,
            pods: 0,
            captured_at: DEFAULT_CAPTURED_AT
                .parse()
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            cluster_name: "synth".into(),
            samples: 6,
            sample_interval_minutes: 5.0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("scenario {scenario}: {message}")]
    Scenario { scenario: String, message: String },
    #[error("cannot build object: {0}")]
    Json(#[from] serde_json::Error),
}

/// Natural pods of one shop (before replica scaling).
fn shop_pods(specs: &[AppSpec]) -> u32 {
    specs.iter().map(|a| a.replicas).sum()
}

/// Builds the world: every object and signal, before faults.
pub fn baseline(opts: &Options) -> (World, Topology) {
    let mut world = World::new(opts.seed, opts.captured_at);
    let shop = apps::shop();
    let per_shop = shop_pods(&shop) as usize;
    // Tenants and a replica factor: at most 700 shops (13 Services each stays within the
    // 10,000-Service limit), Deployment replicas scaled up beyond that; batch Jobs fill the
    // rest (~8%) of the requested pods.
    let target = if opts.pods == 0 {
        per_shop
    } else {
        opts.pods * 92 / 100
    };
    let tenants = (target / per_shop).clamp(1, 700);
    let deploy_pods: u32 = shop
        .iter()
        .filter(|a| a.kind == Kind::Deployment)
        .map(|a| a.replicas)
        .sum();
    let other_pods = per_shop as f64 - deploy_pods as f64;
    let factor =
        ((target as f64 / tenants as f64 - other_pods) / deploy_pods.max(1) as f64).max(1.0);
    let tenant_pods: usize = tenants
        * shop
            .iter()
            .map(|a| replicas(a, factor) as usize)
            .sum::<usize>();
    // Pools sized for what the workloads request (a cluster too small for its pods would
    // make every scenario an Unschedulable one).
    let batch_estimate = opts.pods.saturating_sub(tenant_pods + 5 + opts.nodes);
    let mut demand = super::topology::Demand {
        batch_pods: batch_estimate,
        ..Default::default()
    };
    for a in &shop {
        let n = tenants as f64 * replicas(a, factor) as f64;
        let mem = a.mem_mi * 1024.0 * 1024.0 * n;
        match a.pool {
            Pool::Memory => {
                demand.memory_cpu_m += a.cpu_m * n;
                demand.memory_mem += mem;
            }
            _ => {
                demand.general_cpu_m += a.cpu_m * n;
                demand.general_mem += mem;
            }
        }
    }
    demand.general_cpu_m += 2000.0;
    demand.general_mem += 4.0 * 1024.0 * 1024.0 * 1024.0;
    let sizes = super::topology::pool_sizes(opts.nodes, &demand);
    let mut topo = Topology::build(&mut world, &sizes);
    let mut ips = Ips::default();

    cluster_objects(&mut world);
    // System namespaces.
    let mut system: BTreeMap<&str, Vec<AppSpec>> = BTreeMap::new();
    for (ns, spec) in apps::system() {
        system.entry(ns).or_default().push(spec);
    }
    for (ns, specs) in &system {
        namespace(&mut world, ns, json!({}));
        build_namespace(&mut world, &mut topo, &mut ips, ns, specs, 1.0);
    }
    // kube-dns is the Service name clients resolve; alias CoreDNS's Service.
    if let Some(mut svc) = world.get("Service", "kube-system", "coredns").cloned() {
        svc["metadata"]["name"] = json!("kube-dns");
        svc["metadata"]["uid"] = json!(world.rng.uid());
        svc["spec"]["clusterIP"] = json!("10.96.0.10");
        svc["spec"]["clusterIPs"] = json!(["10.96.0.10"]);
        svc["spec"]["selector"] = json!({"app": "coredns"});
        world.remove("Service", "kube-system", "coredns");
        world.add(svc);
    }
    for t in 0..tenants {
        let ns = if t == 0 {
            "shop".to_string()
        } else {
            format!("tenant-{t:04}")
        };
        namespace(&mut world, &ns, json!({"team": "commerce", "tenant": ns}));
        if let Some(n) = world.get_mut("Namespace", "", &ns) {
            n["metadata"]["annotations"] = json!({"intel.kubectl.io/revenue-per-hour": if t == 0 { "12000" } else { "800" },
                "intel.kubectl.io/users": if t == 0 { "45000" } else { "2500" }});
        }
        let mark = world.mark();
        build_namespace(&mut world, &mut topo, &mut ips, &ns, &shop, factor);
        shop_extras(&mut world, &ns, t == 0);
        // Scenarios edit `shop`; other tenants are final once built.
        if t > 0 {
            world.freeze_since(mark, &ns);
        }
    }
    // Exactly the requested total: system pods (kube-proxy on every node, DNS, metrics,
    // ingress) and the primary shop's two CronJob pods are counted.
    let placed = tenant_pods + 5 + topo.nodes.len() + 2;
    batch_jobs(
        &mut world,
        &mut topo,
        &mut ips,
        opts.pods.saturating_sub(placed),
    );
    (world, topo)
}

/// Replicas of an app in a tenant: Deployments scale with the factor, the rest do not.
fn replicas(a: &AppSpec, factor: f64) -> u32 {
    match a.kind {
        Kind::Deployment => (a.replicas as f64 * factor).round().max(1.0) as u32,
        _ => a.replicas,
    }
}

fn build_namespace(
    world: &mut World,
    topo: &mut Topology,
    ips: &mut Ips,
    ns: &str,
    specs: &[AppSpec],
    factor: f64,
) {
    let mut services = BTreeMap::new();
    for s in specs.iter().filter(|s| s.kind != Kind::DaemonSet) {
        services.insert(
            s.name.to_string(),
            Built {
                cluster_ip: ips.service(),
                port: s.port,
            },
        );
    }
    for s in specs {
        workload::build(world, topo, ips, ns, s, replicas(s, factor), &services);
    }
}

fn namespace(world: &mut World, ns: &str, labels: Value) {
    let mut l = labels;
    l["kubernetes.io/metadata.name"] = json!(ns);
    let m = object_meta(world, ns, "", 60.0 * 24.0 * 120.0, l);
    world.add(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": m, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}));
    let sa = object_meta(world, "default", ns, 60.0 * 24.0 * 120.0, Value::Null);
    world.add(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": sa}));
}

fn cluster_objects(world: &mut World) {
    for ns in ["default", "kube-public", "kube-node-lease"] {
        namespace(world, ns, json!({}));
    }
    let mut sc = object_meta(world, "gp3", "", 60.0 * 24.0 * 200.0, Value::Null);
    sc["annotations"] = json!({"storageclass.kubernetes.io/is-default-class": "true"});
    world.add(json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": sc, "provisioner": "ebs.csi.aws.com",
        "parameters": {"type": "gp3", "fsType": "ext4"}, "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": true}));
    for (name, value) in [
        ("system-cluster-critical", 2_000_000_000u64),
        ("system-node-critical", 2_000_001_000),
    ] {
        let m = object_meta(world, name, "", 60.0 * 24.0 * 200.0, Value::Null);
        world.add(json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": m, "value": value,
            "globalDefault": false, "preemptionPolicy": "PreemptLowerPriority", "description": "Used for system critical pods that must run in the cluster."}));
    }
    let ic = object_meta(world, "nginx", "", 60.0 * 24.0 * 200.0, Value::Null);
    world.add(json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": ic, "spec": {"controller": "k8s.io/ingress-nginx"}}));
}

/// Ingress, quota, limit range, network policies, CronJobs and their Jobs of one shop.
fn shop_extras(world: &mut World, ns: &str, primary: bool) {
    let host = if primary {
        "shop.example.com".to_string()
    } else {
        format!("{ns}.shop.example.com")
    };
    let mut im = object_meta(
        world,
        "storefront",
        ns,
        60.0 * 24.0 * 90.0,
        json!({"app": "frontend"}),
    );
    im["annotations"] = json!({"nginx.ingress.kubernetes.io/proxy-read-timeout": "30"});
    world.add(json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": im,
        "spec": {"ingressClassName": "nginx", "tls": [{"hosts": [host.clone(), format!("api.{host}")], "secretName": "shop-tls"}],
            "rules": [
                {"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "frontend", "port": {"number": 8080}}}}]}},
                {"host": format!("api.{host}"), "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "api-gateway", "port": {"number": 8080}}}}]}}]},
        "status": {"loadBalancer": {"ingress": [{"hostname": "k8s-ingressn-ingressn-0a1b2c3d4e-1234567890.elb.eu-west-1.amazonaws.com"}]}}}));
    let mut tls = object_meta(world, "shop-tls", ns, 60.0 * 24.0 * 60.0, Value::Null);
    tls["annotations"] =
        json!({"intel.kubectl.io/redacted": "data", "cert-manager.io/issuer-name": "letsencrypt"});
    world.add(json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "metadata": tls, "data": {"tls.crt": "", "tls.key": ""}}));
    let qm = object_meta(world, "compute", ns, 60.0 * 24.0 * 90.0, Value::Null);
    world.add(json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": qm,
        "spec": {"hard": {"requests.cpu": "64", "requests.memory": "128Gi", "limits.memory": "256Gi", "pods": "500"}},
        "status": {"hard": {"requests.cpu": "64", "requests.memory": "128Gi", "limits.memory": "256Gi", "pods": "500"},
            "used": {"requests.cpu": "6", "requests.memory": "12Gi", "limits.memory": "20Gi", "pods": "30"}}}));
    let lm = object_meta(world, "defaults", ns, 60.0 * 24.0 * 90.0, Value::Null);
    world.add(json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": lm,
        "spec": {"limits": [{"type": "Container", "default": {"memory": "512Mi"}, "defaultRequest": {"cpu": "100m", "memory": "128Mi"}, "max": {"memory": "8Gi"}}]}}));
    workload::network_policy(
        world,
        ns,
        "postgres",
        5432,
        &["auth", "payment", "inventory", "catalog"],
    );
    workload::network_policy(world, ns, "payment", 8080, &["checkout"]);
    for (name, schedule, image, last_ago, duration_s) in [
        (
            "report-nightly",
            "0 2 * * *",
            "ghcr.io/acme-shop/reports:1.3.0",
            720.0,
            342.0,
        ),
        (
            "cache-warmer",
            "*/30 * * * *",
            "ghcr.io/acme-shop/catalog:6.0.2",
            1.0 + (world.rng.range(0, 20) as f64),
            41.0,
        ),
    ] {
        let cm = object_meta(world, name, ns, 60.0 * 24.0 * 60.0, json!({"app": name}));
        let cj_uid = cm["uid"].clone();
        world.add(json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": cm,
            "spec": {"schedule": schedule, "concurrencyPolicy": "Forbid", "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1, "suspend": false,
                "jobTemplate": {"spec": {"backoffLimit": 2, "template": {"metadata": {"labels": {"app": name}}, "spec": {"restartPolicy": "OnFailure",
                    "containers": [{"name": name, "image": image, "resources": {"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}}]}}}}},
            "status": {"lastScheduleTime": world.at(last_ago), "lastSuccessfulTime": world.at(last_ago - duration_s / 60.0)}}));
        let job = format!("{name}-{}", 29_000_000 + world.rng.range(0, 900_000));
        let mut jm = object_meta(
            world,
            &job,
            ns,
            last_ago,
            json!({"app": name, "batch.kubernetes.io/job-name": job}),
        );
        jm["ownerReferences"] = json!([{"apiVersion": "batch/v1", "kind": "CronJob", "name": name, "uid": cj_uid, "controller": true, "blockOwnerDeletion": true}]);
        let job_uid = jm["uid"].clone();
        world.add(json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": jm,
            "spec": {"completions": 1, "parallelism": 1, "backoffLimit": 2, "template": {"metadata": {"labels": {"app": name}}, "spec": {"restartPolicy": "OnFailure",
                "containers": [{"name": name, "image": image}]}}},
            "status": {"succeeded": 1, "startTime": world.at(last_ago), "completionTime": world.at(last_ago - duration_s / 60.0),
                "conditions": [{"type": "Complete", "status": "True", "lastProbeTime": world.at(last_ago - duration_s / 60.0), "lastTransitionTime": world.at(last_ago - duration_s / 60.0)}]}}));
        if primary {
            let pod = format!("{job}-{}", world.rng.suffix(5));
            let mut pm = object_meta(
                world,
                &pod,
                ns,
                last_ago,
                json!({"app": name, "batch.kubernetes.io/job-name": job}),
            );
            pm["ownerReferences"] = json!([{"apiVersion": "batch/v1", "kind": "Job", "name": job, "uid": job_uid, "controller": true, "blockOwnerDeletion": true}]);
            world.add(json!({"apiVersion": "v1", "kind": "Pod", "metadata": pm,
                "spec": {"restartPolicy": "OnFailure", "containers": [{"name": name, "image": image}]},
                "status": {"phase": "Succeeded", "startTime": world.at(last_ago), "qosClass": "Burstable",
                    "containerStatuses": [{"name": name, "image": image, "imageID": "", "ready": false, "started": false, "restartCount": 0,
                        "state": {"terminated": {"reason": "Completed", "exitCode": 0, "startedAt": world.at(last_ago), "finishedAt": world.at(last_ago - duration_s / 60.0)}}}]}}));
            world.event(
                ("Job", ns, &job),
                "Normal",
                "Completed",
                "Job completed",
                "job-controller",
                last_ago - duration_s / 60.0,
                last_ago - duration_s / 60.0,
                1,
            );
            world.event(
                ("CronJob", ns, name),
                "Normal",
                "SawCompletedJob",
                &format!("Saw completed job: {job}, status: Complete"),
                "cronjob-controller",
                last_ago - duration_s / 60.0,
                last_ago - duration_s / 60.0,
                1,
            );
        }
    }
}

/// Short-lived batch pods on the batch pool, for scale (completed, as most are at any time).
fn batch_jobs(world: &mut World, topo: &mut Topology, ips: &mut Ips, count: usize) {
    if count == 0 {
        return;
    }
    namespace(world, "batch", json!({"team": "data"}));
    for i in 0..count {
        let job = format!("etl-{i:06}");
        let node = topo.any_in_pool(Pool::Batch, i);
        let m = object_meta(
            world,
            &job,
            "batch",
            30.0,
            json!({"app": "etl", "batch.kubernetes.io/job-name": job}),
        );
        let mut spec = json!({"restartPolicy": "Never", "tolerations": [{"key": "workload", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}],
            "nodeSelector": {"pool": "batch"}, "containers": [{"name": "etl", "image": "ghcr.io/acme-data/etl:2.0.1",
                "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}}]});
        if let Some(n) = node {
            spec["nodeName"] = json!(topo.nodes[n].name);
        }
        let ip = ips.pod();
        world.add(json!({"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": spec,
            "status": {"phase": "Succeeded", "podIP": ip, "qosClass": "Burstable", "startTime": world.at(30.0),
                "containerStatuses": [{"name": "etl", "image": "ghcr.io/acme-data/etl:2.0.1", "imageID": "", "ready": false, "started": false,
                    "restartCount": 0, "state": {"terminated": {"reason": "Completed", "exitCode": 0, "startedAt": world.at(30.0), "finishedAt": world.at(22.0)}}}]}}));
    }
}

/// Generates a snapshot: baseline, its history (away from what the scenario's faults
/// touch), then the scenario's faults, then rendering.
pub fn generate(opts: &Options, scenario: Option<&Scenario>) -> Result<Snapshot, SynthError> {
    let (mut world, mut topo) = baseline(opts);
    let plan = history::Plan::new(scenario.and_then(|s| s.history.as_ref()), opts.seed);
    if plan.level != history::Level::None {
        let touched = history::touched(&world, &topo, scenario)?;
        history::apply(&mut world, plan, &touched);
    }
    if let Some(s) = scenario {
        s.apply(&mut world, &mut topo)?;
    }
    Ok(render(world, opts, scenario.map(|s| s.name.as_str())))
}

fn render(world: World, opts: &Options, scenario: Option<&str>) -> Snapshot {
    let capture = world.capture;
    let rng = world.rng.fork("render");
    let window_minutes = (opts.samples.max(1) as f64) * opts.sample_interval_minutes;
    let captured_at = world.at(0.0);
    let window = Window {
        start: Some(world.at(window_minutes.max(60.0))),
        end: Some(captured_at.clone()),
    };
    let (objects, frozen, signals) = world.into_parts();
    let big = signals.containers.len() > 10_000;
    let log_opts = LogOptions {
        max_lines: if big { 12 } else { 120 },
        window_minutes: 60.0,
    };

    let mut lists: BTreeMap<TypeKey, (ResourceType, Vec<Object>)> = BTreeMap::new();
    // Each JSON tree is dropped as soon as its compact form exists.
    let compact = objects
        .into_iter()
        .filter_map(|v| Object::from_value(&v).ok());
    for obj in compact.chain(frozen) {
        let api = obj.meta.api_version.as_str();
        let (group, version) = api.rsplit_once('/').unwrap_or(("", api));
        let Some(resource) = ResourceType::builtin_by_kind(group, &obj.meta.kind) else {
            continue;
        };
        let key = TypeKey::new(group, version, resource);
        let kind = obj.meta.kind.clone();
        lists
            .entry(key.clone())
            .or_insert_with(|| {
                (
                    ResourceType::builtin(&key).unwrap_or_else(|| fallback_type(&key, &kind)),
                    Vec::new(),
                )
            })
            .1
            .push(obj);
    }
    let name = match scenario {
        Some(s) => format!("{}-{s}", opts.cluster_name),
        None => opts.cluster_name.clone(),
    };
    let mut manifest = Manifest::new(
        ClusterInfo {
            name,
            context: None,
            server: None,
            kubernetes_version: Some(super::topology::KUBELET_VERSION.into()),
        },
        captured_at,
    );
    manifest.window = window;
    let mut snap = Snapshot::new(manifest);
    let mut collectors = Vec::new();
    for (key, (rtype, items)) in lists {
        collectors.push(Collector {
            name: format!("resources/{key}"),
            items: items.len() as u64,
            errors: Vec::new(),
        });
        snap.insert_list(ResourceList::new(rtype, items));
    }
    for sig in &signals.containers {
        let mut r = rng.fork(&format!("{}/{}/{}", sig.namespace, sig.pod, sig.container));
        let (current, previous) = logs::render(sig, capture, &log_opts, &mut r);
        let key = |previous| LogKey {
            namespace: sig.namespace.clone(),
            pod: sig.pod.clone(),
            container: sig.container.clone(),
            previous,
        };
        if sig.running || !current.is_empty() {
            snap.logs.insert(key(false), current);
        }
        if let Some(p) = previous {
            snap.logs.insert(key(true), p);
        }
    }
    collectors.push(Collector {
        name: "logs".into(),
        items: snap.logs.len() as u64,
        errors: Vec::new(),
    });
    let times: Vec<jiff::Timestamp> = (0..opts.samples)
        .rev()
        .filter_map(|i| {
            capture
                .checked_sub(jiff::SignedDuration::from_secs(
                    (i as f64 * opts.sample_interval_minutes * 60.0) as i64,
                ))
                .ok()
        })
        .collect();
    snap.metrics = metrics::samples(&signals, &times, capture, &mut rng.fork("metrics"));
    collectors.push(Collector {
        name: "metrics".into(),
        items: snap.metrics.len() as u64,
        errors: Vec::new(),
    });
    snap.prometheus = metrics::prometheus(
        &signals,
        capture,
        window_minutes.max(60.0),
        60,
        &mut rng.fork("prometheus"),
    );
    for name in snap.prometheus.keys() {
        collectors.push(Collector {
            name: format!("prometheus/{name}"),
            items: 1,
            errors: Vec::new(),
        });
    }
    snap.manifest.collectors = collectors;
    snap.manifest.redaction = Redaction {
        enabled: true,
        rules: vec!["synthetic data: Secrets carry key names only".into()],
        redacted_values: 0,
    };
    snap
}

fn fallback_type(key: &TypeKey, kind: &str) -> ResourceType {
    ResourceType {
        group: key.group.clone(),
        version: key.version.clone(),
        resource: key.resource.clone(),
        kind: kind.to_string(),
        namespaced: true,
        singular: kind.to_lowercase(),
        short_names: Vec::new(),
        categories: Vec::new(),
    }
}
