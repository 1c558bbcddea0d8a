//! `kubectl intel schedule`: would these pods fit, where, and if not, exactly why — the
//! scheduler engine as a primitive (`intel_scheduler::request`).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use serde::Serialize;

use super::Exit;
use crate::scheduler::Cluster;
use crate::scheduler::drain::Drained;
use crate::scheduler::request::{PodAnswer, Request, answer, drains, drains_text, text};
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
    kubectl intel schedule -f deploy.yaml --context prod\n  \
    kubectl intel schedule --drain ip-10-0-1-11.eu-west-1.compute.internal --bundle prod.intel.tar.zst\n\n\
    A pod that is running is taken off its node first: the answer is where it would go now.\n\
    -f takes a Pod, or a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob\n\
    (its pod template). The message is kube-scheduler's FailedScheduling text for the\n\
    cluster's Kubernetes version; a pod that fits gets the best-scored nodes.\n\n\
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
    /// Drain this node as cluster-autoscaler would (repeatable, one after the other): what
    /// stays, what blocks the drain, where the evicted pods go.
    #[arg(long, value_name = "NODE")]
    pub drain: Vec<String>,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub live: LiveArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ScheduleFormat::Text)]
    pub output: ScheduleFormat,
}

#[derive(Serialize)]
struct ClusterAnswer<'a> {
    cluster: &'a str,
    pods: &'a [PodAnswer],
    #[serde(skip_serializing_if = "<[Drained]>::is_empty")]
    drains: &'a [Drained],
}

fn read_manifest(path: &PathBuf) -> anyhow::Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value = serde_saphyr::from_str(&text)
        .with_context(|| format!("{} is not YAML or JSON", path.display()))?;
    // Refuse what holds no pod before loading a cluster.
    crate::scheduler::request::pod_from_manifest(&value)
        .with_context(|| path.display().to_string())?;
    Ok(value)
}

pub fn run(args: &ScheduleArgs) -> anyhow::Result<Exit> {
    if args.pod.is_empty() && !args.pending && args.file.is_none() && args.drain.is_empty() {
        eprintln!("error: say which pods: --pod NS/NAME, --pending, -f FILE or --drain NODE");
        return Ok(Exit::Usage);
    }
    let mut req = Request {
        pods: args.pod.clone(),
        pending: args.pending,
        manifests: Vec::new(),
        drains: args.drain.clone(),
    };
    if let Some(path) = &args.file {
        match read_manifest(path) {
            Ok(v) => req.manifests.push(v),
            Err(e) => {
                eprintln!("error: {}", super::error_line(&e));
                return Ok(Exit::Usage);
            }
        }
    }
    let opts = args.live.options(&[]);
    let loaded = match super::diagnose::load(&args.source, &opts)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let mut out: Vec<(String, Vec<PodAnswer>, Vec<Drained>)> = Vec::new();
    for (name, snap) in &loaded.fleet.clusters {
        let mut cluster = Cluster::from_snapshot(snap);
        match answer(&mut cluster, &req).and_then(|a| Ok((a, drains(&mut cluster, &req)?))) {
            Ok((answers, drained)) => out.push((name.clone(), answers, drained)),
            Err(e) => {
                eprintln!("error: {e} (cluster {name})");
                return Ok(Exit::Usage);
            }
        }
    }
    match args.output {
        ScheduleFormat::Json => {
            let answers: Vec<ClusterAnswer> = out
                .iter()
                .map(|(cluster, pods, drains)| ClusterAnswer {
                    cluster,
                    pods,
                    drains,
                })
                .collect();
            let json = if answers.len() == 1 {
                serde_json::to_string_pretty(&answers[0])?
            } else {
                serde_json::to_string_pretty(&answers)?
            };
            println!("{json}");
        }
        ScheduleFormat::Text => {
            for (name, answers, drained) in &out {
                if out.len() > 1 {
                    println!("cluster {}", crate::redact::terminal_safe(name));
                }
                if !answers.is_empty() || drained.is_empty() {
                    print!("{}", crate::redact::terminal_safe(&text(answers)));
                }
                print!("{}", crate::redact::terminal_safe(&drains_text(drained)));
            }
        }
    }
    Ok(Exit::Ok)
}
