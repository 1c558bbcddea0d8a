//! Tests of [`render`](super::render) over every style: determinism, peer errors, error
//! rates, time order, budgets, previous instances and extra lines.

use super::*;
use crate::signals::{LogLine, Previous};

const ALL_STYLES: [LogStyle; 10] = [
    LogStyle::Access,
    LogStyle::Json,
    LogStyle::Logfmt,
    LogStyle::Postgres,
    LogStyle::Redis,
    LogStyle::Queue,
    LogStyle::Ingress,
    LogStyle::CoreDns,
    LogStyle::Batch,
    LogStyle::System,
];
const ALL_ERRORS: [PeerError; 7] = [
    PeerError::Timeout,
    PeerError::Refused,
    PeerError::Reset,
    PeerError::PoolExhausted,
    PeerError::Dns,
    PeerError::ServerError,
    PeerError::TlsExpired,
];

fn cap() -> Timestamp {
    "2026-11-24T14:00:00Z".parse().unwrap()
}

fn opts(max_lines: usize) -> LogOptions {
    LogOptions {
        max_lines,
        window_minutes: 60.0,
    }
}

fn peer(service: &str, host: &str, port: u16, ip: &str) -> Peer {
    Peer {
        service: service.into(),
        namespace: "shop".into(),
        host: host.into(),
        port,
        cluster_ip: ip.into(),
    }
}

/// A checkout service calling auth and postgres, auth failing 20 minutes ago.
fn failing(style: LogStyle, kind: PeerError) -> ContainerSignals {
    let mut s = ContainerSignals::new("shop", "checkout-7d9f8-x2k4q", "app", "checkout", style);
    s.peers = vec![
        peer("auth", "auth.shop.svc.cluster.local", 9000, "10.96.3.12"),
        peer("postgres", "postgres.shop", 5432, "10.96.3.20"),
    ];
    s.rps = 20.0;
    s.error_rate = 0.3;
    s.error_status = 503;
    s.failing_peer = Some(("auth".into(), kind));
    s.onset_minutes_ago = Some(20.0);
    s
}

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// The time of a line in any of the formats written here (enough for the tests).
fn line_time(line: &str) -> Option<i64> {
    let parse = |s: &str| s.parse::<Timestamp>().ok().map(ms);
    if let Some(i) = line.find("\"ts\":\"") {
        return parse(line.get(i + 6..i + 30)?);
    }
    if let Some(rest) = line.strip_prefix("time=") {
        return parse(rest.split(' ').next()?);
    }
    if let Some(i) = line.find(" - - [") {
        // nginx $time_local: 24/Nov/2026:13:58:01 +0000
        let s = line.get(i + 6..i + 26)?;
        let day: i64 = s.get(0..2)?.parse().ok()?;
        let (h, m, sec): (i64, i64, i64) = (
            s.get(12..14)?.parse().ok()?,
            s.get(15..17)?.parse().ok()?,
            s.get(18..20)?.parse().ok()?,
        );
        let base = ms("2026-11-01T00:00:00Z".parse().ok()?);
        return Some(base + (((day - 1) * 24 + h) * 60 + m) * 60_000 + sec * 1000);
    }
    let b = line.as_bytes();
    if b.get(4) == Some(&b'-') && b.get(10) == Some(&b' ') {
        // PostgreSQL and RabbitMQ: 2026-11-24 13:58:01.123…
        return parse(&format!("{}Z", line.get(0..23)?.replacen(' ', "T", 1)));
    }
    if is_klog(line) {
        let s = format!(
            "2026-{}-{}T{}Z",
            line.get(1..3)?,
            line.get(3..5)?,
            line.get(6..21)?
        );
        return parse(&s);
    }
    if let Some(i) = line.find(" Nov 2026 ") {
        // Redis: 1:M 24 Nov 2026 13:58:01.123
        let day = line.get(i - 2..i)?;
        return parse(&format!("2026-11-{day}T{}Z", line.get(i + 10..i + 22)?));
    }
    if b.get(4) == Some(&b'/') {
        // nginx error log: 2026/11/24 13:58:01
        let s = line.get(0..19)?.replace('/', "-").replacen(' ', "T", 1);
        return parse(&format!("{s}Z"));
    }
    parse(line.split(' ').next()?)
}

#[test]
fn same_seed_same_text_other_seed_other_text() {
    for style in ALL_STYLES {
        let mut s = failing(style, PeerError::Timeout);
        s.previous = Some(Previous {
            started_minutes_ago: 300.0,
            ended_minutes_ago: 100.0,
            last_lines: vec!["boom".into()],
        });
        s.started_minutes_ago = 99.0;
        let a = render(&s, cap(), &opts(200), &mut Rng::new(42));
        let b = render(&s, cap(), &opts(200), &mut Rng::new(42));
        let c = render(&s, cap(), &opts(200), &mut Rng::new(43));
        assert_eq!(a, b, "{style:?}");
        assert!(!a.0.is_empty() && a.1.is_some(), "{style:?}");
        assert_ne!(a.0, c.0, "{style:?}");
    }
}

#[test]
fn containers_do_not_disturb_each_other() {
    // The caller may use one generator for all containers: output depends on the
    // container, not on what was rendered before it.
    let s = failing(LogStyle::Json, PeerError::Refused);
    let mut other = s.clone();
    other.pod = "checkout-7d9f8-zzzzz".into();
    let mut shared = Rng::new(9);
    let first = render(&s, cap(), &opts(100), &mut shared);
    render(&other, cap(), &opts(100), &mut shared);
    assert_eq!(first, render(&s, cap(), &opts(100), &mut shared));
    assert_ne!(first.0, render(&other, cap(), &opts(100), &mut shared).0);
}

#[test]
fn failing_peer_is_named_after_onset_and_not_before() {
    let onset = ms(cap()) - 20 * 60_000;
    for style in [
        LogStyle::Json,
        LogStyle::Logfmt,
        LogStyle::Access,
        LogStyle::Ingress,
    ] {
        for kind in ALL_ERRORS {
            let s = failing(style, kind);
            let (log, _) = render(&s, cap(), &opts(400), &mut Rng::new(7));
            let mut before = 0;
            let mut named_after = 0;
            for line in log.lines() {
                let t = line_time(line).unwrap_or_else(|| panic!("{style:?}: no time in {line:?}"));
                let names = line.contains("10.96.3.12") || line.contains("auth.shop.svc");
                if t < onset {
                    before += 1;
                    assert!(
                        !names,
                        "{style:?} {kind:?} names the peer before onset: {line}"
                    );
                } else if names {
                    named_after += 1;
                }
            }
            assert!(
                before > 20,
                "{style:?} {kind:?}: {before} lines before onset"
            );
            assert!(
                named_after >= 5,
                "{style:?} {kind:?}: {named_after} lines name auth\n{log}"
            );
        }
    }
}

#[test]
fn peer_errors_read_like_real_clients() {
    let text = |style, kind| render(&failing(style, kind), cap(), &opts(400), &mut Rng::new(5)).0;
    let timeout = text(LogStyle::Logfmt, PeerError::Timeout);
    assert!(timeout.contains("dial tcp 10.96.3.12:9000: i/o timeout"));
    assert!(
        timeout
            .contains("context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
    );
    assert!(timeout.contains("http://auth.shop.svc.cluster.local:9000/api/"));
    assert!(timeout.contains("retry=1/3 backoff=400ms"));
    assert!(timeout.contains("retry=2/3 backoff=800ms"));
    assert!(timeout.contains("failed after 4 attempts"));
    assert!(
        text(LogStyle::Logfmt, PeerError::Refused)
            .contains("dial tcp 10.96.3.12:9000: connect: connection refused")
    );
    assert!(
        text(LogStyle::Logfmt, PeerError::Reset)
            .contains("->10.96.3.12:9000: read: connection reset by peer")
    );
    let dns = text(LogStyle::Logfmt, PeerError::Dns);
    assert!(dns.contains("lookup auth.shop.svc.cluster.local on 10.96.0.10:53: no such host"));
    assert!(dns.contains("->10.96.0.10:53: i/o timeout"));
    assert!(text(LogStyle::Logfmt, PeerError::ServerError).contains("upstream returned 503"));
    assert!(text(LogStyle::Logfmt, PeerError::TlsExpired).contains(
        "x509: certificate has expired or is not yet valid: current time 2026-11-24T13:"
    ));
    assert!(
        text(LogStyle::Logfmt, PeerError::PoolExhausted)
            .contains("connection pool exhausted (max=50, waiting=")
    );
    let mut pg = failing(LogStyle::Json, PeerError::PoolExhausted);
    pg.failing_peer = Some(("postgres".into(), PeerError::PoolExhausted));
    let log = render(&pg, cap(), &opts(400), &mut Rng::new(5)).0;
    assert!(log.contains("FATAL: sorry, too many clients already"));
    assert!(log.contains("pq: remaining connection slots are reserved"));
    assert!(log.contains("host=postgres.shop"));
    let ingress = text(LogStyle::Ingress, PeerError::Timeout);
    assert!(ingress.contains("upstream timed out (110: Operation timed out)"));
    assert!(ingress.contains("upstream: \"http://10.96.3.12:9000/"));
    assert!(ingress.contains("[shop-auth-9000]"));
}

#[test]
fn status_codes_fail_at_the_error_rate_after_onset() {
    let mut s = failing(LogStyle::Json, PeerError::ServerError);
    s.failing_peer = None;
    s.rps = 50.0;
    s.onset_minutes_ago = Some(30.0);
    s.latency_ms = 900.0;
    let (log, _) = render(&s, cap(), &opts(4_000), &mut Rng::new(11));
    let onset = ms(cap()) - 30 * 60_000;
    let (mut before, mut after, mut failed_after) = (0, 0, 0);
    let (mut slow_before, mut slow_after) = (0, 0);
    for line in log
        .lines()
        .filter(|l| l.contains("\"status\":") && !l.contains("/healthz"))
    {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let t = ms(v["ts"].as_str().unwrap().parse().unwrap());
        let status = v["status"].as_u64().unwrap();
        let latency = v["duration_ms"].as_f64().unwrap();
        if t < onset {
            before += 1;
            assert_ne!(status, 503, "{line}");
            assert!((5.0..=80.0).contains(&latency), "{line}");
            slow_before += usize::from(latency > 500.0);
        } else {
            after += 1;
            failed_after += usize::from(status == 503);
            slow_after += usize::from(latency > 500.0);
        }
    }
    assert!(before > 500 && after > 500, "{before} {after}");
    let share = failed_after as f64 / after as f64;
    assert!((0.25..=0.35).contains(&share), "503 share {share}");
    assert_eq!(slow_before, 0);
    assert_eq!(slow_after, after);
}

#[test]
fn lines_are_in_time_order_within_the_window_and_the_budget() {
    for style in ALL_STYLES {
        let mut s = failing(style, PeerError::Reset);
        s.extra_lines = vec![LogLine {
            minutes_ago: 3.0,
            text: "config reloaded".into(),
        }];
        let (log, _) = render(&s, cap(), &opts(150), &mut Rng::new(1));
        let lines: Vec<&str> = log.lines().collect();
        assert!(
            lines.len() <= 150 && lines.len() > 20,
            "{style:?}: {}",
            lines.len()
        );
        let times: Vec<i64> = lines.iter().filter_map(|l| line_time(l)).collect();
        let banner = lines.iter().filter(|l| line_time(l).is_none()).count();
        // Only nginx-ingress' startup banner has no time.
        assert!(banner <= 6, "{style:?}: {banner} lines without a time");
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "{style:?} out of order"
        );
        let start = ms(cap()) - 60 * 60_000;
        assert!(
            times.iter().all(|t| (start..=ms(cap())).contains(t)),
            "{style:?}"
        );
        // Spread over the window, not bunched at the end.
        assert!(
            times.first().is_some_and(|t| *t < start + 10 * 60_000),
            "{style:?}"
        );
        assert!(log.contains("config reloaded"), "{style:?}");
    }
}

#[test]
fn quiet_containers_write_little_and_busy_ones_fill_the_budget() {
    let mut quiet = ContainerSignals::new("shop", "worker-1", "app", "worker", LogStyle::Logfmt);
    quiet.started_minutes_ago = 10.0;
    let (log, _) = render(&quiet, cap(), &opts(200), &mut Rng::new(1));
    let n = log.lines().count();
    assert!((5..=20).contains(&n), "{n}\n{log}");
    assert!(log.starts_with("time=2026-11-24T13:50:00.000Z level=info msg=\"starting worker\""));
    let mut busy = quiet.clone();
    busy.rps = 100.0;
    busy.started_minutes_ago = 1_440.0;
    let (log, _) = render(&busy, cap(), &opts(200), &mut Rng::new(1));
    let n = log.lines().count();
    assert!((180..=200).contains(&n), "{n}");
}

#[test]
fn previous_log_ends_with_its_last_lines() {
    let panic_trace = "panic: runtime error: invalid memory address or nil pointer dereference\n\
        [signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x6f4a21]\n\n\
        goroutine 42 [running]:\nmain.(*Handler).ServeHTTP(0x0, {0x7f1c, 0xc000}, 0xc0001)\n\
        \t/app/handler.go:87 +0x21";
    for style in ALL_STYLES {
        let mut s = failing(style, PeerError::Dns);
        s.started_minutes_ago = 5.0;
        s.previous = Some(Previous {
            started_minutes_ago: 45.0,
            ended_minutes_ago: 5.5,
            last_lines: vec!["fatal: out of memory".into(), panic_trace.into()],
        });
        let (cur, prev) = render(&s, cap(), &opts(120), &mut Rng::new(2));
        let prev = prev.unwrap();
        assert!(
            prev.ends_with(&format!("fatal: out of memory\n{panic_trace}\n")),
            "{style:?}"
        );
        assert!(prev.lines().count() > 20, "{style:?}");
        let ended = ms(cap()) - 330_000;
        let body: Vec<&str> = prev
            .lines()
            .take_while(|l| *l != "fatal: out of memory")
            .collect();
        assert!(
            body.iter().filter_map(|l| line_time(l)).all(|t| t <= ended),
            "{style:?}: previous lines after its end"
        );
        // The current instance starts anew.
        let first = cur.lines().filter_map(line_time).next();
        assert!(first.is_some_and(|t| t >= ms(cap()) - 300_000), "{style:?}");
        assert!(!cur.contains("fatal: out of memory"));
    }
}

#[test]
fn a_stopped_container_has_no_current_log() {
    let mut s = failing(LogStyle::Json, PeerError::Refused);
    s.running = false;
    s.extra_lines = vec![LogLine {
        minutes_ago: 1.0,
        text: "late".into(),
    }];
    let (cur, prev) = render(&s, cap(), &opts(100), &mut Rng::new(1));
    assert_eq!(cur, "");
    assert_eq!(prev, None);
    s.previous = Some(Previous {
        started_minutes_ago: 30.0,
        ended_minutes_ago: 2.0,
        last_lines: vec!["Killed".into()],
    });
    s.extra_lines.push(LogLine {
        minutes_ago: 10.0,
        text: "level=warn msg=\"heap at 95% of limit\"".into(),
    });
    let (cur, prev) = render(&s, cap(), &opts(100), &mut Rng::new(1));
    assert_eq!(cur, "");
    let prev = prev.unwrap();
    assert!(prev.ends_with("Killed\n"));
    assert!(prev.contains("Z level=warn msg=\"heap at 95% of limit\""));
    assert!(!prev.contains("late"));
}

#[test]
fn extra_lines_keep_their_own_time_or_get_the_style_prefix() {
    let t = ms(cap()) - 60_000;
    let extra = |style, text: &str| {
        let s = ContainerSignals::new("shop", "p", "c", "auth", style);
        Ctx::new(&s, ms(cap())).extra_text(text, t, &mut Rng::new(1))
    };
    let own = [
        "2026-11-24T13:59:00Z level=error msg=boom",
        "2026/11/24 13:59:00 [emerg] 1#1: bind() failed",
        "1:M 24 Nov 2026 13:59:00.000 # WARNING overcommit_memory is set to 0",
        "E1124 13:59:00.000000       1 reflector.go:158] \"Unhandled Error\"",
        "{\"time\":\"2026-11-24T13:59:00Z\",\"msg\":\"x\"}",
    ];
    for text in own {
        assert_eq!(extra(LogStyle::Json, text), text);
    }
    assert_eq!(
        extra(LogStyle::Json, "{\"level\":\"error\",\"msg\":\"OOM\"}"),
        "{\"ts\":\"2026-11-24T13:59:00.000Z\",\"level\":\"error\",\"msg\":\"OOM\"}"
    );
    assert_eq!(
        extra(LogStyle::Json, "{}"),
        "{\"ts\":\"2026-11-24T13:59:00.000Z\"}"
    );
    assert_eq!(
        extra(LogStyle::Access, "OOMKilled"),
        "2026-11-24T13:59:00.000Z OOMKilled"
    );
    assert_eq!(
        extra(LogStyle::Logfmt, "level=error msg=x"),
        "time=2026-11-24T13:59:00.000Z level=error msg=x"
    );
    assert_eq!(
        extra(LogStyle::Redis, "# Out Of Memory"),
        "1:M 24 Nov 2026 13:59:00.000 # Out Of Memory"
    );
    assert!(
        extra(
            LogStyle::Postgres,
            "FATAL:  sorry, too many clients already"
        )
        .starts_with("2026-11-24 13:59:00.000 UTC [")
    );
}

#[test]
fn extra_lines_survive_a_small_budget() {
    let mut s = failing(LogStyle::Json, PeerError::Timeout);
    s.extra_lines = (0..5)
        .map(|i| LogLine {
            minutes_ago: 50.0 - f64::from(i),
            text: format!("evidence {i}"),
        })
        .collect();
    let (log, _) = render(&s, cap(), &opts(8), &mut Rng::new(1));
    assert_eq!(log.lines().count(), 8, "{log}");
    for i in 0..5 {
        assert!(log.contains(&format!("evidence {i}")));
    }
}

#[test]
fn native_formats() {
    let text = |style, rps: f64, error_rate: f64| {
        let mut s = ContainerSignals::new("shop", "p-0", "c", "app", style);
        s.rps = rps;
        s.error_rate = error_rate;
        s.onset_minutes_ago = Some(30.0);
        s.started_minutes_ago = 50.0;
        render(&s, cap(), &opts(300), &mut Rng::new(4)).0
    };
    let pg = text(LogStyle::Postgres, 0.0, 0.3);
    assert!(pg.contains(" UTC [1] LOG:  database system is ready to accept connections"));
    assert!(pg.contains("LOG:  checkpoint complete: wrote "));
    assert!(pg.contains("LOG:  connection authorized: user=app database=shop"));
    assert!(pg.contains("FATAL:  sorry, too many clients already"));
    assert!(pg.contains("LOG:  could not receive data from client: Connection reset by peer"));
    let redis = text(LogStyle::Redis, 0.0, 0.0);
    assert!(redis.contains("1:M 24 Nov 2026 13:10:00.008 * Ready to accept connections tcp"));
    assert!(redis.contains("* Background saving terminated with success"));
    let dns = text(LogStyle::CoreDns, 5.0, 0.2);
    assert!(dns.contains(" [INFO] 10.244."));
    assert!(dns.contains("\"A IN kubernetes.default.svc.cluster.local. udp "));
    assert!(dns.contains(" SERVFAIL qr,rd "));
    assert!(dns.contains("[ERROR] plugin/errors: 2 "));
    let queue = text(LogStyle::Queue, 0.0, 0.0);
    assert!(queue.contains("[info] <0."));
    assert!(queue.contains("accepting AMQP connection"));
    assert!(queue.contains("messages ready"));
    let batch = text(LogStyle::Batch, 0.0, 0.0);
    assert!(batch.contains("completed in "));
    let system = text(LogStyle::System, 0.0, 0.0);
    assert!(system.lines().all(is_klog), "{system}");
    let ingress = text(LogStyle::Ingress, 5.0, 0.0);
    let access_line = ingress.lines().find(|l| l.contains("HTTP/1.1\"")).unwrap();
    let re = regex::Regex::new(
        r#"^10\.0\.\d+\.\d+ - - \[24/Nov/2026:\d\d:\d\d:\d\d \+0000\] "(GET|POST|PUT|DELETE) /\S* HTTP/1\.1" \d{3} \d+ "[^"]*" "[^"]+" \d+ \d+\.\d{3} \[[a-z0-9-]+\] \[\] [0-9.:, ]+ [0-9, ]+ [0-9., ]+ [0-9, ]+ [0-9a-f]{32}$"#,
    )
    .unwrap();
    assert!(re.is_match(access_line), "{access_line}");
}

#[test]
fn odd_inputs_do_not_panic() {
    for style in ALL_STYLES {
        let mut s = failing(style, PeerError::Timeout);
        s.rps = f64::NAN;
        s.error_rate = f64::INFINITY;
        s.latency_ms = if style == LogStyle::Json { 1e300 } else { -5.0 };
        s.onset_minutes_ago = Some(f64::NAN);
        s.started_minutes_ago = f64::INFINITY;
        s.failing_peer = Some(("unknown".into(), PeerError::Timeout));
        s.extra_lines = vec![LogLine {
            minutes_ago: -3.0,
            text: String::new(),
        }];
        s.previous = Some(Previous {
            started_minutes_ago: 1.0,
            ended_minutes_ago: 2.0,
            last_lines: Vec::new(),
        });
        for o in [
            opts(0),
            LogOptions {
                max_lines: 50,
                window_minutes: f64::NAN,
            },
        ] {
            let (cur, prev) = render(&s, cap(), &o, &mut Rng::new(1));
            assert!(cur.lines().count() <= o.max_lines.max(1), "{style:?}");
            assert!(prev.is_some());
        }
    }
}

/// `cargo test --release -- --ignored scale`: the cost of a busy container's log.
#[test]
#[ignore = "timing check, run in release"]
fn scale_logs() {
    let start = std::time::Instant::now();
    let mut lines = 0;
    for i in 0..10_000 {
        let mut s = failing(
            ALL_STYLES[i % ALL_STYLES.len()],
            ALL_ERRORS[i % ALL_ERRORS.len()],
        );
        s.pod = format!("pod-{i}");
        lines += render(&s, cap(), &opts(200), &mut Rng::new(1))
            .0
            .lines()
            .count();
    }
    eprintln!(
        "logs: 10,000 containers, {lines} lines in {:?}",
        start.elapsed()
    );
}
