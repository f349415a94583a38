//! `palisade check`: one verdict with its explanation, as text or JSON.

use crate::{Style, to_json};
use palisade_engine::admin::AdminRuleRef;
use palisade_engine::{Endpoint, Explanation, SideExplanation, SideOutcome};
use palisade_model::{Direction, Model, PolicyId, Span};
use serde::Serialize;
use std::fmt::Write;

/// The name of an endpoint: `ns/pod` or the address.
pub fn endpoint_name(model: &Model, endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Pod(p) => model.pod_name(*p),
        Endpoint::External(ip) => ip.to_string(),
    }
}

/// `ns/name`, with ` (file:line)` when the policy has a location.
fn policy_with_location(model: &Model, id: PolicyId) -> String {
    let policy = &model.policies[id.index()];
    match model.location(policy.span) {
        Some(loc) => format!("{} ({}:{})", model.policy_name(id), loc.file, loc.line),
        None => model.policy_name(id),
    }
}

fn location_of(model: &Model, span: Option<Span>) -> String {
    model
        .location(span)
        .map(|l| format!(" ({}:{})", l.file, l.line))
        .unwrap_or_default()
}

fn rule_span(model: &Model, policy: PolicyId, direction: Direction, rule: usize) -> Option<Span> {
    let p = &model.policies[policy.index()];
    let rules = match direction {
        Direction::Ingress => &p.ingress,
        Direction::Egress => &p.egress,
    };
    rules.get(rule).and_then(|r| r.span).or(p.span)
}

/// One admin-tier rule as explanations name it:
/// `cnp/deny-metadata egress rule 0 "metadata" (priority 10) (file:line)`.
pub fn admin_rule_text(model: &Model, at: AdminRuleRef) -> String {
    let policy = &model.admin_policies[at.policy as usize];
    let rule = &policy.rules(at.direction)[at.rule as usize];
    let name = if rule.name.is_empty() {
        String::new()
    } else {
        format!(" \"{}\"", rule.name)
    };
    let priority = match policy.kind {
        palisade_model::AdminKind::BaselineAdminNetworkPolicy => String::new(),
        _ => format!(" (priority {})", policy.priority),
    };
    format!(
        "{} {} rule {}{name}{priority}{}",
        policy.display_name(),
        direction_word(at.direction),
        at.rule,
        location_of(model, rule.span.or(policy.span)),
    )
}

fn tier_name(tier: palisade_model::AdminTier) -> &'static str {
    match tier {
        palisade_model::AdminTier::Admin => "[Admin]",
        palisade_model::AdminTier::Baseline => "[Baseline]",
    }
}

/// The admin-tier lines of one side: a Pass, the deciding admin or baseline rule, and
/// whether DNS could change the answer. Returns whether an admin tier decided the side.
fn tier_lines(out: &mut String, model: &Model, side: &SideExplanation, style: Style) -> bool {
    if let Some(at) = side.passed {
        let _ = writeln!(
            out,
            "  [Admin] {} Pass -> [NetworkPolicy]",
            admin_rule_text(model, at)
        );
    }
    if side.depends_on_dns {
        let _ = writeln!(
            out,
            "  {}",
            style.yellow(
                "depends on DNS: a domainNames rule may accept this address if one of its names \
                 resolves to it (manifests cannot tell)"
            )
        );
    }
    let Some((at, action)) = side.admin_rule else {
        return false;
    };
    let tier = model.admin_policies[at.policy as usize].tier;
    let action_text = match action {
        palisade_model::AdminAction::Deny => style.red(action.as_str()),
        _ => style.green(action.as_str()),
    };
    let _ = writeln!(
        out,
        "  {} {} {action_text}",
        tier_name(tier),
        admin_rule_text(model, at)
    );
    true
}

fn direction_word(direction: Direction) -> &'static str {
    match direction {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    }
}

/// The text rendering; `context` lines (e.g. "workload with 3 pods") go under the headline.
pub fn text(model: &Model, explanation: &Explanation, context: &[String], style: Style) -> String {
    text_with(
        model,
        explanation,
        &CheckContext {
            notes: context.to_vec(),
            ..CheckContext::default()
        },
        style,
    )
}

/// [`text`] with the Service and uncertainty lines of a [`CheckContext`].
pub fn text_with(
    model: &Model,
    explanation: &Explanation,
    ctx: &CheckContext,
    style: Style,
) -> String {
    let context = &ctx.notes;
    let q = &explanation.query;
    let src = endpoint_name(model, &q.src);
    let dst = endpoint_name(model, &q.dst);
    let mut out = String::new();
    let verdict = if explanation.allowed {
        style.green("ALLOWED")
    } else if explanation.depends_on_dns() {
        style.yellow("DEPENDS ON DNS")
    } else {
        style.red("DENIED")
    };
    let _ = writeln!(out, "{verdict}  {src} -> {dst}  {}/{}", q.port, q.protocol);
    for line in context {
        let _ = writeln!(out, "  {}", style.dim(line));
    }
    if !ctx.uncertain.is_empty() {
        let _ = writeln!(
            out,
            "  {}: not evaluated by Palisade and may select these pods: {}",
            style.yellow("UNCERTAIN"),
            ctx.uncertain.join(", ")
        );
    }
    for side in [&explanation.egress, &explanation.ingress] {
        out.push('\n');
        side_text(&mut out, model, explanation, side, style);
    }
    out
}

fn side_text(
    out: &mut String,
    model: &Model,
    explanation: &Explanation,
    side: &SideExplanation,
    style: Style,
) {
    let q = &explanation.query;
    let (subject, peer) = match side.direction {
        Direction::Egress => (&q.src, &q.dst),
        Direction::Ingress => (&q.dst, &q.src),
    };
    let word = direction_word(side.direction);
    let subject_name = endpoint_name(model, subject);
    let peer_name = endpoint_name(model, peer);
    let outcome = match side.outcome {
        SideOutcome::Denied => style.red("denied"),
        SideOutcome::Allowed => style.green("allowed"),
        SideOutcome::NotIsolated => style.green("allowed (not isolated)"),
        SideOutcome::External => "not applicable".to_string(),
        SideOutcome::HostNetwork => style.green("allowed (hostNetwork)"),
    };
    let _ = writeln!(out, "{} of {subject_name}: {outcome}", style.bold(word));
    if tier_lines(out, model, side, style) {
        return;
    }
    match side.outcome {
        SideOutcome::External => {
            let _ = writeln!(
                out,
                "  {subject_name} is outside the cluster: no NetworkPolicy applies to its {word}"
            );
            return;
        }
        SideOutcome::HostNetwork => {
            let _ = writeln!(
                out,
                "  {subject_name} uses the host network: NetworkPolicy does not apply to it"
            );
            return;
        }
        SideOutcome::NotIsolated => {
            let _ = writeln!(
                out,
                "  no NetworkPolicy selects {subject_name} for {word}: all {word} traffic is allowed"
            );
            return;
        }
        SideOutcome::Allowed | SideOutcome::Denied => {}
    }
    let isolating: Vec<String> = side
        .isolating
        .iter()
        .map(|&p| policy_with_location(model, p))
        .collect();
    let _ = writeln!(out, "  isolated by: {}", isolating.join(", "));
    for m in &side.matches {
        let policy = &model.policies[m.policy.index()];
        let rule = &policy.rules(side.direction)[m.rule];
        let peer_text = match m.peer {
            None => format!(
                "any peer ({} has no `{}`)",
                "the rule",
                peer_field(side.direction)
            ),
            Some(i) => format!("peer {i}{}", location_of(model, rule.peers[i].span)),
        };
        let port_text = match m.port {
            None => "any port".to_string(),
            Some(i) => format!("port entry {i}"),
        };
        let _ = writeln!(
            out,
            "  allowed by: {} {word} rule {}{}: {peer_text}, {port_text}",
            model.policy_name(m.policy),
            m.rule,
            location_of(model, rule_span(model, m.policy, side.direction, m.rule)),
        );
    }
    if side.outcome == SideOutcome::Denied {
        let _ = writeln!(
            out,
            "  {}",
            style.red(&format!(
                "no {word} rule allows {peer_name} on {}/{}",
                q.port, q.protocol
            ))
        );
        for miss in &side.near_misses {
            let _ = writeln!(
                out,
                "  closest: {} {word} rule {}{}: {}",
                model.policy_name(miss.policy),
                miss.rule,
                location_of(
                    model,
                    rule_span(model, miss.policy, side.direction, miss.rule)
                ),
                miss.reason
            );
        }
    }
}

fn peer_field(direction: Direction) -> &'static str {
    match direction {
        Direction::Ingress => "from",
        Direction::Egress => "to",
    }
}

#[derive(Serialize)]
struct JsonCheck {
    verdict: &'static str,
    allowed: bool,
    src: String,
    dst: String,
    port: u16,
    protocol: &'static str,
    egress: JsonSide,
    ingress: JsonSide,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
    /// What `src`/`dst` are: `pod`, `external`.
    src_kind: &'static str,
    dst_kind: &'static str,
    /// The Service `--to` named, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<String>,
    /// Policies Palisade does not evaluate that may select a pod of the connection: the
    /// verdict may be wrong. Absent when the verdict is certain.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    uncertain: Vec<String>,
}

/// What `check` says beyond the explanation of one pair.
#[derive(Clone, Debug, Default)]
pub struct CheckContext {
    /// Lines under the headline (pairs evaluated, Service resolution).
    pub notes: Vec<String>,
    /// `ns/name` of the Service the destination was given as.
    pub service: Option<String>,
    /// Names of unevaluated policies that may select a pod of the evaluated pairs.
    pub uncertain: Vec<String>,
}

fn endpoint_kind(endpoint: &Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Pod(_) => "pod",
        Endpoint::External(_) => "external",
    }
}

#[derive(Serialize)]
struct JsonSide {
    endpoint: String,
    outcome: &'static str,
    allowed: bool,
    isolated: bool,
    isolated_by: Vec<JsonPolicyRef>,
    allowed_by: Vec<JsonRuleRef>,
    near_misses: Vec<JsonNearMiss>,
    /// The admin or baseline rule that decided this side, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    decided_by_admin: Option<JsonAdminRule>,
    /// The admin rule whose Pass handed this side to NetworkPolicy.
    #[serde(skip_serializing_if = "Option::is_none")]
    passed_by: Option<JsonAdminRule>,
    /// A domainNames rule could change the answer: it depends on DNS.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    depends_on_dns: bool,
}

#[derive(Serialize)]
struct JsonAdminRule {
    tier: &'static str,
    kind: &'static str,
    policy: String,
    priority: u32,
    rule: u32,
    name: String,
    action: &'static str,
    file: Option<String>,
    line: Option<u32>,
}

fn json_admin_rule(
    model: &Model,
    at: AdminRuleRef,
    action: palisade_model::AdminAction,
) -> JsonAdminRule {
    let policy = &model.admin_policies[at.policy as usize];
    let rule = &policy.rules(at.direction)[at.rule as usize];
    let loc = model.location(rule.span.or(policy.span));
    JsonAdminRule {
        tier: policy.tier.as_str(),
        kind: policy.kind.as_str(),
        policy: policy.name.clone(),
        priority: policy.priority,
        rule: at.rule,
        name: rule.name.clone(),
        action: action.as_str(),
        file: loc.as_ref().map(|l| l.file.clone()),
        line: loc.map(|l| l.line),
    }
}

#[derive(Serialize)]
struct JsonPolicyRef {
    policy: String,
    file: Option<String>,
    line: Option<u32>,
}

#[derive(Serialize)]
struct JsonRuleRef {
    policy: String,
    rule: usize,
    peer: Option<usize>,
    port: Option<usize>,
    file: Option<String>,
    line: Option<u32>,
}

#[derive(Serialize)]
struct JsonNearMiss {
    policy: String,
    rule: usize,
    reason: String,
    file: Option<String>,
    line: Option<u32>,
}

/// The name of a side outcome in JSON.
pub fn outcome_name(outcome: SideOutcome) -> &'static str {
    match outcome {
        SideOutcome::External => "not-applicable",
        SideOutcome::HostNetwork => "host-network",
        SideOutcome::NotIsolated => "not-isolated",
        SideOutcome::Allowed => "allowed",
        SideOutcome::Denied => "denied",
    }
}

fn json_side(model: &Model, explanation: &Explanation, side: &SideExplanation) -> JsonSide {
    let q = &explanation.query;
    let subject = match side.direction {
        Direction::Egress => &q.src,
        Direction::Ingress => &q.dst,
    };
    let loc = |span: Option<Span>| {
        let l = model.location(span);
        (l.as_ref().map(|l| l.file.clone()), l.map(|l| l.line))
    };
    JsonSide {
        endpoint: endpoint_name(model, subject),
        outcome: outcome_name(side.outcome),
        allowed: side.outcome.allows(),
        isolated: !side.isolating.is_empty(),
        isolated_by: side
            .isolating
            .iter()
            .map(|&p| {
                let (file, line) = loc(model.policies[p.index()].span);
                JsonPolicyRef {
                    policy: model.policy_name(p),
                    file,
                    line,
                }
            })
            .collect(),
        allowed_by: side
            .matches
            .iter()
            .map(|m| {
                let (file, line) = loc(rule_span(model, m.policy, side.direction, m.rule));
                JsonRuleRef {
                    policy: model.policy_name(m.policy),
                    rule: m.rule,
                    peer: m.peer,
                    port: m.port,
                    file,
                    line,
                }
            })
            .collect(),
        near_misses: side
            .near_misses
            .iter()
            .map(|m| {
                let (file, line) = loc(rule_span(model, m.policy, side.direction, m.rule));
                JsonNearMiss {
                    policy: model.policy_name(m.policy),
                    rule: m.rule,
                    reason: m.reason.clone(),
                    file,
                    line,
                }
            })
            .collect(),
        decided_by_admin: side
            .admin_rule
            .map(|(at, action)| json_admin_rule(model, at, action)),
        passed_by: side
            .passed
            .map(|at| json_admin_rule(model, at, palisade_model::AdminAction::Pass)),
        depends_on_dns: side.depends_on_dns,
    }
}

/// The JSON rendering.
pub fn json(model: &Model, explanation: &Explanation, notes: &[String]) -> String {
    json_with(
        model,
        explanation,
        &CheckContext {
            notes: notes.to_vec(),
            ..CheckContext::default()
        },
    )
}

/// [`json`] with the Service and uncertainty of a [`CheckContext`].
pub fn json_with(model: &Model, explanation: &Explanation, ctx: &CheckContext) -> String {
    let notes = &ctx.notes;
    let q = &explanation.query;
    to_json(&JsonCheck {
        verdict: if explanation.allowed {
            "allowed"
        } else if explanation.depends_on_dns() {
            "depends-on-dns"
        } else {
            "denied"
        },
        allowed: explanation.allowed,
        src: endpoint_name(model, &q.src),
        dst: endpoint_name(model, &q.dst),
        port: q.port,
        protocol: q.protocol.as_str(),
        egress: json_side(model, explanation, &explanation.egress),
        ingress: json_side(model, explanation, &explanation.ingress),
        notes: notes.to_vec(),
        src_kind: endpoint_kind(&q.src),
        dst_kind: endpoint_kind(&q.dst),
        service: ctx.service.clone(),
        uncertain: ctx.uncertain.clone(),
    })
}
