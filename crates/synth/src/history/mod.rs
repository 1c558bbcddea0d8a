//! A cluster's past. Real clusters carry the traces of failures that are over: a burst of
//! `FailedCreate` on a ReplicaSet before its ServiceAccount existed, yesterday's rollout and
//! the probe failures of the pods it replaced, a pod evicted under memory pressure two days
//! ago whose replacement has run since, a node whose DiskPressure cleared an hour ago.
//! This module writes such history into the baseline, as the components that saw it wrote
//! it (kubelet, scheduler, controllers, admission), before a scenario's faults are applied.
//!
//! Everything is resolved by capture: the object a failure named exists now, the workload
//! is fully available, the condition is False again. Events survive only while the API
//! server keeps them (`--event-ttl`, one hour by default; drawn from the seed unless the
//! scenario sets it), so older history leaves only its objects.
//!
//! Targets are picked from the generated world by the seed, never by name: Deployments
//! whose pods are all running and ready, nodes in service. A scenario's faults are first
//! tried on a copy of the world ([`touched`]); whatever they change (objects, events'
//! subjects, containers' signals, nodes) is left alone, so history never alters an
//! incident. History draws from its own random stream, never the world's, so the faults
//! generate exactly the names and values they would without it.

mod evictions;
mod nodes;
mod pods;
mod rollouts;

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{Value, json};

use super::generate::SynthError;
use super::rng::Rng;
use super::scenario::Scenario;
use super::signals::ContainerSignals;
use super::topology::Topology;
use super::world::{Key, World, key};

/// How much history a cluster carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// None at all (a cluster created this morning).
    None,
    /// One or two traces of each kind.
    #[default]
    Normal,
    /// More of every kind (a busy cluster's week).
    Heavy,
}

/// A scenario's `history:` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HistorySpec {
    #[serde(default)]
    pub level: Level,
    /// The API server's `--event-ttl`, in minutes: events last seen longer ago are gone.
    #[serde(default)]
    pub event_ttl: Option<f64>,
}

/// What history a generated cluster gets: its level, the event TTL and the random stream.
pub struct Plan {
    pub level: Level,
    pub event_ttl: f64,
    rng: Rng,
}

impl Plan {
    pub fn new(spec: Option<&HistorySpec>, seed: u64) -> Plan {
        let mut rng = Rng::new(seed).fork("history");
        let drawn = rng
            .pick(&[60.0, 60.0, 120.0, 360.0, 1440.0, 2880.0])
            .copied()
            .unwrap_or(60.0);
        Plan {
            level: spec.map(|s| s.level).unwrap_or_default(),
            event_ttl: spec
                .and_then(|s| s.event_ttl)
                .filter(|t| *t > 0.0)
                .unwrap_or(drawn),
            rng,
        }
    }
}

/// What a scenario's faults change: the apps (namespace, app) and nodes history must leave
/// alone, and every object they edit, add, remove or report an event about.
#[derive(Debug, Default)]
pub struct Touched {
    pub apps: BTreeSet<(String, String)>,
    pub nodes: BTreeSet<String>,
    pub objects: BTreeSet<Key>,
}

impl Touched {
    fn app(&self, ns: &str, app: &str) -> bool {
        self.apps.contains(&(ns.to_string(), app.to_string()))
    }

    fn object(&self, kind: &str, ns: &str, name: &str) -> bool {
        self.objects.contains(&key(kind, ns, name))
    }

    fn mark(&mut self, k: &Key, v: &Value) {
        let (kind, ns, name) = (k.0.as_str(), k.1.as_str(), k.2.as_str());
        self.objects.insert(k.clone());
        let mut app = |a: &str| {
            if !a.is_empty() {
                self.apps.insert((ns.to_string(), a.to_string()));
            }
        };
        if let Some(a) = v["metadata"]["labels"]["app"].as_str() {
            app(a);
        }
        match kind {
            "Deployment" | "StatefulSet" | "DaemonSet" | "CronJob" | "PodDisruptionBudget" => {
                app(name)
            }
            "ReplicaSet" | "Job" => {
                if let Some(o) = v["metadata"]["ownerReferences"][0]["name"].as_str() {
                    app(o);
                }
            }
            "HorizontalPodAutoscaler" => {
                if let Some(t) = v["spec"]["scaleTargetRef"]["name"].as_str() {
                    app(t);
                }
            }
            "Service" => {
                if let Some(a) = v["spec"]["selector"]["app"].as_str() {
                    app(a);
                }
                app(name);
            }
            _ => {}
        }
        if kind == "Node" {
            self.nodes.insert(name.to_string());
        }
    }
}

/// Tries the scenario's faults on a copy of the world and returns what they touched.
pub fn touched(
    world: &World,
    topo: &Topology,
    scenario: Option<&Scenario>,
) -> Result<Touched, SynthError> {
    let mut t = Touched::default();
    let Some(s) = scenario.filter(|s| !s.faults.is_empty()) else {
        return Ok(t);
    };
    let mut probe = world.fork_editable();
    let mut probe_topo = topo.clone();
    s.apply(&mut probe, &mut probe_topo)?;
    let objects = |w: &World| -> BTreeMap<Key, Value> {
        w.objects()
            .map(|v| {
                (
                    key(
                        v["kind"].as_str().unwrap_or_default(),
                        v["metadata"]["namespace"].as_str().unwrap_or_default(),
                        v["metadata"]["name"].as_str().unwrap_or_default(),
                    ),
                    v.clone(),
                )
            })
            .collect()
    };
    let (before, after) = (objects(world), objects(&probe));
    let keys: BTreeSet<&Key> = before.keys().chain(after.keys()).collect();
    for k in keys {
        let (b, a) = (before.get(k), after.get(k));
        if b == a {
            continue;
        }
        let Some(v) = a.or(b) else { continue };
        if k.0 == "Event" {
            let io = &v["involvedObject"];
            let ik = key(
                io["kind"].as_str().unwrap_or_default(),
                io["namespace"].as_str().unwrap_or_default(),
                io["name"].as_str().unwrap_or_default(),
            );
            match after.get(&ik).or(before.get(&ik)) {
                Some(obj) => t.mark(&ik, obj),
                None => {
                    if ik.0 == "Node" {
                        t.nodes.insert(ik.2.clone());
                    }
                    t.objects.insert(ik);
                }
            }
        } else {
            t.mark(k, v);
        }
    }
    let signals = |w: &World| -> BTreeMap<(String, String, String), ContainerSignals> {
        w.signals
            .containers
            .iter()
            .map(|s| {
                (
                    (s.namespace.clone(), s.pod.clone(), s.container.clone()),
                    s.clone(),
                )
            })
            .collect()
    };
    let (sb, sa) = (signals(world), signals(&probe));
    let keys: BTreeSet<&(String, String, String)> = sb.keys().chain(sa.keys()).collect();
    for k in keys {
        let (b, a) = (sb.get(k), sa.get(k));
        if b != a {
            if let Some(s) = a.or(b) {
                t.apps.insert((s.namespace.clone(), s.app.clone()));
            }
        }
    }
    for (b, a) in world.signals.nodes.iter().zip(&probe.signals.nodes) {
        if b != a {
            t.nodes.insert(b.name.clone());
        }
    }
    Ok(t)
}

/// Writes the plan's history into the world, away from what the faults touch.
pub fn apply(world: &mut World, plan: Plan, touched: &Touched) {
    if plan.level == Level::None {
        return;
    }
    let heavy = plan.level == Level::Heavy;
    let mut rec = Recorder {
        rng: plan.rng,
        ttl: plan.event_ttl,
    };
    let mut free = pods::candidates(world, touched);
    shuffle(&mut rec.rng, &mut free);
    let mut take = |pred: &dyn Fn(&pods::Candidate) -> bool| -> Option<pods::Candidate> {
        let i = free.iter().position(pred)?;
        Some(free.remove(i))
    };
    let n = |rng: &mut Rng, normal: f64, heavy_n: u64| -> u64 {
        if heavy {
            heavy_n
        } else {
            u64::from(rng.chance(normal))
        }
    };

    // Resolved FailedCreate bursts.
    for i in 0..n(&mut rec.rng, 1.0, 3) {
        let want_quota = i == 1 || (!heavy && rec.rng.chance(0.35));
        if let Some(c) = take(&|_: &pods::Candidate| true) {
            let quota = want_quota && pods::quota_of(world, touched, &c.ns).is_some();
            pods::failed_create(world, &mut rec, touched, &c, quota);
        }
    }
    // Evicted pods, replaced long since, and the node pressure that evicted them.
    let mut pressured: BTreeSet<String> = BTreeSet::new();
    for _ in 0..n(&mut rec.rng, 1.0, 2) {
        if let Some(c) = take(&|c: &pods::Candidate| c.rs_age > 200.0) {
            let count = if heavy && c.replicas > 1 { 2 } else { 1 };
            evictions::evicted(world, &mut rec, touched, &c, count, &mut pressured);
        }
    }
    // Old rollouts: restarts whose pods replaced others hours or days ago.
    for _ in 0..n(&mut rec.rng, 1.0, 2) {
        let whole = |c: &pods::Candidate| c.rs_age > 300.0 && c.movable.len() == c.pods.len();
        if let Some(c) = take(&whole) {
            rollouts::restart(world, &mut rec, &c);
        }
    }
    // A rollout the LimitRange forbade, rolled back.
    for _ in 0..n(&mut rec.rng, 0.5, 1) {
        let ok = |c: &pods::Candidate| {
            c.replicas <= 3 && c.rs_age > 180.0 && rollouts::limit_max(world, touched, c).is_some()
        };
        if let Some(c) = take(&ok) {
            rollouts::rollback_forbidden(world, &mut rec, touched, &c);
        }
    }
    // Pods scheduled after a while, and pods that waited for their ConfigMap.
    for _ in 0..n(&mut rec.rng, 1.0, 2) {
        if let Some(c) = take(&|_: &pods::Candidate| true) {
            pods::failed_scheduling(world, &mut rec, &c);
        }
    }
    for _ in 0..n(&mut rec.rng, 1.0, 2) {
        let ok = |c: &pods::Candidate| pods::config_map_of(world, touched, c).is_some();
        if let Some(c) = take(&ok) {
            pods::failed_mount(world, &mut rec, touched, &c);
        }
    }
    // Node conditions that cleared, and a kubelet restart.
    for _ in 0..n(&mut rec.rng, 1.0, 2) {
        nodes::pressure_cleared(world, &mut rec, touched, &mut pressured);
    }
    for _ in 0..n(&mut rec.rng, 0.5, 1) {
        nodes::kubelet_restart(world, &mut rec, touched, &mut pressured);
    }
    nodes::leader_elections(world, &mut rec, if heavy { 2 } else { 1 });
}

fn shuffle<T>(rng: &mut Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = rng.range(0, i as u64) as usize;
        items.swap(i, j);
    }
}

// -- events -----------------------------------------------------------------------------------

/// Writes history's events (dropping those the API server has expired by capture) and draws
/// its random values.
pub(crate) struct Recorder {
    pub(crate) rng: Rng,
    pub(crate) ttl: f64,
}

/// The object an event is about (it may no longer exist).
#[derive(Debug, Clone)]
pub(crate) struct Subject {
    kind: String,
    ns: String,
    name: String,
    uid: String,
    api_version: String,
    field_path: Option<String>,
}

impl Subject {
    /// An object of the world, as it is now.
    pub(crate) fn of(world: &World, kind: &str, ns: &str, name: &str) -> Subject {
        let o = world.get(kind, ns, name);
        Subject {
            kind: kind.to_string(),
            ns: ns.to_string(),
            name: name.to_string(),
            uid: o
                .and_then(|o| o["metadata"]["uid"].as_str())
                .unwrap_or_default()
                .to_string(),
            api_version: o
                .and_then(|o| o["apiVersion"].as_str())
                .unwrap_or("v1")
                .to_string(),
            field_path: None,
        }
    }

    /// A pod as an event names it, from its JSON (which may since have gone).
    pub(crate) fn pod(p: &Value) -> Subject {
        Subject {
            kind: "Pod".into(),
            ns: p["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            name: p["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            uid: p["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            api_version: "v1".into(),
            field_path: None,
        }
    }

    /// A node as the kubelet names it (its name doubles as the uid).
    pub(crate) fn node_by_kubelet(node: &str) -> Subject {
        Subject {
            kind: "Node".into(),
            ns: String::new(),
            name: node.to_string(),
            uid: node.to_string(),
            api_version: String::new(),
            field_path: None,
        }
    }

    pub(crate) fn other(kind: &str, api_version: &str, ns: &str, name: &str, uid: &str) -> Self {
        Subject {
            kind: kind.into(),
            ns: ns.into(),
            name: name.into(),
            uid: uid.into(),
            api_version: api_version.into(),
            field_path: None,
        }
    }

    /// The same pod, about one of its containers (`spec.containers{name}`).
    pub(crate) fn container(&self, name: &str) -> Subject {
        let mut s = self.clone();
        s.field_path = Some(format!("spec.containers{{{name}}}"));
        s
    }
}

/// Who reported an event: the component, and for the kubelet the node it runs on.
#[derive(Clone, Copy)]
pub(crate) struct Source<'a> {
    component: &'a str,
    host: Option<&'a str>,
}

pub(crate) fn kubelet(node: &str) -> Source<'_> {
    Source {
        component: "kubelet",
        host: Some(node),
    }
}

pub(crate) fn controller(component: &str) -> Source<'_> {
    Source {
        component,
        host: None,
    }
}

/// An event's type, reason and message.
pub(crate) struct What<'a> {
    pub(crate) warning: bool,
    pub(crate) reason: &'a str,
    pub(crate) message: &'a str,
}

pub(crate) fn normal<'a>(reason: &'a str, message: &'a str) -> What<'a> {
    What {
        warning: false,
        reason,
        message,
    }
}

pub(crate) fn warning<'a>(reason: &'a str, message: &'a str) -> What<'a> {
    What {
        warning: true,
        reason,
        message,
    }
}

impl Recorder {
    /// Records an event first seen `first` and last seen `last` minutes before capture,
    /// `count` times — unless the API server expired it before capture.
    pub(crate) fn event(
        &mut self,
        world: &mut World,
        subject: &Subject,
        what: What<'_>,
        source: Source<'_>,
        (first, last, count): (f64, f64, u64),
    ) {
        if last >= self.ttl {
            return;
        }
        let first = first.max(last);
        let ns = if subject.ns.is_empty() {
            "default"
        } else {
            subject.ns.as_str()
        };
        let mut name = format!("{}.{:016x}", subject.name, self.rng.next_u64() >> 4);
        while world.get("Event", ns, &name).is_some() {
            name = format!("{}.{:016x}", subject.name, self.rng.next_u64() >> 4);
        }
        let mut involved = json!({"kind": subject.kind, "name": subject.name});
        if !subject.ns.is_empty() {
            involved["namespace"] = json!(subject.ns);
        }
        if !subject.uid.is_empty() {
            involved["uid"] = json!(subject.uid);
        }
        if !subject.api_version.is_empty() {
            involved["apiVersion"] = json!(subject.api_version);
        }
        if let Some(f) = &subject.field_path {
            involved["fieldPath"] = json!(f);
        }
        let mut src = json!({"component": source.component});
        if let Some(h) = source.host {
            src["host"] = json!(h);
        }
        let ev = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": ns, "uid": self.rng.uid(),
                "creationTimestamp": world.at(first),
                "resourceVersion": format!("{}", 1000 + self.rng.range(0, 900_000))},
            "involvedObject": involved,
            "reason": what.reason, "message": what.message,
            "type": if what.warning { "Warning" } else { "Normal" },
            "count": count.max(1),
            "firstTimestamp": world.at(first), "lastTimestamp": world.at(last),
            "source": src,
            "reportingComponent": source.component,
            "reportingInstance": source.host.unwrap_or_default()
        });
        world.add(ev);
    }

    /// Minutes in [lo, hi] (lo when the range is empty), to a tenth of a second.
    pub(crate) fn minutes(&mut self, lo: f64, hi: f64) -> f64 {
        if hi <= lo {
            return lo;
        }
        let steps = ((hi - lo) * 600.0) as u64;
        lo + self.rng.range(0, steps) as f64 / 600.0
    }

    /// A pod IP from a range no other part of the generator allocates.
    pub(crate) fn pod_ip(&mut self) -> String {
        format!(
            "10.{}.{}.{}",
            140 + self.rng.range(0, 9),
            self.rng.range(0, 249),
            self.rng.range(2, 251)
        )
    }

    pub(crate) fn container_id(&mut self) -> String {
        format!(
            "containerd://{:016x}{:016x}{:016x}{:016x}",
            self.rng.next_u64(),
            self.rng.next_u64(),
            self.rng.next_u64(),
            self.rng.next_u64()
        )
    }
}

// -- small helpers ----------------------------------------------------------------------------

/// Minutes before capture of an RFC 3339 time.
pub(crate) fn minutes_ago(world: &World, ts: &Value) -> Option<f64> {
    let t: jiff::Timestamp = ts.as_str()?.parse().ok()?;
    let d = world.capture.as_second() - t.as_second();
    Some(d as f64 / 60.0)
}

/// A managedFields entry: an update by `manager` at a time.
pub(crate) fn managed(manager: &str, api_version: &str, time: String, fields: Value) -> Value {
    json!({"manager": manager, "operation": "Update", "apiVersion": api_version, "time": time,
        "fieldsType": "FieldsV1", "fieldsV1": fields})
}

pub(crate) fn record_edit(obj: &mut Value, entry: Value) {
    match obj["metadata"]["managedFields"].as_array_mut() {
        Some(a) => a.push(entry),
        None => obj["metadata"]["managedFields"] = json!([entry]),
    }
}

/// A CPU quantity as the API server prints it (`250m`, `6`).
pub(crate) fn fmt_cpu(millis: f64) -> String {
    let m = millis.round().max(0.0) as u64;
    if m % 1000 == 0 {
        format!("{}", m / 1000)
    } else {
        format!("{m}m")
    }
}

/// Millicores of a CPU quantity (`250m`, `2`, `1.5`).
pub(crate) fn cpu_millis(q: &Value) -> f64 {
    let Some(s) = q.as_str() else {
        return q.as_f64().map(|c| c * 1000.0).unwrap_or(0.0);
    };
    match s.strip_suffix('m') {
        Some(m) => m.parse().unwrap_or(0.0),
        None => s.parse::<f64>().map(|c| c * 1000.0).unwrap_or(0.0),
    }
}

/// Bytes of a memory or storage quantity (`512Mi`, `8Gi`, `104845292Ki`, `95551679124`).
pub(crate) fn bytes(q: &Value) -> f64 {
    let Some(s) = q.as_str() else {
        return q.as_f64().unwrap_or(0.0);
    };
    let units = [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("Ti", 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
    ];
    for (u, m) in units {
        if let Some(n) = s.strip_suffix(u) {
            return n.parse::<f64>().map(|x| x * m).unwrap_or(0.0);
        }
    }
    s.parse().unwrap_or(0.0)
}

#[cfg(test)]
mod tests;
