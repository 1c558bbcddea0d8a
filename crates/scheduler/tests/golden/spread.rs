//! PodTopologySpread (`filtering_test.go`'s shapes): maxSkew over zones, the missing
//! label, minDomains, matchLabelKeys and the node inclusion policies.

use serde_json::{Value, json};

use super::common::{merge, node_with, pod_with};
use super::{V131, expect};

fn zoned(name: &str, zone: &str) -> Value {
    node_with(
        "n",
        "4",
        "8Gi",
        json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "zone": zone}}}),
    )
}

fn member(name: &str, node: &str) -> Value {
    let mut p = pod_with(
        name,
        "10m",
        "10Mi",
        json!({"spec": {"nodeName": node}, "status": {"phase": "Running"}}),
    );
    p["metadata"]["labels"] = json!({"app": "web"});
    p
}

fn spreading(constraint: Value) -> Value {
    let mut p = pod_with(
        "web-new",
        "10m",
        "10Mi",
        json!({"spec": {"topologySpreadConstraints": [constraint]}}),
    );
    p["metadata"]["labels"] = json!({"app": "web"});
    p
}

fn zone_constraint(max_skew: i64) -> Value {
    json!({"maxSkew": max_skew, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}})
}

#[test]
fn max_skew_over_zones() {
    // a: 2 pods, b: 1 pod. Placing in a makes skew 3-1 = 2 > 1; b is fine.
    let objects = vec![
        zoned("a1", "a"),
        zoned("b1", "b"),
        member("w1", "a1"),
        member("w2", "a1"),
        member("w3", "b1"),
    ];
    expect(
        "b is the only place",
        V131,
        objects.clone(),
        spreading(zone_constraint(1)),
        None,
    );
    // Fill b to 2: both zones are equal, either fits.
    let mut even = objects.clone();
    even.push(member("w4", "b1"));
    expect(
        "even zones",
        V131,
        even,
        spreading(zone_constraint(1)),
        None,
    );
    // Only zone a has a node the pod can use (b is tainted): skew 3-1 > 1.
    let mut only_a = vec![
        zoned("a1", "a"),
        member("w1", "a1"),
        member("w2", "a1"),
        member("w3", "b1"),
    ];
    let mut b = zoned("b1", "b");
    merge(
        &mut b,
        json!({"spec": {"taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]}}),
    );
    only_a.push(b);
    expect(
        "skew too high where it fits",
        V131,
        only_a,
        spreading(zone_constraint(1)),
        Some(
            "0/2 nodes are available: 1 node(s) didn't match pod topology spread constraints, 1 node(s) had untolerated taint {k: v}. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.",
        ),
    );
    // maxSkew 2 admits it.
    expect(
        "maxSkew 2",
        V131,
        objects,
        spreading(zone_constraint(2)),
        None,
    );
}

#[test]
fn a_node_without_the_key() {
    let mut bare = node_with("n", "4", "8Gi", json!({}));
    bare["metadata"]["name"] = json!("bare");
    expect(
        "missing label",
        V131,
        vec![bare],
        spreading(zone_constraint(1)),
        Some(
            "0/1 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing required label). preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
        ),
    );
    // ScheduleAnyway never filters.
    let mut bare = node_with("n", "4", "8Gi", json!({}));
    bare["metadata"]["name"] = json!("bare");
    let mut soft = zone_constraint(1);
    soft["whenUnsatisfiable"] = json!("ScheduleAnyway");
    expect("ScheduleAnyway", V131, vec![bare], spreading(soft), None);
}

#[test]
fn min_domains_counts_missing_domains_as_empty() {
    // Two zones exist with 1 pod each; minDomains 3 makes the minimum 0: 1+1-0 = 2 > 1.
    let objects = vec![
        zoned("a1", "a"),
        zoned("b1", "b"),
        member("w1", "a1"),
        member("w2", "b1"),
    ];
    let mut c = zone_constraint(1);
    c["minDomains"] = json!(3);
    expect(
        "minDomains 3 with 2 zones",
        V131,
        objects.clone(),
        spreading(c),
        Some(
            "0/2 nodes are available: 2 node(s) didn't match pod topology spread constraints. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
        ),
    );
    let mut c = zone_constraint(1);
    c["minDomains"] = json!(2);
    expect(
        "minDomains 2 with 2 zones",
        V131,
        objects,
        spreading(c),
        None,
    );
}

#[test]
fn match_label_keys_count_only_the_same_revision() {
    // Old revision pods fill zone a; the new revision counts only its own.
    let old = |name: &str, node: &str| {
        let mut p = member(name, node);
        p["metadata"]["labels"]["pod-template-hash"] = json!("old");
        p
    };
    let objects = vec![
        zoned("a1", "a"),
        zoned("b1", "b"),
        old("w1", "a1"),
        old("w2", "a1"),
        old("w3", "a1"),
    ];
    let mut c = zone_constraint(1);
    c["matchLabelKeys"] = json!(["pod-template-hash"]);
    let mut incoming = spreading(c);
    incoming["metadata"]["labels"]["pod-template-hash"] = json!("new");
    let mut pinned = incoming.clone();
    merge(
        &mut pinned,
        json!({"spec": {"nodeSelector": {"zone": "a"}}}),
    );
    expect("new revision, zone a", V131, objects.clone(), pinned, None);
    // Without matchLabelKeys the old pods count: zone a has 3, b (not eligible by the
    // node affinity policy: not counted) — the minimum is a's own 3, so it fits too; with
    // b honoured as a domain (policy Ignore) the skew is 4-0.
    let mut c = zone_constraint(1);
    c["nodeAffinityPolicy"] = json!("Ignore");
    let mut pinned = spreading(c);
    merge(
        &mut pinned,
        json!({"spec": {"nodeSelector": {"zone": "a"}}}),
    );
    expect(
        "affinity policy Ignore counts zone b",
        V131,
        objects.clone(),
        pinned,
        Some(
            "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) didn't match pod topology spread constraints. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.",
        ),
    );
    let mut pinned = spreading(zone_constraint(1));
    merge(
        &mut pinned,
        json!({"spec": {"nodeSelector": {"zone": "a"}}}),
    );
    expect(
        "affinity policy Honor ignores zone b",
        V131,
        objects,
        pinned,
        None,
    );
}
