//! Service ClusterIPs named in log lines, found without the relations.
//!
//! A line naming another Service's ClusterIP (`dial tcp 10.96.0.36:9000: i/o timeout`) is
//! evidence that the pod's workload depends on it. Finding the addresses means reading
//! every byte of every log, which at 150,000 pods was the whole cost of the service map;
//! placing them needs the relations (which workload a pod belongs to). So the reading is
//! split off: [`LogAddresses::scan`] needs the snapshot alone and runs beside the
//! relations; the service map then only places what it found
//! ([`super::Relations::build_with`]).

use std::collections::HashMap;

use aho_corasick::AhoCorasick;

use super::hosts::is_ipv4;
use super::views::ServiceView;
use intel_model::Snapshot;

/// Per log file (in the snapshot's order), the first occurrence of each Service named by
/// one of its ClusterIPs: (byte offset, position of the Service in the snapshot's list).
pub struct LogAddresses {
    pub(super) files: Vec<Vec<(usize, usize)>>,
}

/// A Service's IPv4 ClusterIPs → its position among the snapshot's Services (the first
/// Service listed wins an address two claim).
pub(super) fn service_ips(snap: &Snapshot) -> HashMap<String, usize> {
    let mut by_ip = HashMap::new();
    for (i, svc) in snap.items("", "services").iter().enumerate() {
        let view: ServiceView = svc.typed().unwrap_or_default();
        for ip in view.spec.cluster_ips.iter().chain([&view.spec.cluster_ip]) {
            if is_ipv4(ip) {
                by_ip.entry(ip.clone()).or_insert(i);
            }
        }
    }
    by_ip
}

impl LogAddresses {
    /// Reads every log of a pod that is in the snapshot.
    pub fn scan(snap: &Snapshot) -> LogAddresses {
        let by_ip = service_ips(snap);
        let finder = Finder::new(&by_ip);
        let ix = snap.index();
        let files = snap
            .logs
            .iter()
            .map(|(key, text)| {
                if by_ip.is_empty() || ix.by_name("Pod", &key.namespace, &key.pod).is_empty() {
                    return Vec::new();
                }
                let mut found: Vec<(usize, usize)> = Vec::new();
                for (at, ip) in finder.tokens(text) {
                    let Some(&s) = by_ip.get(ip) else {
                        continue;
                    };
                    if !found.iter().any(|&(_, seen)| seen == s) {
                        found.push((at, s));
                    }
                }
                found
            })
            .collect();
        LogAddresses { files }
    }
}

/// Finds the IPv4 tokens of a text that may be ClusterIPs. Access logs are full of
/// digits (client addresses, sizes, times), so looking at each digit run costs seconds at
/// 150,000 pods; Services' addresses come from one or a few ranges, so an automaton over
/// their first two octets (`10.96.`) skips the rest of the text at memory speed, and
/// only runs starting with one are tokenized. `None` if it cannot be built, and then
/// every token is looked at.
enum Finder {
    /// One range (the usual service CIDR): a SIMD substring search.
    One(Box<memchr::memmem::Finder<'static>>),
    Many(AhoCorasick),
    Every,
}

impl Finder {
    fn new(by_ip: &HashMap<String, usize>) -> Finder {
        let mut prefixes: Vec<String> = by_ip
            .keys()
            .filter_map(|ip| {
                let mut octets = ip.split('.');
                Some(format!("{}.{}.", octets.next()?, octets.next()?))
            })
            .collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        match prefixes.as_slice() {
            [one] => Finder::One(Box::new(
                memchr::memmem::Finder::new(one.as_bytes()).into_owned(),
            )),
            _ => AhoCorasick::new(&prefixes).map_or(Finder::Every, Finder::Many),
        }
    }

    /// The tokens [`super::hosts::ipv4_tokens`] gives that start with one of the
    /// prefixes (a superset of the addresses among them), in the same order.
    fn tokens<'t>(&self, text: &'t str) -> Vec<(usize, &'t str)> {
        let starts: Box<dyn Iterator<Item = usize> + '_> = match self {
            Finder::One(f) => Box::new(f.find_iter(text.as_bytes())),
            Finder::Many(ac) => Box::new(ac.find_iter(text).map(|m| m.start())),
            Finder::Every => return super::hosts::ipv4_tokens(text),
        };
        let b = text.as_bytes();
        let mut out = Vec::new();
        for start in starts {
            // A token starts a run of digits and dots, after none of [A-Za-z0-9._-]
            // (a match inside a run, or inside the last token, fails here).
            let before_ok = start == 0 || {
                let c = b[start - 1];
                !(c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'-')
            };
            if !before_ok {
                continue;
            }
            let mut run_end = start;
            while run_end < b.len() && (b[run_end].is_ascii_digit() || b[run_end] == b'.') {
                run_end += 1;
            }
            let mut end = run_end;
            while end > start && b[end - 1] == b'.' {
                end -= 1;
            }
            let after_ok =
                run_end == b.len() || !(b[run_end].is_ascii_alphanumeric() || b[run_end] == b'_');
            let token = &text[start..end];
            if after_ok && is_ipv4(token) {
                out.push((start, token));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::Finder;
    use crate::hosts::ipv4_tokens;

    /// Filtered to the addresses, the finder's tokens are the byte-by-byte tokenizer's,
    /// on the boundaries that make or break a token.
    #[test]
    fn finder_agrees_with_the_tokenizer() {
        let all = ["10.96.0.1", "10.96.0.15", "10.96.12.7", "192.168.1.1"];
        // One range (a substring search) and two (the automaton).
        for ips in [&all[..3], &all[..]] {
            check(ips);
        }
    }

    fn check(ips: &[&str]) {
        let by_ip: HashMap<String, usize> = ips
            .iter()
            .enumerate()
            .map(|(i, s)| (s.to_string(), i))
            .collect();
        let finder = Finder::new(&by_ip);
        assert_eq!(matches!(finder, Finder::One(_)), ips.len() == 3);
        let texts = [
            "dial tcp 10.96.0.1:443: i/o timeout",
            "dial tcp 10.96.0.15:443 and 10.96.0.150:80 then 10.96.0.1.",
            "x10.96.0.1 a.10.96.0.1 -10.96.0.1 _10.96.0.1 (10.96.0.1)",
            "10.96.0.1",
            "10.96.0.1x 10.96.0.1_ 10.96.0.1.5 10.96.0.1..a 10.96.0.1... end",
            "110.96.0.1 10.96.0.12 10.96.12.7/24 192.168.1.1\n10.96.12.7\r\n",
            "1.2.3 10.96.0 .10.96.0.1 10..96.0.1 ü10.96.0.1 10.96.0.1ü",
            "",
        ];
        for text in texts {
            let want: Vec<(usize, &str)> = ipv4_tokens(text)
                .into_iter()
                .filter(|(_, ip)| by_ip.contains_key(*ip))
                .collect();
            let got: Vec<(usize, &str)> = finder
                .tokens(text)
                .into_iter()
                .filter(|(_, ip)| by_ip.contains_key(*ip))
                .collect();
            assert_eq!(got, want, "{text:?}");
        }
    }
}
