//! What every analysis benchmark does first: the binary's allocator settings
//! (`src/main.rs`), then the bundle read and timed.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The allocator settings, then the bundle at `path`, its read time printed.
pub fn load(path: &str) -> intel_model::Snapshot {
    // SAFETY: first thing, before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(43, 0) };
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    // SAFETY: as above.
    unsafe { libmimalloc_sys::mi_option_set(15, -1) };
    let t = std::time::Instant::now();
    let snap = intel_bundle::read_bundle(std::path::Path::new(path))
        .expect("read bundle")
        .snapshot;
    println!(
        "read bundle: {:.2} s ({} pods, {} nodes)",
        t.elapsed().as_secs_f64(),
        snap.pods().len(),
        snap.nodes().len()
    );
    snap
}
