//! Single points of failure, each with its evidence: what one failure (a pod, a node, a
//! zone, a pool, a volume's zone, a workload others call) takes down. Read from where the
//! pods run now (the scheduler's cluster), the specs and the service map.

use std::collections::BTreeSet;

use serde::Serialize;

use intel_scheduler::selectors::label_selector_matches;
use intel_scheduler::{Cluster, PodInfo};

use super::index::{Index, Owned};

pub const ZONE: &str = "topology.kubernetes.io/zone";

/// One single point of failure.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Spof {
    /// `single-replica`, `one-node`, `one-zone`, `one-pool`, `no-pdb`,
    /// `pdb-allows-no-disruption`, `no-spread`, `zonal-volume`, `lone-dns`,
    /// `lone-ingress-controller`, `datastore-without-replicas`, `fan-in`,
    /// `external-dependency`.
    pub kind: String,
    /// `Deployment shop/web`.
    pub subject: String,
    /// `critical` (a failure takes it down and others with it), `warning`.
    pub severity: String,
    pub evidence: String,
    /// Workloads that call it (service map), for the blast radius.
    pub dependents: Vec<String>,
    #[serde(skip)]
    pub kind_name: (String, String, String),
    /// Its pods' labels, without the ones controllers add per revision or pod: the
    /// selector a fix (a budget, a spread constraint) uses.
    #[serde(skip)]
    pub labels: std::collections::BTreeMap<String, String>,
    #[serde(skip)]
    pub desired: i32,
}

/// Images of the datastores people run in clusters, by the last path segment's name.
const DATASTORES: &[&str] = &[
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "redis",
    "valkey",
    "mongo",
    "mongodb",
    "etcd",
    "cassandra",
    "elasticsearch",
    "opensearch",
    "rabbitmq",
    "kafka",
    "zookeeper",
    "clickhouse",
    "cockroach",
    "minio",
    "nats",
    "memcached",
    "influxdb",
    "timescaledb",
];

/// `registry/org/postgres:16` → `postgres`.
pub(super) fn image_name(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last)
}

pub(super) fn is_datastore(pod: &PodInfo) -> bool {
    pod.spec.containers.iter().any(|c| {
        let n = image_name(c.image.as_deref().unwrap_or_default()).to_ascii_lowercase();
        DATASTORES
            .iter()
            .any(|d| n == *d || n.starts_with(&format!("{d}-")) || n.starts_with(&format!("{d}_")))
    })
}

fn label(pod: &PodInfo, key: &str) -> Option<String> {
    pod.labels.get(key).cloned()
}

fn is_dns(pod: &PodInfo) -> bool {
    label(pod, "k8s-app").as_deref() == Some("kube-dns")
        || label(pod, "app.kubernetes.io/name").as_deref() == Some("coredns")
}

fn is_ingress_controller(pod: &PodInfo) -> bool {
    let names = [
        "ingress-nginx",
        "traefik",
        "haproxy-ingress",
        "kong",
        "contour",
        "envoy-gateway",
    ];
    let by_label = ["app.kubernetes.io/name", "app"]
        .iter()
        .filter_map(|k| label(pod, k))
        .any(|v| names.contains(&v.as_str()));
    by_label
        || pod.spec.containers.iter().any(|c| {
            c.image
                .as_deref()
                .is_some_and(|i| i.contains("ingress-nginx/controller"))
        })
}

fn spreads(pod: &PodInfo) -> bool {
    let anti = pod
        .spec
        .affinity
        .as_ref()
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .is_some_and(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
                .is_some_and(|t| !t.is_empty())
                || a.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
                    .is_some_and(|t| !t.is_empty())
        });
    anti || pod
        .spec
        .topology_spread_constraints
        .as_ref()
        .is_some_and(|t| !t.is_empty())
}

/// The zone of each PersistentVolume a pod's claims are bound to.
pub(super) fn volume_zones(cluster: &Cluster, pod: &PodInfo) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for v in pod.spec.volumes.iter().flatten() {
        let Some(claim) = v.persistent_volume_claim.as_ref() else {
            continue;
        };
        let Some(pvc) = cluster
            .pvcs
            .get(&(pod.namespace.clone(), claim.claim_name.clone()))
        else {
            continue;
        };
        let Some(pv) = pvc
            .spec
            .as_ref()
            .and_then(|s| s.volume_name.as_ref())
            .and_then(|n| cluster.pvs.get(n))
        else {
            continue;
        };
        let shared = pv
            .spec
            .as_ref()
            .and_then(|s| s.access_modes.as_ref())
            .is_some_and(|m| {
                m.iter()
                    .any(|m| m == "ReadWriteMany" || m == "ReadOnlyMany")
            });
        if shared {
            continue;
        }
        let zone = pv
            .spec
            .as_ref()
            .and_then(|s| s.node_affinity.as_ref())
            .and_then(|a| a.required.as_ref())
            .into_iter()
            .flat_map(|r| r.node_selector_terms.iter())
            .flat_map(|t| t.match_expressions.iter().flatten())
            .find(|e| {
                e.key == ZONE
                    || e.key == "failure-domain.beta.kubernetes.io/zone"
                    || e.key.ends_with("/zone")
            })
            .and_then(|e| e.values.as_ref().and_then(|v| v.first().cloned()));
        if let Some(z) = zone {
            out.push((claim.claim_name.clone(), z));
        }
    }
    out
}

/// The single points of failure of every workload, in workload order.
pub fn find(cluster: &Cluster, index: &Index) -> Vec<Spof> {
    let zones: BTreeSet<&String> = cluster
        .nodes
        .iter()
        .filter_map(|n| n.labels.get(ZONE))
        .collect();
    let pools: BTreeSet<String> = cluster
        .nodes
        .iter()
        .filter_map(|n| crate::impact::pool_of(n).map(|(_, v)| v))
        .collect();
    let mut out = Vec::new();
    for w in &index.workloads {
        out.extend(of_workload(cluster, w, zones.len(), pools.len()));
    }
    out
}

fn of_workload(cluster: &Cluster, w: &Owned, zones: usize, pools: usize) -> Vec<Spof> {
    let mut out = Vec::new();
    let dependents: Vec<String> = w.dependents.clone();
    let Some(&first) = w.pods.first() else {
        return out;
    };
    let pod = &cluster.pods[first];
    let labels: std::collections::BTreeMap<String, String> = pod
        .labels
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "pod-template-hash"
                    | "controller-revision-hash"
                    | "statefulset.kubernetes.io/pod-name"
                    | "apps.kubernetes.io/pod-index"
                    | "pod-template-generation"
            )
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut push = |kind: &str, severity: &str, evidence: String| {
        out.push(Spof {
            kind: kind.into(),
            subject: w.label(),
            severity: severity.into(),
            evidence,
            dependents: dependents.clone(),
            kind_name: (w.kind.clone(), w.namespace.clone(), w.name.clone()),
            labels: labels.clone(),
            desired: w.desired,
        });
    };
    let role = if is_dns(pod) {
        Some("lone-dns")
    } else if is_ingress_controller(pod) {
        Some("lone-ingress-controller")
    } else if is_datastore(pod) {
        Some("datastore-without-replicas")
    } else {
        None
    };
    if w.kind == "DaemonSet" {
        return out;
    }
    let bound = w.bound(cluster);
    let severe = if dependents.is_empty() && role.is_none() {
        "warning"
    } else {
        "critical"
    };
    if w.desired <= 1 {
        let who = if dependents.is_empty() {
            String::new()
        } else {
            format!(
                "; {} workload(s) call it: {}",
                dependents.len(),
                dependents.join(", ")
            )
        };
        match role {
            Some(r) => push(
                r,
                "critical",
                format!(
                    "spec.replicas is {}: one pod failing or its node going down stops it{who}",
                    w.desired
                ),
            ),
            None => push(
                "single-replica",
                severe,
                format!(
                    "spec.replicas is {}: one pod failing or its node going down stops it{who}",
                    w.desired
                ),
            ),
        }
    } else {
        let nodes: BTreeSet<&str> = bound
            .iter()
            .filter_map(|&p| cluster.node_of(p))
            .map(|n| n.name.as_str())
            .collect();
        let zone_set: BTreeSet<String> = bound
            .iter()
            .filter_map(|&p| cluster.node_of(p))
            .filter_map(|n| n.labels.get(ZONE).cloned())
            .collect();
        let pool_set: BTreeSet<String> = bound
            .iter()
            .filter_map(|&p| cluster.node_of(p))
            .filter_map(|n| crate::impact::pool_of(n).map(|(_, v)| v))
            .collect();
        if bound.len() >= 2 && nodes.len() == 1 {
            push(
                "one-node",
                severe,
                format!(
                    "all {} running replicas are on node {}",
                    bound.len(),
                    nodes.iter().next().copied().unwrap_or_default()
                ),
            );
        } else if bound.len() >= 2 && zones > 1 && zone_set.len() == 1 {
            push(
                "one-zone",
                severe,
                format!(
                    "all {} running replicas are in zone {} of {zones}",
                    bound.len(),
                    zone_set.iter().next().cloned().unwrap_or_default()
                ),
            );
        } else if bound.len() >= 2 && pools > 1 && pool_set.len() == 1 {
            push(
                "one-pool",
                "warning",
                format!(
                    "all {} running replicas are in node pool {}",
                    bound.len(),
                    pool_set.iter().next().cloned().unwrap_or_default()
                ),
            );
        }
        let budgets: Vec<&intel_scheduler::drain::Budget> = cluster
            .pdbs
            .iter()
            .filter(|b| {
                b.namespace == w.namespace
                    && label_selector_matches(b.selector.as_ref(), &pod.labels)
            })
            .collect();
        match budgets.first() {
            None => push(
                "no-pdb",
                "warning",
                format!(
                    "no PodDisruptionBudget covers its {} replicas: a node drain or upgrade may evict them all at once",
                    w.desired
                ),
            ),
            Some(b) if b.disruptions_allowed < 1 => push(
                "pdb-allows-no-disruption",
                "warning",
                format!(
                    "PodDisruptionBudget {}/{} allows 0 disruptions now: node drains and upgrades stall on its pods",
                    b.namespace, b.name
                ),
            ),
            Some(_) => {}
        }
        if !spreads(pod) {
            push(
                "no-spread",
                "warning",
                format!(
                    "no pod anti-affinity or topology spread constraint: the scheduler may put its {} replicas together",
                    w.desired
                ),
            );
        }
    }
    // Stateful pods whose ReadWriteOnce volumes all live in one zone: losing it stops
    // them, and they cannot move out. Replicas whose volumes are in several zones are
    // the resilient form of the same thing.
    let pinned: Vec<(String, String)> = w
        .pods
        .iter()
        .flat_map(|&p| volume_zones(cluster, &cluster.pods[p]))
        .collect();
    let zones_used: BTreeSet<&String> = pinned.iter().map(|(_, z)| z).collect();
    if zones_used.len() == 1 && zones > 1 {
        let (claim, zone) = &pinned[0];
        push(
            "zonal-volume",
            "critical",
            format!(
                "{} ReadWriteOnce volume(s), every one bound to zone {zone} (claim {claim}): losing that zone stops it, and its pods cannot run elsewhere",
                pinned.len()
            ),
        );
    }
    if dependents.len() >= 3 {
        push(
            "fan-in",
            "critical",
            format!(
                "{} workloads call it: {}; its failure reaches all of them",
                dependents.len(),
                dependents.join(", ")
            ),
        );
    }
    out
}

/// Hosts outside the cluster that every way in depends on: each entry point (Ingress or
/// route) reaches, through the service map, a workload that calls the host — its outage
/// stops every user-facing path, whatever the cluster's replicas (`critical`). A host
/// many workloads call without every entry reaching it is a `warning`; one that some path
/// avoids, called by fewer than three, is none. No entry points: only the count speaks.
pub fn external(map: &intel_engine::servicemap::ServiceMap) -> Vec<Spof> {
    use intel_engine::ObjectRef;
    use intel_engine::relations::EXTERNAL;
    use intel_engine::servicemap::{INGRESS, WORKLOAD};
    use std::collections::{BTreeMap, VecDeque};
    // External host → its callers, with where the address was seen.
    let mut callers: BTreeMap<&ObjectRef, BTreeMap<&ObjectRef, String>> = BTreeMap::new();
    for e in &map.edges {
        let to_external = map.node(&e.to).is_some_and(|n| n.kind == EXTERNAL);
        let from_workload = map.node(&e.from).is_some_and(|n| n.kind == WORKLOAD);
        if to_external && from_workload {
            let seen = e
                .evidence
                .first()
                .map(|x| format!("{} {}", x.source, x.field))
                .unwrap_or_default();
            callers.entry(&e.to).or_default().insert(&e.from, seen);
        }
    }
    if callers.is_empty() {
        return Vec::new();
    }
    // What each entry point reaches (itself excluded).
    let entries: Vec<&ObjectRef> = map
        .nodes
        .iter()
        .filter(|n| n.kind == INGRESS)
        .map(|n| &n.id)
        .collect();
    let reach = |from: &ObjectRef| -> BTreeSet<ObjectRef> {
        let mut seen: BTreeSet<ObjectRef> = BTreeSet::new();
        let mut queue: VecDeque<ObjectRef> = VecDeque::from([from.clone()]);
        while let Some(cur) = queue.pop_front() {
            for n in map.depends_on(&cur) {
                if seen.insert(n.clone()) {
                    queue.push_back(n.clone());
                }
            }
        }
        seen
    };
    let reached: Vec<(&ObjectRef, BTreeSet<ObjectRef>)> =
        entries.iter().map(|&e| (e, reach(e))).collect();
    let show = |o: &ObjectRef| format!("{} {}/{}", o.kind, o.namespace, o.name);
    let mut out = Vec::new();
    for (host, by) in callers {
        let every_entry = !reached.is_empty()
            && reached
                .iter()
                .all(|(_, r)| by.keys().any(|c| r.contains(*c)));
        if !every_entry && by.len() < 3 {
            continue;
        }
        let list: Vec<String> = by
            .iter()
            .map(|(c, seen)| format!("{} ({seen})", show(c)))
            .collect();
        let evidence = if every_entry {
            format!(
                "every entry point ({}) reaches a workload that calls {}: {}; its outage stops every user-facing path whatever the replicas",
                reached
                    .iter()
                    .map(|(e, _)| show(e))
                    .collect::<Vec<_>>()
                    .join(", "),
                host.name,
                list.join(", ")
            )
        } else {
            format!(
                "{} workloads call {}: {}; its outage reaches all of them",
                by.len(),
                host.name,
                list.join(", ")
            )
        };
        out.push(Spof {
            kind: "external-dependency".into(),
            subject: format!("External {}", host.name),
            severity: if every_entry { "critical" } else { "warning" }.into(),
            evidence,
            dependents: by.keys().map(|c| show(c)).collect(),
            kind_name: ("External".into(), String::new(), host.name.clone()),
            labels: Default::default(),
            desired: 0,
        });
    }
    out
}
