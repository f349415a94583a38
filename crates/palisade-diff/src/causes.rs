//! Attributing a change to the policy edits that can explain it.

use crate::eval::{Side, Target};
use crate::policies::{AdminEdit, Edit, admin_rule_eq, rule_eq};
use crate::{AdminCause, Cause, End, Raw, Sides, What};
use palisade_engine::admin;
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

pub(crate) fn attribute(
    sides: &Sides<'_>,
    raw: &Raw,
    edits: &[Edit],
    admin_edits: &[AdminEdit],
) -> Vec<Cause> {
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
            admin: None,
        });
    }
    for edit in admin_edits {
        if let Some(cause) = admin_cause(sides, raw, edit) {
            out.push(cause);
        }
    }
    out
}

/// An admin policy edit as a cause of a change: its subject selects the end whose side it
/// evaluates (the source for egress, the destination for ingress) and a changed rule of that
/// direction selects the other end, on either side (a change of tier, priority or subject
/// changes every rule). Admin rules do not isolate, so a rule that does not match the peer
/// cannot have changed the pair. The responsible rule is that rule on the side where the
/// policy lives (new unless removed); `None` when only the other side's rule matches.
fn admin_cause(sides: &Sides<'_>, raw: &Raw, edit: &AdminEdit) -> Option<Cause> {
    let version = |is_new: bool| {
        let (model, id) = if is_new {
            (sides.new.model, edit.new?)
        } else {
            (sides.old.model, edit.old?)
        };
        Some((model, &model.admin_policies[id as usize]))
    };
    let (old, new) = (version(false), version(true));
    let whole = match (old, new) {
        (Some((_, a)), Some((_, b))) => {
            a.tier != b.tier || a.priority != b.priority || a.subject != b.subject
        }
        _ => true,
    };
    let lives_new = new.is_some();
    for direction in [Direction::Egress, Direction::Ingress] {
        if !edit.touches(direction) {
            continue;
        }
        let (subject_end, peer_end) = match direction {
            Direction::Egress => (raw.src, raw.dst),
            Direction::Ingress => (raw.dst, raw.src),
        };
        // The changed rule of one side that selects the peer, if the subject is selected.
        let hit = |is_new: bool| -> Option<Option<usize>> {
            let (model, policy) = if is_new { new? } else { old? };
            let other = if is_new { old } else { new };
            let subjects = pods(sides, subject_end, is_new)?;
            if !subjects
                .iter()
                .any(|&p| admin::subject_selects(model, policy, &model.pods[p.index()]))
            {
                return None;
            }
            let rules = policy.rules(direction);
            let theirs = other.map_or(&[][..], |(_, p)| p.rules(direction));
            let peer = target(sides, peer_end, is_new)?.endpoint();
            (0..rules.len())
                .find(|&i| {
                    (whole || theirs.get(i).is_none_or(|t| !admin_rule_eq(t, &rules[i])))
                        && admin::rule_peer(model, &rules[i], peer).is_some()
                })
                .map(Some)
        };
        let (living, other) = (hit(lives_new), hit(!lives_new));
        let rule = match (living, other) {
            (Some(rule), _) => rule,
            (None, Some(_)) => None,
            (None, None) => continue,
        };
        let (model, policy) = if lives_new { new? } else { old? };
        let rules = policy.rules(direction);
        let span = match rule {
            Some(i) => rules[i].span.or(policy.span),
            None => policy.span,
        };
        let loc = model.location(span);
        return Some(Cause {
            policy: edit.key.clone(),
            what: edit.what,
            file: loc.as_ref().map(|l| l.file.clone()),
            line: loc.map(|l| l.line),
            rule: rule.map(|i| (direction, i)),
            admin: Some(AdminCause {
                kind: policy.kind,
                tier: policy.tier,
                priority: policy.priority,
                rule_name: rule.map(|i| rules[i].name.clone()).unwrap_or_default(),
                action: rule.map(|i| rules[i].action),
            }),
        });
    }
    None
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
