//! Progress reporting for a capture: a bar on an interactive terminal, nothing otherwise
//! (CI logs and pipes get only the final summary lines).

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// What a capture tells about its progress. Work is counted in requests: the total grows
/// as the capture learns what there is to fetch (types after discovery, containers after
/// the pods are listed), so callers add work before they finish it.
///
/// `Send + Sync` because one capture drives many requests at once.
pub trait Progress: Send + Sync {
    /// `n` more requests are planned.
    fn add_work(&self, n: u64);
    /// `n` requests finished (successfully or not).
    fn done(&self, n: u64);
    /// The current phase ("discovery", "resources", "logs", …).
    fn phase(&self, name: &str);
    /// The capture is over; remove any display.
    fn finish(&self);
}

/// Reports nothing: for library callers and non-interactive runs.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn add_work(&self, _: u64) {}
    fn done(&self, _: u64) {}
    fn phase(&self, _: &str) {}
    fn finish(&self) {}
}

/// An indicatif bar on stderr.
#[derive(Debug)]
pub struct BarProgress {
    bar: ProgressBar,
}

impl BarProgress {
    /// A bar labelled with `label` (the cluster being captured).
    pub fn new(label: &str) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        // The template is a constant known to be valid; fall back to the default style
        // rather than fail a capture over a progress bar.
        let style = ProgressStyle::with_template(
            "{prefix:.bold} {spinner} [{elapsed}] {bar:30} {pos}/{len} requests, {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        BarProgress { bar }
    }
}

impl Progress for BarProgress {
    fn add_work(&self, n: u64) {
        self.bar.inc_length(n);
    }
    fn done(&self, n: u64) {
        self.bar.inc(n);
    }
    fn phase(&self, name: &str) {
        self.bar.set_message(name.to_string());
    }
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A bar when stderr is a terminal, else [`NoProgress`].
pub fn stderr_progress(label: &str) -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Box::new(BarProgress::new(label))
    } else {
        Box::new(NoProgress)
    }
}
