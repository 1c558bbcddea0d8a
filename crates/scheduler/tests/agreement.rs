//! Agreement with the scheduler's own evidence: every pod a FailedScheduling event names
//! that is still pending gets, re-simulated on the snapshot, the message of its latest
//! event; every running pod, taken off its node, fits back on it. Over the library's
//! scenarios and the fixture; `--nocapture` prints the table.

use std::collections::BTreeMap;

use intel_model::Snapshot;
use intel_scheduler::{Cluster, simulate};

/// The latest FailedScheduling message per pending pod (namespace, name).
fn failed_scheduling(snap: &Snapshot) -> BTreeMap<(String, String), String> {
    let mut latest: BTreeMap<(String, String), (String, String)> = BTreeMap::new();
    for e in snap.items("", "events") {
        let v = e.value();
        if v["reason"] != "FailedScheduling" || v["involvedObject"]["kind"] != "Pod" {
            continue;
        }
        let key = (
            v["involvedObject"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            v["involvedObject"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        let at = v["lastTimestamp"]
            .as_str()
            .or(v["eventTime"].as_str())
            .unwrap_or_default()
            .to_string();
        let msg = v["message"].as_str().unwrap_or_default().to_string();
        if latest.get(&key).is_none_or(|(t, _)| at >= *t) {
            latest.insert(key, (at, msg));
        }
    }
    latest.into_iter().map(|(k, (_, m))| (k, m)).collect()
}

/// (scenario, pod, agrees, expected, simulated) for every pending pod with an event.
fn check(name: &str, snap: &Snapshot, rows: &mut Vec<(String, String, bool, String, String)>) {
    let cluster = Cluster::from_snapshot(snap);
    for ((ns, pod), want) in failed_scheduling(snap) {
        let Some(i) = cluster.pod(&ns, &pod) else {
            continue;
        };
        let info = &cluster.pods[i];
        if info.bound.is_some() || info.terminal {
            continue; // scheduled since, or gone: history
        }
        let got = simulate(&cluster, info)
            .message
            .unwrap_or_else(|| "(schedulable)".into());
        rows.push((
            name.to_string(),
            format!("{ns}/{pod}"),
            got == want,
            want,
            got,
        ));
    }
}

fn library() -> Vec<(String, Snapshot)> {
    let mut out = vec![("fixture".to_string(), intel_fixture::snapshot())];
    for name in intel_synth::scenario::library::names() {
        let snap = intel_synth::scenario_snapshot(name).expect("library scenario");
        out.push((name.to_string(), snap));
    }
    out
}

#[test]
fn failed_scheduling_events_are_reproduced_and_running_pods_fit_back() {
    let mut rows = Vec::new();
    let mut misplaced = Vec::new();
    let (mut placed, mut kept) = (0, 0);
    for (name, snap) in library() {
        check(&name, &snap, &mut rows);
        let mut cluster = Cluster::from_snapshot(&snap);
        for i in 0..cluster.pods.len() {
            let Some(node) = cluster.unbind(i) else {
                continue;
            };
            placed += 1;
            let pod = cluster.pods[i].unbound();
            let v = simulate(&cluster, &pod);
            // A node cordoned or tainted NoSchedule since keeps what runs on it: those
            // plugins guard new placements only.
            let guard_only = v.rejected.iter().any(|(n, s)| {
                *n == node && matches!(s.plugin, "NodeUnschedulable" | "TaintToleration")
            }) && cluster.node(&node).is_some_and(|n| {
                n.unschedulable || n.taints.iter().any(|t| t.effect == "NoSchedule")
            });
            if guard_only {
                kept += 1;
            } else if !v.feasible.contains(&node) {
                misplaced.push(format!(
                    "{name}: {}/{} on {node}: {:?}",
                    pod.namespace,
                    pod.name,
                    v.rejected.iter().find(|(n, _)| *n == node)
                ));
            }
            cluster.bind(i, &node);
        }
    }
    println!("{:<40} {:<45} agrees", "scenario", "pod");
    for (scenario, pod, ok, want, got) in &rows {
        println!("{scenario:<40} {pod:<45} {ok}");
        if !ok {
            println!("    event:     {want}\n    simulated: {got}");
        }
    }
    let agree = rows.iter().filter(|r| r.2).count();
    println!("{agree}/{} FailedScheduling events reproduced", rows.len());
    println!(
        "{placed} running pods taken off and put back ({kept} on nodes cordoned or tainted since)"
    );
    assert!(
        rows.len() >= 5,
        "the library has pending pods with FailedScheduling events"
    );
    assert_eq!(agree, rows.len(), "every FailedScheduling event reproduced");
    assert!(
        misplaced.is_empty(),
        "running pods that do not fit back:\n{}",
        misplaced.join("\n")
    );
}
