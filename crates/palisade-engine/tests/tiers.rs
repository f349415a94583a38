//! Admin tiers (ClusterNetworkPolicy v1alpha2, AdminNetworkPolicy / BaselineAdminNetworkPolicy
//! v1alpha1) as data: `tests/data/tiers/<case>/` holds the policies and the truth tables
//! derived by hand (`derive.py`) from the API's semantics, modelled on the network-policy-api
//! conformance scenarios. Every table must come out of the compiled engine (matrix), the
//! reference (one explained query per cell) and connectivity alike.

use palisade_engine::connectivity::{self, Level, PeerRef};
use palisade_engine::tiers::Tier;
use palisade_engine::{Endpoint, Engine, Query, Reference, matrix};
use palisade_load::{Input, LoadOptions, Loaded, load};
use palisade_model::Protocol;
use std::path::{Path, PathBuf};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiers")
}

fn load_case(case: &Path) -> Loaded {
    let loaded = load(
        &[
            Input::Path(data().join("model.yaml")),
            Input::Path(case.join("policies.yaml")),
        ],
        &LoadOptions::default(),
    );
    assert!(
        !loaded.has_errors(),
        "{}: {:?}",
        case.display(),
        loaded.diagnostics
    );
    assert!(
        !loaded.model.admin_policies.is_empty(),
        "{}: no admin policy was loaded",
        case.display()
    );
    loaded
}

/// (port, protocol, rows of (src, [(dst, allowed)])).
type Table = (u16, Protocol, Vec<(String, Vec<(String, bool)>)>);

fn expected_tables(text: &str) -> Vec<Table> {
    let mut tables = Vec::new();
    for block in text.split("# port ").skip(1) {
        let mut lines = block.lines();
        let mut header = lines.next().unwrap().split_whitespace();
        let port: u16 = header.next().unwrap().parse().unwrap();
        let protocol = Protocol::parse(header.next().unwrap()).unwrap();
        let columns: Vec<String> = lines
            .next()
            .unwrap()
            .split('\t')
            .skip(1)
            .map(String::from)
            .collect();
        let rows = lines
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let mut cells = l.split('\t');
                let src = cells.next().unwrap().to_string();
                let row = columns
                    .iter()
                    .cloned()
                    .zip(cells.map(|c| c == "."))
                    .collect();
                (src, row)
            })
            .collect();
        tables.push((port, protocol, rows));
    }
    tables
}

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(data())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("policies.yaml").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 8, "found {} cases", cases.len());
    cases
}

#[test]
fn conformance_truth_tables_hold_on_every_path() {
    let mut failures = Vec::new();
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let loaded = load_case(&case);
        let model = &loaded.model;
        let engine = Engine::new(model);
        let reference = Reference::new(model);
        let conn = connectivity::compute(model, &engine, Level::Pod);
        let pod = |n: &str| {
            let (ns, p) = n.split_once('/').unwrap();
            model
                .pod_ids()
                .find(|&id| model.pod_name(id) == format!("{ns}/{p}"))
                .unwrap_or_else(|| panic!("no pod {n}"))
        };
        let expected = std::fs::read_to_string(case.join("expected.txt")).unwrap();
        for (port, protocol, rows) in expected_tables(&expected) {
            let m = matrix::compute(model, &engine, Level::Pod, protocol, port);
            for (src, row) in &rows {
                for (dst, want) in row {
                    let at = format!("{name}: {src} -> {dst} {port}/{protocol}");
                    let i = m.peers.iter().position(|p| p == src).unwrap();
                    let j = m.peers.iter().position(|p| p == dst).unwrap();
                    if m.allowed[i][j] != *want {
                        failures.push(format!("{at}: matrix says {}", m.allowed[i][j]));
                    }
                    let (s, d) = (pod(src), pod(dst));
                    let query = Query {
                        src: Endpoint::Pod(s),
                        dst: Endpoint::Pod(d),
                        protocol,
                        port,
                    };
                    let explained = reference.explain(&query);
                    if explained.allowed != *want {
                        failures.push(format!("{at}: reference says {}", explained.allowed));
                    }
                    if s != d {
                        let index = |p| conn.peers.iter().position(|x| x.what == PeerRef::Pod(p));
                        let listed = conn.connections.iter().any(|c| {
                            Some(c.src) == index(s)
                                && Some(c.dst) == index(d)
                                && c.ports.contains(protocol, port)
                        });
                        if listed != *want {
                            failures.push(format!("{at}: connectivity says {listed}"));
                        }
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn load_text(text: &str) -> Loaded {
    let model = std::fs::read_to_string(data().join("model.yaml")).unwrap();
    load(
        &[
            Input::Text {
                name: "model.yaml".into(),
                text: model,
            },
            Input::Text {
                name: "policies.yaml".into(),
                text: text.into(),
            },
        ],
        &LoadOptions::default(),
    )
}

fn query(
    model: &palisade_model::Model,
    src: &str,
    dst: &str,
    protocol: Protocol,
    port: u16,
) -> Query {
    let find = |n: &str| {
        model
            .pod_ids()
            .find(|&id| model.pod_name(id) == n)
            .map(Endpoint::Pod)
            .unwrap_or_else(|| Endpoint::External(n.parse().unwrap()))
    };
    Query {
        src: find(src),
        dst: find(dst),
        protocol,
        port,
    }
}

const HARRY: &str = "gryffindor/harry-potter-0";
const DRACO: &str = "slytherin/draco-malfoy-0";
const LUNA: &str = "ravenclaw/luna-lovegood-0";

#[test]
fn explanations_name_the_tier_the_rule_and_the_pass() {
    let loaded = load_case(&data().join("anp-np-banp-integration"));
    let model = &loaded.model;
    let reference = Reference::new(model);
    // slytherin -> gryffindor: the ANP passes, NetworkPolicy denies.
    let e = reference.explain(&query(model, DRACO, HARRY, Protocol::Tcp, 80));
    assert!(!e.allowed);
    let passed = e.ingress.passed.expect("a Pass rule");
    assert_eq!(
        model.admin_policies[passed.policy as usize].name,
        "pass-slytherin"
    );
    assert_eq!(passed.rule, 0);
    assert_eq!(e.ingress.decided_by, Some(Tier::NetworkPolicy));
    assert_eq!(e.ingress.admin_rule, None);
    // ravenclaw -> slytherin: no NetworkPolicy isolates slytherin, the baseline denies.
    let e = reference.explain(&query(model, LUNA, DRACO, Protocol::Tcp, 80));
    assert!(!e.allowed);
    assert_eq!(e.ingress.decided_by, Some(Tier::Baseline));
    let (at, action) = e.ingress.admin_rule.unwrap();
    assert_eq!(action, palisade_model::AdminAction::Deny);
    assert_eq!(model.admin_policies[at.policy as usize].name, "default");
    // The egress side: nothing applies, default allow.
    assert_eq!(e.egress.decided_by, None);
    // The compiled engine names the same rule.
    let engine = Engine::new(model);
    let q = query(model, LUNA, DRACO, Protocol::Tcp, 80);
    let v = engine.verdict(
        engine.entity(&q.src),
        engine.entity(&q.dst),
        q.protocol,
        q.port,
    );
    assert_eq!(v.ingress_admin, e.ingress.admin_rule);
}

#[test]
fn admin_accept_and_deny_do_not_isolate_for_networkpolicy() {
    // An admin Accept for one peer must not make the pod isolated for everyone else.
    let loaded = load_text(
        r#"
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: accept-one}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {matchLabels: {conformance-house: gryffindor}}}
  ingress:
  - action: Accept
    from: [{namespaces: {matchLabels: {conformance-house: slytherin}}}]
"#,
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let reference = Reference::new(&loaded.model);
    let e = reference.explain(&query(&loaded.model, LUNA, HARRY, Protocol::Tcp, 80));
    assert!(e.allowed);
    assert!(e.ingress.isolating.is_empty());
    assert_eq!(e.ingress.decided_by, None);
}

#[test]
fn host_network_pods_are_never_subjects_or_selected_peers() {
    let loaded = load_text(
        r#"
apiVersion: v1
kind: Pod
metadata: {name: node-agent, namespace: gryffindor, labels: {app: agent}}
spec:
  hostNetwork: true
  containers: [{name: a, image: agent}]
status: {podIP: 192.168.0.1}
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: deny-all}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {}}
  ingress:
  - action: Deny
    from: [{namespaces: {}}]
"#,
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let model = &loaded.model;
    let reference = Reference::new(model);
    let engine = Engine::new(model);
    let agent = "gryffindor/node-agent";
    for (src, dst, allowed) in [
        (HARRY, agent, true),
        (agent, HARRY, true),
        (LUNA, HARRY, false),
    ] {
        let q = query(model, src, dst, Protocol::Tcp, 80);
        assert_eq!(reference.explain(&q).allowed, allowed, "{src} -> {dst}");
        let v = engine.verdict(
            engine.entity(&q.src),
            engine.entity(&q.dst),
            q.protocol,
            q.port,
        );
        assert_eq!(v.allowed, allowed, "{src} -> {dst} (compiled)");
    }
}

#[test]
fn nodes_peers_match_node_ips_and_domain_names_depend_on_dns() {
    let loaded = load_text(
        r#"
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: egress-guard}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {matchLabels: {conformance-house: gryffindor}}}
  egress:
  - name: deny-control-plane
    action: Deny
    to: [{nodes: {matchLabels: {node-role: control-plane}}}]
  - name: accept-registry
    action: Accept
    to: [{domainNames: ["registry.example.com"]}]
  - name: deny-internet
    action: Deny
    to: [{networks: ["0.0.0.0/0"]}]
"#,
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let model = &loaded.model;
    let reference = Reference::new(model);
    let engine = Engine::new(model);
    let check = |dst: &str, allowed: bool, dns: bool| {
        let q = query(model, HARRY, dst, Protocol::Tcp, 443);
        let e = reference.explain(&q);
        assert_eq!(e.allowed, allowed, "{dst}");
        assert_eq!(e.egress.depends_on_dns, dns, "{dst}");
        // Denied only for want of a name: the verdict itself is "depends on DNS".
        assert_eq!(e.depends_on_dns(), dns, "{dst}");
        let v = engine.verdict(
            engine.entity(&q.src),
            engine.entity(&q.dst),
            q.protocol,
            q.port,
        );
        assert_eq!(v.allowed, allowed, "{dst} (compiled)");
    };
    check("192.168.0.1", false, false); // the control-plane node: denied by rule 0
    check("192.168.0.2", false, true); // a worker: only the domainNames rule could accept it
    check("203.0.113.9", false, true);
    check(LUNA, false, false); // pods are not external: no DNS question, 0.0.0.0/0 denies

    // With the names a capture's DNS answers give, domainNames decides: no DNS question left.
    let resolved = |dst: &str, names: &[&str]| {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        reference.explain_resolved(&query(model, HARRY, dst, Protocol::Tcp, 443), Some(&names))
    };
    let e = resolved("203.0.113.9", &["Registry.Example.com."]);
    assert!(e.allowed && !e.depends_on_dns());
    assert_eq!(e.egress.admin_rule.map(|(at, _)| at.rule), Some(1));
    let e = resolved("203.0.113.9", &["other.example.com"]);
    assert!(!e.allowed && !e.depends_on_dns());
    assert_eq!(e.egress.admin_rule.map(|(at, _)| at.rule), Some(2));
    // A name does not override an earlier rule: the control-plane node stays denied.
    let e = resolved("192.168.0.1", &["registry.example.com"]);
    assert!(!e.allowed);
    assert_eq!(e.egress.admin_rule.map(|(at, _)| at.rule), Some(0));
}

#[test]
fn domain_name_wildcards_match_exactly_one_label() {
    use palisade_engine::admin::domain_name_matches;
    assert!(domain_name_matches(
        "registry.example.com",
        "REGISTRY.example.com."
    ));
    assert!(domain_name_matches("*.example.com", "www.example.com"));
    assert!(!domain_name_matches("*.example.com", "example.com"));
    assert!(!domain_name_matches("*.example.com", "a.b.example.com"));
    assert!(!domain_name_matches("*.example.com", "wwwexample.com"));
    assert!(!domain_name_matches("example.com", "www.example.com"));
}

#[test]
fn equal_priorities_are_evaluated_in_name_order() {
    let policy = |name: &str, action: &str| {
        format!(
            "---\napiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n\
             metadata: {{name: {name}}}\nspec:\n  tier: Admin\n  priority: 7\n  \
             subject: {{namespaces: {{}}}}\n  ingress:\n  - action: {action}\n    \
             from: [{{namespaces: {{}}}}]\n"
        )
    };
    for (first, second, allowed) in [("a-deny", "b-accept", false), ("b-deny", "a-accept", true)] {
        let text = policy(first, "Deny") + &policy(second, "Accept");
        let loaded = load_text(&text);
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let q = query(&loaded.model, LUNA, HARRY, Protocol::Tcp, 80);
        assert_eq!(
            Reference::new(&loaded.model).explain(&q).allowed,
            allowed,
            "{first}/{second}"
        );
        let engine = Engine::new(&loaded.model);
        let v = engine.verdict(
            engine.entity(&q.src),
            engine.entity(&q.dst),
            q.protocol,
            q.port,
        );
        assert_eq!(v.allowed, allowed);
    }
}

#[test]
fn a_nodes_peer_selects_the_node_addresses_and_nothing_around_them() {
    // No `networks` peer cuts the address space here: the node's address alone must be
    // told apart from its neighbours, on every path.
    let loaded = load_text(
        r#"
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: keep-off-the-control-plane}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {matchLabels: {conformance-house: gryffindor}}}
  egress:
  - action: Deny
    to: [{nodes: {matchLabels: {node-role: control-plane}}}]
"#,
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let model = &loaded.model;
    let reference = Reference::new(model);
    let engine = Engine::new(model);
    let conn = connectivity::compute(model, &engine, Level::Pod);
    let harry = conn
        .peers
        .iter()
        .position(|p| p.name == HARRY)
        .expect("harry is a peer");
    for (dst, allowed) in [
        ("192.168.0.1", false), // the control-plane node
        ("192.168.0.0", true),
        ("192.168.0.2", true), // a worker node
        ("10.0.0.1", true),
    ] {
        let q = query(model, HARRY, dst, Protocol::Tcp, 443);
        assert_eq!(reference.explain(&q).allowed, allowed, "{dst}");
        let v = engine.verdict(
            engine.entity(&q.src),
            engine.entity(&q.dst),
            q.protocol,
            q.port,
        );
        assert_eq!(v.allowed, allowed, "{dst} (compiled)");
        let ip: std::net::IpAddr = dst.parse().unwrap();
        let listed = conn.connections.iter().any(|c| {
            c.src == harry
                && range_contains(&conn.peers[c.dst].name, ip)
                && c.ports.contains(Protocol::Tcp, 443)
        });
        assert_eq!(listed, allowed, "{dst} (connectivity)");
    }
    // The node's address is its own range.
    assert!(conn.peers.iter().any(|p| p.name == "192.168.0.1/32"));
}

/// Whether a connectivity range name (`CIDR` or `first-last`) holds an address.
fn range_contains(name: &str, ip: std::net::IpAddr) -> bool {
    if let Ok(net) = name.parse::<palisade_model::IpNet>() {
        return net.contains(&ip);
    }
    let Some((lo, hi)) = name.split_once('-') else {
        return false;
    };
    match (
        lo.parse::<std::net::IpAddr>(),
        hi.parse::<std::net::IpAddr>(),
    ) {
        (Ok(lo), Ok(hi)) => lo <= ip && ip <= hi && lo.is_ipv4() == ip.is_ipv4(),
        _ => false,
    }
}

fn pod_named(model: &palisade_model::Model, name: &str) -> palisade_model::PodId {
    model
        .pod_ids()
        .find(|&id| model.pod_name(id) == name)
        .unwrap_or_else(|| panic!("no pod {name}"))
}

fn port_set(ports: &[(Protocol, u16)]) -> palisade_model::PortSet {
    let mut set = palisade_model::PortSet::none();
    for &(protocol, port) in ports {
        set.insert(protocol, palisade_model::PortRange::single(port));
    }
    set
}

#[test]
fn an_admin_subject_lists_its_pods_in_pod_order_without_host_network_pods() {
    let loaded = load_text(
        r#"
apiVersion: v1
kind: Pod
metadata: {name: node-agent, namespace: gryffindor, labels: {app: agent}}
spec:
  hostNetwork: true
  containers: [{name: a, image: agent}]
status: {podIP: 192.168.0.1}
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: two-houses}
spec:
  tier: Admin
  priority: 1
  subject:
    namespaces:
      matchExpressions:
      - {key: conformance-house, operator: In, values: [slytherin, gryffindor]}
  ingress:
  - action: Deny
    from: [{namespaces: {}}]
"#,
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let model = &loaded.model;
    let subjects: Vec<String> = palisade_engine::admin::subjects(model, &model.admin_policies[0])
        .into_iter()
        .map(|p| model.pod_name(p))
        .collect();
    // Model order (gryffindor's pod is declared before slytherin's); the hostNetwork agent
    // in gryffindor is never a subject.
    assert_eq!(subjects, [HARRY, DRACO]);
}

#[test]
fn policy_admits_unions_the_ports_of_every_rule_that_admits_the_peer() {
    let loaded = load_text(
        r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: harry, namespace: gryffindor}
spec:
  podSelector: {matchLabels: {app: harry-potter}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {conformance-house: slytherin}}}]
    ports: [{port: 80}]
  - from:
    - namespaceSelector: {matchLabels: {conformance-house: slytherin}}
    - namespaceSelector: {matchLabels: {conformance-house: ravenclaw}}
    ports: [{port: 53, protocol: UDP}]
  egress:
  - to: [{namespaceSelector: {matchLabels: {conformance-house: ravenclaw}}}]
    ports: [{port: web-8080-tcp}]
"#,
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let model = &loaded.model;
    let reference = Reference::new(model);
    let policy = model.policy_ids().next().unwrap();
    let harry = pod_named(model, HARRY);
    let admits = |direction, peer: &str| {
        reference.policy_admits(
            policy,
            harry,
            direction,
            Endpoint::Pod(pod_named(model, peer)),
        )
    };
    use palisade_model::Direction::{Egress, Ingress};
    assert_eq!(
        admits(Ingress, DRACO),
        port_set(&[(Protocol::Tcp, 80), (Protocol::Udp, 53)])
    );
    assert_eq!(admits(Ingress, LUNA), port_set(&[(Protocol::Udp, 53)]));
    assert_eq!(admits(Ingress, "forbidden-forest/centaur-0"), port_set(&[]));
    // Egress: the named port resolves at the destination (the peer).
    assert_eq!(admits(Egress, LUNA), port_set(&[(Protocol::Tcp, 8080)]));
    assert_eq!(admits(Egress, DRACO), port_set(&[]));
}

#[test]
fn the_admin_tier_over_port_sets_hands_on_what_it_passes_or_leaves() {
    use palisade_engine::admin::AdminRuleRef;
    use palisade_model::{AdminAction, Direction};
    let loaded = load_text(
        r#"
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: guard}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {matchLabels: {conformance-house: gryffindor}}}
  ingress:
  - action: Deny
    from: [{namespaces: {matchLabels: {conformance-house: slytherin}}}]
    protocols: [{tcp: {destinationPort: {number: 80}}}]
  - action: Pass
    from: [{namespaces: {matchLabels: {conformance-house: slytherin}}}]
    protocols: [{tcp: {destinationPort: {number: 8080}}}]
  - action: Accept
    from: [{namespaces: {}}]
    protocols: [{udp: {destinationPort: {number: 53}}}]
  - action: Deny
    from: [{namespaces: {matchLabels: {conformance-house: slytherin}}}]
    protocols: [{tcp: {destinationPort: {number: 80}}}]
"#,
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let model = &loaded.model;
    let reference = Reference::new(model);
    let harry = pod_named(model, HARRY);
    let rule = |rule| AdminRuleRef {
        policy: 0,
        direction: Direction::Ingress,
        rule,
    };
    let walk = |peer: &str, without| {
        let mut decided = Vec::new();
        let reaches_networkpolicy = reference.admin_tier_ports(
            harry,
            Direction::Ingress,
            Endpoint::Pod(pod_named(model, peer)),
            without,
            |at, action, taken| decided.push((at, action, taken.clone())),
        );
        (reaches_networkpolicy, decided)
    };
    let all_but =
        |ports: &[(Protocol, u16)]| palisade_model::PortSet::all().difference(&port_set(ports));

    // From slytherin: TCP 80 denied, TCP 8080 passed (it reaches NetworkPolicy), UDP 53
    // accepted; the last rule finds TCP 80 already decided and takes nothing.
    let (reaches, decided) = walk(DRACO, None);
    assert_eq!(
        reaches,
        all_but(&[(Protocol::Tcp, 80), (Protocol::Udp, 53)])
    );
    assert_eq!(
        decided,
        [
            (rule(0), AdminAction::Deny, port_set(&[(Protocol::Tcp, 80)])),
            (
                rule(1),
                AdminAction::Pass,
                port_set(&[(Protocol::Tcp, 8080)])
            ),
            (
                rule(2),
                AdminAction::Accept,
                port_set(&[(Protocol::Udp, 53)])
            ),
        ]
    );
    // Without the first rule, the last one denies TCP 80 instead.
    let (reaches, decided) = walk(DRACO, Some(rule(0)));
    assert_eq!(
        reaches,
        all_but(&[(Protocol::Tcp, 80), (Protocol::Udp, 53)])
    );
    assert_eq!(
        decided.iter().map(|(at, _, _)| at.rule).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    // From ravenclaw only the Accept applies.
    let (reaches, decided) = walk(LUNA, None);
    assert_eq!(reaches, all_but(&[(Protocol::Udp, 53)]));
    assert_eq!(
        decided,
        [(
            rule(2),
            AdminAction::Accept,
            port_set(&[(Protocol::Udp, 53)])
        )]
    );
}
