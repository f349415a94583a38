//! ## What it does
//! Finds a `from`/`to` peer whose `podSelector` or `namespaceSelector` matches no pod or
//! namespace of the input, and suggests the closest existing label ("did you mean
//! app=checkout?").
//!
//! ## Why is this bad?
//! The rule was written to allow some traffic, and allows none: the connection it was
//! meant for is denied. A one-letter typo in a label value is enough, and nothing in
//! Kubernetes warns about it.
//!
//! ## Example
//! ```yaml
//! ingress:
//! - from:
//!   - podSelector:
//!       matchLabels: {app: chekout}
//! ```
//!
//! Use instead:
//! ```yaml
//! ingress:
//! - from:
//!   - podSelector:
//!       matchLabels: {app: checkout}
//! ```
//!
//! ## Notes
//! Pod selectors are only checked when the input has pods or workloads, namespace
//! selectors only when it declares namespaces. A namespaceSelector that uses a label no
//! namespace has, where `kubernetes.io/metadata.name` would match, is NP013 instead.
//!
//! ## References
//! - [Kubernetes: Network Policies, behavior of to and from selectors](https://kubernetes.io/docs/concepts/services-networking/network-policies/#behavior-of-to-and-from-selectors)

use super::{Context, finding, suggest};
use palisade_diag::Diagnostic;
use palisade_engine::semantics;
use palisade_model::{Direction, LabelSelector, NamespaceId, PeerKind};
use std::collections::HashMap;

const CODE: &str = "NP003";

/// NP003
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let model = ctx.model;
    // The namespaces each distinct namespaceSelector matches, matched once: thousands of
    // policies repeat the same one (the cluster DNS peer), and each match is a walk over
    // every namespace.
    let mut matched_by: HashMap<&LabelSelector, Vec<usize>> = HashMap::new();
    for id in model.policy_ids() {
        let policy = &model.policies[id.index()];
        for (direction, rules) in [
            (Direction::Ingress, &policy.ingress),
            (Direction::Egress, &policy.egress),
        ] {
            let side = match direction {
                Direction::Ingress => "from",
                Direction::Egress => "to",
            };
            for (index, rule) in rules.iter().enumerate() {
                for peer in &rule.peers {
                    let PeerKind::Selector {
                        namespace_selector,
                        pod_selector,
                    } = &peer.kind
                    else {
                        continue;
                    };
                    let peer_namespaces =
                        semantics::peer_namespaces(policy.namespace, namespace_selector.as_ref());
                    let in_peer_namespaces = |n: usize| {
                        peer_namespaces.contains(NamespaceId::new(n), &model.namespaces[n].labels)
                    };
                    let namespaces = match namespace_selector {
                        Some(sel) => {
                            let matched = matched_by
                                .entry(sel)
                                .or_insert_with(|| {
                                    (0..model.namespaces.len())
                                        .filter(|&n| in_peer_namespaces(n))
                                        .collect()
                                })
                                .clone();
                            if matched.is_empty() {
                                if !ctx.has_namespaces
                                    || super::wrong_namespace_label::applies(ctx, sel).is_some()
                                {
                                    continue;
                                }
                                let (span, help) =
                                    super::suggest_namespace(ctx, sel, sel.span.or(peer.span));
                                out.push(
                                    finding(
                                        CODE,
                                        format!(
                                            "`{side}` peer of {} rule {index} of {} selects no namespace: none matches `{sel}`",
                                            direction.as_str().to_lowercase(),
                                            ctx.policy_name(id)
                                        ),
                                    )
                                    .with_opt_span(span)
                                    .with_help(help.unwrap_or_else(|| {
                                        "fix the namespaceSelector to match a namespace's labels".to_string()
                                    })),
                                );
                                continue;
                            }
                            matched
                        }
                        None => match peer_namespaces {
                            // No namespaceSelector: one namespace, no walk over all of them.
                            semantics::PeerNamespaces::Own(own) => vec![own.index()],
                            semantics::PeerNamespaces::Matching(_) => (0..model.namespaces.len())
                                .filter(|&n| in_peer_namespaces(n))
                                .collect(),
                        },
                    };
                    let Some(sel) = pod_selector else { continue };
                    if !ctx.has_pods {
                        continue;
                    }
                    let pods: Vec<_> = namespaces
                        .iter()
                        .flat_map(|&n| ctx.pods_by_namespace[n].iter().copied())
                        .collect();
                    if pods.iter().any(|p| {
                        semantics::peer_pod_selected(Some(sel), &model.pods[p.index()].labels)
                    }) {
                        continue;
                    }
                    let where_ = if namespace_selector.is_some() {
                        let names: Vec<String> = namespaces
                            .iter()
                            .map(|&n| model.namespaces[n].name.clone())
                            .collect();
                        format!(
                            "in namespace{} {}",
                            if names.len() == 1 { "" } else { "s" },
                            super::names(&names, 3)
                        )
                    } else {
                        format!("in namespace {}", model.namespace(policy.namespace).name)
                    };
                    let (span, help) = suggest(ctx, sel, &pods, sel.span.or(peer.span));
                    // The labels may exist in another namespace: a missing namespaceSelector.
                    let elsewhere = model
                        .pod_ids()
                        .find(|p| {
                            let pod = &model.pods[p.index()];
                            semantics::policy_applies_to(pod.host_network)
                                && semantics::peer_pod_selected(Some(sel), &pod.labels)
                        })
                        .map(|p| model.pod_workload_name(p));
                    let help = match (help, elsewhere) {
                        (Some(h), _) => h,
                        (None, Some(w)) => format!(
                            "{w} matches, in another namespace: add a namespaceSelector for its namespace to the same peer"
                        ),
                        (None, None) => {
                            "fix the podSelector to match the labels of the pods to allow"
                                .to_string()
                        }
                    };
                    out.push(
                        finding(
                            CODE,
                            format!(
                                "`{side}` peer of {} rule {index} of {} selects no pod: none {where_} matches `{sel}`",
                                direction.as_str().to_lowercase(),
                                ctx.policy_name(id)
                            ),
                        )
                        .with_opt_span(span)
                        .with_help(help),
                    );
                }
            }
        }
    }
}
