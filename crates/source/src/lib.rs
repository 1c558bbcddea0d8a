//! Where analyses get their clusters: bundles (`--bundle`, repeatable) and live contexts
//! (`--context`, repeatable, captured into memory). Both produce the same [`Snapshot`]
//! type, so no analysis knows where its data came from.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use intel_capture::{CaptureOptions, NoProgress, capture_context, stderr_progress};
use intel_model::{Fleet, Snapshot};

/// The clusters an analysis runs on.
#[derive(Args, Debug, Clone, Default)]
pub struct SourceArgs {
    /// A bundle (.intel.tar.zst or an unpacked directory). Repeatable: one per cluster.
    #[arg(long = "bundle", value_name = "PATH")]
    pub bundles: Vec<PathBuf>,
    /// A kubeconfig context to capture live into memory. Repeatable. Without --bundle and
    /// --context: the current context.
    #[arg(long = "context", value_name = "NAME")]
    pub contexts: Vec<String>,
    /// Kubeconfig file for --context (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Refuse a bundle one of whose files cannot be read (invalid JSON in a list, a metrics
    /// sample or a series). Without it that file is skipped, named on stderr and in the
    /// answer's limitations, and the rest is used.
    #[arg(long)]
    pub strict: bool,
}

/// How a live context's metrics are sampled before it is analysed (ignored for bundles):
/// the `capture` flags that decide what evidence an analysis has beyond objects, events and
/// logs. The Prometheus range (`window`) is the command's own: `diagnose --window`, and for
/// `explain` its timeline window.
#[derive(Args, Debug, Clone)]
pub struct SamplingArgs {
    /// metrics.k8s.io samples to take from a live context.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub samples: u32,
    /// Time between two metrics samples (e.g. 15s, 1m).
    #[arg(long, value_name = "DURATION", default_value = "15s",
          value_parser = intel_capture::parse_duration)]
    pub interval: std::time::Duration,
    /// Prometheus base URL for a live context (e.g. http://localhost:9090 after a
    /// port-forward): CPU, memory, throttling, restarts and network series.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
}

/// [`SamplingArgs`] and how far back the Prometheus series reach.
#[derive(Args, Debug, Clone)]
pub struct LiveArgs {
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// How far back the Prometheus series reach.
    #[arg(long, value_name = "DURATION", default_value = "1h",
          value_parser = intel_capture::parse_duration)]
    pub window: std::time::Duration,
}

impl SamplingArgs {
    /// Capture options for these flags and a Prometheus range, limited to `namespaces`
    /// (sorted, distinct).
    pub fn options(&self, namespaces: &[String], window: std::time::Duration) -> CaptureOptions {
        let mut namespaces = namespaces.to_vec();
        namespaces.sort();
        namespaces.dedup();
        CaptureOptions {
            namespaces,
            samples: self.samples.max(1),
            interval: self.interval,
            prometheus: self.prometheus.clone(),
            window,
            ..CaptureOptions::default()
        }
    }
}

impl LiveArgs {
    /// Capture options for these flags, limited to `namespaces` (sorted, distinct).
    pub fn options(&self, namespaces: &[String]) -> CaptureOptions {
        self.sampling.options(namespaces, self.window)
    }
}

/// The clusters loaded, and what went wrong on the way without stopping it.
#[derive(Debug, Default)]
pub struct Loaded {
    pub fleet: Fleet,
    /// Bundle entries skipped, integrity mismatches, collectors that failed.
    pub warnings: Vec<String>,
}

/// Reads one bundle, turning integrity mismatches and reader warnings into warnings.
pub fn load_bundle(
    path: &std::path::Path,
    strict: bool,
) -> Result<(Snapshot, Vec<String>), intel_bundle::BundleError> {
    let limits = intel_bundle::ReadLimits {
        strict,
        ..Default::default()
    };
    let loaded = intel_bundle::read_bundle_with(path, &limits)?;
    let mut warnings: Vec<String> = loaded
        .warnings
        .iter()
        .map(|w| format!("{}: {w}", path.display()))
        .collect();
    let i = &loaded.integrity;
    let mut snapshot = loaded.snapshot;
    if !i.ok() {
        let what = format!(
            "{} files differ from the manifest, {} are missing, {} are unlisted",
            i.mismatched.len(),
            i.missing.len(),
            i.unlisted.len()
        );
        warnings.push(format!(
            "{}: {what} (run `kubectl intel inspect --verify`)",
            path.display()
        ));
        snapshot.notes.push(format!(
            "The bundle's integrity check failed ({what}: {}): it was changed after it was written, so any answer may rest on altered data; `kubectl intel inspect --verify` names the files.",
            i.mismatched
                .iter()
                .chain(&i.missing)
                .chain(&i.unlisted)
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok((snapshot, warnings))
}

/// Captures one context live (a tokio runtime is started for it).
pub fn capture_live(
    kubeconfig: Option<&std::path::Path>,
    context: &str,
    opts: &CaptureOptions,
    progress: bool,
) -> anyhow::Result<Snapshot> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        if progress {
            let bar = stderr_progress(context);
            capture_context(kubeconfig, context, opts, bar.as_ref()).await
        } else {
            capture_context(kubeconfig, context, opts, &NoProgress).await
        }
    })
}

impl SourceArgs {
    /// Loads every bundle and captures every context. With neither, the current context.
    /// A bundle that cannot be read is an error (exit 3 at the CLI); so is a context that
    /// cannot be captured (exit 5).
    pub fn load(&self, opts: &CaptureOptions, progress: bool) -> anyhow::Result<Loaded> {
        let mut out = Loaded::default();
        for path in &self.bundles {
            let (snap, warnings) = load_bundle(path, self.strict)?;
            out.warnings.extend(warnings);
            out.fleet.add(snap);
        }
        let mut contexts = self.contexts.clone();
        if self.bundles.is_empty() && contexts.is_empty() {
            contexts.push(current_context(self.kubeconfig.as_deref())?);
        }
        for context in &contexts {
            let snap = capture_live(self.kubeconfig.as_deref(), context, opts, progress)?;
            for (collector, e) in snap.manifest.errors() {
                out.warnings.push(format!(
                    "{context}: {collector}: {} ({})",
                    e.target, e.message
                ));
            }
            out.fleet.add(snap);
        }
        Ok(out)
    }
}

fn current_context(kubeconfig: Option<&std::path::Path>) -> anyhow::Result<String> {
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
