//! `generate_disaster_recovery_plan`: the dr-plan analysis as a tool, on the cluster's
//! scheduler engine kept by the server (each scenario reverts what it changes).

use schemars::JsonSchema;
use serde::Deserialize;

use super::clusters::ClusterData;
use super::markdown::data_line;
use super::tools::Answer;
use intel_analysis::drplan::incident::Incident;
use intel_analysis::drplan::{Request, Scenario, plan_on};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DrPlanInput {
    /// The cluster (a name from list_clusters). Optional when one is loaded.
    #[allow(dead_code)] // Read by `tools::call` before parsing, to pick the cluster.
    pub cluster: Option<String>,
    /// What to fail: "zone=eu-west-1a", "node=NAME", "pool=NAME", "workload=NAMESPACE/NAME",
    /// "rollback=NAMESPACE/NAME" (is there a previous revision, and does it roll out), or
    /// "primary=NAMESPACE/NAME" (a datastore's primary lost with its node: does anything
    /// promote a replica). Empty or absent: every zone, every pool when there are several (up
    /// to 500 nodes), every node of a cluster of at most 50 nodes, the 20 workloads others
    /// depend on most, and the primaries of the 5 replicated datastores others depend on most.
    pub scenarios: Option<Vec<String>>,
    /// Start from an incident ("how do we prevent this?"): the symptom as given to
    /// diagnose_cluster_issue. Its root causes' scenarios (the workload failing, its
    /// rollback, a datastore's primary, the node) are simulated in place of the defaults,
    /// and their fixes come first.
    pub incident: Option<String>,
}

pub fn generate_disaster_recovery_plan(
    data: &ClusterData,
    input: DrPlanInput,
) -> Result<Answer, String> {
    let mut req = Request::default();
    for s in input.scenarios.unwrap_or_default() {
        req.scenarios.push(Scenario::parse(&s)?);
    }
    if let Some(symptom) = input.incident {
        let report = super::tools_analysis::diagnosis(
            data,
            &intel_analysis::diagnose::Request {
                symptom: symptom.trim().to_string(),
                ..Default::default()
            },
        )?;
        let value =
            serde_json::to_value(&*report).map_err(|e| format!("cannot encode the report: {e}"))?;
        req.incident = Some(Incident::from_report(
            &value,
            &format!("diagnose {:?}", symptom.trim()),
            &data.name,
        )?);
    }
    let report = {
        let mut cluster = data.scheduler().lock().map_err(|_| {
            "the scheduler's cluster is unavailable after a failed call; restart the server"
                .to_string()
        })?;
        plan_on(data.snap(), data.relations(), &mut cluster, &req)?
    };
    Answer::report(data_line(data), &report)
}
