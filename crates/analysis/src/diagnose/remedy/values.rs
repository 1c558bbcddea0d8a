//! What the snapshot knows that a remedy needs, so a recommendation carries real values:
//! a workload's containers and their resources, its label selector, replicas and
//! autoscaler, the images of its previous revision; a budget's spec, the hosts served with
//! a TLS Secret, the node a finding names. And Kubernetes quantities scaled and written
//! back cleanly (`512Mi × 1.5 = 768Mi`, `250m × 1.5 = 375m`).

use std::cell::OnceCell;
use std::collections::BTreeSet;

use serde_json::Value;

use crate::detect::Hit;
use intel_engine::{ObjectRef, RelationKind, Relations};
use intel_model::Snapshot;
use intel_model::quantity;
use intel_model::selector::label_selector_text;
use intel_model::usage::Usage;

/// What the remedies read: the snapshot, its relations and the root cause's findings.
pub struct Facts<'a> {
    pub snap: &'a Snapshot,
    pub rel: &'a Relations,
    hits: &'a [Hit],
    /// Indexes into `hits`: the findings of the root cause.
    found: &'a [usize],
    /// Usage series, parsed only when a remedy needs observed usage.
    usage: OnceCell<Usage>,
}

/// The factor limits and replicas are raised by; stated in every `why` that uses it.
pub const FACTOR: f64 = 1.5;

/// One container of a pod template, with its resources as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    pub name: String,
    pub image: String,
    pub init: bool,
    limits: Value,
    requests: Value,
}

impl Container {
    pub fn limit(&self, resource: &str) -> Option<&str> {
        self.limits.get(resource).and_then(Value::as_str)
    }

    pub fn request(&self, resource: &str) -> Option<&str> {
        self.requests.get(resource).and_then(Value::as_str)
    }
}

/// A new value for one container's resource, and how it was computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Sizing {
    pub container: String,
    /// The new limit; `None` when the snapshot knows nothing to derive it from.
    pub limit: Option<String>,
    /// The request to set with it (the current one kept, or raised with the limit).
    pub request: Option<String>,
    pub why: String,
}

/// An earlier revision of a workload and the images its containers ran.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub number: i64,
    pub images: Vec<(String, String)>,
}

/// An autoscaler that scales a workload: its reference and replica bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Autoscaler {
    pub id: ObjectRef,
    pub min: i64,
    pub max: i64,
}

impl<'a> Facts<'a> {
    pub fn new(
        snap: &'a Snapshot,
        rel: &'a Relations,
        hits: &'a [Hit],
        found: &'a [usize],
    ) -> Self {
        Facts {
            snap,
            rel,
            hits,
            found,
            usage: OnceCell::new(),
        }
    }

    pub(super) fn findings(&self) -> impl Iterator<Item = &'a Hit> + '_ {
        self.found.iter().filter_map(|i| self.hits.get(*i))
    }

    /// The JSON of an object the reference names, if the snapshot holds it.
    pub fn object(&self, r: &ObjectRef) -> Option<Value> {
        let ix = self.snap.index();
        ix.by_name(&r.kind, &r.namespace, &r.name)
            .iter()
            .find_map(|id| self.snap.get(*id))
            .map(|o| o.value())
    }

    /// The containers of a workload's pod template (or of a pod), in spec order: regular
    /// containers, then init containers.
    pub fn containers(&self, w: &ObjectRef) -> Vec<Container> {
        self.object(w)
            .as_ref()
            .and_then(pod_spec)
            .map(containers_of)
            .unwrap_or_default()
    }

    /// The containers the findings name (a status field, a metrics series, an eviction
    /// message), among `all`; every regular container when the findings name none.
    pub fn named_containers(&self, all: &[Container]) -> Vec<Container> {
        let mut words = BTreeSet::new();
        for h in self.findings() {
            let texts = std::iter::once(h.message.as_str()).chain(
                h.evidence
                    .iter()
                    .flat_map(|e| [e.location.as_str(), e.text.as_str()]),
            );
            for t in texts {
                container_words(t, &mut words);
            }
        }
        let named: Vec<Container> = all
            .iter()
            .filter(|c| words.contains(c.name.as_str()))
            .cloned()
            .collect();
        if named.is_empty() {
            all.iter().filter(|c| !c.init).cloned().collect()
        } else {
            named
        }
    }

    /// The label selector of a workload in kubectl syntax (`app=auth`, `tier in (a,b)`),
    /// or its template's labels when it declares none.
    pub fn selector(&self, w: &ObjectRef) -> Option<String> {
        let v = self.object(w)?;
        let spec = v.get("spec")?;
        let sel = spec
            .get("selector")
            .or_else(|| spec.pointer("/jobTemplate/spec/selector"))
            .and_then(label_selector_text)
            .filter(|s| !s.is_empty());
        sel.or_else(|| {
            spec.pointer("/template/metadata/labels")
                .or_else(|| spec.pointer("/jobTemplate/spec/template/metadata/labels"))
                .and_then(label_selector_text)
                .filter(|s| !s.is_empty())
        })
    }

    /// `spec.replicas` of a scalable workload (1 when unset, as the API defaults it).
    pub fn replicas(&self, w: &ObjectRef) -> Option<i64> {
        if !matches!(
            w.kind.as_str(),
            "Deployment" | "StatefulSet" | "ReplicaSet" | "ReplicationController"
        ) {
            return None;
        }
        let v = self.object(w)?;
        Some(
            v.pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1),
        )
    }

    /// The HorizontalPodAutoscaler that scales `w`, with its bounds.
    pub fn autoscaler(&self, w: &ObjectRef) -> Option<Autoscaler> {
        self.rel
            .to(w)
            .iter()
            .filter(|r| r.kind == RelationKind::Scales && r.from.kind == "HorizontalPodAutoscaler")
            .find_map(|r| {
                let v = self.object(&r.from)?;
                let max = v.pointer("/spec/maxReplicas").and_then(Value::as_i64)?;
                let min = v
                    .pointer("/spec/minReplicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                Some(Autoscaler {
                    id: (*r.from).clone(),
                    min,
                    max,
                })
            })
    }

    /// The current revision number of a Deployment, StatefulSet or DaemonSet and the one
    /// before it with its images (from the ReplicaSets' `deployment.kubernetes.io/revision`
    /// annotation, or the ControllerRevisions' `revision`).
    pub fn previous_revision(&self, w: &ObjectRef) -> (Option<i64>, Option<Revision>) {
        let ix = self.snap.index();
        let Some(obj) = ix
            .by_name(&w.kind, &w.namespace, &w.name)
            .iter()
            .find_map(|id| self.snap.get(*id))
        else {
            return (None, None);
        };
        let mut revs: Vec<Revision> = Vec::new();
        for id in ix.children(&obj.meta.uid) {
            let Some(child) = self.snap.get(*id) else {
                continue;
            };
            let v = child.value();
            let (number, spec) = match child.meta.kind.as_str() {
                "ReplicaSet" => (
                    v.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse::<i64>().ok()),
                    v.pointer("/spec/template/spec"),
                ),
                "ControllerRevision" => (
                    v.get("revision").and_then(Value::as_i64),
                    v.pointer("/data/spec/template/spec"),
                ),
                _ => continue,
            };
            if let Some(number) = number {
                let images = spec
                    .map(containers_of)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| (c.name, c.image))
                    .collect();
                revs.push(Revision { number, images });
            }
        }
        revs.sort_by_key(|r| r.number);
        revs.dedup_by_key(|r| r.number);
        let own = obj
            .value()
            .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<i64>().ok());
        let current = own.or(revs.last().map(|r| r.number));
        let previous = current.and_then(|cur| revs.into_iter().rev().find(|r| r.number < cur));
        (current, previous)
    }

    /// What a workload that owns a budget's pods is: a workload selected by the budget,
    /// else the owner of a pod it selects.
    pub fn budget_target(&self, pdb: &ObjectRef) -> Option<ObjectRef> {
        let selected: Vec<&ObjectRef> = self
            .rel
            .to(pdb)
            .iter()
            .filter(|r| r.kind == RelationKind::SelectedBy)
            .map(|r| &*r.from)
            .collect();
        if let Some(w) = selected.iter().find(|r| r.kind != "Pod") {
            return Some((*w).clone());
        }
        let pod = selected.first()?;
        let w = self.rel.workload_of(pod);
        (w.kind != "Pod").then_some(w)
    }

    /// The node the findings name (through what they pass by or blame), else the first
    /// node the workload runs on.
    pub fn node(&self, w: &ObjectRef) -> Option<String> {
        let named = self
            .findings()
            .flat_map(|h| h.via.iter().chain(&h.blames))
            .find(|r| r.kind == "Node")
            .map(|r| r.name.clone());
        named.or_else(|| {
            self.rel
                .from(w)
                .iter()
                .find(|r| r.kind == RelationKind::RunsOn && r.to.kind == "Node")
                .map(|r| r.to.name.clone())
        })
    }

    /// Hosts served with a TLS Secret (Ingress `spec.tls`), else the DNS names of the
    /// Certificate that writes it, else the external hosts the findings blame. Sorted.
    pub fn tls_hosts(&self, subject: &ObjectRef) -> Vec<String> {
        let mut out = BTreeSet::new();
        if subject.kind == "Secret" {
            for ing in self.snap.items("networking.k8s.io", "ingresses") {
                if ing.meta.namespace != subject.namespace {
                    continue;
                }
                let v = ing.value();
                for tls in v
                    .pointer("/spec/tls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if tls.get("secretName").and_then(Value::as_str) == Some(&subject.name) {
                        for h in tls
                            .get("hosts")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                        {
                            if let Some(h) = h.as_str().filter(|h| !h.is_empty()) {
                                out.insert(h.to_string());
                            }
                        }
                    }
                }
            }
        }
        if out.is_empty() {
            if let Some(cert) = self
                .certificate(subject)
                .and_then(|c| self.object(&ObjectRef::new("Certificate", &subject.namespace, c)))
            {
                for h in cert
                    .pointer("/spec/dnsNames")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(h) = h.as_str().filter(|h| !h.is_empty() && !h.starts_with('*')) {
                        out.insert(h.to_string());
                    }
                }
            }
        }
        if out.is_empty() {
            for h in self.findings() {
                for b in &h.blames {
                    if b.kind == intel_engine::relations::EXTERNAL {
                        out.insert(b.name.clone());
                    }
                }
            }
        }
        out.into_iter().collect()
    }

    /// The cert-manager Certificate behind a Secret (its `cert-manager.io/certificate-name`
    /// annotation, or the Certificate whose `spec.secretName` it is), or the subject itself
    /// when it is a Certificate.
    pub fn certificate(&self, subject: &ObjectRef) -> Option<String> {
        if subject.kind == "Certificate" {
            return Some(subject.name.clone());
        }
        if subject.kind != "Secret" {
            return None;
        }
        let annotated = self.object(subject).and_then(|v| {
            v.pointer("/metadata/annotations/cert-manager.io~1certificate-name")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        annotated.or_else(|| {
            self.snap
                .items("cert-manager.io", "certificates")
                .iter()
                .filter(|c| c.meta.namespace == subject.namespace)
                .find(|c| {
                    c.value()
                        .pointer("/spec/secretName")
                        .and_then(Value::as_str)
                        == Some(&subject.name)
                })
                .map(|c| c.meta.name.clone())
        })
    }

    /// Allocatable `resource` of a node, as written.
    pub fn allocatable(&self, node: &str, resource: &str) -> Option<String> {
        let v = self.object(&ObjectRef::new("Node", "", node))?;
        v.pointer("/status/allocatable")?
            .get(resource)?
            .as_str()
            .map(str::to_string)
    }

    /// The highest usage of one container across a workload's pods (CPU in millicores,
    /// memory in bytes), from the metrics samples.
    pub fn peak(&self, w: &ObjectRef, container: &str, resource: &str) -> Option<f64> {
        if self.snap.metrics.is_empty() || !matches!(resource, "cpu" | "memory") {
            return None;
        }
        let usage = self.usage.get_or_init(|| self.snap.usage());
        let pods = if w.kind == "Pod" {
            vec![w.clone()]
        } else {
            self.rel.pods_of(w)
        };
        pods.iter()
            .flat_map(|p| usage.pod(&p.namespace, &p.name))
            .filter(|(c, _)| *c == container)
            .flat_map(|(_, series)| series.iter())
            .map(|r| {
                if resource == "cpu" {
                    r.cpu_millis
                } else {
                    r.memory_bytes
                }
            })
            .filter(|v| v.is_finite() && *v > 0.0)
            .max_by(f64::total_cmp)
    }

    /// A new limit for `resource` of container `c` of `w`: the current limit × 1.5; with no
    /// limit, the peak observed usage × 1.5 (when `from_usage`), else the request × 1.5.
    pub fn size(&self, w: &ObjectRef, c: &Container, resource: &str, from_usage: bool) -> Sizing {
        let q = Quantity::of(resource);
        let request = c.request(resource).map(str::to_string);
        let request_value = request.as_deref().and_then(|r| q.parse(r));
        let kept = |limit: f64| -> (Option<String>, String) {
            match (&request, request_value) {
                (Some(r), Some(rv)) if rv > limit => (
                    Some(q.format(limit)),
                    format!("; its request {r} is lowered to the limit"),
                ),
                (Some(r), _) => (Some(r.clone()), format!("; request {r} kept")),
                (None, _) => (None, String::new()),
            }
        };
        let name = &c.name;
        if let Some((cur, lv)) = c.limit(resource).and_then(|l| Some((l, q.parse(l)?))) {
            let (new, nv) = q.scaled(lv);
            let (req, note) = match (&request, request_value) {
                (Some(r), Some(rv)) if (rv - lv).abs() < 1e-9 * lv.max(1.0) => (
                    Some(new.clone()),
                    format!(
                        "; its request {r} equals the limit (Guaranteed QoS) and is raised with it"
                    ),
                ),
                _ => kept(nv),
            };
            return Sizing {
                container: name.clone(),
                limit: Some(new.clone()),
                request: req,
                why: format!(
                    "container {name}: current {resource} limit {cur} × {FACTOR} = {new}{note}"
                ),
            };
        }
        if from_usage {
            if let Some(peak) = self.peak(w, name, resource) {
                let shown = q.format(peak);
                let base = q.parse(&shown).unwrap_or(peak);
                let (mut new, mut nv) = q.scaled(base);
                if let Some(rv) = request_value.filter(|rv| *rv > nv) {
                    nv = rv;
                    new = q.format(rv);
                }
                let (req, note) = kept(nv);
                return Sizing {
                    container: name.clone(),
                    limit: Some(new.clone()),
                    request: req,
                    why: format!(
                        "container {name} has no {resource} limit; its peak observed usage {shown} × {FACTOR} = {new}{note}"
                    ),
                };
            }
        }
        if let (Some(r), Some(rv)) = (&request, request_value) {
            let (new, _) = q.scaled(rv);
            let source = if from_usage {
                "and the snapshot holds no usage for it"
            } else {
                "bound it near what it asks for"
            };
            return Sizing {
                container: name.clone(),
                limit: Some(new.clone()),
                request: Some(r.clone()),
                why: format!(
                    "container {name} has no {resource} limit ({source}): its request {r} × {FACTOR} = {new}; request {r} kept"
                ),
            };
        }
        Sizing {
            container: name.clone(),
            limit: None,
            request: None,
            why: format!(
                "container {name} has neither a {resource} limit nor a request{}, so the snapshot gives nothing to compute from",
                if from_usage {
                    ", and no usage was sampled"
                } else {
                    ""
                }
            ),
        }
    }
}

/// The pod spec of a workload (its template's) or of a pod.
fn pod_spec(v: &Value) -> Option<&Value> {
    v.pointer("/spec/template/spec")
        .or_else(|| v.pointer("/spec/jobTemplate/spec/template/spec"))
        .or_else(|| {
            (v.get("kind").and_then(Value::as_str) == Some("Pod"))
                .then(|| v.get("spec"))
                .flatten()
        })
}

fn containers_of(spec: &Value) -> Vec<Container> {
    let list = |key: &str, init: bool| {
        spec.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(move |c| {
                let name = c.get("name").and_then(Value::as_str)?;
                Some(Container {
                    name: name.to_string(),
                    image: c
                        .get("image")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    init,
                    limits: c
                        .pointer("/resources/limits")
                        .cloned()
                        .unwrap_or(Value::Null),
                    requests: c
                        .pointer("/resources/requests")
                        .cloned()
                        .unwrap_or(Value::Null),
                })
            })
            .collect::<Vec<_>>()
    };
    let mut out = list("containers", false);
    out.extend(list("initContainers", true));
    out
}

/// Words that follow `container`, `Container`, `container=` or `containerStatuses[` in a
/// finding's text: the candidates for the container it is about.
fn container_words<'t>(text: &'t str, out: &mut BTreeSet<&'t str>) {
    for marker in [
        "containerStatuses[",
        "container=",
        "container ",
        "Container ",
    ] {
        for (i, _) in text.match_indices(marker) {
            let rest = &text[i + marker.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
                .unwrap_or(rest.len());
            let word = rest[..end].trim_end_matches('.');
            if !word.is_empty() {
                out.insert(word);
            }
        }
    }
}

/// Text safe to paste into a POSIX shell: as is when it holds only ordinary characters,
/// else single-quoted.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,/=:@+".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A suggested command as it may be shown: one that holds a line break outside a
/// here-document (a name from a hostile or corrupt bundle: Kubernetes names cannot hold
/// one) would run its second line even inside a comment, so it is withheld instead.
pub fn one_line(cmd: &str) -> String {
    let body = cmd.split_once("<<'EOF'\n").map_or(cmd, |(head, _)| head);
    if body.contains(['\n', '\r']) {
        "# not suggested: a name in this command holds a line break (a hostile or corrupt bundle)"
            .to_string()
    } else {
        cmd.to_string()
    }
}

/// Every command of the recommendations through [`one_line`].
pub fn seal(recs: &mut [crate::report::Recommendation]) {
    for r in recs {
        for c in r
            .steps
            .iter_mut()
            .chain(&mut r.verify)
            .chain(&mut r.rollback)
        {
            *c = one_line(c);
        }
    }
}

/// `ceil(n × 1.5)`, and at least one more than `n`.
pub fn raised(n: i64) -> i64 {
    let up = (n as f64 * FACTOR).ceil() as i64;
    up.max(n + 1)
}

/// How a resource's quantities are read and written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Quantity {
    /// Millicores: `375m`, `2`.
    Cpu,
    /// Bytes, written in whole Mi or Gi: `768Mi`, `3Gi`.
    Bytes,
}

impl Quantity {
    pub fn of(resource: &str) -> Self {
        if resource == "cpu" {
            Quantity::Cpu
        } else {
            Quantity::Bytes
        }
    }

    /// The value in millicores or bytes.
    pub fn parse(self, q: &str) -> Option<f64> {
        match self {
            Quantity::Cpu => quantity::cpu_millis(q),
            Quantity::Bytes => quantity::bytes(q),
        }
    }

    /// Written cleanly, rounded up: whole millicores (whole cores when exact), whole Mi
    /// (Gi when exact).
    pub fn format(self, v: f64) -> String {
        match self {
            Quantity::Cpu => {
                let m = ceil_clean(v).max(1);
                if m % 1000 == 0 {
                    format!("{}", m / 1000)
                } else {
                    format!("{m}m")
                }
            }
            Quantity::Bytes => {
                let mi = ceil_clean(v / 1048576.0).max(1);
                if mi % 1024 == 0 {
                    format!("{}Gi", mi / 1024)
                } else {
                    format!("{mi}Mi")
                }
            }
        }
    }

    /// A quantity as written, with a readable size after a bare byte count
    /// (`95551679124` → `95551679124 (about 89Gi)`).
    pub fn describe(self, q: &str) -> String {
        let bare = q.bytes().all(|b| b.is_ascii_digit());
        match (self, self.parse(q)) {
            (Quantity::Bytes, Some(v)) if bare && v >= 1073741824.0 => {
                format!("{q} (about {:.0}Gi)", v / 1073741824.0)
            }
            (Quantity::Bytes, Some(v)) if bare && v >= 1048576.0 => {
                format!("{q} (about {:.0}Mi)", v / 1048576.0)
            }
            _ => q.to_string(),
        }
    }

    /// `v × 1.5`, written cleanly, and the value written.
    pub fn scaled(self, v: f64) -> (String, f64) {
        let text = self.format(v * FACTOR);
        let value = self.parse(&text).unwrap_or(v * FACTOR);
        (text, value)
    }
}

/// Rounds up, ignoring the float noise of decimal quantities (`100m` is 0.1 × 1000).
fn ceil_clean(v: f64) -> i64 {
    ((v * 1e6).round() / 1e6).ceil() as i64
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn quantities_scale_to_clean_values() {
        let mem = |q: &str| {
            Quantity::Bytes
                .scaled(Quantity::Bytes.parse(q).unwrap_or(0.0))
                .0
        };
        let cpu = |q: &str| {
            Quantity::Cpu
                .scaled(Quantity::Cpu.parse(q).unwrap_or(0.0))
                .0
        };
        assert_eq!(mem("512Mi"), "768Mi");
        assert_eq!(mem("1Gi"), "1536Mi");
        assert_eq!(mem("2Gi"), "3Gi");
        assert_eq!(mem("0.5Gi"), "768Mi");
        assert_eq!(mem("100Mi"), "150Mi");
        assert_eq!(mem("524288Ki"), "768Mi");
        assert_eq!(mem("1000M"), "1431Mi");
        assert_eq!(mem("1e9"), "1431Mi");
        assert_eq!(mem("4Mi"), "6Mi");
        assert_eq!(mem("1Ki"), "1Mi");
        assert_eq!(cpu("250m"), "375m");
        assert_eq!(cpu("100m"), "150m");
        assert_eq!(cpu("1"), "1500m");
        assert_eq!(cpu("2"), "3");
        assert_eq!(cpu("0.5"), "750m");
        assert_eq!(cpu("1k"), "1500");
        assert_eq!(cpu("333m"), "500m");
        assert_eq!(Quantity::Bytes.format(1048576.0 * 300.2), "301Mi");
        assert_eq!(Quantity::Cpu.format(0.2), "1m");
        assert_eq!(Quantity::Bytes.parse("lots"), None);
        assert_eq!(
            Quantity::Bytes.describe("95551679124"),
            "95551679124 (about 89Gi)"
        );
        assert_eq!(Quantity::Bytes.describe("15Gi"), "15Gi");
        assert_eq!(Quantity::Cpu.describe("3800m"), "3800m");
    }

    #[test]
    fn replicas_are_raised_by_half_and_at_least_one() {
        assert_eq!(raised(1), 2);
        assert_eq!(raised(2), 3);
        assert_eq!(raised(3), 5);
        assert_eq!(raised(4), 6);
        assert_eq!(raised(10), 15);
        assert_eq!(raised(0), 1);
    }

    #[test]
    fn selectors_print_as_kubectl_reads_them() {
        let s = |v: Value| label_selector_text(&v);
        assert_eq!(
            s(json!({"matchLabels": {"app": "auth"}})).as_deref(),
            Some("app=auth")
        );
        assert_eq!(
            s(json!({"matchLabels": {"tier": "fe", "app": "web"},
                "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "canary"]},
                                     {"key": "zz", "operator": "DoesNotExist"},
                                     {"key": "b", "operator": "Exists"},
                                     {"key": "c", "operator": "NotIn", "values": ["x"]}]}))
            .as_deref(),
            Some("app=web,b,c notin (x),env in (canary,prod),tier=fe,!zz")
        );
        assert_eq!(s(json!({"app": "legacy"})).as_deref(), Some("app=legacy"));
        assert_eq!(
            s(json!({"matchExpressions": [{"key": "a", "operator": "Bogus"}]})),
            None
        );
        assert_eq!(s(json!({})).as_deref(), Some(""));
        assert_eq!(shell_quote("app=auth,tier=fe"), "app=auth,tier=fe");
        assert_eq!(shell_quote("env in (a,b)"), "'env in (a,b)'");
        assert_eq!(shell_quote("!zz"), "'!zz'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn container_names_are_read_from_finding_texts() {
        let mut w = BTreeSet::new();
        container_words(
            "Pod shop/auth-1 status.containerStatuses[auth].lastState",
            &mut w,
        );
        container_words("metrics.k8s.io pods/shop/a-1 container side-car", &mut w);
        container_words("pod=a-1 container=cache: 40% of periods", &mut w);
        container_words(
            "low on resource: memory. Container notification was using 4Gi",
            &mut w,
        );
        let got: Vec<&str> = w.into_iter().collect();
        assert_eq!(got, vec!["auth", "cache", "notification", "side-car"]);
    }
}
