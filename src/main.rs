/// mimalloc instead of glibc's malloc: loading a 150k-pod bundle makes millions of small
/// allocations and frees whole generations of them; glibc spent a third of the run in
/// malloc, free and consolidation (measured with `perf record`, see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (libmimalloc-sys has no constant
/// for it in v3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// `mi_option_allow_thp` in the same enum.
const MI_OPTION_ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

fn main() -> std::process::ExitCode {
    // No transparent huge pages: mimalloc asks for them on its arenas, and the kernel then
    // zeroes 2 MiB per fault where our spans use part of it. On 2-core VMs the zeroing
    // (`clear_page_erms`) was 5-6 s of system time in a 150k-pod diagnose against 1.4 s
    // with 4 KiB pages, and the run 1-3 s slower (BENCHMARKS.md). mimalloc applies the
    // option to every later mapping; the prctl also covers kernels set to THP "always".
    // SAFETY: called first thing, before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ALLOW_THP, 0) };
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    // A one-shot command never gives memory back to the kernel before it exits: a page
    // freed while reading a bundle and faulted in again for the analysis costs the kernel
    // a zeroing each time, which was a quarter of a 150k-pod diagnose on 2 cores. The
    // servers (`serve`, `mcp`) run for hours and keep the default, which returns memory.
    let server = matches!(std::env::args().nth(1).as_deref(), Some("serve" | "mcp"));
    if !server {
        // SAFETY: called first thing, before any other thread exists; mimalloc reads the
        // option when it next decides whether to purge.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
        // A one-shot command whose reader went away (`… | head`) ends quietly, as Unix
        // tools do, instead of panicking in `println!` on EPIPE: Rust ignores SIGPIPE, so
        // put the default action back. The servers keep ignoring it (a client that hangs
        // up must not stop them).
        #[cfg(unix)]
        // SAFETY: restoring a signal's default disposition touches no memory of ours.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    kubectl_intel::cli::main()
}
