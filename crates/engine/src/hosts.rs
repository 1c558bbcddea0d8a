//! Finding host names and addresses in configuration text and logs.
//!
//! The service map is only useful if its edges are true, so extraction is strict (precision
//! before recall): a host must be a whole token, delimited by the start or end of the value,
//! `/`, `@`, `:`, `,`, whitespace, quotes or `=`; `mycheckout-x` and `checkout_db` never
//! name `checkout`. How a token was found decides what it may resolve to (see [`Form`]):
//! a bare word in free text is never a reference, only a URL host, a `host:port`, a whole
//! value, or a dotted in-cluster name (`db.prod`, `db.prod.svc.cluster.local`).

/// How a host token was found, from strongest to weakest evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Form {
    /// The host of a URL (`postgres://u:p@db:5432/x`): userinfo and path stripped.
    Url,
    /// `host:port` outside a URL (`redis:6379`).
    HostPort,
    /// The whole value is one host name (`REDIS_HOST=redis`). Short names found this way
    /// also need a key that does not say the value is something else (see [`bare_key_ok`]).
    Whole,
    /// A dotted token in free text: may only resolve as `name.namespace[.svc…]`.
    Dotted,
}

/// One host reference found in a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostHit {
    /// Lower-cased, without a trailing dot.
    pub host: String,
    pub form: Form,
    /// What matched, for evidence: `scheme://host:port` for URLs (no userinfo, no path: no
    /// credentials can leak through it), `host:port`, or the token.
    pub text: String,
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')
}

/// The delimiters a host token may stand between.
fn is_delim(b: u8) -> bool {
    matches!(b, b'/' | b'@' | b':' | b',' | b'"' | b'\'' | b'`' | b'=') || b.is_ascii_whitespace()
}

fn is_scheme_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-')
}

/// Ends a URL's authority. `<` and `>` are not in it: redaction tokens
/// (`<redacted:…>`) sit in the userinfo and must not cut it short.
fn ends_authority(b: u8) -> bool {
    matches!(
        b,
        b'/' | b'?' | b'#' | b'"' | b'\'' | b'`' | b';' | b')' | b']'
    ) || b.is_ascii_whitespace()
}

/// A syntactically valid DNS name (lower-case expected): labels of `[a-z0-9-]`, not empty,
/// not starting or ending with `-`, at most 253 characters.
pub fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// A dotted-quad IPv4 address.
pub fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

fn is_port(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 5
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p))
}

/// Normalises a candidate host: lower case, no trailing dot; `None` if it is neither a DNS
/// name nor an IPv4 address.
fn normalise(host: &str) -> Option<String> {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    (is_hostname(&h) || is_ipv4(&h)).then_some(h)
}

/// The value without surrounding whitespace and quotes: what "the whole value" means.
fn whole(value: &str) -> &str {
    value.trim().trim_matches(|c| c == '"' || c == '\'').trim()
}

/// Every host reference in one value (an env value, a ConfigMap entry, a config file).
pub fn extract(value: &str) -> Vec<HostHit> {
    let bytes = value.as_bytes();
    let mut hits = Vec::new();
    // URL spans are consumed first, so userinfo (`user:1234@`) and schemes are never
    // mistaken for host:port tokens by the second pass.
    let mut masked: Vec<(usize, usize)> = Vec::new();
    let mut from = 0;
    while let Some(off) = value[from..].find("://") {
        let p = from + off;
        from = p + 3;
        let mut s = p;
        while s > 0 && is_scheme_byte(bytes[s - 1]) {
            s -= 1;
        }
        // A scheme starts with a letter: skip leading digits or dots of the run.
        while s < p && !bytes[s].is_ascii_alphabetic() {
            s += 1;
        }
        if s == p {
            continue;
        }
        let scheme = &value[s..p];
        let mut e = p + 3;
        while e < bytes.len() && !ends_authority(bytes[e]) {
            e += 1;
        }
        let authority = &value[p + 3..e];
        masked.push((s, e));
        let hostports = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        for hp in hostports.split(',') {
            if hp.contains("://") || hp.starts_with('[') {
                continue;
            }
            let (host, port) = match hp.rsplit_once(':') {
                Some((h, p)) if is_port(p) => (h, Some(p)),
                Some((h, "")) => (h, None),
                Some(_) => continue,
                None => (hp, None),
            };
            let Some(host) = normalise(host) else {
                continue;
            };
            let text = match port {
                Some(p) => format!("{scheme}://{host}:{p}"),
                None => format!("{scheme}://{host}"),
            };
            hits.push(HostHit {
                host,
                form: Form::Url,
                text,
            });
        }
    }

    let whole_value = whole(value);
    let mut i = 0;
    let mut m = 0;
    while i < bytes.len() {
        while m < masked.len() && masked[m].1 <= i {
            m += 1;
        }
        if m < masked.len() && masked[m].0 <= i {
            i = masked[m].1;
            continue;
        }
        if !is_token_byte(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_token_byte(bytes[i]) {
            i += 1;
        }
        // A token that runs into a masked URL span is not delimited.
        if m < masked.len() && masked[m].0 < i {
            i = masked[m].1;
            continue;
        }
        let end = i;
        if start > 0 && !is_delim(bytes[start - 1]) {
            continue;
        }
        if end < bytes.len() && !is_delim(bytes[end]) {
            continue;
        }
        let token = &value[start..end];
        if token.starts_with(['.', '-', '_']) {
            continue;
        }
        let Some(host) = normalise(token) else {
            continue;
        };
        // host:port, the port itself delimited (but not by `@` or `:`: `user:1234@host`
        // and `a:1:b` are not addresses).
        if end < bytes.len() && bytes[end] == b':' {
            let mut k = end + 1;
            while k < bytes.len() && bytes[k].is_ascii_digit() {
                k += 1;
            }
            let port = &value[end + 1..k];
            let delimited =
                k == bytes.len() || (is_delim(bytes[k]) && !matches!(bytes[k], b'@' | b':'));
            if is_port(port) && delimited {
                hits.push(HostHit {
                    text: format!("{host}:{port}"),
                    host,
                    form: Form::HostPort,
                });
                i = k;
                continue;
            }
        }
        if token == whole_value {
            // A bare upper-case word (`MODE=AUTH`) is a constant, not a host.
            if !token.contains('.') && token.bytes().any(|b| b.is_ascii_uppercase()) {
                continue;
            }
            hits.push(HostHit {
                text: host.clone(),
                host,
                form: Form::Whole,
            });
        } else if host.contains('.') {
            hits.push(HostHit {
                text: host.clone(),
                host,
                form: Form::Dotted,
            });
        }
    }
    hits
}

/// `key: value` / `key = value` lines of a config file whose value is a single host name:
/// the file-format equivalent of an env var holding a bare host (`host: redis`,
/// `spring.redis.host=redis`, `"host": "redis",`).
pub fn line_values(text: &str) -> Vec<(String, HostHit)> {
    let mut out = Vec::new();
    if !text.contains('\n') {
        return out;
    }
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        let sep = match (line.find('='), line.find(": ")) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => match line.strip_suffix(':') {
                Some(_) => continue,
                None => match line.find(':') {
                    Some(c) => c,
                    None => continue,
                },
            },
        };
        let key = line[..sep]
            .trim()
            .trim_start_matches("- ")
            .trim_matches(|c| c == '"' || c == '\'')
            .trim();
        let raw = line[sep + 1..].trim_start_matches([':', '=', ' ']);
        let value = whole(raw.trim_end_matches(',').trim_end());
        // Service names start with a letter; `redis:6379` lines are host:port tokens.
        if key.is_empty()
            || !value.starts_with(|c: char| c.is_ascii_alphabetic())
            || value.contains(':')
        {
            continue;
        }
        let Some(host) = normalise(value) else {
            continue;
        };
        if !value.contains('.') && value.bytes().any(|b| b.is_ascii_uppercase()) {
            continue;
        }
        out.push((
            key.to_string(),
            HostHit {
                text: format!("{key}: {host}"),
                host,
                form: Form::Whole,
            },
        ));
    }
    out
}

/// Splits a key (`REDIS_HOST`, `redis.host`, `redisHost`) into lower-case words.
fn key_words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Words in a key that say its value is an address.
const ADDRESS_WORDS: &[&str] = &[
    "host",
    "hostname",
    "hosts",
    "addr",
    "address",
    "addresses",
    "server",
    "servers",
    "servername",
    "endpoint",
    "endpoints",
    "url",
    "urls",
    "uri",
    "dsn",
    "upstream",
    "upstreams",
    "broker",
    "brokers",
    "svc",
    "peer",
    "peers",
    "remote",
];

/// Words in a key that say its value is something other than an address, even when the
/// value happens to equal a Service's name (`CACHE_DRIVER=redis`, `SERVICE_NAME=auth`,
/// `POSTGRES_USER=postgres`, `POSTGRES_DB=postgres`).
const NOT_ADDRESS_WORDS: &[&str] = &[
    "name",
    "user",
    "username",
    "login",
    "password",
    "pass",
    "passwd",
    "level",
    "mode",
    "role",
    "version",
    "profile",
    "region",
    "zone",
    "type",
    "kind",
    "format",
    "lang",
    "locale",
    "component",
    "key",
    "token",
    "secret",
    "path",
    "file",
    "dir",
    "image",
    "tag",
    "driver",
    "connection",
    "engine",
    "provider",
    "dialect",
    "adapter",
    "strategy",
    "protocol",
    "scheme",
    "class",
    "policy",
    "method",
    "db",
    "database",
    "schema",
    "table",
    "bucket",
    "topic",
    "queue",
    "namespace",
    "env",
    "environment",
    "app",
    "application",
    "label",
    "id",
    "title",
    "description",
    "author",
    "owner",
    "team",
    "cluster",
    "stage",
    "tier",
    "flavor",
    "variant",
    "prefix",
    "suffix",
    "channel",
    "index",
    "store",
    "storage",
    "backend",
    "cache",
    "session",
    "log",
    "logger",
    "tracer",
    "exporter",
    "format",
];

/// Whether a bare short host (`redis`, found as a whole value) under this key may be read
/// as an address. A key with an address word (`CACHE_HOST`) says yes; one with a word that
/// names another kind of value (`CACHE_DRIVER`) says no; anything else (`REDIS=redis`)
/// says yes, since a value equal to a Service name in the same namespace is rarely chance.
pub fn bare_key_ok(key: &str) -> bool {
    let words = key_words(key);
    if words.iter().any(|w| ADDRESS_WORDS.contains(&w.as_str())) {
        return true;
    }
    !words
        .iter()
        .any(|w| NOT_ADDRESS_WORDS.contains(&w.as_str()))
}

/// Whether a key says its value is an address (used to accept a dotted whole value such as
/// `SMTP_HOST=smtp.sendgrid.net` as an external endpoint).
pub fn key_is_address(key: &str) -> bool {
    key_words(key)
        .iter()
        .any(|w| ADDRESS_WORDS.contains(&w.as_str()))
}

/// File extensions that make a dotted token a file name, not a host (`app.log`).
const FILE_EXTENSIONS: &[&str] = &[
    "log",
    "json",
    "yaml",
    "yml",
    "txt",
    "conf",
    "cfg",
    "xml",
    "properties",
    "ini",
    "toml",
    "sh",
    "py",
    "js",
    "html",
    "css",
    "pem",
    "crt",
    "key",
    "jar",
    "so",
    "env",
    "sql",
    "csv",
    "gz",
    "zip",
    "tar",
    "lock",
    "pid",
    "sock",
    "db",
    "local",
    "localhost",
    "internal",
    "svc",
    "cluster",
    "lan",
    "home",
    "example",
    "invalid",
    "test",
];

/// Whether a host that resolved to no Service is a plausible endpoint outside the cluster:
/// dotted, with a top-level label of letters that is neither a file extension nor an
/// in-cluster or private suffix (`.cluster.local`, `.svc`, `.local`, `.internal`).
pub fn is_external_host(host: &str) -> bool {
    if is_ipv4(host) || !host.contains('.') {
        return false;
    }
    let tld = host.rsplit('.').next().unwrap_or_default();
    tld.len() >= 2
        && tld.bytes().all(|b| b.is_ascii_lowercase())
        && !FILE_EXTENSIONS.contains(&tld)
        && !host.contains(".svc.")
}

/// IPv4 addresses in a text with their byte offsets, for scanning logs. Each must be
/// delimited: not part of a longer number, version string or word.
pub fn ipv4_tokens(text: &str) -> Vec<(usize, &str)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let mut end = i;
        while end > start && bytes[end - 1] == b'.' {
            end -= 1;
        }
        let before_ok = start == 0 || {
            let b = bytes[start - 1];
            !(b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        };
        let after_ok = i == bytes.len() || !(bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_');
        let token = &text[start..end];
        if before_ok && after_ok && is_ipv4(token) {
            out.push((start, token));
        }
    }
    out
}

/// The line of `text` around byte `at`, truncated to `max` characters on a char boundary.
pub fn line_at(text: &str, at: usize, max: usize) -> String {
    let start = text[..at].rfind('\n').map_or(0, |p| p + 1);
    let end = text[at..].find('\n').map_or(text.len(), |p| at + p);
    truncate(text[start..end].trim_end_matches('\r'), max)
}

pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(v: &str) -> Vec<(String, Form)> {
        extract(v).into_iter().map(|h| (h.host, h.form)).collect()
    }

    #[test]
    fn urls_hostports_and_whole_values() {
        assert_eq!(
            hosts("postgres://user:<redacted:0123456789ab>@db:5432/x"),
            vec![("db".into(), Form::Url)]
        );
        assert_eq!(
            extract("http://auth.shop.svc.cluster.local:9000/v1")[0].text,
            "http://auth.shop.svc.cluster.local:9000"
        );
        assert_eq!(
            hosts("jdbc:postgresql://db.prod:5432/x?ssl=true"),
            vec![("db.prod".into(), Form::Url)]
        );
        assert_eq!(
            hosts("mongodb://a:1,b.data:2/db"),
            vec![("a".into(), Form::Url), ("b.data".into(), Form::Url)]
        );
        assert_eq!(hosts("redis:6379"), vec![("redis".into(), Form::HostPort)]);
        assert_eq!(
            hosts("--cache=redis:6379 --db=db.prod"),
            vec![
                ("redis".into(), Form::HostPort),
                ("db.prod".into(), Form::Dotted)
            ]
        );
        assert_eq!(hosts(" redis "), vec![("redis".into(), Form::Whole)]);
        assert_eq!(
            hosts("\"db.prod.svc\""),
            vec![("db.prod.svc".into(), Form::Whole)]
        );
        assert_eq!(
            hosts("a:9000,b:9001"),
            vec![("a".into(), Form::HostPort), ("b".into(), Form::HostPort)]
        );
        assert_eq!(hosts("10.96.0.12:6379")[0].0, "10.96.0.12");
    }

    #[test]
    fn substrings_and_lookalikes_are_not_hosts() {
        for v in [
            "mycheckout-x",
            "checkout_db:5432",
            "use checkout now",
            "AUTH",
            "x-redis:6379",
            "redis:6379x",
            "user:1234@nothing",
            "a.b.c-", // invalid label
            "über.host:80",
            "file:///etc/auth",
        ] {
            let got: Vec<String> = extract(v)
                .into_iter()
                .filter(|h| h.form != Form::Dotted)
                .map(|h| h.host)
                .collect();
            assert!(
                got.iter().all(
                    |h| !["checkout", "redis", "auth", "user", "nothing"].contains(&h.as_str())
                ),
                "{v:?} gave {got:?}"
            );
        }
        // Userinfo is never a host, even when it is a word or a number.
        assert_eq!(
            hosts("postgres://auth:1234@db:5432/x"),
            vec![("db".into(), Form::Url)]
        );
    }

    #[test]
    fn config_lines() {
        let text = "spring.redis.host=redis\nmode: auth\n\"host\": \"cache\",\nurl: http://x:1\n# host: old\n";
        let got: Vec<(String, String)> = line_values(text)
            .into_iter()
            .map(|(k, h)| (k, h.host))
            .collect();
        assert_eq!(
            got,
            vec![
                ("spring.redis.host".into(), "redis".into()),
                ("mode".into(), "auth".into()),
                ("host".into(), "cache".into())
            ]
        );
        assert!(
            line_values("host=redis").is_empty(),
            "single line: whole value"
        );
    }

    #[test]
    fn keys() {
        assert!(bare_key_ok("CACHE_HOST"));
        assert!(bare_key_ok("REDIS"));
        assert!(bare_key_ok("redisHost"));
        assert!(bare_key_ok("DB_HOSTNAME"));
        assert!(!bare_key_ok("CACHE_DRIVER"));
        assert!(!bare_key_ok("SERVICE_NAME"));
        assert!(!bare_key_ok("POSTGRES_DB"));
        assert!(!bare_key_ok("mode"));
        assert!(key_is_address("SMTP_HOST"));
        assert!(!key_is_address("LOG_FILE"));
    }

    #[test]
    fn externals_and_ips() {
        assert!(is_external_host("api.stripe.com"));
        assert!(!is_external_host("app.log"));
        assert!(!is_external_host("db.prod.svc.cluster.local"));
        assert!(!is_external_host("redis"));
        assert!(!is_external_host("10.0.0.1"));
        let text =
            "x dial tcp 10.96.3.12:9000: timeout v1.2.3.4 1.2.3.4.5 a10.0.0.1 (10.96.0.10).\n";
        let ips: Vec<&str> = ipv4_tokens(text).into_iter().map(|(_, t)| t).collect();
        assert_eq!(ips, vec!["10.96.3.12", "10.96.0.10"]);
        let (at, _) = ipv4_tokens("first\nsecond 10.0.0.1 end\nthird")[0];
        assert_eq!(
            line_at("first\nsecond 10.0.0.1 end\nthird", at, 200),
            "second 10.0.0.1 end"
        );
        assert_eq!(truncate("héllo", 2), "hé");
    }
}
