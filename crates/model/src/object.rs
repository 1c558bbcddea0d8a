//! One Kubernetes object as the snapshot keeps it: its exact JSON plus the few metadata
//! fields every index needs, parsed once.
//!
//! The JSON is kept as a compact `RawValue`, not a `serde_json::Value`: at 150,000 pods a
//! `Value` tree costs several times the bytes of its text, and `serve` hands the text out
//! unchanged. Analyses that need structure parse the typed k8s-openapi form on demand.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;

/// The fields of `metadata` that indexes and selectors need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    pub api_version: String,
    pub kind: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub labels: BTreeMap<String, String>,
    pub owners: Vec<OwnerRef>,
    /// RFC 3339 text as the API server wrote it (kept as text: ordering and display need no parse).
    pub creation_timestamp: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerRef {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub uid: String,
    #[serde(default)]
    pub controller: Option<bool>,
}

/// What `Meta` is parsed from: serde skips everything else in the object cheaply.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetaView {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    metadata: MetadataView,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MetadataView {
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    uid: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    owner_references: Option<Vec<OwnerRef>>,
    #[serde(default)]
    creation_timestamp: Option<String>,
}

#[derive(Debug)]
pub struct Object {
    pub meta: Meta,
    raw: Text,
}

/// An object's JSON text: its own, or a slice of the list file it was read from. A
/// bundle's lists are kept whole and their objects point into them: copying 150,000 pods
/// out of their list cost as much memory again, and the kernel a page zeroing for each.
#[derive(Debug)]
enum Text {
    Owned(Box<RawValue>),
    Shared {
        buf: Arc<String>,
        start: usize,
        end: usize,
    },
}

impl Object {
    /// Parses the metadata out of an object's JSON text. Fails only on text that is not a
    /// JSON object with a well-formed `metadata`.
    pub fn from_raw(raw: Box<RawValue>) -> Result<Self, serde_json::Error> {
        let meta = parse_meta(raw.get())?;
        Ok(Object {
            meta,
            raw: Text::Owned(raw),
        })
    }

    /// An object whose JSON is `item`, a value inside `buf` (a list file parsed in
    /// place): no copy of the text is made. An `item` from elsewhere is copied.
    pub fn from_shared(buf: &Arc<String>, item: &RawValue) -> Result<Self, serde_json::Error> {
        let text = item.get();
        let start = (text.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
        let end = start.wrapping_add(text.len());
        // In place only when `item` really lies inside `buf` (an address check, no scan).
        if !buf
            .get(start..end)
            .is_some_and(|s| std::ptr::eq(s.as_ptr(), text.as_ptr()))
        {
            return Self::from_raw(item.to_owned());
        }
        let meta = parse_meta(text)?;
        Ok(Object {
            meta,
            raw: Text::Shared {
                buf: Arc::clone(buf),
                start,
                end,
            },
        })
    }

    /// Builds an object from a JSON value, serialising it compactly (keys sorted, since
    /// serde_json's map is ordered): the canonical form bundles are written in.
    pub fn from_value(value: &serde_json::Value) -> Result<Self, serde_json::Error> {
        let text = serde_json::to_string(value)?;
        Self::from_raw(RawValue::from_string(text)?)
    }

    /// An object from its JSON text (copied).
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        Self::from_raw(RawValue::from_string(text.to_string())?)
    }

    /// The object's JSON text, exactly as stored.
    pub fn json(&self) -> &str {
        match &self.raw {
            Text::Owned(raw) => raw.get(),
            // The range was checked against the buffer when the object was built.
            Text::Shared { buf, start, end } => buf.get(*start..*end).unwrap_or("null"),
        }
    }

    /// A parsed copy of the JSON. Allocates a tree: use on one object, not in bulk loops.
    pub fn value(&self) -> serde_json::Value {
        // The text was validated as JSON when the object was built.
        serde_json::from_str(self.json()).unwrap_or(serde_json::Value::Null)
    }

    /// Parses into a typed k8s-openapi resource.
    pub fn typed<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.json())
    }

    /// The controller owner, if any (the owner reference with `controller: true`, or the only one).
    pub fn controller(&self) -> Option<&OwnerRef> {
        self.meta
            .owners
            .iter()
            .find(|o| o.controller == Some(true))
            .or(if self.meta.owners.len() == 1 {
                self.meta.owners.first()
            } else {
                None
            })
    }
}

/// The metadata of an object's JSON text.
fn parse_meta(text: &str) -> Result<Meta, serde_json::Error> {
    let view: MetaView = serde_json::from_str(text)?;
    let m = view.metadata;
    Ok(Meta {
        api_version: view.api_version,
        kind: view.kind,
        namespace: m.namespace.unwrap_or_default(),
        name: m.name.unwrap_or_default(),
        uid: m.uid.unwrap_or_default(),
        labels: m.labels.unwrap_or_default(),
        owners: m.owner_references.unwrap_or_default(),
        creation_timestamp: m.creation_timestamp.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn meta_is_parsed_and_missing_fields_default() {
        let o = Object::from_value(&json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "labels": {"app": "a"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u0", "controller": true}]},
            "spec": {"containers": []}
        }))
        .unwrap();
        assert_eq!(o.meta.name, "p");
        assert_eq!(o.meta.namespace, "ns");
        assert_eq!(o.meta.labels["app"], "a");
        assert_eq!(o.controller().map(|c| c.name.as_str()), Some("rs"));
        let bare = Object::from_value(&json!({"kind": "Thing"})).unwrap();
        assert_eq!(bare.meta.name, "");
        assert!(bare.controller().is_none());
    }

    #[test]
    fn shared_objects_point_into_their_list_and_others_are_copied() {
        #[derive(serde::Deserialize)]
        struct List<'a> {
            #[serde(borrow)]
            items: Vec<&'a RawValue>,
        }
        let buf = Arc::new(r#"{"items":[{"kind":"Pod","metadata":{"name":"a"}}, {"kind":"Pod","metadata":{"name":"b"}}]}"#.to_string());
        let list: List = serde_json::from_str(&buf).unwrap();
        let a = Object::from_shared(&buf, list.items[0]).unwrap();
        assert_eq!(a.json(), r#"{"kind":"Pod","metadata":{"name":"a"}}"#);
        assert!(matches!(a.raw, Text::Shared { .. }));
        assert_eq!(
            Object::from_shared(&buf, list.items[1]).unwrap().meta.name,
            "b"
        );
        // Text from another buffer (even an equal one) is copied, not pointed into.
        let other =
            RawValue::from_string(r#"{"kind":"Pod","metadata":{"name":"a"}}"#.into()).unwrap();
        let c = Object::from_shared(&buf, &other).unwrap();
        assert!(matches!(c.raw, Text::Owned(_)));
        assert_eq!(c.json(), a.json());
    }

    #[test]
    fn non_object_is_an_error() {
        assert!(Object::from_value(&json!([1, 2])).is_err());
    }
}
