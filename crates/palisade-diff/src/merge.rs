//! Comparing and combining the non-policy parts of models.

use palisade_model::{Model, Pod, Span};

/// The source text of a span.
pub(crate) fn span_text(model: &Model, span: Option<Span>) -> Option<&str> {
    let span = span?;
    model
        .sources
        .get(span.source)
        .text
        .get(span.start as usize..span.end as usize)
}

/// Whether two objects were read from the same text (then the loader made them equal).
pub(crate) fn same_text(a: &Model, sa: Option<Span>, b: &Model, sb: Option<Span>) -> bool {
    match (span_text(a, sa), span_text(b, sb)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Whether two models have the same namespaces (names and labels), pods (name, namespace,
/// labels, ports, IPs, hostNetwork, workload) and workloads (name, namespace), in the same
/// order: then only policies differ and [`crate::diff_incremental`] applies.
///
/// Objects read from identical text (same namespace and workload ids) are equal without
/// looking at their fields, which keeps this a sequential scan of the two texts.
pub fn same_workloads(a: &Model, b: &Model) -> bool {
    a.namespaces.len() == b.namespaces.len()
        && a.pods.len() == b.pods.len()
        && a.workloads.len() == b.workloads.len()
        && a.namespaces
            .iter()
            .zip(&b.namespaces)
            .all(|(x, y)| x.name == y.name && x.labels == y.labels)
        && a.workloads
            .iter()
            .zip(&b.workloads)
            .all(|(x, y)| x.namespace == y.namespace && x.pods == y.pods && x.name == y.name)
        && a.pods.iter().zip(&b.pods).all(|(x, y)| {
            x.namespace == y.namespace && x.workload == y.workload && same_pod(a, x, b, y)
        })
}

/// Whether two pods look the same to every policy, their namespace and workload aside: read
/// from the same text, or equal in name, labels, named ports, IPs and hostNetwork.
pub(crate) fn same_pod(a: &Model, x: &Pod, b: &Model, y: &Pod) -> bool {
    x.host_network == y.host_network
        && (same_text(a, x.span, b, y.span)
            || (x.name == y.name && x.labels == y.labels && x.ports == y.ports && x.ips == y.ips))
}

fn shift(span: Option<Span>, by: u32) -> Option<Span> {
    span.map(|mut s| {
        s.source.0 += by;
        s
    })
}

/// A model with the policies of `policies` and everything else (namespaces, pods,
/// workloads, services) from `workloads`: how one side of a diff reuses the other side's
/// workloads. Policy spans keep pointing into the policy files; the workload files follow
/// them in [`Model::sources`].
pub fn with_workloads_from(policies: &Model, workloads: &Model) -> Model {
    let mut model = Model::default();
    for (_, file) in policies.sources.iter() {
        model.sources.add(file.path.clone(), file.text.clone());
    }
    let offset = model.sources.len() as u32;
    for (_, file) in workloads.sources.iter() {
        model.sources.add(file.path.clone(), file.text.clone());
    }
    for ns in &workloads.namespaces {
        if ns.declared {
            model.declare_namespace(
                &ns.name,
                ns.labels.clone(),
                ns.annotations.clone(),
                shift(ns.span, offset),
            );
        } else {
            let id = model.ensure_namespace(&ns.name);
            model.namespaces[id.index()].labels = ns.labels.clone();
        }
    }
    for pod in &workloads.pods {
        let mut pod = pod.clone();
        pod.span = shift(pod.span, offset);
        model.add_pod(pod);
    }
    for w in &workloads.workloads {
        let mut w = w.clone();
        w.span = shift(w.span, offset);
        model.add_workload(w);
    }
    for s in &workloads.services {
        let mut s = s.clone();
        s.span = shift(s.span, offset);
        model.add_service(s);
    }
    for policy in &policies.policies {
        let mut policy = policy.clone();
        policy.namespace = model.ensure_namespace(&policies.namespace(policy.namespace).name);
        model.add_policy(policy);
    }
    // Admin policies are policies (cluster-scoped); Nodes are cluster state, like workloads.
    model.admin_policies = policies.admin_policies.clone();
    model.nodes = if workloads.nodes.is_empty() {
        policies.nodes.clone()
    } else {
        workloads
            .nodes
            .iter()
            .map(|n| {
                let mut n = n.clone();
                n.span = shift(n.span, offset);
                n
            })
            .collect()
    };
    model
}
