//! Admin-tier policies: both generations load into one model, and every CRD schema/CEL rule
//! the API server would enforce is reported with its position.

mod common;

use common::{load_data, load_text, render_diags};
use palisade_model::{
    AdminAction, AdminKind, AdminPeerKind, AdminPortKind, AdminSubject, AdminTier, PortRange,
    Protocol,
};

#[test]
fn invalid_admin_policies_are_rejected_one_by_one() {
    let loaded = load_data(&["admin_invalid.yaml"]);
    insta::assert_snapshot!(render_diags(&loaded));
    // Only the valid policy is loaded.
    let names: Vec<&str> = loaded
        .model
        .admin_policies
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["fine"]);
}

#[test]
fn both_generations_load_into_one_model() {
    let loaded = load_text(
        "admin.yaml",
        r#"
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: guard}
spec:
  tier: Admin
  priority: 10
  subject: {pods: {podSelector: {matchLabels: {app: web}}}}
  egress:
  - name: metadata
    action: Deny
    to: [{networks: ["169.254.169.254/32"]}]
  - action: Accept
    to: [{nodes: {}}, {domainNames: ["*.example.com"]}]
    protocols: [{udp: {destinationPort: {number: 53}}}, {sctp: {destinationPort: {range: {start: 9000, end: 9005}}}}]
  ingress:
  - action: Accept
    from: [{namespaces: {matchLabels: {team: ops}}}]
    protocols: [{destinationNamedPort: metrics}]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: old}
spec:
  priority: 3
  subject: {namespaces: {}}
  ingress:
  - action: Allow
    from: [{pods: {namespaceSelector: {}, podSelector: {}}}]
    ports: [{portRange: {protocol: UDP, start: 1000, end: 2000}}, {portNumber: {port: 80}}, {namedPort: http}]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress:
  - action: Deny
    from: [{namespaces: {}}]
---
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {zone: a}}
status:
  addresses: [{type: InternalIP, address: 10.0.0.1}, {type: Hostname, address: n1}]
"#,
    );
    assert!(!loaded.has_errors(), "{}", render_diags(&loaded));
    let model = &loaded.model;
    assert_eq!(model.admin_policies.len(), 3);
    let cnp = &model.admin_policies[0];
    assert_eq!(
        (cnp.kind, cnp.tier, cnp.priority),
        (AdminKind::ClusterNetworkPolicy, AdminTier::Admin, 10)
    );
    assert!(
        matches!(&cnp.subject, AdminSubject::Pods { namespace_selector, .. } if namespace_selector.is_empty())
    );
    assert_eq!(cnp.egress[0].name, "metadata");
    assert_eq!(cnp.egress[0].action, AdminAction::Deny);
    assert!(
        matches!(&cnp.egress[0].peers[0].kind, AdminPeerKind::Networks(b) if b[0].cidr_text == "169.254.169.254/32")
    );
    assert_eq!(cnp.egress[1].action, AdminAction::Accept);
    let ports: Vec<&AdminPortKind> = cnp.egress[1]
        .ports
        .as_ref()
        .unwrap()
        .iter()
        .map(|p| &p.kind)
        .collect();
    assert_eq!(
        ports,
        [
            &AdminPortKind::Range(Protocol::Udp, PortRange::single(53)),
            &AdminPortKind::Range(Protocol::Sctp, PortRange { lo: 9000, hi: 9005 })
        ]
    );
    assert!(cnp.egress[0].ports.is_none());
    assert_eq!(
        cnp.ingress[0].ports.as_ref().unwrap()[0].kind,
        AdminPortKind::Named("metrics".into())
    );
    let anp = &model.admin_policies[1];
    assert_eq!(
        (anp.kind, anp.tier, anp.priority),
        (AdminKind::AdminNetworkPolicy, AdminTier::Admin, 3)
    );
    assert_eq!(anp.ingress[0].action, AdminAction::Accept);
    let ports: Vec<&AdminPortKind> = anp.ingress[0]
        .ports
        .as_ref()
        .unwrap()
        .iter()
        .map(|p| &p.kind)
        .collect();
    assert_eq!(
        ports,
        [
            &AdminPortKind::Range(Protocol::Udp, PortRange { lo: 1000, hi: 2000 }),
            &AdminPortKind::Range(Protocol::Tcp, PortRange::single(80)),
            &AdminPortKind::Named("http".into()),
        ]
    );
    let banp = &model.admin_policies[2];
    assert_eq!(
        (banp.kind, banp.tier),
        (AdminKind::BaselineAdminNetworkPolicy, AdminTier::Baseline)
    );
    assert_eq!(model.nodes.len(), 1);
    assert_eq!(
        model.nodes[0].ips,
        ["10.0.0.1".parse::<std::net::IpAddr>().unwrap()]
    );
    // Cluster-scoped objects create no namespace.
    assert!(model.namespace_id("default").is_none());
}

#[test]
fn other_versions_of_the_admin_kinds_stay_unevaluated() {
    let loaded = load_text(
        "old.yaml",
        "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: ClusterNetworkPolicy\nmetadata: {name: x}\nspec: {}\n",
    );
    assert!(!loaded.has_errors());
    assert!(loaded.model.admin_policies.is_empty());
    assert_eq!(loaded.model.unevaluated.len(), 1);
    assert_eq!(loaded.model.unevaluated[0].kind, "ClusterNetworkPolicy");
}
