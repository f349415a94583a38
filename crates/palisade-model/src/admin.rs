//! Cluster-scoped admin policies: `ClusterNetworkPolicy` (`policy.networking.k8s.io/v1alpha2`)
//! and the older `AdminNetworkPolicy` / `BaselineAdminNetworkPolicy` (v1alpha1), loaded into
//! one shape. v1alpha1's `Allow` is stored as [`AdminAction::Accept`]; an ANP lives in the
//! admin tier, the BANP in the baseline tier.

use crate::{IpBlock, LabelSelector, Labels, PortRange, Protocol, Span};

/// Which tier an admin policy belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AdminTier {
    /// Evaluated before NetworkPolicy; cannot be overridden by namespace owners.
    Admin,
    /// Evaluated after NetworkPolicy, only for pods no NetworkPolicy isolates.
    Baseline,
}

impl AdminTier {
    /// `Admin` or `Baseline`, as the CRD writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminTier::Admin => "Admin",
            AdminTier::Baseline => "Baseline",
        }
    }
}

/// What a rule does with the traffic it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AdminAction {
    /// Accept (v1alpha1: `Allow`): decides, no later rule or tier is consulted.
    Accept,
    /// Deny: decides, no later rule or tier is consulted.
    Deny,
    /// Pass: skip the rest of the tier, continue with the next tier.
    Pass,
}

impl AdminAction {
    /// The v1alpha2 spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminAction::Accept => "Accept",
            AdminAction::Deny => "Deny",
            AdminAction::Pass => "Pass",
        }
    }
}

/// The API kind a policy was written as (for names in explanations and findings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AdminKind {
    /// `policy.networking.k8s.io/v1alpha2` ClusterNetworkPolicy.
    ClusterNetworkPolicy,
    /// `policy.networking.k8s.io/v1alpha1` AdminNetworkPolicy.
    AdminNetworkPolicy,
    /// `policy.networking.k8s.io/v1alpha1` BaselineAdminNetworkPolicy.
    BaselineAdminNetworkPolicy,
}

impl AdminKind {
    /// The Kubernetes kind.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminKind::ClusterNetworkPolicy => "ClusterNetworkPolicy",
            AdminKind::AdminNetworkPolicy => "AdminNetworkPolicy",
            AdminKind::BaselineAdminNetworkPolicy => "BaselineAdminNetworkPolicy",
        }
    }

    /// The short resource name (`cnp`, `anp`, `banp`), used as `cnp/<name>`.
    pub fn short(self) -> &'static str {
        match self {
            AdminKind::ClusterNetworkPolicy => "cnp",
            AdminKind::AdminNetworkPolicy => "anp",
            AdminKind::BaselineAdminNetworkPolicy => "banp",
        }
    }
}

/// `spec.subject`: exactly one of `namespaces` or `pods`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminSubject {
    /// Every pod of the namespaces the selector matches.
    Namespaces(LabelSelector),
    /// Pods matching `podSelector` in namespaces matching `namespaceSelector`.
    Pods {
        /// `namespaceSelector` (empty: all namespaces).
        namespace_selector: LabelSelector,
        /// `podSelector` (empty: all pods).
        pod_selector: LabelSelector,
    },
}

/// One `from`/`to` entry of an admin rule (exactly one field set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminPeerKind {
    /// Every pod of the matching namespaces.
    Namespaces(LabelSelector),
    /// Pods matching `podSelector` in namespaces matching `namespaceSelector`.
    Pods {
        /// `namespaceSelector`.
        namespace_selector: LabelSelector,
        /// `podSelector`.
        pod_selector: LabelSelector,
    },
    /// `networks` (egress only): CIDRs, matching pods through their IPs as well.
    Networks(Vec<IpBlock>),
    /// `nodes` (egress only): the IPs of the matching `Node` objects.
    Nodes(LabelSelector),
    /// `domainNames` (egress only, Accept only): cannot be decided from manifests.
    DomainNames(Vec<String>),
}

/// One peer entry with its span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminPeer {
    /// What it selects.
    pub kind: AdminPeerKind,
    /// The entry.
    pub span: Option<Span>,
}

/// What one `protocols` (v1alpha2) or `ports` (v1alpha1) entry admits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminPortKind {
    /// A protocol and a destination port range (every port when the entry names none).
    Range(Protocol, PortRange),
    /// A named container port of the destination pod (any protocol whose container port has
    /// that name).
    Named(String),
}

/// One port entry with its span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminPort {
    /// What it admits.
    pub kind: AdminPortKind,
    /// The entry.
    pub span: Option<Span>,
}

/// One ingress or egress rule of an admin policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminRule {
    /// `name` (may be empty).
    pub name: String,
    /// `action`.
    pub action: AdminAction,
    /// `from`/`to`: at least one entry (the CRD requires it).
    pub peers: Vec<AdminPeer>,
    /// `protocols`/`ports`; `None` when absent (every protocol and port).
    pub ports: Option<Vec<AdminPort>>,
    /// The rule.
    pub span: Option<Span>,
}

/// A cluster-scoped admin policy, either generation.
#[derive(Clone, Debug)]
pub struct AdminPolicy {
    /// `metadata.name`.
    pub name: String,
    /// The kind it was written as.
    pub kind: AdminKind,
    /// The tier.
    pub tier: AdminTier,
    /// `priority` (0–1000, lower first); the BANP has none and gets 0.
    pub priority: u32,
    /// `spec.subject`.
    pub subject: AdminSubject,
    /// `spec.ingress`, in order.
    pub ingress: Vec<AdminRule>,
    /// `spec.egress`, in order.
    pub egress: Vec<AdminRule>,
    /// Annotations.
    pub annotations: Labels,
    /// The whole object.
    pub span: Option<Span>,
}

impl AdminPolicy {
    /// `cnp/<name>`, `anp/<name>` or `banp/<name>`.
    pub fn display_name(&self) -> String {
        format!("{}/{}", self.kind.short(), self.name)
    }

    /// The rules of a direction.
    pub fn rules(&self, direction: crate::Direction) -> &[AdminRule] {
        match direction {
            crate::Direction::Ingress => &self.ingress,
            crate::Direction::Egress => &self.egress,
        }
    }
}

/// A `Node`: only its labels and addresses matter (for `nodes` peers).
#[derive(Clone, Debug)]
pub struct Node {
    /// `metadata.name`.
    pub name: String,
    /// Labels.
    pub labels: Labels,
    /// `status.addresses` that are IPs (InternalIP, ExternalIP).
    pub ips: Vec<std::net::IpAddr>,
    /// The declaring object.
    pub span: Option<Span>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Direction;

    #[test]
    fn tier_action_and_kind_names() {
        assert_eq!(AdminTier::Admin.as_str(), "Admin");
        assert_eq!(AdminTier::Baseline.as_str(), "Baseline");
        assert_eq!(AdminAction::Accept.as_str(), "Accept");
        assert_eq!(AdminAction::Deny.as_str(), "Deny");
        assert_eq!(AdminAction::Pass.as_str(), "Pass");
        for (kind, name, short) in [
            (
                AdminKind::ClusterNetworkPolicy,
                "ClusterNetworkPolicy",
                "cnp",
            ),
            (AdminKind::AdminNetworkPolicy, "AdminNetworkPolicy", "anp"),
            (
                AdminKind::BaselineAdminNetworkPolicy,
                "BaselineAdminNetworkPolicy",
                "banp",
            ),
        ] {
            assert_eq!(kind.as_str(), name);
            assert_eq!(kind.short(), short);
        }
    }

    #[test]
    fn a_policy_is_named_by_its_short_kind_and_keeps_its_rules_per_direction() {
        let rule = |name: &str, action| AdminRule {
            name: name.into(),
            action,
            peers: vec![],
            ports: None,
            span: None,
        };
        let policy = AdminPolicy {
            name: "guard".into(),
            kind: AdminKind::BaselineAdminNetworkPolicy,
            tier: AdminTier::Baseline,
            priority: 0,
            subject: AdminSubject::Namespaces(LabelSelector::default()),
            ingress: vec![rule("in", AdminAction::Deny)],
            egress: vec![
                rule("out-1", AdminAction::Accept),
                rule("out-2", AdminAction::Deny),
            ],
            annotations: Labels::new(),
            span: None,
        };
        assert_eq!(policy.display_name(), "banp/guard");
        let names = |d| -> Vec<&str> { policy.rules(d).iter().map(|r| r.name.as_str()).collect() };
        assert_eq!(names(Direction::Ingress), ["in"]);
        assert_eq!(names(Direction::Egress), ["out-1", "out-2"]);
    }
}
