//! ## What it does
//! Finds an Admin-tier `Accept` rule that makes a NetworkPolicy irrelevant: everything the
//! NetworkPolicy allows (for every pod it selects, in that direction) is decided by the
//! Admin tier before the NetworkPolicy is consulted, and without this Accept some of it
//! would reach the NetworkPolicy.
//!
//! ## Why is this bad?
//! Admin-tier decisions cannot be overridden by namespace owners. When the Admin tier
//! accepts everything a NetworkPolicy allows, the NetworkPolicy's rules decide nothing:
//! narrowing them changes no verdict, and the namespace owner reviewing them is misled.
//! (The isolation it causes still denies what the Admin tier leaves undecided, such as
//! ingress from outside the cluster.)
//!
//! ## Example
//! ```yaml
//! kind: ClusterNetworkPolicy
//! spec:
//!   tier: Admin
//!   subject: {namespaces: {matchLabels: {team: shop}}}
//!   ingress:
//!   - action: Accept          # every pod: shop's ingress NetworkPolicy rules never apply
//!     from: [{namespaces: {}}]
//! ```
//!
//! Use instead: accept only the traffic the guardrail is about (a namespace, a port), or
//! `Pass` to let the namespace's NetworkPolicies decide.
//!
//! ## Notes
//! Decided over the pods of the input (one per class of equivalent pods) and one address
//! of each external range the policies distinguish. A NetworkPolicy that allows nothing in
//! the direction (a default deny) is never reported. Only runs when the input has pods or
//! workloads. One finding per rule, naming the NetworkPolicies and the pods concerned. On
//! inputs beyond 4,000,000 (class, direction, peer) pairs the rule reports one info finding
//! saying it was not checked.

use super::{Context, admin_rule_label, finding, names};
use palisade_diag::Diagnostic;
use palisade_engine::admin::AdminRuleRef;
use palisade_engine::{Endpoint, Reference};
use palisade_model::{AdminAction, Direction, PolicyId, PortSet};
use std::collections::{BTreeMap, BTreeSet};

const CODE: &str = "NP024";

/// (subject class, direction, peer) pairs evaluated at most.
const PAIR_BUDGET: usize = 4_000_000;

/// NP024
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let model = ctx.model;
    if !ctx.has_pods || model.admin_policies.is_empty() {
        return;
    }
    let engine = ctx.engine();
    let reference = Reference::new(model);
    // Every peer the policies can tell apart: one pod per class, one address per range.
    let peers: Vec<Endpoint> = engine
        .classes()
        .iter()
        .filter_map(|c| c.pods.first().map(|&p| Endpoint::Pod(p)))
        .chain(
            engine
                .ip_space()
                .atoms()
                .iter()
                .map(|a| Endpoint::External(a.bounds().0)),
        )
        .collect();
    // Each (subject class, direction, peer) is a walk of the Admin tier: on a very large
    // input the rule says it was not checked instead of running for hours.
    let subjects = engine.classes().len() * 2;
    if subjects.saturating_mul(peers.len()) > PAIR_BUDGET {
        let mut d = finding(
            CODE,
            format!(
                "not checked: {} classes of pods × {} peers exceeds what this rule evaluates ({PAIR_BUDGET} pairs)",
                engine.classes().len(),
                peers.len()
            ),
        )
        .with_help("lint the admin policies with the namespaces they govern, not the whole cluster");
        d.severity = palisade_diag::Severity::Info;
        out.push(d);
        return;
    }
    // NetworkPolicies (with direction) some of whose allowed traffic reaches them.
    let mut relevant: BTreeSet<(PolicyId, Direction)> = BTreeSet::new();
    // (Accept rule, NetworkPolicy) → the pods for which the rule keeps it from applying.
    let mut bypassed: BTreeMap<(AdminRuleRef, PolicyId), Vec<String>> = BTreeMap::new();
    for class in engine.classes() {
        let Some(&pod) = class.pods.first() else {
            continue;
        };
        for direction in [Direction::Ingress, Direction::Egress] {
            let isolating = reference.isolating_policies(pod, direction);
            if isolating.is_empty() {
                continue;
            }
            let mut accepting: Vec<AdminRuleRef> = Vec::new();
            // Per peer: what reaches NetworkPolicy, and what each isolating policy admits.
            let mut per_peer: Vec<(Endpoint, Vec<PortSet>)> = Vec::new();
            let mut allows_something = vec![false; isolating.len()];
            for &peer in &peers {
                let reaching =
                    reference.admin_tier_ports(pod, direction, peer, None, |at, action, _| {
                        if action == AdminAction::Accept && !accepting.contains(&at) {
                            accepting.push(at);
                        }
                    });
                let admits: Vec<PortSet> = isolating
                    .iter()
                    .map(|&p| reference.policy_admits(p, pod, direction, peer))
                    .collect();
                for (i, ports) in admits.iter().enumerate() {
                    if !ports.is_empty() {
                        allows_something[i] = true;
                        if !ports.intersection(&reaching).is_empty() {
                            relevant.insert((isolating[i], direction));
                        }
                    }
                }
                per_peer.push((peer, admits));
            }
            for (i, &policy) in isolating.iter().enumerate() {
                if !allows_something[i] || relevant.contains(&(policy, direction)) {
                    continue;
                }
                // Only the Accept rules without which some of it would reach the policy: an
                // Accept for monitoring next to an accept-everything is not the cause.
                for &at in &accepting {
                    let needed = per_peer.iter().any(|(peer, admits)| {
                        !admits[i].is_empty()
                            && !reference
                                .admin_tier_ports(pod, direction, *peer, Some(at), |_, _, _| {})
                                .intersection(&admits[i])
                                .is_empty()
                    });
                    if needed {
                        bypassed
                            .entry((at, policy))
                            .or_default()
                            .extend(class.pods.iter().map(|&p| model.pod_name(p)));
                    }
                }
            }
        }
    }
    // One finding per Accept rule, for the NetworkPolicies irrelevant on every pod.
    let mut by_rule: BTreeMap<AdminRuleRef, (Vec<PolicyId>, Vec<String>)> = BTreeMap::new();
    for ((at, policy), pods) in bypassed {
        if relevant.contains(&(policy, at.direction)) {
            continue;
        }
        let entry = by_rule.entry(at).or_default();
        entry.0.push(policy);
        entry.1.extend(pods);
    }
    for (at, (policies, mut pods)) in by_rule {
        pods.sort();
        pods.dedup();
        let admin = &model.admin_policies[at.policy as usize];
        let rule = &admin.rules(at.direction)[at.rule as usize];
        let policy_names: Vec<String> = policies.iter().map(|&p| model.policy_name(p)).collect();
        let dir = at.direction.as_str().to_lowercase();
        let mut d = finding(
            CODE,
            format!(
                "{} {dir} {} (Accept) makes NetworkPolicy {} irrelevant: the Admin tier decides everything it allows for {} before it is consulted",
                admin.display_name(),
                admin_rule_label(at.rule as usize, rule),
                names(&policy_names, 3),
                names(&pods, 3),
            ),
        )
        .with_opt_span(rule.span.or(admin.span))
        .with_help(
            "accept only the traffic the guardrail is about, or use Pass to let the NetworkPolicies decide",
        );
        if let Some(span) = policies
            .first()
            .and_then(|&p| model.policies[p.index()].span)
        {
            d = d.with_label(span, "its rules never apply");
        }
        out.push(d);
    }
}
