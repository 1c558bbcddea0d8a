//! The pass over every log line, split in two so that it needs no relations.
//!
//! At 150,000 pods the lines are the longest single piece of work after reading the
//! bundle, and the relations (which say which workload a pod belongs to, and which
//! workload serves a Service) the longest on the other core. So [`LogScan::build`] reads
//! the lines with the snapshot alone, per *group* of pods that share a controller owner
//! (pods of one ReplicaSet, Job, StatefulSet or DaemonSet always belong to one workload,
//! whichever it is), with peers named by the Service the line points at; and
//! [`LogScan::into_stats`] then places each group in its workload and each peer Service
//! at the workload behind it, which is cheap. Groups are kept in the order of their first
//! log file and merged in that order, so the result does not depend on threads; the
//! files are read in pieces that both cores can take ([`LogWork`]), so a core done with
//! the relations helps with the lines.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::logs::{LogStats, SigStat, Signature, WorkloadLogs};
use super::{clip, latency};
use intel_engine::{ObjectRef, Relations};
use intel_model::{LogKey, Snapshot};

/// Templates kept per signature (per group while scanning, per workload when merged).
const MAX_TEMPLATES: usize = 50;

/// What a line names, before the service map says which workload serves it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Peer {
    /// A Service, named or by ClusterIP: the peer is the workload behind it.
    Service(ObjectRef),
    /// The DNS Service a lookup failed against: the peer is the Service itself.
    Dns(ObjectRef),
}

/// The lines of one group of pods.
struct Group {
    /// A pod of the group; its workload is the group's.
    pod: ObjectRef,
    logs: WorkloadLogs,
    peers: BTreeMap<Signature, BTreeMap<Peer, u64>>,
    /// Per signature, the index of the file its sample came from (the earliest wins when
    /// groups merge, as it would in one pass over the files).
    sample_at: BTreeMap<Signature, usize>,
}

/// Log statistics per group of pods, before the relations place them.
pub struct LogScan {
    groups: Vec<Group>,
    /// Host → (time, line, file) of the first line saying its certificate expired.
    expired: BTreeMap<String, (i64, String, String)>,
}

/// Files per piece of the pass (a piece is the unit a thread takes).
const PIECE_FILES: usize = 1024;

/// The pass over the lines, cut into pieces of consecutive files that any thread may
/// take ([`LogWork::help`]); [`LogWork::finish`] joins the pieces in file order. A piece's
/// result depends on its files alone and the cuts on the number of files alone, so the
/// result is the same whichever threads helped, and however many.
pub struct LogWork<'s> {
    snap: &'s Snapshot,
    /// The files in scope, with their position among all log files.
    files: Vec<(usize, &'s LogKey, &'s str)>,
    year: String,
    resolver: PeerResolver,
    next: AtomicUsize,
    pieces: Mutex<Vec<Option<LogScan>>>,
}

impl<'s> LogWork<'s> {
    /// The work of reading every log in scope (`namespaces`; empty means all).
    pub fn new(snap: &'s Snapshot, namespaces: &[String]) -> LogWork<'s> {
        let year = snap
            .manifest
            .captured_at
            .get(..4)
            .unwrap_or("1970")
            .to_string();
        let files: Vec<(usize, &LogKey, &str)> = snap
            .logs
            .iter()
            .enumerate()
            .filter(|(_, (key, _))| namespaces.is_empty() || namespaces.contains(&key.namespace))
            .map(|(at, (key, text))| (at, key, text.as_str()))
            .collect();
        let pieces = files.len().div_ceil(PIECE_FILES);
        LogWork {
            snap,
            files,
            year,
            resolver: PeerResolver::new(snap),
            next: AtomicUsize::new(0),
            pieces: Mutex::new((0..pieces).map(|_| None).collect()),
        }
    }

    /// Reads pieces until none is left.
    pub fn help(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(files) = self.files.chunks(PIECE_FILES).nth(i) else {
                return;
            };
            let scan = self.piece(files);
            let mut pieces = self.pieces.lock().unwrap_or_else(|e| e.into_inner());
            pieces[i] = Some(scan);
        }
    }

    /// Helps until the work is done, then joins the pieces in order.
    pub fn finish(self) -> LogScan {
        self.help();
        let pieces = self.pieces.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut all = LogScan {
            groups: Vec::new(),
            expired: BTreeMap::new(),
        };
        for piece in pieces.into_iter().flatten() {
            all.groups.extend(piece.groups);
            for (host, first) in piece.expired {
                // Pieces come in file order: the earliest file's line stays.
                all.expired.entry(host).or_insert(first);
            }
        }
        all
    }

    fn piece(&self, files: &[(usize, &LogKey, &str)]) -> LogScan {
        let mut groups: Vec<Group> = Vec::new();
        let mut group_of: HashMap<GroupKey, usize> = HashMap::new();
        let mut expired = BTreeMap::new();
        for &(at, key, text) in files {
            let g = *group_of
                .entry(group_key(self.snap, key))
                .or_insert_with(|| {
                    groups.push(Group {
                        pod: ObjectRef::new("Pod", &key.namespace, &key.pod),
                        logs: WorkloadLogs::default(),
                        peers: BTreeMap::new(),
                        sample_at: BTreeMap::new(),
                    });
                    groups.len() - 1
                });
            let file = key.bundle_path();
            let group = &mut groups[g];
            // When this container last logged: its last line with a time (read from the
            // end, usually the very last line).
            if let Some(t) = text
                .lines()
                .rev()
                .take(50)
                .find_map(|l| super::logs::line_time(l, &self.year))
            {
                let e = group
                    .logs
                    .container_last
                    .entry(key.container.clone())
                    .or_insert(t);
                *e = (*e).max(t);
            }
            for line in text.lines() {
                scan_line(
                    line,
                    &LineCtx {
                        year: &self.year,
                        file: &file,
                        at,
                        namespace: &key.namespace,
                        resolver: &self.resolver,
                    },
                    group,
                    &mut expired,
                );
            }
        }
        LogScan { groups, expired }
    }
}

impl LogScan {
    /// Reads every line of every log in scope (`namespaces`; empty means all), on this
    /// thread ([`LogWork`] to share it).
    pub fn build(snap: &Snapshot, namespaces: &[String]) -> LogScan {
        LogWork::new(snap, namespaces).finish()
    }

    /// Places each group in its workload and each peer at the workload that serves it.
    pub fn into_stats(self, rel: &Relations) -> LogStats {
        let map = rel.service_map();
        let serving = |svc: &ObjectRef| {
            map.node(svc)
                .and_then(|n| n.service_for.clone())
                .unwrap_or_else(|| svc.clone())
        };
        let mut out = LogStats {
            expired_cert_hosts: self.expired,
            ..LogStats::default()
        };
        let mut sample_at: BTreeMap<(ObjectRef, Signature), usize> = BTreeMap::new();
        for g in self.groups {
            let w = rel.workload_of(&g.pod);
            let into = out.workloads.entry(w.clone()).or_default();
            absorb(into, g.logs, |sig| {
                let at = g.sample_at.get(&sig).copied().unwrap_or(usize::MAX);
                let best = sample_at.entry((w.clone(), sig)).or_insert(usize::MAX);
                let earlier = at < *best;
                if earlier {
                    *best = at;
                }
                earlier
            });
            for (sig, peers) in g.peers {
                let s = into.sigs.entry(sig).or_default();
                for (peer, n) in peers {
                    let peer = match peer {
                        Peer::Service(svc) => serving(&svc),
                        Peer::Dns(svc) => svc,
                    };
                    if peer != w {
                        *s.peers.entry(peer).or_default() += n;
                    }
                }
            }
        }
        out
    }
}

/// Pods with one controller owner (the same uid, kind and name; and for a ReplicaSet
/// that was not captured, the same pod-template-hash, from which its Deployment is
/// inferred) climb to one workload. A pod without one, or not in the snapshot, is alone.
#[derive(PartialEq, Eq, Hash)]
enum GroupKey {
    Owner {
        namespace: String,
        uid: String,
        kind: String,
        name: String,
        hash: String,
    },
    Pod(String, String),
}

fn group_key(snap: &Snapshot, key: &LogKey) -> GroupKey {
    let ix = snap.index();
    let pod = ix
        .by_name("Pod", &key.namespace, &key.pod)
        .first()
        .and_then(|&id| snap.get(id));
    match pod.and_then(|p| p.controller().map(|c| (p, c))) {
        Some((p, c)) => GroupKey::Owner {
            namespace: key.namespace.clone(),
            uid: c.uid.clone(),
            kind: c.kind.clone(),
            name: c.name.clone(),
            hash: p
                .meta
                .labels
                .get("pod-template-hash")
                .cloned()
                .unwrap_or_default(),
        },
        None => GroupKey::Pod(key.namespace.clone(), key.pod.clone()),
    }
}

struct LineCtx<'a> {
    year: &'a str,
    file: &'a str,
    /// The file's position among all log files.
    at: usize,
    namespace: &'a str,
    resolver: &'a PeerResolver,
}

fn scan_line(
    line: &str,
    cx: &LineCtx<'_>,
    group: &mut Group,
    expired: &mut BTreeMap<String, (i64, String, String)>,
) {
    use super::logs::{classify, http_status, line_time, quoted_after, template};
    if line.trim().is_empty() {
        return;
    }
    let stats = &mut group.logs;
    stats.lines += 1;
    let t = line_time(line, cx.year);
    if let Some(t) = t {
        stats.first = Some(stats.first.map_or(t, |f| f.min(t)));
        stats.last = Some(stats.last.map_or(t, |l| l.max(t)));
    }
    let status = http_status(line);
    if status.is_some() {
        stats.requests += 1;
        if let Some(t) = t {
            *stats
                .buckets
                .entry(t - t.rem_euclid(super::logs::BUCKET))
                .or_default() += 1;
            if let Some(ms) = latency::request_ms(line) {
                stats.latency.add(t, ms, line, cx.file);
            }
        }
    }
    let Some(sig) = classify(line, status) else {
        return;
    };
    let lower = line.to_ascii_lowercase();
    if sig == Signature::Tls && lower.contains("expired") {
        if let Some(host) = quoted_after(line, "server \"") {
            // Files are scanned in order: the first line is the earliest file's.
            expired
                .entry(host)
                .or_insert((t.unwrap_or(0), clip(line, 240), cx.file.to_string()));
        }
    }
    let s = stats.sigs.entry(sig).or_default();
    s.count += 1;
    if let Some(t) = t {
        s.first = Some(s.first.map_or(t, |f| f.min(t)));
        s.last = Some(s.last.map_or(t, |l| l.max(t)));
    }
    if s.sample.is_empty() {
        s.sample = clip(line, 240);
        s.file = cx.file.to_string();
        group.sample_at.insert(sig, cx.at);
    }
    let tpl = template(line);
    if s.templates.len() < MAX_TEMPLATES || s.templates.contains_key(&tpl) {
        *s.templates.entry(tpl).or_default() += 1;
    }
    if let Some(peer) = cx.resolver.peer(line, &lower, cx.namespace, sig) {
        *group.peers.entry(sig).or_default().entry(peer).or_default() += 1;
    }
}

/// Adds one group's statistics to its workload's. `earlier(sig)` says whether the
/// group's sample of `sig` comes from an earlier file than the workload's so far.
fn absorb(into: &mut WorkloadLogs, from: WorkloadLogs, mut earlier: impl FnMut(Signature) -> bool) {
    into.lines += from.lines;
    into.requests += from.requests;
    for (b, n) in from.buckets {
        *into.buckets.entry(b).or_default() += n;
    }
    into.first = min_opt(into.first, from.first);
    into.last = max_opt(into.last, from.last);
    for (c, t) in from.container_last {
        let e = into.container_last.entry(c).or_insert(t);
        *e = (*e).max(t);
    }
    into.latency.absorb(from.latency);
    for (sig, s) in from.sigs {
        let take_sample = earlier(sig);
        let to = into.sigs.entry(sig).or_default();
        absorb_sig(to, s, take_sample);
    }
}

fn absorb_sig(to: &mut SigStat, from: SigStat, take_sample: bool) {
    to.count += from.count;
    to.first = min_opt(to.first, from.first);
    to.last = max_opt(to.last, from.last);
    if (to.sample.is_empty() || take_sample) && !from.sample.is_empty() {
        to.sample = from.sample;
        to.file = from.file;
    }
    for (t, n) in from.templates {
        if to.templates.len() < MAX_TEMPLATES || to.templates.contains_key(&t) {
            *to.templates.entry(t).or_default() += n;
        }
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    a.max(b)
}

/// Resolves what a line names to a Service: `peer=x` / `"peer":"x"`, a Service ClusterIP
/// (`dial tcp 10.96.0.36:9000`), or a Service host (`auth.shop.svc.cluster.local:9000`).
/// Unresolvable names are dropped: precision first.
struct PeerResolver {
    by_ip: HashMap<String, ObjectRef>,
    by_name: HashMap<(String, String), ObjectRef>,
}

impl PeerResolver {
    fn new(snap: &Snapshot) -> Self {
        let mut by_ip = HashMap::new();
        let mut by_name = HashMap::new();
        for svc in snap.items("", "services") {
            let sref = ObjectRef::of(svc);
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(svc.json()) {
                if let Some(ip) = v.pointer("/spec/clusterIP").and_then(|i| i.as_str()) {
                    if ip != "None" && !ip.is_empty() {
                        by_ip.insert(ip.to_string(), sref.clone());
                    }
                }
            }
            by_name.insert((sref.namespace.clone(), sref.name.clone()), sref);
        }
        PeerResolver { by_ip, by_name }
    }

    fn peer(&self, line: &str, lower: &str, namespace: &str, sig: Signature) -> Option<Peer> {
        if sig == Signature::Dns {
            // `lookup x on 10.96.0.10:53`: the DNS Service is the peer that fails, the
            // thing every client points at; the chain goes on to the pods behind it.
            if let Some(rest) = lower.split(" on ").nth(1) {
                let ip = rest.split(':').next().unwrap_or("");
                if let Some(r) = self.by_ip.get(ip) {
                    return Some(Peer::Dns(r.clone()));
                }
            }
        }
        for key in ["peer=", "\"peer\":\"", "upstream=", "\"upstream\":\""] {
            if let Some(rest) = line.split(key).nth(1) {
                let name = rest.split(['"', ' ', ',']).next().unwrap_or("");
                if let Some(r) = self.by_name.get(&(namespace.to_string(), name.to_string())) {
                    return Some(Peer::Service(r.clone()));
                }
            }
        }
        for token in
            lower.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == ':'))
        {
            let host = token.split(':').next().unwrap_or("");
            if host.is_empty() {
                continue;
            }
            if let Some(r) = self.by_ip.get(host) {
                if token.contains(':') {
                    return Some(Peer::Service(r.clone()));
                }
            }
            let parts: Vec<&str> = host.split('.').collect();
            if parts.len() >= 3 && parts[2] == "svc" {
                if let Some(r) = self
                    .by_name
                    .get(&(parts[1].to_string(), parts[0].to_string()))
                {
                    return Some(Peer::Service(r.clone()));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::detect::{LogStats, Signature};
    use intel_engine::Relations;
    use intel_engine::relations::ObjectRef;
    use intel_fixture::snapshot_with_logs as snapshot;

    fn r(kind: &str, ns: &str, name: &str) -> ObjectRef {
        ObjectRef::new(kind, ns, name)
    }

    #[test]
    fn groups_of_one_workload_merge_and_peers_land_on_the_serving_workload() {
        let owned = |name: &str, kind: &str, owner: &str, uid: &str, labels| {
            json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": "a",
                "uid": format!("u-{name}"), "labels": labels,
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": if kind == "Pod" { "ReplicaSet" } else { "Deployment" },
                    "name": owner, "uid": uid, "controller": true}]},
                "spec": {"containers": [{"name": "app"}]}})
        };
        let snap = snapshot(
            vec![
                json!({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": "web", "namespace": "a", "uid": "d1"},
                    "spec": {"selector": {"matchLabels": {"app": "web"}}}}),
                json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-1", "namespace": "a",
                    "uid": "rs1", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d1", "controller": true}]}}),
                json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-2", "namespace": "a",
                    "uid": "rs2", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d1", "controller": true}]}}),
                owned("web-1-x", "Pod", "web-1", "rs1", json!({"app": "web"})),
                owned("web-2-y", "Pod", "web-2", "rs2", json!({"app": "web"})),
                json!({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": "db", "namespace": "a", "uid": "d2"},
                    "spec": {"selector": {"matchLabels": {"app": "db"}}}}),
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db-0", "namespace": "a", "uid": "p-db",
                    "labels": {"app": "db"}}, "spec": {"containers": [{"name": "app"}]}}),
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "a", "uid": "s1"},
                    "spec": {"selector": {"app": "db"}, "clusterIP": "10.96.0.9"}}),
            ],
            vec![
                // The later file (by name) has the earlier line: the sample is still the
                // first file's, as in one pass over the files.
                (
                    "a",
                    "web-1-x",
                    "2026-01-01T00:00:05Z error: dial tcp 10.96.0.9:5432: connection refused\n",
                ),
                (
                    "a",
                    "web-2-y",
                    "2026-01-01T00:00:01Z error: dial tcp 10.96.0.9:5432: connection refused\n2026-01-01T00:00:02Z ok\n",
                ),
            ],
        );
        let rel = Relations::build(&snap);
        let stats = LogStats::build(&snap, &rel, &[]);
        let web = &stats.workloads[&r("Deployment", "a", "web")];
        assert_eq!(web.lines, 3);
        let refused = &web.sigs[&Signature::Refused];
        assert_eq!(refused.count, 2);
        assert_eq!(
            refused.first,
            crate::detect::parse_ts("2026-01-01T00:00:01Z")
        );
        assert_eq!(refused.file, "logs/a/web-1-x/app.log");
        // The ClusterIP names Service a/db; the peer is the workload behind it (here a
        // bare pod), not the Service.
        assert_eq!(
            refused.peers.iter().collect::<Vec<_>>(),
            vec![(&r("Pod", "a", "db-0"), &2)]
        );
        assert_eq!(
            stats.workloads.len(),
            1,
            "both ReplicaSets' pods are one workload"
        );
    }

    /// More files than one piece holds, read by two threads at once: the same statistics
    /// as on one thread, and pieces merge as one pass would (counts, the earliest line,
    /// the first file's sample).
    #[test]
    fn pieces_read_by_two_threads_give_one_pass_result() {
        let n = super::PIECE_FILES * 2 + 50;
        let mut objects = vec![
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "a", "uid": "d1"},
                "spec": {"selector": {"matchLabels": {"app": "web"}}}}),
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-1", "namespace": "a",
                "uid": "rs1", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d1", "controller": true}]}}),
        ];
        let mut logs = Vec::new();
        for i in 0..n {
            objects.push(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("web-{i:05}"),
                "namespace": "a", "uid": format!("p{i}"), "labels": {"app": "web", "pod-template-hash": "1"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "rs1", "controller": true}]},
                "spec": {"containers": [{"name": "app"}]}}));
            // The last file has the earliest line.
            let second = if i == n - 1 { 0 } else { 10 + i % 40 };
            logs.push(format!(
                "2026-01-01T00:00:{second:02}Z error: connection refused\n2026-01-01T00:00:59Z ok\n"
            ));
        }
        let pods: Vec<String> = (0..n).map(|i| format!("web-{i:05}")).collect();
        let snap = snapshot(
            objects,
            pods.iter()
                .zip(&logs)
                .map(|(p, l)| ("a", p.as_str(), l.as_str()))
                .collect(),
        );
        let rel = Relations::build(&snap);
        let one = super::LogScan::build(&snap, &[]).into_stats(&rel);
        let work = super::LogWork::new(&snap, &[]);
        std::thread::scope(|s| {
            s.spawn(|| work.help());
            work.help();
        });
        let two = work.finish().into_stats(&rel);
        assert_eq!(format!("{one:?}"), format!("{two:?}"));
        let web = &two.workloads[&r("Deployment", "a", "web")];
        assert_eq!(web.lines, 2 * n as u64);
        let refused = &web.sigs[&Signature::Refused];
        assert_eq!(refused.count, n as u64);
        assert_eq!(
            refused.first,
            crate::detect::parse_ts("2026-01-01T00:00:00Z")
        );
        assert_eq!(refused.file, "logs/a/web-00000/app.log");
        assert_eq!(refused.templates.values().sum::<u64>(), n as u64);
    }
}
