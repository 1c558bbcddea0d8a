use std::collections::BTreeSet;

use serde_json::Value;

use super::*;
use crate::generate::{Options, baseline};

fn world(name: Option<&str>, history: bool) -> (World, Touched) {
    let scenario = name.map(|n| Scenario::resolve(n).expect("library scenario"));
    let opts = Options {
        seed: scenario.as_ref().and_then(|s| s.seed).unwrap_or(1),
        nodes: scenario
            .as_ref()
            .and_then(|s| s.nodes)
            .unwrap_or(Options::default().nodes),
        ..Options::default()
    };
    let (mut w, mut topo) = baseline(&opts);
    let t = touched(&w, &topo, scenario.as_ref()).expect("faults apply");
    if history {
        let spec = scenario.as_ref().and_then(|s| s.history.clone());
        apply(&mut w, Plan::new(spec.as_ref(), opts.seed), &t);
    }
    if let Some(s) = &scenario {
        s.apply(&mut w, &mut topo).expect("faults apply");
    }
    (w, t)
}

fn items<'a>(w: &'a World, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    w.objects().filter(move |v| v["kind"] == kind)
}

fn events<'a>(w: &'a World, reason: &'a str) -> Vec<&'a Value> {
    items(w, "Event")
        .filter(|e| e["reason"] == reason)
        .collect()
}

#[test]
fn a_healthy_cluster_carries_resolved_history() {
    let (w, _) = world(Some("healthy-with-history"), true);
    // Evicted pods, kept, owned by the current ReplicaSet of a fully available Deployment.
    let evicted: Vec<&Value> = items(&w, "Pod")
        .filter(|p| p["status"]["reason"] == "Evicted")
        .collect();
    assert!(evicted.len() >= 2, "{} evicted pods", evicted.len());
    for p in &evicted {
        assert_eq!(p["status"]["phase"], "Failed");
        let msg = p["status"]["message"].as_str().unwrap_or_default();
        assert!(msg.starts_with("The node was low on resource: "), "{msg}");
        let ns = p["metadata"]["namespace"].as_str().unwrap_or_default();
        let rs = p["metadata"]["ownerReferences"][0]["name"]
            .as_str()
            .unwrap_or_default();
        let r = w.get("ReplicaSet", ns, rs).expect("owner exists");
        let n = r["spec"]["replicas"].as_u64().unwrap_or(0);
        assert!(n > 0, "{rs} is current");
        assert_eq!(r["status"]["readyReplicas"].as_u64(), Some(n));
        let d = r["metadata"]["ownerReferences"][0]["name"]
            .as_str()
            .unwrap_or_default();
        let dep = w.get("Deployment", ns, d).expect("deployment");
        assert_eq!(dep["status"]["availableReplicas"], dep["spec"]["replicas"]);
        let running = items(&w, "Pod")
            .filter(|q| {
                q["metadata"]["ownerReferences"][0]["name"] == rs && super::pods::running_ready(q)
            })
            .count() as u64;
        assert_eq!(running, n, "the replacements of {rs} run");
    }
    // FailedCreate bursts followed by SuccessfulCreate, the ServiceAccount existing now.
    let failed = events(&w, "FailedCreate");
    assert!(!failed.is_empty());
    for e in &failed {
        let rs = e["involvedObject"]["name"].as_str().unwrap_or_default();
        let ns = e["involvedObject"]["namespace"]
            .as_str()
            .unwrap_or_default();
        let msg = e["message"].as_str().unwrap_or_default();
        if let Some(sa) = msg
            .split("serviceaccount \"")
            .nth(1)
            .and_then(|s| s.split('"').next())
        {
            assert!(w.get("ServiceAccount", ns, sa).is_some(), "{sa} exists now");
            assert!(e["count"].as_u64().unwrap_or(0) > 1);
            let created = events(&w, "SuccessfulCreate").into_iter().any(|s| {
                s["involvedObject"]["name"] == rs
                    && s["lastTimestamp"].as_str() >= e["lastTimestamp"].as_str()
            });
            assert!(
                created,
                "{rs}: SuccessfulCreate after the FailedCreate burst"
            );
        }
    }
    for text in [
        "error looking up service account",
        "exceeded quota: ",
        "maximum memory usage per Container is ",
    ] {
        assert!(
            failed
                .iter()
                .any(|e| e["message"].as_str().is_some_and(|m| m.contains(text))),
            "no FailedCreate with {text:?}"
        );
    }
    // The rolled-back ReplicaSet is current again under a new revision.
    assert!(items(&w, "ReplicaSet").any(|r| {
        r["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"].is_string()
            && r["spec"]["replicas"].as_u64().unwrap_or(0) > 0
    }));
    for reason in [
        "ScalingReplicaSet",
        "FailedScheduling",
        "FailedMount",
        "Evicted",
        "NodeHasNoDiskPressure",
        "NodeReady",
        "BackOff",
        "Unhealthy",
    ] {
        assert!(!events(&w, reason).is_empty(), "no {reason} event");
    }
    // Every node condition is healthy again.
    for n in items(&w, "Node") {
        for c in n["status"]["conditions"].as_array().into_iter().flatten() {
            let ok = if c["type"] == "Ready" {
                "True"
            } else {
                "False"
            };
            assert_eq!(c["status"], ok, "{c}");
        }
    }
}

#[test]
fn every_event_is_within_the_event_ttl() {
    let scenario = Scenario::resolve("healthy-baseline").expect("scenario");
    let plan = Plan::new(scenario.history.as_ref(), scenario.seed.unwrap_or(1));
    let ttl = plan.event_ttl;
    let (with, _) = world(Some("healthy-baseline"), true);
    let (without, _) = world(Some("healthy-baseline"), false);
    let before: BTreeSet<String> = items(&without, "Event")
        .map(|e| e["metadata"]["name"].to_string())
        .collect();
    for e in items(&with, "Event").filter(|e| !before.contains(&e["metadata"]["name"].to_string()))
    {
        let last = minutes_ago(&with, &e["lastTimestamp"]).unwrap_or(f64::MAX);
        assert!(last < ttl, "{e} is older than the TTL of {ttl} min");
        assert!(
            e["firstTimestamp"].as_str() <= e["lastTimestamp"].as_str(),
            "{e}"
        );
    }
}

/// History never changes what a scenario's faults touch: those objects and signals come
/// out the same with and without history.
#[test]
fn history_leaves_the_incident_alone() {
    for name in crate::scenario::library::names() {
        let (with, touched) = world(Some(name), true);
        let (without, _) = world(Some(name), false);
        for (kind, ns, obj) in &touched.objects {
            if kind == "Event" {
                continue;
            }
            assert_eq!(
                with.get(kind, ns, obj),
                without.get(kind, ns, obj),
                "{name}: history changed {kind} {ns}/{obj}"
            );
        }
        let sigs = |w: &World| -> Vec<ContainerSignals> {
            w.signals
                .containers
                .iter()
                .filter(|s| touched.app(&s.namespace, &s.app))
                .cloned()
                .collect()
        };
        assert!(
            sigs(&with) == sigs(&without),
            "{name}: history changed the signals of a touched app"
        );
        let faulted: Vec<&Value> = items(&without, "Event").collect();
        for e in faulted {
            let n = e["metadata"]["name"].as_str().unwrap_or_default();
            let ns = e["metadata"]["namespace"].as_str().unwrap_or_default();
            assert_eq!(with.get("Event", ns, n), Some(e), "{name}: event {n}");
        }
    }
}

#[test]
fn history_is_deterministic_and_follows_the_seed() {
    let dump = |w: &World| -> Vec<String> { w.objects().map(Value::to_string).collect() };
    let (a, _) = world(None, true);
    let (b, _) = world(None, true);
    assert_eq!(dump(&a), dump(&b));
    let (c, _) = world(None, false);
    assert_ne!(dump(&a), dump(&c), "the default cluster has history");
}
