//! `kubectl intel capture` itself: picks the contexts, captures each into a bundle, and
//! tells the user what was written and what failed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use kube::config::{KubeConfigOptions, Kubeconfig};

use intel_bundle::{default_file_name, write_bundle};
use intel_exit::Exit;
use intel_model::Manifest;
use intel_model::manifest::ClusterInfo;
use intel_redact::Redactor;

use super::{
    CaptureArgs, CaptureError, CaptureOptions, capture_client, capture_snapshot, prometheus,
    stderr_progress,
};

/// Runs `kubectl intel capture`; returns the exit code (0, or 5 when a cluster gave
/// nothing usable). Errors are setup or I/O failures (bad kubeconfig, unwritable --out).
pub fn run(args: CaptureArgs) -> anyhow::Result<Exit> {
    // Fail on bad input before connecting anywhere.
    Redactor::new(&args.redact_patterns)?;
    if let Some(url) = &args.prometheus {
        prometheus::parse_url(url)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(args))
}

/// A cluster to capture: how to reach it, and its name in the manifest.
struct Target {
    /// The context name, or `in-cluster`.
    name: String,
    context: Option<String>,
    /// `Err` when this context's configuration cannot be used (its user's exec plugin is
    /// missing, its certificate file is gone…); the other contexts still run.
    config: Result<kube::Config, String>,
}

async fn run_async(args: CaptureArgs) -> anyhow::Result<Exit> {
    let opts = CaptureOptions::from(&args);
    let targets = targets(&args).await?;
    let plan = out_plan(args.out.as_deref(), targets.len() > 1)?;
    let mut failed = Vec::new();
    let mut written: BTreeSet<PathBuf> = BTreeSet::new();
    for target in targets {
        let server = target
            .config
            .as_ref()
            .ok()
            .map(|c| c.cluster_url.to_string().trim_end_matches('/').to_string());
        let config = match target.config {
            Ok(config) => config,
            Err(e) => {
                eprintln!(
                    "error: context {:?}: {e}; nothing was written for it",
                    target.name
                );
                failed.push(target.name);
                continue;
            }
        };
        let client = match capture_client(config, &opts) {
            Ok(client) => client,
            Err(e) => {
                eprintln!(
                    "error: context {:?}: cannot set up a client: {}; nothing was written for it",
                    target.name,
                    super::api::error_chain(&e)
                );
                failed.push(target.name);
                continue;
            }
        };
        let cluster = ClusterInfo {
            name: target.name.clone(),
            context: target.context.clone(),
            server,
            kubernetes_version: None,
        };
        let progress = stderr_progress(&target.name);
        let snap = match capture_snapshot(client, &opts, cluster, progress.as_ref()).await {
            Ok(snap) => snap,
            Err(e) => match e.downcast_ref::<CaptureError>() {
                Some(CaptureError::NothingCaptured { .. }) => {
                    eprintln!("error: {e}; no bundle was written");
                    failed.push(target.name);
                    continue;
                }
                None => return Err(e),
            },
        };
        let mut path = plan.path_for(&snap.manifest);
        let mut n = 2;
        while written.contains(&path) {
            // Two context names that sanitise to the same file name: keep both bundles.
            path = with_suffix(&plan.path_for(&snap.manifest), n);
            n += 1;
        }
        // A name no file can have (a pod called `a/b`) loses its log, not the capture.
        let mut snap = snap;
        for what in intel_bundle::prune_unwritable(&mut snap) {
            eprintln!(
                "warning: {}: not written (a name that cannot be a file name in a bundle): {what}",
                path.display()
            );
            record_unwritable(&mut snap, what);
        }
        let manifest = write_bundle(&snap, &path)?;
        eprintln!("{}", summary_line(&path, &manifest, &snap));
        if let Some(warning) = warning_line(&manifest, &path) {
            eprintln!("{warning}");
        }
        written.insert(path);
    }
    if failed.is_empty() {
        Ok(Exit::Ok)
    } else {
        if !written.is_empty() {
            eprintln!(
                "error: {} of {} clusters could not be captured: {}",
                failed.len(),
                failed.len() + written.len(),
                failed.join(", ")
            );
        }
        Ok(Exit::NothingCaptured)
    }
}

/// The clusters to capture, from --kubeconfig/--context/--all-contexts, or the in-cluster
/// service account when there is no kubeconfig at all (as kubectl does).
async fn targets(args: &CaptureArgs) -> anyhow::Result<Vec<Target>> {
    let explicit_contexts = !args.contexts.is_empty() || args.all_contexts;
    let kubeconfig = match &args.kubeconfig {
        Some(path) => Kubeconfig::read_from(path)
            .with_context(|| format!("cannot read kubeconfig {}", path.display()))?,
        None => match Kubeconfig::read() {
            Ok(kc) => kc,
            Err(kc_err) if !explicit_contexts => {
                return match kube::Config::incluster() {
                    Ok(config) => Ok(vec![Target {
                        name: "in-cluster".to_string(),
                        context: None,
                        config: Ok(config),
                    }]),
                    Err(in_err) => Err(anyhow::anyhow!(
                        "no kubeconfig ({}) and not running inside a cluster ({}); pass --kubeconfig PATH",
                        super::api::error_chain(&kc_err),
                        super::api::error_chain(&in_err)
                    )),
                };
            }
            Err(e) => {
                return Err(e)
                    .context("cannot read the kubeconfig ($KUBECONFIG or ~/.kube/config)");
            }
        },
    };
    let names = select_contexts(&kubeconfig, &args.contexts, args.all_contexts)?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let options = KubeConfigOptions {
            context: Some(name.clone()),
            cluster: None,
            user: None,
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &options)
            .await
            .map_err(|e| super::api::error_chain(&e));
        out.push(Target {
            name: name.clone(),
            context: Some(name),
            config,
        });
    }
    Ok(out)
}

/// The context names to capture: all (sorted) with --all-contexts, the requested ones
/// (each must exist; duplicates dropped), else the current context.
fn select_contexts(
    kubeconfig: &Kubeconfig,
    requested: &[String],
    all: bool,
) -> anyhow::Result<Vec<String>> {
    let mut available: Vec<String> = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
    available.sort();
    available.dedup();
    let list = || {
        if available.is_empty() {
            "it has none".to_string()
        } else {
            format!("available: {}", available.join(", "))
        }
    };
    if all {
        if available.is_empty() {
            anyhow::bail!("--all-contexts: the kubeconfig has no contexts");
        }
        return Ok(available.clone());
    }
    if !requested.is_empty() {
        let mut out: Vec<String> = Vec::new();
        for name in requested {
            if !available.contains(name) {
                anyhow::bail!("context {name:?} is not in the kubeconfig ({})", list());
            }
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
        return Ok(out);
    }
    match kubeconfig
        .current_context
        .as_deref()
        .filter(|c| !c.is_empty())
    {
        Some(current) => Ok(vec![current.to_string()]),
        None => anyhow::bail!(
            "the kubeconfig has no current-context; pass --context NAME ({})",
            list()
        ),
    }
}

/// Where bundles go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum OutPlan {
    /// Exactly this file (one cluster, --out naming a file).
    File(PathBuf),
    /// This directory, each bundle under its default name.
    Dir(PathBuf),
}

impl OutPlan {
    fn path_for(&self, manifest: &Manifest) -> PathBuf {
        match self {
            OutPlan::File(path) => path.clone(),
            OutPlan::Dir(dir) => dir.join(default_file_name(
                &manifest.cluster.name,
                &manifest.captured_at,
            )),
        }
    }
}

/// --out is a file for one cluster (unless it is an existing directory or ends in `/`),
/// a directory (created if needed) for several; no --out is the current directory.
fn out_plan(out: Option<&Path>, several: bool) -> anyhow::Result<OutPlan> {
    let Some(out) = out else {
        return Ok(OutPlan::Dir(PathBuf::from(".")));
    };
    let looks_like_dir = out.is_dir() || out.as_os_str().to_string_lossy().ends_with('/');
    if !several && !looks_like_dir {
        return Ok(OutPlan::File(out.to_path_buf()));
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the output directory {}", out.display()))?;
    Ok(OutPlan::Dir(out.to_path_buf()))
}

/// `name.intel.tar.zst` → `name-2.intel.tar.zst`.
fn with_suffix(path: &Path, n: u32) -> PathBuf {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let renamed = match file.strip_suffix(".intel.tar.zst") {
        Some(stem) => format!("{stem}-{n}.intel.tar.zst"),
        None => format!("{file}-{n}"),
    };
    path.with_file_name(renamed)
}

/// `wrote PATH: 1234 objects of 56 types, 210 logs, 3 metrics samples (cluster prod, Kubernetes v1.31.2, captured 2026-11-24T14:00:00Z)`.
fn summary_line(path: &Path, manifest: &Manifest, snap: &intel_model::Snapshot) -> String {
    let objects: usize = snap.resources.values().map(|l| l.items.len()).sum();
    let mut parts = vec![
        format!("{objects} objects of {} types", snap.resources.len()),
        format!("{} logs", snap.logs.len()),
        format!("{} metrics samples", snap.metrics.len()),
    ];
    if !snap.prometheus.is_empty() {
        parts.push(format!("{} Prometheus series", snap.prometheus.len()));
    }
    let version = manifest
        .cluster
        .kubernetes_version
        .as_deref()
        .map(|v| format!(", Kubernetes {v}"))
        .unwrap_or_default();
    format!(
        "wrote {}: {} (cluster {}{version}, captured {})",
        path.display(),
        parts.join(", "),
        manifest.cluster.name,
        manifest.captured_at
    )
}

/// One line naming every collector that had errors, with their HTTP statuses, or `None`
/// when everything was captured.
fn warning_line(manifest: &Manifest, path: &Path) -> Option<String> {
    const SHOWN: usize = 8;
    let failing: Vec<_> = manifest
        .collectors
        .iter()
        .filter(|c| !c.errors.is_empty())
        .collect();
    if failing.is_empty() {
        return None;
    }
    let describe = |c: &intel_model::manifest::Collector| {
        let mut codes: BTreeMap<String, usize> = BTreeMap::new();
        for e in &c.errors {
            let label = match e.code {
                Some(code) => match http::StatusCode::from_u16(code)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                {
                    Some(reason) => format!("{code} {reason}"),
                    None => code.to_string(),
                },
                None => "no HTTP status".to_string(),
            };
            *codes.entry(label).or_default() += 1;
        }
        let codes: Vec<String> = codes
            .into_iter()
            .map(|(label, n)| {
                if n > 1 {
                    format!("{n}× {label}")
                } else {
                    label
                }
            })
            .collect();
        format!("{} [{}]", c.name, codes.join(", "))
    };
    let mut shown: Vec<String> = failing.iter().take(SHOWN).map(|c| describe(c)).collect();
    if failing.len() > SHOWN {
        shown.push(format!("and {} more", failing.len() - SHOWN));
    }
    let plural = if failing.len() == 1 {
        "collector"
    } else {
        "collectors"
    };
    Some(format!(
        "warning: {} {plural} had errors: {}; the bundle is still usable, see `kubectl intel inspect {}`",
        failing.len(),
        shown.join(", "),
        path.display()
    ))
}

/// Captures one context into memory for a live-mode analysis: the cluster is named after
/// the context (as `capture` names its bundles), so a report on `--context prod` and one
/// on a bundle captured from `prod` name the same cluster.
pub async fn capture_context(
    kubeconfig: Option<&Path>,
    context: &str,
    opts: &CaptureOptions,
    progress: &dyn super::Progress,
) -> anyhow::Result<intel_model::Snapshot> {
    let kc = match kubeconfig {
        Some(path) => Kubeconfig::read_from(path)
            .with_context(|| format!("cannot read kubeconfig {}", path.display()))?,
        None => Kubeconfig::read()
            .context("cannot read the kubeconfig ($KUBECONFIG or ~/.kube/config)")?,
    };
    let name = select_contexts(&kc, &[context.to_string()], false)?
        .pop()
        .unwrap_or_else(|| context.to_string());
    let options = KubeConfigOptions {
        context: Some(name.clone()),
        cluster: None,
        user: None,
    };
    let config = kube::Config::from_custom_kubeconfig(kc, &options)
        .await
        .map_err(|e| anyhow::anyhow!("context {name:?}: {}", super::api::error_chain(&e)))?;
    let server = Some(
        config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string(),
    );
    let client = capture_client(config, opts).map_err(|e| {
        anyhow::anyhow!(
            "context {name:?}: cannot set up a client: {}",
            super::api::error_chain(&e)
        )
    })?;
    let cluster = ClusterInfo {
        name: name.clone(),
        context: Some(name),
        server,
        kubernetes_version: None,
    };
    capture_snapshot(client, opts, cluster, progress).await
}

/// Records what [`intel_bundle::prune_unwritable`] removed as an error of the `write`
/// collector, so the bundle says what it lacks and why.
fn record_unwritable(snap: &mut intel_model::Snapshot, what: String) {
    use intel_model::manifest::{Collector, CollectorError};
    let collectors = &mut snap.manifest.collectors;
    let i = match collectors.iter().position(|c| c.name == "write") {
        Some(i) => i,
        None => {
            collectors.push(Collector {
                name: "write".into(),
                items: 0,
                errors: Vec::new(),
            });
            collectors.len() - 1
        }
    };
    collectors[i].errors.push(CollectorError {
        target: what,
        code: None,
        message: "not written: a name that cannot be a file name in a bundle".into(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use intel_model::manifest::{Collector, CollectorError};
    use kube::config::NamedContext;

    fn kubeconfig(names: &[&str], current: Option<&str>) -> Kubeconfig {
        Kubeconfig {
            contexts: names
                .iter()
                .map(|n| NamedContext {
                    name: n.to_string(),
                    context: None,
                    ..Default::default()
                })
                .collect(),
            current_context: current.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn contexts_are_selected_like_kubectl() {
        let kc = kubeconfig(&["staging", "dev", "prod"], Some("dev"));
        assert_eq!(select_contexts(&kc, &[], false).unwrap(), vec!["dev"]);
        assert_eq!(
            select_contexts(&kc, &[], true).unwrap(),
            vec!["dev", "prod", "staging"]
        );
        let asked = vec!["prod".to_string(), "dev".to_string(), "prod".to_string()];
        assert_eq!(
            select_contexts(&kc, &asked, false).unwrap(),
            vec!["prod", "dev"]
        );
        let err = select_contexts(&kc, &["qa".to_string()], false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"qa\"") && err.contains("dev, prod, staging"),
            "{err}"
        );
        let none = kubeconfig(&["a"], None);
        let err = select_contexts(&none, &[], false).unwrap_err().to_string();
        assert!(err.contains("--context"), "{err}");
        assert!(select_contexts(&kubeconfig(&[], None), &[], true).is_err());
    }

    #[test]
    fn out_is_a_file_for_one_cluster_and_a_directory_for_several() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(out_plan(None, false).unwrap(), OutPlan::Dir(".".into()));
        let file = tmp.path().join("prod.intel.tar.zst");
        assert_eq!(
            out_plan(Some(&file), false).unwrap(),
            OutPlan::File(file.clone())
        );
        assert_eq!(
            out_plan(Some(tmp.path()), false).unwrap(),
            OutPlan::Dir(tmp.path().to_path_buf())
        );
        let dir = tmp.path().join("bundles");
        assert_eq!(
            out_plan(Some(&dir), true).unwrap(),
            OutPlan::Dir(dir.clone())
        );
        assert!(dir.is_dir(), "created");
        let mut manifest = Manifest::new(
            ClusterInfo {
                name: "prod".into(),
                ..Default::default()
            },
            "2026-11-24T14:00:00Z".into(),
        );
        assert_eq!(
            OutPlan::Dir(dir.clone()).path_for(&manifest),
            dir.join("prod-20261124T140000Z.intel.tar.zst")
        );
        manifest.cluster.name = "x".into();
        assert_eq!(OutPlan::File(file.clone()).path_for(&manifest), file);
        assert_eq!(
            with_suffix(&dir.join("a.intel.tar.zst"), 2),
            dir.join("a-2.intel.tar.zst")
        );
    }

    #[test]
    fn warnings_list_failing_collectors_compactly() {
        let mut manifest = Manifest::new(ClusterInfo::default(), "2026-11-24T14:00:00Z".into());
        assert_eq!(warning_line(&manifest, Path::new("b.tar.zst")), None);
        let err = |code: Option<u16>| CollectorError {
            target: "/x".into(),
            code,
            message: "m".into(),
        };
        manifest.collectors = vec![
            Collector {
                name: "logs".into(),
                items: 3,
                errors: vec![err(Some(400)), err(Some(400)), err(None)],
            },
            Collector {
                name: "resources/pods".into(),
                items: 3,
                errors: Vec::new(),
            },
            Collector {
                name: "resources/secrets".into(),
                items: 0,
                errors: vec![err(Some(403))],
            },
        ];
        let line = warning_line(&manifest, Path::new("b.tar.zst")).unwrap();
        assert_eq!(
            line,
            "warning: 2 collectors had errors: logs [2× 400 Bad Request, no HTTP status], \
             resources/secrets [403 Forbidden]; the bundle is still usable, see \
             `kubectl intel inspect b.tar.zst`"
        );
    }
}
