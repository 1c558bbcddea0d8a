//! The Deployment controller's rolling update (`rolloutRolling`) and Recreate.

use serde_json::Value;

use super::*;

/// The Deployment controller's rollout of a changed template.
pub fn deployment(sim: &mut Sim, w: &Workload) -> Outcome {
    if w.after.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
        // A paused Deployment's template changes roll out only once it is resumed.
        let ready = w.pods.iter().filter(|(_, r)| *r).count() as i32;
        let c = Counts {
            desired: w.replicas_after(),
            new: 0,
            new_ready: 0,
            old: w.pods.len() as i32,
            old_ready: ready,
            pending: 0,
        };
        let b = Blocker {
            kind: "paused".into(),
            subject: format!("{}/{}", w.namespace, w.name),
            message: format!(
                "Deployment {}/{} is paused (spec.paused): nothing rolls out until kubectl rollout resume",
                w.namespace, w.name
            ),
        };
        sim.record(step(w, "paused".into(), &c, Some(b.clone())));
        return Outcome {
            desired: w.replicas_after(),
            min_ready: ready,
            blocker: Some(b),
            ..Outcome::default()
        };
    }
    let r = w.replicas_after();
    let hash = template_hash(w.after.pointer("/spec/template").unwrap_or(&Value::Null));
    let mut pool = Pool::new(format!("{}-{hash}", w.name));
    if let Some(why) = w.crash.clone() {
        sim.predict_crash(&w.namespace, "ReplicaSet", &pool.owner, why);
    }
    let mut old = old_pods(sim, w);
    let recreate = w
        .after
        .pointer("/spec/strategy/type")
        .and_then(Value::as_str)
        == Some("Recreate");
    let (surge, unavailable) = fenceposts(&w.after, r);
    let mut out = Outcome {
        desired: r,
        min_ready: old.iter().filter(|(_, ready)| *ready).count() as i32,
        ..Outcome::default()
    };
    let counts = |sim: &Sim, pool: &Pool, old: &[(usize, bool)]| {
        pool.counts(
            sim,
            r,
            old.len() as i32,
            old.iter().filter(|(_, ready)| *ready).count() as i32,
        )
    };
    if recreate {
        for (i, _) in std::mem::take(&mut old) {
            sim.delete(i, None);
        }
        let blocked = pool.create(sim, w, "ReplicaSet", r);
        let c = counts(sim, &pool, &old);
        out.min_ready = 0;
        let blocker = blocked.or_else(|| (c.new_ready < r).then(|| pool.blocker(sim)).flatten());
        out.completed = blocker.is_none();
        out.placed = (c.new - c.pending) as usize;
        let action = format!(
            "Recreate: old pods deleted, new ReplicaSet {} scaled to {r}",
            pool.owner
        );
        sim.record(step(w, action, &c, blocker.clone()));
        out.blocker = blocker;
        return out;
    }
    // Each pass is one sync of the controller: scale up if it can, else scale down.
    for _ in 0..(4 * r as usize + 8) {
        pool.retry(sim);
        let c = counts(sim, &pool, &old);
        if c.pending > 0 {
            out.waited = true;
        }
        let all = c.new + c.old;
        // NewRSNewReplicas.
        let max_total = r + surge;
        if all < max_total && c.new < r {
            let up = (max_total - all).min(r - c.new);
            let refused = pool.create(sim, w, "ReplicaSet", up);
            let c = counts(sim, &pool, &old);
            let created = c.new - (all - c.old);
            out.min_ready = out.min_ready.min(c.new_ready + c.old_ready);
            if c.pending > 0 {
                out.waited = true;
            }
            let action = if refused.is_some() && created == 0 {
                format!(
                    "new ReplicaSet {}: the API server refuses its pods",
                    pool.owner
                )
            } else {
                format!("new ReplicaSet {} scaled up to {}", pool.owner, c.new)
            };
            if let Some(b) = refused {
                sim.record(step(w, action, &c, Some(b.clone())));
                if created == 0 {
                    out.blocker = Some(b);
                    return finish(out, sim, &pool);
                }
                continue;
            }
            sim.record(step(w, action, &c, None));
            continue;
        }
        // reconcileOldReplicaSets.
        if !old.is_empty() {
            let min_available = r - unavailable;
            let new_unavailable = c.new - c.new_ready;
            let max_scaled_down = all - min_available - new_unavailable;
            if max_scaled_down > 0 {
                deletion_order(sim, &mut old);
                let mut removed = 0;
                // cleanupUnhealthyReplicas: old pods that are not available go first.
                let unhealthy: Vec<usize> = old
                    .iter()
                    .filter(|(_, ready)| !ready)
                    .map(|(i, _)| *i)
                    .take(max_scaled_down as usize)
                    .collect();
                for i in &unhealthy {
                    sim.delete(*i, None);
                    removed += 1;
                }
                old.retain(|(i, _)| !unhealthy.contains(i));
                // scaleDownOldReplicaSetsForRollingUpdate.
                let available = old.iter().filter(|(_, r)| *r).count() as i32 + c.new_ready;
                if available > min_available {
                    let down = ((available - min_available) as usize).min(old.len());
                    for (i, _) in old.drain(..down) {
                        sim.delete(i, None);
                        removed += 1;
                    }
                }
                if removed > 0 {
                    pool.retry(sim);
                    let c = counts(sim, &pool, &old);
                    out.min_ready = out.min_ready.min(c.new_ready + c.old_ready);
                    let action = format!("old pods scaled down to {}", c.old);
                    sim.record(step(w, action, &c, None));
                    continue;
                }
            }
        }
        if old.is_empty() && c.new_ready == r {
            out.completed = true;
            break;
        }
        // Neither direction can move: the rollout is stuck here.
        let blocker = pool.blocker(sim);
        let action = format!(
            "stuck: {} of {} new pods ready, {} old pods left",
            c.new_ready, r, c.old
        );
        sim.record(step(w, action, &c, blocker.clone()));
        out.blocker = blocker;
        break;
    }
    finish(out, sim, &pool)
}
