//! Evidence, not echoes: what a line merely configures (options, keys of assignments,
//! lists of names, shell traces, config lines) is blanked before the rules read it.

/// The lower-cased text of `line` the rules read: the line with what it only configures
/// blanked out (command-line options and their values, the keys of assignments, lists of
/// names), or `None` when the whole line is an echo (a shell trace, a config line).
///
/// Keys go, values stay: `err="dial tcp …: connection refused"` still reports, and
/// `timeout_ms=5000` no longer does. The keys of the level field stay, since the level
/// rules read them (`level=error`, `"level":"error"`).
pub(super) fn evidence_text(line: &str) -> Option<String> {
    let trimmed = line.trim();
    if is_trace(trimmed) || is_config_line(trimmed) {
        return None;
    }
    let lower = line.to_ascii_lowercase();
    let ranges = echo_ranges(line);
    if ranges.is_empty() {
        return Some(lower);
    }
    let mut bytes = lower.into_bytes();
    for r in ranges {
        if let Some(part) = bytes.get_mut(r) {
            part.fill(b' ');
        }
    }
    // Ranges end at ASCII bytes or the line's ends, so whole characters are blanked.
    Some(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// A shell `set -x` trace: `+ exec java -XX:+ExitOnOutOfMemoryError -jar app.jar`, one `+`
/// per nesting level. The shell prints the command before running it: never an event.
pub(super) fn is_trace(trimmed: &str) -> bool {
    let rest = trimmed.trim_start_matches('+');
    rest.len() < trimmed.len() && rest.starts_with(' ')
}

/// A line of configuration printed as it is: an nginx directive (`proxy_read_timeout
/// 60s;`, what `nginx -T` prints), or one assignment alone on its line (`timeout: 30`,
/// `connection-timeout: 30s`, `- connect_timeout: 0.25s`, `request.timeout.ms = 30000`,
/// `"retryOnConnectionFailure": true,`) whose key is a compound identifier or whose value
/// is a scalar. `error: ECONNREFUSED` or `panic: boom` (a plain word, then a message) stay
/// events.
pub(super) fn is_config_line(trimmed: &str) -> bool {
    if let Some(body) = trimmed
        .strip_suffix(';')
        .or_else(|| trimmed.strip_suffix('{'))
    {
        let first = body.split_whitespace().next().unwrap_or("");
        if first.contains('_')
            && first.len() < body.trim_end().len()
            && first
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        {
            return true;
        }
    }
    let t = trimmed.strip_prefix("- ").unwrap_or(trimmed).trim_start();
    let (key, rest) = match t.as_bytes().first() {
        Some(&q @ (b'"' | b'\'')) => {
            let inner = &t[1..];
            let Some(end) = inner.find(q as char) else {
                return false;
            };
            (&inner[..end], &inner[end + 1..])
        }
        _ => {
            let end = t.bytes().position(|c| !is_key_char(c)).unwrap_or(t.len());
            (&t[..end], &t[end..])
        }
    };
    if key.is_empty() || !key.bytes().any(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    let rest = rest.trim_start();
    let value = if let Some(v) = rest.strip_prefix(':').or_else(|| rest.strip_prefix('=')) {
        v
    } else if rest.is_empty() && key.contains("....") {
        // HikariCP's `idleTimeout.....................600000`: the key char run took
        // the dots and the value.
        return true;
    } else {
        return false;
    };
    let value = value.trim().trim_end_matches([',', ';']);
    if value.is_empty() {
        return false;
    }
    let single = match value.as_bytes()[0] {
        q @ (b'"' | b'\'') => value.len() >= 2 && value.ends_with(q as char),
        _ => !value.contains(char::is_whitespace),
    };
    // `java.lang.OutOfMemoryError: Metaspace` is an exception and its message, `Error: 503`
    // a level and its message.
    single
        && if is_compound(key) {
            !is_class_name(key) || is_scalar(value)
        } else {
            is_scalar(value) && !is_level_word(key)
        }
}

/// Words that begin a message rather than name a setting (`Error: 503`, `panic: 5`).
pub(super) fn is_level_word(word: &str) -> bool {
    [
        "error",
        "err",
        "panic",
        "fatal",
        "warn",
        "warning",
        "critical",
        "crit",
        "severe",
        "exception",
        "failed",
        "failure",
    ]
    .iter()
    .any(|w| word.eq_ignore_ascii_case(w))
}

/// What a configuration value looks like: a number with an optional unit (`30`, `0.25s`,
/// `512Mi`, `-1`), a boolean, a null, a dash, or one of those quoted.
pub(super) fn is_scalar(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '"' || c == '\'');
    if matches!(
        v.to_ascii_lowercase().as_str(),
        "" | "-"
            | "~"
            | "true"
            | "false"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "null"
            | "none"
            | "nil"
            | "{}"
            | "[]"
    ) {
        return true;
    }
    let v = v.strip_prefix('-').unwrap_or(v);
    let digits = v
        .bytes()
        .take_while(|c| c.is_ascii_digit() || *c == b'.')
        .count();
    digits > 0
        && v.as_bytes()[0].is_ascii_digit()
        && v.len() - digits <= 3
        && v[digits..].bytes().all(|c| c.is_ascii_alphabetic())
}

/// Characters of a key (`spring.datasource.hikari.connection-timeout`, `timeout_ms`).
pub(super) fn is_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

/// A name made of several words: snake, kebab or dotted (`connect_timeout`,
/// `connection-timeout`, `request.timeout.ms`) or camel case (`connectTimeout`,
/// `retryOnConnectionFailure`). Plain words (`error`, `panic`) are not.
pub(super) fn is_compound(word: &str) -> bool {
    let b = word.as_bytes();
    let joined = b.windows(3).any(|w| {
        w[0].is_ascii_alphanumeric()
            && matches!(w[1], b'_' | b'-' | b'.')
            && w[2].is_ascii_alphanumeric()
    });
    let camel = b
        .windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase());
    (joined && b.iter().any(u8::is_ascii_alphabetic)) || camel
}

/// A class name (`java.lang.OutOfMemoryError`, `psycopg2.OperationalError`,
/// `ConnectionRefusedError`): its last segment starts with a capital and goes on in lower
/// case. `Name: message` is then an exception and its message, not a key and its value.
pub(super) fn is_class_name(word: &str) -> bool {
    let last = word.rsplit(['.', '$']).next().unwrap_or(word);
    last.as_bytes().first().is_some_and(u8::is_ascii_uppercase)
        && last.bytes().any(|c| c.is_ascii_lowercase())
}

/// The level field's keys stay: the level rules read them (`loglevel=error` too).
pub(super) fn is_level_key(key: &str) -> bool {
    key.len() >= 5 && key.as_bytes()[key.len() - 5..].eq_ignore_ascii_case(b"level")
}

/// Byte ranges of `line` that configure rather than report (see [`evidence_text`]).
pub(super) fn echo_ranges(line: &str) -> Vec<std::ops::Range<usize>> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    // Command-line options: `-` or `--` and a letter, after a space, a quote, a bracket or
    // `=` (`JAVA_OPTS=-Xmx512m`), up to a space, quote or bracket; and the value after an
    // option that takes one (`-l warning`, `--component-log-level misc:error`).
    let ends_option =
        |c: u8| c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b',' | b']' | b')' | b'}');
    let mut i = 0;
    while i < b.len() {
        let starts = b[i] == b'-'
            && (i == 0
                || matches!(
                    b[i - 1],
                    b' ' | b'\t' | b'"' | b'\'' | b'[' | b'(' | b'{' | b',' | b'='
                ));
        let name = if b.get(i + 1) == Some(&b'-') {
            i + 2
        } else {
            i + 1
        };
        if !starts || !b.get(name).is_some_and(u8::is_ascii_alphabetic) {
            i += 1;
            continue;
        }
        let mut end = (name..b.len())
            .find(|&j| ends_option(b[j]))
            .unwrap_or(b.len());
        // `--proxyLogLevel="warning"`, `-XX:OnOutOfMemoryError="kill -9 %p"`: the quoted
        // value is the option's.
        if b[end - 1] == b'=' {
            if let Some(&q @ (b'"' | b'\'')) = b.get(end) {
                if let Some(close) = (end + 1..b.len()).find(|&j| b[j] == q) {
                    end = close + 1;
                }
            }
        }
        out.push(i..end);
        let option = &line[i..end];
        i = end;
        if option.contains(['=', ':']) || !b.get(end).is_some_and(u8::is_ascii_whitespace) {
            continue;
        }
        let start = (end..b.len())
            .find(|&j| !b[j].is_ascii_whitespace())
            .unwrap_or(b.len());
        if start < b.len() && b[start] != b'-' {
            let stop = (start..b.len())
                .find(|&j| b[j].is_ascii_whitespace())
                .unwrap_or(b.len());
            out.push(start..stop);
            i = stop;
        }
    }
    // Lists of names: Envoy's `request header map: … :authority,:method,…,grpc-timeout,…`,
    // `5xx,reset,connect-failure`.
    let mut at = 0;
    for token in line.split(|c: char| c.is_ascii_whitespace()) {
        let start = at;
        at += token.len() + 1;
        if !token.contains(',') {
            continue;
        }
        let body = token.trim_end_matches(['.', ',', ';', ')', ']', '}', '"', '\'']);
        let (mut parts, mut names, mut compound) = (0, true, false);
        for p in body.split(',') {
            parts += 1;
            names &= !p.is_empty()
                && p.bytes().all(|c| {
                    c.is_ascii_lowercase()
                        || c.is_ascii_digit()
                        || matches!(c, b':' | b'_' | b'.' | b'-' | b'/')
                });
            compound |= p.contains(['-', '_']);
        }
        if parts >= 3 && names && compound {
            out.push(start..start + token.len());
        }
    }
    // Keys of assignments.
    let mut i = 0;
    while i < b.len() {
        if !is_key_char(b[i]) {
            i += 1;
            continue;
        }
        let s = i;
        while i < b.len() && is_key_char(b[i]) {
            i += 1;
        }
        if let Some(r) = key_range(line, s, i) {
            out.push(r);
        }
    }
    out
}

/// The range to blank when the word at `s..e` is the key of an assignment: `key=value`,
/// `"key": value` / `'key': value`, a compound `key: value` or `Key:value` (Go's `%+v`),
/// or HikariCP's `key.......value`.
pub(super) fn key_range(line: &str, s: usize, e: usize) -> Option<std::ops::Range<usize>> {
    let b = line.as_bytes();
    let word = &line[s..e];
    if let Some(dots) = word.find("....") {
        let after = s + dots + word[dots..].bytes().take_while(|&c| c == b'.').count();
        let key = &word[..dots];
        return (after < e && key.bytes().any(|c| c.is_ascii_alphabetic())).then_some(s..s + dots);
    }
    if b[s] == b'-' || is_level_key(word) || !word.bytes().any(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let next = b.get(e).copied();
    let after = b.get(e + 1).copied();
    if s > 0
        && matches!(b[s - 1], b'"' | b'\'')
        && next == Some(b[s - 1])
        && line[e + 1..].trim_start().starts_with(':')
    {
        return Some(s - 1..e + 1);
    }
    // JSON inside a JSON string: `"msg":"config {\"timeout\":5}"`.
    if s > 1
        && b[s - 1] == b'"'
        && b[s - 2] == b'\\'
        && line[e..].starts_with("\\\"")
        && line[e + 2..].trim_start().starts_with(':')
    {
        return Some(s - 2..e + 2);
    }
    match next {
        Some(b'=') if after != Some(b'=') => Some(s..e),
        Some(b':') => match after {
            None => None,
            Some(c) if c.is_ascii_whitespace() => {
                (is_compound(word) && !is_class_name(word)).then_some(s..e)
            }
            // `host:6379`, `Errors.java:124`: a port or a line, not a value.
            Some(c) if c.is_ascii_digit() => {
                let rest = &b[e + 1..];
                let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
                (is_compound(word) && rest.get(n).is_some_and(u8::is_ascii_alphabetic))
                    .then_some(s..e)
            }
            Some(b':' | b'/') => None,
            Some(_) => is_compound(word).then_some(s..e),
        },
        _ => None,
    }
}
