//! Document trees to model objects: kind dispatch, API-server validation, lint findings.
//!
//! Conversion runs on worker threads, one document at a time, and produces [`Item`]s whose
//! namespaces are still names; `assemble` gives them ids and links pods to workloads.

use std::fmt;

use palisade_diag::{Diagnostic, SourceFile, SourceId, Span};
use palisade_model::{
    ContainerPort, Direction, IpBlock, LabelSelector, Labels, ListForm, NamespaceId, Operator,
    Peer, PeerKind, Pod, PodOrigin, Policy, PortRef, PortSpec, Protocol, Requirement, Rule,
    Service, ServicePort, UnevaluatedPolicy, Workload, WorkloadKind,
};

use crate::tree::{DuplicateKey, Node};
use crate::validate;

/// Code of the unknown-field finding.
pub(crate) const UNKNOWN_FIELD: &str = "NP008";
/// Code of the YAML 1.1 scalar finding.
pub(crate) const YAML11_SCALAR: &str = "NP009";

mod admin;

const OBJECT_KEYS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];
/// `ObjectMeta`; `clusterName` was dropped in 1.25 but old dumps still carry it.
const META_KEYS: &[&str] = &[
    "annotations",
    "clusterName",
    "creationTimestamp",
    "deletionGracePeriodSeconds",
    "deletionTimestamp",
    "finalizers",
    "generateName",
    "generation",
    "labels",
    "managedFields",
    "name",
    "namespace",
    "ownerReferences",
    "resourceVersion",
    "selfLink",
    "uid",
];
const NP_SPEC_KEYS: &[&str] = &["egress", "ingress", "podSelector", "policyTypes"];
const INGRESS_RULE_KEYS: &[&str] = &["from", "ports"];
const EGRESS_RULE_KEYS: &[&str] = &["ports", "to"];
const PEER_KEYS: &[&str] = &["ipBlock", "namespaceSelector", "podSelector"];
const IPBLOCK_KEYS: &[&str] = &["cidr", "except"];
const NP_PORT_KEYS: &[&str] = &["endPort", "port", "protocol"];
const SELECTOR_KEYS: &[&str] = &["matchExpressions", "matchLabels"];
const REQUIREMENT_KEYS: &[&str] = &["key", "operator", "values"];
const TEMPLATE_KEYS: &[&str] = &["metadata", "spec"];
const CONTAINER_PORT_KEYS: &[&str] = &["containerPort", "hostIP", "hostPort", "name", "protocol"];

/// An `ownerReferences` entry.
#[derive(Debug)]
pub(crate) struct OwnerRef {
    pub kind: String,
    pub name: String,
    pub controller: bool,
}

/// The pod template of a workload, beyond what [`Workload`] stores.
#[derive(Clone, Debug)]
pub(crate) struct Template {
    pub annotations: Labels,
    pub host_network: bool,
    pub span: Span,
}

/// A converted object; `NamespaceId`s inside are placeholders until assembly.
#[derive(Debug)]
pub(crate) enum Object {
    Namespace {
        labels: Labels,
        annotations: Labels,
    },
    Pod {
        pod: Pod,
        owners: Vec<OwnerRef>,
        /// `metadata.generateName`, which names the owner when `ownerReferences` are missing.
        generate_name: Option<String>,
    },
    Workload {
        workload: Workload,
        owners: Vec<OwnerRef>,
        template: Template,
    },
    Service(Service),
    Policy(Policy),
    AdminPolicy(palisade_model::AdminPolicy),
    Node(palisade_model::Node),
    /// A policy of another kind (Cilium, Calico, AdminNetworkPolicy, Istio, …); `cluster_wide`
    /// kinds have no namespace.
    Unevaluated {
        policy: UnevaluatedPolicy,
        cluster_wide: bool,
    },
}

/// What one document (or list item) turned into.
// Skipped items are rare; boxing objects would cost an allocation per object.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Item {
    Object {
        kind: &'static str,
        name: String,
        /// `None` for cluster-scoped objects and objects without `metadata.namespace`.
        namespace: Option<String>,
        span: Span,
        object: Object,
    },
    Skipped {
        key: String,
        note: Option<&'static str>,
    },
}

/// A field path such as `spec.ingress[0].from[1]`, built on the stack.
#[derive(Clone, Copy)]
struct Path<'p> {
    parent: Option<&'p Path<'p>>,
    seg: Seg<'p>,
}

#[derive(Clone, Copy)]
enum Seg<'p> {
    Root,
    Key(&'p str),
    Index(usize),
}

impl<'p> Path<'p> {
    const ROOT: Path<'static> = Path {
        parent: None,
        seg: Seg::Root,
    };

    fn key<'q>(&'q self, key: &'q str) -> Path<'q> {
        Path {
            parent: Some(self),
            seg: Seg::Key(key),
        }
    }

    fn index(&self, i: usize) -> Path<'_> {
        Path {
            parent: Some(self),
            seg: Seg::Index(i),
        }
    }

    fn is_root(&self) -> bool {
        matches!(self.seg, Seg::Root)
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut segs = Vec::new();
        let mut p = Some(self);
        while let Some(x) = p {
            segs.push(x.seg);
            p = x.parent;
        }
        let mut first = true;
        for seg in segs.iter().rev() {
            match seg {
                Seg::Root => {}
                Seg::Key(k) if first => {
                    f.write_str(k)?;
                    first = false;
                }
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(i) => {
                    write!(f, "[{i}]")?;
                    first = false;
                }
            }
        }
        Ok(())
    }
}

/// Where a field is, for finding messages.
fn place(path: &Path<'_>) -> String {
    if path.is_root() {
        "the object".to_string()
    } else {
        format!("`{path}`")
    }
}

type Entries<'n, 'a> = &'n [(Node<'a>, Node<'a>)];

/// Converts the documents of one file (or one piece of it).
pub(crate) struct Converter<'s> {
    source: SourceId,
    file: &'s SourceFile,
    pub items: Vec<Item>,
    pub diags: Vec<Diagnostic>,
    pub findings: Vec<Diagnostic>,
    errors: usize,
    /// Second-occurrence offsets of duplicate keys in the current document.
    duplicate_offsets: Vec<u32>,
    /// Documents (and list items) that are Kubernetes objects: they have a `kind`.
    pub objects: usize,
    /// Documents that are not: a mapping without `kind`, a list, a scalar.
    pub not_objects: usize,
    /// NetworkPolicies rejected for an error, as far as they were read (namespace as written).
    pub rejected: Vec<(Option<String>, Policy)>,
}

/// The object-level fields every kind shares.
struct Meta {
    name: String,
    namespace: Option<String>,
    labels: Labels,
    annotations: Labels,
    owners: Vec<OwnerRef>,
    generate_name: Option<String>,
}

impl<'s> Converter<'s> {
    pub(crate) fn new(source: SourceId, file: &'s SourceFile) -> Self {
        Converter {
            source,
            file,
            items: Vec::new(),
            diags: Vec::new(),
            findings: Vec::new(),
            errors: 0,
            objects: 0,
            not_objects: 0,
            rejected: Vec::new(),
            duplicate_offsets: Vec::new(),
        }
    }

    fn span(&self, node: &Node<'_>) -> Span {
        Span {
            source: self.source,
            start: node.start,
            end: node.end,
        }
    }

    fn raw_span(&self, (start, end): (u32, u32)) -> Span {
        Span {
            source: self.source,
            start,
            end,
        }
    }

    fn error(&mut self, node: &Node<'_>, path: &Path<'_>, message: impl fmt::Display, help: &str) {
        self.errors += 1;
        let message = if path.is_root() {
            message.to_string()
        } else {
            format!("{path}: {message}")
        };
        let diag = Diagnostic::error(message)
            .with_span(self.span(node))
            .with_help(help);
        self.diags.push(diag);
    }

    fn not_a_string(&mut self, node: &Node<'_>, path: &Path<'_>, text: &str, what: &str) {
        self.error(
            node,
            path,
            format!("expected a string, found {what} (`{text}`)"),
            &format!("quote it: \"{text}\" (the API server rejects {what} here)"),
        );
    }

    fn type_error(&mut self, node: &Node<'_>, path: &Path<'_>, expected: &str) {
        let message = format!("expected {expected}, found {}", node.describe());
        let help = format!("write {expected} here");
        self.error(node, path, message, &help);
    }

    /// Reports keys the API does not know (NP008).
    fn check_keys(&mut self, entries: Entries<'_, '_>, known: &[&str], path: &Path<'_>) {
        for (k, _) in entries {
            let Some((key, _)) = k.scalar() else {
                continue;
            };
            if known.contains(&key) {
                continue;
            }
            let help = match validate::closest(key, known) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("known fields here: {}", known.join(", ")),
            };
            self.findings.push(
                Diagnostic::warning(format!("unknown field `{key}` in {}", place(path)))
                    .with_code(UNKNOWN_FIELD)
                    .with_span(self.span(k))
                    .with_help(help)
                    .with_note(
                        "the API server drops unknown fields, or rejects the object under \
                         `kubectl --validate=strict`",
                    ),
            );
        }
    }

    /// Reports an unquoted scalar that YAML 1.1 or JSON reads as a non-string (NP009).
    fn check_yaml11(&mut self, node: &Node<'_>, what: &str) {
        let Some((text, crate::tree::Style::Plain)) = node.scalar() else {
            return;
        };
        if node.start == node.end {
            return;
        }
        let Some(reading) = validate::yaml11_non_string(text) else {
            return;
        };
        let consequence = if reading == "null" {
            "kubectl sends null, which the API server stores as an empty value; Palisade reads \
             it as the empty string"
                .to_string()
        } else {
            format!(
                "kubectl sends it as {reading} and the API server rejects it (label values must \
                 be strings); Palisade keeps the text `{text}`"
            )
        };
        self.findings.push(
            Diagnostic::warning(format!(
                "unquoted {what} `{text}` is {reading} in YAML 1.1 and JSON, not a string"
            ))
            .with_code(YAML11_SCALAR)
            .with_span(self.span(node))
            .with_help(format!("quote it: \"{text}\""))
            .with_note(consequence),
        );
    }

    /// The value of a key, treating an explicit null like an absent key (as Go's decoder does
    /// for pointers, slices and maps).
    fn opt<'n, 'a>(node: &'n Node<'a>, key: &str) -> Option<&'n Node<'a>> {
        node.get(key).filter(|n| !n.is_null())
    }

    fn map<'n, 'a>(&mut self, node: &'n Node<'a>, path: &Path<'_>) -> Option<Entries<'n, 'a>> {
        if node.is_null() {
            return Some(&[]);
        }
        match node.entries() {
            Some(e) => Some(e),
            None => {
                self.type_error(node, path, "a mapping");
                None
            }
        }
    }

    fn seq<'n, 'a>(&mut self, node: &'n Node<'a>, path: &Path<'_>) -> Option<&'n [Node<'a>]> {
        if node.is_null() {
            return Some(&[]);
        }
        match &node.kind {
            crate::tree::Kind::Seq(items) => Some(items),
            // Hand-written and tool-made dumps write `{}` for "no items"; the API server would
            // refuse it, but it holds nothing, so rejecting the whole object would lose more
            // than it protects.
            crate::tree::Kind::Map(entries) if entries.is_empty() => {
                self.diags.push(
                    Diagnostic::warning(format!(
                        "{path}: expected a list, found an empty mapping; read as an empty list"
                    ))
                    .with_span(self.span(node))
                    .with_help("write `[]`: the API server rejects `{}` where a list belongs"),
                );
                Some(&[])
            }
            _ => {
                self.type_error(node, path, "a list");
                None
            }
        }
    }

    /// A mapping key: any scalar (kubectl turns YAML keys into JSON strings, and JSON keys
    /// are strings).
    fn key_text<'n>(&mut self, node: &'n Node<'_>, path: &Path<'_>) -> Option<&'n str> {
        match node.scalar() {
            Some((text, _)) if !node.is_null() => Some(text),
            _ => {
                self.type_error(node, path, "a string");
                None
            }
        }
    }

    /// A string value. An unquoted `true`, `false` or number is not one: the API server
    /// rejects it, so the object is rejected here too, with the fix (quote it).
    fn string<'n>(&mut self, node: &'n Node<'_>, path: &Path<'_>) -> Option<&'n str> {
        match node.scalar() {
            Some(_) if node.is_null() => {
                self.type_error(node, path, "a string");
                None
            }
            Some((text, crate::tree::Style::Plain))
                if let Some(what) = validate::core_non_string(text) =>
            {
                self.not_a_string(node, path, text, what);
                None
            }
            Some((text, _)) => Some(text),
            None => {
                self.type_error(node, path, "a string");
                None
            }
        }
    }

    fn integer(&mut self, node: &Node<'_>, path: &Path<'_>) -> Option<i64> {
        match node.scalar() {
            Some((text, crate::tree::Style::Plain)) => match text.parse::<i64>() {
                Ok(v) => Some(v),
                Err(_) => {
                    self.type_error(node, path, "an integer");
                    None
                }
            },
            _ => {
                self.type_error(node, path, "an integer");
                None
            }
        }
    }

    fn boolean(&mut self, node: &Node<'_>, path: &Path<'_>) -> Option<bool> {
        match node.scalar() {
            Some(("true" | "True" | "TRUE", crate::tree::Style::Plain)) => Some(true),
            Some(("false" | "False" | "FALSE", crate::tree::Style::Plain)) => Some(false),
            _ if node.is_null() => Some(false),
            _ => {
                self.type_error(node, path, "a boolean (true or false)");
                None
            }
        }
    }

    fn port_number(&mut self, node: &Node<'_>, path: &Path<'_>) -> Option<u16> {
        let v = self.integer(node, path)?;
        match u16::try_from(v) {
            Ok(p) if p >= 1 => Some(p),
            _ => {
                self.error(
                    node,
                    path,
                    format!("port {v} is out of range"),
                    "use a port number between 1 and 65535",
                );
                None
            }
        }
    }

    fn protocol(&mut self, node: Option<&Node<'_>>, path: &Path<'_>) -> Protocol {
        let Some(node) = node else {
            return Protocol::Tcp;
        };
        let path = path.key("protocol");
        let Some(text) = self.string(node, &path) else {
            return Protocol::Tcp;
        };
        match Protocol::parse(text) {
            Some(p) => p,
            None => {
                let help = match Protocol::parse_loose(text) {
                    Some(p) => format!("protocols are case-sensitive: write `{p}`"),
                    None => "use TCP, UDP or SCTP".to_string(),
                };
                self.error(node, &path, format!("unsupported protocol `{text}`"), &help);
                Protocol::Tcp
            }
        }
    }

    /// Converts one document; objects holding a duplicate key are rejected.
    pub(crate) fn document(&mut self, root: &Node<'_>, duplicates: &[DuplicateKey]) {
        self.report_duplicates(duplicates);
        self.object(root, None, 0);
    }

    /// Reports duplicate keys and remembers them so that the objects holding them are rejected.
    pub(crate) fn report_duplicates(&mut self, duplicates: &[DuplicateKey]) {
        self.duplicate_offsets.clear();
        for d in duplicates {
            let (first_line, _) = self.file.line_col(d.first.0);
            let (second_line, _) = self.file.line_col(d.second.0);
            self.errors += 1;
            self.diags.push(
                Diagnostic::error(format!(
                    "duplicate key `{}` on lines {first_line} and {second_line}",
                    d.key
                ))
                .with_span(self.raw_span(d.second))
                .with_label(self.raw_span(d.first), "first defined here")
                .with_help("remove one of them: Kubernetes rejects mappings with duplicate keys"),
            );
            self.duplicate_offsets.push(d.second.0);
        }
    }

    /// Converts one item of a list whose own kind is `inherited` (for typed lists).
    pub(crate) fn list_item(&mut self, item: &Node<'_>, inherited: Option<(&str, Option<&str>)>) {
        self.object(item, inherited, 1);
    }

    fn object(&mut self, node: &Node<'_>, inherited: Option<(&str, Option<&str>)>, depth: usize) {
        if node.is_null() {
            return;
        }
        // A bare list of objects (what some tools write instead of a `List`): each item is
        // read as a document of its own.
        if let crate::tree::Kind::Seq(items) = &node.kind
            && depth < 4
            && !items.is_empty()
            && items
                .iter()
                .all(|i| i.get("kind").is_some_and(|k| !k.is_null()))
        {
            for item in items {
                self.object(item, inherited, depth + 1);
            }
            return;
        }
        let Some(_) = node.entries() else {
            self.not_objects += 1;
            let message = format!(
                "expected a Kubernetes object (a mapping with `apiVersion` and `kind`), found {}",
                node.describe()
            );
            self.error(
                node,
                &Path::ROOT,
                message,
                "each YAML document must be one object",
            );
            return;
        };
        let kind_node = node.get("kind").filter(|n| !n.is_null());
        let kind: &str = match (kind_node, inherited) {
            (Some(k), _) => match k.scalar() {
                Some((text, _)) => text,
                None => {
                    self.type_error(k, &Path::ROOT.key("kind"), "a string");
                    return;
                }
            },
            (None, Some((kind, _))) => kind,
            (None, None) => {
                self.not_objects += 1;
                self.error(
                    node,
                    &Path::ROOT,
                    "object has no `kind`",
                    "add `apiVersion` and `kind`, e.g. `apiVersion: networking.k8s.io/v1` and \
                     `kind: NetworkPolicy`",
                );
                return;
            }
        };
        self.objects += 1;
        let api: Option<&str> = match Self::opt(node, "apiVersion") {
            Some(a) => a.scalar().map(|(t, _)| t),
            None => inherited.and_then(|(_, api)| api),
        };
        if kind.ends_with("List") && node.get("items").is_some() {
            let items_path = Path::ROOT.key("items");
            let Some(items) = node.get("items").and_then(|i| self.seq(i, &items_path)) else {
                return;
            };
            if depth >= 4 {
                return;
            }
            let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
            for item in items {
                self.object(item, item_kind.map(|k| (k, api)), depth + 1);
            }
            return;
        }

        let errors_before = self.errors;
        let diags_before = self.diags.len();
        let converted = self.dispatch(node, kind, api);
        let duplicate_inside = self
            .duplicate_offsets
            .iter()
            .any(|&o| o >= node.start && o < node.end);
        match converted {
            Some(item) if self.errors == errors_before && !duplicate_inside => {
                self.items.push(item)
            }
            Some(Item::Object {
                kind,
                name,
                namespace,
                object,
                ..
            }) => {
                let name = if name.is_empty() {
                    "<unnamed>".to_string()
                } else {
                    name
                };
                let note = match &namespace {
                    Some(ns) => format!("{kind} `{ns}/{name}` is not loaded"),
                    None => format!("{kind} `{name}` is not loaded"),
                };
                for d in &mut self.diags[diags_before..] {
                    if d.is_error() {
                        d.notes.push(note.clone());
                    }
                }
                if let Object::Policy(policy) = object {
                    self.rejected.push((namespace, policy));
                }
            }
            Some(skipped @ Item::Skipped { .. }) => self.items.push(skipped),
            None => {}
        }
    }

    fn dispatch(&mut self, node: &Node<'_>, kind: &str, api: Option<&str>) -> Option<Item> {
        let in_group = |groups: &[&str]| match api {
            None => true,
            Some(a) => groups
                .iter()
                .any(|g| a == *g || (g.ends_with('/') && a.starts_with(g))),
        };
        let skipped_other_group = || Item::Skipped {
            key: format!("{}/{kind}", api.unwrap_or_default()),
            note: None,
        };
        // The admin-tier versions Palisade evaluates; other versions of these kinds stay
        // unevaluated (answers they may affect are marked uncertain).
        match (kind, api) {
            ("ClusterNetworkPolicy", Some("policy.networking.k8s.io/v1alpha2")) => {
                return self.cluster_network_policy(node);
            }
            ("AdminNetworkPolicy", Some("policy.networking.k8s.io/v1alpha1")) => {
                return self.admin_network_policy(node);
            }
            ("BaselineAdminNetworkPolicy", Some("policy.networking.k8s.io/v1alpha1")) => {
                return self.baseline_admin_network_policy(node);
            }
            _ => {}
        }
        if let Some((static_kind, cluster_wide)) = foreign_policy_kind(kind, api) {
            return Some(self.unevaluated(
                node,
                static_kind,
                api.unwrap_or_default(),
                cluster_wide,
            ));
        }
        match kind {
            "NetworkPolicy" => {
                if !in_group(&["networking.k8s.io/v1", "extensions/v1beta1"]) {
                    self.suspicious_policy_api(node, api.unwrap_or_default());
                    return Some(Item::Skipped {
                        key: format!("{}/{kind}", api.unwrap_or_default()),
                        note: Some(
                            "not a Kubernetes NetworkPolicy (networking.k8s.io/v1); only those \
                             are evaluated",
                        ),
                    });
                }
                self.policy(node)
            }
            "Node" => {
                if !in_group(&["v1"]) {
                    return Some(skipped_other_group());
                }
                self.node(node)
            }
            "Namespace" | "Pod" | "Service" => {
                if !in_group(&["v1"]) {
                    return Some(skipped_other_group());
                }
                match kind {
                    "Namespace" => self.namespace(node),
                    "Pod" => self.pod(node),
                    _ => self.service(node),
                }
            }
            _ => {
                if let Some(wk) = WorkloadKind::parse(kind) {
                    let groups: &[&str] = match wk {
                        WorkloadKind::ReplicationController => &["v1"],
                        WorkloadKind::Job | WorkloadKind::CronJob => &["batch/"],
                        _ => &["apps/", "extensions/"],
                    };
                    if !in_group(groups) {
                        return Some(skipped_other_group());
                    }
                    return self.workload(node, wk);
                }
                self.unknown_kind(node, kind);
                Some(Item::Skipped {
                    key: kind.to_string(),
                    note: None,
                })
            }
        }
    }

    /// A policy of a kind Palisade does not evaluate: kept with what it may select, and a
    /// warning (always shown) that answers about those pods are uncertain. Never an error:
    /// its schema is not Palisade's to check.
    fn unevaluated(
        &mut self,
        node: &Node<'_>,
        kind: &'static str,
        api: &str,
        cluster_wide: bool,
    ) -> Item {
        let meta = self.meta(node, &Path::ROOT, false, false);
        let spec = Self::opt(node, "spec");
        let pod_labels = spec.and_then(|spec| foreign_selector(spec, api));
        let span = node.get("kind").map_or(self.span(node), |k| self.span(k));
        let what = match (&meta.namespace, cluster_wide) {
            (Some(ns), false) => format!("{kind} `{ns}/{}`", meta.name),
            _ => format!("{kind} `{}`", meta.name),
        };
        let scope = if cluster_wide {
            "pods of every namespace"
        } else {
            "pods of its namespace"
        };
        self.diags.push(
            Diagnostic::warning(format!(
                "{what} is not evaluated: answers about the {scope} it may select are marked uncertain"
            ))
            .with_span(span)
            .with_note(
                "Palisade evaluates networking.k8s.io/v1 NetworkPolicies only; this policy may \
                 allow or deny traffic they do not",
            ),
        );
        let policy = UnevaluatedPolicy {
            kind: kind.to_string(),
            api_version: api.to_string(),
            name: meta.name.clone(),
            namespace: None,
            pod_labels,
            span: Some(self.span(node)),
        };
        let namespace = if cluster_wide { None } else { meta.namespace };
        self.item(
            node,
            kind,
            meta.name,
            namespace,
            Object::Unevaluated {
                policy,
                cluster_wide,
            },
        )
    }

    /// Warns when a skipped kind looks like a misspelled kind Palisade reads.
    /// A NetworkPolicy whose apiVersion is no API group's (`k8sV1`, `v1`) or a version of
    /// networking.k8s.io that does not exist is almost certainly a typo for
    /// `networking.k8s.io/v1`: warn, since skipping it silently would drop the policy. Other
    /// groups' NetworkPolicy kinds (Calico, Cilium, …) are skipped with a note only.
    fn suspicious_policy_api(&mut self, node: &Node<'_>, api: &str) {
        if api.contains('/') && !api.starts_with("networking.k8s.io/") {
            return;
        }
        let span = node
            .get("apiVersion")
            .map_or(self.span(node), |a| self.span(a));
        self.diags.push(
            Diagnostic::warning(format!(
                "NetworkPolicy with apiVersion `{api}` is skipped: no such API version serves NetworkPolicy"
            ))
            .with_span(span)
            .with_help("use `apiVersion: networking.k8s.io/v1`"),
        );
    }

    fn unknown_kind(&mut self, node: &Node<'_>, kind: &str) {
        const KNOWN: &[&str] = &[
            "NetworkPolicy",
            "Namespace",
            "Pod",
            "Service",
            "Deployment",
            "ReplicaSet",
            "StatefulSet",
            "DaemonSet",
            "Job",
            "CronJob",
            "ReplicationController",
        ];
        if kind.len() < 5 {
            return;
        }
        if let Some(s) = validate::closest(kind, KNOWN) {
            let span = node.get("kind").map_or(self.span(node), |k| self.span(k));
            self.diags.push(
                Diagnostic::warning(format!("unknown kind `{kind}` is skipped"))
                    .with_span(span)
                    .with_help(format!("did you mean `{s}`? kinds are case-sensitive")),
            );
        }
    }

    fn meta(&mut self, node: &Node<'_>, path: &Path<'_>, check: bool, label_name: bool) -> Meta {
        let mut meta = Meta {
            name: String::new(),
            namespace: None,
            labels: Labels::new(),
            annotations: Labels::new(),
            owners: Vec::new(),
            generate_name: None,
        };
        let mpath = path.key("metadata");
        let Some(m) = Self::opt(node, "metadata") else {
            self.error(
                node,
                &mpath.key("name"),
                "the object has no name",
                "add `metadata: {name: ...}`",
            );
            return meta;
        };
        let Some(entries) = self.map(m, &mpath) else {
            return meta;
        };
        if check {
            self.check_keys(entries, META_KEYS, &mpath);
        }
        match Self::opt(m, "name") {
            Some(n) => {
                if let Some(s) = self.string(n, &mpath.key("name")) {
                    meta.name = s.to_string();
                }
            }
            None => self.error(
                m,
                &mpath.key("name"),
                "the object has no name",
                "add `name:` under `metadata`",
            ),
        }
        if let Some(n) = Self::opt(m, "name") {
            // A name of the wrong type was reported as such already.
            if meta.name.is_empty() {
                if n.scalar().is_some_and(|(t, _)| t.is_empty()) {
                    self.error(
                        n,
                        &mpath.key("name"),
                        "the name is empty",
                        "give the object a name",
                    );
                }
            } else if let Err(e) = validate::object_name(&meta.name, label_name) {
                let message = format!("invalid name `{}`: {e}", meta.name);
                self.error(
                    n,
                    &mpath.key("name"),
                    message,
                    "rename the object, e.g. `my-policy`",
                );
            }
        }
        if let Some(ns) = Self::opt(m, "namespace")
            && let Some(s) = self.string(ns, &mpath.key("namespace"))
            && !s.is_empty()
        {
            if let Err(e) = validate::object_name(s, true) {
                self.error(
                    ns,
                    &mpath.key("namespace"),
                    format!("invalid namespace `{s}`: {e}"),
                    "namespace names are DNS labels, e.g. `shop`",
                );
            }
            meta.namespace = Some(s.to_string());
        }
        if let Some(g) = Self::opt(m, "generateName")
            && let Some((text, _)) = g.scalar()
        {
            meta.generate_name = Some(text.to_string());
        }
        meta.labels = self.labels(Self::opt(m, "labels"), &mpath.key("labels"));
        meta.annotations = self.annotations(Self::opt(m, "annotations"), &mpath.key("annotations"));
        if let Some(refs) = Self::opt(m, "ownerReferences") {
            let rpath = mpath.key("ownerReferences");
            for (i, r) in self
                .seq(refs, &rpath)
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let p = rpath.index(i);
                if self.map(r, &p).is_none() {
                    continue;
                }
                let kind = Self::opt(r, "kind").and_then(|k| self.string(k, &p.key("kind")));
                let name = Self::opt(r, "name").and_then(|n| self.string(n, &p.key("name")));
                let controller = Self::opt(r, "controller")
                    .and_then(|c| self.boolean(c, &p.key("controller")))
                    .unwrap_or(false);
                if let (Some(kind), Some(name)) = (kind, name) {
                    meta.owners.push(OwnerRef {
                        kind: kind.to_string(),
                        name: name.to_string(),
                        controller,
                    });
                }
            }
        }
        meta
    }

    /// Object labels or a selector's `matchLabels`: validated, with NP009 findings.
    fn labels(&mut self, node: Option<&Node<'_>>, path: &Path<'_>) -> Labels {
        let mut out = Labels::new();
        let Some(node) = node else {
            return out;
        };
        let Some(entries) = self.map(node, path) else {
            return out;
        };
        for (k, v) in entries {
            let Some(key) = self.key_text(k, path) else {
                continue;
            };
            let p = path.key(key);
            if let Err(e) = validate::label_key(key) {
                self.error(
                    k,
                    &p,
                    format!("invalid label key `{key}`: {e}"),
                    "label keys are `[prefix/]name`: the prefix a DNS subdomain, the name up to \
                     63 characters of [A-Za-z0-9-_.] starting and ending alphanumeric",
                );
            }
            let value = self.label_value(v, &p, "label value");
            out.insert(key.to_string(), value.unwrap_or_default());
        }
        out
    }

    /// A label value (object label, `matchLabels` value or `values` entry).
    fn label_value(&mut self, v: &Node<'_>, path: &Path<'_>, what: &str) -> Option<String> {
        let (text, style) = match v.scalar() {
            Some(s) => s,
            None => {
                self.type_error(v, path, "a string");
                return None;
            }
        };
        if style == crate::tree::Style::Plain
            && let Some(reading) = validate::core_non_string(text)
        {
            self.not_a_string(v, path, text, reading);
            return None;
        }
        self.check_yaml11(v, what);
        // A null value reaches the API server as JSON null, which Go decodes into "".
        let value = if v.is_null() { "" } else { text };
        if let Err(e) = validate::label_value(value) {
            self.error(
                v,
                path,
                format!("invalid label value `{value}`: {e}"),
                "label values are empty or up to 63 characters of [A-Za-z0-9-_.], starting and \
                 ending alphanumeric",
            );
        }
        Some(value.to_string())
    }

    fn annotations(&mut self, node: Option<&Node<'_>>, path: &Path<'_>) -> Labels {
        let mut out = Labels::new();
        let Some(node) = node else {
            return out;
        };
        let Some(entries) = self.map(node, path) else {
            return out;
        };
        for (k, v) in entries {
            let Some(key) = self.key_text(k, path) else {
                continue;
            };
            let value = if v.is_null() {
                Some("")
            } else {
                self.string(v, &path.key(key))
            };
            if let Some(value) = value {
                out.insert(key.to_string(), value.to_string());
            }
        }
        out
    }

    fn item(
        &self,
        node: &Node<'_>,
        kind: &'static str,
        name: String,
        namespace: Option<String>,
        object: Object,
    ) -> Item {
        Item::Object {
            kind,
            name,
            namespace,
            span: self.span(node),
            object,
        }
    }

    fn namespace(&mut self, node: &Node<'_>) -> Option<Item> {
        if let Some(entries) = node.entries() {
            self.check_keys(entries, OBJECT_KEYS, &Path::ROOT);
        }
        let meta = self.meta(node, &Path::ROOT, true, true);
        let object = Object::Namespace {
            labels: meta.labels,
            annotations: meta.annotations,
        };
        Some(self.item(node, "Namespace", meta.name, None, object))
    }

    fn container_ports(&mut self, spec: &Node<'_>, path: &Path<'_>, out: &mut Vec<ContainerPort>) {
        for list in ["containers", "initContainers"] {
            let Some(containers) = Self::opt(spec, list) else {
                continue;
            };
            let lpath = path.key(list);
            for (i, c) in self
                .seq(containers, &lpath)
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let cpath = lpath.index(i);
                if self.map(c, &cpath).is_none() {
                    continue;
                }
                let Some(ports) = Self::opt(c, "ports") else {
                    continue;
                };
                let ppath = cpath.key("ports");
                for (j, p) in self
                    .seq(ports, &ppath)
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    let path = ppath.index(j);
                    let Some(entries) = self.map(p, &path) else {
                        continue;
                    };
                    self.check_keys(entries, CONTAINER_PORT_KEYS, &path);
                    let number = match Self::opt(p, "containerPort") {
                        Some(n) => self.port_number(n, &path.key("containerPort")),
                        None => {
                            self.error(
                                p,
                                &path.key("containerPort"),
                                "containerPort is required",
                                "add `containerPort: <number>`",
                            );
                            None
                        }
                    };
                    let name = Self::opt(p, "name").and_then(|n| {
                        let np = path.key("name");
                        let s = self.string(n, &np)?;
                        if let Err(e) = validate::port_name(s) {
                            self.error(
                                n,
                                &np,
                                format!("invalid port name `{s}`: {e}"),
                                "port names are IANA service names: 1-15 lowercase letters, \
                                 digits and `-`, with at least one letter",
                            );
                        }
                        Some(s.to_string())
                    });
                    let protocol = self.protocol(Self::opt(p, "protocol"), &path);
                    if let Some(port) = number {
                        out.push(ContainerPort {
                            name,
                            port,
                            protocol,
                        });
                    }
                }
            }
        }
    }

    fn pod(&mut self, node: &Node<'_>) -> Option<Item> {
        if let Some(entries) = node.entries() {
            self.check_keys(entries, OBJECT_KEYS, &Path::ROOT);
        }
        let meta = self.meta(node, &Path::ROOT, true, false);
        let mut ports = Vec::new();
        let mut host_network = false;
        if let Some(spec) = Self::opt(node, "spec") {
            let path = Path::ROOT.key("spec");
            if self.map(spec, &path).is_some() {
                if let Some(h) = Self::opt(spec, "hostNetwork") {
                    host_network = self.boolean(h, &path.key("hostNetwork")).unwrap_or(false);
                }
                self.container_ports(spec, &path, &mut ports);
            }
        }
        let mut ips = Vec::new();
        if let Some(status) = Self::opt(node, "status") {
            let path = Path::ROOT.key("status");
            if self.map(status, &path).is_some() {
                const HELP: &str = "write an IPv4 or IPv6 address";
                if let Some(ip) = Self::opt(status, "podIP") {
                    self.push_ip(ip, &path.key("podIP"), &mut ips, HELP);
                }
                if let Some(list) = Self::opt(status, "podIPs") {
                    let lpath = path.key("podIPs");
                    for (i, item) in self
                        .seq(list, &lpath)
                        .unwrap_or_default()
                        .iter()
                        .enumerate()
                    {
                        let ipath = lpath.index(i);
                        if self.map(item, &ipath).is_none() {
                            continue;
                        }
                        if let Some(ip) = Self::opt(item, "ip") {
                            self.push_ip(ip, &ipath.key("ip"), &mut ips, HELP);
                        }
                    }
                }
            }
        }
        let pod = Pod {
            name: meta.name.clone(),
            namespace: NamespaceId(0),
            labels: meta.labels,
            annotations: meta.annotations,
            ports,
            ips,
            host_network,
            workload: None,
            origin: PodOrigin::Declared,
            span: Some(self.span(node)),
        };
        let object = Object::Pod {
            pod,
            owners: meta.owners,
            generate_name: meta.generate_name,
        };
        Some(self.item(node, "Pod", meta.name, meta.namespace, object))
    }

    fn workload(&mut self, node: &Node<'_>, kind: WorkloadKind) -> Option<Item> {
        if let Some(entries) = node.entries() {
            self.check_keys(entries, OBJECT_KEYS, &Path::ROOT);
        }
        let meta = self.meta(node, &Path::ROOT, true, false);
        let spec_path = Path::ROOT.key("spec");
        let spec = Self::opt(node, "spec");
        if let Some(spec) = spec {
            self.map(spec, &spec_path)?;
        }
        let (template, tpath_parts): (Option<&Node<'_>>, &[&str]) = if kind == WorkloadKind::CronJob
        {
            let jt = spec.and_then(|s| Self::opt(s, "jobTemplate"));
            let jpath = spec_path.key("jobTemplate");
            if let Some(jt) = jt
                && let Some(entries) = self.map(jt, &jpath)
            {
                self.check_keys(entries, TEMPLATE_KEYS, &jpath);
            }
            let js = jt.and_then(|j| Self::opt(j, "spec"));
            if let Some(js) = js {
                self.map(js, &jpath.key("spec"))?;
            }
            (
                js.and_then(|j| Self::opt(j, "template")),
                &["spec", "jobTemplate", "spec", "template"],
            )
        } else {
            (
                spec.and_then(|s| Self::opt(s, "template")),
                &["spec", "template"],
            )
        };
        let p1 = Path::ROOT.key(tpath_parts[0]);
        let p2 = p1.key(tpath_parts[1]);
        let p3;
        let p4;
        let tpath: &Path<'_> = if tpath_parts.len() == 4 {
            p3 = p2.key(tpath_parts[2]);
            p4 = p3.key(tpath_parts[3]);
            &p4
        } else {
            &p2
        };
        let Some(tpl) = template else {
            self.error(
                node,
                tpath,
                "the pod template is missing",
                "add the pod template with the pods' labels and containers",
            );
            return None;
        };
        let entries = self.map(tpl, tpath)?;
        self.check_keys(entries, TEMPLATE_KEYS, tpath);
        let mut labels = Labels::new();
        let mut annotations = Labels::new();
        if let Some(m) = Self::opt(tpl, "metadata") {
            let mpath = tpath.key("metadata");
            if let Some(entries) = self.map(m, &mpath) {
                self.check_keys(entries, META_KEYS, &mpath);
                labels = self.labels(Self::opt(m, "labels"), &mpath.key("labels"));
                annotations =
                    self.annotations(Self::opt(m, "annotations"), &mpath.key("annotations"));
            }
        }
        let mut ports = Vec::new();
        let mut host_network = false;
        if let Some(s) = Self::opt(tpl, "spec") {
            let spath = tpath.key("spec");
            if self.map(s, &spath).is_some() {
                if let Some(h) = Self::opt(s, "hostNetwork") {
                    host_network = self.boolean(h, &spath.key("hostNetwork")).unwrap_or(false);
                }
                self.container_ports(s, &spath, &mut ports);
            }
        }
        // The controller's own selector: the labels that survive rollouts (a CronJob has none
        // of its own; its Jobs' selectors are generated).
        let selector = spec
            .and_then(|s| Self::opt(s, "selector"))
            .filter(|_| kind != WorkloadKind::CronJob)
            .map(|s| self.selector(s, &spec_path.key("selector")));
        let workload = Workload {
            name: meta.name.clone(),
            namespace: NamespaceId(0),
            kind,
            template_labels: labels,
            selector,
            template_ports: ports,
            annotations: meta.annotations,
            owner: None,
            pods: Vec::new(),
            span: Some(self.span(node)),
        };
        let template = Template {
            annotations,
            host_network,
            span: self.span(tpl),
        };
        let object = Object::Workload {
            workload,
            owners: meta.owners,
            template,
        };
        Some(self.item(node, kind.as_str(), meta.name, meta.namespace, object))
    }

    fn service(&mut self, node: &Node<'_>) -> Option<Item> {
        let meta = self.meta(node, &Path::ROOT, false, true);
        let spath = Path::ROOT.key("spec");
        let mut service = Service {
            name: meta.name.clone(),
            namespace: NamespaceId(0),
            selector: Labels::new(),
            ports: Vec::new(),
            cluster_ips: Vec::new(),
            span: Some(self.span(node)),
        };
        if let Some(spec) = Self::opt(node, "spec") {
            self.map(spec, &spath)?;
            service.selector = self.labels(Self::opt(spec, "selector"), &spath.key("selector"));
            // An ExternalName service is a DNS alias: it has no backends and no address.
            let external_name = Self::opt(spec, "type")
                .and_then(Node::scalar)
                .is_some_and(|(t, _)| t == "ExternalName");
            if external_name {
                service.selector.clear();
            }
            if let Some(ports) = Self::opt(spec, "ports") {
                let ppath = spath.key("ports");
                for (i, p) in self
                    .seq(ports, &ppath)
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    let path = ppath.index(i);
                    if self.map(p, &path).is_none() {
                        continue;
                    }
                    let Some(port) = (match Self::opt(p, "port") {
                        Some(n) => self.port_number(n, &path.key("port")),
                        None => {
                            self.error(
                                p,
                                &path.key("port"),
                                "port is required",
                                "add `port: <number>`",
                            );
                            None
                        }
                    }) else {
                        continue;
                    };
                    let target_port = match Self::opt(p, "targetPort") {
                        None => PortRef::Number(port),
                        Some(t) => match self.port_ref(t, &path.key("targetPort")) {
                            Some(r) => r,
                            None => continue,
                        },
                    };
                    let name = Self::opt(p, "name")
                        .and_then(|n| self.string(n, &path.key("name")))
                        .map(str::to_string);
                    let protocol = self.protocol(Self::opt(p, "protocol"), &path);
                    service.ports.push(ServicePort {
                        name,
                        port,
                        target_port,
                        protocol,
                    });
                }
            }
            // A headless service writes `None` (or nothing) where the address would be.
            const HELP: &str = "write an IP address, or `None` for a headless service";
            let headless = |n: &Node<'_>| matches!(n.scalar(), Some(("" | "None", _)));
            if let Some(ip) = Self::opt(spec, "clusterIP").filter(|n| !headless(n)) {
                self.push_ip(ip, &spath.key("clusterIP"), &mut service.cluster_ips, HELP);
            }
            if let Some(ips) = Self::opt(spec, "clusterIPs") {
                let lpath = spath.key("clusterIPs");
                for (i, ip) in self.seq(ips, &lpath).unwrap_or_default().iter().enumerate() {
                    if !headless(ip) {
                        self.push_ip(ip, &lpath.index(i), &mut service.cluster_ips, HELP);
                    }
                }
            }
        }
        Some(self.item(
            node,
            "Service",
            meta.name,
            meta.namespace,
            Object::Service(service),
        ))
    }

    /// Adds the address of a string field to `out` (once); anything else is an error on the
    /// field with `help`.
    fn push_ip(
        &mut self,
        node: &Node<'_>,
        path: &Path<'_>,
        out: &mut Vec<std::net::IpAddr>,
        help: &str,
    ) {
        let Some(s) = self.string(node, path) else {
            return;
        };
        match validate::parse_ip(s) {
            Some(ip) if !out.contains(&ip) => out.push(ip),
            Some(_) => {}
            None => self.error(node, path, format!("`{s}` is not an IP address"), help),
        }
    }

    /// An IntOrString port: an unquoted integer is a number, anything else a port name.
    fn port_ref(&mut self, node: &Node<'_>, path: &Path<'_>) -> Option<PortRef> {
        let Some((text, style)) = node.scalar() else {
            self.type_error(node, path, "a port number or name");
            return None;
        };
        if style == crate::tree::Style::Plain
            && text.parse::<i64>().is_err()
            && let Some(what) = validate::core_non_string(text)
        {
            self.error(
                node,
                path,
                format!("expected a port number or name, found {what} (`{text}`)"),
                "write a port number (80) or a quoted port name (\"http\")",
            );
            return None;
        }
        if style == crate::tree::Style::Plain
            && let Ok(v) = text.parse::<i64>()
        {
            return match u16::try_from(v) {
                Ok(p) if p >= 1 => Some(PortRef::Number(p)),
                _ => {
                    self.error(
                        node,
                        path,
                        format!("port {v} is out of range"),
                        "use a port number between 1 and 65535",
                    );
                    None
                }
            };
        }
        if let Err(e) = validate::port_name(text) {
            let help = if text.parse::<u32>().is_ok() {
                "a quoted number is a port name to Kubernetes: remove the quotes"
            } else {
                "named ports are IANA service names: 1-15 lowercase letters, digits and `-`, \
                 with at least one letter"
            };
            self.error(node, path, format!("invalid port name `{text}`: {e}"), help);
            return None;
        }
        Some(PortRef::Name(text.to_string()))
    }

    fn policy(&mut self, node: &Node<'_>) -> Option<Item> {
        if let Some(entries) = node.entries() {
            self.check_keys(entries, OBJECT_KEYS, &Path::ROOT);
        }
        let meta = self.meta(node, &Path::ROOT, true, false);
        let spath = Path::ROOT.key("spec");
        let empty = Node {
            kind: crate::tree::Kind::Map(Vec::new()),
            start: node.start,
            end: node.start,
        };
        let spec = match Self::opt(node, "spec") {
            Some(s) => {
                let entries = self.map(s, &spath)?;
                self.check_keys(entries, NP_SPEC_KEYS, &spath);
                s
            }
            None => &empty,
        };
        // The API defaults an absent podSelector to the empty selector (all pods).
        let pod_selector = match Self::opt(spec, "podSelector") {
            Some(s) => self.selector(s, &spath.key("podSelector")),
            None => LabelSelector::default(),
        };
        let declared_policy_types = match Self::opt(spec, "policyTypes") {
            None => None,
            Some(list) => {
                let ppath = spath.key("policyTypes");
                let mut out = Vec::new();
                let items = self.seq(list, &ppath).unwrap_or_default();
                for (i, t) in items.iter().enumerate() {
                    let p = ppath.index(i);
                    let Some(text) = self.string(t, &p) else {
                        continue;
                    };
                    let dir = match text {
                        "Ingress" => Direction::Ingress,
                        "Egress" => Direction::Egress,
                        _ => {
                            self.error(
                                t,
                                &p,
                                format!("unsupported policy type `{text}`"),
                                "use `Ingress` or `Egress` (case-sensitive)",
                            );
                            continue;
                        }
                    };
                    out.push((dir, Some(self.span(t))));
                }
                if items.len() > 2 {
                    self.error(
                        list,
                        &ppath,
                        "may not specify more than two policy types",
                        "list `Ingress`, `Egress` or both, once each",
                    );
                }
                Some(out)
            }
        };
        let (ingress, ingress_form) = self.rules(spec, &spath, Direction::Ingress);
        let (egress, egress_form) = self.rules(spec, &spath, Direction::Egress);
        // Defaulting as in SetDefaults_NetworkPolicy (pkg/apis/networking/v1/defaults.go): when
        // policyTypes is absent or empty, Ingress always, plus Egress when `len(spec.egress) != 0`
        // — so `egress: []` alone does not make a policy affect egress.
        let (affects_ingress, affects_egress) = match &declared_policy_types {
            Some(types) if !types.is_empty() => (
                types.iter().any(|(d, _)| *d == Direction::Ingress),
                types.iter().any(|(d, _)| *d == Direction::Egress),
            ),
            _ => (true, !egress.is_empty()),
        };
        let policy = Policy {
            name: meta.name.clone(),
            namespace: NamespaceId(0),
            annotations: meta.annotations,
            pod_selector,
            affects_ingress,
            affects_egress,
            declared_policy_types,
            ingress,
            ingress_form,
            egress,
            egress_form,
            span: Some(self.span(node)),
        };
        Some(self.item(
            node,
            "NetworkPolicy",
            meta.name,
            meta.namespace,
            Object::Policy(policy),
        ))
    }

    fn list_form(items: Option<&[Node<'_>]>, node: Option<&Node<'_>>) -> ListForm {
        match (node, items) {
            (None, _) => ListForm::Missing,
            (Some(_), Some(items)) if !items.is_empty() => ListForm::Items,
            _ => ListForm::Empty,
        }
    }

    fn rules(
        &mut self,
        spec: &Node<'_>,
        spath: &Path<'_>,
        dir: Direction,
    ) -> (Vec<Rule>, ListForm) {
        let (field, peers_field, keys) = match dir {
            Direction::Ingress => ("ingress", "from", INGRESS_RULE_KEYS),
            Direction::Egress => ("egress", "to", EGRESS_RULE_KEYS),
        };
        let node = spec.get(field);
        let path = spath.key(field);
        let items = node.and_then(|n| self.seq(n, &path));
        let form = Self::list_form(items, node);
        let mut rules = Vec::new();
        for (i, r) in items.unwrap_or_default().iter().enumerate() {
            let rpath = path.index(i);
            let Some(entries) = self.map(r, &rpath) else {
                continue;
            };
            self.check_keys(entries, keys, &rpath);
            let peers_node = r.get(peers_field);
            let ppath = rpath.key(peers_field);
            let peer_items = peers_node.and_then(|n| self.seq(n, &ppath));
            let peers_form = Self::list_form(peer_items, peers_node);
            let mut peers = Vec::new();
            for (j, p) in peer_items.unwrap_or_default().iter().enumerate() {
                if let Some(peer) = self.peer(p, &ppath.index(j)) {
                    peers.push(peer);
                }
            }
            let ports_node = r.get("ports");
            let portspath = rpath.key("ports");
            let port_items = ports_node.and_then(|n| self.seq(n, &portspath));
            let ports_form = Self::list_form(port_items, ports_node);
            let mut ports = Vec::new();
            for (j, p) in port_items.unwrap_or_default().iter().enumerate() {
                if let Some(port) = self.np_port(p, &portspath.index(j)) {
                    ports.push(port);
                }
            }
            rules.push(Rule {
                peers,
                peers_form,
                ports,
                ports_form,
                span: Some(self.span(r)),
            });
        }
        (rules, form)
    }

    fn peer(&mut self, node: &Node<'_>, path: &Path<'_>) -> Option<Peer> {
        let entries = self.map(node, path)?;
        self.check_keys(entries, PEER_KEYS, path);
        let pod = Self::opt(node, "podSelector");
        let ns = Self::opt(node, "namespaceSelector");
        let ipb = Self::opt(node, "ipBlock");
        let count = [pod, ns, ipb].iter().filter(|x| x.is_some()).count();
        if count == 0 {
            self.error(
                node,
                path,
                "a peer must specify podSelector, namespaceSelector or ipBlock",
                "add a selector (`podSelector: {}` selects every pod of the namespace), or \
                 remove the entry",
            );
            return None;
        }
        if let Some(ipb) = ipb {
            if count > 1 {
                self.error(
                    node,
                    path,
                    "may not specify both ipBlock and another peer",
                    "split it into two entries: one with the ipBlock, one with the selectors",
                );
                return None;
            }
            let block = self.ip_block(ipb, &path.key("ipBlock"))?;
            return Some(Peer {
                kind: PeerKind::IpBlock(block),
                span: Some(self.span(node)),
            });
        }
        let pod_selector = pod.map(|p| self.selector(p, &path.key("podSelector")));
        let namespace_selector = ns.map(|n| self.selector(n, &path.key("namespaceSelector")));
        Some(Peer {
            kind: PeerKind::Selector {
                namespace_selector,
                pod_selector,
            },
            span: Some(self.span(node)),
        })
    }

    fn ip_block(&mut self, node: &Node<'_>, path: &Path<'_>) -> Option<IpBlock> {
        let entries = self.map(node, path)?;
        self.check_keys(entries, IPBLOCK_KEYS, path);
        let cpath = path.key("cidr");
        let Some(cidr_node) = Self::opt(node, "cidr") else {
            self.error(
                node,
                &cpath,
                "cidr is required",
                "add `cidr:`, e.g. `cidr: 10.0.0.0/16`",
            );
            return None;
        };
        let cidr_text = self.string(cidr_node, &cpath)?;
        let Some(cidr) = validate::parse_cidr(cidr_text) else {
            self.error(
                cidr_node,
                &cpath,
                format!("`{cidr_text}` is not a valid CIDR"),
                "write an address and a prefix length, e.g. `10.0.0.0/16` or `2001:db8::/64`",
            );
            return None;
        };
        let mut block = IpBlock {
            cidr_text: cidr_text.to_string(),
            cidr,
            except: Vec::new(),
            except_text: Vec::new(),
        };
        if let Some(except) = Self::opt(node, "except") {
            let epath = path.key("except");
            for (i, e) in self
                .seq(except, &epath)
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let p = epath.index(i);
                let Some(text) = self.string(e, &p) else {
                    continue;
                };
                let Some(net) = validate::parse_cidr(text) else {
                    self.error(
                        e,
                        &p,
                        format!("`{text}` is not a valid CIDR"),
                        "write an address and a prefix length, e.g. `10.0.1.0/24`",
                    );
                    continue;
                };
                let inside = net.prefix_len() > cidr.prefix_len() && cidr.contains(&net.network());
                if !inside {
                    self.error(
                        e,
                        &p,
                        format!("`{text}` is not strictly inside cidr `{cidr_text}`"),
                        "every except range must be a proper sub-range of the cidr, of the same \
                         IP family; remove it or fix the prefix",
                    );
                    continue;
                }
                block.except.push(net);
                block.except_text.push(text.to_string());
            }
        }
        Some(block)
    }

    fn selector(&mut self, node: &Node<'_>, path: &Path<'_>) -> LabelSelector {
        let mut sel = LabelSelector {
            span: Some(self.span(node)),
            ..LabelSelector::default()
        };
        let Some(entries) = self.map(node, path) else {
            return sel;
        };
        self.check_keys(entries, SELECTOR_KEYS, path);
        let labels = self.labels(Self::opt(node, "matchLabels"), &path.key("matchLabels"));
        sel.match_labels = labels.into_iter().collect();
        let Some(exprs) = Self::opt(node, "matchExpressions") else {
            return sel;
        };
        let epath = path.key("matchExpressions");
        for (i, e) in self
            .seq(exprs, &epath)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let p = epath.index(i);
            let Some(entries) = self.map(e, &p) else {
                continue;
            };
            self.check_keys(entries, REQUIREMENT_KEYS, &p);
            let key = match Self::opt(e, "key") {
                None => {
                    self.error(
                        e,
                        &p.key("key"),
                        "key is required",
                        "add `key: <label key>`",
                    );
                    None
                }
                Some(k) => {
                    let kp = p.key("key");
                    let key = self.string(k, &kp);
                    if let Some(key) = key
                        && let Err(err) = validate::label_key(key)
                    {
                        self.error(
                            k,
                            &kp,
                            format!("invalid label key `{key}`: {err}"),
                            "label keys are `[prefix/]name`: the prefix a DNS subdomain, the \
                             name up to 63 characters of [A-Za-z0-9-_.]",
                        );
                    }
                    key
                }
            };
            let op_path = p.key("operator");
            let operator = match Self::opt(e, "operator") {
                None => {
                    self.error(
                        e,
                        &op_path,
                        "operator is required",
                        "add `operator:` (In, NotIn, Exists or DoesNotExist)",
                    );
                    None
                }
                Some(o) => match self.string(o, &op_path) {
                    None => None,
                    Some(text) => match Operator::parse(text) {
                        Some(op) => Some(op),
                        None => {
                            self.error(
                                o,
                                &op_path,
                                format!("unknown selector operator `{text}`"),
                                "use In, NotIn, Exists or DoesNotExist (case-sensitive)",
                            );
                            None
                        }
                    },
                },
            };
            let vpath = p.key("values");
            let values_node = Self::opt(e, "values");
            let mut values = Vec::new();
            if let Some(vn) = values_node {
                for (j, v) in self.seq(vn, &vpath).unwrap_or_default().iter().enumerate() {
                    if let Some(v) = self.label_value(v, &vpath.index(j), "selector value") {
                        values.push(v);
                    }
                }
            }
            match operator {
                Some(Operator::In | Operator::NotIn) if values.is_empty() => {
                    let at = values_node.unwrap_or(e);
                    self.error(
                        at,
                        &vpath,
                        "values must not be empty when operator is In or NotIn",
                        "list at least one value, or use Exists/DoesNotExist",
                    );
                }
                Some(Operator::Exists | Operator::DoesNotExist) if !values.is_empty() => {
                    let at = values_node.unwrap_or(e);
                    self.error(
                        at,
                        &vpath,
                        "values must be empty when operator is Exists or DoesNotExist",
                        "remove `values`, or use In/NotIn",
                    );
                }
                _ => {}
            }
            values.sort();
            values.dedup();
            if let (Some(key), Some(operator)) = (key, operator) {
                sel.match_expressions.push(Requirement {
                    key: key.to_string(),
                    operator,
                    values,
                });
            }
        }
        sel
    }

    fn np_port(&mut self, node: &Node<'_>, path: &Path<'_>) -> Option<PortSpec> {
        let entries = self.map(node, path)?;
        self.check_keys(entries, NP_PORT_KEYS, path);
        let protocol = self.protocol(Self::opt(node, "protocol"), path);
        let port_node = Self::opt(node, "port");
        let port = match port_node {
            Some(p) => Some(self.port_ref(p, &path.key("port"))?),
            None => None,
        };
        let mut end_port = None;
        if let Some(e) = Self::opt(node, "endPort") {
            let epath = path.key("endPort");
            let end = self.integer(e, &epath)?;
            match &port {
                None => {
                    self.error(
                        e,
                        &epath,
                        "endPort may not be specified when port is not",
                        "add a numeric `port` as the start of the range, or remove endPort",
                    );
                    return None;
                }
                Some(PortRef::Name(name)) => {
                    self.error(
                        e,
                        &epath,
                        format!("endPort may not be specified with the named port `{name}`"),
                        "use a numeric `port` for a range, or remove endPort",
                    );
                    return None;
                }
                Some(PortRef::Number(start)) => {
                    let Some(end16) = u16::try_from(end).ok().filter(|&v| v >= 1) else {
                        self.error(
                            e,
                            &epath,
                            format!("port {end} is out of range"),
                            "use a port number between 1 and 65535",
                        );
                        return None;
                    };
                    if end16 < *start {
                        self.error(
                            e,
                            &epath,
                            format!("endPort {end16} is less than port {start}"),
                            "endPort must be greater than or equal to port",
                        );
                        return None;
                    }
                    end_port = Some(end16);
                }
            }
        }
        Some(PortSpec {
            protocol,
            port,
            end_port,
            span: Some(self.span(node)),
        })
    }
}

/// The policy kinds of other projects that change what traffic flows, as
/// `(kind, cluster-wide)`; `None` for everything else.
fn foreign_policy_kind(kind: &str, api: Option<&str>) -> Option<(&'static str, bool)> {
    let group = api?.split('/').next().unwrap_or_default();
    let table: &[(&str, &[&str], &'static str, bool)] = &[
        (
            "CiliumNetworkPolicy",
            &["cilium.io"],
            "CiliumNetworkPolicy",
            false,
        ),
        (
            "CiliumClusterwideNetworkPolicy",
            &["cilium.io"],
            "CiliumClusterwideNetworkPolicy",
            true,
        ),
        (
            "NetworkPolicy",
            &["projectcalico.org", "crd.projectcalico.org"],
            "Calico NetworkPolicy",
            false,
        ),
        (
            "StagedNetworkPolicy",
            &["projectcalico.org", "crd.projectcalico.org"],
            "Calico StagedNetworkPolicy",
            false,
        ),
        (
            "GlobalNetworkPolicy",
            &["projectcalico.org", "crd.projectcalico.org"],
            "Calico GlobalNetworkPolicy",
            true,
        ),
        (
            "StagedGlobalNetworkPolicy",
            &["projectcalico.org", "crd.projectcalico.org"],
            "Calico StagedGlobalNetworkPolicy",
            true,
        ),
        (
            "AdminNetworkPolicy",
            &["policy.networking.k8s.io"],
            "AdminNetworkPolicy",
            true,
        ),
        (
            "BaselineAdminNetworkPolicy",
            &["policy.networking.k8s.io"],
            "BaselineAdminNetworkPolicy",
            true,
        ),
        (
            "ClusterNetworkPolicy",
            &["policy.networking.k8s.io"],
            "ClusterNetworkPolicy",
            true,
        ),
        (
            "AuthorizationPolicy",
            &["security.istio.io"],
            "Istio AuthorizationPolicy",
            false,
        ),
        (
            "NetworkPolicy",
            &["crd.antrea.io"],
            "Antrea NetworkPolicy",
            false,
        ),
        (
            "ClusterNetworkPolicy",
            &["crd.antrea.io"],
            "Antrea ClusterNetworkPolicy",
            true,
        ),
    ];
    table
        .iter()
        .find(|(k, groups, _, _)| *k == kind && groups.contains(&group))
        .map(|(_, _, name, cluster)| (*name, *cluster))
}

/// The labels a foreign policy's pods must have, when its selector says no more than that:
/// Cilium `endpointSelector.matchLabels` (`k8s:`/`any:` prefixes dropped), Istio
/// `selector.matchLabels`, Calico `key == 'value' && …`. `None` when the selector is absent,
/// empty or anything else: the policy may then select every pod of its scope.
fn foreign_selector(spec: &Node<'_>, api: &str) -> Option<Labels> {
    let simple_match_labels = |selector: &Node<'_>| -> Option<Labels> {
        let entries = selector.entries()?;
        if entries
            .iter()
            .any(|(k, _)| k.scalar().is_none_or(|(k, _)| k != "matchLabels"))
        {
            return None;
        }
        let mut out = Labels::new();
        for (k, v) in selector.get("matchLabels")?.entries()? {
            let key = k.scalar()?.0;
            let key = key
                .strip_prefix("k8s:")
                .or_else(|| key.strip_prefix("any:"))
                .unwrap_or(key);
            // Cilium's own labels (namespace, service account) are not pod labels.
            if key.starts_with("io.kubernetes.") || key.starts_with("io.cilium.") {
                return None;
            }
            out.insert(key.to_string(), v.scalar()?.0.to_string());
        }
        (!out.is_empty()).then_some(out)
    };
    if api.starts_with("cilium.io/") {
        return simple_match_labels(spec.get("endpointSelector")?);
    }
    if api.starts_with("security.istio.io/") {
        return simple_match_labels(spec.get("selector")?);
    }
    if api.contains("projectcalico.org/") {
        let text = spec.get("selector")?.scalar()?.0;
        let mut out = Labels::new();
        for term in text.split("&&") {
            let (k, v) = term.split_once("==")?;
            let k = k.trim();
            let v = v.trim();
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .or_else(|| v.strip_prefix('"').and_then(|v| v.strip_suffix('"')))?;
            if k.is_empty() || k.contains(['(', ')', '!', '|', ' ']) {
                return None;
            }
            out.insert(k.to_string(), v.to_string());
        }
        return (!out.is_empty()).then_some(out);
    }
    None
}
