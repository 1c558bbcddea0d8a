//! `kubectl intel inspect`: what a bundle holds, where it came from, what failed during its
//! capture, and whether its files still match the manifest.

use super::Exit;
use std::fmt::Write as _;

use serde::Serialize;

use crate::bundle::{Integrity, read_bundle_with};
use crate::model::manifest::{ClusterInfo, CollectorError, Redaction, Window};

use super::{Format, InspectArgs};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    bundle: String,
    format: &'a str,
    tool: String,
    cluster: &'a ClusterInfo,
    captured_at: &'a str,
    window: &'a Window,
    namespaces: &'a [String],
    counts: Vec<KindCount>,
    logs: LogCounts,
    metrics: MetricCounts,
    collectors: Vec<CollectorRow<'a>>,
    redaction: &'a Redaction,
    #[serde(skip_serializing_if = "Option::is_none")]
    integrity: Option<&'a Integrity>,
    warnings: &'a [String],
}

#[derive(Serialize)]
struct KindCount {
    kind: String,
    count: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogCounts {
    files: usize,
    previous: usize,
    bytes: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MetricCounts {
    samples: usize,
    first: Option<String>,
    last: Option<String>,
    prometheus_series: Vec<String>,
}

#[derive(Serialize)]
struct CollectorRow<'a> {
    name: &'a str,
    items: u64,
    errors: &'a [CollectorError],
}

pub(super) fn run(args: &InspectArgs) -> anyhow::Result<Exit> {
    let loaded = read_bundle_with(
        &args.bundle,
        &crate::bundle::ReadLimits {
            strict: args.strict,
            ..Default::default()
        },
    )?;
    let snap = &loaded.snapshot;
    let m = &snap.manifest;
    let report = Report {
        bundle: args.bundle.display().to_string(),
        format: &m.format,
        tool: format!("{} {}", m.tool.name, m.tool.version),
        cluster: &m.cluster,
        captured_at: &m.captured_at,
        window: &m.window,
        namespaces: &m.namespaces,
        counts: snap
            .counts()
            .into_iter()
            .map(|(kind, count)| KindCount { kind, count })
            .collect(),
        logs: LogCounts {
            files: snap.logs.len(),
            previous: snap.logs.keys().filter(|k| k.previous).count(),
            bytes: snap.logs.values().map(String::len).sum(),
        },
        metrics: MetricCounts {
            samples: snap.metrics.len(),
            first: snap.metrics.first().map(|s| s.time.clone()),
            last: snap.metrics.last().map(|s| s.time.clone()),
            prometheus_series: snap.prometheus.keys().cloned().collect(),
        },
        collectors: m
            .collectors
            .iter()
            .map(|c| CollectorRow {
                name: &c.name,
                items: c.items,
                errors: &c.errors,
            })
            .collect(),
        redaction: &m.redaction,
        integrity: args.verify.then_some(&loaded.integrity),
        warnings: &loaded.warnings,
    };
    match args.output {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print!("{}", crate::redact::terminal_safe(&text(&report))),
    }
    if args.verify && !loaded.integrity.ok() {
        eprintln!(
            "error: integrity check failed: {} mismatched, {} missing, {} unlisted file(s)",
            loaded.integrity.mismatched.len(),
            loaded.integrity.missing.len(),
            loaded.integrity.unlisted.len()
        );
        return Ok(Exit::Integrity);
    }
    Ok(Exit::Ok)
}

fn text(r: &Report<'_>) -> String {
    let mut s = String::new();
    let c = r.cluster;
    let _ = writeln!(s, "Bundle:      {}", r.bundle);
    let _ = writeln!(s, "Format:      {} (written by {})", r.format, r.tool);
    let _ = writeln!(
        s,
        "Cluster:     {} (context {}, server {}, Kubernetes {})",
        c.name,
        c.context.as_deref().unwrap_or("-"),
        c.server.as_deref().unwrap_or("-"),
        c.kubernetes_version.as_deref().unwrap_or("unknown")
    );
    let _ = writeln!(s, "Captured at: {}", r.captured_at);
    if let (Some(a), Some(b)) = (&r.window.start, &r.window.end) {
        let _ = writeln!(s, "Window:      {a} .. {b}");
    }
    let ns = if r.namespaces.is_empty() {
        "all".to_string()
    } else {
        r.namespaces.join(", ")
    };
    let _ = writeln!(s, "Namespaces:  {ns}");
    let red = r.redaction;
    let _ = writeln!(
        s,
        "Redaction:   {}",
        if red.enabled {
            format!("on, {} value(s) replaced", red.redacted_values)
        } else {
            "OFF (this bundle may contain credentials)".to_string()
        }
    );
    let _ = writeln!(
        s,
        "Logs:        {} file(s), {} of previous instances, {} bytes",
        r.logs.files, r.logs.previous, r.logs.bytes
    );
    let _ = writeln!(
        s,
        "Metrics:     {} sample(s){}{}",
        r.metrics.samples,
        match (&r.metrics.first, &r.metrics.last) {
            (Some(a), Some(b)) => format!(" from {a} to {b}"),
            _ => String::new(),
        },
        if r.metrics.prometheus_series.is_empty() {
            String::new()
        } else {
            format!(
                "; Prometheus series: {}",
                r.metrics.prometheus_series.join(", ")
            )
        }
    );
    if let Some(i) = r.integrity {
        if i.ok() {
            let _ = writeln!(
                s,
                "Integrity:   ok, {} file(s) match the manifest",
                i.files_checked
            );
        } else {
            let _ = writeln!(s, "Integrity:   FAILED");
            for line in i
                .mismatched
                .iter()
                .map(|m| format!("mismatch: {m}"))
                .chain(i.missing.iter().map(|m| format!("missing:  {m}")))
                .chain(i.unlisted.iter().map(|m| format!("unlisted: {m}")))
            {
                let _ = writeln!(s, "  {line}");
            }
        }
    }
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::NOTHING);
    table.set_header(vec!["KIND", "COUNT"]);
    for k in &r.counts {
        table.add_row(vec![k.kind.clone(), k.count.to_string()]);
    }
    let _ = writeln!(s, "\n{table}");
    let failed: Vec<_> = r
        .collectors
        .iter()
        .filter(|c| !c.errors.is_empty())
        .collect();
    if failed.is_empty() {
        let _ = writeln!(s, "\nCollectors:  {} ran, no errors", r.collectors.len());
    } else {
        let _ = writeln!(
            s,
            "\nCollectors:  {} ran, {} with errors (what they could not capture is missing from this bundle):",
            r.collectors.len(),
            failed.len()
        );
        for c in failed {
            for e in c.errors {
                let code = e.code.map(|c| format!(" [{c}]")).unwrap_or_default();
                let _ = writeln!(s, "  {}{code}: {} ({})", c.name, e.message, e.target);
            }
        }
    }
    for w in r.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    s
}
