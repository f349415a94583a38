//! Exact `networking.k8s.io/v1` NetworkPolicy evaluation.
//!
//! Three layers, one semantics:
//! - [`Reference`]: the API reference transcribed rule by rule over the [`Model`]; explains
//!   every verdict (which policies isolate each side, which rule and peer allowed it, which
//!   rules came close). `palisade check` uses it.
//! - [`Engine`]: the compiled form — pods folded into classes of equivalent pods, peers
//!   resolved into sets — answering per-flow verdicts without allocating. A property test
//!   keeps it equal to the reference.
//! - [`connectivity`]: every pair's exact allowed protocol/port set, computed sparsely on the
//!   classes and expanded to pods, workloads and external address ranges.
//!
//! A connection is allowed only when the source's egress AND the destination's ingress allow
//! it; each side runs through the [`tiers`] (admin, NetworkPolicy, baseline).
//!
//! ```
//! use palisade_engine::{Endpoint, Engine, Query, Reference};
//! use palisade_model::{Model, Pod, PodOrigin, Protocol};
//!
//! let mut model = Model::default();
//! let ns = model.ensure_namespace("shop");
//! let pod = |name: &str| Pod {
//!     name: name.into(), namespace: ns, labels: Default::default(),
//!     annotations: Default::default(), ports: vec![], ips: vec![],
//!     host_network: false, workload: None, origin: PodOrigin::Declared, span: None,
//! };
//! let a = model.add_pod(pod("a"));
//! let b = model.add_pod(pod("b"));
//! let query = Query { src: Endpoint::Pod(a), dst: Endpoint::Pod(b), protocol: Protocol::Tcp, port: 80 };
//! // No policy selects anything: everything is allowed.
//! assert!(Reference::new(&model).explain(&query).allowed);
//! let engine = Engine::new(&model);
//! let v = engine.verdict(engine.entity(&query.src), engine.entity(&query.dst), Protocol::Tcp, 80);
//! assert!(v.allowed);
//! ```

pub mod admin;
mod compiled;
pub mod connectivity;
mod explain;
pub mod ipspace;
pub mod matrix;
pub mod rules;
pub mod selection;
pub mod semantics;
pub mod services;
pub mod tiers;
pub mod uncertain;

pub use compiled::{Class, Engine, Entity, RuleRef, Verdict};
pub use explain::{
    Explanation, NearMiss, PairsExplained, Reference, RuleMatch, SideExplanation, SideOutcome,
    selector_mismatch,
};
pub use selection::Selection;
pub use uncertain::Uncertainty;

use palisade_model::{Model, PodId, Protocol};
use std::net::IpAddr;

/// One end of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// A pod of the model.
    Pod(PodId),
    /// An address outside the model's pods.
    External(IpAddr),
}

/// "May `src` reach `dst` on `port`/`protocol`?"
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Query {
    /// Where the connection starts.
    pub src: Endpoint,
    /// Where it goes.
    pub dst: Endpoint,
    /// The transport protocol.
    pub protocol: Protocol,
    /// The destination port.
    pub port: u16,
}

impl Engine {
    /// The entity of an endpoint.
    pub fn entity(&self, endpoint: &Endpoint) -> Entity {
        match *endpoint {
            Endpoint::Pod(pod) => Entity::Class(self.class_of(pod)),
            Endpoint::External(ip) => match self.ip_space().atom_of(ip) {
                Some(atom) => Entity::Atom(atom),
                None => Entity::Unpartitioned,
            },
        }
    }
}

/// Resolves a user's name for endpoints: `ns/pod` (that pod), `ns/workload` (every pod grouped
/// under it) or an IP (the pod that has it, else an external address). `None` when nothing
/// has that name.
pub fn resolve_endpoints(model: &Model, name: &str) -> Option<Vec<Endpoint>> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        let pod = model
            .pod_ids()
            .find(|&p| model.pods[p.index()].ips.contains(&ip));
        return Some(vec![pod.map_or(Endpoint::External(ip), Endpoint::Pod)]);
    }
    let (ns, rest) = name.split_once('/')?;
    let ns = model.namespace_id(ns)?;
    let pod = model
        .pod_ids()
        .find(|&p| model.pods[p.index()].namespace == ns && model.pods[p.index()].name == rest);
    if let Some(pod) = pod {
        return Some(vec![Endpoint::Pod(pod)]);
    }
    model
        .workloads
        .iter()
        .find(|w| w.namespace == ns && w.name == rest && !w.pods.is_empty())
        .map(|w| w.pods.iter().copied().map(Endpoint::Pod).collect())
}
