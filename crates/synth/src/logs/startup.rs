//! Startup banners: what each style's software prints when an instance starts inside the
//! logged span.

use std::fmt::Write as _;

use crate::signals::LogStyle;

use super::Gen;
use super::format::{
    JsonLine, civil, logfmt, push_klog, push_kv, push_pg, push_rabbit, push_redis, push_rfc3339,
};

impl<'c, 'a> Gen<'c, 'a> {
    pub(super) fn startup(&mut self, t: i64) {
        let ctx = self.ctx;
        let app = ctx.sig.app.as_str();
        let version = format!("1.{}.{}", self.rng.range(2, 14), self.rng.range(0, 9));
        match ctx.sig.style {
            LogStyle::Json => {
                let l = JsonLine::new(t, "info", &format!("starting {app}"))
                    .str("version", &version)
                    .str("go_version", "go1.22.5")
                    .end();
                self.push(t, l);
                let l = JsonLine::new(t + 12, "info", "http server listening")
                    .str("addr", ":8080")
                    .end();
                self.push(t + 12, l);
            }
            LogStyle::Logfmt => {
                let mut l = logfmt(t, "info", &format!("starting {app}"));
                push_kv(&mut l, "version", &version);
                self.push(t, l);
                let mut l = logfmt(t + 12, "info", "http server listening");
                push_kv(&mut l, "addr", ":8080");
                self.push(t + 12, l);
            }
            LogStyle::Access => {
                let mut l = String::new();
                push_rfc3339(&mut l, t);
                let _ = write!(l, " INFO starting {app} v{version} on :8080");
                self.push(t, l);
            }
            LogStyle::Postgres => {
                let lines = [
                    "LOG:  starting PostgreSQL 16.4 (Debian 16.4-1.pgdg120+2) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit",
                    "LOG:  listening on IPv4 address \"0.0.0.0\", port 5432",
                    "LOG:  listening on IPv6 address \"::\", port 5432",
                    "LOG:  listening on Unix socket \"/var/run/postgresql/.s.PGSQL.5432\"",
                ];
                for (i, text) in lines.iter().enumerate() {
                    let mut l = String::new();
                    push_pg(&mut l, t + i as i64, 1);
                    l.push_str(text);
                    self.push(t + i as i64, l);
                }
                let pid = self.worker_pid + 1;
                let mut l = String::new();
                push_pg(&mut l, t + 9, pid);
                l.push_str("LOG:  database system was shut down at ");
                let c = civil(t - 4_000);
                let _ = write!(
                    l,
                    "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                    c.year, c.month, c.day, c.hour, c.minute, c.second
                );
                self.push(t + 9, l);
                let mut l = String::new();
                push_pg(&mut l, t + 21, 1);
                l.push_str("LOG:  database system is ready to accept connections");
                self.push(t + 21, l);
            }
            LogStyle::Redis => {
                let texts: [(char, &str); 5] = [
                    ('C', "# oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo"),
                    (
                        'C',
                        "# Redis version=7.2.5, bits=64, commit=00000000, modified=0, pid=1, just started",
                    ),
                    ('M', "* monotonic clock: POSIX clock_gettime"),
                    ('M', "* Server initialized"),
                    ('M', "* Ready to accept connections tcp"),
                ];
                for (i, (role, text)) in texts.iter().enumerate() {
                    let mut l = String::new();
                    push_redis(&mut l, t + 2 * i as i64, 1, *role);
                    l.push_str(text);
                    self.push(t + 2 * i as i64, l);
                }
            }
            LogStyle::Queue => {
                let texts = [
                    "[info] <0.230.0> Starting RabbitMQ 3.13.7 on Erlang 26.2.5.3 [jit]",
                    "[info] <0.230.0> Running boot step rabbit_core_metrics_gc defined by app rabbit",
                    "[info] <0.613.0> started TCP listener on [::]:5672",
                    "[info] <0.230.0> Server startup complete; 4 plugins started.",
                ];
                for (i, text) in texts.iter().enumerate() {
                    let ti = t + 900 * i as i64;
                    let mut l = String::new();
                    let m = self.micro();
                    push_rabbit(&mut l, ti, m);
                    l.push_str(text);
                    self.push(ti, l);
                }
            }
            LogStyle::Ingress => {
                let texts = [
                    "-------------------------------------------------------------------------------",
                    "NGINX Ingress controller",
                    "  Release:       v1.11.2",
                    "  Build:         46e76e5916813cfca2a9b0bfdc34b69a0000f6b9",
                    "  Repository:    https://github.com/kubernetes/ingress-nginx",
                    "  nginx version: nginx/1.25.5",
                    "-------------------------------------------------------------------------------",
                ];
                for text in texts {
                    self.push(t, text.to_string());
                }
                let mut l = String::new();
                let m = self.micro();
                push_klog(&mut l, 'I', t + 40, m, 7, "main.go:205");
                l.push_str("\"Creating API client\" host=\"https://10.96.0.1:443\"");
                self.push(t + 40, l);
                let mut l = String::new();
                let m = self.micro();
                push_klog(&mut l, 'I', t + 1_800, m, 7, "controller.go:210");
                l.push_str("\"Backend successfully reloaded\"");
                self.push(t + 1_800, l);
            }
            LogStyle::CoreDns => {
                let mut sha = String::new();
                for _ in 0..8 {
                    let _ = write!(sha, "{:016x}", self.rng.next_u64());
                }
                let texts = [
                    ".:53".to_string(),
                    format!("[INFO] plugin/reload: Running configuration SHA512 = {sha}"),
                    "CoreDNS-1.11.3".to_string(),
                    "linux/amd64, go1.21.11, a6338e9".to_string(),
                ];
                for text in texts {
                    let mut l = String::new();
                    push_rfc3339(&mut l, t);
                    l.push(' ');
                    l.push_str(&text);
                    self.push(t, l);
                }
            }
            LogStyle::Batch => {
                let mut l = String::new();
                push_rfc3339(&mut l, t);
                let _ = write!(l, " INFO {app} v{version} starting, schedule loaded");
                self.push(t, l);
            }
            LogStyle::System => {
                let (source, text) = if app.contains("proxy") {
                    ("server_linux.go:66", "\"Using iptables proxy\"".to_string())
                } else {
                    (
                        "main.go:58",
                        format!("\"Starting {app}\" version=\"v{version}\""),
                    )
                };
                let mut l = String::new();
                let m = self.micro();
                push_klog(&mut l, 'I', t, m, 1, source);
                l.push_str(&text);
                self.push(t, l);
            }
        }
    }
}
