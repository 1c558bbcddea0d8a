//! Lookup structures over a snapshot, built once so no analysis scans all pods per pod.
//!
//! Hash maps are used for lookup only; anything that is walked to produce output is a
//! sorted vector or a `BTreeMap`, so output order never depends on hashing.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::object::Object;
use super::rtype::TypeKey;
use super::snapshot::Snapshot;

/// Refers to one object of a snapshot: its type's position and its position in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjId {
    pub ty: u32,
    pub item: u32,
}

/// (kind, namespace, name): how people and events name an object.
pub type NameKey = (String, String, String);

#[derive(Debug, Default)]
pub struct Index {
    types: Vec<TypeKey>,
    by_uid: HashMap<String, ObjId>,
    by_name: HashMap<NameKey, Vec<ObjId>>,
    children: HashMap<String, Vec<ObjId>>,
    pods_by_node: BTreeMap<String, Vec<ObjId>>,
    service_pods: HashMap<ObjId, Vec<ObjId>>,
    events_by_object: HashMap<NameKey, Vec<ObjId>>,
}

#[derive(Deserialize, Default)]
struct PodView {
    #[serde(default)]
    spec: PodSpecView,
}
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PodSpecView {
    #[serde(default)]
    node_name: Option<String>,
}

#[derive(Deserialize, Default)]
struct ServiceView {
    #[serde(default)]
    spec: ServiceSpecView,
}
#[derive(Deserialize, Default)]
struct ServiceSpecView {
    #[serde(default)]
    selector: Option<BTreeMap<String, String>>,
}

/// core/v1 events name their object in `involvedObject`, events.k8s.io/v1 in `regarding`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct EventView {
    #[serde(default)]
    involved_object: Option<ObjectRefView>,
    #[serde(default)]
    regarding: Option<ObjectRefView>,
}
#[derive(Deserialize, Default)]
struct ObjectRefView {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    name: String,
}

impl Index {
    pub fn build(snap: &Snapshot) -> Index {
        let mut ix = Index {
            types: snap.resources.keys().cloned().collect(),
            ..Index::default()
        };
        // Pods by (namespace, label key, label value): a Service's selector is matched by
        // intersecting from its rarest label instead of testing every pod in the namespace.
        let mut pod_labels: HashMap<(&str, &str, &str), Vec<ObjId>> = HashMap::new();
        let mut pods_by_ns: HashMap<&str, Vec<ObjId>> = HashMap::new();
        let mut services = Vec::new();

        for (t, list) in snap.resources.values().enumerate() {
            let group = list.rtype.group.as_str();
            let resource = list.rtype.resource.as_str();
            for (i, obj) in list.items.iter().enumerate() {
                let id = ObjId {
                    ty: t as u32,
                    item: i as u32,
                };
                let m = &obj.meta;
                if !m.uid.is_empty() {
                    ix.by_uid.insert(m.uid.clone(), id);
                }
                ix.by_name
                    .entry((list.rtype.kind.clone(), m.namespace.clone(), m.name.clone()))
                    .or_default()
                    .push(id);
                for owner in &m.owners {
                    if !owner.uid.is_empty() {
                        ix.children.entry(owner.uid.clone()).or_default().push(id);
                    }
                }
                match (group, resource) {
                    ("", "pods") => {
                        let view: PodView = obj.typed().unwrap_or_default();
                        if let Some(node) = view.spec.node_name.filter(|n| !n.is_empty()) {
                            ix.pods_by_node.entry(node).or_default().push(id);
                        }
                        pods_by_ns.entry(m.namespace.as_str()).or_default().push(id);
                        for (k, v) in &m.labels {
                            pod_labels
                                .entry((m.namespace.as_str(), k.as_str(), v.as_str()))
                                .or_default()
                                .push(id);
                        }
                    }
                    ("", "services") => {
                        let view: ServiceView = obj.typed().unwrap_or_default();
                        if let Some(sel) = view.spec.selector.filter(|s| !s.is_empty()) {
                            services.push((id, m.namespace.as_str(), sel));
                        }
                    }
                    ("", "events") | ("events.k8s.io", "events") => {
                        let view: EventView = obj.typed().unwrap_or_default();
                        if let Some(r) = view.involved_object.or(view.regarding) {
                            let ns = if r.namespace.is_empty() {
                                m.namespace.clone()
                            } else {
                                r.namespace
                            };
                            // Cluster-scoped objects (nodes) are referenced with the
                            // event's namespace ("default"); key them without one.
                            let ns = if matches!(r.kind.as_str(), "Node" | "Namespace") {
                                String::new()
                            } else {
                                ns
                            };
                            ix.events_by_object
                                .entry((r.kind, ns, r.name))
                                .or_default()
                                .push(id);
                        }
                    }
                    _ => {}
                }
            }
        }

        for (svc, ns, selector) in services {
            let postings: Option<Vec<&Vec<ObjId>>> = selector
                .iter()
                .map(|(k, v)| pod_labels.get(&(ns, k.as_str(), v.as_str())))
                .collect();
            let Some(mut postings) = postings else {
                ix.service_pods.insert(svc, Vec::new());
                continue;
            };
            postings.sort_by_key(|p| p.len());
            let selected: Vec<ObjId> = match postings.split_first() {
                Some((first, rest)) => first
                    .iter()
                    .copied()
                    .filter(|id| rest.iter().all(|p| p.binary_search(id).is_ok()))
                    .collect(),
                None => Vec::new(),
            };
            ix.service_pods.insert(svc, selected);
        }
        drop(pods_by_ns);
        ix
    }

    /// The type key an id's `ty` refers to.
    pub fn type_of(&self, id: ObjId) -> Option<&TypeKey> {
        self.types.get(id.ty as usize)
    }

    pub fn by_uid(&self, uid: &str) -> Option<ObjId> {
        self.by_uid.get(uid).copied()
    }

    /// Objects of a kind with a namespace and name (several only when two API groups share a
    /// kind, such as core and events.k8s.io Events).
    pub fn by_name(&self, kind: &str, namespace: &str, name: &str) -> &[ObjId] {
        self.by_name
            .get(&(kind.to_string(), namespace.to_string(), name.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Objects whose ownerReferences name `uid`, in snapshot order.
    pub fn children(&self, uid: &str) -> &[ObjId] {
        self.children.get(uid).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Pods bound to each node, by node name.
    pub fn pods_by_node(&self) -> &BTreeMap<String, Vec<ObjId>> {
        &self.pods_by_node
    }

    pub fn pods_on_node(&self, node: &str) -> &[ObjId] {
        self.pods_by_node
            .get(node)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Pods a Service selects (empty for a selector that matches nothing; `None` for a
    /// Service without a selector, whose endpoints are managed by hand).
    pub fn service_pods(&self, service: ObjId) -> Option<&[ObjId]> {
        self.service_pods.get(&service).map(Vec::as_slice)
    }

    /// Events about an object, in snapshot order (namespace, name of the event).
    pub fn events_for(&self, kind: &str, namespace: &str, name: &str) -> &[ObjId] {
        self.events_by_object
            .get(&(kind.to_string(), namespace.to_string(), name.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

impl Snapshot {
    /// The object an id refers to.
    pub fn get(&self, id: ObjId) -> Option<&Object> {
        let key = self.index().type_of(id)?;
        self.resources.get(key)?.items.get(id.item as usize)
    }

    /// The owner chain of an object, nearest first (Pod → ReplicaSet → Deployment).
    /// Stops at a missing owner or a cycle.
    pub fn owner_chain(&self, obj: &Object) -> Vec<&Object> {
        let ix = self.index();
        let mut out: Vec<&Object> = Vec::new();
        let mut cur = obj;
        while let Some(owner) = cur.controller() {
            let Some(next) = ix.by_uid(&owner.uid).and_then(|id| self.get(id)) else {
                break;
            };
            if std::ptr::eq(next, obj) || out.iter().any(|o| std::ptr::eq(*o, next)) {
                break;
            }
            out.push(next);
            cur = next;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::manifest::{ClusterInfo, Manifest};
    use crate::object::Object;
    use crate::rtype::{ResourceType, TypeKey};
    use crate::snapshot::{ResourceList, Snapshot};

    fn list(group: &str, resource: &str, items: Vec<serde_json::Value>) -> ResourceList {
        let rtype = ResourceType::builtin(&TypeKey::new(group, "v1", resource)).unwrap();
        ResourceList::new(
            rtype,
            items
                .iter()
                .map(|v| Object::from_value(v).unwrap())
                .collect(),
        )
    }

    #[test]
    fn relations_are_indexed() {
        let mut s = Snapshot::new(Manifest::new(
            ClusterInfo::default(),
            "2026-01-01T00:00:00Z".into(),
        ));
        s.insert_list(list("apps", "deployments", vec![json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"a","uid":"d1"}})]));
        s.insert_list(list("apps", "replicasets", vec![json!({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web-1","namespace":"a","uid":"r1","ownerReferences":[{"kind":"Deployment","name":"web","uid":"d1","controller":true}]}})]));
        s.insert_list(list("", "pods", vec![
            json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1-x","namespace":"a","uid":"p1","labels":{"app":"web","tier":"fe"},"ownerReferences":[{"kind":"ReplicaSet","name":"web-1","uid":"r1","controller":true}]},"spec":{"nodeName":"n1"}}),
            json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"db-0","namespace":"a","uid":"p2","labels":{"app":"db"}},"spec":{"nodeName":"n1"}}),
            json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-other","namespace":"b","uid":"p3","labels":{"app":"web","tier":"fe"}},"spec":{}}),
        ]));
        s.insert_list(list("", "services", vec![
            json!({"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"a","uid":"s1"},"spec":{"selector":{"app":"web","tier":"fe"}}}),
            json!({"apiVersion":"v1","kind":"Service","metadata":{"name":"ghost","namespace":"a","uid":"s2"},"spec":{"selector":{"app":"nothing"}}}),
            json!({"apiVersion":"v1","kind":"Service","metadata":{"name":"manual","namespace":"a","uid":"s3"},"spec":{}}),
        ]));
        s.insert_list(list("", "events", vec![json!({"apiVersion":"v1","kind":"Event","metadata":{"name":"e1","namespace":"a","uid":"e1"},"involvedObject":{"kind":"Pod","namespace":"a","name":"db-0"}})]));

        let ix = s.index();
        let pod = s.get(ix.by_uid("p1").unwrap()).unwrap();
        let chain: Vec<&str> = s
            .owner_chain(pod)
            .iter()
            .map(|o| o.meta.name.as_str())
            .collect();
        assert_eq!(chain, vec!["web-1", "web"]);
        assert_eq!(ix.pods_on_node("n1").len(), 2);
        let svc = ix.by_name("Service", "a", "web")[0];
        let selected: Vec<&str> = ix
            .service_pods(svc)
            .unwrap()
            .iter()
            .map(|id| s.get(*id).unwrap().meta.name.as_str())
            .collect();
        assert_eq!(selected, vec!["web-1-x"], "other namespace must not match");
        assert_eq!(
            ix.service_pods(ix.by_name("Service", "a", "ghost")[0]),
            Some(&[][..])
        );
        assert_eq!(
            ix.service_pods(ix.by_name("Service", "a", "manual")[0]),
            None
        );
        assert_eq!(ix.events_for("Pod", "a", "db-0").len(), 1);
        assert_eq!(ix.children("d1").len(), 1);
    }
}
