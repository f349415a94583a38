//! A realistic mix of NetworkPolicies over a [`NsPlan`] list.

use std::collections::HashSet;

use crate::node::{Node, int, list, map, s, str_map};
use crate::plan::{AppKind, AppPlan, NsPlan, PortDef, SYSTEM_NAMESPACES};
use crate::rng::SplitMix64;

const NAME_KEY: &str = "kubernetes.io/metadata.name";

fn sel_labels(pairs: &[(&str, &str)]) -> Node {
    map([("matchLabels", str_map(pairs.iter().copied()))])
}

fn empty() -> Node {
    map::<&str>([])
}

fn expr(key: &str, op: &str, values: &[&str]) -> Node {
    let mut e = vec![("key", s(key)), ("operator", s(op))];
    if !values.is_empty() {
        e.push(("values", list(values.iter().map(|v| s(*v)))));
    }
    map(e)
}

fn port_named(p: &PortDef) -> Node {
    map([("protocol", s(p.proto)), ("port", s(p.name))])
}

fn port_num(proto: &str, port: u16) -> Node {
    map([("protocol", s(proto)), ("port", int(port))])
}

fn port_range(proto: &str, port: u16, end: u16) -> Node {
    map([
        ("protocol", s(proto)),
        ("port", int(port)),
        ("endPort", int(end)),
    ])
}

fn app_selector(app: &AppPlan) -> Node {
    sel_labels(&[("app", &app.name)])
}

fn dns_peer() -> Node {
    map([
        (
            "namespaceSelector",
            sel_labels(&[(NAME_KEY, "kube-system")]),
        ),
        ("podSelector", sel_labels(&[("k8s-app", "kube-dns")])),
    ])
}

struct Spec {
    name: String,
    pod_selector: Node,
    types: &'static [&'static str],
    ingress: Vec<Node>,
    egress: Vec<Node>,
}

impl Spec {
    fn new(name: impl Into<String>, pod_selector: Node, types: &'static [&'static str]) -> Self {
        Spec {
            name: name.into(),
            pod_selector,
            types,
            ingress: Vec::new(),
            egress: Vec::new(),
        }
    }
}

/// Generates `count` policies for app namespace `idx` of `plans`.
pub fn namespace_policies(
    rng: &mut SplitMix64,
    plans: &[NsPlan],
    idx: usize,
    count: usize,
) -> Vec<Node> {
    let ns = &plans[idx];
    let mut names: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(count);
    let deny = rng.weighted(&[50, 35, 15]); // both, ingress, egress
    for slot in 0..count {
        let spec = match slot {
            0 => default_deny(deny),
            1 if deny != 1 => allow_dns(rng),
            1 => allow_from_ingress_controller(rng, ns)
                .unwrap_or_else(|| allow_from_monitoring(rng, ns)),
            _ => random_policy(rng, plans, idx),
        };
        let mut name = spec.name.clone();
        let mut n = 1;
        while !names.insert(name.clone()) {
            n += 1;
            name = format!("{}-{n}", spec.name);
        }
        out.push(render(ns, Spec { name, ..spec }, rng));
    }
    out
}

fn render(ns: &NsPlan, spec: Spec, rng: &mut SplitMix64) -> Node {
    let mut meta = vec![("name", s(spec.name)), ("namespace", s(&ns.name))];
    if rng.chance(30) {
        meta.push((
            "labels",
            str_map([("app.kubernetes.io/managed-by", "Helm"), ("team", ns.team)]),
        ));
    }
    let mut body = vec![
        ("podSelector", spec.pod_selector),
        ("policyTypes", list(spec.types.iter().map(|t| s(*t)))),
    ];
    if !spec.ingress.is_empty() {
        body.push(("ingress", list(spec.ingress)));
    }
    if !spec.egress.is_empty() {
        body.push(("egress", list(spec.egress)));
    }
    map([
        ("apiVersion", s("networking.k8s.io/v1")),
        ("kind", s("NetworkPolicy")),
        ("metadata", map(meta)),
        ("spec", map(body)),
    ])
}

fn default_deny(variant: usize) -> Spec {
    match variant {
        0 => Spec::new("default-deny-all", empty(), &["Ingress", "Egress"]),
        1 => Spec::new("default-deny-ingress", empty(), &["Ingress"]),
        _ => Spec::new("default-deny-egress", empty(), &["Egress"]),
    }
}

fn allow_dns(rng: &mut SplitMix64) -> Spec {
    let mut spec = Spec::new("allow-dns", empty(), &["Egress"]);
    let ports = if rng.chance(85) {
        list([port_num("UDP", 53), port_num("TCP", 53)])
    } else {
        // Named ports resolve on the CoreDNS pods.
        list([
            map([("protocol", s("UDP")), ("port", s("dns"))]),
            map([("protocol", s("TCP")), ("port", s("dns-tcp"))]),
        ])
    };
    spec.egress
        .push(map([("to", list([dns_peer()])), ("ports", ports)]));
    spec
}

fn serving_apps(ns: &NsPlan) -> Vec<&AppPlan> {
    ns.apps
        .iter()
        .filter(|a| a.kind.serving_port(&a.ports).is_some())
        .collect()
}

fn allow_from_ingress_controller(rng: &mut SplitMix64, ns: &NsPlan) -> Option<Spec> {
    let fronts: Vec<&AppPlan> = ns
        .apps
        .iter()
        .filter(|a| matches!(a.kind, AppKind::Web | AppKind::Gateway | AppKind::Api))
        .collect();
    if fronts.is_empty() {
        return None;
    }
    let app = *rng.pick(&fronts);
    let port = app.kind.serving_port(&app.ports)?;
    let mut spec = Spec::new(
        format!("allow-ingress-nginx-to-{}", app.name),
        app_selector(app),
        &["Ingress"],
    );
    spec.ingress.push(map([
        (
            "from",
            list([map([
                (
                    "namespaceSelector",
                    sel_labels(&[(NAME_KEY, "ingress-nginx")]),
                ),
                (
                    "podSelector",
                    sel_labels(&[("app.kubernetes.io/name", "ingress-nginx")]),
                ),
            ])]),
        ),
        ("ports", list([port_named(&port)])),
    ]));
    Some(spec)
}

fn allow_from_monitoring(rng: &mut SplitMix64, ns: &NsPlan) -> Spec {
    let ns_sel = if rng.chance(50) {
        sel_labels(&[(NAME_KEY, "monitoring")])
    } else {
        sel_labels(&[("purpose", "monitoring")])
    };
    let mut spec = Spec::new("allow-prometheus-scrape", empty(), &["Ingress"]);
    let _ = ns;
    spec.ingress.push(map([
        (
            "from",
            list([map([
                ("namespaceSelector", ns_sel),
                (
                    "podSelector",
                    sel_labels(&[("app.kubernetes.io/name", "prometheus")]),
                ),
            ])]),
        ),
        ("ports", list([map([("port", s("metrics"))])])),
    ]));
    spec
}

fn random_policy(rng: &mut SplitMix64, plans: &[NsPlan], idx: usize) -> Spec {
    let ns = &plans[idx];
    let serving = serving_apps(ns);
    // Weights: monitoring, app-to-app, cross-ns, expressions, data egress, external egress,
    // ipBlock ingress, endPort, all-namespaces, same-namespace, ingress controller.
    let weights = [8, 24, 16, 10, 10, 9, 3, 5, 5, 4, 6];
    loop {
        let spec = match rng.weighted(&weights) {
            0 => Some(allow_from_monitoring(rng, ns)),
            1 => app_to_app(rng, ns, &serving),
            2 => cross_namespace(rng, plans, idx, &serving),
            3 => expressions(rng, ns, &serving),
            4 => egress_to_data(rng, plans, idx),
            5 => Some(external_egress(rng, ns)),
            6 => ingress_from_partner(rng, &serving),
            7 => end_port(rng, ns),
            8 => all_namespaces(rng, &serving),
            9 => Some(same_namespace()),
            _ => allow_from_ingress_controller(rng, ns),
        };
        if let Some(spec) = spec {
            return spec;
        }
    }
}

fn app_to_app(rng: &mut SplitMix64, ns: &NsPlan, serving: &[&AppPlan]) -> Option<Spec> {
    if serving.is_empty() || ns.apps.len() < 2 {
        return None;
    }
    let target = *rng.pick(serving);
    let source = rng.pick(&ns.apps);
    if source.name == target.name {
        return None;
    }
    let port = target.kind.serving_port(&target.ports)?;
    let mut spec = Spec::new(
        format!("allow-{}-to-{}", source.name, target.name),
        app_selector(target),
        &["Ingress"],
    );
    let mut from = vec![map([("podSelector", app_selector(source))])];
    if rng.chance(20) {
        // A second source (peers are ORed).
        let other = rng.pick(&ns.apps);
        from.push(map([(
            "podSelector",
            sel_labels(&[("app.kubernetes.io/name", &other.name)]),
        )]));
    }
    let ports = if rng.chance(70) {
        port_named(&port)
    } else {
        port_num(port.proto, port.port)
    };
    spec.ingress
        .push(map([("from", list(from)), ("ports", list([ports]))]));
    Some(spec)
}

fn cross_namespace(
    rng: &mut SplitMix64,
    plans: &[NsPlan],
    idx: usize,
    serving: &[&AppPlan],
) -> Option<Spec> {
    if serving.is_empty() || plans.len() <= SYSTEM_NAMESPACES + 1 {
        return None;
    }
    let target = *rng.pick(serving);
    let other_idx = SYSTEM_NAMESPACES + rng.below(plans.len() - SYSTEM_NAMESPACES);
    if other_idx == idx {
        return None;
    }
    let other = &plans[other_idx];
    let source = other.apps.first().map(|_| rng.pick(&other.apps))?;
    let port = target.kind.serving_port(&target.ports)?;
    let ns_sel = if rng.chance(50) {
        sel_labels(&[("team", other.team), ("env", other.env)])
    } else {
        sel_labels(&[(NAME_KEY, &other.name)])
    };
    let mut spec = Spec::new(
        format!("allow-{}-{}-to-{}", other.team, source.name, target.name),
        app_selector(target),
        &["Ingress"],
    );
    let peer = map([
        ("namespaceSelector", ns_sel),
        ("podSelector", app_selector(source)),
    ]);
    spec.ingress.push(map([
        ("from", list([peer])),
        ("ports", list([port_named(&port)])),
    ]));
    if rng.chance(40) {
        // The egress side, in the same policy document style teams often use.
        let mut eg = Spec::new(
            format!("allow-{}-egress-to-{}", target.name, other.team),
            app_selector(target),
            &["Egress"],
        );
        let peer = map([
            ("namespaceSelector", sel_labels(&[("team", other.team)])),
            (
                "podSelector",
                map([(
                    "matchExpressions",
                    list([expr("tier", "In", &["backend", "data"])]),
                )]),
            ),
        ]);
        eg.egress.push(map([("to", list([peer]))]));
        return Some(eg);
    }
    Some(spec)
}

fn expressions(rng: &mut SplitMix64, ns: &NsPlan, serving: &[&AppPlan]) -> Option<Spec> {
    let _ = ns;
    if serving.is_empty() {
        return None;
    }
    let target = *rng.pick(serving);
    let port = target.kind.serving_port(&target.ports)?;
    let target_sel = if rng.chance(50) {
        map([(
            "matchExpressions",
            list([expr(
                "component",
                "In",
                &["api", "grpc-service", target.kind.component()],
            )]),
        )])
    } else {
        map([
            ("matchLabels", str_map([("app", target.name.as_str())])),
            (
                "matchExpressions",
                list([expr("track", "NotIn", &["canary"])]),
            ),
        ])
    };
    let source_exprs = match rng.below(4) {
        0 => vec![
            expr("tier", "In", &["frontend", "backend"]),
            expr("track", "DoesNotExist", &[]),
        ],
        1 => vec![
            expr("tier", "NotIn", &["data"]),
            expr("version", "Exists", &[]),
        ],
        2 => vec![expr("component", "In", &["web", "gateway"])],
        _ => vec![
            expr("app", "Exists", &[]),
            expr("track", "NotIn", &["canary"]),
        ],
    };
    let mut peer = vec![(
        "podSelector",
        map([("matchExpressions", list(source_exprs))]),
    )];
    if rng.chance(50) {
        peer.insert(
            0,
            (
                "namespaceSelector",
                map([(
                    "matchExpressions",
                    list([expr("env", "In", &[ns.env]), expr("team", "Exists", &[])]),
                )]),
            ),
        );
    }
    let mut spec = Spec::new(
        format!("allow-selected-to-{}", target.name),
        target_sel,
        &["Ingress"],
    );
    spec.ingress.push(map([
        ("from", list([map(peer)])),
        ("ports", list([port_named(&port)])),
    ]));
    Some(spec)
}

fn egress_to_data(rng: &mut SplitMix64, plans: &[NsPlan], idx: usize) -> Option<Spec> {
    let ns = &plans[idx];
    let data: Vec<&AppPlan> = ns
        .apps
        .iter()
        .filter(|a| matches!(a.kind, AppKind::Postgres | AppKind::Redis | AppKind::Queue))
        .collect();
    if data.is_empty() {
        return None;
    }
    let store = *rng.pick(&data);
    let port = store.ports[0];
    let mut spec = Spec::new(
        format!("allow-backend-egress-to-{}", store.name),
        sel_labels(&[("tier", "backend")]),
        &["Egress"],
    );
    let to = map([(
        "podSelector",
        sel_labels(&[("app", &store.name), ("component", store.kind.component())]),
    )]);
    let ports = if rng.chance(50) {
        port_num("TCP", port.port)
    } else {
        port_named(&port)
    };
    spec.egress
        .push(map([("to", list([to])), ("ports", list([ports]))]));
    if rng.chance(60) {
        // and the matching ingress on the store
        let mut ing = Spec::new(
            format!("allow-backend-to-{}", store.name),
            app_selector(store),
            &["Ingress"],
        );
        ing.ingress.push(map([
            (
                "from",
                list([map([("podSelector", sel_labels(&[("tier", "backend")]))])]),
            ),
            ("ports", list([port_named(&port)])),
        ]));
        return Some(ing);
    }
    Some(spec)
}

fn external_egress(rng: &mut SplitMix64, ns: &NsPlan) -> Spec {
    let target = if ns.apps.is_empty() {
        empty()
    } else {
        app_selector(rng.pick(&ns.apps))
    };
    let (name, peers, port): (&str, Vec<Node>, u16) = match rng.below(4) {
        0 | 1 => (
            "allow-egress-internet-https",
            vec![map([(
                "ipBlock",
                map([
                    ("cidr", s("0.0.0.0/0")),
                    (
                        "except",
                        list([s("10.0.0.0/8"), s("172.16.0.0/12"), s("192.168.0.0/16")]),
                    ),
                ]),
            )])],
            443,
        ),
        2 => (
            "allow-egress-payment-provider",
            vec![map([(
                "ipBlock",
                map([
                    ("cidr", s("203.0.113.0/24")),
                    ("except", list([s("203.0.113.128/25")])),
                ]),
            )])],
            8443,
        ),
        _ => (
            "allow-egress-partner-dual-stack",
            vec![
                map([("ipBlock", map([("cidr", s("198.51.100.0/24"))]))]),
                map([(
                    "ipBlock",
                    map([
                        ("cidr", s("2001:db8::/32")),
                        ("except", list([s("2001:db8:ff::/48")])),
                    ]),
                )]),
            ],
            443,
        ),
    };
    let mut spec = Spec::new(name, target, &["Egress"]);
    spec.egress.push(map([
        ("to", list(peers)),
        ("ports", list([port_num("TCP", port)])),
    ]));
    spec
}

fn ingress_from_partner(rng: &mut SplitMix64, serving: &[&AppPlan]) -> Option<Spec> {
    let gw: Vec<&&AppPlan> = serving
        .iter()
        .filter(|a| matches!(a.kind, AppKind::Gateway | AppKind::Api))
        .collect();
    if gw.is_empty() {
        return None;
    }
    let target = **rng.pick(&gw);
    let port = target.kind.serving_port(&target.ports)?;
    let mut spec = Spec::new(
        format!("allow-partner-to-{}", target.name),
        app_selector(target),
        &["Ingress"],
    );
    let mut from = vec![map([(
        "ipBlock",
        map([
            ("cidr", s("192.0.2.0/24")),
            ("except", list([s("192.0.2.0/28")])),
        ]),
    )])];
    if rng.chance(30) {
        from.push(map([("ipBlock", map([("cidr", s("2001:db8:1234::/48"))]))]));
    }
    spec.ingress.push(map([
        ("from", list(from)),
        ("ports", list([port_named(&port)])),
    ]));
    Some(spec)
}

fn end_port(rng: &mut SplitMix64, ns: &NsPlan) -> Option<Spec> {
    if let Some(sig) = ns.apps.iter().find(|a| a.kind == AppKind::Signaling)
        && rng.chance(50)
    {
        // Diameter peers over SCTP (and TCP fallback) from a carrier range.
        let mut spec = Spec::new(
            format!("allow-diameter-peers-to-{}", sig.name),
            app_selector(sig),
            &["Ingress"],
        );
        spec.ingress.push(map([
            (
                "from",
                list([map([("ipBlock", map([("cidr", s("198.51.100.0/24"))]))])]),
            ),
            (
                "ports",
                list([port_num("SCTP", 3868), port_num("TCP", 3868)]),
            ),
        ]));
        return Some(spec);
    }
    if let Some(media) = ns.apps.iter().find(|a| a.kind == AppKind::Media) {
        let mut spec = Spec::new(
            format!("allow-rtp-to-{}", media.name),
            app_selector(media),
            &["Ingress"],
        );
        spec.ingress.push(map([
            ("from", list([map([("namespaceSelector", empty())])])),
            (
                "ports",
                list([port_range("UDP", 10000, 20000), port_num("UDP", 5060)]),
            ),
        ]));
        return Some(spec);
    }
    if rng.chance(50) {
        let mut spec = Spec::new("allow-egress-nodeports", empty(), &["Egress"]);
        spec.egress.push(map([
            (
                "to",
                list([map([("ipBlock", map([("cidr", s("10.0.0.0/8"))]))])]),
            ),
            ("ports", list([port_range("TCP", 30000, 32767)])),
        ]));
        Some(spec)
    } else {
        let app = ns.apps.first()?;
        let mut spec = Spec::new(
            format!("allow-debug-ports-{}", app.name),
            app_selector(app),
            &["Ingress"],
        );
        spec.ingress.push(map([
            (
                "from",
                list([map([("podSelector", sel_labels(&[("team", ns.team)]))])]),
            ),
            ("ports", list([port_range("TCP", 8000, 8099)])),
        ]));
        Some(spec)
    }
}

fn all_namespaces(rng: &mut SplitMix64, serving: &[&AppPlan]) -> Option<Spec> {
    let fronts: Vec<&&AppPlan> = serving
        .iter()
        .filter(|a| matches!(a.kind, AppKind::Gateway | AppKind::Web | AppKind::Grpc))
        .collect();
    if fronts.is_empty() {
        return None;
    }
    let target = **rng.pick(&fronts);
    let port = target.kind.serving_port(&target.ports)?;
    let mut spec = Spec::new(
        format!("allow-all-namespaces-to-{}", target.name),
        app_selector(target),
        &["Ingress"],
    );
    spec.ingress.push(map([
        ("from", list([map([("namespaceSelector", empty())])])),
        ("ports", list([port_named(&port)])),
    ]));
    Some(spec)
}

fn same_namespace() -> Spec {
    let mut spec = Spec::new("allow-same-namespace", empty(), &["Ingress"]);
    spec.ingress
        .push(map([("from", list([map([("podSelector", empty())])]))]));
    spec
}
