//! Embeds the incident library (`testdata/scenarios/<name>/scenario.yaml`) into the binary,
//! so `kubectl intel synth --scenario NAME` works from any install.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/scenarios");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut entries: Vec<(String, String)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir(&root) {
        for e in dir.flatten() {
            let file = e.path().join("scenario.yaml");
            if file.is_file() {
                println!("cargo:rerun-if-changed={}", file.display());
                entries.push((
                    e.file_name().to_string_lossy().into_owned(),
                    file.display().to_string(),
                ));
            }
        }
    }
    entries.sort();
    let mut out = String::from(
        "/// (name, scenario.yaml) of every library scenario, sorted by name.\npub const SCENARIOS: &[(&str, &str)] = &[\n",
    );
    for (name, path) in entries {
        let _ = writeln!(out, "    ({name:?}, include_str!({path:?})),");
    }
    out.push_str("];\n");
    let dest =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("scenarios.rs");
    std::fs::write(dest, out).expect("write scenarios.rs");
}
