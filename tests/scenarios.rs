//! The incident library checked against the bundles it generates: every object its
//! `expected.json` names exists, every evidence item is really in the bundle, and the
//! causality chain follows real relations (owner, node, selection, dependency).

mod common;

use std::path::{Path, PathBuf};

use kubectl_intel::engine::relations::{ObjectRef, Relations};
use kubectl_intel::engine::servicemap::ServiceMap;
use kubectl_intel::model::Snapshot;
use kubectl_intel::synth::{Options, Scenario};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Expected {
    symptom: String,
    root_cause: Option<Ref>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    chain: Vec<Ref>,
    #[serde(default)]
    evidence: Vec<Evidence>,
    #[serde(default)]
    red_herrings: Vec<Ref>,
}

#[derive(Deserialize, Clone)]
struct Ref {
    kind: String,
    namespace: String,
    name: String,
}

impl Ref {
    fn object(&self) -> ObjectRef {
        ObjectRef {
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
    fn label(&self) -> String {
        format!("{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Evidence {
    /// A bundle path, `*` matching any run of characters other than `/`.
    file: String,
    /// Text that must appear in one of the matching files.
    contains: String,
    /// What it proves, for people.
    why: String,
}

fn library() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/scenarios")
}

fn glob(pattern: &str, path: &str) -> bool {
    fn rec(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                rec(&p[1..], s) || (!s.is_empty() && s[0] != b'/' && rec(p, &s[1..]))
            }
            (Some(a), Some(b)) if a == b => rec(&p[1..], &s[1..]),
            _ => false,
        }
    }
    rec(pattern.as_bytes(), path.as_bytes())
}

fn exists(snap: &Snapshot, r: &Ref) -> bool {
    !snap
        .index()
        .by_name(&r.kind, &r.namespace, &r.name)
        .is_empty()
}

/// Whether two chain links are related: directly (owner, node, selection, routes, mounts,
/// dependency either way), or through the Service that selects a workload's pods.
fn related(rel: &Relations, map: &ServiceMap, a: &ObjectRef, b: &ObjectRef) -> bool {
    if rel.related(a, b).is_some() {
        return true;
    }
    let wa = if a.kind == "Pod" {
        rel.workload_of(a)
    } else {
        a.clone()
    };
    let wb = if b.kind == "Pod" {
        rel.workload_of(b)
    } else {
        b.clone()
    };
    if wa == wb && (a.kind == "Pod" || b.kind == "Pod") {
        return true;
    }
    if map.depends_on(&wa).contains(&&wb) || map.depends_on(&wb).contains(&&wa) {
        return true;
    }
    // Ingress → Service → workload.
    for (ing, w) in [(&wa, &wb), (&wb, &wa)] {
        if ing.kind == "Ingress"
            && rel
                .from(ing)
                .iter()
                .any(|r| rel.related(&r.to, w).is_some())
        {
            return true;
        }
    }
    false
}

#[test]
fn every_scenario_matches_its_bundle() {
    // INTEL_SCENARIO=a,b checks only those (while writing a scenario).
    let only = std::env::var("INTEL_SCENARIO").ok();
    let names: Vec<&str> = kubectl_intel::synth::scenario::library::names()
        .into_iter()
        .filter(|n| {
            only.as_deref()
                .is_none_or(|o| o.split(',').any(|x| x == *n))
        })
        .collect();
    if only.is_none() {
        assert!(names.len() >= 2, "library has {} scenarios", names.len());
    }
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut table = vec![format!(
        "{:32} {:40} {:8} {:6} {:6}",
        "scenario", "root cause", "evidence", "chain", "ok"
    )];
    for name in &names {
        let scenario = Scenario::resolve(name).unwrap();
        let expected: Expected = serde_json::from_str(
            &std::fs::read_to_string(library().join(name).join("expected.json"))
                .unwrap_or_else(|e| panic!("{name}: expected.json: {e}")),
        )
        .unwrap_or_else(|e| panic!("{name}: expected.json: {e}"));
        assert!(!expected.symptom.trim().is_empty(), "{name}: empty symptom");
        let opts = Options {
            seed: scenario.seed.unwrap_or(1),
            nodes: scenario.nodes.unwrap_or(Options::default().nodes),
            ..Options::default()
        };
        let snap = kubectl_intel::synth::generate(&opts, Some(&scenario)).unwrap();
        let bundle = dir.path().join(format!("{name}.intel.tar.zst"));
        kubectl_intel::bundle::write_bundle(&snap, &bundle).unwrap();
        let files = common::entries(&bundle);
        let snap = kubectl_intel::bundle::read_bundle(&bundle)
            .unwrap()
            .snapshot;
        let mut problems = Vec::new();

        let named = expected
            .root_cause
            .iter()
            .chain(&expected.chain)
            .chain(&expected.red_herrings);
        for r in named {
            if !exists(&snap, r) {
                problems.push(format!("{} does not exist", r.label()));
            }
        }
        if expected.root_cause.is_some() != expected.category.is_some() {
            problems.push("rootCause and category go together".into());
        }
        if expected.root_cause.is_none() && !expected.chain.is_empty() {
            problems.push("a healthy scenario has no chain".into());
        }
        if let (Some(root), Some(first)) = (&expected.root_cause, expected.chain.first()) {
            if root.label() != first.label() {
                problems.push(format!(
                    "the chain starts at {}, not at the root cause {}",
                    first.label(),
                    root.label()
                ));
            }
        }
        let mut found = 0;
        for ev in &expected.evidence {
            assert!(!ev.why.is_empty());
            let hit = files.iter().any(|(p, c)| {
                glob(&ev.file, p) && String::from_utf8_lossy(c).contains(&ev.contains)
            });
            if hit {
                found += 1;
            } else {
                problems.push(format!(
                    "evidence not found: {:?} in {}",
                    ev.contains, ev.file
                ));
            }
        }
        if expected.root_cause.is_some() && expected.evidence.len() < 2 {
            problems.push("an incident needs at least two evidence items".into());
        }
        let rel = Relations::build(&snap);
        let map = ServiceMap::build(&snap, &rel);
        let mut links = 0;
        for pair in expected.chain.windows(2) {
            if related(&rel, &map, &pair[0].object(), &pair[1].object()) {
                links += 1;
            } else {
                problems.push(format!(
                    "no relation between {} and {}",
                    pair[0].label(),
                    pair[1].label()
                ));
            }
        }
        table.push(format!(
            "{:32} {:40} {:>3}/{:<4} {:>2}/{:<3} {}",
            name,
            expected
                .root_cause
                .as_ref()
                .map(Ref::label)
                .unwrap_or_else(|| "(healthy)".into()),
            found,
            expected.evidence.len(),
            links,
            expected.chain.len().saturating_sub(1),
            if problems.is_empty() { "ok" } else { "FAIL" }
        ));
        for p in problems {
            failures.push(format!("{name}: {p}"));
        }
    }
    println!("{}", table.join("\n"));
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn scenarios_are_deterministic() {
    for name in kubectl_intel::synth::scenario::library::names()
        .iter()
        .take(3)
    {
        let s = Scenario::resolve(name).unwrap();
        let opts = Options {
            seed: s.seed.unwrap_or(1),
            ..Options::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        kubectl_intel::bundle::write_bundle(
            &kubectl_intel::synth::generate(&opts, Some(&s)).unwrap(),
            &a,
        )
        .unwrap();
        kubectl_intel::bundle::write_bundle(
            &kubectl_intel::synth::generate(&opts, Some(&s)).unwrap(),
            &b,
        )
        .unwrap();
        assert!(
            std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
            "{name} is not deterministic"
        );
    }
}
