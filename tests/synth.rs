//! The synthetic cluster generator through the binary: determinism, API validity (typed
//! k8s-openapi parsing and the real kubectl through `serve`), tenants at scale, errors.

mod common;

use std::path::Path;

use common::{Server, bin, contains, decompressed, kubectl};

fn synth(dir: &Path, name: &str, args: &[&str]) -> std::path::PathBuf {
    let out = dir.join(name);
    let o = bin()
        .arg("synth")
        .args(args)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "synth {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

#[test]
fn demo_is_a_realistic_incident_and_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let out = dir.path().join(name);
        let o = bin().arg("demo").arg("--out").arg(&out).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        out
    };
    let (a, b) = (run("a.intel.tar.zst"), run("b.intel.tar.zst"));
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let snap = kubectl_intel::bundle::read_bundle(&a).unwrap().snapshot;
    assert_eq!(snap.cluster(), "demo");
    assert!(
        snap.items("apps", "deployments").len() >= 13,
        "a shop of 13+ services"
    );
    let bytes = decompressed(&a);
    assert!(contains(&bytes, "\"reason\":\"OOMKilled\""));
    assert!(contains(&bytes, "fatal error: runtime: out of memory"));
    assert!(!snap.metrics.is_empty() && !snap.prometheus.is_empty());
    // Users reach the frontend from browsers; a regression here once came from comparing
    // route tables by address, which depends on how the compiler lays out the crate.
    let frontend = snap
        .logs
        .iter()
        .find(|(k, _)| k.pod.starts_with("frontend-"))
        .map(|(_, l)| l.as_str())
        .unwrap_or_default();
    assert!(frontend.contains("Mozilla/5.0"), "{frontend}");
}

#[test]
fn same_seed_same_bytes_other_seed_other_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let a = synth(dir.path(), "a", &["--seed", "5"]);
    let b = synth(dir.path(), "b", &["--seed", "5"]);
    let c = synth(dir.path(), "c", &["--seed", "6"]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
}

/// Every generated object of a built-in kind deserializes into its k8s-openapi type.
#[test]
fn generated_objects_are_valid_api_objects() {
    use k8s_openapi::api::{
        apps, autoscaling, batch, core, discovery, networking, policy, storage,
    };
    let dir = tempfile::tempdir().unwrap();
    let bundle = synth(dir.path(), "s", &["--scenario", "auth-memory-leak"]);
    let snap = kubectl_intel::bundle::read_bundle(&bundle)
        .unwrap()
        .snapshot;
    let counted = [
        common::assert_typed::<core::v1::Pod>(&snap, "", "pods"),
        common::assert_typed::<core::v1::Node>(&snap, "", "nodes"),
        common::assert_typed::<core::v1::Service>(&snap, "", "services"),
        common::assert_typed::<core::v1::Event>(&snap, "", "events"),
        common::assert_typed::<core::v1::Secret>(&snap, "", "secrets"),
        common::assert_typed::<core::v1::ConfigMap>(&snap, "", "configmaps"),
        common::assert_typed::<core::v1::Namespace>(&snap, "", "namespaces"),
        common::assert_typed::<core::v1::PersistentVolumeClaim>(
            &snap,
            "",
            "persistentvolumeclaims",
        ),
        common::assert_typed::<core::v1::PersistentVolume>(&snap, "", "persistentvolumes"),
        common::assert_typed::<core::v1::ResourceQuota>(&snap, "", "resourcequotas"),
        common::assert_typed::<core::v1::LimitRange>(&snap, "", "limitranges"),
        common::assert_typed::<apps::v1::Deployment>(&snap, "apps", "deployments"),
        common::assert_typed::<apps::v1::ReplicaSet>(&snap, "apps", "replicasets"),
        common::assert_typed::<apps::v1::StatefulSet>(&snap, "apps", "statefulsets"),
        common::assert_typed::<apps::v1::DaemonSet>(&snap, "apps", "daemonsets"),
        common::assert_typed::<batch::v1::Job>(&snap, "batch", "jobs"),
        common::assert_typed::<batch::v1::CronJob>(&snap, "batch", "cronjobs"),
        common::assert_typed::<autoscaling::v2::HorizontalPodAutoscaler>(
            &snap,
            "autoscaling",
            "horizontalpodautoscalers",
        ),
        common::assert_typed::<policy::v1::PodDisruptionBudget>(
            &snap,
            "policy",
            "poddisruptionbudgets",
        ),
        common::assert_typed::<networking::v1::Ingress>(&snap, "networking.k8s.io", "ingresses"),
        common::assert_typed::<networking::v1::NetworkPolicy>(
            &snap,
            "networking.k8s.io",
            "networkpolicies",
        ),
        common::assert_typed::<discovery::v1::EndpointSlice>(
            &snap,
            "discovery.k8s.io",
            "endpointslices",
        ),
        common::assert_typed::<storage::v1::StorageClass>(
            &snap,
            "storage.k8s.io",
            "storageclasses",
        ),
    ];
    assert!(
        counted.iter().all(|n| *n > 0),
        "every kind is present: {counted:?}"
    );
}

#[test]
fn kubectl_reads_a_synthetic_cluster() {
    if kubectl().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bundle = synth(dir.path(), "s", &["--scenario", "auth-memory-leak"]);
    let snap = kubectl_intel::bundle::read_bundle(&bundle)
        .unwrap()
        .snapshot;
    let server = Server::start(&bundle, dir.path(), &[]);
    let pods = server.kubectl_ok(&["get", "pods", "-A", "--no-headers"]);
    assert_eq!(pods.lines().count(), snap.pods().len());
    assert!(
        pods.lines()
            .any(|l| l.contains("auth-") && l.contains("CrashLoopBackOff")),
        "{pods}"
    );
    let all = server.kubectl_ok(&[
        "get",
        "deploy,sts,ds,svc,ing,hpa,pdb,cronjob,job,pvc,endpointslice",
        "-A",
    ]);
    assert!(
        all.contains("deployment.apps/checkout") && all.contains("statefulset.apps/postgres"),
        "{all}"
    );
    let nodes = server.kubectl_ok(&["get", "nodes", "-o", "wide"]);
    assert_eq!(nodes.lines().count() - 1, snap.nodes().len());
    let node = snap.nodes()[0].meta.name.clone();
    let describe = server.kubectl_ok(&["describe", "node", &node]);
    assert!(
        describe.contains("topology.kubernetes.io/zone="),
        "{describe}"
    );
    let top = server.kubectl_ok(&["top", "pods", "-n", "shop"]);
    assert!(top.lines().count() > 20, "{top}");
}

/// The shop replicated over tenant namespaces reaches the requested size; the 150,000-pod
/// run is a benchmark (BENCHMARKS.md), this is its CI-sized twin.
#[test]
fn pods_target_is_met_with_tenants_and_batch() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = synth(dir.path(), "big", &["--pods", "3000", "--nodes", "60"]);
    let snap = kubectl_intel::bundle::read_bundle(&bundle)
        .unwrap()
        .snapshot;
    let pods = snap.pods().len();
    assert!(
        (2700..=3300).contains(&pods),
        "{pods} pods for a target of 3000"
    );
    let tenants = snap
        .items("", "namespaces")
        .iter()
        .filter(|n| n.meta.name.starts_with("tenant-"))
        .count();
    assert!(tenants > 50, "{tenants} tenants");
    assert!(snap.pods().iter().any(|p| p.meta.namespace == "batch"));
    let services = snap.items("", "services").len();
    assert!(services <= 10_000);
    let unscheduled = snap
        .pods()
        .iter()
        .filter(|p| p.json().contains("\"reason\":\"Unschedulable\""))
        .count();
    assert_eq!(unscheduled, 0, "enough nodes are created for the pods");
}

#[test]
fn bad_scenarios_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let o = bin()
        .args(["synth", "--scenario", "no-such-scenario", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no such scenario") && err.contains("auth-memory-leak"),
        "{err}"
    );
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "faults:\n  - type: volcano\n    app: auth\n").unwrap();
    let o = bin()
        .arg("synth")
        .arg("--scenario")
        .arg(&bad)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("unknown fault type \"volcano\""), "{err}");
    std::fs::write(&bad, "faults:\n  - type: crashloop\n    app: nonexistent\n").unwrap();
    let o = bin()
        .arg("synth")
        .arg("--scenario")
        .arg(&bad)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no pods of app \"nonexistent\""), "{err}");
    assert!(!out.exists());
    let list = bin().args(["synth", "--list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("auth-memory-leak"));
}
