//! ## What it does
//! Finds a `namespaceSelector` that uses a label no namespace has (such as `name:
//! payments`) where `kubernetes.io/metadata.name` would match the namespace it names.
//!
//! ## Why is this bad?
//! Namespaces do not get a `name` label; the API server sets
//! `kubernetes.io/metadata.name` on every namespace instead. A selector on `name` matches
//! nothing (unless someone labels the namespace by hand), so the rule allows nothing.
//!
//! ## Example
//! ```yaml
//! - namespaceSelector:
//!     matchLabels: {name: payments}
//! ```
//!
//! Use instead:
//! ```yaml
//! - namespaceSelector:
//!     matchLabels: {kubernetes.io/metadata.name: payments}
//! ```
//!
//! ## Notes
//! Only runs when the input declares namespaces (otherwise their labels are unknown).
//!
//! ## References
//! - [Kubernetes: Well-Known Labels, kubernetes.io/metadata.name](https://kubernetes.io/docs/reference/labels-annotations-taints/#kubernetes-io-metadata-name)

use super::{Context, finding};
use palisade_diag::Diagnostic;
use palisade_model::{Direction, LabelSelector, NAMESPACE_NAME_LABEL, Operator, PeerKind};

const CODE: &str = "NP013";

/// If the selector matches no namespace because of a label key no namespace has, whose
/// value is the name of a namespace: (key, value).
pub(crate) fn applies(ctx: &Context<'_>, selector: &LabelSelector) -> Option<(String, String)> {
    let model = ctx.model;
    if model.namespaces.iter().any(|n| selector.matches(&n.labels)) {
        return None;
    }
    let pairs = selector.match_labels.iter().cloned().chain(
        selector
            .match_expressions
            .iter()
            .filter(|r| r.operator == Operator::In)
            .flat_map(|r| r.values.iter().map(|v| (r.key.clone(), v.clone()))),
    );
    for (key, value) in pairs {
        if key == NAMESPACE_NAME_LABEL
            || model.namespaces.iter().any(|n| n.labels.contains_key(&key))
        {
            continue;
        }
        if model.namespace_id(&value).is_some() {
            return Some((key, value));
        }
    }
    None
}

/// NP013
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    if !ctx.has_namespaces {
        return;
    }
    let model = ctx.model;
    for id in model.policy_ids() {
        let policy = &model.policies[id.index()];
        for (direction, rules) in [
            (Direction::Ingress, &policy.ingress),
            (Direction::Egress, &policy.egress),
        ] {
            for (index, rule) in rules.iter().enumerate() {
                for peer in &rule.peers {
                    let PeerKind::Selector {
                        namespace_selector: Some(sel),
                        ..
                    } = &peer.kind
                    else {
                        continue;
                    };
                    let Some((key, value)) = applies(ctx, sel) else {
                        continue;
                    };
                    let span = sel.span.map(|s| ctx.find_in(s, None, &key)).or(peer.span);
                    out.push(
                        finding(
                            CODE,
                            format!(
                                "namespaceSelector of {} rule {index} of {} uses the label `{key}`, which no namespace has: it selects no namespace",
                                direction.as_str().to_lowercase(),
                                ctx.policy_name(id)
                            ),
                        )
                        .with_opt_span(span)
                        .with_help(format!(
                            "select namespace {value} by `{NAMESPACE_NAME_LABEL}: {value}`, the label the API server sets on every namespace"
                        )),
                    );
                }
            }
        }
    }
}
