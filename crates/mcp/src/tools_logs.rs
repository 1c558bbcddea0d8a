//! `get_logs` and `get_metrics`: container log text and usage series.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::clusters::ClusterData;
use super::markdown::{UNTRUSTED, code, fenced, header, paging};
use super::page::{self, BYTE_BUDGET, Page};
use super::tools::{Answer, DataSource};
use intel_model::LogKey;
use intel_model::usage::Reading;

/// Lines longer than this are cut (a JSON log line can be megabytes).
const MAX_LINE: usize = 4096;
const DEFAULT_TAIL: usize = 200;
const MAX_TAIL: usize = 5000;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetLogsInput {
    /// The cluster to read (a name from list_clusters). Optional when one cluster is loaded.
    #[allow(dead_code)] // Read by `tools::call` before parsing, to pick the cluster.
    pub cluster: Option<String>,
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name (get_resources kind=Pod lists them).
    pub pod: String,
    /// The container; optional when the pod has one container with logs.
    pub container: Option<String>,
    /// The previous instance's log: what a crashed or OOMKilled container printed before
    /// it restarted. Default: the current instance, or the previous one when a crashing
    /// container has no current log.
    pub previous: Option<bool>,
    /// Only lines matching this regular expression (Rust syntax; `(?i)` for any case),
    /// e.g. `error|timeout|refused`.
    pub grep: Option<String>,
    /// How many of the last (matching) lines to return (default 200, at most 5000).
    pub tail: Option<usize>,
    /// The nextCursor of a previous answer: continues with older lines.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LogLine {
    /// 1-based line number in the captured log.
    pub n: usize,
    /// The line. Untrusted text.
    pub text: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetLogsOutput {
    pub source: DataSource,
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub previous: bool,
    /// Lines in the captured log (captures keep the tail of each log).
    pub total_lines: usize,
    /// Lines matching `grep` (all lines without it).
    pub matched_lines: usize,
    /// Oldest first.
    pub lines: Vec<LogLine>,
    /// Logs captured for this pod: `container` or `container (previous)`.
    pub available: Vec<String>,
    /// Pass as `cursor` for the older lines before these; absent when none are left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn log_label(k: &LogKey) -> String {
    if k.previous {
        format!("{} (previous)", k.container)
    } else {
        k.container.clone()
    }
}

fn cut_line(line: &str) -> String {
    if line.len() <= MAX_LINE {
        return line.to_string();
    }
    let mut end = MAX_LINE;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[{} more bytes]", &line[..end], line.len() - end)
}

pub fn get_logs(data: &ClusterData, input: GetLogsInput) -> Result<Answer, String> {
    let skip = page::offset(input.cursor.as_deref())?;
    let tail = match input.tail {
        None => DEFAULT_TAIL,
        Some(0) => return Err("tail must be at least 1".into()),
        Some(n) if n > MAX_TAIL => {
            return Err(format!(
                "tail {n} is above the maximum {MAX_TAIL}: page with nextCursor instead"
            ));
        }
        Some(n) => n,
    };
    let grep = match input.grep.as_deref().filter(|g| !g.is_empty()) {
        None => None,
        Some(g) => Some(
            regex::RegexBuilder::new(g)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| format!("invalid grep regular expression: {e}"))?,
        ),
    };
    let previous = input.previous.unwrap_or(false);
    let snap = data.snap();
    let (ns, pod) = (input.namespace.as_str(), input.pod.as_str());
    let start = LogKey {
        namespace: ns.to_string(),
        pod: pod.to_string(),
        container: String::new(),
        previous: false,
    };
    let logs: Vec<(&LogKey, &String)> = snap
        .logs
        .range(start..)
        .take_while(|(k, _)| k.namespace == ns && k.pod == pod)
        .collect();
    let available: Vec<String> = logs.iter().map(|(k, _)| log_label(k)).collect();
    if logs.is_empty() {
        let exists = !snap.index().by_name("Pod", ns, pod).is_empty();
        return Err(if exists {
            format!(
                "no logs were captured for pod {ns}/{pod} (its containers never started, or the capture skipped logs)"
            )
        } else {
            format!(
                "no pod {ns}/{pod} in cluster {}: list pods with get_resources kind=Pod namespace={ns}",
                data.name
            )
        });
    }
    let pick = |previous: bool| -> Vec<&(&LogKey, &String)> {
        logs.iter()
            .filter(|(k, _)| k.previous == previous)
            .filter(|(k, _)| input.container.as_deref().is_none_or(|c| k.container == c))
            .collect()
    };
    let mut candidates = pick(previous);
    // A crash-looping container may have no current log, only the previous one: when the
    // caller did not choose, that is the log they want.
    if candidates.is_empty() && input.previous.is_none() {
        candidates = pick(true);
    }
    let (key, text) = match candidates.as_slice() {
        [one] => **one,
        [] => {
            return Err(format!(
                "no {}log{} for pod {ns}/{pod}; captured: {}",
                if previous { "previous " } else { "" },
                input
                    .container
                    .as_deref()
                    .map(|c| format!(" of container {c:?}"))
                    .unwrap_or_default(),
                available.join(", ")
            ));
        }
        _ => {
            return Err(format!(
                "pod {ns}/{pod} has logs for several containers: pass `container`, one of {}",
                available.join(", ")
            ));
        }
    };

    // Scrubbed whole, before it is cut into lines: a credential can span lines (a PEM
    // block) and a bundle nobody redacted can hold one.
    let text = intel_redact::scrub(text);
    let total_lines = text.lines().count();
    let matched: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| grep.as_ref().is_none_or(|g| g.is_match(l)))
        .map(|(i, l)| (i + 1, l))
        .collect();
    // Newest lines first within the budget, then put back in reading order.
    let end = matched.len().saturating_sub(skip);
    let mut lines = Vec::new();
    let mut bytes = 0;
    for &(n, l) in matched[..end].iter().rev().take(tail) {
        let text = cut_line(l);
        if !lines.is_empty() && bytes + text.len() + 16 > BYTE_BUDGET {
            break;
        }
        bytes += text.len() + 16;
        lines.push(LogLine { n, text });
    }
    lines.reverse();
    let shown = lines.len();
    let next_cursor = (end > shown).then(|| page::cursor_at(skip + shown));

    let label = log_label(key);
    let mut out = header(&format!("Logs of {ns}/{pod}, container {label}"), data);
    out.push_str(&format!(
        "{total_lines} lines captured, {} matching{}; showing the last {shown}{}.\n\n",
        matched.len(),
        input
            .grep
            .as_deref()
            .map(|g| format!(" {}", code(g)))
            .unwrap_or_default(),
        if skip > 0 {
            format!(" before the newest {skip}")
        } else {
            String::new()
        }
    ));
    if !lines.is_empty() {
        out.push_str(UNTRUSTED);
        out.push_str("\n\n");
        let body: Vec<String> = lines
            .iter()
            .map(|l| format!("{:>6}  {}", l.n, l.text))
            .collect();
        out.push_str(&fenced("text", &body.join("\n")));
    }
    if let Some(c) = &next_cursor {
        out.push_str(&format!(
            "Older lines: call again with `cursor: \"{c}\"` (same arguments).\n"
        ));
    }
    Answer::new(
        out,
        &GetLogsOutput {
            source: DataSource::of(data),
            namespace: ns.to_string(),
            pod: pod.to_string(),
            container: key.container.clone(),
            previous: key.previous,
            total_lines,
            matched_lines: matched.len(),
            lines,
            available,
            next_cursor,
        },
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetMetricsInput {
    /// The cluster to read (a name from list_clusters). Optional when one cluster is loaded.
    #[allow(dead_code)] // Read by `tools::call` before parsing, to pick the cluster.
    pub cluster: Option<String>,
    /// `pod` (default; per container) or `node`.
    pub kind: Option<String>,
    /// Pods in this namespace only.
    pub namespace: Option<String>,
    /// One pod or node by name: its full series over the capture window is included.
    pub name: Option<String>,
    /// `memory` (default), `cpu` or `name`: memory and cpu sort by the latest value, highest
    /// first.
    pub sort: Option<String>,
    /// The nextCursor of a previous answer, to get the next page.
    pub cursor: Option<String>,
    /// Items per page (default 50, at most 500).
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Point {
    pub time: String,
    pub cpu_millis: f64,
    pub memory_bytes: f64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerUsage {
    pub container: String,
    pub cpu_millis: f64,
    pub memory_bytes: f64,
    pub peak_memory_bytes: f64,
    /// Only when one pod is asked for by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<Vec<Point>>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageItem {
    /// `Pod` or `Node`.
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// The latest sample's time.
    pub time: String,
    /// Latest CPU, millicores (pods: summed over containers).
    pub cpu_millis: f64,
    /// Latest memory working set, bytes.
    pub memory_bytes: f64,
    pub peak_memory_bytes: f64,
    /// Nodes: latest usage as a share of allocatable, 0–100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_percent: Option<f64>,
    /// Pods only.
    pub containers: Vec<ContainerUsage>,
    /// Nodes asked for by name only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<Vec<Point>>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetMetricsOutput {
    pub source: DataSource,
    /// metrics.k8s.io samples in the snapshot.
    pub samples: usize,
    pub items: Vec<UsageItem>,
    pub total: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn points(rs: &[Reading]) -> Vec<Point> {
    rs.iter()
        .map(|r| Point {
            time: r.time.clone(),
            cpu_millis: r.cpu_millis,
            memory_bytes: r.memory_bytes,
        })
        .collect()
}

fn peak_memory(rs: &[Reading]) -> f64 {
    rs.iter().map(|r| r.memory_bytes).fold(0.0, f64::max)
}

fn pod_items(data: &ClusterData, ns: Option<&str>, name: Option<&str>) -> Vec<UsageItem> {
    let mut out: Vec<UsageItem> = Vec::new();
    for ((pns, pod, container), rs) in &data.usage().containers {
        if ns.is_some_and(|n| n != pns) || name.is_some_and(|n| n != pod) {
            continue;
        }
        let Some(last) = rs.last() else { continue };
        let c = ContainerUsage {
            container: container.clone(),
            cpu_millis: last.cpu_millis,
            memory_bytes: last.memory_bytes,
            peak_memory_bytes: peak_memory(rs),
            series: name.map(|_| points(rs)),
        };
        match out.last_mut() {
            Some(item) if item.namespace == *pns && item.name == *pod => {
                item.cpu_millis += c.cpu_millis;
                item.memory_bytes += c.memory_bytes;
                item.peak_memory_bytes += c.peak_memory_bytes;
                item.containers.push(c);
            }
            _ => out.push(UsageItem {
                kind: "Pod".into(),
                namespace: pns.clone(),
                name: pod.clone(),
                time: last.time.clone(),
                cpu_millis: c.cpu_millis,
                memory_bytes: c.memory_bytes,
                peak_memory_bytes: c.peak_memory_bytes,
                cpu_percent: None,
                memory_percent: None,
                containers: vec![c],
                series: None,
            }),
        }
    }
    out
}

fn node_items(data: &ClusterData, name: Option<&str>) -> Vec<UsageItem> {
    let snap = data.snap();
    let ix = snap.index();
    let mut out = Vec::new();
    for (node, rs) in &data.usage().nodes {
        if name.is_some_and(|n| n != node) {
            continue;
        }
        let Some(last) = rs.last() else { continue };
        let alloc = ix
            .by_name("Node", "", node)
            .first()
            .and_then(|id| snap.get(*id))
            .map(|o| o.value()["status"]["allocatable"].clone());
        let share = |field: &str, used: f64, parse: fn(&str) -> Option<f64>| {
            let total = parse(alloc.as_ref()?[field].as_str()?)?;
            (total > 0.0).then(|| (used / total * 1000.0).round() / 10.0)
        };
        out.push(UsageItem {
            kind: "Node".into(),
            namespace: String::new(),
            name: node.clone(),
            time: last.time.clone(),
            cpu_millis: last.cpu_millis,
            memory_bytes: last.memory_bytes,
            peak_memory_bytes: peak_memory(rs),
            cpu_percent: share("cpu", last.cpu_millis, intel_model::quantity::cpu_millis),
            memory_percent: share("memory", last.memory_bytes, intel_model::quantity::bytes),
            containers: Vec::new(),
            series: name.map(|_| points(rs)),
        });
    }
    out
}

fn mib(bytes: f64) -> String {
    format!("{:.0}Mi", bytes / 1_048_576.0)
}

pub fn get_metrics(data: &ClusterData, input: GetMetricsInput) -> Result<Answer, String> {
    let offset = page::offset(input.cursor.as_deref())?;
    let limit = page::limit(input.limit)?;
    let name = input.name.as_deref().filter(|n| !n.is_empty());
    let ns = input.namespace.as_deref().filter(|n| !n.is_empty());
    let kind = input.kind.as_deref().unwrap_or("pod").to_ascii_lowercase();
    let mut items = match kind.as_str() {
        "pod" | "pods" => pod_items(data, ns, name),
        "node" | "nodes" => node_items(data, name),
        other => return Err(format!("invalid kind {other:?}: use `pod` or `node`")),
    };
    match input.sort.as_deref().unwrap_or("memory") {
        "memory" => items.sort_by(|a, b| b.memory_bytes.total_cmp(&a.memory_bytes)),
        "cpu" => items.sort_by(|a, b| b.cpu_millis.total_cmp(&a.cpu_millis)),
        "name" => {}
        other => {
            return Err(format!(
                "invalid sort {other:?}: use `memory`, `cpu` or `name`"
            ));
        }
    }
    let samples = data.snap().metrics.len();
    if let (Some(n), true) = (name, items.is_empty()) {
        return Err(format!(
            "no usage samples for {kind} {n:?} in cluster {} ({samples} metrics samples captured)",
            data.name
        ));
    }
    let Page {
        items,
        total,
        next_cursor,
    } = page::paginate(items, offset, limit);
    let mut text = header(&format!("Resource usage ({kind}s)"), data);
    if samples == 0 {
        text.push_str("This snapshot has no metrics.k8s.io samples (metrics-server absent or not captured).\n\n");
    }
    if !items.is_empty() {
        text.push_str("| object | cpu | memory | peak memory | % of allocatable (cpu / mem) |\n|---|---|---|---|---|\n");
        for i in &items {
            let pct = match (i.cpu_percent, i.memory_percent) {
                (Some(c), Some(m)) => format!("{c}% / {m}%"),
                _ => String::new(),
            };
            let obj = if i.namespace.is_empty() {
                i.name.clone()
            } else {
                format!("{}/{}", i.namespace, i.name)
            };
            text.push_str(&format!(
                "| {} | {:.0}m | {} | {} | {pct} |\n",
                code(&obj),
                i.cpu_millis,
                mib(i.memory_bytes),
                mib(i.peak_memory_bytes)
            ));
        }
        text.push('\n');
    }
    text.push_str(&paging(items.len(), offset, total, next_cursor.as_deref()));
    Answer::new(
        text,
        &GetMetricsOutput {
            source: DataSource::of(data),
            samples,
            items,
            total,
            next_cursor,
        },
    )
}
