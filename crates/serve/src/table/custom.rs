//! Custom resources: apiextensions-apiserver's table convertor, plus kube-aggregator's
//! APIService convertor (the other printer that does not live in printers.go).
//!
//! Printer columns come from the CRD (`additionalPrinterColumns`) as JSONPath expressions, so
//! this module also carries the small JSONPath subset they use. Anything outside that subset
//! yields an empty cell rather than an error.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::cells::{age, at, condition, go_number_text, int_at, list_at, name_of, since, str_at};
use super::{AGE, AGE_DESC, Col, NAME, Row, c};

struct CrdColumn {
    name: String,
    ty: String,
    format: String,
    description: String,
    priority: i64,
    path: Option<Vec<Seg>>,
}

/// The printer columns apiextensions serves for `version` of `crd`: the version's
/// `additionalPrinterColumns` (or the legacy top-level list), defaulting to a single Age column.
fn crd_columns(crd: &Value, version: &str) -> Vec<CrdColumn> {
    let from_version = list_at(crd, &["spec", "versions"])
        .iter()
        .find(|v| str_at(v, &["name"]) == version)
        .map(|v| list_at(v, &["additionalPrinterColumns"]))
        .unwrap_or(&[]);
    let mut defs = if from_version.is_empty() {
        list_at(crd, &["spec", "additionalPrinterColumns"])
    } else {
        from_version
    };
    let default_age = [json!({
        "name": "Age",
        "type": "date",
        "description": AGE_DESC,
        "jsonPath": ".metadata.creationTimestamp",
    })];
    if defs.is_empty() {
        defs = &default_age;
    }
    defs.iter()
        .map(|d| {
            let json_path = str_at(d, &["jsonPath"]);
            let description = match str_at(d, &["description"]) {
                "" => {
                    format!("Custom resource definition column (in JSONPath format): {json_path}")
                }
                desc => desc.to_string(),
            };
            CrdColumn {
                name: str_at(d, &["name"]).to_string(),
                ty: str_at(d, &["type"]).to_string(),
                format: str_at(d, &["format"]).to_string(),
                description,
                priority: int_at(d, &["priority"]),
                path: parse_json_path(json_path),
            }
        })
        .collect()
}

pub(super) fn custom_resource_table(
    crd: &Value,
    version: &str,
    items: &[&Value],
    now: Timestamp,
) -> (Vec<Value>, Vec<Row>) {
    let columns = crd_columns(crd, version);
    let mut defs = vec![NAME.to_json()];
    defs.extend(columns.iter().map(|col| {
        json!({
            "name": col.name,
            "type": col.ty,
            "format": col.format,
            "description": col.description,
            "priority": col.priority,
        })
    }));
    let rows = items
        .iter()
        .map(|item| {
            let mut cells = vec![json!(name_of(item))];
            for col in &columns {
                let found = col
                    .path
                    .as_deref()
                    .and_then(|segs| eval_json_path(item, segs).into_iter().next());
                cells.push(match found {
                    Some(v) => crd_cell(&col.ty, v, now),
                    None => Value::Null,
                });
            }
            Row::new(cells)
        })
        .collect();
    (defs, rows)
}

/// `cellForJSONValue` / jsonpath `PrintResults`: string columns print scalars as text and
/// objects/arrays as compact JSON; typed columns keep only values of their type.
fn crd_cell(ty: &str, v: &Value, now: Timestamp) -> Value {
    match ty {
        "string" => match v {
            Value::Null => Value::Null,
            Value::String(s) => json!(s),
            Value::Bool(b) => json!(b.to_string()),
            Value::Number(n) => json!(go_number_text(n)),
            other => json!(serde_json::to_string(other).unwrap_or_default()),
        },
        "integer" => match v {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .map_or(Value::Null, |i| json!(i)),
            _ => Value::Null,
        },
        "number" => v.as_f64().map_or(Value::Null, |f| json!(f)),
        "boolean" => v.as_bool().map_or(Value::Null, |b| json!(b)),
        "date" => match v.as_str() {
            Some("") | Some("null") => json!("<unknown>"),
            Some(s) => match s.parse::<Timestamp>() {
                Ok(t) => json!(since(now, Some(t))),
                Err(_) => json!("<invalid>"),
            },
            None => Value::Null,
        },
        _ => Value::Null,
    }
}

/// One step of the simple JSONPath subset CRD printer columns use.
#[derive(Debug, Clone)]
enum Seg {
    Field(String),
    Index(i64),
    Wildcard,
    Filter(Filter),
}

#[derive(Debug, Clone)]
struct Filter {
    path: Vec<String>,
    cmp: Option<(String, Value)>,
}

/// Parses `.a.b`, `.a[0]`, `.a[*]`, `['a.b']`, `.a\.b`, `.a[?(@.type=="Ready")].status`.
/// Anything fancier (recursive descent, slices, unions) yields `None`, i.e. empty cells.
fn parse_json_path(p: &str) -> Option<Vec<Seg>> {
    let mut p = p.trim();
    if let Some(inner) = p.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        p = inner.trim();
    }
    p = p.strip_prefix('$').unwrap_or(p);
    let chars: Vec<char> = p.chars().collect();
    let mut segs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars.get(i) {
            Some('[') => {
                let (inner, next) = bracket_body(&chars, i)?;
                segs.push(parse_bracket(inner.trim())?);
                i = next;
            }
            Some(ch) => {
                if *ch == '.' {
                    i += 1;
                }
                let mut name = String::new();
                while let Some(&ch) = chars.get(i) {
                    match ch {
                        '\\' => {
                            name.push(*chars.get(i + 1)?);
                            i += 2;
                        }
                        '.' | '[' => break,
                        _ => {
                            name.push(ch);
                            i += 1;
                        }
                    }
                }
                match name.as_str() {
                    "" => return None,
                    "*" => segs.push(Seg::Wildcard),
                    _ => segs.push(Seg::Field(name)),
                }
            }
            None => break,
        }
    }
    Some(segs)
}

/// The text between `[` at `start` and its matching `]` (quotes and parentheses respected),
/// and the index after the `]`.
fn bracket_body(chars: &[char], start: usize) -> Option<(String, usize)> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut body = String::new();
    let mut i = start + 1;
    while let Some(&ch) = chars.get(i) {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => {}
            None => match ch {
                '\'' | '"' => quote = Some(ch),
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ']' if depth == 0 => return Some((body, i + 1)),
                _ => {}
            },
        }
        body.push(ch);
        i += 1;
    }
    None
}

fn parse_bracket(inner: &str) -> Option<Seg> {
    if inner == "*" {
        return Some(Seg::Wildcard);
    }
    if let Some(expr) = inner.strip_prefix("?(").and_then(|s| s.strip_suffix(')')) {
        return parse_filter(expr.trim()).map(Seg::Filter);
    }
    if let Some(name) = unquote(inner) {
        return Some(Seg::Field(name));
    }
    inner.parse::<i64>().ok().map(Seg::Index)
}

fn unquote(s: &str) -> Option<String> {
    let first = s.chars().next()?;
    if (first == '\'' || first == '"') && s.len() >= 2 && s.ends_with(first) {
        return s.get(1..s.len() - 1).map(str::to_string);
    }
    None
}

/// `@.a.b`, optionally followed by `==`, `!=`, `<`, `<=`, `>`, `>=` and a literal.
fn parse_filter(expr: &str) -> Option<Filter> {
    let rest = expr.strip_prefix('@')?;
    let ops = ["==", "!=", "<=", ">=", "<", ">"];
    let (lhs, cmp) = match ops
        .iter()
        .filter_map(|op| rest.find(op).map(|at| (at, *op)))
        .min_by_key(|(at, op)| (*at, std::cmp::Reverse(op.len())))
    {
        Some((at, op)) => {
            let literal = rest.get(at + op.len()..)?.trim();
            let value = if let Some(s) = unquote(literal) {
                json!(s)
            } else {
                serde_json::from_str::<Value>(literal).ok()?
            };
            (rest.get(..at)?, Some((op.to_string(), value)))
        }
        None => (rest, None),
    };
    let path = lhs
        .trim()
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    Some(Filter { path, cmp })
}

fn filter_matches(f: &Filter, item: &Value) -> bool {
    let mut cur = Some(item);
    for p in &f.path {
        cur = cur.and_then(|v| v.get(p));
    }
    let Some(actual) = cur.filter(|v| !v.is_null()) else {
        return false;
    };
    let Some((op, want)) = &f.cmp else {
        return true;
    };
    let ordering = match (actual, want) {
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (a, b) if a == b => Some(std::cmp::Ordering::Equal),
        _ => None,
    };
    match (op.as_str(), ordering) {
        ("==", Some(o)) => o.is_eq(),
        ("!=", o) => o.is_none_or(|o| o.is_ne()),
        ("<", Some(o)) => o.is_lt(),
        ("<=", Some(o)) => o.is_le(),
        (">", Some(o)) => o.is_gt(),
        (">=", Some(o)) => o.is_ge(),
        _ => false,
    }
}

/// All values `segs` reaches from `root`; missing keys are skipped (`AllowMissingKeys`).
fn eval_json_path<'a>(root: &'a Value, segs: &[Seg]) -> Vec<&'a Value> {
    let mut cur = vec![root];
    for seg in segs {
        let mut next = Vec::new();
        for v in cur {
            match seg {
                Seg::Field(name) => next.extend(v.get(name)),
                Seg::Index(i) => {
                    if let Some(arr) = v.as_array() {
                        let idx = if *i < 0 {
                            i64::try_from(arr.len()).ok().map(|n| n + i)
                        } else {
                            Some(*i)
                        };
                        next.extend(
                            idx.and_then(|i| usize::try_from(i).ok())
                                .and_then(|i| arr.get(i)),
                        );
                    }
                }
                Seg::Wildcard => match v {
                    Value::Array(a) => next.extend(a.iter()),
                    Value::Object(m) => next.extend(m.values()),
                    _ => {}
                },
                Seg::Filter(f) => {
                    if let Some(arr) = v.as_array() {
                        next.extend(arr.iter().filter(|item| filter_matches(f, item)));
                    }
                }
            }
        }
        cur = next;
    }
    cur
}

pub(super) fn api_service_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Service",
            "string",
            "The reference to the service that hosts this API endpoint.",
        ),
        c("Available", "string", "Whether this service is available."),
        AGE,
    ]
}

/// kube-aggregator's APIService convertor: "Local" or ns/name, Available with its reason.
pub(super) fn print_api_service(svc: &Value, now: Timestamp) -> Row {
    let service = match at(svc, &["spec", "service"]) {
        Some(s) => format!("{}/{}", str_at(s, &["namespace"]), str_at(s, &["name"])),
        None => "Local".into(),
    };
    let available = match condition(svc, &["status", "conditions"], "Available") {
        Some(c) => {
            let status = str_at(c, &["status"]);
            let reason = str_at(c, &["reason"]);
            if status == "True" || reason.is_empty() {
                status.to_string()
            } else {
                format!("{status} ({reason})")
            }
        }
        None => "Unknown".into(),
    };
    Row::new(vec![
        json!(name_of(svc)),
        json!(service),
        json!(available),
        age(svc, now),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::table;
    use crate::table::tests::{build, cell, column_names, now};

    #[test]
    fn crd_printer_columns() {
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com", "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"group": "example.com", "versions": [
                {"name": "v1alpha1", "additionalPrinterColumns": []},
                {"name": "v1", "additionalPrinterColumns": [
                    {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                    {"name": "Ready", "type": "string",
                     "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                    {"name": "First", "type": "string", "jsonPath": ".spec.items[0].name", "priority": 1},
                    {"name": "Label", "type": "string",
                     "jsonPath": ".metadata.labels.app\\.kubernetes\\.io/name"},
                    {"name": "Missing", "type": "string", "jsonPath": ".spec.nope"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
                ]}
            ]}
        });
        let cr = json!({
            "apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w1", "creationTimestamp": "2024-05-01T11:00:00Z",
                         "labels": {"app.kubernetes.io/name": "shop"}},
            "spec": {"replicas": 3, "items": [{"name": "a"}, {"name": "b"}]},
            "status": {"conditions": [{"type": "Synced", "status": "True"},
                                      {"type": "Ready", "status": "False"}]}
        });
        let t = table(
            "example.com",
            "v1",
            "Widget",
            &[&cr],
            Some(&crd),
            now(),
            json!({}),
            "",
        );
        assert_eq!(
            column_names(&t),
            [
                "Name", "Replicas", "Ready", "First", "Label", "Missing", "Age"
            ]
        );
        assert_eq!(t["columnDefinitions"][1]["type"], "integer");
        assert_eq!(t["columnDefinitions"][3]["priority"], 1);
        assert_eq!(t["columnDefinitions"][6]["type"], "date");
        assert_eq!(cell(&t, 0, "Replicas"), 3);
        assert_eq!(cell(&t, 0, "Ready"), "False");
        assert_eq!(cell(&t, 0, "First"), "a");
        assert_eq!(cell(&t, 0, "Label"), "shop");
        assert_eq!(cell(&t, 0, "Missing"), Value::Null);
        assert_eq!(cell(&t, 0, "Age"), "60m");

        // A version without printer columns gets apiextensions' default Age column.
        let t = table(
            "example.com",
            "v1alpha1",
            "Widget",
            &[&cr],
            Some(&crd),
            now(),
            json!({}),
            "",
        );
        assert_eq!(column_names(&t), ["Name", "Age"]);
        assert_eq!(cell(&t, 0, "Age"), "60m");

        // The CRD itself prints with the default convertor.
        let t = build("apiextensions.k8s.io", "CustomResourceDefinition", &crd);
        assert_eq!(column_names(&t), ["Name", "Created At"]);
        assert_eq!(cell(&t, 0, "Created At"), "2024-01-01T00:00:00Z");
        assert_eq!(t["columnDefinitions"][1]["type"], "date");

        // Unknown type without CRD: Name + Age.
        let t = build("unknown.io", "Thing", &cr);
        assert_eq!(column_names(&t), ["Name", "Age"]);
    }
}
