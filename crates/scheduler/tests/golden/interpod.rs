//! InterPodAffinity: the pod's affinity and anti-affinity, existing pods' anti-affinity,
//! namespaces, and the first pod of a group that wants itself.

use serde_json::{Value, json};

use super::common::{merge, node_with, pod_with};
use super::{V131, expect};

fn host(name: &str, zone: &str) -> Value {
    node_with(
        "n",
        "4",
        "8Gi",
        json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "zone": zone}}}),
    )
}

fn running_app(name: &str, app: &str, node: &str, extra: Value) -> Value {
    let mut p = pod_with(
        name,
        "10m",
        "10Mi",
        json!({"spec": {"nodeName": node}, "status": {"phase": "Running"}}),
    );
    p["metadata"]["labels"] = json!({"app": app});
    merge(&mut p, extra);
    p
}

fn term(app: &str, key: &str) -> Value {
    json!({"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key})
}

fn incoming(app: &str, affinity: Value) -> Value {
    let mut p = pod_with(
        "new",
        "10m",
        "10Mi",
        json!({"spec": {"affinity": affinity}}),
    );
    p["metadata"]["labels"] = json!({"app": app});
    p
}

const AFF: &str = "node(s) didn't match pod affinity rules";
const ANTI: &str = "node(s) didn't match pod anti-affinity rules";
const EXISTING: &str = "node(s) didn't satisfy existing pods anti-affinity rules";

fn one(reason: &str, preemption: &str) -> String {
    format!(
        "0/1 nodes are available: 1 {reason}. preemption: 0/1 nodes are available: 1 {preemption}."
    )
}

#[test]
fn anti_affinity_per_host_and_per_zone() {
    let nodes = vec![host("h1", "a"), host("h2", "a"), host("h3", "b")];
    let mut objects = nodes.clone();
    objects.push(running_app("db-0", "db", "h1", json!({})));
    let anti = |key: &str| json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("db", key)]}});
    expect(
        "per host: h2 and h3 remain",
        V131,
        objects.clone(),
        incoming("db", anti("kubernetes.io/hostname")),
        None,
    );
    objects.push(running_app("db-1", "db", "h2", json!({})));
    objects.push(running_app("db-2", "db", "h3", json!({})));
    expect(
        "per host: all taken",
        V131,
        objects.clone(),
        incoming("db", anti("kubernetes.io/hostname")),
        Some(&format!(
            "0/3 nodes are available: 3 {ANTI}. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
        )),
    );
    let mut zone_objects = nodes;
    zone_objects.push(running_app("db-0", "db", "h1", json!({})));
    expect(
        "per zone: zone b remains",
        V131,
        zone_objects.clone(),
        incoming("db", anti("zone")),
        None,
    );
    zone_objects.push(running_app("db-2", "db", "h3", json!({})));
    expect(
        "per zone: both zones taken",
        V131,
        zone_objects,
        incoming("db", anti("zone")),
        Some(&format!(
            "0/3 nodes are available: 3 {ANTI}. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
        )),
    );
}

#[test]
fn existing_pods_anti_affinity_keeps_the_newcomer_away() {
    let guard = running_app(
        "guard",
        "guard",
        "h1",
        json!({"spec": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("web", "kubernetes.io/hostname")]}}}}),
    );
    expect(
        "web may not join guard",
        V131,
        vec![host("h1", "a"), guard.clone()],
        incoming("web", json!({})),
        Some(&one(
            EXISTING,
            "No preemption victims found for incoming pod",
        )),
    );
    expect(
        "api may",
        V131,
        vec![host("h1", "a"), guard.clone()],
        incoming("api", json!({})),
        None,
    );
    // Another namespace: the guard's term covers only its own.
    let mut elsewhere = incoming("web", json!({}));
    elsewhere["metadata"]["namespace"] = json!("other");
    expect(
        "web in another namespace may",
        V131,
        vec![host("h1", "a"), guard],
        elsewhere,
        None,
    );
}

#[test]
fn affinity_needs_a_matching_pod_in_the_domain() {
    let with_cache = vec![
        host("h1", "a"),
        host("h2", "b"),
        running_app("cache-0", "cache", "h1", json!({})),
    ];
    let aff = json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("cache", "zone")]}});
    expect(
        "zone a has the cache",
        V131,
        with_cache.clone(),
        incoming("web", aff.clone()),
        None,
    );
    let mut pinned = incoming("web", aff.clone());
    merge(
        &mut pinned,
        json!({"spec": {"nodeSelector": {"zone": "b"}}}),
    );
    expect(
        "pinned to zone b",
        V131,
        with_cache,
        pinned,
        Some(
            "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) didn't match pod affinity rules. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
        ),
    );
    // No cache anywhere: a web pod cannot go, but the first cache pod that wants other
    // cache pods may (it matches its own term).
    let empty = vec![host("h1", "a")];
    expect(
        "no cache anywhere",
        V131,
        empty.clone(),
        incoming("web", aff),
        Some(&one(AFF, "Preemption is not helpful for scheduling")),
    );
    let own = json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("cache", "zone")]}});
    expect(
        "the first of its group",
        V131,
        empty.clone(),
        incoming("cache", own.clone()),
        None,
    );
    // The node must carry the term's key even then.
    let mut keyless = node_with("n", "4", "8Gi", json!({}));
    keyless["metadata"]["name"] = json!("bare");
    expect(
        "first of its group, no key",
        V131,
        vec![keyless],
        incoming("cache", own),
        Some(&one(AFF, "Preemption is not helpful for scheduling")),
    );
}

#[test]
fn namespace_selectors() {
    let ns = |name: &str, team: &str| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"team": team}}});
    let mut cache = running_app("cache-0", "cache", "h1", json!({}));
    cache["metadata"]["namespace"] = json!("infra");
    let objects = vec![
        host("h1", "a"),
        ns("infra", "platform"),
        ns("shop", "web"),
        cache,
    ];
    let by_selector = |team: &str| {
        json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "zone",
            "namespaceSelector": {"matchLabels": {"team": team}}
        }]}})
    };
    expect(
        "selects infra",
        V131,
        objects.clone(),
        incoming("web", by_selector("platform")),
        None,
    );
    expect(
        "selects nothing with the cache",
        V131,
        objects.clone(),
        incoming("web", by_selector("nobody")),
        Some(&one(AFF, "Preemption is not helpful for scheduling")),
    );
    // Without a selector the term looks in the pod's own namespace only.
    expect(
        "own namespace only",
        V131,
        objects.clone(),
        incoming(
            "web",
            json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("cache", "zone")]}}),
        ),
        Some(&one(AFF, "Preemption is not helpful for scheduling")),
    );
    expect(
        "listed namespace",
        V131,
        objects,
        incoming(
            "web",
            json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
                "labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "zone", "namespaces": ["infra"]
            }]}}),
        ),
        None,
    );
}
