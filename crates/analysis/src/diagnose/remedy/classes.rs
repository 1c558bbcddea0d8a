//! Remedies for the failure classes of pods that never start (a memory limit too low to
//! start, mounts, sandboxes), of scheduling (a request beyond any node, no scheduler),
//! and of a workload scaled to 0 while callers need it. Every value comes from the
//! snapshot, and the `why` says how it was computed.

use super::values::{Facts, Quantity, shell_quote};
use super::{Remedy, kind_arg, ns};
use intel_engine::ObjectRef;

/// The smallest memory limit worth suggesting to a container that could not even start:
/// a runtime, its libraries and a heap need more than a few MiB.
const START_FLOOR_MI: f64 = 128.0;

pub(super) fn remedies(
    category: &str,
    w: &ObjectRef,
    facts: &Facts,
    watch: &str,
    pods: &str,
) -> Vec<Remedy> {
    let (wk, wn) = (kind_arg(w), ns(w));
    match category {
        "MemoryLimitTooLow" => {
            let mem = Quantity::Bytes;
            let mut steps = Vec::new();
            let mut how = Vec::new();
            // Init containers too: the runtime starts them first, under their own limit.
            for c in facts.containers(w).iter() {
                let Some(limit) = c.limit("memory") else {
                    continue;
                };
                let current = mem.parse(limit).unwrap_or(0.0);
                let request = c
                    .request("memory")
                    .and_then(|r| mem.parse(r))
                    .unwrap_or(0.0);
                let floor = START_FLOOR_MI * 1048576.0;
                if current >= floor && current >= request {
                    continue;
                }
                let new = mem.format(request.max(floor));
                how.push(format!(
                    "container {}: limit {limit} → {new} (the larger of its request {} and {START_FLOOR_MI:.0}Mi)",
                    c.name,
                    c.request("memory").unwrap_or("none")
                ));
                steps.push(format!(
                    "kubectl set resources {wk}{wn} -c {} --limits=memory={new}",
                    shell_quote(&c.name)
                ));
            }
            if steps.is_empty() {
                steps.push(format!(
                    "kubectl get {wk}{wn} -o jsonpath='{{.spec.template.spec.containers[*].resources}}'   # the limit the runtime could not start under"
                ));
            }
            vec![Remedy {
                title: format!(
                    "Raise {}'s memory limit so its containers can start",
                    w.name
                ),
                why: format!(
                    "the container runtime's init process was OOM-killed before the application ran: the limit is below what any process needs to start. {}",
                    how.join("; ")
                ),
                risk: "low",
                horizon: "immediate",
                success: 0.9,
                effect: "the sandbox and containers start; the pods leave ContainerCreating".into(),
                steps,
                verify: vec![watch.to_string(), pods.to_string()],
                rollback: vec![format!("kubectl rollout undo {wk}{wn}")],
            }]
        }
        "FailedMount" => {
            let blamed: Vec<String> = facts
                .blamed()
                .into_iter()
                .filter(|b| {
                    matches!(
                        b.kind.as_str(),
                        "ConfigMap" | "Secret" | "PersistentVolumeClaim"
                    )
                })
                .map(|b| format!("{} {}", b.kind, b.name))
                .collect();
            let first = if blamed.is_empty() {
                "correct the volume the kubelet names (a hostPath must exist on the node with the type the pod declares; a claim must be bound and attachable on the node)".to_string()
            } else {
                format!(
                    "create {} in namespace {} (the pod mounts it), or remove the volume from the pod template",
                    blamed.join(" and "),
                    w.namespace
                )
            };
            vec![Remedy {
                title: format!("Make {}'s volumes mountable", w.name),
                why: format!(
                    "the kubelet cannot mount a volume, so the containers never start: {}",
                    facts.first_message()
                ),
                risk: "low",
                horizon: "immediate",
                success: 0.85,
                effect: "the pods leave ContainerCreating once the volume mounts".into(),
                steps: vec![
                    format!("kubectl get events{wn} --field-selector reason=FailedMount"),
                    first,
                    format!("kubectl get {wk}{wn} -o jsonpath='{{.spec.template.spec.volumes}}'"),
                ],
                verify: vec![pods.to_string()],
                rollback: vec![format!("kubectl rollout undo {wk}{wn}")],
            }]
        }
        "SandboxCreationFailed" => {
            let node = facts.node(w);
            let on_node = node
                .as_ref()
                .map(|n| format!(" --field-selector spec.nodeName={}", shell_quote(n)))
                .unwrap_or_default();
            vec![Remedy {
                title: format!("Repair pod networking or the runtime{}", node.as_ref().map(|n| format!(" on {n}")).unwrap_or_default()),
                why: format!("the kubelet cannot create the pod sandbox: {}", facts.first_message()),
                risk: "medium",
                horizon: "immediate",
                success: 0.6,
                effect: "new sandboxes are created and the containers start".into(),
                steps: vec![
                    format!("kubectl get pods -n kube-system -o wide{on_node}   # the CNI and runtime pods of the node"),
                    "restart the failing network plugin pod, or cordon and drain the node if only it is affected".into(),
                ],
                verify: vec![pods.to_string()],
                rollback: vec![],
            }]
        }
        "RequestExceedsNodeCapacity" => {
            let mut steps = Vec::new();
            let mut how = Vec::new();
            for (resource, asked, largest, node) in facts.oversized_requests(w) {
                let r = Quantity::of(&resource);
                // Leave a tenth of the node to DaemonSets and system pods; every container
                // shrinks by the same factor, so that together they fit.
                let fit = largest * 0.9;
                let factor = if asked > 0.0 { fit / asked } else { 1.0 };
                how.push(format!(
                    "{resource}: the pod asks {}, the largest node ({node}) allocates {}; 90% of that is {}, so each container's request × {factor:.2}",
                    r.format(asked),
                    r.format(largest),
                    r.format(fit)
                ));
                for c in facts.containers(w).iter().filter(|c| !c.init) {
                    let Some(now) = c.request(&resource).and_then(|q| r.parse(q)) else {
                        continue;
                    };
                    // Rounded up to a clean quantity: the tenth left free absorbs it.
                    let new = r.format(now * factor);
                    steps.push(format!(
                        "kubectl set resources {wk}{wn} -c {} --requests={resource}={new}   # and a limit no lower",
                        shell_quote(&c.name)
                    ));
                }
            }
            steps.push("or add a node pool whose nodes are larger than the request (the scheduler places a pod on one node only)".into());
            vec![Remedy {
                title: format!(
                    "Shrink {}'s request to what a node can hold, or add larger nodes",
                    w.name
                ),
                why: format!(
                    "no node in the cluster can ever allocate what the pod asks for, so no amount of waiting or scaling nodes of the same size helps. {}",
                    how.join("; ")
                ),
                risk: "medium",
                horizon: "immediate",
                success: 0.85,
                effect: "the pod fits a node and is scheduled".into(),
                steps,
                verify: vec![format!(
                    "kubectl get pods{wn} --field-selector=status.phase=Pending"
                )],
                rollback: vec![format!("kubectl rollout undo {wk}{wn}")],
            }]
        }
        "SchedulerNotRunning" => {
            let scheduler = facts.scheduler_name(w);
            let custom = scheduler != "default-scheduler";
            let steps = if custom {
                vec![
                    format!(
                        "kubectl get pods -A -o wide | grep -i {}   # is a scheduler named {scheduler} deployed?",
                        shell_quote(&scheduler)
                    ),
                    format!(
                        "deploy the scheduler named {scheduler}, or remove spec.template.spec.schedulerName from {} {} to use the default scheduler",
                        w.kind, w.name
                    ),
                ]
            } else {
                vec![
                    "kubectl get pods -n kube-system -l component=kube-scheduler -o wide".into(),
                    "kubectl get --raw '/livez?verbose' ; kubectl get leases -n kube-system kube-scheduler -o yaml   # who holds the scheduler's lease, renewed when".into(),
                    "restore the kube-scheduler (its static pod manifest in /etc/kubernetes/manifests on the control-plane nodes, or the managed control plane's health)".into(),
                ]
            };
            vec![Remedy {
                title: if custom {
                    format!("Run the scheduler {} names ({scheduler})", w.name)
                } else {
                    "Bring the kube-scheduler back".to_string()
                },
                why: format!(
                    "pods of {} have no node and no scheduling condition or event: no scheduler named {scheduler} is looking at them",
                    w.name
                ),
                risk: "medium",
                horizon: "immediate",
                success: 0.85,
                effect: "the waiting pods are bound within seconds of the scheduler's return"
                    .into(),
                steps,
                verify: vec![format!("kubectl get pods{wn} -o wide   # NODE filled in")],
                rollback: vec![],
            }]
        }
        "ScaledToZero" => {
            let (to, how) = facts.replicas_before_scale_down(w);
            vec![Remedy {
                title: format!("Scale {} {} back to {to}", w.kind, w.name),
                why: format!(
                    "it has no replicas, and callers of Service {} fail. {how}",
                    subject_service(facts, w)
                ),
                risk: "low",
                horizon: "immediate",
                success: 0.9,
                effect: "the Service gets endpoints again as the pods become ready".into(),
                steps: vec![format!("kubectl scale {wk}{wn} --replicas={to}")],
                verify: vec![
                    watch.to_string(),
                    format!(
                        "kubectl get endpointslices{wn} -l kubernetes.io/service-name={}",
                        shell_quote(&subject_service(facts, w))
                    ),
                ],
                rollback: vec![format!("kubectl scale {wk}{wn} --replicas=0")],
            }]
        }
        "FaultInjection" => {
            let sources: Vec<ObjectRef> = facts
                .via()
                .into_iter()
                .filter(|v| {
                    v.kind.ends_with("Chaos")
                        || matches!(v.kind.as_str(), "ChaosEngine" | "VirtualService")
                })
                .collect();
            let mut steps = Vec::new();
            let mut rollback = Vec::new();
            for src in &sources {
                let (sk, sn) = (kind_arg(src), ns(src));
                if src.kind == "VirtualService" {
                    for i in facts.fault_routes(src) {
                        steps.push(format!(
                            "kubectl patch {sk}{sn} --type=json -p '[{{\"op\":\"remove\",\"path\":\"/spec/http/{i}/fault\"}}]'"
                        ));
                    }
                    rollback.push(format!("kubectl apply -f virtualservice-before.yaml   # saved with kubectl get {sk}{sn} -o yaml > virtualservice-before.yaml"));
                } else if src.kind == "ChaosEngine" {
                    steps.push(format!("kubectl patch {sk}{sn} --type=merge -p '{{\"spec\":{{\"engineState\":\"stop\"}}}}'"));
                    rollback.push(format!("kubectl patch {sk}{sn} --type=merge -p '{{\"spec\":{{\"engineState\":\"active\"}}}}'"));
                } else {
                    steps.push(format!("kubectl annotate {sk}{sn} experiment.chaos-mesh.org/pause=true   # or kubectl delete {sk}{sn}"));
                    rollback.push(format!(
                        "kubectl annotate {sk}{sn} experiment.chaos-mesh.org/pause-"
                    ));
                }
            }
            vec![Remedy {
                title: format!(
                    "Stop the fault injected into {}{}",
                    w.name,
                    sources
                        .first()
                        .map(|s| format!(" by {} {}", s.kind, s.name))
                        .unwrap_or_default()
                ),
                why: format!(
                    "the symptom is a fault someone injected on purpose and left running: {}",
                    facts.first_message()
                ),
                risk: "low",
                horizon: "immediate",
                success: 0.95,
                effect: "the workload answers normally as soon as the fault is removed".into(),
                steps,
                verify: vec![pods.to_string()],
                rollback,
            }]
        }
        "NodeNotFound" => {
            let bound = facts.object(w).and_then(|v| {
                v.pointer("/spec/template/spec/nodeName")
                    .and_then(|n| n.as_str())
                    .map(str::to_string)
            });
            let steps = match &bound {
                Some(_) => vec![format!(
                    "kubectl patch {wk}{wn} --type=json -p '[{{\"op\":\"remove\",\"path\":\"/spec/template/spec/nodeName\"}}]'   # let the scheduler place the pods"
                )],
                None => vec![format!(
                    "kubectl delete pods{wn} --field-selector=status.phase=Pending   # the pods were bound by hand; recreate them without spec.nodeName"
                )],
            };
            vec![Remedy {
                title: format!(
                    "Stop binding {}'s pods to a node that does not exist",
                    w.name
                ),
                why: format!(
                    "{}; spec.nodeName skips the scheduler, so nothing will ever move them",
                    facts.first_message()
                ),
                risk: "low",
                horizon: "immediate",
                success: 0.9,
                effect: "the scheduler places the new pods on existing nodes and they start".into(),
                steps,
                verify: vec![format!(
                    "kubectl get pods{wn} -o wide   # NODE is a real node"
                )],
                rollback: vec![format!("kubectl rollout undo {wk}{wn}")],
            }]
        }
        "NetworkPolicyBlocks" => {
            let message = facts.first_message();
            let via = facts.via();
            let np = facts
                .findings()
                .find(|h| h.kind == "NetworkPolicyBlocks")
                .map(|h| h.subject.clone());
            let Some(np) = np else { return Vec::new() };
            let (nk, nn) = (kind_arg(&np), ns(&np));
            let caller = via
                .iter()
                .rev()
                .find(|v| v.kind != "NetworkPolicy")
                .cloned();
            let labels = caller
                .as_ref()
                .and_then(|c| facts.object(c))
                .and_then(|v| v.pointer("/spec/selector/matchLabels").cloned())
                .unwrap_or(serde_json::Value::Null);
            let dns = message.contains("DNS");
            let egress = message.contains(" send nothing ") || dns;
            let rule = if dns {
                serde_json::json!({"to": [{"namespaceSelector": {}}], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]})
            } else if egress {
                serde_json::json!({"to": [{"podSelector": {"matchLabels": labels_of_target(facts, &via)}}]})
            } else {
                serde_json::json!({"from": [{"podSelector": {"matchLabels": labels}}]})
            };
            let path = if egress {
                "/spec/egress/-"
            } else {
                "/spec/ingress/-"
            };
            let patch = serde_json::json!([{"op": "add", "path": path, "value": rule}]).to_string();
            vec![Remedy {
                title: format!("Let the blocked traffic through NetworkPolicy {}", np.name),
                why: format!(
                    "{message}; a pod selected by a policy of that direction only gets what some rule admits"
                ),
                risk: "medium",
                horizon: "immediate",
                success: 0.85,
                effect: "the calls connect again as soon as the policy is updated".into(),
                steps: vec![
                    format!("kubectl get {nk}{nn} -o yaml > networkpolicy-before.yaml"),
                    format!(
                        "kubectl patch {nk}{nn} --type=json -p {}",
                        shell_quote(&patch)
                    ),
                ],
                verify: vec![pods.to_string()],
                rollback: vec!["kubectl replace -f networkpolicy-before.yaml".into()],
            }]
        }
        _ => Vec::new(),
    }
}

/// The Service the workload's finding went through, or its own name.
fn subject_service(facts: &Facts, w: &ObjectRef) -> String {
    facts
        .via()
        .into_iter()
        .find(|v| v.kind == "Service")
        .map(|s| s.name)
        .unwrap_or_else(|| w.name.clone())
}

impl Facts<'_> {
    /// What the root cause's findings blame, sorted.
    fn blamed(&self) -> Vec<ObjectRef> {
        let mut out: Vec<ObjectRef> = self.findings().flat_map(|h| h.blames.clone()).collect();
        out.sort();
        out.dedup();
        out
    }

    /// What the root cause's findings go through (Service, pods), sorted.
    fn via(&self) -> Vec<ObjectRef> {
        let mut out: Vec<ObjectRef> = self.findings().flat_map(|h| h.via.clone()).collect();
        out.sort();
        out.dedup();
        out
    }

    /// The strongest finding's message, as the detector wrote it.
    fn first_message(&self) -> String {
        self.findings()
            .max_by(|a, b| a.cause.total_cmp(&b.cause).then(b.kind.cmp(a.kind)))
            .map(|h| h.message.clone())
            .unwrap_or_default()
    }

    /// For each resource the workload's pod template asks more of than the largest node
    /// can allocate: (resource, asked, largest allocatable, that node), in the units
    /// [`Quantity`] reads (millicores, bytes).
    fn oversized_requests(&self, w: &ObjectRef) -> Vec<(String, f64, f64, String)> {
        let mut asked: std::collections::BTreeMap<String, f64> = Default::default();
        for c in self.containers(w).iter().filter(|c| !c.init) {
            for resource in ["cpu", "memory", "ephemeral-storage"] {
                if let Some(v) = c
                    .request(resource)
                    .and_then(|q| Quantity::of(resource).parse(q))
                {
                    *asked.entry(resource.to_string()).or_default() += v;
                }
            }
        }
        let mut out = Vec::new();
        for (resource, want) in asked {
            let q = Quantity::of(&resource);
            let largest = self
                .snap
                .nodes()
                .iter()
                .filter_map(|n| {
                    let v = n.value();
                    let have = v
                        .pointer(&format!("/status/allocatable/{resource}"))
                        .and_then(|a| a.as_str())
                        .and_then(|a| q.parse(a))?;
                    Some((have, n.meta.name.clone()))
                })
                .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
            if let Some((have, node)) = largest.filter(|(have, _)| want > *have) {
                out.push((resource, want, have, node));
            }
        }
        out
    }

    /// The indexes of a VirtualService's HTTP routes that inject a fault.
    fn fault_routes(&self, vs: &ObjectRef) -> Vec<usize> {
        self.object(vs)
            .and_then(|v| {
                v.pointer("/spec/http")
                    .and_then(|h| h.as_array())
                    .map(|routes| {
                        routes
                            .iter()
                            .enumerate()
                            .filter(|(_, r)| r.get("fault").is_some())
                            .map(|(i, _)| i)
                            .collect()
                    })
            })
            .unwrap_or_default()
    }

    /// The scheduler a workload's pods name.
    fn scheduler_name(&self, w: &ObjectRef) -> String {
        self.object(w)
            .and_then(|v| {
                v.pointer("/spec/template/spec/schedulerName")
                    .or(v.pointer("/spec/jobTemplate/spec/template/spec/schedulerName"))
                    .or(v.pointer("/spec/schedulerName"))
                    .and_then(|s| s.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "default-scheduler".into())
    }

    /// The replicas a workload had before it was scaled to 0, and where that was read:
    /// the `deployment.kubernetes.io/desired-replicas` annotation of its newest
    /// ReplicaSet, an autoscaler's minimum, or 1.
    fn replicas_before_scale_down(&self, w: &ObjectRef) -> (i64, String) {
        // What was last applied (kubectl apply's annotation), when it wants replicas: the
        // count the owners of the manifest meant; a `kubectl scale` does not touch it.
        let applied = self
            .object(w)
            .and_then(|v| {
                v.pointer("/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration")
                    .and_then(|a| a.as_str())
                    .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok())
            })
            .and_then(|m| m.pointer("/spec/replicas").and_then(|r| r.as_i64()))
            .filter(|r| *r > 0);
        if let Some(r) = applied {
            return (
                r,
                format!(
                    "{r} is the replica count of its last applied manifest (annotation kubectl.kubernetes.io/last-applied-configuration)"
                ),
            );
        }
        let mut newest: Option<(i64, String, i64)> = None;
        for r in self.rel.to(w) {
            if r.kind != intel_engine::RelationKind::OwnedBy || r.from.kind != "ReplicaSet" {
                continue;
            }
            let Some(v) = self.object(&r.from) else {
                continue;
            };
            let rev = v
                .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
                .and_then(|a| a.as_str())
                .and_then(|a| a.parse::<i64>().ok())
                .unwrap_or(0);
            let desired = v
                .pointer("/metadata/annotations/deployment.kubernetes.io~1desired-replicas")
                .and_then(|a| a.as_str())
                .and_then(|a| a.parse::<i64>().ok());
            if let Some(d) = desired.filter(|d| *d > 0) {
                if newest.as_ref().is_none_or(|(r, _, _)| rev > *r) {
                    newest = Some((rev, r.from.name.clone(), d));
                }
            }
        }
        if let Some((_, rs, d)) = newest {
            return (
                d,
                format!(
                    "{d} is what ReplicaSet {rs} records as the desired replicas before the scale-down (annotation deployment.kubernetes.io/desired-replicas)"
                ),
            );
        }
        if let Some(min) = self.autoscaler(w).map(|a| a.min) {
            return (
                min.max(1),
                format!("{} is its autoscaler's minimum", min.max(1)),
            );
        }
        (
            1,
            "1: the snapshot records no earlier replica count; raise it to what the load needs"
                .into(),
        )
    }
}

/// The pod labels of the workload a blocked egress was meant to reach (the first object on
/// the path that is not the policy).
fn labels_of_target(facts: &Facts, via: &[ObjectRef]) -> serde_json::Value {
    via.first()
        .and_then(|t| facts.object(t))
        .and_then(|v| v.pointer("/spec/selector/matchLabels").cloned())
        .unwrap_or(serde_json::Value::Null)
}
