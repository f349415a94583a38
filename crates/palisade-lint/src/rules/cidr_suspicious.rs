//! ## What it does
//! Finds `ipBlock` CIDRs that say something other than what they seem to: host bits set
//! (`10.0.0.1/8` means `10.0.0.0/8`), an `except` entry that is not inside `cidr` or that
//! covers all of it, and `except` entries that overlap each other.
//!
//! ## Why is this bad?
//! Host bits are silently cleared, so `192.168.1.10/16` admits the whole `/16` although it
//! reads like one host. An `except` outside the block excludes nothing; one covering the
//! block leaves the peer empty; overlapping entries usually mean one of them has the wrong
//! prefix length.
//!
//! ## Example
//! ```yaml
//! - ipBlock:
//!     cidr: 10.0.0.1/8
//!     except: [192.168.0.0/16]
//! ```
//!
//! Use instead:
//! ```yaml
//! - ipBlock:
//!     cidr: 10.0.0.0/8
//!     except: [10.96.0.0/12]
//! ```
//!
//! ## References
//! - [Kubernetes API: IPBlock](https://kubernetes.io/docs/reference/kubernetes-api/networking/network-policy-v1/#NetworkPolicySpec)

use super::{Context, finding};
use ipnet::IpNet;
use palisade_diag::Diagnostic;
use palisade_model::PeerKind;

const CODE: &str = "NP010";

/// NP010
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let model = ctx.model;
    for id in model.policy_ids() {
        let policy = &model.policies[id.index()];
        for rule in policy.ingress.iter().chain(&policy.egress) {
            for peer in &rule.peers {
                let PeerKind::IpBlock(block) = &peer.kind else {
                    continue;
                };
                let at = |text: &str, key: &str| peer.span.map(|s| ctx.find_in(s, Some(key), text));
                let name = ctx.policy_name(id);
                if let Ok(net) = block.cidr_text.parse::<IpNet>()
                    && net.addr() != net.network()
                {
                    out.push(
                        finding(
                            CODE,
                            format!(
                                "cidr `{}` in {name} has host bits set: it means {}",
                                block.cidr_text,
                                net.trunc()
                            ),
                        )
                        .with_opt_span(at(&block.cidr_text, "cidr"))
                        .with_help(format!(
                            "write `{}`, or `{}/{}` for the single address",
                            net.trunc(),
                            net.addr(),
                            if net.addr().is_ipv4() { 32 } else { 128 }
                        )),
                    );
                }
                for (i, (except, text)) in block.except.iter().zip(&block.except_text).enumerate() {
                    if let Ok(net) = text.parse::<IpNet>()
                        && net.addr() != net.network()
                    {
                        out.push(
                            finding(
                                CODE,
                                format!(
                                    "except `{text}` in {name} has host bits set: it means {}",
                                    net.trunc()
                                ),
                            )
                            .with_opt_span(at(text, "except"))
                            .with_help(format!("write `{}`", net.trunc())),
                        );
                    }
                    if *except == block.cidr || except.contains(&block.cidr) {
                        out.push(
                            finding(CODE, format!("except `{text}` in {name} covers all of cidr `{}`: the peer admits nothing", block.cidr_text))
                                .with_opt_span(at(text, "except"))
                                .with_help("remove the peer, or fix the except range"),
                        );
                    } else if !block.cidr.contains(except) {
                        out.push(
                            finding(CODE, format!("except `{text}` in {name} is not inside cidr `{}`: it excludes nothing", block.cidr_text))
                                .with_opt_span(at(text, "except"))
                                .with_help("except ranges must lie inside cidr; fix the prefix or remove it"),
                        );
                    }
                    for (other, other_text) in block.except.iter().zip(&block.except_text).take(i) {
                        if other.contains(except) || except.contains(other) {
                            out.push(
                                finding(
                                    CODE,
                                    format!(
                                        "except `{text}` in {name} overlaps except `{other_text}`"
                                    ),
                                )
                                .with_opt_span(at(text, "except"))
                                .with_help("keep the larger range only, or fix the prefix length"),
                            );
                        }
                    }
                }
            }
        }
    }
}
