//! Reading a symptom as people write it: "users are reporting timeouts", "503s on
//! checkout", "nothing deploys". The words map to classes that steer the ranking
//! (which categories of finding explain the symptom), and names of workloads in the
//! snapshot become mentions (what the user is looking at). Unknown words are ignored:
//! an empty or unrelated symptom is a full triage.

use intel_engine::{ObjectRef, Relations};

/// Symptom classes, the words that select them, and the finding categories they favour.
pub const CLASSES: &[(&str, &[&str], &[&str])] = &[
    (
        "latency",
        &[
            "slow",
            "latency",
            "timeout",
            "timing out",
            "timed out",
            "hang",
            "sluggish",
            "lag",
            "504",
        ],
        &[
            "CPUThrottling",
            "SlowOperations",
            "AutoscalerAtMax",
            "MemoryLeak",
            "TrafficSurge",
            "NodeSaturated",
            "ResourceQuotaExceeded",
            "ConnectionsExhausted",
            "LatencyIncrease",
            "NodeNetworkDegraded",
        ],
    ),
    (
        "errors",
        &[
            "error",
            "5xx",
            "500",
            "502",
            "503",
            "fail",
            "down",
            "broken",
            "outage",
            "cannot",
            "can't",
            "refus",
            "not working",
            "unavailable",
            "not available",
            "missing",
            "stopped",
        ],
        &[
            "ServiceSelectorMismatch",
            "ServicePortMismatch",
            "ServiceNoReadyEndpoints",
            "CrashLoopBackOff",
            "OOMKilled",
            "ReadinessProbeFailing",
            "IngressBackendMissing",
            "ConnectionsExhausted",
            "ScaledToZero",
            "ServiceNoEndpoints",
            "ProbeWrongPort",
            "ProbeWrongProtocol",
            "ServiceProtocolMismatch",
            "MisconfiguredAddress",
        ],
    ),
    (
        "restarts",
        &[
            "restart",
            "crash",
            "oom",
            "killed",
            "keeps dying",
            "flapping pods",
        ],
        &[
            "CrashLoopBackOff",
            "OOMKilled",
            "Restarts",
            "LivenessProbeFailing",
            "MemoryLeak",
            "ContainerFailed",
            "OutOfMemory",
            "Panics",
            "MemoryLimitTooLow",
        ],
    ),
    (
        "deploy",
        &[
            "deploy",
            "rollout",
            "roll out",
            "release",
            "stuck",
            "never finishes",
            "new pod",
            "upgrade",
            "never starts",
            "pending",
        ],
        &[
            "ImagePullBackOff",
            "CreateContainerConfigError",
            "MissingConfigReference",
            "RolloutStuck",
            "Unschedulable",
            "LivenessProbeFailing",
            "StartupProbeFailing",
            "ResourceQuotaExceeded",
            "FailedCreate",
            "LimitRangeRejected",
            "ReadinessProbeFailing",
            "ProbeChanged",
            "ProbeTooTight",
            "MemoryLimitTooLow",
            "FailedMount",
            "SandboxCreationFailed",
            "RequestExceedsNodeCapacity",
            "SchedulerNotRunning",
            "NodeNotFound",
        ],
    ),
    (
        "scheduling",
        &[
            "pending",
            "schedul",
            "no nodes",
            "insufficient",
            "not running",
        ],
        &[
            "Unschedulable",
            "VolumeZoneConflict",
            "ResourceQuotaExceeded",
            "RequestExceedsNodeCapacity",
            "SchedulerNotRunning",
        ],
    ),
    (
        "dns",
        &["dns", "lookup", "resolve", "no such host", "nxdomain"],
        &[
            "DNSResolutionFailures",
            "ServiceNoReadyEndpoints",
            "CrashLoopBackOff",
        ],
    ),
    (
        "tls",
        &[
            "certificate",
            "cert ",
            "tls",
            "ssl",
            "not secure",
            "https",
            "browser warn",
        ],
        &[
            "CertificateExpired",
            "CertificateRenewalFailing",
            "TLSErrors",
            "IngressTLSSecretMissing",
        ],
    ),
    (
        "node",
        &["node", "drain", "cordon", "evict", "kubelet", "upgrade"],
        &[
            "NodeNotReady",
            "NodeFlapping",
            "DrainBlockedByPDB",
            "NodeDiskPressure",
            "NodeMemoryPressure",
            "NodePIDPressure",
            "EphemeralStorageExhaustion",
            "UnboundedMemoryUse",
            "Evicted",
            "PDBAllowsNoDisruption",
        ],
    ),
    (
        "data",
        &[
            "stale",
            "old ",
            "outdated",
            "sold out",
            "wrong price",
            "not updated",
            "missing data",
            "not receiving",
            "missing",
            "export",
            "emails",
            "cron",
            "batch",
            "job",
        ],
        &[
            "SuspendedCronJob",
            "CronJobNotRunning",
            "JobFailed",
            "CrashLoopBackOff",
            "OOMKilled",
            "FailedMount",
        ],
    ),
    (
        "capacity",
        &[
            "traffic",
            "surge",
            "spike",
            "load",
            "autoscal",
            "scale",
            "newsletter",
            "sale",
            "campaign",
            "busy",
            "quota",
        ],
        &[
            "AutoscalerAtMax",
            "TrafficSurge",
            "CPUThrottling",
            "ResourceQuotaExceeded",
            "NodeSaturated",
            "Unschedulable",
        ],
    ),
    (
        "database",
        &[
            "database",
            "db ",
            "postgres",
            "mysql",
            "connection",
            "connections",
        ],
        &[
            "ConnectionsExhausted",
            "UnboundedMemoryUse",
            "VolumeZoneConflict",
        ],
    ),
];

#[derive(Debug, Clone, Default)]
pub struct Symptom {
    pub classes: Vec<&'static str>,
    /// Workloads the text names, sorted.
    pub mentions: Vec<ObjectRef>,
}

impl Symptom {
    pub fn parse(text: &str, rel: &Relations) -> Symptom {
        let lower = format!(" {} ", text.to_lowercase());
        let mut classes: Vec<&'static str> = CLASSES
            .iter()
            .filter(|(_, words, _)| words.iter().any(|w| lower.contains(w)))
            .map(|(c, _, _)| *c)
            .collect();
        classes.sort();
        let words: Vec<String> = lower
            .split(|c: char| !(c.is_alphanumeric() || c == '-'))
            .filter(|w| w.len() >= 3)
            .map(|w| w.to_string())
            .collect();
        let mut mentions: Vec<ObjectRef> = rel
            .workloads()
            .filter(|w| {
                matches!(
                    w.kind.as_str(),
                    "Deployment" | "StatefulSet" | "DaemonSet" | "CronJob"
                )
            })
            .filter(|w| {
                let n = w.name.to_lowercase();
                words.iter().any(|x| {
                    *x == n
                        || x.strip_suffix('s') == Some(n.as_str())
                        || x.strip_suffix("es") == Some(n.as_str())
                })
            })
            .cloned()
            .collect();
        mentions.sort();
        mentions.dedup();
        Symptom { classes, mentions }
    }

    /// Whether a finding category explains this symptom.
    pub fn favours(&self, category: &str) -> bool {
        CLASSES
            .iter()
            .filter(|(c, _, _)| self.classes.contains(c))
            .any(|(_, _, cats)| cats.contains(&category))
    }

    pub fn labels(&self) -> Vec<String> {
        if self.classes.is_empty() {
            vec!["triage".to_string()]
        } else {
            self.classes.iter().map(|c| c.to_string()).collect()
        }
    }
}
