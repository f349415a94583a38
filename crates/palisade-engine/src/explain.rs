//! The reference evaluator: the API reference transcribed rule by rule, with explanations.
//!
//! It works directly on the [`Model`] and is deliberately simple; the compiled engine
//! ([`crate::Engine`]) must agree with it on every input (a property test checks that). It is
//! also what `palisade check` uses: one explained query touches only the policies of the two
//! endpoints' namespaces.

use crate::admin::{self, AdminRuleRef};
use crate::semantics::{self, PeerNamespaces};
use crate::tiers::{Tier, TierVerdict, decide};
use crate::{Endpoint, Query};
use palisade_model::{
    AdminAction, AdminTier, Direction, LabelSelector, Labels, Model, Operator, PeerKind, PodId,
    PolicyId, PortSet, Protocol, Rule,
};

/// The NetworkPolicy semantics over a model, with an index of policies per namespace.
#[derive(Debug)]
pub struct Reference<'m> {
    model: &'m Model,
    policies_by_namespace: Vec<Vec<PolicyId>>,
    /// Admin-tier policies in evaluation order ([`admin::evaluation_order`]).
    admin_order: Vec<u32>,
    /// Baseline-tier policies in evaluation order.
    baseline_order: Vec<u32>,
}

/// One rule that allowed the traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleMatch {
    /// The policy.
    pub policy: PolicyId,
    /// Index of the rule in the policy's ingress or egress list.
    pub rule: usize,
    /// Index of the peer that matched; `None` when the rule has no peers (all peers).
    pub peer: Option<usize>,
    /// Index of the port entry that matched; `None` when the rule has no ports (all ports).
    pub port: Option<usize>,
}

/// A rule that came close: it matched the peer but not the port, or the port but not the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NearMiss {
    /// The policy.
    pub policy: PolicyId,
    /// Index of the rule.
    pub rule: usize,
    /// Why the rule did not match, in words.
    pub reason: String,
}

/// What decided one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SideOutcome {
    /// The endpoint is outside the cluster: no policy of this side applies.
    External,
    /// A hostNetwork pod: NetworkPolicy does not apply to it.
    HostNetwork,
    /// No policy isolates the endpoint in this direction: everything is allowed.
    NotIsolated,
    /// Isolated, and at least one rule allows the traffic.
    Allowed,
    /// Isolated, and no rule allows the traffic.
    Denied,
}

impl SideOutcome {
    /// Whether this side lets the traffic through.
    pub fn allows(self) -> bool {
        !matches!(self, SideOutcome::Denied)
    }
}

/// The explanation of one direction: source egress or destination ingress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SideExplanation {
    /// Egress (of the source) or ingress (of the destination).
    pub direction: Direction,
    /// The verdict of this side.
    pub outcome: SideOutcome,
    /// The tier that decided (`None`: no tier decided, default allow).
    pub decided_by: Option<Tier>,
    /// Policies that select the endpoint for this direction (they isolate it), sorted.
    pub isolating: Vec<PolicyId>,
    /// Every rule that allowed the traffic.
    pub matches: Vec<RuleMatch>,
    /// Rules that almost allowed it (only collected when the side denies).
    pub near_misses: Vec<NearMiss>,
    /// The admin or baseline rule that decided (Accept or Deny), when an admin tier decided.
    pub admin_rule: Option<(AdminRuleRef, AdminAction)>,
    /// The admin-tier rule whose Pass sent the traffic on to NetworkPolicy, if any.
    pub passed: Option<AdminRuleRef>,
    /// A `domainNames` rule was reached before the deciding rule and the peer is an external
    /// address: the verdict depends on what DNS answers, which manifests do not tell.
    pub depends_on_dns: bool,
}

/// A complete answer to "may SRC reach DST on PORT/PROTOCOL, and why".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The question.
    pub query: Query,
    /// Allowed only when both sides allow.
    pub allowed: bool,
    /// The source's egress.
    pub egress: SideExplanation,
    /// The destination's ingress.
    pub ingress: SideExplanation,
}

/// What [`Reference::explain_pairs`] found between two named endpoints.
#[derive(Debug, Clone)]
pub struct PairsExplained {
    /// The first denied pair, or the first pair when all are allowed.
    pub explanation: Explanation,
    /// Pod pairs evaluated.
    pub pairs: usize,
    /// Of them, denied.
    pub denied: usize,
}

impl PairsExplained {
    /// The line that says how many pairs stand behind the one explained, when there are
    /// several (`from` and `to` as the user named them).
    pub fn note(&self, from: &str, to: &str) -> Option<String> {
        (self.pairs > 1).then(|| {
            format!(
                "{from} -> {to}: {} pod pairs evaluated, {} denied; the first {} pair is explained",
                self.pairs,
                self.denied,
                if self.denied > 0 { "denied" } else { "allowed" }
            )
        })
    }
}

impl Explanation {
    /// The third verdict: denied, but only because a `domainNames` rule was not known to
    /// match. Were the address one of its names' DNS answers, the rule would accept it, so
    /// the answer depends on DNS (the ingress side, if it applies, allows).
    pub fn depends_on_dns(&self) -> bool {
        !self.allowed
            && self.egress.depends_on_dns
            && !self.egress.outcome.allows()
            && self.ingress.outcome.allows()
    }
}

impl<'m> Reference<'m> {
    /// Indexes the model's policies by namespace.
    pub fn new(model: &'m Model) -> Self {
        let mut policies_by_namespace = vec![Vec::new(); model.namespaces.len()];
        for id in model.policy_ids() {
            policies_by_namespace[model.policies[id.index()].namespace.index()].push(id);
        }
        Reference {
            model,
            policies_by_namespace,
            admin_order: admin::evaluation_order(model, AdminTier::Admin),
            baseline_order: admin::evaluation_order(model, AdminTier::Baseline),
        }
    }

    /// The model.
    pub fn model(&self) -> &'m Model {
        self.model
    }

    /// Whether the traffic is allowed (no explanation collected).
    pub fn allowed(&self, query: &Query) -> bool {
        self.side(query, Direction::Egress, false, None)
            .outcome
            .allows()
            && self
                .side(query, Direction::Ingress, false, None)
                .outcome
                .allows()
    }

    /// Evaluates both sides and explains the verdict.
    pub fn explain(&self, query: &Query) -> Explanation {
        self.explain_resolved(query, None)
    }

    /// [`Reference::explain`] with the names an external address is known by (DNS answers
    /// of a capture): a `domainNames` peer then matches when one of them matches it, and the
    /// verdict no longer depends on DNS. `None`: names unknown (the answer may depend on DNS).
    pub fn explain_resolved(&self, query: &Query, names: Option<&[String]>) -> Explanation {
        let egress = self.side(query, Direction::Egress, true, names);
        let ingress = self.side(query, Direction::Ingress, true, names);
        Explanation {
            query: *query,
            allowed: egress.outcome.allows() && ingress.outcome.allows(),
            egress,
            ingress,
        }
    }

    /// Every (source, destination) pod pair between two named endpoints (a workload's pods,
    /// a Service's backends), as `check` answers for them: ALLOWED only if every pair is. The
    /// first denied pair is explained, or the first pair when all are allowed, so the
    /// explanation shown is always one that decides the answer. `dst_ports[i]`, when given,
    /// is the port destination `i` is reached on (a Service's target port); otherwise `port`.
    /// `None` when either side has no pod.
    pub fn explain_pairs(
        &self,
        src: &[Endpoint],
        dst: &[Endpoint],
        protocol: Protocol,
        port: u16,
        dst_ports: Option<&[u16]>,
    ) -> Option<PairsExplained> {
        let mut chosen: Option<Explanation> = None;
        let (mut denied, mut pairs) = (0usize, 0usize);
        for &s in src {
            for (i, &d) in dst.iter().enumerate() {
                pairs += 1;
                let query = Query {
                    src: s,
                    dst: d,
                    protocol,
                    port: dst_ports.map_or(port, |ports| ports[i]),
                };
                let allowed = self.allowed(&query);
                denied += usize::from(!allowed);
                let replace = match &chosen {
                    None => true,
                    Some(c) => c.allowed && !allowed,
                };
                if replace {
                    chosen = Some(self.explain(&query));
                }
            }
        }
        chosen.map(|explanation| PairsExplained {
            explanation,
            pairs,
            denied,
        })
    }

    /// Whether a policy isolates a pod in a direction ([`semantics::isolates`]).
    pub fn selects(&self, policy: PolicyId, pod: PodId, direction: Direction) -> bool {
        let p = &self.model.pods[pod.index()];
        semantics::isolates(
            &self.model.policies[policy.index()],
            direction,
            p.namespace,
            &p.labels,
            p.host_network,
        )
    }

    /// Policies of the pod's namespace that isolate it in a direction.
    pub fn isolating_policies(&self, pod: PodId, direction: Direction) -> Vec<PolicyId> {
        let p = &self.model.pods[pod.index()];
        self.policies_by_namespace[p.namespace.index()]
            .iter()
            .copied()
            .filter(|&id| self.selects(id, pod, direction))
            .collect()
    }

    /// Whether a rule's `from`/`to` admits an endpoint (a rule without peers admits all).
    pub fn rule_admits(&self, policy: PolicyId, rule: &Rule, other: Endpoint) -> bool {
        self.rule_peer(policy, rule, other).is_some()
    }

    /// The exact ports a rule allows towards a destination ([`semantics::rule_ports`]).
    pub fn rule_ports(&self, rule: &Rule, dst: Endpoint) -> PortSet {
        semantics::rule_ports(rule, semantics::destination_ports(self.model, dst))
    }

    /// What one NetworkPolicy's rules admit between `pod` and `peer` in a direction: the union
    /// of the ports of every rule whose peers admit `peer` (towards the pod for ingress, towards
    /// the peer for egress).
    pub fn policy_admits(
        &self,
        policy: PolicyId,
        pod: PodId,
        direction: Direction,
        peer: Endpoint,
    ) -> PortSet {
        let dst = match direction {
            Direction::Ingress => Endpoint::Pod(pod),
            Direction::Egress => peer,
        };
        let mut ports = PortSet::none();
        for rule in self.model.policies[policy.index()].rules(direction) {
            if self.rule_admits(policy, rule, peer) {
                ports.union_with(&self.rule_ports(rule, dst));
            }
        }
        ports
    }

    /// Everything one direction of a pod allows towards a peer, through the tiers: the admin
    /// tier's Accept rules, then (for what it neither accepted nor denied, or passed) the
    /// NetworkPolicy rules when a policy isolates the pod, else the baseline tier, else
    /// everything. The connection's ports are the source's egress towards the destination
    /// intersected with the destination's ingress from the source.
    pub fn allowed_ports(&self, subject: PodId, direction: Direction, peer: Endpoint) -> PortSet {
        let pod = &self.model.pods[subject.index()];
        if !semantics::policy_applies_to(pod.host_network) {
            return PortSet::all();
        }
        let dst = match direction {
            Direction::Ingress => Endpoint::Pod(subject),
            Direction::Egress => peer,
        };
        let dst_ports = semantics::destination_ports(self.model, dst);
        let mut allowed = PortSet::none();
        let mut undecided = PortSet::all();
        let mut passed = PortSet::none();
        self.tier_ports(
            &self.admin_order,
            direction,
            pod,
            peer,
            dst_ports,
            None,
            |_, action, d| match action {
                AdminAction::Accept => allowed.union_with(d),
                AdminAction::Pass => passed.union_with(d),
                AdminAction::Deny => {}
            },
            &mut undecided,
        );
        undecided.union_with(&passed);
        let isolating = self.isolating_policies(subject, direction);
        if !isolating.is_empty() {
            let mut np = PortSet::none();
            for policy in isolating {
                for rule in self.model.policies[policy.index()].rules(direction) {
                    if self.rule_admits(policy, rule, peer) {
                        np.union_with(&self.rule_ports(rule, dst));
                    }
                }
            }
            allowed.union_with(&undecided.intersection(&np));
            return allowed;
        }
        // Baseline: Accept and Pass (on to the default, allow) both let traffic through.
        self.tier_ports(
            &self.baseline_order,
            direction,
            pod,
            peer,
            dst_ports,
            None,
            |_, action, d| {
                if action != AdminAction::Deny {
                    allowed.union_with(d);
                }
            },
            &mut undecided,
        );
        allowed.union_with(&undecided);
        allowed
    }

    /// What the Admin tier decides of one direction of a pod's traffic with a peer, over port
    /// sets: `on_rule(rule, action, taken)` for each Admin-tier rule that decides (Accept,
    /// Deny) or passes a part, in evaluation order; returns the ports that reach the
    /// NetworkPolicy tier (passed, or matched by no Admin rule). hostNetwork pods: every port
    /// (no admin rule applies to them; NetworkPolicy does not either). `without`: evaluate as
    /// if that rule did not exist (what a rule contributes, for lint).
    pub fn admin_tier_ports(
        &self,
        subject: PodId,
        direction: Direction,
        peer: Endpoint,
        without: Option<AdminRuleRef>,
        mut on_rule: impl FnMut(AdminRuleRef, AdminAction, &PortSet),
    ) -> PortSet {
        let pod = &self.model.pods[subject.index()];
        let mut undecided = PortSet::all();
        if !semantics::policy_applies_to(pod.host_network) {
            return undecided;
        }
        let dst = match direction {
            Direction::Ingress => Endpoint::Pod(subject),
            Direction::Egress => peer,
        };
        let dst_ports = semantics::destination_ports(self.model, dst);
        let mut passed = PortSet::none();
        self.tier_ports(
            &self.admin_order,
            direction,
            pod,
            peer,
            dst_ports,
            without,
            |at, action, taken| {
                if action == AdminAction::Pass {
                    passed.union_with(taken);
                }
                if !taken.is_empty() {
                    on_rule(at, action, taken);
                }
            },
            &mut undecided,
        );
        undecided.union_with(&passed);
        undecided
    }

    /// Walks one admin tier's rules over port sets: each matching rule takes the part of
    /// `undecided` its ports cover (`on_match(rule, action, taken)`), and that part is
    /// decided.
    #[allow(clippy::too_many_arguments)]
    fn tier_ports(
        &self,
        order: &[u32],
        direction: Direction,
        pod: &palisade_model::Pod,
        peer: Endpoint,
        dst_ports: Option<&[palisade_model::ContainerPort]>,
        without: Option<AdminRuleRef>,
        mut on_match: impl FnMut(AdminRuleRef, AdminAction, &PortSet),
        undecided: &mut PortSet,
    ) {
        for &id in order {
            let policy = &self.model.admin_policies[id as usize];
            if !admin::subject_selects(self.model, policy, pod) {
                continue;
            }
            for (index, rule) in policy.rules(direction).iter().enumerate() {
                if admin::rule_peer(self.model, rule, peer).is_none() {
                    continue;
                }
                let ports = admin::rule_ports(rule, dst_ports);
                let at = AdminRuleRef {
                    policy: id,
                    direction,
                    rule: index as u32,
                };
                if without == Some(at) {
                    continue;
                }
                on_match(at, rule.action, &undecided.intersection(&ports));
                *undecided = undecided.difference(&ports);
                if undecided.is_empty() {
                    return;
                }
            }
        }
    }

    fn side(
        &self,
        query: &Query,
        direction: Direction,
        explain: bool,
        names: Option<&[String]>,
    ) -> SideExplanation {
        // Egress is the source's policies looking at the destination; ingress the reverse.
        let (subject, peer) = match direction {
            Direction::Egress => (query.src, query.dst),
            Direction::Ingress => (query.dst, query.src),
        };
        let mut side = SideExplanation {
            direction,
            outcome: SideOutcome::External,
            decided_by: None,
            isolating: Vec::new(),
            matches: Vec::new(),
            near_misses: Vec::new(),
            admin_rule: None,
            passed: None,
            depends_on_dns: false,
        };
        let Endpoint::Pod(subject) = subject else {
            return side;
        };
        if !semantics::policy_applies_to(self.model.pods[subject.index()].host_network) {
            side.outcome = SideOutcome::HostNetwork;
            return side;
        }
        side.isolating = self.isolating_policies(subject, direction);
        let subject_pod = &self.model.pods[subject.index()];
        let dst_ports = semantics::destination_ports(self.model, query.dst);
        let (accepted, tier) = decide(|tier| match tier {
            Tier::Admin | Tier::Baseline => {
                let order = if tier == Tier::Admin {
                    &self.admin_order
                } else {
                    &self.baseline_order
                };
                let walk = admin::walk_tier(
                    self.model,
                    order,
                    direction,
                    subject_pod,
                    peer,
                    query.protocol,
                    query.port,
                    dst_ports,
                    names,
                );
                side.depends_on_dns |= walk.depends_on_dns;
                match walk.decided {
                    None => TierVerdict::NoMatch,
                    Some((at, AdminAction::Pass)) => {
                        if tier == Tier::Admin {
                            side.passed = Some(at);
                        }
                        TierVerdict::Pass
                    }
                    Some((at, action)) => {
                        side.admin_rule = Some((at, action));
                        if action == AdminAction::Accept {
                            TierVerdict::Accept
                        } else {
                            TierVerdict::Deny
                        }
                    }
                }
            }
            Tier::NetworkPolicy => {
                if side.isolating.is_empty() {
                    return TierVerdict::NoMatch;
                }
                for &policy in &side.isolating {
                    let rules = self.model.policies[policy.index()].rules(direction);
                    for (rule_index, rule) in rules.iter().enumerate() {
                        let peer_hit = self.rule_peer(policy, rule, peer);
                        let port_hit = rule_port(rule, query, self.model);
                        match (peer_hit, port_hit) {
                            (Some(peer), Some(port)) => {
                                side.matches.push(RuleMatch {
                                    policy,
                                    rule: rule_index,
                                    peer,
                                    port,
                                });
                                if !explain {
                                    return TierVerdict::Accept;
                                }
                            }
                            _ if !explain => {}
                            (Some(_), None) => side.near_misses.push(NearMiss {
                                policy,
                                rule: rule_index,
                                reason: format!(
                                    "the peer matches, but {}/{} is not in the rule's ports",
                                    query.port, query.protocol
                                ),
                            }),
                            (None, Some(_)) => side.near_misses.push(NearMiss {
                                policy,
                                rule: rule_index,
                                reason: self.peer_miss_reason(policy, rule, peer),
                            }),
                            (None, None) => {}
                        }
                    }
                }
                if side.matches.is_empty() {
                    TierVerdict::Deny
                } else {
                    TierVerdict::Accept
                }
            }
        });
        side.decided_by = tier;
        side.outcome = match (accepted, tier) {
            (true, None) => SideOutcome::NotIsolated,
            (true, Some(_)) => SideOutcome::Allowed,
            (false, _) => SideOutcome::Denied,
        };
        if side.outcome.allows() {
            side.near_misses.clear();
        }
        side
    }

    /// The index of the first peer of the rule that selects `other` ([`semantics::rule_peer`]).
    fn rule_peer(&self, policy: PolicyId, rule: &Rule, other: Endpoint) -> Option<Option<usize>> {
        let namespace = self.model.policies[policy.index()].namespace;
        semantics::rule_peer(self.model, namespace, rule, other)
    }

    /// Whether one `from`/`to` entry selects an endpoint ([`semantics::peer_selects`]).
    pub fn peer_matches(&self, policy: PolicyId, peer: &PeerKind, other: Endpoint) -> bool {
        let namespace = self.model.policies[policy.index()].namespace;
        semantics::peer_selects(self.model, namespace, peer, other)
    }

    fn peer_miss_reason(&self, policy: PolicyId, rule: &Rule, other: Endpoint) -> String {
        let reasons: Vec<String> = rule
            .peers
            .iter()
            .enumerate()
            .map(|(i, peer)| {
                format!(
                    "peer {i}: {}",
                    self.peer_mismatch(policy, &peer.kind, other)
                )
            })
            .collect();
        format!(
            "the port matches, but no peer selects the {}: {}",
            match other {
                Endpoint::Pod(_) => "pod",
                Endpoint::External(_) => "address",
            },
            reasons.join("; ")
        )
    }

    fn peer_mismatch(&self, policy_id: PolicyId, peer: &PeerKind, other: Endpoint) -> String {
        let policy = &self.model.policies[policy_id.index()];
        match (peer, other) {
            (PeerKind::IpBlock(block), Endpoint::External(ip)) => match except_excluding(block, ip)
            {
                Some(except) => format!(
                    "{ip} is in ipBlock {} but excluded by except {except}",
                    block.cidr_text
                ),
                None => format!("ipBlock {} does not contain {ip}", block.cidr_text),
            },
            (PeerKind::IpBlock(block), Endpoint::Pod(pod)) => {
                let pod = &self.model.pods[pod.index()];
                if pod.ips.is_empty() {
                    format!(
                        "ipBlock {} cannot match a pod without a known IP",
                        block.cidr_text
                    )
                } else if let Some((ip, except)) = pod
                    .ips
                    .iter()
                    .find_map(|&ip| except_excluding(block, ip).map(|e| (ip, e)))
                {
                    format!(
                        "the pod's IP {ip} is in ipBlock {} but excluded by except {except}",
                        block.cidr_text
                    )
                } else {
                    format!("ipBlock {} does not contain the pod's IPs", block.cidr_text)
                }
            }
            (PeerKind::Selector { .. }, Endpoint::External(_)) => {
                "pod and namespace selectors never select external addresses".to_string()
            }
            (
                PeerKind::Selector {
                    namespace_selector,
                    pod_selector,
                },
                Endpoint::Pod(pod_id),
            ) => {
                let pod = &self.model.pods[pod_id.index()];
                if !semantics::policy_applies_to(pod.host_network) {
                    return "selectors never select hostNetwork pods".to_string();
                }
                let ns = self.model.namespace(pod.namespace);
                let mut why = Vec::new();
                match semantics::peer_namespaces(policy.namespace, namespace_selector.as_ref()) {
                    PeerNamespaces::Matching(selector) => {
                        if let Some(miss) = selector_mismatch(selector, &ns.labels) {
                            why.push(format!(
                                "namespaceSelector {{{selector}}} does not match namespace {} ({miss})",
                                ns.name
                            ));
                        }
                    }
                    PeerNamespaces::Own(own) if own != pod.namespace => why.push(format!(
                        "without a namespaceSelector it selects pods in namespace {} only, not {}",
                        self.model.namespace(own).name,
                        ns.name
                    )),
                    PeerNamespaces::Own(_) => {}
                }
                if let Some(selector) = pod_selector
                    && let Some(miss) = selector_mismatch(selector, &pod.labels)
                {
                    why.push(format!(
                        "podSelector {{{selector}}} does not match {} ({miss})",
                        self.model.pod_name(pod_id)
                    ));
                }
                why.join(" and ")
            }
        }
    }
}

/// The first requirement of a selector that a label set fails, in words; `None` if it matches.
pub fn selector_mismatch(selector: &LabelSelector, labels: &Labels) -> Option<String> {
    for req in selector.requirements() {
        if req.matches(labels) {
            continue;
        }
        let actual = match labels.get(&req.key) {
            Some(v) => format!("it has {}={v}", req.key),
            None => format!("it has no label {}", req.key),
        };
        let wanted = match req.operator {
            Operator::In if req.values.len() == 1 => format!("needs {}={}", req.key, req.values[0]),
            Operator::In => format!("needs {} in ({})", req.key, req.values.join(",")),
            Operator::NotIn => format!("needs {} not in ({})", req.key, req.values.join(",")),
            Operator::Exists => format!("needs label {}", req.key),
            Operator::DoesNotExist => format!("needs no label {}", req.key),
        };
        return Some(format!("{wanted}, {actual}"));
    }
    None
}

/// The index of the first port entry of the rule that admits the query
/// ([`semantics::rule_port`]).
fn rule_port(rule: &Rule, query: &Query, model: &Model) -> Option<Option<usize>> {
    let dst_ports = semantics::destination_ports(model, query.dst);
    semantics::rule_port(rule, query.protocol, query.port, dst_ports)
}

/// The `except` entry (as written) that excludes an address inside the block's `cidr`;
/// `None` when the address is outside the `cidr` or not excluded. Addresses are compared as
/// `IpBlock::contains` does (an IPv4-mapped IPv6 address counts as its IPv4 address).
fn except_excluding(block: &palisade_model::IpBlock, ip: std::net::IpAddr) -> Option<&str> {
    block
        .excluded_by(ip)
        .map(|i| block.except_text.get(i).map_or("", String::as_str))
}
