//! What specs name: the ConfigMaps and Secrets a pod spec references, the backends of
//! Ingresses and routes, and a workload's facts read from its template or a bare pod.

use std::collections::BTreeMap;

use crate::views::{ConfigMapView, IngressView, PodSpecView, PodView, RouteView, WorkloadView};
use intel_model::{Object, ResourceType, Snapshot};

use super::*;

/// The ConfigMaps and Secrets a pod spec references: (kind, name, field).
pub fn config_refs(spec: &PodSpecView, prefix: &str) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    for (field, c) in spec.all_containers() {
        for e in &c.env {
            let Some(from) = &e.value_from else { continue };
            let at = format!("{prefix}.{field}[{}].env[{}].valueFrom", c.name, e.name);
            if let Some(r) = &from.config_map_key_ref {
                out.push(("ConfigMap", r.name.clone(), format!("{at}.configMapKeyRef")));
            }
            if let Some(r) = &from.secret_key_ref {
                out.push(("Secret", r.name.clone(), format!("{at}.secretKeyRef")));
            }
        }
        for (i, e) in c.env_from.iter().enumerate() {
            let at = format!("{prefix}.{field}[{}].envFrom[{i}]", c.name);
            if let Some(r) = &e.config_map_ref {
                out.push(("ConfigMap", r.name.clone(), format!("{at}.configMapRef")));
            }
            if let Some(r) = &e.secret_ref {
                out.push(("Secret", r.name.clone(), format!("{at}.secretRef")));
            }
        }
    }
    for v in &spec.volumes {
        let at = format!("{prefix}.volumes[{}]", v.name);
        if let Some(r) = &v.config_map {
            out.push(("ConfigMap", r.name.clone(), format!("{at}.configMap")));
        }
        if let Some(r) = &v.secret {
            out.push(("Secret", r.secret_name.clone(), format!("{at}.secret")));
        }
        if let Some(p) = &v.projected {
            for (i, s) in p.sources.iter().enumerate() {
                if let Some(r) = &s.config_map {
                    out.push((
                        "ConfigMap",
                        r.name.clone(),
                        format!("{at}.projected.sources[{i}].configMap"),
                    ));
                }
                if let Some(r) = &s.secret {
                    out.push((
                        "Secret",
                        r.name.clone(),
                        format!("{at}.projected.sources[{i}].secret"),
                    ));
                }
            }
        }
    }
    for s in &spec.image_pull_secrets {
        out.push((
            "Secret",
            s.name.clone(),
            format!("{prefix}.imagePullSecrets"),
        ));
    }
    out.retain(|(_, name, _)| !name.is_empty());
    out
}

/// A backend Service of an Ingress or a Gateway route.
pub struct Backend {
    pub service: ObjectRef,
    pub field: String,
    /// `host/path → service:port`.
    pub text: String,
}

/// The backend Services of an Ingress (`resource` "ingresses") or a Gateway API route.
pub fn backends(obj: &Object, resource: &str) -> Vec<Backend> {
    let ns = &obj.meta.namespace;
    let mut out = Vec::new();
    if resource == "ingresses" {
        let view: IngressView = obj.typed().unwrap_or_default();
        let mut push = |b: &crate::views::IngressBackend, field: String, host: &str, path: &str| {
            let (name, port) = match &b.service {
                Some(s) => (
                    s.name.clone(),
                    s.port
                        .as_ref()
                        .and_then(|p| p.number.map(|n| n.to_string()).or(p.name.clone())),
                ),
                None => (
                    b.service_name.clone(),
                    b.service_port.as_ref().map(|p| match p {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    }),
                ),
            };
            if name.is_empty() {
                return;
            }
            let target = match port {
                Some(p) => format!("{name}:{p}"),
                None => name.clone(),
            };
            let host = if host.is_empty() { "*" } else { host };
            out.push(Backend {
                service: ObjectRef::new("Service", ns, name),
                field,
                text: format!("{host}{path} → {target}"),
            });
        };
        if let Some(b) = view
            .spec
            .default_backend
            .as_ref()
            .or(view.spec.backend.as_ref())
        {
            let field = if view.spec.default_backend.is_some() {
                "spec.defaultBackend"
            } else {
                "spec.backend"
            };
            push(b, field.to_string(), "", "");
        }
        for (i, rule) in view.spec.rules.iter().enumerate() {
            let Some(http) = &rule.http else { continue };
            for (j, p) in http.paths.iter().enumerate() {
                push(
                    &p.backend,
                    format!("spec.rules[{i}].http.paths[{j}].backend"),
                    &rule.host,
                    &p.path,
                );
            }
        }
    } else {
        let view: RouteView = obj.typed().unwrap_or_default();
        for (i, rule) in view.spec.rules.iter().enumerate() {
            for (j, b) in rule.backend_refs.iter().enumerate() {
                let kind = b.kind.as_deref().unwrap_or("Service");
                if kind != "Service" || !b.group.is_empty() || b.name.is_empty() {
                    continue;
                }
                let svc_ns = if b.namespace.is_empty() {
                    ns
                } else {
                    &b.namespace
                };
                let target = match b.port {
                    Some(p) => format!("{}:{p}", b.name),
                    None => b.name.clone(),
                };
                out.push(Backend {
                    service: ObjectRef::new("Service", svc_ns, &b.name),
                    field: format!("spec.rules[{i}].backendRefs[{j}]"),
                    text: format!("{} → {target}", obj.meta.name),
                });
            }
        }
    }
    out
}

/// Gateway API route resources whose backends are Services.
pub const ROUTE_RESOURCES: &[&str] = &[
    "httproutes",
    "grpcroutes",
    "tcproutes",
    "tlsroutes",
    "udproutes",
];

pub(super) const ZONE_LABELS: &[&str] = &[
    "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/zone",
];

/// The reference of an object in a list, falling back to the list's kind when the JSON
/// has none.
pub(super) fn oref(obj: &Object, rtype: &ResourceType) -> ObjectRef {
    let kind = if obj.meta.kind.is_empty() {
        &rtype.kind
    } else {
        &obj.meta.kind
    };
    ObjectRef::new(kind, &obj.meta.namespace, &obj.meta.name)
}

/// A workload's info from its own template (`None` when it has none).
pub(super) fn template_info(obj: &Object, id: &ObjectRef) -> Option<WorkloadInfo> {
    let view: WorkloadView = obj.typed().ok()?;
    let mut depends_on = Vec::new();
    if let Some(v) = view.metadata.annotations.get(DEPENDS_ON_ANNOTATION) {
        depends_on.push((
            format!("metadata.annotations[{DEPENDS_ON_ANNOTATION}]"),
            v.clone(),
        ));
    }
    let (t, path) = view.into_template()?;
    if let Some(v) = t.metadata.annotations.get(DEPENDS_ON_ANNOTATION) {
        depends_on.push((
            format!("{path}.metadata.annotations[{DEPENDS_ON_ANNOTATION}]"),
            v.clone(),
        ));
    }
    Some(WorkloadInfo {
        id: id.clone(),
        source: id.clone(),
        spec_path: format!("{path}.spec"),
        labels: t.metadata.labels,
        depends_on,
        spec: t.spec,
    })
}

/// A workload's info from one of its pods.
pub(super) fn pod_info(pod: &Object, id: &ObjectRef) -> Option<WorkloadInfo> {
    let view: PodView = pod.typed().ok()?;
    let depends_on = view
        .metadata
        .annotations
        .get(DEPENDS_ON_ANNOTATION)
        .map(|v| {
            vec![(
                format!("metadata.annotations[{DEPENDS_ON_ANNOTATION}]"),
                v.clone(),
            )]
        })
        .unwrap_or_default();
    Some(WorkloadInfo {
        id: id.clone(),
        source: ObjectRef::new("Pod", &pod.meta.namespace, &pod.meta.name),
        spec_path: "spec".into(),
        labels: pod.meta.labels.clone(),
        depends_on,
        spec: view.spec,
    })
}

/// Reads a ConfigMap's data (empty when absent or unparsable).
pub fn config_map_data(snap: &Snapshot, ns: &str, name: &str) -> BTreeMap<String, String> {
    snap.index()
        .by_name("ConfigMap", ns, name)
        .first()
        .and_then(|id| snap.get(*id))
        .and_then(|o| o.typed::<ConfigMapView>().ok())
        .map(|v| v.data)
        .unwrap_or_default()
}
