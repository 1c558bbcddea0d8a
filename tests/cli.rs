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

/// Terminal control sequences in cluster text (an OSC 52 clipboard write, colours, a bell)
/// reach no terminal: text and Markdown answers carry the text without them (issue 25).
#[test]
fn control_sequences_in_cluster_text_are_stripped() {
    let dir = tempfile::tempdir().unwrap();
    let hostile =
        "back-off restarting failed container \u{1b}]52;c;Y3VybCBldmlsLmV4YW1wbGU=\u{7} \u{1b}[2J";
    let pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("web-1{hostile}"), "namespace": "shop", "uid": "p1", "creationTimestamp": "2026-11-24T12:00:00Z"},
        "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "web:1"}]},
        "status": {"phase": "Running", "containerStatuses": [{"name": "app", "ready": false, "restartCount": 9,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting failed container"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-11-24T13:58:00Z"}}}]}
    });
    let snap = kubectl_intel::fixture::snapshot_of("2026-11-24T14:00:00Z", vec![pod]);
    let bundle = dir.path().join("hostile.intel.tar.zst");
    kubectl_intel::bundle::write_bundle(&snap, &bundle).unwrap();
    for format in ["text", "markdown"] {
        let out = bin()
            .args(["diagnose", "", "--bundle"])
            .arg(&bundle)
            .args(["-o", format])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            stdout.contains("]52;c;"),
            "the message reached the {format} answer: {stdout}"
        );
        assert!(
            !stdout
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{format}: {stdout:?}"
        );
    }
}

/// A crafted name (`|`, `<script>`, a newline, backticks, `$()`) cannot break a Markdown
/// answer: table rows keep their columns, no HTML gets through, the command block stays
/// closed (issue 25).
#[test]
fn hostile_names_do_not_break_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let name = "web|x<script>alert(1)</script>\n## owned ```$(touch /tmp/p)``` `";
    let pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "uid": "p1", "creationTimestamp": "2026-11-24T12:00:00Z"},
        "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "web:1"}]},
        "status": {"phase": "Running", "containerStatuses": [{"name": "app", "ready": false, "restartCount": 9,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-11-24T13:58:00Z"}}}]}
    });
    let snap = kubectl_intel::fixture::snapshot_of("2026-11-24T14:00:00Z", vec![pod]);
    let bundle = dir.path().join("names.intel.tar.zst");
    kubectl_intel::bundle::write_bundle(&snap, &bundle).unwrap();
    let diagnose = |format: &str| {
        common::text_of(
            bin()
                .args(["diagnose", "", "--bundle"])
                .arg(&bundle)
                .args(["-o", format]),
        )
    };
    let md = diagnose("markdown");
    // The name holds a line break: no command carries it (a comment would end there).
    let commands = common::commands(&serde_json::from_str(&diagnose("json")).unwrap());
    assert!(!commands.is_empty());
    for c in &commands {
        assert!(!c.contains('\n'), "a line break in {c:?}");
    }
    assert_markdown_safe(&md);
    // explain's own views (timeline, service map, alert gaps) too.
    let md = common::text_of(
        bin()
            .args([
                "explain",
                "what happened, how are services connected, why no alerts?",
                "--bundle",
            ])
            .arg(&bundle)
            .args(["-o", "markdown"]),
    );
    assert!(md.contains("owned"), "the name is in the answer: {md}");
    assert_markdown_safe(&md);
}

/// No HTML outside code, no heading a name started, tables keep their shape, fences close.
fn assert_markdown_safe(md: &str) {
    // No HTML outside code: fenced blocks and code spans show it as text.
    let mut in_fence = false;
    for line in md.lines() {
        if line.trim().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        for (i, part) in line.split('`').enumerate() {
            assert!(
                i % 2 == 1 || !part.contains("<script>"),
                "HTML in prose: {line}"
            );
        }
    }
    assert!(
        !md.contains("\n## owned"),
        "a name cannot start a heading: {md}"
    );
    // Table rows: as many unescaped pipes as their header.
    let unescaped = |l: &str| {
        l.match_indices('|')
            .filter(|(i, _)| *i == 0 || &l[i - 1..*i] != "\\")
            .count()
    };
    let mut header = None;
    for line in md.lines() {
        if line.starts_with('|') {
            let n = unescaped(line);
            match header {
                None => header = Some(n),
                Some(h) => assert_eq!(n, h, "a row lost its shape: {line}"),
            }
        } else {
            header = None;
        }
    }
    // Every fence that opens closes with the same fence.
    let fences: Vec<&str> = md
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("```"))
        .collect();
    assert!(fences.len() % 2 == 0, "{md}");
    for pair in fences.chunks(2) {
        assert!(pair[0].starts_with(pair[1]), "{pair:?}");
    }
}

/// Names from a bundle are untrusted: every suggested command keeps each one a single
/// shell word, whatever it holds (`$()`, backticks, `|`, `;`, `&`, spaces), checked by
/// splitting the commands as a POSIX shell would; a name with a line break gets no
/// command at all (a comment would end at it and run the rest).
#[test]
fn hostile_names_stay_one_shell_word_in_suggested_commands() {
    let dir = tempfile::tempdir().unwrap();
    let deploy = "web$(touch /tmp/p)`id`|x;y &z";
    let container = "app$(id)";
    let node = "n1;reboot";
    let labels = serde_json::json!({"app": "web"});
    let mut objects = vec![
        serde_json::json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": node, "uid": "n1", "labels": {"kubernetes.io/hostname": "n1"}},
            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                    "lastTransitionTime": "2026-11-24T13:00:00Z", "message": "PLEG is not healthy"}]}}),
        serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": deploy, "namespace": "shop", "uid": "d1", "generation": 1},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": container, "image": "web:1",
                    "resources": {"limits": {"memory": "128Mi"}, "requests": {"memory": "64Mi"}}}]}}},
            "status": {"replicas": 2, "readyReplicas": 0, "observedGeneration": 1}}),
        serde_json::json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": format!("{deploy}-5d8f"), "namespace": "shop", "uid": "rs1",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": deploy, "uid": "d1", "controller": true}],
                "annotations": {"deployment.kubernetes.io/revision": "1"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}}},
            "status": {"replicas": 2, "readyReplicas": 0}}),
    ];
    for i in 0..2 {
        objects.push(serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("{deploy}-5d8f-{i}"), "namespace": "shop", "uid": format!("p{i}"),
                "labels": labels, "creationTimestamp": "2026-11-24T12:00:00Z",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{deploy}-5d8f"), "uid": "rs1", "controller": true}]},
            "spec": {"nodeName": node, "containers": [{"name": container, "image": "web:1",
                "resources": {"limits": {"memory": "128Mi"}, "requests": {"memory": "64Mi"}}}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": container, "ready": false, "restartCount": 7,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                    "startedAt": "2026-11-24T13:57:00Z", "finishedAt": "2026-11-24T13:58:00Z"}}}]}}));
    }
    let snap = kubectl_intel::fixture::snapshot_of("2026-11-24T14:00:00Z", objects);
    let bundle = dir.path().join("names.intel.tar.zst");
    kubectl_intel::bundle::write_bundle(&snap, &bundle).unwrap();
    let report = common::json_of(
        bin()
            .args(["diagnose", "", "--bundle"])
            .arg(&bundle)
            .args(["-o", "json"]),
    );
    let commands: Vec<String> = common::commands(&report)
        .into_iter()
        .filter(|c| c.starts_with("kubectl"))
        .collect();
    let mut named = 0;
    for cmd in &commands {
        // What a shell runs: up to the comment.
        let run = cmd.split("   #").next().unwrap();
        let words = shlex::split(run).unwrap_or_else(|| panic!("not a shell line: {cmd}"));
        for (name, marker) in [(deploy, "touch"), (container, "$(id)"), (node, "reboot")] {
            for w in words.iter().filter(|w| w.contains(marker)) {
                assert!(w.contains(name), "{name:?} split in {cmd:?}: {words:?}");
                named += 1;
            }
        }
    }
    assert!(
        named >= 3,
        "the names are in too few commands: {commands:#?}"
    );
}

/// An error names its cause once: a missing bundle says "No such file or directory" one
/// time, not once per layer of the error chain.
#[test]
fn errors_say_their_cause_once() {
    let out = bin()
        .args(["diagnose", "x", "--bundle", "/nonexistent/b.intel.tar.zst"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/b.intel.tar.zst"), "{stderr}");
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
}
