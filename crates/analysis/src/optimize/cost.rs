//! What the nodes cost and who uses it, as OpenCost allocates it, and what consolidation
//! saves. A node is priced from its `node.kubernetes.io/instance-type` label against an
//! embedded, dated table of on-demand list prices (`prices.json`: common types of the three
//! big clouds in one reference region each), overridden per type by `--prices`; a type
//! the table does not know is priced by its allocatable resources at OpenCost's default
//! rates (its spot rates on spot capacity). A node's price is split into CPU and memory in
//! the proportion of those default rates, as OpenCost splits a node's cost. A pod is
//! allocated the larger of its request and its use of each, on its node; what is left is
//! idle, shown apart. Every figure says where its prices came from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use intel_scheduler::{Cluster, NodeInfo};

use super::consolidate::PodUsage;

/// Hours in a month, as OpenCost and the clouds' calculators count them.
pub const HOURS_PER_MONTH: f64 = 730.0;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstancePrice {
    pub provider: String,
    pub region: String,
    pub hourly: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rates {
    pub source: String,
    pub cpu_core_hour: f64,
    pub ram_gib_hour: f64,
    pub spot_cpu_core_hour: f64,
    pub spot_ram_gib_hour: f64,
}

/// The price table: embedded, then overridden.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Prices {
    pub dated: String,
    pub about: String,
    pub instances: BTreeMap<String, InstancePrice>,
    pub default: Rates,
    /// Hourly prices per instance type from the user (`--prices`), and what they said of
    /// them.
    #[serde(default)]
    pub overrides: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides_source: Option<String>,
}

/// What a `--prices` file may hold: hourly prices per instance type, default rates per
/// core-hour and GiB-hour, and a word on where they come from.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceFile {
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub instances: BTreeMap<String, f64>,
    #[serde(default)]
    pub cpu_core_hour: Option<f64>,
    #[serde(default)]
    pub ram_gib_hour: Option<f64>,
}

impl Default for Prices {
    fn default() -> Self {
        serde_json::from_str(include_str!("prices.json")).expect("the embedded price table")
    }
}

impl Prices {
    /// The embedded table with a price file's values on top; a negative or non-finite price
    /// is refused, naming it.
    pub fn with(file: &PriceFile, name: &str) -> Result<Prices, String> {
        let ok = |what: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(format!(
                    "{name}: {what} is {v}, not a price (a number of at least 0)"
                ))
            }
        };
        let mut p = Prices::default();
        for (t, &v) in &file.instances {
            p.overrides.insert(t.clone(), ok(t, v)?);
        }
        if let Some(v) = file.cpu_core_hour {
            p.default.cpu_core_hour = ok("cpuCoreHour", v)?;
        }
        if let Some(v) = file.ram_gib_hour {
            p.default.ram_gib_hour = ok("ramGibHour", v)?;
        }
        if file.cpu_core_hour.is_some() || file.ram_gib_hour.is_some() {
            p.default.source = format!("the default rates of {name}");
        }
        p.overrides_source = Some(match &file.source {
            Some(s) => format!("{name} ({s})"),
            None => name.to_string(),
        });
        Ok(p)
    }
}

/// One node's price.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePrice {
    pub node: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    pub spot: bool,
    pub hourly: f64,
    /// Where the price came from.
    pub source: String,
    /// The price split into CPU (per core) and memory (per GiB), per hour.
    pub cpu_core_hour: f64,
    pub ram_gib_hour: f64,
}

fn spot(node: &NodeInfo) -> bool {
    let l = |k: &str| node.labels.get(k).map(|v| v.to_ascii_lowercase());
    l("karpenter.sh/capacity-type").as_deref() == Some("spot")
        || l("eks.amazonaws.com/capacityType").as_deref() == Some("spot")
        || l("cloud.google.com/gke-spot").as_deref() == Some("true")
        || l("cloud.google.com/gke-preemptible").as_deref() == Some("true")
        || l("kubernetes.azure.com/scalesetpriority").as_deref() == Some("spot")
}

/// Prices one node (see the module's text).
pub fn price_node(node: &NodeInfo, prices: &Prices) -> NodePrice {
    let cores = node.allocatable.milli_cpu as f64 / 1000.0;
    let gib = node.allocatable.memory as f64 / GIB;
    let kind = node
        .labels
        .get("node.kubernetes.io/instance-type")
        .or_else(|| node.labels.get("beta.kubernetes.io/instance-type"))
        .cloned();
    let region = node.labels.get("topology.kubernetes.io/region");
    let spot = spot(node);
    let d = &prices.default;
    let (cpu_rate, ram_rate) = if spot {
        (d.spot_cpu_core_hour, d.spot_ram_gib_hour)
    } else {
        (d.cpu_core_hour, d.ram_gib_hour)
    };
    let by_resources = cores * cpu_rate + gib * ram_rate;
    let listed = kind.as_ref().and_then(|k| {
        if let Some(&v) = prices.overrides.get(k) {
            let from = prices.overrides_source.as_deref().unwrap_or("--prices");
            return Some((v, format!("{k} from {from}")));
        }
        let p = prices.instances.get(k).filter(|_| !spot)?;
        let place = match region {
            Some(r) if *r != p.region => format!(
                "the {} list price of {k} in {} (dated {}; the node is in {r}, whose price differs)",
                p.provider, p.region, prices.dated
            ),
            _ => format!(
                "the {} list price of {k} in {} (dated {})",
                p.provider, p.region, prices.dated
            ),
        };
        Some((p.hourly, place))
    });
    let (hourly, source) = listed.unwrap_or_else(|| {
        (
            by_resources,
            format!(
                "{}{}: {cores:.2} cores × ${cpu_rate} + {gib:.1} GiB × ${ram_rate} an hour{}",
                d.source,
                if spot { ", spot rates" } else { "" },
                match &kind {
                    Some(k) => format!(" ({k} is not in the table)"),
                    None => " (the node names no instance type)".into(),
                }
            ),
        )
    });
    // Split as the default rates weigh CPU against memory.
    let share = if by_resources > 0.0 {
        cores * cpu_rate / by_resources
    } else {
        0.5
    };
    NodePrice {
        node: node.name.clone(),
        instance_type: kind,
        spot,
        hourly,
        source,
        cpu_core_hour: if cores > 0.0 {
            hourly * share / cores
        } else {
            0.0
        },
        ram_gib_hour: if gib > 0.0 {
            hourly * (1.0 - share) / gib
        } else {
            0.0
        },
    }
}

/// Money per month, rounded to the cent.
fn monthly(hourly: f64) -> f64 {
    (hourly * HOURS_PER_MONTH * 100.0).round() / 100.0
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceCost {
    pub namespace: String,
    pub monthly: f64,
}

/// The cluster's cost as OpenCost would allocate it, and what consolidation saves.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    pub currency: &'static str,
    pub dated: String,
    /// Every price source that was used, in order of first use.
    pub sources: Vec<String>,
    pub nodes: Vec<NodePrice>,
    pub monthly_total: f64,
    /// max(request, use) per pod at its node's prices.
    pub monthly_allocated: f64,
    pub monthly_idle: f64,
    /// The most expensive first.
    pub namespaces: Vec<NamespaceCost>,
    /// The freed nodes' price, per month: as requested, and after the rightsizing.
    pub monthly_saved: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_saved_rightsized: Option<f64>,
}

/// Prices the cluster's nodes and allocates them; `freed` and `freed_rightsized` are the
/// nodes the two consolidations empty.
pub fn cost(
    cluster: &Cluster,
    prices: &Prices,
    usage: &PodUsage,
    freed: &[String],
    freed_rightsized: Option<&[String]>,
) -> Cost {
    let nodes: Vec<NodePrice> = cluster
        .nodes
        .iter()
        .map(|n| price_node(n, prices))
        .collect();
    let mut sources: Vec<String> = Vec::new();
    for n in &nodes {
        if !sources.contains(&n.source) {
            sources.push(n.source.clone());
        }
    }
    let mut by_ns: BTreeMap<String, f64> = BTreeMap::new();
    let mut allocated = 0.0;
    for (n, price) in cluster.nodes.iter().zip(&nodes) {
        for &p in &n.pods {
            let pod = &cluster.pods[p];
            let (used_cpu, used_mem) = usage
                .get(&(pod.namespace.clone(), pod.name.clone()))
                .copied()
                .unwrap_or((0.0, 0.0));
            let cores = (pod.requests.milli_cpu as f64).max(used_cpu) / 1000.0;
            let gib = (pod.requests.memory as f64).max(used_mem) / GIB;
            let hourly = cores * price.cpu_core_hour + gib * price.ram_gib_hour;
            allocated += hourly;
            *by_ns.entry(pod.namespace.clone()).or_default() += hourly;
        }
    }
    let total: f64 = nodes.iter().map(|n| n.hourly).sum();
    let saved = |names: &[String]| -> f64 {
        monthly(
            nodes
                .iter()
                .filter(|n| names.contains(&n.node))
                .map(|n| n.hourly)
                .sum(),
        )
    };
    let mut namespaces: Vec<NamespaceCost> = by_ns
        .into_iter()
        .map(|(namespace, h)| NamespaceCost {
            namespace,
            monthly: monthly(h),
        })
        .collect();
    namespaces.sort_by(|a, b| {
        b.monthly
            .total_cmp(&a.monthly)
            .then_with(|| a.namespace.cmp(&b.namespace))
    });
    Cost {
        currency: "USD",
        dated: prices.dated.clone(),
        sources,
        monthly_total: monthly(total),
        monthly_allocated: monthly(allocated.min(total)),
        monthly_idle: monthly((total - allocated).max(0.0)),
        namespaces,
        monthly_saved: saved(freed),
        monthly_saved_rightsized: freed_rightsized.map(saved),
        nodes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Node;
    use serde_json::json;

    fn node(labels: serde_json::Value) -> NodeInfo {
        let n: Node = serde_json::from_value(json!({
            "metadata": {"name": "n1", "labels": labels},
            "status": {"allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"}}
        }))
        .unwrap();
        NodeInfo::from_node(&n)
    }

    #[test]
    fn listed_types_use_the_table_and_others_opencost_rates() {
        let p = Prices::default();
        let m5 = price_node(
            &node(json!({"node.kubernetes.io/instance-type": "m5.xlarge",
                "topology.kubernetes.io/region": "us-east-1"})),
            &p,
        );
        assert_eq!(m5.hourly, 0.192);
        assert!(
            m5.source
                .contains("aws list price of m5.xlarge in us-east-1")
        );
        // The split adds back up to the node's price.
        assert!((m5.cpu_core_hour * 4.0 + m5.ram_gib_hour * 16.0 - 0.192).abs() < 1e-9);
        // Near miss: a type not in the table is priced by its resources.
        let odd = price_node(
            &node(json!({"node.kubernetes.io/instance-type": "x9.odd"})),
            &p,
        );
        assert!((odd.hourly - (4.0 * 0.031611 + 16.0 * 0.004237)).abs() < 1e-9);
        assert!(odd.source.contains("x9.odd is not in the table"));
        // Spot capacity at OpenCost's spot rates, even for a listed type.
        let spot = price_node(
            &node(json!({"node.kubernetes.io/instance-type": "m5.xlarge",
                "karpenter.sh/capacity-type": "spot"})),
            &p,
        );
        assert!((spot.hourly - (4.0 * 0.006655 + 16.0 * 0.000892)).abs() < 1e-9);
        // Another region says so.
        let eu = price_node(
            &node(json!({"node.kubernetes.io/instance-type": "m5.xlarge",
                "topology.kubernetes.io/region": "eu-west-1"})),
            &p,
        );
        assert!(eu.source.contains("the node is in eu-west-1"));
    }

    #[test]
    fn a_price_file_overrides_and_bad_prices_are_refused() {
        let file: PriceFile = serde_json::from_value(
            json!({"source": "EDP rates", "instances": {"m5.xlarge": 0.15}, "cpuCoreHour": 0.02}),
        )
        .unwrap();
        let p = Prices::with(&file, "prices.json").unwrap();
        let n = price_node(
            &node(json!({"node.kubernetes.io/instance-type": "m5.xlarge"})),
            &p,
        );
        assert_eq!(n.hourly, 0.15);
        assert_eq!(n.source, "m5.xlarge from prices.json (EDP rates)");
        let bad: PriceFile =
            serde_json::from_value(json!({"instances": {"m5.xlarge": -1.0}})).unwrap();
        let err = Prices::with(&bad, "p.json").unwrap_err();
        assert_eq!(
            err,
            "p.json: m5.xlarge is -1, not a price (a number of at least 0)"
        );
        assert!(serde_json::from_value::<PriceFile>(json!({"cpu": 1})).is_err());
    }
}
