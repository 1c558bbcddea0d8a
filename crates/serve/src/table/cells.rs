//! Defensive accessors and the cell formatting helpers every printer shares.
//!
//! Captured objects may be partial, redacted or simply malformed, so printers never index JSON
//! directly: they go through these accessors, which turn anything missing or mistyped into
//! the zero value the Go printers would see, and through the formatting helpers that mirror
//! the apimachinery / printers.go functions of the same purpose.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::duration::human_duration_nanos;

/// How Go's `fmt.Fprint` renders a JSON number decoded into an unstructured object.
pub(super) fn go_number_text(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{}", f as i128),
        Some(f) => f.to_string(),
        None => n.to_string(),
    }
}

/// The value at `path`, treating JSON null as absent.
pub(super) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    (!cur.is_null()).then_some(cur)
}

pub(super) fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).and_then(Value::as_str).unwrap_or("")
}

pub(super) fn opt_int_at(v: &Value, path: &[&str]) -> Option<i64> {
    at(v, path).and_then(|x| x.as_i64().or_else(|| x.as_f64().map(|f| f as i64)))
}

pub(super) fn int_at(v: &Value, path: &[&str]) -> i64 {
    opt_int_at(v, path).unwrap_or(0)
}

pub(super) fn bool_at(v: &Value, path: &[&str]) -> bool {
    at(v, path).and_then(Value::as_bool).unwrap_or(false)
}

pub(super) fn list_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub(super) fn map_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Map<String, Value>> {
    at(v, path).and_then(Value::as_object)
}

/// Number of entries of an object or array at `path` (`len()` of a Go map or slice).
pub(super) fn len_at(v: &Value, path: &[&str]) -> i64 {
    let n = match at(v, path) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    };
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn time_at(v: &Value, path: &[&str]) -> Option<Timestamp> {
    at(v, path)
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Timestamp>().ok())
}

/// `translateTimestampSince`: "<unknown>" for an unset time.
pub(super) fn since(now: Timestamp, t: Option<Timestamp>) -> String {
    match t {
        Some(t) => human_duration_nanos(now.as_nanosecond() - t.as_nanosecond()),
        None => "<unknown>".into(),
    }
}

pub(super) fn name_of(obj: &Value) -> &str {
    str_at(obj, &["metadata", "name"])
}

pub(super) fn age(obj: &Value, now: Timestamp) -> Value {
    json!(since(now, time_at(obj, &["metadata", "creationTimestamp"])))
}

pub(super) fn or_placeholder(s: &str, placeholder: &str) -> String {
    if s.is_empty() {
        placeholder.to_string()
    } else {
        s.to_string()
    }
}

/// A `resource.Quantity` as its canonical string (the API already serializes it that way).
pub(super) fn quantity(v: Option<&Value>, missing: &str) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => go_number_text(n),
        _ => missing.to_string(),
    }
}

/// An `intstr.IntOrString` as `String()` prints it.
pub(super) fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => go_number_text(n),
        _ => String::new(),
    }
}

pub(super) fn opt_newer(cur: Option<Timestamp>, t: Option<Timestamp>) -> Option<Timestamp> {
    match (cur, t) {
        (Some(c), Some(t)) if t > c => Some(t),
        (None, Some(t)) => Some(t),
        (c, _) => c,
    }
}

/// `labels.FormatLabels`: sorted `k=v` pairs, "<none>" when empty.
pub(super) fn format_labels(m: Option<&Map<String, Value>>) -> String {
    let mut pairs: Vec<(&String, &str)> = m
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    if pairs.is_empty() {
        return "<none>".into();
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `metav1.LabelSelectorAsSelector(sel).String()` (`model::selector`); an absent selector
/// is the empty string.
pub(super) fn label_selector_text(sel: Option<&Value>) -> Option<String> {
    match sel {
        None => Some(String::new()),
        Some(sel) => intel_model::selector::label_selector_text(sel),
    }
}

/// `metav1.FormatLabelSelector`: "<none>" for an empty selector, "<error>" for an invalid one.
pub(super) fn format_label_selector(sel: Option<&Value>) -> String {
    match label_selector_text(sel) {
        None => "<error>".into(),
        Some(s) if s.is_empty() => "<none>".into(),
        Some(s) => s,
    }
}

/// `layoutContainerCells`: container names and images, comma-joined.
pub(super) fn container_cells(containers: &[Value]) -> (Value, Value) {
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, &["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, &["image"])).collect();
    (json!(names.join(",")), json!(images.join(",")))
}

/// `net.JoinHostPort`.
pub(super) fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

pub(super) fn condition<'a>(obj: &'a Value, path: &[&str], ty: &str) -> Option<&'a Value> {
    list_at(obj, path)
        .iter()
        .find(|c| str_at(c, &["type"]) == ty)
}
