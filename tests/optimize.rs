//! `optimize` rightsizing against krr's `simple` formulas, recomputed here independently
//! from the series the test plants: the 95th percentile of each pod's CPU (linear
//! interpolation, as numpy), the largest over the pods, rounded up to the millicore with a
//! 10m floor; memory at the largest working set + 15%, at least the OOM-killed limit +
//! 25%, rounded up to the MiB with a 100Mi floor. Near misses: too few points, an HPA on
//! CPU, a raw counter instead of a rate.

mod common;

use common::whatif::{ClusterSpec, build, mark_oom_killed, prometheus_matrix};
use kubectl_intel::analysis::optimize::{Request, optimize};
use kubectl_intel::model::Snapshot;
use serde_json::Value;

const MIB: f64 = 1048576.0;

fn spec() -> ClusterSpec {
    serde_saphyr::from_str(
        r#"
nodes:
  - {pool: general, count: 3, zones: [eu-west-1a, eu-west-1b, eu-west-1c], cpu: "8", memory: 32Gi}
workloads:
  - {namespace: shop, name: web, replicas: 2, cpu: 500m, memory: 512Mi, limit_memory: 1Gi}
  - {namespace: shop, name: thin, replicas: 1, cpu: 200m, memory: 256Mi}
  - {namespace: shop, name: scaled, replicas: 2, cpu: 300m, memory: 256Mi}
  - {namespace: shop, name: oom, replicas: 1, cpu: 100m, memory: 128Mi, limit_memory: 256Mi}
  - {namespace: shop, name: counter, replicas: 1, cpu: 400m, memory: 256Mi}
objects:
  - {apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: scaled, namespace: shop},
     spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: scaled}, minReplicas: 2, maxReplicas: 6,
            metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}]}}
"#,
    )
    .unwrap()
}

/// The pods of a workload, by name prefix.
fn pods_of(snap: &Snapshot, name: &str) -> Vec<String> {
    snap.pods()
        .iter()
        .map(|p| p.meta.name.clone())
        .filter(|n| n.starts_with(&format!("{name}-")))
        .collect()
}

/// The CPU (cores) and memory (bytes) the pod `i` of a workload uses at step `k`.
fn cpu_at(i: usize, k: usize) -> f64 {
    0.05 + ((k * 37 + i * 11) % 100) as f64 / 1000.0
}
fn mem_at(i: usize, k: usize) -> f64 {
    (150.0 + ((k * 13 + i * 7) % 40) as f64) * MIB
}

/// `prometheus_matrix` for namespace `shop`.
fn matrix(name: &str, series: Vec<(String, Vec<f64>)>) -> Box<serde_json::value::RawValue> {
    let series = series
        .into_iter()
        .map(|(pod, v)| ("shop".to_string(), pod, v))
        .collect();
    prometheus_matrix(name, 1_763_000_000, series)
}

/// Planted series: `points` per pod for web, thin (40: too few), scaled and oom; counter's
/// CPU as a raw counter (cumulative seconds), which must read as the same rates.
fn planted() -> Snapshot {
    let mut snap = build(&spec(), "prod");
    let mut cpu = Vec::new();
    let mut mem = Vec::new();
    for (w, points) in [("web", 120), ("thin", 40), ("scaled", 120), ("oom", 120)] {
        for (i, p) in pods_of(&snap, w).into_iter().enumerate() {
            cpu.push((p.clone(), (0..points).map(|k| cpu_at(i, k)).collect()));
            mem.push((p, (0..points).map(|k| mem_at(i, k)).collect()));
        }
    }
    for p in pods_of(&snap, "counter") {
        // Cumulative CPU seconds whose per-step increase / 60 s is cpu_at(0, k).
        let mut total = 1000.0;
        let mut values = vec![total];
        for k in 1..=120 {
            total += cpu_at(0, k) * 60.0;
            values.push(total);
        }
        cpu.push((p.clone(), values));
        mem.push((p, (0..121).map(|k| mem_at(0, k)).collect()));
    }
    snap.prometheus.insert(
        "container_cpu_usage_seconds_total".into(),
        matrix("container_cpu_usage_seconds_total", cpu),
    );
    snap.prometheus.insert(
        "container_memory_working_set_bytes".into(),
        matrix("container_memory_working_set_bytes", mem),
    );
    // oom's pod was OOM-killed at its 256Mi limit.
    mark_oom_killed(&mut snap, |name| name.starts_with("oom-"));
    snap
}

/// numpy's default percentile.
fn p(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = q / 100.0 * (v.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (rank - lo as f64)
}

fn row<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["details"]["rightsizing"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["subject"] == format!("Deployment shop/{name}"))
        .unwrap_or_else(|| panic!("no row for {name}"))
}

#[test]
fn rightsizing_reproduces_krr_simple() {
    let snap = planted();
    let rel = kubectl_intel::engine::Relations::build(&snap);
    let report = optimize(&snap, &rel, &Request::default());
    let r = serde_json::to_value(&report).unwrap();
    // web: two pods of 120 points.
    let cpu = (0..2)
        .map(|i| {
            p(
                &(0..120).map(|k| cpu_at(i, k) * 1000.0).collect::<Vec<_>>(),
                95.0,
            )
        })
        .fold(0.0, f64::max);
    let mem = (0..2)
        .flat_map(|i| (0..120).map(move |k| mem_at(i, k)))
        .fold(0.0, f64::max);
    let want_cpu = (cpu.ceil() as i64).max(10);
    let want_mem = ((mem * 1.15 / MIB).ceil() as i64).max(100) << 20;
    let web = row(&r, "web");
    assert_eq!(web["cpu"]["value"], want_cpu, "{web}");
    assert_eq!(web["memory"]["value"], want_mem, "{web}");
    assert_eq!(web["basis"]["cpuPoints"], 240);
    assert_eq!(web["basis"]["source"], "prometheus");
    let patch = web["patch"][0].as_str().unwrap();
    assert_eq!(
        patch,
        format!(
            "kubectl -n shop set resources deployment/web -c app --requests=cpu={want_cpu}m,memory={}Mi --limits=memory={}Mi",
            want_mem >> 20,
            want_mem >> 20
        )
    );
    // thin: 40 points, no number.
    let thin = row(&r, "thin");
    assert!(thin["cpu"]["value"].is_null());
    assert_eq!(
        thin["cpu"]["info"],
        "Not enough data (40 points, 100 needed)"
    );
    // scaled: an HPA on CPU keeps CPU as it is; memory still proposed.
    let scaled = row(&r, "scaled");
    assert_eq!(scaled["cpu"]["info"], "HPA detected");
    assert!(scaled["memory"]["value"].is_i64());
    // oom: at least 256Mi × 1.25 = 320Mi.
    let oom = row(&r, "oom");
    assert_eq!(oom["memory"]["value"], 320i64 << 20, "{oom}");
    assert_eq!(oom["memory"]["info"], "OOMKill detected");
    assert_eq!(oom["basis"]["oomKills"], 1);
    // counter: the raw counter reads as the rates it counts.
    let counter = row(&r, "counter");
    let want = p(
        &(1..=120).map(|k| cpu_at(0, k) * 1000.0).collect::<Vec<_>>(),
        95.0,
    );
    let got = counter["basis"]["cpuPercentileMillis"].as_f64().unwrap();
    assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    // The findings and recommendations carry the values; deterministic.
    assert!(
        report
            .recommendations
            .iter()
            .any(|x| x.steps.first().map(String::as_str) == Some(patch))
    );
    let again = serde_json::to_string(&optimize(&snap, &rel, &Request::default())).unwrap();
    assert_eq!(serde_json::to_string(&report).unwrap(), again);
}

#[test]
fn the_command_line_rightsizes_a_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.intel.tar.zst");
    kubectl_intel::bundle::write_bundle(&planted(), &bundle).unwrap();
    let r = common::json_of(
        common::bin()
            .args(["optimize", "--bundle"])
            .arg(&bundle)
            .args(["-o", "json", "--cpu-percentile", "99"]),
    );
    assert_eq!(r["analysis"], "optimize_workload_placement");
    assert_eq!(r["details"]["strategy"]["settings"]["cpuPercentile"], 99.0);
    let out = common::bin()
        .args(["optimize", "--cpu-percentile", "101", "--bundle"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // The migration plan alone, and a share of nodes that is none.
    let plan = common::json_of(
        common::bin()
            .args(["optimize", "-o", "plan", "--bundle"])
            .arg(&bundle),
    );
    assert_eq!(plan["kind"], "MigrationPlan");
    assert_eq!(plan["sha256"].as_str().map(str::len), Some(64));
    let out = common::bin()
        .args(["optimize", "--wave-percent", "0", "--bundle"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Cost as OpenCost allocates it, recomputed here: m5.xlarge at $0.192 an hour (the
/// table), split into CPU and memory in the proportion of OpenCost's default rates; each
/// pod max(request, use); idle the rest; and a `--prices` file that overrides the type.
#[test]
fn cost_allocates_as_opencost_and_names_its_prices() {
    let snap = planted();
    let rel = kubectl_intel::engine::Relations::build(&snap);
    let r = serde_json::to_value(optimize(&snap, &rel, &Request::default())).unwrap();
    let cost = &r["details"]["cost"];
    let nodes = cost["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    let (cores, gib) = (8.0, 32.0);
    let by_resources = cores * 0.031611 + gib * 0.004237;
    let per_core = 0.192 * (cores * 0.031611 / by_resources) / cores;
    let per_gib = 0.192 * (gib * 0.004237 / by_resources) / gib;
    for n in nodes {
        assert_eq!(n["hourly"], 0.192, "{n}");
        assert!((n["cpuCoreHour"].as_f64().unwrap() - per_core).abs() < 1e-12);
        assert!(
            n["source"]
                .as_str()
                .unwrap()
                .starts_with("the aws list price of m5.xlarge in us-east-1 (dated ")
        );
    }
    assert_eq!(cost["monthlyTotal"], 420.48);
    // Allocation: every pod's request (the planted use is below it, except where
    // rightsizing raised memory, which this test's pods do not exceed by request).
    let mut hourly = 0.0;
    let mut use_of: std::collections::BTreeMap<String, (f64, f64)> = Default::default();
    for w in ["web", "scaled", "oom"] {
        for (i, p) in pods_of(&snap, w).into_iter().enumerate() {
            let n = 120;
            let cpu = (0..n).map(|k| cpu_at(i, k) * 1000.0).sum::<f64>() / n as f64;
            let mem = (0..n).map(|k| mem_at(i, k)).sum::<f64>() / n as f64;
            use_of.insert(p, (cpu, mem));
        }
    }
    for p in snap.pods() {
        let c = &p.value()["spec"]["containers"][0]["resources"]["requests"];
        let req_cpu =
            kubectl_intel::model::quantity::milli_value(c["cpu"].as_str().unwrap()).unwrap() as f64;
        let req_mem =
            kubectl_intel::model::quantity::value(c["memory"].as_str().unwrap()).unwrap() as f64;
        let (u_cpu, u_mem) = use_of.get(&p.meta.name).copied().unwrap_or((0.0, 0.0));
        hourly +=
            req_cpu.max(u_cpu) / 1000.0 * per_core + req_mem.max(u_mem) / 1073741824.0 * per_gib;
    }
    let want = (hourly * 730.0 * 100.0).round() / 100.0;
    let got = cost["monthlyAllocated"].as_f64().unwrap();
    assert!((got - want).abs() < 0.011, "allocated {got}, want {want}");
    let idle = cost["monthlyIdle"].as_f64().unwrap();
    assert!((got + idle - 3.0 * 0.192 * 730.0).abs() < 0.02);
    assert!(r["summary"].as_str().unwrap().contains("a month"));

    // A price file overrides the type and is named.
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.intel.tar.zst");
    kubectl_intel::bundle::write_bundle(&snap, &bundle).unwrap();
    let prices = dir.path().join("prices.json");
    std::fs::write(
        &prices,
        r#"{"source": "our EDP", "instances": {"m5.xlarge": 0.1}}"#,
    )
    .unwrap();
    let r = common::json_of(
        common::bin()
            .args(["optimize", "--bundle"])
            .arg(&bundle)
            .arg("--prices")
            .arg(&prices)
            .args(["-o", "json"]),
    );
    assert_eq!(r["details"]["cost"]["monthlyTotal"], 219.0);
    assert!(
        r["details"]["cost"]["sources"][0]
            .as_str()
            .unwrap()
            .ends_with("prices.json (our EDP)")
    );
    std::fs::write(&prices, r#"{"instances": {"m5.xlarge": "cheap"}}"#).unwrap();
    let out = common::bin()
        .args(["optimize", "--bundle"])
        .arg(&bundle)
        .arg("--prices")
        .arg(&prices)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("prices.json"));
}

/// The VPA recommender's estimate, recomputed here from its Go code's formulas: an
/// exponential histogram (first bucket 0.01 cores or 1e7 bytes, ratio 1.05), CPU samples
/// weighted by the request (≥ 0.1 core) and a 24 h half-life decay, memory as per-day
/// peaks, an OOM kill raising the last to max(m + 100 MiB, m × 1.2); a percentile is the
/// end of the bucket where the running weight reaches it; target p90, upper bound p95
/// scaled by (1 + 1/confidence), both + 15%; at least 25m and 250 MiB per pod.
#[test]
fn the_vpa_strategy_reproduces_the_recommender() {
    struct H {
        first: f64,
        w: std::collections::BTreeMap<i64, f64>,
    }
    impl H {
        fn bucket(&self, v: f64) -> i64 {
            if v < self.first {
                0
            } else {
                ((v * 0.05 / self.first + 1.0).ln() / 1.05f64.ln()).floor() as i64
            }
        }
        fn add(&mut self, v: f64, weight: f64) {
            let b = self.bucket(v);
            *self.w.entry(b).or_default() += weight;
        }
        fn pct(&self, p: f64) -> f64 {
            let total: f64 = self.w.values().sum();
            let mut sum = 0.0;
            let last = *self.w.keys().last().unwrap();
            for (&b, &x) in &self.w {
                sum += x;
                if sum >= p * total || b == last {
                    return self.first * (1.05f64.powi(b as i32 + 1) - 1.0) / 0.05;
                }
            }
            unreachable!()
        }
    }
    let snap = planted();
    let rel = kubectl_intel::engine::Relations::build(&snap);
    let req = Request {
        vpa: Some(Default::default()),
        ..Request::default()
    };
    let r = serde_json::to_value(optimize(&snap, &rel, &req)).unwrap();
    assert_eq!(r["details"]["strategy"]["name"], "vpa");
    let t0 = 1_763_000_000i64;
    let decay = |t: i64| 2f64.powf((t - t0) as f64 / 86400.0);
    // web: two pods, 120 points each, request 500m.
    let mut cpu = H {
        first: 0.01,
        w: Default::default(),
    };
    for i in 0..2 {
        for k in 0..120 {
            cpu.add(cpu_at(i, k), 0.5 * decay(t0 + 60 * k as i64));
        }
    }
    let web = row(&r, "web");
    let target = (cpu.pct(0.9) * 1.15 * 1000.0).max(25.0);
    assert_eq!(web["cpu"]["value"], target.ceil() as i64, "{web}");
    let confidence: f64 = (119.0 * 60.0 / 86400.0f64).min(240.0 / 1440.0);
    let upper = cpu.pct(0.95) * 1.15 * 1000.0 * (1.0 + 1.0 / confidence);
    let got = web["vpa"]["cpu"]["upperBound"].as_f64().unwrap();
    assert!((got - upper).abs() < 1e-6, "{got} vs {upper}");
    assert!((web["vpa"]["confidence"].as_f64().unwrap() - confidence).abs() < 1e-12);
    // The web pods' peaks are under 250 MiB: the per-pod minimum.
    assert_eq!(web["memory"]["value"], 250i64 << 20);
    // oom: one day window, whose peak the OOM kill raises to max(m + 100 MiB, m × 1.2),
    // m the larger of the 128Mi request and the peak (`RecordOOM`).
    let mut mem = H {
        first: 1e7,
        w: Default::default(),
    };
    let peak = (0..120).map(|k| mem_at(0, k)).fold(0.0, f64::max);
    let used = peak.max(128.0 * MIB);
    mem.add(peak.max((used + 100.0 * MIB).max(used * 1.2)), 1.0);
    let want = ((mem.pct(0.9) * 1.15 / MIB).ceil() as i64) << 20;
    let oom = row(&r, "oom");
    assert_eq!(oom["memory"]["value"], want, "{oom}");
    assert_eq!(oom["memory"]["info"], "OOMKill detected");
    // The VPA keeps limits in proportion (web's 512Mi request had a 1Gi limit) and leaves
    // an unset one (web's CPU limit) unset, with no removal patch.
    let patch = web["patch"].as_array().unwrap();
    assert_eq!(
        patch[0],
        format!(
            "kubectl -n shop set resources deployment/web -c app --requests=cpu={}m,memory=250Mi --limits=memory=500Mi",
            target.ceil() as i64
        )
    );
    assert_eq!(patch.len(), 1);
    // The near miss: too few points still gives no number, HPA still defers.
    assert!(row(&r, "thin")["cpu"]["value"].is_null());
    assert_eq!(row(&r, "scaled")["cpu"]["info"], "HPA detected");
}
