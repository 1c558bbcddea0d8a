use super::*;
use crate::signals::{ContainerSignals, LogStyle, NodeSignals, Previous};
use intel_model::quantity;
use serde_json::Value;

const MI: f64 = 1024.0 * 1024.0;

fn cap() -> Timestamp {
    "2026-11-24T14:00:00Z".parse().unwrap()
}

fn minutes_before(m: i64) -> Timestamp {
    cap() - jiff::SignedDuration::from_mins(m)
}

fn node(name: &str, reporting: bool) -> NodeSignals {
    NodeSignals {
        name: name.into(),
        cpu_capacity_m: 4_000.0,
        mem_capacity: 16_384.0 * MI,
        system_cpu_m: 150.0,
        system_mem: 900.0 * MI,
        reporting,
    }
}

fn container(ns: &str, pod: &str, name: &str) -> ContainerSignals {
    let mut c = ContainerSignals::new(ns, pod, name, "cart", LogStyle::Json);
    c.cpu_base_m = 120.0;
    c.mem_base = 200.0 * MI;
    c.rps = 10.0;
    c
}

/// Two nodes; a leaking cart pod on node-a, a sidecar pod and a stopped container on
/// node-b, a pod on a node that does not report.
fn cluster() -> Signals {
    let mut leak = container("shop", "cart-1", "app");
    leak.mem_limit = Some(300.0 * MI);
    leak.mem_slope_per_min = 5.0 * MI;
    leak.onset_minutes_ago = Some(60.0);
    let mut api = container("shop", "api-1", "app");
    api.cpu_limit_m = Some(200.0);
    api.cpu_factor = 3.0;
    api.onset_minutes_ago = Some(30.0);
    let sidecar = container("shop", "api-1", "proxy");
    let mut stopped = container("shop", "api-1", "migrate");
    stopped.running = false;
    let lost = container("shop", "lost-1", "app");
    Signals {
        containers: vec![leak, api, sidecar, stopped, lost],
        nodes: vec![
            node("node-b", true),
            node("node-a", true),
            node("node-x", false),
        ],
        pod_nodes: vec![
            (("shop".into(), "cart-1".into()), "node-a".into()),
            (("shop".into(), "api-1".into()), "node-b".into()),
            (("shop".into(), "lost-1".into()), "node-x".into()),
        ],
    }
}

fn parse(raw: &Option<Box<RawValue>>) -> Value {
    serde_json::from_str(raw.as_ref().unwrap().get()).unwrap()
}

fn times() -> Vec<Timestamp> {
    (0..=12).rev().map(|k| minutes_before(5 * k)).collect()
}

/// (cpu millicores, memory bytes) of a container in a PodMetricsList.
fn usage(pods: &Value, pod: &str, container: &str) -> Option<(f64, f64)> {
    let item = pods["items"]
        .as_array()?
        .iter()
        .find(|i| i["metadata"]["name"] == pod)?;
    let c = item["containers"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == container)?;
    Some((
        quantity::cpu_millis(c["usage"]["cpu"].as_str()?)?,
        quantity::bytes(c["usage"]["memory"].as_str()?)?,
    ))
}

#[test]
fn same_seed_same_bytes() {
    let s = cluster();
    let text = |seed| {
        samples(&s, &times(), cap(), &mut Rng::new(seed))
            .iter()
            .map(|m| {
                format!(
                    "{}{}{}",
                    m.time,
                    m.nodes.as_ref().unwrap().get(),
                    m.pods.as_ref().unwrap().get()
                )
            })
            .collect::<String>()
    };
    assert_eq!(text(1), text(1));
    assert_ne!(text(1), text(2));
    let prom = |seed| {
        prometheus(&s, cap(), 60.0, 60, &mut Rng::new(seed))
            .iter()
            .map(|(k, v)| format!("{k}{}", v.get()))
            .collect::<String>()
    };
    assert_eq!(prom(1), prom(1));
    assert_ne!(prom(1), prom(2));
}

#[test]
fn samples_look_like_metrics_server() {
    let out = samples(&cluster(), &times(), cap(), &mut Rng::new(1));
    assert_eq!(out.len(), 13);
    assert_eq!(out[0].time, "2026-11-24T13:00:00Z");
    assert_eq!(out[12].time, "2026-11-24T14:00:00Z");
    let pods = parse(&out[12].pods);
    assert_eq!(pods["kind"], "PodMetricsList");
    assert_eq!(pods["apiVersion"], "metrics.k8s.io/v1beta1");
    let item = &pods["items"][0];
    assert_eq!(item["metadata"]["namespace"], "shop");
    assert_eq!(item["timestamp"], "2026-11-24T14:00:00Z");
    assert_eq!(item["window"], "15s");
    let cpu = item["containers"][0]["usage"]["cpu"].as_str().unwrap();
    let mem = item["containers"][0]["usage"]["memory"].as_str().unwrap();
    assert!(
        cpu.ends_with('n') && cpu[..cpu.len() - 1].parse::<u64>().is_ok(),
        "{cpu}"
    );
    assert!(
        mem.ends_with("Ki") && mem[..mem.len() - 2].parse::<u64>().is_ok(),
        "{mem}"
    );
    let names: Vec<&str> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["api-1", "cart-1"],
        "sorted; the unreporting node's pod absent"
    );
    let nodes = parse(&out[12].nodes);
    assert_eq!(nodes["kind"], "NodeMetricsList");
    let names: Vec<&str> = nodes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["node-a", "node-b"]);
    assert_eq!(nodes["items"][0]["window"], "20s");
}

#[test]
fn a_leak_climbs_every_sample_and_stops_at_the_limit() {
    let out = samples(&cluster(), &times(), cap(), &mut Rng::new(1));
    let mem: Vec<f64> = out
        .iter()
        .map(|m| usage(&parse(&m.pods), "cart-1", "app").unwrap().1)
        .collect();
    // 200 MiB + 5 MiB/min reaches the 300 MiB limit 20 minutes after onset (3 samples
    // of the 13; the daily pattern and noise move the base a little).
    let limit = 300.0 * MI;
    let capped = mem.iter().filter(|m| **m == limit).count();
    assert!((8..=10).contains(&capped), "{mem:?}");
    for w in mem.windows(2) {
        assert!(w[1] > w[0] || w[1] == limit, "{mem:?}");
        assert!(w[1] <= limit);
    }
    // 200 MiB a little above base at 13:00, the day's busy hours.
    assert!(mem[0] > 200.0 * MI && mem[0] < 230.0 * MI, "{mem:?}");
}

#[test]
fn cpu_surges_after_onset_up_to_the_limit() {
    let out = samples(&cluster(), &times(), cap(), &mut Rng::new(1));
    let cpu: Vec<f64> = out
        .iter()
        .map(|m| usage(&parse(&m.pods), "api-1", "app").unwrap().0)
        .collect();
    // Healthy ~120m × daily (≈1.3 at 13:00-14:00); ×3 after onset, capped at 200m.
    assert!(
        cpu[..6].iter().all(|c| (120.0..=175.0).contains(c)),
        "{cpu:?}"
    );
    assert!(
        cpu[7..].iter().all(|c| (194.0..=200.0).contains(c)),
        "{cpu:?}"
    );
}

#[test]
fn node_usage_is_system_plus_its_pods() {
    let s = cluster();
    for m in samples(&s, &times(), cap(), &mut Rng::new(1)) {
        let pods = parse(&m.pods);
        let nodes = parse(&m.nodes);
        for (node, pod_names) in [("node-a", vec!["cart-1"]), ("node-b", vec!["api-1"])] {
            let (mut cpu, mut mem) = (150.0 * 1e6, 900.0 * 1024.0);
            for item in pods["items"].as_array().unwrap() {
                if pod_names.contains(&item["metadata"]["name"].as_str().unwrap()) {
                    for c in item["containers"].as_array().unwrap() {
                        let q = |k: &str| {
                            let v = c["usage"][k].as_str().unwrap();
                            v.trim_end_matches(['n', 'K', 'i']).parse::<f64>().unwrap()
                        };
                        cpu += q("cpu");
                        mem += q("memory");
                    }
                }
            }
            let n = nodes["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| n["metadata"]["name"] == node)
                .unwrap();
            assert_eq!(n["usage"]["cpu"], format!("{cpu}n"));
            assert_eq!(n["usage"]["memory"], format!("{mem}Ki"));
        }
    }
}

#[test]
fn a_stopped_container_has_no_pod_metric() {
    let out = samples(&cluster(), &times(), cap(), &mut Rng::new(1));
    for m in &out {
        let pods = parse(&m.pods);
        assert!(usage(&pods, "api-1", "app").is_some());
        assert!(usage(&pods, "api-1", "proxy").is_some());
        assert!(usage(&pods, "api-1", "migrate").is_none());
    }
    // A pod whose only container stopped is not listed at all.
    let mut s = cluster();
    s.containers.retain(|c| c.pod == "api-1");
    for c in &mut s.containers {
        c.running = false;
    }
    let out = samples(&s, &times(), cap(), &mut Rng::new(1));
    assert_eq!(parse(&out[0].pods)["items"], serde_json::json!([]));
}

#[test]
fn a_restarted_container_shows_its_instances_in_turn() {
    let mut s = cluster();
    let leak = &mut s.containers[0];
    leak.started_minutes_ago = 12.0;
    leak.previous = Some(Previous {
        started_minutes_ago: 200.0,
        ended_minutes_ago: 17.0,
        last_lines: Vec::new(),
    });
    let out = samples(&s, &times(), cap(), &mut Rng::new(1));
    let mem: Vec<Option<f64>> = out
        .iter()
        .map(|m| usage(&parse(&m.pods), "cart-1", "app").map(|u| u.1))
        .collect();
    // The previous instance leaks up to the limit, is gone between 17 and 12 minutes
    // before capture, and the new instance starts low and leaks again.
    assert_eq!(mem[8], Some(300.0 * MI), "{mem:?}");
    assert_eq!(mem[9], None, "{mem:?}");
    assert!(mem[10].unwrap() < 235.0 * MI, "{mem:?}");
    assert!(mem[11].unwrap() > mem[10].unwrap(), "{mem:?}");
    assert!(mem[12].unwrap() > mem[11].unwrap(), "{mem:?}");
}

#[test]
fn prometheus_answers_are_matrices() {
    let s = cluster();
    let out = prometheus(&s, cap(), 60.0, 60, &mut Rng::new(1));
    let names: Vec<&str> = out.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "container_cpu_cfs_periods_total",
            "container_cpu_cfs_throttled_periods_total",
            "container_cpu_usage_seconds_total",
            "container_memory_working_set_bytes",
            "container_network_receive_bytes_total",
            "kube_pod_container_status_restarts_total",
        ]
    );
    for (name, raw) in &out {
        let v: Value = serde_json::from_str(raw.get()).unwrap();
        assert_eq!(v["status"], "success");
        assert_eq!(v["data"]["resultType"], "matrix");
        for series in v["data"]["result"].as_array().unwrap() {
            assert_eq!(series["metric"]["__name__"], name.as_str());
            assert_eq!(series["metric"]["namespace"], "shop");
            for p in series["values"].as_array().unwrap() {
                assert!(p[0].as_i64().is_some());
                assert!(p[1].as_str().unwrap().parse::<f64>().unwrap().is_finite());
            }
        }
    }
    let cpu: Value = serde_json::from_str(out["container_cpu_usage_seconds_total"].get()).unwrap();
    let first = &cpu["data"]["result"][0];
    assert_eq!(first["metric"]["pod"], "api-1");
    assert_eq!(first["metric"]["container"], "app");
    assert_eq!(first["metric"]["node"], "node-b");
    let values = first["values"].as_array().unwrap();
    assert_eq!(values.len(), 61);
    assert_eq!(values[60][0], cap().as_second());
    // The stopped container has no usage series; every container has a restarts one.
    let has = |metric: &str, container: &str| {
        let v: Value = serde_json::from_str(out[metric].get()).unwrap();
        v["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["metric"]["container"] == container)
    };
    assert!(!has("container_cpu_usage_seconds_total", "migrate"));
    assert!(has("kube_pod_container_status_restarts_total", "migrate"));
    // Network is per pod.
    let net: Value =
        serde_json::from_str(out["container_network_receive_bytes_total"].get()).unwrap();
    let series = net["data"]["result"].as_array().unwrap();
    assert_eq!(series.len(), 3);
    assert!(
        series
            .iter()
            .all(|s| s["metric"].get("container").is_none())
    );
    let rate: f64 = series[0]["values"][0][1].as_str().unwrap().parse().unwrap();
    assert!((10_000.0..30_000.0).contains(&rate), "{rate}");
}

#[test]
fn throttling_and_restarts_follow_the_signals() {
    let mut s = cluster();
    s.containers[1].previous = Some(Previous {
        started_minutes_ago: 300.0,
        ended_minutes_ago: 20.5,
        last_lines: Vec::new(),
    });
    s.containers[1].started_minutes_ago = 19.5;
    let out = prometheus(&s, cap(), 60.0, 60, &mut Rng::new(1));
    let series = |metric: &str, pod: &str, container: &str| -> Vec<(i64, f64)> {
        let v: Value = serde_json::from_str(out[metric].get()).unwrap();
        let s = v["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["metric"]["pod"] == pod && s["metric"]["container"] == container)
            .unwrap()
            .clone();
        s["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_i64().unwrap(),
                    p[1].as_str().unwrap().parse().unwrap(),
                )
            })
            .collect()
    };
    let onset = cap().as_second() - 30 * 60;
    let throttled = series("container_cpu_cfs_throttled_periods_total", "api-1", "app");
    // Before onset ~156m of 200m: a little throttling, as bursts near a limit get.
    assert!(
        throttled
            .iter()
            .filter(|(t, _)| *t < onset)
            .all(|(_, v)| *v < 3.0),
        "{throttled:?}"
    );
    assert!(throttled.iter().any(|(_, v)| *v < 2.0));
    assert!(
        throttled
            .iter()
            .filter(|(t, _)| *t >= onset)
            .all(|(_, v)| *v > 5.0),
        "{throttled:?}"
    );
    let restarts = series("kube_pod_container_status_restarts_total", "api-1", "app");
    let ended = cap().as_second() - 20 * 60 - 30;
    assert!(
        restarts
            .iter()
            .all(|(t, v)| *v == if *t >= ended { 1.0 } else { 0.0 }),
        "{restarts:?}"
    );
    // Between the two instances (20.5 to 19.5 minutes before capture) there is no usage.
    let cpu = series("container_cpu_usage_seconds_total", "api-1", "app");
    assert_eq!(cpu.len(), 60, "one point missing");
    for metric in [
        "container_cpu_cfs_throttled_periods_total",
        "container_cpu_cfs_periods_total",
    ] {
        let v: Value = serde_json::from_str(out[metric].get()).unwrap();
        assert_eq!(
            v["data"]["result"].as_array().unwrap().len(),
            1,
            "{metric}: only limited containers"
        );
    }
    // The container ran in every period once throttled, and never throttled in more
    // periods than it ran in.
    let periods = series("container_cpu_cfs_periods_total", "api-1", "app");
    assert_eq!(periods.len(), throttled.len());
    for ((t, ran), (_, thr)) in periods.iter().zip(&throttled) {
        assert!(
            ran >= thr && *ran <= 10.0 && *ran >= 1.0,
            "{t}: {ran} {thr}"
        );
        if *t >= onset {
            assert_eq!(*ran, 10.0, "{t}");
        }
    }
}

#[test]
fn prometheus_keeps_at_most_max_series_faulty_first() {
    let mut s = Signals::default();
    for i in 0..2_500 {
        let mut c = container("bulk", &format!("pod-{i:05}"), "app");
        if i % 1_000 == 999 {
            c.onset_minutes_ago = Some(5.0);
        }
        s.containers.push(c);
    }
    let out = prometheus(&s, cap(), 10.0, 60, &mut Rng::new(1));
    for (name, raw) in &out {
        let v: Value = serde_json::from_str(raw.get()).unwrap();
        let result = v["data"]["result"].as_array().unwrap();
        if name.starts_with("container_cpu_cfs_") {
            assert!(result.is_empty());
            continue;
        }
        assert_eq!(result.len(), MAX_SERIES, "{name}");
        let pods: Vec<&str> = result
            .iter()
            .map(|s| s["metric"]["pod"].as_str().unwrap())
            .collect();
        assert!(pods.windows(2).all(|w| w[0] < w[1]), "{name} sorted");
        for faulty in ["pod-00999", "pod-01999", "pod-02499"] {
            assert_eq!(
                pods.contains(&faulty),
                faulty != "pod-02499",
                "{name} {faulty}"
            );
        }
    }
    // A tiny step over a long window is widened to Prometheus' point limit.
    s.containers.truncate(1);
    s.containers[0].started_minutes_ago = 30.0 * 1440.0;
    let out = prometheus(&s, cap(), 7.0 * 1440.0, 1, &mut Rng::new(1));
    let v: Value = serde_json::from_str(out["container_memory_working_set_bytes"].get()).unwrap();
    let n = v["data"]["result"][0]["values"].as_array().unwrap().len() as i64;
    assert!(n <= MAX_POINTS && n > MAX_POINTS / 2, "{n}");
}

#[test]
fn daily_pattern_peaks_at_two_and_bottoms_at_four() {
    let at = |h: i64| daily(ms_of(h));
    fn ms_of(h: i64) -> i64 {
        cap().as_millisecond() - 14 * 3_600_000 + h * 3_600_000
    }
    assert!((at(14) - 1.3).abs() < 1e-9);
    assert!((at(4) - 0.7).abs() < 1e-9);
    assert!((at(28) - 0.7).abs() < 1e-9);
    for h in 0..24 {
        assert!((0.7 - 1e-9..=1.3 + 1e-9).contains(&at(h)));
    }
    assert!(at(13) > at(10) && at(18) > at(22));
}

#[test]
fn odd_inputs_give_valid_json() {
    let mut s = cluster();
    let c = &mut s.containers[0];
    c.cpu_base_m = f64::NAN;
    c.mem_base = f64::INFINITY;
    c.mem_slope_per_min = -1e30;
    c.cpu_factor = f64::NAN;
    c.onset_minutes_ago = Some(f64::NAN);
    c.pod = "we\"ird\\pod".into();
    s.containers[1].cpu_base_m = 1e300;
    s.nodes[0].system_cpu_m = 1e300;
    s.pod_nodes
        .push((("shop".into(), "we\"ird\\pod".into()), "node-a".into()));
    let out = samples(&s, &times(), cap(), &mut Rng::new(1));
    for m in &out {
        parse(&m.pods);
        parse(&m.nodes);
    }
    for raw in prometheus(&s, cap(), f64::NAN, 0, &mut Rng::new(1)).values() {
        serde_json::from_str::<Value>(raw.get()).unwrap();
    }
    assert!(samples(&s, &[], cap(), &mut Rng::new(1)).is_empty());
}

/// `cargo test --release -- --ignored scale`: 150,000 containers on 5,000 nodes.
#[test]
#[ignore = "timing check, run in release"]
fn scale_150k_containers() {
    let mut s = Signals::default();
    for n in 0..5_000 {
        s.nodes.push(node(&format!("node-{n:04}"), n % 500 != 7));
    }
    for p in 0..150_000 {
        let pod = format!("app-{p:06}-x7k2p");
        let mut c = container(&format!("ns-{:03}", p % 300), &pod, "app");
        if p % 100 == 0 {
            c.onset_minutes_ago = Some(20.0);
            c.mem_slope_per_min = MI;
        }
        s.pod_nodes
            .push(((c.namespace.clone(), pod), format!("node-{:04}", p % 5_000)));
        s.containers.push(c);
    }
    let start = std::time::Instant::now();
    let out = samples(&s, &times()[9..], cap(), &mut Rng::new(1));
    let took = start.elapsed();
    let bytes: usize = out
        .iter()
        .map(|m| m.pods.as_ref().unwrap().get().len())
        .sum();
    eprintln!("samples: 4 × 150k containers in {took:?}, {bytes} bytes of pods");
    let start = std::time::Instant::now();
    let prom = prometheus(&s, cap(), 120.0, 60, &mut Rng::new(1));
    let bytes: usize = prom.values().map(|v| v.get().len()).sum();
    eprintln!("prometheus: {:?}, {bytes} bytes", start.elapsed());
    assert!(took.as_secs_f64() < 10.0);
}
