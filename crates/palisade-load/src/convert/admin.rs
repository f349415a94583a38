//! Admin-tier policies: `ClusterNetworkPolicy` (`policy.networking.k8s.io/v1alpha2`),
//! `AdminNetworkPolicy` and `BaselineAdminNetworkPolicy` (v1alpha1), and `Node` (whose IPs
//! `nodes` peers select). Validated as the CRDs' OpenAPI schemas and CEL rules do: required
//! fields, enums, item counts, exactly-one-of, and the cross-field rules.

use super::{Converter, Item, OBJECT_KEYS, Object, Path, SELECTOR_KEYS};
use crate::tree::Node as TreeNode;
use crate::validate;
use palisade_model::{
    AdminAction, AdminKind, AdminPeer, AdminPeerKind, AdminPolicy, AdminPort, AdminPortKind,
    AdminRule, AdminSubject, AdminTier, IpBlock, LabelSelector, Node, PortRange, Protocol,
};

const CNP_SPEC_KEYS: &[&str] = &["egress", "ingress", "priority", "subject", "tier"];
const ANP_SPEC_KEYS: &[&str] = &["egress", "ingress", "priority", "subject"];
const BANP_SPEC_KEYS: &[&str] = &["egress", "ingress", "subject"];
const SUBJECT_KEYS: &[&str] = &["namespaces", "pods"];
const NAMESPACED_POD_KEYS: &[&str] = &["namespaceSelector", "podSelector"];
const CNP_INGRESS_KEYS: &[&str] = &["action", "from", "name", "protocols"];
const CNP_EGRESS_KEYS: &[&str] = &["action", "name", "protocols", "to"];
const ANP_INGRESS_KEYS: &[&str] = &["action", "from", "name", "ports"];
const ANP_EGRESS_KEYS: &[&str] = &["action", "name", "ports", "to"];
const INGRESS_PEER_KEYS: &[&str] = &["namespaces", "pods"];
const EGRESS_PEER_KEYS: &[&str] = &["domainNames", "namespaces", "networks", "nodes", "pods"];
const CNP_PROTOCOL_KEYS: &[&str] = &["destinationNamedPort", "sctp", "tcp", "udp"];
const CNP_PORT_KEYS: &[&str] = &["number", "range"];
const RANGE_KEYS: &[&str] = &["end", "start"];
const ANP_PORT_KEYS: &[&str] = &["namedPort", "portNumber", "portRange"];
const ANP_PORT_NUMBER_KEYS: &[&str] = &["port", "protocol"];
const ANP_PORT_RANGE_KEYS: &[&str] = &["end", "protocol", "start"];
const NODE_STATUS_KEYS: &[&str] = &["address", "type"];

/// The generation (and kind) of an admin policy being converted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Generation {
    V1Alpha2,
    Anp,
    Banp,
}

impl Generation {
    fn kind(self) -> AdminKind {
        match self {
            Generation::V1Alpha2 => AdminKind::ClusterNetworkPolicy,
            Generation::Anp => AdminKind::AdminNetworkPolicy,
            Generation::Banp => AdminKind::BaselineAdminNetworkPolicy,
        }
    }

    /// Maximum rules per direction and peers per rule: 25 in v1alpha2, 100 in v1alpha1.
    fn max_items(self) -> usize {
        match self {
            Generation::V1Alpha2 => 25,
            _ => 100,
        }
    }
}

impl Converter<'_> {
    /// `ClusterNetworkPolicy` v1alpha2.
    pub(super) fn cluster_network_policy(&mut self, node: &TreeNode<'_>) -> Option<Item> {
        self.admin_policy(node, Generation::V1Alpha2)
    }

    /// `AdminNetworkPolicy` v1alpha1.
    pub(super) fn admin_network_policy(&mut self, node: &TreeNode<'_>) -> Option<Item> {
        self.admin_policy(node, Generation::Anp)
    }

    /// `BaselineAdminNetworkPolicy` v1alpha1.
    pub(super) fn baseline_admin_network_policy(&mut self, node: &TreeNode<'_>) -> Option<Item> {
        self.admin_policy(node, Generation::Banp)
    }

    fn admin_policy(&mut self, node: &TreeNode<'_>, generation: Generation) -> Option<Item> {
        if let Some(entries) = node.entries() {
            self.check_keys(entries, OBJECT_KEYS, &Path::ROOT);
        }
        let meta = self.meta(node, &Path::ROOT, true, false);
        let kind = generation.kind();
        if generation == Generation::Banp && meta.name != "default" {
            let at = node
                .get("metadata")
                .and_then(|m| m.get("name"))
                .unwrap_or(node);
            self.error(
                at,
                &Path::ROOT.key("metadata").key("name"),
                format!(
                    "only one BaselineAdminNetworkPolicy with metadata.name=\"default\" can be created, not `{}`",
                    meta.name
                ),
                "name it `default` (the BANP is a cluster singleton)",
            );
        }
        let spath = Path::ROOT.key("spec");
        let Some(spec) = Self::opt(node, "spec") else {
            self.error(
                node,
                &spath,
                "spec is required",
                "add `spec:` with `subject` and rules",
            );
            return None;
        };
        let keys = match generation {
            Generation::V1Alpha2 => CNP_SPEC_KEYS,
            Generation::Anp => ANP_SPEC_KEYS,
            Generation::Banp => BANP_SPEC_KEYS,
        };
        let entries = self.map(spec, &spath)?;
        self.check_keys(entries, keys, &spath);
        let tier = match generation {
            Generation::Anp => AdminTier::Admin,
            Generation::Banp => AdminTier::Baseline,
            Generation::V1Alpha2 => {
                let tpath = spath.key("tier");
                match Self::opt(spec, "tier") {
                    None => {
                        self.error(
                            spec,
                            &tpath,
                            "tier is required",
                            "add `tier: Admin` or `tier: Baseline`",
                        );
                        AdminTier::Admin
                    }
                    Some(t) => match self.string(t, &tpath) {
                        Some("Admin") => AdminTier::Admin,
                        Some("Baseline") => AdminTier::Baseline,
                        Some(other) => {
                            self.error(
                                t,
                                &tpath,
                                format!("unsupported value `{other}`: supported values are \"Admin\", \"Baseline\""),
                                "use `Admin` or `Baseline` (case-sensitive)",
                            );
                            AdminTier::Admin
                        }
                        None => AdminTier::Admin,
                    },
                }
            }
        };
        let priority = if generation == Generation::Banp {
            0
        } else {
            let ppath = spath.key("priority");
            match Self::opt(spec, "priority") {
                None => {
                    self.error(
                        spec,
                        &ppath,
                        "priority is required",
                        "add `priority:` between 0 and 1000 (lower is evaluated first)",
                    );
                    0
                }
                Some(p) => match self.integer(p, &ppath) {
                    Some(v @ 0..=1000) => v as u32,
                    Some(v) => {
                        self.error(
                            p,
                            &ppath,
                            format!("priority {v} is out of range"),
                            "use a priority between 0 and 1000",
                        );
                        0
                    }
                    None => 0,
                },
            }
        };
        let subject = self.admin_subject(spec, &spath);
        let ingress = self.admin_rules(spec, &spath, "ingress", generation, tier);
        let egress = self.admin_rules(spec, &spath, "egress", generation, tier);
        // A missing or invalid subject was reported; the object is not loaded either way.
        let subject = subject.unwrap_or(AdminSubject::Namespaces(LabelSelector::default()));
        let policy = AdminPolicy {
            name: meta.name.clone(),
            kind,
            tier,
            priority,
            subject,
            ingress,
            egress,
            annotations: meta.annotations,
            span: Some(self.span(node)),
        };
        Some(self.item(
            node,
            kind.as_str(),
            meta.name,
            None,
            Object::AdminPolicy(policy),
        ))
    }

    /// A map with exactly one of `keys` set (the CRDs' MinProperties=MaxProperties=1).
    fn exactly_one<'n, 'a>(
        &mut self,
        node: &'n TreeNode<'a>,
        path: &Path<'_>,
        keys: &[&'static str],
        what: &str,
    ) -> Option<(&'static str, &'n TreeNode<'a>)> {
        let entries = self.map(node, path)?;
        self.check_keys(entries, keys, path);
        let set: Vec<(&'static str, &TreeNode<'a>)> = keys
            .iter()
            .filter_map(|&k| Self::opt(node, k).map(|n| (k, n)))
            .collect();
        if set.len() != 1 {
            let list = keys
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let found = if set.is_empty() {
                "none is set".to_string()
            } else {
                format!(
                    "{} are set",
                    set.iter()
                        .map(|(k, _)| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                )
            };
            self.error(
                node,
                path,
                format!("{what} must set exactly one of {list}; {found}"),
                "split it into one entry per field",
            );
            return None;
        }
        Some(set[0])
    }

    fn admin_subject(&mut self, spec: &TreeNode<'_>, spath: &Path<'_>) -> Option<AdminSubject> {
        let path = spath.key("subject");
        let Some(node) = Self::opt(spec, "subject") else {
            self.error(
                spec,
                &path,
                "subject is required",
                "add `subject:` with `namespaces: {}` or `pods: {namespaceSelector, podSelector}`",
            );
            return None;
        };
        let (key, value) = self.exactly_one(node, &path, SUBJECT_KEYS, "a subject")?;
        match key {
            "namespaces" => Some(AdminSubject::Namespaces(
                self.checked_selector(value, &path.key("namespaces")),
            )),
            _ => {
                let (namespace_selector, pod_selector) =
                    self.namespaced_pod(value, &path.key("pods"))?;
                Some(AdminSubject::Pods {
                    namespace_selector,
                    pod_selector,
                })
            }
        }
    }

    fn checked_selector(&mut self, node: &TreeNode<'_>, path: &Path<'_>) -> LabelSelector {
        if let Some(entries) = node.entries() {
            self.check_keys(entries, SELECTOR_KEYS, path);
        }
        self.selector(node, path)
    }

    /// `{namespaceSelector, podSelector}`: `podSelector` is required, `namespaceSelector`
    /// defaults to the empty selector (all namespaces).
    fn namespaced_pod(
        &mut self,
        node: &TreeNode<'_>,
        path: &Path<'_>,
    ) -> Option<(LabelSelector, LabelSelector)> {
        let entries = self.map(node, path)?;
        self.check_keys(entries, NAMESPACED_POD_KEYS, path);
        let namespace_selector = match Self::opt(node, "namespaceSelector") {
            Some(n) => self.selector(n, &path.key("namespaceSelector")),
            None => LabelSelector::default(),
        };
        let Some(p) = Self::opt(node, "podSelector") else {
            self.error(
                node,
                &path.key("podSelector"),
                "podSelector is required",
                "add `podSelector: {}` to select every pod of the namespaces",
            );
            return None;
        };
        let pod_selector = self.selector(p, &path.key("podSelector"));
        Some((namespace_selector, pod_selector))
    }

    fn admin_rules(
        &mut self,
        spec: &TreeNode<'_>,
        spath: &Path<'_>,
        field: &'static str,
        generation: Generation,
        tier: AdminTier,
    ) -> Vec<AdminRule> {
        let Some(list) = Self::opt(spec, field) else {
            return Vec::new();
        };
        let path = spath.key(field);
        let items = self.seq(list, &path).unwrap_or_default();
        let max = generation.max_items();
        if items.len() > max {
            self.error(
                list,
                &path,
                format!("too many rules: {} (at most {max})", items.len()),
                "split the policy into several policies",
            );
        }
        let egress = field == "egress";
        let (keys, peers_field) = match (generation, egress) {
            (Generation::V1Alpha2, false) => (CNP_INGRESS_KEYS, "from"),
            (Generation::V1Alpha2, true) => (CNP_EGRESS_KEYS, "to"),
            (_, false) => (ANP_INGRESS_KEYS, "from"),
            (_, true) => (ANP_EGRESS_KEYS, "to"),
        };
        let mut rules = Vec::new();
        for (i, r) in items.iter().enumerate() {
            let rpath = path.index(i);
            let Some(entries) = self.map(r, &rpath) else {
                continue;
            };
            self.check_keys(entries, keys, &rpath);
            let name = match Self::opt(r, "name") {
                Some(n) => {
                    let npath = rpath.key("name");
                    let name = self.string(n, &npath).unwrap_or_default().to_string();
                    if name.chars().count() > 100 {
                        self.error(
                            n,
                            &npath,
                            format!(
                                "name is {} characters long (at most 100)",
                                name.chars().count()
                            ),
                            "shorten the rule name",
                        );
                    }
                    name
                }
                None => String::new(),
            };
            let action = self.admin_action(r, &rpath, generation, tier);
            let peers = self.admin_peers(r, &rpath, peers_field, egress, generation);
            let ports = match generation {
                Generation::V1Alpha2 => self.cnp_protocols(r, &rpath),
                _ => self.anp_ports(r, &rpath),
            };
            let (Some(action), Some(peers)) = (action, peers) else {
                continue;
            };
            // CEL: named ports cannot be combined with peers that have none.
            let named = ports
                .as_ref()
                .is_some_and(|ps| ps.iter().any(|p| matches!(p.kind, AdminPortKind::Named(_))));
            let portless_peer = peers.iter().any(|p| {
                matches!(
                    p.kind,
                    AdminPeerKind::Networks(_)
                        | AdminPeerKind::Nodes(_)
                        | AdminPeerKind::DomainNames(_)
                )
            });
            if named && portless_peer {
                self.error(
                    r,
                    &rpath,
                    "networks/nodes/domainNames peer cannot be set with namedPorts since there are \
                     no namedPorts for networks/nodes/domainNames",
                    "use port numbers, or move the named port to a rule with pod/namespace peers",
                );
                continue;
            }
            let domains = peers
                .iter()
                .any(|p| matches!(p.kind, AdminPeerKind::DomainNames(_)));
            if domains && action != AdminAction::Accept {
                self.error(
                    r,
                    &rpath,
                    format!(
                        "domainNames peers are only supported for Accept rules, not {}",
                        action.as_str()
                    ),
                    "use `action: Accept` with domainNames, and a lower-precedence Deny for the rest",
                );
                // Lint reports this one under its own rule rather than as any invalid object.
                if let Some(d) = self.diags.last_mut() {
                    d.code = Some(crate::DOMAIN_NAMES_WITHOUT_ACCEPT);
                }
                continue;
            }
            rules.push(AdminRule {
                name,
                action,
                peers,
                ports,
                span: Some(self.span(r)),
            });
        }
        rules
    }

    fn admin_action(
        &mut self,
        rule: &TreeNode<'_>,
        rpath: &Path<'_>,
        generation: Generation,
        tier: AdminTier,
    ) -> Option<AdminAction> {
        let apath = rpath.key("action");
        let allowed: &[&str] = match generation {
            Generation::V1Alpha2 => &["Accept", "Deny", "Pass"],
            Generation::Anp => &["Allow", "Deny", "Pass"],
            Generation::Banp => &["Allow", "Deny"],
        };
        let Some(a) = Self::opt(rule, "action") else {
            self.error(
                rule,
                &apath,
                "action is required",
                &format!("add `action:` ({})", allowed.join(", ")),
            );
            return None;
        };
        let text = self.string(a, &apath)?;
        if !allowed.contains(&text) {
            let hint = match (generation, text) {
                (Generation::V1Alpha2, "Allow") => {
                    "ClusterNetworkPolicy v1alpha2 spells it `Accept` (v1alpha1 said `Allow`)"
                        .to_string()
                }
                (Generation::Anp | Generation::Banp, "Accept") => {
                    "v1alpha1 spells it `Allow` (ClusterNetworkPolicy v1alpha2 says `Accept`)"
                        .to_string()
                }
                _ => format!("use one of {}", allowed.join(", ")),
            };
            let supported = allowed
                .iter()
                .map(|a| format!("\"{a}\""))
                .collect::<Vec<_>>()
                .join(", ");
            self.error(
                a,
                &apath,
                format!("unsupported value `{text}`: supported values are {supported}"),
                &hint,
            );
            return None;
        }
        let _ = tier;
        Some(match text {
            "Accept" | "Allow" => AdminAction::Accept,
            "Deny" => AdminAction::Deny,
            _ => AdminAction::Pass,
        })
    }

    fn admin_peers(
        &mut self,
        rule: &TreeNode<'_>,
        rpath: &Path<'_>,
        field: &'static str,
        egress: bool,
        generation: Generation,
    ) -> Option<Vec<AdminPeer>> {
        let path = rpath.key(field);
        let Some(list) = Self::opt(rule, field) else {
            self.error(
                rule,
                &path,
                format!("{field} is required and must contain at least one peer"),
                &format!("add `{field}:` with at least one peer"),
            );
            return None;
        };
        let items = self.seq(list, &path)?;
        let max = generation.max_items();
        if items.is_empty() || items.len() > max {
            self.error(
                list,
                &path,
                format!("{field} has {} peers (1 to {max} allowed)", items.len()),
                "list between one and the maximum number of peers",
            );
            return None;
        }
        let keys = if egress {
            EGRESS_PEER_KEYS
        } else {
            INGRESS_PEER_KEYS
        };
        let mut peers = Vec::new();
        let mut ok = true;
        for (j, p) in items.iter().enumerate() {
            let ppath = path.index(j);
            let Some((key, value)) = self.exactly_one(p, &ppath, keys, "a peer") else {
                ok = false;
                continue;
            };
            let vpath = ppath.key(key);
            let kind = match key {
                "namespaces" => AdminPeerKind::Namespaces(self.checked_selector(value, &vpath)),
                "pods" => match self.namespaced_pod(value, &vpath) {
                    Some((namespace_selector, pod_selector)) => AdminPeerKind::Pods {
                        namespace_selector,
                        pod_selector,
                    },
                    None => {
                        ok = false;
                        continue;
                    }
                },
                "nodes" => AdminPeerKind::Nodes(self.checked_selector(value, &vpath)),
                "networks" => match self.networks(value, &vpath) {
                    Some(blocks) => AdminPeerKind::Networks(blocks),
                    None => {
                        ok = false;
                        continue;
                    }
                },
                _ => match self.domain_names(value, &vpath) {
                    Some(names) => AdminPeerKind::DomainNames(names),
                    None => {
                        ok = false;
                        continue;
                    }
                },
            };
            peers.push(AdminPeer {
                kind,
                span: Some(self.span(p)),
            });
        }
        ok.then_some(peers)
    }

    /// A list of 1 to 25 strings, each checked by `valid`.
    fn short_list(
        &mut self,
        node: &TreeNode<'_>,
        path: &Path<'_>,
        what: &str,
        mut valid: impl FnMut(&mut Self, &TreeNode<'_>, &Path<'_>, &str) -> bool,
    ) -> Option<Vec<String>> {
        let items = self.seq(node, path)?;
        if items.is_empty() || items.len() > 25 {
            self.error(
                node,
                path,
                format!("{what} has {} entries (1 to 25 allowed)", items.len()),
                "list between one and 25 entries",
            );
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let ipath = path.index(i);
            let Some(text) = self.string(item, &ipath) else {
                ok = false;
                continue;
            };
            if !valid(self, item, &ipath, text) {
                ok = false;
                continue;
            }
            if out.iter().any(|o: &String| o == text) {
                self.error(
                    item,
                    &ipath,
                    format!("duplicate value `{text}`"),
                    "the list is a set: remove the repeated entry",
                );
                ok = false;
                continue;
            }
            out.push(text.to_string());
        }
        ok.then_some(out)
    }

    fn networks(&mut self, node: &TreeNode<'_>, path: &Path<'_>) -> Option<Vec<IpBlock>> {
        let texts = self.short_list(node, path, "networks", |this, item, ipath, text| {
            if text.len() > 43 || validate::parse_cidr(text).is_none() {
                this.error(
                    item,
                    ipath,
                    format!("`{text}`: Invalid CIDR format provided"),
                    "write an address and a prefix length, e.g. `10.0.0.0/8` or `fd00::/8`",
                );
                return false;
            }
            true
        })?;
        Some(
            texts
                .into_iter()
                .map(|text| IpBlock {
                    cidr: validate::parse_cidr(&text).expect("checked above"),
                    cidr_text: text,
                    except: Vec::new(),
                    except_text: Vec::new(),
                })
                .collect(),
        )
    }

    fn domain_names(&mut self, node: &TreeNode<'_>, path: &Path<'_>) -> Option<Vec<String>> {
        self.short_list(node, path, "domainNames", |this, item, ipath, text| {
            if !valid_domain_name(text) {
                this.error(
                    item,
                    ipath,
                    format!("`{text}` is not a valid domain name"),
                    "write a name such as `example.com` or `*.example.com` ('*' only as the \
                     whole first label)",
                );
                return false;
            }
            true
        })
    }

    fn bounded_port(&mut self, node: &TreeNode<'_>, path: &Path<'_>) -> Option<u16> {
        self.port_number(node, path)
    }

    fn required<'n, 'a>(
        &mut self,
        node: &'n TreeNode<'a>,
        path: &Path<'_>,
        key: &str,
        help: &str,
    ) -> Option<&'n TreeNode<'a>> {
        let found = Self::opt(node, key);
        if found.is_none() {
            self.error(node, &path.key(key), format!("{key} is required"), help);
        }
        found
    }

    /// A `{start, end}` range with `start < end` (the CRDs' CEL rule).
    fn port_range(&mut self, node: &TreeNode<'_>, path: &Path<'_>) -> Option<PortRange> {
        let start = self.required(node, path, "start", "add `start:` (1-65535)");
        let end = self.required(node, path, "end", "add `end:` (1-65535)");
        let (start, end) = (start?, end?);
        let lo = self.bounded_port(start, &path.key("start"));
        let hi = self.bounded_port(end, &path.key("end"));
        let (lo, hi) = (lo?, hi?);
        if lo >= hi {
            self.error(
                node,
                path,
                format!("Start port must be less than End port ({lo} >= {hi})"),
                "make `start` smaller than `end`, or use a single port number",
            );
            return None;
        }
        Some(PortRange { lo, hi })
    }

    fn cnp_protocols(&mut self, rule: &TreeNode<'_>, rpath: &Path<'_>) -> Option<Vec<AdminPort>> {
        let list = Self::opt(rule, "protocols")?;
        let path = rpath.key("protocols");
        let items = self.seq(list, &path).unwrap_or_default();
        if items.is_empty() || items.len() > 25 {
            self.error(
                list,
                &path,
                format!("protocols has {} entries (1 to 25 allowed)", items.len()),
                "omit `protocols` to match every protocol and port, or list 1 to 25 entries",
            );
            return Some(Vec::new());
        }
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ipath = path.index(i);
            let Some((key, value)) =
                self.exactly_one(item, &ipath, CNP_PROTOCOL_KEYS, "a protocols entry")
            else {
                continue;
            };
            let vpath = ipath.key(key);
            let kind = match key {
                "destinationNamedPort" => match self.string(value, &vpath) {
                    Some(name) if !name.is_empty() => AdminPortKind::Named(name.to_string()),
                    Some(_) => {
                        self.error(value, &vpath, "must not be empty", "name a container port");
                        continue;
                    }
                    None => continue,
                },
                proto => {
                    let protocol = match proto {
                        "tcp" => Protocol::Tcp,
                        "udp" => Protocol::Udp,
                        _ => Protocol::Sctp,
                    };
                    let Some(entries) = self.map(value, &vpath) else {
                        continue;
                    };
                    self.check_keys(entries, &["destinationPort"], &vpath);
                    let Some(dp) = Self::opt(value, "destinationPort") else {
                        self.error(
                            value,
                            &vpath,
                            "must have at least 1 property",
                            "add `destinationPort:` with `number` or `range`",
                        );
                        continue;
                    };
                    let dpath = vpath.key("destinationPort");
                    let Some((pk, pv)) =
                        self.exactly_one(dp, &dpath, CNP_PORT_KEYS, "a destinationPort")
                    else {
                        continue;
                    };
                    let range = if pk == "number" {
                        self.bounded_port(pv, &dpath.key("number"))
                            .map(PortRange::single)
                    } else {
                        match self.map(pv, &dpath.key("range")) {
                            Some(entries) => {
                                self.check_keys(entries, RANGE_KEYS, &dpath.key("range"));
                                self.port_range(pv, &dpath.key("range"))
                            }
                            None => None,
                        }
                    };
                    let Some(range) = range else {
                        continue;
                    };
                    AdminPortKind::Range(protocol, range)
                }
            };
            out.push(AdminPort {
                kind,
                span: Some(self.span(item)),
            });
        }
        Some(out)
    }

    fn anp_ports(&mut self, rule: &TreeNode<'_>, rpath: &Path<'_>) -> Option<Vec<AdminPort>> {
        let list = Self::opt(rule, "ports")?;
        let path = rpath.key("ports");
        let items = self.seq(list, &path).unwrap_or_default();
        if items.is_empty() || items.len() > 100 {
            self.error(
                list,
                &path,
                format!("ports has {} entries (1 to 100 allowed)", items.len()),
                "omit `ports` to match every protocol and port, or list 1 to 100 entries",
            );
            return Some(Vec::new());
        }
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ipath = path.index(i);
            let Some((key, value)) = self.exactly_one(item, &ipath, ANP_PORT_KEYS, "a ports entry")
            else {
                continue;
            };
            let vpath = ipath.key(key);
            let kind = match key {
                "namedPort" => match self.string(value, &vpath) {
                    Some(name) if !name.is_empty() => AdminPortKind::Named(name.to_string()),
                    Some(_) => {
                        self.error(value, &vpath, "must not be empty", "name a container port");
                        continue;
                    }
                    None => continue,
                },
                "portNumber" => {
                    let Some(entries) = self.map(value, &vpath) else {
                        continue;
                    };
                    self.check_keys(entries, ANP_PORT_NUMBER_KEYS, &vpath);
                    let protocol = self.protocol(Self::opt(value, "protocol"), &vpath);
                    let Some(p) = self.required(value, &vpath, "port", "add `port:` (1-65535)")
                    else {
                        continue;
                    };
                    let Some(port) = self.bounded_port(p, &vpath.key("port")) else {
                        continue;
                    };
                    AdminPortKind::Range(protocol, PortRange::single(port))
                }
                _ => {
                    let Some(entries) = self.map(value, &vpath) else {
                        continue;
                    };
                    self.check_keys(entries, ANP_PORT_RANGE_KEYS, &vpath);
                    let protocol = self.protocol(Self::opt(value, "protocol"), &vpath);
                    let Some(range) = self.port_range(value, &vpath) else {
                        continue;
                    };
                    AdminPortKind::Range(protocol, range)
                }
            };
            out.push(AdminPort {
                kind,
                span: Some(self.span(item)),
            });
        }
        Some(out)
    }

    /// `Node` (v1): labels and the IP addresses of `status.addresses`.
    pub(super) fn node(&mut self, node: &TreeNode<'_>) -> Option<Item> {
        let meta = self.meta(node, &Path::ROOT, true, false);
        let mut ips = Vec::new();
        let status = Path::ROOT.key("status");
        let apath = status.key("addresses");
        if let Some(addresses) = Self::opt(node, "status").and_then(|s| Self::opt(s, "addresses")) {
            for (i, a) in self
                .seq(addresses, &apath)
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let p = apath.index(i);
                let Some(entries) = self.map(a, &p) else {
                    continue;
                };
                self.check_keys(entries, NODE_STATUS_KEYS, &p);
                let kind = Self::opt(a, "type")
                    .and_then(|t| t.scalar())
                    .map(|(t, _)| t);
                if !matches!(kind, Some("InternalIP" | "ExternalIP")) {
                    continue;
                }
                if let Some(text) =
                    Self::opt(a, "address").and_then(|t| self.string(t, &p.key("address")))
                {
                    match text.parse() {
                        Ok(ip) => ips.push(ip),
                        Err(_) => self.error(
                            a,
                            &p.key("address"),
                            format!("`{text}` is not an IP address"),
                            "InternalIP and ExternalIP addresses are IPv4 or IPv6 addresses",
                        ),
                    }
                }
            }
        }
        let object = Object::Node(Node {
            name: meta.name.clone(),
            labels: meta.labels,
            ips,
            span: Some(self.span(node)),
        });
        Some(self.item(node, "Node", meta.name, None, object))
    }
}

/// The CRD's DomainName pattern: `(\*\.)?(label\.)+label\.?`, labels of `[a-zA-Z0-9_-]`
/// starting and ending alphanumeric.
fn valid_domain_name(text: &str) -> bool {
    let rest = text.strip_prefix("*.").unwrap_or(text);
    let rest = rest.strip_suffix('.').unwrap_or(rest);
    let labels: Vec<&str> = rest.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::valid_domain_name;

    #[test]
    fn domain_names_follow_the_crd_pattern() {
        for ok in [
            "kubernetes.io",
            "*.kubernetes.io",
            "a.b.c.",
            "x_y.example.com",
        ] {
            assert!(valid_domain_name(ok), "{ok}");
        }
        for bad in [
            "localhost",
            "*kubernetes.io",
            "a.*.io",
            "-a.io",
            "a-.io",
            "a..io",
            "",
        ] {
            assert!(!valid_domain_name(bad), "{bad}");
        }
    }
}
