//! Checks the packaging files: the Krew manifest (`plugin.yaml`), the krew-release-bot
//! template it is rendered from (`krew-manifest/intel.yaml`), and the in-cluster capture
//! examples (`deploy/rbac.yaml`, `deploy/capture-cronjob.yaml`). No network.
//!
//! The validators return lists of problems rather than panicking, so the tests at the
//! bottom can feed them deliberately broken input and prove each check can fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const BIN: &str = "kubectl-intel";
const RELEASES: &str = "https://github.com/kubectl-intel/kubectl-intel/releases/download";
/// The sha256 of the empty string: plugin.yaml's placeholder until there is a release.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const PLATFORMS: [(&str, &str); 5] = [
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
];
const ANALYSES: [&str; 5] = ["diagnose", "impact", "optimize", "dr-plan", "explain"];

const NAMESPACE: &str = "kubectl-intel";
const SERVICE_ACCOUNT: &str = "kubectl-intel-capture";
const CLUSTER_ROLE: &str = "kubectl-intel-capture";
const DISCOVERY_URLS: [&str; 5] = ["/version", "/api", "/api/*", "/apis", "/apis/*"];
/// Subresources that do more than read under `get` (kubelet API, websocket exec/attach/
/// port-forward on older API servers, HTTP proxying into workloads).
const UNSAFE_SUBRESOURCES: [&str; 6] = [
    "nodes/proxy",
    "pods/exec",
    "pods/attach",
    "pods/portforward",
    "pods/proxy",
    "services/proxy",
];

// ---------------------------------------------------------------------------------------
// Reading and navigating YAML
// ---------------------------------------------------------------------------------------

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn parse_one(name: &str, text: &str) -> Value {
    serde_saphyr::from_str::<Value>(text)
        .unwrap_or_else(|e| panic!("{name} is not valid YAML: {e}"))
}

fn parse_all(rel: &str) -> Vec<Value> {
    let docs = serde_saphyr::from_multiple::<Value>(&read(rel))
        .unwrap_or_else(|e| panic!("{rel} is not valid multi-document YAML: {e}"));
    assert!(!docs.is_empty(), "{rel} has no documents");
    docs
}

/// The string at a JSON pointer, or "" when it is missing or not a string.
fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The strings of the array at a JSON pointer (non-strings skipped), or none.
fn strs_at<'a>(v: &'a Value, pointer: &str) -> Vec<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn array_at<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The one document of `kind` named `name`; panics when there is none or more than one.
fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    let hits: Vec<&Value> = docs
        .iter()
        .filter(|d| str_at(d, "/kind") == kind && str_at(d, "/metadata/name") == name)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "expected exactly one {kind} {name:?}, found {}",
        hits.len()
    );
    hits[0]
}

fn is_lower_hex_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

// ---------------------------------------------------------------------------------------
// Krew manifest
// ---------------------------------------------------------------------------------------

/// Everything wrong with a Krew plugin manifest for `version` (without the leading v).
fn plugin_problems(m: &Value, version: &str) -> Vec<String> {
    let mut p = Vec::new();
    let mut expect = |pointer: &str, want: &str| {
        let got = str_at(m, pointer);
        if got != want {
            p.push(format!("{pointer} is {got:?}, want {want:?}"));
        }
    };
    expect(
        "/apiVersion",
        "krew.googlecontainertools.github.com/v1alpha2",
    );
    expect("/kind", "Plugin");
    expect("/metadata/name", "intel");
    expect("/spec/version", &format!("v{version}"));

    if !str_at(m, "/spec/homepage").starts_with("https://") {
        p.push("spec.homepage must be an https URL".into());
    }
    let short = str_at(m, "/spec/shortDescription");
    if short.trim().is_empty() || short.chars().count() >= 50 || short.contains('\n') {
        p.push(format!(
            "spec.shortDescription must be one line of 1-49 characters: {short:?}"
        ));
    }
    let description = str_at(m, "/spec/description");
    if description.lines().filter(|l| !l.trim().is_empty()).count() < 3 {
        p.push("spec.description must be several lines".into());
    }
    for word in ANALYSES
        .iter()
        .chain(&["MCP", "read-only", "RBAC", ".intel.tar.zst"])
    {
        if !description.contains(word) {
            p.push(format!("spec.description does not mention {word:?}"));
        }
    }
    if !str_at(m, "/spec/caveats").contains("deploy/rbac.yaml") {
        p.push("spec.caveats must point at deploy/rbac.yaml".into());
    }

    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (i, platform) in array_at(m, "/spec/platforms").iter().enumerate() {
        let labels = platform
            .pointer("/selector/matchLabels")
            .and_then(Value::as_object);
        let Some(labels) = labels else {
            p.push(format!("platforms[{i}] has no selector.matchLabels"));
            continue;
        };
        let os = labels.get("os").and_then(Value::as_str).unwrap_or("");
        let arch = labels.get("arch").and_then(Value::as_str).unwrap_or("");
        if labels.len() != 2 {
            p.push(format!(
                "platforms[{i}] matchLabels must be exactly os and arch"
            ));
        }
        *seen.entry((os.to_owned(), arch.to_owned())).or_default() += 1;

        let windows = os == "windows";
        let ext = if windows { ".zip" } else { ".tar.gz" };
        let uri = str_at(platform, "/uri");
        let want_uri = format!("{RELEASES}/v{version}/{BIN}_v{version}_{os}_{arch}{ext}");
        if uri != want_uri {
            p.push(format!("{os}/{arch}: uri is {uri:?}, want {want_uri:?}"));
        }
        let sha = str_at(platform, "/sha256");
        if !is_lower_hex_sha256(sha) {
            p.push(format!(
                "{os}/{arch}: sha256 {sha:?} is not 64 lowercase hex digits"
            ));
        }
        let bin = str_at(platform, "/bin");
        let want_bin = if windows {
            format!("{BIN}.exe")
        } else {
            BIN.to_owned()
        };
        if bin != want_bin {
            p.push(format!("{os}/{arch}: bin is {bin:?}, want {want_bin:?}"));
        }
        let files = array_at(platform, "/files");
        let copies = |from: &str| {
            files
                .iter()
                .any(|f| str_at(f, "/from") == from && str_at(f, "/to") == ".")
        };
        if !copies(&want_bin) {
            p.push(format!("{os}/{arch}: files do not copy {want_bin} to ."));
        }
        if !copies("LICENSE") {
            p.push(format!("{os}/{arch}: files do not copy LICENSE to ."));
        }
    }
    for (os, arch) in PLATFORMS {
        let n = seen.remove(&(os.to_owned(), arch.to_owned())).unwrap_or(0);
        if n != 1 {
            p.push(format!("platform {os}/{arch} appears {n} times, want 1"));
        }
    }
    for ((os, arch), _) in seen {
        p.push(format!("unexpected platform {os:?}/{arch:?}"));
    }
    p
}

/// Renders a krew-release-bot template the way the bot does (pkg/source/template.go):
/// `{{ .TagName }}` becomes the tag, and `{{addURIAndSha "URL" .TagName }}` becomes
/// `uri: URL` plus `sha256: …` on the next line with a fixed four-space indent. The
/// checksum is given instead of downloaded. Any other template syntax is an error.
fn render_release_template(template: &str, tag: &str, sha256: &str) -> String {
    const CALL: &str = "{{addURIAndSha \"";
    const TAIL: &str = "\" .TagName }}";
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find(CALL) {
        out.push_str(&rest[..start]);
        let after = &rest[start + CALL.len()..];
        let end = after
            .find(TAIL)
            .unwrap_or_else(|| panic!("an addURIAndSha call does not end in `{TAIL}`"));
        let url = after[..end].replace("{{ .TagName }}", tag);
        out.push_str(&format!("uri: {url}\n    sha256: {sha256}"));
        rest = &after[end + TAIL.len()..];
    }
    out.push_str(rest);
    let out = out.replace("{{ .TagName }}", tag);
    assert!(
        !out.contains("{{") && !out.contains("}}"),
        "template syntax left after rendering (only {{{{ .TagName }}}} and addURIAndSha are expected):\n{out}"
    );
    out
}

#[test]
fn plugin_manifest_is_valid() {
    let manifest = parse_one("plugin.yaml", &read("plugin.yaml"));
    let problems = plugin_problems(&manifest, VERSION);
    assert!(
        problems.is_empty(),
        "plugin.yaml:\n  {}",
        problems.join("\n  ")
    );
    assert_eq!(str_at(&manifest, "/spec/version"), format!("v{VERSION}"));
    assert_eq!(array_at(&manifest, "/spec/platforms").len(), 5);
}

#[test]
fn plugin_validator_rejects_broken_manifests() {
    let good = parse_one("plugin.yaml", &read("plugin.yaml"));
    assert!(plugin_problems(&good, VERSION).is_empty());

    type Breakage = fn(&mut Value);
    let breakages: [(&str, Breakage); 11] = [
        ("version without v", |m| {
            m["spec"]["version"] = json!(VERSION)
        }),
        ("wrong name", |m| {
            m["metadata"]["name"] = json!("kubectl-intel")
        }),
        ("long shortDescription", |m| {
            m["spec"]["shortDescription"] = json!("x".repeat(50))
        }),
        ("no description", |m| {
            m["spec"].as_object_mut().unwrap().remove("description");
        }),
        ("uppercase sha256", |m| {
            m["spec"]["platforms"][0]["sha256"] = json!(EMPTY_SHA256.to_uppercase())
        }),
        ("short sha256", |m| {
            m["spec"]["platforms"][1]["sha256"] = json!(&EMPTY_SHA256[1..])
        }),
        ("missing platform", |m| {
            m["spec"]["platforms"].as_array_mut().unwrap().pop();
        }),
        ("duplicate platform", |m| {
            let first = m["spec"]["platforms"][0].clone();
            m["spec"]["platforms"].as_array_mut().unwrap().push(first);
        }),
        ("windows tarball", |m| {
            let uri = format!("{RELEASES}/v{VERSION}/{BIN}_v{VERSION}_windows_amd64.tar.gz");
            m["spec"]["platforms"][4]["uri"] = json!(uri)
        }),
        ("windows bin without .exe", |m| {
            m["spec"]["platforms"][4]["bin"] = json!(BIN)
        }),
        ("files miss the binary", |m| {
            m["spec"]["platforms"][2]["files"] = json!([{"from": "LICENSE", "to": "."}])
        }),
    ];
    for (what, breakage) in breakages {
        let mut broken = good.clone();
        breakage(&mut broken);
        assert!(
            !plugin_problems(&broken, VERSION).is_empty(),
            "not caught: {what}"
        );
    }
    // A version bump in Cargo.toml without a manifest update is caught too.
    assert!(!plugin_problems(&good, "9.9.9").is_empty());
}

#[test]
fn release_template_has_one_add_uri_and_sha_per_platform() {
    let template = read("krew-manifest/intel.yaml");
    assert!(template.contains("{{ .TagName }}"));
    assert!(
        template.contains("version: \"{{ .TagName }}\""),
        "spec.version must be the release tag"
    );
    assert_eq!(template.matches("addURIAndSha").count(), 5);

    let calls: Vec<&str> = template
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("{{addURIAndSha"))
        .collect();
    assert_eq!(calls.len(), 5, "{calls:#?}");
    for (os, arch) in PLATFORMS {
        let ext = if os == "windows" { "zip" } else { "tar.gz" };
        let want = format!(
            "{{{{addURIAndSha \"{RELEASES}/{{{{ .TagName }}}}/{BIN}_{{{{ .TagName }}}}_{os}_{arch}.{ext}\" .TagName }}}}"
        );
        let n = calls.iter().filter(|c| **c == want).count();
        assert_eq!(n, 1, "want exactly one line `{want}`");
    }
    // The bot indents the sha256 line by four spaces: the call must sit at that depth.
    for line in template.lines().filter(|l| l.contains("addURIAndSha")) {
        assert!(
            line.starts_with("    {{"),
            "addURIAndSha must be indented 4 spaces: {line:?}"
        );
    }
    // The bot runs the whole file through Go's text/template, YAML comments included.
    for line in template.lines().filter(|l| l.trim_start().starts_with('#')) {
        assert!(
            !line.contains("{{"),
            "template syntax in a comment: {line:?}"
        );
    }
}

#[test]
fn release_template_renders_to_plugin_yaml() {
    let template = read("krew-manifest/intel.yaml");
    let rendered = render_release_template(&template, &format!("v{VERSION}"), EMPTY_SHA256);
    let rendered = parse_one("rendered krew-manifest/intel.yaml", &rendered);
    let problems = plugin_problems(&rendered, VERSION);
    assert!(
        problems.is_empty(),
        "rendered template:\n  {}",
        problems.join("\n  ")
    );

    // plugin.yaml is the template rendered for this version: the two must not drift.
    let plugin = parse_one("plugin.yaml", &read("plugin.yaml"));
    assert_eq!(
        rendered, plugin,
        "krew-manifest/intel.yaml and plugin.yaml differ"
    );

    // Rendering for another tag really substitutes it.
    let other = render_release_template(&template, "v9.8.7", EMPTY_SHA256);
    let other = parse_one("rendered for v9.8.7", &other);
    assert!(plugin_problems(&other, "9.8.7").is_empty());
    assert_ne!(other, plugin);
}

// ---------------------------------------------------------------------------------------
// RBAC
// ---------------------------------------------------------------------------------------

/// Everything that makes a rule list more than the minimal read-only grant.
fn rule_problems(rules: &[Value]) -> Vec<String> {
    let mut p = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let verbs = strs_at(rule, "/verbs");
        if verbs.is_empty() {
            p.push(format!("rules[{i}] has no verbs"));
        }
        for verb in &verbs {
            if !matches!(*verb, "get" | "list") {
                p.push(format!(
                    "rules[{i}] grants verb {verb:?}; only get and list are allowed"
                ));
            }
        }
        let urls = strs_at(rule, "/nonResourceURLs");
        let groups = strs_at(rule, "/apiGroups");
        let resources = strs_at(rule, "/resources");
        if !urls.is_empty() {
            if !groups.is_empty() || !resources.is_empty() {
                p.push(format!("rules[{i}] mixes nonResourceURLs with resources"));
            }
            if verbs != ["get"] {
                p.push(format!("rules[{i}] (nonResourceURLs) must grant only get"));
            }
            for url in urls {
                if !DISCOVERY_URLS.contains(&url) {
                    p.push(format!("rules[{i}] grants non-discovery URL {url:?}"));
                }
            }
            continue;
        }
        if groups.is_empty() || resources.is_empty() {
            p.push(format!("rules[{i}] needs apiGroups and resources"));
        }
        if groups.contains(&"*") {
            p.push(format!("rules[{i}] grants every API group"));
        }
        if groups.contains(&"") && resources.contains(&"*") {
            p.push(format!(
                "rules[{i}] grants every core resource (secrets and proxies too)"
            ));
        }
        for resource in &resources {
            if UNSAFE_SUBRESOURCES.contains(resource) || resource.starts_with("*/") {
                p.push(format!("rules[{i}] grants {resource:?}"));
            }
        }
        if resources.contains(&"secrets") && resources.len() != 1 {
            p.push(format!("rules[{i}]: secrets must have a rule of their own"));
        }
        if rule.get("resourceNames").is_some() {
            p.push(format!("rules[{i}] uses resourceNames"));
        }
    }
    p
}

/// Whether `rules` allow `verb` on `resource` (`pods/log` for a subresource) in `group`,
/// with the API server's matching: "*" matches any group, resource (subresources too) or
/// verb.
fn grants(rules: &[Value], group: &str, resource: &str, verb: &str) -> bool {
    rules.iter().any(|rule| {
        let any = |pointer: &str, want: &str| {
            strs_at(rule, pointer)
                .iter()
                .any(|x| *x == "*" || *x == want)
        };
        any("/apiGroups", group) && any("/resources", resource) && any("/verbs", verb)
    })
}

#[test]
fn rbac_cluster_role_is_read_only() {
    let docs = parse_all("deploy/rbac.yaml");
    let namespace = find(&docs, "Namespace", NAMESPACE);
    assert_eq!(
        str_at(
            namespace,
            "/metadata/labels/pod-security.kubernetes.io~1enforce"
        ),
        "restricted"
    );
    let sa = find(&docs, "ServiceAccount", SERVICE_ACCOUNT);
    assert_eq!(str_at(sa, "/metadata/namespace"), NAMESPACE);

    let role = find(&docs, "ClusterRole", CLUSTER_ROLE);
    assert_eq!(str_at(role, "/apiVersion"), "rbac.authorization.k8s.io/v1");
    assert!(
        role.get("aggregationRule").is_none(),
        "an aggregated role would pull in other roles' verbs"
    );
    let rules = array_at(role, "/rules");
    assert!(!rules.is_empty());
    let problems = rule_problems(rules);
    assert!(
        problems.is_empty(),
        "ClusterRole {CLUSTER_ROLE}:\n  {}",
        problems.join("\n  ")
    );

    let verbs: BTreeSet<&str> = rules.iter().flat_map(|r| strs_at(r, "/verbs")).collect();
    assert_eq!(verbs, BTreeSet::from(["get", "list"]));

    // Discovery, exactly.
    let discovery: Vec<&Value> = rules
        .iter()
        .filter(|r| r.get("nonResourceURLs").is_some())
        .collect();
    assert_eq!(discovery.len(), 1);
    let urls: BTreeSet<&str> = strs_at(discovery[0], "/nonResourceURLs")
        .into_iter()
        .collect();
    assert_eq!(urls, BTreeSet::from(DISCOVERY_URLS));
    assert_eq!(strs_at(discovery[0], "/verbs"), ["get"]);

    // What capture reads.
    for (group, resource, verb) in [
        ("", "pods", "list"),
        ("", "nodes", "list"),
        ("", "namespaces", "list"),
        ("", "events", "list"),
        ("", "configmaps", "list"),
        ("", "services", "get"),
        ("", "pods/log", "get"),
        ("", "secrets", "list"),
        ("apps", "deployments", "list"),
        ("batch", "cronjobs", "list"),
        ("events.k8s.io", "events", "list"),
        ("discovery.k8s.io", "endpointslices", "list"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
        ("metrics.k8s.io", "nodes", "list"),
        ("metrics.k8s.io", "pods", "get"),
        ("gateway.networking.k8s.io", "httproutes", "list"),
    ] {
        assert!(
            grants(rules, group, resource, verb),
            "{verb} {group}/{resource} not granted"
        );
    }
    // And what it must not be able to do.
    for (group, resource, verb) in [
        ("", "pods", "watch"),
        ("", "pods", "delete"),
        ("", "pods/exec", "get"),
        ("", "pods/exec", "create"),
        ("", "pods/portforward", "get"),
        ("", "nodes/proxy", "get"),
        ("", "services/proxy", "get"),
        ("", "secrets", "watch"),
        ("", "serviceaccounts/token", "create"),
        ("", "users", "impersonate"),
        ("apps", "deployments", "patch"),
        ("rbac.authorization.k8s.io", "clusterroles", "escalate"),
        ("rbac.authorization.k8s.io", "clusterroles", "bind"),
        ("metrics.k8s.io", "pods", "watch"),
    ] {
        assert!(
            !grants(rules, group, resource, verb),
            "{verb} {group}/{resource} granted"
        );
    }
    // Secrets sit in a rule of their own, so deleting that rule removes the access.
    let without_secrets: Vec<Value> = rules
        .iter()
        .filter(|r| strs_at(r, "/resources") != ["secrets"])
        .cloned()
        .collect();
    assert_eq!(without_secrets.len(), rules.len() - 1);
    assert!(!grants(&without_secrets, "", "secrets", "list"));
    assert!(!grants(&without_secrets, "", "secrets", "get"));

    // Nothing else in the file grants anything.
    for doc in &docs {
        let kind = str_at(doc, "/kind");
        assert!(
            !matches!(kind, "Role" | "RoleBinding")
                && (kind != "ClusterRole" || str_at(doc, "/metadata/name") == CLUSTER_ROLE),
            "unexpected {kind} in deploy/rbac.yaml"
        );
    }
}

#[test]
fn rbac_binding_ties_the_role_to_the_service_account() {
    let docs = parse_all("deploy/rbac.yaml");
    let bindings: Vec<&Value> = docs
        .iter()
        .filter(|d| str_at(d, "/kind") == "ClusterRoleBinding")
        .collect();
    assert_eq!(bindings.len(), 1);
    let binding = bindings[0];
    assert_eq!(
        str_at(binding, "/roleRef/apiGroup"),
        "rbac.authorization.k8s.io"
    );
    assert_eq!(str_at(binding, "/roleRef/kind"), "ClusterRole");
    assert_eq!(str_at(binding, "/roleRef/name"), CLUSTER_ROLE);
    let subjects = array_at(binding, "/subjects");
    assert_eq!(subjects.len(), 1, "bind the capture service account only");
    assert_eq!(str_at(&subjects[0], "/kind"), "ServiceAccount");
    assert_eq!(str_at(&subjects[0], "/name"), SERVICE_ACCOUNT);
    assert_eq!(str_at(&subjects[0], "/namespace"), NAMESPACE);
    // The names it refers to exist in the same file.
    find(&docs, "ClusterRole", CLUSTER_ROLE);
    find(&docs, "ServiceAccount", SERVICE_ACCOUNT);
}

#[test]
fn rbac_rule_check_rejects_broad_rules() {
    let broken = [
        json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}),
        json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}),
        json!({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]}),
        json!({"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}),
        json!({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["escalate"]}),
        json!({"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]}),
        json!({"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}),
        json!({"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]}),
        json!({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get"]}),
        json!({"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["list"]}),
        json!({"nonResourceURLs": ["/metrics"], "verbs": ["get"]}),
        json!({"nonResourceURLs": ["/api"], "verbs": ["get", "list"]}),
        json!({"apiGroups": [""], "resources": ["pods"], "verbs": []}),
    ];
    for rule in broken {
        assert!(
            !rule_problems(std::slice::from_ref(&rule)).is_empty(),
            "not caught: {rule}"
        );
    }
    let fine = json!({"apiGroups": ["apps"], "resources": ["*"], "verbs": ["get", "list"]});
    assert!(rule_problems(&[fine]).is_empty());
}

// ---------------------------------------------------------------------------------------
// CronJob
// ---------------------------------------------------------------------------------------

#[test]
fn capture_cronjob_runs_as_the_capture_service_account() {
    let rbac = parse_all("deploy/rbac.yaml");
    let sa = find(&rbac, "ServiceAccount", SERVICE_ACCOUNT);
    let docs = parse_all("deploy/capture-cronjob.yaml");
    let cronjobs: Vec<&Value> = docs
        .iter()
        .filter(|d| str_at(d, "/kind") == "CronJob")
        .collect();
    assert_eq!(cronjobs.len(), 1);
    let cron = cronjobs[0];

    assert_eq!(str_at(cron, "/apiVersion"), "batch/v1");
    assert_eq!(str_at(cron, "/metadata/namespace"), NAMESPACE);
    assert_eq!(
        str_at(cron, "/metadata/namespace"),
        str_at(sa, "/metadata/namespace")
    );
    assert_eq!(str_at(cron, "/spec/schedule").split_whitespace().count(), 5);
    assert_eq!(str_at(cron, "/spec/concurrencyPolicy"), "Forbid");
    assert_eq!(
        cron.pointer("/spec/successfulJobsHistoryLimit"),
        Some(&json!(3))
    );

    let pod = cron
        .pointer("/spec/jobTemplate/spec/template/spec")
        .expect("CronJob has no pod template");
    assert_eq!(
        str_at(pod, "/serviceAccountName"),
        str_at(sa, "/metadata/name")
    );
    assert_eq!(str_at(pod, "/serviceAccountName"), SERVICE_ACCOUNT);
    assert!(matches!(
        str_at(pod, "/restartPolicy"),
        "Never" | "OnFailure"
    ));
    assert_eq!(
        pod.pointer("/securityContext/runAsNonRoot"),
        Some(&json!(true))
    );
    assert_eq!(
        str_at(pod, "/securityContext/seccompProfile/type"),
        "RuntimeDefault"
    );

    let containers = array_at(pod, "/containers");
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(
        str_at(c, "/image"),
        format!("ghcr.io/kubectl-intel/kubectl-intel:v{VERSION}")
    );
    assert_eq!(
        c.pointer("/securityContext/readOnlyRootFilesystem"),
        Some(&json!(true))
    );
    assert_eq!(
        c.pointer("/securityContext/allowPrivilegeEscalation"),
        Some(&json!(false))
    );
    assert_eq!(strs_at(c, "/securityContext/capabilities/drop"), ["ALL"]);
    for pointer in [
        "/resources/requests/cpu",
        "/resources/requests/memory",
        "/resources/limits/cpu",
        "/resources/limits/memory",
    ] {
        assert!(!str_at(c, pointer).is_empty(), "container has no {pointer}");
    }

    let script = [strs_at(c, "/command"), strs_at(c, "/args")]
        .concat()
        .join(" ");
    for needle in [
        "kubectl-intel capture -A",
        "--out",
        "/captures/",
        ".intel.tar.zst",
    ] {
        assert!(
            script.contains(needle),
            "capture command lacks {needle:?}: {script}"
        );
    }
    // Kubernetes expands `$(NAME)` in command/args itself; a shell's `$(...)` must be `$$(`.
    for (i, _) in script.match_indices("$(") {
        assert!(
            i > 0 && script.as_bytes()[i - 1] == b'$',
            "unescaped $( in: {script}"
        );
    }

    // /captures is a PVC defined in the same file and namespace.
    let mount = array_at(c, "/volumeMounts")
        .iter()
        .find(|m| str_at(m, "/mountPath") == "/captures")
        .expect("nothing mounted at /captures");
    let volume = array_at(pod, "/volumes")
        .iter()
        .find(|v| str_at(v, "/name") == str_at(mount, "/name"))
        .expect("the /captures mount has no volume");
    let claim = str_at(volume, "/persistentVolumeClaim/claimName");
    assert!(
        !claim.is_empty(),
        "/captures is not a PersistentVolumeClaim"
    );
    let pvc = find(&docs, "PersistentVolumeClaim", claim);
    assert_eq!(str_at(pvc, "/metadata/namespace"), NAMESPACE);
    assert!(!str_at(pvc, "/spec/resources/requests/storage").is_empty());
    assert!(!strs_at(pvc, "/spec/accessModes").is_empty());

    // With a read-only root filesystem, every writable path is a volume; and the
    // namespace enforces the restricted Pod Security Standard: PVC and emptyDir only.
    for v in array_at(pod, "/volumes") {
        assert!(
            v.get("persistentVolumeClaim").is_some() || v.get("emptyDir").is_some(),
            "volume {} is neither a PVC nor an emptyDir",
            str_at(v, "/name")
        );
    }
}
