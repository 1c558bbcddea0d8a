//! `diagnose` on the incident library: the first root cause is the expected one, the
//! expected chain appears in order in its chain, no red herring ranks first, healthy
//! clusters report no root cause. Prints the table (scenario, expected, got, rank).

mod common;

use std::path::{Path, PathBuf};

use kubectl_intel::analysis::diagnose::{Request, diagnose};
use kubectl_intel::analysis::report::Report;
use kubectl_intel::model::Fleet;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Expected {
    symptom: String,
    root_cause: Option<Ref>,
    #[serde(default)]
    chain: Vec<Ref>,
    #[serde(default)]
    red_herrings: Vec<Ref>,
}

#[derive(Deserialize, Clone, PartialEq)]
struct Ref {
    kind: String,
    namespace: String,
    name: String,
}

impl Ref {
    fn label(&self) -> String {
        format!("{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

fn library() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/scenarios")
}

fn subject_label(s: &kubectl_intel::analysis::report::Subject) -> String {
    format!("{}/{}/{}", s.kind, s.namespace, s.name)
}

/// Diagnoses one library scenario (generated in memory, as a bundle would load it).
pub fn run(name: &str, symptom: &str) -> Report {
    let (snap, _) = common::scenario_snapshot(name);
    let mut fleet = Fleet::default();
    fleet.add(snap);
    diagnose(
        &fleet,
        &Request {
            symptom: symptom.to_string(),
            ..Request::default()
        },
    )
}

/// Checks one scenario; returns the table row and the problems.
fn check(name: &str) -> (String, Vec<String>) {
    let expected: Expected = serde_json::from_str(
        &std::fs::read_to_string(library().join(name).join("expected.json")).unwrap(),
    )
    .unwrap();
    let report = run(name, &expected.symptom);
    let mut problems = Vec::new();
    let got = report
        .root_causes
        .first()
        .map(|r| subject_label(&r.subject))
        .unwrap_or_else(|| "(none)".into());
    let want = expected
        .root_cause
        .as_ref()
        .map(Ref::label)
        .unwrap_or_else(|| "(none)".into());
    let rank = expected
        .root_cause
        .as_ref()
        .and_then(|e| {
            report
                .root_causes
                .iter()
                .position(|r| subject_label(&r.subject) == e.label())
        })
        .map(|i| (i + 1).to_string())
        .unwrap_or_else(|| "-".into());
    if got != want {
        problems.push(format!("first root cause is {got}, expected {want}"));
    }
    if let Some(first) = report.root_causes.first() {
        if expected
            .red_herrings
            .iter()
            .any(|r| r.label() == subject_label(&first.subject))
        {
            problems.push(format!("a red herring ranks first: {got}"));
        }
        if got == want {
            let chain: Vec<String> = report.chains[first.chain]
                .links
                .iter()
                .map(|l| subject_label(&l.subject))
                .collect();
            let mut at = 0;
            for e in &expected.chain {
                match chain[at..].iter().position(|c| *c == e.label()) {
                    Some(p) => at += p + 1,
                    None => {
                        problems.push(format!(
                            "chain {} lacks {} in order",
                            chain.join(" → "),
                            e.label()
                        ));
                        break;
                    }
                }
            }
        }
    }
    let row = format!(
        "{:36} {:44} {:44} {:4} {}",
        name,
        want,
        got,
        rank,
        if problems.is_empty() { "ok" } else { "FAIL" }
    );
    (row, problems)
}

/// Scenarios not yet diagnosed right; see the open issue's note. Empty: every scenario
/// of the library is diagnosed right, and a failure is a regression.
const KNOWN_GAPS: &[&str] = &[];

#[test]
fn the_library_is_diagnosed() {
    let only = std::env::var("INTEL_SCENARIO").ok();
    let names: Vec<&str> = kubectl_intel::synth::scenario::library::names()
        .into_iter()
        .filter(|n| {
            only.as_deref()
                .is_none_or(|o| o.split(',').any(|x| x == *n))
        })
        .collect();
    let mut table = vec![format!(
        "{:36} {:44} {:44} {:4} ok",
        "scenario", "expected", "got", "rank"
    )];
    let mut failures = Vec::new();
    for name in &names {
        let (row, problems) = check(name);
        table.push(row);
        for p in problems {
            failures.push(format!("{name}: {p}"));
        }
    }
    println!("{}", table.join("\n"));
    println!("{}", failures.join("\n"));
    let failed: std::collections::BTreeSet<&str> = failures
        .iter()
        .map(|f| f.split(':').next().unwrap_or(""))
        .collect();
    println!(
        "{}/{} scenarios diagnosed correctly",
        names.len() - failed.len(),
        names.len()
    );
    // Scenarios the ranking does not get right yet (tracked in the issue); any other
    // failure is a regression. A known gap that starts passing must leave this list.
    let regressions: Vec<&String> = failures
        .iter()
        .filter(|f| !KNOWN_GAPS.iter().any(|k| f.starts_with(&format!("{k}:"))))
        .collect();
    let fixed: Vec<&&str> = KNOWN_GAPS
        .iter()
        .filter(|k| names.contains(k) && !failed.contains(**k))
        .collect();
    assert!(
        regressions.is_empty(),
        "regressions:\n{}",
        regressions
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        fixed.is_empty(),
        "now diagnosed correctly, remove from KNOWN_GAPS: {fixed:?}"
    );
}

/// A saturated database slows every client: the chain's path reaches one of them, the
/// others follow as branches from the database, in the JSON (`from`) and in the text.
#[test]
fn other_failing_clients_are_branches_of_the_chain() {
    let r = run("tenant-traffic-surge", "production is slow");
    let chain = &r.chains[r.root_causes[0].chain];
    let label = |i: usize| subject_label(&chain.links[i].subject);
    let branch = chain
        .links
        .iter()
        .position(|l| subject_label(&l.subject) == "Deployment/shop/inventory")
        .expect("inventory is in the chain");
    let from = chain.links[branch].from.expect("inventory is a branch");
    assert_eq!(label(from), "StatefulSet/shop/postgres");
    assert_eq!(chain.links[branch].reason, "depended-on-by");
    assert!(chain.links[..branch].iter().all(|l| l.from.is_none()));
    let text = kubectl_intel::analysis::render::text(&r);
    assert!(
        text.contains(
            "also StatefulSet shop/postgres --depended-on-by--> Deployment shop/inventory"
        ),
        "{text}"
    );
    assert!(
        r.summary.contains("and also reaches inventory"),
        "{}",
        r.summary
    );
}

#[test]
fn diagnosis_is_deterministic() {
    let a = run("auth-memory-leak", "users are reporting timeouts");
    let b = run("auth-memory-leak", "users are reporting timeouts");
    let (ja, jb) = (
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap(),
    );
    assert_eq!(ja, jb);
    assert_eq!(
        kubectl_intel::analysis::render::text(&a),
        kubectl_intel::analysis::render::text(&b)
    );
    assert!(!a.summary.is_empty());
    assert!(!a.recommendations.is_empty());
}

/// The `-o json` report of a healthy cluster, a classic incident and a hidden coupling,
/// as committed under tests/snapshots/: a change to the report's shape or to what
/// diagnose concludes shows up as a diff to review (`cargo insta review`, or
/// `INSTA_UPDATE=always` and `git diff`). docs/report.md documents every field these hold.
#[test]
fn reports_match_their_snapshots() {
    for name in [
        "healthy-baseline",
        "auth-memory-leak",
        "hidden-coupling-payment-inventory",
    ] {
        let expected: Expected = serde_json::from_str(
            &std::fs::read_to_string(library().join(name).join("expected.json")).unwrap(),
        )
        .unwrap();
        let report = run(name, &expected.symptom);
        insta::assert_json_snapshot!(format!("report-{name}"), report);
    }
}
