//! The benchmark cluster, shared by the bench and the `bench_cluster` example.

use std::fmt::Write;

// The flow generator's own tables, so every generated address maps to a pod here.
use palisade_synth::traffic::{APPS, NAMESPACES};

/// Pods for 10.0.n.m (n < 8, every m), grouped by the generator's namespace of the address,
/// and per-namespace policies.
pub fn yaml() -> String {
    let mut s = String::new();
    for ns in NAMESPACES {
        let _ = write!(
            s,
            "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"
        );
    }
    for node in 0..8u32 {
        for last in 0..256u32 {
            let k = (last.saturating_sub(10) / 24).min(7) as usize;
            let (ns, app) = (NAMESPACES[k], APPS[k]);
            let _ = write!(
                s,
                "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {app}-{node}-{last}, namespace: {ns}, labels: {{app: {app}, tier: t{}}}}}\nspec: {{containers: [{{name: c, image: x, ports: [{{name: http, containerPort: 8080}}]}}]}}\nstatus: {{podIP: 10.0.{node}.{last}}}\n",
                last % 4
            );
        }
    }
    for (i, ns) in NAMESPACES.iter().enumerate() {
        let _ = write!(
            s,
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: default-deny, namespace: {ns}}}\nspec: {{podSelector: {{}}, policyTypes: [Ingress]}}\n"
        );
        let _ = write!(
            s,
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: web, namespace: {ns}}}\nspec:\n  podSelector: {{}}\n  ingress:\n  - ports: [{{port: 80}}, {{port: 443}}, {{port: http}}]\n  - from: [{{podSelector: {{}}}}]\n"
        );
        if i % 2 == 0 {
            let _ = write!(
                s,
                "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: data, namespace: {ns}}}\nspec:\n  podSelector: {{matchExpressions: [{{key: tier, operator: In, values: [t0, t1]}}]}}\n  ingress:\n  - from: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {}}}}}}}]\n    ports: [{{port: 5432}}, {{port: 6379}}, {{port: 53, protocol: UDP}}]\n",
                NAMESPACES[(i + 1) % 8]
            );
        }
    }
    s
}
