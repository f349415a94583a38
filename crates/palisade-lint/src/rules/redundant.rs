//! ## What it does
//! Finds a rule, or a whole policy, whose removal changes no connection: everything it
//! allows is allowed by other rules of the same pods, or never allowed by the other side
//! (the peer's own egress or ingress). The check is semantic and runs across all
//! policies of the input, on the compiled engine.
//!
//! ## Why is this bad?
//! Redundant rules make a policy set harder to review: a reader cannot tell which rule
//! is the one that matters, and a later change to the "real" rule can have no visible
//! effect. A policy that only duplicates others is dead weight.
//!
//! A policy without rules still matters when it is the only one isolating a pod; it is
//! only redundant when other policies isolate the same pods and allow the same traffic.
//!
//! ## Example
//! ```yaml
//! ingress:
//! - from: [{podSelector: {matchLabels: {app: frontend}}}]
//!   ports: [{port: 8080}]
//! - from: [{podSelector: {matchLabels: {app: frontend}}}]
//!   ports: [{port: 8080}]
//! ```
//!
//! Use instead:
//! ```yaml
//! ingress:
//! - from: [{podSelector: {matchLabels: {app: frontend}}}]
//!   ports: [{port: 8080}]
//! ```
//!
//! ## Notes
//! Each rule is judged alone: of two identical rules, both are reported, and removing
//! one makes the other necessary. Rules that admit nothing at all are left to NP003 and
//! NP004, policies that select nothing to NP002. Severity is info.
//!
//! A default deny (a policy with no rules) that other policies cover today is never advised
//! away: it isolates the pods added later that those policies do not select, so the finding
//! says "keep it". When a rule or policy is redundant because the *other side* denies what
//! it allows (the peers' own ingress or egress policies), the finding leads with those
//! policies, most specific first: when the traffic should flow, they are the likely bug.
//!
//! ## References
//! - [Kubernetes: Network Policies, policies are additive](https://kubernetes.io/docs/concepts/services-networking/network-policies/#the-two-sorts-of-pod-isolation)

use super::{Context, finding, names};
use palisade_diag::Diagnostic;
use palisade_engine::RuleRef;
use palisade_engine::rules::{peer_isolators, redundancy};
use palisade_model::{Direction, Policy, PolicyId};

const CODE: &str = "NP011";

fn rule_name(ctx: &Context<'_>, r: &RuleRef) -> String {
    format!(
        "{} rule {} of {}",
        r.direction.as_str().to_lowercase(),
        r.rule,
        ctx.policy_name(r.policy)
    )
}

fn opposite(direction: Direction) -> Direction {
    match direction {
        Direction::Ingress => Direction::Egress,
        Direction::Egress => Direction::Ingress,
    }
}

/// A policy that only isolates (no rule in any direction it affects): a default deny.
fn is_default_deny(policy: &Policy) -> bool {
    (!policy.affects_ingress || policy.ingress.is_empty())
        && (!policy.affects_egress || policy.egress.is_empty())
        && (policy.affects_ingress || policy.affects_egress)
}

/// The policies of the other side that isolate the peers of `rules` (of `policy`, in
/// `direction`) in the opposite direction: when a rule is redundant because the other side
/// denies it, they are the likely bug.
fn other_side_policies(
    ctx: &Context<'_>,
    policy: PolicyId,
    direction: Direction,
    rules: impl IntoIterator<Item = u32>,
) -> Vec<String> {
    let model = ctx.model;
    // The engine resolves the rules' peers to classes of equivalent pods (a walk over pods,
    // or classes, matching every selector was quadratic on large clusters).
    let rules = rules.into_iter().map(|rule| RuleRef {
        policy,
        direction,
        rule,
    });
    let mut found: Vec<PolicyId> = peer_isolators(ctx.engine(), rules, opposite(direction))
        .into_iter()
        .filter(|&q| q != policy)
        .collect();
    // The policies written for those peers first (the likely place of the bug), default
    // denies and namespace-wide policies last.
    found.sort_by_key(|&q| {
        let other = &model.policies[q.index()];
        (
            is_default_deny(other),
            other.pod_selector.is_empty(),
            ctx.policy_name(q),
        )
    });
    found.into_iter().map(|q| ctx.policy_name(q)).collect()
}

/// NP011
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let model = ctx.model;
    if model.policies.is_empty() || model.pods.is_empty() {
        return;
    }
    let found = redundancy(model, ctx.engine());
    for p in &found.policies {
        let policy = &model.policies[p.policy.index()];
        let others: Vec<String> = p.covered_by.iter().map(|&q| ctx.policy_name(q)).collect();
        let name = ctx.policy_name(p.policy);
        let mut d = if is_default_deny(policy) {
            // A default deny that other policies cover today still isolates the pods added
            // tomorrow that they do not select: never advise removing it.
            finding(
                CODE,
                format!(
                    "default-deny policy {name} changes no connection today: {} already isolate{} its pods",
                    if others.is_empty() { "other policies".to_string() } else { names(&others, 3) },
                    if others.len() == 1 { "s" } else { "" }
                ),
            )
            .with_help(
                "keep it: it is the safety net for pods added later that the other policies do \
                 not select; annotate it `palisade.dev/ignore: \"NP011\"` to silence this",
            )
        } else if p.masked_by_other_side {
            let directions = [Direction::Ingress, Direction::Egress];
            let blockers: Vec<String> = directions
                .iter()
                .flat_map(|&dir| {
                    let rules = 0..policy.rules(dir).len() as u32;
                    other_side_policies(ctx, p.policy, dir, rules)
                })
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let lead = if blockers.is_empty() {
                "the peers' own policies deny".to_string()
            } else {
                format!("the peers' policies {} deny", names(&blockers, 3))
            };
            finding(
                CODE,
                format!("{lead} what policy {name} allows beyond {}: it changes no connection", if others.is_empty() { "nothing".to_string() } else { names(&others, 3) }),
            )
            .with_help(format!(
                "if that traffic should flow, the bug is likely in {}; otherwise remove {name}, or annotate it `palisade.dev/ignore: \"NP011\"`",
                if blockers.is_empty() { "the peers' policies".to_string() } else { names(&blockers, 3) }
            ))
        } else {
            finding(
                CODE,
                format!("policy {name} is redundant: removing it changes no connection"),
            )
            .with_help(if others.is_empty() {
                "remove it, or annotate it `palisade.dev/ignore: \"NP011\"` if it is deliberate".to_string()
            } else {
                format!(
                    "the pods it selects are isolated by {} anyway, and those policies allow the same traffic; remove it, or annotate it `palisade.dev/ignore: \"NP011\"` if it is deliberate defence in depth",
                    names(&others, 3)
                )
            })
        }
        .with_opt_span(policy.pod_selector.span.or(policy.span));
        for &q in p.covered_by.iter().take(2) {
            if let Some(s) = model.policies[q.index()].span {
                d = d.with_label(s, format!("{} covers it", ctx.policy_name(q)));
            }
        }
        out.push(d);
    }
    for r in &found.rules {
        let policy = &model.policies[r.rule.policy.index()];
        let rule = &policy.rules(r.rule.direction)[r.rule.rule as usize];
        let coverers: Vec<String> = r.covered_by.iter().map(|c| rule_name(ctx, c)).collect();
        let mutual = found
            .rules
            .iter()
            .any(|o| r.covered_by.contains(&o.rule) && o.covered_by.contains(&r.rule));
        let blockers = if r.masked_by_other_side {
            other_side_policies(ctx, r.rule.policy, r.rule.direction, [r.rule.rule])
        } else {
            Vec::new()
        };
        let back = opposite(r.rule.direction).as_str().to_lowercase();
        let blockers_text = if blockers.is_empty() {
            format!("the peers' own {back} policies")
        } else {
            format!(
                "{back} polic{} {} of the peers",
                if blockers.len() == 1 { "y" } else { "ies" },
                names(&blockers, 2)
            )
        };
        let (message, help) = match (coverers.is_empty(), r.masked_by_other_side) {
            (false, false) => (
                format!(
                    "{} is redundant: every connection it allows is also allowed by {}",
                    rule_name(ctx, &r.rule),
                    names(&coverers, 2)
                ),
                if mutual {
                    "these rules cover each other: remove one of them, not both".to_string()
                } else {
                    "remove the rule, or change it if it was meant to allow something else"
                        .to_string()
                },
            ),
            // The other side denies (part of) what the rule allows: that side is the likely
            // bug, so the message leads with it.
            (true, _) => (
                format!(
                    "{blockers_text} deny everything {} allows: the rule is redundant as the peers are written",
                    rule_name(ctx, &r.rule)
                ),
                format!(
                    "if this traffic should flow, fix {blockers_text}; otherwise remove the rule"
                ),
            ),
            (false, true) => (
                format!(
                    "{blockers_text} deny what {} allows beyond {}: the rule is redundant as the peers are written",
                    rule_name(ctx, &r.rule),
                    names(&coverers, 2)
                ),
                format!(
                    "if this traffic should flow, fix {blockers_text}; otherwise remove the rule"
                ),
            ),
        };
        let mut d = finding(CODE, message)
            .with_opt_span(rule.span.or(policy.span))
            .with_help(help);
        for c in r.covered_by.iter().take(2) {
            let other = &model.policies[c.policy.index()];
            if let Some(s) = other
                .rules(c.direction)
                .get(c.rule as usize)
                .and_then(|x| x.span)
            {
                d = d.with_label(s, format!("{} allows the same", rule_name(ctx, c)));
            }
        }
        out.push(d);
    }
}
