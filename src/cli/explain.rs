//! `kubectl intel explain "QUESTION"`: loads the clusters, runs the analysis, renders.

use super::Exit;
use clap::{Args, ValueEnum};

use crate::analysis::explain::{Request, explain, render};
use crate::source::SourceArgs;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExplainFormat {
    Text,
    Json,
    Markdown,
    /// The service map as a Mermaid flowchart (failing services highlighted).
    Mermaid,
    /// The service map as Graphviz DOT (`| dot -Tsvg > map.svg`).
    Dot,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    kubectl intel explain \"why is latency high?\" --bundle prod.intel.tar.zst\n  \
    kubectl intel explain \"we had an outage yesterday at 2pm\" --bundle prod.intel.tar.zst --timezone Europe/Berlin\n  \
    kubectl intel explain \"what happened?\" --context prod --at \"2026-11-24 13:40\" --window 1h\n  \
    kubectl intel explain \"how are services connected?\" --bundle prod.intel.tar.zst -o json\n  \
    kubectl intel explain \"why didn't our alerts catch this?\" --bundle prod.intel.tar.zst -o markdown\n  \
    kubectl intel explain \"compare staging and production\" --bundle staging.intel.tar.zst --bundle prod.intel.tar.zst\n\n\
    Exit status: 0 with an answer, 2 for an unreadable --at, --window or --timezone, 3 for an\n\
    unreadable bundle, 5 when a live cluster gave nothing, 1 on other failures.")]
pub struct ExplainArgs {
    /// The question, in plain words: why…, what happened at…, how are … connected, what is
    /// the impact, why didn't alerts catch it, compare….
    pub question: String,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub sampling: crate::source::SamplingArgs,
    /// Only look at these namespaces (repeatable). Cluster-scoped objects are always examined.
    #[arg(short = 'n', long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,
    /// The time the question is about: RFC 3339, "2026-11-24 14:00", "14:00", "yesterday 2pm",
    /// "2 hours ago" (read in --timezone). Overrides a time named in the question.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// The timeline window (and, for a live context, the Prometheus range): centred on --at
    /// (or the time in the question), else ending at the
    /// capture. Default 2h (extended back to the incident's trigger when there is no time).
    #[arg(long, value_name = "DURATION")]
    pub window: Option<String>,
    /// Time zone for reading and saying times (IANA name, UTC, +02:00). Default: the
    /// cluster's (annotation intel.kubectl.io/timezone on kube-system, else its CronJobs'
    /// timeZone), else UTC.
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ExplainFormat::Text)]
    pub output: ExplainFormat,
}

/// The service map of every cluster, one diagram each (Mermaid: one flowchart per
/// cluster, separated by a `%%` comment; DOT: one digraph per cluster).
fn diagrams(x: &crate::analysis::explain::Explanation, format: ExplainFormat) -> String {
    use crate::analysis::graph::{self, NodeState};
    let mut out = String::new();
    for (cluster, map, states) in &x.maps {
        let states = states
            .iter()
            .filter_map(|(o, s)| {
                let st = match s.as_str() {
                    "root" => NodeState::Root,
                    "down" => NodeState::Down,
                    "degraded" => NodeState::Degraded,
                    "at-risk" => NodeState::AtRisk,
                    _ => return None,
                };
                Some((o.clone(), st))
            })
            .collect();
        if format == ExplainFormat::Mermaid {
            if x.maps.len() > 1 {
                out.push_str(&format!("%% cluster {}\n", cluster.replace('\n', " ")));
            }
            out.push_str(&graph::mermaid(map, &states));
        } else {
            out.push_str(&graph::dot(map, &states));
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

pub fn run(args: &ExplainArgs) -> anyhow::Result<Exit> {
    let req = Request {
        question: args.question.clone(),
        namespaces: {
            let mut n = args.namespaces.clone();
            n.sort();
            n.dedup();
            n
        },
        at: args.at.clone(),
        window: args.window.clone(),
        timezone: args.timezone.clone(),
    };
    // Check the request before loading anything: a typo costs no capture.
    if let Err(e) = explain(&crate::model::Fleet::default(), &req) {
        eprintln!("error: {e}");
        return Ok(Exit::Usage);
    }
    // A live capture's Prometheus range covers the timeline window.
    let window = args
        .window
        .as_deref()
        .and_then(|w| crate::capture::parse_duration(w).ok())
        .unwrap_or(std::time::Duration::from_secs(2 * 3600));
    let opts = args.sampling.options(&req.namespaces, window);
    let loaded = match super::diagnose::load(&args.source, &opts)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let x = match explain(&loaded.fleet, &req) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage);
        }
    };
    let out = match args.output {
        ExplainFormat::Text => render::text(&x),
        ExplainFormat::Markdown => render::markdown(&x),
        ExplainFormat::Json => serde_json::to_string_pretty(&x.report)? + "\n",
        ExplainFormat::Mermaid | ExplainFormat::Dot => diagrams(&x, args.output),
    };
    print!("{}", crate::redact::terminal_safe(&out));
    Ok(Exit::Ok)
}
