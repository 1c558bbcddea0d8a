//! Turns an [`AppSpec`] into the objects a real cluster holds for it: the workload and its
//! ReplicaSet history, pods placed on nodes, Service and EndpointSlice, ConfigMap, Secret
//! (metadata and key names only, as a capture keeps it), HPA, PDB, NetworkPolicy, PVCs —
//! and the signals its containers' logs and metrics are rendered from.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::apps::{AppSpec, Form, Kind};
use super::signals::{ContainerSignals, Peer};
use super::topology::{Pool, Topology};
use super::world::World;

const MI: f64 = 1024.0 * 1024.0;

/// Allocates ClusterIPs and pod IPs deterministically.
#[derive(Default)]
pub struct Ips {
    service: u32,
    pod: u32,
}

impl Ips {
    pub fn service(&mut self) -> String {
        self.service += 1;
        let n = self.service + 20;
        format!("10.96.{}.{}", (n / 250) % 250, 10 + n % 240)
    }

    pub fn pod(&mut self) -> String {
        self.pod += 1;
        let n = self.pod;
        format!(
            "10.{}.{}.{}",
            100 + (n / 62500) % 100,
            (n / 250) % 250,
            2 + n % 250
        )
    }
}

/// What the rest of a namespace needs to know about an app once built.
pub struct Built {
    pub cluster_ip: String,
    pub port: u16,
}

fn labels(app: &str, ns: &str) -> Value {
    json!({"app": app, "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": if ns.starts_with("shop") || ns.starts_with("tenant") { "shop" } else { app }})
}

fn meta(world: &mut World, name: &str, ns: &str, created_ago: f64, labels: Value) -> Value {
    let mut m = json!({"name": name, "uid": world.rng.uid(), "creationTimestamp": world.at(created_ago),
        "resourceVersion": format!("{}", 1000 + world.rng.range(0, 900_000))});
    if !ns.is_empty() {
        m["namespace"] = json!(ns);
    }
    if !labels.is_null() {
        m["labels"] = labels;
    }
    m
}

fn hash10(world: &World, label: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut r = world.rng.fork(label);
    (0..10)
        .map(|_| ALPHABET[r.range(0, ALPHABET.len() as u64 - 1) as usize] as char)
        .collect()
}

/// The env value an app uses for a dependency, in the app's own style.
fn dep_value(form: Form, app: &str, svc: &str, ns: &str, port: u16) -> String {
    match form {
        Form::Fqdn(path) => format!("http://{svc}.{ns}.svc.cluster.local:{port}{path}"),
        Form::Short => format!("{svc}:{port}"),
        Form::Host => svc.to_string(),
        Form::Dsn(scheme, db) => format!("{scheme}://{app}@{svc}.{ns}:{port}/{db}"),
    }
}

/// Builds one app in a namespace. `ports` and `ips` give every app's port and ClusterIP in
/// the namespace (dependencies are rendered with them). Returns nothing: all goes to `world`.
#[allow(clippy::too_many_arguments)]
pub fn build(
    world: &mut World,
    topo: &mut Topology,
    ips: &mut Ips,
    ns: &str,
    app: &AppSpec,
    replicas: u32,
    services: &BTreeMap<String, Built>,
) {
    let name = app.name;
    let lbl = labels(name, ns);
    let mut rng = world.rng.fork(&format!("{ns}/{name}"));
    let age_days = 20.0 + rng.range(0, 60) as f64;
    let rollout_ago = (rng.range(2, 14) as f64) * 1440.0 + rng.range(0, 1200) as f64;
    let version = app.versions.last().copied().unwrap_or("latest");
    let image = format!("{}:{}", app.image, version);

    // Config and credentials the app reads.
    let mut env: Vec<Value> = vec![
        json!({"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}),
        json!({"name": "LOG_LEVEL", "value": "info"}),
    ];
    let mut peers = Vec::new();
    for d in app.deps {
        let Some(b) = services.get(d.service) else {
            continue;
        };
        env.push(json!({"name": d.env, "value": dep_value(d.form, name, d.service, ns, b.port)}));
        if let Form::Dsn(..) = d.form {
            let key = if d.service == "queue" {
                "amqp-password"
            } else {
                "db-password"
            };
            env.push(json!({"name": format!("{}_PASSWORD", d.env.trim_end_matches("_URL")),
                "valueFrom": {"secretKeyRef": {"name": format!("{name}-credentials"), "key": key}}}));
        }
        let host = match d.form {
            Form::Fqdn(_) => format!("{}.{ns}.svc.cluster.local", d.service),
            Form::Dsn(..) => format!("{}.{ns}", d.service),
            _ => d.service.to_string(),
        };
        peers.push(Peer {
            service: d.service.to_string(),
            namespace: ns.to_string(),
            host,
            port: b.port,
            cluster_ip: b.cluster_ip.clone(),
        });
    }
    for (k, v) in app.external {
        env.push(json!({"name": k, "value": v}));
    }
    let cm_name = format!("{name}-config");
    if !app.config.is_empty() {
        let data: serde_json::Map<String, Value> = app
            .config
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let m = meta(world, &cm_name, ns, age_days * 1440.0, lbl.clone());
        world.add(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": m, "data": data}));
    }
    if !app.secret_keys.is_empty() {
        let data: serde_json::Map<String, Value> = app
            .secret_keys
            .iter()
            .map(|k| (k.to_string(), json!("")))
            .collect();
        let mut m = meta(
            world,
            &format!("{name}-credentials"),
            ns,
            age_days * 1440.0,
            lbl.clone(),
        );
        m["annotations"] = json!({"intel.kubectl.io/redacted": "data"});
        world.add(json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": m, "data": data}));
    }

    let probe = match app.health {
        Some(path) => {
            json!({"httpGet": {"path": path, "port": app.port, "scheme": "HTTP"}, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3})
        }
        None => {
            json!({"tcpSocket": {"port": app.port}, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3})
        }
    };
    let mut resources = json!({"requests": {"cpu": format!("{}m", app.cpu_m as u64), "memory": format!("{}Mi", app.mem_mi as u64)}});
    if let Some(l) = app.cpu_limit_m {
        resources["limits"]["cpu"] = json!(format!("{}m", l as u64));
    }
    if let Some(l) = app.mem_limit_mi {
        resources["limits"]["memory"] = json!(format!("{}Mi", l as u64));
    }
    let mut liveness = probe.clone();
    liveness["initialDelaySeconds"] = json!(15);
    let mut container = json!({"name": name, "image": image, "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": if app.port == 53 { "dns" } else { "http" }, "containerPort": app.port, "protocol": if app.port == 53 { "UDP" } else { "TCP" }}],
        "env": env, "resources": resources, "readinessProbe": probe.clone(),
        "livenessProbe": liveness,
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"});
    if !app.config.is_empty() {
        container["envFrom"] = json!([{"configMapRef": {"name": cm_name}}]);
    }
    if app.pvc_gi.is_some() {
        container["volumeMounts"] = json!([{"name": "data", "mountPath": "/data"}]);
    }
    let mut pod_spec = json!({"containers": [container], "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "default", "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler",
        "securityContext": {"runAsNonRoot": app.kind != Kind::StatefulSet},
        "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]});
    match app.pool {
        Pool::System => {
            if let Some(t) = pod_spec["tolerations"].as_array_mut() {
                t.push(json!({"key": "CriticalAddonsOnly", "operator": "Exists"}));
            }
            pod_spec["priorityClassName"] = json!("system-cluster-critical");
        }
        Pool::Memory => pod_spec["nodeSelector"] = json!({"pool": "memory"}),
        _ => {}
    }
    let template_labels = lbl.clone();

    // The workload object and its revision history.
    let (workload_kind, api) = match app.kind {
        Kind::Deployment => ("Deployment", "apps/v1"),
        Kind::StatefulSet => ("StatefulSet", "apps/v1"),
        Kind::DaemonSet => ("DaemonSet", "apps/v1"),
    };
    let mut wmeta = meta(world, name, ns, age_days * 1440.0, lbl.clone());
    wmeta["annotations"] = json!({"intel.kubectl.io/tier": app.tier});
    let revision = app.versions.len();
    if app.kind == Kind::Deployment {
        wmeta["annotations"]["deployment.kubernetes.io/revision"] = json!(revision.to_string());
    }
    wmeta["generation"] = json!(revision);
    let mut spec = json!({"selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": template_labels}, "spec": pod_spec.clone()}, "revisionHistoryLimit": 10});
    match app.kind {
        Kind::Deployment => {
            spec["replicas"] = json!(replicas);
            spec["strategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}});
            spec["progressDeadlineSeconds"] = json!(600);
        }
        Kind::StatefulSet => {
            spec["replicas"] = json!(replicas);
            spec["serviceName"] = json!(name);
            spec["podManagementPolicy"] = json!("OrderedReady");
            if let Some(gi) = app.pvc_gi {
                spec["volumeClaimTemplates"] = json!([{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                    "storageClassName": "gp3", "resources": {"requests": {"storage": format!("{gi}Gi")}}}}]);
            }
        }
        Kind::DaemonSet => {
            spec["updateStrategy"] =
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}});
            spec["template"]["spec"]["tolerations"] = json!([{"operator": "Exists"}]);
            spec["template"]["spec"]["hostNetwork"] = json!(true);
        }
    }
    let workload_uid = wmeta["uid"].as_str().unwrap_or_default().to_string();
    let owner_of_pods: (String, String, String);
    let mut rs_name = String::new();
    if app.kind == Kind::Deployment {
        for (i, v) in app.versions.iter().enumerate() {
            let rev = i + 1;
            let current = rev == revision;
            let hash = hash10(world, &format!("{ns}/{name}/{v}"));
            let rsn = format!("{name}-{hash}");
            let mut rl = lbl.clone();
            rl["pod-template-hash"] = json!(hash);
            let created = if current {
                rollout_ago
            } else {
                rollout_ago + 1440.0 * (revision - rev) as f64 * 9.0
            };
            let mut rm = meta(world, &rsn, ns, created, rl.clone());
            rm["annotations"] = json!({"deployment.kubernetes.io/revision": rev.to_string(),
                "deployment.kubernetes.io/desired-replicas": replicas.to_string(), "deployment.kubernetes.io/max-replicas": (replicas + 1).to_string()});
            rm["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": workload_uid, "controller": true, "blockOwnerDeletion": true}]);
            let mut tpl = spec["template"].clone();
            tpl["metadata"]["labels"] = rl.clone();
            tpl["spec"]["containers"][0]["image"] = json!(format!("{}:{v}", app.image));
            let n = if current { replicas } else { 0 };
            world.add(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": rm,
                "spec": {"replicas": n, "selector": {"matchLabels": {"app": name, "pod-template-hash": hash}}, "template": tpl},
                "status": {"replicas": n, "fullyLabeledReplicas": n, "readyReplicas": n, "availableReplicas": n, "observedGeneration": 1}}));
            if current {
                rs_name = rsn;
            }
        }
        owner_of_pods = ("ReplicaSet".into(), rs_name.clone(), String::new());
    } else {
        owner_of_pods = (workload_kind.into(), name.into(), workload_uid.clone());
    }

    // Pods.
    let node_list: Vec<usize> = if app.kind == Kind::DaemonSet {
        (0..topo.nodes.len()).collect()
    } else {
        Vec::new()
    };
    let count = if app.kind == Kind::DaemonSet {
        node_list.len() as u32
    } else {
        replicas
    };
    let owner_uid = if app.kind == Kind::Deployment {
        world
            .get("ReplicaSet", ns, &rs_name)
            .and_then(|r| r["metadata"]["uid"].as_str())
            .unwrap_or_default()
            .to_string()
    } else {
        owner_of_pods.2.clone()
    };
    let mut ready_ips = Vec::new();
    for i in 0..count {
        let pod_name = match app.kind {
            Kind::Deployment => format!("{rs_name}-{}", rng.suffix(5)),
            Kind::StatefulSet => format!("{name}-{i}"),
            Kind::DaemonSet => format!("{name}-{}", rng.suffix(5)),
        };
        let node = if app.kind == Kind::DaemonSet {
            node_list.get(i as usize).copied()
        } else {
            topo.place(app.pool, app.cpu_m, app.mem_mi * MI)
        };
        let created = rollout_ago - (i as f64) * 0.7 - 1.0;
        let mut pl = lbl.clone();
        if app.kind == Kind::Deployment {
            pl["pod-template-hash"] = json!(rs_name.rsplit('-').next().unwrap_or_default());
        }
        if app.kind == Kind::StatefulSet {
            pl["statefulset.kubernetes.io/pod-name"] = json!(pod_name);
        }
        let mut pm = meta(world, &pod_name, ns, created, pl);
        pm["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": owner_of_pods.0, "name": owner_of_pods.1, "uid": owner_uid, "controller": true, "blockOwnerDeletion": true}]);
        let mut ps = spec["template"]["spec"].clone();
        if app.kind == Kind::StatefulSet && app.pvc_gi.is_some() {
            ps["volumes"] = json!([{"name": "data", "persistentVolumeClaim": {"claimName": format!("data-{pod_name}")}}]);
            ps["hostname"] = json!(pod_name);
            ps["subdomain"] = json!(name);
        }
        let pod_ip = ips.pod();
        let start = world.at(created);
        let Some(node_idx) = node else {
            world.add(json!({"apiVersion": "v1", "kind": "Pod", "metadata": pm, "spec": ps, "status": {"phase": "Pending", "qosClass": "Burstable"}}));
            let msg = format!(
                "0/{} nodes are available: {} Insufficient cpu. preemption: 0/{} nodes are available: {} No preemption victims found for incoming pod.",
                topo.nodes.len(),
                topo.nodes.len(),
                topo.nodes.len(),
                topo.nodes.len()
            );
            world.unschedulable(ns, &pod_name, &msg, 30.0);
            continue;
        };
        let node_name = topo.nodes[node_idx].name.clone();
        let host_ip = topo.nodes[node_idx].ip.clone();
        ps["nodeName"] = json!(node_name);
        let pod_ip = if app.kind == Kind::DaemonSet {
            host_ip.clone()
        } else {
            pod_ip
        };
        let qos = if app.cpu_limit_m == Some(app.cpu_m) && app.mem_limit_mi == Some(app.mem_mi) {
            "Guaranteed"
        } else {
            "Burstable"
        };
        let benign_restart = rng.chance(0.04);
        let mut cstatus = json!({"name": name, "image": image, "imageID": format!("{}@sha256:{:016x}{:016x}{:016x}{:016x}", app.image, rng.next_u64(), rng.next_u64(), rng.next_u64(), rng.next_u64()),
            "containerID": format!("containerd://{:016x}{:016x}", rng.next_u64(), rng.next_u64()),
            "ready": true, "started": true, "restartCount": if benign_restart { 1 } else { 0 },
            "state": {"running": {"startedAt": start}}});
        if benign_restart {
            cstatus["lastState"] = json!({"terminated": {"reason": "Error", "exitCode": 143, "startedAt": world.at(created + 5.0), "finishedAt": world.at(created - 0.2)}});
        }
        world.add(json!({"apiVersion": "v1", "kind": "Pod", "metadata": pm, "spec": ps,
            "status": {"phase": "Running", "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
                "startTime": start, "qosClass": qos,
                "conditions": [
                    {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": null, "lastTransitionTime": world.at(created - 0.1)},
                    {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": start},
                    {"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": world.at(created - 0.3)},
                    {"type": "ContainersReady", "status": "True", "lastProbeTime": null, "lastTransitionTime": world.at(created - 0.3)},
                    {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": start}],
                "containerStatuses": [cstatus]}}));
        world
            .signals
            .pod_nodes
            .push(((ns.to_string(), pod_name.clone()), node_name.clone()));
        ready_ips.push((
            pod_ip.clone(),
            pod_name.clone(),
            node_name.clone(),
            topo.nodes[node_idx].zone,
        ));

        let mut s = ContainerSignals::new(ns, &pod_name, name, name, app.style);
        s.peers = peers.clone();
        s.cpu_request_m = app.cpu_m;
        s.cpu_limit_m = app.cpu_limit_m;
        s.mem_request = app.mem_mi * MI;
        s.mem_limit = app.mem_limit_mi.map(|m| m * MI);
        s.cpu_base_m = app.cpu_m * (0.25 + 0.3 * rng.unit());
        s.mem_base = app.mem_mi * MI * (0.45 + 0.3 * rng.unit());
        s.rps = app.rps * rng.noise(0.15);
        s.started_minutes_ago = created;
        world.add_signals(s);

        if let (Kind::StatefulSet, Some(gi)) = (app.kind, app.pvc_gi) {
            let zone = topo.nodes[node_idx].zone;
            let pv = format!("pvc-{}", world.rng.uid());
            let mut cm = meta(
                world,
                &format!("data-{pod_name}"),
                ns,
                age_days * 1440.0,
                json!({"app": name}),
            );
            cm["annotations"] = json!({"pv.kubernetes.io/bind-completed": "yes", "volume.kubernetes.io/selected-node": node_name});
            world.add(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": cm,
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": format!("{gi}Gi")}}, "storageClassName": "gp3", "volumeName": pv, "volumeMode": "Filesystem"},
                "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": format!("{gi}Gi")}}}));
            let pm = meta(world, &pv, "", age_days * 1440.0, Value::Null);
            let volume_handle = format!("vol-0{:016x}", world.rng.next_u64());
            world.add(json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": pm,
                "spec": {"capacity": {"storage": format!("{gi}Gi")}, "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Delete",
                    "storageClassName": "gp3", "volumeMode": "Filesystem",
                    "claimRef": {"kind": "PersistentVolumeClaim", "namespace": ns, "name": format!("data-{pod_name}"), "apiVersion": "v1"},
                    "csi": {"driver": "ebs.csi.aws.com", "fsType": "ext4", "volumeHandle": volume_handle},
                    "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]}]}]}}},
                "status": {"phase": "Bound"}}));
        }
    }

    // Workload status.
    let ready = ready_ips.len() as u32;
    spec["template"]["spec"] = pod_spec;
    let status = match app.kind {
        Kind::Deployment => {
            json!({"observedGeneration": revision, "replicas": count, "updatedReplicas": count, "readyReplicas": ready, "availableReplicas": ready,
            "conditions": [{"type": "Available", "status": if ready > 0 { "True" } else { "False" }, "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability.", "lastUpdateTime": world.at(rollout_ago - 1.0), "lastTransitionTime": world.at(rollout_ago - 1.0)},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": format!("ReplicaSet \"{rs_name}\" has successfully progressed."), "lastUpdateTime": world.at(rollout_ago - 1.0), "lastTransitionTime": world.at(age_days * 1440.0)}]})
        }
        Kind::StatefulSet => {
            json!({"observedGeneration": 1, "replicas": count, "readyReplicas": ready, "currentReplicas": count, "updatedReplicas": count, "availableReplicas": ready, "collisionCount": 0})
        }
        Kind::DaemonSet => {
            json!({"observedGeneration": 1, "currentNumberScheduled": count, "desiredNumberScheduled": count, "numberAvailable": ready, "numberMisscheduled": 0, "numberReady": ready, "updatedNumberScheduled": count})
        }
    };
    world.add(json!({"apiVersion": api, "kind": workload_kind, "metadata": wmeta, "spec": spec, "status": status}));

    // Service and EndpointSlice (not for DaemonSets, which serve on the host).
    if app.kind != Kind::DaemonSet {
        let Some(b) = services.get(name) else { return };
        let proto = if app.port == 53 { "UDP" } else { "TCP" };
        let sm = meta(world, name, ns, age_days * 1440.0, lbl.clone());
        let mut svc_spec = json!({"type": "ClusterIP", "clusterIP": b.cluster_ip, "clusterIPs": [b.cluster_ip], "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "ports": [{"name": if app.port == 53 { "dns" } else { "http" }, "port": app.port, "targetPort": app.port, "protocol": proto}],
            "selector": {"app": name}, "sessionAffinity": "None", "internalTrafficPolicy": "Cluster"});
        if name == "ingress-nginx-controller" {
            svc_spec["type"] = json!("LoadBalancer");
            svc_spec["ports"] = json!([{"name": "http", "port": 80, "targetPort": 80, "protocol": "TCP", "nodePort": 30080}, {"name": "https", "port": 443, "targetPort": 443, "protocol": "TCP", "nodePort": 30443}]);
        }
        let svc_status = if name == "ingress-nginx-controller" {
            json!({"loadBalancer": {"ingress": [{"hostname": "k8s-ingressn-ingressn-0a1b2c3d4e-1234567890.elb.eu-west-1.amazonaws.com"}]}})
        } else {
            json!({"loadBalancer": {}})
        };
        world.add(json!({"apiVersion": "v1", "kind": "Service", "metadata": sm.clone(), "spec": svc_spec, "status": svc_status}));
        let mut em = meta(
            world,
            &format!("{name}-{}", rng.suffix(5)),
            ns,
            age_days * 1440.0,
            json!({"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}),
        );
        em["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "Service", "name": name, "uid": sm["uid"], "controller": true, "blockOwnerDeletion": true}]);
        let endpoints: Vec<Value> = ready_ips.iter().map(|(ip, pod, node, zone)| {
            json!({"addresses": [ip], "conditions": {"ready": true, "serving": true, "terminating": false}, "nodeName": node, "zone": zone,
                "targetRef": {"kind": "Pod", "namespace": ns, "name": pod}})
        }).collect();
        world.add(json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": em, "addressType": "IPv4",
            "endpoints": endpoints, "ports": [{"name": if app.port == 53 { "dns" } else { "http" }, "port": app.port, "protocol": proto}]}));
    }
    if let Some((min, max)) = app.hpa {
        // Scaled clusters run more replicas than the app's defaults: an autoscaler's bounds
        // hold its current count, as the controller keeps them.
        let (min, max) = (min.min(count), max.max(count));
        let hm = meta(world, name, ns, age_days * 1440.0, lbl.clone());
        let util = 35 + rng.range(0, 25);
        world.add(json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": hm,
            "spec": {"scaleTargetRef": {"apiVersion": api, "kind": workload_kind, "name": name}, "minReplicas": min, "maxReplicas": max,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]},
            "status": {"currentReplicas": count, "desiredReplicas": count, "lastScaleTime": world.at(rollout_ago),
                "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": util, "averageValue": format!("{}m", (app.cpu_m * util as f64 / 100.0) as u64)}}}],
                "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale", "message": "recommended size matches current size", "lastTransitionTime": world.at(rollout_ago)},
                    {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound", "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)", "lastTransitionTime": world.at(rollout_ago)},
                    {"type": "ScalingLimited", "status": "False", "reason": "DesiredWithinRange", "message": "the desired count is within the acceptable range", "lastTransitionTime": world.at(rollout_ago)}]}}));
    }
    if let Some(min) = app.pdb_min_available {
        let pm = meta(world, name, ns, age_days * 1440.0, lbl.clone());
        let allowed = ready.saturating_sub(min);
        world.add(json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": pm,
            "spec": {"minAvailable": min, "selector": {"matchLabels": {"app": name}}},
            "status": {"currentHealthy": ready, "desiredHealthy": min, "disruptionsAllowed": allowed, "expectedPods": count, "observedGeneration": 1,
                "conditions": [{"type": "DisruptionAllowed", "status": if allowed > 0 { "True" } else { "False" }, "reason": if allowed > 0 { "SufficientPods" } else { "InsufficientPods" }, "message": "", "lastTransitionTime": world.at(rollout_ago), "observedGeneration": 1}]}}));
    }
}

/// A NetworkPolicy admitting only the given apps to `app`'s port.
pub fn network_policy(world: &mut World, ns: &str, app: &str, port: u16, from: &[&str]) {
    let m = meta(
        world,
        &format!("{app}-ingress"),
        ns,
        60.0 * 24.0 * 30.0,
        json!({"app": app}),
    );
    world.add(json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": m,
        "spec": {"podSelector": {"matchLabels": {"app": app}}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": from}]}}],
                "ports": [{"protocol": "TCP", "port": port}]}]}}));
}

pub(super) fn object_meta(
    world: &mut World,
    name: &str,
    ns: &str,
    created_ago: f64,
    labels: Value,
) -> Value {
    meta(world, name, ns, created_ago, labels)
}
