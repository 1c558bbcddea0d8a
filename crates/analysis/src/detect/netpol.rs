//! NetworkPolicies that block traffic a workload needs, as the NetworkPolicy API defines
//! isolation: a pod selected by a policy of type Ingress only accepts what some ingress rule
//! of some such policy admits (and likewise for Egress). Reported when the blocked traffic
//! shows: a caller whose calls to the workload fail while no policy selecting the workload
//! admits it, or a workload isolated for egress with no rule reaching DNS while its lookups
//! fail. A policy that admits the caller, or one no failing call crosses, is no finding.
//! Runs after the other detectors: it reads their failures.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Ctx, Hit};
use crate::report::Severity;
use intel_engine::ObjectRef;
use intel_engine::views::{LabelSelector, nullable};

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
struct Policy {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: Spec,
}

#[derive(Deserialize, Default, Debug)]
struct Meta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    pod_selector: LabelSelector,
    #[serde(default, deserialize_with = "nullable")]
    policy_types: Vec<String>,
    #[serde(default)]
    ingress: Option<Vec<Rule>>,
    #[serde(default)]
    egress: Option<Vec<Rule>>,
}

#[derive(Deserialize, Default, Debug)]
struct Rule {
    /// `from` (ingress) or `to` (egress): absent or empty admits everyone.
    #[serde(default, alias = "to")]
    from: Option<Vec<Peer>>,
    #[serde(default)]
    ports: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
struct Peer {
    #[serde(default)]
    pod_selector: Option<LabelSelector>,
    #[serde(default)]
    namespace_selector: Option<LabelSelector>,
    #[serde(default)]
    ip_block: Option<serde_json::Value>,
}

impl Spec {
    fn types(&self) -> (bool, bool) {
        if self.policy_types.is_empty() {
            // The API's default: Ingress always, Egress when egress rules are given.
            (true, self.egress.is_some())
        } else {
            (
                self.policy_types.iter().any(|t| t == "Ingress"),
                self.policy_types.iter().any(|t| t == "Egress"),
            )
        }
    }
}

type Labels = BTreeMap<String, String>;

/// A set of pods to match peers against: their namespace, its labels, their labels.
struct Side<'a> {
    namespace: &'a str,
    ns_labels: &'a BTreeMap<String, String>,
    labels: &'a BTreeMap<String, String>,
}

impl Peer {
    /// Whether this peer admits pods like `who`, for a policy in `policy_ns`. An `ipBlock`
    /// admits what its CIDR holds: not decided here, so taken as admitting (no finding).
    fn admits(&self, policy_ns: &str, who: &Side) -> bool {
        if self.ip_block.is_some() {
            return true;
        }
        let ns_ok = match &self.namespace_selector {
            Some(sel) => sel.matches(who.ns_labels),
            None => who.namespace == policy_ns,
        };
        let pod_ok = self
            .pod_selector
            .as_ref()
            .is_none_or(|sel| sel.matches(who.labels));
        ns_ok && pod_ok && (self.namespace_selector.is_some() || self.pod_selector.is_some())
    }
}

fn rules_admit(rules: &Option<Vec<Rule>>, policy_ns: &str, who: &Side) -> bool {
    rules.iter().flatten().any(|r| match &r.from {
        None => true,
        Some(peers) if peers.is_empty() => true,
        Some(peers) => peers.iter().any(|p| p.admits(policy_ns, who)),
    })
}

pub(super) fn detect(ctx: &Ctx, out: &mut Vec<Hit>) {
    let policies: Vec<Policy> = ctx
        .snap
        .items("networking.k8s.io", "networkpolicies")
        .iter()
        .filter_map(|p| serde_json::from_str(p.json()).ok())
        .collect();
    if policies.is_empty() {
        return;
    }
    let ns_labels: BTreeMap<String, BTreeMap<String, String>> = ctx
        .snap
        .items("", "namespaces")
        .iter()
        .map(|n| (n.meta.name.clone(), n.meta.labels.clone()))
        .collect();
    let labels_of: BTreeMap<ObjectRef, BTreeMap<String, String>> = ctx
        .rel
        .workload_infos()
        .iter()
        .map(|i| (i.id.clone(), i.labels.clone()))
        .collect();
    let side = |w: &'_ ObjectRef| -> Option<(String, Labels, Labels)> {
        Some((
            w.namespace.clone(),
            ns_labels.get(&w.namespace).cloned().unwrap_or_default(),
            labels_of.get(w)?.clone(),
        ))
    };
    // Who fails calling whom, and who fails DNS lookups.
    // (caller, callee) → when the calls began failing; workload → when lookups did.
    let mut failing_calls: BTreeMap<(ObjectRef, ObjectRef), Option<i64>> = BTreeMap::new();
    let mut dns_failing: BTreeMap<ObjectRef, Option<i64>> = BTreeMap::new();
    let earliest = |a: Option<i64>, b: Option<i64>| match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    for h in out
        .iter()
        .filter(|h| h.severity >= Severity::Warning && h.resolved.is_none())
    {
        match h.kind {
            "UpstreamErrors" | "ConnectionErrors" | "LatencyIncrease" | "HTTP5xx" => {
                for b in &h.blames {
                    let e = failing_calls
                        .entry((h.subject.clone(), callee_of(ctx, b)))
                        .or_insert(h.since);
                    *e = earliest(*e, h.since);
                }
            }
            "DNSResolutionFailures" => {
                let e = dns_failing.entry(h.subject.clone()).or_insert(h.since);
                *e = earliest(*e, h.since);
            }
            _ => {}
        }
    }
    // (policy, workload it isolates) → (what it blocks, the failing workload, since).
    let mut found: BTreeMap<(ObjectRef, ObjectRef), (String, ObjectRef, Option<i64>)> =
        BTreeMap::new();
    for ((caller, callee), since) in &failing_calls {
        let since = *since;
        let (Some((cns, cnsl, cl)), Some((tns, tnsl, tl))) = (side(caller), side(callee)) else {
            continue;
        };
        let from = Side {
            namespace: &cns,
            ns_labels: &cnsl,
            labels: &cl,
        };
        let to = Side {
            namespace: &tns,
            ns_labels: &tnsl,
            labels: &tl,
        };
        // Ingress isolation of the callee.
        let ingress: Vec<&Policy> = policies
            .iter()
            .filter(|p| {
                p.metadata.namespace == tns && p.spec.types().0 && p.spec.pod_selector.matches(&tl)
            })
            .collect();
        if !ingress.is_empty()
            && !ingress
                .iter()
                .any(|p| rules_admit(&p.spec.ingress, &p.metadata.namespace, &from))
        {
            for p in &ingress {
                let np = ObjectRef::new("NetworkPolicy", &p.metadata.namespace, &p.metadata.name);
                found.entry((np, callee.clone())).or_insert_with(|| {
                    (
                        format!(
                            "admits no traffic from {} {} into {} {}",
                            caller.kind, caller.name, callee.kind, callee.name
                        ),
                        caller.clone(),
                        since,
                    )
                });
            }
        }
        // Egress isolation of the caller.
        let egress: Vec<&Policy> = policies
            .iter()
            .filter(|p| {
                p.metadata.namespace == cns && p.spec.types().1 && p.spec.pod_selector.matches(&cl)
            })
            .collect();
        if !egress.is_empty()
            && !egress
                .iter()
                .any(|p| rules_admit(&p.spec.egress, &p.metadata.namespace, &to))
        {
            for p in &egress {
                let np = ObjectRef::new("NetworkPolicy", &p.metadata.namespace, &p.metadata.name);
                found.entry((np, caller.clone())).or_insert_with(|| {
                    (
                        format!(
                            "lets {} {} send nothing to {} {}",
                            caller.kind, caller.name, callee.kind, callee.name
                        ),
                        caller.clone(),
                        since,
                    )
                });
            }
        }
    }
    // Egress isolation with no rule to DNS (port 53, or any port), while lookups fail.
    for (w, since) in &dns_failing {
        let Some((ns, _, labels)) = side(w) else {
            continue;
        };
        let egress: Vec<&Policy> = policies
            .iter()
            .filter(|p| {
                p.metadata.namespace == ns
                    && p.spec.types().1
                    && p.spec.pod_selector.matches(&labels)
            })
            .collect();
        let dns_open = egress.iter().any(|p| {
            p.spec.egress.iter().flatten().any(|r| {
                r.ports.as_ref().is_none_or(|ports| {
                    ports.is_empty()
                        || ports.iter().any(|port| {
                            port.get("port").and_then(|x| x.as_i64()) == Some(53)
                                || port
                                    .get("port")
                                    .and_then(|x| x.as_str())
                                    .is_some_and(|n| n.contains("dns"))
                        })
                })
            })
        });
        if !egress.is_empty() && !dns_open {
            for p in &egress {
                let np = ObjectRef::new("NetworkPolicy", &p.metadata.namespace, &p.metadata.name);
                found.entry((np, w.clone())).or_insert_with(|| {
                    (
                        format!(
                            "isolates {} {} for egress with no rule reaching DNS (port 53)",
                            w.kind, w.name
                        ),
                        w.clone(),
                        *since,
                    )
                });
            }
        }
    }
    for ((np, w), (what, failing, since)) in found {
        let mut h = Hit::new(np.clone(), "NetworkPolicyBlocks", Severity::Critical, 0.9)
            .msg(format!(
                "NetworkPolicy {} {what}, and those calls fail",
                np.name
            ))
            .since(since)
            .ev(
                "spec",
                format!("NetworkPolicy {}/{} spec", np.namespace, np.name),
                what.clone(),
                None,
            );
        h.via = if w == failing {
            vec![w]
        } else {
            vec![w, failing]
        };
        out.push(h);
    }
}

/// The workload a failing call's blamed object stands for: a Service's, a pod's.
fn callee_of(ctx: &Ctx, b: &ObjectRef) -> ObjectRef {
    match b.kind.as_str() {
        "Service" => ctx
            .rel
            .service_map()
            .node(b)
            .and_then(|n| n.service_for.clone())
            .unwrap_or_else(|| b.clone()),
        "Pod" => ctx.workload(b),
        _ => b.clone(),
    }
}
