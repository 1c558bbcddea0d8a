//! `cronjob-stopped`: a CronJob suspended and forgotten, with the history its last runs
//! left behind.

use serde_json::{Value, json};

use crate::scenario::Fault;
use crate::world::World;

use super::cluster::owner_of;
use super::{instant, managed, record_edit};

// -- CronJobs -----------------------------------------------------------------------------------

/// Minutes before capture of the last time a cron schedule fired at or before
/// `minutes_ago` (`*/N * * * *`, `M * * * *`, `M H * * *`; anything else: `minutes_ago`).
fn last_fire(world: &World, schedule: &str, minutes_ago: f64) -> f64 {
    let t = instant(world, minutes_ago).as_second();
    let f: Vec<&str> = schedule.split_whitespace().collect();
    if f.len() != 5 {
        return minutes_ago;
    }
    let cap = world.capture.as_second();
    let fire = if let Some(n) = f[0].strip_prefix("*/").and_then(|n| n.parse::<i64>().ok()) {
        if f[1] != "*" || n <= 0 {
            return minutes_ago;
        }
        t - t.rem_euclid(n * 60)
    } else if let Ok(m) = f[0].parse::<i64>() {
        if f[1] == "*" {
            let h = t - t.rem_euclid(3600) + m * 60;
            if h <= t { h } else { h - 3600 }
        } else if let Ok(hh) = f[1].parse::<i64>() {
            let d = t - t.rem_euclid(86_400) + hh * 3600 + m * 60;
            if d <= t { d } else { d - 86_400 }
        } else {
            return minutes_ago;
        }
    } else {
        return minutes_ago;
    };
    (cap - fire) as f64 / 60.0
}

/// A CronJob that stopped starting Jobs: `suspend: true` set `since` minutes ago (the
/// managedFields entry of `manager`, kubectl-patch, at that time) and forgotten. Its last
/// Job ran at the last schedule before that (status.lastScheduleTime; the history Jobs and
/// their pods moved there, named after their scheduled minute as the controller names
/// them); no event since (a suspended CronJob is silent). `annotations` (a map) documents
/// the suspension where someone did; `env` (a map) sets the job container's environment
/// (what it reaches).
pub(super) fn cronjob_stopped(world: &mut World, f: &Fault) -> Result<(), String> {
    let name = f.app()?.to_string();
    let ns = f.namespace.clone();
    let s = f.since;
    let cj = world
        .get("CronJob", &ns, &name)
        .cloned()
        .ok_or_else(|| format!("no CronJob {ns}/{name}"))?;
    let schedule = cj["spec"]["schedule"]
        .as_str()
        .unwrap_or("*/30 * * * *")
        .to_string();
    let last = last_fire(world, &schedule, s + 0.01);
    let manager = f.str("manager").unwrap_or("kubectl-patch").to_string();
    let env: Vec<Value> = f
        .params
        .get("env")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| json!({"name": k, "value": v}))
                .collect()
        })
        .unwrap_or_default();
    let (time_s, last_s) = (world.at(s), world.at(last));
    // The Job it owns becomes the last run, with the two runs before it (the history the
    // controller keeps); its pods move with it.
    let jobs: Vec<String> = world
        .names("Job", Some(&ns))
        .into_iter()
        .filter(|(_, j)| {
            world
                .get("Job", &ns, j)
                .and_then(owner_of)
                .is_some_and(|(k, n)| k == "CronJob" && n == name)
        })
        .map(|(_, j)| j)
        .collect();
    let period = (last_fire(world, &schedule, last + 0.01) - last).max(1.0);
    let mut duration = 1.0;
    if let Some(old) = jobs.first() {
        let job = world.get("Job", &ns, old).cloned().unwrap_or_default();
        let times = (
            job["status"]["startTime"]
                .as_str()
                .and_then(|a| a.parse::<jiff::Timestamp>().ok()),
            job["status"]["completionTime"]
                .as_str()
                .and_then(|b| b.parse::<jiff::Timestamp>().ok()),
        );
        if let (Some(a), Some(b)) = times {
            duration = ((b.as_second() - a.as_second()) as f64 / 60.0).max(0.2);
        }
        let pods: Vec<Value> = world
            .names("Pod", Some(&ns))
            .into_iter()
            .filter_map(|(_, p)| world.get("Pod", &ns, &p).cloned())
            .filter(|p| owner_of(p).is_some_and(|(k, n)| k == "Job" && n == *old))
            .collect();
        // Events about the old run are older than the event TTL now.
        let pod_names: Vec<String> = pods
            .iter()
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        for (_, e) in world.names("Event", Some(&ns)) {
            let about = world.get("Event", &ns, &e).is_some_and(|ev| {
                let n = ev["involvedObject"]["name"].as_str().unwrap_or_default();
                n == old
                    || pod_names.iter().any(|p| p == n)
                    || (ev["involvedObject"]["kind"] == "CronJob" && n == name)
            });
            if about {
                world.remove("Event", &ns, &e);
            }
        }
        for j in &jobs {
            world.remove("Job", &ns, j);
        }
        for p in &pod_names {
            world.remove("Pod", &ns, p);
        }
        for k in 0..3u32 {
            let run = last + period * k as f64;
            let done = run - duration;
            let jname = format!("{name}-{}", instant(world, run).as_second() / 60);
            let mut j = job.clone();
            j["metadata"]["name"] = json!(jname);
            j["metadata"]["uid"] = json!(world.rng.uid());
            j["metadata"]["creationTimestamp"] = json!(world.at(run));
            j["metadata"]["labels"]["batch.kubernetes.io/job-name"] = json!(jname);
            j["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/job-name"] =
                json!(jname);
            if !env.is_empty() {
                j["spec"]["template"]["spec"]["containers"][0]["env"] = json!(env);
            }
            j["status"]["startTime"] = json!(world.at(run));
            j["status"]["completionTime"] = json!(world.at(done));
            j["status"]["conditions"] = json!([
                {"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": world.at(done), "lastTransitionTime": world.at(done)},
                {"type": "Complete", "status": "True", "lastProbeTime": world.at(done), "lastTransitionTime": world.at(done)}]);
            let juid = j["metadata"]["uid"].clone();
            world.add(j);
            for pod in &pods {
                let mut pod = pod.clone();
                let pname = format!("{jname}-{}", world.rng.suffix(5));
                pod["metadata"]["name"] = json!(pname);
                pod["metadata"]["uid"] = json!(world.rng.uid());
                pod["metadata"]["creationTimestamp"] = json!(world.at(run));
                pod["metadata"]["labels"]["batch.kubernetes.io/job-name"] = json!(jname);
                pod["metadata"]["ownerReferences"][0]["name"] = json!(jname);
                pod["metadata"]["ownerReferences"][0]["uid"] = juid.clone();
                pod["status"]["startTime"] = json!(world.at(run));
                if let Some(cs) = pod["status"]["containerStatuses"].as_array_mut() {
                    for c in cs {
                        c["state"]["terminated"]["startedAt"] = json!(world.at(run - 0.05));
                        c["state"]["terminated"]["finishedAt"] = json!(world.at(done));
                    }
                }
                if !env.is_empty() {
                    pod["spec"]["containers"][0]["env"] = json!(env);
                }
                world.add(pod);
            }
        }
    }
    let done_s = world.at(last - duration);
    let c = world
        .get_mut("CronJob", &ns, &name)
        .ok_or_else(|| format!("no CronJob {ns}/{name}"))?;
    if f.str("mode").unwrap_or("suspend") != "suspend" {
        return Err("cronjob-stopped: only `mode: suspend` is modelled".into());
    }
    c["spec"]["suspend"] = json!(true);
    if !env.is_empty() {
        c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"] = json!(env);
    }
    if let Some(a) = f.params.get("annotations").and_then(Value::as_object) {
        for (k, v) in a {
            c["metadata"]["annotations"][k] = v.clone();
        }
    }
    c["status"] = json!({"lastScheduleTime": last_s, "lastSuccessfulTime": done_s});
    let mut e = managed(&manager, &time_s, json!({"f:spec": {"f:suspend": {}}}));
    e["apiVersion"] = json!("batch/v1");
    record_edit(c, e);
    Ok(())
}
