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

fn case(name: &str) -> Case {
    cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}

/// Writes a case's clusters as real bundles.
fn bundles(dir: &std::path::Path, c: &Case) -> (std::path::PathBuf, Option<std::path::PathBuf>) {
    let (snap, baseline) = clusters(c);
    let main = dir.join(format!("{}.intel.tar.zst", c.name));
    kubectl_intel::bundle::write_bundle(&snap, &main).expect("write bundle");
    let base = baseline.map(|b| {
        let p = dir.join(format!("{}.staging.intel.tar.zst", c.name));
        kubectl_intel::bundle::write_bundle(&b, &p).expect("write bundle");
        p
    });
    (main, base)
}

fn intel(args: &[&str]) -> (i32, String, String) {
    let out = common::bin()
        .args(args)
        .output()
        .expect("run kubectl-intel");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_command_line_simulates_a_change_on_a_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, _) = bundles(dir.path(), &case("capacity-exhausted-mid-rollout"));
    let b = bundle.to_str().unwrap();
    let change = [
        "--set-image",
        "deployment/invoices=registry.example.com/invoices:2.0.0",
        "--set-resources",
        "billing/deployment/invoices=memory=2Gi/memory=2Gi",
    ];
    let (code, out, err) = intel(&[&["impact", "--bundle", b, "-o", "json"], &change[..]].concat());
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(r["details"]["verdict"], "fails");
    let blocked = first_blocked_json(&r).expect("a blocked step");
    assert!(
        blocked["blocker"]["message"]
            .as_str()
            .unwrap()
            .starts_with("0/3 nodes are available: 3 Insufficient memory.")
    );
    // The same change gives the same bytes.
    let (_, again, _) = intel(&[&["impact", "--bundle", b, "-o", "json"], &change[..]].concat());
    assert_eq!(out, again);
    // --fail-on turns the verdict into the exit status.
    let (code, text, _) = intel(
        &[
            &["impact", "--bundle", b, "--fail-on", "fails"],
            &change[..],
        ]
        .concat(),
    );
    assert_eq!(code, 6);
    assert!(
        text.contains("STEPS") && text.contains("BLOCKED (capacity)"),
        "{text}"
    );
    let (code, md, _) =
        intel(&[&["impact", "--bundle", b, "-o", "markdown"], &change[..]].concat());
    assert_eq!(code, 0);
    assert!(md.contains("### Steps") && md.contains("| step |"), "{md}");
    // A change that fits does not trip --fail-on risky.
    let (code, _, err) = intel(&[
        "impact",
        "--bundle",
        b,
        "--replicas",
        "billing/invoices=6",
        "--fail-on",
        "risky",
    ]);
    assert_eq!(code, 0, "{err}");
}

fn first_blocked_json(r: &Value) -> Option<&Value> {
    r["details"]["steps"]
        .as_array()?
        .iter()
        .find(|s| s.get("blocker").is_some())
}

#[test]
fn the_command_line_reads_the_baseline_from_another_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, staging) = bundles(dir.path(), &case("staging-memory-increase-breaks-prod"));
    let (code, out, err) = intel(&[
        "impact",
        "--bundle",
        bundle.to_str().unwrap(),
        "--baseline-from",
        staging.unwrap().to_str().unwrap(),
        "--set-image",
        "catalog/search-api=registry.example.com/search-api:4.2.0",
        "-o",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["details"]["verdict"], "fails");
    let p = &r["details"]["projections"][0];
    assert_eq!(p["memoryChangePercent"], 75, "{p}");
    assert!(
        p["newBasis"]
            .as_str()
            .unwrap()
            .contains("in cluster staging"),
        "{p}"
    );
    assert_eq!(
        r["recommendations"][0]["steps"][0],
        "kubectl -n catalog set resources deployment/search-api -c app --requests=cpu=500m,memory=1578Mi --limits=memory=2151Mi"
    );
}

#[test]
fn a_change_naming_nothing_or_a_bad_manifest_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, _) = bundles(dir.path(), &case("fits"));
    let b = bundle.to_str().unwrap();
    let (code, _, err) = intel(&[
        "impact",
        "--bundle",
        b,
        "--set-image",
        "deployment/checkout=x:1",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "--set-image \"deployment/checkout\": names no Deployment, StatefulSet or DaemonSet"
        ),
        "{err}"
    );
    let (code, _, err) = intel(&["impact", "--bundle", b, "--set-image", "storefront/catalog"]);
    assert_eq!(code, 2);
    assert!(err.contains("expected WORKLOAD[/CONTAINER]=IMAGE"), "{err}");
    let (code, _, err) = intel(&["impact", "--bundle", b, "--drain", "no-such-node"]);
    assert_eq!(code, 2);
    assert!(err.contains("no such node"), "{err}");
    let (code, _, err) = intel(&["impact", "--bundle", b, "--scale-nodes", "gpu=3"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no node pool of that name (pools: general)"),
        "{err}"
    );
    let manifest = dir.path().join("bad.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: 2}\n",
    )
    .unwrap();
    let (code, _, err) = intel(&["impact", "--bundle", b, "-f", manifest.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("document 1 (Deployment): has no spec.template.spec.containers"),
        "{err}"
    );
    let (code, _, err) = intel(&[
        "impact",
        "--bundle",
        b,
        "--set-resources",
        "storefront/catalog=cpu=6/cpu=1",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("spec.template.spec.containers[0].resources.requests: Invalid value: \"6\": must be less than or equal to cpu limit of 1"),
        "{err}"
    );
    // Hostile or invalid values: refused with the field, never a panic.
    for (args, want) in [
        (
            vec!["--replicas", "storefront/catalog=200000"],
            "at most 100000",
        ),
        (
            vec!["--patch", r#"storefront/catalog={"spec":{"replicas":-3}}"#],
            "spec.replicas must be 0 or more",
        ),
        (
            vec![
                "--patch",
                r#"storefront/catalog={"spec":{"template":{"spec":{"affinity":"x"}}}}"#,
            ],
            "spec.template.spec.affinity must be an object",
        ),
        (
            vec![
                "--patch",
                r#"storefront/catalog={"spec":{"template":{"spec":{"containers":"x"}}}}"#,
            ],
            "spec.template.spec.containers must be a list of containers",
        ),
        (
            vec!["--patch", r#"storefront/catalog={"spec":"x"}"#],
            "spec must be an object",
        ),
    ] {
        let (code, _, err) = intel(&[&["impact", "--bundle", b][..], &args[..]].concat());
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let (code, _, err) = intel(&["impact", "--bundle", b]);
    assert_eq!(code, 2);
    assert!(err.contains("say what to simulate"), "{err}");
}
