//! VolumeBinding, VolumeZone, VolumeRestrictions and NodeVolumeLimits.

use serde_json::{Value, json};

use super::common::{merge, node_with, pod_with};
use super::{V131, expect};

fn zoned(name: &str, zone: &str) -> Value {
    node_with(
        "n",
        "4",
        "8Gi",
        json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone}}}),
    )
}

fn claim(name: &str, class: &str, volume: Option<&str>, modes: Value) -> Value {
    let mut c = json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"storageClassName": class, "accessModes": modes, "resources": {"requests": {"storage": "10Gi"}}},
        "status": {"phase": "Pending"}
    });
    if let Some(v) = volume {
        c["spec"]["volumeName"] = json!(v);
        c["status"]["phase"] = json!("Bound");
    }
    c
}

fn volume(name: &str, zone: &str, extra: Value) -> Value {
    let mut v = json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": zone}},
        "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]}]}]}}},
        "status": {"phase": "Bound"}
    });
    merge(&mut v, extra);
    v
}

fn class(name: &str, mode: &str, provisioner: &str) -> Value {
    json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name}, "provisioner": provisioner, "volumeBindingMode": mode})
}

fn using(claims: &[&str]) -> Value {
    let volumes: Vec<Value> = claims
        .iter()
        .map(|c| json!({"name": c, "persistentVolumeClaim": {"claimName": c}}))
        .collect();
    pod_with("db", "100m", "128Mi", json!({"spec": {"volumes": volumes}}))
}

fn msg(n: usize, body: &str, preemption: &str) -> String {
    format!(
        "0/{n} nodes are available: {body}. preemption: 0/{n} nodes are available: {preemption}."
    )
}

#[test]
fn claims_that_must_exist_and_be_bound() {
    let nodes = vec![zoned("a1", "a"), zoned("b1", "b")];
    let hopeless = "2 Preemption is not helpful for scheduling";
    expect(
        "missing claim",
        V131,
        nodes.clone(),
        using(&["data"]),
        Some(&msg(
            2,
            "persistentvolumeclaim \"data\" not found",
            hopeless,
        )),
    );
    let mut eph = pod_with(
        "db",
        "100m",
        "128Mi",
        json!({"spec": {"volumes": [{"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}}}]}}),
    );
    eph["metadata"]["name"] = json!("db-0");
    expect(
        "ephemeral claim not made yet",
        V131,
        nodes.clone(),
        eph,
        Some(&msg(
            2,
            "waiting for ephemeral volume controller to create the persistentvolumeclaim \"db-0-scratch\"",
            hopeless,
        )),
    );
    let mut objects = nodes.clone();
    objects.push(class("standard", "Immediate", "ebs.csi.aws.com"));
    objects.push(claim("data", "standard", None, json!(["ReadWriteOnce"])));
    expect(
        "unbound immediate",
        V131,
        objects,
        using(&["data"]),
        Some(&msg(
            2,
            "pod has unbound immediate PersistentVolumeClaims",
            hopeless,
        )),
    );
    let mut objects = nodes.clone();
    objects.push(class("standard", "WaitForFirstConsumer", "ebs.csi.aws.com"));
    objects.push(claim("data", "standard", None, json!(["ReadWriteOnce"])));
    expect(
        "unbound, waits for its consumer",
        V131,
        objects,
        using(&["data"]),
        None,
    );
    let mut deleting = claim("data", "standard", Some("pv-a"), json!(["ReadWriteOnce"]));
    deleting["metadata"]["deletionTimestamp"] = json!("2026-11-24T13:00:00Z");
    let mut objects = nodes;
    objects.push(deleting);
    objects.push(volume("pv-a", "a", json!({})));
    expect(
        "claim being deleted",
        V131,
        objects,
        using(&["data"]),
        Some(&msg(
            2,
            "persistentvolumeclaim \"data\" is being deleted",
            hopeless,
        )),
    );
}

#[test]
fn a_bound_volume_keeps_the_pod_in_its_zone() {
    let objects = vec![
        zoned("a1", "a"),
        zoned("b1", "b"),
        claim("data", "standard", Some("pv-a"), json!(["ReadWriteOnce"])),
        volume("pv-a", "a", json!({})),
    ];
    expect("zone a fits", V131, objects.clone(), using(&["data"]), None);
    let mut pinned = using(&["data"]);
    merge(
        &mut pinned,
        json!({"spec": {"nodeSelector": {"topology.kubernetes.io/zone": "b"}}}),
    );
    expect(
        "pinned to zone b, 1.31",
        V131,
        objects.clone(),
        pinned.clone(),
        Some(&msg(
            2,
            "1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had volume node affinity conflict",
            "2 Preemption is not helpful for scheduling",
        )),
    );
    expect(
        "pinned to zone b, 1.33",
        "v1.33.5",
        objects.clone(),
        pinned,
        // "Pe" sorts before "Po".
        Some(&msg(
            2,
            "1 node(s) didn't match PersistentVolume's node affinity, 1 node(s) didn't match Pod's node affinity/selector",
            "2 Preemption is not helpful for scheduling",
        )),
    );
    // Without node affinity on the volume, VolumeZone's labels decide.
    let objects = vec![
        zoned("b1", "b"),
        claim("data", "standard", Some("pv-a"), json!(["ReadWriteOnce"])),
        volume("pv-a", "a", json!({"spec": {"nodeAffinity": null}})),
    ];
    expect(
        "zone labels only",
        V131,
        objects,
        using(&["data"]),
        Some(&msg(
            1,
            "1 node(s) had no available volume zone",
            "1 Preemption is not helpful for scheduling",
        )),
    );
    // A node with no zone label at all is not constrained by VolumeZone.
    let mut bare = node_with("n", "4", "8Gi", json!({}));
    bare["metadata"]["name"] = json!("bare");
    let objects = vec![
        bare,
        claim("data", "standard", Some("pv-a"), json!(["ReadWriteOnce"])),
        volume("pv-a", "a", json!({"spec": {"nodeAffinity": null}})),
    ];
    expect("unlabelled node", V131, objects, using(&["data"]), None);
}

#[test]
fn delayed_binding_needs_a_volume_or_a_provisioner_here() {
    let local = class(
        "local",
        "WaitForFirstConsumer",
        "kubernetes.io/no-provisioner",
    );
    let free_pv = volume(
        "local-a",
        "a",
        json!({"spec": {"storageClassName": "local"}, "status": {"phase": "Available"}}),
    );
    let objects = vec![
        zoned("a1", "a"),
        zoned("b1", "b"),
        local.clone(),
        claim("data", "local", None, json!(["ReadWriteOnce"])),
        free_pv.clone(),
    ];
    expect(
        "a local volume in zone a",
        V131,
        objects,
        using(&["data"]),
        None,
    );
    let objects = vec![
        zoned("b1", "b"),
        local,
        claim("data", "local", None, json!(["ReadWriteOnce"])),
        free_pv,
    ];
    expect(
        "no local volume in zone b",
        V131,
        objects,
        using(&["data"]),
        Some(&msg(
            1,
            "1 node(s) didn't find available persistent volumes to bind",
            "1 Preemption is not helpful for scheduling",
        )),
    );
    let mut zonal = class("zonal", "WaitForFirstConsumer", "ebs.csi.aws.com");
    zonal["allowedTopologies"] = json!([{"matchLabelExpressions": [{"key": "topology.kubernetes.io/zone", "values": ["a"]}]}]);
    let objects = vec![
        zoned("b1", "b"),
        zonal.clone(),
        claim("data", "zonal", None, json!(["ReadWriteOnce"])),
    ];
    expect(
        "provisioner not allowed in zone b",
        V131,
        objects,
        using(&["data"]),
        Some(&msg(
            1,
            "1 node(s) didn't find available persistent volumes to bind",
            "1 Preemption is not helpful for scheduling",
        )),
    );
    let objects = vec![
        zoned("a1", "a"),
        zonal,
        claim("data", "zonal", None, json!(["ReadWriteOnce"])),
    ];
    expect(
        "provisioner allowed in zone a",
        V131,
        objects,
        using(&["data"]),
        None,
    );
}

#[test]
fn read_write_once_pod_and_attach_limits() {
    let holder = {
        let mut p = using(&["data"]);
        p["metadata"]["name"] = json!("db-old");
        merge(
            &mut p,
            json!({"spec": {"nodeName": "a1"}, "status": {"phase": "Running"}}),
        );
        p
    };
    let objects = vec![
        zoned("a1", "a"),
        claim(
            "data",
            "standard",
            Some("pv-a"),
            json!(["ReadWriteOncePod"]),
        ),
        volume("pv-a", "a", json!({})),
        holder.clone(),
    ];
    expect(
        "RWOP in use",
        V131,
        objects,
        using(&["data"]),
        Some(&msg(
            1,
            "1 node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode",
            "1 No preemption victims found for incoming pod",
        )),
    );
    let objects = vec![
        zoned("a1", "a"),
        claim("data", "standard", Some("pv-a"), json!(["ReadWriteOnce"])),
        volume("pv-a", "a", json!({})),
        holder,
    ];
    expect(
        "RWO shared on the node",
        V131,
        objects,
        using(&["data"]),
        None,
    );

    let csi = |handle: &str, zone: &str| {
        volume(
            handle,
            zone,
            json!({"spec": {"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": handle}}}),
        )
    };
    let csinode = |limit: i64| json!({"apiVersion": "storage.k8s.io/v1", "kind": "CSINode", "metadata": {"name": "a1"}, "spec": {"drivers": [{"name": "ebs.csi.aws.com", "nodeID": "i-1", "allocatable": {"count": limit}}]}});
    let mut attached = using(&["old"]);
    attached["metadata"]["name"] = json!("db-old");
    merge(
        &mut attached,
        json!({"spec": {"nodeName": "a1"}, "status": {"phase": "Running"}}),
    );
    let base = vec![
        zoned("a1", "a"),
        claim("old", "standard", Some("vol-1"), json!(["ReadWriteOnce"])),
        claim("data", "standard", Some("vol-2"), json!(["ReadWriteOnce"])),
        csi("vol-1", "a"),
        csi("vol-2", "a"),
        attached,
    ];
    let mut full = base.clone();
    full.push(csinode(1));
    expect(
        "attach limit reached",
        V131,
        full,
        using(&["data"]),
        Some(&msg(
            1,
            "1 node(s) exceed max volume count",
            "1 No preemption victims found for incoming pod",
        )),
    );
    let mut room = base;
    room.push(csinode(2));
    expect(
        "attach limit not reached",
        V131,
        room,
        using(&["data"]),
        None,
    );
}

/// VolumeRestrictions' inline disks (`TestGCEDiskConflicts`, `TestAWSDiskConflicts`,
/// `TestRBDDiskConflicts`, `TestISCSIDiskConflicts` in kube-scheduler's volume restrictions
/// tests): the same disk twice on a node conflicts unless both mounts are read-only.
#[test]
fn inline_disks_conflict_on_one_node() {
    let holder = |volume: Value| {
        let mut p = pod_with(
            "old",
            "",
            "",
            json!({"spec": {"nodeName": "n1", "volumes": [volume]}, "status": {"phase": "Running"}}),
        );
        p["metadata"]["name"] = json!("old");
        p
    };
    let wants = |volume: Value| pod_with("db", "", "", json!({"spec": {"volumes": [volume]}}));
    const DISK: &str = "0/1 nodes are available: 1 node(s) had no available disk. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.";
    let n1 = || node_with("n1", "4", "8Gi", json!({}));
    let gce = |pd: &str, ro: bool| json!({"name": "d", "gcePersistentDisk": {"pdName": pd, "readOnly": ro}});
    expect(
        "GCE same disk",
        V131,
        vec![n1(), holder(gce("foo", false))],
        wants(gce("foo", false)),
        Some(DISK),
    );
    expect(
        "GCE other disk",
        V131,
        vec![n1(), holder(gce("foo", false))],
        wants(gce("bar", false)),
        None,
    );
    expect(
        "GCE both read-only",
        V131,
        vec![n1(), holder(gce("foo", true))],
        wants(gce("foo", true)),
        None,
    );
    let ebs = |id: &str| json!({"name": "d", "awsElasticBlockStore": {"volumeID": id}});
    expect(
        "EBS same volume",
        V131,
        vec![n1(), holder(ebs("vol-1"))],
        wants(ebs("vol-1")),
        Some(DISK),
    );
    expect(
        "EBS other volume",
        V131,
        vec![n1(), holder(ebs("vol-1"))],
        wants(ebs("vol-2")),
        None,
    );
    let rbd =
        |mons: Value, image: &str| json!({"name": "d", "rbd": {"monitors": mons, "image": image}});
    expect(
        "RBD shared monitor, same image",
        V131,
        vec![n1(), holder(rbd(json!(["a", "b"]), "foo"))],
        wants(rbd(json!(["b", "c"]), "foo")),
        Some(DISK),
    );
    expect(
        "RBD no monitor in common",
        V131,
        vec![n1(), holder(rbd(json!(["a"]), "foo"))],
        wants(rbd(json!(["c"]), "foo")),
        None,
    );
    let iscsi = |iqn: &str| json!({"name": "d", "iscsi": {"targetPortal": "10.0.0.1:3260", "iqn": iqn, "lun": 0}});
    expect(
        "iSCSI same IQN",
        V131,
        vec![n1(), holder(iscsi("iqn.2016-12.server:storage.target01"))],
        wants(iscsi("iqn.2016-12.server:storage.target01")),
        Some(DISK),
    );
    expect(
        "iSCSI other IQN",
        V131,
        vec![n1(), holder(iscsi("iqn.2016-12.server:storage.target01"))],
        wants(iscsi("iqn.2017-12.server:storage.target01")),
        None,
    );
}
