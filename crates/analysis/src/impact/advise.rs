//! Which strategies to try for what blocked the change, each simulated: the blocker's
//! kind says what could help (room: pre-scale a pool, a canary, one pod at a time; a
//! taint: tolerate it; a selector no node satisfies: fix it; a quota: raise it; a
//! measured memory over the limit: raise it, with room for it), and only strategies that
//! improve the verdict are kept, ranked by verdict, then risk.

use serde_json::Value;

use intel_model::Snapshot;
use intel_model::quantity::milli_value;
use intel_scheduler::Cluster;

use super::admission::quantity_text;
use super::change::{Change, Edit};
use super::plan::Plan;
use super::project::{self, Projection, mib};
use super::rollout::fenceposts;
use super::run::{Ground, Run, Verdict};
use super::strategy::{self, Candidate, Strategy, try_edits};
use super::target::Workload;

/// Among strategies with the same verdict and risk: the ones that let the whole change
/// through first, a canary (a trial, not the change) and fewer replicas last.
fn kind_rank(k: &str) -> u8 {
    match k {
        "pre-scale" => 0,
        "raise-limit" => 1,
        "raise-quota" => 2,
        "fix-node-selector" => 3,
        "tolerate-taint" => 4,
        "lower-surge" => 5,
        "rolling-update" => 5,
        "resume" => 3,
        "relax-budget" => 6,
        "within-limit-range" => 6,
        "canary" => 7,
        "fewer-replicas" => 8,
        _ => 9,
    }
}

fn risk_rank(r: &str) -> u8 {
    match r {
        "low" => 0,
        "medium" => 1,
        _ => 2,
    }
}

/// `node(s) had untolerated taint {key: value}` → (key, value).
fn taint_in(message: &str) -> Option<(String, Option<String>)> {
    let at = message.find("untolerated taint {")? + "untolerated taint {".len();
    let rest = &message[at..];
    let inner = &rest[..rest.find('}')?];
    match inner.split_once(": ") {
        Some((k, v)) if !v.is_empty() => Some((k.to_string(), Some(v.to_string()))),
        Some((k, _)) => Some((k.to_string(), None)),
        None => Some((inner.trim_end_matches(':').to_string(), None)),
    }
}

/// `requested: a=1,b=2, used: …, limited: …` → the three lists.
fn quota_lists(message: &str) -> Option<[Vec<(String, String)>; 3]> {
    let req = message.split("requested: ").nth(1)?;
    let (req, rest) = req.split_once(", used: ")?;
    let (used, limited) = rest.split_once(", limited: ")?;
    let list = |s: &str| -> Vec<(String, String)> {
        s.split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect()
    };
    Some([list(req), list(used), list(limited)])
}

fn quota_name(message: &str) -> Option<&str> {
    let at = message.find("exceeded quota: ")? + "exceeded quota: ".len();
    message[at..].split(',').next()
}

#[allow(clippy::too_many_arguments)]
pub fn advise(
    snap: &Snapshot,
    ground: &Ground,
    cluster: &mut Cluster,
    change: &Change,
    plan: &Plan,
    run: &Run,
    projections: &[Projection],
) -> Vec<Strategy> {
    let prepare = |p: &mut Plan| project::apply(projections, p);
    // Every strategy that adds to the change ends with the change itself.
    let then = strategy::change_commands(cluster, change, plan);
    let mut candidates: Vec<Candidate> = Vec::new();
    let failing = run
        .workloads
        .iter()
        .find(|w| w.blocker.is_some())
        .and_then(|r| {
            let w = plan.workloads.iter().find(|w| w.label() == r.subject)?;
            Some((w, r.blocker.clone()?))
        });
    let mut room = run.verdict == Verdict::Risky
        || run
            .node_blockers
            .iter()
            .any(|b| !matches!(b.kind.as_str(), "pdb" | "drain"));
    let mut crash_fix: Option<Candidate> = None;
    if let Some((w, b)) = &failing {
        match b.kind.as_str() {
            "capacity" | "topology-spread" | "anti-affinity" | "pod-affinity" | "volume-zone"
            | "no-nodes" | "cordoned" => {
                room = true;
                if b.kind == "capacity" {
                    candidates.extend(strategy::lower_surge(w));
                }
                if let Some(n) = fits_beside(run, w) {
                    candidates.extend(strategy::canary(w, n));
                }
                if matches!(b.kind.as_str(), "anti-affinity" | "topology-spread") {
                    let placed = run
                        .steps
                        .iter()
                        .filter(|s| s.subject == w.label())
                        .map(|s| s.new_ready + s.old_ready)
                        .max()
                        .unwrap_or(0);
                    if placed > 0 && placed < w.replicas_after() {
                        candidates.push(strategy::fewer_replicas(w, placed));
                    }
                }
            }
            "taint" => {
                if let Some((key, value)) = taint_in(&b.message) {
                    let effect = cluster
                        .nodes
                        .iter()
                        .flat_map(|n| n.taints.iter())
                        .find(|t| {
                            t.key == key
                                && t.value.as_deref().filter(|v| !v.is_empty()) == value.as_deref()
                        })
                        .map(|t| t.effect.clone())
                        .unwrap_or_else(|| "NoSchedule".into());
                    candidates.push(strategy::tolerate(w, &key, value.as_deref(), &effect));
                }
            }
            "node-affinity" => {
                let selector = w
                    .after
                    .pointer("/spec/template/spec/nodeSelector")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                for (k, v) in selector {
                    let v = v.as_str().unwrap_or_default();
                    if cluster
                        .nodes
                        .iter()
                        .any(|n| n.labels.get(&k).map(String::as_str) == Some(v))
                    {
                        continue;
                    }
                    let mut values: Vec<&str> = cluster
                        .nodes
                        .iter()
                        .filter_map(|n| n.labels.get(&k).map(String::as_str))
                        .collect();
                    values.sort();
                    values.dedup();
                    let existing = (values.len() == 1).then(|| values[0]);
                    candidates.push(strategy::fix_selector(w, &k, v, existing));
                }
            }
            "quota" => {
                candidates.extend(strategy::lower_surge(w));
                if let (Some(name), Some([req, used, _])) =
                    (quota_name(&b.message), quota_lists(&b.message))
                {
                    let quota = plan
                        .quotas
                        .iter()
                        .find(|q| q.pointer("/metadata/name").and_then(Value::as_str) == Some(name))
                        .cloned()
                        .or_else(|| {
                            snap.items("", "resourcequotas")
                                .iter()
                                .find(|o| o.meta.name == name && o.meta.namespace == w.namespace)
                                .map(|o| o.value())
                        });
                    let surge = fenceposts(&w.after, w.replicas_after()).0.max(1) as i64;
                    let hard: Vec<(String, String)> = req
                        .iter()
                        .filter_map(|(k, r)| {
                            let u = used
                                .iter()
                                .find(|(x, _)| x == k)
                                .and_then(|(_, u)| milli_value(u))?;
                            let need = u + milli_value(r)? * surge;
                            Some((k.clone(), quantity_text(need, r.ends_with('i'))))
                        })
                        .collect();
                    if let Some(q) = quota.filter(|_| !hard.is_empty()) {
                        candidates.extend(strategy::raise_quota(&q, &hard));
                    }
                }
            }
            "paused" => candidates.push(strategy::resume(w)),
            "limit-range" => {
                // `maximum memory usage per Container is 8Gi, but limit is 20Gi`.
                let m = &b.message;
                let parsed = m.split("maximum ").nth(1).and_then(|rest| {
                    let (res, rest) = rest.split_once(" usage per Container is ")?;
                    let (max, limit) = rest.split_once(", but limit is ")?;
                    Some((res.to_string(), max.to_string(), limit.trim().to_string()))
                });
                if let Some((res, max, limit)) = parsed {
                    let container = w
                        .after
                        .pointer("/spec/template/spec/containers")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .find(|c| {
                            c.pointer(&format!("/resources/limits/{res}"))
                                .and_then(Value::as_str)
                                == Some(limit.as_str())
                        })
                        .and_then(|c| c.get("name").and_then(Value::as_str))
                        .map(str::to_string);
                    if let Some(c) = container {
                        candidates.push(strategy::within_limit_range(w, &c, &res, &max, &limit));
                    }
                }
            }
            "crash" => {
                for p in projections.iter().filter(|p| p.workload == w.label()) {
                    if let (Some(n), Some(l)) = (p.new_memory_p95, p.memory_limit) {
                        if n > l {
                            let request = mib(n + n / 10);
                            let limit = mib(n + n / 2);
                            crash_fix =
                                Some(strategy::raise_limit(w, &p.container, &request, &limit));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for r in run.workloads.iter().filter(|r| r.outage()) {
        if let Some(w) = plan.workloads.iter().find(|w| w.label() == r.subject) {
            candidates.extend(strategy::rolling_instead(w));
        }
    }
    for b in &run.node_blockers {
        if b.kind == "pdb" {
            if let Some(pdb) = budget_of(snap, cluster, &b.subject) {
                candidates.extend(strategy::relax_budget(&pdb));
            }
        }
    }
    if run
        .workloads
        .iter()
        .any(|w| w.autoscaler.as_ref().is_some_and(|a| a.blocker.is_some()))
    {
        room = true;
    }
    // A strategy's commands: its own (the infrastructure first), then those of the change
    // with its edits, as one list without repeats.
    let commands_of = |cluster: &Cluster, own: &[String], edits: &[Edit], replaces: bool| {
        let mut c = change.clone();
        if replaces {
            c.edits.clear();
        }
        c.edits.extend(edits.iter().cloned());
        let then = Plan::resolve(snap, &c)
            .map(|p| strategy::change_commands(cluster, &c, &p))
            .unwrap_or_default();
        let mut all: Vec<String> = Vec::new();
        for cmd in own.iter().chain(&then) {
            if !all.contains(cmd) {
                all.push(cmd.clone());
            }
        }
        all
    };
    let mut out: Vec<Strategy> = Vec::new();
    let evaluate = |cluster: &mut Cluster,
                    c: Candidate,
                    base: &[Edit],
                    out: &mut Vec<Strategy>|
     -> Option<Verdict> {
        let mut edits = base.to_vec();
        edits.extend(c.edits.iter().cloned());
        let r = try_edits(
            snap,
            ground,
            cluster,
            change,
            &edits,
            c.replaces_change,
            &prepare,
        )?;
        if r.verdict < run.verdict {
            let commands = commands_of(cluster, &c.commands, &edits, c.replaces_change);
            out.push(finish(c, edits, &r, commands));
        }
        Some(r.verdict)
    };
    for c in candidates {
        evaluate(cluster, c, &[], &mut out);
    }
    if let Some(fix) = crash_fix {
        let base = fix.edits.clone();
        let verdict = evaluate(cluster, fix.clone_shallow(), &[], &mut out);
        if verdict == Some(Verdict::Fails) {
            // The raised memory does not fit everywhere: room for it too.
            for (pool, from, to, r) in
                strategy::pre_scale(snap, ground, cluster, change, &base, &prepare, run.verdict)
            {
                let mut s = pre_scale_strategy(cluster, &pool, from, to, &r, &base);
                s.title = format!("{} and {}", fix.title, s.title.to_lowercase());
                s.commands = commands_of(cluster, &s.commands, &s.edits, false);
                out.push(s);
            }
        }
    }
    if room {
        for (pool, from, to, r) in
            strategy::pre_scale(snap, ground, cluster, change, &[], &prepare, run.verdict)
        {
            let mut s = pre_scale_strategy(cluster, &pool, from, to, &r, &[]);
            s.commands = commands_of(cluster, &s.commands, &s.edits, false);
            out.push(s);
        }
    }
    if run.verdict == Verdict::Safe {
        out.push(proceed(plan, run, &then));
    }
    out.sort_by(|a, b| {
        a.verdict
            .cmp(&b.verdict)
            .then_with(|| risk_rank(&a.risk).cmp(&risk_rank(&b.risk)))
            .then_with(|| kind_rank(&a.kind).cmp(&kind_rank(&b.kind)))
            .then_with(|| a.title.cmp(&b.title))
    });
    out
}

impl Candidate {
    fn clone_shallow(&self) -> Candidate {
        Candidate {
            kind: self.kind,
            title: self.title.clone(),
            why: self.why.clone(),
            risk: self.risk,
            edits: self.edits.clone(),
            replaces_change: self.replaces_change,
            commands: self.commands.clone(),
            rollback: self.rollback.clone(),
        }
    }
}

fn outcome_text(r: &Run) -> String {
    match (r.verdict, r.first_blocked()) {
        (Verdict::Fails, Some(s)) => format!(
            "still fails at step {}: {}",
            s.step,
            s.blocker.as_ref().map_or("", |b| b.message.as_str())
        ),
        (Verdict::Risky, _) => format!(
            "completes in {} steps, but some step waits for room",
            r.steps.len()
        ),
        _ => format!(
            "completes in {} steps, every new pod placed when created",
            r.steps.len()
        ),
    }
}

fn finish(c: Candidate, edits: Vec<Edit>, r: &Run, commands: Vec<String>) -> Strategy {
    Strategy {
        kind: c.kind.into(),
        title: c.title,
        why: c.why,
        risk: c.risk.into(),
        edits,
        replaces_change: c.replaces_change,
        verdict: r.verdict,
        outcome: outcome_text(r),
        commands,
        verify: verify(r),
        rollback: c.rollback,
    }
}

fn verify(r: &Run) -> Vec<String> {
    r.workloads
        .iter()
        .filter(|w| w.action != "delete" && w.action != "unchanged")
        .map(|w| {
            format!(
                "kubectl -n {} rollout status {}/{} --timeout=10m",
                crate::diagnose::remedy::values::shell_quote(&w.namespace),
                w.kind.to_ascii_lowercase(),
                crate::diagnose::remedy::values::shell_quote(&w.name)
            )
        })
        .collect()
}

fn pre_scale_strategy(
    cluster: &Cluster,
    pool: &str,
    from: usize,
    to: usize,
    r: &Run,
    base: &[Edit],
) -> Strategy {
    let mut edits = base.to_vec();
    edits.push(Edit::ScaleNodes {
        pool: pool.into(),
        nodes: to,
    });
    Strategy {
        kind: "pre-scale".into(),
        title: format!("Pre-scale node pool {pool} from {from} to {to} nodes before the change"),
        why: format!(
            "the change needs room the cluster does not have; {} more node(s) like the pool's are the fewest that let it {}",
            to - from,
            if r.verdict == Verdict::Safe {
                "go through without waiting"
            } else {
                "complete"
            }
        ),
        risk: "low".into(),
        edits,
        replaces_change: false,
        verdict: r.verdict,
        outcome: outcome_text(r),
        commands: strategy::scale_commands(cluster, pool, to),
        verify: vec![format!(
            "kubectl get nodes -l {} --no-headers | wc -l   # expect {to}",
            nodes_selector(cluster, pool)
        )],
        rollback: vec![format!(
            "scale node pool {pool} back to {from} nodes once the change is done, if the room is no longer needed"
        )],
    }
}

fn nodes_selector(cluster: &Cluster, pool: &str) -> String {
    let key = super::nodes::pools(cluster)
        .get(pool)
        .map(|(k, _)| k.clone())
        .unwrap_or_default();
    crate::diagnose::remedy::values::shell_quote(&format!("{key}={pool}"))
}

/// How many new pods fit beside every old one: the new pods ready before the first old
/// pod was removed, at least one.
fn fits_beside(run: &Run, w: &Workload) -> Option<i32> {
    let steps: Vec<_> = run
        .steps
        .iter()
        .filter(|s| s.subject == w.label())
        .collect();
    let first = steps.first()?;
    let n = first.new_ready;
    (n >= 1 && first.old_replicas == w.replicas_before()).then_some(n)
}

fn budget_of(snap: &Snapshot, cluster: &Cluster, pod: &str) -> Option<Value> {
    let (ns, name) = pod
        .rsplit_once(' ')
        .map_or(pod, |(_, p)| p)
        .split_once('/')?;
    let i = cluster.pod(ns, name)?;
    let labels = &cluster.pods[i].labels;
    let b = cluster.pdbs.iter().find(|b| {
        b.namespace == ns
            && intel_scheduler::selectors::label_selector_matches(b.selector.as_ref(), labels)
    })?;
    snap.items("policy", "poddisruptionbudgets")
        .iter()
        .find(|o| o.meta.namespace == b.namespace && o.meta.name == b.name)
        .map(|o| o.value())
}

fn proceed(plan: &Plan, run: &Run, then: &[String]) -> Strategy {
    let subjects: Vec<String> = plan.workloads.iter().map(Workload::label).collect();
    Strategy {
        kind: "proceed".into(),
        title: if subjects.is_empty() {
            "Proceed with the change as it is".into()
        } else {
            format!(
                "Proceed with the change to {} as it is",
                subjects.join(", ")
            )
        },
        why: "every step of the simulated change fits: each new pod is placed when it is created"
            .into(),
        risk: "low".into(),
        edits: Vec::new(),
        replaces_change: false,
        verdict: run.verdict,
        outcome: outcome_text(run),
        commands: then.to_vec(),
        verify: verify(run),
        rollback: plan
            .workloads
            .iter()
            .filter(|w| {
                w.before.is_some()
                    && matches!(w.kind.as_str(), "Deployment" | "StatefulSet" | "DaemonSet")
            })
            .map(|w| {
                format!(
                    "kubectl -n {} rollout undo {}/{}",
                    crate::diagnose::remedy::values::shell_quote(&w.namespace),
                    w.kind.to_ascii_lowercase(),
                    crate::diagnose::remedy::values::shell_quote(&w.name)
                )
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_read_back() {
        assert_eq!(
            taint_in(
                "0/3 nodes are available: 3 node(s) had untolerated taint {dedicated: gpu}. preemption: …"
            ),
            Some(("dedicated".into(), Some("gpu".into())))
        );
        let m = "pods \"w\" is forbidden: exceeded quota: compute, requested: requests.cpu=1,requests.memory=2Gi, used: requests.cpu=3,requests.memory=7Gi, limited: requests.cpu=4,requests.memory=8Gi";
        assert_eq!(quota_name(m), Some("compute"));
        let [r, u, l] = quota_lists(m).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(u[1], ("requests.memory".into(), "7Gi".into()));
        assert_eq!(l[0], ("requests.cpu".into(), "4".into()));
    }
}
