//! Generated clusters in the shape `kubectl get -A` dumps have (owner references, status,
//! resources, two IP families), shared by the scale test and the load benchmark.

use std::fmt::Write;

/// How many objects of each kind a generated cluster has.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    /// Namespaces.
    pub namespaces: usize,
    /// Pods, spread over the namespaces.
    pub pods: usize,
    /// NetworkPolicies, spread over the namespaces.
    pub policies: usize,
}

/// The size of the `large` scenario: 10,000 namespaces, 150,000 pods, 20,000 policies.
#[allow(dead_code)]
pub const LARGE: Size = Size {
    namespaces: 10_000,
    pods: 150_000,
    policies: 20_000,
};

/// The cluster as multi-document YAML, as `kubectl get -o yaml` writes objects.
pub fn yaml_cluster(size: Size) -> String {
    let mut s = String::with_capacity(size.pods * 1400);
    for n in 0..size.namespaces {
        write!(
            s,
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-{n}\n  labels:\n    team: t{t}\n    env: prod\n",
            t = n % 100
        )
        .unwrap();
    }
    for i in 0..size.pods {
        let (ns, app) = (i % size.namespaces, i % 5000);
        write!(
            s,
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: app-{app}-7d9f8b6c5-{i}\n  namespace: ns-{ns}\n  uid: 6b1e2c3d-{i}\n  resourceVersion: \"{i}\"\n  creationTimestamp: \"2024-01-01T00:00:00Z\"\n  labels:\n    app: app-{app}\n    tier: backend\n    pod-template-hash: 7d9f8b6c5\n  annotations:\n    kubernetes.io/psp: restricted\n  ownerReferences:\n  - apiVersion: apps/v1\n    kind: ReplicaSet\n    name: app-{app}-7d9f8b6c5\n    uid: 1234-5678\n    controller: true\n    blockOwnerDeletion: true\nspec:\n  containers:\n  - name: main\n    image: registry.example.com/app:1.2.3\n    ports:\n    - containerPort: 8080\n      name: http\n      protocol: TCP\n    - containerPort: 9090\n      name: metrics\n    resources:\n      requests: {{cpu: 100m, memory: 128Mi}}\n  nodeName: node-{node}\nstatus:\n  phase: Running\n  podIP: 10.{b}.{c}.{d}\n  podIPs:\n  - ip: 10.{b}.{c}.{d}\n  - ip: fd00::{hi:x}:{lo:x}\n",
            node = i % 300, hi = i >> 16, lo = i & 0xffff,
            b = i / 65536,
            c = (i / 256) % 256,
            d = i % 256
        )
        .unwrap();
    }
    for i in 0..size.policies {
        let (ns, app) = (i % size.namespaces, i % 5000);
        write!(
            s,
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: np-{i}\n  namespace: ns-{ns}\nspec:\n  podSelector:\n    matchLabels:\n      app: app-{app}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from:\n    - namespaceSelector:\n        matchLabels:\n          team: t{t}\n      podSelector:\n        matchExpressions:\n        - key: tier\n          operator: In\n          values: [frontend, backend]\n    - ipBlock:\n        cidr: 10.0.0.0/8\n        except: [10.1.0.0/16]\n    ports:\n    - port: 8080\n      protocol: TCP\n    - port: metrics\n  egress:\n  - to:\n    - podSelector: {{}}\n    ports:\n    - port: 5432\n      endPort: 5440\n",
            t = ns % 100
        )
        .unwrap();
    }
    s
}

/// The same cluster as one `kind: List` JSON document, as `kubectl get -A -o json` prints it.
pub fn json_cluster(size: Size) -> String {
    let mut s = String::with_capacity(size.pods * 1100);
    s.push_str("{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n");
    for n in 0..size.namespaces {
        writeln!(s, "{{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {{\"name\": \"ns-{n}\", \"labels\": {{\"team\": \"t{t}\", \"env\": \"prod\"}}}}}},", t = n % 100).unwrap();
    }
    for i in 0..size.pods {
        let (ns, app) = (i % size.namespaces, i % 5000);
        writeln!(s, "{{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {{\"name\": \"app-{app}-7d9f8b6c5-{i}\", \"namespace\": \"ns-{ns}\", \"uid\": \"6b1e2c3d-{i}\", \"resourceVersion\": \"{i}\", \"labels\": {{\"app\": \"app-{app}\", \"tier\": \"backend\", \"pod-template-hash\": \"7d9f8b6c5\"}}, \"ownerReferences\": [{{\"apiVersion\": \"apps/v1\", \"kind\": \"ReplicaSet\", \"name\": \"app-{app}-7d9f8b6c5\", \"uid\": \"1234\", \"controller\": true}}]}}, \"spec\": {{\"containers\": [{{\"name\": \"main\", \"image\": \"registry.example.com/app:1.2.3\", \"ports\": [{{\"containerPort\": 8080, \"name\": \"http\", \"protocol\": \"TCP\"}}, {{\"containerPort\": 9090, \"name\": \"metrics\"}}], \"resources\": {{\"requests\": {{\"cpu\": \"100m\", \"memory\": \"128Mi\"}}}}}}], \"nodeName\": \"node-{node}\"}}, \"status\": {{\"phase\": \"Running\", \"podIP\": \"10.{b}.{c}.{d}\", \"podIPs\": [{{\"ip\": \"10.{b}.{c}.{d}\"}}, {{\"ip\": \"fd00::{hi:x}:{lo:x}\"}}]}}}},", node = i % 300, hi = i >> 16, lo = i & 0xffff, b = i / 65536, c = (i / 256) % 256, d = i % 256).unwrap();
    }
    for i in 0..size.policies {
        let (ns, app) = (i % size.namespaces, i % 5000);
        let sep = if i + 1 == size.policies { "" } else { "," };
        writeln!(s, "{{\"apiVersion\": \"networking.k8s.io/v1\", \"kind\": \"NetworkPolicy\", \"metadata\": {{\"name\": \"np-{i}\", \"namespace\": \"ns-{ns}\"}}, \"spec\": {{\"podSelector\": {{\"matchLabels\": {{\"app\": \"app-{app}\"}}}}, \"policyTypes\": [\"Ingress\", \"Egress\"], \"ingress\": [{{\"from\": [{{\"namespaceSelector\": {{\"matchLabels\": {{\"team\": \"t{t}\"}}}}, \"podSelector\": {{\"matchExpressions\": [{{\"key\": \"tier\", \"operator\": \"In\", \"values\": [\"frontend\", \"backend\"]}}]}}}}, {{\"ipBlock\": {{\"cidr\": \"10.0.0.0/8\", \"except\": [\"10.1.0.0/16\"]}}}}], \"ports\": [{{\"port\": 8080, \"protocol\": \"TCP\"}}, {{\"port\": \"metrics\"}}]}}], \"egress\": [{{\"to\": [{{\"podSelector\": {{}}}}], \"ports\": [{{\"port\": 5432, \"endPort\": 5440}}]}}]}}}}{sep}", t = ns % 100).unwrap();
    }
    s.push_str("]}\n");
    s
}
