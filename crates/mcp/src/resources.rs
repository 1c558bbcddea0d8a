//! Resources: each cluster's manifest (`intel://<cluster>/manifest`, the provenance JSON) and
//! summary (`intel://<cluster>/summary`, markdown), so a client can attach what a snapshot is
//! before asking about it.

use std::collections::BTreeMap;

use rmcp::ErrorData as McpError;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents};

use super::clusters::{ClusterData, Clusters};
use super::markdown::{code, header};
use super::tools_events::all_events;

const SCHEME: &str = "intel://";

pub fn list(clusters: &Clusters) -> Vec<Resource> {
    let mut out = Vec::new();
    for name in clusters.names() {
        out.push(
            Resource::new(format!("{SCHEME}{name}/manifest"), format!("{name}-manifest"))
                .with_title(format!("{name}: snapshot manifest"))
                .with_description(
                    "Where the snapshot came from: capture time, scope, collectors and their errors, redaction.",
                )
                .with_mime_type("application/json"),
        );
        out.push(
            Resource::new(format!("{SCHEME}{name}/summary"), format!("{name}-summary"))
                .with_title(format!("{name}: cluster summary"))
                .with_description(
                    "Object counts, node and pod health, the most frequent warnings, capture gaps.",
                )
                .with_mime_type("text/markdown"),
        );
    }
    out
}

fn summary(data: &ClusterData) -> String {
    let snap = data.snap();
    let mut text = header("Cluster summary", data);
    if let Some(v) = &snap.manifest.cluster.kubernetes_version {
        text.push_str(&format!("Kubernetes {v}.\n\n"));
    }
    let nodes = snap.nodes();
    let ready = nodes
        .iter()
        .filter(|n| {
            n.value()["status"]["conditions"]
                .as_array()
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                })
        })
        .count();
    text.push_str(&format!("Nodes: {} ({ready} Ready).\n\n", nodes.len()));
    let mut phases: BTreeMap<String, usize> = BTreeMap::new();
    for p in snap.pods() {
        #[derive(serde::Deserialize, Default)]
        struct V {
            #[serde(default)]
            status: S,
        }
        #[derive(serde::Deserialize, Default)]
        struct S {
            #[serde(default)]
            phase: String,
        }
        let v: V = p.typed().unwrap_or_default();
        *phases.entry(v.status.phase).or_default() += 1;
    }
    let phases: Vec<String> = phases.iter().map(|(p, n)| format!("{p} {n}")).collect();
    text.push_str(&format!(
        "Pods: {} ({}).\n\n",
        snap.pods().len(),
        phases.join(", ")
    ));
    let mut reasons: BTreeMap<String, i64> = BTreeMap::new();
    for e in all_events(snap)
        .into_iter()
        .filter(|e| e.event_type == "Warning")
    {
        *reasons.entry(e.reason).or_default() += e.count;
    }
    let mut reasons: Vec<(String, i64)> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if !reasons.is_empty() {
        text.push_str("Most frequent warning events:\n\n");
        for (r, n) in reasons.iter().take(10) {
            text.push_str(&format!("- {} ×{n}\n", code(r)));
        }
        text.push('\n');
    }
    text.push_str("| kind | objects |\n|---|---|\n");
    for (kind, n) in snap.counts().into_iter().filter(|(_, n)| *n > 0) {
        text.push_str(&format!("| {kind} | {n} |\n"));
    }
    text.push_str(&format!(
        "\nLogs: {} files. Metrics samples: {}. Prometheus series: {}.\n",
        snap.logs.len(),
        snap.metrics.len(),
        snap.prometheus.len()
    ));
    let errors: Vec<String> = snap
        .manifest
        .errors()
        .map(|(c, e)| format!("- {c}: {} ({})", code(&e.target), code(&e.message)))
        .collect();
    if !errors.is_empty() {
        text.push_str(&format!(
            "\nCapture gaps (answers lack this data):\n\n{}\n",
            errors.join("\n")
        ));
    }
    text
}

pub async fn read(clusters: &Clusters, uri: &str) -> Result<ReadResourceResult, McpError> {
    // Resource not found with the URI in `data`, as the spec has it (-32002; rmcp sends
    // -32602 to peers on 2026-07-28 or later, SEP-2164).
    let not_found = || {
        McpError::resource_not_found(
            format!(
                "unknown resource {uri:?}: resources are intel://<cluster>/manifest and intel://<cluster>/summary for clusters {}",
                clusters.names().join(", ")
            ),
            Some(serde_json::json!({ "uri": uri })),
        )
    };
    let rest = uri.strip_prefix(SCHEME).ok_or_else(not_found)?;
    let (cluster, what) = rest.rsplit_once('/').ok_or_else(not_found)?;
    if !clusters.names().contains(&cluster) || !matches!(what, "manifest" | "summary") {
        return Err(not_found());
    }
    let data = clusters
        .get(Some(cluster))
        .await
        .map_err(|e| McpError::internal_error(e, None))?;
    let contents = if what == "manifest" {
        let json = serde_json::to_string_pretty(&data.snap().manifest).map_err(|e| {
            McpError::internal_error(format!("cannot encode the manifest: {e}"), None)
        })?;
        ResourceContents::text(json, uri).with_mime_type("application/json")
    } else {
        let data2 = data.clone();
        let text = tokio::task::spawn_blocking(move || summary(&data2))
            .await
            .map_err(|e| McpError::internal_error(format!("summary failed: {e}"), None))?;
        ResourceContents::text(text, uri).with_mime_type("text/markdown")
    };
    Ok(ReadResourceResult::new(vec![contents]))
}
