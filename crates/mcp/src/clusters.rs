//! The clusters the server answers about: bundles read at start, and live contexts captured
//! on first use and then reused for `--max-age`.
//!
//! Every tool works on one cluster, so each is held as its own one-snapshot [`Fleet`] (the
//! analyses take a fleet) behind an `Arc`: a live refresh swaps one cluster without
//! disturbing answers in flight on the old data. Derived views that cost a pass over the
//! snapshot (usage series, relations) are built once per snapshot, on first use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::cache::Reports;
use intel_capture::CaptureOptions;
use intel_engine::Relations;
use intel_model::usage::Usage;
use intel_model::{Fleet, Snapshot};
use intel_source::SourceArgs;

/// One cluster's data at one capture, with the views derived from it.
pub struct ClusterData {
    pub name: String,
    /// Exactly one snapshot, keyed by `name`.
    pub fleet: Fleet,
    /// `bundle <path>` or `live context <name>`.
    pub origin: String,
    usage: OnceLock<Usage>,
    relations: OnceLock<Relations>,
    timeline: OnceLock<intel_analysis::timeline::Timeline>,
    /// The scheduler's view of the snapshot, built once; what-ifs revert what they change.
    scheduler: OnceLock<std::sync::Mutex<intel_scheduler::Cluster>>,
    /// Analysis reports of this snapshot, by request.
    pub reports: Reports,
    /// Explanations of this snapshot, by request.
    pub explanations: super::cache::Cache<Result<intel_analysis::explain::Explanation, String>>,
}

impl ClusterData {
    fn new(name: &str, mut snap: Snapshot, origin: String) -> Self {
        // The cluster argument of every tool names it this way; keep the manifest in step.
        snap.manifest.cluster.name = name.to_string();
        let mut fleet = Fleet::default();
        fleet.add(snap);
        ClusterData {
            name: name.to_string(),
            fleet,
            origin,
            usage: OnceLock::new(),
            relations: OnceLock::new(),
            timeline: OnceLock::new(),
            scheduler: OnceLock::new(),
            reports: Reports::default(),
            explanations: Default::default(),
        }
    }

    pub fn snap(&self) -> &Snapshot {
        // `new` put exactly one snapshot under `name`; `Fleet` offers no other accessor.
        self.fleet
            .clusters
            .values()
            .next()
            .unwrap_or_else(|| unreachable!("a ClusterData always holds its snapshot"))
    }

    pub fn usage(&self) -> &Usage {
        self.usage.get_or_init(|| self.snap().usage())
    }

    /// The scheduler engine's cluster of this snapshot (impact's what-ifs revert their
    /// changes, so one copy serves every call, one at a time).
    pub fn scheduler(&self) -> &std::sync::Mutex<intel_scheduler::Cluster> {
        self.scheduler.get_or_init(|| {
            std::sync::Mutex::new(intel_scheduler::Cluster::from_snapshot(self.snap()))
        })
    }

    pub fn relations(&self) -> &Relations {
        self.relations.get_or_init(|| Relations::build(self.snap()))
    }

    /// The merged timeline (events, changes, terminations, node conditions, detector
    /// onsets), built once: the detectors run over the whole snapshot for it.
    pub fn timeline(&self) -> &intel_analysis::timeline::Timeline {
        self.timeline.get_or_init(|| {
            use intel_analysis::{detect, timeline};
            let rel = self.relations();
            let ctx = detect::Ctx::new(self.snap(), rel, Vec::new(), None);
            let d = detect::detect_all(&ctx);
            timeline::Timeline::build(&timeline::Inputs {
                snap: self.snap(),
                rel,
                hits: &d.hits,
                changes: &d.changes,
                logs: Some(&d.logs),
            })
        })
    }

    /// The capture time, and its age in seconds as of now (never negative). The analyses'
    /// "now" is the capture time; this age is what tells an assistant how stale that is.
    pub fn age(&self) -> (String, Option<i64>) {
        let at = self.snap().manifest.captured_at.clone();
        let age = at
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| (jiff::Timestamp::now().as_second() - t.as_second()).max(0));
        (at, age)
    }
}

enum Entry {
    Bundle(Arc<ClusterData>),
    Live {
        context: String,
        /// A tokio mutex: concurrent callers wait for one capture instead of starting many.
        cache: tokio::sync::Mutex<Option<(Arc<ClusterData>, Instant)>>,
    },
}

/// What a cluster name resolves to without capturing anything (for listings).
pub enum Peek {
    Loaded(Arc<ClusterData>),
    NotCaptured { context: String },
}

/// All clusters, by name.
pub struct Clusters {
    entries: BTreeMap<String, Entry>,
    kubeconfig: Option<PathBuf>,
    max_age: Duration,
    warnings: Vec<String>,
}

impl Clusters {
    /// Reads every bundle now (a bad bundle stops the start, as at the CLI) and registers
    /// every live context without contacting it. With neither, the kubeconfig's current
    /// context.
    pub fn load(source: &SourceArgs, max_age: Duration) -> anyhow::Result<Clusters> {
        let mut out = Clusters {
            entries: BTreeMap::new(),
            kubeconfig: source.kubeconfig.clone(),
            max_age,
            warnings: Vec::new(),
        };
        for path in &source.bundles {
            let (snap, warnings) = intel_source::load_bundle(path, source.strict)?;
            out.warnings.extend(warnings);
            let name = out.free_name(snap.cluster());
            let data = Arc::new(ClusterData::new(
                &name,
                snap,
                format!("bundle {}", path.display()),
            ));
            // Build what the first calls need (relations, the timeline's detector pass) in
            // the background, so the first get_timeline or get_service_map does not pay for
            // it; a call that arrives earlier waits for the same build, never a second one.
            let warm = data.clone();
            std::thread::spawn(move || {
                warm.relations();
                warm.timeline();
            });
            out.entries.insert(name, Entry::Bundle(data));
        }
        let mut contexts = source.contexts.clone();
        if source.bundles.is_empty() && contexts.is_empty() {
            contexts.push(current_context(source.kubeconfig.as_deref())?);
        }
        for context in contexts {
            let name = out.free_name(&context);
            out.entries.insert(
                name,
                Entry::Live {
                    context,
                    cache: tokio::sync::Mutex::new(None),
                },
            );
        }
        Ok(out)
    }

    /// A set of bundle snapshots, for tests and embedding.
    pub fn from_snapshots(snaps: Vec<(Snapshot, String)>) -> Clusters {
        let mut out = Clusters {
            entries: BTreeMap::new(),
            kubeconfig: None,
            max_age: Duration::from_secs(300),
            warnings: Vec::new(),
        };
        for (snap, origin) in snaps {
            let name = out.free_name(snap.cluster());
            let data = ClusterData::new(&name, snap, origin);
            out.entries.insert(name, Entry::Bundle(Arc::new(data)));
        }
        out
    }

    /// `base`, or `base-2`, `base-3`… when taken (two bundles of one cluster).
    fn free_name(&self, base: &str) -> String {
        let base = if base.is_empty() { "cluster" } else { base };
        let mut name = base.to_string();
        let mut n = 2;
        while self.entries.contains_key(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        name
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn names(&self) -> Vec<&str> {
        self.entries.keys().map(String::as_str).collect()
    }

    /// The cluster a tool call means: the named one, or the only one.
    pub fn resolve(&self, cluster: Option<&str>) -> Result<&str, String> {
        let known = || {
            let names = self.names();
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        };
        match cluster.map(str::trim).filter(|c| !c.is_empty()) {
            Some(name) => self
                .entries
                .get_key_value(name)
                .map(|(k, _)| k.as_str())
                .ok_or_else(|| {
                    format!(
                        "unknown cluster {name:?}: the loaded clusters are {} (call list_clusters)",
                        known()
                    )
                }),
            None if self.entries.len() == 1 => Ok(self
                .entries
                .keys()
                .next()
                .map(String::as_str)
                .unwrap_or_default()),
            None => Err(format!(
                "several clusters are loaded: pass `cluster`, one of {}",
                known()
            )),
        }
    }

    /// The data of a cluster without capturing: for listings.
    pub async fn peek(&self, name: &str) -> Option<Peek> {
        match self.entries.get(name)? {
            Entry::Bundle(d) => Some(Peek::Loaded(d.clone())),
            Entry::Live { context, cache } => Some(match cache.lock().await.as_ref() {
                Some((d, _)) => Peek::Loaded(d.clone()),
                None => Peek::NotCaptured {
                    context: context.clone(),
                },
            }),
        }
    }

    /// The data of a cluster, capturing a live context when it has no capture younger than
    /// `--max-age`. The capture runs on a blocking thread (it drives its own runtime).
    pub async fn get(&self, cluster: Option<&str>) -> Result<Arc<ClusterData>, String> {
        let name = self.resolve(cluster)?;
        let Some(entry) = self.entries.get(name) else {
            return Err(format!("unknown cluster {name:?}"));
        };
        match entry {
            Entry::Bundle(d) => Ok(d.clone()),
            Entry::Live { context, cache } => {
                let mut slot = cache.lock().await;
                if let Some((d, at)) = slot.as_ref()
                    && at.elapsed() < self.max_age
                {
                    return Ok(d.clone());
                }
                let kubeconfig = self.kubeconfig.clone();
                let ctx = context.clone();
                let snap = tokio::task::spawn_blocking(move || {
                    intel_source::capture_live(
                        kubeconfig.as_deref(),
                        &ctx,
                        &CaptureOptions::default(),
                        false,
                    )
                })
                .await
                .map_err(|e| format!("capture of context {context:?} stopped: {e}"))?
                .map_err(|e| format!("cannot capture context {context:?}: {e:#}"))?;
                let data = Arc::new(ClusterData::new(
                    name,
                    snap,
                    format!("live context {context}"),
                ));
                *slot = Some((data.clone(), Instant::now()));
                Ok(data)
            }
        }
    }
}

fn current_context(kubeconfig: Option<&Path>) -> anyhow::Result<String> {
    let kc = match kubeconfig {
        Some(p) => kube::config::Kubeconfig::read_from(p)
            .with_context(|| format!("cannot read kubeconfig {}", p.display()))?,
        None => kube::config::Kubeconfig::read().context(
            "no --bundle and no --context given, and no kubeconfig to take the current context from",
        )?,
    };
    kc.current_context
        .filter(|c| !c.is_empty())
        .context("no --bundle or --context given and the kubeconfig has no current-context")
}
