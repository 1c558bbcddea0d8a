//! Templates: a line with its variable parts masked, so that equal messages group.

/// A line with its variable parts masked: the message (`msg` for structured lines),
/// numbers as `#`, long hex ids as `<id>`.
pub fn template(line: &str) -> String {
    let msg = line
        .split("\"msg\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .or_else(|| {
            line.split("msg=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
        })
        .unwrap_or(line);
    let mut out = String::with_capacity(msg.len().min(160));
    let mut last_hash = false;
    for word in msg.split_whitespace().take(24) {
        if !out.is_empty() {
            out.push(' ');
        }
        let hexy = word.len() >= 8 && word.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        if hexy {
            out.push_str("<id>");
            continue;
        }
        for c in word.chars() {
            if c.is_ascii_digit() {
                if !last_hash {
                    out.push('#');
                }
                last_hash = true;
            } else {
                last_hash = false;
                out.push(c);
            }
        }
    }
    super::super::clip(&out, 160)
}
