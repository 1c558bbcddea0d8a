//! A datastore's primary failing: which pod is the primary, whether anything promotes a
//! replica, and so how long writes stop. The scenario loses the primary's node (the
//! common way a primary fails) and places what it ran again; this file says what the
//! snapshot shows about the datastore's own failover, and how it knows.
//!
//! The primary is the pod a role label names (the labels operators and charts keep up to
//! date as roles change), else ordinal 0 of a StatefulSet (where most charts and
//! operators start it; stated as an assumption), else a workload's only pod. Failover is
//! `automatic` when the role label belongs to a manager that promotes replicas (Patroni,
//! CloudNativePG, Crunchy PGO, KubeDB), when a Redis Sentinel runs beside it, or when the
//! datastore is a quorum system with three or more members running; `none` otherwise.

use serde::Serialize;

use intel_scheduler::{Cluster, PodInfo};

use super::index::Owned;
use super::spof::image_name;

/// What the snapshot shows about one datastore's primary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Primary {
    /// `namespace/name` of the primary pod.
    pub pod: String,
    pub node: String,
    /// How the primary was told.
    pub basis: String,
    /// `automatic` or `none`.
    pub failover: String,
    pub failover_basis: String,
    /// What the datastore's callers see while it is down.
    pub writes: String,
    /// Whether the primary pod found a node again in the simulation.
    pub rescheduled: bool,
}

/// Role labels, the values that mean primary, and the manager that promotes a replica
/// (`None`: the label says who is primary, not that anything fails over).
const ROLE_LABELS: &[(&str, &[&str], Option<&str>)] = &[
    ("spilo-role", &["master", "primary"], Some("Patroni")),
    ("cnpg.io/instanceRole", &["primary"], Some("CloudNativePG")),
    (
        "postgres-operator.crunchydata.com/role",
        &["master", "primary"],
        Some("Crunchy PGO (Patroni)"),
    ),
    ("kubedb.com/role", &["primary"], Some("KubeDB")),
    ("role", &["primary", "master"], None),
    ("app.kubernetes.io/role", &["primary", "master"], None),
    ("app.kubernetes.io/component", &["primary", "master"], None),
    ("redis-role", &["master"], None),
];

/// Datastores that elect a leader among their members: with three or more running, the
/// others carry on without the one lost.
const QUORUM: &[&str] = &[
    "etcd",
    "zookeeper",
    "cassandra",
    "kafka",
    "cockroach",
    "elasticsearch",
    "opensearch",
    "rabbitmq",
    "nats",
    "consul",
];

fn role(pod: &PodInfo) -> Option<(String, Option<&'static str>)> {
    ROLE_LABELS.iter().find_map(|(key, values, manager)| {
        let v = pod.labels.get(*key)?;
        values
            .contains(&v.as_str())
            .then(|| (format!("label {key}={v}"), *manager))
    })
}

fn is_quorum(pod: &PodInfo) -> Option<&'static str> {
    pod.spec.containers.iter().find_map(|c| {
        let n = image_name(c.image.as_deref().unwrap_or_default()).to_ascii_lowercase();
        let quorum = QUORUM
            .iter()
            .find(|q| n == **q || n.starts_with(&format!("{q}-")));
        if let Some(q) = quorum {
            return Some(*q);
        }
        // A MongoDB replica set elects a new primary.
        let repl = c
            .command
            .iter()
            .flatten()
            .chain(c.args.iter().flatten())
            .any(|a| a.starts_with("--replSet"));
        (n.starts_with("mongo") && repl).then_some("mongodb replica set")
    })
}

fn mentions_sentinel(pod: &PodInfo) -> bool {
    pod.spec.containers.iter().any(|c| {
        c.name.contains("sentinel")
            || c.image
                .as_deref()
                .is_some_and(|i| image_name(i).contains("sentinel"))
    })
}

/// The primary of `w` and its failover, or why none can be named.
pub fn find(cluster: &Cluster, all: &[Owned], w: &Owned) -> Result<Primary, String> {
    let bound = w.bound(cluster);
    let labelled = bound
        .iter()
        .find_map(|&p| role(&cluster.pods[p]).map(|r| (p, r)));
    let (pod, basis, manager) = if let Some((p, (basis, manager))) = labelled {
        (p, basis, manager)
    } else if let Some(&p) = bound
        .iter()
        .find(|&&p| w.kind == "StatefulSet" && cluster.pods[p].name == format!("{}-0", w.name))
    {
        (
            p,
            "ordinal 0 (no role label: most charts and operators start the primary there)"
                .to_string(),
            None,
        )
    } else if let [p] = bound.as_slice() {
        (*p, "its only running pod".to_string(), None)
    } else {
        return Err(format!(
            "--scenario primary={}/{}: no running pod is its primary (no role label, no ordinal 0 running)",
            w.namespace, w.name
        ));
    };
    let info = &cluster.pods[pod];
    let node = cluster
        .node_of(pod)
        .map(|n| n.name.clone())
        .unwrap_or_default();
    let running = bound.len();
    let sentinel = all.iter().find(|o| {
        o.namespace == w.namespace
            && o.pods
                .first()
                .is_some_and(|&p| mentions_sentinel(&cluster.pods[p]))
    });
    let (failover, failover_basis) = if running < 2 {
        (
            "none",
            format!("{running} pod running: there is no replica to promote"),
        )
    } else if let Some(m) = manager {
        (
            "automatic",
            format!("{basis}: {m} promotes a replica ({running} running)"),
        )
    } else if let Some(s) = sentinel {
        (
            "automatic",
            format!("{} runs a Sentinel, which promotes a replica", s.label()),
        )
    } else if let Some(q) = is_quorum(info) {
        if running >= 3 {
            (
                "automatic",
                format!("{q}: {running} members running, the others elect a new leader"),
            )
        } else {
            (
                "none",
                format!("{q} with {running} members running: losing one leaves no majority"),
            )
        }
    } else {
        (
            "none",
            format!(
                "{running} pods running, but nothing the snapshot shows promotes one (no operator's role label, no Sentinel, not a quorum system)"
            ),
        )
    };
    let writes = if failover == "automatic" {
        "fail until a replica is promoted (the manager's own detection and promotion time; not in the snapshot), then go to the new primary".to_string()
    } else {
        format!(
            "fail until {}/{} runs again (see the RTO), or until someone promotes a replica by hand",
            info.namespace, info.name
        )
    };
    Ok(Primary {
        pod: format!("{}/{}", info.namespace, info.name),
        node,
        basis,
        failover: failover.into(),
        failover_basis,
        writes,
        rescheduled: false,
    })
}
