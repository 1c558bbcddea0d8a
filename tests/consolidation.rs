//! Consolidation (`intel_scheduler::consolidate`) against the exact optimum, and every plan
//! replayed move by move.
//!
//! The optimum is computed here independently of the engine: an exact branch and bound
//! over where every pod that may move goes (CPU, memory and pod count), counting the
//! nodes that could have been freed and are kept. On random clusters of up to 30 nodes the engine
//! must free within one node of it. The replay starts again from the snapshot's cluster
//! and, node by node in the engine's order, checks the drain against cluster-autoscaler's
//! rules and each move against the scheduler's filters (`simulate`), and then, outside the
//! engine, that no PDB gave more than it allowed, no pod sits on a taint it does not
//! tolerate, and no two pods with required anti-affinity share a node.

use std::collections::BTreeMap;

use kubectl_intel::scheduler::consolidate::{Consolidation, Settings, consolidate};
use kubectl_intel::scheduler::drain::{self, Budget, Outcome};
use kubectl_intel::scheduler::{Cluster, NodeInfo, PodInfo, simulate};
use serde_json::{Value, json};

/// xorshift64: the instances are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn node(name: &str, zone: &str, cpu: i64, gib: i64, taint: Option<&str>) -> NodeInfo {
    let mut n = json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
            "topology.kubernetes.io/zone": zone}},
        "status": {"allocatable": {"cpu": format!("{cpu}m"), "memory": format!("{gib}Gi"),
            "pods": "110"}}
    });
    if let Some(t) = taint {
        n["spec"] = json!({"taints": [{"key": t, "value": "true", "effect": "NoSchedule"}]});
    }
    NodeInfo::from_node(&serde_json::from_value(n).unwrap())
}

struct PodSpec<'a> {
    name: String,
    node: &'a str,
    app: &'a str,
    owner: &'a str,
    cpu: i64,
    mib: i64,
    extra: Value,
}

fn pod(p: PodSpec) -> PodInfo {
    let mut spec = json!({"nodeName": p.node, "containers": [{"name": "c", "image": "i",
        "resources": {"requests": {"cpu": format!("{}m", p.cpu), "memory": format!("{}Mi", p.mib)}}}]});
    if let Value::Object(extra) = p.extra {
        for (k, v) in extra {
            spec[k] = v;
        }
    }
    let owner = match p.owner {
        "" => json!([]),
        kind => json!([{"apiVersion": "apps/v1", "kind": kind, "name": p.app, "uid": "u",
            "controller": true}]),
    };
    PodInfo::from_pod(
        &serde_json::from_value(json!({
            "metadata": {"name": p.name, "namespace": "app", "labels": {"app": p.app},
                "ownerReferences": owner},
            "spec": spec,
            "status": {"phase": "Running"}
        }))
        .unwrap(),
    )
}

/// A random cluster: nodes of two sizes, 0–3 pods each of random size, now and then a
/// DaemonSet pod (stays) or an unowned pod (blocks the node).
fn random_cluster(seed: u64, nodes: usize) -> Cluster {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut c = Cluster::default();
    let names: Vec<String> = (0..nodes).map(|i| format!("n{i:02}")).collect();
    for (i, n) in names.iter().enumerate() {
        let (cpu, gib) = if i % 3 == 0 { (8000, 32) } else { (4000, 16) };
        c.add_node(node(n, "z", cpu, gib, None));
    }
    let mut k = 0;
    for (i, n) in names.iter().enumerate() {
        let cap = if i % 3 == 0 { 8000 } else { 4000 };
        let mut used = 0;
        for _ in 0..rng.below(4) {
            let cpu = 250 * (1 + rng.below(8) as i64);
            if used + cpu > cap {
                break;
            }
            used += cpu;
            let owner = match rng.below(20) {
                0 => "DaemonSet",
                1 => "",
                _ => "ReplicaSet",
            };
            k += 1;
            c.add_pod(pod(PodSpec {
                name: format!("p{k}"),
                node: n,
                app: "w",
                owner,
                cpu,
                mib: 512 * (1 + rng.below(6) as i64),
                extra: json!({}),
            }));
        }
    }
    c
}

/// The most nodes that can be freed, by exhaustive search (resources only: the random
/// clusters have no taints, affinity or budgets).
fn optimum(c: &Cluster) -> usize {
    struct Node {
        cap: [i64; 3],
        used: [i64; 3],
        movable: Vec<[i64; 3]>,
        eligible: bool,
    }
    let nodes: Vec<Node> = c
        .nodes
        .iter()
        .map(|n| {
            let plan = drain::plan(c, &n.name).unwrap();
            let mut used = [0; 3];
            let mut movable = Vec::new();
            for (&p, (_, o)) in n.pods.iter().zip(&plan.pods) {
                let r = &c.pods[p].requests;
                let v = [r.milli_cpu, r.memory, 1];
                for d in 0..3 {
                    used[d] += v[d];
                }
                if matches!(o, Outcome::Moves) {
                    movable.push(v);
                }
            }
            Node {
                cap: [
                    n.allocatable.milli_cpu,
                    n.allocatable.memory,
                    n.allowed_pods,
                ],
                used,
                movable,
                eligible: plan.drainable,
            }
        })
        .collect();

    /// The room a node has for pods that move: its capacity less the pods that stay.
    fn room(n: &Node) -> [i64; 3] {
        let moving: [i64; 3] = [0, 1, 2].map(|d| n.movable.iter().map(|v| v[d]).sum());
        [0, 1, 2].map(|d| n.cap[d] - (n.used[d] - moving[d]))
    }

    /// Keeping a node costs one when it could have been freed. Every pod that can move is
    /// placed on a kept node (its own included); the fewest eligible nodes kept is the
    /// most freed. Depth-first over the pods, largest first, onto the kept nodes and then
    /// onto one more (nodes with the same room are tried once), bounded by the room the
    /// remaining pods need beyond what the kept nodes have left.
    struct Search {
        items: Vec<[i64; 3]>,
        rooms: Vec<[i64; 3]>,
        kept: Vec<bool>,
        best: usize,
    }

    impl Search {
        fn lower_bound(&self, k: usize) -> usize {
            let mut extra = 0;
            for d in 0..3 {
                let need: i64 = self.items[k..].iter().map(|v| v[d]).sum::<i64>()
                    - (0..self.rooms.len())
                        .filter(|&b| self.kept[b])
                        .map(|b| self.rooms[b][d])
                        .sum::<i64>();
                if need <= 0 {
                    continue;
                }
                let mut more: Vec<i64> = (0..self.rooms.len())
                    .filter(|&b| !self.kept[b])
                    .map(|b| self.rooms[b][d])
                    .collect();
                more.sort_unstable_by(|a, b| b.cmp(a));
                let (mut got, mut n) = (0, 0);
                while got < need && n < more.len() {
                    got += more[n];
                    n += 1;
                }
                extra = extra.max(if got < need { usize::MAX / 2 } else { n });
            }
            extra
        }

        fn run(&mut self, k: usize, cost: usize) {
            if cost + self.lower_bound(k) >= self.best {
                return;
            }
            let Some(&item) = self.items.get(k) else {
                self.best = cost;
                return;
            };
            for open in [true, false] {
                let mut tried: Vec<[i64; 3]> = Vec::new();
                for b in 0..self.rooms.len() {
                    if self.kept[b] != open
                        || tried.contains(&self.rooms[b])
                        || (0..3).any(|d| self.rooms[b][d] < item[d])
                    {
                        continue;
                    }
                    tried.push(self.rooms[b]);
                    for (r, x) in self.rooms[b].iter_mut().zip(item) {
                        *r -= x;
                    }
                    self.kept[b] = true;
                    self.run(k + 1, cost + usize::from(!open));
                    self.kept[b] = open;
                    for (r, x) in self.rooms[b].iter_mut().zip(item) {
                        *r += x;
                    }
                }
            }
        }
    }

    let eligible = nodes.iter().filter(|n| n.eligible).count();
    let mut items: Vec<[i64; 3]> = nodes.iter().flat_map(|n| n.movable.clone()).collect();
    items.sort_by(|a, b| b.cmp(a));
    let mut search = Search {
        items,
        rooms: nodes.iter().map(room).collect(),
        kept: nodes.iter().map(|n| !n.eligible).collect(),
        // Freeing nothing always works: every pod stays where it is.
        best: eligible + 1,
    };
    search.run(0, 0);
    eligible - search.best.min(eligible)
}

/// Replays `plan` on a fresh copy of the cluster: each freed node's drain passes the
/// rules with the budgets then, each move passes the filters where it lands, and
/// afterwards no budget, taint or anti-affinity is violated.
fn replay(original: &Cluster, plan: &Consolidation) {
    let mut c = original.clone();
    for f in &plan.freed {
        let drain = drain::plan(&c, &f.node).unwrap();
        assert!(drain.drainable, "{}: {:?}", f.node, drain.pods);
        // Budgets, counted apart from the engine's rules.
        for b in &c.pdbs {
            let evicted = f
                .moves
                .iter()
                .filter(|m| covers(b, &c.pods[pod_ix(&c, &m.pod)]))
                .count() as i32;
            assert!(
                evicted <= b.disruptions_allowed,
                "{} evicts {evicted} pods of budget {} ({} allowed)",
                f.node,
                b.name,
                b.disruptions_allowed
            );
        }
        c.cordon(&f.node, true);
        for m in &f.moves {
            assert_eq!(m.from, f.node);
            c.unbind(pod_ix(&c, &m.pod));
        }
        for d in &f.deleted {
            c.unbind(pod_ix(&c, d));
        }
        for m in &f.moves {
            let i = pod_ix(&c, &m.pod);
            let verdict = simulate(&c, &c.pods[i].unbound());
            assert!(
                verdict.feasible.contains(&m.to),
                "{} cannot go to {}: {:?}",
                m.pod,
                m.to,
                verdict.message
            );
            assert!(c.bind(i, &m.to));
        }
        let left: Vec<String> = c
            .node(&f.node)
            .unwrap()
            .pods
            .iter()
            .map(|&p| format!("{}/{}", c.pods[p].namespace, c.pods[p].name))
            .collect();
        assert_eq!(left, f.stays, "{} still runs pods that move", f.node);
    }
    for n in &c.nodes {
        let mut apps: BTreeMap<&str, usize> = BTreeMap::new();
        for &p in &n.pods {
            let pod = &c.pods[p];
            for t in &n.taints {
                let tolerated = pod
                    .spec
                    .tolerations
                    .iter()
                    .flatten()
                    .any(|x| x.key.as_deref() == Some(t.key.as_str()));
                assert!(
                    tolerated || pod.bound.as_deref() == Some(&n.name),
                    "{} moved onto tainted {}",
                    pod.name,
                    n.name
                );
            }
            if pod.spec.affinity.is_some() {
                *apps.entry(pod.labels["app"].as_str()).or_default() += 1;
            }
        }
        assert!(
            apps.values().all(|&k| k <= 1),
            "{}: replicas with required anti-affinity together: {apps:?}",
            n.name
        );
    }
}

fn covers(b: &Budget, pod: &PodInfo) -> bool {
    let want = b
        .selector
        .as_ref()
        .and_then(|s| s.match_labels.as_ref())
        .cloned()
        .unwrap_or_default();
    b.namespace == pod.namespace && want.iter().all(|(k, v)| pod.labels.get(k) == Some(v))
}

fn pod_ix(c: &Cluster, id: &str) -> usize {
    let (ns, name) = id.split_once('/').unwrap();
    c.pod(ns, name).unwrap()
}

#[test]
fn frees_within_one_node_of_the_exact_optimum() {
    let mut exact = 0;
    let mut rows = Vec::new();
    for seed in 1..=40u64 {
        let nodes = 6 + (seed as usize * 7) % 25;
        let original = random_cluster(seed, nodes);
        let mut c = original.clone();
        let got = consolidate(&mut c, &Settings::default());
        let t = std::time::Instant::now();
        let best = optimum(&original);
        eprintln!(
            "seed {seed} nodes {nodes} best {best} freed {} in {:?}",
            got.freed.len(),
            t.elapsed()
        );
        assert!(
            got.freed.len() <= best,
            "seed {seed}: freed {} but the optimum is {best}",
            got.freed.len()
        );
        assert!(
            got.freed.len() + 1 >= best,
            "seed {seed} ({nodes} nodes): freed {}, optimum {best}",
            got.freed.len()
        );
        exact += usize::from(got.freed.len() == best);
        rows.push(format!(
            "seed {seed:>2}: {nodes:>2} nodes, freed {} of optimum {best}",
            got.freed.len()
        ));
        replay(&original, &got);
    }
    println!("{}", rows.join("\n"));
    println!("exactly optimal on {exact} of 40");
    assert!(exact >= 30, "exactly optimal on only {exact} of 40");
}

/// Taints, zones with required anti-affinity and spreading, budgets that allow one or no
/// disruption: every plan still replays clean.
#[test]
fn plans_with_constraints_replay_clean() {
    for seed in 1..=20u64 {
        let mut rng = Rng((seed * 7919) | 1);
        let mut c = Cluster::default();
        let zones = ["a", "b", "c"];
        let n = 9 + rng.below(12) as usize;
        let names: Vec<String> = (0..n).map(|i| format!("n{i:02}")).collect();
        for (i, name) in names.iter().enumerate() {
            let taint = (i % 5 == 4).then_some("dedicated");
            c.add_node(node(name, zones[i % 3], 4000, 16, taint));
        }
        let mut k = 0;
        for (i, name) in names.iter().enumerate() {
            for j in 0..1 + rng.below(3) {
                k += 1;
                let app = ["spread", "anti", "plain", "tolerant"][(i + j as usize) % 4];
                let extra = match app {
                    "spread" => json!({"topologySpreadConstraints": [{"maxSkew": 1,
                        "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
                        "labelSelector": {"matchLabels": {"app": "spread"}}}]}),
                    "anti" => json!({"affinity": {"podAntiAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": [{
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {"matchLabels": {"app": "anti"}}}]}}}),
                    "tolerant" => {
                        json!({"tolerations": [{"key": "dedicated", "operator": "Exists"}]})
                    }
                    _ => json!({}),
                };
                // Anti-affinity replicas start on distinct nodes, as the scheduler put them.
                if app == "anti"
                    && c.nodes.iter().any(|nd| {
                        nd.name == *name
                            && nd.pods.iter().any(|&p| c.pods[p].labels["app"] == "anti")
                    })
                {
                    continue;
                }
                if i % 5 == 4 && app != "tolerant" {
                    continue;
                }
                c.add_pod(pod(PodSpec {
                    name: format!("{app}-{k}"),
                    node: name,
                    app,
                    owner: "ReplicaSet",
                    cpu: 250 * (1 + rng.below(4) as i64),
                    mib: 512,
                    extra,
                }));
            }
        }
        for (app, allowed) in [("plain", 0), ("spread", 1)] {
            c.pdbs.push(Budget {
                namespace: "app".into(),
                name: format!("{app}-pdb"),
                selector: Some(
                    serde_json::from_value(json!({"matchLabels": {"app": app}})).unwrap(),
                ),
                disruptions_allowed: allowed,
            });
        }
        let original = c.clone();
        let got = consolidate(&mut c, &Settings::default());
        replay(&original, &got);
        // A budget that allows nothing pins every node its pods run on.
        for kept in &got.kept {
            let plain = original
                .node(&kept.node)
                .unwrap()
                .pods
                .iter()
                .any(|&p| original.pods[p].labels["app"] == "plain");
            if plain {
                assert!(
                    kept.reason.contains("not enough pod disruption budget"),
                    "seed {seed}: {}: {}",
                    kept.node,
                    kept.reason
                );
            }
        }
        assert!(
            got.freed
                .iter()
                .all(|f| f.moves.iter().all(|m| !m.pod.contains("plain")))
        );
    }
}
