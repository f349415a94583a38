//! The cluster plan: namespaces and workloads with their labels and ports, decided up front
//! from the PRNG. Emission (objects and policies) then walks the plan.

use std::collections::HashMap;

use crate::rng::SplitMix64;

/// A container port: name, number, protocol.
#[derive(Debug, Clone, Copy)]
pub struct PortDef {
    pub name: &'static str,
    pub port: u16,
    pub proto: &'static str,
}

const fn tcp(name: &'static str, port: u16) -> PortDef {
    PortDef {
        name,
        port,
        proto: "TCP",
    }
}
const fn udp(name: &'static str, port: u16) -> PortDef {
    PortDef {
        name,
        port,
        proto: "UDP",
    }
}
const fn sctp(name: &'static str, port: u16) -> PortDef {
    PortDef {
        name,
        port,
        proto: "SCTP",
    }
}

/// Workload controller kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    Deployment,
    StatefulSet,
    DaemonSet,
}

impl Controller {
    pub fn kind(self) -> &'static str {
        match self {
            Controller::Deployment => "Deployment",
            Controller::StatefulSet => "StatefulSet",
            Controller::DaemonSet => "DaemonSet",
        }
    }
}

/// What an application does; decides its ports, tier and controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppKind {
    Web,
    Api,
    Grpc,
    Worker,
    Postgres,
    Redis,
    Queue,
    Gateway,
    Agent,
    Media,
    Signaling,
    // System workloads.
    CoreDns,
    Prometheus,
    IngressController,
}

const APP_KINDS: [(AppKind, u32); 11] = [
    (AppKind::Web, 10),
    (AppKind::Api, 28),
    (AppKind::Grpc, 12),
    (AppKind::Worker, 14),
    (AppKind::Postgres, 6),
    (AppKind::Redis, 6),
    (AppKind::Queue, 4),
    (AppKind::Gateway, 5),
    (AppKind::Agent, 3),
    (AppKind::Media, 1),
    (AppKind::Signaling, 1),
];

impl AppKind {
    pub fn component(self) -> &'static str {
        match self {
            AppKind::Web => "web",
            AppKind::Api => "api",
            AppKind::Grpc => "grpc-service",
            AppKind::Worker => "worker",
            AppKind::Postgres => "database",
            AppKind::Redis => "cache",
            AppKind::Queue => "queue",
            AppKind::Gateway => "gateway",
            AppKind::Agent => "agent",
            AppKind::Media => "media",
            AppKind::Signaling => "signaling",
            AppKind::CoreDns => "dns",
            AppKind::Prometheus => "monitoring",
            AppKind::IngressController => "controller",
        }
    }

    pub fn tier(self) -> &'static str {
        match self {
            AppKind::Web | AppKind::Gateway | AppKind::IngressController => "frontend",
            AppKind::Postgres | AppKind::Redis | AppKind::Queue => "data",
            AppKind::Agent | AppKind::CoreDns | AppKind::Prometheus => "platform",
            _ => "backend",
        }
    }

    fn controller(self) -> Controller {
        match self {
            AppKind::Postgres | AppKind::Redis | AppKind::Queue | AppKind::Prometheus => {
                Controller::StatefulSet
            }
            AppKind::Agent => Controller::DaemonSet,
            _ => Controller::Deployment,
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            AppKind::Web => &[
                "frontend",
                "web",
                "storefront",
                "admin-ui",
                "dashboard",
                "portal",
                "docs-site",
            ],
            AppKind::Api => &[
                "api",
                "orders-api",
                "users-api",
                "catalog-api",
                "search-api",
                "pricing",
                "inventory",
                "accounts",
                "profile",
                "cart",
                "checkout",
                "quotes",
                "invoices",
                "shipments",
                "reviews",
            ],
            AppKind::Grpc => &[
                "auth",
                "recommender",
                "ranking",
                "geo",
                "tax",
                "rates",
                "session",
                "feature-flags",
                "identity",
            ],
            AppKind::Worker => &[
                "worker",
                "email-sender",
                "indexer",
                "thumbnailer",
                "reconciler",
                "exporter",
                "scheduler",
                "notifier",
                "report-builder",
                "webhook-dispatcher",
            ],
            AppKind::Postgres => &["postgres", "orders-db", "users-db", "ledger-db"],
            AppKind::Redis => &["redis", "cache", "session-cache", "rate-limiter-cache"],
            AppKind::Queue => &["rabbitmq", "kafka", "nats"],
            AppKind::Gateway => &["gateway", "edge-proxy", "bff", "public-api"],
            AppKind::Agent => &["log-agent", "node-exporter", "fluent-bit"],
            AppKind::Media => &["media-relay", "voice-gateway"],
            AppKind::Signaling => &["diameter-gateway", "sigtran-gateway"],
            AppKind::CoreDns => &["coredns"],
            AppKind::Prometheus => &["prometheus"],
            AppKind::IngressController => &["ingress-nginx-controller"],
        }
    }

    fn ports(self, name: &str, rng: &mut SplitMix64) -> Vec<PortDef> {
        match self {
            AppKind::Web => vec![tcp("http", 8080), tcp("metrics", 9100)],
            AppKind::Api => {
                let mut p = vec![tcp("http", 8080)];
                if rng.chance(50) {
                    p.push(tcp("grpc", 9090));
                }
                p.push(tcp("metrics", 9100));
                if rng.chance(20) {
                    p.push(udp("statsd", 8125));
                }
                p
            }
            AppKind::Grpc => vec![tcp("grpc", 9090), tcp("metrics", 9100)],
            AppKind::Worker => {
                let mut p = vec![tcp("metrics", 9100)];
                if rng.chance(15) {
                    p.push(tcp("gossip", 7946));
                    p.push(udp("gossip-udp", 7946));
                }
                p
            }
            AppKind::Postgres => vec![tcp("postgres", 5432), tcp("metrics", 9187)],
            AppKind::Redis => vec![tcp("redis", 6379), tcp("metrics", 9121)],
            AppKind::Queue => match name {
                "kafka" => vec![tcp("kafka", 9092), tcp("metrics", 9308)],
                "nats" => vec![
                    tcp("client", 4222),
                    tcp("cluster", 6222),
                    tcp("metrics", 7777),
                ],
                _ => vec![tcp("amqp", 5672), tcp("metrics", 15692)],
            },
            AppKind::Gateway => vec![tcp("http", 8080), tcp("https", 8443), tcp("metrics", 9100)],
            AppKind::Agent => vec![tcp("metrics", 9100)],
            AppKind::Media => vec![
                tcp("http", 8080),
                udp("sip", 5060),
                udp("rtp", 10000),
                tcp("metrics", 9100),
            ],
            AppKind::Signaling => vec![
                tcp("diameter", 3868),
                sctp("diameter-sctp", 3868),
                tcp("metrics", 9100),
            ],
            AppKind::CoreDns => vec![udp("dns", 53), tcp("dns-tcp", 53), tcp("metrics", 9153)],
            AppKind::Prometheus => vec![tcp("web", 9090)],
            AppKind::IngressController => {
                vec![tcp("http", 80), tcp("https", 443), tcp("metrics", 10254)]
            }
        }
    }

    fn image(self, team: &str, name: &str, version: &str) -> String {
        match self {
            AppKind::Postgres => "docker.io/library/postgres:16.3".to_string(),
            AppKind::Redis => "docker.io/library/redis:7.2.5".to_string(),
            AppKind::Queue if name == "kafka" => "docker.io/bitnami/kafka:3.7.0".to_string(),
            AppKind::Queue if name == "nats" => "docker.io/library/nats:2.10.16".to_string(),
            AppKind::Queue => "docker.io/library/rabbitmq:3.13.3".to_string(),
            AppKind::CoreDns => "registry.k8s.io/coredns/coredns:v1.11.1".to_string(),
            AppKind::Prometheus => "quay.io/prometheus/prometheus:v2.53.0".to_string(),
            AppKind::IngressController => {
                "registry.k8s.io/ingress-nginx/controller:v1.10.1".to_string()
            }
            _ => format!("registry.example.com/{team}/{name}:{version}"),
        }
    }

    /// Whether the app serves requests on a named port other peers would connect to.
    pub fn serving_port(self, ports: &[PortDef]) -> Option<PortDef> {
        ports
            .iter()
            .copied()
            .find(|p| p.name != "metrics" && p.proto == "TCP")
    }
}

/// Labels in emission order.
pub type Labels = Vec<(&'static str, String)>;

/// One workload (and its pod template).
#[derive(Debug, Clone)]
pub struct AppPlan {
    pub name: String,
    pub kind: AppKind,
    pub controller: Controller,
    pub image: String,
    pub ports: Vec<PortDef>,
    /// Pod template labels, in emission order.
    pub labels: Vec<(&'static str, String)>,
    /// Labels in `spec.selector.matchLabels`.
    pub selector: Vec<(&'static str, String)>,
    pub replicas: usize,
    /// Whether `protocol: TCP` is written explicitly in the template's container ports.
    pub explicit_tcp: bool,
}

impl AppPlan {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One namespace and its workloads.
#[derive(Debug, Clone)]
pub struct NsPlan {
    pub name: String,
    pub team: &'static str,
    pub env: &'static str,
    pub purpose: &'static str,
    /// Namespace labels, in emission order (`kubernetes.io/metadata.name` first).
    pub labels: Vec<(&'static str, String)>,
    pub apps: Vec<AppPlan>,
}

pub const TEAMS: [&str; 20] = [
    "payments",
    "checkout",
    "search",
    "identity",
    "catalog",
    "shipping",
    "analytics",
    "platform",
    "ml",
    "messaging",
    "billing",
    "fraud",
    "notifications",
    "inventory",
    "media",
    "growth",
    "support",
    "ads",
    "security",
    "data",
];
const PURPOSES: [&str; 12] = [
    "api", "web", "workers", "data", "batch", "core", "edge", "gateway", "services", "pipeline",
    "tools", "realtime",
];
const ENVS: [(&str, u32); 3] = [("prod", 50), ("staging", 30), ("dev", 20)];
const NS_TIERS: [&str; 4] = ["frontend", "backend", "data", "platform"];

/// Number of system namespaces (kube-system, monitoring, ingress-nginx).
pub const SYSTEM_NAMESPACES: usize = 3;
/// Number of system workloads (coredns, prometheus, ingress-nginx-controller).
pub const SYSTEM_WORKLOADS: usize = 3;
/// Pods of the system workloads in declared-pod mode (coredns 2, prometheus 1, ingress 2).
pub const SYSTEM_PODS: usize = 5;

fn system_app(kind: AppKind, ns: &str, replicas: usize, rng: &mut SplitMix64) -> AppPlan {
    let name = kind.names()[0].to_string();
    let ports = kind.ports(&name, rng);
    let (labels, selector, version): (Labels, Labels, &str) = match kind {
        AppKind::CoreDns => (
            vec![("k8s-app", "kube-dns".into())],
            vec![("k8s-app", "kube-dns".into())],
            "1.11.1",
        ),
        AppKind::Prometheus => (
            vec![
                ("app.kubernetes.io/name", "prometheus".into()),
                ("app.kubernetes.io/instance", "k8s".into()),
                ("app", "prometheus".into()),
            ],
            vec![
                ("app.kubernetes.io/name", "prometheus".into()),
                ("app.kubernetes.io/instance", "k8s".into()),
            ],
            "2.53.0",
        ),
        _ => (
            vec![
                ("app.kubernetes.io/name", "ingress-nginx".into()),
                ("app.kubernetes.io/instance", "ingress-nginx".into()),
                ("app.kubernetes.io/component", "controller".into()),
            ],
            vec![
                ("app.kubernetes.io/name", "ingress-nginx".into()),
                ("app.kubernetes.io/instance", "ingress-nginx".into()),
                ("app.kubernetes.io/component", "controller".into()),
            ],
            "1.10.1",
        ),
    };
    let _ = ns;
    AppPlan {
        image: kind.image("", &name, version),
        name,
        kind,
        controller: kind.controller(),
        ports,
        labels,
        selector,
        replicas,
        explicit_tcp: true,
    }
}

fn system_namespaces(rng: &mut SplitMix64) -> Vec<NsPlan> {
    let ns = |name: &str, extra: Vec<(&'static str, String)>, apps: Vec<AppPlan>| {
        let mut labels = vec![("kubernetes.io/metadata.name", name.to_string())];
        labels.extend(extra);
        NsPlan {
            name: name.to_string(),
            team: "platform",
            env: "prod",
            purpose: "system",
            labels,
            apps,
        }
    };
    vec![
        ns(
            "kube-system",
            vec![],
            vec![system_app(AppKind::CoreDns, "kube-system", 2, rng)],
        ),
        ns(
            "monitoring",
            vec![
                ("team", "platform".into()),
                ("env", "prod".into()),
                ("tier", "platform".into()),
                ("purpose", "monitoring".into()),
            ],
            vec![system_app(AppKind::Prometheus, "monitoring", 1, rng)],
        ),
        ns(
            "ingress-nginx",
            vec![
                ("team", "platform".into()),
                ("env", "prod".into()),
                ("tier", "frontend".into()),
            ],
            vec![system_app(
                AppKind::IngressController,
                "ingress-nginx",
                2,
                rng,
            )],
        ),
    ]
}

/// Splits `total` into `weights.len()` parts, each part `min_each` plus a share of the rest
/// drawn in proportion to the weights (prefix sums + binary search: O(total log n)).
pub fn distribute(
    rng: &mut SplitMix64,
    total: usize,
    weights: &[u32],
    min_each: usize,
) -> Vec<usize> {
    let n = weights.len();
    let mut out = vec![0usize; n];
    if n == 0 {
        return out;
    }
    let base = min_each.min(total / n);
    out.fill(base);
    let mut prefix = Vec::with_capacity(n);
    let mut acc = 0u64;
    for &w in weights {
        acc += u64::from(w.max(1));
        prefix.push(acc);
    }
    for _ in 0..total - base * n {
        let x = rng.below(acc as usize) as u64;
        let i = prefix.partition_point(|&p| p <= x);
        out[i] += 1;
    }
    out
}

/// Builds the namespaces (system ones first) and their workloads.
///
/// `pods` = `None` means template mode (replicas are only a number in the Deployment);
/// `Some(p)` means exactly `p` pods in total, spread over the workloads.
pub fn plan(
    rng: &mut SplitMix64,
    namespaces: usize,
    workloads: usize,
    pods: Option<usize>,
) -> Vec<NsPlan> {
    let mut out = system_namespaces(rng);
    let app_ns = namespaces - SYSTEM_NAMESPACES;
    let app_workloads = workloads - SYSTEM_WORKLOADS;

    // Namespaces.
    let mut seen: HashMap<String, u32> = HashMap::new();
    for _ in 0..app_ns {
        let team = *rng.pick(&TEAMS);
        let purpose = *rng.pick(&PURPOSES);
        let env = ENVS[rng.weighted(&ENVS.map(|e| e.1))].0;
        let base = format!("{team}-{purpose}-{env}");
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        let name = if *n == 1 { base } else { format!("{base}-{n}") };
        let tier = *rng.pick(&NS_TIERS);
        let mut labels = vec![
            ("kubernetes.io/metadata.name", name.clone()),
            ("team", team.to_string()),
            ("env", env.to_string()),
            ("tier", tier.to_string()),
        ];
        if rng.chance(30) {
            labels.push(("istio-injection", "enabled".into()));
        }
        if matches!(team, "payments" | "billing" | "fraud") && rng.chance(60) {
            labels.push(("compliance", "pci".into()));
        }
        if rng.chance(10) {
            labels.push(("cost-center", format!("cc-{}", 1000 + rng.below(9000))));
        }
        out.push(NsPlan {
            name,
            team,
            env,
            purpose,
            labels,
            apps: Vec::new(),
        });
    }

    // Workloads per namespace: at least one each while there are enough, rest by weight.
    let ns_weights: Vec<u32> = (0..app_ns).map(|_| 1 + rng.below(6) as u32).collect();
    let per_ns = distribute(rng, app_workloads, &ns_weights, 1);
    let kind_weights = APP_KINDS.map(|k| k.1);
    for (i, &count) in per_ns.iter().enumerate() {
        let ns = &mut out[SYSTEM_NAMESPACES + i];
        let mut used: HashMap<&'static str, u32> = HashMap::new();
        for j in 0..count {
            // Every namespace leads with something that serves requests.
            let kind = if j == 0 {
                *rng.pick(&[AppKind::Api, AppKind::Web, AppKind::Grpc, AppKind::Gateway])
            } else {
                APP_KINDS[rng.weighted(&kind_weights)].0
            };
            let base = *rng.pick(kind.names());
            let n = used.entry(base).or_insert(0);
            *n += 1;
            let name = if *n == 1 {
                base.to_string()
            } else {
                format!("{base}-{n}")
            };
            let version = format!("{}.{}.{}", 1 + rng.below(3), rng.below(20), rng.below(10));
            let ports = kind.ports(&name, rng);
            let canary =
                matches!(kind, AppKind::Api | AppKind::Web | AppKind::Grpc) && rng.chance(8);
            let mut labels: Vec<(&'static str, String)> = vec![
                ("app.kubernetes.io/name", name.clone()),
                (
                    "app.kubernetes.io/part-of",
                    format!("{}-{}", ns.team, ns.purpose),
                ),
                ("app", name.clone()),
                ("component", kind.component().to_string()),
                ("tier", kind.tier().to_string()),
                ("version", version.clone()),
                ("team", ns.team.to_string()),
            ];
            if canary {
                labels.push(("track", "canary".into()));
            } else if rng.chance(50) {
                labels.push(("track", "stable".into()));
            }
            if rng.chance(12) {
                labels.push(("sidecar.istio.io/inject", "false".into()));
            }
            let selector = vec![("app", name.clone())];
            ns.apps.push(AppPlan {
                image: kind.image(ns.team, &name, &version),
                controller: kind.controller(),
                name,
                kind,
                ports,
                labels,
                selector,
                replicas: 1,
                explicit_tcp: rng.chance(50),
            });
        }
    }

    // Replicas.
    let apps_total: usize = out.iter().map(|n| n.apps.len()).sum::<usize>() - SYSTEM_WORKLOADS;
    match pods {
        Some(total) => {
            let app_pods = total - SYSTEM_PODS;
            let weights: Vec<u32> = (0..apps_total)
                .map(|_| match rng.below(100) {
                    0..70 => 2,
                    70..95 => 6,
                    _ => 25,
                })
                .collect();
            let reps = distribute(rng, app_pods, &weights, 1);
            let mut it = reps.into_iter();
            for ns in out.iter_mut().skip(SYSTEM_NAMESPACES) {
                for app in &mut ns.apps {
                    app.replicas = it.next().unwrap_or(1);
                }
            }
        }
        None => {
            for ns in out.iter_mut().skip(SYSTEM_NAMESPACES) {
                for app in &mut ns.apps {
                    app.replicas = match app.controller {
                        Controller::StatefulSet => *rng.pick(&[1, 3, 3, 5]),
                        Controller::DaemonSet => 1,
                        Controller::Deployment => *rng.pick(&[1, 2, 2, 3, 3, 4, 6, 10]),
                    };
                }
            }
        }
    }
    out
}
