//! Model → nftables, written independently of the engine: the kernel is a second
//! implementation of NetworkPolicy, so this module reads the model's policies directly and
//! never asks `palisade-engine` for a verdict.
//!
//! Every pod gets one `inet` table in its own network namespace. Egress is filtered in the
//! source pod's namespace (`output` hook), ingress in the destination pod's (`input` hook).
//! Each direction's base chain accepts established and related traffic, then jumps through
//! the *tiers* in order: the admin tier (ClusterNetworkPolicy `tier: Admin`,
//! AdminNetworkPolicy), NetworkPolicy, and — only when no NetworkPolicy isolates the pod for
//! that direction — the baseline tier (ClusterNetworkPolicy `tier: Baseline`,
//! BaselineAdminNetworkPolicy). An admin rule that matches accepts, denies (`goto deny`) or
//! passes (`return`: the rest of the admin tier is skipped, NetworkPolicy is next); a tier
//! chain nothing matched in returns. The NetworkPolicy chain ends in the deny action when it
//! isolates the pod; whatever no tier decided is accepted by the base chain's policy.

use ipnet::IpNet;
use palisade_engine::semantics::{self, SpecPorts};
use palisade_engine::{Endpoint, admin};
use palisade_model::{
    AdminAction, AdminPeerKind, AdminPortKind, AdminRule, AdminTier, Direction, IpBlock, Model,
    PeerKind, Pod, PodId, PolicyId, PortRef, PortSpec, Protocol, Rule,
};
use std::collections::BTreeSet;
use std::fmt::Write;
use std::net::IpAddr;

use crate::plan::AddressPlan;

/// What a denied connection looks like to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DenyAction {
    /// Packets are dropped: clients time out (Cilium, Calico, kube-network-policies).
    Drop,
    /// TCP gets a reset, other protocols ICMP port unreachable: clients are refused
    /// (kube-router).
    Reject,
}

impl DenyAction {
    /// `drop` or `reject`.
    pub fn as_str(self) -> &'static str {
        match self {
            DenyAction::Drop => "drop",
            DenyAction::Reject => "reject",
        }
    }

    /// The closing statements of an isolating tier chain.
    fn statements(self) -> &'static [&'static str] {
        match self {
            DenyAction::Drop => &["drop"],
            DenyAction::Reject => &["meta l4proto tcp reject with tcp reset", "reject"],
        }
    }
}

/// How to compile.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// The table name (carries the run's prefix).
    pub table: String,
    /// The deny action.
    pub deny: DenyAction,
}

/// The ruleset of one pod's namespace, ready for `nft -f`.
#[derive(Clone, Debug)]
pub struct PodRuleset {
    /// The pod.
    pub pod: PodId,
    /// Whether some policy isolates it for ingress.
    pub isolated_ingress: bool,
    /// Whether some policy isolates it for egress.
    pub isolated_egress: bool,
    /// The ruleset text.
    pub text: String,
}

/// Compiles every pod's ruleset.
pub fn compile(model: &Model, plan: &AddressPlan, options: &CompileOptions) -> Vec<PodRuleset> {
    let compiler = Compiler { model, plan };
    model
        .pod_ids()
        .map(|pod| compiler.pod_ruleset(pod, options))
        .collect()
}

/// One tier's chain for one direction: rules in order, then what happens when none matched.
struct TierChain {
    /// `admin`, `networkpolicy` or `baseline`.
    tier: &'static str,
    /// Rule lines (statements and comments).
    lines: Vec<String>,
    /// Closing statements: the deny action for an isolating tier, nothing (return) otherwise.
    end: &'static [&'static str],
}

/// Which addresses a rule line matches on the peer side.
#[derive(Clone, Debug)]
enum AddrMatch {
    /// Any address.
    Any,
    /// Exactly these addresses.
    Set(Vec<IpAddr>),
    /// A CIDR minus `except`, minus `not` (addresses the sandbox assigned: the model knows no
    /// IP for those pods, so no ipBlock may match them).
    Block {
        cidr: IpNet,
        except: Vec<IpNet>,
        not: Vec<IpAddr>,
        /// Other addresses of pods the block matches through one known IP.
        extra: Vec<IpAddr>,
    },
}

/// Which transport ports a rule line matches.
#[derive(Clone, Debug)]
enum PortMatch {
    /// Any protocol and port.
    Any,
    /// One protocol, any port.
    Protocol(Protocol),
    /// One protocol, these inclusive ranges.
    Ports(Protocol, Vec<(u16, u16)>),
}

struct Compiler<'a> {
    model: &'a Model,
    plan: &'a AddressPlan,
}

impl Compiler<'_> {
    fn pod_ruleset(&self, pod: PodId, options: &CompileOptions) -> PodRuleset {
        let mut text = String::new();
        let _ = writeln!(text, "# pod {}", self.model.pod_name(pod));
        let _ = writeln!(text, "table inet {} {{", options.table);
        let mut isolated = [false; 2];
        let mut uses_deny = false;
        for (i, (direction, hook)) in [(Direction::Ingress, "input"), (Direction::Egress, "output")]
            .into_iter()
            .enumerate()
        {
            let name = direction_name(direction);
            let networkpolicy = self.networkpolicy_tier(pod, direction, options.deny);
            isolated[i] = networkpolicy.is_some();
            // The baseline tier is consulted only where no NetworkPolicy isolates the pod.
            let baseline = match networkpolicy {
                Some(_) => None,
                None => self.admin_tier(pod, direction, AdminTier::Baseline),
            };
            let tiers: Vec<TierChain> = self
                .admin_tier(pod, direction, AdminTier::Admin)
                .into_iter()
                .chain(networkpolicy)
                .chain(baseline)
                .collect();
            uses_deny |= tiers
                .iter()
                .any(|t| t.lines.iter().any(|l| l.contains("goto deny")));
            let _ = writeln!(text, "  chain {name} {{");
            let _ = writeln!(
                text,
                "    type filter hook {hook} priority filter; policy accept;"
            );
            let _ = writeln!(text, "    ct state established,related accept");
            if tiers.is_empty() {
                let _ = writeln!(text, "    # not isolated for {name}: open");
            } else if !isolated[i] {
                let _ = writeln!(
                    text,
                    "    # not isolated for {name} by NetworkPolicy: open unless an admin rule decides"
                );
            }
            for tier in &tiers {
                let _ = writeln!(text, "    jump {name}_{}", tier.tier);
            }
            let _ = writeln!(text, "  }}");
            for tier in &tiers {
                let _ = writeln!(text, "  chain {name}_{} {{", tier.tier);
                for line in &tier.lines {
                    let _ = writeln!(text, "    {line}");
                }
                for statement in tier.end {
                    let _ = writeln!(text, "    {statement}");
                }
                let _ = writeln!(text, "  }}");
            }
        }
        if uses_deny {
            // Where admin Deny rules go (both directions): the deny action.
            let _ = writeln!(text, "  chain deny {{");
            for statement in options.deny.statements() {
                let _ = writeln!(text, "    {statement}");
            }
            let _ = writeln!(text, "  }}");
        }
        text.push_str("}\n");
        PodRuleset {
            pod,
            isolated_ingress: isolated[0],
            isolated_egress: isolated[1],
            text,
        }
    }

    /// The NetworkPolicy tier: one accept line per (rule, peer, port) of every policy that
    /// selects the pod for `direction`, closed by the deny action; `None` when no policy
    /// isolates the pod (or it is a hostNetwork pod, which NetworkPolicy never isolates).
    fn networkpolicy_tier(
        &self,
        pod: PodId,
        direction: Direction,
        deny: DenyAction,
    ) -> Option<TierChain> {
        let subject = &self.model.pods[pod.index()];
        if !semantics::policy_applies_to(subject.host_network) {
            return None;
        }
        let isolating: Vec<PolicyId> = self
            .model
            .policy_ids()
            .filter(|&id| {
                semantics::isolates(
                    &self.model.policies[id.index()],
                    direction,
                    subject.namespace,
                    &subject.labels,
                    subject.host_network,
                )
            })
            .collect();
        if isolating.is_empty() {
            return None;
        }
        let mut lines = Vec::new();
        for policy in isolating {
            let rules = self.model.policies[policy.index()].rules(direction);
            if rules.is_empty() {
                lines.push(format!(
                    "# {}: no {} rule, allows nothing",
                    self.model.policy_name(policy),
                    direction_name(direction)
                ));
            }
            for (index, rule) in rules.iter().enumerate() {
                self.rule_lines(policy, index, rule, pod, direction, &mut lines);
            }
        }
        Some(TierChain {
            tier: "networkpolicy",
            lines,
            end: deny.statements(),
        })
    }

    /// An admin tier (`Admin` or `Baseline`) for one direction of a pod: the rules of every
    /// policy of the tier whose subject selects the pod, in evaluation order (priority, then
    /// name) and rule order; `None` when no such policy has a rule for the direction.
    fn admin_tier(&self, pod: PodId, direction: Direction, tier: AdminTier) -> Option<TierChain> {
        let subject = &self.model.pods[pod.index()];
        let mut lines = Vec::new();
        for id in admin::evaluation_order(self.model, tier) {
            let policy = &self.model.admin_policies[id as usize];
            if !admin::subject_selects(self.model, policy, subject) {
                continue;
            }
            for (index, rule) in policy.rules(direction).iter().enumerate() {
                let label = format!(
                    "{} {}[{index}] {} {}",
                    policy.display_name(),
                    direction_name(direction),
                    rule.name,
                    rule.action.as_str()
                );
                self.admin_rule_lines(rule, pod, direction, &label, &mut lines);
            }
        }
        (!lines.is_empty()).then_some(TierChain {
            tier: match tier {
                AdminTier::Admin => "admin",
                AdminTier::Baseline => "baseline",
            },
            lines,
            end: &[],
        })
    }

    /// One admin rule: a line per (peer, port) with the rule's verdict. Lines of one rule
    /// share their verdict, so their order does not matter; rules keep theirs.
    fn admin_rule_lines(
        &self,
        rule: &AdminRule,
        subject: PodId,
        direction: Direction,
        label: &str,
        out: &mut Vec<String>,
    ) {
        let verdict = match rule.action {
            AdminAction::Accept => "accept",
            AdminAction::Deny => "goto deny",
            // Pass: leave the admin tier; the base chain continues with NetworkPolicy.
            AdminAction::Pass => "return",
        };
        let (word, field) = match direction {
            Direction::Ingress => ("from", "saddr"),
            Direction::Egress => ("to", "daddr"),
        };
        let ports: Vec<(String, Option<&AdminPortKind>)> = match &rule.ports {
            None => vec![("all ports".to_string(), None)],
            Some(ports) => ports
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("ports[{i}]"), Some(&p.kind)))
                .collect(),
        };
        for (p, peer) in rule.peers.iter().enumerate() {
            for (port_label, port) in &ports {
                let label = format!("{label} {word}[{p}] {port_label}");
                let pairs: Vec<(AddrMatch, PortMatch)> = match (port, direction) {
                    (None, _) => self
                        .admin_peer_addresses(&peer.kind)
                        .into_iter()
                        .map(|a| (a, PortMatch::Any))
                        .collect(),
                    (Some(AdminPortKind::Range(protocol, range)), _) => self
                        .admin_peer_addresses(&peer.kind)
                        .into_iter()
                        .map(|a| (a, PortMatch::Ports(*protocol, vec![(range.lo, range.hi)])))
                        .collect(),
                    // A named port resolves on the destination pod, per protocol: on ingress
                    // that is the subject itself.
                    (Some(AdminPortKind::Named(name)), Direction::Ingress) => {
                        let addresses = self.admin_peer_addresses(&peer.kind);
                        admin_named_ports(&self.model.pods[subject.index()], name)
                            .into_iter()
                            .flat_map(|port| {
                                addresses.iter().map(move |a| (a.clone(), port.clone()))
                            })
                            .collect()
                    }
                    // On egress, per destination pod the peer selects; never an external address.
                    (Some(AdminPortKind::Named(name)), Direction::Egress) => self
                        .model
                        .pod_ids()
                        .filter(|&dst| {
                            admin::peer_selects(self.model, &peer.kind, Endpoint::Pod(dst))
                        })
                        .flat_map(|dst| {
                            let ips = self.plan.pod(dst).ips.clone();
                            admin_named_ports(&self.model.pods[dst.index()], name)
                                .into_iter()
                                .map(move |port| (AddrMatch::Set(ips.clone()), port))
                        })
                        .collect(),
                };
                let before = out.len();
                for (addr, port) in &pairs {
                    render_lines(field, addr, port, verdict, &label, out);
                }
                if out.len() == before {
                    out.push(format!("# {label}: matches nothing here"));
                }
            }
        }
    }

    /// The addresses an admin peer matches. Selector peers: their pods' addresses (never a
    /// hostNetwork pod's). `networks` and `nodes` match addresses, and a pod through any of
    /// its known IPs (as ipBlock does), so such a pod is matched with all its addresses;
    /// addresses the sandbox assigned are never matched. `domainNames` matches nothing: the
    /// sandbox has no DNS (the engine says "depends on DNS" for external peers).
    fn admin_peer_addresses(&self, peer: &AdminPeerKind) -> Vec<AddrMatch> {
        let matched_pods = || -> Vec<IpAddr> {
            self.model
                .pod_ids()
                .filter(|&p| admin::peer_selects(self.model, peer, Endpoint::Pod(p)))
                .flat_map(|p| self.plan.pod(p).ips.iter().copied())
                .collect()
        };
        match peer {
            AdminPeerKind::Namespaces(_) | AdminPeerKind::Pods { .. } => {
                vec![AddrMatch::Set(matched_pods())]
            }
            AdminPeerKind::Networks(blocks) => {
                blocks.iter().map(|b| self.block_addresses(b)).collect()
            }
            AdminPeerKind::Nodes(selector) => {
                let assigned: BTreeSet<IpAddr> = self.plan.assigned_ips().collect();
                let mut ips: Vec<IpAddr> = admin::node_ips(self.model, selector)
                    .filter(|ip| !assigned.contains(ip))
                    .collect();
                ips.extend(matched_pods());
                vec![AddrMatch::Set(ips)]
            }
            AdminPeerKind::DomainNames(_) => Vec::new(),
        }
    }

    fn rule_lines(
        &self,
        policy: PolicyId,
        index: usize,
        rule: &Rule,
        subject: PodId,
        direction: Direction,
        out: &mut Vec<String>,
    ) {
        let policy_name = self.model.policy_name(policy);
        let peer_word = match direction {
            Direction::Ingress => "from",
            Direction::Egress => "to",
        };
        let peers: Vec<(String, Option<&PeerKind>)> = if rule.peers.is_empty() {
            vec![(format!("{peer_word} all"), None)]
        } else {
            rule.peers
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("{peer_word}[{i}]"), Some(&p.kind)))
                .collect()
        };
        let ports: Vec<(String, Option<&PortSpec>)> = if rule.ports.is_empty() {
            vec![("all ports".to_string(), None)]
        } else {
            rule.ports
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("ports[{i}]"), Some(p)))
                .collect()
        };
        let field = match direction {
            Direction::Ingress => "saddr",
            Direction::Egress => "daddr",
        };
        for (peer_label, peer) in &peers {
            for (port_label, port) in &ports {
                let label = format!(
                    "{policy_name} {}[{index}] {peer_label} {port_label}",
                    direction_name(direction)
                );
                let named = port.and_then(|p| match &p.port {
                    Some(PortRef::Name(name)) => Some((p.protocol, name.as_str())),
                    _ => None,
                });
                let pairs: Vec<(AddrMatch, PortMatch)> = match (named, direction) {
                    // A named port resolves against the destination pod: on ingress that is
                    // the subject itself.
                    (Some((protocol, name)), Direction::Ingress) => {
                        let ports = named_ports(&self.model.pods[subject.index()], protocol, name);
                        if ports.is_empty() {
                            out.push(format!(
                                "# {label}: named port {protocol}/{name} not declared here, matches nothing"
                            ));
                            continue;
                        }
                        vec![(
                            self.peer_addresses(policy, *peer),
                            PortMatch::Ports(protocol, ports),
                        )]
                    }
                    // On egress, per destination pod; never an external address.
                    (Some((protocol, name)), Direction::Egress) => {
                        let pairs: Vec<_> = self
                            .peer_pods(policy, *peer)
                            .into_iter()
                            .filter_map(|dst| {
                                let ports =
                                    named_ports(&self.model.pods[dst.index()], protocol, name);
                                (!ports.is_empty()).then(|| {
                                    (
                                        AddrMatch::Set(self.plan.pod(dst).ips.clone()),
                                        PortMatch::Ports(protocol, ports),
                                    )
                                })
                            })
                            .collect();
                        if pairs.is_empty() {
                            out.push(format!(
                                "# {label}: no destination declares named port {protocol}/{name}, matches nothing"
                            ));
                            continue;
                        }
                        pairs
                    }
                    (None, _) => match port_match(*port) {
                        Some(port) => vec![(self.peer_addresses(policy, *peer), port)],
                        None => {
                            out.push(format!("# {label}: endPort below port, matches nothing"));
                            continue;
                        }
                    },
                };
                for (addr, port) in pairs {
                    let before = out.len();
                    render_lines(field, &addr, &port, "accept", &label, out);
                    if out.len() == before {
                        out.push(format!("# {label}: selects no address"));
                    }
                }
            }
        }
    }

    /// Pods a selector peer selects (hostNetwork pods never are).
    fn selected_pods(
        &self,
        policy: PolicyId,
        namespace_selector: &Option<palisade_model::LabelSelector>,
        pod_selector: &Option<palisade_model::LabelSelector>,
    ) -> Vec<PodId> {
        let policy_ns = self.model.policies[policy.index()].namespace;
        self.model
            .pod_ids()
            .filter(|&id| {
                semantics::selector_peer_selects(
                    self.model,
                    policy_ns,
                    namespace_selector.as_ref(),
                    pod_selector.as_ref(),
                    &self.model.pods[id.index()],
                )
            })
            .collect()
    }

    /// Pods a peer can match (for named-port resolution): all pods for "every peer", the
    /// selected pods, or the pods an ipBlock holds through one of their known IPs.
    fn peer_pods(&self, policy: PolicyId, peer: Option<&PeerKind>) -> Vec<PodId> {
        match peer {
            None => self.model.pod_ids().collect(),
            Some(PeerKind::Selector {
                namespace_selector,
                pod_selector,
            }) => self.selected_pods(policy, namespace_selector, pod_selector),
            Some(PeerKind::IpBlock(block)) => self.block_pods(block),
        }
    }

    /// Pods with a known IP inside the block.
    fn block_pods(&self, block: &IpBlock) -> Vec<PodId> {
        self.model
            .pod_ids()
            .filter(|&id| semantics::ip_block_selects_pod(block, &self.model.pods[id.index()]))
            .collect()
    }

    fn peer_addresses(&self, policy: PolicyId, peer: Option<&PeerKind>) -> AddrMatch {
        match peer {
            None => AddrMatch::Any,
            Some(PeerKind::Selector {
                namespace_selector,
                pod_selector,
            }) => AddrMatch::Set(
                self.selected_pods(policy, namespace_selector, pod_selector)
                    .into_iter()
                    .flat_map(|p| self.plan.pod(p).ips.iter().copied())
                    .collect(),
            ),
            Some(PeerKind::IpBlock(block)) => self.block_addresses(block),
        }
    }

    /// An ipBlock (or an admin `networks` CIDR): the CIDR minus `except`, minus the addresses
    /// the sandbox assigned (the model knows no IP for those pods, so no block matches them),
    /// plus the other addresses of pods the block matches through one known IP (the model
    /// matches pods, not packets).
    fn block_addresses(&self, block: &IpBlock) -> AddrMatch {
        let not: Vec<IpAddr> = self
            .plan
            .assigned_ips()
            .filter(|ip| block_contains(block, *ip))
            .collect();
        let extra: Vec<IpAddr> = self
            .block_pods(block)
            .into_iter()
            .flat_map(|p| self.plan.pod(p).ips.iter().copied())
            .filter(|&ip| !block_contains(block, ip))
            .collect();
        AddrMatch::Block {
            cidr: block.cidr,
            except: block.except.clone(),
            not,
            extra,
        }
    }
}

fn block_contains(block: &IpBlock, ip: IpAddr) -> bool {
    block.contains(ip)
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    }
}

/// The port numbers a pod declares under a name for a protocol.
fn named_ports(pod: &Pod, protocol: Protocol, name: &str) -> Vec<(u16, u16)> {
    let set: BTreeSet<u16> = pod
        .ports
        .iter()
        .filter(|cp| semantics::named_port_resolves(name, protocol, cp))
        .map(|cp| cp.port)
        .collect();
    set.into_iter().map(|p| (p, p)).collect()
}

/// The port matches of an admin named port on a destination pod: every container port with
/// that name, each with its own protocol (admin named ports carry no protocol).
fn admin_named_ports(pod: &Pod, name: &str) -> Vec<PortMatch> {
    let mut by_protocol: std::collections::BTreeMap<Protocol, BTreeSet<u16>> = Default::default();
    for cp in &pod.ports {
        if admin::named_port_resolves(name, cp.protocol, cp) {
            by_protocol.entry(cp.protocol).or_default().insert(cp.port);
        }
    }
    by_protocol
        .into_iter()
        .map(|(protocol, ports)| {
            PortMatch::Ports(protocol, ports.into_iter().map(|p| (p, p)).collect())
        })
        .collect()
}

/// The nft port match of a numeric port entry; `None` when it matches nothing.
fn port_match(spec: Option<&PortSpec>) -> Option<PortMatch> {
    let Some(spec) = spec else {
        return Some(PortMatch::Any);
    };
    match semantics::spec_ports(spec) {
        // An absent `port` is the whole protocol: say so rather than list 1-65535.
        SpecPorts::Range(_) if spec.port.is_none() => Some(PortMatch::Protocol(spec.protocol)),
        SpecPorts::Range(r) => Some(PortMatch::Ports(spec.protocol, vec![(r.lo, r.hi)])),
        SpecPorts::Nothing => None,
        SpecPorts::Named(_) => unreachable!("named ports are resolved by the caller"),
    }
}

fn proto_keyword(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    }
}

fn render_ports(port: &PortMatch) -> String {
    match port {
        PortMatch::Any => String::new(),
        PortMatch::Protocol(p) => format!(" meta l4proto {}", proto_keyword(*p)),
        PortMatch::Ports(p, ranges) => {
            let items: Vec<String> = ranges
                .iter()
                .map(|&(lo, hi)| {
                    if lo == hi {
                        lo.to_string()
                    } else {
                        format!("{lo}-{hi}")
                    }
                })
                .collect();
            format!(" {} dport {}", proto_keyword(*p), set_or_single(&items))
        }
    }
}

fn set_or_single(items: &[String]) -> String {
    if items.len() == 1 {
        items[0].clone()
    } else {
        format!("{{ {} }}", items.join(", "))
    }
}

fn family(v6: bool) -> &'static str {
    if v6 { "ip6" } else { "ip" }
}

/// Merges networks into a minimal non-overlapping list (nft rejects overlapping intervals in
/// anonymous sets).
fn aggregate(nets: &[IpNet]) -> Vec<String> {
    IpNet::aggregate(&nets.to_vec())
        .into_iter()
        .map(|n| {
            if n.prefix_len() == n.max_prefix_len() {
                n.addr().to_string()
            } else {
                n.to_string()
            }
        })
        .collect()
}

fn host_nets(ips: &[IpAddr]) -> Vec<IpNet> {
    ips.iter().map(|&ip| IpNet::from(ip)).collect()
}

fn render_lines(
    field: &str,
    addr: &AddrMatch,
    port: &PortMatch,
    verdict: &str,
    label: &str,
    out: &mut Vec<String>,
) {
    let ports = render_ports(port);
    let tail = format!("{verdict} comment \"{}\"", label.replace('"', "'"));
    match addr {
        AddrMatch::Any => out.push(format!("{ports} {tail}").trim_start().to_string()),
        AddrMatch::Set(ips) => {
            for v6 in [false, true] {
                let nets: Vec<IpNet> = host_nets(ips)
                    .into_iter()
                    .filter(|n| matches!(n, IpNet::V6(_)) == v6)
                    .collect();
                if !nets.is_empty() {
                    out.push(format!(
                        "{} {field} {}{ports} {tail}",
                        family(v6),
                        set_or_single(&aggregate(&nets))
                    ));
                }
            }
        }
        AddrMatch::Block {
            cidr,
            except,
            not,
            extra,
        } => {
            let v6 = matches!(cidr, IpNet::V6(_));
            let mut line = format!("{} {field} {}", family(v6), aggregate(&[*cidr])[0]);
            let mut excluded: Vec<IpNet> = except.clone();
            excluded.extend(host_nets(not));
            if !excluded.is_empty() {
                let _ = write!(
                    line,
                    " {} {field} != {{ {} }}",
                    family(v6),
                    aggregate(&excluded).join(", ")
                );
            }
            out.push(format!("{line}{ports} {tail}"));
            if !extra.is_empty() {
                render_lines(
                    field,
                    &AddrMatch::Set(extra.clone()),
                    port,
                    verdict,
                    label,
                    out,
                );
            }
        }
    }
}
