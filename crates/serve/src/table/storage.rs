//! Storage printers: PersistentVolume, PersistentVolumeClaim, StorageClass, CSINode,
//! VolumeAttachment.
//!
//! Together because PV and PVC share the access-mode and storage-class helpers, and the
//! cluster-scoped storage objects are read alongside them.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::cells::{age, at, bool_at, len_at, list_at, name_of, or_placeholder, quantity, str_at};
use super::{AGE, Col, NAME, Row, c, w};

/// `GetAccessModesAsString`: RWO, ROX, RWX, RWOP in that order, de-duplicated.
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(long, _)| has(long))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// `GetPersistentVolume(Claim)Class`: the beta annotation wins over spec.storageClassName.
fn storage_class_of(obj: &Value) -> String {
    if let Some(class) = at(
        obj,
        &[
            "metadata",
            "annotations",
            "volume.beta.kubernetes.io/storage-class",
        ],
    )
    .and_then(Value::as_str)
    {
        return class.to_string();
    }
    str_at(obj, &["spec", "storageClassName"]).to_string()
}

pub(super) fn pv_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Capacity",
            "string",
            "capacity is the description of the persistent volume's resources and capacity.",
        ),
        c(
            "Access Modes",
            "string",
            "accessModes contains all ways the volume can be mounted.",
        ),
        c(
            "Reclaim Policy",
            "string",
            "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.",
        ),
        c(
            "Status",
            "string",
            "phase indicates if a volume is available, bound to a claim, or released by a claim.",
        ),
        c(
            "Claim",
            "string",
            "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.",
        ),
        c("StorageClass", "string", "StorageClass of the pv"),
        c(
            "VolumeAttributesClass",
            "string",
            "VolumeAttributesClass of the pv",
        ),
        c(
            "Reason",
            "string",
            "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.",
        ),
        AGE,
        w(
            "VolumeMode",
            "string",
            "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.",
        ),
    ]
}

pub(super) fn print_pv(pv: &Value, now: Timestamp) -> Row {
    let claim = at(pv, &["spec", "claimRef"])
        .map(|r| format!("{}/{}", str_at(r, &["namespace"]), str_at(r, &["name"])))
        .unwrap_or_default();
    let phase = if at(pv, &["metadata", "deletionTimestamp"]).is_some() {
        "Terminating"
    } else {
        str_at(pv, &["status", "phase"])
    };
    Row::new(vec![
        json!(name_of(pv)),
        json!(quantity(at(pv, &["spec", "capacity", "storage"]), "0")),
        json!(access_modes(list_at(pv, &["spec", "accessModes"]))),
        json!(str_at(pv, &["spec", "persistentVolumeReclaimPolicy"])),
        json!(phase),
        json!(claim),
        json!(storage_class_of(pv)),
        json!(or_placeholder(
            str_at(pv, &["spec", "volumeAttributesClassName"]),
            "<unset>"
        )),
        json!(str_at(pv, &["status", "reason"])),
        age(pv, now),
        json!(or_placeholder(
            str_at(pv, &["spec", "volumeMode"]),
            "<unset>"
        )),
    ])
}

pub(super) fn pvc_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Status",
            "string",
            "phase represents the current phase of PersistentVolumeClaim.",
        ),
        c(
            "Volume",
            "string",
            "volumeName is the binding reference to the PersistentVolume backing this claim.",
        ),
        c(
            "Capacity",
            "string",
            "capacity represents the actual resources of the underlying volume.",
        ),
        c(
            "Access Modes",
            "string",
            "accessModes contains the actual access modes the volume backing the PVC has.",
        ),
        c("StorageClass", "string", "StorageClass of the pvc"),
        c(
            "VolumeAttributesClass",
            "string",
            "VolumeAttributesClass of the pvc",
        ),
        AGE,
        w(
            "VolumeMode",
            "string",
            "volumeMode defines what type of volume is required by the claim.",
        ),
    ]
}

pub(super) fn print_pvc(pvc: &Value, now: Timestamp) -> Row {
    let phase = if at(pvc, &["metadata", "deletionTimestamp"]).is_some() {
        "Terminating"
    } else {
        str_at(pvc, &["status", "phase"])
    };
    let volume = str_at(pvc, &["spec", "volumeName"]);
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity(at(pvc, &["status", "capacity", "storage"]), "0"),
            access_modes(list_at(pvc, &["status", "accessModes"])),
        )
    };
    Row::new(vec![
        json!(name_of(pvc)),
        json!(phase),
        json!(volume),
        json!(capacity),
        json!(modes),
        json!(storage_class_of(pvc)),
        json!(or_placeholder(
            str_at(pvc, &["spec", "volumeAttributesClassName"]),
            "<unset>"
        )),
        age(pvc, now),
        json!(or_placeholder(
            str_at(pvc, &["spec", "volumeMode"]),
            "<unset>"
        )),
    ])
}

pub(super) fn storage_class_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Provisioner",
            "string",
            "provisioner indicates the type of the provisioner.",
        ),
        c(
            "ReclaimPolicy",
            "string",
            "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.",
        ),
        c(
            "VolumeBindingMode",
            "string",
            "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.",
        ),
        c(
            "AllowVolumeExpansion",
            "string",
            "allowVolumeExpansion shows whether the storage class allow volume expand.",
        ),
        AGE,
    ]
}

pub(super) fn print_storage_class(sc: &Value, now: Timestamp) -> Row {
    let annotation = |k: &str| str_at(sc, &["metadata", "annotations", k]) == "true";
    let mut name = name_of(sc).to_string();
    if annotation("storageclass.kubernetes.io/is-default-class")
        || annotation("storageclass.beta.kubernetes.io/is-default-class")
    {
        name.push_str(" (default)");
    }
    Row::new(vec![
        json!(name),
        json!(str_at(sc, &["provisioner"])),
        json!(or_placeholder(str_at(sc, &["reclaimPolicy"]), "Delete")),
        json!(or_placeholder(
            str_at(sc, &["volumeBindingMode"]),
            "Immediate"
        )),
        json!(bool_at(sc, &["allowVolumeExpansion"])),
        age(sc, now),
    ])
}

pub(super) fn csi_node_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Drivers",
            "integer",
            "Drivers indicates the number of CSI drivers registered on the node",
        ),
        AGE,
    ]
}

pub(super) fn print_csi_node(n: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        json!(name_of(n)),
        json!(len_at(n, &["spec", "drivers"])),
        age(n, now),
    ])
}

pub(super) fn volume_attachment_columns() -> Vec<Col> {
    vec![
        NAME,
        Col {
            format: "name",
            ..c(
                "Attacher",
                "string",
                "attacher indicates the name of the volume driver that MUST handle this request.",
            )
        },
        c(
            "PV",
            "string",
            "persistentVolumeName represents the name of the persistent volume to attach.",
        ),
        c(
            "Node",
            "string",
            "nodeName represents the node that the volume should be attached to.",
        ),
        c(
            "Attached",
            "boolean",
            "attached indicates the volume is successfully attached.",
        ),
        AGE,
    ]
}

pub(super) fn print_volume_attachment(va: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        json!(name_of(va)),
        json!(str_at(va, &["spec", "attacher"])),
        json!(str_at(va, &["spec", "source", "persistentVolumeName"])),
        json!(str_at(va, &["spec", "nodeName"])),
        json!(bool_at(va, &["status", "attached"])),
        age(va, now),
    ])
}
