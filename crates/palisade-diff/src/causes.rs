//! Attributing a change to the policy edits that can explain it.

use crate::eval::{Side, Target};
use crate::policies::{Edit, rule_eq};
use crate::{Cause, End, Raw, Sides, What};
use palisade_model::{Direction, PodId, PolicyId};

/// The pods of an end on one side (`None` for ranges and for endpoints absent there).
fn pods<'a>(sides: &'a Sides<'_>, end: End, new: bool) -> Option<std::borrow::Cow<'a, [PodId]>> {
    match end {
        End::Ep { old, new: n } => {
            let (eps, model, e) = if new {
                (&sides.new_eps, sides.new.model, n?)
            } else {
                (&sides.old_eps, sides.old.model, old?)
            };
            Some(eps.pods(model, e))
        }
        End::Range(..) => None,
    }
}

/// What a rule of the subject's side looks at: the other end.
fn target(sides: &Sides<'_>, end: End, new: bool) -> Option<Target> {
    match end {
        End::Range(f, lo, _) => Some(Target::Range(f, lo)),
        ep => pods(sides, ep, new)
            .and_then(|p| p.first().copied())
            .map(Target::Pod),
    }
}

pub(crate) fn attribute(sides: &Sides<'_>, raw: &Raw, edits: &[Edit]) -> Vec<Cause> {
    let mut out = Vec::new();
    for edit in edits {
        let mut found: Option<Direction> = None;
        for direction in [Direction::Egress, Direction::Ingress] {
            if found.is_some() || !edit.touches(direction) {
                continue;
            }
            let subject_end = match direction {
                Direction::Egress => raw.src,
                Direction::Ingress => raw.dst,
            };
            let versions = [(false, edit.old), (true, edit.new)];
            let selects = versions.iter().any(|&(is_new, policy)| {
                let (Some(policy), Some(pods)) = (policy, pods(sides, subject_end, is_new)) else {
                    return false;
                };
                let side = if is_new { &sides.new } else { &sides.old };
                pods.iter().any(|&p| side.selects(policy, p, direction))
            });
            if selects {
                found = Some(direction);
            }
        }
        let Some(direction) = found else {
            continue;
        };
        // The side where the policy lives: new unless removed.
        let (is_new, side, policy) = match (edit.new, edit.old) {
            (Some(n), _) => (true, &sides.new, n),
            (None, Some(o)) => (false, &sides.old, o),
            (None, None) => continue,
        };
        let peer_end = match direction {
            Direction::Egress => raw.dst,
            Direction::Ingress => raw.src,
        };
        let rule = responsible_rule(
            sides,
            side,
            policy,
            edit,
            direction,
            target(sides, peer_end, is_new),
        );
        let model = side.model;
        let p = &model.policies[policy.index()];
        let span = match rule {
            Some(i) => p.rules(direction)[i].span.or(p.span),
            None => p.span,
        };
        let loc = model.location(span);
        out.push(Cause {
            policy: edit.key.clone(),
            what: edit.what,
            file: loc.as_ref().map(|l| l.file.clone()),
            line: loc.map(|l| l.line),
            rule: rule.map(|i| (direction, i)),
        });
    }
    out
}

/// The first rule of the direction that changed and admits the peer; else the first rule
/// that changed; `None` when rules were only removed.
fn responsible_rule(
    sides: &Sides<'_>,
    side: &Side<'_>,
    policy: PolicyId,
    edit: &Edit,
    direction: Direction,
    peer: Option<Target>,
) -> Option<usize> {
    let model = side.model;
    let p = &model.policies[policy.index()];
    let rules = p.rules(direction);
    let before = match (edit.what, edit.old) {
        (What::Modified, Some(o)) => sides.old.model.policies[o.index()].rules(direction),
        _ => &[],
    };
    let changed = |i: usize| before.get(i).is_none_or(|b| !rule_eq(b, &rules[i]));
    let admits = |i: usize| peer.is_some_and(|t| side.rule_admits(policy, &rules[i], t));
    (0..rules.len())
        .find(|&i| changed(i) && admits(i))
        .or_else(|| (0..rules.len()).find(|&i| changed(i)))
}
