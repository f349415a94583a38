//! Palisade's cluster model: plain values, no IO.
//!
//! A [`Model`] holds what the loader read: namespaces, pods (declared, or one representative
//! pod per workload template), workloads, services and NetworkPolicies normalized to
//! `networking.k8s.io/v1` semantics (defaults applied, `policyTypes` resolved), each node with
//! the [`Span`] it came from so that explanations and diagnostics can point at `file:line`.
//!
//! ```
//! use palisade_model::{LabelSelector, Labels, Model};
//!
//! let mut model = Model::default();
//! let ns = model.ensure_namespace("shop");
//! assert_eq!(model.namespaces[ns.index()].labels.get("kubernetes.io/metadata.name").map(String::as_str), Some("shop"));
//! let selector = LabelSelector::match_labels([("app", "web")]);
//! let labels: Labels = [("app".to_string(), "web".to_string())].into_iter().collect();
//! assert!(selector.matches(&labels));
//! ```

mod admin;
mod ids;
mod ports;
mod selector;
mod shared;

use std::collections::BTreeMap;
use std::net::IpAddr;

pub use admin::{
    AdminAction, AdminKind, AdminPeer, AdminPeerKind, AdminPolicy, AdminPort, AdminPortKind,
    AdminRule, AdminSubject, AdminTier, Node,
};
pub use ids::{NamespaceId, PodId, PolicyId, ServiceId, WorkloadId};
pub use ipnet::IpNet;
pub use palisade_diag::{SourceMap, Span};
pub use ports::{PortRange, PortSet, ProtocolPorts};
use rustc_hash::FxHashMap;
pub use selector::{LabelSelector, Operator, Requirement};
pub use shared::Shared;

/// Labels or annotations of an object, sorted by key.
pub type Labels = BTreeMap<String, String>;

/// The label the API server sets on every namespace, holding the namespace's name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The annotation that suppresses lint findings on one object, e.g. `"NP005,NP012"`.
pub const IGNORE_ANNOTATION: &str = "palisade.dev/ignore";

/// A transport protocol NetworkPolicy can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP, the default when a port does not name one.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// All protocols, in output order.
    pub const ALL: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp];

    /// The name as Kubernetes writes it (`TCP`, `UDP`, `SCTP`).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }

    /// Parses the Kubernetes name; case-sensitive, as the API server is.
    pub fn parse(s: &str) -> Option<Protocol> {
        match s {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    /// Parses ignoring case, for command-line flags.
    pub fn parse_loose(s: &str) -> Option<Protocol> {
        Protocol::parse(&s.to_ascii_uppercase())
    }

    /// Dense index 0..3, for per-protocol arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A traffic direction, as seen from the pod a policy selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Traffic into the selected pod.
    Ingress,
    /// Traffic out of the selected pod.
    Egress,
}

impl Direction {
    /// `Ingress` or `Egress`, as in `policyTypes`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        }
    }
}

/// A namespace, declared in the input or created because something referenced it.
#[derive(Clone, Debug)]
pub struct Namespace {
    /// Name.
    pub name: String,
    /// Labels, always including [`NAMESPACE_NAME_LABEL`].
    pub labels: Labels,
    /// Annotations.
    pub annotations: Labels,
    /// Whether a `Namespace` object declared it.
    pub declared: bool,
    /// The declaring object.
    pub span: Option<Span>,
}

/// A container port a pod exposes; named ones are targets of named NetworkPolicy ports.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerPort {
    /// `name`, if set (an IANA_SVC_NAME).
    pub name: Option<String>,
    /// `containerPort`.
    pub port: u16,
    /// `protocol`, default TCP.
    pub protocol: Protocol,
}

/// Where a pod came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodOrigin {
    /// A `Pod` object in the input.
    Declared,
    /// The representative pod of a workload's pod template (no pod of it was in the input).
    Template,
}

/// A pod: the unit NetworkPolicies select.
#[derive(Clone, Debug)]
pub struct Pod {
    /// Name; for template pods, the workload's name.
    pub name: String,
    /// Namespace.
    pub namespace: NamespaceId,
    /// Labels.
    pub labels: Labels,
    /// Annotations.
    pub annotations: Labels,
    /// Container ports of all containers (and init containers).
    pub ports: Vec<ContainerPort>,
    /// Known IPs, from `status.podIP` / `status.podIPs` (IPv4 and IPv6).
    pub ips: Vec<IpAddr>,
    /// `spec.hostNetwork`: the pod uses its node's network, policies do not apply to it.
    pub host_network: bool,
    /// The top-level workload that owns it, if that workload is in the input.
    pub workload: Option<WorkloadId>,
    /// Declared or synthesized from a template.
    pub origin: PodOrigin,
    /// The declaring object (the workload's template for template pods).
    pub span: Option<Span>,
}

/// What an endpoint name in an output stands for: JSON outputs print it as `*_kind` (`pod`,
/// `workload`, `external`, `service`) with `*_workload_kind` beside the name. One definition so
/// `check`, `connectivity`, `replay` and `diff` agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndpointKind {
    /// A pod not grouped under a workload.
    Pod,
    /// A workload (or a pod shown under its workload's name).
    Workload(WorkloadKind),
    /// An address or range outside the model's pods.
    External,
    /// A Service's ClusterIP Palisade could not resolve to a backend.
    Service,
}

impl EndpointKind {
    /// `pod`, `workload`, `external` or `service`.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointKind::Pod => "pod",
            EndpointKind::Workload(_) => "workload",
            EndpointKind::External => "external",
            EndpointKind::Service => "service",
        }
    }

    /// The workload's Kubernetes kind (`Deployment`, ...), for workloads only.
    pub fn workload_kind(self) -> Option<&'static str> {
        match self {
            EndpointKind::Workload(k) => Some(k.as_str()),
            _ => None,
        }
    }
}

/// The kind of a workload controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkloadKind {
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 ReplicaSet.
    ReplicaSet,
    /// apps/v1 StatefulSet.
    StatefulSet,
    /// apps/v1 DaemonSet.
    DaemonSet,
    /// batch/v1 Job.
    Job,
    /// batch/v1 CronJob.
    CronJob,
    /// v1 ReplicationController.
    ReplicationController,
}

impl WorkloadKind {
    /// The Kubernetes kind name.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::ReplicaSet => "ReplicaSet",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::Job => "Job",
            WorkloadKind::CronJob => "CronJob",
            WorkloadKind::ReplicationController => "ReplicationController",
        }
    }

    /// Parses a Kubernetes kind name.
    pub fn parse(kind: &str) -> Option<WorkloadKind> {
        Some(match kind {
            "Deployment" => WorkloadKind::Deployment,
            "ReplicaSet" => WorkloadKind::ReplicaSet,
            "StatefulSet" => WorkloadKind::StatefulSet,
            "DaemonSet" => WorkloadKind::DaemonSet,
            "Job" => WorkloadKind::Job,
            "CronJob" => WorkloadKind::CronJob,
            "ReplicationController" => WorkloadKind::ReplicationController,
            _ => return None,
        })
    }
}

/// A workload controller and the pods grouped under it.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: NamespaceId,
    /// Kind.
    pub kind: WorkloadKind,
    /// Labels of the pod template.
    pub template_labels: Labels,
    /// `spec.selector` (apps/v1 workloads and Jobs that set it): the labels the controller
    /// itself relies on, which stay the same across rollouts. `None` when absent (CronJob,
    /// a Job with a generated selector).
    pub selector: Option<LabelSelector>,
    /// Container ports of the pod template.
    pub template_ports: Vec<ContainerPort>,
    /// Annotations of the workload object.
    pub annotations: Labels,
    /// The workload that owns this one (a ReplicaSet's Deployment, a Job's CronJob).
    pub owner: Option<WorkloadId>,
    /// Pods grouped under it (declared pods it owns, or its one template pod). Empty for
    /// workloads that have an owner: their pods are grouped under the top-level owner.
    pub pods: Vec<PodId>,
    /// The declaring object; `None` for a workload the loader inferred from its pods'
    /// `ownerReferences`/`generateName` because the object itself was not in the input.
    pub span: Option<Span>,
}

/// A Service: kept in the model for later analyses; NetworkPolicy ignores Services.
#[derive(Clone, Debug)]
pub struct Service {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: NamespaceId,
    /// `spec.selector` (empty for services without a selector).
    pub selector: Labels,
    /// `spec.ports`.
    pub ports: Vec<ServicePort>,
    /// `spec.clusterIP`/`clusterIPs`, when set to addresses.
    pub cluster_ips: Vec<IpAddr>,
    /// The declaring object.
    pub span: Option<Span>,
}

/// A policy object of a kind Palisade does not evaluate (yet): CiliumNetworkPolicy, Calico
/// NetworkPolicy/GlobalNetworkPolicy, AdminNetworkPolicy, Istio AuthorizationPolicy, …
/// It is kept so that every answer about a pod it may select can say it is uncertain.
#[derive(Clone, Debug)]
pub struct UnevaluatedPolicy {
    /// `kind`, e.g. `CiliumNetworkPolicy`.
    pub kind: String,
    /// `apiVersion`, e.g. `cilium.io/v2`.
    pub api_version: String,
    /// Name.
    pub name: String,
    /// Namespace; `None` for cluster-wide kinds, which may select pods of every namespace.
    pub namespace: Option<NamespaceId>,
    /// The labels the pods it selects must have, when its selector is that simple
    /// (`matchLabels` only, or Calico `key == 'value'` terms); `None` means it may select
    /// every pod of its scope.
    pub pod_labels: Option<Labels>,
    /// The declaring object.
    pub span: Option<Span>,
}

/// One port of a Service.
#[derive(Clone, Debug)]
pub struct ServicePort {
    /// `name`.
    pub name: Option<String>,
    /// `port`.
    pub port: u16,
    /// `targetPort`: a number or a container port name; defaults to `port`.
    pub target_port: PortRef,
    /// `protocol`, default TCP.
    pub protocol: Protocol,
}

/// How a list field was written, which matters for lint: a missing `from` and `from: []` both
/// mean "all peers" to Kubernetes, but only one of them is usually intended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListForm {
    /// The field is absent.
    Missing,
    /// The field is an empty list (or null).
    Empty,
    /// The field has at least one item.
    Items,
}

/// A port by number or by container-port name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PortRef {
    /// A port number.
    Number(u16),
    /// A named container port, resolved against the destination pod.
    Name(String),
}

/// One entry of a rule's `ports`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSpec {
    /// `protocol`, default TCP.
    pub protocol: Protocol,
    /// `port`; `None` means every port of the protocol.
    pub port: Option<PortRef>,
    /// `endPort`: with a numeric `port`, the range `port..=end_port`.
    pub end_port: Option<u16>,
    /// The entry.
    pub span: Option<Span>,
}

/// An `ipBlock` peer, normalized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpBlock {
    /// `cidr` as written (host bits may be set; Kubernetes accepts that).
    pub cidr_text: String,
    /// `cidr` with host bits cleared.
    pub cidr: IpNet,
    /// `except`, host bits cleared, as written order.
    pub except: Vec<IpNet>,
    /// `except` as written, same order as `except`.
    pub except_text: Vec<String>,
}

impl IpBlock {
    /// Whether an address is in `cidr` and in none of the `except` ranges. An IPv4-mapped
    /// IPv6 address (`::ffff:10.0.0.1`) counts as its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = Self::as_compared(ip);
        self.cidr.contains(&ip) && !self.except.iter().any(|e| e.contains(&ip))
    }

    /// The index of the `except` entry that removes an address of `cidr` from the block;
    /// `None` when the address is outside `cidr` or not excluded.
    pub fn excluded_by(&self, ip: IpAddr) -> Option<usize> {
        let ip = Self::as_compared(ip);
        if !self.cidr.contains(&ip) {
            return None;
        }
        self.except.iter().position(|e| e.contains(&ip))
    }

    /// An address as blocks compare it: an IPv4-mapped IPv6 address is its IPv4 address.
    fn as_compared(ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        }
    }
}

/// What one `from`/`to` entry selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerKind {
    /// `podSelector` and/or `namespaceSelector` (both present: AND). A missing
    /// `namespaceSelector` means the policy's own namespace; a missing `podSelector` means
    /// every pod of the selected namespaces.
    Selector {
        /// `namespaceSelector`.
        namespace_selector: Option<LabelSelector>,
        /// `podSelector`.
        pod_selector: Option<LabelSelector>,
    },
    /// `ipBlock`.
    IpBlock(IpBlock),
}

/// One entry of a rule's `from` (ingress) or `to` (egress).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// What it selects.
    pub kind: PeerKind,
    /// The entry.
    pub span: Option<Span>,
}

/// One ingress or egress rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// `from`/`to`; empty means every peer (pods and IPs alike).
    pub peers: Vec<Peer>,
    /// How `from`/`to` was written.
    pub peers_form: ListForm,
    /// `ports`; empty means every port and protocol.
    pub ports: Vec<PortSpec>,
    /// How `ports` was written.
    pub ports_form: ListForm,
    /// The rule.
    pub span: Option<Span>,
}

/// A NetworkPolicy with defaults applied.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Name.
    pub name: String,
    /// Namespace: the policy selects pods of this namespace only.
    pub namespace: NamespaceId,
    /// Annotations.
    pub annotations: Labels,
    /// `spec.podSelector`.
    pub pod_selector: LabelSelector,
    /// Effective: isolates selected pods for ingress (`policyTypes` resolved).
    pub affects_ingress: bool,
    /// Effective: isolates selected pods for egress (`policyTypes` resolved).
    pub affects_egress: bool,
    /// `policyTypes` as written, with the span of each entry; `None` when absent.
    pub declared_policy_types: Option<Vec<(Direction, Option<Span>)>>,
    /// `spec.ingress`.
    pub ingress: Vec<Rule>,
    /// How `spec.ingress` was written.
    pub ingress_form: ListForm,
    /// `spec.egress`.
    pub egress: Vec<Rule>,
    /// How `spec.egress` was written.
    pub egress_form: ListForm,
    /// The whole object.
    pub span: Option<Span>,
}

impl Policy {
    /// Whether the policy isolates its pods in a direction.
    pub fn affects(&self, direction: Direction) -> bool {
        match direction {
            Direction::Ingress => self.affects_ingress,
            Direction::Egress => self.affects_egress,
        }
    }

    /// The rules of a direction (empty when the direction is not affected).
    pub fn rules(&self, direction: Direction) -> &[Rule] {
        match (direction, self.affects(direction)) {
            (_, false) => &[],
            (Direction::Ingress, true) => &self.ingress,
            (Direction::Egress, true) => &self.egress,
        }
    }
}

/// Everything the loader read: the ground truth every analysis starts from.
#[derive(Debug, Default)]
pub struct Model {
    /// The files the model was read from; every [`Span`] points into them.
    pub sources: SourceMap,
    /// Namespaces, indexed by [`NamespaceId`].
    pub namespaces: Vec<Namespace>,
    /// Pods, indexed by [`PodId`]; shared (copy on write) with models made from this one
    /// that differ only in policies.
    pub pods: Shared<Pod>,
    /// Workloads, indexed by [`WorkloadId`]; shared like `pods`.
    pub workloads: Shared<Workload>,
    /// NetworkPolicies, indexed by [`PolicyId`].
    pub policies: Vec<Policy>,
    /// Services, indexed by [`ServiceId`].
    pub services: Vec<Service>,
    /// Cluster-scoped admin policies (ClusterNetworkPolicy, AdminNetworkPolicy,
    /// BaselineAdminNetworkPolicy), in input order; evaluation orders them by tier, priority
    /// and name.
    pub admin_policies: Vec<AdminPolicy>,
    /// `Node` objects (their IPs are what `nodes` peers select).
    pub nodes: Vec<Node>,
    /// Policy objects of other kinds that Palisade does not evaluate.
    pub unevaluated: Vec<UnevaluatedPolicy>,
    namespace_index: FxHashMap<String, NamespaceId>,
}

impl Model {
    /// The namespace with this name, if any.
    pub fn namespace_id(&self, name: &str) -> Option<NamespaceId> {
        self.namespace_index.get(name).copied()
    }

    /// The namespace with this name, created (undeclared, with the name label) if missing.
    pub fn ensure_namespace(&mut self, name: &str) -> NamespaceId {
        if let Some(id) = self.namespace_id(name) {
            return id;
        }
        let id = NamespaceId::new(self.namespaces.len());
        let mut labels = Labels::new();
        labels.insert(NAMESPACE_NAME_LABEL.to_string(), name.to_string());
        self.namespaces.push(Namespace {
            name: name.to_string(),
            labels,
            annotations: Labels::new(),
            declared: false,
            span: None,
        });
        self.namespace_index.insert(name.to_string(), id);
        id
    }

    /// Declares a namespace: sets its labels (plus the name label), annotations and span.
    pub fn declare_namespace(
        &mut self,
        name: &str,
        mut labels: Labels,
        annotations: Labels,
        span: Option<Span>,
    ) -> NamespaceId {
        let id = self.ensure_namespace(name);
        labels.insert(NAMESPACE_NAME_LABEL.to_string(), name.to_string());
        let ns = &mut self.namespaces[id.index()];
        ns.labels = labels;
        ns.annotations = annotations;
        ns.declared = true;
        ns.span = span;
        id
    }

    /// Adds a pod and returns its id.
    pub fn add_pod(&mut self, pod: Pod) -> PodId {
        self.pods.push(pod);
        PodId::new(self.pods.len() - 1)
    }

    /// Adds a workload and returns its id.
    pub fn add_workload(&mut self, workload: Workload) -> WorkloadId {
        self.workloads.push(workload);
        WorkloadId::new(self.workloads.len() - 1)
    }

    /// Adds a policy and returns its id.
    pub fn add_policy(&mut self, policy: Policy) -> PolicyId {
        self.policies.push(policy);
        PolicyId::new(self.policies.len() - 1)
    }

    /// Adds a service and returns its id.
    pub fn add_service(&mut self, service: Service) -> ServiceId {
        self.services.push(service);
        ServiceId::new(self.services.len() - 1)
    }

    /// The namespace of an id.
    pub fn namespace(&self, id: NamespaceId) -> &Namespace {
        &self.namespaces[id.index()]
    }

    /// `namespace/name` of a pod.
    pub fn pod_name(&self, id: PodId) -> String {
        let pod = &self.pods[id.index()];
        format!("{}/{}", self.namespace(pod.namespace).name, pod.name)
    }

    /// `Kind namespace/name` (or `Kind name` when cluster-wide) of an unevaluated policy.
    pub fn unevaluated_name(&self, index: usize) -> String {
        let u = &self.unevaluated[index];
        match u.namespace {
            Some(ns) => format!("{} {}/{}", u.kind, self.namespace(ns).name, u.name),
            None => format!("{} {}", u.kind, u.name),
        }
    }

    /// `namespace/name` of a workload.
    pub fn workload_name(&self, id: WorkloadId) -> String {
        let w = &self.workloads[id.index()];
        format!("{}/{}", self.namespace(w.namespace).name, w.name)
    }

    /// `namespace/name` of a policy.
    pub fn policy_name(&self, id: PolicyId) -> String {
        let p = &self.policies[id.index()];
        format!("{}/{}", self.namespace(p.namespace).name, p.name)
    }

    /// The kind of a pod shown as [`Model::pod_workload_name`]: its workload's, else `pod`.
    pub fn pod_workload_kind(&self, id: PodId) -> EndpointKind {
        match self.pods[id.index()].workload {
            Some(w) => self.workload_kind(w),
            None => EndpointKind::Pod,
        }
    }

    /// The kind of a workload endpoint.
    pub fn workload_kind(&self, id: WorkloadId) -> EndpointKind {
        EndpointKind::Workload(self.workloads[id.index()].kind)
    }

    /// `namespace/name` of the workload a pod is grouped under, or of the pod itself.
    pub fn pod_workload_name(&self, id: PodId) -> String {
        match self.pods[id.index()].workload {
            Some(w) => self.workload_name(w),
            None => self.pod_name(id),
        }
    }

    /// `file:line:col` of a span, if there is one.
    pub fn location(&self, span: Option<Span>) -> Option<palisade_diag::Location> {
        span.map(|s| self.sources.location(s))
    }

    /// Ids of all pods.
    pub fn pod_ids(&self) -> impl Iterator<Item = PodId> + use<> {
        (0..self.pods.len()).map(PodId::new)
    }

    /// Ids of all policies.
    pub fn policy_ids(&self) -> impl Iterator<Item = PolicyId> + use<> {
        (0..self.policies.len()).map(PolicyId::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_round_trip_and_are_case_sensitive() {
        for (i, p) in Protocol::ALL.into_iter().enumerate() {
            assert_eq!(Protocol::parse(p.as_str()), Some(p));
            assert_eq!(p.to_string(), p.as_str());
            assert_eq!(p.index(), i);
            assert_eq!(
                Protocol::parse_loose(&p.as_str().to_ascii_lowercase()),
                Some(p)
            );
        }
        assert_eq!(Protocol::ALL.map(Protocol::as_str), ["TCP", "UDP", "SCTP"]);
        assert_eq!(Protocol::parse("tcp"), None);
        assert_eq!(Protocol::parse("ICMP"), None);
        assert_eq!(Protocol::parse(""), None);
        assert_eq!(Protocol::parse_loose("Udp"), Some(Protocol::Udp));
        assert_eq!(Protocol::parse_loose("sctp"), Some(Protocol::Sctp));
        assert_eq!(Protocol::parse_loose("icmp"), None);
    }

    #[test]
    fn direction_and_workload_kind_names() {
        assert_eq!(Direction::Ingress.as_str(), "Ingress");
        assert_eq!(Direction::Egress.as_str(), "Egress");
        let kinds = [
            (WorkloadKind::Deployment, "Deployment"),
            (WorkloadKind::ReplicaSet, "ReplicaSet"),
            (WorkloadKind::StatefulSet, "StatefulSet"),
            (WorkloadKind::DaemonSet, "DaemonSet"),
            (WorkloadKind::Job, "Job"),
            (WorkloadKind::CronJob, "CronJob"),
            (WorkloadKind::ReplicationController, "ReplicationController"),
        ];
        for (kind, name) in kinds {
            assert_eq!(kind.as_str(), name);
            assert_eq!(WorkloadKind::parse(name), Some(kind));
        }
        assert_eq!(WorkloadKind::parse("deployment"), None);
        assert_eq!(WorkloadKind::parse("Pod"), None);
    }

    #[test]
    fn endpoint_kind_names_and_workload_kinds() {
        // The JSON outputs print these as `*_kind` and `*_workload_kind`.
        let statefulset = EndpointKind::Workload(WorkloadKind::StatefulSet);
        assert_eq!(statefulset.as_str(), "workload");
        assert_eq!(statefulset.workload_kind(), Some("StatefulSet"));
        for (kind, name) in [
            (EndpointKind::Pod, "pod"),
            (EndpointKind::External, "external"),
            (EndpointKind::Service, "service"),
        ] {
            assert_eq!(kind.as_str(), name);
            assert_eq!(kind.workload_kind(), None, "{name}");
        }
    }

    fn block(cidr: &str, except: &[&str]) -> IpBlock {
        IpBlock {
            cidr_text: cidr.into(),
            cidr: cidr.parse::<IpNet>().unwrap().trunc(),
            except: except.iter().map(|e| e.parse().unwrap()).collect(),
            except_text: except.iter().map(|e| e.to_string()).collect(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ip_block_is_cidr_minus_except_at_the_edges() {
        let b = block("10.0.0.0/16", &["10.0.1.0/24", "10.0.3.7/32"]);
        assert!(b.contains(ip("10.0.0.0")));
        assert!(b.contains(ip("10.0.255.255")));
        assert!(!b.contains(ip("10.1.0.0")));
        assert!(!b.contains(ip("9.255.255.255")));
        assert!(b.contains(ip("10.0.0.255")));
        assert!(!b.contains(ip("10.0.1.0")));
        assert!(!b.contains(ip("10.0.1.255")));
        assert!(b.contains(ip("10.0.2.0")));
        assert!(!b.contains(ip("10.0.3.7")));
        assert!(b.contains(ip("10.0.3.6")));
        assert!(b.contains(ip("10.0.3.8")));
        assert_eq!(b.excluded_by(ip("10.0.1.9")), Some(0));
        assert_eq!(b.excluded_by(ip("10.0.3.7")), Some(1));
        assert_eq!(b.excluded_by(ip("::ffff:10.0.3.7")), Some(1));
        assert_eq!(b.excluded_by(ip("10.0.3.6")), None);
        // Outside `cidr`: not excluded, just not in the block.
        assert_eq!(
            block("10.0.0.0/24", &["10.0.0.0/8"]).excluded_by(ip("10.9.0.1")),
            None
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_counts_as_ipv4() {
        let v4 = block("10.0.0.0/8", &["10.9.0.0/16"]);
        assert!(v4.contains(ip("::ffff:10.1.2.3")));
        assert!(!v4.contains(ip("::ffff:10.9.2.3")));
        assert!(!v4.contains(ip("::ffff:11.1.2.3")));
        let v6 = block("fd00::/8", &["fd00:1::/32"]);
        assert!(v6.contains(ip("fd00::1")));
        assert!(!v6.contains(ip("fd00:1::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        assert!(!v4.contains(ip("fd00::1")));
    }

    fn rule() -> Rule {
        Rule {
            peers: vec![],
            peers_form: ListForm::Missing,
            ports: vec![],
            ports_form: ListForm::Missing,
            span: None,
        }
    }

    fn policy(ingress: bool, egress: bool) -> Policy {
        Policy {
            name: "p".into(),
            namespace: NamespaceId::new(0),
            annotations: Labels::new(),
            pod_selector: LabelSelector::default(),
            affects_ingress: ingress,
            affects_egress: egress,
            declared_policy_types: None,
            ingress: vec![rule()],
            ingress_form: ListForm::Items,
            egress: vec![rule(), rule()],
            egress_form: ListForm::Items,
            span: None,
        }
    }

    #[test]
    fn a_policy_has_rules_only_in_the_directions_it_affects() {
        let both = policy(true, true);
        assert!(both.affects(Direction::Ingress) && both.affects(Direction::Egress));
        assert_eq!(both.rules(Direction::Ingress).len(), 1);
        assert_eq!(both.rules(Direction::Egress).len(), 2);
        let ingress = policy(true, false);
        assert!(ingress.affects(Direction::Ingress) && !ingress.affects(Direction::Egress));
        assert_eq!(ingress.rules(Direction::Ingress).len(), 1);
        assert!(ingress.rules(Direction::Egress).is_empty());
        let egress = policy(false, true);
        assert!(!egress.affects(Direction::Ingress) && egress.affects(Direction::Egress));
        assert!(egress.rules(Direction::Ingress).is_empty());
        assert_eq!(egress.rules(Direction::Egress).len(), 2);
    }

    fn pod(name: &str, namespace: NamespaceId, workload: Option<WorkloadId>) -> Pod {
        Pod {
            name: name.into(),
            namespace,
            labels: Labels::new(),
            annotations: Labels::new(),
            ports: vec![],
            ips: vec![],
            host_network: false,
            workload,
            origin: PodOrigin::Declared,
            span: None,
        }
    }

    #[test]
    fn namespaces_are_created_once_and_declaring_keeps_the_name_label() {
        let mut model = Model::default();
        assert_eq!(model.namespace_id("shop"), None);
        let shop = model.ensure_namespace("shop");
        let other = model.ensure_namespace("other");
        assert_ne!(shop, other);
        assert_eq!(model.ensure_namespace("shop"), shop);
        assert_eq!(model.namespaces.len(), 2);
        assert_eq!(model.namespace_id("shop"), Some(shop));
        assert_eq!(model.namespace_id("other"), Some(other));
        assert!(!model.namespace(shop).declared);
        assert_eq!(
            model.namespace(other).labels.get(NAMESPACE_NAME_LABEL),
            Some(&"other".to_string())
        );

        let labels: Labels = [
            ("team".to_string(), "red".to_string()),
            (NAMESPACE_NAME_LABEL.to_string(), "spoofed".to_string()),
        ]
        .into_iter()
        .collect();
        let annotations: Labels = [("a".to_string(), "b".to_string())].into_iter().collect();
        let declared = model.declare_namespace("shop", labels, annotations.clone(), None);
        assert_eq!(declared, shop);
        let ns = model.namespace(shop);
        assert!(ns.declared);
        assert_eq!(ns.name, "shop");
        assert_eq!(ns.labels.get("team"), Some(&"red".to_string()));
        // The API server owns the name label.
        assert_eq!(
            ns.labels.get(NAMESPACE_NAME_LABEL),
            Some(&"shop".to_string())
        );
        assert_eq!(ns.annotations, annotations);
        // Declaring a new name creates it.
        let fresh = model.declare_namespace("fresh", Labels::new(), Labels::new(), None);
        assert_eq!(model.namespace_id("fresh"), Some(fresh));
        assert!(model.namespace(fresh).declared);
        assert_eq!(model.namespaces.len(), 3);
    }

    #[test]
    fn ids_index_their_vectors_and_names_are_namespaced() {
        let mut model = Model::default();
        let ns = model.ensure_namespace("shop");
        let w = model.add_workload(Workload {
            name: "web".into(),
            namespace: ns,
            kind: WorkloadKind::Deployment,
            template_labels: Labels::new(),
            selector: None,
            template_ports: vec![],
            annotations: Labels::new(),
            owner: None,
            pods: vec![],
            span: None,
        });
        let a = model.add_pod(pod("web-1", ns, Some(w)));
        let b = model.add_pod(pod("tool", ns, None));
        assert_eq!((a.index(), b.index()), (0, 1));
        assert_eq!(model.pod_ids().collect::<Vec<_>>(), vec![a, b]);
        assert_eq!(model.pod_name(b), "shop/tool");
        assert_eq!(model.workload_name(w), "shop/web");
        assert_eq!(model.pod_workload_name(a), "shop/web");
        assert_eq!(model.pod_workload_name(b), "shop/tool");
        assert_eq!(
            model.pod_workload_kind(a),
            EndpointKind::Workload(WorkloadKind::Deployment)
        );
        assert_eq!(model.pod_workload_kind(b), EndpointKind::Pod);
        assert_eq!(
            model.workload_kind(w),
            EndpointKind::Workload(WorkloadKind::Deployment)
        );
        let unevaluated = |kind: &str, namespace| UnevaluatedPolicy {
            kind: kind.into(),
            api_version: "example.io/v1".into(),
            name: "guard".into(),
            namespace,
            pod_labels: None,
            span: None,
        };
        model
            .unevaluated
            .push(unevaluated("CiliumNetworkPolicy", Some(ns)));
        model
            .unevaluated
            .push(unevaluated("CiliumClusterwideNetworkPolicy", None));
        assert_eq!(model.unevaluated_name(0), "CiliumNetworkPolicy shop/guard");
        assert_eq!(
            model.unevaluated_name(1),
            "CiliumClusterwideNetworkPolicy guard"
        );
        let p0 = model.add_policy(policy(true, false));
        let p1 = model.add_policy(policy(false, true));
        assert_eq!((p0.index(), p1.index()), (0, 1));
        assert_eq!(model.policy_ids().collect::<Vec<_>>(), vec![p0, p1]);
        assert_eq!(model.policy_name(p1), "shop/p");
        let s0 = model.add_service(Service {
            name: "svc".into(),
            namespace: ns,
            selector: Labels::new(),
            ports: vec![],
            cluster_ips: vec![],
            span: None,
        });
        let s1 = model.add_service(model.services[0].clone());
        assert_eq!((s0.index(), s1.index()), (0, 1));
        assert_eq!(model.add_workload(model.workloads[0].clone()).index(), 1);
    }

    #[test]
    fn locations_resolve_spans() {
        let mut model = Model::default();
        assert_eq!(model.location(None), None);
        let source = model.sources.add("policy.yaml", "a: 1\nb: 2\n");
        let span = Span {
            source,
            start: 5,
            end: 9,
        };
        let location = model.location(Some(span)).unwrap();
        assert_eq!((location.line, location.column), (2, 1));
    }
}

/// A port as users give it on the command line (`--port`): a number (`5432`), a name
/// (`pg`, matched against named container ports and Service ports) or either with a
/// protocol (`53/UDP`, `dns/udp`). One parser for every command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortArg {
    /// The number or name.
    pub port: PortRef,
    /// The protocol after `/`, if given.
    pub protocol: Option<Protocol>,
}

impl PortArg {
    /// Parses `80`, `http`, `53/UDP`, `dns/udp` (protocol in any case).
    ///
    /// # Errors
    /// What is wrong: port 0 or above 65535, a name that is no IANA_SVC_NAME (at most 15
    /// lowercase alphanumerics and `-`, with a letter), an unknown protocol.
    pub fn parse(s: &str) -> Result<PortArg, String> {
        let s = s.trim();
        let (port, protocol) = match s.split_once('/') {
            Some((p, proto)) => (
                p,
                Some(Protocol::parse_loose(proto).ok_or_else(|| {
                    format!("`{s}`: unknown protocol `{proto}` (expected TCP, UDP or SCTP)")
                })?),
            ),
            None => (s, None),
        };
        let port = if port.bytes().all(|b| b.is_ascii_digit()) && !port.is_empty() {
            match port.parse::<u16>() {
                Ok(n) if n > 0 => PortRef::Number(n),
                _ => return Err(format!("`{s}`: a port number is 1-65535")),
            }
        } else if !port.is_empty()
            && port.len() <= 15
            && port
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && port.bytes().any(|b| b.is_ascii_lowercase())
            && !port.starts_with('-')
            && !port.ends_with('-')
            && !port.contains("--")
        {
            PortRef::Name(port.to_string())
        } else {
            return Err(format!(
                "`{s}` is not a port: give a number (5432), a port name (pg) or NUM/PROTO (53/UDP)"
            ));
        };
        Ok(PortArg { port, protocol })
    }

    /// Whether `port`/`protocol` of a connection to a pod with `ports` is this spec: a
    /// number equal, or a name that one of the pod's container ports of that protocol has.
    pub fn matches(&self, port: u16, protocol: Protocol, pod_ports: &[ContainerPort]) -> bool {
        self.protocol.is_none_or(|p| p == protocol)
            && match &self.port {
                PortRef::Number(n) => *n == port,
                PortRef::Name(name) => pod_ports.iter().any(|c| {
                    c.name.as_deref() == Some(name.as_str())
                        && c.port == port
                        && c.protocol == protocol
                }),
            }
    }
}

#[cfg(test)]
mod port_spec_tests {
    use super::*;

    #[test]
    fn numbers_names_and_protocols() {
        let spec = |s: &str| PortArg::parse(s).unwrap();
        assert_eq!(spec("80").port, PortRef::Number(80));
        assert_eq!(spec("80").protocol, None);
        assert_eq!(spec("53/UDP").protocol, Some(Protocol::Udp));
        assert_eq!(spec("53/udp").port, PortRef::Number(53));
        assert_eq!(spec("pg").port, PortRef::Name("pg".into()));
        assert_eq!(spec("dns-tcp/TCP").protocol, Some(Protocol::Tcp));
        for bad in [
            "0",
            "65536",
            "53/QUIC",
            "Pg",
            "-pg",
            "a--b",
            "",
            "toolongportname1",
            "123-",
        ] {
            assert!(PortArg::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_name_matches_the_pods_named_port_of_that_protocol() {
        let ports = vec![
            ContainerPort {
                name: Some("pg".into()),
                port: 5432,
                protocol: Protocol::Tcp,
            },
            ContainerPort {
                name: Some("dns".into()),
                port: 53,
                protocol: Protocol::Udp,
            },
        ];
        let spec = |s: &str| PortArg::parse(s).unwrap();
        assert!(spec("pg").matches(5432, Protocol::Tcp, &ports));
        assert!(!spec("pg").matches(5433, Protocol::Tcp, &ports));
        assert!(!spec("pg").matches(5432, Protocol::Udp, &ports));
        assert!(spec("dns").matches(53, Protocol::Udp, &ports));
        assert!(!spec("dns/TCP").matches(53, Protocol::Udp, &ports));
        assert!(spec("53/UDP").matches(53, Protocol::Udp, &[]));
        assert!(!spec("53/UDP").matches(53, Protocol::Tcp, &[]));
        assert!(!spec("web").matches(8080, Protocol::Tcp, &ports));
    }
}
