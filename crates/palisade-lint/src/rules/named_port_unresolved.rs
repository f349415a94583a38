//! ## What it does
//! Finds a named port in a rule (`port: metrics`) that no container port of the pods the
//! rule can apply to defines with that protocol: the selected pods for ingress, the pods
//! the peers select for egress.
//!
//! ## Why is this bad?
//! A named port resolves on each destination pod. When no destination pod has a container
//! port of that name and protocol, the port matches nothing and the rule allows nothing.
//! Typos, renamed container ports and a UDP port named in a rule that defaults to TCP all
//! end here.
//!
//! ## Example
//! ```yaml
//! ingress:
//! - ports:
//!   - port: metric      # the container port is named "metrics"
//! ```
//!
//! Use instead:
//! ```yaml
//! ingress:
//! - ports:
//!   - port: metrics
//! ```
//!
//! ## Notes
//! Only runs when the input has pods or workloads.
//!
//! ## References
//! - [Kubernetes API: NetworkPolicyPort](https://kubernetes.io/docs/reference/kubernetes-api/networking/network-policy-v1/#NetworkPolicySpec)

use super::{Context, closest, finding};
use palisade_diag::Diagnostic;
use palisade_engine::{RuleRef, semantics};
use palisade_model::{Direction, PodId, PortRef};

const CODE: &str = "NP004";

/// NP004
pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    if !ctx.has_pods {
        return;
    }
    let model = ctx.model;
    for id in model.policy_ids() {
        let policy = &model.policies[id.index()];
        let selected = ctx.subjects(policy);
        for (direction, rules) in [
            (Direction::Ingress, &policy.ingress),
            (Direction::Egress, &policy.egress),
        ] {
            for (index, rule) in rules.iter().enumerate() {
                if !rule
                    .ports
                    .iter()
                    .any(|p| matches!(p.port, Some(PortRef::Name(_))))
                {
                    continue;
                }
                // Named ports resolve on the destination: the subjects for ingress, the
                // pods the rule's peers select for egress.
                let destinations: Vec<PodId> = match direction {
                    Direction::Ingress => selected.clone(),
                    // The engine resolved the rule's peers to classes of equivalent pods
                    // once; no walk over pods or classes per rule.
                    Direction::Egress => {
                        let engine = ctx.engine();
                        let at = RuleRef {
                            policy: id,
                            direction,
                            rule: index as u32,
                        };
                        let mut pods: Vec<PodId> = engine
                            .peer_classes(at)
                            .into_iter()
                            .flat_map(|c| engine.classes()[c as usize].pods.iter().copied())
                            .collect();
                        pods.sort_unstable();
                        pods
                    }
                };
                if destinations.is_empty() {
                    continue;
                }
                for spec in &rule.ports {
                    let Some(PortRef::Name(name)) = &spec.port else {
                        continue;
                    };
                    let ports = || {
                        destinations
                            .iter()
                            .flat_map(|p| &model.pods[p.index()].ports)
                    };
                    if ports().any(|cp| semantics::named_port_resolves(name, spec.protocol, cp)) {
                        continue;
                    }
                    let whose = match direction {
                        Direction::Ingress => "the pods it selects",
                        Direction::Egress => "the destination pods",
                    };
                    let other_protocol = ports()
                        .find(|cp| cp.name.as_deref() == Some(name))
                        .map(|cp| cp.protocol);
                    let help = match other_protocol {
                        Some(p) => format!(
                            "the container port `{name}` is {p}: set `protocol: {p}` on this port"
                        ),
                        None => {
                            let names: Vec<&str> =
                                ports().filter_map(|cp| cp.name.as_deref()).collect();
                            match closest(name, names.iter().copied()) {
                                Some(best) => format!("did you mean `{best}`?"),
                                None => format!(
                                    "name a container port `{name}` ({}) or use the port number",
                                    spec.protocol
                                ),
                            }
                        }
                    };
                    let span = spec
                        .span
                        .map(|s| ctx.find_in(s, Some("port"), name))
                        .or(rule.span);
                    out.push(
                        finding(
                            CODE,
                            format!(
                                "named port `{name}`/{} in {} rule {index} of {} is defined by none of {whose}: it matches nothing",
                                spec.protocol,
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
