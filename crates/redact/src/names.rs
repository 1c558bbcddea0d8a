//! Credential names: deciding from a name alone (env var, ConfigMap key, header, parameter,
//! command-line flag) that its value is a credential.
//!
//! The name is a stronger signal than the value: `DB_PASSWORD=hunter2` has nothing a text
//! rule could recognise, so such values are tokened whole. The suffix list exists because
//! references and settings (`SECRET_NAME`, `TOKEN_FILE`, `AUTH_ENABLED`) sound like
//! credentials but are exactly what an analysis needs to read.

use std::sync::LazyLock;

use regex::Regex;

/// A lone command-line flag whose next argument is a credential (`--password`, `--token`).
pub(super) static ARG_FLAG_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^--?[a-z0-9_.-]*(?:passw(?:or)?d|passphrase|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|credentials?)$",
    )
    .expect("flag regex compiles")
});

/// Last name segments that make a credential-sounding name a reference or a setting
/// (`SECRET_NAME`, `TOKEN_FILE`, `AUTH_ENABLED`) rather than a credential.
const NON_SECRET_SUFFIXES: &[&str] = &[
    "algorithm",
    "audience",
    "count",
    "dir",
    "directory",
    "disabled",
    "duration",
    "enable",
    "enabled",
    "endpoint",
    "expiration",
    "expires",
    "expiry",
    "file",
    "files",
    "header",
    "host",
    "hostname",
    "interval",
    "issuer",
    "len",
    "length",
    "lifetime",
    "location",
    "method",
    "mode",
    "mount",
    "name",
    "names",
    "namespace",
    "path",
    "policy",
    "port",
    "provider",
    "ref",
    "scheme",
    "size",
    "strategy",
    "timeout",
    "ttl",
    "type",
    "uri",
    "url",
    "version",
];

/// Splits `DB_PASSWORD`, `db-password`, `dbPassword` into lowercase segments.
fn name_segments(name: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                segments.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !current.is_empty() {
            segments.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
    }
    if !current.is_empty() {
        segments.push(current);
    }
    segments
}

/// Whether an env var / ConfigMap key / header name names a credential.
pub(super) fn is_credential_name(name: &str) -> bool {
    let segments = name_segments(name);
    let Some(last) = segments.last().map(String::as_str) else {
        return false;
    };
    if segments.len() > 1 && NON_SECRET_SUFFIXES.contains(&last) {
        return false;
    }
    let compact = segments.concat();
    const SUBSTRINGS: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "secret",
        "credential",
        "apikey",
        "accesskey",
        "privatekey",
    ];
    if SUBSTRINGS.iter().any(|k| compact.contains(k)) {
        return true;
    }
    if compact.contains("token") && !compact.contains("tokeniz") {
        return true;
    }
    // MYSQL_PWD, DB_PWD; not the shell's PWD/OLDPWD (working directories).
    if compact.ends_with("pwd") && compact != "pwd" && compact != "oldpwd" {
        return true;
    }
    // JWT_SIGNING_KEY, ENCRYPTION_KEY, HMAC_KEY, STRIPE_KEY — but not CACHE_KEY,
    // PARTITION_KEY or SORT_KEY, whose values are names, not secrets.
    if last == "key" && segments.len() > 1 {
        let before = segments[segments.len() - 2].as_str();
        const KEY_KINDS: &[&str] = &[
            "signing",
            "encryption",
            "encrypt",
            "hmac",
            "jwt",
            "master",
            "session",
            "cookie",
            "license",
            "ssh",
            "priv",
            "crypto",
            "aes",
            "rsa",
            "gpg",
            "pgp",
            "webhook",
            "shared",
            "client",
            "app",
            "service",
            "stripe",
            "sendgrid",
            "twilio",
            "mailgun",
            "openai",
            "auth",
            "sign",
            "cipher",
            "vault",
            "kms",
        ];
        if KEY_KINDS.contains(&before) {
            return true;
        }
    }
    // BASIC_AUTH, REDIS_AUTH, basicAuth, Authorization, DB_PASS, SMTP_PW — but not
    // AUTHOR, OAUTH_CLIENT_ID or GF_AUTH_DISABLE_LOGIN_FORM.
    matches!(last, "auth" | "authorization" | "pass" | "pw")
}

/// Names whose values may be connection strings with embedded user info.
pub(super) fn is_connection_name(name: &str) -> bool {
    let segments = name_segments(name);
    let compact = segments.concat();
    compact.contains("connectionstring")
        || compact.contains("datasource")
        || segments.iter().any(|s| {
            matches!(
                s.as_str(),
                "dsn" | "url" | "uri" | "conn" | "connstr" | "connection" | "database" | "db"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_names() {
        for name in [
            "DB_PASSWORD",
            "dbPassword",
            "MYSQL_PWD",
            "PASSWD",
            "client_secret",
            "GITHUB_TOKEN",
            "api-key",
            "ApiKey",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "PRIVATE_KEY",
            "GOOGLE_CREDENTIALS",
            "BASIC_AUTH",
            "redisAuth",
            "Authorization",
            "SMTP_PASS",
            "api_token",
            "JWT_SIGNING_KEY",
            "ENCRYPTION_KEY",
            "hmacKey",
            "STRIPE_KEY",
        ] {
            assert!(is_credential_name(name), "{name} should be a credential");
        }
        for name in [
            "PWD",
            "OLDPWD",
            "AUTHOR",
            "AUTHOR_EMAIL",
            "OAUTH_CLIENT_ID",
            "GF_AUTH_DISABLE_LOGIN_FORM",
            "TLS_SECRET_NAME",
            "secretName",
            "TOKEN_FILE",
            "DB_PASSWORD_FILE",
            "AUTH_ENABLED",
            "TOKENIZER_MODEL",
            "CACHE_KEY",
            "PARTITION_KEY",
            "KEY",
            "DATABASE_URL",
            "LOG_LEVEL",
            "HOSTNAME",
            "",
        ] {
            assert!(
                !is_credential_name(name),
                "{name} should not be a credential"
            );
        }
    }
}
