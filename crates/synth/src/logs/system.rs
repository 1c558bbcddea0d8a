//! Cluster software: CoreDNS query logs, batch job runs and klog-writing system
//! components (kube-proxy, metrics-server, controllers).

use std::fmt::Write as _;

use crate::signals::Peer;

use super::Gen;
use super::app::handler_error;
use super::format::{fixed, push_klog, push_rfc3339};

impl<'c, 'a> Gen<'c, 'a> {
    pub(super) fn coredns_event(&mut self, t: i64) {
        let ctx = self.ctx;
        if self.background_peer_call(t).is_some() {
            return;
        }
        // (name, answered by the cluster zone, exists): peers' Service names, the API, and
        // an external name with one of the search-path misses `ndots: 5` causes.
        let mut names: Vec<(String, bool, bool)> = ctx
            .sig
            .peers
            .iter()
            .map(|p| (fqdn(p), true, true))
            .collect();
        names.extend(
            [
                ("kubernetes.default.svc.cluster.local.", true, true),
                ("metrics-server.kube-system.svc.cluster.local.", true, true),
                ("api.example.com.", false, true),
                ("api.example.com.default.svc.cluster.local.", true, false),
                ("storage.googleapis.com.", false, true),
            ]
            .iter()
            .map(|(n, c, e)| (n.to_string(), *c, *e)),
        );
        let (name, cluster, exists) = self.rng.pick(&names).cloned().unwrap_or_else(|| {
            (
                "kubernetes.default.svc.cluster.local.".to_string(),
                true,
                true,
            )
        });
        let qtype = if self.rng.chance(0.6) { "A" } else { "AAAA" };
        let client = format!("{}:{}", self.client_ip(), self.rng.range(32_768, 60_999));
        let id = self.rng.range(0, 65_535);
        let size = name.len() as u64 + 30;
        let fails = ctx.after(t) && self.rng.chance(ctx.error_rate);
        let (rcode, flags, rsize, dur) = if fails {
            ("SERVFAIL", "qr,rd", size, 2.0 + 3.0 * self.rng.unit())
        } else if !exists {
            (
                "NXDOMAIN",
                "qr,aa,rd",
                size + 93,
                0.00005 + 0.0002 * self.rng.unit(),
            )
        } else if cluster {
            let rsize = if qtype == "A" { size + 48 } else { size + 93 };
            (
                "NOERROR",
                "qr,aa,rd",
                rsize,
                0.00005 + 0.0002 * self.rng.unit(),
            )
        } else {
            (
                "NOERROR",
                "qr,rd,ra",
                size + 60,
                0.002 + 0.03 * self.rng.unit(),
            )
        };
        let done = t + (dur * 1000.0) as i64;
        if fails {
            let eph = self.rng.range(32_768, 60_999);
            let mut l = String::new();
            push_rfc3339(&mut l, done);
            let _ = write!(
                l,
                " [ERROR] plugin/errors: 2 {name} {qtype}: read udp {}:{eph}->10.0.0.2:53: i/o timeout",
                ctx.pod_ip
            );
            self.push(done, l);
        }
        let mut l = String::with_capacity(200);
        push_rfc3339(&mut l, done);
        let _ = write!(
            l,
            " [INFO] {client} - {id} \"{qtype} IN {name} udp {size} false 512\" {rcode} {flags} {rsize} {}s",
            fixed(dur, 6)
        );
        self.push(done, l);
    }

    // -- batch jobs -------------------------------------------------------------------------

    fn batch(&mut self, t: i64, level: &str, text: &str) {
        let mut l = String::with_capacity(text.len() + 32);
        push_rfc3339(&mut l, t);
        let _ = write!(l, " {level} {text}");
        self.push(t, l);
    }

    /// One run of a batch job starting at `t`, shorter than its slot.
    pub(super) fn batch_run(&mut self, t: i64, slot_ms: f64) {
        let ctx = self.ctx;
        self.run += 1;
        let run = self.run;
        let total = self.rng.range(10, 120) * 100;
        let max_s = (slot_ms / 1000.0 * 0.8).max(1.0);
        let secs = (20.0 + 220.0 * self.rng.unit()).min(max_s);
        let app = ctx.sig.app.as_str();
        self.batch(
            t,
            "INFO",
            &format!("starting run {run} of {app} ({total} records, batch size 500)"),
        );
        let after = ctx.after(t);
        if let Some(true) = self.background_peer_call(t + 200) {
            let end = t + (secs * 1000.0) as i64;
            self.batch(
                end,
                "ERROR",
                &format!(
                    "run {run} failed after {}s: dependency unavailable",
                    fixed(secs, 0)
                ),
            );
            return;
        }
        let steps = self.rng.range(1, 3);
        let mut failed = 0u64;
        for k in 1..=steps {
            let at = t + (secs * 1000.0 * k as f64 / (steps + 1) as f64) as i64;
            let done = total * k / (steps + 1);
            if after && self.rng.chance(ctx.error_rate) {
                failed += 1;
                let record = self.rng.range(1, total);
                self.batch(
                    at,
                    "ERROR",
                    &format!(
                        "record {record} failed: {}",
                        handler_error(ctx.sig.error_status)
                    ),
                );
            }
            self.batch(
                at,
                "INFO",
                &format!("processed {done}/{total} records ({}%)", done * 100 / total),
            );
        }
        let end = t + (secs * 1000.0) as i64;
        self.batch(
            end,
            "INFO",
            &format!(
                "run {run} completed in {}s ({total} records, {failed} failed)",
                fixed(secs, 0)
            ),
        );
    }

    // -- system components (klog) -----------------------------------------------------------

    pub(super) fn system_event(&mut self, t: i64) {
        let ctx = self.ctx;
        if self.background_peer_call(t).is_some() {
            return;
        }
        let app = ctx.sig.app.as_str();
        let fails =
            ctx.after(t) && ctx.error_rate > 0.0 && self.rng.chance(ctx.error_rate.max(0.3));
        let m = self.micro();
        let mut l = String::with_capacity(160);
        if app.contains("proxy") {
            if fails {
                push_klog(&mut l, 'E', t, m, 1, "proxier.go:1530");
                l.push_str("\"Failed to execute iptables-restore\" err=\"exit status 4: Another app is currently holding the xtables lock. Stopped waiting after 5s.\"");
            } else {
                push_klog(&mut l, 'I', t, m, 1, "proxier.go:805");
                let _ = write!(
                    l,
                    "\"SyncProxyRules complete\" ipFamily=\"IPv4\" elapsed=\"{}ms\"",
                    fixed(5.0 + 60.0 * self.rng.unit(), 3)
                );
            }
        } else if app.contains("metrics") {
            if fails {
                let node_ip = format!("10.0.{}.{}", self.rng.range(0, 3), self.rng.range(2, 254));
                push_klog(&mut l, 'E', t, m, 1, "scraper.go:149");
                let _ = write!(
                    l,
                    "\"Failed to scrape node\" err=\"Get \\\"https://{node_ip}:10250/metrics/resource\\\": context deadline exceeded\""
                );
            } else {
                push_klog(&mut l, 'I', t, m, 1, "scraper.go:172");
                let _ = write!(
                    l,
                    "\"Scrape finished\" duration=\"{}s\"",
                    fixed(0.2 + 1.5 * self.rng.unit(), 3)
                );
            }
        } else if fails {
            push_klog(&mut l, 'E', t, m, 1, "controller.go:316");
            l.push_str("\"Reconciler error\" err=\"context deadline exceeded\"");
        } else {
            push_klog(&mut l, 'I', t, m, 1, "controller.go:204");
            let _ = write!(
                l,
                "\"Reconcile complete\" duration=\"{}ms\"",
                fixed(1.0 + 30.0 * self.rng.unit(), 1)
            );
        }
        self.push(t, l);
    }
}

/// The name a resolver asks CoreDNS for when a pod dials `peer.host`.
fn fqdn(p: &Peer) -> String {
    let h = p.host.trim_end_matches('.');
    if h.ends_with(".cluster.local") {
        format!("{h}.")
    } else if h.contains('.') {
        let mut parts = h.splitn(2, '.');
        let (svc, ns) = (parts.next().unwrap_or(h), parts.next().unwrap_or(""));
        format!("{svc}.{ns}.svc.cluster.local.")
    } else {
        format!("{h}.{}.svc.cluster.local.", p.namespace)
    }
}
