//! Request handling: the API server's URL grammar, read verbs only, answers in the API's own
//! shapes (lists, Tables, `Status` errors) so that unmodified clients behave normally.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use super::discovery::{self, METRICS_GROUP};
use super::selector::{FieldSelector, LabelSelector};
use super::{ServeState, table};
use intel_model::{LogKey, Object, ResourceType};

type Query = BTreeMap<String, String>;

pub async fn handle(
    State(state): State<Arc<ServeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return status(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!(
                "{method} is not allowed: this server replays the snapshot {} (captured {}) and is read-only",
                state.source, state.snap.manifest.captured_at
            ),
        );
    }
    let query = parse_query(uri.query().unwrap_or(""));
    let wants_table = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"));
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let segments: Vec<&str> = uri
        .path()
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let req = Request {
        state: &state,
        query: &query,
        table: wants_table,
    };
    match segments.as_slice() {
        [] => json_response(
            &json!({"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version"]}),
        ),
        ["version"] => json_response(&discovery::version(&state)),
        ["healthz" | "livez" | "readyz"] => (StatusCode::OK, "ok").into_response(),
        ["api"] => json_response(&discovery::core_versions(&state, host)),
        ["apis"] => json_response(&discovery::groups(&state)),
        ["apis", group] => match discovery::group(&state, group) {
            Some(v) => json_response(&v),
            None => not_found(format!(
                "the server could not find the requested resource (API group {group} is not in this snapshot)"
            )),
        },
        ["prometheus", "api", "v1", "query_range"] => {
            let (code, body) =
                super::prometheus::query_range(&state.snap, query.get("query").map(String::as_str));
            raw_json(StatusCode::from_u16(code).unwrap_or(StatusCode::OK), body)
        }
        ["api", version, rest @ ..] => req.resource_path("", version, rest),
        ["apis", group, version, rest @ ..] => req.resource_path(group, version, rest),
        _ => not_found("the server could not find the requested resource".to_string()),
    }
}

struct Request<'a> {
    state: &'a ServeState,
    query: &'a Query,
    table: bool,
}

impl Request<'_> {
    fn resource_path(&self, group: &str, version: &str, rest: &[&str]) -> Response {
        if rest.is_empty() {
            return match discovery::resources(self.state, group, version) {
                Some(v) => json_response(&v),
                None => not_found(format!(
                    "the server could not find the requested resource ({} is not in this snapshot)",
                    if group.is_empty() {
                        version.to_string()
                    } else {
                        format!("{group}/{version}")
                    }
                )),
            };
        }
        let (namespace, rest) = match rest {
            ["namespaces", ns, tail @ ..] if !tail.is_empty() => (Some(*ns), tail),
            _ => (None, rest),
        };
        let resource = rest[0];
        if self.is_watch() {
            return status(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "watch is not supported: this server replays a snapshot, which never changes"
                    .into(),
            );
        }
        if self
            .state
            .forbid
            .iter()
            .any(|(g, r)| g == group && r == resource)
        {
            let scope = match namespace {
                Some(ns) => format!("in the namespace \"{ns}\""),
                None => "at the cluster scope".to_string(),
            };
            let verb = if rest.len() > 1 { "get" } else { "list" };
            return status(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!(
                    "{resource}{} is forbidden: User \"system:anonymous\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}",
                    if group.is_empty() {
                        String::new()
                    } else {
                        format!(".{group}")
                    }
                ),
            );
        }
        if group == METRICS_GROUP {
            return self.metrics(resource, namespace, rest.get(1).copied());
        }
        let Some(rtype) = discovery::find_type(self.state, group, version, resource) else {
            return not_found(format!(
                "the server could not find the requested resource ({resource} in {} is not in this snapshot)",
                if group.is_empty() {
                    version.to_string()
                } else {
                    format!("{group}/{version}")
                }
            ));
        };
        let items = self
            .state
            .snap
            .resources
            .get(&rtype.key())
            .map(|l| l.items.as_slice())
            .unwrap_or(&[]);
        let namespace = if rtype.namespaced { namespace } else { None };
        match rest {
            [_] => self.list(rtype, items, namespace),
            [_, name] => self.get(rtype, items, namespace, name),
            ["pods", name, "log"] if group.is_empty() => self.log(items, namespace, name),
            [_, _, sub] => status(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("the subresource {sub:?} of {resource} is not served by a snapshot replay"),
            ),
            _ => not_found("the server could not find the requested resource".into()),
        }
    }

    fn is_watch(&self) -> bool {
        self.query
            .get("watch")
            .is_some_and(|w| w == "true" || w == "1")
    }

    fn list(&self, rtype: &ResourceType, items: &[Object], namespace: Option<&str>) -> Response {
        let labels = match self
            .query
            .get("labelSelector")
            .map(|s| LabelSelector::parse(s))
        {
            Some(Err(e)) => return bad_request(e.to_string()),
            Some(Ok(s)) => Some(s),
            None => None,
        };
        let fields = match self
            .query
            .get("fieldSelector")
            .map(|s| FieldSelector::parse(s))
        {
            Some(Err(e)) => return bad_request(e.to_string()),
            Some(Ok(s)) => Some(s),
            None => None,
        };
        let scoped = namespace_range(items, namespace);
        let mut selected: Vec<&Object> = scoped
            .iter()
            .filter(|o| labels.as_ref().is_none_or(|l| l.matches(&o.meta.labels)))
            .filter(|o| {
                fields
                    .as_ref()
                    .is_none_or(|f| f.is_empty() || f.matches(&o.value()))
            })
            .collect();
        let offset = match self.query.get("continue").filter(|c| !c.is_empty()) {
            Some(token) => match decode_continue(token) {
                Some(n) => n,
                None => return status(StatusCode::GONE, "Expired", "the provided continue parameter is not valid for this snapshot; restart the list".into()),
            },
            None => 0,
        };
        let limit: usize = self
            .query
            .get("limit")
            .and_then(|l| l.parse().ok())
            .filter(|l| *l > 0)
            .unwrap_or(usize::MAX);
        let total = selected.len();
        let start = offset.min(total);
        let end = start.saturating_add(limit).min(total);
        selected = selected[start..end].to_vec();
        let mut list_meta = json!({"resourceVersion": "1"});
        if end < total {
            list_meta["continue"] = json!(encode_continue(end));
            list_meta["remainingItemCount"] = json!(total - end);
        }
        if self.table {
            return self.table_response(rtype, &selected, list_meta);
        }
        let mut body =
            String::with_capacity(selected.iter().map(|o| o.json().len() + 2).sum::<usize>() + 256);
        body.push_str(&format!(
            "{{\"kind\":{},\"apiVersion\":{},\"metadata\":{},\"items\":[",
            json!(format!("{}List", rtype.kind)),
            json!(rtype.key().api_version()),
            list_meta
        ));
        for (i, o) in selected.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(o.json());
        }
        body.push_str("]}");
        raw_json(StatusCode::OK, body)
    }

    fn get(
        &self,
        rtype: &ResourceType,
        items: &[Object],
        namespace: Option<&str>,
        name: &str,
    ) -> Response {
        let found = namespace_range(items, namespace).iter().find(|o| {
            o.meta.name == name
                && (namespace.is_some() || !rtype.namespaced || o.meta.namespace.is_empty())
        });
        match found {
            Some(o) if self.table => {
                self.table_response(rtype, &[o], json!({"resourceVersion": "1"}))
            }
            Some(o) => raw_json(StatusCode::OK, o.json().to_string()),
            None => status_with(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!(
                    "{}{} \"{name}\" not found",
                    rtype.resource,
                    if rtype.group.is_empty() {
                        String::new()
                    } else {
                        format!(".{}", rtype.group)
                    }
                ),
                json!({"name": name, "group": rtype.group, "kind": rtype.resource}),
            ),
        }
    }

    fn table_response(
        &self,
        rtype: &ResourceType,
        objects: &[&Object],
        list_meta: Value,
    ) -> Response {
        let values: Vec<Value> = objects.iter().map(|o| o.value()).collect();
        let refs: Vec<&Value> = values.iter().collect();
        let crd = self.crd_for(rtype);
        let include = self
            .query
            .get("includeObject")
            .map(String::as_str)
            .unwrap_or("Metadata");
        let t = table::table(
            &rtype.group,
            &rtype.version,
            &rtype.kind,
            &refs,
            crd.as_ref(),
            self.state.now,
            list_meta,
            include,
        );
        json_response(&t)
    }

    fn crd_for(&self, rtype: &ResourceType) -> Option<Value> {
        if ResourceType::builtin(&rtype.key()).is_some() {
            return None;
        }
        let name = format!("{}.{}", rtype.resource, rtype.group);
        self.state
            .snap
            .items("apiextensions.k8s.io", "customresourcedefinitions")
            .iter()
            .find(|o| o.meta.name == name)
            .map(Object::value)
    }

    fn log(&self, pods: &[Object], namespace: Option<&str>, name: &str) -> Response {
        let ns = namespace.unwrap_or("default");
        let Some(pod) = namespace_range(pods, Some(ns))
            .iter()
            .find(|o| o.meta.name == name)
        else {
            return status(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("pods \"{name}\" not found"),
            );
        };
        let pod = pod.value();
        let containers: Vec<String> = ["initContainers", "containers"]
            .iter()
            .flat_map(|k| pod["spec"][k].as_array().cloned().unwrap_or_default())
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect();
        let regular: Vec<String> = pod["spec"]["containers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let container = match self.query.get("container") {
            Some(c) => c.clone(),
            None if regular.len() == 1 => regular[0].clone(),
            None => {
                return bad_request(format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    regular.join(" ")
                ));
            }
        };
        if !containers.contains(&container) {
            return bad_request(format!("container {container} is not valid for pod {name}"));
        }
        let previous = self
            .query
            .get("previous")
            .is_some_and(|p| p == "true" || p == "1");
        let key = LogKey {
            namespace: ns.to_string(),
            pod: name.to_string(),
            container: container.clone(),
            previous,
        };
        let Some(text) = self.state.snap.logs.get(&key) else {
            return if previous {
                bad_request(format!(
                    "previous terminated container \"{container}\" in pod \"{name}\" not found"
                ))
            } else {
                status(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    format!(
                        "the logs of container \"{container}\" in pod \"{name}\" were not captured in this snapshot"
                    ),
                )
            };
        };
        let mut text: &str = text;
        if let Some(n) = self
            .query
            .get("tailLines")
            .and_then(|n| n.parse::<usize>().ok())
        {
            text = tail_lines(text, n);
        }
        let mut out = text.to_string();
        if let Some(limit) = self
            .query
            .get("limitBytes")
            .and_then(|n| n.parse::<usize>().ok())
        {
            if out.len() > limit {
                let mut cut = limit;
                while !out.is_char_boundary(cut) {
                    cut -= 1;
                }
                out.truncate(cut);
            }
        }
        ([(header::CONTENT_TYPE, "text/plain")], out).into_response()
    }

    fn metrics(&self, resource: &str, namespace: Option<&str>, name: Option<&str>) -> Response {
        let pods = match resource {
            "pods" => true,
            "nodes" => false,
            other => return not_found(format!("{other} is not a metrics.k8s.io resource")),
        };
        let Some(sample) = self.state.metrics.current(pods) else {
            return status(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "this snapshot has no metrics samples (metrics-server was not captured)".into(),
            );
        };
        let items = if pods { &sample.pods } else { &sample.nodes };
        let labels = match self
            .query
            .get("labelSelector")
            .map(|s| LabelSelector::parse(s))
        {
            Some(Err(e)) => return bad_request(e.to_string()),
            Some(Ok(s)) => Some(s),
            None => None,
        };
        let (kind, label_source) = if pods {
            ("PodMetrics", "pods")
        } else {
            ("NodeMetrics", "nodes")
        };
        let selected: Vec<&super::metrics::Item> = items
            .iter()
            .filter(|i| namespace.is_none_or(|ns| i.namespace == ns))
            .filter(|i| name.is_none_or(|n| i.name == n))
            .filter(|i| match &labels {
                None => true,
                Some(l) => {
                    let ns = if pods { i.namespace.as_str() } else { "" };
                    let obj = self.state.snap.index().by_name(
                        if pods { "Pod" } else { "Node" },
                        ns,
                        &i.name,
                    );
                    obj.first()
                        .and_then(|id| self.state.snap.get(*id))
                        .is_some_and(|o| l.matches(&o.meta.labels))
                }
            })
            .collect();
        let _ = label_source;
        if let Some(n) = name {
            return match selected.first() {
                Some(i) => raw_json(StatusCode::OK, i.raw.get().to_string()),
                None => not_found(format!("{resource}.metrics.k8s.io \"{n}\" not found")),
            };
        }
        let body = format!(
            "{{\"kind\":\"{kind}List\",\"apiVersion\":\"metrics.k8s.io/v1beta1\",\"metadata\":{{}},\"items\":[{}]}}",
            selected
                .iter()
                .map(|i| i.raw.get())
                .collect::<Vec<_>>()
                .join(",")
        );
        raw_json(StatusCode::OK, body)
    }
}

/// The items of one namespace (items are sorted by namespace, then name), or all.
fn namespace_range<'o>(items: &'o [Object], namespace: Option<&str>) -> &'o [Object] {
    match namespace {
        None => items,
        Some(ns) => {
            let start = items.partition_point(|o| o.meta.namespace.as_str() < ns);
            let end = items.partition_point(|o| o.meta.namespace.as_str() <= ns);
            &items[start..end]
        }
    }
}

fn tail_lines(text: &str, n: usize) -> &str {
    if n == 0 {
        return "";
    }
    let trimmed = text.strip_suffix('\n').unwrap_or(text);
    let mut count = 0;
    for (i, b) in trimmed.bytes().enumerate().rev() {
        if b == b'\n' {
            count += 1;
            if count == n {
                return &text[i + 1..];
            }
        }
    }
    text
}

fn encode_continue(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("intel-offset:{offset}"))
}

fn decode_continue(token: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("intel-offset:")?
        .parse()
        .ok()
}

fn parse_query(q: &str) -> Query {
    let mut out = Query::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(percent_decode(k), percent_decode(v));
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn json_response(v: &Value) -> Response {
    raw_json(StatusCode::OK, v.to_string())
}

fn raw_json(code: StatusCode, body: String) -> Response {
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn not_found(message: String) -> Response {
    status(StatusCode::NOT_FOUND, "NotFound", message)
}

fn bad_request(message: String) -> Response {
    status(StatusCode::BAD_REQUEST, "BadRequest", message)
}

fn status(code: StatusCode, reason: &str, message: String) -> Response {
    status_with(code, reason, message, Value::Null)
}

/// A `Status` object, the API's own error shape, which kubectl prints as `Error from server (Reason): message`.
fn status_with(code: StatusCode, reason: &str, message: String, details: Value) -> Response {
    let mut s = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16()});
    if !details.is_null() {
        s["details"] = details;
    }
    raw_json(code, s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_tokens() {
        let q = parse_query("labelSelector=app%3Dweb%2Ctier+in+(a)&limit=5&x");
        assert_eq!(q["labelSelector"], "app=web,tier in (a)");
        assert_eq!(q["limit"], "5");
        assert_eq!(q["x"], "");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(decode_continue(&encode_continue(42)), Some(42));
        assert_eq!(decode_continue("garbage"), None);
    }

    #[test]
    fn tails() {
        assert_eq!(tail_lines("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(tail_lines("a\nb\nc", 1), "c");
        assert_eq!(tail_lines("a\nb\n", 5), "a\nb\n");
        assert_eq!(tail_lines("a\n", 0), "");
    }
}
