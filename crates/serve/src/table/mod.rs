//! Server-side printing: `meta.k8s.io/v1` Tables for the replayed API.
//!
//! `kubectl get` asks for `application/json;as=Table;v=v1;g=meta.k8s.io` and prints exactly the
//! columns and cells the server returns. To make `kubectl get` against a snapshot look like it
//! does against the live cluster, this module mirrors the real server's printers:
//!
//! * built-in types: `pkg/printers/internalversion/printers.go` (column names, types, formats,
//!   `priority: 1` for the `-o wide` columns, and the cell values, including which cells are
//!   JSON integers or booleans although the column says "string"). The API server always
//!   generates the wide cells (`GenerateOptions{Wide: true}`); kubectl hides priority > 0
//!   columns unless `-o wide`.
//! * types without a printer (LimitRange, Role, ClusterRole, CustomResourceDefinition):
//!   apiserver's `DefaultTableConvertor` (Name, Created At).
//! * custom resources: apiextensions' table convertor over the served version's
//!   `additionalPrinterColumns` (default: a single Age column).
//! * APIService: kube-aggregator's convertor.
//!
//! Every field of the input is optional here: captured objects may be partial or redacted, and
//! a malformed object must degrade to placeholder cells, never to a panic.
//!
//! The shared table plumbing (column and row types, the printer registry, the default
//! convertor) lives here; the printers live in one submodule per area of the API, so a printer
//! can be compared with its printers.go counterpart without scrolling past thirty others.
//! Tests of one printer sit next to it; tests spanning many kinds stay here.

mod autoscaling;
mod cells;
mod config;
mod custom;
mod duration;
mod events;
mod network;
mod node;
mod pod;
mod policy_rbac;
mod storage;
mod workloads;

pub use duration::human_duration;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use autoscaling::{hpa_columns, print_hpa};
use cells::{name_of, time_at};
use config::{
    config_map_columns, namespace_columns, print_config_map, print_namespace, print_resource_quota,
    print_secret, print_service_account, resource_quota_columns, secret_columns,
    service_account_columns,
};
use custom::{api_service_columns, custom_resource_table, print_api_service};
use events::{event_columns, print_event, print_events_v1_event};
use network::{
    endpoint_slice_columns, endpoints_columns, ingress_class_columns, ingress_columns,
    network_policy_columns, print_endpoint_slice, print_endpoints, print_ingress,
    print_ingress_class, print_network_policy, print_service, service_columns,
};
use node::{
    lease_columns, node_columns, print_lease, print_node, print_priority_class,
    print_runtime_class, priority_class_columns, runtime_class_columns,
};
use pod::{pod_columns, print_pod};
use policy_rbac::{
    binding_columns, pdb_columns, print_binding, print_pdb, print_webhook_configuration,
    webhook_configuration_columns,
};
use storage::{
    csi_node_columns, print_csi_node, print_pv, print_pvc, print_storage_class,
    print_volume_attachment, pv_columns, pvc_columns, storage_class_columns,
    volume_attachment_columns,
};
use workloads::{
    controller_revision_columns, cron_job_columns, daemon_set_columns, deployment_columns,
    job_columns, pod_template_columns, print_controller_revision, print_cron_job, print_daemon_set,
    print_deployment, print_job, print_pod_template, print_replica_set,
    print_replication_controller, print_stateful_set, replica_set_columns,
    replication_controller_columns, stateful_set_columns,
};

/// `metav1.ObjectMeta{}.SwaggerDoc()["name"]`.
const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
/// `metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]`.
const AGE_DESC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const CONTAINERS_DESC: &str = "Names of each container in the template.";
const IMAGES_DESC: &str = "Images referenced by each container in the template.";

/// Builds a `meta.k8s.io/v1` Table for `items` (full objects, each with apiVersion/kind/metadata) of one resource type.
/// `group` is "" for the core group. `crd` is the CustomResourceDefinition object when the type is a custom resource (use its spec.versions[].additionalPrinterColumns for the served version `version`, with simple JSONPath `.spec.x.y` / `.status.conditions[?(@.type=="Ready")].status` best effort and `[0]` indexing; if none, Name + Age). `now` is the instant ages are computed against (the snapshot's capture time). `list_metadata` goes into the Table's `metadata` (resourceVersion, continue, remainingItemCount). `include_object`: "None" | "Metadata" (default: each row's `object` is a PartialObjectMetadata {"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{…the item's metadata…}}) | "Object" (the whole item).
///
/// Ages are computed against `now` rather than the wall clock so a replayed snapshot shows the
/// ages kubectl would have shown at capture time.
#[allow(clippy::too_many_arguments)] // the HTTP layer's contract; each argument is one request fact
pub fn table(
    group: &str,
    version: &str,
    kind: &str,
    items: &[&Value],
    crd: Option<&Value>,
    now: Timestamp,
    list_metadata: Value,
    include_object: &str,
) -> Value {
    let (columns, rows): (Vec<Value>, Vec<Row>) = if let Some(crd) = crd {
        custom_resource_table(crd, version, items, now)
    } else if let Some((cols, printer)) = builtin_printer(group, kind) {
        (
            cols.iter().copied().map(Col::to_json).collect(),
            items.iter().map(|item| printer(item, now)).collect(),
        )
    } else if uses_default_convertor(group, kind) {
        default_convertor_table(items)
    } else {
        // Unknown type: what apiextensions serves for a custom resource without printer columns.
        custom_resource_table(&Value::Null, version, items, now)
    };

    let rows: Vec<Value> = rows
        .into_iter()
        .zip(items.iter())
        .map(|(row, item)| row.into_json(item, include_object))
        .collect();

    let metadata = match list_metadata {
        Value::Null => json!({}),
        other => other,
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns,
        "rows": rows,
    })
}

/// One `TableColumnDefinition`.
#[derive(Clone, Copy)]
struct Col {
    name: &'static str,
    ty: &'static str,
    format: &'static str,
    desc: &'static str,
    priority: i64,
}

impl Col {
    fn to_json(self) -> Value {
        json!({
            "name": self.name,
            "type": self.ty,
            "format": self.format,
            "description": self.desc,
            "priority": self.priority,
        })
    }
}

/// A column shown by default.
const fn c(name: &'static str, ty: &'static str, desc: &'static str) -> Col {
    Col {
        name,
        ty,
        format: "",
        desc,
        priority: 0,
    }
}

/// A column only `-o wide` shows.
const fn w(name: &'static str, ty: &'static str, desc: &'static str) -> Col {
    Col {
        name,
        ty,
        format: "",
        desc,
        priority: 1,
    }
}

const NAME: Col = Col {
    name: "Name",
    ty: "string",
    format: "name",
    desc: NAME_DESC,
    priority: 0,
};
const AGE: Col = c("Age", "string", AGE_DESC);

/// One `TableRow` before the `object` is attached.
struct Row {
    cells: Vec<Value>,
    conditions: Option<Value>,
}

impl Row {
    fn new(cells: Vec<Value>) -> Self {
        Row {
            cells,
            conditions: None,
        }
    }

    /// Attaches the row object the way the apiserver's `includeObject` handling does.
    fn into_json(self, item: &Value, include_object: &str) -> Value {
        let mut row = Map::new();
        row.insert("cells".into(), Value::Array(self.cells));
        if let Some(conditions) = self.conditions {
            row.insert("conditions".into(), conditions);
        }
        match include_object {
            "None" => {}
            "Object" => {
                row.insert("object".into(), item.clone());
            }
            _ => {
                let metadata = item.get("metadata").cloned().unwrap_or_else(|| json!({}));
                row.insert(
                    "object".into(),
                    json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": metadata,
                    }),
                );
            }
        }
        Value::Object(row)
    }
}

type Printer = fn(&Value, Timestamp) -> Row;

/// The printer registered for a built-in (group, kind), with its column definitions.
fn builtin_printer(group: &str, kind: &str) -> Option<(Vec<Col>, Printer)> {
    let entry: (Vec<Col>, Printer) = match (group, kind) {
        ("", "Pod") => (pod_columns(), print_pod),
        ("", "Node") => (node_columns(), print_node),
        ("", "Namespace") => (namespace_columns(), print_namespace),
        ("", "Service") => (service_columns(), print_service),
        ("", "Endpoints") => (endpoints_columns(), print_endpoints),
        ("", "Event") => (event_columns(), print_event),
        ("events.k8s.io", "Event") => (event_columns(), print_events_v1_event),
        ("", "ConfigMap") => (config_map_columns(), print_config_map),
        ("", "Secret") => (secret_columns(), print_secret),
        ("", "ServiceAccount") => (service_account_columns(), print_service_account),
        ("", "PersistentVolume") => (pv_columns(), print_pv),
        ("", "PersistentVolumeClaim") => (pvc_columns(), print_pvc),
        ("", "ResourceQuota") => (resource_quota_columns(), print_resource_quota),
        ("", "ReplicationController") => (
            replication_controller_columns(),
            print_replication_controller,
        ),
        ("", "PodTemplate") => (pod_template_columns(), print_pod_template),
        ("apps", "Deployment") => (deployment_columns(), print_deployment),
        ("apps", "ReplicaSet") => (replica_set_columns(), print_replica_set),
        ("apps", "StatefulSet") => (stateful_set_columns(), print_stateful_set),
        ("apps", "DaemonSet") => (daemon_set_columns(), print_daemon_set),
        ("apps", "ControllerRevision") => {
            (controller_revision_columns(), print_controller_revision)
        }
        ("batch", "Job") => (job_columns(), print_job),
        ("batch", "CronJob") => (cron_job_columns(), print_cron_job),
        ("discovery.k8s.io", "EndpointSlice") => (endpoint_slice_columns(), print_endpoint_slice),
        ("networking.k8s.io", "Ingress") => (ingress_columns(), print_ingress),
        ("networking.k8s.io", "IngressClass") => (ingress_class_columns(), print_ingress_class),
        ("networking.k8s.io", "NetworkPolicy") => (network_policy_columns(), print_network_policy),
        ("autoscaling", "HorizontalPodAutoscaler") => (hpa_columns(), print_hpa),
        ("policy", "PodDisruptionBudget") => (pdb_columns(), print_pdb),
        ("storage.k8s.io", "StorageClass") => (storage_class_columns(), print_storage_class),
        ("storage.k8s.io", "CSINode") => (csi_node_columns(), print_csi_node),
        ("storage.k8s.io", "VolumeAttachment") => {
            (volume_attachment_columns(), print_volume_attachment)
        }
        ("scheduling.k8s.io", "PriorityClass") => (priority_class_columns(), print_priority_class),
        ("rbac.authorization.k8s.io", "RoleBinding") => {
            (binding_columns("roleBinding"), print_binding)
        }
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => {
            (binding_columns("clusterRoleBinding"), print_binding)
        }
        ("coordination.k8s.io", "Lease") => (lease_columns(), print_lease),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration")
        | ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration") => {
            (webhook_configuration_columns(), print_webhook_configuration)
        }
        ("node.k8s.io", "RuntimeClass") => (runtime_class_columns(), print_runtime_class),
        ("apiregistration.k8s.io", "APIService") => (api_service_columns(), print_api_service),
        _ => return None,
    };
    Some(entry)
}

/// Built-in types the real server prints with `rest.DefaultTableConvertor`.
fn uses_default_convertor(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        ("", "LimitRange")
            | ("rbac.authorization.k8s.io", "Role")
            | ("rbac.authorization.k8s.io", "ClusterRole")
            | ("apiextensions.k8s.io", "CustomResourceDefinition")
    )
}

/// `rest.DefaultTableConvertor`: Name and Created At (RFC 3339, UTC, type date).
fn default_convertor_table(items: &[&Value]) -> (Vec<Value>, Vec<Row>) {
    let cols = [NAME, c("Created At", "date", AGE_DESC)];
    let rows = items
        .iter()
        .map(|item| {
            let created = time_at(item, &["metadata", "creationTimestamp"])
                .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string());
            Row::new(vec![json!(name_of(item)), json!(created)])
        })
        .collect();
    (cols.iter().copied().map(Col::to_json).collect(), rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn now() -> Timestamp {
        "2024-05-01T12:00:00Z".parse().unwrap()
    }

    pub(super) fn build(group: &str, kind: &str, item: &Value) -> Value {
        table(
            group,
            "v1",
            kind,
            &[item],
            None,
            now(),
            json!({"resourceVersion": "42"}),
            "",
        )
    }

    pub(super) fn column_names(t: &Value) -> Vec<String> {
        t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    }

    /// The cell under the column named `name` in row `row`.
    pub(super) fn cell(t: &Value, row: usize, name: &str) -> Value {
        let idx = column_names(t).iter().position(|n| n == name).unwrap();
        t["rows"][row]["cells"][idx].clone()
    }

    pub(super) fn wide_columns(t: &Value) -> Vec<String> {
        t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["priority"] == 1)
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn misc_builtin_printers() {
        let cm = json!({"metadata": {"name": "cfg"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": ""}});
        assert_eq!(cell(&build("", "ConfigMap", &cm), 0, "Data"), 3);

        let secret = json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"k": "dg=="}});
        let t = build("", "Secret", &secret);
        assert_eq!(cell(&t, 0, "Type"), "Opaque");
        assert_eq!(cell(&t, 0, "Data"), 1);

        let pdb = json!({"metadata": {"name": "p"}, "spec": {"minAvailable": "50%"},
                         "status": {"disruptionsAllowed": 1}});
        let t = build("policy", "PodDisruptionBudget", &pdb);
        assert_eq!(cell(&t, 0, "Min Available"), "50%");
        assert_eq!(cell(&t, 0, "Max Unavailable"), "N/A");
        assert_eq!(cell(&t, 0, "Allowed Disruptions"), 1);

        let hpa = json!({"metadata": {"name": "h"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2,
                "maxReplicas": 10, "metrics": [{"type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]},
            "status": {"currentReplicas": 3, "currentMetrics": [{"type": "Resource",
                "resource": {"name": "cpu", "current": {"averageUtilization": 45}}}]}});
        let t = build("autoscaling", "HorizontalPodAutoscaler", &hpa);
        assert_eq!(cell(&t, 0, "Reference"), "Deployment/web");
        assert_eq!(cell(&t, 0, "Targets"), "cpu: 45%/80%");
        assert_eq!(cell(&t, 0, "MinPods"), "2");
        assert_eq!(cell(&t, 0, "MaxPods"), 10);
        assert_eq!(cell(&t, 0, "Replicas"), 3);

        let ing = json!({"metadata": {"name": "i"},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": "a.example"}, {"host": "b.example"}],
                     "tls": [{"hosts": ["a.example"]}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}});
        let t = build("networking.k8s.io", "Ingress", &ing);
        assert_eq!(cell(&t, 0, "Class"), "nginx");
        assert_eq!(cell(&t, 0, "Hosts"), "a.example,b.example");
        assert_eq!(cell(&t, 0, "Address"), "203.0.113.9");
        assert_eq!(cell(&t, 0, "Ports"), "80, 443");

        let pvc = json!({"metadata": {"name": "data"},
            "spec": {"volumeName": "pv-1", "storageClassName": "standard"},
            "status": {"phase": "Bound", "capacity": {"storage": "10Gi"},
                       "accessModes": ["ReadWriteMany", "ReadWriteOnce"]}});
        let t = build("", "PersistentVolumeClaim", &pvc);
        assert_eq!(cell(&t, 0, "Capacity"), "10Gi");
        assert_eq!(cell(&t, 0, "Access Modes"), "RWO,RWX");
        assert_eq!(cell(&t, 0, "StorageClass"), "standard");
        assert_eq!(cell(&t, 0, "VolumeAttributesClass"), "<unset>");

        let sc = json!({"metadata": {"name": "standard",
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path"});
        let t = build("storage.k8s.io", "StorageClass", &sc);
        assert_eq!(cell(&t, 0, "Name"), "standard (default)");
        assert_eq!(cell(&t, 0, "ReclaimPolicy"), "Delete");
        assert_eq!(cell(&t, 0, "AllowVolumeExpansion"), false);

        let rq = json!({"metadata": {"name": "q"}, "status": {
            "hard": {"requests.cpu": "2", "limits.memory": "4Gi", "pods": "10"},
            "used": {"requests.cpu": "500m", "pods": "3"}}});
        let t = build("", "ResourceQuota", &rq);
        assert_eq!(column_names(&t), ["Name", "Request", "Limit", "Age"]);
        assert_eq!(cell(&t, 0, "Request"), "pods: 3/10, requests.cpu: 500m/2");
        assert_eq!(cell(&t, 0, "Limit"), "limits.memory: 0/4Gi");

        let lr =
            json!({"metadata": {"name": "limits", "creationTimestamp": "2024-05-01T00:00:00Z"}});
        assert_eq!(
            column_names(&build("", "LimitRange", &lr)),
            ["Name", "Created At"]
        );

        let ep = json!({"metadata": {"name": "web"}, "subsets": [{
            "addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "fd00::3"}, {"ip": "10.0.0.4"}],
            "ports": [{"port": 8080}]}]});
        assert_eq!(
            cell(&build("", "Endpoints", &ep), 0, "Endpoints"),
            "10.0.0.1:8080,10.0.0.2:8080,[fd00::3]:8080 + 1 more..."
        );

        let es = json!({"metadata": {"name": "web-abc"}, "addressType": "IPv4",
            "ports": [{"port": 8080}], "endpoints": [{"addresses": ["10.0.0.1"]}]});
        let t = build("discovery.k8s.io", "EndpointSlice", &es);
        assert_eq!(cell(&t, 0, "Ports"), "8080");
        assert_eq!(cell(&t, 0, "Endpoints"), "10.0.0.1");

        let np = json!({"metadata": {"name": "deny"}, "spec": {"podSelector": {}}});
        assert_eq!(
            cell(
                &build("networking.k8s.io", "NetworkPolicy", &np),
                0,
                "Pod-Selector"
            ),
            "<none>"
        );

        let pc = json!({"metadata": {"name": "high"}, "value": 1000, "preemptionPolicy": "Never"});
        let t = build("scheduling.k8s.io", "PriorityClass", &pc);
        assert_eq!(cell(&t, 0, "Value"), 1000);
        assert_eq!(cell(&t, 0, "Global-Default"), false);
        assert_eq!(cell(&t, 0, "PreemptionPolicy"), "Never");
    }

    #[test]
    fn garbage_input_never_panics() {
        let junk = [
            json!(null),
            json!(42),
            json!("x"),
            json!([1, 2]),
            json!({"metadata": "nope", "spec": [], "status": 7}),
            json!({"spec": {"containers": "x", "ports": [null, 1, "a"], "selector": 3,
                   "template": {"spec": {"containers": [null, {"name": 1}]}}},
                   "status": {"containerStatuses": [null, {"state": 1}], "conditions": [1],
                              "initContainerStatuses": [{}], "hard": [], "loadBalancer": 1}}),
        ];
        let kinds = [
            ("", "Pod"),
            ("", "Node"),
            ("", "Namespace"),
            ("", "Service"),
            ("", "Endpoints"),
            ("", "Event"),
            ("events.k8s.io", "Event"),
            ("", "ConfigMap"),
            ("", "Secret"),
            ("", "ServiceAccount"),
            ("", "PersistentVolume"),
            ("", "PersistentVolumeClaim"),
            ("", "ResourceQuota"),
            ("", "LimitRange"),
            ("", "ReplicationController"),
            ("", "PodTemplate"),
            ("apps", "Deployment"),
            ("apps", "ReplicaSet"),
            ("apps", "StatefulSet"),
            ("apps", "DaemonSet"),
            ("apps", "ControllerRevision"),
            ("batch", "Job"),
            ("batch", "CronJob"),
            ("discovery.k8s.io", "EndpointSlice"),
            ("networking.k8s.io", "Ingress"),
            ("networking.k8s.io", "IngressClass"),
            ("networking.k8s.io", "NetworkPolicy"),
            ("autoscaling", "HorizontalPodAutoscaler"),
            ("policy", "PodDisruptionBudget"),
            ("storage.k8s.io", "StorageClass"),
            ("storage.k8s.io", "CSINode"),
            ("storage.k8s.io", "VolumeAttachment"),
            ("scheduling.k8s.io", "PriorityClass"),
            ("rbac.authorization.k8s.io", "Role"),
            ("rbac.authorization.k8s.io", "RoleBinding"),
            ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
            ("coordination.k8s.io", "Lease"),
            (
                "admissionregistration.k8s.io",
                "ValidatingWebhookConfiguration",
            ),
            ("node.k8s.io", "RuntimeClass"),
            ("apiregistration.k8s.io", "APIService"),
            ("x.io", "Y"),
        ];
        let items: Vec<&Value> = junk.iter().collect();
        let weird_crd = json!({"spec": {"versions": [{"name": "v1", "additionalPrinterColumns": [
            {"name": "A", "type": "string", "jsonPath": ".."},
            {"name": "B", "type": "integer", "jsonPath": ".spec[?(@.x>"},
            {"name": "C", "type": "date", "jsonPath": ".status"},
            {"name": "D", "type": "number", "jsonPath": "[-9]"},
            {"jsonPath": 5}
        ]}]}});
        for (group, kind) in kinds {
            for inc in ["None", "Metadata", "Object", "bogus"] {
                let t = table(group, "v1", kind, &items, None, now(), Value::Null, inc);
                let ncols = t["columnDefinitions"].as_array().unwrap().len();
                for row in t["rows"].as_array().unwrap() {
                    assert_eq!(row["cells"].as_array().unwrap().len(), ncols, "{kind}");
                }
            }
            let t = table(
                group,
                "v1",
                kind,
                &items,
                Some(&weird_crd),
                now(),
                json!({}),
                "",
            );
            assert_eq!(t["rows"].as_array().unwrap().len(), junk.len());
        }
    }
}
