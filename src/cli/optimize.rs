//! `kubectl intel optimize`: how workloads should be sized and packed, from the usage the
//! snapshot holds (`optimize_workload_placement`: rightsizing with krr's `simple`, then
//! consolidation).

use clap::Args;

use super::Exit;
use super::diagnose::ReportFormat;
use crate::analysis::optimize::{Request, optimize};
use crate::source::{LiveArgs, SourceArgs};

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    kubectl intel optimize --bundle prod.intel.tar.zst\n  \
    kubectl intel optimize --bundle prod.intel.tar.zst --cpu-percentile 99 -o json\n  \
    kubectl intel optimize --bundle prod.intel.tar.zst --strategy vpa\n  \
    kubectl intel optimize --bundle prod.intel.tar.zst -o plan > plan.json\n  \
    kubectl intel optimize --bundle prod.intel.tar.zst --prices our-rates.json\n  \
    kubectl intel optimize --context prod --prometheus http://localhost:9090 --window 24h\n\n\
    Rightsizing as krr's simple strategy computes it: CPU request at the 95th percentile of\n\
    each pod's use (the largest over the pods), no CPU limit; memory request and limit at the\n\
    largest working set + 15%, at least the OOM-killed limit + 25%; fewer than 100 points,\n\
    or an HPA on that resource, gives no number. Every proposal names its basis and the\n\
    commands that apply it. --strategy vpa computes the VPA recommender's estimate instead:\n\
    decaying histograms (half-life 24h), target at p90 + 15%, bounds scaled by the\n\
    confidence the span of data gives, limits kept in proportion.\n\n\
    Consolidation: the nodes that can be emptied, all or nothing per node, as\n\
    cluster-autoscaler judges a drain (disruption budgets, local storage, DaemonSets,\n\
    not-safe-to-evict, kube-system), their pods moved where the scheduler's filters pass;\n\
    as requested, and again with the rightsizing applied.\n\n\
    Cost: nodes priced by instance type from an embedded, dated table of on-demand list\n\
    prices (AWS, Google Cloud, Azure), else at OpenCost's default rates per core-hour and\n\
    GiB-hour; pods allocated max(request, use), idle apart; --prices overrides.\n\n\
    -o plan prints the migration plan: rightsizing first when it frees more nodes, then\n\
    the nodes in waves (at most --wave-percent of the nodes, and no more evictions from a\n\
    PodDisruptionBudget's pods than it allows), each step's command, check and rollback,\n\
    each wave's simulated end state, and a sha256 of the document.\n\n\
    Also: workloads idle at the same hours every day or all weekend (a KEDA cron\n\
    schedule), replicas piled on one node or zone and workloads contending for a node (a\n\
    spread or anti-affinity, simulated), and pairs sending much across zones by Istio's\n\
    byte counts (locality routing, priced at OpenCost's inter-zone rate).\n\n\
    Exit status: 0 with a report, 2 for a bad option or --prices file, 3 for an unreadable\n\
    bundle, 5 when a live cluster gave nothing, 1 on other failures.")]
pub struct OptimizeArgs {
    /// How requests are computed from use: krr's `simple` or the VPA recommender's estimate.
    #[arg(long, value_enum, default_value_t = Strategy::Simple)]
    pub strategy: Strategy,
    /// The percentile of CPU use the CPU request is set to.
    #[arg(long, value_name = "P", default_value_t = 95.0,
          value_parser = percentile)]
    pub cpu_percentile: f64,
    /// The share added to the largest memory working set, in percent.
    #[arg(long, value_name = "PCT", default_value_t = 15.0)]
    pub memory_buffer: f64,
    /// Points a resource needs across the pods for a proposal.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub points_required: usize,
    /// Propose for resources an HPA scales on too.
    #[arg(long)]
    pub allow_hpa: bool,
    /// Nodes tried for consolidation, the least utilized first.
    #[arg(long, value_name = "N", default_value_t = crate::analysis::optimize::CANDIDATES,
          value_parser = clap::value_parser!(usize))]
    pub max_candidates: usize,
    /// Prices to use instead of the embedded table: a JSON file with `instances` (hourly
    /// price per instance type), `cpuCoreHour`, `ramGibHour` and `source`.
    #[arg(long, value_name = "FILE")]
    pub prices: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub live: LiveArgs,
    /// At most this share of the nodes, in percent, is drained in one wave of the plan.
    #[arg(long, value_name = "PCT", default_value_t = 10.0, value_parser = wave_percent)]
    pub wave_percent: f64,
    /// Output format: the report, or the migration plan alone (JSON with a content hash).
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OptimizeFormat::Text)]
    pub output: OptimizeFormat,
}

/// The embedded prices with a `--prices` file's on top.
fn read_prices(path: &std::path::Path) -> Result<crate::analysis::optimize::cost::Prices, String> {
    use crate::analysis::optimize::cost::{PriceFile, Prices};
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    let file: PriceFile = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{name}: {e}; expected {{\"source\": \"…\", \"instances\": {{\"m5.xlarge\": 0.192}}, \"cpuCoreHour\": 0.031611, \"ramGibHour\": 0.004237}}"
        )
    })?;
    Prices::with(&file, &name)
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// krr's simple: CPU at a percentile, memory at the max + a buffer.
    Simple,
    /// The VPA recommender: decaying histograms, p90 + 15%, bounds by confidence.
    Vpa,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimizeFormat {
    Text,
    Json,
    Markdown,
    /// The migration plan: waves of steps with their commands, checks and rollbacks.
    Plan,
}

fn wave_percent(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if p > 0.0 && p <= 100.0 => Ok(p),
        _ => Err(format!(
            "{s:?} is not a share of the nodes (above 0, at most 100)"
        )),
    }
}

fn percentile(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if p > 0.0 && p <= 100.0 => Ok(p),
        _ => Err(format!("{s:?} is not a percentile (above 0, at most 100)")),
    }
}

pub fn run(args: &OptimizeArgs) -> anyhow::Result<Exit> {
    let mut req = Request::default();
    req.simple.cpu_percentile = args.cpu_percentile;
    req.simple.memory_buffer_percentage = args.memory_buffer.max(0.0);
    req.simple.points_required = args.points_required.max(1);
    req.simple.allow_hpa = args.allow_hpa;
    if args.strategy == Strategy::Vpa {
        req.vpa = Some(Default::default());
    }
    req.consolidation.max_candidates = Some(args.max_candidates.max(1));
    req.wave_percent = args.wave_percent;
    if let Some(path) = &args.prices {
        match read_prices(path) {
            Ok(p) => req.prices = p,
            Err(e) => {
                eprintln!("error: --prices {e}");
                return Ok(Exit::Usage);
            }
        }
    }
    let opts = args.live.options(&[]);
    let loaded = match super::diagnose::load(&args.source, &opts)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let mut out = String::new();
    let mut plans = Vec::new();
    for snap in loaded.fleet.clusters.values() {
        let rel = crate::engine::Relations::build(snap);
        let report = optimize(snap, &rel, &req);
        out.push_str(&match args.output {
            OptimizeFormat::Text => ReportFormat::Text.render(&report)?,
            OptimizeFormat::Json => ReportFormat::Json.render(&report)?,
            OptimizeFormat::Markdown => ReportFormat::Markdown.render(&report)?,
            OptimizeFormat::Plan => {
                plans.push(report.details["plan"].clone());
                String::new()
            }
        });
    }
    // One plan per cluster: a single document, or an array of them for a fleet.
    match plans.len() {
        0 => {}
        1 => out = serde_json::to_string_pretty(&plans[0])? + "\n",
        _ => out = serde_json::to_string_pretty(&plans)? + "\n",
    }
    print!("{}", crate::redact::terminal_safe(&out));
    Ok(Exit::Ok)
}
