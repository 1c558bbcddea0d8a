//! The fuzz targets' kept inputs, run on stable in the test suite: every file of
//! `fuzz/corpus/<target>/` (seeds from the test data and what the fuzzer kept) and of
//! `fuzz/regressions/<target>/` (each crash it found, fixed) goes through the target's
//! body (`kubectl_intel::fuzzing`), which must return. The fuzzing itself runs with
//! cargo-fuzz on nightly (docs/fuzzing.md); this is the short smoke run CI does.

use std::path::Path;

#[test]
fn every_kept_fuzz_input_still_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (target, run) in kubectl_intel::fuzzing::TARGETS {
        let mut inputs = 0;
        for dir in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
                continue;
            };
            let mut files: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for f in files {
                let data = std::fs::read(&f).unwrap();
                run(&data);
                inputs += 1;
            }
        }
        assert!(inputs > 0, "fuzz target {target} has no corpus");
    }
}
