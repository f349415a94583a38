//! Address → endpoint mapping: Hubble's names first, then pod IPs; unmapped addresses stay IPs.

use std::net::IpAddr;
use std::sync::Arc;

use palisade_flows::EndpointName;
use palisade_model::{Model, PodId};
use rustc_hash::FxHashMap;

/// How a peer was mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MapSource {
    /// Hubble named the pod (`namespace/pod_name`) and the model has it.
    HubbleName,
    /// Hubble named a pod the model lacks, whose name is `WORKLOAD-HASH[-SUFFIX]` of a
    /// workload the model has (manifests without live pods): mapped to that workload.
    HubbleWorkload,
    /// The address is a pod IP of the model.
    Ip,
    /// Neither: the peer stays an IP address (an external peer, or a pod the model lacks).
    Unmapped,
    /// The address is a Service's ClusterIP: mapped to one of its backends.
    Service,
}

/// One end of a session, mapped to the cluster model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The pod, when mapped.
    pub pod: Option<PodId>,
    /// `namespace/name` of the pod's workload (or of the pod), when mapped.
    pub name: Option<Arc<str>>,
    /// The pod's namespace, when mapped; else the namespace Hubble names, if any.
    pub namespace: Option<Arc<str>>,
    /// How it was mapped.
    pub source: MapSource,
    /// What Hubble (or the CSV) named it, if anything.
    pub named: Option<Arc<EndpointName>>,
    /// The pod the address belongs to in the model, when it differs from `pod` (Hubble names
    /// another pod than the address's owner).
    pub ip_pod: Option<PodId>,
    /// `namespace/pod` of `pod`, for messages.
    pub pod_name: Option<Arc<str>>,
    /// `namespace/pod` of `ip_pod`, for messages.
    pub ip_pod_name: Option<Arc<str>>,
}

impl Peer {
    /// The label shown for the peer: `namespace/workload`, or the IP.
    pub fn label(&self, ip: IpAddr) -> String {
        match &self.name {
            Some(n) => n.to_string(),
            None => ip.to_string(),
        }
    }

    /// Whether the mapping is doubtful (what [`Peer::mapping_problem`] would explain), without
    /// building the message.
    pub fn has_mapping_problem(&self) -> bool {
        let Some(named) = self.named.as_deref() else {
            return false;
        };
        !named.namespace.is_empty()
            && !named.pod_name.is_empty()
            && !matches!(
                (self.source, &self.ip_pod_name),
                (MapSource::HubbleName | MapSource::HubbleWorkload, None)
            )
    }

    /// When the mapping is doubtful, why (starting with the address).
    pub fn mapping_problem(&self, ip: IpAddr) -> Option<String> {
        self.mapping_problem_after("", ip)
    }

    /// [`Peer::mapping_problem`] after `prefix` and a space (none when `prefix` is empty),
    /// built in one allocation: classifying a session whose Hubble names the model lacks
    /// does this for every session.
    pub(crate) fn mapping_problem_after(&self, prefix: &str, ip: IpAddr) -> Option<String> {
        use std::fmt::Write as _;
        let named = self.named.as_deref()?;
        if named.namespace.is_empty() || named.pod_name.is_empty() {
            return None;
        }
        enum Tail<'a> {
            GivenTo(&'a str),
            Lacks(&'a str),
            LacksNoPod,
        }
        let tail = match (self.source, &self.ip_pod_name) {
            (MapSource::HubbleName | MapSource::HubbleWorkload, Some(other)) => {
                Tail::GivenTo(other)
            }
            (MapSource::Ip, _) => Tail::Lacks(self.pod_name.as_deref().unwrap_or("?")),
            (MapSource::Unmapped, _) => Tail::LacksNoPod,
            (MapSource::HubbleName | MapSource::HubbleWorkload, None) | (MapSource::Service, _) => {
                return None;
            }
        };
        let mut s = String::with_capacity(
            prefix.len() + named.namespace.len() + named.pod_name.len() + 192,
        );
        if !prefix.is_empty() {
            s.push_str(prefix);
            s.push(' ');
        }
        let _ = write!(s, "{ip}");
        s.push_str(": Hubble names it ");
        s.push_str(&named.namespace);
        s.push('/');
        s.push_str(&named.pod_name);
        match tail {
            Tail::GivenTo(other) => {
                s.push_str(", but the cluster model gives that address to ");
                s.push_str(other);
            }
            Tail::Lacks(mapped) => {
                s.push_str(", which the cluster model lacks; the address maps to ");
                s.push_str(mapped);
            }
            Tail::LacksNoPod => s.push_str(
                ", which the cluster model lacks (and no pod has the address); the verdict treats it as external",
            ),
        }
        Some(s)
    }
}

/// Maps addresses and Hubble names to pods of a model.
#[derive(Debug)]
pub struct Mapper<'m> {
    model: &'m Model,
    by_ip: FxHashMap<IpAddr, PodId>,
    by_name: FxHashMap<Box<str>, FxHashMap<Box<str>, PodId>>,
    by_workload: FxHashMap<Box<str>, FxHashMap<Box<str>, PodId>>,
    workload: Vec<Arc<str>>,
    namespace: Vec<Arc<str>>,
    pod_name: Vec<Arc<str>>,
}

impl<'m> Mapper<'m> {
    /// Indexes the model's pods by IP (`status.podIP(s)`) and by `namespace/name`.
    pub fn new(model: &'m Model) -> Self {
        let mut by_ip = FxHashMap::default();
        let mut by_name: FxHashMap<Box<str>, FxHashMap<Box<str>, PodId>> = FxHashMap::default();
        let namespaces: Vec<Arc<str>> = model
            .namespaces
            .iter()
            .map(|n| Arc::from(n.name.as_str()))
            .collect();
        let mut workload_names: FxHashMap<usize, Arc<str>> = FxHashMap::default();
        let mut workload = Vec::with_capacity(model.pods.len());
        let mut namespace = Vec::with_capacity(model.pods.len());
        let mut pod_name = Vec::with_capacity(model.pods.len());
        for id in model.pod_ids() {
            let pod = &model.pods[id.index()];
            for ip in &pod.ips {
                by_ip.entry(*ip).or_insert(id);
            }
            by_name
                .entry(model.namespace(pod.namespace).name.as_str().into())
                .or_default()
                .entry(pod.name.as_str().into())
                .or_insert(id);
            let label = match pod.workload {
                Some(w) => workload_names
                    .entry(w.index())
                    .or_insert_with(|| Arc::from(model.pod_workload_name(id)))
                    .clone(),
                None => Arc::from(model.pod_name(id)),
            };
            workload.push(label);
            namespace.push(namespaces[pod.namespace.index()].clone());
            pod_name.push(Arc::from(model.pod_name(id)));
        }
        let mut by_workload: FxHashMap<Box<str>, FxHashMap<Box<str>, PodId>> = FxHashMap::default();
        for w in &model.workloads {
            if let (None, Some(&pod)) = (w.owner, w.pods.first()) {
                by_workload
                    .entry(model.namespace(w.namespace).name.as_str().into())
                    .or_default()
                    .entry(w.name.as_str().into())
                    .or_insert(pod);
            }
        }
        Mapper {
            model,
            by_ip,
            by_name,
            by_workload,
            workload,
            namespace,
            pod_name,
        }
    }

    /// The model.
    pub fn model(&self) -> &'m Model {
        self.model
    }

    /// The pod with an address.
    pub fn pod_of_ip(&self, ip: IpAddr) -> Option<PodId> {
        self.by_ip.get(&ip).copied()
    }

    /// The pod named `namespace`/`name`.
    pub fn pod_named(&self, namespace: &str, name: &str) -> Option<PodId> {
        self.by_name.get(namespace)?.get(name).copied()
    }

    /// The pod standing for the workload a generated pod name belongs to: `frontend-7d9c6b5f4-x2mzq`
    /// (Deployment) or `redis-cart-0` (StatefulSet) → `frontend` / `redis-cart`.
    pub fn pod_of_generated_name(&self, namespace: &str, name: &str) -> Option<PodId> {
        let workloads = self.by_workload.get(namespace)?;
        let mut rest = name;
        for _ in 0..2 {
            rest = &rest[..rest.rfind('-')?];
            if let Some(&p) = workloads.get(rest) {
                return Some(p);
            }
        }
        None
    }

    /// `namespace/workload` of a pod (or `namespace/pod` when it has no workload).
    pub fn workload_of(&self, pod: PodId) -> &Arc<str> {
        &self.workload[pod.index()]
    }

    /// A peer that is a known pod, found another way than by its address (`source`).
    pub fn peer_of_pod(&self, pod: PodId, source: MapSource) -> Peer {
        Peer {
            pod: Some(pod),
            name: Some(self.workload[pod.index()].clone()),
            namespace: Some(self.namespace[pod.index()].clone()),
            source,
            named: None,
            ip_pod: None,
            pod_name: Some(self.pod_name[pod.index()].clone()),
            ip_pod_name: None,
        }
    }

    /// Maps one end of a session.
    pub fn peer(&self, ip: IpAddr, named: Option<&Arc<EndpointName>>) -> Peer {
        let ip_pod = self.pod_of_ip(ip);
        let by_name = named.and_then(|n| {
            if n.namespace.is_empty() || n.pod_name.is_empty() {
                None
            } else {
                self.pod_named(&n.namespace, &n.pod_name)
            }
        });
        let by_workload = || {
            let n = named?;
            if by_name.is_some() || ip_pod.is_some() || n.namespace.is_empty() {
                return None;
            }
            self.pod_of_generated_name(&n.namespace, &n.pod_name)
        };
        let (pod, source) = match (by_name, ip_pod) {
            (Some(p), _) => (Some(p), MapSource::HubbleName),
            (None, Some(p)) => (Some(p), MapSource::Ip),
            (None, None) => match by_workload() {
                Some(p) => (Some(p), MapSource::HubbleWorkload),
                None => (None, MapSource::Unmapped),
            },
        };
        let other = ip_pod.filter(|&p| Some(p) != pod);
        Peer {
            pod,
            name: pod.map(|p| self.workload[p.index()].clone()),
            namespace: match pod {
                Some(p) => Some(self.namespace[p.index()].clone()),
                None => named
                    .filter(|n| !n.namespace.is_empty())
                    .map(|n| Arc::from(n.namespace.as_str())),
            },
            source,
            named: named.cloned(),
            ip_pod: other,
            pod_name: pod.map(|p| self.pod_name[p.index()].clone()),
            ip_pod_name: other.map(|p| self.pod_name[p.index()].clone()),
        }
    }

    /// For each pod of this model, the pod of the same `namespace/name` in `other`, else a pod
    /// of the same workload there (a proposal loaded without the live pods has one template
    /// pod per workload).
    pub fn translation(&self, other: &Model) -> Vec<Option<PodId>> {
        let other_map = Mapper::names_only(other);
        let mut other_workloads: FxHashMap<(&str, &str), PodId> = FxHashMap::default();
        for w in &other.workloads {
            if let (None, Some(&pod)) = (w.owner, w.pods.first()) {
                other_workloads
                    .entry((other.namespace(w.namespace).name.as_str(), w.name.as_str()))
                    .or_insert(pod);
            }
        }
        self.model
            .pod_ids()
            .map(|id| {
                let pod = &self.model.pods[id.index()];
                let ns = self.model.namespace(pod.namespace).name.as_str();
                other_map
                    .get(ns)
                    .and_then(|m| m.get(pod.name.as_str()))
                    .copied()
                    .or_else(|| {
                        let w = &self.model.workloads[pod.workload?.index()];
                        other_workloads.get(&(ns, w.name.as_str())).copied()
                    })
            })
            .collect()
    }

    fn names_only(model: &Model) -> FxHashMap<Box<str>, FxHashMap<Box<str>, PodId>> {
        let mut by_name: FxHashMap<Box<str>, FxHashMap<Box<str>, PodId>> = FxHashMap::default();
        for id in model.pod_ids() {
            let pod = &model.pods[id.index()];
            by_name
                .entry(model.namespace(pod.namespace).name.as_str().into())
                .or_default()
                .entry(pod.name.as_str().into())
                .or_insert(id);
        }
        by_name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages as they were first written, with `format!`, for comparison.
    fn reference(peer: &Peer, ip: IpAddr) -> Option<String> {
        let named = peer.named.as_deref()?;
        if named.namespace.is_empty() || named.pod_name.is_empty() {
            return None;
        }
        let hubble = format!("{}/{}", named.namespace, named.pod_name);
        match (peer.source, &peer.ip_pod_name) {
            (MapSource::HubbleName, Some(other)) => Some(format!(
                "{ip}: Hubble names it {hubble}, but the cluster model gives that address to {other}"
            )),
            (MapSource::Ip, _) => {
                let mapped = peer.pod_name.as_deref().unwrap_or("?");
                Some(format!(
                    "{ip}: Hubble names it {hubble}, which the cluster model lacks; the address maps to {mapped}"
                ))
            }
            (MapSource::Unmapped, _) => Some(format!(
                "{ip}: Hubble names it {hubble}, which the cluster model lacks (and no pod has the address); the verdict treats it as external"
            )),
            (MapSource::HubbleWorkload, Some(other)) => Some(format!(
                "{ip}: Hubble names it {hubble}, but the cluster model gives that address to {other}"
            )),
            (MapSource::HubbleName | MapSource::HubbleWorkload, None) | (MapSource::Service, _) => {
                None
            }
        }
    }

    #[test]
    fn mapping_problems_read_as_before() {
        let names = [("", ""), ("shop", ""), ("shop", "cart-7d9c6b5f4-x2mzq")];
        let ips: [IpAddr; 2] = ["10.0.3.7".parse().unwrap(), "fd00::1:7".parse().unwrap()];
        let arcs: [Option<Arc<str>>; 2] = [None, Some(Arc::from("shop/cart-0"))];
        for source in [
            MapSource::HubbleName,
            MapSource::HubbleWorkload,
            MapSource::Ip,
            MapSource::Unmapped,
        ] {
            for (ns, pod) in names {
                for named in [
                    None,
                    Some(Arc::new(EndpointName {
                        namespace: ns.into(),
                        pod_name: pod.into(),
                        labels: vec![],
                    })),
                ] {
                    for pod_name in arcs.clone() {
                        for ip_pod_name in arcs.clone() {
                            let peer = Peer {
                                pod: None,
                                name: None,
                                namespace: None,
                                source,
                                named: named.clone(),
                                ip_pod: None,
                                pod_name: pod_name.clone(),
                                ip_pod_name,
                            };
                            for ip in ips {
                                let want = reference(&peer, ip);
                                assert_eq!(peer.has_mapping_problem(), want.is_some());
                                assert_eq!(peer.mapping_problem(ip), want);
                                assert_eq!(
                                    peer.mapping_problem_after("source", ip),
                                    want.map(|w| format!("source {w}"))
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
