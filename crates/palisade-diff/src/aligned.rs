//! The aligned path: the sides may differ in pods, workloads or namespace labels (a workload
//! added, a label changed, replicas scaled) and in policies of every tier, but not in Nodes.
//!
//! What one pod may send another depends only on the policies, the two pods, their
//! namespaces' labels and (through admin `nodes` peers) the Nodes. So endpoints are matched
//! by name, and an endpoint is *changed* when it exists on one side only, or its pods or
//! their namespace's labels differ in anything a policy can see (name, labels, ports, IPs,
//! hostNetwork). Every pair with a changed end is a candidate. Among the unchanged
//! endpoints only the policy edits can change a pair. NetworkPolicy edits are followed as on
//! the incremental path: the subjects an edited version selects, towards the peers its rules
//! admit (every endpoint when a subject's isolation flips). An admin policy edit makes its
//! subjects' pairs with the pods its changed rules match candidates, in the directions it
//! touches. Candidates are then evaluated on both sides from the policies, never the whole
//! cluster, which is what keeps a workload added to a 150,000-pod cluster from expanding
//! both sides' complete connectivity. Marking an endpoint changed when it is not only costs
//! time, so the comparison of pods is positional and strict.

use crate::eval::Side;
use crate::incremental::{PodIndex, admitted_pods, versions};
use crate::merge::same_pod;
use crate::policies::{admin_rule_eq, dir_index};
use crate::{Diff, End, Endpoints, Raw, Sides, external, policies};
use palisade_engine::connectivity::Level;
use palisade_engine::{Endpoint, admin};
use palisade_model::{Direction, Model, PodId, PortSet};
use rustc_hash::{FxHashMap, FxHashSet};

/// One endpoint of either side, matched by name: its index on each side where it exists.
#[derive(Clone, Copy)]
struct Matched {
    old: Option<u32>,
    new: Option<u32>,
}

/// Whether both sides have the same Nodes (names, labels, addresses): admin `nodes` peers
/// see them, so a Node changed could change any pair.
fn same_nodes(old: &Model, new: &Model) -> bool {
    fn key(m: &Model) -> Vec<(&String, &palisade_model::Labels, &Vec<std::net::IpAddr>)> {
        let mut nodes: Vec<_> = m
            .nodes
            .iter()
            .map(|n| (&n.name, &n.labels, &n.ips))
            .collect();
        nodes.sort();
        nodes
    }
    key(old) == key(new)
}

/// When [`diff`] hands over to the full path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fallback {
    /// When the full path is cheaper: the pod pairs of the whole rows to evaluate (changed
    /// endpoints, subjects of admin edits and of isolation flips) outnumber an eighth of the
    /// endpoint pairs, on a cluster small enough (at most [`FULL_AT_MOST_ENDPOINTS`]
    /// endpoints) for both sides' complete connectivity to be held.
    WhenCheaper,
    /// Never (tests).
    Never,
}

/// The most endpoints at which the full path may be preferred. It holds every connected
/// endpoint pair of both sides by name, about 1.25 KB a pair as measured (3.2 GB for
/// 1,600 bare pods all connected): at most 1,024² ≈ 1 M pairs, ≈ 1.3 GB, keeps it within
/// 2 GB however many pairs connect. Above this the aligned path, whose memory does not grow
/// with the pairs, runs however long it takes.
const FULL_AT_MOST_ENDPOINTS: usize = 1024;

pub(crate) fn diff(old: &Model, new: &Model, level: Level, fallback: Fallback) -> Option<Diff> {
    if !same_nodes(old, new) {
        return None;
    }
    let sides = Sides::numbered(old, new, level);
    let edits = policies::edits(old, new);
    let admin_edits = policies::admin_edits(old, new);

    // Endpoints of both sides, matched by name.
    let mut matched: Vec<Matched> = Vec::with_capacity(sides.old_eps.len());
    let mut by_name: FxHashMap<String, u32> = FxHashMap::default();
    let mut of_old = Vec::with_capacity(sides.old_eps.len());
    for e in 0..sides.old_eps.len() as u32 {
        let id = matched.len() as u32;
        by_name.insert(sides.old_eps.name(old, e), id);
        matched.push(Matched {
            old: Some(e),
            new: None,
        });
        of_old.push(id);
    }
    let mut of_new = Vec::with_capacity(sides.new_eps.len());
    for e in 0..sides.new_eps.len() as u32 {
        let name = sides.new_eps.name(new, e);
        let id = match by_name.get(&name) {
            Some(&id) if matched[id as usize].new.is_none() => id,
            _ => {
                matched.push(Matched {
                    old: None,
                    new: None,
                });
                matched.len() as u32 - 1
            }
        };
        matched[id as usize].new = Some(e);
        of_new.push(id);
    }
    drop(by_name);

    // Changed endpoints.
    let namespace_changed: Vec<bool> = old
        .namespaces
        .iter()
        .map(|ns| {
            new.namespace_id(&ns.name)
                .is_none_or(|id| new.namespace(id).labels != ns.labels)
        })
        .collect();
    let changed: Vec<bool> = matched
        .iter()
        .map(|m| {
            let (Some(o), Some(n)) = (m.old, m.new) else {
                return true;
            };
            let (old_pods, new_pods) = (sides.old_eps.pods(old, o), sides.new_eps.pods(new, n));
            old_pods.len() != new_pods.len()
                || old_pods.iter().zip(new_pods.iter()).any(|(&a, &b)| {
                    let (a, b) = (&old.pods[a.index()], &new.pods[b.index()]);
                    namespace_changed[a.namespace.index()]
                        || old.namespace(a.namespace).name != new.namespace(b.namespace).name
                        || !same_pod(old, a, new, b)
                })
        })
        .collect();
    // Candidates: whole rows (every pair with the endpoint as source, `rows[0]`, or as
    // destination, `rows[1]`) and single pairs. Rows are not expanded into pairs, so many
    // changed endpoints cost time, not memory. An endpoint with a row in a direction is also
    // a subject whose external ranges can change.
    let mut rows: [FxHashSet<u32>; 2] = [FxHashSet::default(), FxHashSet::default()];
    let mut pairs: FxHashSet<(u32, u32)> = FxHashSet::default();
    let mut subjects: [FxHashSet<u32>; 2] = [FxHashSet::default(), FxHashSet::default()];
    for (e, _) in changed.iter().enumerate().filter(|(_, c)| **c) {
        rows[0].insert(e as u32);
        rows[1].insert(e as u32);
    }
    let (old_index, new_index) = (PodIndex::new(old), PodIndex::new(new));
    // Per direction and subject endpoint, the peers the edited versions selecting it admit
    // (`None`: every endpoint).
    let mut peers_of: [FxHashMap<u32, Option<FxHashSet<u32>>>; 2] =
        [FxHashMap::default(), FxHashMap::default()];
    for edit in &edits {
        for direction in [Direction::Egress, Direction::Ingress] {
            if !edit.touches(direction) {
                continue;
            }
            for (is_new, side, policy) in versions(edit, &sides.old, &sides.new) {
                let (model, index, of_side, eps) = if is_new {
                    (new, &new_index, &of_new, &sides.new_eps)
                } else {
                    (old, &old_index, &of_old, &sides.old_eps)
                };
                let ns = model.policies[policy.index()].namespace;
                let mut selected: Vec<u32> = Vec::new();
                for group in index.alike(model, ns) {
                    if side.selects(policy, group[0], direction) {
                        selected.extend(
                            group
                                .iter()
                                .map(|&p| of_side[eps.of_pod(model, p) as usize]),
                        );
                    }
                }
                selected.retain(|&e| !changed[e as usize]);
                selected.sort_unstable();
                selected.dedup();
                if selected.is_empty() {
                    continue;
                }
                let mut admitted: FxHashSet<PodId> = FxHashSet::default();
                let admitted: Option<FxHashSet<u32>> =
                    admitted_pods(side, index, policy, direction, &mut admitted).then(|| {
                        admitted
                            .iter()
                            .map(|&p| of_side[eps.of_pod(model, p) as usize])
                            .collect()
                    });
                for e in selected {
                    let slot = peers_of[dir_index(direction)]
                        .entry(e)
                        .or_insert_with(|| Some(FxHashSet::default()));
                    match (slot.as_mut(), &admitted) {
                        (Some(set), Some(more)) => set.extend(more.iter().copied()),
                        _ => *slot = None,
                    }
                }
            }
        }
    }
    // An admin policy edit can change what its subjects send (egress rules) or receive
    // (ingress rules), towards the pods a changed rule of either version matches: rules are
    // walked in order and the first match decides, so a peer no changed rule matches meets
    // the same rules as before. A change of tier, priority or subject (or a policy added or
    // removed) changes every rule.
    for edit in &admin_edits {
        let version = |is_new: bool| {
            let (model, id) = if is_new {
                (new, edit.new?)
            } else {
                (old, edit.old?)
            };
            Some(&model.admin_policies[id as usize])
        };
        let (old_policy, new_policy) = (version(false), version(true));
        let whole = match (old_policy, new_policy) {
            (Some(a), Some(b)) => {
                a.tier != b.tier || a.priority != b.priority || a.subject != b.subject
            }
            _ => true,
        };
        for direction in [Direction::Egress, Direction::Ingress] {
            if !edit.touches(direction) {
                continue;
            }
            let d = dir_index(direction);
            let versions = [
                (old, old_policy, new_policy, &of_old, &sides.old_eps),
                (new, new_policy, old_policy, &of_new, &sides.new_eps),
            ];
            let mut peers: FxHashSet<u32> = FxHashSet::default();
            let mut selected: FxHashSet<u32> = FxHashSet::default();
            for (model, this, other, of_side, eps) in versions {
                let Some(policy) = this else { continue };
                let rules = policy.rules(direction);
                let theirs = other.map_or(&[][..], |p| p.rules(direction));
                let changed_rules: Vec<_> = (0..rules.len())
                    .filter(|&i| {
                        whole || theirs.get(i).is_none_or(|t| !admin_rule_eq(t, &rules[i]))
                    })
                    .map(|i| &rules[i])
                    .collect();
                for pod in model.pod_ids() {
                    let endpoint = of_side[eps.of_pod(model, pod) as usize];
                    if admin::subject_selects(model, policy, &model.pods[pod.index()]) {
                        selected.insert(endpoint);
                    }
                    if changed_rules
                        .iter()
                        .any(|r| admin::rule_peer(model, r, Endpoint::Pod(pod)).is_some())
                    {
                        peers.insert(endpoint);
                    }
                }
            }
            for &subject in &selected {
                subjects[d].insert(subject);
                if changed[subject as usize] {
                    continue;
                }
                for &peer in &peers {
                    pairs.insert(match direction {
                        Direction::Egress => (subject, peer),
                        Direction::Ingress => (peer, subject),
                    });
                }
            }
        }
    }
    for direction in [Direction::Egress, Direction::Ingress] {
        let d = dir_index(direction);
        for (&subject, peers) in &peers_of[d] {
            if rows[d].contains(&subject) {
                continue;
            }
            let m = matched[subject as usize];
            let (o, n) = (m.old.expect("unchanged"), m.new.expect("unchanged"));
            let (old_pods, new_pods) = (sides.old_eps.pods(old, o), sides.new_eps.pods(new, n));
            let flips = old_pods.iter().zip(new_pods.iter()).any(|(&a, &b)| {
                sides.old.isolated(a, direction) != sides.new.isolated(b, direction)
            });
            match peers {
                Some(set) if !flips => {
                    subjects[d].insert(subject);
                    for &peer in set {
                        pairs.insert(match direction {
                            Direction::Egress => (subject, peer),
                            Direction::Ingress => (peer, subject),
                        });
                    }
                }
                _ => {
                    rows[d].insert(subject);
                }
            }
        }
    }
    for d in 0..2 {
        subjects[d].extend(rows[d].iter().copied());
    }
    if fallback == Fallback::WhenCheaper && matched.len() <= FULL_AT_MOST_ENDPOINTS {
        // The pod pairs the rows take, against an eighth of the endpoint pairs.
        let row_pods: usize = rows
            .iter()
            .flatten()
            .map(|&e| {
                let m = matched[e as usize];
                m.old.map_or(0, |o| sides.old_eps.pods(old, o).len())
                    + m.new.map_or(0, |n| sides.new_eps.pods(new, n).len())
            })
            .sum();
        let pods = old.pods.len().max(new.pods.len());
        let work = row_pods.saturating_mul(pods).saturating_add(pairs.len());
        if work > matched.len() * matched.len() / 8 {
            return None;
        }
    }

    // Evaluate each candidate on both sides: the ports every pod of the source may use
    // towards every pod of the destination (nothing where an end is missing).
    let value = |side: &Side<'_>, eps: &Endpoints, src: Option<u32>, dst: Option<u32>| {
        let (Some(src), Some(dst)) = (src, dst) else {
            return PortSet::default();
        };
        let model = side.model;
        let (src_pods, dst_pods) = (eps.pods(model, src), eps.pods(model, dst));
        let mut allowed: Option<PortSet> = None;
        for &s in src_pods.iter() {
            for &d in dst_pods.iter() {
                let ports = side.pair(s, d);
                allowed = Some(match allowed {
                    Some(a) => a.intersection(&ports),
                    None => ports,
                });
            }
        }
        allowed.unwrap_or_default()
    };
    // Every candidate once: a source row covers its pairs; a destination row the pairs whose
    // source has no row; a single pair only when neither end has a row in its direction.
    let mut raws = Vec::new();
    let mut evaluate = |s: u32, d: u32| {
        if s == d {
            return;
        }
        let (ms, md) = (matched[s as usize], matched[d as usize]);
        let before = value(&sides.old, &sides.old_eps, ms.old, md.old);
        let after = value(&sides.new, &sides.new_eps, ms.new, md.new);
        if before != after {
            raws.push(Raw {
                src: End::Ep {
                    old: ms.old,
                    new: ms.new,
                },
                dst: End::Ep {
                    old: md.old,
                    new: md.new,
                },
                before,
                after,
            });
        }
    };
    let all = 0..matched.len() as u32;
    for &s in &rows[0] {
        all.clone().for_each(|d| evaluate(s, d));
    }
    for &d in &rows[1] {
        all.clone()
            .filter(|s| !rows[0].contains(s))
            .for_each(|s| evaluate(s, d));
    }
    for &(s, d) in &pairs {
        if !rows[0].contains(&s) && !rows[1].contains(&d) {
            evaluate(s, d);
        }
    }

    // External ranges of the changed endpoints and of the edits' subjects.
    for direction in [Direction::Egress, Direction::Ingress] {
        let mut touched: Vec<u32> = subjects[dir_index(direction)].iter().copied().collect();
        touched.sort_unstable();
        for e in touched {
            let m = matched[e as usize];
            let old_pods = m.old.map(|o| sides.old_eps.pods(old, o));
            let new_pods = m.new.map(|n| sides.new_eps.pods(new, n));
            external::rows(
                old_pods.as_deref().map(|p| (&sides.old, p)),
                new_pods.as_deref().map(|p| (&sides.new, p)),
                direction,
                End::Ep {
                    old: m.old,
                    new: m.new,
                },
                &mut raws,
            );
        }
    }

    let mut appeared = Vec::new();
    let mut disappeared = Vec::new();
    for m in &matched {
        match (m.old, m.new) {
            (None, Some(n)) => appeared.push(sides.new_eps.name(new, n)),
            (Some(o), None) => disappeared.push(sides.old_eps.name(old, o)),
            _ => {}
        }
    }
    appeared.sort();
    disappeared.sort();
    Some(sides.finish(raws, &edits, appeared, disappeared, true))
}
