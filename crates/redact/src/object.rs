//! Walking a Kubernetes object: which field gets which treatment.
//!
//! Here structure decides more than content. Secret data is emptied whatever it looks
//! like, name/value pairs are judged by their name, names, namespaces and labels are left
//! alone because the analyses join on them, and last-applied-configuration is redacted as
//! the object it contains so it stays valid JSON.

use std::borrow::Cow;
use std::sync::atomic::Ordering;

use serde_json::{Map, Value};

use super::names::{ARG_FLAG_RE, is_connection_name, is_credential_name};
use super::{LAST_APPLIED, REDACTED_ANNOTATION, Redactor, is_token};

impl Redactor {
    pub(super) fn walk(&self, value: &mut Value, implied_kind: Option<&str>) {
        match value {
            Value::Object(map) => self.walk_map(map, implied_kind),
            Value::Array(items) => {
                for item in items {
                    self.walk(item, None);
                }
            }
            Value::String(s) => self.apply(s, Self::redact_user_only),
            _ => {}
        }
    }

    /// User patterns only, over every string below `value`.
    fn walk_user(&self, value: &mut Value) {
        if self.user.is_empty() {
            return;
        }
        match value {
            Value::String(s) => self.apply(s, Self::redact_user_only),
            Value::Array(items) => items.iter_mut().for_each(|v| self.walk_user(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.walk_user(v)),
            _ => {}
        }
    }

    /// Runs a text redaction over `s` in place, allocating only when it changed.
    fn apply(&self, s: &mut String, f: for<'a> fn(&Self, &'a str) -> Cow<'a, str>) {
        let redacted = match f(self, s) {
            Cow::Owned(o) => o,
            Cow::Borrowed(_) => return,
        };
        *s = redacted;
    }

    fn walk_map(&self, map: &mut Map<String, Value>, implied_kind: Option<&str>) {
        let explicit_kind = map.get("kind").and_then(Value::as_str);
        // A resource: kind (own, or implied by its SecretList/ConfigMapList) plus
        // ObjectMeta. ownerReferences and involvedObject have a kind but no metadata.
        let kind: Option<String> = explicit_kind
            .or(implied_kind)
            .filter(|_| map.get("metadata").is_some_and(Value::is_object))
            .map(str::to_owned);
        let item_kind: Option<String> = explicit_kind
            .and_then(|k| k.strip_suffix("List"))
            .filter(|k| !k.is_empty())
            .map(str::to_owned);
        let is_secret = kind.as_deref() == Some("Secret");
        let is_config_map = kind.as_deref() == Some("ConfigMap");
        let is_event = kind.as_deref() == Some("Event");
        let pair_name: Option<String> = match (map.get("name"), map.get("value")) {
            (Some(Value::String(name)), Some(Value::String(_))) => Some(name.clone()),
            _ => None,
        };

        for (key, value) in map.iter_mut() {
            match key.as_str() {
                "data" | "stringData" if is_secret => self.empty_all(value),
                "data" if is_config_map => self.redact_config_map_data(value),
                "binaryData" if is_config_map => self.redact_config_map_binary(value),
                "message" | "note" if is_event => self.redact_text_value(value),
                "metadata" if value.is_object() => self.redact_metadata(value, is_secret),
                "value" if pair_name.is_some() => {
                    if let (Some(name), Value::String(s)) = (&pair_name, value) {
                        self.redact_pair(name, s);
                    }
                }
                "args" | "command" if value.is_array() => self.redact_args(value),
                "labels" | "matchLabels" | "nodeSelector" | "selector" => self.walk_user(value),
                "items" if item_kind.is_some() => match value {
                    Value::Array(items) => {
                        for item in items {
                            self.walk(item, item_kind.as_deref());
                        }
                    }
                    other => self.walk(other, None),
                },
                _ => self.walk(value, None),
            }
        }

        if is_secret {
            if let Some(Value::Object(meta)) = map.get_mut("metadata") {
                let annotations = meta
                    .entry("annotations")
                    .or_insert_with(|| Value::Object(Map::new()));
                if annotations.is_null() {
                    *annotations = Value::Object(Map::new());
                }
                if let Value::Object(annotations) = annotations {
                    annotations.insert(
                        REDACTED_ANNOTATION.to_owned(),
                        Value::String("data".to_owned()),
                    );
                }
            }
        }
    }

    fn redact_text_value(&self, value: &mut Value) {
        match value {
            Value::String(s) => self.apply(s, Self::redact_text),
            other => self.walk(other, None),
        }
    }

    /// Secret data/stringData: every value becomes "" (still valid base64).
    fn empty_all(&self, value: &mut Value) {
        let Value::Object(entries) = value else {
            return;
        };
        for v in entries.values_mut() {
            if v.as_str() != Some("") {
                *v = Value::String(String::new());
                self.count.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn redact_config_map_data(&self, value: &mut Value) {
        let Value::Object(entries) = value else {
            return self.walk(value, None);
        };
        for (key, v) in entries.iter_mut() {
            match v {
                Value::String(s) if is_credential_name(key) => {
                    if !s.is_empty() && !is_token(s) {
                        *s = self.tokenize(s);
                    }
                }
                Value::String(s) => self.apply(s, Self::redact_text),
                other => self.walk(other, None),
            }
        }
    }

    fn redact_config_map_binary(&self, value: &mut Value) {
        let Value::Object(entries) = value else {
            return;
        };
        for (key, v) in entries.iter_mut() {
            if is_credential_name(key) && v.as_str() != Some("") {
                *v = Value::String(String::new());
                self.count.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn redact_metadata(&self, value: &mut Value, is_secret: bool) {
        let Value::Object(meta) = value else {
            return;
        };
        for (key, v) in meta.iter_mut() {
            match v {
                Value::Object(annotations) if key == "annotations" => {
                    self.redact_annotations(annotations, is_secret)
                }
                // name, namespace, uid, labels, ownerReferences…: analyses need them.
                other => self.walk_user(other),
            }
        }
    }

    fn redact_annotations(&self, annotations: &mut Map<String, Value>, is_secret: bool) {
        if is_secret && annotations.remove(LAST_APPLIED).is_some() {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        for (key, v) in annotations.iter_mut() {
            match v {
                Value::String(s) if key == LAST_APPLIED => self.redact_last_applied(s),
                Value::String(s) => self.apply(s, Self::redact_text),
                other => self.walk_user(other),
            }
        }
    }

    /// The annotation holds a whole object: redact it as one, keep the string
    /// untouched when nothing in it needed redaction.
    fn redact_last_applied(&self, s: &mut String) {
        if s.trim().is_empty() || is_token(s) {
            return;
        }
        match serde_json::from_str::<Value>(s) {
            Ok(mut parsed) => {
                let original = parsed.clone();
                self.walk(&mut parsed, None);
                if parsed == original {
                    return;
                }
                match serde_json::to_string(&parsed) {
                    Ok(mut json) => {
                        if s.ends_with('\n') {
                            json.push('\n');
                        }
                        *s = json;
                    }
                    Err(_) => *s = self.tokenize(s),
                }
            }
            Err(_) => *s = self.tokenize(s),
        }
    }

    /// `{"name": …, "value": …}` (env vars, HTTP headers, parameters).
    fn redact_pair(&self, name: &str, value: &mut String) {
        if value.is_empty() || is_token(value) {
            return;
        }
        if is_credential_name(name) {
            *value = self.tokenize(value);
        } else if is_connection_name(name) {
            self.apply(value, Self::redact_connection);
        } else {
            self.apply(value, Self::redact_text);
        }
    }

    /// Container `args`/`command`.
    fn redact_args(&self, value: &mut Value) {
        let Value::Array(items) = value else {
            return;
        };
        let mut secret_next = false;
        for item in items.iter_mut() {
            match item {
                Value::String(s) => {
                    let is_flag = ARG_FLAG_RE.is_match(s);
                    if secret_next && !s.is_empty() && !s.starts_with('-') && !is_token(s) {
                        *s = self.tokenize(s);
                    } else {
                        self.apply(s, Self::redact_arg);
                    }
                    secret_next = is_flag;
                }
                other => {
                    secret_next = false;
                    self.walk(other, None);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::redactor;
    use serde_json::json;

    #[test]
    fn secret_lists_and_missing_annotations() {
        let r = redactor();
        let mut list = json!({
            "apiVersion": "v1",
            "kind": "SecretList",
            "items": [{"metadata": {"name": "s1", "annotations": null}, "data": {"k": "Q0FOQVJZ"}}]
        });
        r.redact_object(&mut list);
        assert_eq!(list["items"][0]["data"]["k"], "");
        assert_eq!(
            list["items"][0]["metadata"]["annotations"][REDACTED_ANNOTATION],
            "data"
        );
        // ownerReferences name a Secret but are not one.
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p",
            "ownerReferences": [{"apiVersion": "v1", "kind": "Secret", "name": "x", "data": {"k": "v"}}]}});
        let before = pod.clone();
        r.redact_object(&mut pod);
        assert_eq!(pod, before);
    }

    #[test]
    fn metadata_and_labels_are_untouched() {
        let r = redactor();
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "token-refresher", "namespace": "password-mgr",
                "labels": {"name": "secret", "value": "password=x"},
                "annotations": {"note": "token=abc123"}},
            "spec": {"nodeSelector": {"name": "token", "value": "v"}, "containers": [{"name": "c", "image": "i"}]}});
        r.redact_object(&mut pod);
        assert_eq!(pod["metadata"]["name"], "token-refresher");
        assert_eq!(pod["metadata"]["labels"]["value"], "password=x");
        assert_eq!(pod["spec"]["nodeSelector"]["value"], "v");
        assert_eq!(
            pod["metadata"]["annotations"]["note"],
            format!("token={}", Redactor::token("abc123"))
        );
    }

    #[test]
    fn unparseable_last_applied_is_tokened_whole() {
        let r = redactor();
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "annotations": {LAST_APPLIED: "{not json CANARY"}}});
        r.redact_object(&mut cm);
        let once = cm.clone();
        assert_eq!(
            cm["metadata"]["annotations"][LAST_APPLIED],
            Redactor::token("{not json CANARY")
        );
        r.redact_object(&mut cm);
        assert_eq!(cm, once);
        // A clean last-applied is left byte-for-byte alone.
        let raw = "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"}}\n";
        let mut svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "annotations": {LAST_APPLIED: raw}}});
        r.redact_object(&mut svc);
        assert_eq!(svc["metadata"]["annotations"][LAST_APPLIED], raw);
    }

    #[test]
    fn event_messages_get_text_rules() {
        let r = redactor();
        let mut ev = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
            "involvedObject": {"kind": "Secret", "name": "db-creds"},
            "message": "Failed to pull https://bot:CANARY-EV@registry.shop/app"});
        r.redact_object(&mut ev);
        let msg = ev["message"].as_str().expect("string");
        assert!(
            !msg.contains("CANARY-EV") && msg.contains("@registry.shop/app"),
            "{msg}"
        );
        assert_eq!(ev["involvedObject"]["name"], "db-creds");
    }
}
