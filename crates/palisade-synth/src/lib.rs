//! Reproducible synthetic Kubernetes clusters for Palisade's tests and benchmarks.
//!
//! Emits namespaces, workloads (or declared pods with their owners) and a realistic mix of
//! NetworkPolicies as text: multi-document YAML, or a JSON `List`. The output is a pure
//! function of [`Params`] (byte-identical for the same seed); the only randomness is a
//! hand-written SplitMix64, so it does not change with dependency or compiler versions.
//!
//! This crate deliberately depends on no other Palisade crate: it writes text that the
//! loader then reads like any other manifest.
//!
//! ```
//! use palisade_synth::{Format, Params, generate};
//!
//! let params = Params { namespaces: 6, workloads: 12, pods: None, policies: 10, seed: 1 };
//! let (text, summary) = generate(&params, Format::Yaml).unwrap();
//! assert_eq!(summary.policies, 10);
//! assert!(text.starts_with("---\napiVersion: v1\nkind: Namespace\n"));
//! ```

mod admin;
mod node;
mod plan;
mod policies;
mod rng;
pub mod traffic;

use std::fmt;
use std::io;

pub use admin::cluster_network_policies;
pub use rng::SplitMix64;

use node::{Node, int, list, map, s};
use plan::{AppPlan, Controller, NsPlan, SYSTEM_NAMESPACES, SYSTEM_PODS, SYSTEM_WORKLOADS};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// Total namespaces, including the three system ones (`kube-system` with CoreDNS,
    /// `monitoring` with Prometheus, `ingress-nginx` with the ingress controller).
    pub namespaces: usize,
    /// Total workloads (Deployments, StatefulSets, DaemonSets), including the three system
    /// ones. ReplicaSets are not counted.
    pub workloads: usize,
    /// `None`: workload-level cluster, pods exist only as templates in the workloads.
    /// `Some(n)`: exactly `n` declared `Pod` objects with `status.podIP` (unique, from
    /// 10.0.0.0/8) and `ownerReferences` to their ReplicaSet / StatefulSet / DaemonSet,
    /// which are emitted too (Deployments own ReplicaSets).
    pub pods: Option<usize>,
    /// Total NetworkPolicies.
    pub policies: usize,
    /// PRNG seed.
    pub seed: u64,
}

/// Named parameter sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// 500 workloads, 20 namespaces, 100 policies (lint benchmarks).
    Small,
    /// 2,000 workloads, 50 namespaces, 250 policies (workload-level cluster).
    Medium,
    /// 150,000 declared pods from 40,000 workloads, 10,000 namespaces, 20,000 policies.
    Large,
}

impl Preset {
    /// All presets, smallest first.
    pub const ALL: [Preset; 3] = [Preset::Small, Preset::Medium, Preset::Large];

    /// The preset's name as used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Small => "small",
            Preset::Medium => "medium",
            Preset::Large => "large",
        }
    }

    /// Parses a preset name.
    pub fn from_name(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The preset's parameters with the given seed.
    pub fn params(self, seed: u64) -> Params {
        match self {
            Preset::Small => Params {
                namespaces: 20,
                workloads: 500,
                pods: None,
                policies: 100,
                seed,
            },
            Preset::Medium => Params {
                namespaces: 50,
                workloads: 2_000,
                pods: None,
                policies: 250,
                seed,
            },
            Preset::Large => Params {
                namespaces: 10_000,
                workloads: 40_000,
                pods: Some(150_000),
                policies: 20_000,
                seed,
            },
        }
    }
}

/// Output syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Multi-document YAML, each document starting with `---`.
    Yaml,
    /// One JSON object `{"apiVersion":"v1","kind":"List","items":[...]}`, one item per line.
    Json,
}

/// Counts of what was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Namespace objects.
    pub namespaces: usize,
    /// Deployments + StatefulSets + DaemonSets.
    pub workloads: usize,
    /// ReplicaSet objects (declared-pod mode only).
    pub replica_sets: usize,
    /// Declared Pod objects (declared-pod mode only).
    pub pods: usize,
    /// Sum of the workloads' replicas (pods implied by templates).
    pub template_replicas: usize,
    /// NetworkPolicy objects.
    pub policies: usize,
    /// Bytes written.
    pub bytes: usize,
}

/// Parameters that cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamError {
    /// Fewer namespaces than the system namespaces plus one application namespace.
    TooFewNamespaces(usize),
    /// Fewer workloads than the system workloads.
    TooFewWorkloads(usize),
    /// Not enough pods for one per workload plus the system pods.
    TooFewPods {
        /// Pods asked for.
        pods: usize,
        /// The minimum for the requested workloads.
        minimum: usize,
    },
    /// More pods than the 10.0.0.0/8 node-CIDR scheme can address.
    TooManyPods(usize),
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::TooFewNamespaces(n) => {
                write!(
                    f,
                    "need at least {} namespaces (3 system + 1), got {n}",
                    SYSTEM_NAMESPACES + 1
                )
            }
            ParamError::TooFewWorkloads(n) => {
                write!(
                    f,
                    "need at least {SYSTEM_WORKLOADS} workloads (the system ones), got {n}"
                )
            }
            ParamError::TooFewPods { pods, minimum } => {
                write!(
                    f,
                    "need at least {minimum} pods for that many workloads, got {pods}"
                )
            }
            ParamError::TooManyPods(n) => {
                write!(f, "at most {MAX_PODS} pods fit in 10.0.0.0/8 here, got {n}")
            }
        }
    }
}

impl std::error::Error for ParamError {}

/// Pods per node (`/24` node CIDR, addresses .2 to .111).
const PODS_PER_NODE: usize = 110;
/// Nodes are `10.<hi>.<lo>.0/24`: at most 65,536 of them, filled to 100/110.
const MAX_PODS: usize = 65_536 * 100;

impl Params {
    /// Checks that the parameters can be generated.
    pub fn validate(&self) -> Result<(), ParamError> {
        if self.namespaces < SYSTEM_NAMESPACES + 1 {
            return Err(ParamError::TooFewNamespaces(self.namespaces));
        }
        if self.workloads < SYSTEM_WORKLOADS {
            return Err(ParamError::TooFewWorkloads(self.workloads));
        }
        if let Some(pods) = self.pods {
            let minimum = SYSTEM_PODS + (self.workloads - SYSTEM_WORKLOADS);
            if pods < minimum {
                return Err(ParamError::TooFewPods { pods, minimum });
            }
            if pods > MAX_PODS {
                return Err(ParamError::TooManyPods(pods));
            }
        }
        Ok(())
    }
}

/// Generates the cluster into a `String`.
pub fn generate(params: &Params, format: Format) -> Result<(String, Summary), ParamError> {
    let mut buf = Vec::new();
    let summary = match generate_to(params, format, &mut buf) {
        Ok(summary) => summary,
        Err(GenerateError::Params(e)) => return Err(e),
        Err(GenerateError::Io(e)) => unreachable!("writing to a Vec cannot fail: {e}"),
    };
    // Only `String`s go in.
    let text = String::from_utf8(buf).unwrap_or_default();
    Ok((text, summary))
}

/// An error from [`generate_to`].
#[derive(Debug)]
pub enum GenerateError {
    /// The parameters were rejected.
    Params(ParamError),
    /// Writing failed.
    Io(io::Error),
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenerateError::Params(e) => write!(f, "invalid parameters: {e}"),
            GenerateError::Io(e) => write!(f, "write failed: {e}"),
        }
    }
}

impl std::error::Error for GenerateError {}

impl From<io::Error> for GenerateError {
    fn from(e: io::Error) -> Self {
        GenerateError::Io(e)
    }
}

struct Emitter<'w, W: io::Write> {
    out: &'w mut W,
    format: Format,
    buf: String,
    items: usize,
    bytes: usize,
}

impl<W: io::Write> Emitter<'_, W> {
    fn doc(&mut self, node: &Node) -> io::Result<()> {
        match self.format {
            Format::Yaml => {
                self.buf.push_str("---\n");
                node::write_yaml(&mut self.buf, node);
            }
            Format::Json => {
                if self.items > 0 {
                    self.buf.push_str(",\n");
                }
                node::write_json(&mut self.buf, node);
            }
        }
        self.items += 1;
        if self.buf.len() > 1 << 16 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(self.buf.as_bytes())?;
        self.bytes += self.buf.len();
        self.buf.clear();
        Ok(())
    }
}

/// Generates the cluster into `out`, streaming (memory stays small for any size).
pub fn generate_to<W: io::Write>(
    params: &Params,
    format: Format,
    out: &mut W,
) -> Result<Summary, GenerateError> {
    params.validate().map_err(GenerateError::Params)?;
    let mut rng = SplitMix64::new(params.seed);
    let plans = plan::plan(&mut rng, params.namespaces, params.workloads, params.pods);
    let mut em = Emitter {
        out,
        format,
        buf: String::with_capacity(1 << 17),
        items: 0,
        bytes: 0,
    };
    let mut summary = Summary::default();
    if format == Format::Json {
        em.buf
            .push_str("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":{},\"items\":[\n");
    }

    for ns in &plans {
        em.doc(&namespace(ns))?;
        summary.namespaces += 1;
    }

    let mut ips = IpAllocator::new(&mut rng, params.pods.unwrap_or(0));
    for ns in &plans {
        for app in &ns.apps {
            let declared = params.pods.is_some();
            let uid = declared.then(|| rng.uuid());
            em.doc(&workload(ns, app, uid.as_deref()))?;
            summary.workloads += 1;
            summary.template_replicas += app.replicas;
            if !declared {
                continue;
            }
            let owner_uid = uid.unwrap_or_default();
            match app.controller {
                Controller::Deployment => {
                    let hash = rng.k8s_suffix(10);
                    let rs_name = format!("{}-{hash}", app.name);
                    let rs_uid = rng.uuid();
                    em.doc(&replica_set(ns, app, &rs_name, &hash, &rs_uid, &owner_uid))?;
                    summary.replica_sets += 1;
                    for _ in 0..app.replicas {
                        let pod_name = format!("{rs_name}-{}", rng.k8s_suffix(5));
                        let owner = Owner {
                            kind: "ReplicaSet",
                            name: &rs_name,
                            uid: &rs_uid,
                        };
                        let extra = [("pod-template-hash", hash.as_str())];
                        em.doc(&pod(
                            ns,
                            app,
                            &pod_name,
                            &extra,
                            owner,
                            ips.next(),
                            &mut rng,
                        ))?;
                        summary.pods += 1;
                    }
                }
                Controller::StatefulSet => {
                    let rev = format!("{}-{}", app.name, rng.k8s_suffix(10));
                    for ordinal in 0..app.replicas {
                        let pod_name = format!("{}-{ordinal}", app.name);
                        let owner = Owner {
                            kind: "StatefulSet",
                            name: &app.name,
                            uid: &owner_uid,
                        };
                        let extra = [
                            ("controller-revision-hash", rev.as_str()),
                            ("statefulset.kubernetes.io/pod-name", pod_name.as_str()),
                        ];
                        em.doc(&pod(
                            ns,
                            app,
                            &pod_name,
                            &extra,
                            owner,
                            ips.next(),
                            &mut rng,
                        ))?;
                        summary.pods += 1;
                    }
                }
                Controller::DaemonSet => {
                    let rev = rng.k8s_suffix(10);
                    for _ in 0..app.replicas {
                        let pod_name = format!("{}-{}", app.name, rng.k8s_suffix(5));
                        let owner = Owner {
                            kind: "DaemonSet",
                            name: &app.name,
                            uid: &owner_uid,
                        };
                        let extra = [
                            ("controller-revision-hash", rev.as_str()),
                            ("pod-template-generation", "1"),
                        ];
                        em.doc(&pod(
                            ns,
                            app,
                            &pod_name,
                            &extra,
                            owner,
                            ips.next(),
                            &mut rng,
                        ))?;
                        summary.pods += 1;
                    }
                }
            }
        }
    }

    // Policies: spread over the application namespaces, weighted.
    let app_ns = plans.len() - SYSTEM_NAMESPACES;
    let weights: Vec<u32> = plans[SYSTEM_NAMESPACES..]
        .iter()
        .map(|n| 1 + n.apps.len().min(12) as u32)
        .collect();
    let per_ns = plan::distribute(&mut rng, params.policies, &weights, 0);
    debug_assert_eq!(per_ns.len(), app_ns);
    for (i, &count) in per_ns.iter().enumerate() {
        for policy in policies::namespace_policies(&mut rng, &plans, SYSTEM_NAMESPACES + i, count) {
            em.doc(&policy)?;
            summary.policies += 1;
        }
    }

    if format == Format::Json {
        em.buf.push_str("\n]}\n");
    }
    em.flush()?;
    summary.bytes = em.bytes;
    Ok(summary)
}

// ------------------------------------------------------------------ objects

fn labels_node(labels: &[(&str, String)]) -> Node {
    map(labels.iter().map(|(k, v)| (*k, s(v.as_str()))))
}

fn namespace(ns: &NsPlan) -> Node {
    map([
        ("apiVersion", s("v1")),
        ("kind", s("Namespace")),
        (
            "metadata",
            map([("name", s(&ns.name)), ("labels", labels_node(&ns.labels))]),
        ),
    ])
}

fn containers(app: &AppPlan, explicit_tcp: bool) -> Node {
    let ports = app.ports.iter().map(|p| {
        let mut e = vec![("name", s(p.name)), ("containerPort", int(p.port))];
        if explicit_tcp || p.proto != "TCP" {
            e.push(("protocol", s(p.proto)));
        }
        map(e)
    });
    list([map([
        ("name", s(&app.name)),
        ("image", s(&app.image)),
        ("ports", list(ports)),
    ])])
}

fn template(app: &AppPlan) -> Node {
    map([
        ("metadata", map([("labels", labels_node(&app.labels))])),
        (
            "spec",
            map([("containers", containers(app, app.explicit_tcp))]),
        ),
    ])
}

fn workload_meta(ns: &NsPlan, app: &AppPlan, uid: Option<&str>) -> Node {
    let mut labels: Vec<(&str, String)> = vec![("app.kubernetes.io/name", app.name.clone())];
    if let Some(team) = app.label("team") {
        labels.push(("team", team.to_string()));
    }
    let mut meta = vec![("name", s(&app.name)), ("namespace", s(&ns.name))];
    if let Some(uid) = uid {
        meta.push(("uid", s(uid)));
    }
    meta.push(("labels", labels_node(&labels)));
    map(meta)
}

fn workload(ns: &NsPlan, app: &AppPlan, uid: Option<&str>) -> Node {
    let mut spec = Vec::new();
    if app.controller != Controller::DaemonSet {
        spec.push(("replicas", int(app.replicas as i64)));
    }
    if app.controller == Controller::StatefulSet {
        spec.push(("serviceName", s(&app.name)));
    }
    spec.push((
        "selector",
        map([("matchLabels", labels_node(&app.selector))]),
    ));
    spec.push(("template", template(app)));
    map([
        ("apiVersion", s("apps/v1")),
        ("kind", s(app.controller.kind())),
        ("metadata", workload_meta(ns, app, uid)),
        ("spec", map(spec)),
    ])
}

struct Owner<'a> {
    kind: &'a str,
    name: &'a str,
    uid: &'a str,
}

fn owner_refs(owner: Owner<'_>) -> Node {
    list([map([
        ("apiVersion", s("apps/v1")),
        ("kind", s(owner.kind)),
        ("name", s(owner.name)),
        ("uid", s(owner.uid)),
        ("controller", Node::Bool(true)),
        ("blockOwnerDeletion", Node::Bool(true)),
    ])])
}

fn replica_set(
    ns: &NsPlan,
    app: &AppPlan,
    name: &str,
    hash: &str,
    uid: &str,
    owner_uid: &str,
) -> Node {
    let mut labels = app.labels.clone();
    labels.push(("pod-template-hash", hash.to_string()));
    let mut selector = app.selector.clone();
    selector.push(("pod-template-hash", hash.to_string()));
    let template = map([
        ("metadata", map([("labels", labels_node(&labels))])),
        ("spec", map([("containers", containers(app, true))])),
    ]);
    map([
        ("apiVersion", s("apps/v1")),
        ("kind", s("ReplicaSet")),
        (
            "metadata",
            map([
                ("name", s(name)),
                ("namespace", s(&ns.name)),
                ("uid", s(uid)),
                ("labels", labels_node(&labels)),
                (
                    "ownerReferences",
                    owner_refs(Owner {
                        kind: "Deployment",
                        name: &app.name,
                        uid: owner_uid,
                    }),
                ),
            ]),
        ),
        (
            "spec",
            map([
                ("replicas", int(app.replicas as i64)),
                ("selector", map([("matchLabels", labels_node(&selector))])),
                ("template", template),
            ]),
        ),
    ])
}

fn pod(
    ns: &NsPlan,
    app: &AppPlan,
    name: &str,
    extra: &[(&str, &str)],
    owner: Owner<'_>,
    (node, ip): (usize, String),
    rng: &mut SplitMix64,
) -> Node {
    let mut labels: Vec<(&str, String)> = app.labels.clone();
    labels.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    map([
        ("apiVersion", s("v1")),
        ("kind", s("Pod")),
        (
            "metadata",
            map([
                ("name", s(name)),
                ("namespace", s(&ns.name)),
                ("uid", s(rng.uuid())),
                ("labels", labels_node(&labels)),
                ("ownerReferences", owner_refs(owner)),
            ]),
        ),
        (
            "spec",
            map([
                ("nodeName", s(format!("worker-{node:05}"))),
                ("containers", containers(app, true)),
            ]),
        ),
        ("status", map([("phase", s("Running")), ("podIP", s(ip))])),
    ])
}

/// Hands out unique pod IPs: nodes own `10.<n/256>.<n%256>.0/24`; a multiplicative
/// permutation spreads consecutive pods over nodes like a scheduler would.
struct IpAllocator {
    slots: usize,
    step: usize,
    offset: usize,
    next: usize,
}

impl IpAllocator {
    fn new(rng: &mut SplitMix64, pods: usize) -> Self {
        let nodes = pods.div_ceil(100).max(1);
        let slots = nodes * PODS_PER_NODE;
        let mut step = 1 + rng.below(slots);
        while gcd(step, slots) != 1 {
            step += 1;
        }
        IpAllocator {
            slots,
            step: step % slots,
            offset: rng.below(slots),
            next: 0,
        }
    }

    fn next(&mut self) -> (usize, String) {
        debug_assert!(self.next < self.slots);
        let slot =
            (self.next as u128 * self.step as u128 + self.offset as u128) % self.slots as u128;
        let slot = slot as usize;
        self.next += 1;
        let (node, host) = (slot / PODS_PER_NODE, slot % PODS_PER_NODE + 2);
        (node, format!("10.{}.{}.{}", node >> 8, node & 0xff, host))
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
