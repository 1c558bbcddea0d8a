//! `kubectl intel schedule`: would these pods fit, where, and if not, exactly why — the
//! scheduler engine as a primitive.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use serde::Serialize;

use super::Exit;
use crate::scheduler::score::NodeScore;
use crate::scheduler::{Cluster, PodInfo, Verdict, place, simulate};
use crate::source::{LiveArgs, SourceArgs};

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    kubectl intel schedule --pending --bundle prod.intel.tar.zst\n  \
    kubectl intel schedule --pod shop/checkout-7d9c5 --bundle prod.intel.tar.zst -o json\n  \
    kubectl intel schedule -f deploy.yaml --context prod\n\n\
    A pod that is running is taken off its node first: the answer is where it would go now.\n\
    -f takes a Pod, or a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob\n\
    (its pod template). The message is kube-scheduler's FailedScheduling text for the\n\
    cluster's Kubernetes version.\n\n\
    Exit status: 0 with an answer (whether or not the pods fit), 2 for a pod that does not\n\
    exist or a file that holds none, 3 for an unreadable bundle, 5 when a live cluster gave\n\
    nothing, 1 on other failures.")]
pub struct ScheduleArgs {
    /// A pod of the cluster, NAMESPACE/NAME (repeatable).
    #[arg(long, value_name = "NS/NAME")]
    pub pod: Vec<String>,
    /// Every pod that is waiting for a node.
    #[arg(long)]
    pub pending: bool,
    /// A Pod or workload manifest (YAML or JSON); its pod template is scheduled.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub live: LiveArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ScheduleFormat::Text)]
    pub output: ScheduleFormat,
}

#[derive(Serialize)]
struct Answer<'a> {
    cluster: &'a str,
    pods: Vec<PodAnswer>,
}

/// One pod's answer: `message` is the FailedScheduling text (null when it fits).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodAnswer {
    namespace: String,
    name: String,
    schedulable: bool,
    message: Option<String>,
    /// Where it fits.
    nodes: Vec<String>,
    /// Per reason, the nodes that gave it (each node's first failing plugin).
    reasons: BTreeMap<String, Vec<String>>,
    /// Where evicting lower-priority pods would make room.
    preemption_node: Option<String>,
    /// Where it would go: the first by name of the best-scored nodes (the scheduler picks
    /// one of `best` at random).
    choice: Option<String>,
    best: Vec<String>,
    /// The five best scores with each plugin's weighted part.
    scores: Vec<NodeScore>,
    /// Score plugins not modelled.
    unscored: Vec<&'static str>,
}

/// A pod's verdict with, when it fits, where it would go.
#[derive(Clone)]
struct Answered {
    verdict: Verdict,
    placement: Option<crate::scheduler::Placement>,
}

fn answered(cluster: &Cluster, pod: &PodInfo) -> Answered {
    let verdict = simulate(cluster, pod);
    let placement = verdict.schedulable.then(|| place(cluster, pod, 0).0);
    Answered { verdict, placement }
}

fn answer(a: Answered) -> PodAnswer {
    let Answered {
        verdict: v,
        placement,
    } = a;
    let mut reasons: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (node, status) in &v.rejected {
        for r in &status.reasons {
            reasons.entry(r.clone()).or_default().push(node.clone());
        }
    }
    if let Some(pre) = &v.pre_filter {
        for r in &pre.reasons {
            reasons.entry(r.clone()).or_default();
        }
    }
    PodAnswer {
        namespace: v.namespace,
        name: v.name,
        schedulable: v.schedulable,
        message: v.message,
        nodes: v.feasible,
        reasons,
        preemption_node: v.preemption_node,
        choice: placement.as_ref().and_then(|p| p.node.clone()),
        best: placement
            .as_ref()
            .map(|p| p.best.clone())
            .unwrap_or_default(),
        scores: placement
            .as_ref()
            .map(|p| p.scores.iter().take(5).cloned().collect())
            .unwrap_or_default(),
        unscored: placement.map(|p| p.unscored).unwrap_or_default(),
    }
}

/// The pod a manifest describes: a Pod as it is, a workload's template with the
/// workload's namespace and a name made from the workload's.
fn pod_from_file(path: &PathBuf) -> anyhow::Result<k8s_openapi::api::core::v1::Pod> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value = serde_saphyr::from_str(&text)
        .with_context(|| format!("{} is not YAML or JSON", path.display()))?;
    let kind = value["kind"].as_str().unwrap_or_default();
    let namespace = value["metadata"]["namespace"].as_str().unwrap_or("default");
    let name = value["metadata"]["name"].as_str().unwrap_or("pod");
    let pod = match kind {
        "Pod" => value.clone(),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController"
        | "CronJob" => {
            let template = if kind == "CronJob" {
                &value["spec"]["jobTemplate"]["spec"]["template"]
            } else {
                &value["spec"]["template"]
            };
            if !template.is_object() {
                anyhow::bail!(
                    "{}: {kind} {name} has no pod template (spec.template)",
                    path.display()
                );
            }
            let mut pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod"});
            pod["metadata"] = template["metadata"].clone();
            pod["metadata"]["name"] = serde_json::json!(format!("{name}-new"));
            pod["metadata"]["namespace"] = serde_json::json!(namespace);
            pod["spec"] = template["spec"].clone();
            pod
        }
        other => anyhow::bail!(
            "{}: kind {other:?} has no pods; give a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob",
            path.display()
        ),
    };
    let mut pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(pod)
        .with_context(|| format!("{}: not a valid pod spec", path.display()))?;
    if pod.metadata.namespace.is_none() {
        pod.metadata.namespace = Some(namespace.to_string());
    }
    Ok(pod)
}

pub fn run(args: &ScheduleArgs) -> anyhow::Result<Exit> {
    if args.pod.is_empty() && !args.pending && args.file.is_none() {
        eprintln!("error: say which pods: --pod NS/NAME, --pending or -f FILE");
        return Ok(Exit::Usage);
    }
    let from_file = match &args.file {
        Some(path) => match pod_from_file(path) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("error: {e:#}");
                return Ok(Exit::Usage);
            }
        },
        None => None,
    };
    let opts = args.live.options(&[]);
    let loaded = match super::diagnose::load(&args.source, &opts)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let mut out: Vec<(String, Vec<Answered>)> = Vec::new();
    for (cluster_name, snap) in &loaded.fleet.clusters {
        let mut cluster = Cluster::from_snapshot(snap);
        let mut verdicts = Vec::new();
        for wanted in &args.pod {
            let Some((ns, name)) = wanted.split_once('/') else {
                eprintln!("error: --pod {wanted:?}: write NAMESPACE/NAME");
                return Ok(Exit::Usage);
            };
            let Some(i) = cluster.pod(ns, name) else {
                eprintln!("error: no pod {ns}/{name} in cluster {cluster_name}");
                return Ok(Exit::Usage);
            };
            // A bound pod is taken off its node: where would it go now?
            let node = cluster.unbind(i);
            verdicts.push(answered(&cluster, &cluster.pods[i].unbound()));
            if let Some(node) = node {
                cluster.bind(i, &node);
            }
        }
        if args.pending {
            let pending: Vec<usize> = (0..cluster.pods.len())
                .filter(|&i| cluster.pods[i].bound.is_none() && !cluster.pods[i].terminal)
                .collect();
            for i in pending {
                verdicts.push(answered(&cluster, &cluster.pods[i]));
            }
        }
        if let Some(pod) = &from_file {
            verdicts.push(answered(&cluster, &PodInfo::from_pod(pod)));
        }
        out.push((cluster_name.to_string(), verdicts));
    }
    match args.output {
        ScheduleFormat::Json => {
            let answers: Vec<Answer> = out
                .iter()
                .map(|(c, vs)| Answer {
                    cluster: c,
                    pods: vs.iter().map(|a| answer(a.clone())).collect(),
                })
                .collect();
            let json = if answers.len() == 1 {
                serde_json::to_string_pretty(&answers[0])?
            } else {
                serde_json::to_string_pretty(&answers)?
            };
            println!("{json}");
        }
        ScheduleFormat::Text => print!("{}", text(&out)),
    }
    Ok(Exit::Ok)
}

fn text(out: &[(String, Vec<Answered>)]) -> String {
    let mut s = String::new();
    for (cluster, verdicts) in out {
        if out.len() > 1 {
            s.push_str(&format!("cluster {cluster}\n"));
        }
        if verdicts.is_empty() {
            s.push_str("no pods to schedule\n");
        }
        for v in verdicts {
            let a = answer(v.clone());
            if a.schedulable {
                s.push_str(&format!(
                    "{}/{}: fits on {} node(s): {}\n",
                    a.namespace,
                    a.name,
                    a.nodes.len(),
                    list(&a.nodes)
                ));
                if let (Some(choice), Some(top)) = (&a.choice, a.scores.first()) {
                    let parts: Vec<String> = top
                        .plugins
                        .iter()
                        .map(|p| format!("{} {}", p.plugin, p.score))
                        .collect();
                    s.push_str(&format!(
                        "  best: {} (score {}: {}){}\n",
                        choice,
                        top.total,
                        parts.join(", "),
                        if a.best.len() > 1 {
                            format!(
                                "; {} nodes tie, the scheduler picks one at random",
                                a.best.len()
                            )
                        } else {
                            String::new()
                        }
                    ));
                }
                continue;
            }
            s.push_str(&format!("{}/{}: does not fit\n", a.namespace, a.name));
            if let Some(m) = &a.message {
                s.push_str(&format!("  {m}\n"));
            }
            for (reason, nodes) in &a.reasons {
                if !nodes.is_empty() {
                    s.push_str(&format!("  {reason}: {}\n", list(nodes)));
                }
            }
            if let Some(n) = &a.preemption_node {
                s.push_str(&format!(
                    "  preempting lower-priority pods on {n} would make room\n"
                ));
            }
        }
    }
    s
}

/// Node names, the first ten and a count of the rest.
fn list(nodes: &[String]) -> String {
    if nodes.len() <= 10 {
        nodes.join(", ")
    } else {
        format!("{} and {} more", nodes[..10].join(", "), nodes.len() - 10)
    }
}
