//! DNS rebinding and cross-site protection for the local servers (`serve`, and `mcp` over
//! HTTP): a web page the user visits may make the browser talk to 127.0.0.1, under a name
//! the attacker controls (`Host: evil.example`) or from its own origin. Like `kubectl
//! proxy`'s `--accept-hosts`, only loopback names (or the address the server was told to
//! listen on) are accepted in `Host` and `Origin`.

use std::net::IpAddr;

/// `[::1]` or `10.0.0.5`, as a host appears in a URL.
pub fn url_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// The host of an authority (`localhost:3000` → `localhost`, `[::1]:80` → `[::1]`),
/// lowercased.
fn authority_host(authority: &str) -> Option<String> {
    let host = if authority.starts_with('[') {
        &authority[..=authority.find(']')?]
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The host of an Origin (`http://localhost:3000` → `localhost`), lowercased; `None` for
/// anything that is not an http(s) origin (`null`, `file://`).
pub fn origin_host(origin: &str) -> Option<String> {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))?;
    authority_host(rest.split('/').next()?)
}

fn loopback_or(host: &str, extra: Option<&str>) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]") || extra == Some(host)
}

/// Whether a browser request from `origin` may be answered: loopback origins, or the
/// listen host `extra`.
pub fn origin_allowed(origin: &str, extra: Option<&str>) -> bool {
    origin_host(origin).is_some_and(|h| loopback_or(&h, extra))
}

/// Whether a request naming `host` (its `Host` header) may be answered by a server
/// listening on `listen`: a loopback name, or the listen address itself. A server told to
/// listen on every address (`0.0.0.0`) was exposed on purpose and accepts any name.
pub fn host_allowed(host: &str, listen: IpAddr) -> bool {
    if listen.is_unspecified() {
        return true;
    }
    let extra = (!listen.is_loopback()).then(|| url_host(listen));
    authority_host(host.trim()).is_some_and(|h| loopback_or(&h, extra.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_origins_are_loopback_or_the_listen_address() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(host_allowed("127.0.0.1:8001", lo));
        assert!(host_allowed("localhost", lo));
        assert!(host_allowed("[::1]:8001", lo));
        assert!(host_allowed("LOCALHOST:1", lo));
        assert!(!host_allowed("evil.example", lo));
        assert!(!host_allowed("evil.example:8001", lo));
        assert!(!host_allowed("127.0.0.1.evil.example", lo));
        assert!(!host_allowed("", lo));
        let lan: IpAddr = "10.0.0.5".parse().unwrap();
        assert!(host_allowed("10.0.0.5:8001", lan));
        assert!(!host_allowed("10.0.0.6:8001", lan));
        assert!(host_allowed("anything.example", "0.0.0.0".parse().unwrap()));
        assert!(origin_allowed("http://localhost:6274", None));
        assert!(origin_allowed("https://127.0.0.1", None));
        assert!(!origin_allowed("http://evil.example", None));
        assert!(!origin_allowed("null", None));
        assert!(origin_allowed("http://10.0.0.5:3000", Some("10.0.0.5")));
    }
}
