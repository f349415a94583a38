//! `palisade audit`: a per-namespace summary of how well the policies protect the
//! workloads.
//!
//! "Open to the cluster" means the workload's ingress is not isolated, or an ingress rule
//! of a policy selecting it admits every pod of every namespace (a rule without peers, or
//! `namespaceSelector: {}` without a narrower `podSelector`). "Open to the world" means
//! not isolated, or a rule without peers, or an `ipBlock` of `0.0.0.0/0` or `::/0`.
//! A namespace whose pods policies Palisade does not evaluate may select (Cilium, Calico,
//! …) lists them as `uncertain`: its lines describe NetworkPolicy alone.

use palisade_engine::{Engine, Uncertainty};
use palisade_model::{Direction, Model, PeerKind};
use std::collections::BTreeMap;

/// One namespace of the report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamespaceAudit {
    /// Name.
    pub name: String,
    /// Policies in it, by name.
    pub policies: Vec<String>,
    /// Workloads (and bare pods), by `ns/name`.
    pub workloads: Vec<String>,
    /// Workloads whose every pod is isolated for ingress.
    pub ingress_isolated: Vec<String>,
    /// Workloads whose every pod is isolated for egress.
    pub egress_isolated: Vec<String>,
    /// Workloads any pod of the cluster may connect to.
    pub open_to_cluster: Vec<String>,
    /// Workloads any address may connect to.
    pub open_to_world: Vec<String>,
    /// Policies Palisade does not evaluate that may select pods of this namespace: every
    /// line above may be wrong for those pods (a CiliumNetworkPolicy may isolate what looks
    /// open here).
    pub uncertain: Vec<String>,
}

/// The whole report, namespaces sorted by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Audit {
    /// Every namespace with pods, workloads or policies.
    pub namespaces: Vec<NamespaceAudit>,
}

impl Audit {
    /// Namespaces with workloads and no policy.
    pub fn without_policy(&self) -> Vec<&str> {
        self.namespaces
            .iter()
            .filter(|n| n.policies.is_empty() && !n.workloads.is_empty())
            .map(|n| n.name.as_str())
            .collect()
    }
}

/// Builds the report.
pub fn audit(model: &Model, engine: &Engine) -> Audit {
    let mut by_ns: BTreeMap<String, NamespaceAudit> = BTreeMap::new();
    for p in &model.policies {
        let ns = &model.namespace(p.namespace).name;
        by_ns
            .entry(ns.clone())
            .or_insert_with(|| NamespaceAudit {
                name: ns.clone(),
                ..Default::default()
            })
            .policies
            .push(p.name.clone());
    }
    // (ingress isolated, egress isolated, open to cluster, open to world) per workload.
    let mut units: BTreeMap<(String, String), [bool; 4]> = BTreeMap::new();
    for pod_id in model.pod_ids() {
        let pod = &model.pods[pod_id.index()];
        let class = engine.class_of(pod_id);
        let ingress = !engine
            .isolating_policies(class, Direction::Ingress)
            .is_empty();
        let egress = !engine
            .isolating_policies(class, Direction::Egress)
            .is_empty();
        let (mut cluster, mut world) = (!ingress, !ingress);
        if ingress {
            for policy in engine
                .isolating_policies(class, Direction::Ingress)
                .iter()
                .map(|&p| &model.policies[p.index()])
            {
                for rule in policy.rules(Direction::Ingress) {
                    if rule.peers.is_empty() {
                        cluster = true;
                        world = true;
                    }
                    for peer in &rule.peers {
                        match &peer.kind {
                            PeerKind::Selector {
                                namespace_selector: Some(ns),
                                pod_selector,
                            } if ns.is_empty()
                                && pod_selector.as_ref().is_none_or(|s| s.is_empty()) =>
                            {
                                cluster = true
                            }
                            PeerKind::IpBlock(b) if b.cidr.prefix_len() == 0 => world = true,
                            _ => {}
                        }
                    }
                }
            }
        }
        let ns = model.namespace(pod.namespace).name.clone();
        let entry = units
            .entry((ns, model.pod_workload_name(pod_id)))
            .or_insert([true, true, false, false]);
        entry[0] &= ingress;
        entry[1] &= egress;
        entry[2] |= cluster;
        entry[3] |= world;
    }
    for ((ns, name), [ingress, egress, cluster, world]) in units {
        let entry = by_ns.entry(ns.clone()).or_insert_with(|| NamespaceAudit {
            name: ns,
            ..Default::default()
        });
        entry.workloads.push(name.clone());
        if ingress {
            entry.ingress_isolated.push(name.clone());
        }
        if egress {
            entry.egress_isolated.push(name.clone());
        }
        if cluster {
            entry.open_to_cluster.push(name.clone());
        }
        if world {
            entry.open_to_world.push(name);
        }
    }
    let uncertainty = Uncertainty::new(model);
    if uncertainty.any() {
        let mut pods_by_ns: BTreeMap<&str, Vec<palisade_model::PodId>> = BTreeMap::new();
        for pod_id in model.pod_ids() {
            let ns = &model.namespace(model.pods[pod_id.index()].namespace).name;
            pods_by_ns.entry(ns).or_default().push(pod_id);
        }
        for (ns, pods) in pods_by_ns {
            if let Some(entry) = by_ns.get_mut(ns) {
                entry.uncertain = uncertainty.names(model, pods);
            }
        }
    }
    let mut namespaces: Vec<NamespaceAudit> = by_ns.into_values().collect();
    for n in &mut namespaces {
        n.policies.sort();
    }
    Audit { namespaces }
}
