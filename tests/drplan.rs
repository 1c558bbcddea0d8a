//! `dr-plan` on the resilience library (`testdata/resilience/`): each case a cluster in a
//! few lines of YAML (built like the what-if cases, pods placed by the scheduler engine),
//! with the single points of failure it must find (kind, subject, severity), the
//! workloads of its resilient twin on which none may be reported, and the scenarios'
//! expected verdicts, pending pods and their scheduler message, and the workloads down,
//! degraded or reached through the service map. The table prints with `--nocapture`.

mod common;

use common::whatif::{ClusterSpec, build};
use kubectl_intel::analysis::drplan::{Request, Scenario, plan, plan_on};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize, Default)]
#[serde(default)]
struct SpofWant {
    kind: String,
    subject: String,
    severity: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ScenarioWant {
    scenario: String,
    verdict: String,
    pending: Option<u64>,
    message_contains: Option<String>,
    down: Vec<String>,
    degraded: Vec<String>,
    not_down: Vec<String>,
    dependents: Vec<String>,
    rto: Vec<RtoWant>,
    rollback: Option<RollbackWant>,
    primary: Option<PrimaryWant>,
}

/// A datastore primary's scenario: the pod named primary, how it was told, whether
/// anything promotes a replica, and whether the pod found a node again.
#[derive(Deserialize, Default)]
#[serde(default)]
struct PrimaryWant {
    pod: String,
    basis_contains: String,
    failover: String,
    failover_contains: String,
    rescheduled: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RollbackWant {
    previous: Option<i64>,
    image_then: Option<String>,
    command: Option<String>,
    detail_contains: Option<String>,
}

/// A workload's time to be back: the total and each part, computed by hand from the
/// case's own values (tolerationSeconds, events, timestamps, version), or why it has no
/// bound.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RtoWant {
    subject: String,
    total: Option<f64>,
    parts: std::collections::BTreeMap<String, f64>,
    unbounded: Option<String>,
}

/// The data a stateful workload could lose: seconds since the last backup, the schedule's
/// interval, the RPO, a source that must be named — or why it is unbounded.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RpoWant {
    subject: String,
    rpo: Option<i64>,
    interval: Option<i64>,
    since: Option<i64>,
    source: Option<String>,
    unbounded: Option<String>,
}

/// A fix simulated: in every scenario that hit it, the workload's state after the fix.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ImprovedWant {
    subject: String,
    removes: String,
    /// Every effect's state after the fix is one of these.
    after: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Expect {
    /// Text some runbook action starts with.
    runbook_action: Option<String>,
    /// Texts that some runbook detection line starts with, each.
    runbook_detection: Vec<String>,
    improved: Vec<ImprovedWant>,
    rpo: Vec<RpoWant>,
    spofs: Vec<SpofWant>,
    resilient: Vec<String>,
    scenarios: Vec<ScenarioWant>,
}

#[derive(Deserialize)]
struct Case {
    #[allow(dead_code)]
    description: String,
    #[serde(flatten)]
    cluster: ClusterSpec,
    #[serde(default)]
    scenarios: Vec<String>,
    expect: Expect,
}

fn cases() -> Vec<(String, Case)> {
    common::whatif::yaml_cases("resilience")
}

/// The case's scenarios as a request.
fn request(c: &Case) -> Request {
    Request {
        scenarios: c
            .scenarios
            .iter()
            .map(|s| Scenario::parse(s).unwrap())
            .collect(),
        ..Default::default()
    }
}

fn run(c: &Case) -> kubectl_intel::analysis::report::Report {
    let snap = build(&c.cluster, "prod");
    plan(&snap, &request(c)).expect("plan")
}

fn subjects(list: &Value, state: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["state"] == state)
        .map(|l| l["subject"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn the_resilience_library_meets_its_ground_truth() {
    let mut failures = Vec::new();
    let mut wanted = 0;
    let mut found = 0;
    println!(
        "{:28} {:>6} {:>6} {:>9} {:>9} ok",
        "case", "spofs", "found", "twin-clean", "scenarios"
    );
    for (name, c) in cases() {
        let r = run(&c);
        let spofs = r.details["singlePointsOfFailure"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut why = Vec::new();
        for w in &c.expect.spofs {
            wanted += 1;
            let hit = spofs
                .iter()
                .find(|s| s["kind"] == w.kind.as_str() && s["subject"] == w.subject.as_str());
            match hit {
                None => why.push(format!("missing {} on {}", w.kind, w.subject)),
                Some(s) => {
                    found += 1;
                    if let Some(sev) = &w.severity {
                        if s["severity"] != sev.as_str() {
                            why.push(format!(
                                "{} on {}: severity {}, want {sev}",
                                w.kind, w.subject, s["severity"]
                            ));
                        }
                    }
                }
            }
        }
        let mut clean = true;
        for t in &c.expect.resilient {
            for s in spofs.iter().filter(|s| s["subject"] == t.as_str()) {
                clean = false;
                why.push(format!(
                    "the resilient {t} got {}: {}",
                    s["kind"], s["evidence"]
                ));
            }
        }
        let outcomes = r.details["scenarios"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for w in &c.expect.scenarios {
            let Some(o) = outcomes.iter().find(|o| {
                format!(
                    "{}={}",
                    o["scenario"]["kind"].as_str().unwrap_or_default(),
                    o["scenario"]["name"].as_str().unwrap_or_default()
                ) == w.scenario
            }) else {
                why.push(format!("no scenario {}", w.scenario));
                continue;
            };
            if o["verdict"] != w.verdict.as_str() {
                why.push(format!(
                    "{}: verdict {}, want {}",
                    w.scenario, o["verdict"], w.verdict
                ));
            }
            if let Some(p) = w.pending {
                if o["pendingTotal"].as_u64() != Some(p) {
                    why.push(format!(
                        "{}: {} pending, want {p}",
                        w.scenario, o["pendingTotal"]
                    ));
                }
            }
            if let Some(m) = &w.message_contains {
                let any = o["pending"].as_array().into_iter().flatten().any(|p| {
                    p["message"]
                        .as_str()
                        .unwrap_or_default()
                        .contains(m.as_str())
                });
                if !any {
                    why.push(format!(
                        "{}: no pending message with {m:?}: {}",
                        w.scenario, o["pending"]
                    ));
                }
            }
            let down = subjects(&o["losses"], "down");
            for d in &w.down {
                if !down.contains(d) {
                    why.push(format!("{}: {d} not down ({down:?})", w.scenario));
                }
            }
            for d in &w.not_down {
                if down.contains(d) {
                    why.push(format!("{}: {d} down", w.scenario));
                }
            }
            let degraded = subjects(&o["losses"], "degraded");
            for d in &w.degraded {
                if !degraded.contains(d) {
                    why.push(format!("{}: {d} not degraded ({degraded:?})", w.scenario));
                }
            }
            if let Some(want) = &w.rollback {
                let rb = &o["rollback"];
                if want.previous.is_some() && rb["previousRevision"].as_i64() != want.previous {
                    why.push(format!(
                        "{}: previous revision {}",
                        w.scenario, rb["previousRevision"]
                    ));
                }
                if let Some(i) = &want.image_then {
                    if !rb["imagesThen"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|x| x == i.as_str())
                    {
                        why.push(format!("{}: images then {}", w.scenario, rb["imagesThen"]));
                    }
                }
                if want.command.is_some() && rb["command"].as_str() != want.command.as_deref() {
                    why.push(format!("{}: command {}", w.scenario, rb["command"]));
                }
                if let Some(d) = &want.detail_contains {
                    if !rb["detail"]
                        .as_str()
                        .is_some_and(|x| x.contains(d.as_str()))
                    {
                        why.push(format!("{}: detail {}", w.scenario, rb["detail"]));
                    }
                }
            }
            if let Some(want) = &w.primary {
                let p = &o["primary"];
                let ok = p["pod"] == want.pod.as_str()
                    && p["failover"] == want.failover.as_str()
                    && p["basis"]
                        .as_str()
                        .is_some_and(|b| b.contains(want.basis_contains.as_str()))
                    && p["failoverBasis"]
                        .as_str()
                        .is_some_and(|b| b.contains(want.failover_contains.as_str()))
                    && want
                        .rescheduled
                        .is_none_or(|r| p["rescheduled"].as_bool() == Some(r));
                if !ok {
                    why.push(format!("{}: primary {p}", w.scenario));
                }
            }
            for want in &w.rto {
                let Some(r) = o["rto"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|r| r["subject"] == want.subject.as_str())
                else {
                    why.push(format!("{}: no RTO for {}", w.scenario, want.subject));
                    continue;
                };
                if let Some(t) = want.total {
                    if r["totalSeconds"]
                        .as_f64()
                        .is_none_or(|x| (x - t).abs() > 0.01)
                    {
                        why.push(format!(
                            "{}: RTO of {} is {}, want {t}",
                            w.scenario, want.subject, r["totalSeconds"]
                        ));
                    }
                }
                for (part, secs) in &want.parts {
                    let got = r["parts"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|p| p["part"] == part.as_str());
                    match got {
                        Some(p)
                            if p["seconds"]
                                .as_f64()
                                .is_some_and(|x| (x - secs).abs() < 0.01)
                                && p["basis"].as_str().is_some_and(|b| !b.is_empty()) => {}
                        other => why.push(format!(
                            "{}: {part} of {} is {other:?}, want {secs} with its basis",
                            w.scenario, want.subject
                        )),
                    }
                }
                if let Some(u) = &want.unbounded {
                    if !r["unbounded"]
                        .as_str()
                        .is_some_and(|x| x.contains(u.as_str()))
                        || !r["totalSeconds"].is_null()
                    {
                        why.push(format!(
                            "{}: {} should be unbounded ({u}): {r}",
                            w.scenario, want.subject
                        ));
                    }
                }
            }
            let deps: Vec<String> = o["dependents"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| d[0].as_str().unwrap_or_default().to_string())
                .collect();
            for d in &w.dependents {
                if !deps.contains(d) {
                    why.push(format!("{}: dependent {d} missing ({deps:?})", w.scenario));
                }
            }
        }
        // A runbook line of `field` (actions, detection) starting with each wanted text.
        let wanted = c
            .expect
            .runbook_action
            .iter()
            .map(|a| ("actions", a))
            .chain(c.expect.runbook_detection.iter().map(|d| ("detection", d)));
        for (field, a) in wanted {
            let any = r.details["runbooks"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|b| b[field].as_array().cloned().unwrap_or_default())
                .any(|x| x.as_str().is_some_and(|x| x.starts_with(a.as_str())));
            if !any {
                why.push(format!(
                    "no runbook {field} starting with {a:?}: {}",
                    r.details["runbooks"]
                ));
            }
        }
        // Fixes ranked by what their simulation gains: down 3, down until rescheduled 2,
        // degraded 1, per scenario, before minus after.
        let bad = |s: &Value| match s.as_str().unwrap_or_default() {
            "down" => 3,
            "down-until-rescheduled" => 2,
            "degraded" => 1,
            _ => 0,
        };
        let gains: Vec<i64> = r.details["improvements"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                let want: i64 = i["effects"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| bad(&e["before"]) - bad(&e["after"]))
                    .sum();
                if i["gain"].as_i64() != Some(want) {
                    why.push(format!("{}: gain {}, want {want}", i["subject"], i["gain"]));
                }
                want
            })
            .collect();
        if gains.windows(2).any(|w| w[0] < w[1]) {
            why.push(format!("fixes not ranked by gain: {gains:?}"));
        }
        for want in &c.expect.improved {
            let Some(i) = r.details["improvements"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|i| {
                    i["subject"] == want.subject.as_str() && i["removes"] == want.removes.as_str()
                })
            else {
                why.push(format!(
                    "no improvement simulated for {} on {}",
                    want.removes, want.subject
                ));
                continue;
            };
            let effects = i["effects"].as_array().cloned().unwrap_or_default();
            if effects.is_empty() {
                why.push(format!("{}: no effect simulated", want.subject));
            }
            for e in &effects {
                if !want.after.iter().any(|a| e["after"] == a.as_str()) {
                    why.push(format!(
                        "{}: after the fix, {} is {}, want one of {:?}",
                        want.subject, e["scenario"], e["after"], want.after
                    ));
                }
            }
        }
        for want in &c.expect.rpo {
            let Some(x) = r.details["rpo"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|x| x["subject"] == want.subject.as_str())
            else {
                why.push(format!("no RPO for {}", want.subject));
                continue;
            };
            for (field, v) in [
                ("rpoSeconds", want.rpo),
                ("scheduleIntervalSeconds", want.interval),
                ("sinceLastBackupSeconds", want.since),
            ] {
                if v.is_some() && x[field].as_i64() != v {
                    why.push(format!(
                        "{}: {field} {}, want {v:?}",
                        want.subject, x[field]
                    ));
                }
            }
            if let Some(s) = &want.source {
                if !x["sources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|y| y == s.as_str())
                {
                    why.push(format!(
                        "{}: source {s:?} missing from {}",
                        want.subject, x["sources"]
                    ));
                }
            }
            if let Some(u) = &want.unbounded {
                if !x["rpoSeconds"].is_null()
                    || !x["basis"].as_str().is_some_and(|b| b.contains(u.as_str()))
                {
                    why.push(format!("{}: should be unbounded ({u}): {x}", want.subject));
                }
                let reported = r
                    .findings
                    .iter()
                    .any(|f| f.kind == "NoBackup" && f.subject.label() == want.subject);
                if !reported {
                    why.push(format!("{}: no NoBackup finding", want.subject));
                }
            }
        }
        println!(
            "{:28} {:>6} {:>6} {:>9} {:>9} {}",
            name,
            c.expect.spofs.len(),
            spofs.len(),
            clean,
            c.expect.scenarios.len(),
            if why.is_empty() { "yes" } else { "NO" }
        );
        if !why.is_empty() {
            failures.push(format!("{name}: {}", why.join("; ")));
        }
    }
    println!("recall: {found}/{wanted} listed single points of failure found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(found, wanted);
}

#[test]
fn a_plan_is_deterministic_and_leaves_the_cluster_as_it_was() {
    for (name, c) in cases() {
        let a = serde_json::to_string(&run(&c)).unwrap();
        // Twice on one cluster: every scenario reverts what it changed.
        let snap = build(&c.cluster, "prod");
        let mut cluster = kubectl_intel::scheduler::Cluster::from_snapshot(&snap);
        let rel = kubectl_intel::engine::Relations::build(&snap);
        let req = request(&c);
        let b = serde_json::to_string(&plan_on(&snap, &rel, &mut cluster, &req).unwrap()).unwrap();
        let d = serde_json::to_string(&plan_on(&snap, &rel, &mut cluster, &req).unwrap()).unwrap();
        assert_eq!(a, b, "{name}");
        assert_eq!(b, d, "{name}");
    }
}

#[test]
fn the_command_line_plans_a_bundle_and_refuses_a_scenario_naming_nothing() {
    let (_, c) = cases()
        .into_iter()
        .find(|(n, _)| n == "zonal-volume")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.intel.tar.zst");
    kubectl_intel::bundle::write_bundle(&build(&c.cluster, "prod"), &bundle).unwrap();
    let b = bundle.to_str().unwrap();
    let out = common::bin()
        .args(["dr-plan", "--bundle", b, "-o", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["analysis"], "generate_disaster_recovery_plan");
    // Without --scenario: every zone and, on a small cluster, every node.
    assert_eq!(
        r["details"]["scenarios"].as_array().unwrap().len(),
        6,
        "{}",
        r["details"]["scenarios"]
    );
    let out = common::bin()
        .args(["dr-plan", "--bundle", b, "--scenario", "zone=mars-1a"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--scenario zone=mars-1a: no node matches")
    );
    let out = common::bin()
        .args(["dr-plan", "--bundle", b, "--scenario", "region=x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = common::bin()
        .args(["dr-plan", "--bundle", b, "--scenario", "zone=eu-west-1a"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("SCENARIOS") && text.contains("zone=eu-west-1a: outage"),
        "{text}"
    );
}

/// Each runbook's end state is what its scenario reaches when simulated again on its own,
/// and no action holds a placeholder.
#[test]
fn every_runbook_end_state_holds_when_its_scenario_is_simulated_again() {
    let mut checked = 0;
    for (name, c) in cases() {
        let snap = build(&c.cluster, "prod");
        let r = plan(&snap, &request(&c)).unwrap();
        for b in r.details["runbooks"].as_array().into_iter().flatten() {
            let scenario = b["scenario"].as_str().unwrap();
            let again = plan(
                &snap,
                &Request {
                    scenarios: vec![Scenario::parse(scenario).unwrap()],
                    ..Default::default()
                },
            )
            .unwrap();
            let same = again.details["runbooks"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|x| x["scenario"] == scenario)
                .unwrap_or_else(|| panic!("{name}: {scenario} has no runbook alone"));
            assert_eq!(same["endState"], b["endState"], "{name}: {scenario}");
            for a in b["actions"].as_array().into_iter().flatten() {
                let a = a.as_str().unwrap();
                assert!(
                    !a.contains("<") || a.contains("<<"),
                    "{name}: placeholder in {a}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} runbooks checked");
}

/// "How do we prevent this?": a diagnosis is the plan's starting point. Its root causes
/// become the scenarios (the workload failing, its rollback), the diagnosis' own
/// long-term fixes come first, then the causes' single points of failure; a report of
/// another analysis, or one without a root cause, is refused; causes that are no workload
/// of the cluster fall back to the defaults and say so.
#[test]
fn an_incident_is_the_starting_point() {
    use kubectl_intel::analysis::diagnose;
    use kubectl_intel::analysis::drplan::incident::Incident;
    let (snap, _) = common::scenario_snapshot("auth-memory-leak");
    let name = snap.manifest.cluster.name.clone();
    let mut fleet = kubectl_intel::model::Fleet::default();
    fleet.add(snap);
    let snap = fleet.clusters.values().next().unwrap().clone();
    let diagnosis = diagnose::diagnose(
        &fleet,
        &diagnose::Request {
            symptom: "checkout is failing".into(),
            ..Default::default()
        },
    );
    let value = serde_json::to_value(&diagnosis).unwrap();
    let incident =
        Incident::from_report(&value, "diagnose \"checkout is failing\"", &name).unwrap();
    assert_eq!(incident.causes[0].subject, "Deployment shop/auth");
    assert_eq!(incident.causes[0].category, "OOMKilled");
    let r = plan(
        &snap,
        &Request {
            scenarios: Vec::new(),
            incident: Some(incident.clone()),
        },
    )
    .unwrap();
    let scenarios: Vec<String> = r.details["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            format!(
                "{}={}",
                o["scenario"]["kind"].as_str().unwrap(),
                o["scenario"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        scenarios.starts_with(&[
            "workload=shop/auth".to_string(),
            "rollback=shop/auth".to_string()
        ]),
        "{scenarios:?}"
    );
    // Not the defaults: no zone is failed unless asked.
    assert!(
        !scenarios.iter().any(|s| s.starts_with("zone=")),
        "{scenarios:?}"
    );
    assert_eq!(
        r.details["incident"]["causes"][0]["subject"],
        "Deployment shop/auth"
    );
    assert!(
        r.summary.starts_with("Preventing the incident of diagnose"),
        "{}",
        r.summary
    );
    // The diagnosis' own long-term fix first, then the cause's single points of failure.
    let first = &r.recommendations[0];
    assert!(first.why.starts_with("from the diagnosis"), "{first:?}");
    assert_eq!(first.horizon, "long-term");
    let cause_fix = r
        .recommendations
        .iter()
        .position(|x| x.title.contains("shop/auth"))
        .unwrap();
    let other_fix = r
        .recommendations
        .iter()
        .position(|x| !x.title.contains("auth") && !x.why.starts_with("from the diagnosis"))
        .unwrap();
    assert!(cause_fix < other_fix, "{:#?}", r.recommendations);
    // Asked-for scenarios come after the incident's.
    let both = plan(
        &snap,
        &Request {
            scenarios: vec![Scenario::parse("workload=shop/catalog").unwrap()],
            incident: Some(incident),
        },
    )
    .unwrap();
    assert_eq!(
        both.details["scenarios"].as_array().unwrap().len(),
        scenarios.len() + 1
    );

    // Refused: another analysis's report, a diagnosis with no root cause.
    let other =
        serde_json::json!({"analysis": "generate_disaster_recovery_plan", "rootCauses": []});
    let e = Incident::from_report(&other, "report x.json", &name).unwrap_err();
    assert!(e.contains("not a diagnose report"), "{e}");
    let none = serde_json::json!({"analysis": "diagnose_cluster_issue", "rootCauses": []});
    let e = Incident::from_report(&none, "report y.json", &name).unwrap_err();
    assert!(e.contains("names no root cause"), "{e}");
    // A cause that is no workload here: the defaults, said plainly.
    let elsewhere = serde_json::json!({"analysis": "diagnose_cluster_issue", "rootCauses": [
        {"rank": 1, "category": "OOMKilled", "subject": {"cluster": name, "kind": "Deployment", "namespace": "gone", "name": "app"}}]});
    let i = Incident::from_report(&elsewhere, "report z.json", &name).unwrap();
    let r = plan(
        &snap,
        &Request {
            scenarios: Vec::new(),
            incident: Some(i),
        },
    )
    .unwrap();
    assert!(
        r.limitations
            .iter()
            .any(|l| l.contains("Deployment gone/app") && l.contains("every default scenario")),
        "{:?}",
        r.limitations
    );
}

/// The command line: `--incident SYMPTOM` diagnoses in-process, `--from-report FILE`
/// reads a saved diagnosis; a file of another kind is exit 2 with the fix.
#[test]
fn the_command_line_starts_from_a_diagnosis() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("leak.intel.tar.zst");
    let (snap, _) = common::scenario_snapshot("auth-memory-leak");
    kubectl_intel::bundle::write_bundle(&snap, &bundle).unwrap();
    let b = bundle.to_str().unwrap();
    let diag = common::bin()
        .args([
            "diagnose",
            "checkout is failing",
            "--bundle",
            b,
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert!(diag.status.success());
    let saved = dir.path().join("diag.json");
    std::fs::write(&saved, &diag.stdout).unwrap();
    let plan = |source: &[&str]| {
        common::json_of(
            common::bin()
                .args(["dr-plan", "--bundle", b, "-o", "json"])
                .args(source),
        )
    };
    let a = plan(&["--from-report", saved.to_str().unwrap()]);
    assert_eq!(
        a["details"]["incident"]["causes"][0]["subject"],
        "Deployment shop/auth"
    );
    let i = plan(&["--incident", "checkout is failing"]);
    assert_eq!(i["details"]["scenarios"], a["details"]["scenarios"]);
    // A dr-plan report is no diagnosis.
    let plan_file = dir.path().join("plan.json");
    std::fs::write(&plan_file, serde_json::to_vec(&a).unwrap()).unwrap();
    let out = common::bin()
        .args([
            "dr-plan",
            "--bundle",
            b,
            "--from-report",
            plan_file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a diagnose report"));
}

/// What the defaults leave out on a large cluster is said, with how to ask for it; a small
/// cluster has every node failed and no such limitation.
#[test]
fn defaults_left_out_are_limitations() {
    let spec: ClusterSpec = serde_saphyr::from_str(
        r#"
nodes:
  - {pool: general, count: 60, zones: [eu-west-1a, eu-west-1b, eu-west-1c], cpu: "4", memory: 16Gi}
workloads:
  - {namespace: shop, name: web, replicas: 3, cpu: 100m, memory: 128Mi}
"#,
    )
    .unwrap();
    let r = plan(&build(&spec, "big"), &Request::default()).unwrap();
    assert!(
        r.limitations.iter().any(
            |l| l.starts_with("Nodes were not failed one by one (60 nodes")
                && l.contains("--scenario node=NAME")
        ),
        "{:?}",
        r.limitations
    );
    let (_, small) = cases()
        .into_iter()
        .find(|(n, _)| n == "zonal-volume")
        .unwrap();
    let r = plan(&build(&small.cluster, "prod"), &Request::default()).unwrap();
    assert!(
        !r.limitations.iter().any(|l| l.contains("not failed")),
        "{:?}",
        r.limitations
    );
}
