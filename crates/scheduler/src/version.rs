//! The Kubernetes version a snapshot was taken from, and the scheduler's words in it.
//!
//! kube-scheduler's reason strings changed between releases; a verdict must use the ones the
//! cluster's own scheduler writes, or it will not match the events in the snapshot. Every
//! text that differs between versions is chosen here and nowhere else.

/// A Kubernetes `major.minor.patch`, parsed from the version a capture recorded
/// (`v1.31.4`, `v1.34.2-eks-1234`, `1.30`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KubeVersion {
    pub minor: u32,
    pub patch: u32,
}

/// When the snapshot does not say: the release the message tables were checked against
/// last (and the one the synthetic clusters report).
pub const DEFAULT_VERSION: KubeVersion = KubeVersion {
    minor: 31,
    patch: 0,
};

impl KubeVersion {
    /// `v1.31.4`, `1.34.2-eks-1234` or `v1.30`; `None` for anything else (a 2.x, text).
    pub fn parse(text: &str) -> Option<KubeVersion> {
        let text = text.trim().trim_start_matches('v');
        let mut parts = text.splitn(3, '.');
        if parts.next()? != "1" {
            return None;
        }
        let minor = parts.next()?.parse().ok()?;
        let patch = parts
            .next()
            .map(|p| {
                let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().unwrap_or(0)
            })
            .unwrap_or(0);
        Some(KubeVersion { minor, patch })
    }

    /// `TaintToleration`'s reason for a node whose first untolerated `NoSchedule` or
    /// `NoExecute` taint is `key=value`. 1.25 named the taint (PR #109119); 1.35 and the
    /// 1.34 patch that took PR #135023 (1.34.2) dropped it again (PR #134740).
    pub fn untolerated_taint(self, key: &str, value: &str) -> String {
        if self.minor >= 35 || (self.minor == 34 && self.patch >= 2) {
            "node(s) had untolerated taint(s)".to_string()
        } else if self.minor >= 25 {
            format!("node(s) had untolerated taint {{{key}: {value}}}")
        } else {
            format!("node(s) had taint {{{key}: {value}}}, that the pod didn't tolerate")
        }
    }

    /// `VolumeBinding`'s reason for a bound PersistentVolume whose node affinity the node
    /// does not match (renamed in 1.33, PR #129887).
    pub fn volume_node_conflict(self) -> &'static str {
        if self.minor >= 33 {
            "node(s) didn't match PersistentVolume's node affinity"
        } else {
            "node(s) had volume node affinity conflict"
        }
    }

    /// Since 1.34 (PR #131345) a request larger than a node's whole allocatable makes
    /// `NodeResourcesFit`'s status unresolvable: preemption cannot help on that node.
    pub fn oversized_request_unresolvable(self) -> bool {
        self.minor >= 34
    }

    /// 1.25–1.27 ended the preemption part with a second period (PR #117588 removed it).
    pub fn preemption_double_period(self) -> bool {
        (25..=27).contains(&self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_from_what_captures_record() {
        assert_eq!(
            KubeVersion::parse("v1.31.4"),
            Some(KubeVersion {
                minor: 31,
                patch: 4
            })
        );
        assert_eq!(
            KubeVersion::parse("v1.34.2-eks-1234"),
            Some(KubeVersion {
                minor: 34,
                patch: 2
            })
        );
        assert_eq!(
            KubeVersion::parse("1.30"),
            Some(KubeVersion {
                minor: 30,
                patch: 0
            })
        );
        assert_eq!(
            KubeVersion::parse("v1.29.0+k3s1"),
            Some(KubeVersion {
                minor: 29,
                patch: 0
            })
        );
        assert_eq!(KubeVersion::parse("v2.0.0"), None);
        assert_eq!(KubeVersion::parse("latest"), None);
    }

    #[test]
    fn the_taint_message_follows_the_release() {
        let at = |minor, patch| KubeVersion { minor, patch };
        assert_eq!(
            at(24, 0).untolerated_taint("dedicated", "user1"),
            "node(s) had taint {dedicated: user1}, that the pod didn't tolerate"
        );
        assert_eq!(
            at(31, 4).untolerated_taint("dedicated", "user1"),
            "node(s) had untolerated taint {dedicated: user1}"
        );
        assert_eq!(
            at(33, 0).untolerated_taint("node-role.kubernetes.io/control-plane", ""),
            "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
        );
        assert_eq!(
            at(34, 1).untolerated_taint("a", "b"),
            "node(s) had untolerated taint {a: b}"
        );
        assert_eq!(
            at(34, 2).untolerated_taint("a", "b"),
            "node(s) had untolerated taint(s)"
        );
        assert_eq!(
            at(35, 0).untolerated_taint("a", "b"),
            "node(s) had untolerated taint(s)"
        );
    }
}
