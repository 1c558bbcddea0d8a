use std::cell::RefCell;

use super::{FIRST_WORDS, Signature, classify, classify_by, http_status};

/// A line without any of [`FIRST_WORDS`] skips the word-by-word rules: so every word
/// those rules ask about first must be in the list. On a line that has none, every
/// `||` operand and every `&&` left side is asked; record them.
#[test]
fn first_words_cover_every_rule() {
    let asked = RefCell::new(Vec::new());
    let has = |s: &str| {
        asked.borrow_mut().push(s.to_string());
        false
    };
    for status in [None, Some(200)] {
        assert_eq!(classify_by(&has, "", status), None);
    }
    for word in asked.borrow().iter() {
        assert!(
            FIRST_WORDS.contains(&word.as_str()),
            "{word:?} is not in FIRST_WORDS"
        );
    }
    assert!(
        FIRST_WORDS.contains(&"duration: "),
        "slow_duration's marker"
    );
}

/// The fast path and the rules agree, in any case, on lines of every signature.
#[test]
fn classify_matches_the_rules_in_any_case() {
    let lines = [
        ("GET / HTTP/1.1\" 200 12", Some(200), None),
        (
            "GET / HTTP/1.1\" 503 12",
            Some(503),
            Some(Signature::Http5xx),
        ),
        (
            "dial tcp 10.96.0.1:5432: Connection Refused",
            None,
            Some(Signature::Refused),
        ),
        (
            "upstream request TIMEOUT",
            Some(504),
            Some(Signature::Timeout),
        ),
        (
            "lookup db on 10.96.0.10:53: no such host",
            None,
            Some(Signature::Dns),
        ),
        (
            "\"AAAA IN api.example.com. udp 46 false 512\" NXDOMAIN",
            None,
            None,
        ),
        (
            "LOG:  duration: 2350.114 ms  statement: SELECT 1",
            None,
            Some(Signature::Slow),
        ),
        ("LOG:  duration: 2.1 ms  statement: SELECT 1", None, None),
        (
            "level=WARN msg=\"disk almost full\"",
            None,
            Some(Signature::Warning),
        ),
        (
            "{\"level\":\"error\",\"msg\":\"boom\"}",
            None,
            Some(Signature::Error),
        ),
        ("all good", None, None),
    ];
    for (line, status, want) in lines {
        let lower = line.to_ascii_lowercase();
        let rules = classify_by(&|s| lower.contains(s), &lower, status);
        assert_eq!(classify(line, status), want, "{line}");
        assert_eq!(rules, want, "{line}");
    }
}

/// The rules alone, over the whole line: what classification was before echoes were
/// told apart.
fn bare_rules(line: &str) -> Option<Signature> {
    let lower = line.to_ascii_lowercase();
    classify_by(&|s| lower.contains(s), &lower, http_status(line))
}

/// Start-up logs of common runtimes, as they print them: command lines, JVM flags,
/// shell traces, config dumps. None of it is an event; each fixture holds lines the
/// rules alone fall for, so it tests something.
#[test]
fn startup_logs_of_common_runtimes_classify_as_nothing() {
    let fixtures = [
        (
            "jvm-spring-startup.log",
            include_str!("../../../../../testdata/logs/jvm-spring-startup.log"),
        ),
        (
            "go-startup.log",
            include_str!("../../../../../testdata/logs/go-startup.log"),
        ),
        (
            "node-startup.log",
            include_str!("../../../../../testdata/logs/node-startup.log"),
        ),
        (
            "python-startup.log",
            include_str!("../../../../../testdata/logs/python-startup.log"),
        ),
        (
            "nginx-startup.log",
            include_str!("../../../../../testdata/logs/nginx-startup.log"),
        ),
        (
            "envoy-startup.log",
            include_str!("../../../../../testdata/logs/envoy-startup.log"),
        ),
        (
            "shell-trace.log",
            include_str!("../../../../../testdata/logs/shell-trace.log"),
        ),
    ];
    for (name, text) in fixtures {
        let mut echoes = 0;
        for line in text.lines() {
            assert_eq!(classify(line, http_status(line)), None, "{name}: {line:?}");
            echoes += usize::from(bare_rules(line).is_some());
        }
        assert!(echoes >= 2, "{name}: no line the bare rules fall for");
    }
}

/// Real failures of the same runtimes still classify, as what they are.
#[test]
fn real_errors_of_common_runtimes_still_classify() {
    use Signature::*;
    let lines = [
        // JVM
        ("java.lang.OutOfMemoryError: Java heap space", OutOfMemory),
        (
            "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space",
            OutOfMemory,
        ),
        (
            "Terminating due to java.lang.OutOfMemoryError: Java heap space",
            OutOfMemory,
        ),
        ("java.lang.OutOfMemoryError: Metaspace", OutOfMemory),
        (
            "Exception in thread \"main\" java.net.ConnectException: Connection refused",
            Refused,
        ),
        (
            "Exception in thread \"main\" java.lang.IllegalStateException: no config",
            Panic,
        ),
        (
            "Caused by: java.net.UnknownHostException: ts-order-servce: Name or service not known",
            Dns,
        ),
        (
            "com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure",
            Refused,
        ),
        (
            "org.springframework.web.client.HttpServerErrorException$ServiceUnavailable: 503 Service Unavailable: [no body]",
            Error,
        ),
        ("curl: (6) Could not resolve host: payments.internal", Dns),
        // Envoy / istio-proxy access log lines with their response flags.
        (
            "[2026-10-03T09:29:10.123Z] \"GET /api/stock HTTP/1.1\" 503 UF upstream_reset_before_response_started{connection_failure} - \"-\" 0 91 2 - \"-\" \"curl/8.5.0\" \"5c1f\" \"inventory.payments.svc.cluster.local\" \"10.244.1.5:8080\" outbound|80||inventory.payments.svc.cluster.local - 10.96.14.12:80 10.244.0.7:51234 - default",
            Refused,
        ),
        (
            "[2026-10-03T09:29:11.001Z] \"GET /api/stock HTTP/1.1\" 503 UH no_healthy_upstream - \"-\" 0 19 0 - \"-\" \"curl/8.5.0\" \"5c20\" \"inventory.payments.svc.cluster.local\" \"-\" outbound|80||inventory.payments.svc.cluster.local - 10.96.14.12:80 10.244.0.7:51236 - default",
            Refused,
        ),
        (
            "[2026-10-03T09:29:12.001Z] \"POST /pay HTTP/1.1\" 504 UT response_timeout - \"-\" 120 24 15001 - \"-\" \"okhttp/4.12\" \"5c21\" \"payments:8080\" \"10.244.2.9:8080\" outbound|8080||payments.payments.svc.cluster.local - 10.96.14.20:8080 10.244.0.7:40000 - default",
            Timeout,
        ),
        ("Error: getaddrinfo ENOTFOUND redis-master", Dns),
        (
            "Caused by: java.net.ConnectException: Connection refused",
            Refused,
        ),
        ("java.net.SocketTimeoutException: Read timed out", Timeout),
        (
            "2024-05-01T10:05:00.000Z ERROR 1 --- [orders] [nio-8080-exec-3] o.h.engine.jdbc.spi.SqlExceptionHelper   : HikariPool-1 - Connection is not available, request timed out after 30000ms.",
            PoolExhausted,
        ),
        (
            "java.sql.SQLException: Access denied for user 'app'@'10.0.1.5' (using password: YES)",
            Error,
        ),
        // Go
        (
            "dial tcp 10.96.0.12:6379: connect: connection refused",
            Refused,
        ),
        (
            "panic: runtime error: invalid memory address or nil pointer dereference",
            Panic,
        ),
        (
            "{\"level\":\"error\",\"ts\":\"2024-05-01T10:05:00.000Z\",\"msg\":\"charge failed\",\"error\":\"Post \\\"http://payments:8080/charge\\\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)\"}",
            Timeout,
        ),
        (
            "Get \"http://auth:9000/verify\": net/http: request canceled (Client.Timeout exceeded while awaiting headers)",
            Timeout,
        ),
        (
            "Error 1045 (28000): Access denied for user 'app'@'10.0.1.5' (using password: YES)",
            Error,
        ),
        // Node.js
        ("Error: connect ECONNREFUSED 10.0.0.5:5432", Refused),
        ("Error: read ECONNRESET", Reset),
        ("Error: connect ETIMEDOUT 10.0.0.5:443", Timeout),
        (
            "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
            OutOfMemory,
        ),
        // Python
        (
            "psycopg2.OperationalError: could not connect to server: Connection refused",
            Refused,
        ),
        ("socket.timeout: timed out", Timeout),
        (
            "requests.exceptions.ReadTimeout: HTTPConnectionPool(host='api', port=80): Read timed out. (read timeout=5)",
            Timeout,
        ),
        ("Traceback (most recent call last):", Panic),
        (
            "ConnectionResetError: [Errno 104] Connection reset by peer",
            Reset,
        ),
        // nginx
        (
            "2024/05/01 10:05:00 [error] 29#29: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.244.0.1, server: _, request: \"GET / HTTP/1.1\", upstream: \"http://10.244.1.5:8080/\", host: \"shop.example.com\"",
            Refused,
        ),
        (
            "2024/05/01 10:05:00 [error] 29#29: *7 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.244.0.1, server: _, request: \"GET /api HTTP/1.1\", upstream: \"http://10.244.1.5:8080/api\"",
            Timeout,
        ),
        // Envoy
        (
            "[2024-05-01T10:05:00.000Z] \"GET /api/cart HTTP/1.1\" 503 UF,URX upstream_reset_before_response_started{connection_failure} - \"-\" 0 91 30 - \"-\" \"curl/8.5.0\" \"5e1c3b2a-1f0e-4d7c-9a8b-7c6d5e4f3a2b\" \"cart:8080\" \"10.244.1.17:8080\"",
            Refused,
        ),
        (
            "upstream connect error or disconnect/reset before headers. reset reason: connection failure",
            Error,
        ),
        (
            "[2024-05-01 10:05:00.000][1][warning][main] [source/server/server.cc:910] There is no configured limit to the number of allowed active downstream connections.",
            Warning,
        ),
        // PostgreSQL, RabbitMQ
        (
            "2024-05-01 10:05:00.000 UTC [68] FATAL:  password authentication failed for user \"app\"",
            Error,
        ),
        (
            "closing AMQP connection <0.1234.0> (10.244.1.5:43210 -> 10.244.2.9:5672): missed heartbeats from client, timeout: 60s",
            Timeout,
        ),
    ];
    for (line, want) in lines {
        assert_eq!(classify(line, http_status(line)), Some(want), "{line}");
    }
}

/// Each rule an echo could trip, with its near-miss twin: the echo names the failure
/// (a flag, a key, a trace, a config line), the event reports it.
#[test]
fn echoes_and_their_events() {
    use Signature::*;
    let twins = [
        (
            "Picked up JAVA_TOOL_OPTIONS: -XX:+HeapDumpOnOutOfMemoryError -XX:OnOutOfMemoryError=\"kill -9 %p\"",
            "java.lang.OutOfMemoryError: Java heap space",
            OutOfMemory,
        ),
        (
            "+ exec java -Xmx512m -XX:+ExitOnOutOfMemoryError -jar app.jar",
            "Terminating due to java.lang.OutOfMemoryError: Java heap space",
            OutOfMemory,
        ),
        (
            "{\"msg\":\"starting\",\"args\":[\"-XX:+HeapDumpOnOutOfMemoryError\",\"-jar\",\"app.jar\"]}",
            "{\"level\":\"error\",\"msg\":\"java.lang.OutOfMemoryError: Java heap space\"}",
            OutOfMemory,
        ),
        (
            "connection-timeout: 30s",
            "HikariPool-1 - Connection is not available, request timed out after 30000ms.",
            PoolExhausted,
        ),
        (
            "level=info msg=\"config\" timeout_ms=5000 read_timeout=5s",
            "level=info msg=\"call failed\" err=\"i/o timeout\" timeout_ms=5000",
            Timeout,
        ),
        (
            "{\"level\":\"info\",\"msg\":\"config\",\"connect_timeout\":\"0.25s\"}",
            "{\"level\":\"info\",\"msg\":\"config\",\"error\":\"context deadline exceeded\"}",
            Timeout,
        ),
        (
            "  timeout: 30",
            "missed heartbeats from client, timeout: 60s",
            Timeout,
        ),
        (
            "retryOn: ETIMEDOUT",
            "Error: connect ETIMEDOUT 10.0.0.5:443",
            Timeout,
        ),
        (
            "    proxy_next_upstream error timeout http_502;",
            "upstream timed out (110: Connection timed out) while reading response header from upstream",
            Timeout,
        ),
        (
            "cfg=\"{Addr::8080 ReadTimeout:5s DialTimeout:3s}\"",
            "read tcp 10.244.1.5:43210->10.96.0.12:6379: i/o timeout",
            Timeout,
        ),
        (
            "--retry-on=ECONNREFUSED",
            "Error: connect ECONNREFUSED 10.0.0.5:5432",
            Refused,
        ),
        (
            "+ echo 'waiting for mysql (connection refused until it is up)'",
            "dial tcp 10.96.0.12:3306: connect: connection refused",
            Refused,
        ),
        (
            "retry_on: ECONNRESET,EPIPE",
            "Error: read ECONNRESET",
            Reset,
        ),
        (
            "{\"level\":\"info\",\"msg\":\"effective config {\\\"timeout\\\":5,\\\"retries\\\":3}\"}",
            "{\"level\":\"info\",\"msg\":\"call failed {\\\"error\\\":\\\"i/o timeout\\\"}\"}",
            Timeout,
        ),
        ("  on_error: retry", "Error: 503", Error),
        (
            "kernel.panic: 10",
            "panic: runtime error: index out of range [3] with length 3",
            Panic,
        ),
        (
            "+ mysql -h mysql -u app -e 'select 1' || echo 'Access denied for user app'",
            "ERROR 1045 (28000): Access denied for user 'app'@'10.0.1.5' (using password: YES)",
            Error,
        ),
        (
            "LOG_LEVEL=error",
            "level=error msg=\"payment failed\"",
            Error,
        ),
        (
            "Envoy command: [-c envoy.json -l warning --component-log-level misc:error]",
            "[2024-05-01 10:05:00.000][1][warning][misc] [source/common/protobuf/message_validator_impl.cc:21] Deprecated field: type envoy.type.matcher.v3.RegexMatcher Using deprecated option 'envoy.type.matcher.v3.RegexMatcher.google_re2'",
            Warning,
        ),
    ];
    for (echo, event, sig) in twins {
        assert!(bare_rules(echo).is_some(), "{echo:?} is no near miss");
        assert_eq!(classify(echo, http_status(echo)), None, "echo {echo:?}");
        assert_eq!(
            classify(event, http_status(event)),
            Some(sig),
            "event {event:?}"
        );
    }
}

/// What an echo blanks, exactly: options with their values, keys but not values.
#[test]
fn evidence_text_blanks_options_and_keys_only() {
    let t = |l: &str| {
        super::evidence_text(l).map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    assert_eq!(
        t("run -l warning --x=1 -XX:Foo=\"a b\" now").as_deref(),
        Some("run now")
    );
    assert_eq!(
        t("level=error err=\"connection refused\"").as_deref(),
        Some("level=error =\"connection refused\"")
    );
    assert_eq!(
        t("{\"level\":\"warn\",\"read_timeout\":\"5s\"}").as_deref(),
        Some("{\"level\":\"warn\", :\"5s\"}")
    );
    assert_eq!(
        t("java.lang.OutOfMemoryError: Java heap space").as_deref(),
        Some("java.lang.outofmemoryerror: java heap space")
    );
    assert_eq!(t("+ exec java -jar app.jar"), None);
    assert_eq!(t("proxy_read_timeout 60s;"), None);
    assert_eq!(t("\"retryOnConnectionFailure\": true,"), None);
    assert_eq!(t("spring.datasource.url=jdbc:mysql://db:3306/x"), None);
    // Non-ASCII text around a blanked option stays valid text.
    assert_eq!(
        t("démarrage -XX:+UseG1GC terminé").as_deref(),
        Some("démarrage terminé")
    );
}
