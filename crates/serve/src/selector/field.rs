//! Field selectors (`?fieldSelector=`, `kubectl get --field-selector …`).
//!
//! Kept apart from label selectors because the syntax is flat (`path=value` terms with
//! backslash escapes) and matching is against dotted JSON paths into the object, with the
//! few defaults the real registries' field sets bake in.

use std::fmt;

use serde_json::Value;

use super::SelectorError;

#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldRequirement {
    path: String,
    equal: bool,
    value: String,
}

/// A parsed `fieldSelector`: a conjunction of `path=value` / `path!=value` terms over dotted
/// JSON paths into the object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// `path=value`, `path==value`, `path!=value`, comma-separated. Paths are dotted JSON paths
    /// into the object, e.g. metadata.name, metadata.namespace, spec.nodeName, status.phase,
    /// involvedObject.kind, involvedObject.name, involvedObject.namespace, involvedObject.uid,
    /// type, reason, source.
    ///
    /// Values may escape `\,`, `\=` and `\\` like `fields.EscapeValue` produces; an unescaped
    /// `=` in a value (`a=b=c`) is rejected as on the real server.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        for term in split_unescaped_commas(s) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            let Some((lhs, equal, rhs)) = split_field_term(term) else {
                return Err(SelectorError::FieldTerm {
                    selector: s.to_string(),
                    term: term.to_string(),
                    reason: "expected one of '=', '==' or '!='",
                });
            };
            let path = lhs.trim();
            if path.is_empty() || path.contains(char::is_whitespace) {
                return Err(SelectorError::FieldTerm {
                    selector: s.to_string(),
                    term: term.to_string(),
                    reason: "the field path must be non-empty and contain no whitespace",
                });
            }
            let value =
                unescape_field_value(rhs.trim()).map_err(|reason| SelectorError::FieldValue {
                    selector: s.to_string(),
                    value: rhs.trim().to_string(),
                    reason,
                })?;
            requirements.push(FieldRequirement {
                path: path.to_string(),
                equal,
                value,
            });
        }
        Ok(FieldSelector { requirements })
    }

    /// A missing field compares as "" (as the API server does for e.g. spec.nodeName of an
    /// unscheduled pod).
    pub fn matches(&self, obj: &Value) -> bool {
        self.requirements.iter().all(|r| {
            let actual = field_value(obj, &r.path);
            (actual == r.value) == r.equal
        })
    }

    /// True for the selector that selects everything (`""`).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

/// The canonical form `fields.Selector.String()` prints, values re-escaped.
impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let op = if r.equal { "=" } else { "!=" };
            let escaped = r
                .value
                .replace('\\', "\\\\")
                .replace(',', "\\,")
                .replace('=', "\\=");
            write!(f, "{}{op}{escaped}", r.path)?;
        }
        Ok(())
    }
}

/// Splits on commas not preceded by a backslash escape (`fields.splitTerms`).
fn split_unescaped_commas(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            parts.push(&s[start..i]);
            start = i + 1;
        }
    }
    parts.push(&s[start..]);
    parts
}

/// Finds the first operator scanning left to right, trying `!=`, `==`, `=` at each position
/// (`fields.splitTerm`). Returns (lhs, is-equality, rhs).
fn split_field_term(term: &str) -> Option<(&str, bool, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        if let Some(rhs) = rest.strip_prefix("!=") {
            return Some((&term[..i], false, rhs));
        }
        if let Some(rhs) = rest.strip_prefix("==") {
            return Some((&term[..i], true, rhs));
        }
        if let Some(rhs) = rest.strip_prefix('=') {
            return Some((&term[..i], true, rhs));
        }
    }
    None
}

/// `fields.UnescapeValue`: `\\`, `\,`, `\=` are escapes; any other escape, a trailing `\` or an
/// unescaped `=` / `,` is an error.
fn unescape_field_value(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                Some(e) => return Err(format!("invalid escape sequence '\\{e}'")),
                None => return Err("a trailing '\\' escapes nothing".into()),
            },
            '=' | ',' => {
                return Err(format!(
                    "unescaped '{c}' in value (use '\\{c}' to match it literally)"
                ));
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// The string a dotted path resolves to, the way the API server's field sets present fields:
/// strings as-is, booleans and numbers in their text form, absent fields as "". Two fields
/// the real registries always fill from a non-pointer bool read "false" when absent, and the
/// Event field `source` is `source.component`.
fn field_value(obj: &Value, path: &str) -> String {
    let mut cur = Some(obj);
    for part in path.split('.') {
        cur = cur.and_then(|v| v.get(part));
    }
    match cur {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Object(m)) if path == "source" => m
            .get("component")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        Some(Value::Null) | None if matches!(path, "spec.unschedulable" | "spec.hostNetwork") => {
            "false".to_string()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_selector_basic_and_missing_field() {
        let pod = json!({
            "metadata": {"name": "web-1", "namespace": "default"},
            "spec": {"containers": []},
            "status": {"phase": "Pending"}
        });
        let s = FieldSelector::parse("spec.nodeName=").unwrap();
        assert!(s.matches(&pod), "missing field compares as empty");
        assert!(
            !FieldSelector::parse("spec.nodeName!=")
                .unwrap()
                .matches(&pod)
        );
        assert!(
            FieldSelector::parse("metadata.name==web-1,status.phase!=Running")
                .unwrap()
                .matches(&pod)
        );
        assert!(
            !FieldSelector::parse("metadata.namespace=kube-system")
                .unwrap()
                .matches(&pod)
        );
        assert!(FieldSelector::parse("").unwrap().is_empty());
        assert!(
            FieldSelector::parse("a=b,")
                .unwrap()
                .matches(&json!({"a": "b"}))
        );
    }

    #[test]
    fn field_selector_event_fields_and_defaults() {
        let ev = json!({
            "involvedObject": {"kind": "Pod", "name": "web-1"},
            "type": "Warning",
            "reason": "BackOff",
            "source": {"component": "kubelet", "host": "n1"},
            "count": 3
        });
        let s = FieldSelector::parse("involvedObject.kind=Pod,type=Warning,source=kubelet,count=3")
            .unwrap();
        assert!(s.matches(&ev));
        let node = json!({"metadata": {"name": "n1"}, "spec": {}});
        assert!(
            FieldSelector::parse("spec.unschedulable=false")
                .unwrap()
                .matches(&node)
        );
        let escaped = FieldSelector::parse(r"metadata.name=a\,b\=c").unwrap();
        assert!(escaped.matches(&json!({"metadata": {"name": "a,b=c"}})));
        assert_eq!(escaped.to_string(), r"metadata.name=a\,b\=c");
    }

    #[test]
    fn field_selector_errors() {
        for bad in ["a=b=c", "metadata.name", "=x", r"a=b\x", "a b=c"] {
            let err = FieldSelector::parse(bad).expect_err(bad);
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }
}
