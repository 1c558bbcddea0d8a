//! `impact` on the what-if library (`testdata/whatif/`): each case's change simulated on
//! its cluster, the verdict, the first blocked step, its blocker and the first
//! recommended strategy checked against the case's ground truth; every strategy the
//! report recommends simulated again with its edits and its claimed verdict checked;
//! determinism; and the command line on a real bundle. The table prints with
//! `--nocapture`.

mod common;

use common::whatif::{Case, ChangeSpec, build, cases};
use kubectl_intel::analysis::impact::{Change, Request, impact};
use kubectl_intel::analysis::report::Report;
use kubectl_intel::model::Snapshot;
use serde_json::Value;

fn change_of(spec: &ChangeSpec) -> Change {
    let mut c = Change::default();
    for s in &spec.set_image {
        c.set_image(s).expect("set_image");
    }
    for s in &spec.replicas {
        c.replicas(s).expect("replicas");
    }
    for s in &spec.set_resources {
        c.set_resources(s).expect("set_resources");
    }
    for s in &spec.scale_nodes {
        c.scale_nodes(s).expect("scale_nodes");
    }
    for s in &spec.cordon {
        c.cordon(s);
    }
    for s in &spec.drain {
        c.drain(s);
    }
    for s in &spec.delete {
        c.delete(s).expect("delete");
    }
    for s in &spec.patch {
        c.patch(s).expect("patch");
    }
    if let Some(m) = &spec.manifest {
        c.apply_text(m, "manifest").expect("manifest");
    }
    c
}

/// A case's cluster and, where it has one, its baseline cluster.
fn clusters(case: &Case) -> (Snapshot, Option<Snapshot>) {
    let snap = build(
        &case.cluster,
        case.cluster.name.as_deref().unwrap_or("prod"),
    );
    let baseline = case
        .baseline
        .as_ref()
        .map(|b| build(b, b.name.as_deref().unwrap_or("staging")));
    (snap, baseline)
}

/// `INTEL_WHATIF_DUMP=DIR` writes each case's clusters as bundles (`DIR/<case>.intel.tar.zst`,
/// `DIR/<case>.baseline.intel.tar.zst`), to run the command line on them by hand.
fn run_case(case: &Case) -> Report {
    let (snap, baseline) = clusters(case);
    if let Some(dir) = std::env::var_os("INTEL_WHATIF_DUMP") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("dump dir");
        kubectl_intel::bundle::write_bundle(
            &snap,
            &dir.join(format!("{}.intel.tar.zst", case.name)),
        )
        .expect("write bundle");
        if let Some(b) = &baseline {
            kubectl_intel::bundle::write_bundle(
                b,
                &dir.join(format!("{}.baseline.intel.tar.zst", case.name)),
            )
            .expect("write bundle");
        }
    }
    let req = Request {
        change: change_of(&case.change),
        baseline: baseline.as_ref(),
    };
    impact(&snap, &req).unwrap_or_else(|e| panic!("{}: {e}", case.name))
}

fn first_blocked(r: &Report) -> Option<&Value> {
    r.details["steps"]
        .as_array()?
        .iter()
        .find(|s| s.get("blocker").is_some())
}

fn top_strategy(r: &Report) -> Option<String> {
    r.details["strategies"]
        .as_array()?
        .iter()
        .map(|s| s["kind"].as_str().unwrap_or_default().to_string())
        .find(|k| k != "proceed")
}

#[test]
fn the_whatif_library_meets_its_ground_truth() {
    let cases = cases();
    let mut failures = Vec::new();
    println!(
        "{:44} {:7} {:7} {:5} {:16} {:18} ok",
        "case", "want", "got", "step", "blocker", "strategy"
    );
    for case in &cases {
        let r = run_case(case);
        let verdict = r.details["verdict"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let blocked = first_blocked(&r);
        let step = blocked.and_then(|s| s["step"].as_u64()).map(|s| s as usize);
        let blocker = blocked
            .and_then(|s| s["blocker"]["kind"].as_str())
            .map(str::to_string);
        let message = blocked
            .and_then(|s| s["blocker"]["message"].as_str())
            .unwrap_or_default()
            .to_string();
        let strategy = top_strategy(&r);
        let e = &case.expect;
        let mut why = Vec::new();
        if verdict != e.verdict {
            why.push(format!("verdict {verdict}, want {}", e.verdict));
        }
        if e.step.is_some() && step != e.step {
            why.push(format!("step {step:?}, want {:?}", e.step));
        }
        if e.blocker.is_some() && blocker != e.blocker {
            why.push(format!("blocker {blocker:?}, want {:?}", e.blocker));
        }
        if let Some(m) = &e.message_contains {
            if !message.contains(m.as_str()) {
                why.push(format!("message {message:?} lacks {m:?}"));
            }
        }
        if e.strategy.is_some() && strategy != e.strategy {
            why.push(format!("strategy {strategy:?}, want {:?}", e.strategy));
        }
        println!(
            "{:44} {:7} {:7} {:5} {:16} {:18} {}",
            case.name,
            e.verdict,
            verdict,
            step.map_or("-".into(), |s| s.to_string()),
            blocker.clone().unwrap_or("-".into()),
            strategy.clone().unwrap_or("-".into()),
            if why.is_empty() { "yes" } else { "NO" }
        );
        if !why.is_empty() {
            failures.push(format!(
                "{}: {}\n  summary: {}",
                case.name,
                why.join("; "),
                r.summary
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases.len() >= 15, "the library holds {} cases", cases.len());
}

/// Every strategy is the change plus its edits (or, for a canary, its edits instead):
/// simulated again, it gets the verdict the report claimed.
#[test]
fn every_recommended_strategy_holds_when_simulated_again() {
    let mut checked = 0;
    for case in cases() {
        let (snap, baseline) = clusters(&case);
        let change = change_of(&case.change);
        let r = impact(
            &snap,
            &Request {
                change: change.clone(),
                baseline: baseline.as_ref(),
            },
        )
        .expect("impact");
        for s in r.details["strategies"].as_array().into_iter().flatten() {
            let mut c = change.clone();
            if s["replacesChange"].as_bool() == Some(true) {
                c.edits.retain(|e| {
                    matches!(
                        e,
                        kubectl_intel::analysis::impact::Edit::ScaleNodes { .. }
                            | kubectl_intel::analysis::impact::Edit::Cordon { .. }
                            | kubectl_intel::analysis::impact::Edit::Drain { .. }
                    )
                });
            }
            let edits: Vec<kubectl_intel::analysis::impact::Edit> =
                serde_json::from_value(s["edits"].clone()).expect("edits deserialize");
            c.edits.extend(edits);
            let again = impact(
                &snap,
                &Request {
                    change: c,
                    baseline: baseline.as_ref(),
                },
            )
            .expect("strategy simulates");
            assert_eq!(
                again.details["verdict"], s["verdict"],
                "{}: strategy {:?} claimed {} but simulates to {}",
                case.name, s["title"], s["verdict"], again.details["verdict"]
            );
            let commands = s["commands"].to_string();
            assert!(
                !has_placeholder(&commands),
                "{}: a placeholder in {commands}",
                case.name
            );
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} strategies checked");
}

/// `<cluster>`, `<node-name>`: a word in angle brackets stands for a value not filled in.
fn has_placeholder(s: &str) -> bool {
    s.match_indices('<').any(|(i, _)| {
        let rest = &s[i + 1..];
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '-' || *c == '_')
            .collect();
        !word.is_empty() && rest[word.len()..].starts_with('>')
    })
}

#[test]
fn the_same_change_gives_byte_identical_reports() {
    for case in cases().iter().take(6) {
        let a = serde_json::to_string(&run_case(case)).unwrap();
        let b = serde_json::to_string(&run_case(case)).unwrap();
        assert_eq!(a, b, "{}", case.name);
    }
}
