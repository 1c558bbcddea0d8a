//! Remediations for a root cause, by category: concrete kubectl commands with the real
//! names, what to expect, how to verify, how to roll back. The immediate fix (stop the
//! bleeding) is listed apart from the long-term fix. Likelihood of success and risk are
//! fixed per remedy and documented here, so the ranking of recommendations is stable.
//!
//! Values come from the snapshot (`values`): a limit raised is the current one × 1.5,
//! written as a clean quantity, per container; a selector is the workload's own; a
//! rollback restores the spec captured. Each `why` says how a value was computed, and
//! where the snapshot does not know one, a sentence says what to choose and how: a
//! recommendation never carries a `<placeholder>`.

mod classes;
pub(crate) mod values;

pub use values::Facts;
use values::{Container, FACTOR, Quantity, Sizing, raised, shell_quote};

use crate::detect::Change;
use intel_engine::ObjectRef;

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

/// `deployment/NAME`, one shell word whatever the name holds.
fn kind_arg(r: &ObjectRef) -> String {
    shell_quote(&format!("{}/{}", r.kind.to_lowercase(), r.name))
}

fn ns(r: &ObjectRef) -> String {
    if r.namespace.is_empty() {
        String::new()
    } else {
        format!(" -n {}", shell_quote(&r.namespace))
    }
}

/// Watching a workload's pods: by its selector, or by name for a pod.
fn watch_pods(facts: &Facts, w: &ObjectRef) -> String {
    let wn = ns(w);
    if w.kind == "Pod" {
        return format!("kubectl get pod {}{wn} -w", shell_quote(&w.name));
    }
    match facts.selector(w) {
        Some(sel) => format!("kubectl get pods{wn} -l {} -w", shell_quote(&sel)),
        None => format!(
            "kubectl get pods{wn} -w | grep {}   # the snapshot holds no selector for {} {}; its pods carry its name",
            shell_quote(&w.name),
            w.kind,
            w.name
        ),
    }
}

/// What a new limit is computed from.
#[derive(Clone, Copy)]
enum Basis<'a> {
    /// Raise: the current limit × 1.5; with none, the peak usage or the request × 1.5.
    Raise,
    /// Bound a workload that has outgrown its request: the request × 1.5; the node (its
    /// allocatable) frames the choice when there is no request.
    Bound(Option<&'a str>),
}

/// `kubectl set resources` per container the findings name, with the computation of each
/// value (for the `why`).
fn resource_steps(
    facts: &Facts,
    w: &ObjectRef,
    resource: &str,
    basis: Basis,
) -> (Vec<String>, String) {
    let (wk, wn) = (kind_arg(w), ns(w));
    let all = facts.containers(w);
    if all.is_empty() {
        return (
            vec![
                format!("kubectl describe {wk}{wn} | grep -A3 Limits"),
                format!(
                    "the snapshot does not hold the pod template of {} {}: set each container's {resource} limit to 1.5× the value printed (or 1.5× its request where it has no limit) with kubectl set resources {wk}{wn}, one -c per container",
                    w.kind, w.name
                ),
            ],
            format!(
                "The snapshot does not hold the pod template of {} {}, so the current {resource} limits are not known here.",
                w.kind, w.name
            ),
        );
    }
    let mut steps = Vec::new();
    let mut whys = Vec::new();
    for c in facts.named_containers(&all) {
        let sizing: Sizing = match basis {
            Basis::Raise => facts.size(w, &c, resource, true),
            Basis::Bound(_) => bound(&c, resource),
        };
        let mut why = sizing.why.clone();
        match &sizing.limit {
            Some(limit) => {
                let request = sizing
                    .request
                    .as_ref()
                    .map(|r| format!(" --requests={resource}={r}"))
                    .unwrap_or_default();
                steps.push(format!(
                    "kubectl set resources {wk}{wn} -c {} --limits={resource}={limit}{request}",
                    shell_quote(&c.name)
                ));
            }
            None => {
                let node = match basis {
                    Basis::Bound(node) => node,
                    Basis::Raise => None,
                };
                let frame = match node.and_then(|n| Some((n, facts.allocatable(n, resource)?))) {
                    Some((n, a)) => {
                        let a = Quantity::of(resource).describe(&a);
                        why.push_str(&format!("; node {n} offers {a} allocatable {resource}"));
                        format!(", keeping it well below the {a} node {n} offers")
                    }
                    None => String::new(),
                };
                let measure = if resource == "ephemeral-storage" {
                    match node {
                        Some(n) => format!(
                            "measure the ephemeral storage container {} uses in the kubelet's summary (kubectl get --raw /api/v1/nodes/{n}/proxy/stats/summary) over a normal day",
                            c.name
                        ),
                        None => format!(
                            "measure the ephemeral storage container {} uses in the kubelet summary of the node it runs on (kubectl get pods{wn} -o wide names the node; kubectl get --raw with /api/v1/nodes/, that name and /proxy/stats/summary) over a normal day",
                            c.name
                        ),
                    }
                } else {
                    format!(
                        "measure container {} with kubectl top pods{wn} --containers over a normal busy hour",
                        c.name
                    )
                };
                steps.push(format!(
                    "{measure}, then pass 1.5× that peak as --limits={resource} to kubectl set resources {wk}{wn} -c {}{frame}",
                    shell_quote(&c.name)
                ));
            }
        }
        whys.push(why);
    }
    (steps, format!("{}.", whys.join("; ")))
}

/// A bound for a container that grew far beyond its request: the request × 1.5.
fn bound(c: &Container, resource: &str) -> Sizing {
    let q = Quantity::of(resource);
    let name = &c.name;
    let had = c
        .limit(resource)
        .map(|l| format!(", replacing its limit {l}"))
        .unwrap_or_else(|| format!(", where it has no {resource} limit"));
    match c.request(resource).and_then(|r| Some((r, q.parse(r)?))) {
        Some((r, rv)) if rv > 0.0 => {
            let (new, _) = q.scaled(rv);
            Sizing {
                container: name.clone(),
                limit: Some(new.clone()),
                request: Some(r.to_string()),
                why: format!(
                    "container {name}: its {resource} request {r} × {FACTOR} = {new}{had}; request {r} kept"
                ),
            }
        }
        _ => Sizing {
            container: name.clone(),
            limit: None,
            request: None,
            why: format!("container {name} has no {resource} request to bound it by{had}"),
        },
    }
}

/// `kubectl set image` back to the previous revision's images of the failing containers,
/// with what is known when there is no previous revision.
fn image_step(facts: &Facts, w: &ObjectRef) -> (String, String) {
    let (wk, wn) = (kind_arg(w), ns(w));
    let all = facts.containers(w);
    let failing = facts.named_containers(&all);
    if failing.is_empty() {
        return (
            format!(
                "kubectl get {wk}{wn} -o jsonpath='{{.spec.template.spec.containers[*].image}}'   # then set a tag that exists with kubectl set image {wk}{wn}"
            ),
            format!(
                "The snapshot does not hold the pod template of {} {}.",
                w.kind, w.name
            ),
        );
    }
    let (current, previous) = facts.previous_revision(w);
    let now: Vec<String> = failing
        .iter()
        .map(|c| format!("{} runs {}", c.name, c.image))
        .collect();
    if let Some(prev) = previous {
        let back: Vec<(&Container, &str)> = failing
            .iter()
            .filter_map(|c| {
                let img = prev.images.iter().find(|(n, _)| *n == c.name)?.1.as_str();
                (!img.is_empty() && img != c.image).then_some((c, img))
            })
            .collect();
        let cur = current
            .map(|n| format!(" (the current one is {n})"))
            .unwrap_or_default();
        if !back.is_empty() {
            let pairs: Vec<String> = back
                .iter()
                .map(|(c, img)| shell_quote(&format!("{}={img}", c.name)))
                .collect();
            let ran: Vec<String> = back
                .iter()
                .map(|(c, img)| format!("{} ran {img} (now {})", c.name, c.image))
                .collect();
            return (
                format!(
                    "kubectl set image {wk}{wn} {}   # the images of revision {}",
                    pairs.join(" "),
                    prev.number
                ),
                format!(
                    "In the previous revision {}{cur}, {}.",
                    prev.number,
                    ran.join(", ")
                ),
            );
        }
        return (
            format!(
                "check the pull secret first: revision {} ran the same image for the failing containers ({}), so the tag existed; the registry refuses the pull or is unreachable",
                prev.number,
                now.join(", ")
            ),
            format!(
                "The previous revision {}{cur} ran the same images: {}.",
                prev.number,
                now.join(", ")
            ),
        );
    }
    let repos: Vec<String> = failing
        .iter()
        .map(|c| format!("{} of container {}", repository(&c.image), c.name))
        .collect();
    (
        format!(
            "list the tags that exist in {} and set one with kubectl set image {wk}{wn} followed by container=image for each   # the snapshot holds no earlier revision to return to",
            repos.join(", ")
        ),
        format!(
            "The snapshot holds no earlier revision of {} {}; now {}.",
            w.kind,
            w.name,
            now.join(", ")
        ),
    )
}

/// The repository of an image reference: without its tag or digest.
fn repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => &image[..i],
        _ => image,
    }
}

fn replicas(n: i64) -> String {
    if n == 1 {
        "1 replica".into()
    } else {
        format!("{n} replicas")
    }
}

/// How to change a workload's replicas, and how to go back.
struct ScalePlan {
    steps: Vec<String>,
    rollback: Vec<String>,
    /// The computation, starting with a space; empty when nothing is known.
    why: String,
}

/// Scales `w` to `target(current)`: by hand, or through the floor of the autoscaler that
/// owns its replicas (capped by its maximum; the maximum raised when already there).
fn scale_plan(
    facts: &Facts,
    w: Option<&ObjectRef>,
    target: impl Fn(i64) -> i64,
    how: &str,
) -> ScalePlan {
    let Some(w) = w else {
        return ScalePlan {
            steps: vec!["the snapshot shows no workload whose pods the budget guards: add one replica to it by hand".into()],
            rollback: vec![],
            why: String::new(),
        };
    };
    let (wk, wn) = (kind_arg(w), ns(w));
    let Some(cur) = facts.replicas(w) else {
        let step = match w.kind.as_str() {
            "DaemonSet" => format!(
                "{wk} runs one pod per eligible node: add nodes to its pool (or widen its nodeSelector) to add capacity"
            ),
            "Deployment" | "StatefulSet" | "ReplicaSet" | "ReplicationController" => format!(
                "kubectl get {wk}{wn} -o jsonpath='{{.spec.replicas}}'   # then kubectl scale {wk}{wn} with --replicas set to that number {how}"
            ),
            _ => format!(
                "{} {} has no replicas to scale: run it under a Deployment, or add capacity where it runs",
                w.kind, w.name
            ),
        };
        return ScalePlan {
            steps: vec![step],
            rollback: vec![],
            why: String::new(),
        };
    };
    let want = target(cur);
    match facts.autoscaler(w) {
        Some(a) => {
            let (ak, an) = (kind_arg(&a.id), ns(&a.id));
            // Capped by the autoscaler's maximum; the maximum raised only when the
            // workload already runs at it.
            let (floor, max) = if want <= a.max {
                (want.max(a.min), a.max)
            } else if cur < a.max {
                (a.max, a.max)
            } else {
                (want, raised(a.max).max(want))
            };
            let patch = |min: i64, max: i64| {
                format!(
                    "kubectl patch {ak}{an} --type=merge -p '{{\"spec\":{{\"maxReplicas\":{max},\"minReplicas\":{min}}}}}'"
                )
            };
            let raised_max = if max != a.max {
                format!(", and its maxReplicas {} is raised to {max}", a.max)
            } else {
                String::new()
            };
            ScalePlan {
                steps: vec![patch(floor, max)],
                rollback: vec![patch(a.min, a.max)],
                why: format!(
                    " {} runs {}; {cur} {how} = {want}; autoscaler {} owns its replicas (min {}, max {}), so its minReplicas becomes {floor}{raised_max}.",
                    w.name,
                    replicas(cur),
                    a.id.name,
                    a.min,
                    a.max
                ),
            }
        }
        None => ScalePlan {
            steps: vec![format!("kubectl scale {wk}{wn} --replicas={want}")],
            rollback: vec![format!("kubectl scale {wk}{wn} --replicas={cur}")],
            why: format!(" {} runs {}; {cur} {how} = {want}.", w.name, replicas(cur)),
        },
    }
}

/// A patch that restores a budget's spec as captured; and a step saving it first when the
/// snapshot does not hold it.
fn budget_restore(facts: &Facts, pdb: &ObjectRef) -> (String, Option<String>) {
    let (pk, pn) = (kind_arg(pdb), ns(pdb));
    match facts.object(pdb).and_then(|v| v.get("spec").cloned()) {
        Some(spec) => {
            let field = |k: &str| spec.get(k).cloned().unwrap_or(serde_json::Value::Null);
            let patch = serde_json::json!({"spec": {
                "minAvailable": field("minAvailable"),
                "maxUnavailable": field("maxUnavailable"),
            }});
            (
                format!(
                    "kubectl patch {pk}{pn} --type=merge -p {}   # the budget as captured",
                    shell_quote(&patch.to_string())
                ),
                None,
            )
        }
        None => (
            "kubectl apply -f budget-before.yaml".into(),
            Some(format!("kubectl get {pk}{pn} -o yaml > budget-before.yaml")),
        ),
    }
}

/// A JSON patch that restores a Service's selector and ports as captured.
fn service_restore(facts: &Facts, svc: &ObjectRef) -> String {
    let (sk, sn) = (kind_arg(svc), ns(svc));
    let Some(spec) = facts.object(svc).and_then(|v| v.get("spec").cloned()) else {
        return format!(
            "the snapshot does not hold Service {}: save it with kubectl get {sk}{sn} -o yaml > service-before.yaml before editing, and kubectl apply -f service-before.yaml to go back",
            svc.name
        );
    };
    let ops: Vec<serde_json::Value> = ["selector", "ports"]
        .iter()
        .filter_map(|k| {
            let v = spec.get(*k)?;
            Some(serde_json::json!({"op": "add", "path": format!("/spec/{k}"), "value": v}))
        })
        .collect();
    format!(
        "kubectl patch {sk}{sn} --type=json -p {}   # the selector and ports as captured",
        shell_quote(&serde_json::Value::Array(ops).to_string())
    )
}

/// Remedies for `category` on `subject`; `workload` is the workload involved (the
/// subject itself, or the one the finding runs through), `change` the change before the
/// onset, if any; `facts` what the snapshot knows (limits, selectors, revisions).
pub fn remedies(
    category: &str,
    subject: &ObjectRef,
    workload: Option<&ObjectRef>,
    change: Option<&Change>,
    facts: &Facts,
) -> Vec<Remedy> {
    // A budget's remedies act on the workload whose pods it guards.
    let guarded = matches!(category, "DrainBlockedByPDB" | "PDBAllowsNoDisruption")
        .then(|| facts.budget_target(subject))
        .flatten();
    let w = guarded.as_ref().or(workload).unwrap_or(subject);
    let (wk, wn) = (kind_arg(w), ns(w));
    let (sk, sn) = (kind_arg(subject), ns(subject));
    let watch = format!("kubectl rollout status {wk}{wn} --timeout=5m");
    let pods = watch_pods(facts, w);
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
            let (steps, how) = resource_steps(facts, w, "memory", Basis::Raise);
            out.push(Remedy {
                title: format!("Give {} more memory headroom while the leak is fixed", w.name),
                why: format!("containers are killed at their memory limit; a higher limit buys time between restarts. {how}"),
                risk: "medium",
                horizon: "immediate",
                success: 0.6,
                effect: "fewer OOM kills and restarts; the leak still grows, only slower to hit the limit".into(),
                steps,
                verify: vec![watch.clone(), format!("kubectl top pods{wn} --containers | grep {}", shell_quote(&w.name))],
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
            let (steps, how) = resource_steps(facts, w, "cpu", Basis::Raise);
            out.push(Remedy {
                title: format!("Raise or remove the CPU limit of {}", w.name),
                why: format!("the container runs at its CPU limit and the kernel throttles it, which adds latency to every request. {how}"),
                risk: "low",
                horizon: "immediate",
                success: 0.8,
                effect: "request latency drops back as soon as the new pods are ready".into(),
                steps,
                verify: vec![watch.clone(), format!("kubectl top pods{wn} --containers | grep {}", shell_quote(&w.name))],
                rollback: vec![format!("kubectl rollout undo {wk}{wn}")],
            });
        }
        "ImagePullBackOff" => {
            out.push(rollout_undo("the new pods cannot pull their image; the old ones still run"));
            let (image_step, how) = image_step(facts, w);
            out.push(Remedy {
                title: format!("Fix the image reference or the pull credentials of {}", w.name),
                why: format!("the kubelet cannot pull the image: the tag does not exist, or the registry refuses the credentials. {how}"),
                risk: "low",
                horizon: "long-term",
                success: 0.9,
                effect: "the rollout completes".into(),
                steps: vec![
                    format!("kubectl describe pods{wn} | grep -A3 'Failed to pull'"),
                    image_step,
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
            rollback: vec![service_restore(facts, subject)],
            title: format!("Point Service {} at its pods again", subject.name),
            why: "the Service's selector or target port does not match the pods, so it has no working endpoint".into(),
            risk: "low",
            horizon: "immediate",
            success: 0.95,
            effect: "clients reach the pods immediately: no restart needed".into(),
            steps: vec![
                format!("kubectl get {sk}{sn} -o yaml"),
                format!("kubectl get endpointslices{sn} -l kubernetes.io/service-name={}", shell_quote(&subject.name)),
                format!("kubectl edit {sk}{sn}   # selector labels = the pods' labels; targetPort = the containerPort"),
            ],
            verify: vec![format!("kubectl get endpointslices{sn} -l kubernetes.io/service-name={} -o wide", shell_quote(&subject.name))],
        }),
        "AutoscalerAtMax" => {
            let max = facts
                .object(subject)
                .and_then(|v| v.pointer("/spec/maxReplicas").and_then(|m| m.as_i64()));
            let (how, steps, rollback) = match max {
                Some(m) => {
                    let up = raised(m);
                    (
                        format!(" maxReplicas {m} × {FACTOR}, rounded up = {up}."),
                        vec![format!("kubectl patch {sk}{sn} --type=merge -p '{{\"spec\":{{\"maxReplicas\":{up}}}}}'")],
                        vec![format!("kubectl patch {sk}{sn} --type=merge -p '{{\"spec\":{{\"maxReplicas\":{m}}}}}'")],
                    )
                }
                None => (
                    " The snapshot does not hold the autoscaler's spec.".to_string(),
                    vec![
                        format!("kubectl get {sk}{sn} -o jsonpath='{{.spec.maxReplicas}}'"),
                        format!("set maxReplicas to 1.5× the number printed, rounded up: kubectl patch {sk}{sn} --type=merge with spec.maxReplicas"),
                    ],
                    vec![format!("patch spec.maxReplicas of {sk}{sn} back to the number printed first")],
                ),
            };
            out.push(Remedy {
                title: format!("Raise maxReplicas of {}", subject.name),
                why: format!("the autoscaler wants more replicas than its maximum while the nodes have room.{how}"),
                risk: "low",
                horizon: "immediate",
                success: 0.85,
                effect: "more replicas share the load within minutes; latency falls".into(),
                steps,
                verify: vec![format!("kubectl get {sk}{sn} -w")],
                rollback,
            });
        }
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
        "DrainBlockedByPDB" | "PDBAllowsNoDisruption" => {
            let scale = scale_plan(facts, guarded.as_ref(), |n| n + 1, "+ 1");
            let (restore, saved) = budget_restore(facts, subject);
            let mut steps: Vec<String> = saved.into_iter().collect();
            steps.extend(
                scale
                    .steps
                    .iter()
                    .map(|s| format!("{s}   # keep capacity during the drain")),
            );
            steps.push(format!("kubectl patch {sk}{sn} --type=merge -p '{{\"spec\":{{\"minAvailable\":null,\"maxUnavailable\":1}}}}'"));
            let mut rollback = vec![restore];
            rollback.extend(scale.rollback);
            out.push(Remedy {
                title: format!("Let budget {} allow one disruption", subject.name),
                why: format!("the budget requires every pod to stay up, so no eviction (drain, upgrade) can proceed.{}", scale.why),
                risk: "medium",
                horizon: "immediate",
                success: 0.9,
                effect: "the drain evicts the pod and continues".into(),
                steps,
                verify: vec![format!("kubectl get {sk}{sn}   # ALLOWED DISRUPTIONS >= 1")],
                rollback,
            });
        }
        "SuspendedCronJob" | "CronJobNotRunning" | "JobFailed" => out.push(Remedy {
            title: format!("Resume {} and run it once now", subject.name),
            why: "the job that refreshes data has not run; consumers serve stale data".into(),
            risk: "low",
            horizon: "immediate",
            success: 0.85,
            effect: "fresh data after one successful run".into(),
            steps: vec![
                format!("kubectl patch {sk}{sn} -p '{{\"spec\":{{\"suspend\":false}}}}'"),
                format!("kubectl create job{sn} --from={sk} {}", shell_quote(&format!("{}-manual", subject.name))),
            ],
            verify: vec![format!("kubectl get jobs{sn} -w")],
            rollback: vec![format!("kubectl patch {sk}{sn} -p '{{\"spec\":{{\"suspend\":true}}}}'")],
        }),
        "CertificateExpired" | "CertificateRenewalFailing" | "TLSErrors" => {
            let hosts = facts.tls_hosts(subject);
            let mut why = "the served certificate expired; renewal has been failing".to_string();
            let mut verify: Vec<String> = hosts
                .iter()
                .map(|h| {
                    let h = shell_quote(h);
                    format!("openssl s_client -connect {h}:443 -servername {h} </dev/null | openssl x509 -noout -enddate")
                })
                .collect();
            if !hosts.is_empty() {
                why.push_str(&format!(". Served for {}", hosts.join(", ")));
            }
            if verify.is_empty() {
                verify.push(if subject.kind == "Secret" {
                    format!("kubectl get secret {}{sn} -o jsonpath='{{.data.tls\\.crt}}' | base64 -d | openssl x509 -noout -enddate   # no Ingress in the snapshot serves it", shell_quote(&subject.name))
                } else {
                    format!("kubectl logs {sk}{sn} --since=10m | grep -ci x509   # no more certificate errors")
                });
            }
            let cert = facts.certificate(subject);
            let steps = match &cert {
                Some(c) => vec![
                    format!("kubectl describe certificate{sn} {}", shell_quote(c)),
                    "fix what blocks the ACME challenge (the events say: firewall on port 80, DNS)".into(),
                    format!("cmctl renew{sn} {}   # or delete the failed CertificateRequest", shell_quote(c)),
                ],
                None => vec![
                    format!("kubectl get certificates{sn} -o wide   # the snapshot names no Certificate for {} {}: find the one that writes it", subject.kind, subject.name),
                    "fix what blocks the ACME challenge (the events say: firewall on port 80, DNS), or replace the Secret's tls.crt and tls.key with a valid certificate".into(),
                    format!("cmctl renew{sn} with the Certificate found above (or delete its failed CertificateRequest)"),
                ],
            };
            out.push(Remedy {
                title: format!("Renew the certificate in {}", subject.name),
                why,
                risk: "low",
                horizon: "immediate",
                success: 0.85,
                effect: "browsers and clients accept the site again once the Secret is renewed".into(),
                steps,
                verify,
                rollback: vec![],
            });
        }
        "NodeNotReady" | "NodeFlapping" | "NodeNetworkUnavailable" => out.push(Remedy {
            title: format!("Cordon and drain {}, then replace it", subject.name),
            why: "the node keeps losing contact with the control plane; pods on it fail intermittently".into(),
            risk: "medium",
            horizon: "immediate",
            success: 0.85,
            effect: "pods move to healthy nodes; intermittent errors stop".into(),
            steps: vec![
                format!("kubectl cordon {}", shell_quote(&subject.name)),
                format!("kubectl drain {} --ignore-daemonsets --delete-emptydir-data", shell_quote(&subject.name)),
            ],
            verify: vec![format!("kubectl get pods -A -o wide --field-selector spec.nodeName={}", shell_quote(&subject.name))],
            rollback: vec![format!("kubectl uncordon {}", shell_quote(&subject.name))],
        }),
        "UnboundedMemoryUse" | "EphemeralStorageExhaustion" => {
            let res = if category == "UnboundedMemoryUse" { "memory" } else { "ephemeral-storage" };
            if recent_rollout {
                out.push(rollout_undo("the last change to this workload removed or loosened its limits"));
            }
            let node = facts.node(w);
            let (steps, how) = resource_steps(facts, w, res, Basis::Bound(node.as_deref()));
            let describe = match &node {
                Some(n) => format!("kubectl describe node {} | grep -A6 Conditions", shell_quote(n)),
                None => "kubectl describe nodes | grep -A6 Conditions".into(),
            };
            out.push(Remedy {
                title: format!(
                    "Set {} {res} limit on {}",
                    if res.starts_with('e') { "an" } else { "a" },
                    w.name
                ),
                why: format!("{} uses far more {res} than it requests and starves its node; the kubelet evicts its neighbours. {how}", w.name),
                risk: "low",
                horizon: "immediate",
                success: 0.85,
                effect: "the workload is contained; the node recovers and evictions stop".into(),
                steps,
                verify: vec![watch.clone(), describe],
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
        "TrafficSurge" | "SlowOperations" | "ConnectionsExhausted" | "LatencyIncrease" => {
            if recent_rollout && category == "LatencyIncrease" {
                out.push(rollout_undo(
                    "it slowed down on its own right after its last rollout: the previous version was fast",
                ));
            }
            let scale = scale_plan(facts, Some(w), raised, "× 1.5, rounded up");
            let mut steps = scale.steps;
            steps.push("rate-limit the heaviest client or tenant at the edge".into());
            out.push(Remedy {
                title: format!("Relieve {}", w.name),
                why: format!("it is overloaded: more work arrives than it can serve in time.{}", scale.why),
                risk: "medium",
                horizon: "immediate",
                success: 0.6,
                effect: "latency drops as load is spread or limited".into(),
                steps,
                verify: vec![format!("kubectl top pods{wn}")],
                rollback: scale.rollback,
            });
        }
        _ => out.extend(classes::remedies(category, w, facts, &watch, &pods)),
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
                    shell_quote(&subject.name)
                ),
            ],
            verify: vec![],
            rollback: vec![],
        });
    }
    out
}

#[cfg(test)]
mod tests;
