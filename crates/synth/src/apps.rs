//! The applications a synthetic cluster runs: a shop of thirteen services modelled on a
//! real one, and the system components every cluster has. Each app is data (an [`AppSpec`]);
//! [`super::workload`] turns it into Kubernetes objects and signals.

use super::signals::LogStyle;
use super::topology::Pool;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Deployment,
    StatefulSet,
    DaemonSet,
}

/// How an app's configuration names a dependency (real apps use all of these).
#[derive(Debug, Clone, Copy)]
pub enum Form {
    /// `http://svc.ns.svc.cluster.local:port/path`
    Fqdn(&'static str),
    /// `svc:port`
    Short,
    /// `svc` alone (port in another variable)
    Host,
    /// `scheme://user@svc.ns:port/db` (password from a Secret)
    Dsn(&'static str, &'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct Dep {
    pub service: &'static str,
    pub env: &'static str,
    pub form: Form,
}

const fn dep(service: &'static str, env: &'static str, form: Form) -> Dep {
    Dep { service, env, form }
}

#[derive(Debug, Clone)]
pub struct AppSpec {
    pub name: &'static str,
    pub kind: Kind,
    pub image: &'static str,
    pub versions: &'static [&'static str],
    pub port: u16,
    pub replicas: u32,
    pub cpu_m: f64,
    pub cpu_limit_m: Option<f64>,
    pub mem_mi: f64,
    pub mem_limit_mi: Option<f64>,
    pub style: LogStyle,
    /// Requests per second per replica at the daily peak.
    pub rps: f64,
    pub deps: &'static [Dep],
    /// External endpoints the app calls (`https://api.stripe.com`).
    pub external: &'static [(&'static str, &'static str)],
    pub pool: Pool,
    pub hpa: Option<(u32, u32)>,
    pub pdb_min_available: Option<u32>,
    pub pvc_gi: Option<u32>,
    /// Business tier annotation (critical, high, standard).
    pub tier: &'static str,
    /// Settings kept in the app's ConfigMap.
    pub config: &'static [(&'static str, &'static str)],
    /// Whether the app reads a password from a Secret (DSNs).
    pub secret_keys: &'static [&'static str],
    /// Health endpoint path for HTTP probes; `None` = TCP probe on the port.
    pub health: Option<&'static str>,
}

const NO_DEPS: &[Dep] = &[];

fn base(name: &'static str, image: &'static str, port: u16, style: LogStyle) -> AppSpec {
    AppSpec {
        name,
        kind: Kind::Deployment,
        image,
        versions: &["1.0.0"],
        port,
        replicas: 2,
        cpu_m: 100.0,
        cpu_limit_m: None,
        mem_mi: 128.0,
        mem_limit_mi: Some(256.0),
        style,
        rps: 20.0,
        deps: NO_DEPS,
        external: &[],
        pool: Pool::General,
        hpa: None,
        pdb_min_available: None,
        pvc_gi: None,
        tier: "standard",
        config: &[],
        secret_keys: &[],
        health: Some("/healthz"),
    }
}

/// The shop: an edge, a gateway, ten business services and three stateful backends.
pub fn shop() -> Vec<AppSpec> {
    use Form::*;
    vec![
        AppSpec {
            versions: &["4.11.0", "4.12.1", "4.12.2"],
            replicas: 3,
            cpu_m: 250.0,
            cpu_limit_m: Some(500.0),
            mem_mi: 256.0,
            mem_limit_mi: Some(512.0),
            rps: 120.0,
            deps: const { &[dep("api-gateway", "API_BASE_URL", Fqdn("/"))] },
            hpa: Some((3, 10)),
            pdb_min_available: Some(2),
            tier: "critical",
            config: &[("SSR_CACHE_TTL", "30s"), ("UPSTREAM_TIMEOUT", "5s")],
            ..base(
                "frontend",
                "ghcr.io/acme-shop/frontend",
                8080,
                LogStyle::Access,
            )
        },
        AppSpec {
            versions: &["2.7.3", "2.8.0"],
            replicas: 2,
            cpu_m: 300.0,
            cpu_limit_m: Some(1000.0),
            mem_mi: 256.0,
            mem_limit_mi: Some(512.0),
            rps: 150.0,
            deps: const {
                &[
                    dep("auth", "AUTH_SERVICE_URL", Fqdn("/v1")),
                    dep("cart", "CART_ADDR", Short),
                    dep("catalog", "CATALOG_ADDR", Short),
                    dep("checkout", "CHECKOUT_URL", Fqdn("/api")),
                    dep("recommendation", "RECOMMENDATION_ADDR", Short),
                ]
            },
            hpa: Some((2, 8)),
            pdb_min_available: Some(1),
            tier: "critical",
            config: &[
                ("RATE_LIMIT_RPS", "500"),
                ("RETRY_MAX", "3"),
                ("RETRY_BACKOFF", "exponential"),
            ],
            ..base(
                "api-gateway",
                "ghcr.io/acme-shop/api-gateway",
                8080,
                LogStyle::Access,
            )
        },
        AppSpec {
            versions: &["3.3.0", "3.4.0"],
            replicas: 2,
            cpu_m: 200.0,
            mem_mi: 256.0,
            mem_limit_mi: Some(512.0),
            style: LogStyle::Json,
            rps: 80.0,
            deps: const {
                &[
                    dep("postgres", "DATABASE_URL", Dsn("postgres", "auth")),
                    dep("redis", "SESSION_CACHE_HOST", Host),
                ]
            },
            pdb_min_available: Some(1),
            tier: "critical",
            config: &[("TOKEN_TTL", "15m"), ("DB_POOL_SIZE", "20")],
            secret_keys: &["db-password", "jwt-signing-key"],
            ..base("auth", "ghcr.io/acme-shop/auth", 9000, LogStyle::Json)
        },
        AppSpec {
            versions: &["1.9.2"],
            deps: const { &[dep("redis", "REDIS_ADDR", Short)] },
            rps: 60.0,
            config: &[("CART_TTL", "72h")],
            ..base("cart", "ghcr.io/acme-shop/cart", 8080, LogStyle::Logfmt)
        },
        AppSpec {
            versions: &["5.0.1", "5.1.0"],
            replicas: 3,
            cpu_m: 300.0,
            cpu_limit_m: Some(1000.0),
            mem_mi: 384.0,
            mem_limit_mi: Some(768.0),
            rps: 25.0,
            deps: const {
                &[
                    dep("payment", "PAYMENT_URL", Fqdn("/v2/charge")),
                    dep("inventory", "INVENTORY_ADDR", Short),
                    dep("cart", "CART_SERVICE", Host),
                    dep("auth", "AUTH_ADDR", Short),
                    dep("queue", "AMQP_URL", Dsn("amqp", "orders")),
                ]
            },
            hpa: Some((3, 9)),
            pdb_min_available: Some(2),
            tier: "critical",
            config: &[("PAYMENT_TIMEOUT", "3s"), ("RETRIES", "3")],
            secret_keys: &["amqp-password"],
            ..base(
                "checkout",
                "ghcr.io/acme-shop/checkout",
                8080,
                LogStyle::Json,
            )
        },
        AppSpec {
            versions: &["2.2.0"],
            deps: const { &[dep("postgres", "DATABASE_URL", Dsn("postgres", "payments"))] },
            external: &[("STRIPE_API_URL", "https://api.stripe.com/v1")],
            rps: 15.0,
            pdb_min_available: Some(1),
            tier: "critical",
            config: &[("CURRENCY", "EUR")],
            secret_keys: &["db-password", "stripe-api-key"],
            ..base("payment", "ghcr.io/acme-shop/payment", 8080, LogStyle::Json)
        },
        AppSpec {
            versions: &["1.4.0", "1.4.1"],
            deps: const { &[dep("postgres", "PGHOST", Host)] },
            rps: 40.0,
            config: &[("PGPORT", "5432"), ("PGDATABASE", "inventory")],
            secret_keys: &["db-password"],
            ..base(
                "inventory",
                "ghcr.io/acme-shop/inventory",
                8080,
                LogStyle::Logfmt,
            )
        },
        AppSpec {
            versions: &["6.0.2"],
            replicas: 3,
            deps: const {
                &[
                    dep("postgres", "DATABASE_URL", Dsn("postgres", "catalog")),
                    dep("redis", "CACHE_ADDR", Short),
                ]
            },
            rps: 90.0,
            tier: "high",
            config: &[("CACHE_TTL", "10m")],
            secret_keys: &["db-password"],
            ..base("catalog", "ghcr.io/acme-shop/catalog", 8080, LogStyle::Json)
        },
        AppSpec {
            versions: &["0.9.5"],
            deps: const { &[dep("catalog", "CATALOG_ENDPOINT", Fqdn("/products"))] },
            cpu_m: 200.0,
            mem_mi: 512.0,
            mem_limit_mi: Some(1024.0),
            rps: 30.0,
            config: &[("MODEL", "collab-filter-v3")],
            ..base(
                "recommendation",
                "ghcr.io/acme-shop/recommendation",
                8080,
                LogStyle::Json,
            )
        },
        AppSpec {
            versions: &["1.2.0"],
            replicas: 1,
            deps: const { &[dep("queue", "BROKER_URL", Dsn("amqp", "notifications"))] },
            external: &[("SMTP_HOST", "smtp.sendgrid.net")],
            rps: 2.0,
            config: &[("FROM_ADDRESS", "orders@shop.example.com")],
            secret_keys: &["amqp-password", "smtp-password"],
            health: Some("/ready"),
            ..base(
                "notification",
                "ghcr.io/acme-shop/notification",
                8080,
                LogStyle::Logfmt,
            )
        },
        AppSpec {
            kind: Kind::StatefulSet,
            versions: &["7.2.5"],
            replicas: 1,
            cpu_m: 200.0,
            mem_mi: 1024.0,
            mem_limit_mi: Some(2048.0),
            rps: 400.0,
            pool: Pool::Memory,
            tier: "high",
            health: None,
            ..base("redis", "redis", 6379, LogStyle::Redis)
        },
        AppSpec {
            kind: Kind::StatefulSet,
            versions: &["16.4"],
            replicas: 1,
            cpu_m: 1000.0,
            cpu_limit_m: Some(2000.0),
            mem_mi: 4096.0,
            mem_limit_mi: Some(4096.0),
            rps: 300.0,
            pool: Pool::Memory,
            pvc_gi: Some(100),
            pdb_min_available: Some(1),
            tier: "critical",
            config: &[("max_connections", "100"), ("shared_buffers", "1GB")],
            secret_keys: &["postgres-password"],
            health: None,
            ..base("postgres", "postgres", 5432, LogStyle::Postgres)
        },
        AppSpec {
            kind: Kind::StatefulSet,
            versions: &["3.13.7-management"],
            replicas: 1,
            cpu_m: 250.0,
            mem_mi: 512.0,
            mem_limit_mi: Some(1024.0),
            rps: 50.0,
            pool: Pool::Memory,
            pvc_gi: Some(20),
            tier: "high",
            secret_keys: &["erlang-cookie"],
            health: None,
            ..base("queue", "rabbitmq", 5672, LogStyle::Queue)
        },
    ]
}

/// System components: DNS, metrics, the ingress controller, kube-proxy on every node.
pub fn system() -> Vec<(&'static str, AppSpec)> {
    vec![
        (
            "kube-system",
            AppSpec {
                versions: &["v1.11.3"],
                cpu_m: 100.0,
                mem_mi: 70.0,
                mem_limit_mi: Some(170.0),
                rps: 200.0,
                pool: Pool::System,
                tier: "critical",
                health: Some("/health"),
                ..base(
                    "coredns",
                    "registry.k8s.io/coredns/coredns",
                    53,
                    LogStyle::CoreDns,
                )
            },
        ),
        (
            "kube-system",
            AppSpec {
                versions: &["v0.7.2"],
                replicas: 1,
                cpu_m: 100.0,
                mem_mi: 200.0,
                mem_limit_mi: None,
                rps: 0.0,
                pool: Pool::System,
                health: Some("/readyz"),
                ..base(
                    "metrics-server",
                    "registry.k8s.io/metrics-server/metrics-server",
                    10250,
                    LogStyle::System,
                )
            },
        ),
        (
            "kube-system",
            AppSpec {
                kind: Kind::DaemonSet,
                versions: &["v1.31.4-eksbuild.2"],
                replicas: 0,
                cpu_m: 100.0,
                mem_mi: 50.0,
                mem_limit_mi: None,
                rps: 0.0,
                health: None,
                ..base(
                    "kube-proxy",
                    "registry.k8s.io/kube-proxy",
                    10256,
                    LogStyle::System,
                )
            },
        ),
        (
            "ingress-nginx",
            AppSpec {
                versions: &["v1.11.3"],
                cpu_m: 200.0,
                mem_mi: 256.0,
                mem_limit_mi: Some(512.0),
                rps: 250.0,
                tier: "critical",
                health: Some("/healthz"),
                ..base(
                    "ingress-nginx-controller",
                    "registry.k8s.io/ingress-nginx/controller",
                    443,
                    LogStyle::Ingress,
                )
            },
        ),
    ]
}
