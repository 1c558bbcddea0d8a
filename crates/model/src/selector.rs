//! Label selectors as text, the way `kubectl` and the API server print them
//! (`metav1.LabelSelectorAsSelector(sel).String()`): requirements sorted by key, set values
//! sorted. One function for the replay's columns and the analyses' commands.

use serde_json::Value;

/// A selector (`{matchLabels, matchExpressions}`, or a plain map as Services and
/// ReplicationControllers write it) as `-l` text: `app=web,tier in (a,b)`. `None` for an
/// operator or a value the API would reject.
pub fn label_selector_text(sel: &Value) -> Option<String> {
    let obj = sel.as_object()?;
    let structured = obj.contains_key("matchLabels") || obj.contains_key("matchExpressions");
    let labels = if structured {
        sel.get("matchLabels").and_then(Value::as_object)
    } else {
        Some(obj)
    };
    let mut reqs: Vec<(String, String)> = Vec::new();
    for (k, v) in labels.into_iter().flatten() {
        reqs.push((k.clone(), format!("{k}={}", v.as_str()?)));
    }
    for e in sel
        .get("matchExpressions")
        .filter(|_| structured)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = e.get("key").and_then(Value::as_str)?;
        let mut values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        values.dedup();
        let text = match e.get("operator").and_then(Value::as_str)? {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => return None,
        };
        reqs.push((key.to_string(), text));
    }
    reqs.sort();
    Some(
        reqs.into_iter()
            .map(|(_, t)| t)
            .collect::<Vec<_>>()
            .join(","),
    )
}
