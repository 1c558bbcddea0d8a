//! Container logs: the tail of every started container (init and ephemeral containers
//! included) and of its previous instance when it restarted, each capped in lines and
//! bytes and redacted as text.

use std::collections::BTreeMap;

use futures::StreamExt as _;
use kube::Client;
use serde::Deserialize;
use serde::de::IgnoredAny;

use intel_model::manifest::{Collector, CollectorError};
use intel_model::{LogKey, Object};
use intel_redact::Redactor;

use super::CaptureOptions;
use super::api::get_lossy_text;
use super::progress::Progress;
use super::util::encode;

/// The parts of a Pod that say which logs exist; everything else is skipped by serde.
#[derive(Debug, Deserialize, Default)]
struct PodView {
    #[serde(default)]
    metadata: PodMeta,
    #[serde(default)]
    status: Option<PodStatusView>,
}

#[derive(Debug, Deserialize, Default)]
struct PodMeta {
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PodStatusView {
    #[serde(default)]
    init_container_statuses: Option<Vec<ContainerStatusView>>,
    #[serde(default)]
    container_statuses: Option<Vec<ContainerStatusView>>,
    #[serde(default)]
    ephemeral_container_statuses: Option<Vec<ContainerStatusView>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ContainerStatusView {
    #[serde(default)]
    name: String,
    #[serde(default)]
    restart_count: Option<i64>,
    #[serde(default)]
    started: Option<bool>,
    #[serde(default)]
    state: Option<StateView>,
    #[serde(default)]
    last_state: Option<StateView>,
}

#[derive(Debug, Deserialize, Default)]
struct StateView {
    #[serde(default)]
    running: Option<IgnoredAny>,
    #[serde(default)]
    terminated: Option<IgnoredAny>,
}

impl ContainerStatusView {
    fn restarted(&self) -> bool {
        self.restart_count.unwrap_or(0) > 0
            || self
                .last_state
                .as_ref()
                .is_some_and(|s| s.terminated.is_some())
    }

    /// The container ran at some point, so the kubelet has a log for it. A container that
    /// only ever waited (image pull, ContainerCreating) has none and would answer 400.
    fn has_current_log(&self) -> bool {
        self.started == Some(true)
            || self
                .state
                .as_ref()
                .is_some_and(|s| s.running.is_some() || s.terminated.is_some())
            || self.restarted()
    }
}

/// The logs worth asking for, for the given pods, sorted: for each started container its
/// current log, plus its previous one when it restarted (restartCount > 0 or a
/// lastState.terminated). Pods whose status cannot be read are skipped.
pub(crate) fn log_keys(pods: &[Object]) -> Vec<LogKey> {
    let mut keys = Vec::new();
    for pod in pods {
        let Ok(view) = pod.typed::<PodView>() else {
            continue;
        };
        let (Some(namespace), Some(name)) = (view.metadata.namespace, view.metadata.name) else {
            continue;
        };
        let Some(status) = view.status else {
            continue;
        };
        let statuses = [
            status.init_container_statuses,
            status.container_statuses,
            status.ephemeral_container_statuses,
        ];
        for cs in statuses.into_iter().flatten().flatten() {
            if cs.name.is_empty() || !cs.has_current_log() {
                continue;
            }
            let key = |previous| LogKey {
                namespace: namespace.clone(),
                pod: name.clone(),
                container: cs.name.clone(),
                previous,
            };
            keys.push(key(false));
            if cs.restarted() {
                keys.push(key(true));
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// `/api/v1/namespaces/{ns}/pods/{pod}/log?container=…&tailLines=…&limitBytes=…[&previous=true]`.
pub(crate) fn log_path(key: &LogKey, lines: u64, bytes: u64) -> String {
    let mut path = format!(
        "/api/v1/namespaces/{}/pods/{}/log?container={}&tailLines={lines}&limitBytes={bytes}",
        encode(&key.namespace),
        encode(&key.pod),
        encode(&key.container),
    );
    if key.previous {
        path.push_str("&previous=true");
    }
    path
}

/// Fetches the logs of `pods`. A log that cannot be had (the container never started, the
/// previous instance was garbage-collected, the node is gone) is an error entry of the
/// `logs` collector; the other logs are unaffected.
pub(crate) async fn fetch_logs(
    client: &Client,
    pods: &[Object],
    opts: &CaptureOptions,
    redactor: &Redactor,
    progress: &dyn Progress,
) -> (BTreeMap<LogKey, String>, Collector) {
    let keys = log_keys(pods);
    progress.phase("logs");
    progress.add_work(keys.len() as u64);
    let mut results: Vec<(LogKey, Result<String, CollectorError>)> = futures::stream::iter(keys)
        .map(|key| async move {
            let path = log_path(&key, opts.log_lines, opts.log_bytes);
            let result = get_lossy_text(client, &path, opts.request_timeout)
                .await
                .map(|text| redactor.redact_text(&text).into_owned())
                .map_err(|e| e.to_collector_error(&path));
            progress.done(1);
            (key, result)
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
    results.sort_by(|a, b| a.0.cmp(&b.0));

    let mut logs = BTreeMap::new();
    let mut collector = Collector {
        name: "logs".to_string(),
        items: 0,
        errors: Vec::new(),
    };
    for (key, result) in results {
        match result {
            Ok(text) => {
                logs.insert(key, text);
            }
            Err(e) => collector.errors.push(e),
        }
    }
    collector.items = logs.len() as u64;
    (logs, collector)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: serde_json::Value) -> Object {
        Object::from_value(&json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "auth-1", "namespace": "shop"},
            "status": status
        }))
        .unwrap()
    }

    fn describe(keys: &[LogKey]) -> Vec<String> {
        keys.iter().map(LogKey::bundle_path).collect()
    }

    #[test]
    fn running_restarted_and_never_started_containers() {
        let p = pod(json!({
            "initContainerStatuses": [
                {"name": "migrate", "restartCount": 0, "state": {"terminated": {"exitCode": 0}}}
            ],
            "containerStatuses": [
                {"name": "app", "restartCount": 0, "state": {"running": {}}},
                {"name": "crashy", "restartCount": 7,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                 "lastState": {"terminated": {"exitCode": 1}}},
                {"name": "oomed", "restartCount": 0, "state": {"running": {}},
                 "lastState": {"terminated": {"reason": "OOMKilled"}}},
                {"name": "pulling", "restartCount": 0,
                 "state": {"waiting": {"reason": "ImagePullBackOff"}}, "lastState": {}}
            ]
        }));
        assert_eq!(
            describe(&log_keys(&[p])),
            vec![
                "logs/shop/auth-1/app.log",
                "logs/shop/auth-1/crashy.log",
                "logs/shop/auth-1/crashy.previous.log",
                "logs/shop/auth-1/migrate.log",
                "logs/shop/auth-1/oomed.log",
                "logs/shop/auth-1/oomed.previous.log",
            ]
        );
    }

    #[test]
    fn pods_without_status_or_names_get_no_logs() {
        assert!(log_keys(&[pod(json!(null))]).is_empty());
        assert!(log_keys(&[pod(json!({"phase": "Pending"}))]).is_empty());
        let nameless = Object::from_value(&json!({
            "kind": "Pod", "metadata": {},
            "status": {"containerStatuses": [{"name": "app", "state": {"running": {}}}]}
        }))
        .unwrap();
        assert!(log_keys(&[nameless]).is_empty());
        // Malformed status fields do not stop the others.
        let odd = pod(json!({"containerStatuses": "nope"}));
        let good = pod(json!({"containerStatuses": [{"name": "app", "started": true}]}));
        assert_eq!(
            describe(&log_keys(&[odd, good])),
            vec!["logs/shop/auth-1/app.log"]
        );
    }

    #[test]
    fn log_urls_carry_caps_and_previous() {
        let mut key = LogKey {
            namespace: "shop".into(),
            pod: "auth-1".into(),
            container: "app".into(),
            previous: false,
        };
        assert_eq!(
            log_path(&key, 1000, 1_048_576),
            "/api/v1/namespaces/shop/pods/auth-1/log?container=app&tailLines=1000&limitBytes=1048576"
        );
        key.previous = true;
        assert_eq!(
            log_path(&key, 10, 20),
            "/api/v1/namespaces/shop/pods/auth-1/log?container=app&tailLines=10&limitBytes=20&previous=true"
        );
    }
}
