//! A Prometheus range-query API over the bundle's stored series, under `/prometheus`
//! (`capture --prometheus http://HOST:PORT/prometheus`), so a capture or a live analysis
//! against the replay gets the series the bundle holds.
//!
//! The bundle stores one query_range answer per metric name; a query is answered with the
//! stored answer of the metric it names, whatever its range and step (the replay only has
//! the captured window). A query naming no stored metric gets an empty matrix, as
//! Prometheus answers a selector that matches nothing.

use serde_json::json;

use intel_model::Snapshot;

/// The answer to `query_range?query=PROMQL`: (HTTP status, JSON body).
pub fn query_range(snap: &Snapshot, query: Option<&str>) -> (u16, String) {
    let Some(promql) = query.filter(|q| !q.trim().is_empty()) else {
        return (
            400,
            json!({"status": "error", "errorType": "bad_data",
                "error": "invalid parameter \"query\": unknown position: parse error: no expression found in input"})
            .to_string(),
        );
    };
    match named_metric(snap, promql) {
        Some(name) => (200, snap.prometheus[name].get().to_string()),
        None => (
            200,
            json!({"status": "success", "data": {"resultType": "matrix", "result": []}})
                .to_string(),
        ),
    }
}

/// The stored metric whose name is an identifier of `promql` (the longest, should
/// several be). A stored `<histogram>_p90` (the 90th percentile capture computed) answers
/// a `histogram_quantile` over that histogram's buckets.
fn named_metric<'s>(snap: &'s Snapshot, promql: &str) -> Option<&'s str> {
    let idents: std::collections::BTreeSet<&str> = promql
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|s| !s.is_empty())
        .collect();
    let quantile = idents.contains("histogram_quantile");
    snap.prometheus
        .keys()
        .filter(|k| {
            idents.contains(k.as_str())
                || (quantile
                    && k.strip_suffix("_p90")
                        .is_some_and(|h| idents.contains(format!("{h}_bucket").as_str())))
        })
        .max_by_key(|k| k.len())
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_gets_the_series_it_names() {
        let mut snap = intel_fixture::snapshot();
        let stored = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"a"},"values":[[1,"2"]]}]}}"#;
        snap.prometheus.insert(
            "container_cpu_usage_seconds_total".into(),
            serde_json::value::RawValue::from_string(stored.into()).unwrap(),
        );
        let (code, body) = query_range(
            &snap,
            Some(
                "sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{container!=\"\"}[300s]))",
            ),
        );
        assert_eq!((code, body.as_str()), (200, stored));
        let (code, body) = query_range(&snap, Some("up"));
        assert_eq!(code, 200);
        assert!(body.contains("\"result\":[]"), "{body}");
        assert_eq!(query_range(&snap, None).0, 400);
    }

    #[test]
    fn a_stored_quantile_answers_the_query_that_computed_it() {
        let mut snap = intel_fixture::snapshot();
        let stored = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"a"},"values":[[1,"0.2"]]}]}}"#;
        snap.prometheus.insert(
            "http_request_duration_seconds_p90".into(),
            serde_json::value::RawValue::from_string(stored.into()).unwrap(),
        );
        let q = "histogram_quantile(0.9, sum by (namespace, pod, le) (rate(http_request_duration_seconds_bucket[300s])))";
        assert_eq!(query_range(&snap, Some(q)), (200, stored.to_string()));
        // The buckets themselves, asked without the quantile, are not what was stored.
        let (_, body) = query_range(
            &snap,
            Some("rate(http_request_duration_seconds_bucket[300s])"),
        );
        assert!(body.contains("\"result\":[]"), "{body}");
    }
}
