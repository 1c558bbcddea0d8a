//! `kubectl intel impact`: what a proposed change does before it is made — the rollout
//! simulated step by step, the blast radius, and strategies that were simulated too.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::Exit;
use super::diagnose::ReportFormat;
use crate::analysis::impact::{Change, Request, impact};
use crate::source::{LiveArgs, SourceArgs};

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Risky,
    Fails,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    kubectl intel impact --set-image deployment/checkout=registry.example.com/checkout:2.4.0 --bundle prod.intel.tar.zst\n  \
    kubectl intel impact -f checkout-v2.yaml --context prod --baseline-from staging.intel.tar.zst\n  \
    kubectl intel impact --replicas shop/deployment/web=12 --set-resources web/app=memory=1Gi/memory=2Gi --bundle prod.intel.tar.zst\n  \
    kubectl intel impact --drain ip-10-0-1-11.eu-west-1.compute.internal --bundle prod.intel.tar.zst -o json\n  \
    kubectl intel impact --scale-nodes general=4 --cordon node-7 --bundle prod.intel.tar.zst --fail-on risky\n\n\
    WORKLOAD is KIND/NAME, NAMESPACE/KIND/NAME, NAMESPACE/NAME or NAME (KIND: deployment,\n\
    statefulset, daemonset; -n gives the namespace); /CONTAINER may follow where a container\n\
    is meant. Flags combine: node changes are simulated first, then quotas and budgets, then\n\
    the workloads in the order named. -f takes what you would kubectl apply: Deployments,\n\
    StatefulSets, DaemonSets, Jobs, HPAs, PDBs, ResourceQuotas, LimitRanges, Services and\n\
    ConfigMaps, several documents per file. Every recommended strategy was simulated too.\n\n\
    Exit status: 0 with a report (whatever the verdict, unless --fail-on), 6 when --fail-on\n\
    matched the verdict, 2 for a change that names nothing that exists or an invalid\n\
    manifest, 3 for an unreadable bundle, 5 when a live cluster gave nothing, 1 on other failures.")]
pub struct ImpactArgs {
    /// A manifest to apply (YAML or JSON, several documents). Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// A new image: WORKLOAD[/CONTAINER]=IMAGE. Repeatable.
    #[arg(long, value_name = "WORKLOAD=IMAGE")]
    pub set_image: Vec<String>,
    /// A new replica count: WORKLOAD=N. Repeatable.
    #[arg(long, value_name = "WORKLOAD=N")]
    pub replicas: Vec<String>,
    /// New requests and limits: WORKLOAD[/CONTAINER]=REQUESTS[/LIMITS], each a list like
    /// cpu=500m,memory=1Gi (or requests.memory=1Gi,limits.memory=2Gi). Repeatable.
    #[arg(long, value_name = "WORKLOAD=REQ/LIM")]
    pub set_resources: Vec<String>,
    /// A JSON merge patch of a workload, as kubectl patch --type merge: WORKLOAD=JSON.
    #[arg(long, value_name = "WORKLOAD=JSON")]
    pub patch: Vec<String>,
    /// Scale a node pool (nodes sharing a node-group label): POOL=N.
    #[arg(long, value_name = "POOL=N")]
    pub scale_nodes: Vec<String>,
    /// Cordon a node. Repeatable.
    #[arg(long, value_name = "NODE")]
    pub cordon: Vec<String>,
    /// Drain a node (cluster-autoscaler's rules: PDBs, unreplicated pods, local storage).
    #[arg(long, value_name = "NODE")]
    pub drain: Vec<String>,
    /// Delete an object: KIND/NAME or NAMESPACE/KIND/NAME (a workload, node, Service, PDB,
    /// ResourceQuota or HPA). Repeatable.
    #[arg(long, value_name = "KIND/NAME")]
    pub delete: Vec<String>,
    /// The namespace of workload references that name none.
    #[arg(short = 'n', long = "namespace", value_name = "NS")]
    pub namespace: Option<String>,
    /// A cluster where the new version already runs (a bundle or a kubeconfig context, e.g.
    /// staging): its measured usage is the new version's.
    #[arg(long, value_name = "BUNDLE_OR_CONTEXT")]
    pub baseline_from: Option<String>,
    /// Exit 6 when the verdict is this bad or worse.
    #[arg(long, value_enum, value_name = "VERDICT")]
    pub fail_on: Option<FailOn>,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub live: LiveArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ReportFormat::Text)]
    pub output: ReportFormat,
}

fn change_of(args: &ImpactArgs) -> anyhow::Result<Change> {
    let mut c = Change {
        namespace: args.namespace.clone(),
        ..Change::default()
    };
    for path in &args.files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        c.apply_text(&text, &path.display().to_string())?;
    }
    for s in &args.set_image {
        c.set_image(s)?;
    }
    for s in &args.replicas {
        c.replicas(s)?;
    }
    for s in &args.set_resources {
        c.set_resources(s)?;
    }
    for s in &args.patch {
        c.patch(s)?;
    }
    for s in &args.scale_nodes {
        c.scale_nodes(s)?;
    }
    for s in &args.cordon {
        c.cordon(s);
    }
    for s in &args.drain {
        c.drain(s);
    }
    for s in &args.delete {
        c.delete(s)?;
    }
    Ok(c)
}

pub fn run(args: &ImpactArgs) -> anyhow::Result<Exit> {
    let change = match change_of(args) {
        Ok(c) if !c.is_empty() => c,
        Ok(_) => {
            eprintln!(
                "error: say what to simulate: -f FILE, --set-image, --replicas, --set-resources, --patch, --scale-nodes, --cordon, --drain or --delete"
            );
            return Ok(Exit::Usage);
        }
        Err(e) => {
            eprintln!("error: {}", super::error_line(&e));
            return Ok(Exit::Usage);
        }
    };
    let opts = args.live.options(&[]);
    let loaded = match super::diagnose::load(&args.source, &opts)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let baseline = match &args.baseline_from {
        None => None,
        Some(b) => {
            let source = if std::path::Path::new(b).exists() {
                SourceArgs {
                    bundles: vec![PathBuf::from(b)],
                    contexts: Vec::new(),
                    kubeconfig: args.source.kubeconfig.clone(),
                    strict: args.source.strict,
                }
            } else {
                SourceArgs {
                    bundles: Vec::new(),
                    contexts: vec![b.clone()],
                    kubeconfig: args.source.kubeconfig.clone(),
                    strict: args.source.strict,
                }
            };
            match super::diagnose::load(&source, &opts)? {
                Ok(l) => Some(l),
                Err(code) => return Ok(code),
            }
        }
    };
    let base_snap = baseline
        .as_ref()
        .and_then(|l| l.fleet.clusters.values().next().map(|s| &**s));
    let mut out = String::new();
    let mut worst = None;
    for (name, snap) in &loaded.fleet.clusters {
        let req = Request {
            change: change.clone(),
            baseline: base_snap,
        };
        let report = match impact(snap, &req) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e} (cluster {name})");
                return Ok(Exit::Usage);
            }
        };
        let verdict = report.details["verdict"]
            .as_str()
            .unwrap_or("fails")
            .to_string();
        worst = worst.max(Some(match verdict.as_str() {
            "safe" => 0,
            "risky" => 1,
            _ => 2,
        }));
        out.push_str(&args.output.render(&report)?);
    }
    print!("{}", crate::redact::terminal_safe(&out));
    let threshold = match args.fail_on {
        None => return Ok(Exit::Ok),
        Some(FailOn::Risky) => 1,
        Some(FailOn::Fails) => 2,
    };
    Ok(if worst.unwrap_or(0) >= threshold {
        Exit::VerdictFailed
    } else {
        Exit::Ok
    })
}
