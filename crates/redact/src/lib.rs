//! Redaction of credentials before anything is written into a snapshot bundle.
//!
//! Bundles get attached to tickets, mailed around and fed to tools, so they must never
//! carry Secret values, service-account tokens or kubeconfig credentials, and by default
//! they do not carry credential-looking env values, ConfigMap values or log fragments
//! either. Everything else stays intact: names, namespaces, labels and host names are
//! what the analyses (and the people reading a bundle) work from.
//!
//! A redacted value is replaced by a stable token `<redacted:0123456789ab>` — the first
//! 12 hex characters of the value's SHA-256 — so equal secrets still correlate across
//! objects and logs ("these two Deployments share a database password") without the
//! value itself being in the bundle. Redaction is idempotent: tokens are never
//! re-tokened, so running it twice over the same data changes nothing.
//!
//! The public surface and the token format live here. How text is scanned (`text`), which
//! names mark a value as a credential (`names`) and how an object is walked (`object`) are
//! separate submodules because they change for different reasons: a new credential format
//! touches only the text rules, a new resource quirk only the walk.

mod names;
mod object;
mod text;

use std::borrow::Cow;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use regex::{Regex, RegexSet};
use serde_json::Value;
use sha2::{Digest, Sha256};

use text::{BUILTIN, Rule, always};

/// Annotation added to every redacted Secret.
const REDACTED_ANNOTATION: &str = "intel.kubectl.io/redacted";
/// kubectl's copy of the applied object; for Secrets it holds the values.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
const TOKEN_PREFIX: &str = "<redacted:";
const TOKEN_HEX_LEN: usize = 12;

/// An error building a [`Redactor`].
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    /// A `--redact-pattern` is not a valid regular expression.
    #[error("invalid --redact-pattern {pattern:?}: {source}")]
    Pattern {
        pattern: String,
        #[source]
        source: regex::Error,
    },
}

/// An existing token; text inside one is never redacted again.
static TOKEN_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<redacted:[0-9a-f]{12}>").expect("token regex compiles"));

/// Whether `s` is exactly one redaction token.
fn is_token(s: &str) -> bool {
    s.len() == TOKEN_PREFIX.len() + TOKEN_HEX_LEN + 1
        && s.starts_with(TOKEN_PREFIX)
        && s.ends_with('>')
        && s[TOKEN_PREFIX.len()..s.len() - 1]
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Redacts free text with the built-in rules. The analyses pass every piece of cluster
/// text they quote (evidence, messages, timeline entries, service-map log lines) through
/// it, so a bundle written without redaction — by another tool, by hand — still cannot
/// leak a credential into a report. Idempotent: tokens are left as they are.
/// Text safe to print on a terminal: control characters other than newline and tab are
/// removed (ESC, BEL, C1 controls, DEL), so cluster text in a report — a log line, an event
/// message, a crafted object name — cannot move the cursor, recolour the screen or write to
/// the clipboard (OSC 52). Our own output has no such characters, so this is applied to the
/// whole of a text or Markdown answer at the surface.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if text.chars().any(unsafe_char) {
        Cow::Owned(text.chars().filter(|&c| !unsafe_char(c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

pub fn scrub(text: &str) -> Cow<'_, str> {
    match builtin_only() {
        Some(r) => r.redact_text(text),
        // The built-in rules always compile; were they ever not to, quote nothing.
        None => Cow::Borrowed("<redaction unavailable: text withheld>"),
    }
}

fn builtin_only() -> Option<&'static Redactor> {
    static BUILTIN_ONLY: std::sync::OnceLock<Option<Redactor>> = std::sync::OnceLock::new();
    BUILTIN_ONLY
        .get_or_init(|| Redactor::new(&[]).ok())
        .as_ref()
}

/// [`Redactor::redact_object`] with the built-in rules: a Kubernetes object from a bundle
/// nobody redacted (an import, an old bundle) made safe to show — Secret values, env
/// values and ConfigMap entries named like credentials, last-applied copies, text.
pub fn scrub_object(obj: &mut Value) {
    match builtin_only() {
        Some(r) => r.redact_object(obj),
        None => *obj = Value::String("<redaction unavailable: object withheld>".into()),
    }
}

/// [`scrub`] on every string of a JSON tree, in place: the last pass over an answer.
pub fn scrub_strings(v: &mut Value) {
    match v {
        Value::String(s) => {
            if let Cow::Owned(clean) = scrub(s) {
                *s = clean;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(scrub_strings),
        Value::Object(m) => m.values_mut().for_each(scrub_strings),
        _ => {}
    }
}

/// Replaces credentials in Kubernetes objects and free text by stable tokens.
///
/// Cheap to share: all methods take `&self` and the counter is atomic, so one
/// `Redactor` can serve every capture task.
#[derive(Debug)]
pub struct Redactor {
    /// `--redact-pattern` rules, after the built-in ones.
    user: Vec<Rule>,
    /// Built-in then user patterns, same indices; a quick "anything here?" pass.
    set: Option<RegexSet>,
    count: AtomicU64,
}

impl Redactor {
    /// Builds a redactor with the built-in rules plus `extra_patterns` (from
    /// `--redact-pattern`). Fails on the first pattern that is not a valid regex.
    pub fn new(extra_patterns: &[String]) -> Result<Self, RedactError> {
        let user = extra_patterns
            .iter()
            .map(|pattern| {
                Regex::new(pattern)
                    .map(|re| Rule {
                        description: format!(
                            "user pattern `{pattern}`: every match (or its first capture group) tokened, in logs and in all string values"
                        ),
                        re,
                        accept: always,
                    })
                    .map_err(|source| RedactError::Pattern {
                        pattern: pattern.clone(),
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The set is only an accelerator: if it cannot be built (size limits), every
        // rule is simply run.
        let set = RegexSet::new(
            BUILTIN
                .iter()
                .chain(user.iter())
                .map(|rule| rule.re.as_str()),
        )
        .ok();
        Ok(Self {
            user,
            set,
            count: AtomicU64::new(0),
        })
    }

    /// `"<redacted:"` + the first 12 hex characters of `sha256(value)` + `">"`.
    pub fn token(value: &str) -> String {
        let digest = Sha256::digest(value.as_bytes());
        format!(
            "{TOKEN_PREFIX}{}>",
            hex::encode(&digest[..TOKEN_HEX_LEN / 2])
        )
    }

    /// Redacts a Kubernetes object (full JSON with apiVersion/kind) in place.
    ///
    /// Secrets keep metadata, type and key names only; credential-like env values,
    /// ConfigMap values and annotation contents are tokened; everything else
    /// (names, namespaces, labels, specs) is left intact except for matches of
    /// user patterns, which apply to every string value.
    pub fn redact_object(&self, obj: &mut Value) {
        self.walk(obj, None);
    }

    /// Redacts free text (a container log, an event message). Only the secret part
    /// of a match is replaced; returns `Cow::Borrowed` when nothing matched.
    pub fn redact_text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut ranges = Vec::new();
        self.collect_text_ranges(text, &mut ranges);
        self.replace_ranges(text, ranges)
    }

    /// Human-readable list of the rules applied, for the bundle manifest (stable order).
    pub fn rules(&self) -> Vec<String> {
        let mut rules = vec![
            "Secret (any type, including kubernetes.io/service-account-token): every data and \
             stringData value emptied; metadata, type and key names kept; \
             kubectl.kubernetes.io/last-applied-configuration removed; annotation \
             intel.kubectl.io/redacted=data added"
                .to_owned(),
            "name/value pairs anywhere (container env, headers, parameters): value tokened \
             when the name looks like a credential (password, passwd, pwd, passphrase, \
             secret, token, api key, access key, private key, credential, auth, pass); \
             connection strings (DSN, URL, connection string names) keep their host with \
             only the password tokened; other values get the text rules"
                .to_owned(),
            "ConfigMap: data values under credential-like keys tokened, other data values \
             get the text rules; binaryData values under credential-like keys emptied"
                .to_owned(),
            "container args/command: text rules, plus the value after a lone \
             --password/--token/--secret/--api-key style flag"
                .to_owned(),
            "kubectl.kubernetes.io/last-applied-configuration (non-Secrets): parsed and \
             redacted with these same rules; tokened whole if it is not JSON"
                .to_owned(),
            "other annotation values and Event messages: text rules".to_owned(),
            format!(
                "tokens are {TOKEN_PREFIX}<first {TOKEN_HEX_LEN} hex of sha256(value)>, so equal \
                 secrets get equal tokens; existing tokens are never re-tokened"
            ),
        ];
        rules.extend(
            BUILTIN
                .iter()
                .map(|rule| format!("text: {}", rule.description)),
        );
        rules.extend(self.user.iter().map(|rule| rule.description.clone()));
        rules
    }

    /// How many values were replaced so far.
    pub fn redacted_count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn terminal_control_sequences_are_removed() {
        use super::terminal_safe;
        assert_eq!(terminal_safe("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(
            terminal_safe("pod \u{1b}[31mred\u{1b}[0m \u{1b}]52;c;aGk=\u{7} \u{9b}2J\u{7f}end"),
            "pod [31mred[0m ]52;c;aGk= 2Jend"
        );
        assert!(matches!(terminal_safe("ok"), std::borrow::Cow::Borrowed(_)));
    }

    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::json;

    const AWS_KEY_ID: &str = "AKIAIOSFODNN7CANARY7";
    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnktand0In0.c2lnbmF0dXJlLWNhbmFyeS04";
    const PEM_BODY: &str = "MIIEpAIBAAKCAQEAcanaryPemBody9\nQk9HVVNfUEVNX0NBTkFSWV9MSU5FXzI=";

    pub(super) fn redactor() -> Redactor {
        Redactor::new(&[]).expect("no user patterns")
    }

    fn secret() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "db-creds",
                "namespace": "shop",
                "labels": {"app": "db"},
                "annotations": {
                    LAST_APPLIED: "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"stringData\":{\"password\":\"CANARY-SECRET-1\"}}\n",
                    "team": "payments"
                }
            },
            "type": "Opaque",
            "data": {"password": STANDARD.encode("CANARY-SECRET-1"), "user": STANDARD.encode("app")},
            "stringData": {"other": "CANARY-SECRET-1b"}
        })
    }

    fn sa_token_secret() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "default-token-abcde", "namespace": "shop"},
            "type": "kubernetes.io/service-account-token",
            "data": {"token": STANDARD.encode(JWT), "ca.crt": STANDARD.encode("CANARY-CA"), "namespace": STANDARD.encode("shop")}
        })
    }

    fn deployment() -> Value {
        let last_applied = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "checkout", "namespace": "shop"},
            "spec": {"template": {"spec": {"containers": [{
                "name": "app",
                "env": [{"name": "DB_PASSWORD", "value": "CANARY-LAST-6"}]
            }]}}}
        });
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "checkout",
                "namespace": "shop",
                "uid": "1234-5678",
                "labels": {"app": "checkout"},
                "annotations": {
                    LAST_APPLIED: format!("{last_applied}\n"),
                    "deployment.kubernetes.io/revision": "3"
                }
            },
            "spec": {
                "selector": {"matchLabels": {"app": "checkout"}},
                "template": {
                    "metadata": {"labels": {"app": "checkout"}},
                    "spec": {"containers": [{
                        "name": "app",
                        "image": "shop/checkout:1.2",
                        "command": ["/app", "--password=CANARY-ARG-7", "--token", "CANARY-ARG-8"],
                        "args": ["sh", "-c", "exec /app --secret CANARY-ARG-9 --port 80"],
                        "env": [
                            {"name": "DB_PASSWORD", "value": "CANARY-ENV-2"},
                            {"name": "DATABASE_URL", "value": "postgres://app:CANARY-URL-3@db.shop:5432/x"},
                            {"name": "MYSQL_DSN", "value": "app:CANARY-DSN-10@tcp(mysql.shop:3306)/orders"},
                            {"name": "LOG_LEVEL", "value": "debug"},
                            {"name": "UPSTREAM", "value": "http://payments.shop:8080/api"},
                            {"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db"},
                            {"name": "PG_PASS", "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "password"}}}
                        ],
                        "readinessProbe": {"httpGet": {"path": "/ready", "port": 80,
                            "httpHeaders": [{"name": "Authorization", "value": "Bearer CANARY-HDR-11"}]}}
                    }]}
                }
            }
        })
    }

    fn config_map() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "app-config", "namespace": "shop"},
            "data": {
                "api_token": "CANARY-CM-TOKEN-12",
                "app.conf": "listen = 0.0.0.0:8080\nupstream = http://inventory.shop:9000\npassword = CANARY-CM-4\n",
                "settings.json": "{\"db\": {\"host\": \"db.shop\", \"password\": \"CANARY CM 13\"}}",
                "replicas": "3"
            },
            "binaryData": {"private.key": STANDARD.encode("CANARY-BIN-14"), "logo.png": "iVBORw0KGgo="}
        })
    }

    fn log() -> String {
        format!(
            "2024-01-01T00:00:00Z GET /orders 200 took=3ms upstream=http://inventory.shop:9000\n\
             request headers: Authorization: Bearer CANARY-TOKEN-5\n\
             using aws key {AWS_KEY_ID} for s3://bucket\n\
             session {JWT}\n\
             connecting to redis://:CANARY-REDIS-15@cache.shop:6379/0\n\
             {{\"level\":\"info\",\"password\":\"CANARY JSON 16\",\"user\":\"bob\"}}\n\
             -----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----\n\
             done\n"
        )
    }

    fn canaries() -> Vec<String> {
        let mut c: Vec<String> = [
            "CANARY-SECRET-1",
            "CANARY-ENV-2",
            "CANARY-URL-3",
            "CANARY-CM-4",
            "CANARY-TOKEN-5",
            "CANARY-LAST-6",
            "CANARY-ARG-7",
            "CANARY-ARG-8",
            "CANARY-ARG-9",
            "CANARY-DSN-10",
            "CANARY-HDR-11",
            "CANARY-CM-TOKEN-12",
            "CANARY CM 13",
            "CANARY-REDIS-15",
            "CANARY JSON 16",
            AWS_KEY_ID,
            JWT,
            "canaryPemBody9",
            "Qk9HVVNfUEVNX0NBTkFSWV9MSU5FXzI",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for raw in ["CANARY-SECRET-1", "CANARY-CA", "CANARY-BIN-14"] {
            c.push(STANDARD.encode(raw));
        }
        c.push(STANDARD.encode(JWT));
        c
    }

    /// Redacts every fixture; returns them serialized plus the redacted log.
    fn redact_all(r: &Redactor, objects: &mut [Value], log: &str) -> (String, String) {
        for obj in objects.iter_mut() {
            r.redact_object(obj);
        }
        let text = r.redact_text(log).into_owned();
        (serde_json::to_string(&objects).expect("serializes"), text)
    }

    #[test]
    fn planted_canaries_never_survive() {
        let r = redactor();
        let mut objects = vec![secret(), sa_token_secret(), deployment(), config_map()];
        let (json, text) = redact_all(&r, &mut objects, &log());
        // The fixtures really contained them.
        let before = format!(
            "{}{}",
            serde_json::to_string(&[secret(), sa_token_secret(), deployment(), config_map()])
                .expect("serializes"),
            log()
        );
        for canary in canaries() {
            assert!(before.contains(&canary), "fixture lacks {canary}");
            assert!(
                !json.contains(&canary),
                "{canary} survived in objects: {json}"
            );
            assert!(!text.contains(&canary), "{canary} survived in log: {text}");
        }
        // The shape around the secrets survives.
        for kept in [
            "postgres://app:<redacted:",
            "@db.shop:5432/x",
            "@tcp(mysql.shop:3306)/orders",
            "http://payments.shop:8080/api",
            "/run/secrets/db",
            "\"debug\"",
            "db-creds",
            "default-token-abcde",
            "kubernetes.io/service-account-token",
            "\"password\":\"\"",
            "\"ca.crt\":\"\"",
            "inventory.shop:9000",
            "\"replicas\":\"3\"",
            "shop/checkout:1.2",
            "\"logo.png\":\"iVBORw0KGgo=\"",
            "\"private.key\":\"\"",
            "--port 80\"",
        ] {
            assert!(json.contains(kept), "{kept} lost: {json}");
        }
        for kept in [
            "Authorization: Bearer <redacted:",
            "redis://:<redacted:",
            "@cache.shop:6379/0",
            "-----BEGIN RSA PRIVATE KEY-----\n<redacted:",
            ">\n-----END RSA PRIVATE KEY-----",
            "\"user\":\"bob\"",
            "upstream=http://inventory.shop:9000",
            "done\n",
        ] {
            assert!(text.contains(kept), "{kept} lost: {text}");
        }

        let secret = &objects[0];
        assert_eq!(
            secret["metadata"]["annotations"][REDACTED_ANNOTATION],
            "data"
        );
        assert!(
            secret["metadata"]["annotations"]
                .get(LAST_APPLIED)
                .is_none()
        );
        assert_eq!(secret["metadata"]["annotations"]["team"], "payments");
        assert_eq!(secret["metadata"]["labels"]["app"], "db");
        assert_eq!(secret["data"]["user"], "");
        assert_eq!(
            objects[1]["metadata"]["annotations"][REDACTED_ANNOTATION],
            "data"
        );

        let deploy = &objects[2];
        let env = &deploy["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(env[0]["value"], Redactor::token("CANARY-ENV-2"));
        assert_eq!(env[0]["name"], "DB_PASSWORD");
        assert_eq!(deploy["metadata"]["uid"], "1234-5678");
        // last-applied stays valid JSON with the env value tokened.
        let last: Value = serde_json::from_str(
            deploy["metadata"]["annotations"][LAST_APPLIED]
                .as_str()
                .expect("string"),
        )
        .expect("still JSON");
        assert_eq!(
            last["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
            Redactor::token("CANARY-LAST-6")
        );
        let cm = &objects[3];
        assert_eq!(
            cm["data"]["api_token"],
            Redactor::token("CANARY-CM-TOKEN-12")
        );
        assert!(r.redacted_count() >= 25, "count {}", r.redacted_count());
    }

    #[test]
    fn token_is_sha256_prefix_and_stable() {
        // sha256("abc") = ba7816bf8f01cfea…
        assert_eq!(Redactor::token("abc"), "<redacted:ba7816bf8f01>");
        assert!(is_token(&Redactor::token("anything")));
        assert!(!is_token("<redacted:BA7816BF8F01>"));
    }

    #[test]
    fn equal_secrets_get_equal_tokens() {
        let r = redactor();
        let mut a = json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "a"},
            "spec": {"containers": [{"name": "c", "env": [{"name": "API_KEY", "value": "same-secret-1"}]}]}});
        let mut b = json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "b"},
            "data": {"apiKey": "same-secret-1", "other.conf": "api_key=same-secret-1"}});
        r.redact_object(&mut a);
        r.redact_object(&mut b);
        let text = r.redact_text("retrying with password=same-secret-1 now");
        let t = Redactor::token("same-secret-1");
        assert_eq!(a["spec"]["containers"][0]["env"][0]["value"], t);
        assert_eq!(b["data"]["apiKey"], t);
        assert_eq!(b["data"]["other.conf"], format!("api_key={t}"));
        assert_eq!(text, format!("retrying with password={t} now"));
        assert_ne!(Redactor::token("same-secret-2"), t);
    }

    #[test]
    fn redaction_is_idempotent() {
        let r = Redactor::new(&[r"order-(\d{6})".to_owned()]).expect("valid");
        let mut objects = vec![secret(), sa_token_secret(), deployment(), config_map()];
        let (json1, text1) = redact_all(&r, &mut objects, &format!("{} order-123456", log()));
        let count = r.redacted_count();
        let (json2, text2) = redact_all(&r, &mut objects, &text1);
        assert_eq!(json1, json2);
        assert_eq!(text1, text2);
        assert_eq!(r.redacted_count(), count, "second pass replaced something");
        assert!(matches!(r.redact_text(&text1), Cow::Borrowed(_)));
    }

    #[test]
    fn bad_user_pattern_is_reported() {
        let err =
            Redactor::new(&["ok".to_owned(), "(unclosed".to_owned()]).expect_err("invalid regex");
        let RedactError::Pattern { pattern, .. } = &err;
        assert_eq!(pattern, "(unclosed");
        let msg = err.to_string();
        assert!(
            msg.contains("--redact-pattern") && msg.contains("(unclosed"),
            "{msg}"
        );
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn user_patterns_apply_to_text_and_all_string_values() {
        let r = Redactor::new(&[r"customer-(\d+)".to_owned(), "INTERNAL-[A-Z]+".to_owned()])
            .expect("valid");
        assert_eq!(
            r.redact_text("order for customer-42 via INTERNAL-ZEUS"),
            format!(
                "order for customer-{} via {}",
                Redactor::token("42"),
                Redactor::token("INTERNAL-ZEUS")
            )
        );
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"tier": "INTERNAL-ZEUS"}},
            "spec": {"hostname": "customer-7"}});
        r.redact_object(&mut pod);
        assert_eq!(
            pod["metadata"]["labels"]["tier"],
            Redactor::token("INTERNAL-ZEUS")
        );
        assert_eq!(
            pod["spec"]["hostname"],
            format!("customer-{}", Redactor::token("7"))
        );
        let rules = r.rules();
        assert_eq!(rules, r.rules(), "stable");
        assert!(rules.iter().any(|l| l.contains(r"customer-(\d+)")));
        assert!(rules.len() > BUILTIN.len() + 2);
    }

    /// A docker config's `auth` (base64 of user:password), raw or inside a JSON string;
    /// near misses: a short value, another key ending in auth.
    #[test]
    fn docker_config_auths_are_tokened() {
        let raw = r#"{"auths":{"r.io":{"auth":"Y2k6c2VjcmV0LXB3LTQy"}}}"#;
        let escaped =
            r#"{"docker.json": "{\"auths\":{\"r.io\":{\"auth\":\"Y2k6c2VjcmV0LXB3LTQy\"}}}"}"#;
        for text in [raw, escaped] {
            let out = scrub(text);
            assert!(!out.contains("Y2k6c2VjcmV0LXB3LTQy"), "{out}");
            assert!(out.contains("r.io"), "{out}");
        }
        for kept in [
            r#"{"auth": "none"}"#,
            r#"{"oauth": "Y2k6c2VjcmV0LXB3LTQy"}"#,
        ] {
            assert_eq!(scrub(kept), kept);
        }
    }

    /// Diagnostic text that names a password without holding one survives both the
    /// capture's redaction and `scrub`; secrets beside it in the same text do not.
    #[test]
    fn diagnostics_that_name_a_password_survive_and_secrets_beside_them_do_not() {
        let r = redactor();
        let kept = [
            "Access denied for user 'app'@'10.0.1.5' (using password: YES)",
            "Access denied for user 'app'@'10.0.1.5' (using password: NO)",
            "java.sql.SQLException: Access denied for user 'app'@'10.0.1.5' (using password: YES)",
            "Error 1045 (28000): Access denied for user 'app'@'10.0.1.5' (using password: YES)",
            "pymysql.err.OperationalError: (1045, \"Access denied for user 'app'@'10.0.1.5' (using password: YES)\")",
            "{\"level\":\"error\",\"error\":\"Error 1045 (28000): Access denied for user 'app'@'%' (using password: NO)\"}",
            "2024-05-01 10:05:00.000 UTC [68] FATAL:  password authentication failed for user \"app\"",
            "pq: password authentication failed for user \"app\"",
            "psycopg2.OperationalError: connection to server at \"db\" (10.0.0.5), port 5432 failed: FATAL:  password authentication failed for user \"app\"",
            "fe_sendauth: no password supplied",
            "WRONGPASS invalid username-password pair or user is disabled.",
        ];
        for line in kept {
            assert!(
                matches!(r.redact_text(line), Cow::Borrowed(_)),
                "redacted: {line}"
            );
            assert_eq!(scrub(line), line);
        }
        assert_eq!(r.redacted_count(), 0);

        let t = Redactor::token;
        let cases = [
            (
                "Access denied for user 'app'@'10.0.1.5' (using password: YES); retrying with password=hunter2".to_string(),
                format!(
                    "Access denied for user 'app'@'10.0.1.5' (using password: YES); retrying with password={}",
                    t("hunter2")
                ),
            ),
            (
                "password authentication failed for user \"u\" on postgres://u:s3cret@db:5432/x".to_string(),
                format!(
                    "password authentication failed for user \"u\" on postgres://u:{}@db:5432/x",
                    t("s3cret")
                ),
            ),
            (
                format!("Access denied (using password: NO) Authorization: Bearer {JWT}"),
                format!(
                    "Access denied (using password: NO) Authorization: Bearer {}",
                    t(JWT)
                ),
            ),
            // Near misses: a value after `password:` anywhere else is a password, even a
            // YES; and MySQL's words around another value do not protect it.
            ("password: YES".to_string(), format!("password: {}", t("YES"))),
            (
                "(using password: hunter2)".to_string(),
                format!("(using password: {})", t("hunter2")),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(r.redact_text(&input), want, "input: {input}");
            assert_eq!(scrub(&input), want, "scrub: {input}");
        }
    }

    #[test]
    fn redactor_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Redactor>();
        let r = redactor();
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| r.redact_text("password=x1"));
            }
        });
        assert_eq!(r.redacted_count(), 2);
    }
}
