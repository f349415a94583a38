//! The compiled engine: pods folded into classes, rules resolved into peer sets, verdicts
//! without allocation.
//!
//! Two pods are in one class when nothing in NetworkPolicy can tell them apart: same
//! namespace, labels, named ports, hostNetwork flag and ipBlock atoms of their IPs. Every
//! `from`/`to` peer is resolved once into the set of classes (and address atoms) it selects;
//! each class records which sets it belongs to. A verdict is then two lookups (address to
//! class or atom) and, per side, a scan of the subject's few rules with a binary search each.

use crate::admin::{self, AdminRuleRef};
use crate::explain::SideOutcome;
use crate::ipspace::IpSpace;
use crate::semantics::{self, PeerNamespaces, SpecPorts};
use ipnet::IpNet;
use palisade_model::{
    AdminAction, AdminPeerKind, AdminPortKind, AdminRule, AdminTier, Direction, LabelSelector,
    Labels, Model, NamespaceId, PeerKind, PodId, PolicyId, Protocol, Rule,
};
use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use std::net::IpAddr;

/// Something traffic comes from or goes to, as the compiled engine sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entity {
    /// A class of equivalent pods.
    Class(u32),
    /// A range of external addresses (an ipBlock atom).
    Atom(u32),
    /// An address of a family no ipBlock mentions (e.g. IPv6 in an IPv4-only model).
    Unpartitioned,
}

/// A rule of a policy: which one, for reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RuleRef {
    /// The policy.
    pub policy: PolicyId,
    /// Ingress or egress.
    pub direction: Direction,
    /// Index of the rule in that direction's list.
    pub rule: u32,
}

/// The verdict for one connection, without explanation; `Copy`, built without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Allowed when both sides allow.
    pub allowed: bool,
    /// The source's egress.
    pub egress: SideOutcome,
    /// The destination's ingress.
    pub ingress: SideOutcome,
    /// The first egress rule that allowed it, if a rule decided.
    pub egress_rule: Option<RuleRef>,
    /// The first ingress rule that allowed it, if a rule decided.
    pub ingress_rule: Option<RuleRef>,
    /// The admin or baseline rule that decided the egress side, with its action.
    pub egress_admin: Option<(AdminRuleRef, AdminAction)>,
    /// The admin or baseline rule that decided the ingress side, with its action.
    pub ingress_admin: Option<(AdminRuleRef, AdminAction)>,
}

/// What one side's walk through the tiers found (compiled form).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SideVerdict {
    outcome: SideOutcome,
    rule: Option<RuleRef>,
    admin: Option<(AdminRuleRef, AdminAction)>,
}

impl SideVerdict {
    const fn plain(outcome: SideOutcome) -> Self {
        SideVerdict {
            outcome,
            rule: None,
            admin: None,
        }
    }
}

/// An admin or baseline rule, compiled like a NetworkPolicy rule (peer sets, ports).
#[derive(Clone, Debug)]
struct CompiledAdminRule {
    at: AdminRuleRef,
    action: AdminAction,
    sets: SmallVec<[u32; 4]>,
    ports: CompiledPorts,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct CompiledPorts {
    all: bool,
    numeric: SmallVec<[(Protocol, u16, u16); 4]>,
    named: SmallVec<[(Protocol, u32); 2]>,
}

#[derive(Clone, Debug)]
struct CompiledRule {
    at: RuleRef,
    all_peers: bool,
    sets: SmallVec<[u32; 4]>,
    ports: CompiledPorts,
}

/// One class of equivalent pods.
#[derive(Clone, Debug)]
pub struct Class {
    /// The namespace of its pods.
    pub namespace: NamespaceId,
    /// Whether its pods use the host network.
    pub host_network: bool,
    /// Selected by a policy that affects ingress.
    pub ingress_isolated: bool,
    /// Selected by a policy that affects egress.
    pub egress_isolated: bool,
    /// Its pods, in model order.
    pub pods: Vec<PodId>,
    egress_rules: Vec<u32>,
    ingress_rules: Vec<u32>,
    /// Policies isolating it for egress, then for ingress, in model order.
    isolating: [Vec<PolicyId>; 2],
    memberships: Vec<u32>,
    /// (name id, protocol, port), sorted.
    named_ports: Vec<(u32, Protocol, u16)>,
    /// Address atoms of its pods' IPs.
    atoms: SmallVec<[u32; 2]>,
    /// Compiled admin rules that apply to it, in evaluation order: [tier][egress, ingress].
    admin_rules: [[Vec<u32>; 2]; 2],
}

/// The per-flow view of a class: one small record, ranges into the flat arrays below.
#[derive(Clone, Copy, Debug, Default)]
struct HotClass {
    host_network: bool,
    egress_isolated: bool,
    ingress_isolated: bool,
    egress_rules: (u32, u32),
    ingress_rules: (u32, u32),
    memberships: (u32, u32),
    named_ports: (u32, u32),
    /// Ranges into `admin_index` (the class's admin rules indexed by peer set):
    /// [tier][egress, ingress].
    admin_index: [[(u32, u32); 2]; 2],
    /// Range into `admin_memberships`: the peer sets of admin rules the class belongs to.
    admin_memberships: (u32, u32),
    /// The same sets inline when there are at most [`INLINE_ADMIN_SETS`] (the usual case):
    /// a verdict then reads them from the record it already has.
    admin_inline: [u32; INLINE_ADMIN_SETS],
}

/// Admin peer sets a class keeps inline in its [`HotClass`].
const INLINE_ADMIN_SETS: usize = 3;

/// One peer set of a class's admin rules (per tier and direction) with the rules naming it.
#[derive(Clone, Copy, Debug)]
struct AdminIndexEntry {
    /// The peer set.
    set: u32,
    /// Range into `Hot::admin_rule_ids`: the rules naming `set`, ascending (compiled admin
    /// rule ids ascend in evaluation order within a tier and direction).
    rules: (u32, u32),
}

/// Flat arrays behind [`HotClass`], so a verdict touches few cache lines.
#[derive(Clone, Debug, Default)]
struct Hot {
    classes: Vec<HotClass>,
    rule_ids: Vec<u32>,
    memberships: Vec<u32>,
    named_ports: Vec<(u32, Protocol, u16)>,
    admin_index: Vec<AdminIndexEntry>,
    /// Compiled admin rule ids, with whether the rule admits every port (no port check).
    admin_rule_ids: Vec<(u32, bool)>,
    admin_memberships: Vec<u32>,
}

impl Hot {
    fn build(classes: &[Class], admin_rules: &[CompiledAdminRule], admin_sets: &[u32]) -> Hot {
        let mut hot = Hot::default();
        fn push<T: Copy>(out: &mut Vec<T>, items: &[T]) -> (u32, u32) {
            let start = out.len() as u32;
            out.extend_from_slice(items);
            (start, out.len() as u32)
        }
        for class in classes {
            let egress_rules = push(&mut hot.rule_ids, &class.egress_rules);
            let ingress_rules = push(&mut hot.rule_ids, &class.ingress_rules);
            let memberships = push(&mut hot.memberships, &class.memberships);
            let start = hot.admin_memberships.len() as u32;
            hot.admin_memberships.extend(
                class
                    .memberships
                    .iter()
                    .filter(|s| admin_sets.binary_search(s).is_ok()),
            );
            let admin_memberships = (start, hot.admin_memberships.len() as u32);
            let mut admin_inline = [0; INLINE_ADMIN_SETS];
            let mine = &hot.admin_memberships[start as usize..];
            if mine.len() <= INLINE_ADMIN_SETS {
                admin_inline[..mine.len()].copy_from_slice(mine);
            }
            let named_ports = push(&mut hot.named_ports, &class.named_ports);
            let admin_index = class
                .admin_rules
                .each_ref()
                .map(|tier| tier.each_ref().map(|ids| hot.index_admin(ids, admin_rules)));
            hot.classes.push(HotClass {
                admin_index,
                admin_memberships,
                admin_inline,
                host_network: class.host_network,
                egress_isolated: class.egress_isolated,
                ingress_isolated: class.ingress_isolated,
                egress_rules,
                ingress_rules,
                memberships,
                named_ports,
            });
        }
        hot
    }

    /// Indexes one admin rule list (in evaluation order) by peer set: the sets sorted, each
    /// with the rules naming it in order. A verdict then looks up each distinct set once
    /// among the peer's memberships instead of scanning every rule (100 guardrails share a
    /// handful of peer sets). Rules without a set (only `domainNames`) never match here.
    fn index_admin(&mut self, ids: &[u32], admin_rules: &[CompiledAdminRule]) -> (u32, u32) {
        let mut by_set: Vec<(u32, u32)> = ids
            .iter()
            .flat_map(|&r| admin_rules[r as usize].sets.iter().map(move |&s| (s, r)))
            .collect();
        by_set.sort_unstable();
        by_set.dedup();
        let start = self.admin_index.len() as u32;
        for group in by_set.chunk_by(|a, b| a.0 == b.0) {
            let first = self.admin_rule_ids.len() as u32;
            // A rule naming the same set with the same ports as an earlier one can never be
            // the first match through this set: the earlier one matches whenever it does
            // (guardrails repeated per team collapse to one entry).
            for &(_, r) in group {
                let ports = &admin_rules[r as usize].ports;
                let kept = &self.admin_rule_ids[first as usize..];
                if !kept
                    .iter()
                    .any(|&(k, _)| admin_rules[k as usize].ports == *ports)
                {
                    self.admin_rule_ids.push((r, ports.all));
                }
            }
            self.admin_index.push(AdminIndexEntry {
                set: group[0].0,
                rules: (first, self.admin_rule_ids.len() as u32),
            });
        }
        (start, self.admin_index.len() as u32)
    }
}

fn range<T>(items: &[T], (start, end): (u32, u32)) -> &[T] {
    &items[start as usize..end as usize]
}

#[derive(Clone, Debug)]
enum PeerSet {
    Classes(Vec<u32>),
    Atoms(Vec<u32>),
}

/// The compiled form of a model.
#[derive(Debug)]
pub struct Engine {
    classes: Vec<Class>,
    pod_class: Vec<u32>,
    // Pod addresses by family: the per-flow hot path hashes plain integers, not `IpAddr`.
    ipv4_class: FxHashMap<u32, u32>,
    ipv6_class: FxHashMap<u128, u32>,
    space: IpSpace,
    atom_memberships: Vec<Vec<u32>>,
    /// Per atom, the classes whose pods have an IP in it.
    atom_classes: Vec<Vec<u32>>,
    rules: Vec<CompiledRule>,
    admin_rules: Vec<CompiledAdminRule>,
    /// Per atom, the peer sets of admin rules it belongs to (sorted; a few at most).
    atom_admin_memberships: Vec<Vec<u32>>,
    /// Whether any class has an admin or baseline rule (connectivity's fast path otherwise).
    has_admin: bool,
    sets: Vec<PeerSet>,
    port_names: FxHashMap<String, u32>,
    hot: Hot,
}

/// Label index over a set of ids, to find selector candidates without scanning everything.
struct LabelIndex<'m> {
    by_pair: FxHashMap<(&'m str, &'m str), Vec<u32>>,
    by_key: FxHashMap<&'m str, Vec<u32>>,
    all: Vec<u32>,
}

impl<'m> LabelIndex<'m> {
    fn new(items: impl Iterator<Item = (u32, &'m Labels)>) -> Self {
        let mut index = LabelIndex {
            by_pair: FxHashMap::default(),
            by_key: FxHashMap::default(),
            all: Vec::new(),
        };
        for (id, labels) in items {
            index.all.push(id);
            for (k, v) in labels {
                index
                    .by_pair
                    .entry((k.as_str(), v.as_str()))
                    .or_default()
                    .push(id);
                index.by_key.entry(k.as_str()).or_default().push(id);
            }
        }
        index
    }

    /// A superset of the ids the selector matches: the smallest posting list of one of its
    /// positive requirements, or everything.
    fn candidates<'s>(&'s self, selector: &'s LabelSelector) -> &'s [u32] {
        const EMPTY: &[u32] = &[];
        let mut best: &[u32] = &self.all;
        for (k, v) in &selector.match_labels {
            let list = self
                .by_pair
                .get(&(k.as_str(), v.as_str()))
                .map_or(EMPTY, Vec::as_slice);
            if list.len() < best.len() {
                best = list;
            }
        }
        for req in &selector.match_expressions {
            let list = match req.operator {
                palisade_model::Operator::In if req.values.len() == 1 => self
                    .by_pair
                    .get(&(req.key.as_str(), req.values[0].as_str()))
                    .map_or(EMPTY, Vec::as_slice),
                palisade_model::Operator::In | palisade_model::Operator::Exists => self
                    .by_key
                    .get(req.key.as_str())
                    .map_or(EMPTY, Vec::as_slice),
                _ => continue,
            };
            if list.len() < best.len() {
                best = list;
            }
        }
        best
    }
}

#[derive(PartialEq, Eq, Hash)]
struct ClassKey<'m> {
    namespace: NamespaceId,
    labels: &'m Labels,
    named_ports: Vec<(&'m str, Protocol, u16)>,
    host_network: bool,
    atoms: SmallVec<[u32; 2]>,
}

#[derive(PartialEq, Eq, Hash)]
enum SetKey<'m> {
    Selector {
        namespaces: PeerNamespaces<'m>,
        pod_selector: Option<&'m LabelSelector>,
    },
    IpBlock {
        cidr: IpNet,
        except: &'m [IpNet],
    },
    Nodes(&'m LabelSelector),
}

impl Engine {
    /// Compiles a model.
    pub fn new(model: &Model) -> Engine {
        let space = build_space(model);
        let mut port_names: FxHashMap<String, u32> = FxHashMap::default();
        let (classes, pod_class, class_labels) = build_classes(model, &space, &mut port_names);

        let mut ipv4_class: FxHashMap<u32, u32> = FxHashMap::default();
        let mut ipv6_class: FxHashMap<u128, u32> = FxHashMap::default();
        for (pod_index, pod) in model.pods.iter().enumerate() {
            let class = pod_class[pod_index];
            // Several hostNetwork pods share their node's address; a real pod wins.
            let prefer = |c: &mut u32| {
                if classes[*c as usize].host_network && !pod.host_network {
                    *c = class;
                }
            };
            for &ip in &pod.ips {
                match ip {
                    IpAddr::V4(v4) => ipv4_class
                        .entry(u32::from(v4))
                        .and_modify(prefer)
                        .or_insert(class),
                    IpAddr::V6(v6) => ipv6_class
                        .entry(u128::from(v6))
                        .and_modify(prefer)
                        .or_insert(class),
                };
            }
        }
        let mut engine = Engine {
            classes,
            pod_class,
            ipv4_class,
            ipv6_class,
            atom_memberships: vec![Vec::new(); space.atoms().len()],
            atom_classes: Vec::new(),
            space,
            rules: Vec::new(),
            admin_rules: Vec::new(),
            atom_admin_memberships: Vec::new(),
            has_admin: false,
            sets: Vec::new(),
            port_names,
            hot: Hot::default(),
        };
        engine.compile_policies(model, &class_labels);
        // The peer sets admin rules name: a verdict looks a peer up among these only.
        let mut admin_sets: Vec<u32> = engine
            .admin_rules
            .iter()
            .flat_map(|r| r.sets.iter().copied())
            .collect();
        admin_sets.sort_unstable();
        admin_sets.dedup();
        engine.atom_admin_memberships = engine
            .atom_memberships
            .iter()
            .map(|m| {
                m.iter()
                    .copied()
                    .filter(|s| admin_sets.binary_search(s).is_ok())
                    .collect()
            })
            .collect();
        engine.hot = Hot::build(&engine.classes, &engine.admin_rules, &admin_sets);
        engine
    }

    fn compile_policies(&mut self, model: &Model, class_labels: &[&Labels]) {
        let mut classes_by_namespace: Vec<Vec<u32>> = vec![Vec::new(); model.namespaces.len()];
        // Only classes NetworkPolicy applies to can be subjects or selector peers.
        for (id, class) in self.classes.iter().enumerate() {
            if semantics::policy_applies_to(class.host_network) {
                classes_by_namespace[class.namespace.index()].push(id as u32);
            }
        }
        let class_index = LabelIndex::new(
            self.classes
                .iter()
                .enumerate()
                .filter(|(_, c)| semantics::policy_applies_to(c.host_network))
                .map(|(i, _)| (i as u32, class_labels[i])),
        );
        let namespace_index = LabelIndex::new(
            model
                .namespaces
                .iter()
                .enumerate()
                .map(|(i, ns)| (i as u32, &ns.labels)),
        );
        let mut set_ids: FxHashMap<SetKey<'_>, u32> = FxHashMap::default();
        let mut namespace_mask = vec![false; model.namespaces.len()];

        for policy_id in model.policy_ids() {
            let policy = &model.policies[policy_id.index()];
            let mut rule_ids: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
            for (slot, direction) in [Direction::Egress, Direction::Ingress]
                .into_iter()
                .enumerate()
            {
                for (index, rule) in policy.rules(direction).iter().enumerate() {
                    let compiled = CompiledRule {
                        at: RuleRef {
                            policy: policy_id,
                            direction,
                            rule: index as u32,
                        },
                        all_peers: rule.peers.is_empty(),
                        sets: rule
                            .peers
                            .iter()
                            .map(|peer| {
                                let key = match &peer.kind {
                                    PeerKind::IpBlock(block) => SetKey::IpBlock {
                                        cidr: block.cidr,
                                        except: &block.except,
                                    },
                                    PeerKind::Selector {
                                        namespace_selector,
                                        pod_selector,
                                    } => SetKey::Selector {
                                        namespaces: semantics::peer_namespaces(
                                            policy.namespace,
                                            namespace_selector.as_ref(),
                                        ),
                                        pod_selector: pod_selector.as_ref(),
                                    },
                                };
                                if let Some(&id) = set_ids.get(&key) {
                                    return id;
                                }
                                let set = self.resolve_peer(
                                    &key,
                                    model,
                                    class_labels,
                                    &classes_by_namespace,
                                    &class_index,
                                    &namespace_index,
                                    &mut namespace_mask,
                                );
                                let id = self.sets.len() as u32;
                                self.sets.push(set);
                                set_ids.insert(key, id);
                                id
                            })
                            .collect(),
                        ports: self.compile_ports(rule),
                    };
                    rule_ids[slot].push(self.rules.len() as u32);
                    self.rules.push(compiled);
                }
            }
            // Candidates: the classes of the policy's namespace; the rule decides.
            for &class_id in &classes_by_namespace[policy.namespace.index()] {
                let class = &mut self.classes[class_id as usize];
                let labels = class_labels[class_id as usize];
                let isolates = |direction| {
                    semantics::isolates(
                        policy,
                        direction,
                        class.namespace,
                        labels,
                        class.host_network,
                    )
                };
                if isolates(Direction::Egress) {
                    class.egress_isolated = true;
                    class.egress_rules.extend_from_slice(&rule_ids[0]);
                    class.isolating[0].push(policy_id);
                }
                if isolates(Direction::Ingress) {
                    class.ingress_isolated = true;
                    class.ingress_rules.extend_from_slice(&rule_ids[1]);
                    class.isolating[1].push(policy_id);
                }
            }
        }

        self.compile_admin(
            model,
            class_labels,
            &classes_by_namespace,
            &class_index,
            &namespace_index,
            &mut namespace_mask,
            &mut set_ids,
        );

        for (set_id, set) in self.sets.iter().enumerate() {
            match set {
                PeerSet::Classes(members) => {
                    for &c in members {
                        self.classes[c as usize].memberships.push(set_id as u32);
                    }
                }
                PeerSet::Atoms(atoms) => {
                    for &a in atoms {
                        self.atom_memberships[a as usize].push(set_id as u32);
                    }
                }
            }
        }
        // Pods are matched by ipBlocks through the atoms of their IPs.
        self.atom_classes = self.atom_classes();
        for (set_id, set) in self.sets.iter().enumerate() {
            if let PeerSet::Atoms(atoms) = set {
                for &a in atoms {
                    for &c in &self.atom_classes[a as usize] {
                        self.classes[c as usize].memberships.push(set_id as u32);
                    }
                }
            }
        }
        for class in &mut self.classes {
            class.memberships.sort_unstable();
            class.memberships.dedup();
        }
    }

    /// Compiles the admin and baseline tiers: each rule's peers into peer sets (shared with
    /// NetworkPolicy's), and each class's rule list in evaluation order. Subject and peer
    /// rules are [`admin`]'s; the indexes only pick candidates.
    #[allow(clippy::too_many_arguments)]
    fn compile_admin<'m>(
        &mut self,
        model: &'m Model,
        class_labels: &[&Labels],
        classes_by_namespace: &[Vec<u32>],
        class_index: &LabelIndex<'_>,
        namespace_index: &LabelIndex<'_>,
        namespace_mask: &mut [bool],
        set_ids: &mut FxHashMap<SetKey<'m>, u32>,
    ) {
        for (tier_slot, tier) in [AdminTier::Admin, AdminTier::Baseline]
            .into_iter()
            .enumerate()
        {
            for id in admin::evaluation_order(model, tier) {
                let policy = &model.admin_policies[id as usize];
                let mut rule_ids: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
                for (slot, direction) in [Direction::Egress, Direction::Ingress]
                    .into_iter()
                    .enumerate()
                {
                    for (index, rule) in policy.rules(direction).iter().enumerate() {
                        let mut keys: Vec<SetKey<'m>> = Vec::new();
                        for peer in &rule.peers {
                            match &peer.kind {
                                AdminPeerKind::Namespaces(ns) => keys.push(SetKey::Selector {
                                    namespaces: PeerNamespaces::Matching(ns),
                                    pod_selector: None,
                                }),
                                AdminPeerKind::Pods {
                                    namespace_selector,
                                    pod_selector,
                                } => keys.push(SetKey::Selector {
                                    namespaces: PeerNamespaces::Matching(namespace_selector),
                                    pod_selector: Some(pod_selector),
                                }),
                                AdminPeerKind::Networks(blocks) => {
                                    keys.extend(blocks.iter().map(|b| SetKey::IpBlock {
                                        cidr: b.cidr,
                                        except: &[],
                                    }))
                                }
                                AdminPeerKind::Nodes(selector) => {
                                    keys.push(SetKey::Nodes(selector))
                                }
                                // Decided by DNS, not by manifests: matches nothing here.
                                AdminPeerKind::DomainNames(_) => {}
                            }
                        }
                        let sets = keys
                            .into_iter()
                            .map(|key| {
                                if let Some(&id) = set_ids.get(&key) {
                                    return id;
                                }
                                let set = self.resolve_peer(
                                    &key,
                                    model,
                                    class_labels,
                                    classes_by_namespace,
                                    class_index,
                                    namespace_index,
                                    namespace_mask,
                                );
                                let id = self.sets.len() as u32;
                                self.sets.push(set);
                                set_ids.insert(key, id);
                                id
                            })
                            .collect();
                        rule_ids[slot].push(self.admin_rules.len() as u32);
                        let ports = self.compile_admin_ports(rule);
                        self.admin_rules.push(CompiledAdminRule {
                            at: AdminRuleRef {
                                policy: id,
                                direction,
                                rule: index as u32,
                            },
                            action: rule.action,
                            sets,
                            ports,
                        });
                    }
                }
                if rule_ids.iter().all(Vec::is_empty) {
                    continue;
                }
                for (class_id, class) in self.classes.iter_mut().enumerate() {
                    if admin::subject_selects_labels(
                        policy,
                        &model.namespace(class.namespace).labels,
                        class_labels[class_id],
                        class.host_network,
                    ) {
                        for (list, ids) in class.admin_rules[tier_slot].iter_mut().zip(&rule_ids) {
                            list.extend_from_slice(ids);
                        }
                        self.has_admin = true;
                    }
                }
            }
        }
    }

    fn compile_admin_ports(&mut self, rule: &AdminRule) -> CompiledPorts {
        let Some(specs) = &rule.ports else {
            return CompiledPorts {
                all: true,
                ..Default::default()
            };
        };
        let mut ports = CompiledPorts::default();
        for spec in specs {
            match &spec.kind {
                AdminPortKind::Range(protocol, r) => ports.numeric.push((*protocol, r.lo, r.hi)),
                // An admin named port has no protocol: it resolves on a container port of
                // that name whatever its protocol ([`admin::named_port_resolves`]).
                AdminPortKind::Named(name) => {
                    let next = self.port_names.len() as u32;
                    let id = *self.port_names.entry(name.clone()).or_insert(next);
                    for protocol in Protocol::ALL {
                        ports.named.push((protocol, id));
                    }
                }
            }
        }
        ports
    }

    fn atom_classes(&self) -> Vec<Vec<u32>> {
        let mut out = vec![Vec::new(); self.space.atoms().len()];
        for (class_id, class) in self.classes.iter().enumerate() {
            for &atom in &class.atoms {
                out[atom as usize].push(class_id as u32);
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn resolve_peer(
        &self,
        key: &SetKey<'_>,
        model: &Model,
        class_labels: &[&Labels],
        classes_by_namespace: &[Vec<u32>],
        class_index: &LabelIndex<'_>,
        namespace_index: &LabelIndex<'_>,
        namespace_mask: &mut [bool],
    ) -> PeerSet {
        match key {
            SetKey::IpBlock { cidr, except } => {
                let mut atoms: Vec<u32> = self.space.atoms_in(cidr).collect();
                for e in except.iter() {
                    let out = self.space.atoms_in(e);
                    atoms.retain(|a| !out.contains(a));
                }
                PeerSet::Atoms(atoms)
            }
            SetKey::Nodes(selector) => {
                let mut atoms: Vec<u32> = admin::node_ips(model, selector)
                    .filter_map(|ip| self.space.atom_of(ip))
                    .collect();
                atoms.sort_unstable();
                atoms.dedup();
                PeerSet::Atoms(atoms)
            }
            SetKey::Selector {
                namespaces,
                pod_selector,
            } => {
                // Candidates come from indexes; the rules in `semantics` decide each one.
                let matches_pod =
                    |c: u32| semantics::peer_pod_selected(*pod_selector, class_labels[c as usize]);
                let candidate_namespaces: &[u32] = match namespaces {
                    PeerNamespaces::Own(ns) => &[ns.index() as u32],
                    PeerNamespaces::Matching(selector) => namespace_index.candidates(selector),
                };
                let namespaces: Vec<u32> = candidate_namespaces
                    .iter()
                    .copied()
                    .filter(|&n| {
                        namespaces.contains(
                            NamespaceId::new(n as usize),
                            &model.namespaces[n as usize].labels,
                        )
                    })
                    .collect();
                let in_namespaces: usize = namespaces
                    .iter()
                    .map(|&n| classes_by_namespace[n as usize].len())
                    .sum();
                // An empty pod selector's candidates are every class, never fewer than the
                // namespaces' classes: it takes the namespaces' path.
                let pod_candidates = pod_selector.map(|s| class_index.candidates(s));
                let mut members: Vec<u32> = match pod_candidates {
                    Some(candidates) if candidates.len() < in_namespaces => {
                        for &n in &namespaces {
                            namespace_mask[n as usize] = true;
                        }
                        let out = candidates
                            .iter()
                            .copied()
                            .filter(|&c| {
                                namespace_mask[self.classes[c as usize].namespace.index()]
                                    && matches_pod(c)
                            })
                            .collect();
                        for &n in &namespaces {
                            namespace_mask[n as usize] = false;
                        }
                        out
                    }
                    _ => namespaces
                        .iter()
                        .flat_map(|&n| classes_by_namespace[n as usize].iter().copied())
                        .filter(|&c| matches_pod(c))
                        .collect(),
                };
                members.sort_unstable();
                PeerSet::Classes(members)
            }
        }
    }

    fn compile_ports(&mut self, rule: &Rule) -> CompiledPorts {
        let mut ports = CompiledPorts {
            all: rule.ports.is_empty(),
            ..Default::default()
        };
        for spec in &rule.ports {
            match semantics::spec_ports(spec) {
                SpecPorts::Range(r) => ports.numeric.push((spec.protocol, r.lo, r.hi)),
                SpecPorts::Named(name) => {
                    let next = self.port_names.len() as u32;
                    let id = *self.port_names.entry(name.to_string()).or_insert(next);
                    ports.named.push((spec.protocol, id));
                }
                SpecPorts::Nothing => {}
            }
        }
        ports
    }
}

fn build_space(model: &Model) -> IpSpace {
    let nets: Vec<IpNet> = model
        .policies
        .iter()
        .flat_map(|p| p.ingress.iter().chain(&p.egress))
        .flat_map(|r| &r.peers)
        .filter_map(|peer| match &peer.kind {
            PeerKind::IpBlock(block) => Some(block),
            PeerKind::Selector { .. } => None,
        })
        .flat_map(|b| std::iter::once(b.cidr).chain(b.except.iter().copied()))
        .chain(admin_nets(model))
        .collect();
    let any_v6_pod = model.pods.iter().flat_map(|p| &p.ips).any(IpAddr::is_ipv6);
    IpSpace::new(&nets, any_v6_pod)
}

/// The address ranges admin rules name: `networks` CIDRs and the IPs of `nodes` peers.
fn admin_nets(model: &Model) -> Vec<IpNet> {
    let mut out = Vec::new();
    for policy in &model.admin_policies {
        for rule in policy.ingress.iter().chain(&policy.egress) {
            for peer in &rule.peers {
                match &peer.kind {
                    AdminPeerKind::Networks(blocks) => out.extend(blocks.iter().map(|b| b.cidr)),
                    AdminPeerKind::Nodes(selector) => {
                        out.extend(admin::node_ips(model, selector).map(IpNet::from))
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

type Classes<'m> = (Vec<Class>, Vec<u32>, Vec<&'m Labels>);

fn build_classes<'m>(
    model: &'m Model,
    space: &IpSpace,
    port_names: &mut FxHashMap<String, u32>,
) -> Classes<'m> {
    let mut keys: FxHashMap<ClassKey<'m>, u32> = FxHashMap::default();
    let mut classes: Vec<Class> = Vec::new();
    let mut class_labels: Vec<&'m Labels> = Vec::new();
    let mut pod_class = Vec::with_capacity(model.pods.len());
    for (pod_index, pod) in model.pods.iter().enumerate() {
        let mut named_ports: Vec<(&str, Protocol, u16)> = pod
            .ports
            .iter()
            .filter_map(|p| p.name.as_deref().map(|n| (n, p.protocol, p.port)))
            .collect();
        named_ports.sort_unstable();
        named_ports.dedup();
        let mut atoms: SmallVec<[u32; 2]> =
            pod.ips.iter().filter_map(|&ip| space.atom_of(ip)).collect();
        atoms.sort_unstable();
        atoms.dedup();
        let key = ClassKey {
            namespace: pod.namespace,
            labels: &pod.labels,
            named_ports,
            host_network: pod.host_network,
            atoms,
        };
        let next = classes.len() as u32;
        let class_id = match keys.get(&key) {
            Some(&id) => id,
            None => {
                let mut named: Vec<(u32, Protocol, u16)> = key
                    .named_ports
                    .iter()
                    .map(|&(name, proto, port)| {
                        let n = port_names.len() as u32;
                        (
                            *port_names.entry(name.to_string()).or_insert(n),
                            proto,
                            port,
                        )
                    })
                    .collect();
                named.sort_unstable();
                classes.push(Class {
                    namespace: pod.namespace,
                    host_network: pod.host_network,
                    ingress_isolated: false,
                    egress_isolated: false,
                    pods: Vec::new(),
                    egress_rules: Vec::new(),
                    ingress_rules: Vec::new(),
                    isolating: [Vec::new(), Vec::new()],
                    memberships: Vec::new(),
                    named_ports: named,
                    atoms: key.atoms.clone(),
                    admin_rules: Default::default(),
                });
                class_labels.push(&pod.labels);
                keys.insert(key, next);
                next
            }
        };
        classes[class_id as usize].pods.push(PodId::new(pod_index));
        pod_class.push(class_id);
    }
    (classes, pod_class, class_labels)
}

impl Engine {
    /// The classes.
    pub fn classes(&self) -> &[Class] {
        &self.classes
    }

    /// The class of a pod.
    pub fn class_of(&self, pod: PodId) -> u32 {
        self.pod_class[pod.index()]
    }

    /// The address partition.
    pub fn ip_space(&self) -> &IpSpace {
        &self.space
    }

    /// What an address is: a pod's class (pod IPs from the model), else an external atom.
    #[inline]
    pub fn entity_of(&self, ip: IpAddr) -> Entity {
        let class = match ip {
            IpAddr::V4(v4) => self.ipv4_class.get(&u32::from(v4)),
            IpAddr::V6(v6) => self.ipv6_class.get(&u128::from(v6)),
        };
        if let Some(&class) = class {
            return Entity::Class(class);
        }
        match self.space.atom_of(ip) {
            Some(atom) => Entity::Atom(atom),
            None => Entity::Unpartitioned,
        }
    }

    /// The verdict for traffic between two addresses. Does not allocate.
    #[inline]
    pub fn verdict_ips(&self, src: IpAddr, dst: IpAddr, protocol: Protocol, port: u16) -> Verdict {
        self.verdict(self.entity_of(src), self.entity_of(dst), protocol, port)
    }

    /// The verdict for traffic between two entities. Does not allocate.
    pub fn verdict(&self, src: Entity, dst: Entity, protocol: Protocol, port: u16) -> Verdict {
        let dst_named = self.named_ports_of(dst);
        let egress = match src {
            Entity::Class(c) => self.side(c, Direction::Egress, dst, dst_named, protocol, port),
            _ => SideVerdict::plain(SideOutcome::External),
        };
        let ingress = match dst {
            Entity::Class(c) => self.side(c, Direction::Ingress, src, dst_named, protocol, port),
            _ => SideVerdict::plain(SideOutcome::External),
        };
        Verdict {
            allowed: egress.outcome.allows() && ingress.outcome.allows(),
            egress: egress.outcome,
            ingress: ingress.outcome,
            egress_rule: egress.rule,
            ingress_rule: ingress.rule,
            egress_admin: egress.admin,
            ingress_admin: ingress.admin,
        }
    }

    /// Only whether traffic between two addresses is allowed: the cheapest question, for
    /// bulk replay. Stops at the first side that denies. Does not allocate.
    #[inline]
    pub fn allows_ips(&self, src: IpAddr, dst: IpAddr, protocol: Protocol, port: u16) -> bool {
        let (src, dst) = (self.entity_of(src), self.entity_of(dst));
        let dst_named = self.named_ports_of(dst);
        let side_allows = |subject: Entity, direction, peer| match subject {
            Entity::Class(c) => self
                .side(c, direction, peer, dst_named, protocol, port)
                .outcome
                .allows(),
            _ => true,
        };
        side_allows(dst, Direction::Ingress, src) && side_allows(src, Direction::Egress, dst)
    }

    #[inline]
    fn named_ports_of(&self, entity: Entity) -> &[(u32, Protocol, u16)] {
        match entity {
            Entity::Class(c) => range(
                &self.hot.named_ports,
                self.hot.classes[c as usize].named_ports,
            ),
            _ => &[],
        }
    }

    /// One side through the tiers ([`crate::tiers::decide`]'s order, unrolled): admin rules,
    /// then NetworkPolicy when isolated, else baseline rules, else default allow.
    #[inline]
    fn side(
        &self,
        subject: u32,
        direction: Direction,
        peer: Entity,
        dst_named: &[(u32, Protocol, u16)],
        protocol: Protocol,
        port: u16,
    ) -> SideVerdict {
        let class = &self.hot.classes[subject as usize];
        if class.host_network {
            return SideVerdict::plain(SideOutcome::HostNetwork);
        }
        let slot = match direction {
            Direction::Egress => 0,
            Direction::Ingress => 1,
        };
        let peer_sets: &[u32] = match peer {
            Entity::Class(c) => range(
                &self.hot.memberships,
                self.hot.classes[c as usize].memberships,
            ),
            Entity::Atom(a) => &self.atom_memberships[a as usize],
            Entity::Unpartitioned => &[],
        };
        let peer_admin_sets: &[u32] = match peer {
            Entity::Class(c) => {
                let hot = &self.hot.classes[c as usize];
                let (start, end) = hot.admin_memberships;
                let len = (end - start) as usize;
                if len <= INLINE_ADMIN_SETS {
                    &hot.admin_inline[..len]
                } else {
                    range(&self.hot.admin_memberships, hot.admin_memberships)
                }
            }
            Entity::Atom(a) => &self.atom_admin_memberships[a as usize],
            Entity::Unpartitioned => &[],
        };
        // The first rule in evaluation order (the smallest id) whose peer set holds the peer
        // and whose ports match: each distinct set of the class's rules is looked up once,
        // among the few admin sets the peer belongs to.
        let admin_hit = |tier: usize| {
            let mut first = u32::MAX;
            if peer_admin_sets.is_empty() {
                return None;
            }
            for entry in range(&self.hot.admin_index, class.admin_index[tier][slot]) {
                if !peer_admin_sets.contains(&entry.set) {
                    continue;
                }
                for &(r, all_ports) in range(&self.hot.admin_rule_ids, entry.rules) {
                    if r >= first {
                        break;
                    }
                    if all_ports
                        || self.ports_match(
                            &self.admin_rules[r as usize].ports,
                            dst_named,
                            protocol,
                            port,
                        )
                    {
                        first = r;
                        break;
                    }
                }
            }
            self.admin_rules.get(first as usize)
        };
        let decided = |rule: &CompiledAdminRule| SideVerdict {
            outcome: if rule.action == AdminAction::Accept {
                SideOutcome::Allowed
            } else {
                SideOutcome::Denied
            },
            rule: None,
            admin: Some((rule.at, rule.action)),
        };
        if let Some(rule) = admin_hit(0)
            && rule.action != AdminAction::Pass
        {
            return decided(rule);
        }
        let (isolated, rules) = match direction {
            Direction::Egress => (class.egress_isolated, class.egress_rules),
            Direction::Ingress => (class.ingress_isolated, class.ingress_rules),
        };
        if !isolated {
            return match admin_hit(1) {
                Some(rule) if rule.action != AdminAction::Pass => decided(rule),
                _ => SideVerdict::plain(SideOutcome::NotIsolated),
            };
        }
        for &r in range(&self.hot.rule_ids, rules) {
            let rule = &self.rules[r as usize];
            if self.ports_match(&rule.ports, dst_named, protocol, port)
                && (rule.all_peers || rule.sets.iter().any(|s| peer_sets.binary_search(s).is_ok()))
            {
                return SideVerdict {
                    outcome: SideOutcome::Allowed,
                    rule: Some(rule.at),
                    admin: None,
                };
            }
        }
        SideVerdict::plain(SideOutcome::Denied)
    }

    #[inline]
    fn ports_match(
        &self,
        ports: &CompiledPorts,
        dst_named: &[(u32, Protocol, u16)],
        protocol: Protocol,
        port: u16,
    ) -> bool {
        ports.all
            || ports
                .numeric
                .iter()
                .any(|&(p, lo, hi)| p == protocol && lo <= port && port <= hi)
            || ports.named.iter().any(|&(p, name)| {
                p == protocol && dst_named.binary_search(&(name, p, port)).is_ok()
            })
    }
}

/// Entities numbered densely for connectivity: classes first, then atoms.
pub(crate) type EntityIndex = u32;

/// Port sets interned to small ids, with memoized union and intersection: connectivity
/// handles millions of pairs but only a few hundred distinct port sets.
#[derive(Default)]
pub(crate) struct PortSets {
    sets: Vec<palisade_model::PortSet>,
    ids: FxHashMap<palisade_model::PortSet, u32>,
    unions: FxHashMap<(u32, u32), u32>,
    intersections: FxHashMap<(u32, u32), u32>,
    differences: FxHashMap<(u32, u32), u32>,
    /// Ids of the numeric part of compiled rule bodies: looked up without building a set.
    numeric: FxHashMap<NumericKey, u32>,
}

/// The numeric part of a [`CompiledPorts`] (`all`, then the ranges).
type NumericKey = (bool, SmallVec<[(Protocol, u16, u16); 4]>);

impl PortSets {
    /// The id of the empty set.
    pub(crate) const NONE: u32 = 0;
    /// The id of the set of everything.
    pub(crate) const ALL: u32 = 1;

    pub(crate) fn new() -> Self {
        let mut sets = PortSets::default();
        sets.intern(palisade_model::PortSet::none());
        sets.intern(palisade_model::PortSet::all());
        sets
    }

    pub(crate) fn intern(&mut self, set: palisade_model::PortSet) -> u32 {
        if let Some(&id) = self.ids.get(&set) {
            return id;
        }
        let id = self.sets.len() as u32;
        self.sets.push(set.clone());
        self.ids.insert(set, id);
        id
    }

    /// The id of the numeric ports of a compiled rule body (named ports left out).
    fn intern_numeric(&mut self, ports: &CompiledPorts) -> u32 {
        let key = (ports.all, ports.numeric.clone());
        if let Some(&id) = self.numeric.get(&key) {
            return id;
        }
        let id = self.intern(numeric_ports(ports));
        self.numeric.insert(key, id);
        id
    }

    pub(crate) fn get(&self, id: u32) -> &palisade_model::PortSet {
        &self.sets[id as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.sets.len()
    }

    pub(crate) fn union(&mut self, a: u32, b: u32) -> u32 {
        if a == b || b == Self::NONE || a == Self::ALL {
            return a;
        }
        if a == Self::NONE || b == Self::ALL {
            return b;
        }
        let key = (a.min(b), a.max(b));
        if let Some(&id) = self.unions.get(&key) {
            return id;
        }
        let mut set = self.sets[a as usize].clone();
        set.union_with(&self.sets[b as usize]);
        let id = self.intern(set);
        self.unions.insert(key, id);
        id
    }

    pub(crate) fn difference(&mut self, a: u32, b: u32) -> u32 {
        if a == Self::NONE || b == Self::ALL {
            return Self::NONE;
        }
        if b == Self::NONE {
            return a;
        }
        if let Some(&id) = self.differences.get(&(a, b)) {
            return id;
        }
        let set = self.sets[a as usize].difference(&self.sets[b as usize]);
        let id = self.intern(set);
        self.differences.insert((a, b), id);
        id
    }

    pub(crate) fn intersection(&mut self, a: u32, b: u32) -> u32 {
        if a == b || b == Self::ALL {
            return a;
        }
        if a == Self::ALL {
            return b;
        }
        if a == Self::NONE || b == Self::NONE {
            return Self::NONE;
        }
        let key = (a.min(b), a.max(b));
        if let Some(&id) = self.intersections.get(&key) {
            return id;
        }
        let set = self.sets[a as usize].intersection(&self.sets[b as usize]);
        let id = self.intern(set);
        self.intersections.insert(key, id);
        id
    }
}

/// What one side of every connection of a subject allows, ports interned in a [`PortSets`].
pub(crate) enum SideMapIds {
    /// Not isolated (or hostNetwork): everything.
    Open,
    /// Isolated: the entities it may talk to, with interned ports, sorted by entity.
    Restricted(Vec<(EntityIndex, u32)>),
}

impl Engine {
    /// Number of classes plus atoms.
    pub(crate) fn entity_count(&self) -> usize {
        self.classes.len() + self.space.atoms().len()
    }

    /// Every entity and the ports one side of a class allows towards it (egress: the
    /// destinations; ingress: the sources). `scratch` must be `entity_count()` long and hold
    /// `PortSets::NONE` everywhere; it is left that way.
    pub(crate) fn side_map_ids(
        &self,
        subject: u32,
        direction: Direction,
        atom_classes: &[Vec<u32>],
        ports: &mut PortSets,
        scratch: &mut [u32],
    ) -> SideMapIds {
        let slot = match direction {
            Direction::Egress => 0,
            Direction::Ingress => 1,
        };
        let class = &self.classes[subject as usize];
        let isolated = self.is_isolated(subject, direction);
        let tiered = semantics::policy_applies_to(class.host_network)
            && (!class.admin_rules[0][slot].is_empty()
                || (!isolated && !class.admin_rules[1][slot].is_empty()));
        if tiered {
            return self.tiered_side_map(subject, direction, slot, atom_classes, ports, scratch);
        }
        if !isolated {
            return SideMapIds::Open;
        }
        let mut touched: Vec<EntityIndex> = Vec::new();
        for &r in self.class_rules(subject, direction) {
            self.rule_entries(r, subject, atom_classes, ports, |entity, id, ports| {
                let slot = &mut scratch[entity as usize];
                if *slot == PortSets::NONE {
                    touched.push(entity);
                }
                *slot = ports.union(*slot, id);
            });
        }
        touched.sort_unstable();
        SideMapIds::Restricted(
            touched
                .into_iter()
                .map(|e| {
                    (
                        e,
                        std::mem::replace(&mut scratch[e as usize], PortSets::NONE),
                    )
                })
                .collect(),
        )
    }

    /// [`Engine::side_map_ids`] for a class some admin or baseline rule applies to: every
    /// entity's ports through the tiers (as [`crate::Reference::allowed_ports`] walks them),
    /// dense over all entities since a Deny can carve anything out of "everything".
    fn tiered_side_map(
        &self,
        subject: u32,
        direction: Direction,
        slot: usize,
        atom_classes: &[Vec<u32>],
        ports: &mut PortSets,
        scratch: &mut [u32],
    ) -> SideMapIds {
        let n = self.entity_count();
        let class = &self.classes[subject as usize];
        let mut undecided = vec![PortSets::ALL; n];
        let mut allowed = vec![PortSets::NONE; n];
        let mut passed = vec![PortSets::NONE; n];
        let walk =
            |tier: usize,
             ports: &mut PortSets,
             undecided: &mut Vec<u32>,
             on_match: &mut dyn FnMut(usize, AdminAction, u32, &mut PortSets)| {
                for &r in &class.admin_rules[tier][slot] {
                    let rule = &self.admin_rules[r as usize];
                    // One rule may report an entity several times (several peer sets): each
                    // report takes from what is still undecided, which sums to the union.
                    self.entries(
                        direction,
                        false,
                        &rule.sets,
                        &rule.ports,
                        subject,
                        atom_classes,
                        ports,
                        |e, p, ports| {
                            let e = e as usize;
                            let taken = ports.intersection(undecided[e], p);
                            if taken != PortSets::NONE {
                                on_match(e, rule.action, taken, ports);
                                undecided[e] = ports.difference(undecided[e], p);
                            }
                        },
                    );
                }
            };
        walk(
            0,
            ports,
            &mut undecided,
            &mut |e, action, taken, ports| match action {
                AdminAction::Accept => allowed[e] = ports.union(allowed[e], taken),
                AdminAction::Pass => passed[e] = ports.union(passed[e], taken),
                AdminAction::Deny => {}
            },
        );
        for e in 0..n {
            undecided[e] = ports.union(undecided[e], passed[e]);
        }
        if self.is_isolated(subject, direction) {
            // NetworkPolicy decides everything the admin tier left: its rules' union.
            for &r in self.class_rules(subject, direction) {
                self.rule_entries(r, subject, atom_classes, ports, |e, p, ports| {
                    scratch[e as usize] = ports.union(scratch[e as usize], p);
                });
            }
            for e in 0..n {
                let np = std::mem::replace(&mut scratch[e], PortSets::NONE);
                let through = ports.intersection(undecided[e], np);
                allowed[e] = ports.union(allowed[e], through);
            }
        } else {
            // Baseline: Accept, and Pass on to the default (allow), let traffic through.
            walk(1, ports, &mut undecided, &mut |e, action, taken, ports| {
                if action != AdminAction::Deny {
                    allowed[e] = ports.union(allowed[e], taken);
                }
            });
            for e in 0..n {
                allowed[e] = ports.union(allowed[e], undecided[e]);
            }
        }
        SideMapIds::Restricted(
            allowed
                .into_iter()
                .enumerate()
                .filter(|&(_, p)| p != PortSets::NONE)
                .map(|(e, p)| (e as EntityIndex, p))
                .collect(),
        )
    }

    /// Whether a class is isolated in a direction (hostNetwork classes never are).
    pub(crate) fn is_isolated(&self, class: u32, direction: Direction) -> bool {
        let class = &self.classes[class as usize];
        let isolated = match direction {
            Direction::Egress => class.egress_isolated,
            Direction::Ingress => class.ingress_isolated,
        };
        isolated && semantics::policy_applies_to(class.host_network)
    }

    /// The compiled rules that apply to a class in a direction, in model order.
    pub(crate) fn class_rules(&self, class: u32, direction: Direction) -> &[u32] {
        let class = &self.classes[class as usize];
        match direction {
            Direction::Egress => &class.egress_rules,
            Direction::Ingress => &class.ingress_rules,
        }
    }

    /// The number of compiled rules (ids are `0..rule_count()`).
    pub(crate) fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Which rule of which policy a compiled rule is.
    pub(crate) fn rule_at(&self, rule: u32) -> RuleRef {
        self.rules[rule as usize].at
    }

    /// Calls `f(entity, ports)` for every entity one rule of `subject` admits, with the
    /// non-empty ports it admits there (interned in `ports`). An entity may be reported more
    /// than once (a class in several peer sets); callers union.
    pub(crate) fn rule_entries(
        &self,
        rule: u32,
        subject: u32,
        atom_classes: &[Vec<u32>],
        ports: &mut PortSets,
        f: impl FnMut(EntityIndex, u32, &mut PortSets),
    ) {
        let rule = &self.rules[rule as usize];
        self.entries(
            rule.at.direction,
            rule.all_peers,
            &rule.sets,
            &rule.ports,
            subject,
            atom_classes,
            ports,
            f,
        );
    }

    /// [`Engine::rule_entries`] for any compiled rule body (NetworkPolicy or admin).
    #[allow(clippy::too_many_arguments)]
    fn entries(
        &self,
        direction: Direction,
        all_peers: bool,
        sets: &[u32],
        rule_ports: &CompiledPorts,
        subject: u32,
        atom_classes: &[Vec<u32>],
        ports: &mut PortSets,
        mut f: impl FnMut(EntityIndex, u32, &mut PortSets),
    ) {
        let class_count = self.classes.len() as u32;
        // Without named ports, or for ingress (named ports resolve on the subject), the ports
        // are the same towards every peer class.
        let fixed = (rule_ports.named.is_empty() || direction == Direction::Ingress)
            .then(|| self.ports_towards(direction, rule_ports, subject, None, ports));
        let ports_for = |c: Option<u32>, ports: &mut PortSets| match fixed {
            Some(id) => id,
            None => self.ports_towards(direction, rule_ports, subject, c, ports),
        };
        let mut emit = |entity: EntityIndex, id: u32, ports: &mut PortSets| {
            if id != PortSets::NONE {
                f(entity, id, ports);
            }
        };
        if all_peers {
            for e in 0..self.entity_count() as u32 {
                let id = ports_for((e < class_count).then_some(e), ports);
                emit(e, id, ports);
            }
            return;
        }
        for &s in sets {
            match &self.sets[s as usize] {
                PeerSet::Classes(members) => {
                    for &c in members {
                        let id = ports_for(Some(c), ports);
                        emit(c, id, ports);
                    }
                }
                PeerSet::Atoms(atoms) => {
                    let atom_ports = ports_for(None, ports);
                    for &a in atoms {
                        emit(class_count + a, atom_ports, ports);
                        for &c in &atom_classes[a as usize] {
                            let id = ports_for(Some(c), ports);
                            emit(c, id, ports);
                        }
                    }
                }
            }
        }
    }

    /// The ports a rule body of `subject` admits towards a peer (`peer_class`: `None` for an
    /// address atom), interned. Named ports resolve on the destination: the peer for egress,
    /// the subject for ingress; an external destination has none.
    fn ports_towards(
        &self,
        direction: Direction,
        rule_ports: &CompiledPorts,
        subject: u32,
        peer_class: Option<u32>,
        ports: &mut PortSets,
    ) -> u32 {
        let numeric = ports.intern_numeric(rule_ports);
        let dst_class = match direction {
            Direction::Egress => peer_class,
            Direction::Ingress => Some(subject),
        };
        let Some(dst) = dst_class.filter(|_| !rule_ports.named.is_empty()) else {
            return numeric;
        };
        let dst_named = &self.classes[dst as usize].named_ports;
        let mut resolved: SmallVec<[(Protocol, u16); 4]> = SmallVec::new();
        for &(proto, name) in &rule_ports.named {
            for &(n, p, port) in dst_named {
                if n == name && p == proto {
                    resolved.push((proto, port));
                }
            }
        }
        if resolved.is_empty() {
            return numeric;
        }
        let mut set = ports.get(numeric).clone();
        for (proto, port) in resolved {
            set.insert(proto, palisade_model::PortRange::single(port));
        }
        ports.intern(set)
    }

    /// What [`Engine::rule_entries`] reports for one entity, unioned: the ports one rule of
    /// `subject` admits towards `entity` (`PortSets::NONE` when its peers do not select it).
    /// A point query through the entity's peer-set memberships, for callers that need a few
    /// entities rather than the whole map.
    pub(crate) fn rule_ports_towards(
        &self,
        rule: u32,
        subject: u32,
        entity: EntityIndex,
        ports: &mut PortSets,
    ) -> u32 {
        let rule = &self.rules[rule as usize];
        let class_count = self.classes.len() as u32;
        let peer_class = (entity < class_count).then_some(entity);
        if !rule.all_peers {
            let memberships: &[u32] = match peer_class {
                Some(c) => &self.classes[c as usize].memberships,
                None => &self.atom_memberships[(entity - class_count) as usize],
            };
            if !rule
                .sets
                .iter()
                .any(|s| memberships.binary_search(s).is_ok())
            {
                return PortSets::NONE;
            }
        }
        self.ports_towards(rule.at.direction, &rule.ports, subject, peer_class, ports)
    }

    /// What the NetworkPolicy rules of one side of `class` allow towards `entity`: the union
    /// of [`Engine::rule_ports_towards`] over its rules when the class is isolated in that
    /// direction, everything when it is not (admin tiers left out: this is NetworkPolicy's
    /// own answer, as the redundancy analysis needs it).
    pub(crate) fn side_ports_towards(
        &self,
        class: u32,
        direction: Direction,
        entity: EntityIndex,
        ports: &mut PortSets,
    ) -> u32 {
        if !self.is_isolated(class, direction) {
            return PortSets::ALL;
        }
        let mut allowed = PortSets::NONE;
        for &r in self.class_rules(class, direction) {
            let id = self.rule_ports_towards(r, class, entity, ports);
            allowed = ports.union(allowed, id);
            if allowed == PortSets::ALL {
                break;
            }
        }
        allowed
    }

    /// The compiled id of a NetworkPolicy rule (`None` if the model has no such rule).
    pub(crate) fn rule_id(&self, rule: RuleRef) -> Option<u32> {
        // Compiled in model order: by policy, egress before ingress, then by index.
        let key = |r: &RuleRef| (r.policy, r.direction == Direction::Ingress, r.rule);
        self.rules
            .binary_search_by_key(&key(&rule), |c| key(&c.at))
            .ok()
            .map(|i| i as u32)
    }

    /// Calls `f` for every class whose pods one rule's peers select (a class may come more
    /// than once: through several peers, or several atoms of its pods' IPs).
    pub(crate) fn rule_peer_classes(&self, rule: u32, mut f: impl FnMut(u32)) {
        let rule = &self.rules[rule as usize];
        if rule.all_peers {
            (0..self.classes.len() as u32).for_each(f);
            return;
        }
        for &s in &rule.sets {
            match &self.sets[s as usize] {
                PeerSet::Classes(members) => members.iter().copied().for_each(&mut f),
                PeerSet::Atoms(atoms) => {
                    for &a in atoms {
                        self.atom_classes[a as usize]
                            .iter()
                            .copied()
                            .for_each(&mut f);
                    }
                }
            }
        }
    }

    /// The classes whose pods a NetworkPolicy rule's `from`/`to` peers select (every class
    /// when it has no peers), sorted; empty for a rule the model does not have. Resolved
    /// once at compile time by [`crate::semantics`]'s peer rules, so callers need not walk
    /// pods or classes with a selector.
    pub fn peer_classes(&self, rule: RuleRef) -> Vec<u32> {
        let mut classes = Vec::new();
        if let Some(id) = self.rule_id(rule) {
            self.rule_peer_classes(id, |c| classes.push(c));
        }
        classes.sort_unstable();
        classes.dedup();
        classes
    }

    /// The policies that isolate a class in a direction, in model order.
    pub fn isolating_policies(&self, class: u32, direction: Direction) -> &[PolicyId] {
        let class = &self.classes[class as usize];
        match direction {
            Direction::Egress => &class.isolating[0],
            Direction::Ingress => &class.isolating[1],
        }
    }

    /// For each atom, the classes whose pods have an IP in it.
    pub(crate) fn classes_by_atom(&self) -> Vec<Vec<u32>> {
        self.atom_classes.clone()
    }
}

fn numeric_ports(ports: &CompiledPorts) -> palisade_model::PortSet {
    use palisade_model::{PortRange, PortSet};
    if ports.all {
        return PortSet::all();
    }
    let mut set = PortSet::none();
    for &(proto, lo, hi) in &ports.numeric {
        set.insert(proto, PortRange { lo, hi });
    }
    set
}
