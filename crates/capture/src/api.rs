//! Raw GETs against the API server (or Prometheus) and the mapping of their failures to
//! the manifest's [`CollectorError`]s.
//!
//! Everything the capture fetches goes through here as a plain HTTP GET on a path, so
//! unknown kinds and CRDs need no Rust types, and every request gets the same timeout and
//! the same error reporting.

use std::time::Duration;

use jiff::Timestamp;
use kube::Client;
use kube::client::Body;
use serde_json::Value;

use intel_model::manifest::CollectorError;

use super::util::clip;

/// Longest server message kept in a collector error (an HTML page from a proxy must not
/// fill the manifest).
const MAX_MESSAGE: usize = 300;

/// Why one GET failed.
#[derive(Debug)]
pub(crate) enum FetchError {
    /// The server answered an HTTP error status; `message` is its own explanation (a
    /// Status' message, Prometheus' `error`, or the body's text).
    Status { code: u16, message: String },
    /// The client failed: no connection, TLS, credentials, a broken body.
    Kube(kube::Error),
    /// No complete answer within `--request-timeout`.
    Timeout(Duration),
    /// The answer was not the JSON we asked for.
    Json(serde_json::Error),
    /// The request could not even be built (a path we made is not a valid URI).
    Request(http::Error),
}

impl FetchError {
    /// The HTTP status the server answered, when it answered one.
    pub(crate) fn code(&self) -> Option<u16> {
        match self {
            FetchError::Status { code, .. } => Some(*code),
            FetchError::Kube(kube::Error::Api(status)) if status.code != 0 => Some(status.code),
            _ => None,
        }
    }

    /// A one-line description: the server's own message for API errors, the whole cause
    /// chain ("connection refused" and the like) for transport errors.
    pub(crate) fn message(&self) -> String {
        match self {
            FetchError::Status { code, message } if message.is_empty() => {
                format!("the server answered HTTP {code}")
            }
            FetchError::Status { message, .. } => clip(message, MAX_MESSAGE),
            FetchError::Kube(kube::Error::Api(status)) => {
                let text = if !status.message.is_empty() {
                    status.message.as_str()
                } else if !status.reason.is_empty() {
                    status.reason.as_str()
                } else {
                    ""
                };
                match (text.is_empty(), status.code) {
                    (false, _) => clip(text, MAX_MESSAGE),
                    (true, 0) => "the server answered an error without a message".to_string(),
                    (true, code) => format!("the server answered HTTP {code}"),
                }
            }
            FetchError::Kube(e) => clip(&error_chain(e), MAX_MESSAGE),
            FetchError::Timeout(d) => format!(
                "no answer within {}s (raise --request-timeout)",
                d.as_secs_f64()
            ),
            FetchError::Json(e) => format!("the answer is not the expected JSON: {e}"),
            FetchError::Request(e) => format!("cannot build the request: {e}"),
        }
    }

    /// The manifest entry for this failure while fetching `target`.
    pub(crate) fn to_collector_error(&self, target: &str) -> CollectorError {
        CollectorError {
            target: target.to_string(),
            code: self.code(),
            message: self.message(),
        }
    }
}

/// `error: cause: root cause`, skipping causes whose text the outer message already
/// includes (kube's errors often embed their source's text).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The explanation in an error answer: the `message` of a Kubernetes Status, the `error`
/// of a Prometheus answer, else the body itself (a proxy's text or HTML page).
pub(crate) fn error_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&text) {
        for field in ["message", "error", "reason"] {
            if let Some(m) = map
                .get(field)
                .and_then(Value::as_str)
                .filter(|m| !m.is_empty())
            {
                return clip(m, MAX_MESSAGE);
            }
        }
    }
    clip(&text, MAX_MESSAGE)
}

/// One GET: the body of a 2xx answer, parsed by `parse`, and the server's clock (its
/// `Date` header) when it sent one; an error answer becomes [`FetchError::Status`] with
/// the HTTP status as answered (kube's own mapping loses it when an error body is JSON
/// but not a Status).
async fn get_once<T>(
    client: &Client,
    path: &str,
    parse: impl Fn(&[u8]) -> Result<T, FetchError>,
) -> Result<(T, Option<Timestamp>), FetchError> {
    let req = http::Request::get(path)
        .header(http::header::ACCEPT, "application/json, */*")
        .body(Body::from(Vec::new()))
        .map_err(FetchError::Request)?;
    let res = client.send(req).await.map_err(FetchError::Kube)?;
    let status = res.status();
    let date = res
        .headers()
        .get(http::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(http_date);
    let body = res
        .into_body()
        .collect_bytes()
        .await
        .map_err(FetchError::Kube)?;
    if status.is_success() {
        parse(&body).map(|t| (t, date))
    } else {
        Err(FetchError::Status {
            code: status.as_u16(),
            message: error_message(&body),
        })
    }
}

/// Statuses worth one more try: API Priority and Fairness throttling (429), an aggregated
/// API or the server itself momentarily unavailable (503), a proxy timing out (504).
fn retryable(e: &FetchError) -> bool {
    matches!(e.code(), Some(429 | 503 | 504))
}

/// Delays before the second and third attempt.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(300), Duration::from_millis(1000)];

/// [`get_once`] bounded by `timeout`, tried again (twice at most, after a short pause)
/// when the answer was a [`retryable`] status. Kept short on purpose: a capture is a
/// snapshot, and an API that is down stays down for the next two seconds too.
async fn get<T>(
    client: &Client,
    path: &str,
    timeout: Duration,
    parse: impl Fn(&[u8]) -> Result<T, FetchError> + Copy,
) -> Result<(T, Option<Timestamp>), FetchError> {
    let mut delays = RETRY_DELAYS.iter();
    loop {
        let result = match tokio::time::timeout(timeout, get_once(client, path, parse)).await {
            Err(_) => Err(FetchError::Timeout(timeout)),
            Ok(result) => result,
        };
        match (result, delays.next()) {
            (Err(e), Some(delay)) if retryable(&e) => tokio::time::sleep(*delay).await,
            (result, _) => return result,
        }
    }
}

/// GETs `path` and deserializes the JSON body into `T`.
pub(crate) async fn get_typed<T: serde::de::DeserializeOwned>(
    client: &Client,
    path: &str,
    timeout: Duration,
) -> Result<T, FetchError> {
    get(client, path, timeout, |body| {
        serde_json::from_slice(body).map_err(FetchError::Json)
    })
    .await
    .map(|(t, _)| t)
}

/// GETs `path` and parses the body as JSON.
pub(crate) async fn get_json(
    client: &Client,
    path: &str,
    timeout: Duration,
) -> Result<Value, FetchError> {
    get_typed(client, path, timeout).await
}

/// GETs `path` as JSON, with the server's clock (`Date` header) when it sent one.
pub(crate) async fn get_json_dated(
    client: &Client,
    path: &str,
    timeout: Duration,
) -> Result<(Value, Option<Timestamp>), FetchError> {
    get(client, path, timeout, |body| {
        serde_json::from_slice(body).map_err(FetchError::Json)
    })
    .await
}

/// An HTTP `Date` header (RFC 9110 IMF-fixdate, `Tue, 24 Nov 2026 14:00:00 GMT`).
pub(crate) fn http_date(text: &str) -> Option<Timestamp> {
    jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(text)
        .ok()
}

/// GETs `path` as text that need not be UTF-8 (container logs: a binary byte, or a
/// multi-byte character cut by `limitBytes`, must not lose the whole log). Invalid bytes
/// become U+FFFD.
pub(crate) async fn get_lossy_text(
    client: &Client,
    path: &str,
    timeout: Duration,
) -> Result<String, FetchError> {
    get(client, path, timeout, |body| {
        Ok(String::from_utf8_lossy(body).into_owned())
    })
    .await
    .map(|(t, _)| t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    fn api(code: u16, message: &str, reason: &str) -> FetchError {
        let mut status = Status::failure(message, reason);
        status.code = code;
        FetchError::Kube(kube::Error::Api(status.boxed()))
    }

    #[test]
    fn http_dates_are_read() {
        assert_eq!(
            http_date("Tue, 24 Nov 2026 14:00:00 GMT").map(|t| t.as_second()),
            Some(1795528800)
        );
        assert_eq!(http_date("yesterday"), None);
    }

    #[test]
    fn api_errors_keep_code_and_server_message() {
        let e = api(
            403,
            "secrets is forbidden: User \"bob\" cannot list resource \"secrets\"",
            "Forbidden",
        );
        let ce = e.to_collector_error("/api/v1/secrets");
        assert_eq!(ce.target, "/api/v1/secrets");
        assert_eq!(ce.code, Some(403));
        assert!(
            ce.message.starts_with("secrets is forbidden"),
            "{}",
            ce.message
        );
    }

    #[test]
    fn api_errors_without_message_fall_back_to_reason_or_code() {
        assert_eq!(api(404, "", "NotFound").message(), "NotFound");
        assert_eq!(api(503, "", "").message(), "the server answered HTTP 503");
        // A Status without a code (some proxies) has no code in the manifest.
        assert_eq!(api(0, "boom", "").code(), None);
    }

    #[test]
    fn http_errors_use_the_servers_explanation() {
        let status =
            br#"{"kind":"Status","code":403,"message":"pods is forbidden","reason":"Forbidden"}"#;
        assert_eq!(error_message(status), "pods is forbidden");
        let prom = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#;
        assert_eq!(error_message(prom), "parse error at char 3");
        assert_eq!(error_message(b"404 page not found\n"), "404 page not found");
        assert_eq!(error_message(b"{}"), "{}");
        let e = FetchError::Status {
            code: 502,
            message: String::new(),
        };
        assert_eq!(e.code(), Some(502));
        assert_eq!(e.message(), "the server answered HTTP 502");
        assert!(retryable(&FetchError::Status {
            code: 503,
            message: String::new()
        }));
        assert!(!retryable(&FetchError::Status {
            code: 500,
            message: String::new()
        }));
    }

    #[test]
    fn long_messages_are_clipped() {
        let html = format!("<html>{}</html>", "x".repeat(5000));
        let m = api(502, &html, "").message();
        assert!(m.chars().count() <= MAX_MESSAGE + 1, "{}", m.len());
    }

    #[test]
    fn transport_errors_have_no_code_and_the_whole_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let e = FetchError::Kube(kube::Error::ReadEvents(io));
        let ce = e.to_collector_error("/version");
        assert_eq!(ce.code, None);
        assert!(ce.message.contains("connection refused"), "{}", ce.message);
        let t = FetchError::Timeout(Duration::from_secs(30)).message();
        assert!(t.contains("30s") && t.contains("--request-timeout"), "{t}");
    }

    #[test]
    fn chain_skips_repeated_causes() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "outer: {}", self.0)
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(error_chain(&e), "outer: inner");
    }
}
