//! `probe`: misconfigured probes (readiness on the wrong port, a liveness probe that kills
//! a slow starter). Split out of the fault group so that the family fits in one file.

use serde_json::{Value, json};

use crate::scenario::Fault;
use crate::signals::{LogLine, Previous};
use crate::topology::Topology;
use crate::world::World;

use super::controllers::{progressing, reconcile};
use super::pod::{
    CState, add_pod_signals, pod_created, pulled_fresh, scheduled_event, set_status, start_events,
};
use super::rollout::rollout_stuck;
use super::scheduler::place;

/// `probe`: a probe that is wrong for the app.
///
/// - `cause: readiness-wrong-port`: the change points the readiness probe at `port`
///   (default the container port + 1) where nothing listens: the new pods run but stay 0/1
///   Ready (`Readiness probe failed: … connect: connection refused`), their EndpointSlice
///   endpoints are not ready; with `strategy: Recreate` no old pod is left to serve and the
///   Service has no ready endpoint at all.
/// - `cause: liveness-slow-start`: the change sets the liveness probe's
///   `initialDelaySeconds` (default 5) while the new version needs `startupSeconds` (default
///   110) to load its `model` (default `collab-filter-v4`): the kubelet kills each start
///   (`Liveness probe failed: HTTP probe failed with statuscode: 503`, `Container x failed
///   liveness probe, will be restarted`), the app ignores SIGTERM while loading and dies by
///   SIGKILL (`Error`, exit 137) after the grace period, then CrashLoopBackOff; the previous
///   log shows it still loading model shards.
pub(super) fn probe(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
    match f.str("cause") {
        Some("readiness-wrong-port") => readiness_wrong_port(world, topo, f),
        Some("liveness-slow-start") => liveness_slow_start(world, topo, f),
        other => Err(format!(
            "unknown probe cause {other:?} (readiness-wrong-port, liveness-slow-start)"
        )),
    }
}

fn readiness_wrong_port(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
    let ns = f.namespace.clone();
    let app = f.app()?.to_string();
    let c0 = world
        .get("Deployment", &ns, &app)
        .map(|d| d["spec"]["template"]["spec"]["containers"][0].clone())
        .ok_or_else(|| format!("no Deployment {ns}/{app}"))?;
    let cport = c0["ports"][0]["containerPort"].as_u64().unwrap_or(8080);
    let port = f.num("port").map(|p| p as u64).unwrap_or(cport + 1);
    if port == cport {
        return Err(format!("port {port} is the port {app} listens on"));
    }
    let http = c0["readinessProbe"]["httpGet"].is_object();
    let path = c0["readinessProbe"]["httpGet"]["path"]
        .as_str()
        .unwrap_or("/")
        .to_string();
    let r = rollout_stuck(world, topo, f, &mut |t: &mut Value| {
        let p = &mut t["spec"]["containers"][0]["readinessProbe"];
        if http {
            p["httpGet"]["port"] = json!(port);
        } else {
            p["tcpSocket"]["port"] = json!(port);
        }
    })?;
    for pod in &r.new_pods {
        let created = pod_created(world, &ns, pod);
        let node = place(world, topo, &ns, pod)?;
        scheduled_event(world, &ns, pod, &node, created);
        let started = start_events(world, &ns, pod, &r, created);
        let state = json!({"running": {"startedAt": world.at(started)}});
        set_status(
            world,
            &ns,
            pod,
            &node,
            created,
            "Running",
            &CState::new(state, false, true),
        );
        if let Some(sig) = &r.sig {
            let mut s = sig.clone();
            s.rps = 0.0;
            add_pod_signals(world, s, &ns, pod, &node, started);
        }
        let ip = world
            .get("Pod", &ns, pod)
            .and_then(|p| p["status"]["podIP"].as_str())
            .unwrap_or_default()
            .to_string();
        let msg = if http {
            format!(
                "Get \"http://{ip}:{port}{path}\": dial tcp {ip}:{port}: connect: connection refused"
            )
        } else {
            format!("dial tcp {ip}:{port}: connect: connection refused")
        };
        world.probe_failing(&ns, pod, &r.container, "Readiness", &msg, started - 0.02);
    }
    reconcile(world, &ns, &app, f.since);
    progressing(world, &ns, &app, &r.rs, f.since, true);
    Ok(())
}

fn liveness_slow_start(world: &mut World, topo: &mut Topology, f: &Fault) -> Result<(), String> {
    let ns = f.namespace.clone();
    let app = f.app()?.to_string();
    let dep = world
        .get("Deployment", &ns, &app)
        .cloned()
        .ok_or_else(|| format!("no Deployment {ns}/{app}"))?;
    let tspec = &dep["spec"]["template"]["spec"];
    let live = &tspec["containers"][0]["livenessProbe"];
    if !live.is_object() {
        return Err(format!("{app} has no liveness probe"));
    }
    let delay = f.num("initialDelaySeconds").unwrap_or(5.0);
    let needs = f.num("startupSeconds").unwrap_or(110.0);
    let period = live["periodSeconds"].as_f64().unwrap_or(10.0);
    let threshold = live["failureThreshold"].as_f64().unwrap_or(3.0);
    let grace = tspec["terminationGracePeriodSeconds"]
        .as_f64()
        .unwrap_or(30.0);
    let kill = delay + period * threshold;
    if kill >= needs {
        return Err(format!(
            "the liveness probe gives up after {kill}s but the app is up after {needs}s: no kill"
        ));
    }
    let model = f.str("model").unwrap_or("collab-filter-v4").to_string();
    let r = rollout_stuck(world, topo, f, &mut |t: &mut Value| {
        t["spec"]["containers"][0]["livenessProbe"]["initialDelaySeconds"] = json!(delay as u64);
    })?;
    let run = kill + grace;
    let shards = 9u32;
    let per_shard = needs / shards as f64;
    for pod in &r.new_pods {
        let created = pod_created(world, &ns, pod);
        let node = place(world, topo, &ns, pod)?;
        let uid = world
            .get("Pod", &ns, pod)
            .and_then(|p| p["metadata"]["uid"].as_str())
            .unwrap_or_default()
            .to_string();
        // The container's lives: start, killed `run` s later, back-off, again.
        let horizon = created * 60.0;
        let mut starts = vec![4.0];
        let mut backoff = 10.0f64;
        loop {
            let next = starts[starts.len() - 1] + run + backoff;
            if next > horizon {
                break;
            }
            starts.push(next);
            backoff = (backoff * 2.0).min(300.0);
        }
        let last = starts[starts.len() - 1];
        let running = horizon < last + run;
        let ago = |s: f64| created - s / 60.0;
        let restarts = starts.len() as u64 - 1;
        let kills = if running { restarts } else { restarts + 1 };
        let c = r.container.clone();
        let (state, term) = if running {
            let prev = starts.len().checked_sub(2).map(|i| starts[i]);
            (
                json!({"running": {"startedAt": world.at(ago(last))}}),
                prev.map(|p| (p, p + run)),
            )
        } else {
            (
                json!({"waiting": {"reason": "CrashLoopBackOff",
                    "message": format!("back-off {} restarting failed container={c} pod={pod}_{ns}({uid})", go_duration(backoff))}}),
                Some((last, last + run)),
            )
        };
        let mut cs = CState::new(state, false, running);
        cs.restarts = restarts;
        cs.image_id = true;
        if let Some((s, e)) = term {
            cs.last = Some(json!({"terminated": {"reason": "Error", "exitCode": 137,
                "startedAt": world.at(ago(s)), "finishedAt": world.at(ago(e)),
                "containerID": format!("containerd://{:016x}{:016x}", world.rng.next_u64(), world.rng.next_u64())}}));
        }
        set_status(world, &ns, pod, &node, created, "Running", &cs);
        scheduled_event(world, &ns, pod, &node, created);
        if r.image_changed {
            pulled_fresh(world, &ns, pod, &r.image, created - 0.01);
        }
        let obj = ("Pod", ns.as_str(), pod.as_str());
        let n = starts.len() as u64;
        let k = "kubelet";
        let first_kill = ago(starts[0] + kill);
        let last_kill = ago(if running {
            starts[starts.len() - 2] + kill
        } else {
            last + kill
        });
        world.event(
            obj,
            "Normal",
            "Created",
            &format!("Created container {c}"),
            k,
            ago(starts[0]),
            ago(last),
            n,
        );
        world.event(
            obj,
            "Normal",
            "Started",
            &format!("Started container {c}"),
            k,
            ago(starts[0]),
            ago(last),
            n,
        );
        if n > 1 {
            world.event(
                obj,
                "Normal",
                "Pulled",
                &format!("Container image \"{}\" already present on machine", r.image),
                k,
                ago(starts[1]),
                ago(last),
                n - 1,
            );
        }
        if kills > 0 {
            world.event(
                obj,
                "Warning",
                "Unhealthy",
                "Liveness probe failed: HTTP probe failed with statuscode: 503",
                k,
                ago(starts[0] + delay + period),
                last_kill,
                kills * threshold as u64,
            );
            world.event(
                obj,
                "Normal",
                "Killing",
                &format!("Container {c} failed liveness probe, will be restarted"),
                k,
                first_kill,
                last_kill,
                kills,
            );
        }
        world.event(
            obj,
            "Warning",
            "Unhealthy",
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
            k,
            ago(starts[0] + period),
            if running { 0.1 } else { ago(last + kill) },
            (n as f64 * kill / period).max(1.0) as u64,
        );
        if restarts > 0 || !running {
            world.event(
                obj,
                "Warning",
                "BackOff",
                &format!("Back-off restarting failed container {c} in pod {pod}_{ns}({uid})"),
                k,
                ago(starts[0] + run + 1.0),
                if running { ago(last) + 0.05 } else { 0.2 },
                (restarts * 2).max(1),
            );
        }
        // What the app wrote in its last lives: loading shards until it was killed.
        let load_lines = |start: f64, until: f64| -> Vec<LogLine> {
            let mut out = Vec::new();
            let at = |s: f64| (ago(start + s)).max(0.0);
            out.push(LogLine {
                minutes_ago: at(0.4),
                text: format!("{{\"level\":\"info\",\"msg\":\"loading model\",\"model\":\"{model}\",\"shards\":{shards},\"path\":\"/models/{model}\"}}"),
            });
            for i in 1..=shards {
                let t = per_shard * i as f64;
                if t >= until {
                    break;
                }
                out.push(LogLine {
                    minutes_ago: at(t),
                    text: format!(
                        "{{\"level\":\"info\",\"msg\":\"loading model shard {i}/{shards}\",\"model\":\"{model}\",\"elapsed_ms\":{}}}",
                        (t * 1000.0) as u64
                    ),
                });
            }
            if until >= kill {
                out.push(LogLine {
                    minutes_ago: at(kill + 0.01),
                    text: "{\"level\":\"info\",\"msg\":\"received signal, shutting down\",\"signal\":\"terminated\"}".into(),
                });
                out.push(LogLine {
                    minutes_ago: at(kill + 0.02),
                    text: format!("{{\"level\":\"warn\",\"msg\":\"model loader still running, waiting for it before exit\",\"grace_period\":\"{}s\"}}", grace as u64),
                });
            }
            out
        };
        if let Some(sig) = &r.sig {
            let mut s = sig.clone();
            s.rps = 0.0;
            s.running = running;
            let cur_start = if running { last } else { starts[0] };
            s.started_minutes_ago = ago(cur_start);
            if let Some((ps, pe)) = term {
                s.previous = Some(Previous {
                    started_minutes_ago: ago(ps),
                    ended_minutes_ago: ago(pe),
                    last_lines: Vec::new(),
                });
                s.extra_lines.extend(load_lines(ps, run));
            }
            if running {
                s.extra_lines.extend(load_lines(last, horizon - last));
            }
            add_pod_signals(world, s, &ns, pod, &node, ago(cur_start));
            if !running {
                if let Some(x) = world.signals_mut(&ns, pod, &c) {
                    x.running = false;
                }
            }
        }
    }
    reconcile(world, &ns, &app, f.since);
    progressing(world, &ns, &app, &r.rs, f.since, true);
    Ok(())
}

/// A Go duration as the kubelet prints it (`10s`, `1m20s`, `5m0s`).
fn go_duration(secs: f64) -> String {
    let s = secs.round() as u64;
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{}s", s / 60, s % 60)
    }
}
