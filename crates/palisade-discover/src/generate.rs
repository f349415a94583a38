//! Least-privilege NetworkPolicies from learned sessions, and the replay proof.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use ipnet::IpNet;
use palisade_engine::admin::AdminRuleRef;
use palisade_engine::{Endpoint, Engine, Entity, SideOutcome};
use palisade_model::{
    AdminAction, AdminTier, Labels, Model, NAMESPACE_NAME_LABEL, PodId, Protocol,
};

use crate::learn::{Observation, Tuple};
use crate::map::{Node, NodeKey, NodeKind, port_name};
use crate::selectors::{StableSelector, members};
use crate::yaml::{scalar, selector, string_map};

/// What the generated set does to the policies already there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GenerateMode {
    /// The generated set is the whole policy set of the namespaces it covers.
    #[default]
    Replace,
    /// Only what the current policies do not already allow, added next to them.
    Add,
}

/// Which workloads get a DNS egress rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DnsMode {
    /// Every egress-isolated workload (a pod that resolved nothing during the capture may
    /// resolve tomorrow; cached answers hide lookups).
    #[default]
    All,
    /// Only workloads seen resolving.
    Observed,
    /// None: DNS sessions are learned like any other.
    None,
}

/// How far a generated set goes: the stages of `palisade harden`, the last of which is what
/// `palisade generate` writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// One ingress policy per namespace, allowing the namespaces (and external networks)
    /// seen connecting to it, on any port. Egress stays open.
    NamespaceIngress,
    /// Per workload: ingress from the peers seen, on any port. Egress stays open.
    WorkloadIngress,
    /// Per workload: ingress from the peers seen, on the ports seen. Egress stays open.
    IngressPorts,
    /// Per workload, both directions, ports, DNS: least privilege.
    #[default]
    Full,
}

impl Scope {
    /// Every scope, widest first.
    pub const ALL: [Scope; 4] = [
        Scope::NamespaceIngress,
        Scope::WorkloadIngress,
        Scope::IngressPorts,
        Scope::Full,
    ];

    /// The stage directory's name (without its number).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::NamespaceIngress => "namespace-ingress",
            Scope::WorkloadIngress => "workload-ingress",
            Scope::IngressPorts => "ingress-ports",
            Scope::Full => "egress-and-dns",
        }
    }

    /// What the stage does, in one sentence.
    pub fn describe(self) -> &'static str {
        match self {
            Scope::NamespaceIngress => {
                "isolate each namespace's ingress, allowing the namespaces and networks seen connecting to it (any port)"
            }
            Scope::WorkloadIngress => {
                "per workload: ingress only from the workloads and networks seen connecting to it (any port)"
            }
            Scope::IngressPorts => "per workload: ingress narrowed to the ports seen",
            Scope::Full => {
                "per workload: egress isolated too, to the peers and ports seen, plus DNS (least privilege)"
            }
        }
    }
}

/// How to generate.
#[derive(Clone, Debug, Default)]
pub struct GenerateOptions {
    /// How far to go (`palisade generate`: [`Scope::Full`]).
    pub scope: Scope,
    /// Replace or add.
    pub mode: GenerateMode,
    /// DNS rules.
    pub dns: DnsMode,
    /// Also a default-deny policy per namespace covered.
    pub default_deny: bool,
    /// Merge consecutive observed ports into `endPort` ranges.
    pub merge_ports: bool,
    /// The captures, for the `palisade.dev/generated-from` annotation.
    pub generated_from: String,
}

/// Annotation naming the captures a policy was generated from.
pub const GENERATED_FROM: &str = "palisade.dev/generated-from";
/// Annotation with the number of sessions a policy was generated from.
pub const SESSIONS: &str = "palisade.dev/sessions";
/// Annotation with the first session's start.
pub const FIRST_SEEN: &str = "palisade.dev/first-seen";
/// Annotation with the last session's start.
pub const LAST_SEEN: &str = "palisade.dev/last-seen";

/// One generated policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedPolicy {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The workload it selects (`namespace/name`), or `None` for a default deny.
    pub subject: Option<String>,
    /// The other workloads (or bare pods) it was learned for: those no stable label tells
    /// apart from `subject`, which one policy selects together (empty for most policies).
    pub also_selects: Vec<String>,
    /// Ingress rules written.
    pub ingress_rules: usize,
    /// Egress rules written.
    pub egress_rules: usize,
    /// Learned sessions it covers.
    pub sessions: u64,
}

/// The generated policy set.
#[derive(Clone, Debug, Default)]
pub struct Generated {
    /// One file per namespace: namespace → YAML text.
    pub files: BTreeMap<String, String>,
    /// The policies, in file order.
    pub policies: Vec<GeneratedPolicy>,
    /// Things the user should know: coinciding selectors, no DNS pods, unreachable peers.
    pub notes: Vec<String>,
    /// With `--mode replace`: the current policies the set replaces, by namespace.
    pub replaced: BTreeMap<String, Vec<String>>,
}

impl Generated {
    /// All files concatenated in namespace order (for `-o -`).
    pub fn concatenated(&self) -> String {
        self.files.values().map(String::as_str).collect()
    }
}

/// Is a pod a cluster DNS server (CoreDNS / kube-dns by their usual labels)?
pub fn is_dns_pod(labels: &Labels) -> bool {
    labels
        .get("k8s-app")
        .is_some_and(|v| v == "kube-dns" || v == "coredns")
        || labels
            .get("app.kubernetes.io/name")
            .is_some_and(|v| v == "coredns" || v == "kube-dns")
}

/// The cluster DNS servers of a model: top-level workloads (or bare pods) whose pods carry
/// the DNS labels and that policies can select (not hostNetwork), sorted by name.
pub fn dns_servers(model: &Model) -> Vec<(NodeKey, String)> {
    let mut out: BTreeMap<String, NodeKey> = BTreeMap::new();
    for id in model.pod_ids() {
        let pod = &model.pods[id.index()];
        if pod.host_network || !is_dns_pod(&pod.labels) {
            continue;
        }
        let key = match pod.workload {
            Some(w) => NodeKey::Workload(w),
            None => NodeKey::Pod(id),
        };
        out.insert(model.pod_workload_name(id), key);
    }
    out.into_iter().map(|(n, k)| (k, n)).collect()
}

/// A count of sessions and the time span they cover.
#[derive(Clone, Copy, Debug, Default)]
struct Seen {
    sessions: u64,
    first_ns: i64,
    last_ns: i64,
}

impl Seen {
    /// Adds `more` sessions seen from `from` to `to`.
    fn add(&mut self, more: u64, from: i64, to: i64) {
        if self.sessions == 0 {
            (self.first_ns, self.last_ns) = (from, to);
        }
        self.sessions += more;
        self.first_ns = self.first_ns.min(from);
        self.last_ns = self.last_ns.max(to);
    }

    /// Adds another count (nothing when it is empty).
    fn merge(&mut self, other: Seen) {
        if other.sessions > 0 {
            self.add(other.sessions, other.first_ns, other.last_ns);
        }
    }
}

/// A peer of a rule, with what it covers.
#[derive(Clone, Debug, Default)]
struct RuleAcc {
    ports: BTreeSet<(Protocol, u16)>,
    seen: Seen,
}

impl RuleAcc {
    /// Adds another accumulator's sessions and ports.
    fn merge(&mut self, other: &RuleAcc) {
        if other.seen.sessions == 0 {
            return;
        }
        self.ports.extend(other.ports.iter().copied());
        self.seen.merge(other.seen);
    }

    fn add(&mut self, t: &Tuple) {
        self.ports.insert((t.protocol, t.port));
        self.seen.add(t.sessions, t.first_ns, t.last_ns);
    }
}

#[derive(Clone, Debug, Default)]
struct Subject {
    ingress: BTreeMap<usize, RuleAcc>,
    egress: BTreeMap<usize, RuleAcc>,
    /// Seen resolving (a learned DNS session), with the sessions.
    resolved: RuleAcc,
    /// Learned DNS sessions it served.
    served: RuleAcc,
    seen: Seen,
}

impl Subject {
    /// What one policy for `self`'s pods and `other`'s must allow: both.
    fn absorb(&mut self, other: &Subject) {
        for (mine, theirs) in [
            (&mut self.ingress, &other.ingress),
            (&mut self.egress, &other.egress),
        ] {
            for (&peer, acc) in theirs {
                mine.entry(peer).or_default().merge(acc);
            }
        }
        self.resolved.merge(&other.resolved);
        self.served.merge(&other.served);
        self.seen.merge(other.seen);
    }

    fn count(&mut self, t: &Tuple) {
        self.seen.add(t.sessions, t.first_ns, t.last_ns);
    }
}

/// RFC 3339 with milliseconds.
pub fn time(ns: i64) -> String {
    let full = palisade_flows::format_rfc3339(ns);
    format!("{}Z", &full[..23])
}

fn is_cluster(node: &Node) -> bool {
    matches!(node.key, NodeKey::Workload(_) | NodeKey::Pod(_))
}

fn is_subject(node: &Node) -> bool {
    is_cluster(node) && !node.host_network
}

struct Ctx<'a> {
    model: &'a Model,
    obs: &'a Observation,
    options: &'a GenerateOptions,
    /// Each node's selector, with the node's id.
    selectors: BTreeMap<NodeKey, (String, StableSelector)>,
    /// Pods by namespace index, built on first use (selectors compare a workload with the
    /// rest of its namespace).
    namespace_pods: Option<Vec<Vec<PodId>>>,
    dns: Vec<(NodeKey, String)>,
    notes: Vec<String>,
}

impl Ctx<'_> {
    fn selector(&mut self, key: &NodeKey, name: &str) -> Labels {
        if !self.selectors.contains_key(key) {
            let model = self.model;
            let by_namespace = self.namespace_pods.get_or_insert_with(|| {
                let mut by = vec![Vec::new(); model.namespaces.len()];
                for p in model.pod_ids() {
                    by[model.pods[p.index()].namespace.index()].push(p);
                }
                by
            });
            let namespace = match key {
                NodeKey::Workload(w) => Some(model.workloads[w.index()].namespace),
                NodeKey::Pod(p) => Some(model.pods[p.index()].namespace),
                _ => None,
            };
            let among = namespace.map_or(&[][..], |ns| by_namespace[ns.index()].as_slice());
            let s = crate::selectors::stable_selector_among(model, key, name, among);
            self.selectors.insert(key.clone(), (name.to_string(), s));
        }
        self.selectors[key].1.labels.clone()
    }

    /// Whether a node's selector matches exactly its own pods (after [`Ctx::selector`]).
    fn exact(&self, key: &NodeKey) -> bool {
        self.selectors.get(key).is_some_and(|(_, s)| s.exact)
    }

    /// The selectors' notes, one per group of nodes no stable label tells apart (each
    /// node's own note would list all the others: quadratic in the group's size).
    fn selector_notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        // (namespace, labels) → the nodes selected so, with their ids and selectors.
        type Alike<'s> =
            BTreeMap<(String, &'s Labels), Vec<(&'s NodeKey, &'s str, &'s StableSelector)>>;
        let mut alike: Alike<'_> = BTreeMap::new();
        for (key, (name, s)) in &self.selectors {
            if s.exact {
                notes.extend(s.note.iter().cloned());
            } else if s.note.is_some() {
                alike
                    .entry((self.namespace_of(key), &s.labels))
                    .or_default()
                    .push((key, name.as_str(), s));
            }
        }
        for ((_, labels), group) in alike {
            if let [(_, _, s)] = group[..] {
                notes.extend(s.note.iter().cloned());
                continue;
            }
            let own: BTreeSet<PodId> = group
                .iter()
                .flat_map(|(key, _, _)| members(self.model, key))
                .collect();
            let mut outside: Vec<String> = group
                .iter()
                .flat_map(|(_, _, s)| s.also_selects.iter())
                .filter(|p| !own.contains(p))
                .map(|&p| self.model.pod_workload_name(p))
                .collect();
            outside.sort();
            outside.dedup();
            let mut names: Vec<&str> = group.iter().map(|(_, name, _)| *name).collect();
            names.sort_unstable();
            let also = if outside.is_empty() {
                String::new()
            } else {
                format!(", as do {}", outside.join(", "))
            };
            notes.push(format!(
                "no stable labels tell apart {} ({} of them, all matching {}{also}): the generated policies and rules select them together, as one (give them distinguishing labels)",
                names.join(", "),
                names.len(),
                crate::selectors::labels_text(labels),
            ));
        }
        notes
    }

    fn namespace_of(&self, key: &NodeKey) -> String {
        let ns = match key {
            NodeKey::Workload(w) => self.model.workloads[w.index()].namespace,
            NodeKey::Pod(p) => self.model.pods[p.index()].namespace,
            _ => unreachable!("only cluster nodes have a namespace"),
        };
        self.model.namespace(ns).name.clone()
    }

    /// The peer entries (`- ...` items under `from:`/`to:`) for a node, seen from a policy
    /// in `policy_ns`; empty when the node cannot be expressed (a note says why).
    fn peer_items(&mut self, node: &Node, policy_ns: &str, indent: usize) -> String {
        let pad = " ".repeat(indent);
        let mut out = String::new();
        match node.kind {
            NodeKind::External => {
                for net in &node.networks {
                    ip_block(&mut out, &pad, *net, &pod_ips_in(self.model, *net));
                }
            }
            NodeKind::Workload if node.host_network => {
                let ips: Vec<IpNet> = self.host_ips(&node.key);
                if ips.is_empty() {
                    self.notes.push(format!(
                        "{} uses the host network and has no IP in the cluster model: its sessions cannot be allowed by address (export the pods with status.podIP)",
                        node.id
                    ));
                }
                for net in IpNet::aggregate(&ips) {
                    ip_block(&mut out, &pad, net, &[]);
                }
            }
            NodeKind::Workload => {
                let ns = self.namespace_of(&node.key);
                let labels = self.selector(&node.key, &node.id);
                if ns == policy_ns {
                    let _ = write!(out, "{pad}- ");
                    let mut sel = String::new();
                    selector(&mut sel, indent + 2, "podSelector", &labels);
                    out.push_str(sel.trim_start());
                } else {
                    let _ = write!(out, "{pad}- ");
                    let mut sel = String::new();
                    let ns_labels: Labels = [(NAMESPACE_NAME_LABEL.to_string(), ns)]
                        .into_iter()
                        .collect();
                    selector(&mut sel, indent + 2, "namespaceSelector", &ns_labels);
                    selector(&mut sel, indent + 2, "podSelector", &labels);
                    out.push_str(sel.trim_start());
                }
            }
            NodeKind::Namespace | NodeKind::Unknown => {}
        }
        out
    }

    fn host_ips(&self, key: &NodeKey) -> Vec<IpNet> {
        let pods: Vec<PodId> = match key {
            NodeKey::Workload(w) => self.model.workloads[w.index()].pods.clone(),
            NodeKey::Pod(p) => vec![*p],
            _ => Vec::new(),
        };
        let mut ips: Vec<IpNet> = pods
            .iter()
            .flat_map(|p| {
                self.model.pods[p.index()]
                    .ips
                    .iter()
                    .map(|&ip| IpNet::from(ip))
            })
            .collect();
        ips.sort();
        ips.dedup();
        ips
    }

    /// The DNS peers (one entry per DNS server) for a policy in `policy_ns`.
    fn dns_items(&mut self, policy_ns: &str, indent: usize) -> String {
        let mut out = String::new();
        for (key, name) in self.dns.clone() {
            let pad = " ".repeat(indent);
            let ns = self.namespace_of(&key);
            let labels = self.selector(&key, &name);
            let mut sel = String::new();
            if ns != policy_ns {
                let ns_labels: Labels = [(NAMESPACE_NAME_LABEL.to_string(), ns)]
                    .into_iter()
                    .collect();
                selector(&mut sel, indent + 2, "namespaceSelector", &ns_labels);
            }
            selector(&mut sel, indent + 2, "podSelector", &labels);
            let _ = write!(out, "{pad}- {}", sel.trim_start());
        }
        out
    }
}

fn ip_block(out: &mut String, pad: &str, net: IpNet, except: &[IpNet]) {
    let _ = writeln!(out, "{pad}- ipBlock:\n{pad}    cidr: {net}");
    if !except.is_empty() {
        let _ = writeln!(out, "{pad}    except:");
        for e in except {
            let _ = writeln!(out, "{pad}    - {e}");
        }
    }
}

/// Pod IPs of the model inside a network, aggregated: the `except` of an external ipBlock
/// that would otherwise cover cluster pods.
pub fn pod_ips_in(model: &Model, net: IpNet) -> Vec<IpNet> {
    let mut ips: Vec<IpNet> = model
        .pods
        .iter()
        .flat_map(|p| p.ips.iter())
        .filter(|ip| net.contains(*ip))
        .map(|&ip| IpNet::from(ip))
        .collect();
    ips.sort();
    ips.dedup();
    IpNet::aggregate(&ips)
}

/// The `ports:` list of a rule at `indent`.
fn ports_yaml(
    out: &mut String,
    indent: usize,
    ports: &BTreeSet<(Protocol, u16)>,
    name_of: &dyn Fn(Protocol, u16) -> Option<String>,
    merge: bool,
) {
    let pad = " ".repeat(indent);
    let _ = writeln!(out, "{pad}ports:");
    let mut numeric: Vec<(Protocol, u16)> = Vec::new();
    let mut entries: Vec<(Protocol, String, Option<u16>)> = Vec::new();
    for &(protocol, port) in ports {
        match name_of(protocol, port) {
            Some(name) => entries.push((protocol, scalar(&name), None)),
            None => numeric.push((protocol, port)),
        }
    }
    let mut i = 0;
    while i < numeric.len() {
        let (protocol, start) = numeric[i];
        let mut end = start;
        while merge
            && i + 1 < numeric.len()
            && numeric[i + 1].0 == protocol
            && numeric[i + 1].1 == end.wrapping_add(1)
        {
            end += 1;
            i += 1;
        }
        entries.push((protocol, start.to_string(), (end > start).then_some(end)));
        i += 1;
    }
    entries.sort_by(|a, b| {
        (a.0, a.1.parse::<u32>().ok(), &a.1).cmp(&(b.0, b.1.parse::<u32>().ok(), &b.1))
    });
    for (protocol, port, end) in entries {
        let _ = writeln!(out, "{pad}- protocol: {protocol}\n{pad}  port: {port}");
        if let Some(end) = end {
            let _ = writeln!(out, "{pad}  endPort: {end}");
        }
    }
}

fn plural(n: u64, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Generates the policy set from an observation.
pub fn generate(model: &Model, obs: &Observation, options: &GenerateOptions) -> Generated {
    let mut ctx = Ctx {
        model,
        obs,
        options,
        selectors: BTreeMap::new(),
        namespace_pods: None,
        dns: dns_servers(model)
            .into_iter()
            .filter(|(k, _)| !members(model, k).is_empty())
            .collect(),
        notes: Vec::new(),
    };
    let dns_keys: BTreeSet<NodeKey> = ctx.dns.iter().map(|(k, _)| k.clone()).collect();
    let nodes = &obs.map.nodes;
    // In add mode, only the sides the current policies deny are learned.
    let current = (options.mode == GenerateMode::Add).then(|| Engine::new(model));
    let entity = |engine: &Engine, pod: Option<PodId>, ip: IpAddr| -> Entity {
        match pod {
            Some(p) => engine.entity(&Endpoint::Pod(p)),
            None => engine.entity_of(ip),
        }
    };
    // Admin-tier Accept rules decide before any NetworkPolicy: a generated rule for traffic
    // they accept is moot while they stand. (rule, direction) → (connections, an example).
    let admin_engine = (!model.admin_policies.is_empty()).then(|| Engine::new(model));
    let mut moot: BTreeMap<(AdminRuleRef, &'static str), (u64, String)> = BTreeMap::new();
    let mut subjects: BTreeMap<usize, Subject> = BTreeMap::new();
    for t in &obs.tuples {
        let (src, dst) = (&nodes[t.src_node], &nodes[t.dst_node]);
        let (mut egress_side, mut ingress_side) = (is_subject(src), is_subject(dst));
        if let Some(engine) = &current {
            let v = engine.verdict(
                entity(engine, t.src.pod, t.src.ip),
                entity(engine, t.dst.pod, t.dst.ip),
                t.protocol,
                t.port,
            );
            egress_side &= v.egress == SideOutcome::Denied;
            ingress_side &= v.ingress == SideOutcome::Denied;
        }
        if let Some(engine) = &admin_engine {
            let v = engine.verdict(
                entity(engine, t.src.pod, t.src.ip),
                entity(engine, t.dst.pod, t.dst.ip),
                t.protocol,
                t.port,
            );
            for (side, admin, direction) in [
                (egress_side, v.egress_admin, "egress"),
                (ingress_side, v.ingress_admin, "ingress"),
            ] {
                if let Some((at, AdminAction::Accept)) = admin
                    && side
                    && model.admin_policies[at.policy as usize].tier == AdminTier::Admin
                {
                    let entry = moot.entry((at, direction)).or_insert_with(|| {
                        (
                            0,
                            format!("{} → {} :{}/{}", src.id, dst.id, t.port, t.protocol),
                        )
                    });
                    entry.0 += 1;
                }
            }
        }
        let is_dns = options.dns != DnsMode::None
            && options.mode == GenerateMode::Replace
            && t.port == 53
            && matches!(t.protocol, Protocol::Udp | Protocol::Tcp)
            && dns_keys.contains(&dst.key);
        if egress_side {
            let s = subjects.entry(t.src_node).or_default();
            s.count(t);
            if is_dns {
                s.resolved.add(t);
            } else {
                s.egress.entry(t.dst_node).or_default().add(t);
            }
        }
        if ingress_side {
            let s = subjects.entry(t.dst_node).or_default();
            s.count(t);
            // The open DNS rule admits pods only: DNS from outside the cluster is learned
            // like any other session.
            if is_dns && options.dns == DnsMode::All && is_subject(src) {
                s.served.add(t);
            } else {
                s.ingress.entry(t.src_node).or_default().add(t);
            }
        }
    }
    for ((at, direction), (count, example)) in moot {
        let policy = &model.admin_policies[at.policy as usize];
        let rule = &policy.rules(at.direction)[at.rule as usize];
        let name = if rule.name.is_empty() {
            String::new()
        } else {
            format!(" \"{}\"", rule.name)
        };
        ctx.notes.push(format!(
            "{} {direction} rule {}{name} (Admin tier, priority {}) accepts {count} learned connection{} before any NetworkPolicy (e.g. {example}): the generated {direction} rules for them are moot while that guardrail stands",
            policy.display_name(),
            at.rule,
            policy.priority,
            if count == 1 { "" } else { "s" },
        ));
    }
    if options.mode == GenerateMode::Replace && options.dns != DnsMode::None && ctx.dns.is_empty() {
        ctx.notes.push(
            "no cluster DNS pods (k8s-app: kube-dns or coredns) in the cluster model: no DNS rule was written, so egress-isolated pods cannot resolve names; add the DNS deployment to --cluster"
                .to_string(),
        );
    }

    // Policies per namespace, subjects in node order (sorted by namespace and id).
    let mut by_ns: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &i in subjects.keys() {
        by_ns
            .entry(ctx.namespace_of(&nodes[i].key))
            .or_default()
            .push(i);
    }
    let mut out = Generated::default();
    // The current policies' names per namespace, for `--mode replace`'s header.
    let mut policies_of: BTreeMap<palisade_model::NamespaceId, BTreeSet<String>> = BTreeMap::new();
    for p in &model.policies {
        policies_of
            .entry(p.namespace)
            .or_default()
            .insert(p.name.clone());
    }
    for (ns, subject_nodes) in &by_ns {
        let mut text = String::new();
        let mut names: BTreeSet<String> = BTreeSet::new();
        let mut unique = |base: &str| -> String {
            let mut name = base.to_string();
            let mut k = 2;
            while !names.insert(name.clone()) {
                name = format!("{base}-{k}");
                k += 1;
            }
            name
        };
        let _ = writeln!(
            text,
            "# Generated by `palisade generate` from {}: {} policies for namespace {ns}.\n# Every rule lists the observed sessions it allows.",
            options.generated_from,
            match options.mode {
                GenerateMode::Replace => "least-privilege",
                GenerateMode::Add => "additional",
            },
        );
        if options.mode == GenerateMode::Replace {
            let replaced: Vec<String> = model
                .namespace_id(ns)
                .and_then(|id| policies_of.get(&id))
                .map(|names| names.iter().cloned().collect())
                .unwrap_or_default();
            if !replaced.is_empty() {
                let _ = writeln!(
                    text,
                    "# Replaces every current policy of the namespace: kubectl delete networkpolicy -n {ns} {}",
                    replaced.join(" ")
                );
                out.replaced.insert(ns.clone(), replaced);
            }
        }
        if options.default_deny {
            let name = unique("default-deny");
            text.push_str("---\n");
            let _ = writeln!(
                text,
                "# Default deny for every pod of {ns}, so that pods not seen in the capture are isolated too."
            );
            header(
                &mut text,
                &name,
                ns,
                &[(GENERATED_FROM, options.generated_from.clone())],
            );
            // Stages before the last leave egress open: their default deny is ingress only.
            let full = options.scope == Scope::Full;
            text.push_str(if full {
                "spec:\n  podSelector: {}\n  policyTypes:\n  - Ingress\n  - Egress\n  ingress: []\n"
            } else {
                "spec:\n  podSelector: {}\n  policyTypes:\n  - Ingress\n  ingress: []\n"
            });
            let dns = full && options.dns == DnsMode::All && !ctx.dns.is_empty();
            if dns {
                text.push_str("  egress:\n  # DNS stays open for every pod: a pod that resolved nothing during the capture may resolve tomorrow.\n  - to:\n");
                text.push_str(&ctx.dns_items(ns, 4));
                dns_ports(&mut text);
            } else if full {
                text.push_str("  egress: []\n");
            }
            out.policies.push(GeneratedPolicy {
                namespace: ns.clone(),
                name,
                subject: None,
                also_selects: Vec::new(),
                ingress_rules: 0,
                egress_rules: usize::from(dns),
                sessions: 0,
            });
        }
        if options.scope == Scope::NamespaceIngress {
            let name = unique("allow-seen-namespaces");
            let policy = namespace_policy(&mut ctx, &mut text, subject_nodes, &subjects, ns, &name);
            out.policies.push(policy);
            out.files.insert(ns.clone(), text);
            continue;
        }
        // Subjects no stable label tells apart have the same selector: a policy for any of
        // them selects them all. So they get one policy, allowing what each was seen doing:
        // what the separate policies would allow together (they add up), written once.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut group_of: BTreeMap<Labels, usize> = BTreeMap::new();
        for &i in subject_nodes {
            let node = &nodes[i];
            let labels = ctx.selector(&node.key, &node.id);
            if !ctx.exact(&node.key) {
                if let Some(&g) = group_of.get(&labels) {
                    groups[g].push(i);
                    continue;
                }
                group_of.insert(labels, groups.len());
            }
            groups.push(vec![i]);
        }
        for group in &groups {
            let members: Vec<&Node> = group.iter().map(|&i| &nodes[i]).collect();
            let merged;
            let s = match group[..] {
                [i] => &subjects[&i],
                _ => {
                    let mut all = Subject::default();
                    for i in group {
                        all.absorb(&subjects[i]);
                    }
                    merged = all;
                    &merged
                }
            };
            let node = members[0];
            let base = node.id.split_once('/').map_or(node.id.as_str(), |(_, n)| n);
            let name = unique(&match options.mode {
                GenerateMode::Replace => base.to_string(),
                GenerateMode::Add => format!("{base}-observed"),
            });
            let policy = subject_policy(&mut ctx, &mut text, &members, s, ns, &name, &dns_keys);
            out.policies.push(policy);
        }
        out.files.insert(ns.clone(), text);
    }
    out.notes = ctx.selector_notes();
    out.notes.append(&mut ctx.notes);
    out.notes.sort();
    out.notes.dedup();
    out
}

fn dns_ports(text: &mut String) {
    text.push_str(
        "    ports:\n    - protocol: UDP\n      port: 53\n    - protocol: TCP\n      port: 53\n",
    );
}

fn header(text: &mut String, name: &str, ns: &str, annotations: &[(&str, String)]) {
    let _ = writeln!(
        text,
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {}\n  namespace: {}",
        scalar(name),
        scalar(ns)
    );
    let list: Vec<(String, String)> = annotations
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    string_map(text, 2, "annotations", &list);
}

/// The policy of `members` (one workload or bare pod, or several that no stable label tells
/// apart: the first names the policy), learned as `s`.
#[allow(clippy::too_many_arguments)]
fn subject_policy(
    ctx: &mut Ctx<'_>,
    text: &mut String,
    members: &[&Node],
    s: &Subject,
    ns: &str,
    name: &str,
    dns_keys: &BTreeSet<NodeKey>,
) -> GeneratedPolicy {
    let options = ctx.options;
    let nodes = &ctx.obs.map.nodes;
    let node = members[0];
    let others = &members[1..];
    // Who the policy is for, in comments.
    let who = match others.len() {
        0 => node.id.clone(),
        n => format!("{} and {n} more", node.id),
    };
    let replace = options.mode == GenerateMode::Replace;
    let is_dns_server = members.iter().any(|m| dns_keys.contains(&m.key));
    let full = options.scope == Scope::Full;
    let with_ports = options.scope >= Scope::IngressPorts;
    let dns_egress = replace
        && full
        && !ctx.dns.is_empty()
        && match options.dns {
            DnsMode::All => true,
            DnsMode::Observed => s.resolved.seen.sessions > 0,
            DnsMode::None => false,
        };
    let dns_ingress = replace && is_dns_server && options.dns == DnsMode::All;
    let with_ingress = replace || !s.ingress.is_empty();
    let with_egress = if replace { full } else { !s.egress.is_empty() };
    let mut annotations = vec![
        (GENERATED_FROM, options.generated_from.clone()),
        (SESSIONS, s.seen.sessions.to_string()),
        (FIRST_SEEN, time(s.seen.first_ns)),
        (LAST_SEEN, time(s.seen.last_ns)),
    ];
    if dns_ingress {
        // Serving DNS to every pod is the point of a DNS server: say so to lint (NP005).
        annotations.push((palisade_model::IGNORE_ANNOTATION, "NP005".to_string()));
    }
    text.push_str("---\n");
    let _ = writeln!(
        text,
        "# {}{}: {} learned, {} .. {}.",
        node.id,
        node.workload_kind
            .map(|k| format!(" ({k})"))
            .unwrap_or_default(),
        plural(s.seen.sessions, "session"),
        time(s.seen.first_ns),
        time(s.seen.last_ns)
    );
    if !others.is_empty() {
        let ids: Vec<&str> = others.iter().map(|m| m.id.as_str()).collect();
        let _ = writeln!(
            text,
            "# Also for {}, which no stable label tells apart from it: this policy selects them all and allows what any of them was seen doing.",
            ids.join(", ")
        );
    }
    header(text, name, ns, &annotations);
    let labels = ctx.selector(&node.key, &node.id);
    text.push_str("spec:\n");
    selector(text, 2, "podSelector", &labels);
    text.push_str("  policyTypes:\n");
    if with_ingress {
        text.push_str("  - Ingress\n");
    }
    if with_egress {
        text.push_str("  - Egress\n");
    }
    let mut ingress_rules = 0;
    let mut egress_rules = 0;
    let model = ctx.model;
    let member_keys: Vec<&NodeKey> = members.iter().map(|m| &m.key).collect();
    if with_ingress {
        if s.ingress.is_empty() && !dns_ingress {
            let _ = writeln!(
                text,
                "  # Nothing was seen connecting to {who}: all ingress denied on purpose.\n  ingress: []",
            );
        } else {
            text.push_str("  ingress:\n");
            if dns_ingress {
                let _ = writeln!(
                    text,
                    "  # DNS for every pod of the cluster ({} learned).\n  - from:\n    - namespaceSelector: {{}}",
                    plural(s.served.seen.sessions, "session")
                );
                dns_ports(text);
                ingress_rules += 1;
            }
            for rule in peer_rules(ctx, &s.ingress, ns) {
                rule_comment(text, "from", &rule.peer_ids(nodes), &rule.acc);
                text.push_str("  - from:\n");
                text.push_str(&rule.items);
                if with_ports {
                    let name_of =
                        |p: Protocol, port: u16| common_port_name(model, &member_keys, p, port);
                    ports_yaml(text, 4, &rule.acc.ports, &name_of, options.merge_ports);
                }
                ingress_rules += 1;
            }
        }
    }
    if with_egress {
        if s.egress.is_empty() && !dns_egress {
            let _ = writeln!(
                text,
                "  # {who} was not seen connecting anywhere: all egress denied on purpose.\n  egress: []",
            );
        } else {
            text.push_str("  egress:\n");
            if dns_egress {
                let seen = if s.resolved.seen.sessions > 0 {
                    format!("{} learned", plural(s.resolved.seen.sessions, "session"))
                } else {
                    "none seen; kept open because cached answers hide lookups".to_string()
                };
                let servers: Vec<&str> = ctx.dns.iter().map(|(_, n)| n.as_str()).collect();
                let _ = writeln!(
                    text,
                    "  # DNS to the cluster DNS pods ({}), UDP and TCP 53 ({seen}).\n  - to:",
                    servers.join(", ")
                );
                let items = ctx.dns_items(ns, 4);
                text.push_str(&items);
                dns_ports(text);
                egress_rules += 1;
            }
            for rule in peer_rules(ctx, &s.egress, ns) {
                rule_comment(text, "to", &rule.peer_ids(nodes), &rule.acc);
                text.push_str("  - to:\n");
                text.push_str(&rule.items);
                let named = rule.peers.iter().all(|&p| is_subject(&nodes[p]));
                let keys: Vec<&NodeKey> = rule.peers.iter().map(|&p| &nodes[p].key).collect();
                let name_of = |p: Protocol, port: u16| {
                    if named {
                        common_port_name(model, &keys, p, port)
                    } else {
                        None
                    }
                };
                ports_yaml(text, 4, &rule.acc.ports, &name_of, options.merge_ports);
                egress_rules += 1;
            }
        }
    }
    GeneratedPolicy {
        namespace: ns.to_string(),
        name: name.to_string(),
        subject: Some(node.id.clone()),
        also_selects: others.iter().map(|m| m.id.clone()).collect(),
        ingress_rules,
        egress_rules,
        sessions: s.seen.sessions,
    }
}

/// The namespace-level ingress policy of [`Scope::NamespaceIngress`].
fn namespace_policy(
    ctx: &mut Ctx<'_>,
    text: &mut String,
    subject_nodes: &[usize],
    subjects: &BTreeMap<usize, Subject>,
    ns: &str,
    name: &str,
) -> GeneratedPolicy {
    let nodes = &ctx.obs.map.nodes;
    // Source namespaces (by name) and non-selectable sources (by node), with their sessions.
    let mut from_ns: BTreeMap<String, RuleAcc> = BTreeMap::new();
    let mut from_nodes: BTreeMap<usize, RuleAcc> = BTreeMap::new();
    let mut total = RuleAcc::default();
    let mut serves_dns = false;
    for &i in subject_nodes {
        let s = &subjects[&i];
        serves_dns |= s.served.seen.sessions > 0
            || (ctx.options.dns == DnsMode::All && ctx.dns.iter().any(|(k, _)| *k == nodes[i].key));
        for (&peer, acc) in &s.ingress {
            let merge = |into: &mut RuleAcc| into.merge(acc);
            merge(&mut total);
            if is_subject(&nodes[peer]) {
                merge(
                    from_ns
                        .entry(ctx.namespace_of(&nodes[peer].key))
                        .or_default(),
                );
            } else {
                merge(from_nodes.entry(peer).or_default());
            }
        }
    }
    let dns_open = serves_dns && ctx.options.dns == DnsMode::All;
    text.push_str("---\n");
    let _ = writeln!(
        text,
        "# Every pod of {ns}: ingress from the namespaces and networks seen connecting to it, any port."
    );
    let mut annotations = vec![(GENERATED_FROM, ctx.options.generated_from.clone())];
    if total.seen.sessions > 0 {
        annotations.push((SESSIONS, total.seen.sessions.to_string()));
        annotations.push((FIRST_SEEN, time(total.seen.first_ns)));
        annotations.push((LAST_SEEN, time(total.seen.last_ns)));
    }
    if dns_open {
        annotations.push((palisade_model::IGNORE_ANNOTATION, "NP005".to_string()));
    }
    header(text, name, ns, &annotations);
    text.push_str("spec:\n  podSelector: {}\n  policyTypes:\n  - Ingress\n");
    let mut rules = 0;
    if from_ns.is_empty() && from_nodes.is_empty() && !dns_open {
        let _ = writeln!(
            text,
            "  # Nothing was seen connecting to {ns}: all ingress denied on purpose.\n  ingress: []"
        );
    } else {
        text.push_str("  ingress:\n");
        if dns_open {
            text.push_str(
                "  # DNS for every pod of the cluster.\n  - from:\n    - namespaceSelector: {}\n",
            );
            dns_ports(text);
            rules += 1;
        }
        for (source_ns, acc) in &from_ns {
            rule_comment(text, "from namespace", source_ns, acc);
            let ns_labels: Labels = [(NAMESPACE_NAME_LABEL.to_string(), source_ns.clone())]
                .into_iter()
                .collect();
            text.push_str("  - from:\n    - ");
            let mut sel = String::new();
            selector(&mut sel, 6, "namespaceSelector", &ns_labels);
            text.push_str(sel.trim_start());
            rules += 1;
        }
        for rule in peer_rules(ctx, &from_nodes, ns) {
            rule_comment(text, "from", &rule.peer_ids(nodes), &rule.acc);
            text.push_str("  - from:\n");
            text.push_str(&rule.items);
            rules += 1;
        }
    }
    GeneratedPolicy {
        namespace: ns.to_string(),
        name: name.to_string(),
        subject: None,
        also_selects: Vec::new(),
        ingress_rules: rules,
        egress_rules: 0,
        sessions: total.seen.sessions,
    }
}

/// One rule of a policy: the peers whose entries are the same (peers no stable label tells
/// apart, the same address blocks), with their sessions together.
struct PeerRule {
    /// The `- ...` entries under `from:`/`to:`.
    items: String,
    /// The peers' node indexes, in node order.
    peers: Vec<usize>,
    acc: RuleAcc,
}

impl PeerRule {
    fn peer_ids(&self, nodes: &[Node]) -> String {
        let ids: Vec<&str> = self.peers.iter().map(|&p| nodes[p].id.as_str()).collect();
        ids.join(", ")
    }
}

/// The rules for a subject's peers in one direction, in peer order: one per distinct entry
/// text (two rules with the same peers would only be one split in two); peers no rule can
/// express are left out (a note says why).
fn peer_rules(ctx: &mut Ctx<'_>, peers: &BTreeMap<usize, RuleAcc>, ns: &str) -> Vec<PeerRule> {
    let nodes = &ctx.obs.map.nodes;
    let mut rules: Vec<PeerRule> = Vec::new();
    let mut rule_of: BTreeMap<String, usize> = BTreeMap::new();
    for (&peer, acc) in peers {
        let items = ctx.peer_items(&nodes[peer], ns, 4);
        if items.is_empty() {
            continue;
        }
        match rule_of.get(&items) {
            Some(&r) => {
                rules[r].peers.push(peer);
                rules[r].acc.merge(acc);
            }
            None => {
                rule_of.insert(items.clone(), rules.len());
                rules.push(PeerRule {
                    items,
                    peers: vec![peer],
                    acc: acc.clone(),
                });
            }
        }
    }
    rules
}

/// A port's name where every one of `keys` names it alike (see [`port_name`]).
fn common_port_name(
    model: &Model,
    keys: &[&NodeKey],
    protocol: Protocol,
    port: u16,
) -> Option<String> {
    let (first, rest) = keys.split_first()?;
    let name = port_name(model, first, protocol, port)?;
    rest.iter()
        .all(|k| port_name(model, k, protocol, port).as_deref() == Some(name.as_str()))
        .then_some(name)
}

fn rule_comment(text: &mut String, dir: &str, peer: &str, acc: &RuleAcc) {
    let ports: Vec<String> = acc.ports.iter().map(|(p, n)| format!("{n}/{p}")).collect();
    let _ = writeln!(
        text,
        "  # {dir} {peer}: {} on {}, {} .. {}",
        plural(acc.seen.sessions, "session"),
        ports.join(", "),
        time(acc.seen.first_ns),
        time(acc.seen.last_ns)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::{LearnMode, Learner};
    use crate::map::MapOptions;
    use crate::networks::KnownNetworks;
    use crate::proof::{proposed_model, prove};
    use palisade_flows::{FlowReader, ReadOptions, SessionConfig, sessionize};
    use palisade_load::{Input, LoadOptions, load};
    use palisade_replay::{DenyAction, Replayer};

    const CLUSTER: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, name: web, version: v1}}
    spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 80}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-canary, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, name: web-canary, version: v1}}
    spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-6d5f7c9b8-a1, namespace: shop, labels: {app: web, name: web, version: v1, pod-template-hash: 6d5f7c9b8}, ownerReferences: [{kind: ReplicaSet, name: web-6d5f7c9b8, apiVersion: apps/v1}]}
spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 80}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: web-canary-7d5f7c9b8-b1, namespace: shop, labels: {app: web, name: web-canary, version: v1, pod-template-hash: 7d5f7c9b8}, ownerReferences: [{kind: ReplicaSet, name: web-canary-7d5f7c9b8, apiVersion: apps/v1}]}
spec: {containers: [{name: c, image: x}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: data, labels: {role: db}}
spec: {containers: [{name: c, image: x}]}
status: {podIP: 198.51.100.77}
";

    fn run(csv_rows: &str, options: GenerateOptions, map: MapOptions) -> (Generated, String) {
        run_over(CLUSTER, csv_rows, options, map).0
    }

    fn run_over(
        cluster: &str,
        csv_rows: &str,
        options: GenerateOptions,
        map: MapOptions,
    ) -> ((Generated, String), Observation) {
        let model = load(
            &[Input::Text {
                name: "c.yaml".into(),
                text: cluster.into(),
            }],
            &LoadOptions::default(),
        )
        .model;
        let csv = format!("time,src,dst,src_port,dst_port,protocol,outcome\n{csv_rows}");
        let mut reader = FlowReader::new("c.csv", csv.as_bytes(), &ReadOptions::default()).unwrap();
        let mut replayer = Replayer::new(&model, DenyAction::Drop);
        let mut learner = Learner::new(&model, map, LearnMode::Accepted);
        sessionize(&mut reader, SessionConfig::default(), |s| {
            learner.add(&replayer.replay(s))
        })
        .unwrap();
        let obs = learner.finish();
        let generated = generate(&model, &obs, &options);
        let proposed = proposed_model(&model, &generated, options.mode).unwrap();
        // The proposed model shares the cluster's pods and workloads, not a copy (memory at
        // scale: `generate` holds two models, `harden` three).
        assert!(palisade_model::Shared::ptr_eq(&proposed.pods, &model.pods));
        assert!(palisade_model::Shared::ptr_eq(
            &proposed.workloads,
            &model.workloads
        ));
        assert!(prove(&proposed, &obs).holds());
        let text = generated.concatenated();
        ((generated, text), obs)
    }

    #[test]
    fn admin_guardrails_deny_skips_and_accept_makes_rules_moot() {
        let cluster = format!(
            "{CLUSTER}---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {{name: shop-to-data}}
spec:
  tier: Admin
  priority: 1
  subject: {{namespaces: {{matchLabels: {{kubernetes.io/metadata.name: data}}}}}}
  ingress:
  - name: from-shop
    action: Accept
    from: [{{namespaces: {{matchLabels: {{kubernetes.io/metadata.name: shop}}}}}}]
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {{name: no-metadata}}
spec:
  tier: Admin
  priority: 2
  subject: {{namespaces: {{}}}}
  egress:
  - action: Deny
    to: [{{networks: [169.254.169.254/32]}}]
"
        );
        let rows = format!(
            "{T},10.0.0.1,198.51.100.77,40000,5432,TCP,accepted\n{T},10.0.0.1,169.254.169.254,40001,80,TCP,accepted\n"
        );
        let ((g, text), obs) = run_over(
            &cluster,
            &rows,
            GenerateOptions::default(),
            MapOptions::default(),
        );
        // The metadata session is not learned: the Admin tier denies it.
        let (count, examples) = &obs.skipped.reasons[&crate::learn::SkipReason::AdminDenied];
        assert_eq!(*count, 1);
        assert!(examples[0].contains("169.254.169.254"), "{examples:?}");
        assert!(!text.contains("169.254.169.254"), "{text}");
        // web -> db is learned and written, and said to be moot on db's ingress.
        assert!(text.contains("port: 5432"), "{text}");
        let moot: Vec<&String> = g.notes.iter().filter(|n| n.contains("moot")).collect();
        assert_eq!(moot.len(), 1, "{:?}", g.notes);
        assert!(
            moot[0].starts_with(
                "cnp/shop-to-data ingress rule 0 \"from-shop\" (Admin tier, priority 1) accepts 1 learned connection"
            ),
            "{}",
            moot[0]
        );
    }

    const T: &str = "2026-01-01T00:00:00Z";

    #[test]
    fn coinciding_selectors_are_narrowed_and_said() {
        let (g, text) = run(
            &format!("{T},10.0.0.2,10.0.0.1,40000,80,TCP,accepted\n"),
            GenerateOptions::default(),
            MapOptions::default(),
        );
        // `app: web` selects both Deployments: `name` tells them apart.
        assert!(text.contains("matchLabels:\n      name: web\n"), "{text}");
        assert!(
            text.contains("- podSelector:\n        matchLabels:\n          name: web-canary\n"),
            "{text}"
        );
        assert!(!text.contains("pod-template-hash"));
        assert!(!text.contains("version"));
        assert!(
            g.notes
                .iter()
                .any(|n| n.contains("shop/web ({app: web}) also match shop/web-canary")),
            "{:?}",
            g.notes
        );
        // The named port of the destination.
        assert!(text.contains("port: http"));
    }

    #[test]
    fn indistinguishable_subjects_share_one_policy_rule_and_note() {
        // Three bare pods (and a fourth never seen) that no label tells apart, and an API.
        let mut cluster = String::new();
        for (name, ip, app) in [
            ("w-1", "10.1.0.1", "worker"),
            ("w-2", "10.1.0.2", "worker"),
            ("w-3", "10.1.0.3", "worker"),
            ("lonely", "10.1.0.4", "worker"),
            ("api", "10.1.0.10", "api"),
        ] {
            cluster.push_str(&format!(
                "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: work, labels: {{app: {app}}}}}\nspec: {{containers: [{{name: c, image: x}}]}}\nstatus: {{podIP: {ip}}}\n"
            ));
        }
        let rows = format!(
            "{T},10.1.0.10,10.1.0.1,40000,80,TCP,accepted\n\
             {T},10.1.0.10,10.1.0.2,40001,443,TCP,accepted\n\
             {T},10.1.0.1,10.1.0.10,40002,8080,TCP,accepted\n\
             {T},10.1.0.3,10.1.0.10,40003,8080,TCP,accepted\n\
             {T},10.1.0.2,198.51.100.7,40004,443,TCP,accepted\n"
        );
        let ((g, text), _) = run_over(
            &cluster,
            &rows,
            GenerateOptions::default(),
            MapOptions::default(),
        );
        let subjects: Vec<(&str, &[String], usize, usize)> = g
            .policies
            .iter()
            .filter_map(|p| {
                Some((
                    p.subject.as_deref()?,
                    &p.also_selects[..],
                    p.ingress_rules,
                    p.egress_rules,
                ))
            })
            .collect();
        // One policy for the three workers: each one's own would select all three.
        assert_eq!(
            subjects,
            [
                ("work/api", &[][..], 1, 1),
                (
                    "work/w-1",
                    &["work/w-2".to_string(), "work/w-3".to_string()][..],
                    1,
                    2
                ),
            ],
            "{text}"
        );
        let policy_named = |name: &str| {
            text.split("---\n")
                .find(|p| p.contains(&format!("  name: {name}\n")))
                .unwrap_or_else(|| panic!("no policy {name}: {text}"))
        };
        let worker = policy_named("w-1");
        // What each worker was seen doing, together: ingress from the API on both ports.
        assert!(
            worker.contains(
                "    - protocol: TCP\n      port: 80\n    - protocol: TCP\n      port: 443\n"
            ),
            "{worker}"
        );
        assert!(
            worker.contains("# to 198.51.100.0/24: 1 session on 443/TCP"),
            "{worker}"
        );
        assert!(
            worker.contains("# Also for work/w-2, work/w-3, which no stable label tells apart"),
            "{worker}"
        );
        // The API's ingress from two workers is one rule naming both; so is its egress.
        let api = policy_named("api");
        assert!(
            api.contains("# from work/w-1, work/w-3: 2 sessions on 8080/TCP"),
            "{api}"
        );
        assert!(
            api.contains("# to work/w-1, work/w-2: 2 sessions on 80/TCP, 443/TCP"),
            "{api}"
        );
        // One note for the group (not one per worker listing the others), naming the pod that
        // the selector also takes in without having been seen.
        let group_notes: Vec<&String> = g
            .notes
            .iter()
            .filter(|n| n.contains("no stable labels"))
            .collect();
        assert_eq!(
            group_notes,
            [&"no stable labels tell apart work/w-1, work/w-2, work/w-3 (3 of them, all matching {app: worker}, as do work/lonely): the generated policies and rules select them together, as one (give them distinguishing labels)".to_string()],
        );
    }

    #[test]
    fn external_blocks_aggregate_and_except_pod_addresses() {
        let rows = format!(
            "{T},10.0.0.1,198.51.100.10,40000,443,TCP,accepted\n{T},10.0.0.1,198.51.100.11,40001,443,TCP,accepted\n{T},10.0.0.1,203.0.113.9,40002,443,TCP,accepted\n"
        );
        let (_, text) = run(&rows, GenerateOptions::default(), MapOptions::default());
        // One /24 per network, not one /32 per address; the pod at 198.51.100.77 excepted.
        assert!(
            text.contains("cidr: 198.51.100.0/24\n        except:\n        - 198.51.100.77/32\n"),
            "{text}"
        );
        assert!(text.contains("cidr: 203.0.113.0/24\n"));
        assert!(!text.contains("cidr: 198.51.100.10/32"));
        let (_, text) = run(
            &rows,
            GenerateOptions::default(),
            MapOptions {
                cidr_prefix_v4: 32,
                ..MapOptions::default()
            },
        );
        assert!(text.contains("cidr: 198.51.100.10/32"));
        let known = KnownNetworks::parse("partner: [198.51.100.0/25, 203.0.113.0/24]").unwrap();
        let (_, text) = run(
            &rows,
            GenerateOptions::default(),
            MapOptions {
                known,
                ..MapOptions::default()
            },
        );
        assert!(text.contains("# to partner: 3 sessions"), "{text}");
        assert!(text.contains("cidr: 198.51.100.0/25"));
    }

    #[test]
    fn ports_merge_only_when_asked_and_dns_needs_dns_pods() {
        let rows = format!(
            "{T},10.0.0.1,203.0.113.9,40000,8080,TCP,accepted\n{T},10.0.0.1,203.0.113.9,40001,8081,TCP,accepted\n{T},10.0.0.1,203.0.113.9,40002,8083,TCP,accepted\n"
        );
        let (g, text) = run(&rows, GenerateOptions::default(), MapOptions::default());
        assert!(!text.contains("endPort"));
        assert!(text.contains("port: 8081\n"));
        // No DNS pods in this cluster: no DNS rule, and the report says why.
        assert!(!text.contains("port: 53"));
        assert!(g.notes.iter().any(|n| n.contains("no cluster DNS pods")));
        let (_, text) = run(
            &rows,
            GenerateOptions {
                merge_ports: true,
                ..GenerateOptions::default()
            },
            MapOptions::default(),
        );
        assert!(text.contains("port: 8080\n      endPort: 8081\n"), "{text}");
        assert!(text.contains("port: 8083\n"));
    }

    #[test]
    fn a_peer_no_rule_can_express_fails_the_proof() {
        use palisade_flows::{EndpointName, Evidence, Observed, Session};
        use std::sync::Arc;
        let cluster = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {app: web}}\nstatus: {podIP: 10.0.0.1}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: agent, namespace: infra, labels: {app: agent}}\nspec: {hostNetwork: true}\n";
        let model = load(
            &[Input::Text {
                name: "c.yaml".into(),
                text: cluster.into(),
            }],
            &LoadOptions::default(),
        )
        .model;
        // Hubble names the host-network agent, which has no IP in the export: an ingress
        // rule for it can be neither a selector (policies do not select host-network pods)
        // nor an ipBlock.
        let session = Session {
            start_ns: 0,
            last_seen_ns: 0,
            decided_ns: 0,
            proto: Protocol::Tcp,
            src: "192.0.2.50:40000".parse().unwrap(),
            dst: "10.0.0.1:80".parse().unwrap(),
            observed: Observed::Accepted,
            evidence: Evidence::Listed,
            packets_fwd: 1,
            packets_rev: 1,
            attempts: 1,
            src_endpoint: Some(Arc::new(EndpointName {
                namespace: "infra".into(),
                pod_name: "agent".into(),
                labels: vec![],
            })),
            dst_endpoint: None,
            nodes: vec![],
            denied_by: vec![],
            during_gap: false,
        };
        let mut replayer = Replayer::new(&model, DenyAction::Drop);
        let mut learner = Learner::new(&model, MapOptions::default(), LearnMode::Accepted);
        learner.add(&replayer.replay(session));
        let obs = learner.finish();
        assert_eq!(obs.learned, 1);
        let generated = generate(&model, &obs, &GenerateOptions::default());
        assert!(
            generated
                .notes
                .iter()
                .any(|n| n.contains("infra/agent uses the host network")),
            "{:?}",
            generated.notes
        );
        let proposed = proposed_model(&model, &generated, GenerateMode::Replace).unwrap();
        let proof = prove(&proposed, &obs);
        assert!(!proof.holds());
        assert_eq!(proof.broken[0].what, "infra/agent → shop/web :80/TCP");
        assert_eq!(proof.broken[0].denied_on, "ingress");
    }
}
