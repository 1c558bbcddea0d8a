//! `kubectl intel dr-plan`: the single points of failure, and what a lost node, zone,
//! pool or workload takes down, simulated with the scheduler engine.

use clap::Args;

use super::Exit;
use super::diagnose::ReportFormat;
use crate::analysis::diagnose;
use crate::analysis::drplan::incident::Incident;
use crate::analysis::drplan::{Request, Scenario, plan};
use crate::source::{LiveArgs, SourceArgs};

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    kubectl intel dr-plan --bundle prod.intel.tar.zst\n  \
    kubectl intel dr-plan --scenario zone=eu-west-1a --bundle prod.intel.tar.zst -o json\n  \
    kubectl intel dr-plan --scenario node=ip-10-0-1-11.eu-west-1.compute.internal --scenario workload=shop/auth --context prod\n  \
    kubectl intel dr-plan --scenario rollback=shop/checkout --bundle prod.intel.tar.zst\n  \
    kubectl intel dr-plan --scenario primary=data/orders-pg --bundle prod.intel.tar.zst\n  \
    kubectl intel dr-plan --incident \"checkout is failing\" --bundle prod.intel.tar.zst\n  \
    kubectl intel diagnose \"checkout is failing\" --bundle prod.intel.tar.zst -o json > diag.json\n  \
    kubectl intel dr-plan --from-report diag.json --bundle prod.intel.tar.zst\n\n\
    With --incident or --from-report the plan starts from the diagnosed root causes (how do\n\
    we prevent this?): their workload failing, its rollback, a datastore's primary or the\n\
    node are simulated in place of the defaults, and their fixes come first.\n\n\
    Without --scenario: every zone, every node pool (when there are several, up to 500 nodes), every node of a\n\
    cluster of at most 50 nodes, the 20 workloads others depend on most, and the primaries of\n\
    the 5 replicated datastores others depend on most. A lost node's\n\
    pods are placed again as kube-scheduler would; what fits nowhere stays Pending with the\n\
    scheduler's message.\n\n\
    Exit status: 0 with a plan, 2 for a scenario that names nothing that exists, 3 for an\n\
    unreadable bundle, 5 when a live cluster gave nothing, 1 on other failures.")]
pub struct DrPlanArgs {
    /// What to fail: zone=NAME, node=NAME, pool=NAME, workload=NAMESPACE/NAME,
    /// rollback=NAMESPACE/NAME (is there a revision to go back to, and does it roll out), or
    /// primary=NAMESPACE/NAME (a datastore's primary lost with its node: does anything
    /// promote a replica). Repeatable.
    #[arg(long, value_name = "KIND=NAME")]
    pub scenario: Vec<String>,
    /// Start from an incident: diagnose this symptom on the same cluster and plan from its
    /// root causes.
    #[arg(long, value_name = "SYMPTOM", conflicts_with = "from_report")]
    pub incident: Option<String>,
    /// Start from a saved diagnosis (`kubectl intel diagnose … -o json`) and plan from its
    /// root causes.
    #[arg(long, value_name = "FILE")]
    pub from_report: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub live: LiveArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ReportFormat::Text)]
    pub output: ReportFormat,
}

pub fn run(args: &DrPlanArgs) -> anyhow::Result<Exit> {
    let mut req = Request::default();
    for s in &args.scenario {
        match Scenario::parse(s) {
            Ok(s) => req.scenarios.push(s),
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(Exit::Usage);
            }
        }
    }
    let opts = args.live.options(&[]);
    let loaded = match super::diagnose::load(&args.source, &opts)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    // The diagnosis to start from, once for every cluster.
    let diagnosis: Option<(serde_json::Value, String)> = if let Some(symptom) = &args.incident {
        let report = diagnose::diagnose(
            &loaded.fleet,
            &diagnose::Request {
                symptom: symptom.clone(),
                ..Default::default()
            },
        );
        Some((
            serde_json::to_value(&report)?,
            format!("diagnose {symptom:?}"),
        ))
    } else if let Some(path) = &args.from_report {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: --from-report {}: {e}", path.display());
                return Ok(Exit::Usage);
            }
        };
        match serde_json::from_str(&text) {
            Ok(v) => Some((v, format!("report {}", path.display()))),
            Err(e) => {
                eprintln!(
                    "error: --from-report {}: not JSON ({e}); write it with `kubectl intel diagnose SYMPTOM -o json`",
                    path.display()
                );
                return Ok(Exit::Usage);
            }
        }
    } else {
        None
    };
    let mut out = String::new();
    for (name, snap) in &loaded.fleet.clusters {
        let mut req = req.clone();
        if let Some((report, source)) = &diagnosis {
            match Incident::from_report(report, source, name) {
                Ok(i) => req.incident = Some(i),
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(Exit::Usage);
                }
            }
        }
        let report = match plan(snap, &req) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e} (cluster {name})");
                return Ok(Exit::Usage);
            }
        };
        out.push_str(&args.output.render(&report)?);
    }
    print!("{}", crate::redact::terminal_safe(&out));
    Ok(Exit::Ok)
}
