//! How much data a stateful workload could lose, from the backups the snapshot shows:
//! Velero Schedules and Backups covering its namespace, VolumeSnapshots of its claims,
//! and CronJobs in its namespace that run a backup tool. The loss if it failed now is the
//! time since the last successful backup; going forward, the interval of the most
//! frequent schedule. No backup found: no bound.

use serde::Serialize;
use serde_json::Value;

use intel_model::Snapshot;
use intel_scheduler::Cluster;

use super::index::Owned;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rpo {
    pub subject: String,
    /// What protects it: `Schedule velero/daily (0 2 * * *)`, `VolumeSnapshot ns/x`, …
    pub sources: Vec<String>,
    /// Seconds since the last successful backup, as of the capture.
    pub since_last_backup_seconds: Option<i64>,
    /// The most frequent schedule's interval.
    pub schedule_interval_seconds: Option<i64>,
    /// The data it could lose now: the time since the last backup, else the schedule's
    /// interval; `None` when nothing protects it.
    pub rpo_seconds: Option<i64>,
    pub basis: String,
}

/// The interval between runs of a cron schedule (`@daily`, `0 */6 * * *`, `@every 1h`),
/// for the common shapes; `None` for one it cannot tell.
pub fn cron_interval(expr: &str) -> Option<i64> {
    let e = expr.trim();
    match e {
        "@hourly" => return Some(3600),
        "@daily" | "@midnight" => return Some(86_400),
        "@weekly" => return Some(7 * 86_400),
        "@monthly" => return Some(30 * 86_400),
        "@yearly" | "@annually" => return Some(365 * 86_400),
        _ => {}
    }
    if let Some(d) = e.strip_prefix("@every ") {
        return super::rto::go_duration(d)
            .map(|s| s as i64)
            .filter(|s| *s > 0);
    }
    let f: Vec<&str> = e.split_whitespace().collect();
    // A leading seconds field or a TZ= prefix are not Kubernetes CronJob syntax.
    let [m, h, dom, _mon, dow] = f.as_slice() else {
        return None;
    };
    let count = |field: &str| -> Option<i64> {
        if field == "*" {
            return None;
        }
        Some(field.split(',').count() as i64)
    };
    let step = |field: &str| {
        field
            .strip_prefix("*/")
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n > 0)
    };
    if *m == "*" {
        return Some(60);
    }
    if let Some(n) = step(m) {
        return Some(n * 60);
    }
    let per_hour = count(m)?;
    if *h == "*" {
        return Some(3600 / per_hour);
    }
    if let Some(n) = step(h) {
        return Some(n * 3600 / per_hour);
    }
    let per_day = count(h)? * per_hour;
    if *dow != "*" && *dow != "?" {
        return Some(7 * 86_400 / (count(dow)? * per_day));
    }
    if *dom != "*" && *dom != "?" {
        return Some(30 * 86_400 / (count(dom)? * per_day));
    }
    Some(86_400 / per_day)
}

/// An object's `spec.schedule`, its interval merged into the shortest seen.
fn schedule<'v>(v: &'v Value, interval: &mut Option<i64>) -> &'v str {
    let cron = v
        .pointer("/spec/schedule")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let Some(i) = cron_interval(cron) {
        *interval = Some(interval.map_or(i, |x| x.min(i)));
    }
    cron
}

fn ts(v: Option<&Value>) -> Option<jiff::Timestamp> {
    v?.as_str()?.parse().ok()
}

/// Whether a Velero spec (a Backup's, or a Schedule's template) takes `namespace`.
fn covers(spec: Option<&Value>, namespace: &str) -> bool {
    let list = |k: &str| -> Vec<String> {
        spec.and_then(|s| s.get(k))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let included = list("includedNamespaces");
    let excluded = list("excludedNamespaces");
    (included.is_empty() || included.iter().any(|n| n == "*" || n == namespace))
        && !excluded.iter().any(|n| n == namespace)
}

/// Tools whose presence in a CronJob's command, args or image makes it a backup.
const BACKUP_TOOLS: &[&str] = &[
    "pg_dump",
    "pg_dumpall",
    "pg_basebackup",
    "pgbackrest",
    "wal-g",
    "mysqldump",
    "mariadb-dump",
    "xtrabackup",
    "mongodump",
    "redis-cli --rdb",
    "etcdctl snapshot",
    "restic",
    "kopia",
    "velero backup",
];

pub fn estimate(snap: &Snapshot, cluster: &Cluster, w: &Owned) -> Rpo {
    let now: Option<jiff::Timestamp> = snap.manifest.captured_at.parse().ok();
    let mut sources = Vec::new();
    let mut last: Option<jiff::Timestamp> = None;
    let mut interval: Option<i64> = None;
    let newer = |t: Option<jiff::Timestamp>, last: &mut Option<jiff::Timestamp>| {
        if let Some(t) = t {
            if last.is_none_or(|l| t > l) {
                *last = Some(t);
            }
        }
    };
    for s in snap.items("velero.io", "schedules") {
        let v = s.value();
        if !covers(v.pointer("/spec/template"), &w.namespace) {
            continue;
        }
        if v.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let cron = schedule(&v, &mut interval);
        newer(ts(v.pointer("/status/lastBackup")), &mut last);
        sources.push(format!(
            "Velero Schedule {}/{} ({cron})",
            s.meta.namespace, s.meta.name
        ));
    }
    for b in snap.items("velero.io", "backups") {
        let v = b.value();
        if !covers(v.get("spec"), &w.namespace)
            || v.pointer("/status/phase").and_then(Value::as_str) != Some("Completed")
        {
            continue;
        }
        newer(ts(v.pointer("/status/completionTimestamp")), &mut last);
        if !sources.iter().any(|s| s.starts_with("Velero Backup")) {
            sources.push(format!(
                "Velero Backup {}/{}",
                b.meta.namespace, b.meta.name
            ));
        }
    }
    let claims: Vec<String> = w
        .pods
        .iter()
        .flat_map(|&p| cluster.pods[p].spec.volumes.iter().flatten())
        .filter_map(|v| {
            v.persistent_volume_claim
                .as_ref()
                .map(|c| c.claim_name.clone())
        })
        .collect();
    for vs in snap.items("snapshot.storage.k8s.io", "volumesnapshots") {
        if vs.meta.namespace != w.namespace {
            continue;
        }
        let v = vs.value();
        let claim = v
            .pointer("/spec/source/persistentVolumeClaimName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !claims.iter().any(|c| c == claim)
            || v.pointer("/status/readyToUse").and_then(Value::as_bool) != Some(true)
        {
            continue;
        }
        newer(ts(v.pointer("/status/creationTime")), &mut last);
        sources.push(format!(
            "VolumeSnapshot {}/{} of claim {claim}",
            vs.meta.namespace, vs.meta.name
        ));
    }
    for cj in snap.items("batch", "cronjobs") {
        if cj.meta.namespace != w.namespace {
            continue;
        }
        let v = cj.value();
        let containers = v
            .pointer("/spec/jobTemplate/spec/template/spec/containers")
            .map(|c| c.to_string())
            .unwrap_or_default();
        let Some(tool) = BACKUP_TOOLS.iter().find(|t| containers.contains(*t)) else {
            continue;
        };
        if v.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let cron = schedule(&v, &mut interval);
        newer(ts(v.pointer("/status/lastSuccessfulTime")), &mut last);
        sources.push(format!(
            "CronJob {}/{} ({cron}, runs {tool})",
            cj.meta.namespace, cj.meta.name
        ));
    }
    sources.sort();
    sources.dedup();
    let since = last
        .zip(now)
        .map(|(l, n)| n.duration_since(l).as_secs().max(0));
    let (rpo, basis) = match (since, interval) {
        (Some(s), Some(i)) if s > i => (
            Some(s),
            format!(
                "the last successful backup is {} old, more than the schedule's {}: a backup has been missed",
                human(s),
                human(i)
            ),
        ),
        (Some(s), Some(i)) => (
            Some(s),
            format!(
                "{} since the last successful backup, which runs every {}",
                human(s),
                human(i)
            ),
        ),
        (Some(s), None) => (
            Some(s),
            format!(
                "{} since the last successful backup; no schedule found",
                human(s)
            ),
        ),
        (None, Some(i)) => (
            Some(i),
            format!(
                "every {} by schedule; no completed backup seen in the snapshot",
                human(i)
            ),
        ),
        (None, None) if sources.is_empty() => (
            None,
            format!(
                "no backup found: no Velero Schedule or Backup covers namespace {}, no VolumeSnapshot of its claims, no backup CronJob in it — RPO unbounded",
                w.namespace
            ),
        ),
        (None, None) => (
            None,
            "backups exist but neither a schedule nor a completion time could be read".into(),
        ),
    };
    Rpo {
        subject: w.label(),
        sources,
        since_last_backup_seconds: since,
        schedule_interval_seconds: interval,
        rpo_seconds: rpo,
        basis,
    }
}

fn human(s: i64) -> String {
    if s % 86_400 == 0 && s >= 86_400 {
        format!("{} d", s / 86_400)
    } else if s % 3600 == 0 && s >= 3600 {
        format!("{} h", s / 3600)
    } else if s >= 3600 {
        format!("{:.1} h", s as f64 / 3600.0)
    } else {
        format!("{} min", (s + 59) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::cron_interval;

    #[test]
    fn cron_intervals_of_the_common_shapes() {
        assert_eq!(cron_interval("@daily"), Some(86_400));
        assert_eq!(cron_interval("0 2 * * *"), Some(86_400));
        assert_eq!(cron_interval("0 */6 * * *"), Some(21_600));
        assert_eq!(cron_interval("*/15 * * * *"), Some(900));
        assert_eq!(cron_interval("30 * * * *"), Some(3600));
        assert_eq!(cron_interval("0 0,12 * * *"), Some(43_200));
        assert_eq!(cron_interval("0 3 * * 0"), Some(7 * 86_400));
        assert_eq!(cron_interval("@every 4h"), Some(14_400));
        assert_eq!(cron_interval("nonsense"), None);
    }
}
