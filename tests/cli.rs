//! The command line as a user meets it: help texts with examples, exit codes.

mod common;

use common::bin;

/// Every command documents itself with at least one runnable example.
#[test]
fn every_command_help_has_an_example() {
    let top = bin().arg("--help").output().unwrap();
    assert!(top.status.success());
    let top = String::from_utf8(top.stdout).unwrap();
    assert!(top.contains("Examples:"), "{top}");
    let commands: Vec<String> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect();
    for expected in ["capture", "inspect", "serve", "demo", "synth"] {
        assert!(
            commands.iter().any(|c| c == expected),
            "{expected} missing from {commands:?}"
        );
    }
    for cmd in &commands {
        let out = bin().args([cmd.as_str(), "--help"]).output().unwrap();
        assert!(out.status.success(), "{cmd} --help failed");
        let help = String::from_utf8(out.stdout).unwrap();
        let examples = help
            .split("Examples:")
            .nth(1)
            .unwrap_or_else(|| panic!("{cmd} --help has no examples:\n{help}"));
        assert!(
            examples.contains(&format!("kubectl intel {cmd}")),
            "{cmd}'s examples do not show {cmd}:\n{help}"
        );
    }
}

#[test]
fn usage_errors_exit_2_and_missing_bundles_exit_3() {
    let out = bin().arg("no-such-command").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin()
        .args(["inspect", "/nonexistent/x.intel.tar.zst"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open bundle /nonexistent/x.intel.tar.zst"),
        "{err}"
    );
}

/// A reader that goes away (`kubectl intel synth --list | head -1`) ends the command
/// quietly, like any Unix tool, instead of a panic on the broken pipe.
#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_the_command_without_a_panic() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-intel"))
        .args(["synth", "--list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    // Killed by SIGPIPE (or done before it wrote again): never the panic's exit code 101.
    assert_ne!(status.code(), Some(101), "{status:?} {err}");
}
