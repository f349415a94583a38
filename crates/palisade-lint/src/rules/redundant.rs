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
//! NP004, policies that select nothing to NP002. Severity is info: a redundant
//! default-deny can be deliberate defence in depth.
//!
//! ## References
//! - [Kubernetes: Network Policies, policies are additive](https://kubernetes.io/docs/concepts/services-networking/network-policies/#the-two-sorts-of-pod-isolation)

use super::{Context, finding, names};
use palisade_diag::Diagnostic;
use palisade_engine::RuleRef;
use palisade_engine::rules::redundancy;

const CODE: &str = "NP011";

fn rule_name(ctx: &Context<'_>, r: &RuleRef) -> String {
    format!(
        "{} rule {} of {}",
        r.direction.as_str().to_lowercase(),
        r.rule,
        ctx.policy_name(r.policy)
    )
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
        let mut d = finding(
            CODE,
            format!("policy {} is redundant: removing it changes no connection", ctx.policy_name(p.policy)),
        )
        .with_opt_span(policy.pod_selector.span.or(policy.span))
        .with_help(match (others.is_empty(), p.masked_by_other_side) {
            (true, _) => "remove it, or annotate it `palisade.dev/ignore: \"NP011\"` if it is deliberate".to_string(),
            (false, false) => format!(
                "the pods it selects are isolated by {} anyway, and those policies allow the same traffic; remove it, or annotate it `palisade.dev/ignore: \"NP011\"` if it is deliberate defence in depth",
                names(&others, 3)
            ),
            (false, true) => format!(
                "the pods it selects are isolated by {} anyway, and what it allows beyond those policies is denied by the peers' own policies (check whether the peers' egress/ingress is what is wrong); remove it, or annotate it `palisade.dev/ignore: \"NP011\"`",
                names(&others, 3)
            ),
        });
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
        let why = match (coverers.is_empty(), r.masked_by_other_side) {
            (false, false) => format!(
                "every connection it allows is also allowed by {}",
                names(&coverers, 2)
            ),
            (false, true) => format!(
                "what it allows is also allowed by {}, or denied by the peers' own policies",
                names(&coverers, 2)
            ),
            (true, _) => "the peers' own policies deny everything it allows".to_string(),
        };
        let mut d = finding(
            CODE,
            format!("{} is redundant: {why}", rule_name(ctx, &r.rule)),
        )
        .with_opt_span(rule.span.or(policy.span))
        .with_help(if mutual {
            "these rules cover each other: remove one of them, not both"
        } else {
            "remove the rule, or change it if it was meant to allow something else"
        });
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
