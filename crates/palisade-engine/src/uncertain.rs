//! Uncertainty: which pods a policy Palisade does not evaluate (Cilium, Calico,
//! AdminNetworkPolicy, Istio, … — [`palisade_model::UnevaluatedPolicy`]) may select.
//!
//! Every answer about such a pod — a verdict, a connectivity row, an audit line, a lint
//! finding, a replayed session — is marked uncertain with the objects' names, because those
//! policies may allow or deny what NetworkPolicy alone decides. "May select" is
//! conservative: a namespaced object may select any pod of its namespace, a cluster-wide one
//! any pod; only a selector that is nothing but required labels narrows it
//! (`UnevaluatedPolicy::pod_labels`). hostNetwork pods are included (some CNIs police them).

use palisade_model::{Model, NamespaceId, PodId};

/// For each pod, the unevaluated policies (indexes into `Model::unevaluated`) that may
/// select it.
#[derive(Clone, Debug, Default)]
pub struct Uncertainty {
    per_pod: Vec<Vec<u32>>,
    any: bool,
}

impl Uncertainty {
    /// Computes the pods each unevaluated policy may select.
    pub fn new(model: &Model) -> Self {
        let mut per_pod = vec![Vec::new(); model.pods.len()];
        for (i, u) in model.unevaluated.iter().enumerate() {
            for (p, pod) in model.pods.iter().enumerate() {
                if u.namespace.is_some_and(|ns| ns != pod.namespace) {
                    continue;
                }
                let labels_match = u.pod_labels.as_ref().is_none_or(|required| {
                    required.iter().all(|(k, v)| pod.labels.get(k) == Some(v))
                });
                if labels_match {
                    per_pod[p].push(i as u32);
                }
            }
        }
        Uncertainty {
            any: !model.unevaluated.is_empty(),
            per_pod,
        }
    }

    /// Whether the model has any unevaluated policy at all.
    pub fn any(&self) -> bool {
        self.any
    }

    /// The unevaluated policies that may select a pod.
    pub fn of_pod(&self, pod: PodId) -> &[u32] {
        self.per_pod.get(pod.index()).map_or(&[], Vec::as_slice)
    }

    /// The names (`Kind ns/name`) of the unevaluated policies that may select any of `pods`,
    /// sorted and without repeats; empty when the answer about them is certain.
    pub fn names(&self, model: &Model, pods: impl IntoIterator<Item = PodId>) -> Vec<String> {
        if !self.any {
            return Vec::new();
        }
        let mut idx: Vec<u32> = pods
            .into_iter()
            .flat_map(|p| self.of_pod(p).iter().copied())
            .collect();
        idx.sort_unstable();
        idx.dedup();
        let mut names: Vec<String> = idx
            .into_iter()
            .map(|i| model.unevaluated_name(i as usize))
            .collect();
        names.sort();
        names
    }

    /// The names of the unevaluated policies that may select pods of a namespace, or are
    /// cluster-wide.
    pub fn names_in_namespace(&self, model: &Model, ns: NamespaceId) -> Vec<String> {
        let mut names: Vec<String> = model
            .unevaluated
            .iter()
            .enumerate()
            .filter(|(_, u)| u.namespace.is_none_or(|n| n == ns))
            .map(|(i, _)| model.unevaluated_name(i))
            .collect();
        names.sort();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_model::{Labels, Pod, PodOrigin, UnevaluatedPolicy};

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn scope_and_required_labels_decide_what_may_be_selected() {
        let mut model = Model::default();
        let shop = model.ensure_namespace("shop");
        let pay = model.ensure_namespace("payments");
        let pod = |name: &str, ns, l: Labels| Pod {
            name: name.into(),
            namespace: ns,
            labels: l,
            annotations: Labels::new(),
            ports: vec![],
            ips: vec![],
            host_network: false,
            workload: None,
            origin: PodOrigin::Declared,
            span: None,
        };
        let web = model.add_pod(pod("web", shop, labels(&[("app", "web")])));
        let api = model.add_pod(pod("api", shop, labels(&[("app", "api")])));
        let charge = model.add_pod(pod("charge", pay, labels(&[("app", "charge")])));
        let unevaluated = |kind: &str, ns, l| UnevaluatedPolicy {
            kind: kind.into(),
            api_version: "x/v1".into(),
            name: "p".into(),
            namespace: ns,
            pod_labels: l,
            span: None,
        };
        model.unevaluated.push(unevaluated(
            "CiliumNetworkPolicy",
            Some(shop),
            Some(labels(&[("app", "api")])),
        ));
        model
            .unevaluated
            .push(unevaluated("Calico NetworkPolicy", Some(pay), None));
        let u = Uncertainty::new(&model);
        assert!(u.names(&model, [web]).is_empty());
        assert_eq!(u.names(&model, [api]), ["CiliumNetworkPolicy shop/p"]);
        assert_eq!(
            u.names(&model, [charge]),
            ["Calico NetworkPolicy payments/p"]
        );
        model
            .unevaluated
            .push(unevaluated("AdminNetworkPolicy", None, None));
        let u = Uncertainty::new(&model);
        assert_eq!(u.names(&model, [web]), ["AdminNetworkPolicy p"]);
        assert_eq!(
            u.names(&model, [web, api]),
            ["AdminNetworkPolicy p", "CiliumNetworkPolicy shop/p"]
        );
        assert_eq!(
            u.names_in_namespace(&model, pay),
            ["AdminNetworkPolicy p", "Calico NetworkPolicy payments/p"]
        );
    }
}
