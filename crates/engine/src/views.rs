//! Lean serde views of the few object fields the engines read.
//!
//! Why not the typed k8s-openapi structs: at 150,000 pods a full `Pod` parse allocates every
//! status field, probe and port; these views let serde skip all of that. Every collection
//! field accepts `null` as empty (captures and hand-written manifests contain both), and
//! an object whose view fails to parse is treated as empty by the callers: bad input never
//! panics, it only loses the relations that object would have had.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};

/// `null` and absent both mean "empty" for collections and strings.
pub fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct PodView {
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: TemplateMeta,
    #[serde(default, deserialize_with = "nullable")]
    pub spec: PodSpecView,
}

/// Just what every pod needs (placement, claims): the containers are skipped without
/// allocating, which halves the cost of reading 150,000 pods.
#[derive(Deserialize, Default, Debug)]
pub struct PodLiteView {
    #[serde(default, deserialize_with = "nullable")]
    pub spec: PodLiteSpec,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PodLiteSpec {
    #[serde(default, deserialize_with = "nullable")]
    pub node_name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub volumes: Vec<VolumeView>,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct PodSpecView {
    #[serde(default, deserialize_with = "nullable")]
    pub containers: Vec<ContainerView>,
    #[serde(default, deserialize_with = "nullable")]
    pub init_containers: Vec<ContainerView>,
    #[serde(default, deserialize_with = "nullable")]
    pub volumes: Vec<VolumeView>,
    #[serde(default, deserialize_with = "nullable")]
    pub image_pull_secrets: Vec<NameRef>,
}

impl PodSpecView {
    /// Containers then init containers, each with the JSON field it lives in.
    pub fn all_containers(&self) -> impl Iterator<Item = (&'static str, &ContainerView)> {
        self.containers
            .iter()
            .map(|c| ("containers", c))
            .chain(self.init_containers.iter().map(|c| ("initContainers", c)))
    }
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ContainerView {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub env: Vec<EnvVarView>,
    #[serde(default, deserialize_with = "nullable")]
    pub env_from: Vec<EnvFromView>,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct EnvVarView {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub value_from: Option<EnvVarSourceView>,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct EnvVarSourceView {
    #[serde(default)]
    pub config_map_key_ref: Option<KeyRef>,
    #[serde(default)]
    pub secret_key_ref: Option<KeyRef>,
}

#[derive(Deserialize, Default, Debug, Clone)]
pub struct KeyRef {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub key: String,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct EnvFromView {
    #[serde(default, deserialize_with = "nullable")]
    pub prefix: String,
    #[serde(default)]
    pub config_map_ref: Option<NameRef>,
    #[serde(default)]
    pub secret_ref: Option<NameRef>,
}

#[derive(Deserialize, Default, Debug, Clone)]
pub struct NameRef {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct VolumeView {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default)]
    pub persistent_volume_claim: Option<ClaimRef>,
    #[serde(default)]
    pub ephemeral: Option<IgnoredAny>,
    #[serde(default)]
    pub config_map: Option<ProjectionRef>,
    #[serde(default)]
    pub secret: Option<SecretVolume>,
    #[serde(default)]
    pub projected: Option<Projected>,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ClaimRef {
    #[serde(default, deserialize_with = "nullable")]
    pub claim_name: String,
}

/// A ConfigMap (or Secret, in projections) with an optional list of the keys it exposes.
#[derive(Deserialize, Default, Debug, Clone)]
pub struct ProjectionRef {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub items: Vec<KeyRef>,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct SecretVolume {
    #[serde(default, deserialize_with = "nullable")]
    pub secret_name: String,
}

#[derive(Deserialize, Default, Debug, Clone)]
pub struct Projected {
    #[serde(default, deserialize_with = "nullable")]
    pub sources: Vec<ProjectedSource>,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ProjectedSource {
    #[serde(default)]
    pub config_map: Option<ProjectionRef>,
    #[serde(default)]
    pub secret: Option<ProjectionRef>,
}

/// The metadata of a pod template (or a pod) that matters here.
#[derive(Deserialize, Default, Debug, Clone)]
pub struct TemplateMeta {
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Deserialize, Default, Debug, Clone)]
pub struct TemplateView {
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: TemplateMeta,
    #[serde(default, deserialize_with = "nullable")]
    pub spec: PodSpecView,
}

/// Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs (`spec.template`), CronJobs
/// (`spec.jobTemplate.spec.template`), and CRDs shaped like them (Argo Rollouts…).
#[derive(Deserialize, Default, Debug)]
pub struct WorkloadView {
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: TemplateMeta,
    #[serde(default, deserialize_with = "nullable")]
    pub spec: WorkloadSpecView,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSpecView {
    #[serde(default)]
    pub template: Option<TemplateView>,
    #[serde(default)]
    pub job_template: Option<JobTemplateView>,
}

#[derive(Deserialize, Default, Debug)]
pub struct JobTemplateView {
    #[serde(default)]
    pub spec: Option<WorkloadSpecInner>,
}

#[derive(Deserialize, Default, Debug)]
pub struct WorkloadSpecInner {
    #[serde(default)]
    pub template: Option<TemplateView>,
}

impl WorkloadView {
    /// The pod template and the JSON path of its `spec`.
    pub fn into_template(self) -> Option<(TemplateView, &'static str)> {
        if let Some(t) = self.spec.template {
            return Some((t, "spec.template"));
        }
        self.spec
            .job_template
            .and_then(|j| j.spec)
            .and_then(|s| s.template)
            .map(|t| (t, "spec.jobTemplate.spec.template"))
    }
}

/// A `metav1.LabelSelector`.
#[derive(Deserialize, Default, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default, deserialize_with = "nullable")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub match_expressions: Vec<Requirement>,
}

#[derive(Deserialize, Default, Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    #[serde(default, deserialize_with = "nullable")]
    pub key: String,
    #[serde(default, deserialize_with = "nullable")]
    pub operator: String,
    #[serde(default, deserialize_with = "nullable")]
    pub values: Vec<String>,
}

impl Requirement {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.operator.as_str() {
            "In" => value.is_some_and(|v| self.values.contains(v)),
            "NotIn" => value.is_none_or(|v| !self.values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            // An operator the API server would reject selects nothing, never everything.
            _ => false,
        }
    }

    fn describe(&self) -> String {
        match self.operator.as_str() {
            "Exists" => self.key.clone(),
            "DoesNotExist" => format!("!{}", self.key),
            op => format!(
                "{} {} ({})",
                self.key,
                op.to_lowercase(),
                self.values.join(",")
            ),
        }
    }
}

impl LabelSelector {
    /// An empty selector: selects everything (for PDBs, NetworkPolicies).
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| r.matches(labels))
    }

    /// `kubectl`-style text: `app=web,tier in (a,b)`; `<all>` for an empty selector.
    pub fn describe(&self) -> String {
        if self.is_empty() {
            return "<all>".to_string();
        }
        let mut parts: Vec<String> = self
            .match_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        parts.extend(self.match_expressions.iter().map(Requirement::describe));
        parts.join(",")
    }
}

/// `app=web,tier=fe` for a Service's plain selector.
pub fn describe_map(m: &BTreeMap<String, String>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[derive(Deserialize, Default, Debug)]
pub struct ServiceView {
    #[serde(default, deserialize_with = "nullable")]
    pub spec: ServiceSpecView,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpecView {
    #[serde(default, deserialize_with = "nullable")]
    pub selector: BTreeMap<String, String>,
    #[serde(default, rename = "clusterIP", deserialize_with = "nullable")]
    pub cluster_ip: String,
    #[serde(default, rename = "clusterIPs", deserialize_with = "nullable")]
    pub cluster_ips: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub ports: Vec<ServicePortView>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ServicePortView {
    #[serde(default)]
    pub port: Option<i64>,
    /// IntOrString.
    #[serde(default)]
    pub target_port: Option<serde_json::Value>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct IngressView {
    #[serde(default, deserialize_with = "nullable")]
    pub spec: IngressSpecView,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct IngressSpecView {
    #[serde(default)]
    pub default_backend: Option<IngressBackend>,
    /// extensions/v1beta1 spelling.
    #[serde(default)]
    pub backend: Option<IngressBackend>,
    #[serde(default, deserialize_with = "nullable")]
    pub rules: Vec<IngressRule>,
}

#[derive(Deserialize, Default, Debug)]
pub struct IngressRule {
    #[serde(default, deserialize_with = "nullable")]
    pub host: String,
    #[serde(default)]
    pub http: Option<IngressHttp>,
}

#[derive(Deserialize, Default, Debug)]
pub struct IngressHttp {
    #[serde(default, deserialize_with = "nullable")]
    pub paths: Vec<IngressPath>,
}

#[derive(Deserialize, Default, Debug)]
pub struct IngressPath {
    #[serde(default, deserialize_with = "nullable")]
    pub path: String,
    #[serde(default, deserialize_with = "nullable")]
    pub backend: IngressBackend,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct IngressBackend {
    #[serde(default)]
    pub service: Option<IngressServiceBackend>,
    /// extensions/v1beta1 and networking.k8s.io/v1beta1 spelling.
    #[serde(default, deserialize_with = "nullable")]
    pub service_name: String,
    #[serde(default)]
    pub service_port: Option<serde_json::Value>,
}

#[derive(Deserialize, Default, Debug)]
pub struct IngressServiceBackend {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default)]
    pub port: Option<ServiceBackendPort>,
}

#[derive(Deserialize, Default, Debug)]
pub struct ServiceBackendPort {
    #[serde(default)]
    pub number: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
}

/// Gateway API routes (HTTPRoute, GRPCRoute, TCPRoute, TLSRoute, UDPRoute).
#[derive(Deserialize, Default, Debug)]
pub struct RouteView {
    #[serde(default, deserialize_with = "nullable")]
    pub spec: RouteSpecView,
}

#[derive(Deserialize, Default, Debug)]
pub struct RouteSpecView {
    #[serde(default, deserialize_with = "nullable")]
    pub rules: Vec<RouteRule>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct RouteRule {
    #[serde(default, deserialize_with = "nullable")]
    pub backend_refs: Vec<BackendRef>,
}

#[derive(Deserialize, Default, Debug)]
pub struct BackendRef {
    #[serde(default, deserialize_with = "nullable")]
    pub group: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub namespace: String,
    #[serde(default)]
    pub port: Option<i64>,
}

/// HPA (`spec.scaleTargetRef`) and VPA (`spec.targetRef`).
#[derive(Deserialize, Default, Debug)]
pub struct ScalerView {
    #[serde(default, deserialize_with = "nullable")]
    pub spec: ScalerSpecView,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ScalerSpecView {
    #[serde(default)]
    pub scale_target_ref: Option<TargetRef>,
    #[serde(default)]
    pub target_ref: Option<TargetRef>,
}

#[derive(Deserialize, Default, Debug)]
pub struct TargetRef {
    #[serde(default, deserialize_with = "nullable")]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
}

/// PodDisruptionBudget: a null selector selects nothing, an empty one everything (policy/v1).
#[derive(Deserialize, Default, Debug)]
pub struct PdbView {
    #[serde(default, deserialize_with = "nullable")]
    pub spec: PdbSpecView,
}

#[derive(Deserialize, Default, Debug)]
pub struct PdbSpecView {
    #[serde(default)]
    pub selector: Option<LabelSelector>,
}

#[derive(Deserialize, Default, Debug)]
pub struct NetworkPolicyView {
    #[serde(default, deserialize_with = "nullable")]
    pub spec: NetworkPolicySpecView,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicySpecView {
    #[serde(default, deserialize_with = "nullable")]
    pub pod_selector: LabelSelector,
    #[serde(default, deserialize_with = "nullable")]
    pub egress: Vec<EgressRule>,
}

#[derive(Deserialize, Default, Debug)]
pub struct EgressRule {
    #[serde(default, deserialize_with = "nullable")]
    pub to: Vec<PolicyPeer>,
    #[serde(default, deserialize_with = "nullable")]
    pub ports: Vec<PolicyPort>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PolicyPeer {
    #[serde(default)]
    pub pod_selector: Option<LabelSelector>,
    #[serde(default)]
    pub namespace_selector: Option<LabelSelector>,
}

#[derive(Deserialize, Default, Debug)]
pub struct PolicyPort {
    /// IntOrString; a name matches any port (we do not resolve container port names).
    #[serde(default)]
    pub port: Option<serde_json::Value>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PvcView {
    #[serde(default, deserialize_with = "nullable")]
    pub spec: PvcSpecView,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PvcSpecView {
    #[serde(default, deserialize_with = "nullable")]
    pub volume_name: String,
}

#[derive(Deserialize, Default, Debug)]
pub struct PvView {
    #[serde(default, deserialize_with = "nullable")]
    pub spec: PvSpecView,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PvSpecView {
    #[serde(default)]
    pub claim_ref: Option<PvClaimRef>,
    #[serde(default)]
    pub node_affinity: Option<PvNodeAffinity>,
}

#[derive(Deserialize, Default, Debug)]
pub struct PvClaimRef {
    #[serde(default, deserialize_with = "nullable")]
    pub namespace: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
}

#[derive(Deserialize, Default, Debug)]
pub struct PvNodeAffinity {
    #[serde(default)]
    pub required: Option<NodeSelectorView>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct NodeSelectorView {
    #[serde(default, deserialize_with = "nullable")]
    pub node_selector_terms: Vec<NodeSelectorTerm>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct NodeSelectorTerm {
    #[serde(default, deserialize_with = "nullable")]
    pub match_expressions: Vec<Requirement>,
}

#[derive(Deserialize, Default, Debug)]
pub struct EndpointSliceView {
    #[serde(default, deserialize_with = "nullable")]
    pub endpoints: Vec<EndpointView>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct EndpointView {
    #[serde(default)]
    pub target_ref: Option<EndpointTarget>,
}

#[derive(Deserialize, Default, Debug)]
pub struct EndpointTarget {
    #[serde(default, deserialize_with = "nullable")]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub namespace: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
}

#[derive(Deserialize, Default, Debug)]
pub struct ConfigMapView {
    #[serde(default, deserialize_with = "nullable")]
    pub data: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nulls_are_empty_and_selectors_match() {
        let p: PodView = serde_json::from_value(json!({"spec": {"containers": null,
            "volumes": [{"name": "v", "configMap": {"name": "c", "items": null}}]}}))
        .unwrap();
        assert!(p.spec.containers.is_empty());
        assert_eq!(p.spec.volumes[0].config_map.as_ref().unwrap().name, "c");

        let sel: LabelSelector = serde_json::from_value(json!({"matchLabels": {"app": "a"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["x", "y"]},
                                 {"key": "canary", "operator": "DoesNotExist"}]}))
        .unwrap();
        let labels = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        assert!(sel.matches(&labels(&[("app", "a"), ("tier", "y")])));
        assert!(!sel.matches(&labels(&[("app", "a"), ("tier", "z")])));
        assert!(!sel.matches(&labels(&[("app", "a"), ("tier", "x"), ("canary", "1")])));
        assert!(!sel.matches(&labels(&[("app", "b"), ("tier", "x")])));
        let bogus = LabelSelector {
            match_expressions: vec![Requirement {
                key: "app".into(),
                operator: "Like".into(),
                values: vec![],
            }],
            ..Default::default()
        };
        assert!(!bogus.matches(&labels(&[("app", "a")])));
        assert_eq!(
            sel.describe(),
            "app=a,tier in (x,y),!canary",
            "describe is stable"
        );
    }
}
