//! API resource types: what discovery says about a kind (group, version, plural, scope,
//! short names). Bundles record it in the manifest so a reader knows the scope of a type
//! with no items, and `serve` can answer discovery the way the captured cluster did.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Identifies a resource type inside a snapshot: group ("" for core), version, plural.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TypeKey {
    pub group: String,
    pub version: String,
    pub resource: String,
}

impl TypeKey {
    pub fn new(group: &str, version: &str, resource: &str) -> Self {
        TypeKey {
            group: group.to_string(),
            version: version.to_string(),
            resource: resource.to_string(),
        }
    }

    /// `resources/<group>/<version>/<resource>.json`, group `core` for the legacy group.
    pub fn bundle_path(&self) -> String {
        let group = if self.group.is_empty() {
            "core"
        } else {
            &self.group
        };
        format!("resources/{group}/{}/{}.json", self.version, self.resource)
    }

    /// The inverse of [`TypeKey::bundle_path`]; `None` for any other shape of path.
    pub fn from_bundle_path(path: &str) -> Option<Self> {
        let rest = path.strip_prefix("resources/")?;
        let mut parts = rest.split('/');
        let (group, version, file) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || group.is_empty() || version.is_empty() {
            return None;
        }
        let resource = file.strip_suffix(".json")?;
        if resource.is_empty() {
            return None;
        }
        let group = if group == "core" { "" } else { group };
        Some(TypeKey::new(group, version, resource))
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

impl fmt::Display for TypeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            write!(f, "{}", self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

/// Discovery facts about one resource type (a subset of `APIResource`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    /// The plural, as in URLs.
    pub resource: String,
    pub kind: String,
    pub namespaced: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub singular: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub short_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
}

impl ResourceType {
    pub fn key(&self) -> TypeKey {
        TypeKey::new(&self.group, &self.version, &self.resource)
    }

    /// The facts for a built-in type, from the table below; `None` for types we do not know
    /// (CRDs), whose facts must come from the manifest or the CRD object.
    pub fn builtin(key: &TypeKey) -> Option<ResourceType> {
        BUILTIN
            .iter()
            .find(|b| b.0 == key.group && b.1 == key.resource)
            .map(|b| ResourceType {
                group: key.group.clone(),
                version: key.version.clone(),
                resource: key.resource.clone(),
                kind: b.2.to_string(),
                namespaced: b.3,
                singular: b.2.to_lowercase(),
                short_names: b.4.iter().map(|s| s.to_string()).collect(),
                categories: if b.5 {
                    vec!["all".to_string()]
                } else {
                    Vec::new()
                },
            })
    }

    /// The plural a built-in kind is served under, for building objects by kind.
    pub fn builtin_by_kind(group: &str, kind: &str) -> Option<&'static str> {
        BUILTIN
            .iter()
            .find(|b| b.0 == group && b.2 == kind)
            .map(|b| b.1)
    }
}

/// (group, plural, kind, namespaced, short names, in category "all").
/// Mirrors what a v1.3x API server's discovery reports for these types.
type Builtin = (
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
    bool,
);
const BUILTIN: &[Builtin] = &[
    ("", "bindings", "Binding", true, &[], false),
    (
        "",
        "componentstatuses",
        "ComponentStatus",
        false,
        &["cs"],
        false,
    ),
    ("", "configmaps", "ConfigMap", true, &["cm"], false),
    ("", "endpoints", "Endpoints", true, &["ep"], false),
    ("", "events", "Event", true, &["ev"], false),
    ("", "limitranges", "LimitRange", true, &["limits"], false),
    ("", "namespaces", "Namespace", false, &["ns"], false),
    ("", "nodes", "Node", false, &["no"], false),
    (
        "",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        true,
        &["pvc"],
        false,
    ),
    (
        "",
        "persistentvolumes",
        "PersistentVolume",
        false,
        &["pv"],
        false,
    ),
    ("", "pods", "Pod", true, &["po"], true),
    ("", "podtemplates", "PodTemplate", true, &[], false),
    (
        "",
        "replicationcontrollers",
        "ReplicationController",
        true,
        &["rc"],
        true,
    ),
    (
        "",
        "resourcequotas",
        "ResourceQuota",
        true,
        &["quota"],
        false,
    ),
    ("", "secrets", "Secret", true, &[], false),
    (
        "",
        "serviceaccounts",
        "ServiceAccount",
        true,
        &["sa"],
        false,
    ),
    ("", "services", "Service", true, &["svc"], true),
    (
        "apps",
        "controllerrevisions",
        "ControllerRevision",
        true,
        &[],
        false,
    ),
    ("apps", "daemonsets", "DaemonSet", true, &["ds"], true),
    ("apps", "deployments", "Deployment", true, &["deploy"], true),
    ("apps", "replicasets", "ReplicaSet", true, &["rs"], true),
    ("apps", "statefulsets", "StatefulSet", true, &["sts"], true),
    (
        "autoscaling",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        true,
        &["hpa"],
        true,
    ),
    ("batch", "cronjobs", "CronJob", true, &["cj"], true),
    ("batch", "jobs", "Job", true, &[], true),
    ("coordination.k8s.io", "leases", "Lease", true, &[], false),
    (
        "discovery.k8s.io",
        "endpointslices",
        "EndpointSlice",
        true,
        &[],
        false,
    ),
    ("events.k8s.io", "events", "Event", true, &["ev"], false),
    (
        "networking.k8s.io",
        "ingresses",
        "Ingress",
        true,
        &["ing"],
        false,
    ),
    (
        "networking.k8s.io",
        "ingressclasses",
        "IngressClass",
        false,
        &[],
        false,
    ),
    (
        "networking.k8s.io",
        "networkpolicies",
        "NetworkPolicy",
        true,
        &["netpol"],
        false,
    ),
    (
        "policy",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        true,
        &["pdb"],
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        "ClusterRoleBinding",
        false,
        &[],
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "clusterroles",
        "ClusterRole",
        false,
        &[],
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "rolebindings",
        "RoleBinding",
        true,
        &[],
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "roles",
        "Role",
        true,
        &[],
        false,
    ),
    (
        "scheduling.k8s.io",
        "priorityclasses",
        "PriorityClass",
        false,
        &["pc"],
        false,
    ),
    (
        "storage.k8s.io",
        "storageclasses",
        "StorageClass",
        false,
        &["sc"],
        false,
    ),
    (
        "storage.k8s.io",
        "volumeattachments",
        "VolumeAttachment",
        false,
        &[],
        false,
    ),
    (
        "storage.k8s.io",
        "csidrivers",
        "CSIDriver",
        false,
        &[],
        false,
    ),
    ("storage.k8s.io", "csinodes", "CSINode", false, &[], false),
    (
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
        &["crd", "crds"],
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        false,
        &[],
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        false,
        &[],
        false,
    ),
    (
        "apiregistration.k8s.io",
        "apiservices",
        "APIService",
        false,
        &[],
        false,
    ),
    (
        "certificates.k8s.io",
        "certificatesigningrequests",
        "CertificateSigningRequest",
        false,
        &["csr"],
        false,
    ),
    (
        "node.k8s.io",
        "runtimeclasses",
        "RuntimeClass",
        false,
        &[],
        false,
    ),
    (
        "flowcontrol.apiserver.k8s.io",
        "flowschemas",
        "FlowSchema",
        false,
        &[],
        false,
    ),
    (
        "flowcontrol.apiserver.k8s.io",
        "prioritylevelconfigurations",
        "PriorityLevelConfiguration",
        false,
        &[],
        false,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_paths_round_trip() {
        let k = TypeKey::new("", "v1", "pods");
        assert_eq!(k.bundle_path(), "resources/core/v1/pods.json");
        assert_eq!(TypeKey::from_bundle_path(&k.bundle_path()), Some(k));
        let k = TypeKey::new("stable.example.com", "v1", "crontabs");
        assert_eq!(
            k.bundle_path(),
            "resources/stable.example.com/v1/crontabs.json"
        );
        assert_eq!(TypeKey::from_bundle_path(&k.bundle_path()), Some(k));
        assert_eq!(
            TypeKey::from_bundle_path("resources/core/v1/x/y.json"),
            None
        );
        assert_eq!(TypeKey::from_bundle_path("resources/core/v1/.json"), None);
        assert_eq!(TypeKey::from_bundle_path("logs/a/b/c.log"), None);
    }

    #[test]
    fn builtins_know_scope_and_short_names() {
        let d = ResourceType::builtin(&TypeKey::new("apps", "v1", "deployments")).unwrap();
        assert_eq!(d.kind, "Deployment");
        assert!(d.namespaced);
        assert_eq!(d.short_names, vec!["deploy"]);
        let n = ResourceType::builtin(&TypeKey::new("", "v1", "nodes")).unwrap();
        assert!(!n.namespaced);
        assert!(ResourceType::builtin(&TypeKey::new("x.io", "v1", "things")).is_none());
        assert_eq!(ResourceType::builtin_by_kind("", "Pod"), Some("pods"));
    }
}
