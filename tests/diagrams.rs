//! Service maps rendered as Mermaid and Graphviz DOT (`analysis::graph`), checked by the
//! real parsers: `dot -Tsvg` (Graphviz) and `mmdc` (Mermaid CLI driving Chromium).
//!
//! Cases: library scenarios generated in memory (as a bundle would load them) with the
//! states an analysis would set (root cause, chain, dependents), the compact fixture, an
//! empty map, and a hand-built hostile map whose names carry quotes, brackets, braces,
//! `;`, `-->`, `%%{init}%%`, HTML, entities, backslashes, newlines, bidi overrides and
//! emoji. Each rendering must parse (exit 0) and give an SVG with every node, every edge
//! and every highlighted state, and the hostile names must come out as text. A naive
//! unescaped rendering of the same hostile name must fail, so the check is not vacuous.
//!
//! Renderers: `INTEL_DOT` (default `dot`), `INTEL_MMDC` (default `mmdc`), `INTEL_CHROMIUM`
//! (default `/usr/bin/chromium`). A missing one skips its test loudly, or fails it when
//! `INTEL_REQUIRE_RENDERERS=1` (CI sets it). Mermaid charts are rendered in one `mmdc`
//! process (a Markdown file with one chart per case, ~2 s) plus one direct `.mmd` render.

mod common;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

use kubectl_intel::analysis::graph::{self, NodeState};
use kubectl_intel::engine::{Evidence, MapEdge, MapNode, ObjectRef, Relations, ServiceMap};

const SCENARIOS: &[&str] = &[
    "hidden-coupling-payment-inventory",
    "memory-limits-removed",
    "coredns-down-dns-errors",
    "healthy-baseline",
];

struct Case {
    name: String,
    map: ServiceMap,
    states: BTreeMap<ObjectRef, NodeState>,
    mermaid: String,
    dot: String,
}

impl Case {
    fn new(name: &str, map: ServiceMap, states: BTreeMap<ObjectRef, NodeState>) -> Case {
        let mermaid = graph::mermaid(&map, &states);
        let dot = graph::dot(&map, &states);
        Case {
            name: name.to_string(),
            map,
            states,
            mermaid,
            dot,
        }
    }

    /// Every ref the diagrams draw, in id order: the map's nodes, then the edge endpoints
    /// and selected workloads it has no node for, sorted.
    fn drawn(&self) -> Vec<&ObjectRef> {
        let mut out: Vec<&ObjectRef> = self.map.nodes.iter().map(|n| &n.id).collect();
        let known: BTreeSet<&ObjectRef> = out.iter().copied().collect();
        let extra: BTreeSet<&ObjectRef> = self
            .map
            .edges
            .iter()
            .flat_map(|e| [&e.from, &e.to])
            .chain(self.map.nodes.iter().filter_map(|n| n.service_for.as_ref()))
            .filter(|r| !known.contains(r))
            .collect();
        out.extend(extra);
        out
    }

    /// Map edges plus one `selects` edge per Service with a workload.
    fn edge_count(&self) -> usize {
        self.map.edges.len()
            + self
                .map
                .nodes
                .iter()
                .filter(|n| n.kind == "Service" && n.service_for.is_some())
                .count()
    }

    /// The generated id of a ref.
    fn id(&self, r: &ObjectRef) -> String {
        let i = self.drawn().iter().position(|d| *d == r).unwrap();
        format!("n{i}")
    }
}

fn r(kind: &str, ns: &str, name: &str) -> ObjectRef {
    ObjectRef::new(kind, ns, name)
}

fn library() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/scenarios")
}

/// A library scenario's map, with the states its ground truth implies: the root cause,
/// the chain after it degraded, the chain's end down, and whatever depends on the root
/// cause (and is not on the chain) at risk.
fn scenario_case(name: &str) -> Case {
    let (snap, _) = common::scenario_snapshot(name);
    let rel = Relations::build(&snap);
    let map = rel.service_map().clone();

    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(library().join(name).join("expected.json")).unwrap(),
    )
    .unwrap();
    let to_ref = |v: &serde_json::Value| {
        r(
            v["kind"].as_str().unwrap(),
            v["namespace"].as_str().unwrap(),
            v["name"].as_str().unwrap(),
        )
    };
    let mut states = BTreeMap::new();
    if let Some(root) = expected.get("rootCause").filter(|v| !v.is_null()) {
        let root = to_ref(root);
        for d in map.dependents_of(&root) {
            states.insert(d.clone(), NodeState::AtRisk);
        }
        let chain: Vec<ObjectRef> = expected["chain"]
            .as_array()
            .map(|c| c.iter().map(to_ref).collect())
            .unwrap_or_default();
        for (i, c) in chain.iter().enumerate().skip(1) {
            let s = if i + 1 == chain.len() {
                NodeState::Down
            } else {
                NodeState::Degraded
            };
            states.insert(c.clone(), s);
        }
        states.insert(root, NodeState::Root);
    }
    Case::new(name, map, states)
}

fn ev(source: &str, object: &ObjectRef) -> Evidence {
    Evidence {
        source: source.into(),
        object: object.clone(),
        field: "spec.template.spec.containers[app].env[X]".into(),
        text: "x".into(),
    }
}

/// Names of external hosts come from config values; here every name is hostile.
const HOSTILE: &[&str] = &[
    "say \"hi\"",
    "[brackets]",
    "{braces}",
    "a;b; c",
    "x-->y",
    "n0\"]; n1-->n2[\"",
    "line\nbreak\r\nand\ttab",
    "ünïcødé ☃ 😀 日本語",
    "end",
    "subgraph",
    "%%{init: {\"theme\": \"dark\"}}%%",
    "%% comment",
    "<script>alert(1)</script>",
    "#quot; &amp; &lt; #35;",
    "trailing\\",
    "\\N \\G \\n",
    "style n0 fill:#f00;",
    "classDef x fill:#f00",
    "click n0 call alert()",
    "`markdown **bold**`",
    "(paren) ((double)) |pipe|",
    "right\u{202E}to-left",
    "non\u{FFFF}char",
    "",
];

/// A hand-built map whose every name is hostile: workloads, a Service, an Ingress and
/// external hosts in hostile namespaces, hostile evidence sources, an edge to a node the
/// map does not have.
fn hostile_case() -> Case {
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    let mut states = BTreeMap::new();
    let ns_a = "ns \"quoted\" {x} [y];";
    let ns_b = "ünï-ns\n%%";
    let front = r("Deployment", ns_a, "front\"end");
    nodes.push(MapNode {
        id: front.clone(),
        kind: "Workload".into(),
        service_for: None,
    });
    let back = r("StatefulSet", ns_b, "back<end>");
    nodes.push(MapNode {
        id: back.clone(),
        kind: "Workload".into(),
        service_for: None,
    });
    let svc = r("Service", ns_b, "svc]-->x");
    nodes.push(MapNode {
        id: svc.clone(),
        kind: "Service".into(),
        service_for: Some(back.clone()),
    });
    let ing = r("Ingress", ns_a, "in{gress}");
    nodes.push(MapNode {
        id: ing.clone(),
        kind: "Ingress".into(),
        service_for: None,
    });
    edges.push(MapEdge {
        from: ing.clone(),
        to: svc.clone(),
        evidence: vec![ev("ingress", &ing)],
    });
    edges.push(MapEdge {
        from: front.clone(),
        to: svc.clone(),
        evidence: vec![ev("env", &front), ev("log\"|-->x", &front)],
    });
    edges.push(MapEdge {
        from: front.clone(),
        to: r("Service", ns_a, "not-in-map;{"),
        evidence: vec![ev("annotation", &front)],
    });
    for (i, name) in HOSTILE.iter().enumerate() {
        let host = ObjectRef::external(*name);
        nodes.push(MapNode {
            id: host.clone(),
            kind: "External".into(),
            service_for: None,
        });
        let from = if i % 2 == 0 { &front } else { &back };
        edges.push(MapEdge {
            from: from.clone(),
            to: host.clone(),
            evidence: vec![ev("configmap", from), ev(name, from)],
        });
        let s = [
            NodeState::Down,
            NodeState::Degraded,
            NodeState::AtRisk,
            NodeState::Root,
        ][i % 4];
        states.insert(host, s);
    }
    states.insert(front.clone(), NodeState::Root);
    nodes.sort();
    nodes.dedup_by(|a, b| a.id == b.id);
    edges.sort();
    edges.dedup_by(|a, b| a.from == b.from && a.to == b.to);
    Case::new(
        "hostile",
        ServiceMap {
            nodes,
            edges,
            ..Default::default()
        },
        states,
    )
}

fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        let t = Instant::now();
        let mut out: Vec<Case> = SCENARIOS.iter().map(|s| scenario_case(s)).collect();
        let fixture = Relations::build(&kubectl_intel::fixture::snapshot());
        let map = fixture.service_map().clone();
        let states = BTreeMap::from([
            (r("StatefulSet", "shop", "postgres"), NodeState::Root),
            (r("Deployment", "shop", "checkout"), NodeState::Degraded),
            (r("Ingress", "shop", "shop"), NodeState::AtRisk),
        ]);
        out.push(Case::new("fixture", map, states));
        out.push(Case::new(
            "empty",
            ServiceMap::default(),
            BTreeMap::from([(r("Deployment", "x", "absent"), NodeState::Down)]),
        ));
        out.push(hostile_case());
        eprintln!("diagrams: {} cases built in {:?}", out.len(), t.elapsed());
        out
    })
}

fn out_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("diagrams")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A renderer from `var` (or `default` on PATH) if `probe` runs; otherwise None after a
/// loud skip message, or a panic when `INTEL_REQUIRE_RENDERERS=1`.
fn renderer(var: &str, default: &str, probe: &[&str]) -> Option<PathBuf> {
    let bin = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    let why = match Command::new(&bin).args(probe).output() {
        Ok(o) if o.status.success() => return Some(bin),
        Ok(o) => format!(
            "`{} {}` exited with {}: {}",
            bin.display(),
            probe.join(" "),
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => format!("cannot run `{}`: {e}", bin.display()),
    };
    missing(var, &why)
}

fn missing<T>(var: &str, why: &str) -> Option<T> {
    if std::env::var("INTEL_REQUIRE_RENDERERS").as_deref() == Ok("1") {
        panic!("INTEL_REQUIRE_RENDERERS=1 but the renderer is missing ({var}): {why}");
    }
    common::skipped(&format!(
        "the diagram renderers (tests/diagrams.rs): not available ({var}): {why}\n\
         scripts/test.sh installs them, or set {var}; INTEL_REQUIRE_RENDERERS=1 fails instead."
    ));
    None
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn stderr(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn read_svg(path: &Path, what: &str) -> String {
    let svg = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{what}: no SVG at {}: {e}", path.display()));
    assert!(
        svg.contains("<svg") && svg.len() > 200,
        "{what}: not an SVG: {svg:.300}"
    );
    svg
}

#[test]
fn renderings_are_deterministic_and_draw_the_whole_map() {
    for c in cases() {
        assert_eq!(graph::mermaid(&c.map, &c.states), c.mermaid, "{}", c.name);
        assert_eq!(graph::dot(&c.map, &c.states), c.dot, "{}", c.name);
        let drawn = c.drawn();
        for (i, _) in drawn.iter().enumerate() {
            let declared = c.mermaid.lines().any(|l| {
                l.trim_start()
                    .strip_prefix(&format!("n{i}"))
                    .is_some_and(|rest| rest.starts_with(['[', '(', '{']))
            });
            assert!(declared, "{}: n{i} not declared", c.name);
            assert!(
                c.dot.contains(&format!(" n{i} [label=")),
                "{}: n{i}",
                c.name
            );
        }
        assert!(!c.dot.contains(&format!(" n{} [", drawn.len())));
        assert_eq!(
            c.mermaid.matches("-->|").count() + c.mermaid.matches("-.->|").count(),
            c.edge_count(),
            "{}",
            c.name
        );
        assert_eq!(c.dot.matches(" -> ").count(), c.edge_count(), "{}", c.name);
    }
    let by_name = |n: &str| cases().iter().find(|c| c.name == n).unwrap();
    // The hidden coupling is on the map: catalog → inventory, labelled with its evidence.
    let c = by_name("hidden-coupling-payment-inventory");
    let catalog = r("Deployment", "shop", "catalog");
    let inv_svc = c
        .map
        .edges_from(&catalog)
        .iter()
        .find(|e| {
            c.map.node(&e.to).and_then(|n| n.service_for.as_ref())
                == Some(&r("Deployment", "shop", "inventory"))
        })
        .expect("catalog calls inventory's Service")
        .to
        .clone();
    let line = format!("  {} -->|", c.id(&catalog));
    let edge = c
        .mermaid
        .lines()
        .find(|l| l.starts_with(&line) && l.ends_with(&format!("| {}", c.id(&inv_svc))))
        .expect("the catalog → inventory edge");
    assert!(edge.contains("env"), "{edge}");
    assert!(c.mermaid.contains(&format!(
        "class {} rootCause",
        c.id(&r("Deployment", "shop", "inventory"))
    )));
    // Raw names never appear as ids.
    let hostile = by_name("hostile");
    for l in hostile.mermaid.lines() {
        let t = l.trim_start();
        assert!(
            t.starts_with('n')
                || t.starts_with("subgraph g")
                || t == "end"
                || t.starts_with("class")
                || t == "flowchart LR",
            "unexpected line {l:?}"
        );
    }
}

#[test]
fn graphviz_parses_every_rendering() {
    let Some(dot) = renderer("INTEL_DOT", "dot", &["-V"]) else {
        return;
    };
    let t = Instant::now();
    let dir = out_dir("dot");
    for c in cases() {
        let input = dir.join(format!("{}.dot", c.name));
        let output = dir.join(format!("{}.svg", c.name));
        std::fs::write(&input, &c.dot).unwrap();
        let o = run(Command::new(&dot)
            .arg("-Tsvg")
            .arg(&input)
            .arg("-o")
            .arg(&output));
        assert!(
            o.status.success(),
            "dot rejected {} ({}): {}",
            c.name,
            input.display(),
            stderr(&o)
        );
        let svg = read_svg(&output, &c.name);
        assert_eq!(
            svg.matches("class=\"node\"").count(),
            c.drawn().len(),
            "{}: nodes",
            c.name
        );
        assert_eq!(
            svg.matches("class=\"edge\"").count(),
            c.edge_count(),
            "{}: edges",
            c.name
        );
        let drawn: BTreeSet<&ObjectRef> = c.drawn().into_iter().collect();
        // States of refs the map does not have (a ConfigMap root cause) are not drawn.
        for (_, s) in c.states.iter().filter(|(o, _)| drawn.contains(o)) {
            let fill = match s {
                NodeState::Root => "#f1948a",
                NodeState::Down => "#f5b7b1",
                NodeState::Degraded => "#fad7a0",
                NodeState::AtRisk => "#fcf3cf",
            };
            if c.name != "empty" {
                assert!(
                    svg.contains(&format!("fill=\"{fill}\"")),
                    "{}: {s:?} not drawn",
                    c.name
                );
            }
        }
        if c.name == "hostile" {
            // Names come out as text, XML-escaped by Graphviz.
            for text in [
                "say &quot;hi&quot;",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
                "#quot; &amp;amp; &amp;lt; #35;",
                "trailing\\",
                "\\N \\G \\n",
                "line break &#160;and tab",
                "ünïcødé ☃ 😀 日本語",
                "%%{init: {&quot;theme&quot;: &quot;dark&quot;}}%%",
                "right\u{FFFD}to&#45;left",
            ] {
                assert!(svg.contains(text), "hostile: {text:?} not in the SVG");
            }
        }
    }
    // The check is not vacuous: the same name unescaped is a syntax error.
    let naive = dir.join("naive.dot");
    std::fs::write(&naive, "digraph g { n0 [label=\"say \"hi\"\"]; }\n").unwrap();
    let o = run(Command::new(&dot)
        .arg("-Tsvg")
        .arg(&naive)
        .arg("-o")
        .arg(dir.join("naive.svg")));
    assert!(!o.status.success(), "dot accepted an unescaped quote");
    eprintln!(
        "diagrams: dot rendered {} files in {:?}",
        cases().len(),
        t.elapsed()
    );
}

#[test]
fn mermaid_parses_every_rendering() {
    let chromium = std::env::var_os("INTEL_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.exists() {
        missing::<()>(
            "INTEL_CHROMIUM",
            &format!("{} does not exist", chromium.display()),
        );
        return;
    }
    let Some(mmdc) = renderer("INTEL_MMDC", "mmdc", &["--version"]) else {
        return;
    };
    let t = Instant::now();
    let dir = out_dir("mermaid");
    let puppeteer = dir.join("puppeteer.json");
    std::fs::write(
        &puppeteer,
        serde_json::json!({
            "executablePath": chromium,
            "args": ["--no-sandbox", "--disable-gpu"],
        })
        .to_string(),
    )
    .unwrap();
    let mmdc_run = |input: &Path, output: &Path| {
        run(Command::new(&mmdc)
            .arg("-q")
            .arg("-p")
            .arg(&puppeteer)
            .arg("-i")
            .arg(input)
            .arg("-o")
            .arg(output))
    };

    // Every case in one process: a Markdown file with one chart each, rendered to
    // charts-1.svg, charts-2.svg, … in order (a failing chart stops the run: the first
    // missing SVG names it).
    let mut md = String::new();
    for c in cases() {
        std::fs::write(dir.join(format!("{}.mmd", c.name)), &c.mermaid).unwrap();
        md.push_str(&format!("```mermaid\n{}```\n\n", c.mermaid));
    }
    std::fs::write(dir.join("all.md"), &md).unwrap();
    let o = mmdc_run(&dir.join("all.md"), &dir.join("charts.md"));
    let svg_of = |i: usize| dir.join(format!("charts-{}.svg", i + 1));
    if !o.status.success() {
        let first = (0..cases().len())
            .find(|i| !svg_of(*i).exists())
            .unwrap_or(0);
        panic!(
            "mmdc rejected {} ({}): {}",
            cases()[first].name,
            dir.join(format!("{}.mmd", cases()[first].name)).display(),
            stderr(&o)
        );
    }
    for (i, c) in cases().iter().enumerate() {
        let svg = read_svg(&svg_of(i), &c.name);
        for (k, _) in c.drawn().iter().enumerate() {
            assert!(
                svg.contains(&format!("flowchart-n{k}-")),
                "{}: n{k} not drawn",
                c.name
            );
        }
        assert_eq!(
            svg.matches("data-edge=\"true\"").count(),
            c.edge_count(),
            "{}: edges",
            c.name
        );
        for (obj, s) in &c.states {
            let Some(k) = c.drawn().iter().position(|d| *d == obj) else {
                continue;
            };
            let class = match s {
                NodeState::Root => "rootCause",
                NodeState::Down => "down",
                NodeState::Degraded => "degraded",
                NodeState::AtRisk => "atRisk",
            };
            let node = svg
                .split("<g class=\"node ")
                .find(|g| g.contains(&format!("flowchart-n{k}-")))
                .unwrap_or_else(|| panic!("{}: n{k}", c.name));
            let classes = node.split('"').next().unwrap();
            assert!(
                classes.split(' ').any(|x| x == class),
                "{}: n{k} is {classes:?}, not {class}",
                c.name
            );
        }
    }

    // The hostile map rendered directly from its .mmd, as a user would; its names come
    // out as text.
    let hostile = dir.join("hostile.mmd");
    let o = mmdc_run(&hostile, &dir.join("hostile.svg"));
    assert!(
        o.status.success(),
        "mmdc rejected {}: {}",
        hostile.display(),
        stderr(&o)
    );
    let svg = read_svg(&dir.join("hostile.svg"), "hostile");
    for text in [
        "ünïcødé ☃ 😀 日本語",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "x--&gt;y",
        "{braces}",
        "[brackets]",
        "a;b; c",
        "trailing\\\u{2060}",
        "\\\u{2060}N \\\u{2060}G \\\u{2060}n<br",
        "#quot; &amp;amp; &amp;lt; #35;",
    ] {
        assert!(svg.contains(text), "hostile: {text:?} not in the SVG");
    }
    assert!(!svg.contains("<script>"), "a name became markup");

    // The check is not vacuous: the same name unescaped is a parse error.
    let naive = dir.join("naive.mmd");
    std::fs::write(&naive, "flowchart LR\n  n0[\"say \"hi\"<br>External\"]\n").unwrap();
    let o = mmdc_run(&naive, &dir.join("naive.svg"));
    assert!(!o.status.success(), "mmdc accepted an unescaped quote");
    assert!(stderr(&o).contains("Parse error"), "{}", stderr(&o));
    eprintln!(
        "diagrams: mmdc rendered {} charts in {:?}",
        cases().len() + 2,
        t.elapsed()
    );
}
