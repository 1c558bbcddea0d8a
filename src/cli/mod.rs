//! The command line: parses arguments, calls the library, renders, and maps failures to
//! exit codes. Thin by design: no analysis or format knowledge lives here.

mod diagnose;
mod drplan;
mod explain;
mod impact;
mod inspect;
mod optimize;
mod schedule;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use intel_exit::Exit;

#[derive(Parser, Debug)]
#[command(
    name = "kubectl-intel",
    bin_name = "kubectl intel",
    version,
    about = "Cluster snapshots and evidence-based answers: capture, inspect and replay Kubernetes clusters",
    long_about = "kubectl intel turns Kubernetes clusters — live, or captured as snapshot bundles — into answers.\n\n\
        Capture a cluster into a bundle (resources, events, logs, metrics; secrets redacted), \
        inspect it, or replay it as a read-only Kubernetes API that kubectl and k9s can talk to.",
    after_help = "Examples:\n  kubectl intel demo --out demo.intel.tar.zst\n  kubectl intel inspect demo.intel.tar.zst --verify\n  kubectl intel serve demo.intel.tar.zst --kubeconfig-out demo.kubeconfig\n  kubectl intel capture --context prod -A"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a snapshot bundle of a live cluster (one per context).
    Capture(crate::capture::CaptureArgs),
    /// Show what a bundle holds and check its integrity.
    Inspect(InspectArgs),
    /// Replay a bundle as a read-only Kubernetes API (kubectl, k9s, client-go tools).
    Serve(crate::serve::ServeArgs),
    /// Generate a realistic synthetic cluster, optionally with an incident, as a bundle.
    Synth(SynthArgs),
    /// Write the demo cluster, a shop in the middle of an incident (no cluster needed).
    Demo(DemoArgs),
    /// From a symptom in plain words to the root cause, the causality chain, the fix and the cost.
    Diagnose(diagnose::DiagnoseArgs),
    /// Explain what a cluster did: why, what happened when, how services connect, impact, alert gaps.
    Explain(explain::ExplainArgs),
    /// What a change does before it is made: the rollout simulated step by step, who is hit, what to do instead.
    Impact(impact::ImpactArgs),
    /// Single points of failure, and what a lost node, zone, pool or workload takes down, simulated.
    DrPlan(drplan::DrPlanArgs),
    /// How workloads should be sized from their use: requests and limits as krr computes them, with the commands.
    Optimize(optimize::OptimizeArgs),
    /// Would these pods fit, where, and if not, exactly why (kube-scheduler's verdict, offline).
    Schedule(schedule::ScheduleArgs),
    /// Serve the clusters to AI assistants over the Model Context Protocol (stdio or HTTP).
    Mcp(crate::mcp::McpArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  kubectl intel inspect prod-20261124T140000Z.intel.tar.zst\n  kubectl intel inspect ./unpacked-bundle/ --verify -o json"
)]
pub struct InspectArgs {
    /// A bundle file (.intel.tar.zst) or an unpacked bundle directory.
    pub bundle: PathBuf,
    /// Check every file's size and sha256 against the manifest; exit 4 on a mismatch.
    #[arg(long)]
    pub verify: bool,
    /// Refuse a bundle one of whose files cannot be read (invalid JSON in a list, a metrics
    /// sample or a series). Without it that file is skipped, named on stderr and in the
    /// answer's limitations, and the rest is used.
    #[arg(long)]
    pub strict: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  kubectl intel demo --out demo.intel.tar.zst\n  kubectl intel demo --out demo.intel.tar.zst && kubectl intel inspect demo.intel.tar.zst"
)]
pub struct DemoArgs {
    /// Where to write the bundle.
    #[arg(long, default_value = "demo.intel.tar.zst")]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  kubectl intel synth --out shop.intel.tar.zst\n  kubectl intel synth --scenario auth-memory-leak --out leak.intel.tar.zst\n  kubectl intel synth --scenario ./my-incident/ --seed 7 --out mine.intel.tar.zst\n  kubectl intel synth --nodes 5000 --pods 150000 --out big.intel.tar.zst\n  kubectl intel synth --list"
)]
pub struct SynthArgs {
    /// A library scenario's name (see --list) or a path to a scenario directory or YAML file.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Random seed: the same seed and options give a byte-identical bundle.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Nodes (at least enough for the pods are created).
    #[arg(long)]
    pub nodes: Option<usize>,
    /// Target pod count; the shop is replicated over tenant namespaces to reach it.
    #[arg(long, default_value_t = 0)]
    pub pods: usize,
    /// metrics.k8s.io samples, five minutes apart.
    #[arg(long, default_value_t = 6)]
    pub samples: usize,
    /// Where to write the bundle.
    #[arg(long, required_unless_present = "list")]
    pub out: Option<PathBuf>,
    /// List the library scenarios and exit.
    #[arg(long)]
    pub list: bool,
}

/// Runs the CLI; returns the process exit code.
/// An error and its causes on one line, each cause once: an error whose message already
/// quotes its source (`cannot open X: No such file…`) does not get it repeated.
pub fn error_line(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(&c) {
            out.push_str(": ");
            out.push_str(&c);
        }
    }
    out
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            });
        }
    };
    match run(cli) {
        Ok(exit) => ExitCode::from(exit),
        Err(e) => {
            eprintln!("error: {}", error_line(&e));
            // The error knows its code where its type has one (a bad bundle); anything
            // else is a failure.
            let exit = e
                .downcast_ref::<crate::bundle::BundleError>()
                .map_or(Exit::Failure, crate::bundle::BundleError::exit);
            ExitCode::from(exit)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Demo(args) => {
            let snap = crate::synth::demo().map_err(anyhow::Error::from)?;
            let manifest = crate::bundle::write_bundle(&snap, &args.out)?;
            eprintln!(
                "wrote {} ({} files): the demo cluster '{}' captured at {}",
                args.out.display(),
                manifest.files.len() + 1,
                manifest.cluster.name,
                manifest.captured_at
            );
            Ok(Exit::Ok)
        }
        Command::Serve(args) => crate::serve::run(args),
        Command::Synth(args) => synth(&args),
        Command::Capture(args) => crate::capture::run(args),
        Command::Diagnose(args) => diagnose::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Schedule(args) => schedule::run(&args),
        Command::Impact(args) => impact::run(&args),
        Command::DrPlan(args) => drplan::run(&args),
        Command::Optimize(args) => optimize::run(&args),
        Command::Mcp(args) => crate::mcp::run(args),
    }
}

fn synth(args: &SynthArgs) -> anyhow::Result<Exit> {
    use crate::synth::{Options, Scenario, scenario::library};
    if args.list {
        for (name, text) in library::SCENARIOS {
            let description = Scenario::from_yaml(name, text)
                .map(|s| {
                    s.description
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            println!("{name:32} {description}");
        }
        return Ok(Exit::Ok);
    }
    let scenario = args
        .scenario
        .as_deref()
        .map(Scenario::resolve)
        .transpose()?;
    let defaults = Options::default();
    let opts = Options {
        seed: args
            .seed
            .or(scenario.as_ref().and_then(|s| s.seed))
            .unwrap_or(defaults.seed),
        nodes: args
            .nodes
            .or(scenario.as_ref().and_then(|s| s.nodes))
            .unwrap_or(defaults.nodes),
        pods: args.pods,
        samples: args.samples.max(1),
        ..defaults
    };
    let snap = crate::synth::generate(&opts, scenario.as_ref())?;
    let Some(out) = &args.out else {
        return Ok(Exit::Usage);
    };
    let manifest = crate::bundle::write_bundle(&snap, out)?;
    eprintln!(
        "wrote {}: cluster '{}', {} pods on {} nodes, {} files",
        out.display(),
        manifest.cluster.name,
        snap.pods().len(),
        snap.nodes().len(),
        manifest.files.len() + 1
    );
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    /// clap's own consistency checks (unique names, valid defaults) for every command:
    /// they only run in debug builds when a command is parsed, so a clash would otherwise
    /// surface as a panic at a user's first `--help`.
    #[test]
    fn every_command_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
