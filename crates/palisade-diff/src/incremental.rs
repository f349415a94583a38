//! The incremental path: both sides share namespaces, pods and workloads, so only the pods
//! a policy edit selects as subject can change, and only towards the peers its rules name.

use crate::eval::{Side, Target};
use crate::policies::{Edit, dir_index};
use crate::{Diff, End, Endpoints, Raw, Sides, external, policies};
use palisade_engine::Engine;
use palisade_engine::connectivity::Level;
use palisade_engine::ipspace::Family;
use palisade_engine::ipspace::{key as ip_key, net_bounds};
use palisade_engine::semantics;
use palisade_model::PeerKind;
use palisade_model::{Direction, Labels, Model, NamespaceId, PodId, PortSet};
use rustc_hash::{FxHashMap, FxHashSet};

/// Pods of the model grouped for fast peer enumeration.
pub(crate) struct PodIndex {
    by_namespace: Vec<Vec<PodId>>,
    /// Per namespace, its pods in groups that no pod selector or namespace selector tells
    /// apart (same labels and hostNetwork): a policy selects, and a selector peer admits,
    /// all of a group or none of it, so each group is asked once. Built on first use: a
    /// small change touches few namespaces of a large cluster.
    alike: Vec<std::cell::OnceCell<Vec<Vec<PodId>>>>,
    /// Pods by IP on the numeric line, sorted (built on first use).
    by_ip: std::cell::OnceCell<Vec<(Family, u128, PodId)>>,
    all: Vec<PodId>,
}

impl PodIndex {
    pub(crate) fn new(model: &Model) -> Self {
        let mut by_namespace = vec![Vec::new(); model.namespaces.len()];
        for pod in model.pod_ids() {
            by_namespace[model.pods[pod.index()].namespace.index()].push(pod);
        }
        PodIndex {
            alike: vec![std::cell::OnceCell::new(); by_namespace.len()],
            by_namespace,
            by_ip: std::cell::OnceCell::new(),
            all: model.pod_ids().collect(),
        }
    }

    pub(crate) fn alike(&self, model: &Model, namespace: NamespaceId) -> &[Vec<PodId>] {
        self.alike[namespace.index()].get_or_init(|| {
            let mut groups: Vec<Vec<PodId>> = Vec::new();
            let mut group_of: FxHashMap<(&Labels, bool), usize> = FxHashMap::default();
            for &pod in &self.by_namespace[namespace.index()] {
                let p = &model.pods[pod.index()];
                let group = *group_of
                    .entry((&p.labels, p.host_network))
                    .or_insert_with(|| {
                        groups.push(Vec::new());
                        groups.len() - 1
                    });
                groups[group].push(pod);
            }
            groups
        })
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

/// The versions of an edit, as (on the new side, side, policy id).
pub(crate) fn versions<'a, 'm>(
    edit: &Edit,
    old: &'a Side<'m>,
    new: &'a Side<'m>,
) -> impl Iterator<Item = (bool, &'a Side<'m>, palisade_model::PolicyId)> {
    edit.old
        .map(|p| (false, old, p))
        .into_iter()
        .chain(edit.new.map(|p| (true, new, p)))
}

/// Adds the pods the rules of `policy` (one direction) admit; `false` when a rule admits
/// every peer.
pub(crate) fn admitted_pods(
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
            let admits = |pod: PodId| side.peer_admits(policy, &peer.kind, Target::Pod(pod));
            match &peer.kind {
                // Candidates: the pods of the peer's namespaces; `peer_admits` decides, once
                // per group of alike pods.
                PeerKind::Selector {
                    namespace_selector, ..
                } => {
                    let namespaces =
                        semantics::peer_namespaces(p.namespace, namespace_selector.as_ref());
                    for (i, ns) in model.namespaces.iter().enumerate() {
                        if namespaces.contains(NamespaceId::new(i), &ns.labels) {
                            for group in index.alike(model, NamespaceId::new(i)) {
                                if admits(group[0]) {
                                    out.extend(group.iter().copied());
                                }
                            }
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
                        if admits(pod) {
                            out.insert(pod);
                        }
                    }
                }
            }
        }
    }
    true
}

/// Candidate pairs per pod above which pairs are evaluated once per pair of pod classes.
///
/// Compiling both sides to find the classes costs a few microseconds per pod; the reference
/// evaluates a pair in one to tens of microseconds (more the more policies select its ends).
/// A policy-only pull request has far fewer candidates than this and never pays for the
/// compilation; replacing a whole namespace's policies (e.g. one generated policy per pod by
/// one per group of alike pods) makes nearly every pair of its pods a candidate.
const CLASSES_ABOVE_PAIRS_PER_POD: usize = 64;

/// When [`diff`] evaluates pairs once per pair of pod classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ByClasses {
    /// Above [`CLASSES_ABOVE_PAIRS_PER_POD`] candidate pairs per pod.
    WhenMany,
    /// Always (tests: small models then take the same path as large ones).
    Always,
}

/// The key under which a pair's answers are computed once: the pair itself, or, when there
/// are many candidates, the classes of its pods on both sides. Two pods in the same class of
/// the compiled engine on each side are alike to every NetworkPolicy of that side (same
/// namespace, labels, named ports, hostNetwork and ipBlock atoms), so the reference gives
/// every pair of their classes the same answer.
struct PairClasses {
    /// Per pod, a dense id of its (old class, new class); empty when pairs key by pod.
    of_pod: Vec<u32>,
}

impl PairClasses {
    fn when_worth_it(old: &Model, new: &Model, candidates: usize, when: ByClasses) -> Self {
        if when == ByClasses::WhenMany
            && candidates <= CLASSES_ABOVE_PAIRS_PER_POD * old.pods.len().max(1)
        {
            return PairClasses { of_pod: Vec::new() };
        }
        let (old_engine, new_engine) = (Engine::new(old), Engine::new(new));
        let mut ids: FxHashMap<(u32, u32), u32> = FxHashMap::default();
        let of_pod = old
            .pod_ids()
            .map(|pod| {
                let both = (old_engine.class_of(pod), new_engine.class_of(pod));
                let next = ids.len() as u32;
                *ids.entry(both).or_insert(next)
            })
            .collect();
        PairClasses { of_pod }
    }

    fn key(&self, src: PodId, dst: PodId) -> (u32, u32) {
        if self.of_pod.is_empty() {
            (src.index() as u32, dst.index() as u32)
        } else {
            (self.of_pod[src.index()], self.of_pod[dst.index()])
        }
    }
}

/// Both sides' answers for pod pairs, each computed once per key.
struct PairAnswers {
    classes: PairClasses,
    cache: FxHashMap<(u32, u32), (PortSet, PortSet)>,
}

impl PairAnswers {
    /// Whether the sides answer a candidate pair differently. Keyed by pod, most candidates
    /// are asked once, so their answers are not kept.
    fn differ(&mut self, sides: &Sides<'_>, src: PodId, dst: PodId) -> bool {
        if self.classes.of_pod.is_empty() {
            return sides.old.pair(src, dst) != sides.new.pair(src, dst);
        }
        let (before, after) = self.get(sides, src, dst);
        before != after
    }

    fn get(&mut self, sides: &Sides<'_>, src: PodId, dst: PodId) -> &(PortSet, PortSet) {
        self.cache
            .entry(self.classes.key(src, dst))
            .or_insert_with(|| (sides.old.pair(src, dst), sides.new.pair(src, dst)))
    }
}

pub(crate) fn diff(old: &Model, new: &Model, level: Level, by_classes: ByClasses) -> Diff {
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

    // Per direction, the subjects (pods an edited policy version selects) and the versions
    // selecting each, as (on the new side, policy id). A policy selects pods of its own
    // namespace only, so only those are asked.
    type Versions = Vec<(bool, palisade_model::PolicyId)>;
    let mut selecting: [FxHashMap<PodId, Versions>; 2] =
        [FxHashMap::default(), FxHashMap::default()];
    for edit in &edits {
        for direction in [Direction::Egress, Direction::Ingress] {
            if !edit.touches(direction) {
                continue;
            }
            for (is_new, side, policy) in versions(edit, &sides.old, &sides.new) {
                let ns = side.model.policies[policy.index()].namespace;
                let ns_name = &side.model.namespace(ns).name;
                let Some(ns) = old.namespace_id(ns_name) else {
                    continue;
                };
                for group in index.alike(old, ns) {
                    if side.selects(policy, group[0], direction) {
                        for &pod in group {
                            selecting[dir_index(direction)]
                                .entry(pod)
                                .or_default()
                                .push((is_new, policy));
                        }
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
        let selecting = &selecting[dir_index(direction)];
        let mut sorted: Vec<PodId> = selecting.keys().copied().collect();
        sorted.sort_unstable();
        for subject in sorted {
            let flips =
                sides.old.isolated(subject, direction) != sides.new.isolated(subject, direction);
            let mut peers: FxHashSet<PodId> = FxHashSet::default();
            let mut every = flips;
            if !every {
                for &(is_new, policy) in &selecting[&subject] {
                    let side = if is_new { &sides.new } else { &sides.old };
                    // The peers a version admits do not depend on the subject.
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
    let mut answers = PairAnswers {
        classes: PairClasses::when_worth_it(old, new, sorted.len(), by_classes),
        cache: FxHashMap::default(),
    };
    for (s, d) in sorted {
        let (es, ed) = (eps.of_pod(old, s), eps.of_pod(old, d));
        if es == ed || changed_eps.contains(&(es, ed)) {
            continue;
        }
        if answers.differ(&sides, s, d) {
            changed_eps.insert((es, ed));
        }
    }
    let mut changed_eps: Vec<(u32, u32)> = changed_eps.into_iter().collect();
    changed_eps.sort_unstable();
    for (es, ed) in changed_eps {
        let (mut before, mut after): (Option<PortSet>, Option<PortSet>) = (None, None);
        let (src_pods, dst_pods) = (eps.pods(old, es), eps.pods(old, ed));
        for &s in src_pods.iter() {
            for &d in dst_pods.iter() {
                let (b, a) = answers.get(&sides, s, d);
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
        let mut touched: Vec<u32> = selecting[dir_index(direction)]
            .keys()
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
