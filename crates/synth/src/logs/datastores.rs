//! Data stores: PostgreSQL (connections, checkpoints, slow queries, too many clients),
//! Redis (background saves, client buffer limits) and RabbitMQ (connections, queue depth).

use super::Gen;
use super::format::{fixed, push_pg, push_rabbit, push_redis};

impl<'c, 'a> Gen<'c, 'a> {
    fn pg(&mut self, t: i64, pid: u64, text: &str) {
        let mut l = String::with_capacity(text.len() + 36);
        push_pg(&mut l, t, pid);
        l.push_str(text);
        self.push(t, l);
    }

    pub(super) fn postgres_event(&mut self, t: i64) {
        let ctx = self.ctx;
        let db = ctx.sig.namespace.clone();
        let after = ctx.after(t);
        if self.background_peer_call(t).is_some() {
            return;
        }
        if after && ctx.error_rate > 0.0 && self.rng.chance((2.0 * ctx.error_rate).clamp(0.2, 0.9))
        {
            let pid = self.next_id();
            if self.rng.chance(0.7) {
                let host = self.client_ip();
                let port = self.rng.range(32_768, 60_999);
                self.pg(
                    t,
                    pid,
                    &format!("LOG:  connection received: host={host} port={port}"),
                );
                self.pg(t + 1, pid, "FATAL:  sorry, too many clients already");
            } else {
                self.pg(
                    t,
                    pid,
                    "LOG:  could not receive data from client: Connection reset by peer",
                );
            }
            return;
        }
        if after && ctx.latency_ms >= 200.0 && self.rng.chance(0.4) {
            let pid = self.next_id();
            let d = ctx.latency_ms * self.rng.noise(0.3);
            let table = self.pick(&["orders", "order_items", "carts", "sessions", "products"]);
            self.pg(
                t,
                pid,
                &format!(
                    "LOG:  duration: {} ms  execute <unnamed>: SELECT * FROM {table} WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 50",
                    fixed(d, 3)
                ),
            );
            return;
        }
        let u = self.rng.unit();
        if u < 0.6 {
            let pid = self.next_id();
            let host = self.client_ip();
            let port = self.rng.range(32_768, 60_999);
            let app = self.pick(&["cart", "checkout", "orders", "auth", "catalog"]);
            self.pg(
                t,
                pid,
                &format!("LOG:  connection received: host={host} port={port}"),
            );
            self.pg(
                t + 3,
                pid,
                &format!(
                    "LOG:  connection authorized: user=app database={db} application_name={app}"
                ),
            );
            let session = self.rng.range(200, 600_000) as i64;
            let end = t + 3 + session;
            self.pg(
                end,
                pid,
                &format!(
                    "LOG:  disconnection: session time: {}:{:02}:{:02}.{:03} user=app database={db} host={host} port={port}",
                    session / 3_600_000,
                    session / 60_000 % 60,
                    session / 1000 % 60,
                    session % 1000
                ),
            );
        } else if u < 0.85 {
            let pid = self.worker_pid;
            self.pg(t, pid, "LOG:  checkpoint starting: time");
            let buffers = self.rng.range(20, 4_000);
            let write = 3.0 + 27.0 * self.rng.unit();
            let sync = 0.002 + 0.02 * self.rng.unit();
            let files = self.rng.range(3, 60);
            let distance = self.rng.range(200, 40_000);
            let lsn = self.rng.range(0x1_000_000, 0xFFF_FFFF);
            let recycled = self.rng.range(0, 2);
            let estimate = distance + self.rng.range(0, 5_000);
            let done = t + ((write + sync) * 1000.0) as i64;
            self.pg(
                done,
                pid,
                &format!(
                    "LOG:  checkpoint complete: wrote {buffers} buffers ({}%); 0 WAL file(s) added, 0 removed, {} recycled; write={} s, sync={} s, total={} s; sync files={files}, longest={} s, average={} s; distance={distance} kB, estimate={} kB; lsn=0/{lsn:X}, redo lsn=0/{:X}",
                    fixed(buffers as f64 / 163.84, 1),
                    recycled,
                    fixed(write, 3),
                    fixed(sync, 3),
                    fixed(write + sync + 0.004, 3),
                    fixed(sync * 0.6, 3),
                    fixed(sync / files as f64, 3),
                    estimate,
                    lsn.saturating_sub(0x2000)
                ),
            );
        } else {
            let pid = self.next_id();
            let table = self.pick(&["orders", "order_items", "carts", "sessions", "products"]);
            let elapsed = 0.01 + 0.5 * self.rng.unit();
            self.pg(
                t,
                pid,
                &format!(
                    "LOG:  automatic analyze of table \"{db}.public.{table}\" system usage: CPU: user: {} s, system: 0.00 s, elapsed: {} s",
                    fixed(elapsed * 0.3, 2),
                    fixed(elapsed, 2)
                ),
            );
        }
    }

    // -- Redis ------------------------------------------------------------------------------

    fn redis(&mut self, t: i64, pid: u64, role: char, text: &str) {
        let mut l = String::with_capacity(text.len() + 32);
        push_redis(&mut l, t, pid, role);
        l.push_str(text);
        self.push(t, l);
    }

    pub(super) fn redis_event(&mut self, t: i64) {
        let ctx = self.ctx;
        if self.background_peer_call(t).is_some() {
            return;
        }
        if ctx.after(t)
            && ctx.error_rate > 0.0
            && self.rng.chance((2.0 * ctx.error_rate).clamp(0.2, 0.9))
        {
            let id = self.next_id();
            let addr = format!("{}:{}", self.client_ip(), self.rng.range(32_768, 60_999));
            let age = self.rng.range(1, 4_000);
            self.redis(
                t,
                1,
                'M',
                &format!(
                    "# Client id={id} addr={addr} laddr={}:6379 fd=12 name= age={age} idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 obl=0 oll=1024 omem=268435456 tot-mem=268437504 events=r cmd=get user=default redir=-1 resp=2 scheduled to be closed ASAP for overcoming of output buffer limits.",
                    ctx.pod_ip
                ),
            );
            return;
        }
        let changes = self.rng.range(100, 20_000);
        let child = self.next_id();
        self.redis(
            t,
            1,
            'M',
            &format!("* {changes} changes in 300 seconds. Saving..."),
        );
        self.redis(
            t + 2,
            1,
            'M',
            &format!("* Background saving started by pid {child}"),
        );
        let took = self.rng.range(40, 3_000) as i64;
        self.redis(t + took, child, 'C', "* DB saved on disk");
        let cow = self.rng.range(0, 12);
        self.redis(
            t + took + 1,
            child,
            'C',
            &format!(
                "* Fork CoW for RDB: current {cow} MB, peak {cow} MB, average {} MB",
                cow / 2
            ),
        );
        self.redis(
            t + took + 90,
            1,
            'M',
            "* Background saving terminated with success",
        );
    }

    // -- RabbitMQ ---------------------------------------------------------------------------

    fn rabbit(&mut self, t: i64, text: &str) {
        let mut l = String::with_capacity(text.len() + 40);
        let m = self.micro();
        push_rabbit(&mut l, t, m);
        l.push_str(text);
        self.push(t, l);
    }

    pub(super) fn queue_event(&mut self, t: i64) {
        let ctx = self.ctx;
        if self.background_peer_call(t).is_some() {
            return;
        }
        let local = format!("{}:5672", ctx.pod_ip);
        let peer = format!("{}:{}", self.client_ip(), self.rng.range(32_768, 60_999));
        let id = self.next_id();
        let u = self.rng.unit();
        if ctx.after(t)
            && ctx.error_rate > 0.0
            && self.rng.chance((2.0 * ctx.error_rate).clamp(0.2, 0.9))
        {
            let why = if self.rng.chance(0.5) {
                "client unexpectedly closed TCP connection"
            } else {
                "missed heartbeats from client, timeout: 60s"
            };
            let level = if why.starts_with("missed") {
                "error"
            } else {
                "warning"
            };
            self.rabbit(
                t,
                &format!("[{level}] <0.{id}.0> closing AMQP connection <0.{id}.0> ({peer} -> {local}, vhost: '/', user: 'app'):"),
            );
            self.rabbit(t, &format!("[{level}] <0.{id}.0> {why}"));
        } else if u < 0.4 {
            self.rabbit(
                t,
                &format!(
                    "[info] <0.{id}.0> accepting AMQP connection <0.{id}.0> ({peer} -> {local})"
                ),
            );
            self.rabbit(
                t + 4,
                &format!("[info] <0.{id}.0> connection <0.{id}.0> ({peer} -> {local}): user 'app' authenticated and granted access to vhost '/'"),
            );
        } else if u < 0.6 {
            self.rabbit(
                t,
                &format!("[info] <0.{id}.0> closing AMQP connection <0.{id}.0> ({peer} -> {local}, vhost: '/', user: 'app')"),
            );
        } else {
            let queue = self.pick(&["orders", "notifications", "events", "emails"]);
            let mut ready = self.rng.range(0, 40) as f64;
            if let Some(onset) = ctx.onset.filter(|o| t >= *o) {
                // Consumers fall behind after the fault: the backlog builds.
                ready += (t - onset) as f64 / 60_000.0 * (20.0 + 40.0 * self.rng.unit());
            }
            let unacked = self.rng.range(0, 12);
            let consumers = self.rng.range(1, 6);
            self.rabbit(
                t,
                &format!(
                    "[info] <0.{id}.0> queue '{queue}' in vhost '/': {} messages ready, {unacked} unacknowledged, {consumers} consumers",
                    fixed(ready, 0)
                ),
            );
        }
    }
}
