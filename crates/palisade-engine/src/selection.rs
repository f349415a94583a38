//! What an answer is about: kubectl's `-n` (a namespace) and `-l` (a label selector on
//! pods). Every command and the UI narrow their output with this one definition; the
//! evaluation itself always covers the whole input, so no verdict depends on it.
//!
//! - A **pod** is selected when it is in the namespace (with `-n`) and its labels match the
//!   selector (with `-l`). A **workload** (or bare pod) row is selected when one of its pods
//!   is.
//! - An **object** is selected ([`Selection::object_index`]) when it concerns a selected
//!   pod: the pod itself; a workload with a selected pod (or, having no pods, whose template
//!   labels match); a NetworkPolicy whose `spec.podSelector` selects a selected pod; a
//!   Service whose selector does; a Namespace with a selected pod; with `-l`, an admin-tier
//!   policy whose subject selects a selected pod. With `-n` alone, objects of the namespace
//!   are selected whatever they select, and cluster-scoped objects are not judged (kept).

use std::collections::HashSet;

use palisade_model::{LabelSelector, Model, PodId, Span};
use rustc_hash::FxHashMap;

use crate::connectivity::{Connectivity, Peer};
use crate::{admin, semantics, services};

/// `-n` and `-l`: what the answer is narrowed to. The default narrows nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selection {
    /// `-n`: the namespace.
    pub namespace: Option<String>,
    /// `-l`: the pods' labels.
    pub selector: Option<LabelSelector>,
}

impl Selection {
    /// Nothing narrowed.
    pub fn is_everything(&self) -> bool {
        self.namespace.is_none() && self.selector.is_none()
    }

    fn in_namespace(&self, model: &Model, ns: palisade_model::NamespaceId) -> bool {
        self.namespace
            .as_deref()
            .is_none_or(|n| model.namespace(ns).name == n)
    }

    /// Whether a pod is one the answer is about.
    pub fn pod(&self, model: &Model, id: PodId) -> bool {
        let pod = &model.pods[id.index()];
        self.in_namespace(model, pod.namespace)
            && self
                .selector
                .as_ref()
                .is_none_or(|s| s.matches(&pod.labels))
    }

    /// The selected pods, in pod order.
    pub fn pods(&self, model: &Model) -> Vec<PodId> {
        model.pod_ids().filter(|&p| self.pod(model, p)).collect()
    }

    /// The display names (`ns/pod` and `ns/workload`) of the selected pods and of the
    /// workloads they belong to, as the outputs name their rows.
    pub fn peer_names(&self, model: &Model) -> HashSet<String> {
        let mut names = HashSet::new();
        for id in self.pods(model) {
            names.insert(model.pod_name(id));
            names.insert(model.pod_workload_name(id));
        }
        names
    }

    /// Which objects of the input concern the selection, by their spans, for narrowing
    /// findings (lint) to them. Built once: a cluster has many objects and many findings.
    pub fn object_index(&self, model: &Model) -> ObjectIndex {
        let pods = self.pods(model);
        let selected_pod: HashSet<PodId> = pods.iter().copied().collect();
        let mut by_namespace: FxHashMap<palisade_model::NamespaceId, Vec<PodId>> =
            FxHashMap::default();
        for &p in &pods {
            by_namespace
                .entry(model.pods[p.index()].namespace)
                .or_default()
                .push(p);
        }
        let none = Vec::new();
        let in_ns = |ns| by_namespace.get(&ns).unwrap_or(&none);
        let narrowing_pods = self.selector.is_some();
        let mut index = ObjectIndex::default();
        for policy in &model.policies {
            let selected = self.in_namespace(model, policy.namespace)
                && (!narrowing_pods
                    || in_ns(policy.namespace).iter().any(|&p| {
                        let pod = &model.pods[p.index()];
                        semantics::policy_selects(
                            policy,
                            pod.namespace,
                            &pod.labels,
                            pod.host_network,
                        )
                    }));
            index.add(policy.span, selected);
        }
        for w in &model.workloads {
            let selected = self.in_namespace(model, w.namespace)
                && (!narrowing_pods
                    || if w.pods.is_empty() {
                        self.selector
                            .as_ref()
                            .is_some_and(|s| s.matches(&w.template_labels))
                    } else {
                        w.pods.iter().any(|p| selected_pod.contains(p))
                    });
            index.add(w.span, selected);
        }
        for (i, pod) in model.pods.iter().enumerate() {
            index.add(pod.span, selected_pod.contains(&PodId::new(i)));
        }
        for service in &model.services {
            let selected = self.in_namespace(model, service.namespace)
                && (!narrowing_pods
                    || services::selected_pods(model, service)
                        .iter()
                        .any(|p| selected_pod.contains(p)));
            index.add(service.span, selected);
        }
        for (i, ns) in model.namespaces.iter().enumerate() {
            let id = palisade_model::NamespaceId::new(i);
            let selected =
                self.in_namespace(model, id) && (!narrowing_pods || by_namespace.contains_key(&id));
            index.add(ns.span, selected);
        }
        if narrowing_pods {
            for policy in &model.admin_policies {
                let selected = pods
                    .iter()
                    .any(|&p| admin::subject_selects(model, policy, &model.pods[p.index()]));
                index.add(policy.span, selected);
            }
        }
        index.finish();
        index
    }
}

/// The spans of the input's objects, each with whether it concerns the selection
/// (see [`Selection::object_index`]).
#[derive(Clone, Debug, Default)]
pub struct ObjectIndex {
    /// `(source, start, end)` → selected, sorted; objects with the same span (a workload and
    /// the pods made from its template) are selected when one of them is.
    objects: Vec<((u32, u32, u32), bool)>,
}

impl ObjectIndex {
    fn add(&mut self, span: Option<Span>, selected: bool) {
        if let Some(s) = span {
            self.objects.push(((s.source.0, s.start, s.end), selected));
        }
    }

    fn finish(&mut self) {
        self.objects.sort_unstable();
        let mut merged: Vec<((u32, u32, u32), bool)> = Vec::with_capacity(self.objects.len());
        for (key, selected) in self.objects.drain(..) {
            match merged.last_mut() {
                Some((k, s)) if *k == key => *s |= selected,
                _ => merged.push((key, selected)),
            }
        }
        self.objects = merged;
    }

    /// Whether something at `span` (a finding) concerns the selection: it lies inside
    /// objects and one of the innermost of them is selected. Something inside no object
    /// (a whole file, an object of a kind not listed) may concern anything and is kept.
    pub fn keeps(&self, span: Option<Span>) -> bool {
        let Some(span) = span else {
            return true;
        };
        let source = span.source.0;
        // Objects are whole documents or list items: they do not overlap, so the one that
        // starts last at or before the span is the only candidate (with its equal spans).
        let end = self
            .objects
            .partition_point(|((s, start, _), _)| (*s, *start) <= (source, span.start));
        let mut containing = self.objects[..end]
            .iter()
            .rev()
            .take_while(|((s, start, _), _)| *s == source && *start <= span.start)
            .filter(|((_, _, stop), _)| *stop >= span.end)
            .peekable();
        if containing.peek().is_none() {
            return true;
        }
        containing.any(|(_, selected)| *selected)
    }
}

impl Connectivity {
    /// The connections with at least one end chosen (`-n`, `-l`): traffic into and out of
    /// the selection, from and to anything. Peers keep their order; unconnected chosen
    /// peers stay (a graph shows them as isolated nodes).
    pub fn restrict(self, chosen: impl Fn(&Peer) -> bool) -> Connectivity {
        let picked: Vec<bool> = self.peers.iter().map(&chosen).collect();
        let connections: Vec<_> = self
            .connections
            .into_iter()
            .filter(|c| picked[c.src] || picked[c.dst])
            .collect();
        let mut used = picked;
        for c in &connections {
            used[c.src] = true;
            used[c.dst] = true;
        }
        let mut index = vec![usize::MAX; self.peers.len()];
        let mut peers = Vec::new();
        for (i, peer) in self.peers.into_iter().enumerate() {
            if used[i] {
                index[i] = peers.len();
                peers.push(peer);
            }
        }
        Connectivity {
            peers,
            connections: connections
                .into_iter()
                .map(|mut c| {
                    c.src = index[c.src];
                    c.dst = index[c.dst];
                    c
                })
                .collect(),
        }
    }
}
