//! The cluster being generated: objects as JSON values plus the signals logs and metrics
//! are rendered from. The baseline generator fills it; faults then edit it through the
//! helpers here (find a workload's pods, crash a container, add an event), so that every
//! fault changes objects, events, logs and metrics consistently.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::rng::Rng;
use super::signals::{ContainerSignals, Signals};

pub struct World {
    pub rng: Rng,
    pub capture: jiff::Timestamp,
    objects: Vec<Value>,
    by_name: HashMap<(String, String, String), usize>,
    pub signals: Signals,
    signal_index: HashMap<(String, String, String), usize>,
    event_seq: u64,
    /// Objects already in their final, compact form (see [`World::freeze_since`]).
    frozen: Vec<intel_model::Object>,
}

/// Kind, namespace, name of an object in the world.
pub type Key = (String, String, String);

pub fn key(kind: &str, ns: &str, name: &str) -> Key {
    (kind.to_string(), ns.to_string(), name.to_string())
}

impl World {
    pub fn new(seed: u64, capture: jiff::Timestamp) -> Self {
        World {
            rng: Rng::new(seed),
            capture,
            objects: Vec::new(),
            by_name: HashMap::new(),
            signals: Signals::default(),
            signal_index: HashMap::new(),
            event_seq: 0,
            frozen: Vec::new(),
        }
    }

    /// RFC 3339 (UTC, seconds) for a time `minutes` before capture.
    pub fn at(&self, minutes_ago: f64) -> String {
        let secs = (minutes_ago * 60.0).round() as i64;
        let t = self
            .capture
            .checked_sub(jiff::SignedDuration::from_secs(secs))
            .unwrap_or(self.capture);
        t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    /// Adds an object; a second object with the same kind/namespace/name replaces the first.
    pub fn add(&mut self, v: Value) -> usize {
        let k = key(
            v["kind"].as_str().unwrap_or_default(),
            v["metadata"]["namespace"].as_str().unwrap_or_default(),
            v["metadata"]["name"].as_str().unwrap_or_default(),
        );
        if let Some(&i) = self.by_name.get(&k) {
            self.objects[i] = v;
            return i;
        }
        self.objects.push(v);
        let i = self.objects.len() - 1;
        self.by_name.insert(k, i);
        i
    }

    pub fn get(&self, kind: &str, ns: &str, name: &str) -> Option<&Value> {
        self.by_name
            .get(&key(kind, ns, name))
            .map(|&i| &self.objects[i])
    }

    pub fn get_mut(&mut self, kind: &str, ns: &str, name: &str) -> Option<&mut Value> {
        let i = *self.by_name.get(&key(kind, ns, name))?;
        self.objects.get_mut(i)
    }

    /// Removes an object (e.g. a pod replaced by a rollout).
    pub fn remove(&mut self, kind: &str, ns: &str, name: &str) -> Option<Value> {
        let i = self.by_name.remove(&key(kind, ns, name))?;
        let v = std::mem::replace(&mut self.objects[i], Value::Null);
        Some(v)
    }

    pub fn objects(&self) -> impl Iterator<Item = &Value> {
        self.objects.iter().filter(|v| !v.is_null())
    }

    /// Position to pass to [`World::freeze_since`].
    pub fn mark(&self) -> usize {
        self.objects.len()
    }

    /// Turns the objects of namespace `ns` added since `mark` into their compact final form.
    /// A JSON tree costs ~20x its text; at 150,000 pods only namespaces that faults may
    /// still edit can stay editable. Frozen objects can no longer be found by `get`.
    pub fn freeze_since(&mut self, mark: usize, ns: &str) {
        for i in mark..self.objects.len() {
            if self.objects[i]["metadata"]["namespace"] != ns {
                continue;
            }
            let v = std::mem::replace(&mut self.objects[i], Value::Null);
            let k = key(
                v["kind"].as_str().unwrap_or_default(),
                ns,
                v["metadata"]["name"].as_str().unwrap_or_default(),
            );
            self.by_name.remove(&k);
            if let Ok(o) = intel_model::Object::from_value(&v) {
                self.frozen.push(o);
            }
        }
    }

    /// A copy of everything still editable (frozen objects left out), to try a scenario's
    /// faults on and see what they touch before the real run.
    pub fn fork_editable(&self) -> World {
        World {
            rng: self.rng.clone(),
            capture: self.capture,
            objects: self.objects.clone(),
            by_name: self.by_name.clone(),
            signals: self.signals.clone(),
            signal_index: self.signal_index.clone(),
            event_seq: self.event_seq,
            frozen: Vec::new(),
        }
    }

    /// Editable objects, frozen objects and the signals, for rendering.
    pub fn into_parts(self) -> (Vec<Value>, Vec<intel_model::Object>, Signals) {
        (
            self.objects.into_iter().filter(|v| !v.is_null()).collect(),
            self.frozen,
            self.signals,
        )
    }

    /// Names of objects of a kind in a namespace (all namespaces with `None`), sorted.
    pub fn names(&self, kind: &str, ns: Option<&str>) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .by_name
            .keys()
            .filter(|(k, n, _)| k == kind && ns.is_none_or(|ns| ns == n))
            .map(|(_, n, name)| (n.clone(), name.clone()))
            .collect();
        out.sort();
        out
    }

    /// Pods carrying label `app=<app>` in a namespace, sorted by name.
    pub fn pods_of(&self, ns: &str, app: &str) -> Vec<String> {
        self.names("Pod", Some(ns))
            .into_iter()
            .filter(|(_, name)| {
                self.get("Pod", ns, name)
                    .is_some_and(|p| p["metadata"]["labels"]["app"] == app)
            })
            .map(|(_, n)| n)
            .collect()
    }

    /// ReplicaSets a Deployment owns, sorted by name.
    pub fn owned_rs(&self, ns: &str, deployment: &str) -> Vec<String> {
        self.names("ReplicaSet", Some(ns))
            .into_iter()
            .map(|(_, n)| n)
            .filter(|n| {
                self.get("ReplicaSet", ns, n).is_some_and(|r| {
                    r["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
                        && r["metadata"]["ownerReferences"][0]["name"] == deployment
                })
            })
            .collect()
    }

    pub fn add_signals(&mut self, s: ContainerSignals) {
        let k = key(&s.namespace, &s.pod, &s.container);
        self.signals.containers.push(s);
        self.signal_index
            .insert(k, self.signals.containers.len() - 1);
    }

    /// Renames a pod's container signals, keeping the lookup current without a rebuild.
    pub fn rename_signals(&mut self, ns: &str, old: &str, new: &str) {
        for (i, s) in self.signals.containers.iter_mut().enumerate() {
            if s.namespace == ns && s.pod == old {
                self.signal_index.remove(&key(ns, old, &s.container));
                s.pod = new.to_string();
                self.signal_index.insert(key(ns, new, &s.container), i);
            }
        }
    }

    /// Rebuilds the signal lookup after pods were renamed (a rollout).
    pub fn reindex_signals(&mut self) {
        self.signal_index = self
            .signals
            .containers
            .iter()
            .enumerate()
            .map(|(i, s)| (key(&s.namespace, &s.pod, &s.container), i))
            .collect();
    }

    pub fn signals_mut(
        &mut self,
        ns: &str,
        pod: &str,
        container: &str,
    ) -> Option<&mut ContainerSignals> {
        let i = *self.signal_index.get(&key(ns, pod, container))?;
        self.signals.containers.get_mut(i)
    }

    /// Signals of every container of every pod of an app.
    pub fn app_signals_mut(&mut self, ns: &str, app: &str) -> Vec<&mut ContainerSignals> {
        let pods = self.pods_of(ns, app);
        self.signals
            .containers
            .iter_mut()
            .filter(|s| s.namespace == ns && pods.contains(&s.pod))
            .collect()
    }

    /// Records an event about an object, as the component that reports it would.
    #[allow(clippy::too_many_arguments)]
    pub fn event(
        &mut self,
        (kind, ns, name): (&str, &str, &str),
        etype: &str,
        reason: &str,
        message: &str,
        component: &str,
        first_ago: f64,
        last_ago: f64,
        count: u64,
    ) {
        self.event_seq += 1;
        let uid = self
            .get(kind, ns, name)
            .and_then(|o| o["metadata"]["uid"].as_str())
            .unwrap_or_default()
            .to_string();
        let api = self
            .get(kind, ns, name)
            .and_then(|o| o["apiVersion"].as_str())
            .unwrap_or("v1")
            .to_string();
        let event_ns = if ns.is_empty() { "default" } else { ns };
        let ename = format!(
            "{name}.{:016x}",
            self.rng
                .fork(&format!("ev{}{reason}{name}", self.event_seq))
                .next_u64()
        );
        let ev = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": ename, "namespace": event_ns, "uid": self.rng.uid(),
                "creationTimestamp": self.at(first_ago), "resourceVersion": "1"},
            "involvedObject": {"kind": kind, "namespace": ns, "name": name, "uid": uid, "apiVersion": api},
            "reason": reason, "message": message, "type": etype, "count": count.max(1),
            "firstTimestamp": self.at(first_ago), "lastTimestamp": self.at(last_ago),
            "source": {"component": component}, "reportingComponent": component, "reportingInstance": ""
        });
        self.add(ev);
    }

    /// Sets a pod condition (replacing one of the same type).
    #[allow(clippy::too_many_arguments)]
    pub fn pod_condition(
        &mut self,
        ns: &str,
        pod: &str,
        ctype: &str,
        status: &str,
        reason: Option<&str>,
        message: Option<&str>,
        since_ago: f64,
    ) {
        let at = self.at(since_ago);
        let Some(p) = self.get_mut("Pod", ns, pod) else {
            return;
        };
        let mut cond = json!({"type": ctype, "status": status, "lastTransitionTime": at, "lastProbeTime": null});
        if let Some(r) = reason {
            cond["reason"] = json!(r);
        }
        if let Some(m) = message {
            cond["message"] = json!(m);
        }
        let conds = p["status"]["conditions"].as_array_mut();
        match conds {
            Some(c) => {
                c.retain(|x| x["type"] != ctype);
                c.push(cond);
            }
            None => p["status"]["conditions"] = json!([cond]),
        }
    }

    /// Puts a container into CrashLoopBackOff after a terminated instance, with its previous
    /// log's last words, restart count and the kubelet's events.
    #[allow(clippy::too_many_arguments)]
    pub fn crash_loop(
        &mut self,
        ns: &str,
        pod: &str,
        container: &str,
        reason: &str,
        exit_code: i64,
        restarts: u64,
        onset_ago: f64,
        last_lines: Vec<String>,
    ) {
        let image = self
            .get("Pod", ns, pod)
            .and_then(|p| p["spec"]["containers"].as_array())
            .and_then(|cs| cs.iter().find(|c| c["name"] == container))
            .and_then(|c| c["image"].as_str())
            .unwrap_or_default()
            .to_string();
        let (started, finished) = (self.at(4.0), self.at(2.5));
        if let Some(p) = self.get_mut("Pod", ns, pod) {
            if let Some(cs) = p["status"]["containerStatuses"].as_array_mut() {
                for c in cs.iter_mut().filter(|c| c["name"] == container) {
                    c["ready"] = json!(false);
                    c["started"] = json!(false);
                    c["restartCount"] = json!(restarts);
                    c["state"] = json!({"waiting": {"reason": "CrashLoopBackOff",
                        "message": format!("back-off 5m0s restarting failed container={container} pod={pod}_{ns}")}});
                    c["lastState"] = json!({"terminated": {"reason": reason, "exitCode": exit_code,
                        "startedAt": started, "finishedAt": finished, "containerID": ""}});
                }
            }
        }
        self.pod_condition(
            ns,
            pod,
            "Ready",
            "False",
            Some("ContainersNotReady"),
            Some(&format!("containers with unready status: [{container}]")),
            2.5,
        );
        self.pod_condition(
            ns,
            pod,
            "ContainersReady",
            "False",
            Some("ContainersNotReady"),
            Some(&format!("containers with unready status: [{container}]")),
            2.5,
        );
        let uid_suffix = self
            .get("Pod", ns, pod)
            .and_then(|p| p["metadata"]["uid"].as_str())
            .unwrap_or_default()
            .to_string();
        self.event(
            ("Pod", ns, pod),
            "Warning",
            "BackOff",
            &format!(
                "Back-off restarting failed container {container} in pod {pod}_{ns}({uid_suffix})"
            ),
            "kubelet",
            onset_ago - 2.0,
            1.0,
            restarts * 4,
        );
        self.event(
            ("Pod", ns, pod),
            "Normal",
            "Pulled",
            &format!("Container image \"{image}\" already present on machine"),
            "kubelet",
            onset_ago - 1.0,
            4.0,
            restarts,
        );
        self.event(
            ("Pod", ns, pod),
            "Normal",
            "Started",
            &format!("Started container {container}"),
            "kubelet",
            onset_ago - 1.0,
            4.0,
            restarts,
        );
        if let Some(s) = self.signals_mut(ns, pod, container) {
            s.running = false;
            s.previous = Some(super::signals::Previous {
                started_minutes_ago: 4.0,
                ended_minutes_ago: 2.5,
                last_lines,
            });
        }
    }

    /// Makes a pod Pending and unscheduled, with the scheduler's message and event.
    pub fn unschedulable(&mut self, ns: &str, pod: &str, message: &str, since_ago: f64) {
        let at = self.at(since_ago);
        if let Some(p) = self.get_mut("Pod", ns, pod) {
            if let Some(spec) = p["spec"].as_object_mut() {
                spec.remove("nodeName");
            }
            p["status"] = json!({"phase": "Pending", "qosClass": p["status"]["qosClass"].clone(),
                "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                    "message": message, "lastTransitionTime": at, "lastProbeTime": null}]});
        }
        self.event(
            ("Pod", ns, pod),
            "Warning",
            "FailedScheduling",
            message,
            "default-scheduler",
            since_ago,
            0.5,
            (since_ago / 2.0).max(1.0) as u64,
        );
        for s in self
            .signals
            .containers
            .iter_mut()
            .filter(|s| s.namespace == ns && s.pod == pod)
        {
            s.running = false;
            s.previous = None;
        }
        self.signals
            .pod_nodes
            .retain(|((n, p), _)| !(n == ns && p == pod));
    }

    /// Marks a container not ready because a probe fails, with the kubelet's events.
    pub fn probe_failing(
        &mut self,
        ns: &str,
        pod: &str,
        container: &str,
        probe: &str,
        message: &str,
        since_ago: f64,
    ) {
        if let Some(p) = self.get_mut("Pod", ns, pod) {
            if let Some(cs) = p["status"]["containerStatuses"].as_array_mut() {
                for c in cs.iter_mut().filter(|c| c["name"] == container) {
                    c["ready"] = json!(false);
                }
            }
        }
        self.pod_condition(
            ns,
            pod,
            "Ready",
            "False",
            Some("ContainersNotReady"),
            Some(&format!("containers with unready status: [{container}]")),
            since_ago,
        );
        self.pod_condition(
            ns,
            pod,
            "ContainersReady",
            "False",
            Some("ContainersNotReady"),
            Some(&format!("containers with unready status: [{container}]")),
            since_ago,
        );
        self.event(
            ("Pod", ns, pod),
            "Warning",
            "Unhealthy",
            &format!("{probe} probe failed: {message}"),
            "kubelet",
            since_ago,
            0.3,
            (since_ago * 6.0).max(1.0) as u64,
        );
    }
}
