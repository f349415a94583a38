//! Cluster guardrails for generated clusters: ClusterNetworkPolicies (v1alpha2) in both
//! tiers, selecting namespaces by the generator's team labels.

use crate::plan::TEAMS;
use std::fmt::Write;

/// `count` ClusterNetworkPolicies as multi-document YAML: every fifth in the Baseline tier,
/// the rest Admin, distinct priorities; each selects one team's namespaces and carries the
/// usual guardrails (deny the metadata service, deny dev namespaces, pass the team's own
/// traffic to its NetworkPolicies, accept Prometheus scrapes and DNS).
pub fn cluster_network_policies(count: usize) -> String {
    let mut out = String::new();
    for i in 0..count {
        let team = TEAMS[i % TEAMS.len()];
        let tier = if i % 5 == 4 { "Baseline" } else { "Admin" };
        let priority = (i * 7) % 1001;
        let _ = write!(
            out,
            "---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: guardrail-{i}
spec:
  tier: {tier}
  priority: {priority}
  subject:
    namespaces:
      matchLabels:
        team: {team}
  ingress:
  - name: prometheus
    action: Accept
    from:
    - pods:
        namespaceSelector:
          matchLabels:
            kubernetes.io/metadata.name: monitoring
        podSelector: {{}}
    protocols:
    - tcp:
        destinationPort:
          range:
            start: 9090
            end: 9102
  - name: deny-dev
    action: Deny
    from:
    - namespaces:
        matchLabels:
          env: dev
  - name: own-team
    action: Pass
    from:
    - namespaces:
        matchLabels:
          team: {team}
  egress:
  - name: metadata
    action: Deny
    to:
    - networks:
      - 169.254.169.254/32
  - name: dns
    action: Accept
    to:
    - namespaces:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
    protocols:
    - udp:
        destinationPort:
          number: 53
"
        );
    }
    out
}
