//! The placement library (`testdata/placement/*.yaml`): clusters stated in a few lines
//! (the what-if library's format, pods placed by the scheduler engine), the usage each
//! workload's pods show as Prometheus series, and the ground truth `optimize` must reach:
//! how many nodes consolidation frees as requested and after the rightsizing, why the
//! nodes it keeps are kept, which findings it makes, what rightsizing says and what the
//! freed nodes cost (the what-if nodes are m5.xlarge: $0.192 an hour in the price table). Each rule
//! has its near miss (a budget that allows a disruption, local volumes declared safe, a
//! kube-system pod with a budget). `cargo test --test placement -- --nocapture` prints
//! the table.

mod common;

use std::collections::BTreeMap;

use common::whatif::{ClusterSpec, build, mark_oom_killed, prometheus_matrix};
use kubectl_intel::analysis::optimize::{Request, optimize};
use kubectl_intel::model::Snapshot;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    description: String,
    cluster: ClusterSpec,
    /// Per workload name: what each of its pods uses.
    #[serde(default)]
    usage: BTreeMap<String, Use>,
    /// Workload → the node its pods are moved to after placement, or nodes (`a,b`) taken
    /// in turn (history: replicas that ended up together, nodes added since).
    #[serde(default)]
    move_pods: BTreeMap<String, String>,
    /// Bytes a second between workloads, as Istio's source proxies report them.
    #[serde(default)]
    bytes: Vec<Flow>,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Flow {
    from: String,
    to: String,
    per_second: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Use {
    /// Millicores and MiB around which the series vary (±10% and ±5%).
    cpu_millis: f64,
    memory_mib: f64,
    #[serde(default = "points")]
    points: usize,
    /// The pods' last termination was an OOM kill.
    #[serde(default)]
    oom_killed: bool,
    /// Days of one-minute points instead of `points`, busy from `busy[0]` to `busy[1]`
    /// (UTC hours) at `cpu_millis` and at `night_millis` the rest of the day.
    #[serde(default)]
    days: Option<usize>,
    #[serde(default)]
    busy: Option<[i64; 2]>,
    #[serde(default)]
    night_millis: f64,
    /// Use on Saturdays and Sundays (UTC), when it differs.
    #[serde(default)]
    weekend_millis: Option<f64>,
}

/// The first point of every series.
const START: i64 = 1_763_600_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdleExpect {
    window: String,
    scheduled: bool,
    #[serde(default)]
    weekends: bool,
    /// The cron trigger's `start` (when the replicas come back).
    #[serde(default)]
    cron_start: Option<String>,
}

fn points() -> usize {
    120
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    freed: usize,
    /// After the rightsizing; absent when no proposal changes a pod.
    #[serde(default)]
    rightsized_freed: Option<usize>,
    /// Substrings of the reasons nodes are kept for.
    #[serde(default)]
    kept_because: Vec<String>,
    /// Substrings no reason may have (the near misses).
    #[serde(default)]
    not_kept_because: Vec<String>,
    #[serde(default)]
    findings: Vec<String>,
    #[serde(default)]
    no_findings: Vec<String>,
    /// What the freed nodes cost a month (USD), as requested and rightsized.
    #[serde(default)]
    monthly_saved: Option<f64>,
    #[serde(default)]
    monthly_saved_rightsized: Option<f64>,
    /// Texts some recommendation's commands must hold (the change's exact patch).
    #[serde(default)]
    steps_contain: Vec<String>,
    /// Workload → its idle window (`20-8`, UTC hours) and whether a schedule is proposed.
    #[serde(default)]
    idle: BTreeMap<String, IdleExpect>,
    /// Workload → resource → the proposal's `info` (`HPA detected`, `OOMKill detected`).
    #[serde(default)]
    rightsize_info: BTreeMap<String, BTreeMap<String, String>>,
}

fn load(path: &std::path::Path) -> (Case, Snapshot) {
    let case: Case = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut snap = build(&case.cluster, "placement");
    if !case.bytes.is_empty() {
        let ns_of = |w: &str| {
            case.cluster
                .workloads
                .iter()
                .find(|x| x.name == w)
                .and_then(|x| x.namespace.clone())
                .unwrap_or("shop".into())
        };
        let result: Vec<Value> = case
            .bytes
            .iter()
            .map(|f| {
                serde_json::json!({"metric": {
                    "source_workload_namespace": ns_of(&f.from), "source_workload": f.from,
                    "destination_workload_namespace": ns_of(&f.to), "destination_workload": f.to},
                    "values": (0..60).map(|k| serde_json::json!([START + 60 * k, f.per_second.to_string()])).collect::<Vec<_>>()})
            })
            .collect();
        snap.prometheus.insert(
            "istio_workload_bytes".into(),
            serde_json::value::to_raw_value(&serde_json::json!({"status": "success",
                "data": {"resultType": "matrix", "result": result}}))
            .unwrap(),
        );
    }
    if !case.move_pods.is_empty() {
        let list = snap.list("", "pods").unwrap();
        let rtype = list.rtype.clone();
        // `a,b`: the workload's pods go to those nodes in turn.
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        let items: Vec<kubectl_intel::model::Object> = list
            .items
            .iter()
            .map(|o| {
                let mut v = o.value();
                for (w, nodes) in &case.move_pods {
                    if o.meta.name.starts_with(&format!("{w}-")) {
                        let nodes: Vec<&str> = nodes.split(',').collect();
                        let k = seen.entry(w.as_str()).or_default();
                        v["spec"]["nodeName"] = Value::from(nodes[*k % nodes.len()]);
                        *k += 1;
                    }
                }
                kubectl_intel::model::Object::from_value(&v).unwrap()
            })
            .collect();
        snap.insert_list(kubectl_intel::model::ResourceList::new(rtype, items));
    }
    let (mut cpu, mut mem) = (Vec::new(), Vec::new());
    let mut oom = Vec::new();
    for p in snap.pods() {
        let owner = case.cluster.workloads.iter().find(|w| {
            p.meta.name.starts_with(&format!("{}-", w.name))
                && p.meta.namespace == w.namespace.clone().unwrap_or("shop".into())
        });
        let Some(u) = owner.and_then(|w| case.usage.get(&w.name)) else {
            continue;
        };
        let (ns, name) = (p.meta.namespace.clone(), p.meta.name.clone());
        let n = u.days.map_or(u.points, |d| d * 24 * 60);
        let at = |k: usize| {
            let t = START + 60 * k as i64;
            let hour = t.rem_euclid(86_400) / 3600;
            let weekday = (t.div_euclid(86_400) + 4).rem_euclid(7);
            if let (Some(w), 0 | 6) = (u.weekend_millis, weekday) {
                return w;
            }
            match u.busy {
                Some([from, to]) if !(from..to).contains(&hour) => u.night_millis,
                _ => u.cpu_millis,
            }
        };
        cpu.push((
            ns.clone(),
            name.clone(),
            (0..n)
                .map(|k| at(k) / 1000.0 * (0.9 + 0.2 * ((k * 37) % 100) as f64 / 100.0))
                .collect(),
        ));
        mem.push((
            ns,
            name.clone(),
            (0..n)
                .map(|k| u.memory_mib * 1048576.0 * (0.95 + 0.1 * ((k * 13) % 40) as f64 / 40.0))
                .collect(),
        ));
        if u.oom_killed {
            oom.push(name);
        }
    }
    snap.prometheus.insert(
        "container_cpu_usage_seconds_total".into(),
        prometheus_matrix("container_cpu_usage_seconds_total", START, cpu),
    );
    snap.prometheus.insert(
        "container_memory_working_set_bytes".into(),
        prometheus_matrix("container_memory_working_set_bytes", START, mem),
    );
    mark_oom_killed(&mut snap, |name| oom.iter().any(|o| o == name));
    (case, snap)
}

/// What went wrong with one case (empty when it passes).
fn check(case: &Case, r: &Value) -> Vec<String> {
    let mut wrong = Vec::new();
    let c = &r["details"]["consolidation"];
    let freed = c["asRequested"]["freed"].as_array().map_or(0, Vec::len);
    if freed != case.expect.freed {
        wrong.push(format!("freed {freed}, want {}", case.expect.freed));
    }
    let rightsized = c["rightsized"]["freed"].as_array().map(Vec::len);
    if rightsized != case.expect.rightsized_freed {
        wrong.push(format!(
            "freed after rightsizing {rightsized:?}, want {:?}",
            case.expect.rightsized_freed
        ));
    }
    let reasons: Vec<&str> = c["asRequested"]["kept"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["reason"].as_str())
        .collect();
    for want in &case.expect.kept_because {
        if !reasons.iter().any(|r| r.contains(want.as_str())) {
            wrong.push(format!("no node kept because {want:?}: {reasons:?}"));
        }
    }
    for not in &case.expect.not_kept_because {
        if reasons.iter().any(|r| r.contains(not.as_str())) {
            wrong.push(format!("a node kept because {not:?}"));
        }
    }
    let kinds: Vec<&str> = r["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    for want in &case.expect.findings {
        if !kinds.contains(&want.as_str()) {
            wrong.push(format!("no {want} finding: {kinds:?}"));
        }
    }
    for not in &case.expect.no_findings {
        if kinds.contains(&not.as_str()) {
            wrong.push(format!("a {not} finding"));
        }
    }
    let money = &r["details"]["cost"];
    for (want, key) in [
        (case.expect.monthly_saved, "monthlySaved"),
        (
            case.expect.monthly_saved_rightsized,
            "monthlySavedRightsized",
        ),
    ] {
        if let Some(want) = want {
            let got = money[key].as_f64();
            if got.is_none_or(|g| (g - want).abs() > 0.005) {
                wrong.push(format!("{key} {got:?}, want {want}"));
            }
        }
    }
    let steps: Vec<&str> = r["recommendations"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|x| x["steps"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    for want in &case.expect.steps_contain {
        if !steps.iter().any(|s| s.contains(want.as_str())) {
            wrong.push(format!("no step with {want:?}"));
        }
    }
    let windows: Vec<&Value> = r["details"]["timeOfDay"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    for (w, want) in &case.expect.idle {
        let got = windows.iter().find(|x| {
            x["subject"]
                .as_str()
                .is_some_and(|s| s.ends_with(&format!("/{w}")))
        });
        match got {
            None => wrong.push(format!("{w}: no idle window")),
            Some(x) => {
                let window = format!("{}-{}", x["startHour"], x["endHour"]);
                if window != want.window {
                    wrong.push(format!("{w}: idle {window}, want {}", want.window));
                }
                if x["weekends"] != want.weekends {
                    wrong.push(format!(
                        "{w}: weekends {}, want {}",
                        x["weekends"], want.weekends
                    ));
                }
                let start = x["scaledObject"]["spec"]["triggers"][0]["metadata"]["start"].as_str();
                if want.cron_start.is_some() && start != want.cron_start.as_deref() {
                    wrong.push(format!(
                        "{w}: cron start {start:?}, want {:?}",
                        want.cron_start
                    ));
                }
                if x["scaledObject"].is_object() != want.scheduled {
                    wrong.push(format!(
                        "{w}: scheduled {}, want {} ({})",
                        x["scaledObject"].is_object(),
                        want.scheduled,
                        x["heldBack"]
                    ));
                }
            }
        }
    }
    if case.expect.idle.is_empty() && !windows.is_empty() {
        wrong.push(format!("idle windows nobody expected: {}", windows.len()));
    }
    for (w, resources) in &case.expect.rightsize_info {
        let row = r["details"]["rightsizing"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| {
                x["subject"]
                    .as_str()
                    .is_some_and(|s| s.ends_with(&format!("/{w}")))
            });
        for (res, info) in resources {
            let got = row.and_then(|x| x[res.as_str()]["info"].as_str());
            if got != Some(info.as_str()) {
                wrong.push(format!("{w} {res}: info {got:?}, want {info:?}"));
            }
        }
    }
    wrong
}

#[test]
fn the_placement_library_passes() {
    let mut paths: Vec<_> = std::fs::read_dir("testdata/placement")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "the library has {} cases", paths.len());
    let mut table = vec![format!(
        "{:<34} {:>5} {:>10}  {}",
        "case", "freed", "rightsized", "verdict"
    )];
    let mut failed = Vec::new();
    for path in &paths {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let (case, snap) = load(path);
        let rel = kubectl_intel::engine::Relations::build(&snap);
        let report = optimize(&snap, &rel, &Request::default());
        let r = serde_json::to_value(&report).unwrap();
        let mut wrong = check(&case, &r);
        // The plan carries out the consolidation that frees the most, node by node.
        let c = &r["details"]["consolidation"];
        let most = c["asRequested"]["freed"]
            .as_array()
            .map_or(0, Vec::len)
            .max(c["rightsized"]["freed"].as_array().map_or(0, Vec::len));
        let planned: usize = r["details"]["plan"]["waves"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| w["nodes"].as_array().map_or(0, Vec::len))
            .sum();
        if planned != most {
            wrong.push(format!("the plan drains {planned} nodes, not {most}"));
        }
        let c = &r["details"]["consolidation"];
        table.push(format!(
            "{:<34} {:>5} {:>10}  {}",
            name,
            c["asRequested"]["freed"].as_array().map_or(0, Vec::len),
            c["rightsized"]["freed"]
                .as_array()
                .map_or("-".into(), |a| a.len().to_string()),
            if wrong.is_empty() {
                "pass".to_string()
            } else {
                format!("FAIL: {}", wrong.join("; "))
            }
        ));
        if !wrong.is_empty() {
            failed.push(format!(
                "{name} ({}): {}",
                case.description,
                wrong.join("; ")
            ));
        }
        // Deterministic: the same report twice.
        let again = serde_json::to_string(&optimize(&snap, &rel, &Request::default())).unwrap();
        assert_eq!(serde_json::to_string(&report).unwrap(), again, "{name}");
    }
    println!("{}", table.join("\n"));
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// The migration plan: waves never ask a budget for more evictions than it allows, even
/// when the share of nodes per wave would allow them together (the near miss: without the
/// budget, one wave); the content hash is what anyone recomputes from the document; every
/// step has a command, a check and a rollback.
#[test]
fn the_plan_paces_waves_by_budgets_and_carries_its_hash() {
    use sha2::Digest;
    let (mut case, snap) = load(std::path::Path::new(
        "testdata/placement/budget-paces-waves.yaml",
    ));
    let req = Request {
        wave_percent: 100.0,
        ..Request::default()
    };
    let rel = kubectl_intel::engine::Relations::build(&snap);
    let r = serde_json::to_value(optimize(&snap, &rel, &req)).unwrap();
    let plan = &r["details"]["plan"];
    assert_eq!(plan["kind"], "MigrationPlan");
    assert_eq!(plan["maxNodesPerWave"], 4);
    let waves = plan["waves"].as_array().unwrap();
    assert_eq!(waves.len(), 3, "{plan:#}");
    for w in waves {
        assert_eq!(w["nodes"].as_array().unwrap().len(), 1);
        for s in w["steps"].as_array().unwrap() {
            for k in ["command", "verify", "rollback"] {
                assert!(!s[k].as_str().unwrap().is_empty(), "{s}");
            }
        }
    }
    assert_eq!(waves[2]["endState"]["nodes"], 1);
    // The hash: compact JSON, keys sorted, the field empty.
    let mut blank = plan.clone();
    blank["sha256"] = Value::from("");
    let digest = sha2::Sha256::digest(serde_json::to_vec(&blank).unwrap());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(plan["sha256"], hex);

    // Near miss: no budget, one wave of three.
    case.cluster.objects.clear();
    let snap = build(&case.cluster, "placement");
    let rel = kubectl_intel::engine::Relations::build(&snap);
    let r = serde_json::to_value(optimize(&snap, &rel, &req)).unwrap();
    let waves = r["details"]["plan"]["waves"].as_array().unwrap().clone();
    assert_eq!(waves.len(), 1);
    assert_eq!(waves[0]["nodes"].as_array().unwrap().len(), 3);
    // The default share (10% of four nodes, at least one) paces it again.
    let r = serde_json::to_value(optimize(&snap, &rel, &Request::default())).unwrap();
    assert_eq!(r["details"]["plan"]["waves"].as_array().unwrap().len(), 3);
}
