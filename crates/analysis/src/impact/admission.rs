//! What the API server does to a pod before the scheduler sees it: LimitRange defaults and
//! bounds (`LimitRanger`) and ResourceQuota (`ResourceQuota` admission), in their own
//! words, so that a rollout stuck on a quota says what the ReplicaSet's `FailedCreate`
//! event would.

use std::collections::BTreeMap;

use serde_json::Value;

use intel_model::Snapshot;
use intel_model::quantity::{milli_value, value};

/// A ResourceQuota with what it has used, in milli-units per resource name.
#[derive(Debug, Clone)]
pub struct Quota {
    pub namespace: String,
    pub name: String,
    pub hard: BTreeMap<String, i64>,
    pub used: BTreeMap<String, i64>,
    /// Resource names whose hard limit was written with a binary suffix (`Gi`), so
    /// messages print quantities the way `Quantity.String()` would.
    binary: BTreeMap<String, bool>,
    /// Quota scopes (`BestEffort`, `PriorityClass`, …) are not modelled: such a quota is
    /// left out and the limitation is said.
    pub scoped: bool,
}

/// What a pod charges a quota: `PodUsageFunc`'s resources, in milli-units.
pub fn pod_usage(spec: &Value) -> BTreeMap<String, i64> {
    let mut requests: BTreeMap<String, i64> = BTreeMap::new();
    let mut limits: BTreeMap<String, i64> = BTreeMap::new();
    let sum = |list: Option<&Value>, into: &mut BTreeMap<String, i64>, max: bool| {
        for (k, v) in list.and_then(Value::as_object).into_iter().flatten() {
            let q = v.as_str().and_then(milli_value).unwrap_or(0);
            let e = into.entry(k.clone()).or_insert(0);
            if max {
                *e = (*e).max(q);
            } else {
                *e = e.saturating_add(q);
            }
        }
    };
    let containers = spec.get("containers").and_then(Value::as_array);
    let mut req_c = BTreeMap::new();
    let mut lim_c = BTreeMap::new();
    for c in containers.into_iter().flatten() {
        sum(c.pointer("/resources/requests"), &mut req_c, false);
        sum(c.pointer("/resources/limits"), &mut lim_c, false);
    }
    let mut req_i = BTreeMap::new();
    let mut lim_i = BTreeMap::new();
    for c in spec
        .get("initContainers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        sum(c.pointer("/resources/requests"), &mut req_i, true);
        sum(c.pointer("/resources/limits"), &mut lim_i, true);
    }
    for (k, v) in req_c.into_iter().chain(req_i) {
        let e = requests.entry(k).or_insert(0);
        *e = (*e).max(v);
    }
    for (k, v) in lim_c.into_iter().chain(lim_i) {
        let e = limits.entry(k).or_insert(0);
        *e = (*e).max(v);
    }
    let mut out = BTreeMap::new();
    out.insert("pods".to_string(), 1000);
    out.insert("count/pods".to_string(), 1000);
    for (k, v) in &requests {
        out.insert(format!("requests.{k}"), *v);
        if matches!(k.as_str(), "cpu" | "memory" | "ephemeral-storage") {
            out.insert(k.clone(), *v);
        }
    }
    for (k, v) in &limits {
        out.insert(format!("limits.{k}"), *v);
    }
    out
}

/// `Quantity.String()` for a sum of milli-units: whole units without a suffix, binary
/// suffixes where the quota wrote one and they divide exactly, else milli-units.
pub fn quantity_text(milli: i64, binary: bool) -> String {
    if milli % 1000 != 0 {
        return format!("{milli}m");
    }
    let units = milli / 1000;
    if binary && units != 0 {
        for (suffix, size) in [
            ("Ei", 1i64 << 60),
            ("Pi", 1 << 50),
            ("Ti", 1 << 40),
            ("Gi", 1 << 30),
            ("Mi", 1 << 20),
            ("Ki", 1 << 10),
        ] {
            if units % size == 0 {
                return format!("{}{suffix}", units / size);
            }
        }
    }
    units.to_string()
}

fn list_milli(list: Option<&Value>) -> (BTreeMap<String, i64>, BTreeMap<String, bool>) {
    let mut out = BTreeMap::new();
    let mut binary = BTreeMap::new();
    for (k, v) in list.and_then(Value::as_object).into_iter().flatten() {
        if let Some(s) = v.as_str() {
            if let Some(m) = milli_value(s) {
                out.insert(k.clone(), m);
                binary.insert(k.clone(), s.ends_with('i'));
            }
        }
    }
    (out, binary)
}

impl Quota {
    pub fn from_value(q: &Value) -> Quota {
        let (hard, binary) = list_milli(q.pointer("/spec/hard"));
        let (used, _) = list_milli(q.pointer("/status/used"));
        let scoped = q
            .pointer("/spec/scopes")
            .and_then(Value::as_array)
            .is_some_and(|s| !s.is_empty())
            || q.pointer("/spec/scopeSelector").is_some();
        Quota {
            namespace: q
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            name: q
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            hard,
            used,
            binary,
            scoped,
        }
    }

    /// Admits a pod's usage or says why not, as `checkRequest` does: `must specify` when
    /// the quota tracks a compute resource the pod does not state, else `exceeded quota`.
    pub fn admit(
        &self,
        pod: &str,
        spec: &Value,
        usage: &BTreeMap<String, i64>,
    ) -> Result<(), String> {
        // `podEvaluator.Constraints`: quota on cpu or memory makes every container (init
        // containers too) state it — `must specify <resource> for: <containers>; …`.
        let mut missing: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for list in ["containers", "initContainers"] {
            for c in spec
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
                for k in self.hard.keys() {
                    let (side, res) = match k.as_str() {
                        "requests.cpu" | "cpu" => ("requests", "cpu"),
                        "requests.memory" | "memory" => ("requests", "memory"),
                        "limits.cpu" => ("limits", "cpu"),
                        "limits.memory" => ("limits", "memory"),
                        _ => continue,
                    };
                    if c.pointer(&format!("/resources/{side}/{res}")).is_none() {
                        missing
                            .entry(k.as_str())
                            .or_default()
                            .push(name.to_string());
                    }
                }
            }
        }
        if !missing.is_empty() {
            let parts: Vec<String> = missing
                .iter_mut()
                .map(|(k, names)| {
                    names.sort();
                    names.dedup();
                    format!("{k} for: {}", names.join(","))
                })
                .collect();
            return Err(format!(
                "pods \"{pod}\" is forbidden: failed quota: {}: must specify {}",
                self.name,
                parts.join("; ")
            ));
        }
        let exceeded: Vec<&String> = self
            .hard
            .iter()
            .filter(|(k, hard)| {
                let asked = usage.get(*k).copied().unwrap_or(0);
                asked > 0
                    && self
                        .used
                        .get(*k)
                        .copied()
                        .unwrap_or(0)
                        .saturating_add(asked)
                        > **hard
            })
            .map(|(k, _)| k)
            .collect();
        if exceeded.is_empty() {
            return Ok(());
        }
        let pretty = |m: &dyn Fn(&str) -> i64| {
            exceeded
                .iter()
                .map(|k| {
                    format!(
                        "{k}={}",
                        quantity_text(m(k), self.binary.get(*k).copied().unwrap_or(false))
                    )
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        Err(format!(
            "pods \"{pod}\" is forbidden: exceeded quota: {}, requested: {}, used: {}, limited: {}",
            self.name,
            pretty(&|k| usage.get(k).copied().unwrap_or(0)),
            pretty(&|k| self.used.get(k).copied().unwrap_or(0)),
            pretty(&|k| self.hard.get(k).copied().unwrap_or(0)),
        ))
    }

    pub fn charge(&mut self, usage: &BTreeMap<String, i64>, sign: i64) {
        for k in self.hard.keys() {
            if let Some(v) = usage.get(k) {
                let e = self.used.entry(k.clone()).or_insert(0);
                *e = e.saturating_add(sign.saturating_mul(*v));
            }
        }
    }
}

/// A LimitRange's `Container` item: defaults and bounds.
#[derive(Debug, Clone, Default)]
pub struct ContainerLimits {
    pub name: String,
    pub default_limits: BTreeMap<String, String>,
    pub default_requests: BTreeMap<String, String>,
    pub max: BTreeMap<String, String>,
    pub min: BTreeMap<String, String>,
}

fn strings(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}

/// The admission state of a cluster: quotas and LimitRanges per namespace.
#[derive(Debug, Clone, Default)]
pub struct Admission {
    pub quotas: Vec<Quota>,
    pub limits: BTreeMap<String, Vec<ContainerLimits>>,
}

impl Admission {
    pub fn from_snapshot(snap: &Snapshot) -> Admission {
        let mut a = Admission::default();
        for q in snap.items("", "resourcequotas") {
            a.quotas.push(Quota::from_value(&q.value()));
        }
        for lr in snap.items("", "limitranges") {
            a.add_limit_range(&lr.value());
        }
        a
    }

    pub fn add_limit_range(&mut self, lr: &Value) {
        let ns = lr
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let name = lr
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        for item in lr
            .pointer("/spec/limits")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if item.get("type").and_then(Value::as_str) != Some("Container") {
                continue;
            }
            // SetDefaults_LimitRangeItem: max is the default limit, the default limit the
            // default request, and min the default request where none is left.
            let max = strings(item.get("max"));
            let min = strings(item.get("min"));
            let mut default_limits = strings(item.get("default"));
            for (k, v) in &max {
                default_limits.entry(k.clone()).or_insert_with(|| v.clone());
            }
            let mut default_requests = strings(item.get("defaultRequest"));
            for (k, v) in &default_limits {
                default_requests
                    .entry(k.clone())
                    .or_insert_with(|| v.clone());
            }
            for (k, v) in &min {
                default_requests
                    .entry(k.clone())
                    .or_insert_with(|| v.clone());
            }
            self.limits
                .entry(ns.clone())
                .or_default()
                .push(ContainerLimits {
                    name: name.clone(),
                    default_limits,
                    default_requests,
                    max,
                    min,
                });
        }
    }

    /// Replaces (or adds) a quota the change applies.
    pub fn set_quota(&mut self, q: Quota) {
        self.quotas
            .retain(|x| !(x.namespace == q.namespace && x.name == q.name));
        self.quotas.push(q);
    }

    /// LimitRanger: fills defaults into a pod spec's containers, then checks the bounds.
    pub fn limit(&self, namespace: &str, pod: &str, spec: &mut Value) -> Result<(), String> {
        let Some(ranges) = self.limits.get(namespace) else {
            return Ok(());
        };
        let Some(containers) = spec.get_mut("containers").and_then(Value::as_array_mut) else {
            return Ok(());
        };
        for c in containers.iter_mut() {
            for r in ranges {
                for (side, defaults) in [
                    ("limits", &r.default_limits),
                    ("requests", &r.default_requests),
                ] {
                    for (k, v) in defaults {
                        let res = c.as_object_mut().map(|o| {
                            o.entry("resources")
                                .or_insert_with(|| serde_json::json!({}))
                        });
                        if let Some(res) = res.and_then(Value::as_object_mut) {
                            let list = res.entry(side).or_insert_with(|| serde_json::json!({}));
                            if let Some(list) = list.as_object_mut() {
                                list.entry(k.clone())
                                    .or_insert_with(|| Value::String(v.clone()));
                            }
                        }
                    }
                }
                // A request defaults to the limit when only the limit is set.
                if let Some(res) = c.get_mut("resources").and_then(Value::as_object_mut) {
                    let limits = res.get("limits").cloned();
                    if let Some(limits) = limits.as_ref().and_then(Value::as_object) {
                        let req = res
                            .entry("requests")
                            .or_insert_with(|| serde_json::json!({}));
                        if let Some(req) = req.as_object_mut() {
                            for (k, v) in limits {
                                req.entry(k.clone()).or_insert_with(|| v.clone());
                            }
                        }
                    }
                }
                for (k, max) in &r.max {
                    let limit = c
                        .pointer(&format!("/resources/limits/{k}"))
                        .and_then(Value::as_str);
                    match limit {
                        None => {
                            return Err(format!(
                                "pods \"{pod}\" is forbidden: maximum {k} usage per Container is {max}.  No limit is specified"
                            ));
                        }
                        Some(l)
                            if value(l).zip(value(max)).is_some_and(|(l, m)| l > m)
                                || milli_value(l)
                                    .zip(milli_value(max))
                                    .is_some_and(|(l, m)| l > m) =>
                        {
                            return Err(format!(
                                "pods \"{pod}\" is forbidden: maximum {k} usage per Container is {max}, but limit is {l}"
                            ));
                        }
                        _ => {}
                    }
                }
                for (k, min) in &r.min {
                    let request = c
                        .pointer(&format!("/resources/requests/{k}"))
                        .and_then(Value::as_str);
                    if let Some(q) = request {
                        if milli_value(q)
                            .zip(milli_value(min))
                            .is_some_and(|(q, m)| q < m)
                        {
                            return Err(format!(
                                "pods \"{pod}\" is forbidden: minimum {k} usage per Container is {min}, but request is {q}"
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// ResourceQuota admission for a new pod; charges the quotas when admitted.
    pub fn admit(&mut self, namespace: &str, pod: &str, spec: &Value) -> Result<(), String> {
        let usage = pod_usage(spec);
        for q in self
            .quotas
            .iter()
            .filter(|q| q.namespace == namespace && !q.scoped)
        {
            q.admit(pod, spec, &usage)?;
        }
        for q in self
            .quotas
            .iter_mut()
            .filter(|q| q.namespace == namespace && !q.scoped)
        {
            q.charge(&usage, 1);
        }
        Ok(())
    }

    /// A pod deleted: its usage is released.
    pub fn release(&mut self, namespace: &str, spec: &Value) {
        let usage = pod_usage(spec);
        for q in self
            .quotas
            .iter_mut()
            .filter(|q| q.namespace == namespace && !q.scoped)
        {
            q.charge(&usage, -1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quota_rejects_in_the_admission_plugins_words() {
        let q = Quota::from_value(&json!({
            "metadata": {"namespace": "shop", "name": "compute"},
            "spec": {"hard": {"requests.memory": "8Gi", "pods": "20"}},
            "status": {"used": {"requests.memory": "7Gi", "pods": "7"}}
        }));
        let spec =
            json!({"containers": [{"name": "a", "resources": {"requests": {"memory": "2Gi"}}}]});
        let e = q.admit("web-1", &spec, &pod_usage(&spec)).unwrap_err();
        assert_eq!(
            e,
            "pods \"web-1\" is forbidden: exceeded quota: compute, requested: requests.memory=2Gi, used: requests.memory=7Gi, limited: requests.memory=8Gi"
        );
        // Near miss: 1Gi fits exactly.
        let spec =
            json!({"containers": [{"name": "a", "resources": {"requests": {"memory": "1Gi"}}}]});
        assert!(q.admit("web-1", &spec, &pod_usage(&spec)).is_ok());
        // A tracked resource a container does not state, named with the container.
        let spec = json!({"containers": [{"name": "b", "resources": {"requests": {"memory": "1Gi"}}}, {"name": "a"}]});
        let e = q.admit("web-1", &spec, &pod_usage(&spec)).unwrap_err();
        assert!(
            e.ends_with("failed quota: compute: must specify requests.memory for: a"),
            "{e}"
        );
    }

    #[test]
    fn limit_ranges_default_and_bound() {
        let mut a = Admission::default();
        a.add_limit_range(&json!({
            "metadata": {"namespace": "shop", "name": "limits"},
            "spec": {"limits": [{"type": "Container", "default": {"memory": "512Mi"}, "max": {"memory": "1Gi"}}]}
        }));
        let mut spec = json!({"containers": [{"name": "a"}]});
        a.limit("shop", "p", &mut spec).unwrap();
        assert_eq!(
            spec.pointer("/containers/0/resources/requests/memory"),
            Some(&json!("512Mi"))
        );
        let mut spec =
            json!({"containers": [{"name": "a", "resources": {"limits": {"memory": "2Gi"}}}]});
        let e = a.limit("shop", "p", &mut spec).unwrap_err();
        assert!(
            e.ends_with("maximum memory usage per Container is 1Gi, but limit is 2Gi"),
            "{e}"
        );
        assert_eq!(quantity_text(1536 * 1024 * 1024 * 1000, true), "1536Mi");
        // SetDefaults_LimitRangeItem: a max alone is the default limit and request.
        let mut a = Admission::default();
        a.add_limit_range(&json!({
            "metadata": {"namespace": "shop", "name": "bounds"},
            "spec": {"limits": [{"type": "Container", "max": {"memory": "1Gi"}}]}
        }));
        let mut spec = json!({"containers": [{"name": "a"}]});
        a.limit("shop", "p", &mut spec).unwrap();
        assert_eq!(
            spec.pointer("/containers/0/resources/limits/memory"),
            Some(&json!("1Gi"))
        );
        assert_eq!(
            spec.pointer("/containers/0/resources/requests/memory"),
            Some(&json!("1Gi"))
        );
        assert_eq!(quantity_text(1500, false), "1500m");
    }
}
