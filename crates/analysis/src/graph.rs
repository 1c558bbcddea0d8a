//! The service map as a diagram: Mermaid (`flowchart`) and Graphviz DOT, from the same
//! [`ServiceMap`], optionally highlighting the nodes an analysis found failing.
//!
//! Both renderings draw the map as it is: every node (workloads as boxes, Services as
//! stadiums / ellipses, Ingresses and Gateway routes as hexagons, external hosts as
//! parallelograms), every edge labelled with the sources of its evidence (`env, log`), and a
//! dashed `selects` edge from each Service to the workload it selects
//! ([`MapNode::service_for`]). Nodes are grouped by namespace (Mermaid subgraphs, DOT
//! clusters); external hosts sit in their own "outside the cluster" group, other nodes
//! without a namespace at the top level.
//!
//! Names are data, never syntax. Node ids are generated (`n0`, `n1`, … in the map's sorted
//! node order, then any edge endpoint the map has no node for, sorted); group ids too
//! (`g0`, `cluster_0`). Every label goes through one escaper per language:
//!
//! - Mermaid: labels are always quoted; only `[A-Za-z0-9 ._/,-]` is written as is, `"` as
//!   `#quot;` and every other character as a numeric entity (`#35;` for `#`, `#233;` for
//!   `é`), so nothing in a name can close a string, start a comment or directive (`%%`),
//!   form an entity, a colon-style or an HTML tag; a backslash is followed by a word
//!   joiner (U+2060) so that a literal `\n` stays text.
//! - DOT: labels are quoted strings with `\` and `"` escaped, and `&` written as `&amp;`
//!   (Graphviz decodes HTML entities in labels).
//!
//! In both, control characters (newlines included) become spaces and bidirectional
//! overrides and Unicode noncharacters become U+FFFD: a hostile host name cannot fake a
//! line or reorder the text around it. Output is deterministic: everything is emitted in
//! sorted order from ordered maps.
//!
//! Size: both are linear in the map. Mermaid's renderer has default limits
//! (`maxTextSize` 50,000 characters, `maxEdges` 500), a few hundred nodes of this map; a
//! caller drawing a large cluster filters the map first (a namespace, the neighbourhood
//! of a failing node) or uses DOT.
//!
//! Must never: do I/O, use a raw name as an identifier, iterate a hash map into output.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use intel_engine::ObjectRef;
use intel_engine::relations::EXTERNAL;
use intel_engine::servicemap::{INGRESS, SERVICE, ServiceMap};

/// How an analysis judged a node: the diagrams colour it. Nodes without a state are drawn
/// as normal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeState {
    /// Not serving at all (no ready pods, crash-looping, unreachable).
    Down,
    /// Serving badly (errors, latency, throttling).
    Degraded,
    /// Serving now, but would fail next (depends on what is down, single point of failure).
    AtRisk,
    /// The root cause.
    Root,
}

impl NodeState {
    const ALL: [NodeState; 4] = [
        NodeState::Root,
        NodeState::Down,
        NodeState::Degraded,
        NodeState::AtRisk,
    ];

    /// The Mermaid class name.
    fn class(self) -> &'static str {
        match self {
            NodeState::Down => "down",
            NodeState::Degraded => "degraded",
            NodeState::AtRisk => "atRisk",
            NodeState::Root => "rootCause",
        }
    }

    /// (fill, stroke, stroke width, dashed).
    fn colours(self) -> (&'static str, &'static str, u8, bool) {
        match self {
            NodeState::Root => ("#f1948a", "#922b21", 3, false),
            NodeState::Down => ("#f5b7b1", "#c0392b", 2, false),
            NodeState::Degraded => ("#fad7a0", "#d35400", 2, false),
            NodeState::AtRisk => ("#fcf3cf", "#b7950b", 2, true),
        }
    }
}

/// What a node is drawn as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Workload,
    Service,
    Ingress,
    External,
}

impl Shape {
    fn of(kind: &str) -> Shape {
        match kind {
            SERVICE => Shape::Service,
            INGRESS => Shape::Ingress,
            EXTERNAL => Shape::External,
            _ => Shape::Workload,
        }
    }
}

/// One node to draw.
struct Node<'a> {
    id: String,
    obj: &'a ObjectRef,
    shape: Shape,
    state: Option<NodeState>,
}

/// Where nodes are drawn.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Group<'a> {
    Namespace(&'a str),
    External,
    Top,
}

/// The map laid out for drawing: generated ids, groups, edges with their labels.
struct Layout<'a> {
    nodes: Vec<Node<'a>>,
    /// Group → indexes into `nodes`, in node order.
    groups: BTreeMap<Group<'a>, Vec<usize>>,
    /// (from, to, label) in the map's edge order.
    edges: Vec<(usize, usize, String)>,
    /// Service → the workload it selects, in node order.
    selects: Vec<(usize, usize)>,
}

impl<'a> Layout<'a> {
    fn new(map: &'a ServiceMap, states: &BTreeMap<ObjectRef, NodeState>) -> Self {
        let mut refs: Vec<(&'a ObjectRef, Shape)> = map
            .nodes
            .iter()
            .map(|n| (&n.id, Shape::of(&n.kind)))
            .collect();
        let known: BTreeSet<&ObjectRef> = map.nodes.iter().map(|n| &n.id).collect();
        // Endpoints without a node (a hand-built map): drawn too, after the map's nodes.
        let missing: BTreeSet<&'a ObjectRef> = map
            .edges
            .iter()
            .flat_map(|e| [&e.from, &e.to])
            .chain(map.nodes.iter().filter_map(|n| n.service_for.as_ref()))
            .filter(|r| !known.contains(r))
            .collect();
        refs.extend(missing.into_iter().map(|r| (r, Shape::of(&r.kind))));

        let mut nodes = Vec::with_capacity(refs.len());
        let mut ids = BTreeMap::new();
        let mut groups: BTreeMap<Group, Vec<usize>> = BTreeMap::new();
        for (obj, shape) in refs {
            if ids.contains_key(obj) {
                continue; // a map with a duplicate node: draw it once
            }
            let i = nodes.len();
            ids.insert(obj, i);
            let group = if shape == Shape::External {
                Group::External
            } else if obj.namespace.is_empty() {
                Group::Top
            } else {
                Group::Namespace(&obj.namespace)
            };
            groups.entry(group).or_default().push(i);
            nodes.push(Node {
                id: format!("n{i}"),
                obj,
                shape,
                state: states.get(obj).copied(),
            });
        }

        let edges = map
            .edges
            .iter()
            .map(|e| {
                let sources: BTreeSet<&str> =
                    e.evidence.iter().map(|x| x.source.as_str()).collect();
                let label = sources.into_iter().collect::<Vec<_>>().join(", ");
                (ids[&e.from], ids[&e.to], label)
            })
            .collect();
        let selects = map
            .nodes
            .iter()
            .filter(|n| n.kind == SERVICE)
            .filter_map(|n| Some((ids[&n.id], ids[n.service_for.as_ref()?])))
            .collect();
        Layout {
            nodes,
            groups,
            edges,
            selects,
        }
    }

    /// The nodes of each state, in node order.
    fn by_state(&self) -> BTreeMap<NodeState, Vec<&Node<'a>>> {
        let mut out: BTreeMap<NodeState, Vec<&Node>> = BTreeMap::new();
        for n in &self.nodes {
            if let Some(s) = n.state {
                out.entry(s).or_default().push(n);
            }
        }
        out
    }
}

/// The group's title.
fn group_title(g: &Group) -> String {
    match g {
        Group::Namespace(ns) => format!("namespace {ns}"),
        Group::External => "outside the cluster".to_string(),
        Group::Top => String::new(),
    }
}

/// A character as it may appear in a label: control characters (newlines included) and
/// line/paragraph separators become a space; bidirectional overrides and isolates and
/// Unicode noncharacters (invalid in the SVG's XML) become U+FFFD.
fn clean(c: char) -> char {
    match c {
        c if c.is_control() => ' ',
        '\u{2028}' | '\u{2029}' => ' ',
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' => '\u{FFFD}',
        '\u{FDD0}'..='\u{FDEF}' => '\u{FFFD}',
        c if (c as u32) & 0xFFFE == 0xFFFE => '\u{FFFD}',
        c => c,
    }
}

/// Text for inside a quoted Mermaid label (the quotes are not included).
pub(crate) fn mermaid_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars().map(clean) {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | ' ' | '.' | '_' | '/' | ',' | '-' => o.push(c),
            '"' => o.push_str("#quot;"),
            // A word joiner after a backslash: Mermaid turns a literal `\n` into a line
            // break in labels that have one.
            '\\' => o.push_str("#92;#8288;"),
            c => {
                let _ = write!(o, "#{};", c as u32);
            }
        }
    }
    o
}

/// Text for inside a quoted DOT string (the quotes are not included).
pub(crate) fn dot_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars().map(clean) {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '&' => o.push_str("&amp;"),
            c => o.push(c),
        }
    }
    o
}

/// The Mermaid flowchart of a service map. `states` highlights nodes (by class); refs not
/// in the map are ignored.
pub fn mermaid(map: &ServiceMap, states: &BTreeMap<ObjectRef, NodeState>) -> String {
    let l = Layout::new(map, states);
    let mut o = String::from("flowchart LR\n");
    let node = |o: &mut String, n: &Node, indent: &str| {
        let name = mermaid_escape(&n.obj.name);
        let kind = mermaid_escape(&n.obj.kind);
        let label = format!("\"{name}<br>{kind}\"");
        let (open, close) = match n.shape {
            Shape::Workload => ("[", "]"),
            Shape::Service => ("([", "])"),
            Shape::Ingress => ("{{", "}}"),
            Shape::External => ("[/", "/]"),
        };
        let _ = writeln!(o, "{indent}{}{open}{label}{close}", n.id);
    };
    for (gi, (g, members)) in l.groups.iter().enumerate() {
        if *g == Group::Top {
            for &i in members {
                node(&mut o, &l.nodes[i], "  ");
            }
            continue;
        }
        let _ = writeln!(
            o,
            "  subgraph g{gi}[\"{}\"]",
            mermaid_escape(&group_title(g))
        );
        for &i in members {
            node(&mut o, &l.nodes[i], "    ");
        }
        o.push_str("  end\n");
    }
    for (from, to, label) in &l.edges {
        let _ = writeln!(
            o,
            "  {} -->|\"{}\"| {}",
            l.nodes[*from].id,
            mermaid_escape(label),
            l.nodes[*to].id
        );
    }
    for (svc, w) in &l.selects {
        let _ = writeln!(
            o,
            "  {} -.->|\"selects\"| {}",
            l.nodes[*svc].id, l.nodes[*w].id
        );
    }
    let by_state = l.by_state();
    for s in NodeState::ALL {
        let Some(members) = by_state.get(&s) else {
            continue;
        };
        let (fill, stroke, width, dashed) = s.colours();
        let dash = if dashed { ",stroke-dasharray:5 3" } else { "" };
        // No trailing `;`: Mermaid would read `#…;` as an entity.
        let _ = writeln!(
            o,
            "  classDef {} fill:{fill},stroke:{stroke},stroke-width:{width}px{dash}",
            s.class()
        );
        let ids: Vec<&str> = members.iter().map(|n| n.id.as_str()).collect();
        let _ = writeln!(o, "  class {} {}", ids.join(","), s.class());
    }
    o
}

/// The Graphviz DOT digraph of a service map. `states` highlights nodes (fill colour and
/// border); refs not in the map are ignored.
pub fn dot(map: &ServiceMap, states: &BTreeMap<ObjectRef, NodeState>) -> String {
    let l = Layout::new(map, states);
    let mut o = String::from("digraph servicemap {\n");
    o.push_str("  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=11];\n");
    o.push_str(
        "  node [fontname=\"Helvetica\", fontsize=10, style=filled, fillcolor=\"#ffffff\"];\n",
    );
    o.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
    let node = |o: &mut String, n: &Node, indent: &str| {
        let label = format!("{}\\n{}", dot_escape(&n.obj.name), dot_escape(&n.obj.kind));
        let (shape, mut style) = match n.shape {
            Shape::Workload => ("box", vec!["rounded", "filled"]),
            Shape::Service => ("ellipse", vec!["filled"]),
            Shape::Ingress => ("hexagon", vec!["filled"]),
            Shape::External => ("parallelogram", vec!["filled"]),
        };
        let mut attrs = format!("label=\"{label}\", shape={shape}");
        if let Some(s) = n.state {
            let (fill, stroke, width, dashed) = s.colours();
            if dashed {
                style.push("dashed");
            }
            let _ = write!(
                attrs,
                ", fillcolor=\"{fill}\", color=\"{stroke}\", penwidth={width}"
            );
        }
        let _ = writeln!(
            o,
            "{indent}{} [{attrs}, style=\"{}\"];",
            n.id,
            style.join(",")
        );
    };
    for (gi, (g, members)) in l.groups.iter().enumerate() {
        if *g == Group::Top {
            for &i in members {
                node(&mut o, &l.nodes[i], "  ");
            }
            continue;
        }
        let style = if *g == Group::External {
            "dashed"
        } else {
            "rounded"
        };
        let _ = writeln!(o, "  subgraph cluster_{gi} {{");
        let _ = writeln!(
            o,
            "    label=\"{}\"; style=\"{style}\"; color=\"#888888\";",
            dot_escape(&group_title(g))
        );
        for &i in members {
            node(&mut o, &l.nodes[i], "    ");
        }
        o.push_str("  }\n");
    }
    for (from, to, label) in &l.edges {
        let _ = writeln!(
            o,
            "  {} -> {} [label=\"{}\"];",
            l.nodes[*from].id,
            l.nodes[*to].id,
            dot_escape(label)
        );
    }
    for (svc, w) in &l.selects {
        let _ = writeln!(
            o,
            "  {} -> {} [label=\"selects\", style=dashed, arrowhead=empty, color=\"#888888\"];",
            l.nodes[*svc].id, l.nodes[*w].id
        );
    }
    o.push_str("}\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use intel_engine::servicemap::WORKLOAD;
    use intel_engine::{Evidence, MapEdge, MapNode};

    fn r(kind: &str, ns: &str, name: &str) -> ObjectRef {
        ObjectRef::new(kind, ns, name)
    }

    fn ev(source: &str) -> Evidence {
        Evidence {
            source: source.into(),
            object: r("Deployment", "shop", "web"),
            field: "f".into(),
            text: "t".into(),
        }
    }

    fn small() -> ServiceMap {
        let web = r("Deployment", "shop", "web");
        let api = r("Deployment", "shop", "api");
        let svc = r("Service", "shop", "api");
        let ing = r("Ingress", "shop", "edge");
        let ext = ObjectRef::external("api.example.com");
        let mut nodes = vec![
            MapNode {
                id: web.clone(),
                kind: WORKLOAD.into(),
                service_for: None,
            },
            MapNode {
                id: api.clone(),
                kind: WORKLOAD.into(),
                service_for: None,
            },
            MapNode {
                id: svc.clone(),
                kind: SERVICE.into(),
                service_for: Some(api.clone()),
            },
            MapNode {
                id: ing.clone(),
                kind: INGRESS.into(),
                service_for: None,
            },
            MapNode {
                id: ext.clone(),
                kind: EXTERNAL.into(),
                service_for: None,
            },
        ];
        nodes.sort();
        let mut edges = vec![
            MapEdge {
                from: web.clone(),
                to: svc.clone(),
                evidence: vec![ev("env"), ev("log"), ev("log")],
            },
            MapEdge {
                from: api.clone(),
                to: ext,
                evidence: vec![ev("configmap")],
            },
            MapEdge {
                from: ing,
                to: svc,
                evidence: vec![ev("ingress")],
            },
        ];
        edges.sort();
        ServiceMap {
            nodes,
            edges,
            unresolved: Vec::new(),
        }
    }

    #[test]
    fn mermaid_escape_neutralises_syntax() {
        assert_eq!(mermaid_escape("checkout-v2.shop"), "checkout-v2.shop");
        assert_eq!(mermaid_escape("a\"b"), "a#quot;b");
        assert_eq!(mermaid_escape("#quot;"), "#35;quot#59;");
        assert_eq!(mermaid_escape("x]-->y"), "x#93;--#62;y");
        assert_eq!(
            mermaid_escape("%%{init}%%"),
            "#37;#37;#123;init#125;#37;#37;"
        );
        assert_eq!(mermaid_escape("<b>&"), "#60;b#62;#38;");
        assert_eq!(mermaid_escape("é"), "#233;");
        assert_eq!(mermaid_escape("a\nb\r\tc"), "a b  c");
        assert_eq!(mermaid_escape("\u{202E}x\u{FFFF}"), "#65533;x#65533;");
        assert_eq!(mermaid_escape("`md`"), "#96;md#96;");
        assert_eq!(mermaid_escape("a\\nb"), "a#92;#8288;nb");
        for hostile in ["\"]; end; n0-->n1 %%", "a:b;c", "style x fill:#f00;"] {
            let e = mermaid_escape(hostile);
            assert!(!e.contains('"') && !e.contains(':') && !e.contains(']'));
            assert!(!e.contains('%') && !e.contains('>') && !e.contains('\n'));
        }
    }

    #[test]
    fn dot_escape_neutralises_syntax() {
        assert_eq!(dot_escape("plain name"), "plain name");
        assert_eq!(dot_escape("a\"b"), "a\\\"b");
        assert_eq!(dot_escape("trailing\\"), "trailing\\\\");
        assert_eq!(dot_escape("\\N \\n"), "\\\\N \\\\n");
        assert_eq!(dot_escape("&lt;"), "&amp;lt;");
        assert_eq!(dot_escape("line\nbreak"), "line break");
        assert_eq!(dot_escape("ünï{}[];<>"), "ünï{}[];<>");
        assert_eq!(dot_escape("\u{2066}x"), "\u{FFFD}x");
    }

    #[test]
    fn mermaid_draws_every_node_edge_group_and_state() {
        let map = small();
        let mut states = BTreeMap::new();
        states.insert(r("Deployment", "shop", "api"), NodeState::Root);
        states.insert(r("Deployment", "shop", "web"), NodeState::Degraded);
        states.insert(r("Deployment", "elsewhere", "ghost"), NodeState::Down);
        let m = mermaid(&map, &states);
        // Sorted node order: Deployment/shop/api, Deployment/shop/web, External/…,
        // Ingress/shop/edge, Service/shop/api.
        let want = "flowchart LR
  subgraph g0[\"namespace shop\"]
    n0[\"api<br>Deployment\"]
    n1[\"web<br>Deployment\"]
    n3{{\"edge<br>Ingress\"}}
    n4([\"api<br>Service\"])
  end
  subgraph g1[\"outside the cluster\"]
    n2[/\"api.example.com<br>External\"/]
  end
  n0 -->|\"configmap\"| n2
  n1 -->|\"env, log\"| n4
  n3 -->|\"ingress\"| n4
  n4 -.->|\"selects\"| n0
  classDef rootCause fill:#f1948a,stroke:#922b21,stroke-width:3px
  class n0 rootCause
  classDef degraded fill:#fad7a0,stroke:#d35400,stroke-width:2px
  class n1 degraded
";
        assert_eq!(m, want);
    }

    #[test]
    fn dot_draws_every_node_edge_cluster_and_state() {
        let map = small();
        let mut states = BTreeMap::new();
        states.insert(ObjectRef::external("api.example.com"), NodeState::AtRisk);
        let d = dot(&map, &states);
        assert!(d.starts_with("digraph servicemap {\n"));
        assert!(d.ends_with("}\n"));
        assert!(d.contains("  subgraph cluster_0 {\n    label=\"namespace shop\";"));
        assert!(d.contains("    n4 [label=\"api\\nService\", shape=ellipse, style=\"filled\"];"));
        assert!(d.contains(
            "    n2 [label=\"api.example.com\\nExternal\", shape=parallelogram, \
             fillcolor=\"#fcf3cf\", color=\"#b7950b\", penwidth=2, style=\"filled,dashed\"];"
        ));
        assert!(d.contains("  n1 -> n4 [label=\"env, log\"];"));
        assert!(d.contains("  n4 -> n0 [label=\"selects\""));
        assert_eq!(d.matches(" -> ").count(), 4);
    }

    #[test]
    fn ids_are_generated_and_output_deterministic() {
        let mut map = small();
        let evil = ObjectRef::external("n0\"];x-->y{}\n%%é");
        map.nodes.push(MapNode {
            id: evil.clone(),
            kind: EXTERNAL.into(),
            service_for: None,
        });
        map.nodes.sort();
        map.edges.push(MapEdge {
            from: r("Deployment", "shop", "web"),
            to: evil.clone(),
            evidence: vec![ev("env")],
        });
        // An endpoint the map has no node for is drawn too.
        map.edges.push(MapEdge {
            from: r("Deployment", "shop", "web"),
            to: r("Service", "other", "missing"),
            evidence: vec![ev("annotation")],
        });
        map.edges.sort();
        let states = BTreeMap::from([(evil, NodeState::Down)]);
        let m1 = mermaid(&map, &states);
        let d1 = dot(&map, &states);
        for _ in 0..3 {
            assert_eq!(mermaid(&map, &states), m1);
            assert_eq!(dot(&map, &states), d1);
        }
        assert!(m1.contains("n6([\"missing<br>Service\"])"), "{m1}");
        assert!(d1.contains("n6 [label=\"missing\\nService\", shape=ellipse"));
        assert!(
            m1.contains("subgraph g0[\"namespace other\"]"),
            "groups sorted by namespace"
        );
        // The hostile name appears only escaped, on its own line.
        assert!(
            m1.contains("n3[/\"n0#quot;#93;#59;x--#62;y#123;#125; #37;#37;#233;<br>External\"/]")
        );
        assert!(d1.contains("label=\"n0\\\"];x-->y{} %%é\\nExternal\""));
        assert_eq!(m1.lines().count(), m1.matches('\n').count());
        assert!(!m1.contains("é") && !d1.contains('\r'));
    }
}
