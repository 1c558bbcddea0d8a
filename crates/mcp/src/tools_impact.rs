//! `analyze_deployment_impact`: the impact analysis as a tool. The change comes as the
//! command line's flags (structured), as the edits a previous answer's strategy listed
//! (`edits`, to simulate a recommendation as it stands), or as a manifest string; the
//! baseline is another loaded cluster. The answer is the report, like the other analyses.

use schemars::JsonSchema;
use serde::Deserialize;

use super::clusters::ClusterData;
use super::markdown::data_line;
use super::tools::Answer;
use intel_analysis::impact::{Change, Edit, Request, impact_on};

/// A merge patch of a workload.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchInput {
    /// The workload: "deployment/web", "shop/deployment/web", "shop/web" or "web".
    pub workload: String,
    /// A JSON merge patch (RFC 7386) of it, as `kubectl patch --type merge`.
    pub patch: serde_json::Value,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImpactInput {
    /// The cluster to simulate on (a name from list_clusters). Optional when one is loaded.
    #[allow(dead_code)] // Read by `tools::call` before parsing, to pick the cluster.
    pub cluster: Option<String>,
    /// What would be applied: YAML or JSON, several documents (Deployments, StatefulSets,
    /// DaemonSets, Jobs, HPAs, PDBs, ResourceQuotas, LimitRanges, Services, ConfigMaps).
    pub manifest: Option<String>,
    /// New images: "WORKLOAD[/CONTAINER]=IMAGE", e.g. "deployment/checkout=registry/checkout:2.4.0".
    pub set_image: Option<Vec<String>>,
    /// New replica counts: "WORKLOAD=N".
    pub replicas: Option<Vec<String>>,
    /// New requests/limits: "WORKLOAD[/CONTAINER]=cpu=500m,memory=1Gi/memory=2Gi".
    pub set_resources: Option<Vec<String>>,
    /// Merge patches of workloads.
    pub patch: Option<Vec<PatchInput>>,
    /// Node pools to scale: "POOL=N" (a pool is the nodes sharing a node-group label).
    pub scale_nodes: Option<Vec<String>>,
    /// Nodes to cordon.
    pub cordon: Option<Vec<String>>,
    /// Nodes to drain (cluster-autoscaler's rules: PDBs, unreplicated pods, local storage).
    pub drain: Option<Vec<String>>,
    /// Objects to delete: "KIND/NAME" or "NAMESPACE/KIND/NAME".
    pub delete: Option<Vec<String>>,
    /// Edits as a previous answer's `details.strategies[].edits` lists them: simulate a
    /// recommended strategy by passing its edits with the original change.
    pub edits: Option<Vec<Edit>>,
    /// The namespace of workload references that name none.
    pub namespace: Option<String>,
    /// Another loaded cluster where the new version already runs (e.g. staging): its
    /// measured usage is the new version's.
    #[allow(dead_code)] // Read by `tools::call`, which resolves the clusters.
    pub baseline_cluster: Option<String>,
}

fn change_of(input: ImpactInput) -> Result<Change, String> {
    let mut c = Change {
        namespace: input.namespace,
        ..Change::default()
    };
    let e = |e: intel_analysis::impact::ChangeError| e.0;
    if let Some(m) = &input.manifest {
        c.apply_text(m, "manifest").map_err(e)?;
    }
    for s in input.set_image.unwrap_or_default() {
        c.set_image(&s).map_err(e)?;
    }
    for s in input.replicas.unwrap_or_default() {
        c.replicas(&s).map_err(e)?;
    }
    for s in input.set_resources.unwrap_or_default() {
        c.set_resources(&s).map_err(e)?;
    }
    for p in input.patch.unwrap_or_default() {
        if !p.patch.is_object() {
            return Err(format!(
                "patch of {}: a merge patch is a JSON object",
                p.workload
            ));
        }
        c.edits.push(Edit::Patch {
            target: p.workload,
            patch: p.patch,
        });
    }
    for s in input.scale_nodes.unwrap_or_default() {
        c.scale_nodes(&s).map_err(e)?;
    }
    for s in input.cordon.unwrap_or_default() {
        c.cordon(&s);
    }
    for s in input.drain.unwrap_or_default() {
        c.drain(&s);
    }
    for s in input.delete.unwrap_or_default() {
        c.delete(&s).map_err(e)?;
    }
    c.edits.extend(input.edits.unwrap_or_default());
    if c.is_empty() {
        return Err("say what to simulate: `manifest`, `setImage`, `replicas`, `setResources`, `patch`, `scaleNodes`, `cordon`, `drain`, `delete` or `edits`".into());
    }
    Ok(c)
}

pub fn analyze_deployment_impact(
    data: &ClusterData,
    baseline: Option<&ClusterData>,
    args: serde_json::Value,
) -> Result<Answer, String> {
    let input: ImpactInput =
        serde_json::from_value(args).map_err(|e| format!("invalid arguments: {e}"))?;
    let change = change_of(input)?;
    let req = Request {
        change,
        baseline: baseline.map(ClusterData::snap),
    };
    let report = {
        let mut cluster = data.scheduler().lock().map_err(|_| {
            "the scheduler's cluster is unavailable after a failed call; restart the server"
                .to_string()
        })?;
        impact_on(data.snap(), data.relations(), &mut cluster, &req).map_err(|e| e.0)?
    };
    let mut text = data_line(data);
    if let Some(b) = baseline {
        text.push_str(&format!(
            "Baseline: cluster `{}` ({}).\n\n",
            b.name, b.origin
        ));
    }
    Answer::report(text, &report)
}
