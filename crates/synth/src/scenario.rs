//! Incident scenarios as data: a YAML file naming faults (a kind from the registry in
//! [`super::faults`], a target, an onset, parameters) that the generator injects into the
//! baseline cluster. Adding a scenario of a known fault kind needs no Rust.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::faults;
use super::generate::SynthError;
use super::topology::Topology;
use super::world::World;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// Set from the directory or file name when absent.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub nodes: Option<usize>,
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// How much resolved history the baseline carries (`super::history`); the default
    /// (`normal`) when absent.
    #[serde(default)]
    pub history: Option<super::history::HistorySpec>,
}

/// One injected fault.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// The fault kind, e.g. `memory-leak-rollout`, `crashloop-missing-configmap-key`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// The app (workload name) the fault hits, where it hits one.
    #[serde(default)]
    pub app: Option<String>,
    /// A node, as `<pool>-<index>` (`general-0`) or a full node name.
    #[serde(default)]
    pub node: Option<String>,
    /// Minutes before capture the fault began.
    #[serde(default = "default_since")]
    pub since: f64,
    /// Anything else the fault kind reads.
    #[serde(flatten)]
    pub params: BTreeMap<String, Value>,
}

fn default_namespace() -> String {
    "shop".to_string()
}

fn default_since() -> f64 {
    30.0
}

impl Fault {
    pub fn app(&self) -> Result<&str, String> {
        self.app
            .as_deref()
            .ok_or_else(|| format!("fault {} needs `app`", self.kind))
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.params.get(key).and_then(Value::as_str)
    }

    pub fn num(&self, key: &str) -> Option<f64> {
        self.params.get(key).and_then(Value::as_f64)
    }

    /// Resolves `node` to a node name.
    pub fn node_name(&self, topo: &Topology) -> Result<String, String> {
        let spec = self
            .node
            .as_deref()
            .ok_or_else(|| format!("fault {} needs `node`", self.kind))?;
        if topo.nodes.iter().any(|n| n.name == spec) {
            return Ok(spec.to_string());
        }
        let (pool, idx) = spec
            .rsplit_once('-')
            .and_then(|(p, i)| i.parse::<usize>().ok().map(|i| (p, i)))
            .ok_or_else(|| format!("node {spec:?} is neither a node name nor <pool>-<index>"))?;
        topo.nodes
            .iter()
            .filter(|n| n.pool.label() == pool)
            .nth(idx)
            .map(|n| n.name.clone())
            .ok_or_else(|| format!("there is no node {spec:?} (pool {pool}, index {idx})"))
    }
}

/// The incident library, embedded at build time from `testdata/scenarios/`.
pub mod library {
    include!(concat!(env!("OUT_DIR"), "/scenarios.rs"));

    /// Names of the embedded scenarios, sorted.
    pub fn names() -> Vec<&'static str> {
        SCENARIOS.iter().map(|(n, _)| *n).collect()
    }
}

impl Scenario {
    /// Parses a scenario's YAML; `name` labels errors and is used when the file has none.
    pub fn from_yaml(name: &str, text: &str) -> Result<Scenario, SynthError> {
        let mut s: Scenario = serde_saphyr::from_str(text).map_err(|e| SynthError::Scenario {
            scenario: name.to_string(),
            message: format!("invalid scenario YAML: {e}"),
        })?;
        if s.name.is_empty() {
            s.name = name.to_string();
        }
        Ok(s)
    }

    /// Loads `scenario.yaml` from a scenario directory, or a YAML file itself.
    pub fn load(path: &Path) -> Result<Scenario, SynthError> {
        let file = if path.is_dir() {
            path.join("scenario.yaml")
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&file).map_err(|e| SynthError::Scenario {
            scenario: path.display().to_string(),
            message: format!("cannot read {}: {e}", file.display()),
        })?;
        let stem = if path.is_dir() {
            path.file_name()
        } else {
            path.file_stem()
        };
        let name = stem
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Scenario::from_yaml(&name, &text)
    }

    /// A path to a scenario (directory or YAML file), or the name of a library scenario.
    pub fn resolve(name_or_path: &str) -> Result<Scenario, SynthError> {
        let p = Path::new(name_or_path);
        if p.exists() {
            return Scenario::load(p);
        }
        match library::SCENARIOS.iter().find(|(n, _)| *n == name_or_path) {
            Some((name, text)) => Scenario::from_yaml(name, text),
            None => Err(SynthError::Scenario {
                scenario: name_or_path.to_string(),
                message: format!(
                    "no such scenario file, and no library scenario of that name (known: {})",
                    library::names().join(", ")
                ),
            }),
        }
    }

    pub fn apply(&self, world: &mut World, topo: &mut Topology) -> Result<(), SynthError> {
        for (i, f) in self.faults.iter().enumerate() {
            faults::apply(world, topo, f).map_err(|message| SynthError::Scenario {
                scenario: self.name.clone(),
                message: format!("fault #{} ({}): {message}", i + 1, f.kind),
            })?;
        }
        Ok(())
    }
}
