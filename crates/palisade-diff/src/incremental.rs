//! The incremental path: both sides share namespaces, pods and workloads, so only the pods
//! a policy edit selects as subject can change, and only towards the peers its rules name.

use crate::eval::{Side, Target};
use crate::policies::{Edit, dir_index};
use crate::{Diff, End, Endpoints, Raw, Sides, external, policies};
use palisade_engine::connectivity::Level;
use palisade_engine::ipspace::Family;
use palisade_engine::ipspace::{key as ip_key, net_bounds};
use palisade_engine::semantics;
use palisade_model::PeerKind;
use palisade_model::{Direction, Model, NamespaceId, PodId, PortSet};
use rustc_hash::{FxHashMap, FxHashSet};

/// Pods of the model grouped for fast peer enumeration.
struct PodIndex {
    by_namespace: Vec<Vec<PodId>>,
    /// Pods by IP on the numeric line, sorted (built on first use).
    by_ip: std::cell::OnceCell<Vec<(Family, u128, PodId)>>,
    all: Vec<PodId>,
}

impl PodIndex {
    fn new(model: &Model) -> Self {
        let mut by_namespace = vec![Vec::new(); model.namespaces.len()];
        for pod in model.pod_ids() {
            by_namespace[model.pods[pod.index()].namespace.index()].push(pod);
        }
        PodIndex {
            by_namespace,
            by_ip: std::cell::OnceCell::new(),
            all: model.pod_ids().collect(),
        }
    }

    fn by_ip(&self, model: &Model) -> &[(Family, u128, PodId)] {
        self.by_ip.get_or_init(|| {
            let mut v: Vec<(Family, u128, PodId)> = model
                .pod_ids()
                .flat_map(|p| {
                    model.pods[p.index()].ips.iter().map(move |&ip| {
                        let (f, k) = ip_key(ip);
                        (f, k, p)
                    })
                })
                .collect();
            v.sort_unstable();
            v
        })
    }
}

/// The version of an edit on one side, as (side, policy id).
fn versions<'a, 'm>(
    edit: &Edit,
    old: &'a Side<'m>,
    new: &'a Side<'m>,
) -> impl Iterator<Item = (&'a Side<'m>, palisade_model::PolicyId)> {
    edit.old
        .map(|p| (old, p))
        .into_iter()
        .chain(edit.new.map(|p| (new, p)))
}

/// Adds the pods the rules of `policy` (one direction) admit; `false` when a rule admits
/// every peer.
fn admitted_pods(
    side: &Side<'_>,
    index: &PodIndex,
    policy: palisade_model::PolicyId,
    direction: Direction,
    out: &mut FxHashSet<PodId>,
) -> bool {
    let model = side.model;
    let p = &model.policies[policy.index()];
    for rule in p.rules(direction) {
        if rule.peers.is_empty() {
            return false;
        }
        for peer in &rule.peers {
            let mut consider = |pod: PodId| {
                if side.peer_admits(policy, &peer.kind, Target::Pod(pod)) {
                    out.insert(pod);
                }
            };
            match &peer.kind {
                // Candidates: the pods of the peer's namespaces; `peer_admits` decides.
                PeerKind::Selector {
                    namespace_selector, ..
                } => {
                    let namespaces =
                        semantics::peer_namespaces(p.namespace, namespace_selector.as_ref());
                    for (i, ns) in model.namespaces.iter().enumerate() {
                        if namespaces.contains(NamespaceId::new(i), &ns.labels) {
                            index.by_namespace[i].iter().for_each(|&pod| consider(pod));
                        }
                    }
                }
                PeerKind::IpBlock(block) => {
                    let (family, lo, hi) = net_bounds(&block.cidr);
                    let by_ip = index.by_ip(model);
                    let start = by_ip.partition_point(|&(f, k, _)| (f, k) < (family, lo));
                    for &(f, k, pod) in &by_ip[start..] {
                        if (f, k) > (family, hi) {
                            break;
                        }
                        consider(pod);
                    }
                }
            }
        }
    }
    true
}

pub(crate) fn diff(old: &Model, new: &Model, level: Level) -> Diff {
    let edits = policies::edits(old, new);
    let sides = Sides {
        old: Side::new(old),
        new: Side::new(new),
        old_eps: Endpoints::Direct(level),
        new_eps: Endpoints::Direct(level),
        level,
    };
    if edits.is_empty() {
        return sides.finish(Vec::new(), &edits, Vec::new(), Vec::new(), true);
    }
    let index = PodIndex::new(old);

    // Subjects per direction: pods an edited policy version selects.
    let mut subjects: [FxHashSet<PodId>; 2] = [FxHashSet::default(), FxHashSet::default()];
    for edit in &edits {
        for direction in [Direction::Egress, Direction::Ingress] {
            if !edit.touches(direction) {
                continue;
            }
            for (side, policy) in versions(edit, &sides.old, &sides.new) {
                let ns = side.model.policies[policy.index()].namespace;
                let ns_name = &side.model.namespace(ns).name;
                let Some(ns) = old.namespace_id(ns_name) else {
                    continue;
                };
                for &pod in &index.by_namespace[ns.index()] {
                    if side.selects(policy, pod, direction) {
                        subjects[dir_index(direction)].insert(pod);
                    }
                }
            }
        }
    }

    // Candidate pod pairs: each subject towards the peers its edited rules name (every pod
    // when the subject's isolation differs between the sides).
    let mut candidates: FxHashSet<(PodId, PodId)> = FxHashSet::default();
    type AdmittedKey = (bool, palisade_model::PolicyId, usize);
    let mut admitted_cache: FxHashMap<AdmittedKey, Option<Vec<PodId>>> = FxHashMap::default();
    for direction in [Direction::Egress, Direction::Ingress] {
        let mut sorted: Vec<PodId> = subjects[dir_index(direction)].iter().copied().collect();
        sorted.sort_unstable();
        for subject in sorted {
            let flips =
                sides.old.isolated(subject, direction) != sides.new.isolated(subject, direction);
            let mut peers: FxHashSet<PodId> = FxHashSet::default();
            let mut every = flips;
            if !every {
                for edit in &edits {
                    if !edit.touches(direction) {
                        continue;
                    }
                    for (is_new, (side, policy)) in
                        versions(edit, &sides.old, &sides.new).enumerate()
                    {
                        if !side.selects(policy, subject, direction) {
                            continue;
                        }
                        // The peers a version admits do not depend on the subject.
                        let is_new = is_new == 1 || edit.old.is_none();
                        let admitted = admitted_cache
                            .entry((is_new, policy, dir_index(direction)))
                            .or_insert_with(|| {
                                let mut set = FxHashSet::default();
                                admitted_pods(side, &index, policy, direction, &mut set)
                                    .then(|| set.into_iter().collect::<Vec<PodId>>())
                            });
                        match admitted {
                            Some(list) => peers.extend(list.iter().copied()),
                            None => every = true,
                        }
                    }
                }
            }
            let peers: Vec<PodId> = if every {
                index.all.clone()
            } else {
                peers.into_iter().collect()
            };
            for peer in peers {
                if peer == subject {
                    continue;
                }
                candidates.insert(match direction {
                    Direction::Egress => (subject, peer),
                    Direction::Ingress => (peer, subject),
                });
            }
        }
    }

    let eps = &sides.new_eps;
    let mut raws = Vec::new();
    let mut changed_eps: FxHashSet<(u32, u32)> = FxHashSet::default();
    let mut sorted: Vec<(PodId, PodId)> = candidates.into_iter().collect();
    sorted.sort_unstable();
    for (s, d) in sorted {
        let (es, ed) = (eps.of_pod(old, s), eps.of_pod(old, d));
        if es == ed || changed_eps.contains(&(es, ed)) {
            continue;
        }
        if sides.old.pair(s, d) != sides.new.pair(s, d) {
            changed_eps.insert((es, ed));
        }
    }
    let mut changed_eps: Vec<(u32, u32)> = changed_eps.into_iter().collect();
    changed_eps.sort_unstable();
    let mut cache: FxHashMap<(PodId, PodId), (PortSet, PortSet)> = FxHashMap::default();
    for (es, ed) in changed_eps {
        let (mut before, mut after): (Option<PortSet>, Option<PortSet>) = (None, None);
        let (src_pods, dst_pods) = (eps.pods(old, es), eps.pods(old, ed));
        for &s in src_pods.iter() {
            for &d in dst_pods.iter() {
                let (b, a) = cache
                    .entry((s, d))
                    .or_insert_with(|| (sides.old.pair(s, d), sides.new.pair(s, d)));
                before = Some(before.map_or_else(|| b.clone(), |x| x.intersection(b)));
                after = Some(after.map_or_else(|| a.clone(), |x| x.intersection(a)));
            }
        }
        raws.push(Raw {
            src: End::Ep {
                old: Some(es),
                new: Some(es),
            },
            dst: End::Ep {
                old: Some(ed),
                new: Some(ed),
            },
            before: before.unwrap_or_default(),
            after: after.unwrap_or_default(),
        });
    }

    // External ranges of every endpoint holding a subject.
    for direction in [Direction::Egress, Direction::Ingress] {
        let mut touched: Vec<u32> = subjects[dir_index(direction)]
            .iter()
            .map(|&p| eps.of_pod(old, p))
            .collect();
        touched.sort_unstable();
        touched.dedup();
        for e in touched {
            let pods = eps.pods(old, e);
            external::rows(
                Some((&sides.old, &pods)),
                Some((&sides.new, &pods)),
                direction,
                End::Ep {
                    old: Some(e),
                    new: Some(e),
                },
                &mut raws,
            );
        }
    }
    sides.finish(raws, &edits, Vec::new(), Vec::new(), true)
}
