//! Label selectors and node selector terms, matched as apimachinery and
//! `nodeaffinity.NodeSelector` match them.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{NodeSelectorRequirement, NodeSelectorTerm};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// A valid label value (`validation.IsValidLabelValue`): at most 63 characters,
/// alphanumeric at both ends, `-`, `_` and `.` inside. A requirement with an invalid value
/// fails to parse, and a term that fails to parse matches no node.
pub fn valid_label_value(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && v.as_bytes()[0].is_ascii_alphanumeric()
            && v.as_bytes()[v.len() - 1].is_ascii_alphanumeric())
}

/// `metav1.LabelSelectorAsSelector(sel).Matches(labels)`. `None` selects nothing (the API's
/// nil selector); an empty selector selects everything. An invalid requirement selects
/// nothing.
pub fn label_selector_matches(
    sel: Option<&LabelSelector>,
    labels: &BTreeMap<String, String>,
) -> bool {
    let Some(sel) = sel else {
        return false;
    };
    for (k, v) in sel.match_labels.iter().flatten() {
        if labels.get(k) != Some(v) {
            return false;
        }
    }
    for req in sel.match_expressions.iter().flatten() {
        let values = req.values.as_deref().unwrap_or_default();
        let ok = match req.operator.as_str() {
            "In" => !values.is_empty() && labels.get(&req.key).is_some_and(|v| values.contains(v)),
            "NotIn" => {
                !values.is_empty() && labels.get(&req.key).is_none_or(|v| !values.contains(v))
            }
            "Exists" => values.is_empty() && labels.contains_key(&req.key),
            "DoesNotExist" => values.is_empty() && !labels.contains_key(&req.key),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// One node selector requirement against a label set (`matchExpressions`) or the node's
/// fields (`matchFields`, where only `metadata.name` exists).
fn requirement_matches(req: &NodeSelectorRequirement, labels: &BTreeMap<String, String>) -> bool {
    let values = req.values.as_deref().unwrap_or_default();
    let value = labels.get(&req.key);
    match req.operator.as_str() {
        "In" => {
            !values.is_empty()
                && values.iter().all(|v| valid_label_value(v))
                && value.is_some_and(|v| values.contains(v))
        }
        "NotIn" => {
            !values.is_empty()
                && values.iter().all(|v| valid_label_value(v))
                && value.is_none_or(|v| !values.contains(v))
        }
        "Exists" => values.is_empty() && value.is_some(),
        "DoesNotExist" => values.is_empty() && value.is_none(),
        "Gt" | "Lt" => {
            let [want] = values else {
                return false;
            };
            let (Ok(want), Some(Ok(have))) = (want.parse::<i64>(), value.map(|v| v.parse::<i64>()))
            else {
                return false;
            };
            if req.operator == "Gt" {
                have > want
            } else {
                have < want
            }
        }
        _ => false,
    }
}

/// A node selector term: its expressions and fields all hold. A term with neither matches
/// no node.
pub fn term_matches(
    term: &NodeSelectorTerm,
    node_name: &str,
    labels: &BTreeMap<String, String>,
) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    let node_fields = BTreeMap::from([("metadata.name".to_string(), node_name.to_string())]);
    exprs.iter().all(|r| requirement_matches(r, labels))
        && fields.iter().all(|r| {
            r.key == "metadata.name"
                && matches!(r.operator.as_str(), "In" | "NotIn")
                && requirement_matches(r, &node_fields)
        })
}

/// Terms are ORed.
pub fn terms_match(
    terms: &[NodeSelectorTerm],
    node_name: &str,
    labels: &BTreeMap<String, String>,
) -> bool {
    terms.iter().any(|t| term_matches(t, node_name, labels))
}
