//! What a snapshot knows about its own capture: cluster, time, scope, what each collector
//! got and what failed, the redaction applied. Serialised as a bundle's `manifest.json`
//! (camelCase, the field names are part of bundle format v1).

use serde::{Deserialize, Serialize};

use super::rtype::ResourceType;

/// The format string of bundle v1; readers accept any `kubectl-intel.bundle/v1*`.
pub const FORMAT_V1: &str = "kubectl-intel.bundle/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: String,
    pub tool: Tool,
    pub cluster: ClusterInfo,
    /// RFC 3339, UTC. The analyses' "now".
    pub captured_at: String,
    #[serde(default)]
    pub window: Window,
    /// Namespaces in scope; empty means all.
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub collectors: Vec<Collector>,
    /// Discovery facts for every resource type in the bundle (format extension within v1:
    /// lets readers know a type's scope and short names even when it has no items).
    #[serde(default)]
    pub resource_types: Vec<ResourceType>,
    #[serde(default)]
    pub redaction: Redaction,
    /// Every other file of the bundle with its size and sha256, sorted by path.
    #[serde(default)]
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    /// The program writing this manifest. Named, not read from the crate: this crate is a
    /// library of the `kubectl-intel` binary, whose version the workspace shares.
    pub fn this() -> Self {
        Tool {
            name: "kubectl-intel".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
}

/// The time span the bundle's logs, events and metrics cover.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Collector {
    /// `resources/<type>`, `logs`, `metrics`, `prometheus/<name>`, …
    pub name: String,
    /// Items (objects, log files, samples, series) captured.
    pub items: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<CollectorError>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectorError {
    /// What was being fetched (a URL path or an object).
    pub target: String,
    /// HTTP status where the API answered one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Redaction {
    pub enabled: bool,
    #[serde(default)]
    pub rules: Vec<String>,
    /// Values replaced by `<redacted:…>` tokens.
    #[serde(default)]
    pub redacted_values: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

impl Manifest {
    pub fn new(cluster: ClusterInfo, captured_at: String) -> Self {
        Manifest {
            format: FORMAT_V1.to_string(),
            tool: Tool::this(),
            cluster,
            captured_at,
            window: Window::default(),
            namespaces: Vec::new(),
            collectors: Vec::new(),
            resource_types: Vec::new(),
            redaction: Redaction::default(),
            files: Vec::new(),
        }
    }

    /// Collector errors, flattened with their collector's name, for summaries.
    pub fn errors(&self) -> impl Iterator<Item = (&str, &CollectorError)> {
        self.collectors
            .iter()
            .flat_map(|c| c.errors.iter().map(move |e| (c.name.as_str(), e)))
    }
}
