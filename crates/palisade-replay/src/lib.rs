//! Replays recorded connection attempts against NetworkPolicies.
//!
//! The flows crate ([`palisade_flows`]) turns a capture into [`Session`]s with an **observed**
//! outcome; this crate puts each one next to the outcome the policies **predict**:
//!
//! * [`Replayer`] maps both addresses to pods and workloads of the cluster model (Hubble's
//!   `namespace/pod` names first, then pod IPs; unmapped addresses stay IPs), asks the
//!   compiled [`Engine`] for the verdict, names the deciding policies and rules
//!   ([`Decision`], with `file:line`), and classifies a disagreement between observation and
//!   prediction ([`Mismatch`]: drift, a mis-mapped address, the dataplane's deny action, or
//!   nothing listening).
//! * With a proposed policy set ([`Replayer::with_proposed`]) each session is also evaluated
//!   under the proposal: [`Change::Break`] (allowed now, denied then) or [`Change::Open`].
//! * [`Summary`], [`WhatIf`] and [`Spikes`] aggregate replayed sessions in bounded memory;
//!   [`Filter`] selects sessions like `hubble observe`'s flags.
//!
//! The crate does no IO: callers feed sessions (usually from [`palisade_flows::sessionize`]).
//!
//! ```
//! use palisade_flows::{sessionize, FlowReader, ReadOptions, SessionConfig};
//! use palisade_model::Model;
//! use palisade_replay::{DenyAction, Predicted, Replayer};
//!
//! let model = Model::default(); // no policies: everything is allowed
//! let mut replayer = Replayer::new(&model, DenyAction::Drop);
//! let csv = "time,src,dst,src_port,dst_port,protocol,outcome\n\
//!            2026-01-01T00:00:00Z,10.0.0.1,10.0.0.2,40000,80,TCP,timed-out\n";
//! let mut reader = FlowReader::new("conns.csv", csv.as_bytes(), &ReadOptions::default())?;
//! let mut out = Vec::new();
//! sessionize(&mut reader, SessionConfig::default(), |s| out.push(replayer.replay(s)))?;
//! assert_eq!(out[0].predicted, Predicted::Accepted);
//! // Observed timed out on a path the policies allow: flagged.
//! assert!(out[0].mismatch.is_some());
//! # Ok::<(), palisade_flows::Error>(())
//! ```

mod dns;
mod filter;
mod map;
mod sliding;
mod spikes;
mod stream;
mod summary;
mod whatif;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use palisade_engine::{Endpoint, Engine, Entity, Reference, SideOutcome, Verdict};
use palisade_flows::{Observed, Session};
use palisade_model::{Direction, Model, PodId, Protocol};
use rustc_hash::FxHashMap;

pub use dns::{DNS_ADDRESS_LIMIT, DnsDependence, DnsNames};
pub use filter::{
    Filter, FilterError, HubbleFilter, PeerMatch, TimeBound, end_selected, parse_duration_ns,
};
pub use map::{MapSource, Mapper, Peer};
pub use sliding::{SlidingSpikes, SpikeChange};
pub use spikes::{Spike, SpikeBasis, SpikeConfig, SpikeReport, Spikes, WindowStat, median_mad};
pub use stream::{RecordSource, SessionContext, stream_sessions};
pub use summary::{PAIR_LIMIT, PairKey, PairStat, Summary, observed_index, predicted_index};
pub use whatif::{ChangeGroup, WhatIf};

/// What a dataplane does with traffic the policies deny.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DenyAction {
    /// Drop silently: the client times out (Cilium, Calico by default, most dataplanes).
    #[default]
    Drop,
    /// Reject: the client sees a TCP RST or ICMP unreachable (refused).
    Reject,
}

/// The outcome the policies predict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Predicted {
    /// Allowed.
    Accepted,
    /// Denied, on a dataplane that rejects.
    Refused,
    /// Denied, on a dataplane that drops.
    TimedOut,
}

impl Predicted {
    /// `accepted`, `refused` or `timed-out`, like [`Observed::as_str`].
    pub fn as_str(self) -> &'static str {
        match self {
            Predicted::Accepted => "accepted",
            Predicted::Refused => "refused",
            Predicted::TimedOut => "timed-out",
        }
    }

    /// Whether the policies allow it.
    pub fn allowed(self) -> bool {
        self == Predicted::Accepted
    }

    fn from_verdict(allowed: bool, deny: DenyAction) -> Predicted {
        match (allowed, deny) {
            (true, _) => Predicted::Accepted,
            (false, DenyAction::Drop) => Predicted::TimedOut,
            (false, DenyAction::Reject) => Predicted::Refused,
        }
    }
}

impl fmt::Display for Predicted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a policy did to a session, on one side.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Decision {
    /// Egress of the source or ingress of the destination.
    pub direction: Direction,
    /// The policy, `namespace/name`.
    pub policy: String,
    /// The rule that allowed it (index in the direction's list); `None` for a policy that
    /// isolates the endpoint without a rule allowing the traffic.
    pub rule: Option<u32>,
    /// Whether this decision lets the traffic through on its side.
    pub allows: bool,
    /// File and line of the rule (or of the policy when no rule), if known.
    pub location: Option<(String, u32)>,
    /// The admin tier that decided (`policy` is then `cnp/<name>`, `anp/<name>` or
    /// `banp/<name>`); `None` for the NetworkPolicy tier.
    pub tier: Option<palisade_model::AdminTier>,
}

/// How the policies decided one session: the verdict and the decisions behind it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prediction {
    /// The predicted outcome.
    pub predicted: Predicted,
    /// Egress of the source.
    pub egress: SideOutcome,
    /// Ingress of the destination.
    pub ingress: SideOutcome,
    /// The deciding policies and rules, egress first.
    pub decided_by: Arc<[Decision]>,
}

/// A session's fate under a proposed policy set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Change {
    /// Allowed under the current policies, denied under the proposal.
    Break,
    /// Denied now, allowed under the proposal.
    Open,
}

impl Change {
    /// `break` or `open`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Break => "break",
            Change::Open => "open",
        }
    }
}

/// Why the observed outcome differs from the predicted one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MismatchKind {
    /// The cluster and the manifests disagree: a policy in the cluster that the manifests
    /// lack (or the reverse), or one the dataplane does not enforce.
    Drift,
    /// An address was probably mapped to the wrong endpoint (or to none): the verdict was
    /// computed for something else than what was on the wire.
    Address,
    /// Denied as predicted, but the dataplane rejects where the prediction assumed it drops
    /// (or the reverse): see `--deny-action`.
    DenyAction,
    /// Refused on a path the policies allow: nothing was listening on the port.
    NoListener,
}

impl MismatchKind {
    /// `drift`, `address`, `deny-action`, `no-listener`.
    pub fn as_str(self) -> &'static str {
        match self {
            MismatchKind::Drift => "drift",
            MismatchKind::Address => "address",
            MismatchKind::DenyAction => "deny-action",
            MismatchKind::NoListener => "no-listener",
        }
    }

    /// All kinds, in report order.
    pub const ALL: [MismatchKind; 4] = [
        MismatchKind::Drift,
        MismatchKind::Address,
        MismatchKind::DenyAction,
        MismatchKind::NoListener,
    ];
}

/// A flagged disagreement between observation and prediction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// What it most likely means.
    pub kind: MismatchKind,
    /// One sentence for a human.
    pub reason: String,
}

/// A session with its prediction.
#[derive(Clone, Debug)]
pub struct Replayed {
    /// The session as observed.
    pub session: Session,
    /// The initiator, mapped.
    pub src: Peer,
    /// The peer it tried to reach, mapped.
    pub dst: Peer,
    /// Under the current policies.
    pub current: Prediction,
    /// The predicted outcome under the current policies (`current.predicted`).
    pub predicted: Predicted,
    /// Set when observed and predicted disagree.
    pub mismatch: Option<Mismatch>,
    /// Under the proposed policies, when replaying a what-if.
    pub proposed: Option<Prediction>,
    /// Break or open, when the proposal changes the verdict.
    pub change: Option<Change>,
    /// When the destination was a Service's ClusterIP (a capture before kube-proxy's DNAT):
    /// the Service, its backends, and whether their verdicts differ.
    pub service: Option<ServiceVia>,
    /// Policies Palisade does not evaluate that may select the source or destination pod:
    /// the prediction may be wrong (see `palisade_engine::uncertain`).
    pub uncertain: Vec<String>,
    /// Set when a `domainNames` rule could decide the session: resolved with the capture's
    /// DNS answers, or unresolved (the prediction is then marked, never silently decided).
    pub dns: Option<DnsDependence>,
}

/// A session addressed to a Service's ClusterIP, evaluated against its backends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceVia {
    /// `namespace/name` of the Service.
    pub service: String,
    /// How many backends serve the session's port.
    pub backends: usize,
    /// How many of them the policies allow.
    pub allowed: usize,
}

impl ServiceVia {
    /// A note for output: which Service, and that the backends disagree when they do.
    pub fn note(&self) -> String {
        if self.allowed == 0 || self.allowed == self.backends {
            format!(
                "via Service {} ({} backend{}, same verdict for each)",
                self.service,
                self.backends,
                if self.backends == 1 { "" } else { "s" }
            )
        } else {
            format!(
                "via Service {}: the policies allow {} of its {} backends; the verdict shown is a denied one (the outcome depends on the backend kube-proxy picked)",
                self.service, self.allowed, self.backends
            )
        }
    }
}

impl Replayed {
    /// Where the session comes in a report: by start, then source and destination (reports
    /// sort stably by this, so ties keep the order sessions were decided in).
    pub fn report_order(&self) -> (i64, std::net::SocketAddr, std::net::SocketAddr) {
        (self.session.start_ns, self.session.src, self.session.dst)
    }

    /// The observed outcome.
    pub fn observed(&self) -> Observed {
        self.session.observed
    }

    /// Whether the session was denied: by observation (refused or timed out) or prediction.
    pub fn denied(&self, basis: SpikeBasis) -> bool {
        match basis {
            SpikeBasis::Observed => {
                matches!(
                    self.session.observed,
                    Observed::Refused | Observed::TimedOut
                )
            }
            SpikeBasis::Predicted => !self.predicted.allowed(),
        }
    }
}

/// A policy set compiled for replay, with its caches.
struct Side<'m> {
    model: &'m Model,
    engine: Engine,
    reference: Reference<'m>,
    /// Current pod id → this side's pod id, when this side is another model.
    translate: Option<Vec<Option<PodId>>>,
    cache: FxHashMap<(Entity, Entity, Protocol, u16), Prediction>,
    /// Whether some admin rule has a `domainNames` peer (then sessions to external
    /// addresses may depend on DNS).
    has_domain_names: bool,
}

/// Above this many cached predictions the cache starts over (bounded memory).
const CACHE_LIMIT: usize = 1 << 16;

impl<'m> Side<'m> {
    fn new(model: &'m Model) -> Self {
        Side {
            model,
            engine: Engine::new(model),
            reference: Reference::new(model),
            translate: None,
            cache: FxHashMap::default(),
            has_domain_names: model.admin_policies.iter().any(|p| {
                p.egress.iter().any(|r| {
                    r.peers.iter().any(|peer| {
                        matches!(peer.kind, palisade_model::AdminPeerKind::DomainNames(_))
                    })
                })
            }),
        }
    }

    fn entity(&self, peer: &Peer, ip: IpAddr) -> Entity {
        // Pods are looked up by name in this side's model (the proposal is loaded
        // separately, with its own pod ids).
        let pod = match (&self.translate, peer.pod) {
            (None, pod) => pod,
            (Some(t), Some(p)) => t.get(p.index()).copied().flatten(),
            (Some(_), None) => None,
        };
        match pod {
            Some(pod) => self.engine.entity(&Endpoint::Pod(pod)),
            None => self.engine.entity_of(ip),
        }
    }

    fn predict(
        &mut self,
        src: Entity,
        dst: Entity,
        proto: Protocol,
        port: u16,
        deny: DenyAction,
    ) -> Prediction {
        let key = (src, dst, proto, port);
        if let Some(p) = self.cache.get(&key) {
            return p.clone();
        }
        let v = self.engine.verdict(src, dst, proto, port);
        let p = Prediction {
            predicted: Predicted::from_verdict(v.allowed, deny),
            egress: v.egress,
            ingress: v.ingress,
            decided_by: self.decisions(src, dst, &v).into(),
        };
        if self.cache.len() >= CACHE_LIMIT {
            self.cache.clear();
        }
        self.cache.insert(key, p.clone());
        p
    }

    /// The decisions behind a verdict: the allowing rule of each isolated side that allows,
    /// the isolating policies of each side that denies.
    fn decisions(&self, src: Entity, dst: Entity, v: &Verdict) -> Vec<Decision> {
        let mut out = Vec::new();
        for (direction, outcome, rule, admin, subject) in [
            (
                Direction::Egress,
                v.egress,
                v.egress_rule,
                v.egress_admin,
                src,
            ),
            (
                Direction::Ingress,
                v.ingress,
                v.ingress_rule,
                v.ingress_admin,
                dst,
            ),
        ] {
            if let Some((at, action)) = admin {
                let policy = &self.model.admin_policies[at.policy as usize];
                let span = policy
                    .rules(direction)
                    .get(at.rule as usize)
                    .and_then(|rule| rule.span)
                    .or(policy.span);
                out.push(Decision {
                    direction,
                    policy: policy.display_name(),
                    rule: Some(at.rule),
                    allows: action == palisade_model::AdminAction::Accept,
                    location: self.location(span),
                    tier: Some(policy.tier),
                });
                continue;
            }
            match outcome {
                SideOutcome::Allowed => {
                    if let Some(r) = rule {
                        let policy = &self.model.policies[r.policy.index()];
                        let span = policy
                            .rules(direction)
                            .get(r.rule as usize)
                            .and_then(|rule| rule.span)
                            .or(policy.span);
                        out.push(Decision {
                            direction,
                            policy: self.model.policy_name(r.policy),
                            rule: Some(r.rule),
                            allows: true,
                            location: self.location(span),
                            tier: None,
                        });
                    }
                }
                SideOutcome::Denied => {
                    let Entity::Class(c) = subject else { continue };
                    let Some(&pod) = self.engine.classes()[c as usize].pods.first() else {
                        continue;
                    };
                    for policy in self.reference.isolating_policies(pod, direction) {
                        out.push(Decision {
                            direction,
                            policy: self.model.policy_name(policy),
                            rule: None,
                            allows: false,
                            location: self.location(self.model.policies[policy.index()].span),
                            tier: None,
                        });
                    }
                }
                SideOutcome::External | SideOutcome::HostNetwork | SideOutcome::NotIsolated => {}
            }
        }
        out
    }

    /// For a pod's session to an external address that a `domainNames` rule could accept
    /// (the verdict depends on DNS): the prediction with the names `dns` knows for the
    /// address, or the engine's one marked unresolved. `None` when no `domainNames` rule is
    /// involved.
    #[allow(clippy::too_many_arguments)]
    fn resolve_names(
        &self,
        src: &Peer,
        dst: &Peer,
        dst_ip: IpAddr,
        proto: Protocol,
        port: u16,
        deny: DenyAction,
        dns: &DnsNames,
    ) -> Option<(Prediction, DnsDependence)> {
        if !self.has_domain_names || dst.pod.is_some() {
            return None;
        }
        let pod = match (&self.translate, src.pod) {
            (None, pod) => pod,
            (Some(t), Some(p)) => t.get(p.index()).copied().flatten(),
            (Some(_), None) => None,
        }?;
        let query = palisade_engine::Query {
            src: Endpoint::Pod(pod),
            dst: Endpoint::External(dst_ip),
            protocol: proto,
            port,
        };
        if !self.reference.explain(&query).depends_on_dns() {
            return None;
        }
        let Some(names) = dns.names(dst_ip) else {
            let se = self.engine.entity(&Endpoint::Pod(pod));
            let de = self.engine.entity_of(dst_ip);
            let p = self.predict_uncached(se, de, proto, port, deny);
            return Some((p, DnsDependence::Unresolved));
        };
        let e = self.reference.explain_resolved(&query, Some(names));
        let verdict = Verdict {
            allowed: e.allowed,
            egress: e.egress.outcome,
            ingress: e.ingress.outcome,
            egress_rule: None,
            ingress_rule: None,
            egress_admin: e.egress.admin_rule,
            ingress_admin: e.ingress.admin_rule,
        };
        let se = self.engine.entity(&Endpoint::Pod(pod));
        let de = self.engine.entity_of(dst_ip);
        let prediction = Prediction {
            predicted: Predicted::from_verdict(e.allowed, deny),
            egress: e.egress.outcome,
            ingress: e.ingress.outcome,
            decided_by: self.decisions(se, de, &verdict).into(),
        };
        Some((prediction, DnsDependence::Resolved(names.to_vec())))
    }

    fn predict_uncached(
        &self,
        src: Entity,
        dst: Entity,
        proto: Protocol,
        port: u16,
        deny: DenyAction,
    ) -> Prediction {
        let v = self.engine.verdict(src, dst, proto, port);
        Prediction {
            predicted: Predicted::from_verdict(v.allowed, deny),
            egress: v.egress,
            ingress: v.ingress,
            decided_by: self.decisions(src, dst, &v).into(),
        }
    }

    fn location(&self, span: Option<palisade_model::Span>) -> Option<(String, u32)> {
        self.model.location(span).map(|l| (l.file, l.line))
    }
}

/// Replays sessions against a cluster model (and optionally a proposed one).
pub struct Replayer<'m> {
    mapper: Mapper<'m>,
    uncertainty: palisade_engine::Uncertainty,
    current: Side<'m>,
    proposed: Option<Side<'m>>,
    deny: DenyAction,
}

impl fmt::Debug for Replayer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replayer")
            .field("deny", &self.deny)
            .field("proposed", &self.proposed.is_some())
            .finish_non_exhaustive()
    }
}

impl<'m> Replayer<'m> {
    /// Compiles the model's policies and indexes its pods by IP and name.
    pub fn new(model: &'m Model, deny: DenyAction) -> Self {
        Replayer {
            mapper: Mapper::new(model),
            uncertainty: palisade_engine::Uncertainty::new(model),
            current: Side::new(model),
            proposed: None,
            deny,
        }
    }

    /// Also evaluates every session under `proposed` (a what-if). Endpoints are still mapped
    /// through the current model; pods are found in the proposal by `namespace/name`.
    pub fn with_proposed(mut self, proposed: &'m Model) -> Self {
        let mut side = Side::new(proposed);
        if !std::ptr::eq(proposed, self.current.model) {
            side.translate = Some(self.mapper.translation(proposed));
        }
        self.proposed = Some(side);
        self
    }

    /// Whether a proposal is being evaluated.
    pub fn has_proposed(&self) -> bool {
        self.proposed.is_some()
    }

    /// The current model.
    pub fn model(&self) -> &'m Model {
        self.current.model
    }

    /// The address mapper.
    pub fn mapper(&self) -> &Mapper<'m> {
        &self.mapper
    }

    /// Replays one session (no DNS answers known: sessions a `domainNames` rule could decide
    /// depend on DNS).
    pub fn replay(&mut self, session: Session) -> Replayed {
        self.replay_resolved(session, &DnsNames::default())
    }

    /// Replays one session, resolving `domainNames` peers with the names `dns` learned from
    /// the capture.
    pub fn replay_resolved(&mut self, session: Session, dns: &DnsNames) -> Replayed {
        let src = self
            .mapper
            .peer(session.src.ip(), session.src_endpoint.as_ref());
        let dst = self
            .mapper
            .peer(session.dst.ip(), session.dst_endpoint.as_ref());
        let (proto, port) = (session.proto, session.dst.port());
        // A ClusterIP destination (before DNAT): NetworkPolicy sees a backend and its target
        // port. Hubble names the backend when it saw it (then `dst` is that pod already).
        let mut dst = dst;
        let mut port = port;
        let mut service = None;
        if dst.pod.is_none()
            && let Some((name, backends)) = self.service_backends(session.dst.ip(), proto, port)
        {
            let se = self.current.entity(&src, session.src.ip());
            let verdicts: Vec<(palisade_engine::services::Backend, bool)> = backends
                .iter()
                .map(|b| {
                    let de = self.current.engine.entity(&Endpoint::Pod(b.pod));
                    let p = self.current.predict(se, de, proto, b.port, self.deny);
                    (*b, p.predicted.allowed())
                })
                .collect();
            let allowed = verdicts.iter().filter(|(_, a)| *a).count();
            let chosen = verdicts.iter().find(|(_, a)| !*a).unwrap_or(&verdicts[0]).0;
            dst = self.mapper.peer_of_pod(chosen.pod, MapSource::Service);
            port = chosen.port;
            service = Some(ServiceVia {
                service: name,
                backends: verdicts.len(),
                allowed,
            });
        }
        let (se, de) = (
            self.current.entity(&src, session.src.ip()),
            self.current.entity(&dst, session.dst.ip()),
        );
        let mut current = self.current.predict(se, de, proto, port, self.deny);
        let mut dns_dependence = None;
        if service.is_none()
            && let Some((prediction, dependence)) = self.current.resolve_names(
                &src,
                &dst,
                session.dst.ip(),
                proto,
                port,
                self.deny,
                dns,
            )
        {
            current = prediction;
            dns_dependence = Some(dependence);
        }
        let proposed = self.proposed.as_mut().map(|side| {
            let se = side.entity(&src, session.src.ip());
            let de = side.entity(&dst, session.dst.ip());
            let p = side.predict(se, de, proto, port, self.deny);
            match side.resolve_names(&src, &dst, session.dst.ip(), proto, port, self.deny, dns) {
                Some((resolved, _)) => resolved,
                None => p,
            }
        });
        let change = proposed.as_ref().and_then(|p| {
            match (current.predicted.allowed(), p.predicted.allowed()) {
                (true, false) => Some(Change::Break),
                (false, true) => Some(Change::Open),
                _ => None,
            }
        });
        // A verdict that depends on DNS is no prediction to compare the observation with.
        let mismatch = if dns_dependence == Some(DnsDependence::Unresolved) {
            None
        } else {
            classify(&session, &src, &dst, &current, self.deny)
        };
        let uncertain = if self.uncertainty.any() {
            self.uncertainty
                .names(self.current.model, src.pod.into_iter().chain(dst.pod))
        } else {
            Vec::new()
        };
        Replayed {
            predicted: current.predicted,
            session,
            src,
            dst,
            current,
            mismatch,
            proposed,
            change,
            service,
            uncertain,
            dns: dns_dependence,
        }
    }

    /// The Service whose ClusterIP `ip` is, with its backends on `port`/`proto` (none: not a
    /// Service, or one whose backends the model cannot know).
    fn service_backends(
        &self,
        ip: IpAddr,
        proto: Protocol,
        port: u16,
    ) -> Option<(String, Vec<palisade_engine::services::Backend>)> {
        use palisade_engine::services;
        let model = self.current.model;
        let id = services::service_by_ip(model, ip)?;
        let svc = &model.services[id.index()];
        let sp = services::service_port(svc, port, proto)?;
        let backends = services::backends(model, svc, sp);
        (!backends.is_empty()).then(|| (services::service_name(model, id), backends))
    }
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.octets()[0] == 100 && v4.octets()[1] & 0xC0 == 64,
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// Classifies a disagreement between what was observed and what the policies predict.
///
/// Address problems are checked first (a verdict about the wrong endpoint explains any
/// disagreement): Hubble naming a pod the model maps elsewhere, Hubble naming a pod the model
/// lacks, or a private (cluster-looking) address the model does not know. Then by outcome:
/// accepted but predicted denied → drift (the cluster is looser than the manifests, or does
/// not enforce them); timed out but predicted allowed → drift (the cluster is stricter) or a
/// network problem; refused but predicted allowed → nothing listening; refused vs a predicted
/// drop (or timed out vs a predicted reject) → the dataplane's deny action.
pub fn classify(
    session: &Session,
    src: &Peer,
    dst: &Peer,
    prediction: &Prediction,
    deny: DenyAction,
) -> Option<Mismatch> {
    let observed = session.observed;
    let predicted = prediction.predicted;
    let agree = match observed {
        Observed::Unknown => true,
        Observed::Accepted => predicted == Predicted::Accepted,
        Observed::Refused => predicted == Predicted::Refused,
        Observed::TimedOut => predicted == Predicted::TimedOut,
    };
    if agree {
        return None;
    }
    // A verdict about the wrong endpoint explains any disagreement.
    for (peer, ip, what) in [
        (src, session.src.ip(), "source"),
        (dst, session.dst.ip(), "destination"),
    ] {
        if let Some(reason) = peer.mapping_problem_after(what, ip) {
            return Some(Mismatch {
                kind: MismatchKind::Address,
                reason,
            });
        }
    }
    for (peer, ip, what) in [
        (src, session.src.ip(), "source"),
        (dst, session.dst.ip(), "destination"),
    ] {
        if peer.pod.is_none() && is_private(ip) && !predicted.allowed() {
            return Some(Mismatch {
                kind: MismatchKind::Address,
                reason: format!(
                    "{what} {ip} is a private address but no pod of the cluster model has it (pod IPs change: export the cluster state again); the verdict treats it as external"
                ),
            });
        }
    }
    let m = |kind, reason: &str| {
        Some(Mismatch {
            kind,
            reason: reason.to_string(),
        })
    };
    match (observed, predicted) {
        (Observed::Accepted, _) => m(
            MismatchKind::Drift,
            "accepted, but the manifests deny it: the cluster's policies are looser than the manifests (a policy missing or changed there), or the dataplane does not enforce them",
        ),
        (Observed::TimedOut, Predicted::Accepted) => {
            let hubble_policy = session.denied_by.first().map(|d| {
                if d.namespace.is_empty() {
                    d.name.clone()
                } else {
                    format!("{}/{}", d.namespace, d.name)
                }
            });
            let dropped = matches!(
                session.evidence,
                palisade_flows::Evidence::HubbleDropped { .. }
            );
            match hubble_policy {
                Some(p) => Some(Mismatch {
                    kind: MismatchKind::Drift,
                    reason: format!(
                        "the cluster dropped it (denied by {p}) but the manifests allow it: the cluster has a stricter policy than the manifests"
                    ),
                }),
                None if dropped => m(
                    MismatchKind::Drift,
                    "the dataplane dropped it but the manifests allow it: the cluster's policies are stricter than the manifests",
                ),
                None => m(
                    MismatchKind::Drift,
                    "timed out, but the manifests allow it: the cluster's policies are stricter than the manifests, or a network problem (no route, the peer down)",
                ),
            }
        }
        (Observed::Refused, Predicted::Accepted) => m(
            MismatchKind::NoListener,
            "refused on a path the policies allow: nothing listens on the port (not a policy matter)",
        ),
        (Observed::Refused, _) if deny == DenyAction::Drop => m(
            MismatchKind::DenyAction,
            "denied as predicted, but refused rather than dropped: this dataplane rejects denied traffic (pass --deny-action reject)",
        ),
        (Observed::TimedOut, _) => m(
            MismatchKind::DenyAction,
            "denied as predicted, but dropped rather than refused: this dataplane drops denied traffic (omit --deny-action reject)",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_flows::{EndpointName, Evidence};
    use std::net::SocketAddr;

    const CLUSTER: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, namespace: shop, labels: {app: db}}
status: {podIP: 10.0.0.2}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 5432}]
"#;

    fn model() -> Model {
        let loaded = palisade_load::load(
            &[palisade_load::Input::Text {
                name: "cluster.yaml".into(),
                text: CLUSTER.into(),
            }],
            &palisade_load::LoadOptions::default(),
        );
        assert!(!loaded.has_errors());
        loaded.model
    }

    fn session(src: &str, dst: &str, port: u16, observed: Observed) -> Session {
        Session {
            start_ns: 0,
            last_seen_ns: 0,
            decided_ns: 0,
            proto: Protocol::Tcp,
            src: SocketAddr::new(src.parse().unwrap(), 40000),
            dst: SocketAddr::new(dst.parse().unwrap(), port),
            observed,
            evidence: Evidence::Listed,
            packets_fwd: 1,
            packets_rev: 0,
            attempts: 1,
            src_endpoint: None,
            dst_endpoint: None,
            nodes: vec![],
            denied_by: vec![],
            during_gap: false,
        }
    }

    #[test]
    fn a_cluster_ip_destination_is_evaluated_on_its_backends() {
        // A capture on the web pod's interface sees the ClusterIP before DNAT: the verdict is
        // the backend's, on the target port (5432), not "external address, denied".
        let text = format!(
            "{CLUSTER}---\napiVersion: v1\nkind: Service\nmetadata: {{name: db, namespace: shop}}\nspec: {{clusterIP: 10.96.0.20, selector: {{app: db}}, ports: [{{port: 5432}}]}}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: db-alt, namespace: shop}}\nspec: {{clusterIP: 10.96.0.21, selector: {{app: db}}, ports: [{{port: 80, targetPort: 5432}}]}}\n"
        );
        let loaded = palisade_load::load(
            &[palisade_load::Input::Text {
                name: "cluster.yaml".into(),
                text,
            }],
            &palisade_load::LoadOptions::default(),
        );
        assert!(!loaded.has_errors());
        let m = loaded.model;
        let mut replayer = Replayer::new(&m, DenyAction::Drop);
        let r = replayer.replay(session("10.0.0.1", "10.96.0.20", 5432, Observed::Accepted));
        assert_eq!(r.predicted, Predicted::Accepted);
        assert_eq!(r.mismatch, None);
        assert_eq!(r.dst.pod_name.as_deref(), Some("shop/db-1"));
        let via = r.service.expect("mapped through the Service");
        assert_eq!(
            (via.service.as_str(), via.backends, via.allowed),
            ("shop/db", 1, 1)
        );
        // Service port 80 leads to target port 5432, which the policy allows.
        let r = replayer.replay(session("10.0.0.1", "10.96.0.21", 80, Observed::Accepted));
        assert_eq!(r.predicted, Predicted::Accepted);
        // From a pod the policy does not admit: denied, on the backend.
        let r = replayer.replay(session("10.0.0.2", "10.96.0.20", 5432, Observed::TimedOut));
        assert_eq!(r.predicted, Predicted::TimedOut);
        assert!(r.service.is_some());
        // A port the Service does not have stays an unmapped address.
        let r = replayer.replay(session("10.0.0.1", "10.96.0.20", 9999, Observed::TimedOut));
        assert!(r.service.is_none());
    }

    #[test]
    fn sessions_touching_pods_of_unevaluated_policies_are_uncertain() {
        let text = format!(
            "{CLUSTER}---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: db-l7, namespace: shop}}\nspec: {{endpointSelector: {{matchLabels: {{app: db}}}}}}\n"
        );
        let loaded = palisade_load::load(
            &[palisade_load::Input::Text {
                name: "cluster.yaml".into(),
                text,
            }],
            &palisade_load::LoadOptions::default(),
        );
        let m = loaded.model;
        let mut replayer = Replayer::new(&m, DenyAction::Drop);
        let r = replayer.replay(session("10.0.0.1", "10.0.0.2", 5432, Observed::Accepted));
        assert_eq!(r.uncertain, ["CiliumNetworkPolicy shop/db-l7"]);
        // web -> an external address: the Cilium policy selects neither end.
        let r = replayer.replay(session("10.0.0.1", "192.0.2.1", 443, Observed::Accepted));
        assert!(r.uncertain.is_empty());
    }

    fn kind(r: &Replayed) -> Option<MismatchKind> {
        r.mismatch.as_ref().map(|m| m.kind)
    }

    #[test]
    fn agreement_is_not_flagged() {
        let m = model();
        let mut rp = Replayer::new(&m, DenyAction::Drop);
        let r = rp.replay(session("10.0.0.1", "10.0.0.2", 5432, Observed::Accepted));
        assert_eq!(r.predicted, Predicted::Accepted);
        assert_eq!(kind(&r), None);
        assert_eq!(r.src.name.as_deref(), Some("shop/web-1"));
        let r = rp.replay(session("10.0.0.1", "10.0.0.2", 22, Observed::TimedOut));
        assert_eq!(r.predicted, Predicted::TimedOut);
        assert_eq!(kind(&r), None);
        assert_eq!(r.current.decided_by.len(), 1);
        assert_eq!(r.current.decided_by[0].policy, "shop/db");
        assert!(!r.current.decided_by[0].allows);
        let r = rp.replay(session("10.0.0.1", "10.0.0.2", 9, Observed::Unknown));
        assert_eq!(kind(&r), None);
    }

    #[test]
    fn decided_by_names_the_admin_tier_and_rule() {
        let guardrail = "---\napiVersion: policy.networking.k8s.io/v1alpha2\n\
            kind: ClusterNetworkPolicy\nmetadata: {name: no-metadata}\nspec:\n  tier: Admin\n  \
            priority: 1\n  subject: {namespaces: {}}\n  egress:\n  - action: Deny\n    \
            to: [{networks: [169.254.169.254/32]}]\n";
        let loaded = palisade_load::load(
            &[palisade_load::Input::Text {
                name: "cluster.yaml".into(),
                text: format!("{CLUSTER}{guardrail}"),
            }],
            &palisade_load::LoadOptions::default(),
        );
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let mut rp = Replayer::new(&loaded.model, DenyAction::Drop);
        let r = rp.replay(session(
            "10.0.0.1",
            "169.254.169.254",
            80,
            Observed::TimedOut,
        ));
        assert_eq!(r.predicted, Predicted::TimedOut);
        assert_eq!(kind(&r), None);
        assert_eq!(r.current.decided_by.len(), 1);
        let d = &r.current.decided_by[0];
        assert_eq!(d.policy, "cnp/no-metadata");
        assert_eq!(d.rule, Some(0));
        assert_eq!(d.tier, Some(palisade_model::AdminTier::Admin));
        assert!(!d.allows);
    }

    #[test]
    fn outcome_disagreements_are_classified() {
        let m = model();
        let mut rp = Replayer::new(&m, DenyAction::Drop);
        // The cluster let through what the manifests deny.
        let r = rp.replay(session("10.0.0.1", "10.0.0.2", 22, Observed::Accepted));
        assert_eq!(kind(&r), Some(MismatchKind::Drift));
        // The cluster dropped what the manifests allow.
        let r = rp.replay(session("10.0.0.1", "10.0.0.2", 5432, Observed::TimedOut));
        assert_eq!(kind(&r), Some(MismatchKind::Drift));
        // Refused on an allowed path: nothing listening.
        let r = rp.replay(session("10.0.0.1", "10.0.0.2", 5432, Observed::Refused));
        assert_eq!(kind(&r), Some(MismatchKind::NoListener));
        // Denied either way, but rejected instead of dropped.
        let r = rp.replay(session("10.0.0.1", "10.0.0.2", 22, Observed::Refused));
        assert_eq!(kind(&r), Some(MismatchKind::DenyAction));
        let mut reject = Replayer::new(&m, DenyAction::Reject);
        let r = reject.replay(session("10.0.0.1", "10.0.0.2", 22, Observed::Refused));
        assert_eq!((r.predicted, kind(&r)), (Predicted::Refused, None));
        let r = reject.replay(session("10.0.0.1", "10.0.0.2", 22, Observed::TimedOut));
        assert_eq!(kind(&r), Some(MismatchKind::DenyAction));
    }

    #[test]
    fn doubtful_addresses_are_classified_as_address() {
        let m = model();
        let mut rp = Replayer::new(&m, DenyAction::Drop);
        // A private address no pod has, denied: probably a pod the export lacks.
        let r = rp.replay(session("10.0.0.9", "10.0.0.2", 5432, Observed::Accepted));
        assert_eq!(kind(&r), Some(MismatchKind::Address));
        // A public address denied and accepted: drift, not mapping.
        let r = rp.replay(session(
            "198.51.100.1",
            "10.0.0.2",
            5432,
            Observed::Accepted,
        ));
        assert_eq!(kind(&r), Some(MismatchKind::Drift));
        // Hubble names the source db-1 while the address is web-1's: the name wins for the
        // verdict (db may not reach db) and the disagreement is an address problem.
        let mut s = session("10.0.0.1", "10.0.0.2", 5432, Observed::Accepted);
        s.src_endpoint = Some(Arc::new(EndpointName {
            namespace: "shop".into(),
            pod_name: "db-1".into(),
            labels: vec![],
        }));
        let r = rp.replay(s);
        assert_eq!(r.src.source, MapSource::HubbleName);
        assert_eq!(r.predicted, Predicted::TimedOut);
        assert_eq!(kind(&r), Some(MismatchKind::Address));
        assert!(r.mismatch.unwrap().reason.contains("shop/web-1"));
    }

    #[test]
    fn hubble_names_map_generated_pod_names_to_workloads() {
        let loaded = palisade_load::load(
            &[palisade_load::Input::Text {
                name: "app.yaml".into(),
                text: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: x}]}\n".into(),
            }],
            &palisade_load::LoadOptions::default(),
        );
        let m = loaded.model;
        let mut rp = Replayer::new(&m, DenyAction::Drop);
        let mut s = session("10.9.9.9", "198.51.100.1", 443, Observed::Accepted);
        s.src_endpoint = Some(Arc::new(EndpointName {
            namespace: "shop".into(),
            pod_name: "web-7d9c6b5f4-x2mzq".into(),
            labels: vec![],
        }));
        let r = rp.replay(s);
        assert_eq!(r.src.source, MapSource::HubbleWorkload);
        assert_eq!(r.src.name.as_deref(), Some("shop/web"));
        assert_eq!(kind(&r), None);
    }

    #[test]
    fn whatif_marks_breaks_and_opens() {
        let m = model();
        let open: String =
            CLUSTER.replace("ports: [{port: 5432}]", "ports: [{port: 5432}, {port: 22}]");
        let proposed = palisade_load::load(
            &[palisade_load::Input::Text {
                name: "proposed.yaml".into(),
                text: open.replace("{port: 5432}, ", ""),
            }],
            &palisade_load::LoadOptions::default(),
        )
        .model;
        let mut rp = Replayer::new(&m, DenyAction::Drop).with_proposed(&proposed);
        let r = rp.replay(session("10.0.0.1", "10.0.0.2", 5432, Observed::Accepted));
        assert_eq!(r.change, Some(Change::Break));
        let r = rp.replay(session("10.0.0.1", "10.0.0.2", 22, Observed::TimedOut));
        assert_eq!(r.change, Some(Change::Open));
        let r = rp.replay(session("10.0.0.2", "10.0.0.1", 80, Observed::Accepted));
        assert_eq!(r.change, None);
    }
}
