//! Remediations for a root cause, by category: concrete kubectl commands with the real
//! names, what to expect, how to verify, how to roll back. The immediate fix (stop the
//! bleeding) is listed apart from the long-term fix. Likelihood of success and risk are
//! fixed per remedy and documented here, so the ranking of recommendations is stable.

use crate::analysis::detect::Change;
use crate::engine::ObjectRef;

pub struct Remedy {
    pub title: String,
    pub why: String,
    pub risk: &'static str,
    pub horizon: &'static str,
    /// 0–1, how likely it resolves the incident; recommendations are ranked by it.
    pub success: f64,
    pub effect: String,
    pub steps: Vec<String>,
    pub verify: Vec<String>,
    pub rollback: Vec<String>,
}

fn kind_arg(r: &ObjectRef) -> String {
    format!("{}/{}", r.kind.to_lowercase(), r.name)
}

fn ns(r: &ObjectRef) -> String {
    if r.namespace.is_empty() {
        String::new()
    } else {
        format!(" -n {}", r.namespace)
    }
}

/// Remedies for `category` on `subject`; `workload` is the workload involved (the
/// subject itself, or the one the finding runs through), `change` the change before the
/// onset, if any.
pub fn remedies(
    category: &str,
    subject: &ObjectRef,
    workload: Option<&ObjectRef>,
    change: Option<&Change>,
) -> Vec<Remedy> {
    let w = workload.unwrap_or(subject);
    let (wk, wn) = (kind_arg(w), ns(w));
    let (sk, sn) = (kind_arg(subject), ns(subject));
    let watch = format!("kubectl rollout status {wk}{wn} --timeout=5m");
    let pods = format!("kubectl get pods{wn} -l <the selector of {}> -w", w.name);
    let mut out = Vec::new();
    let rollout_undo = |why: &str| Remedy {
        title: format!("Roll back {} {} to the previous revision", w.kind, w.name),
        why: why.to_string(),
        risk: "low",
        horizon: "immediate",
        success: 0.9,
        effect: "the previous, working pod template serves again within a few minutes".into(),
        steps: vec![
            format!("kubectl rollout history {wk}{wn}"),
            format!("kubectl rollout undo {wk}{wn}"),
        ],
        verify: vec![watch.clone(), pods.clone()],
        rollback: vec![format!(
            "kubectl rollout undo {wk}{wn}   # undoing the undo re-applies the new revision"
        )],
    };
    let recent_rollout = change.is_some_and(|c| c.kind == "rollout" || c.kind == "spec-edit");
    match category {
        "MemoryLeak" | "OOMKilled" | "OutOfMemory" => {
            if recent_rollout {
                out.push(rollout_undo("the failures began after the last rollout: the previous version did not run out of memory"));
            }
            out.push(Remedy {
                title: format!("Give {} more memory headroom while the leak is fixed", w.name),
                why: "containers are killed at their memory limit; a higher limit buys time between restarts".into(),
                risk: "medium",
                horizon: "immediate",
                success: 0.6,
                effect: "fewer OOM kills and restarts; the leak still grows, only slower to hit the limit".into(),
                steps: vec![format!("kubectl set resources {wk}{wn} --limits=memory=<1.5x the current limit> --requests=memory=<current request>")],
                verify: vec![watch.clone(), format!("kubectl top pods{wn} --containers | grep {}", w.name)],
                rollback: vec![format!("kubectl rollout undo {wk}{wn}")],
            });
            out.push(Remedy {
                title: format!("Find and fix the leak in {}", w.name),
                why: "memory grows steadily until the kernel kills the container".into(),
                risk: "low",
                horizon: "long-term",
                success: 0.9,
                effect: "memory stays flat under load".into(),
                steps: vec!["profile the heap of the new version under production-like load (pprof, heap dumps)".into(), "add an alert on container_memory_working_set_bytes / limit > 0.9 for 10m".into()],
                verify: vec![format!("kubectl top pods{wn} --containers   # flat memory over an hour")],
                rollback: vec![],
            });
        }
        "CrashLoopBackOff" | "ContainerFailed" | "Restarts" | "Panics" => {
            if recent_rollout {
                out.push(rollout_undo("the crashes began with the last change to the pod template"));
            }
            out.push(Remedy {
                title: format!("Read why {} exits and fix its configuration or code", w.name),
                why: "the container exits with an error at start; its previous log says why".into(),
                risk: "low",
                horizon: if recent_rollout { "long-term" } else { "immediate" },
                success: 0.7,
                effect: "the container starts and stays up".into(),
                steps: vec![format!("kubectl logs {wk}{wn} --previous --tail=50"), format!("kubectl describe {wk}{wn}")],
                verify: vec![watch.clone()],
                rollback: vec![],
            });
        }
        "CPUThrottling" => {
            if recent_rollout {
                out.push(rollout_undo("the throttling began with the last rollout: the previous version fit its CPU limit"));
            }
            out.push(Remedy {
                title: format!("Raise or remove the CPU limit of {}", w.name),
                why: "the container runs at its CPU limit and the kernel throttles it, which adds latency to every request".into(),
                risk: "low",
                horizon: "immediate",
                success: 0.8,
                effect: "request latency drops back as soon as the new pods are ready".into(),
                steps: vec![format!("kubectl set resources {wk}{wn} --limits=cpu=<2x the current limit>")],
                verify: vec![watch.clone(), format!("kubectl top pods{wn} --containers | grep {}", w.name)],
                rollback: vec![format!("kubectl rollout undo {wk}{wn}")],
            });
        }
        "ImagePullBackOff" => {
            out.push(rollout_undo("the new pods cannot pull their image; the old ones still run"));
            out.push(Remedy {
                title: format!("Fix the image reference or the pull credentials of {}", w.name),
                why: "the kubelet cannot pull the image: the tag does not exist, or the registry refuses the credentials".into(),
                risk: "low",
                horizon: "long-term",
                success: 0.9,
                effect: "the rollout completes".into(),
                steps: vec![
                    format!("kubectl describe pods{wn} | grep -A3 'Failed to pull'"),
                    format!("kubectl set image {wk}{wn} <container>=<an existing image tag>"),
                    format!("kubectl get {wk}{wn} -o jsonpath='{{.spec.template.spec.imagePullSecrets}}'   # the pull secret must exist and be valid"),
                ],
                verify: vec![watch.clone()],
                rollback: vec![format!("kubectl rollout undo {wk}{wn}")],
            });
        }
        "CreateContainerConfigError" | "MissingConfigReference" => {
            out.push(Remedy {
                title: format!("Add what {} {} is missing", subject.kind, subject.name),
                why: "the kubelet cannot build the container's environment: a referenced key or object does not exist".into(),
                risk: "low",
                horizon: "immediate",
                success: 0.9,
                effect: "the waiting containers start within a minute".into(),
                steps: vec![format!("kubectl get {sk}{sn} -o yaml"), format!("kubectl edit {sk}{sn}   # add the key the pod references")],
                verify: vec![watch.clone()],
                rollback: vec![format!("kubectl rollout undo {wk}{wn}")],
            });
            out.push(rollout_undo("the previous revision did not reference the missing key"));
        }
        "Unschedulable" | "VolumeZoneConflict" => out.push(Remedy {
            title: format!("Make {} schedulable", w.name),
            why: "the scheduler finds no node that satisfies the pod's requests, selectors, tolerations, affinity or volume zone".into(),
            risk: "medium",
            horizon: "immediate",
            success: 0.7,
            effect: "the pending pods get a node and start".into(),
            steps: vec![
                format!("kubectl describe pods{wn} | grep -A5 FailedScheduling"),
                "add capacity (a node in the right zone or pool), or relax the constraint the scheduler names".into(),
                format!("kubectl get {sk}{sn} -o yaml"),
            ],
            verify: vec![format!("kubectl get pods{wn} --field-selector=status.phase=Pending")],
            rollback: vec!["revert the constraint change".into()],
        }),
        "ServiceSelectorMismatch" | "ServicePortMismatch" => out.push(Remedy {
            title: format!("Point Service {} at its pods again", subject.name),
            why: "the Service's selector or target port does not match the pods, so it has no working endpoint".into(),
            risk: "low",
            horizon: "immediate",
            success: 0.95,
            effect: "clients reach the pods immediately: no restart needed".into(),
            steps: vec![
                format!("kubectl get {sk}{sn} -o yaml"),
                format!("kubectl get endpointslices{sn} -l kubernetes.io/service-name={}", subject.name),
                format!("kubectl edit {sk}{sn}   # selector labels = the pods' labels; targetPort = the containerPort"),
            ],
            verify: vec![format!("kubectl get endpointslices{sn} -l kubernetes.io/service-name={} -o wide", subject.name)],
            rollback: vec![format!("kubectl apply -f <the previous Service manifest>")],
        }),
        "AutoscalerAtMax" => out.push(Remedy {
            title: format!("Raise maxReplicas of {}", subject.name),
            why: "the autoscaler wants more replicas than its maximum while the nodes have room".into(),
            risk: "low",
            horizon: "immediate",
            success: 0.85,
            effect: "more replicas share the load within minutes; latency falls".into(),
            steps: vec![format!("kubectl patch {sk}{sn} --type=merge -p '{{\"spec\":{{\"maxReplicas\":<2x current>}}}}'")],
            verify: vec![format!("kubectl get {sk}{sn} -w")],
            rollback: vec![format!("kubectl patch {sk}{sn} --type=merge -p '{{\"spec\":{{\"maxReplicas\":<previous>}}}}'")],
        }),
        "ResourceQuotaExceeded" => out.push(Remedy {
            title: format!("Raise quota {} or free requests in {}", subject.name, subject.namespace),
            why: "the quota rejects new pods: the workload cannot scale or roll out".into(),
            risk: "low",
            horizon: "immediate",
            success: 0.9,
            effect: "the ReplicaSet creates the missing pods within a minute".into(),
            steps: vec![format!("kubectl describe {sk}{sn}"), format!("kubectl edit {sk}{sn}   # raise the exhausted hard limit")],
            verify: vec![format!("kubectl get events{sn} --field-selector reason=FailedCreate")],
            rollback: vec![format!("kubectl edit {sk}{sn}")],
        }),
        "DrainBlockedByPDB" | "PDBAllowsNoDisruption" => out.push(Remedy {
            title: format!("Let budget {} allow one disruption", subject.name),
            why: "the budget requires every pod to stay up, so no eviction (drain, upgrade) can proceed".into(),
            risk: "medium",
            horizon: "immediate",
            success: 0.9,
            effect: "the drain evicts the pod and continues".into(),
            steps: vec![
                format!("kubectl scale {wk}{wn} --replicas=<current + 1>   # keep capacity during the drain"),
                format!("kubectl patch {sk}{sn} --type=merge -p '{{\"spec\":{{\"minAvailable\":null,\"maxUnavailable\":1}}}}'"),
            ],
            verify: vec![format!("kubectl get {sk}{sn}   # ALLOWED DISRUPTIONS >= 1")],
            rollback: vec![format!("kubectl apply -f <the previous budget manifest>")],
        }),
        "SuspendedCronJob" | "CronJobNotRunning" | "JobFailed" => out.push(Remedy {
            title: format!("Resume {} and run it once now", subject.name),
            why: "the job that refreshes data has not run; consumers serve stale data".into(),
            risk: "low",
            horizon: "immediate",
            success: 0.85,
            effect: "fresh data after one successful run".into(),
            steps: vec![
                format!("kubectl patch {sk}{sn} -p '{{\"spec\":{{\"suspend\":false}}}}'"),
                format!("kubectl create job{sn} --from={sk} {}-manual", subject.name),
            ],
            verify: vec![format!("kubectl get jobs{sn} -w")],
            rollback: vec![format!("kubectl patch {sk}{sn} -p '{{\"spec\":{{\"suspend\":true}}}}'")],
        }),
        "CertificateExpired" | "CertificateRenewalFailing" | "TLSErrors" => out.push(Remedy {
            title: format!("Renew the certificate in {}", subject.name),
            why: "the served certificate expired; renewal has been failing".into(),
            risk: "low",
            horizon: "immediate",
            success: 0.85,
            effect: "browsers and clients accept the site again once the Secret is renewed".into(),
            steps: vec![
                format!("kubectl describe certificate{sn} {}", subject.name),
                "fix what blocks the ACME challenge (the events say: firewall on port 80, DNS)".into(),
                format!("cmctl renew{sn} {}   # or delete the failed CertificateRequest", subject.name),
            ],
            verify: vec!["openssl s_client -connect <host>:443 -servername <host> </dev/null | openssl x509 -noout -enddate".into()],
            rollback: vec![],
        }),
        "NodeNotReady" | "NodeFlapping" | "NodeNetworkUnavailable" => out.push(Remedy {
            title: format!("Cordon and drain {}, then replace it", subject.name),
            why: "the node keeps losing contact with the control plane; pods on it fail intermittently".into(),
            risk: "medium",
            horizon: "immediate",
            success: 0.85,
            effect: "pods move to healthy nodes; intermittent errors stop".into(),
            steps: vec![
                format!("kubectl cordon {}", subject.name),
                format!("kubectl drain {} --ignore-daemonsets --delete-emptydir-data", subject.name),
            ],
            verify: vec![format!("kubectl get pods -A -o wide --field-selector spec.nodeName={}", subject.name)],
            rollback: vec![format!("kubectl uncordon {}", subject.name)],
        }),
        "UnboundedMemoryUse" | "EphemeralStorageExhaustion" => {
            let res = if category == "UnboundedMemoryUse" { "memory" } else { "ephemeral-storage" };
            if recent_rollout {
                out.push(rollout_undo("the last change to this workload removed or loosened its limits"));
            }
            out.push(Remedy {
                title: format!("Set a {res} limit on {}", w.name),
                why: format!("{} uses far more {res} than it requests and starves its node; the kubelet evicts its neighbours", w.name),
                risk: "low",
                horizon: "immediate",
                success: 0.85,
                effect: "the workload is contained; the node recovers and evictions stop".into(),
                steps: vec![format!("kubectl set resources {wk}{wn} --limits={res}=<a bound>")],
                verify: vec![watch.clone(), "kubectl describe node <node> | grep -A6 Conditions".into()],
                rollback: vec![format!("kubectl rollout undo {wk}{wn}")],
            });
        }
        "ProbeMisconfiguration" | "ReadinessProbeFailing" | "LivenessProbeFailing" | "StartupProbeFailing" => out.push(Remedy {
            title: format!("Fix the probes of {}", w.name),
            why: "the probe fails although the process may be fine (wrong port or path, too short a delay)".into(),
            risk: "low",
            horizon: "immediate",
            success: 0.8,
            effect: "pods become Ready and stop being restarted".into(),
            steps: vec![format!("kubectl get {wk}{wn} -o jsonpath='{{.spec.template.spec.containers[*].readinessProbe}}'"), format!("kubectl edit {wk}{wn}   # probe port = containerPort; add a startupProbe for slow starters")],
            verify: vec![watch.clone()],
            rollback: vec![format!("kubectl rollout undo {wk}{wn}")],
        }),
        "TrafficSurge" | "SlowOperations" | "ConnectionsExhausted" => out.push(Remedy {
            title: format!("Relieve {}", w.name),
            why: "it is overloaded: more work arrives than it can serve in time".into(),
            risk: "medium",
            horizon: "immediate",
            success: 0.6,
            effect: "latency drops as load is spread or limited".into(),
            steps: vec![format!("kubectl scale {wk}{wn} --replicas=<more>"), "rate-limit the heaviest client or tenant at the edge".into()],
            verify: vec![format!("kubectl top pods{wn}")],
            rollback: vec![format!("kubectl scale {wk}{wn} --replicas=<previous>")],
        }),
        _ => {}
    }
    if let Some(c) = change.filter(|c| c.kind == "config-edit") {
        if let Some(cfg) = &c.via {
            out.insert(
                0,
                Remedy {
                    title: format!("Revert the edit to {} {}", cfg.kind, cfg.name),
                    why: format!("{} just before the failures began", c.message),
                    risk: "low",
                    horizon: "immediate",
                    success: 0.9,
                    effect: "the workload starts with the last working configuration".into(),
                    steps: vec![
                        format!("kubectl get {}{} -o yaml > current.yaml", kind_arg(cfg), ns(cfg)),
                        "restore the previous data (from Git or the last applied manifest) and kubectl apply it".into(),
                        format!("kubectl rollout restart {wk}{wn}"),
                    ],
                    verify: vec![watch.clone()],
                    rollback: vec!["kubectl apply -f current.yaml".into()],
                },
            );
        }
    }
    out.sort_by(|a, b| {
        (a.horizon != "immediate")
            .cmp(&(b.horizon != "immediate"))
            .then(b.success.total_cmp(&a.success))
    });
    if out.is_empty() {
        out.push(Remedy {
            title: format!("Inspect {} {}", subject.kind, subject.name),
            why: "its findings are the strongest lead".into(),
            risk: "low",
            horizon: "immediate",
            success: 0.4,
            effect: "the details that decide the fix".into(),
            steps: vec![
                format!("kubectl describe {sk}{sn}"),
                format!(
                    "kubectl get events{sn} --field-selector involvedObject.name={}",
                    subject.name
                ),
            ],
            verify: vec![],
            rollback: vec![],
        });
    }
    out
}
