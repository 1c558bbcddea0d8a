//! The controllers' rollouts, step by step: the Deployment controller's rolling update
//! (`rolloutRolling`: scale the new ReplicaSet up within maxSurge, the old ones down
//! within maxUnavailable, rounding as `ResolveFenceposts` does) and Recreate, the
//! StatefulSet controller's ordered update from the highest ordinal down to the
//! partition, the DaemonSet controller's node-by-node update, plain scaling and
//! creation. Every new pod is admitted and placed by the scheduler engine; a step that
//! cannot proceed carries the scheduler's (or the API server's) message.

use serde_json::Value;

use super::sim::{Blocker, NewPod, Sim, Step};
use super::target::Workload;

mod daemonset;
mod deployment;
mod statefulset;

pub use daemonset::daemonset;
use daemonset::daemonset_create;
pub use deployment::deployment;
pub use statefulset::statefulset;
use statefulset::statefulset_create;

/// How a workload's change ended.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub completed: bool,
    /// The lowest count of ready replicas at any step, and the desired count.
    pub min_ready: i32,
    pub desired: i32,
    /// Some step had created pods waiting for room that later appeared (capacity is tight:
    /// the rollout moved only because old pods were removed).
    pub waited: bool,
    /// New pods placed, by node, for the report.
    pub placed: usize,
    pub blocker: Option<Blocker>,
}

/// `intstr.GetScaledValueFromIntOrPercent`.
fn scaled(v: Option<&Value>, total: i32, round_up: bool, default_pct: i32) -> i32 {
    // Values the API server validates (0 or more, a percentage at most 100) are taken as
    // they are; anything else is clamped, never overflowed.
    let percent = |pct: i64| {
        let x = pct.clamp(0, 100) * total.max(0) as i64;
        (if round_up { (x + 99) / 100 } else { x / 100 }) as i32
    };
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0).clamp(0, i32::MAX as i64) as i32,
        Some(Value::String(s)) => match s.strip_suffix('%') {
            Some(p) => percent(p.trim().parse::<i64>().unwrap_or(0)),
            None => s
                .trim()
                .parse::<i64>()
                .unwrap_or(0)
                .clamp(0, i32::MAX as i64) as i32,
        },
        _ => percent(default_pct as i64),
    }
}

/// `ResolveFenceposts` and `MaxUnavailable` for a Deployment: (maxSurge, maxUnavailable).
pub fn fenceposts(deploy: &Value, replicas: i32) -> (i32, i32) {
    let ru = deploy.pointer("/spec/strategy/rollingUpdate");
    let surge = scaled(ru.and_then(|r| r.get("maxSurge")), replicas, true, 25);
    let mut unavailable = scaled(
        ru.and_then(|r| r.get("maxUnavailable")),
        replicas,
        false,
        25,
    );
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable.min(replicas))
}

/// A short, stable stand-in for `pod-template-hash`.
fn template_hash(template: &Value) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in template.to_string().bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..10)
        .map(|i| ALPHABET[((h >> (i * 6)) % ALPHABET.len() as u64) as usize] as char)
        .collect()
}

fn template_labels(w: &Workload, extra: Option<(&str, &str)>) -> Value {
    let mut labels = w
        .after
        .pointer("/spec/template/metadata/labels")
        .cloned()
        .unwrap_or_else(|| serde_json::json!({}));
    if let (Some((k, v)), Some(map)) = (extra, labels.as_object_mut()) {
        map.insert(k.to_string(), Value::String(v.to_string()));
    }
    labels
}

fn template_spec(w: &Workload) -> Value {
    w.after
        .pointer("/spec/template/spec")
        .cloned()
        .unwrap_or_default()
}

/// The old pods as the simulation sees them: their place in the cluster and readiness.
fn old_pods(sim: &Sim, w: &Workload) -> Vec<(usize, bool)> {
    w.pods
        .iter()
        .filter_map(|(name, ready)| {
            let i = sim.cluster.pod(&w.namespace, name)?;
            Some((i, *ready && sim.bound(i)))
        })
        .collect()
}

struct Counts {
    desired: i32,
    new: i32,
    new_ready: i32,
    old: i32,
    old_ready: i32,
    pending: i32,
}

fn step(w: &Workload, action: String, c: &Counts, blocker: Option<Blocker>) -> Step {
    Step {
        step: 0,
        subject: w.label(),
        action,
        desired: c.desired,
        new_replicas: c.new,
        new_ready: c.new_ready,
        old_replicas: c.old,
        old_ready: c.old_ready,
        pending: c.pending,
        blocker,
    }
}

/// The ReplicaSet-style pool of new pods: created in order, scheduled when room appears.
struct Pool {
    pods: Vec<NewPod>,
    owner: String,
    prefix: String,
    next: usize,
}

impl Pool {
    fn new(owner: String) -> Pool {
        Pool {
            prefix: owner.clone(),
            owner,
            pods: Vec::new(),
            next: 0,
        }
    }

    /// Creates `n` pods; stops at the first the API server refuses (the ReplicaSet
    /// controller's slow-start batch fails as a whole on the first error).
    fn create(&mut self, sim: &mut Sim, w: &Workload, owner_kind: &str, n: i32) -> Option<Blocker> {
        let spec = template_spec(w);
        let labels = template_labels(
            w,
            (owner_kind == "ReplicaSet").then_some(("pod-template-hash", self.hash())),
        );
        for _ in 0..n {
            self.next += 1;
            let name = format!("{}-{:05}", self.prefix, self.next);
            match sim.create(
                &w.namespace,
                &name,
                &labels,
                (owner_kind, &self.owner),
                &spec,
            ) {
                Ok(p) => {
                    sim.schedule(p.index);
                    self.pods.push(p);
                }
                Err(b) => return Some(b),
            }
        }
        None
    }

    fn hash(&self) -> &str {
        self.owner.rsplit('-').next().unwrap_or_default()
    }

    /// The scheduler retries pending pods when room appears.
    fn retry(&self, sim: &mut Sim) {
        for p in &self.pods {
            sim.schedule(p.index);
        }
    }

    /// The step's counts with this pool as the new pods.
    fn counts(&self, sim: &Sim, desired: i32, old: i32, old_ready: i32) -> Counts {
        Counts {
            desired,
            new: self.pods.len() as i32,
            new_ready: self.ready(sim),
            old,
            old_ready,
            pending: self.pending(sim),
        }
    }

    fn ready(&self, sim: &Sim) -> i32 {
        self.pods.iter().filter(|p| sim.ready(p.index)).count() as i32
    }

    fn pending(&self, sim: &Sim) -> i32 {
        self.pods.iter().filter(|p| !sim.bound(p.index)).count() as i32
    }

    /// The first pod that is not ready, with why.
    fn blocker(&self, sim: &Sim) -> Option<Blocker> {
        self.pods
            .iter()
            .find(|p| !sim.ready(p.index))
            .map(|p| sim.blocker(p.index))
    }
}

/// `ActivePodsWithRanks` in short: unplaced before placed, not ready before ready, pods
/// sharing a node with more of their siblings first, then by name (newest-first is not
/// known offline) — the old pods a scale-down deletes first.
fn deletion_order(sim: &Sim, old: &mut [(usize, bool)]) {
    let mut per_node: std::collections::BTreeMap<String, usize> = Default::default();
    for (i, _) in old.iter() {
        if let Some(n) = sim.cluster.node_of(*i) {
            *per_node.entry(n.name.clone()).or_default() += 1;
        }
    }
    let key = |i: usize, ready: bool| {
        let node = sim.cluster.node_of(i).map(|n| n.name.clone());
        let colocated = node.as_ref().map_or(0, |n| per_node[n]);
        (
            node.is_some(),
            ready,
            std::cmp::Reverse(colocated),
            sim.cluster.pods[i].name.clone(),
        )
    };
    old.sort_by_cached_key(|(i, r)| key(*i, *r));
}

fn finish(mut out: Outcome, sim: &Sim, pool: &Pool) -> Outcome {
    out.placed = pool.pods.iter().filter(|p| sim.bound(p.index)).count();
    out
}

/// A replica count changed, template unchanged: the ReplicaSet (or StatefulSet) creates
/// or deletes pods of the template it has.
pub fn scale(sim: &mut Sim, w: &Workload) -> Outcome {
    let before = w.replicas_before();
    let r = w.replicas_after();
    let mut old = old_pods(sim, w);
    let ready_now = old.iter().filter(|(_, ready)| *ready).count() as i32;
    let mut out = Outcome {
        desired: r,
        min_ready: ready_now.min(r),
        ..Outcome::default()
    };
    if r <= old.len() as i32 {
        deletion_order(sim, &mut old);
        let extra = old.len() - r as usize;
        for (i, _) in old.drain(..extra) {
            sim.delete(i, None);
        }
        let ready = old.iter().filter(|(_, r)| *r).count() as i32;
        let c = Counts {
            desired: r,
            new: 0,
            new_ready: 0,
            old: old.len() as i32,
            old_ready: ready,
            pending: 0,
        };
        sim.record(step(w, format!("scaled from {before} to {r}"), &c, None));
        out.completed = true;
        out.min_ready = ready;
        return out;
    }
    let owner_kind = match w.kind.as_str() {
        "Deployment" => "ReplicaSet",
        k => k,
    };
    let owner = current_owner(sim, w).unwrap_or_else(|| w.name.clone());
    let mut pool = Pool::new(owner);
    let wanted = r - old.len() as i32;
    let refused = if w.kind == "StatefulSet" {
        statefulset_create(sim, w, &mut pool, old.len() as i32, r)
    } else {
        pool.create(sim, w, owner_kind, wanted)
    };
    let c = pool.counts(sim, r, old.len() as i32, ready_now);
    let blocker = refused.or_else(|| (c.pending > 0).then(|| pool.blocker(sim)).flatten());
    sim.record(step(
        w,
        format!("scaled from {before} to {r}"),
        &c,
        blocker.clone(),
    ));
    out.completed = blocker.is_none();
    out.blocker = blocker;
    finish(out, sim, &pool)
}

/// The controller that owns the workload's current pods (a Deployment's current
/// ReplicaSet), so pods added by a scale carry the same owner.
fn current_owner(sim: &Sim, w: &Workload) -> Option<String> {
    let (name, _) = w.pods.first()?;
    let i = sim.cluster.pod(&w.namespace, name)?;
    sim.cluster.pods[i]
        .drain
        .controller
        .as_ref()
        .map(|(_, n)| n.clone())
}

/// A workload the change creates: a ReplicaSet creates all its pods at once, a
/// StatefulSet one ordinal at a time, a DaemonSet one per node it should run on, a Job
/// its parallelism.
pub fn create(sim: &mut Sim, w: &Workload) -> Outcome {
    let r = match w.kind.as_str() {
        "Job" => w
            .after
            .pointer("/spec/parallelism")
            .and_then(Value::as_i64)
            .unwrap_or(1) as i32,
        _ => w.replicas_after(),
    };
    let mut out = Outcome {
        desired: r,
        ..Outcome::default()
    };
    let hash = template_hash(w.after.pointer("/spec/template").unwrap_or(&Value::Null));
    let mut pool = Pool::new(format!("{}-{hash}", w.name));
    let refused = match w.kind.as_str() {
        "StatefulSet" => {
            pool = Pool::new(w.name.clone());
            statefulset_create(sim, w, &mut pool, 0, r)
        }
        "Job" => {
            pool = Pool::new(w.name.clone());
            pool.create(sim, w, "Job", r)
        }
        "DaemonSet" => return daemonset_create(sim, w),
        _ => pool.create(sim, w, "ReplicaSet", r),
    };
    let c = pool.counts(sim, r, 0, 0);
    out.min_ready = c.new_ready;
    let blocker = refused.or_else(|| (c.new_ready < r).then(|| pool.blocker(sim)).flatten());
    sim.record(step(
        w,
        format!("created with {r} replicas"),
        &c,
        blocker.clone(),
    ));
    out.completed = blocker.is_none();
    out.blocker = blocker;
    finish(out, sim, &pool)
}

/// The pods of a deleted workload go; nothing replaces them.
pub fn delete(sim: &mut Sim, w: &Workload) -> Outcome {
    let old = old_pods(sim, w);
    for (i, _) in &old {
        sim.delete(*i, None);
    }
    let c = Counts {
        desired: 0,
        new: 0,
        new_ready: 0,
        old: 0,
        old_ready: 0,
        pending: 0,
    };
    sim.record(step(
        w,
        format!("deleted with its {} pods", old.len()),
        &c,
        None,
    ));
    Outcome {
        completed: true,
        min_ready: 0,
        desired: 0,
        ..Outcome::default()
    }
}

/// The autoscaler at its maximum: `extra` more pods of the new template, placed where they
/// fit. Returns how many fit and, when not all do, why the first one does not.
pub fn headroom(sim: &mut Sim, w: &Workload, extra: i32) -> (i32, Option<Blocker>) {
    let hash = template_hash(w.after.pointer("/spec/template").unwrap_or(&Value::Null));
    let (owner_kind, mut pool) = match w.kind.as_str() {
        "StatefulSet" => ("StatefulSet", Pool::new(w.name.clone())),
        _ => ("ReplicaSet", Pool::new(format!("{}-{hash}", w.name))),
    };
    pool.prefix = format!("{}-hpa", pool.owner);
    // Identical pods: once one fits nowhere, the next would not either.
    let extra = extra.clamp(0, crate::impact::plan::MAX_REPLICAS as i32);
    let mut refused = None;
    for _ in 0..extra {
        refused = pool.create(sim, w, owner_kind, 1);
        if refused.is_some() || pool.pods.last().is_some_and(|p| !sim.bound(p.index)) {
            break;
        }
    }
    let fit = pool.ready(sim);
    let blocker = refused.or_else(|| (fit < extra).then(|| pool.blocker(sim)).flatten());
    let desired = w.replicas_after();
    let c = Counts {
        desired: desired + extra,
        new: desired + pool.pods.len() as i32,
        new_ready: desired + fit,
        old: 0,
        old_ready: 0,
        pending: pool.pending(sim),
    };
    let action = format!(
        "autoscaler at its maximum of {}: {} of {} replicas fit",
        desired + extra,
        desired + fit,
        desired + extra
    );
    sim.record(step(w, action, &c, blocker.clone()));
    (fit, blocker)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fenceposts_round_as_the_deployment_controller_does() {
        let d = |s: Value| json!({"spec": {"strategy": {"rollingUpdate": s}}});
        // Defaults 25%/25% of 10: surge rounds up (3), unavailable down (2).
        assert_eq!(fenceposts(&json!({}), 10), (3, 2));
        assert_eq!(fenceposts(&json!({}), 1), (1, 0));
        assert_eq!(
            fenceposts(&d(json!({"maxSurge": 0, "maxUnavailable": 0})), 4),
            (0, 1)
        );
        assert_eq!(
            fenceposts(&d(json!({"maxSurge": "50%", "maxUnavailable": "10%"})), 5),
            (3, 0)
        );
        assert_eq!(
            fenceposts(&d(json!({"maxSurge": 1, "maxUnavailable": 5})), 3),
            (1, 3)
        );
    }
}
