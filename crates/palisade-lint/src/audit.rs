//! `palisade audit`: a per-namespace summary of how well the policies protect the
//! workloads.
//!
//! "Open to the cluster" means the workload's ingress is not isolated, or an ingress rule
//! of a policy selecting it admits every pod of every namespace (a rule without peers, or
//! `namespaceSelector: {}` without a narrower `podSelector`). "Open to the world" means
//! not isolated, or a rule without peers, or an `ipBlock` of `0.0.0.0/0` or `::/0`.
//! A namespace whose pods policies Palisade does not evaluate may select (Cilium, Calico,
//! …) lists them as `uncertain`: its lines describe NetworkPolicy alone.
//!
//! The admin guardrails (ClusterNetworkPolicy, ANP, BANP rules with `Deny` or `Pass`) are
//! listed with the namespaces and workloads they cover (their subject), and, for Admin-tier
//! Deny rules, the traffic NetworkPolicies allow that the guardrail overrides: a subject pod
//! isolated by NetworkPolicies whose rules admit a peer and ports the Deny decides first.

use palisade_engine::admin::{self, AdminRuleRef};
use palisade_engine::{Endpoint, Engine, Reference, Selection, Uncertainty};
use palisade_model::{AdminAction, AdminTier, Direction, Model, PeerKind, PodId, PortSet};
use std::collections::{BTreeMap, BTreeSet};

/// One namespace of the report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamespaceAudit {
    /// Name.
    pub name: String,
    /// Policies in it, by name.
    pub policies: Vec<String>,
    /// Workloads (and bare pods), by `ns/name`.
    pub workloads: Vec<String>,
    /// Workloads whose every pod is isolated for ingress.
    pub ingress_isolated: Vec<String>,
    /// Workloads whose every pod is isolated for egress.
    pub egress_isolated: Vec<String>,
    /// Workloads any pod of the cluster may connect to.
    pub open_to_cluster: Vec<String>,
    /// Workloads any address may connect to.
    pub open_to_world: Vec<String>,
    /// Policies Palisade does not evaluate that may select pods of this namespace: every
    /// line above may be wrong for those pods (a CiliumNetworkPolicy may isolate what looks
    /// open here).
    pub uncertain: Vec<String>,
}

/// One guardrail: an admin rule that denies or passes, and what it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guardrail {
    /// `cnp/<name>`, `anp/<name>` or `banp/<name>`.
    pub policy: String,
    /// The API kind.
    pub kind: &'static str,
    /// `Admin` or `Baseline`.
    pub tier: &'static str,
    /// `priority` (lower first).
    pub priority: u32,
    /// The rule's direction.
    pub direction: Direction,
    /// The rule's index in that direction.
    pub rule: usize,
    /// The rule's `name` (may be empty).
    pub rule_name: String,
    /// `Deny` or `Pass`.
    pub action: &'static str,
    /// Namespaces with a pod the policy's subject selects, sorted.
    pub namespaces: Vec<String>,
    /// Workloads (and bare pods) with a pod the subject selects, sorted.
    pub workloads: Vec<String>,
    /// Traffic NetworkPolicies allow that this rule denies first (Admin-tier Deny only),
    /// sorted; at most [`MAX_OVERRIDES`] listed.
    pub overrides: Vec<Override>,
    /// How many overrides there are in all.
    pub overrides_total: usize,
    /// Whether the overrides were computed: false when the rule's subject classes × the
    /// peers it selects exceed [`OVERRIDE_PAIR_BUDGET`] (a very large cluster), and for
    /// rules that cannot override (Pass, Baseline).
    pub overrides_checked: bool,
}

/// (subject class, peer) pairs evaluated at most per guardrail for its overrides.
pub const OVERRIDE_PAIR_BUDGET: usize = 1_000_000;

/// Overrides listed per guardrail (the count is always complete).
pub const MAX_OVERRIDES: usize = 50;

/// Traffic a NetworkPolicy allows that a guardrail denies before it is consulted.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Override {
    /// The workload (or pod) the guardrail applies to.
    pub subject: String,
    /// The other end: a workload, pod or address range.
    pub peer: String,
    /// The ports the NetworkPolicies allow and the guardrail denies.
    pub ports: PortSet,
    /// The NetworkPolicies (`ns/name`) whose rules allow them.
    pub allowed_by: Vec<String>,
}

/// The whole report, namespaces sorted by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Audit {
    /// Every namespace with pods, workloads or policies.
    pub namespaces: Vec<NamespaceAudit>,
    /// Admin rules that deny or pass, in tier, priority and rule order.
    pub guardrails: Vec<Guardrail>,
}

impl Audit {
    /// Namespaces with workloads and no policy.
    pub fn without_policy(&self) -> Vec<&str> {
        self.namespaces
            .iter()
            .filter(|n| n.policies.is_empty() && !n.workloads.is_empty())
            .map(|n| n.name.as_str())
            .collect()
    }

    /// The report narrowed to a selection (`-n`, `-l`; see [`Selection`]):
    /// - namespaces: with `-n`, that one; with `-l`, those with a selected pod;
    /// - in each, with `-l`: the workload lists (workloads, isolated, open) keep the
    ///   selected workloads, `policies` those whose `podSelector` selects a selected pod;
    ///   `uncertain` stays whole (it cannot be narrowed to pods: a policy Palisade does not
    ///   evaluate may select any of them);
    /// - guardrails: those whose subject covers a selected workload.
    pub fn restrict(&mut self, model: &Model, selection: &Selection) {
        if selection.is_everything() {
            return;
        }
        let pods = selection.pods(model);
        let workloads: BTreeSet<String> =
            pods.iter().map(|&p| model.pod_workload_name(p)).collect();
        if let Some(ns) = &selection.namespace {
            self.namespaces.retain(|n| &n.name == ns);
        }
        if selection.selector.is_some() {
            let namespaces: BTreeSet<&str> = pods
                .iter()
                .map(|&p| {
                    model
                        .namespace(model.pods[p.index()].namespace)
                        .name
                        .as_str()
                })
                .collect();
            // (namespace, policy name) of the policies selecting a selected pod.
            let policies: BTreeSet<(&str, &str)> = model
                .policies
                .iter()
                .filter(|policy| {
                    pods.iter().any(|&p| {
                        let pod = &model.pods[p.index()];
                        palisade_engine::semantics::policy_selects(
                            policy,
                            pod.namespace,
                            &pod.labels,
                            pod.host_network,
                        )
                    })
                })
                .map(|p| (model.namespace(p.namespace).name.as_str(), p.name.as_str()))
                .collect();
            self.namespaces
                .retain(|n| namespaces.contains(n.name.as_str()));
            for n in &mut self.namespaces {
                for list in [
                    &mut n.workloads,
                    &mut n.ingress_isolated,
                    &mut n.egress_isolated,
                    &mut n.open_to_cluster,
                    &mut n.open_to_world,
                ] {
                    list.retain(|w| workloads.contains(w));
                }
                let ns = n.name.clone();
                n.policies
                    .retain(|p| policies.contains(&(ns.as_str(), p.as_str())));
            }
        }
        self.guardrails
            .retain(|g| g.workloads.iter().any(|w| workloads.contains(w)));
    }
}

/// Builds the report.
pub fn audit(model: &Model, engine: &Engine) -> Audit {
    let mut by_ns: BTreeMap<String, NamespaceAudit> = BTreeMap::new();
    for p in &model.policies {
        let ns = &model.namespace(p.namespace).name;
        by_ns
            .entry(ns.clone())
            .or_insert_with(|| NamespaceAudit {
                name: ns.clone(),
                ..Default::default()
            })
            .policies
            .push(p.name.clone());
    }
    // (ingress isolated, egress isolated, open to cluster, open to world) per workload.
    let mut units: BTreeMap<(String, String), [bool; 4]> = BTreeMap::new();
    for pod_id in model.pod_ids() {
        let pod = &model.pods[pod_id.index()];
        let class = engine.class_of(pod_id);
        let ingress = !engine
            .isolating_policies(class, Direction::Ingress)
            .is_empty();
        let egress = !engine
            .isolating_policies(class, Direction::Egress)
            .is_empty();
        let (mut cluster, mut world) = (!ingress, !ingress);
        if ingress {
            for policy in engine
                .isolating_policies(class, Direction::Ingress)
                .iter()
                .map(|&p| &model.policies[p.index()])
            {
                for rule in policy.rules(Direction::Ingress) {
                    if rule.peers.is_empty() {
                        cluster = true;
                        world = true;
                    }
                    for peer in &rule.peers {
                        match &peer.kind {
                            PeerKind::Selector {
                                namespace_selector: Some(ns),
                                pod_selector,
                            } if ns.is_empty()
                                && pod_selector.as_ref().is_none_or(|s| s.is_empty()) =>
                            {
                                cluster = true
                            }
                            PeerKind::IpBlock(b) if b.cidr.prefix_len() == 0 => world = true,
                            _ => {}
                        }
                    }
                }
            }
        }
        let ns = model.namespace(pod.namespace).name.clone();
        let entry = units
            .entry((ns, model.pod_workload_name(pod_id)))
            .or_insert([true, true, false, false]);
        entry[0] &= ingress;
        entry[1] &= egress;
        entry[2] |= cluster;
        entry[3] |= world;
    }
    for ((ns, name), [ingress, egress, cluster, world]) in units {
        let entry = by_ns.entry(ns.clone()).or_insert_with(|| NamespaceAudit {
            name: ns,
            ..Default::default()
        });
        entry.workloads.push(name.clone());
        if ingress {
            entry.ingress_isolated.push(name.clone());
        }
        if egress {
            entry.egress_isolated.push(name.clone());
        }
        if cluster {
            entry.open_to_cluster.push(name.clone());
        }
        if world {
            entry.open_to_world.push(name);
        }
    }
    let uncertainty = Uncertainty::new(model);
    if uncertainty.any() {
        let mut pods_by_ns: BTreeMap<&str, Vec<palisade_model::PodId>> = BTreeMap::new();
        for pod_id in model.pod_ids() {
            let ns = &model.namespace(model.pods[pod_id.index()].namespace).name;
            pods_by_ns.entry(ns).or_default().push(pod_id);
        }
        for (ns, pods) in pods_by_ns {
            if let Some(entry) = by_ns.get_mut(ns) {
                entry.uncertain = uncertainty.names(model, pods);
            }
        }
    }
    let mut namespaces: Vec<NamespaceAudit> = by_ns.into_values().collect();
    for n in &mut namespaces {
        n.policies.sort();
    }
    Audit {
        namespaces,
        guardrails: guardrails(model, engine),
    }
}

/// The guardrails and what each covers and overrides.
fn guardrails(model: &Model, engine: &Engine) -> Vec<Guardrail> {
    if model.admin_policies.is_empty() {
        return Vec::new();
    }
    let reference = Reference::new(model);
    let pod_ips: BTreeSet<std::net::IpAddr> = model
        .pods
        .iter()
        .flat_map(|p| p.ips.iter().copied())
        .collect();
    // Peers the policies can tell apart: one pod per class (named by its pods' workloads),
    // one address per range that is not a pod's.
    let mut peers: Vec<(Endpoint, Vec<String>)> = Vec::new();
    for class in engine.classes() {
        if let Some(&pod) = class.pods.first() {
            let mut names: Vec<String> = class
                .pods
                .iter()
                .map(|&p| model.pod_workload_name(p))
                .collect();
            names.sort();
            names.dedup();
            peers.push((Endpoint::Pod(pod), names));
        }
    }
    for atom in engine.ip_space().atoms() {
        let (lo, hi) = atom.bounds();
        if lo == hi && pod_ips.contains(&lo) {
            continue;
        }
        peers.push((Endpoint::External(lo), vec![atom.to_string()]));
    }
    let mut out = Vec::new();
    for tier in [AdminTier::Admin, AdminTier::Baseline] {
        for id in admin::evaluation_order(model, tier) {
            let policy = &model.admin_policies[id as usize];
            let subjects: Vec<PodId> = admin::subjects(model, policy);
            let mut namespaces: Vec<String> = subjects
                .iter()
                .map(|&p| {
                    model
                        .namespace(model.pods[p.index()].namespace)
                        .name
                        .clone()
                })
                .collect();
            namespaces.sort();
            namespaces.dedup();
            let mut workloads: Vec<String> = subjects
                .iter()
                .map(|&p| model.pod_workload_name(p))
                .collect();
            workloads.sort();
            workloads.dedup();
            for direction in [Direction::Ingress, Direction::Egress] {
                for (index, rule) in policy.rules(direction).iter().enumerate() {
                    if rule.action == AdminAction::Accept {
                        continue;
                    }
                    let at = AdminRuleRef {
                        policy: id,
                        direction,
                        rule: index as u32,
                    };
                    let overrides = if tier == AdminTier::Admin && rule.action == AdminAction::Deny
                    {
                        overrides(&reference, engine, &subjects, &peers, at)
                    } else {
                        None
                    };
                    let checked = overrides.is_some();
                    let overrides = overrides.unwrap_or_default();
                    out.push(Guardrail {
                        policy: policy.display_name(),
                        kind: policy.kind.as_str(),
                        tier: policy.tier.as_str(),
                        priority: policy.priority,
                        direction,
                        rule: index,
                        rule_name: rule.name.clone(),
                        action: rule.action.as_str(),
                        namespaces: namespaces.clone(),
                        workloads: workloads.clone(),
                        overrides_total: overrides.len(),
                        overrides: overrides.into_iter().take(MAX_OVERRIDES).collect(),
                        overrides_checked: checked,
                    });
                }
            }
        }
    }
    out
}

/// What NetworkPolicies allow that an Admin-tier Deny rule denies first, per subject class
/// (isolated for the rule's direction) and peer the rule selects; `None` past the budget.
fn overrides(
    reference: &Reference<'_>,
    engine: &Engine,
    subjects: &[PodId],
    peers: &[(Endpoint, Vec<String>)],
    at: AdminRuleRef,
) -> Option<BTreeSet<Override>> {
    let model = reference.model();
    let rule = &model.admin_policies[at.policy as usize].rules(at.direction)[at.rule as usize];
    let selected: Vec<&(Endpoint, Vec<String>)> = peers
        .iter()
        .filter(|(peer, _)| admin::rule_peer(model, rule, *peer).is_some())
        .collect();
    let mut classes: Vec<u32> = subjects.iter().map(|&p| engine.class_of(p)).collect();
    classes.sort_unstable();
    classes.dedup();
    if classes.len().saturating_mul(selected.len()) > OVERRIDE_PAIR_BUDGET {
        return None;
    }
    let mut out = BTreeSet::new();
    for class in classes {
        let pods = &engine.classes()[class as usize].pods;
        let pod = pods[0];
        let isolating = reference.isolating_policies(pod, at.direction);
        if isolating.is_empty() {
            continue;
        }
        let mut subject_names: Vec<String> =
            pods.iter().map(|&p| model.pod_workload_name(p)).collect();
        subject_names.sort();
        subject_names.dedup();
        for (peer, peer_names) in &selected {
            let mut denied = PortSet::none();
            reference.admin_tier_ports(pod, at.direction, *peer, None, |r, _, taken| {
                if r == at {
                    denied = taken.clone();
                }
            });
            if denied.is_empty() {
                continue;
            }
            let mut ports = PortSet::none();
            let mut allowed_by = Vec::new();
            for &policy in &isolating {
                let overridden = reference
                    .policy_admits(policy, pod, at.direction, *peer)
                    .intersection(&denied);
                if !overridden.is_empty() {
                    ports.union_with(&overridden);
                    allowed_by.push(model.policy_name(policy));
                }
            }
            if ports.is_empty() {
                continue;
            }
            for subject in &subject_names {
                for peer_name in peer_names {
                    if subject == peer_name {
                        continue;
                    }
                    out.insert(Override {
                        subject: subject.clone(),
                        peer: peer_name.clone(),
                        ports: ports.clone(),
                        allowed_by: allowed_by.clone(),
                    });
                }
            }
        }
    }
    Some(out)
}
