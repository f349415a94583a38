//! The rules of `networking.k8s.io/v1` NetworkPolicy, each written once.
//!
//! Every evaluator of the crate decides these questions by calling the functions here: the
//! reference ([`crate::Reference`]) directly, the compiled engine while it builds its classes
//! and peer sets (the per-flow lookups only read what was decided here), and through them
//! connectivity, the redundancy analysis ([`crate::rules`]), lint and the diff. A change to a
//! rule, or a new source of rules (admin tiers), is made in this file and reaches all of them.
//!
//! The label-selector rule itself (`matchLabels` AND `matchExpressions`, the operators) lives
//! with its type in the model ([`palisade_model::LabelSelector::matches`]), as does
//! address-in-`ipBlock` ([`palisade_model::IpBlock::contains`]).

use crate::Endpoint;
use palisade_model::{
    ContainerPort, Direction, IpBlock, LabelSelector, Labels, Model, NamespaceId, PeerKind, Pod,
    Policy, PortRange, PortRef, PortSet, PortSpec, Protocol, Rule,
};

/// Whether NetworkPolicy applies to a pod at all, as a subject or as a selector peer.
/// hostNetwork pods send and receive with their node's address, so NetworkPolicy neither
/// isolates them nor lets pod/namespace selectors select them (an ipBlock can still match
/// their IP).
pub fn policy_applies_to(host_network: bool) -> bool {
    !host_network
}

/// Whether a policy selects a pod as its subject (in any direction): the pod is in the
/// policy's namespace, NetworkPolicy applies to it, and `spec.podSelector` matches its labels.
pub fn policy_selects(
    policy: &Policy,
    namespace: NamespaceId,
    labels: &Labels,
    host_network: bool,
) -> bool {
    policy_applies_to(host_network)
        && policy.namespace == namespace
        && policy.pod_selector.matches(labels)
}

/// Whether a policy isolates a pod in a direction: it selects the pod and its (resolved)
/// `policyTypes` include the direction. A pod is isolated in a direction when at least one
/// policy isolates it there; then only the union of those policies' rules allows traffic.
pub fn isolates(
    policy: &Policy,
    direction: Direction,
    namespace: NamespaceId,
    labels: &Labels,
    host_network: bool,
) -> bool {
    policy.affects(direction) && policy_selects(policy, namespace, labels, host_network)
}

/// The namespaces a pod/namespace-selector peer draws pods from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerNamespaces<'a> {
    /// No `namespaceSelector`: the policy's own namespace only.
    Own(NamespaceId),
    /// `namespaceSelector`: every namespace whose labels it matches (`{}`: all namespaces).
    Matching(&'a LabelSelector),
}

impl PeerNamespaces<'_> {
    /// Whether a namespace is one of them.
    pub fn contains(&self, namespace: NamespaceId, namespace_labels: &Labels) -> bool {
        match self {
            PeerNamespaces::Own(own) => *own == namespace,
            PeerNamespaces::Matching(selector) => selector.matches(namespace_labels),
        }
    }
}

/// The namespace half of a pod/namespace-selector peer.
pub fn peer_namespaces(
    policy_namespace: NamespaceId,
    namespace_selector: Option<&LabelSelector>,
) -> PeerNamespaces<'_> {
    match namespace_selector {
        Some(selector) => PeerNamespaces::Matching(selector),
        None => PeerNamespaces::Own(policy_namespace),
    }
}

/// The pod half of a pod/namespace-selector peer: without a `podSelector`, every pod of the
/// selected namespaces.
pub fn peer_pod_selected(pod_selector: Option<&LabelSelector>, labels: &Labels) -> bool {
    pod_selector.is_none_or(|s| s.matches(labels))
}

/// Whether a pod/namespace-selector peer selects a pod: both halves (AND), and NetworkPolicy
/// applies to the pod.
pub fn selector_peer_selects(
    model: &Model,
    policy_namespace: NamespaceId,
    namespace_selector: Option<&LabelSelector>,
    pod_selector: Option<&LabelSelector>,
    pod: &Pod,
) -> bool {
    policy_applies_to(pod.host_network)
        && peer_namespaces(policy_namespace, namespace_selector)
            .contains(pod.namespace, &model.namespace(pod.namespace).labels)
        && peer_pod_selected(pod_selector, &pod.labels)
}

/// Whether an ipBlock matches a pod: through any of its known IPs (in `cidr`, outside every
/// `except`). A pod without a known IP is never matched by an ipBlock.
pub fn ip_block_selects_pod(block: &IpBlock, pod: &Pod) -> bool {
    pod.ips.iter().any(|&ip| block.contains(ip))
}

/// Whether one `from`/`to` entry of a policy (in `policy_namespace`) selects an endpoint.
/// Selectors never select external addresses.
pub fn peer_selects(
    model: &Model,
    policy_namespace: NamespaceId,
    peer: &PeerKind,
    other: Endpoint,
) -> bool {
    match (peer, other) {
        (PeerKind::IpBlock(block), Endpoint::External(ip)) => block.contains(ip),
        (PeerKind::IpBlock(block), Endpoint::Pod(pod)) => {
            ip_block_selects_pod(block, &model.pods[pod.index()])
        }
        (PeerKind::Selector { .. }, Endpoint::External(_)) => false,
        (
            PeerKind::Selector {
                namespace_selector,
                pod_selector,
            },
            Endpoint::Pod(pod),
        ) => selector_peer_selects(
            model,
            policy_namespace,
            namespace_selector.as_ref(),
            pod_selector.as_ref(),
            &model.pods[pod.index()],
        ),
    }
}

/// The index of the first peer of a rule that selects `other`; `Some(None)` when the rule has
/// no peers (`from`/`to` missing or empty: every peer, pods and addresses alike); `None` when
/// no peer selects it.
pub fn rule_peer(
    model: &Model,
    policy_namespace: NamespaceId,
    rule: &Rule,
    other: Endpoint,
) -> Option<Option<usize>> {
    if rule.peers.is_empty() {
        return Some(None);
    }
    rule.peers
        .iter()
        .position(|peer| peer_selects(model, policy_namespace, &peer.kind, other))
        .map(Some)
}

/// What one `ports` entry names, before named ports are resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecPorts<'a> {
    /// Numeric: `port` alone, `port..=endPort`, or every port of the protocol when `port` is
    /// absent.
    Range(PortRange),
    /// A named container port, resolved on the destination pod.
    Named(&'a str),
    /// `endPort` below `port`: the API server rejects it (so does the loader); a model built
    /// by hand that holds one gets a range that matches nothing.
    Nothing,
}

/// What one `ports` entry names; `endPort` applies to a numeric `port` only.
pub fn spec_ports(spec: &PortSpec) -> SpecPorts<'_> {
    match &spec.port {
        None => SpecPorts::Range(PortRange::ALL),
        Some(PortRef::Number(n)) => match spec.end_port {
            Some(end) if end < *n => SpecPorts::Nothing,
            end => SpecPorts::Range(PortRange {
                lo: *n,
                hi: end.unwrap_or(*n),
            }),
        },
        Some(PortRef::Name(name)) => SpecPorts::Named(name),
    }
}

/// Whether a container port is the target of a named port of a protocol: same name and same
/// protocol (a UDP container port named `dns` is not the TCP port `dns`).
pub fn named_port_resolves(name: &str, protocol: Protocol, port: &ContainerPort) -> bool {
    port.protocol == protocol && port.name.as_deref() == Some(name)
}

/// Whether one `ports` entry admits a protocol/port towards a destination whose container
/// ports are `dst_ports` (`None`: an external destination, where a named port never matches).
pub fn spec_admits(
    spec: &PortSpec,
    protocol: Protocol,
    port: u16,
    dst_ports: Option<&[ContainerPort]>,
) -> bool {
    if spec.protocol != protocol {
        return false;
    }
    match spec_ports(spec) {
        SpecPorts::Range(range) => range.lo <= port && port <= range.hi,
        SpecPorts::Named(name) => dst_ports.is_some_and(|ports| {
            ports
                .iter()
                .any(|cp| cp.port == port && named_port_resolves(name, protocol, cp))
        }),
        SpecPorts::Nothing => false,
    }
}

/// The index of the first `ports` entry of a rule that admits a protocol/port; `Some(None)`
/// when the rule has no ports (every port of every protocol); `None` when no entry does.
pub fn rule_port(
    rule: &Rule,
    protocol: Protocol,
    port: u16,
    dst_ports: Option<&[ContainerPort]>,
) -> Option<Option<usize>> {
    if rule.ports.is_empty() {
        return Some(None);
    }
    rule.ports
        .iter()
        .position(|spec| spec_admits(spec, protocol, port, dst_ports))
        .map(Some)
}

/// The exact ports a rule allows towards a destination (see [`spec_admits`]): every port
/// when `ports` is missing or empty.
pub fn rule_ports(rule: &Rule, dst_ports: Option<&[ContainerPort]>) -> PortSet {
    if rule.ports.is_empty() {
        return PortSet::all();
    }
    let mut set = PortSet::none();
    for spec in &rule.ports {
        match spec_ports(spec) {
            SpecPorts::Range(range) => set.insert(spec.protocol, range),
            SpecPorts::Named(name) => {
                for cp in dst_ports.into_iter().flatten() {
                    if named_port_resolves(name, spec.protocol, cp) {
                        set.insert(spec.protocol, PortRange::single(cp.port));
                    }
                }
            }
            SpecPorts::Nothing => {}
        }
    }
    set
}

/// The container ports a destination endpoint offers to named ports (`None` for an address
/// outside the model's pods).
pub fn destination_ports(model: &Model, dst: Endpoint) -> Option<&[ContainerPort]> {
    match dst {
        Endpoint::Pod(p) => Some(&model.pods[p.index()].ports),
        Endpoint::External(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_model::Span;

    fn spec(protocol: Protocol, port: Option<PortRef>, end_port: Option<u16>) -> PortSpec {
        PortSpec {
            protocol,
            port,
            end_port,
            span: None::<Span>,
        }
    }

    fn cp(name: &str, port: u16, protocol: Protocol) -> ContainerPort {
        ContainerPort {
            name: Some(name.into()),
            port,
            protocol,
        }
    }

    #[test]
    fn port_and_end_port_form_an_inclusive_range() {
        let s = spec(Protocol::Tcp, Some(PortRef::Number(8000)), Some(8010));
        assert_eq!(
            spec_ports(&s),
            SpecPorts::Range(PortRange { lo: 8000, hi: 8010 })
        );
        for (port, want) in [(7999, false), (8000, true), (8010, true), (8011, false)] {
            assert_eq!(spec_admits(&s, Protocol::Tcp, port, None), want, "{port}");
        }
        assert!(!spec_admits(&s, Protocol::Udp, 8000, None));
        let single = spec(Protocol::Udp, Some(PortRef::Number(53)), None);
        assert_eq!(spec_ports(&single), SpecPorts::Range(PortRange::single(53)));
        let equal = spec(Protocol::Tcp, Some(PortRef::Number(80)), Some(80));
        assert_eq!(spec_ports(&equal), SpecPorts::Range(PortRange::single(80)));
    }

    #[test]
    fn inverted_range_matches_nothing_everywhere() {
        let s = spec(Protocol::Tcp, Some(PortRef::Number(90)), Some(80));
        assert_eq!(spec_ports(&s), SpecPorts::Nothing);
        assert!(!spec_admits(&s, Protocol::Tcp, 90, None));
        assert!(!spec_admits(&s, Protocol::Tcp, 85, None));
        let rule = Rule {
            peers: vec![],
            peers_form: palisade_model::ListForm::Missing,
            ports: vec![s],
            ports_form: palisade_model::ListForm::Items,
            span: None,
        };
        assert!(rule_ports(&rule, None).is_empty());
        assert_eq!(rule_port(&rule, Protocol::Tcp, 90, None), None);
    }

    #[test]
    fn missing_port_is_every_port_of_the_protocol() {
        let s = spec(Protocol::Sctp, None, None);
        assert_eq!(spec_ports(&s), SpecPorts::Range(PortRange::ALL));
        assert!(spec_admits(&s, Protocol::Sctp, 1, None));
        assert!(spec_admits(&s, Protocol::Sctp, 65535, None));
        assert!(!spec_admits(&s, Protocol::Tcp, 1, None));
    }

    #[test]
    fn named_ports_resolve_by_name_and_protocol_on_the_destination() {
        let ports = [
            cp("dns", 53, Protocol::Udp),
            cp("http", 8080, Protocol::Tcp),
            cp("http", 8081, Protocol::Tcp),
        ];
        let dns_tcp = spec(Protocol::Tcp, Some(PortRef::Name("dns".into())), None);
        let dns_udp = spec(Protocol::Udp, Some(PortRef::Name("dns".into())), None);
        assert!(!spec_admits(&dns_tcp, Protocol::Tcp, 53, Some(&ports)));
        assert!(spec_admits(&dns_udp, Protocol::Udp, 53, Some(&ports)));
        assert!(!spec_admits(&dns_udp, Protocol::Udp, 54, Some(&ports)));
        // External destinations have no named ports.
        assert!(!spec_admits(&dns_udp, Protocol::Udp, 53, None));
        let http = spec(Protocol::Tcp, Some(PortRef::Name("http".into())), None);
        let rule = Rule {
            peers: vec![],
            peers_form: palisade_model::ListForm::Missing,
            ports: vec![http, dns_tcp],
            ports_form: palisade_model::ListForm::Items,
            span: None,
        };
        assert_eq!(rule_ports(&rule, Some(&ports)).to_string(), "TCP 8080-8081");
        assert!(rule_ports(&rule, None).is_empty());
        assert_eq!(
            rule_port(&rule, Protocol::Tcp, 8081, Some(&ports)),
            Some(Some(0))
        );
        assert_eq!(rule_port(&rule, Protocol::Tcp, 53, Some(&ports)), None);
    }

    #[test]
    fn a_rule_without_ports_allows_every_port() {
        let rule = Rule {
            peers: vec![],
            peers_form: palisade_model::ListForm::Empty,
            ports: vec![],
            ports_form: palisade_model::ListForm::Empty,
            span: None,
        };
        assert!(rule_ports(&rule, None).is_all());
        assert_eq!(rule_port(&rule, Protocol::Sctp, 9, None), Some(None));
    }
}
