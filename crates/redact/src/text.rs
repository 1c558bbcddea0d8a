//! Text rules: the regexes that find credentials inside free text (container logs, Event
//! messages, annotation values, values whose name says nothing) and the engine that turns
//! their matches into tokens.
//!
//! Only the secret part of a match is replaced — the scheme, the header name, the host, the
//! PEM armour stay — because whoever reads the bundle still needs to see what was there.
//! Candidates are filtered a second time (`accept`) since regexes alone cannot tell the
//! word "bearer" in prose from a bearer token.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;
use std::sync::atomic::Ordering;

use base64::Engine as _;
use regex::Regex;

use super::{Redactor, TOKEN_PREFIX, TOKEN_RE};

/// One text rule: every match is redacted — only the first capture group that
/// participated in the match when the regex has groups, else the whole match.
#[derive(Debug)]
pub(super) struct Rule {
    pub(super) description: String,
    pub(super) re: Regex,
    /// Second look at a candidate secret (the range of the text it is at); `false` leaves
    /// it alone.
    pub(super) accept: Accept,
}

/// A rule's second look: the whole text and where the candidate secret is in it.
pub(super) type Accept = fn(&str, Range<usize>) -> bool;

pub(super) fn always(_: &str, _: Range<usize>) -> bool {
    true
}

fn builtin(description: &str, pattern: &str, accept: Accept) -> Rule {
    Rule {
        description: description.to_owned(),
        re: Regex::new(pattern).expect("built-in redaction regex compiles"),
        accept,
    }
}

/// `Bearer xyz`: prose such as "bearer token" is not a credential; real tokens carry
/// digits or punctuation, or are long.
fn looks_like_bearer(text: &str, at: Range<usize>) -> bool {
    let s = &text[at];
    (s.len() >= 6 && s.chars().any(|c| !c.is_ascii_alphabetic())) || s.len() >= 20
}

/// `Basic xyz` is a credential when xyz is base64 of `user:password`.
fn looks_like_basic(text: &str, at: Range<usize>) -> bool {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
    let s = &text[at];
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .is_ok_and(|raw| raw.len() >= 3 && raw.contains(&b':'))
}

/// A key=value credential — unless it is diagnostic text that only names one:
/// - a PEM block as value is left to the PEM rule, which keeps its BEGIN/END lines
///   readable;
/// - MySQL's and MariaDB's `Access denied for user 'app'@'10.0.1.5' (using password:
///   YES)` (or `NO`) says whether a password was sent, not which: the `YES` is what tells
///   a wrong password from a missing one.
fn credential_value(text: &str, at: Range<usize>) -> bool {
    let value = &text[at.clone()];
    if value.starts_with("-----BEGIN") {
        return false;
    }
    const USING: &[u8] = b"(using password: ";
    let before = &text.as_bytes()[..at.start];
    let says_whether_sent = matches!(value, "YES" | "NO")
        && text[at.end..].starts_with(')')
        && before.len() >= USING.len()
        && before[before.len() - USING.len()..].eq_ignore_ascii_case(USING);
    !says_whether_sent
}

/// The built-in text rules, in the order [`Redactor::rules`] lists them.
pub(super) static BUILTIN: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        builtin(
            "PEM private key blocks (-----BEGIN … PRIVATE KEY----- … -----END …): body tokened",
            r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:[ \t]*(?:\r?\n|(?:\\r)?\\n))?(?:(.*?)(?:\r?\n|(?:\\r)?\\n)?[ \t]*-----END [A-Z0-9 ]*PRIVATE KEY-----|([A-Za-z0-9+/=]+(?:(?:\r?\n|(?:\\r)?\\n)[A-Za-z0-9+/=]+)*))",
            always,
        ),
        builtin(
            "Authorization / Proxy-Authorization headers: credential after the scheme tokened",
            r#"(?i)(?-u:\b)(?:proxy-)?authorization\\?["']?[ \t]*[:=][ \t]*\[?\\?["']?(?:(?:bearer|basic|digest|token|negotiate|ntlm|apikey|api-key|key|sso-key|splunk|dpop|aws4-hmac-sha256)[ \t]+)?([^\s"'\\,;)\]}]+)"#,
            always,
        ),
        builtin(
            "Bearer tokens (`Bearer xyz`): token tokened",
            r"(?i)(?-u:\b)bearer[ \t]+([a-z0-9\-._~+/]+=*)",
            looks_like_bearer,
        ),
        builtin(
            "Basic credentials (`Basic base64(user:password)`): credential tokened",
            r"(?i)(?-u:\b)basic[ \t]+([a-z0-9+/]+={0,2})",
            looks_like_basic,
        ),
        builtin(
            "docker config auths (\"auth\": \"base64(user:password)\"): tokened",
            r#"\\?"auth\\?"[ \t]*:[ \t]*\\?"([A-Za-z0-9+/]{8,}={0,2})"#,
            always,
        ),
        builtin(
            "passwords in URLs (scheme://user:PASSWORD@host): password tokened, host kept",
            r#"(?-u:\b)[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@?#"'<>]*:([^\s/?#"']+)@"#,
            always,
        ),
        builtin(
            "key=value / key: value / \"key\":\"value\" where the key ends in password, passwd, \
             pwd, passphrase, secret, token, api_key, access_key, secret_key, private_key, \
             key_data or credential(s): value tokened (not MySQL's `(using password: YES)`)",
            r#"(?i)(?:passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|key[_-]?data|credentials?)\\?["']?[ \t]*[:=][ \t]*(?:"((?:[^"\\\r\n]|\\.)*)"|'([^'\r\n]*)'|\\?["']?([^\s"'\\,;&)\]}]+))"#,
            credential_value,
        ),
        builtin(
            "AWS secret access keys after aws_secret_access_key: tokened",
            r#"(?i)aws_?secret_?access_?key\\?["']?[ \t]*[:=][ \t]*\\?["']?([a-z0-9/+=]{40})"#,
            always,
        ),
        builtin(
            "AWS access key ids (AKIA…/ASIA…): tokened",
            r"(?-u:\b)((?:AKIA|ASIA)[0-9A-Z]{16})(?-u:\b)",
            always,
        ),
        builtin(
            "GitHub tokens (gh[pousr]_…, github_pat_…): tokened",
            r"(?-u:\b)(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
            always,
        ),
        builtin(
            "Slack tokens (xox[abposr]-…): tokened",
            r"(?-u:\b)(xox[abposr]-[A-Za-z0-9-]{10,})",
            always,
        ),
        builtin(
            "Google API keys (AIza…): tokened",
            r"(?-u:\b)(AIza[0-9A-Za-z_\-]{35})",
            always,
        ),
        builtin(
            "JSON Web Tokens (eyJ….….…): tokened",
            r"(?-u:\b)(eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)",
            always,
        ),
        builtin(
            "signed-URL signatures (?sig=, X-Amz-Signature=, X-Goog-Signature=, X-Amz-Credential=): tokened",
            r#"(?i)[?&](?:sig|signature|x-amz-signature|x-goog-signature|x-amz-credential)=([^&\s"'#]+)"#,
            always,
        ),
    ]
});

/// `--password VALUE` inside one string (a `sh -c` script in `command`/`args`).
static ARG_SPACE_RULE: LazyLock<Rule> = LazyLock::new(|| {
    builtin(
        "",
        r#"(?i)(?:^|\s)--?[a-z0-9_.-]*(?:passw(?:or)?d|passphrase|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|credentials?)[ \t]+(?:"([^"]*)"|'([^']*)'|([^\s"'\-][^\s"']*))"#,
        always,
    )
});

/// Scheme-less DSNs with user info (`user:pass@tcp(db:3306)/x`, `user/pass@db:1521/orcl`).
static DSN_USERINFO_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[^\s:/@]+[:/]([^\s]+)@").expect("dsn regex compiles"));

/// Removes the parts of `ranges` that lie inside existing tokens; a leftover piece of
/// a candidate that touched a token is kept only if it has something worth hiding.
fn subtract_tokens(
    text: &str,
    ranges: Vec<Range<usize>>,
    tokens: &[Range<usize>],
) -> Vec<Range<usize>> {
    let mut out = Vec::with_capacity(ranges.len());
    for range in ranges {
        let overlapping = tokens
            .iter()
            .filter(|t| t.start < range.end && t.end > range.start);
        let mut cursor = range.start;
        let mut pieces = Vec::new();
        let mut touched = false;
        for token in overlapping {
            touched = true;
            if token.start > cursor {
                pieces.push(cursor..token.start);
            }
            cursor = cursor.max(token.end);
        }
        if !touched {
            out.push(range);
            continue;
        }
        if cursor < range.end {
            pieces.push(cursor..range.end);
        }
        out.extend(
            pieces
                .into_iter()
                .filter(|p| text[p.clone()].chars().any(char::is_alphanumeric)),
        );
    }
    out
}

impl Redactor {
    /// Token for a whole value, counted.
    pub(super) fn tokenize(&self, value: &str) -> String {
        self.count.fetch_add(1, Ordering::Relaxed);
        Self::token(value)
    }

    pub(super) fn collect_text_ranges(&self, text: &str, out: &mut Vec<Range<usize>>) {
        let rules = BUILTIN.iter().chain(self.user.iter());
        match &self.set {
            Some(set) => {
                let hits = set.matches(text);
                if !hits.matched_any() {
                    return;
                }
                for (index, rule) in rules.enumerate() {
                    if hits.matched(index) {
                        Self::rule_ranges(rule, text, out);
                    }
                }
            }
            None => {
                for rule in rules {
                    Self::rule_ranges(rule, text, out);
                }
            }
        }
    }

    fn rule_ranges(rule: &Rule, text: &str, out: &mut Vec<Range<usize>>) {
        if rule.re.captures_len() <= 1 {
            out.extend(
                rule.re
                    .find_iter(text)
                    .filter(|m| !m.is_empty() && (rule.accept)(text, m.range()))
                    .map(|m| m.range()),
            );
            return;
        }
        for caps in rule.re.captures_iter(text) {
            let secret = caps.iter().skip(1).flatten().next().or_else(|| caps.get(0));
            if let Some(m) = secret {
                if !m.is_empty() && (rule.accept)(text, m.range()) {
                    out.push(m.range());
                }
            }
        }
    }

    /// Replaces `ranges` of `text` by their tokens: ranges inside existing tokens are
    /// dropped, overlapping ranges merged, one allocation for the result.
    pub(super) fn replace_ranges<'a>(
        &self,
        text: &'a str,
        mut ranges: Vec<Range<usize>>,
    ) -> Cow<'a, str> {
        if ranges.is_empty() {
            return Cow::Borrowed(text);
        }
        if text.contains(TOKEN_PREFIX) {
            let tokens: Vec<Range<usize>> = TOKEN_RE.find_iter(text).map(|m| m.range()).collect();
            if !tokens.is_empty() {
                ranges = subtract_tokens(text, ranges, &tokens);
                if ranges.is_empty() {
                    return Cow::Borrowed(text);
                }
            }
        }
        ranges.sort_by_key(|r| (r.start, r.end));
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
        for range in ranges {
            match merged.last_mut() {
                Some(last) if range.start < last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut cursor = 0;
        for range in &merged {
            out.push_str(&text[cursor..range.start]);
            out.push_str(&Self::token(&text[range.clone()]));
            cursor = range.end;
        }
        out.push_str(&text[cursor..]);
        self.count.fetch_add(merged.len() as u64, Ordering::Relaxed);
        Cow::Owned(out)
    }

    /// Only the user patterns (for strings the built-in rules must not touch).
    pub(super) fn redact_user_only<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut ranges = Vec::new();
        for rule in &self.user {
            Self::rule_ranges(rule, text, &mut ranges);
        }
        self.replace_ranges(text, ranges)
    }

    /// Text rules plus `--password VALUE` inside the string.
    pub(super) fn redact_arg<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut ranges = Vec::new();
        self.collect_text_ranges(text, &mut ranges);
        Self::rule_ranges(&ARG_SPACE_RULE, text, &mut ranges);
        self.replace_ranges(text, ranges)
    }

    /// Text rules plus the password of a scheme-less DSN (`user:pass@tcp(db)/x`).
    pub(super) fn redact_connection<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut ranges = Vec::new();
        self.collect_text_ranges(text, &mut ranges);
        if !text.contains("://") {
            if let Some(m) = DSN_USERINFO_RE.captures(text).and_then(|c| c.get(1)) {
                ranges.push(m.range());
            }
        }
        self.replace_ranges(text, ranges)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::redactor;

    #[test]
    fn harmless_text_is_borrowed() {
        let r = redactor();
        for line in [
            "",
            "2024-01-01T00:00:00Z GET /healthz 200 1ms",
            "connected to postgres://db.shop:5432/orders as app",
            "invalid bearer token",
            "Basic authentication enabled",
            "tokenizer: loaded 3000 entries; max_tokens=100 secretName: db-creds",
            "git clone git@github.com:org/repo.git",
            "already <redacted:0123456789ab> here",
        ] {
            assert!(matches!(r.redact_text(line), Cow::Borrowed(_)), "{line}");
        }
        assert_eq!(r.redacted_count(), 0);
    }

    #[test]
    fn text_rules_replace_only_the_secret() {
        let r = redactor();
        let t = Redactor::token;
        let cases: Vec<(String, String)> = vec![
            (
                "Authorization: Bearer abc.def-123".into(),
                format!("Authorization: Bearer {}", t("abc.def-123")),
            ),
            (
                "curl -H 'authorization: basic dXNlcjpwYXNz'".into(),
                format!("curl -H 'authorization: basic {}'", t("dXNlcjpwYXNz")),
            ),
            (
                "sent Basic dXNlcjpwYXNz upstream".into(),
                format!("sent Basic {} upstream", t("dXNlcjpwYXNz")),
            ),
            (
                "bearer zz9-token".into(),
                format!("bearer {}", t("zz9-token")),
            ),
            (
                "url=https://u:p%40ss@h.example:443/x?y=1".into(),
                format!("url=https://u:{}@h.example:443/x?y=1", t("p%40ss")),
            ),
            (
                "passwd: hunter2".into(),
                format!("passwd: {}", t("hunter2")),
            ),
            (
                "secret=s3; next".into(),
                format!("secret={}; next", t("s3")),
            ),
            (
                "?access_token=abc&x=1".into(),
                format!("?access_token={}&x=1", t("abc")),
            ),
            (
                "client_secret = 'a b'".into(),
                format!("client_secret = '{}'", t("a b")),
            ),
            (
                r#"{"apikey": "k e y", "n": 1}"#.into(),
                format!(r#"{{"apikey": "{}", "n": 1}}"#, t("k e y")),
            ),
            (
                r#"msg="{\"password\":\"pw1\"}""#.into(),
                format!(r#"msg="{{\"password\":\"{}\"}}""#, t("pw1")),
            ),
            (
                "Server=db;User Id=sa;Password=P@ss;".into(),
                format!("Server=db;User Id=sa;Password={};", t("P@ss")),
            ),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
                format!(
                    "aws_secret_access_key = {}",
                    t("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
                ),
            ),
            (
                "key ASIAABCDEFGHIJKLMNOP used".into(),
                format!("key {} used", t("ASIAABCDEFGHIJKLMNOP")),
            ),
            (
                "gh ghp_abcdefghijklmnopqrstuvwxyz0123456789 ok".into(),
                format!("gh {} ok", t("ghp_abcdefghijklmnopqrstuvwxyz0123456789")),
            ),
            (
                "slack xoxb-1234567890-abcdef".into(),
                format!("slack {}", t("xoxb-1234567890-abcdef")),
            ),
            (
                "g AIzaSyA1234567890abcdefghijklmnopqrstuv".into(),
                format!("g {}", t("AIzaSyA1234567890abcdefghijklmnopqrstuv")),
            ),
            (
                "https://x.blob/c?sv=1&sig=abc%2Bdef".into(),
                format!("https://x.blob/c?sv=1&sig={}", t("abc%2Bdef")),
            ),
            (
                "client-key-data: LS0tLS1CRUdJTg==".into(),
                format!("client-key-data: {}", t("LS0tLS1CRUdJTg==")),
            ),
            (
                "k=\"-----BEGIN PRIVATE KEY-----\\nABCD\\n-----END PRIVATE KEY-----\\n\"".into(),
                format!(
                    "k=\"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\"",
                    t("ABCD")
                ),
            ),
            (
                "-----BEGIN EC PRIVATE KEY-----\nAAAA\nBBBB".into(),
                format!("-----BEGIN EC PRIVATE KEY-----\n{}", t("AAAA\nBBBB")),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(r.redact_text(&input), want, "input: {input}");
            assert!(
                matches!(r.redact_text(&want), Cow::Borrowed(_)),
                "not idempotent: {want}"
            );
        }
    }
}
