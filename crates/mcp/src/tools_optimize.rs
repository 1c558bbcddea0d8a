//! `optimize_workload_placement`: the optimize analysis as a tool (rightsizing with krr's
//! `simple` strategy, consolidation), on the relations and the scheduler's cluster the
//! server keeps.

use schemars::JsonSchema;
use serde::Deserialize;

use super::clusters::ClusterData;
use super::markdown::data_line;
use super::tools::Answer;
use intel_analysis::optimize::{Request, optimize_on};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OptimizeInput {
    /// The cluster (a name from list_clusters). Optional when one is loaded.
    #[allow(dead_code)] // Read by `tools::call` before parsing, to pick the cluster.
    pub cluster: Option<String>,
    /// `simple` (krr's, the default) or `vpa` (the VPA recommender's estimate).
    pub strategy: Option<String>,
    /// The percentile of CPU use the CPU request is set to (default 95, above 0, at most 100).
    pub cpu_percentile: Option<f64>,
    /// The share added to the largest memory working set, in percent (default 15).
    pub memory_buffer: Option<f64>,
    /// Points a resource needs across the pods for a proposal (default 100).
    pub points_required: Option<usize>,
    /// Propose for resources an HPA scales on too (default false).
    pub allow_hpa: Option<bool>,
    /// Nodes tried for consolidation, the least utilized first (default 500, at least 1).
    pub max_candidates: Option<usize>,
    /// At most this share of the nodes, in percent, drained in one wave of the migration
    /// plan (default 10, above 0, at most 100).
    pub wave_percent: Option<f64>,
    /// Prices instead of the embedded table's: `instances` (hourly price per instance
    /// type), `cpuCoreHour`, `ramGibHour`, `source`.
    pub prices: Option<intel_analysis::optimize::cost::PriceFile>,
}

pub fn optimize_workload_placement(
    data: &ClusterData,
    input: OptimizeInput,
) -> Result<Answer, String> {
    let mut req = Request::default();
    match input.strategy.as_deref() {
        None | Some("simple") => {}
        Some("vpa") => req.vpa = Some(Default::default()),
        Some(other) => {
            return Err(format!(
                "strategy {other:?} is not one of \"simple\", \"vpa\""
            ));
        }
    }
    if let Some(p) = input.cpu_percentile {
        if !(p > 0.0 && p <= 100.0) {
            return Err(format!(
                "cpuPercentile {p} is not a percentile (above 0, at most 100)"
            ));
        }
        req.simple.cpu_percentile = p;
    }
    if let Some(m) = input.memory_buffer {
        if !(0.0..=1000.0).contains(&m) {
            return Err(format!(
                "memoryBuffer {m} is not a percentage from 0 to 1000"
            ));
        }
        req.simple.memory_buffer_percentage = m;
    }
    if let Some(n) = input.points_required {
        req.simple.points_required = n.max(1);
    }
    req.simple.allow_hpa = input.allow_hpa.unwrap_or(false);
    if let Some(p) = input.wave_percent {
        if !(p > 0.0 && p <= 100.0) {
            return Err(format!(
                "wavePercent {p} is not a share of the nodes (above 0, at most 100)"
            ));
        }
        req.wave_percent = p;
    }
    if let Some(n) = input.max_candidates {
        req.consolidation.max_candidates = Some(n.max(1));
    }
    if let Some(p) = &input.prices {
        req.prices = intel_analysis::optimize::cost::Prices::with(p, "prices")?;
    }
    let report = {
        let mut cluster = data.scheduler().lock().map_err(|_| {
            "the scheduler's cluster is unavailable after a failed call; restart the server"
                .to_string()
        })?;
        optimize_on(data.snap(), data.relations(), &mut cluster, &req)
    };
    Answer::report(data_line(data), &report)
}
