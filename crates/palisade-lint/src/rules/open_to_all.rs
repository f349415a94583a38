//! ## What it does
//! Finds a peer that admits the whole cluster (`namespaceSelector: {}` without a
//! restricting `podSelector`) or the whole internet (`ipBlock` `0.0.0.0/0` or `::/0`).
//!
//! ## Why is this bad?
//! Such a peer undoes most of what isolating the pod achieved: any compromised pod in any
//! namespace (or any host on the internet) may connect. Sometimes that is the intent (an
//! internet-facing ingress controller, a cluster-wide scraper); then say so with the
//! `palisade.dev/ignore: "NP005"` annotation on the policy.
//!
//! ## Example
//! ```yaml
//! ingress:
//! - from:
//!   - namespaceSelector: {}
//! ```
//!
//! Use instead:
//! ```yaml
//! ingress:
//! - from:
//!   - namespaceSelector:
//!       matchLabels: {kubernetes.io/metadata.name: monitoring}
//!     podSelector:
//!       matchLabels: {app: prometheus}
//! ```
//!
//! ## References
//! - [Kubernetes: Network Policies](https://kubernetes.io/docs/concepts/services-networking/network-policies/)

use super::{Context, finding};
use palisade_diag::Diagnostic;
use palisade_model::{Direction, PeerKind};

const CODE: &str = "NP005";

/// NP005
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let model = ctx.model;
    for id in model.policy_ids() {
        let policy = &model.policies[id.index()];
        for direction in [Direction::Ingress, Direction::Egress] {
            let (side, who) = match direction {
                Direction::Ingress => ("ingress", "admits traffic from"),
                Direction::Egress => ("egress", "allows traffic to"),
            };
            for (index, rule) in policy.rules(direction).iter().enumerate() {
                let ports = if rule.ports.is_empty() {
                    "on every port"
                } else {
                    "on the rule's ports"
                };
                for peer in &rule.peers {
                    let (what, span, help) = match &peer.kind {
                        PeerKind::Selector {
                            namespace_selector: Some(ns),
                            pod_selector,
                        } if ns.is_empty()
                            && pod_selector.as_ref().is_none_or(|p| p.is_empty()) =>
                        {
                            (
                                "every pod of every namespace (`namespaceSelector: {}`)"
                                    .to_string(),
                                ns.span.or(peer.span),
                                "select the namespaces (kubernetes.io/metadata.name) and pods that need access",
                            )
                        }
                        PeerKind::IpBlock(block) if block.cidr.prefix_len() == 0 => {
                            let except = if block.except.is_empty() {
                                String::new()
                            } else {
                                format!(" except {}", block.except_text.join(", "))
                            };
                            (
                                format!("every address (`{}`{except})", block.cidr_text),
                                peer.span
                                    .map(|s| ctx.find_in(s, Some("cidr"), &block.cidr_text)),
                                "narrow the ipBlock to the address ranges that need access",
                            )
                        }
                        _ => continue,
                    };
                    out.push(
                        finding(
                            CODE,
                            format!(
                                "{side} rule {index} of {} {who} {what} {ports}",
                                ctx.policy_name(id)
                            ),
                        )
                        .with_opt_span(span.or(peer.span))
                        .with_help(format!("{help}; if this is intended, annotate the policy `palisade.dev/ignore: \"NP005\"`")),
                    );
                }
            }
        }
    }
}
