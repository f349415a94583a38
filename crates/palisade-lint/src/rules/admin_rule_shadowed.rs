//! ## What it does
//! Finds an admin-tier rule that is never reached: for every pod it applies to, an earlier
//! rule (earlier in the same policy, or in a policy of the same tier evaluated first)
//! matches every peer and port it matches.
//!
//! ## Why is this bad?
//! Admin rules are evaluated in priority, then rule order, and the first match decides. A
//! shadowed rule does nothing; if its action differs from the earlier rule's, the policy
//! does not do what it says.
//!
//! ## Example
//! ```yaml
//! ingress:
//! - action: Deny
//!   from: [{namespaces: {}}]
//! - action: Accept          # never reached
//!   from: [{namespaces: {matchLabels: {team: ops}}}]
//! ```
//!
//! Use instead: put the narrower rule first.
//!
//! ## Notes
//! Decided over the pods of the input, for rules whose peers are pods and namespaces (rules
//! with `networks`, `nodes` or `domainNames` peers are not checked). Named ports are
//! covered only by a rule without `protocols`/`ports`.

use super::{Context, finding};
use palisade_diag::Diagnostic;
use palisade_engine::{Endpoint, admin};
use palisade_model::{
    AdminPeerKind, AdminPortKind, AdminRule, AdminTier, Direction, Model, PodId, PortSet,
};

const CODE: &str = "NP022";

fn pod_based(rule: &AdminRule) -> bool {
    rule.peers.iter().all(|p| {
        matches!(
            p.kind,
            AdminPeerKind::Namespaces(_) | AdminPeerKind::Pods { .. }
        )
    })
}

fn peers(model: &Model, rule: &AdminRule) -> Vec<bool> {
    model
        .pod_ids()
        .map(|p| admin::rule_peer(model, rule, Endpoint::Pod(p)).is_some())
        .collect()
}

/// The numeric ports a rule matches, and whether it has named ports.
fn ports(rule: &AdminRule) -> (PortSet, bool) {
    let named = rule
        .ports
        .iter()
        .flatten()
        .any(|p| matches!(p.kind, AdminPortKind::Named(_)));
    (admin::rule_ports(rule, None), named)
}

/// NP022
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    if !ctx.has_pods {
        return;
    }
    let model = ctx.model;
    for tier in [AdminTier::Admin, AdminTier::Baseline] {
        let order = admin::evaluation_order(model, tier);
        let subject_sets: Vec<Vec<PodId>> = order
            .iter()
            .map(|&id| admin::subjects(model, &model.admin_policies[id as usize]))
            .collect();
        for (position, &id) in order.iter().enumerate() {
            let policy = &model.admin_policies[id as usize];
            let mine = &subject_sets[position];
            if mine.is_empty() {
                continue;
            }
            for direction in [Direction::Ingress, Direction::Egress] {
                for (index, rule) in policy.rules(direction).iter().enumerate() {
                    if !pod_based(rule) {
                        continue;
                    }
                    let my_peers = peers(model, rule);
                    if !my_peers.iter().any(|&b| b) {
                        continue;
                    }
                    let (my_ports, my_named) = ports(rule);
                    // Earlier rules that apply to every subject pod of this one.
                    let earlier = order[..=position]
                        .iter()
                        .enumerate()
                        .filter(|&(i, _)| {
                            i == position || mine.iter().all(|p| subject_sets[i].contains(p))
                        })
                        .flat_map(|(i, &other)| {
                            let rules = model.admin_policies[other as usize].rules(direction);
                            let upto = if i == position { index } else { rules.len() };
                            rules[..upto]
                                .iter()
                                .enumerate()
                                .map(move |(j, r)| (other, j, r))
                        });
                    let covering = earlier.into_iter().find(|&(_, _, earlier_rule)| {
                        let (their_ports, _) = ports(earlier_rule);
                        let ports_covered = if my_named {
                            earlier_rule.ports.is_none()
                        } else {
                            my_ports.difference(&their_ports).is_empty()
                        };
                        ports_covered
                            && peers(model, earlier_rule)
                                .iter()
                                .zip(&my_peers)
                                .all(|(&theirs, &mine)| theirs || !mine)
                    });
                    let Some((other, j, earlier_rule)) = covering else {
                        continue;
                    };
                    let other = &model.admin_policies[other as usize];
                    let mut d = finding(
                        CODE,
                        format!(
                            "{} {} rule {index} is never reached: {} {} rule {j} ({}) matches all its traffic first",
                            policy.display_name(),
                            direction.as_str().to_lowercase(),
                            other.display_name(),
                            direction.as_str().to_lowercase(),
                            earlier_rule.action.as_str(),
                        ),
                    )
                    .with_opt_span(rule.span.or(policy.span))
                    .with_help("move the narrower rule before the broader one, or remove it");
                    if let Some(span) = earlier_rule.span {
                        d = d.with_label(span, "matches first");
                    }
                    out.push(d);
                }
            }
        }
    }
}
