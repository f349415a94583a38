//! `palisade generate` and `palisade harden` reports: what was learned and skipped, the
//! replay proof, and what the generated set closes (txt for stderr, json, md; PLAN.md).

use std::fmt::Write as _;

use palisade_diff::Diff;
use palisade_discover::harden::{Plan, Stage};
use palisade_discover::{Generated, Observation, Proof};
use serde::Serialize;

use crate::to_json;

/// Connections listed per direction (closed, opened) in reports.
pub const TOP: usize = 10;

/// What a policy change closes and opens, from a connectivity diff.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DiffSummary {
    /// Connections that lose ports (or everything).
    pub closes: usize,
    /// Connections that gain ports.
    pub opens: usize,
    /// The first [`TOP`] closed: `{src, dst, ports}` (the ports no longer allowed).
    pub closed: Vec<DiffPair>,
    /// The first [`TOP`] opened.
    pub opened: Vec<DiffPair>,
    /// Workloads newly isolated, `[ingress, egress]`.
    pub newly_isolated: [usize; 2],
    /// Why the pairwise diff was not computed (the counts above are then 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// A connection in a [`DiffSummary`].
#[derive(Clone, Debug, Serialize)]
pub struct DiffPair {
    /// Source.
    pub src: String,
    /// Destination.
    pub dst: String,
    /// The ports that changed.
    pub ports: String,
}

impl DiffSummary {
    /// Only the isolation counts: the pairwise diff was skipped for `reason`.
    pub fn isolation_only(newly_isolated: [usize; 2], reason: String) -> DiffSummary {
        DiffSummary {
            newly_isolated,
            skipped: Some(reason),
            ..DiffSummary::default()
        }
    }

    /// Summarizes a diff (old = before, new = after).
    pub fn of(diff: &Diff) -> DiffSummary {
        let mut s = DiffSummary::default();
        for c in &diff.changes {
            let lost = c.lost();
            if !lost.is_empty() {
                s.closes += 1;
                if s.closed.len() < TOP {
                    s.closed.push(DiffPair {
                        src: c.src.clone(),
                        dst: c.dst.clone(),
                        ports: lost.to_string(),
                    });
                }
            }
            let gained = c.gained();
            if !gained.is_empty() {
                s.opens += 1;
                if s.opened.len() < TOP {
                    s.opened.push(DiffPair {
                        src: c.src.clone(),
                        dst: c.dst.clone(),
                        ports: gained.to_string(),
                    });
                }
            }
        }
        s
    }
}

/// Everything `generate` reports.
#[derive(Clone, Copy, Debug)]
pub struct GenerateReport<'a> {
    /// The captures, as given.
    pub captures: &'a [String],
    /// What was learned.
    pub observation: &'a Observation,
    /// The policies.
    pub generated: &'a Generated,
    /// The replay proof.
    pub proof: &'a Proof,
    /// Current → generated.
    pub diff: &'a DiffSummary,
    /// Files written (empty for stdout or when refused).
    pub written: &'a [String],
}

#[derive(Serialize)]
struct JsonSkip<'a> {
    reason: &'static str,
    sessions: u64,
    why: &'static str,
    examples: &'a [String],
}

#[derive(Serialize)]
struct JsonPolicy<'a> {
    namespace: &'a str,
    name: &'a str,
    subject: Option<&'a str>,
    /// The subjects no stable label tells apart from `subject`, selected by the same policy.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    also_selects: &'a [String],
    ingress_rules: usize,
    egress_rules: usize,
    sessions: u64,
}

#[derive(Serialize)]
struct JsonBroken<'a> {
    connection: &'a str,
    sessions: u64,
    denied_on: &'static str,
}

#[derive(Serialize)]
struct JsonProof<'a> {
    sessions: u64,
    accepted: u64,
    holds: bool,
    broken: Vec<JsonBroken<'a>>,
}

#[derive(Serialize)]
struct JsonGenerate<'a> {
    captures: &'a [String],
    sessions: u64,
    learned: u64,
    skipped: Vec<JsonSkip<'a>>,
    policies: Vec<JsonPolicy<'a>>,
    notes: &'a [String],
    replaced: &'a std::collections::BTreeMap<String, Vec<String>>,
    proof: JsonProof<'a>,
    diff: &'a DiffSummary,
    written: &'a [String],
}

fn json_skips(obs: &Observation) -> Vec<JsonSkip<'_>> {
    obs.skipped
        .reasons
        .iter()
        .map(|(r, (n, ex))| JsonSkip {
            reason: r.as_str(),
            sessions: *n,
            why: r.explain(),
            examples: ex,
        })
        .collect()
}

fn json_proof(p: &Proof) -> JsonProof<'_> {
    JsonProof {
        sessions: p.sessions,
        accepted: p.accepted,
        holds: p.holds(),
        broken: p
            .broken
            .iter()
            .map(|b| JsonBroken {
                connection: &b.what,
                sessions: b.sessions,
                denied_on: b.denied_on,
            })
            .collect(),
    }
}

/// The report as JSON.
pub fn json(r: &GenerateReport<'_>) -> String {
    to_json(&JsonGenerate {
        captures: r.captures,
        sessions: r.observation.sessions,
        learned: r.observation.learned,
        skipped: json_skips(r.observation),
        policies: r
            .generated
            .policies
            .iter()
            .map(|p| JsonPolicy {
                namespace: &p.namespace,
                name: &p.name,
                subject: p.subject.as_deref(),
                also_selects: &p.also_selects,
                ingress_rules: p.ingress_rules,
                egress_rules: p.egress_rules,
                sessions: p.sessions,
            })
            .collect(),
        notes: &r.generated.notes,
        replaced: &r.generated.replaced,
        proof: json_proof(r.proof),
        diff: r.diff,
        written: r.written,
    })
}

fn plural(n: u64, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

fn proof_line(p: &Proof) -> String {
    if p.holds() {
        format!(
            "replay proof: {}/{} learned sessions still accepted",
            p.accepted, p.sessions
        )
    } else {
        format!(
            "replay proof FAILED: {}/{} learned sessions still accepted, {} would break",
            p.accepted,
            p.sessions,
            p.sessions - p.accepted
        )
    }
}

/// The report as text (stderr).
pub fn text(r: &GenerateReport<'_>) -> String {
    let mut out = String::new();
    let obs = r.observation;
    let _ = writeln!(
        out,
        "palisade generate: {} from {}: {} learned, {} skipped",
        plural(obs.sessions, "session"),
        r.captures.join(", "),
        obs.learned,
        obs.skipped.total()
    );
    for (reason, (n, examples)) in &obs.skipped.reasons {
        let _ = writeln!(
            out,
            "  skipped {n} {}: {} (e.g. {})",
            reason.as_str(),
            reason.explain(),
            examples.join("; ")
        );
    }
    let namespaces = r.generated.files.len();
    let n = r.generated.policies.len();
    let _ = writeln!(
        out,
        "  {n} polic{} in {}",
        if n == 1 { "y" } else { "ies" },
        plural(namespaces as u64, "namespace")
    );
    for n in &r.generated.notes {
        let _ = writeln!(out, "  note: {n}");
    }
    let _ = writeln!(out, "  {}", proof_line(r.proof));
    for b in &r.proof.broken {
        let _ = writeln!(
            out,
            "    would break: {} ({}, denied on {})",
            b.what,
            plural(b.sessions, "session"),
            b.denied_on
        );
    }
    let _ = writeln!(
        out,
        "  current → generated: isolates {} workload{} for ingress and {} for egress that were open",
        r.diff.newly_isolated[0],
        if r.diff.newly_isolated[0] == 1 {
            ""
        } else {
            "s"
        },
        r.diff.newly_isolated[1]
    );
    match &r.diff.skipped {
        Some(why) => {
            let _ = writeln!(out, "  connectivity diff skipped: {why}");
        }
        None => {
            let _ = writeln!(
                out,
                "  current → generated: closes {} connection{}, opens {}",
                r.diff.closes,
                if r.diff.closes == 1 { "" } else { "s" },
                r.diff.opens
            );
        }
    }
    for p in &r.diff.opened {
        let _ = writeln!(out, "    opens {} → {} : {}", p.src, p.dst, p.ports);
    }
    for (ns, names) in &r.generated.replaced {
        let _ = writeln!(
            out,
            "  replaces in {ns}: {} (kubectl delete networkpolicy -n {ns} {})",
            names.join(", "),
            names.join(" ")
        );
    }
    for f in r.written {
        let _ = writeln!(out, "  wrote {f}");
    }
    out
}

/// The report as Markdown.
pub fn md(r: &GenerateReport<'_>) -> String {
    let mut out = String::new();
    let obs = r.observation;
    let _ = writeln!(out, "# Generated policies\n");
    let _ = writeln!(
        out,
        "From {}: {}, **{} learned**, {} skipped.\n",
        r.captures.join(", "),
        plural(obs.sessions, "session"),
        obs.learned,
        obs.skipped.total()
    );
    if !obs.skipped.reasons.is_empty() {
        out.push_str("| skipped | sessions | why | examples |\n|---|---:|---|---|\n");
        for (reason, (n, examples)) in &obs.skipped.reasons {
            let _ = writeln!(
                out,
                "| {} | {n} | {} | {} |",
                reason.as_str(),
                reason.explain(),
                examples.join("; ")
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Replay proof\n\n{}\n", proof_line(r.proof));
    for b in &r.proof.broken {
        let _ = writeln!(
            out,
            "- would break: {} ({}, denied on {})",
            b.what,
            plural(b.sessions, "session"),
            b.denied_on
        );
    }
    out.push_str("## Policies\n\n| namespace | policy | selects | ingress rules | egress rules | sessions |\n|---|---|---|---:|---:|---:|\n");
    for p in &r.generated.policies {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            p.namespace,
            p.name,
            match (p.subject.as_deref(), p.also_selects.len()) {
                (None, _) => "every pod".to_string(),
                (Some(s), 0) => s.to_string(),
                (Some(s), n) => format!("{s} and {n} more no label tells apart"),
            },
            p.ingress_rules,
            p.egress_rules,
            p.sessions
        );
    }
    if !r.generated.notes.is_empty() {
        out.push_str("\n## Notes\n\n");
        for n in &r.generated.notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    diff_md(&mut out, "## Current → generated", r.diff);
    if !r.generated.replaced.is_empty() {
        out.push_str("\n## Replaced policies\n\n");
        for (ns, names) in &r.generated.replaced {
            let _ = writeln!(
                out,
                "- {ns}: `kubectl delete networkpolicy -n {ns} {}`",
                names.join(" ")
            );
        }
    }
    out
}

fn diff_md(out: &mut String, title: &str, d: &DiffSummary) {
    let _ = writeln!(
        out,
        "\n{title}\n\nIsolates {} workload{} for ingress and {} for egress that were open.\n",
        d.newly_isolated[0],
        if d.newly_isolated[0] == 1 { "" } else { "s" },
        d.newly_isolated[1]
    );
    if let Some(why) = &d.skipped {
        let _ = writeln!(out, "Connectivity diff skipped: {why}.");
        return;
    }
    let _ = writeln!(
        out,
        "Closes {} connection{}, opens {}.\n",
        d.closes,
        if d.closes == 1 { "" } else { "s" },
        d.opens
    );
    if !d.closed.is_empty() {
        out.push_str("| closes | src | dst | ports |\n|---|---|---|---|\n");
        for p in &d.closed {
            let _ = writeln!(out, "| closed | {} | {} | {} |", p.src, p.dst, p.ports);
        }
        for p in &d.opened {
            let _ = writeln!(out, "| opened | {} | {} | {} |", p.src, p.dst, p.ports);
        }
    }
}

/// One stage with what it closes, for the plan reports.
#[derive(Clone, Copy, Debug)]
pub struct StageReport<'a> {
    /// The stage.
    pub stage: &'a Stage,
    /// Previous stage (or current policies) → this stage.
    pub diff: &'a DiffSummary,
}

#[derive(Serialize)]
struct JsonRisk<'a> {
    connection: &'a str,
    sessions: u64,
}

#[derive(Serialize)]
struct JsonStage<'a> {
    number: usize,
    dir: &'a str,
    scope: &'static str,
    description: &'static str,
    policies: usize,
    diff: &'a DiffSummary,
    proof: JsonProof<'a>,
    rare: Vec<JsonRisk<'a>>,
    delete: &'a std::collections::BTreeMap<String, Vec<String>>,
    notes: &'a [String],
}

#[derive(Serialize)]
struct JsonPlan<'a> {
    captures: &'a [String],
    capture_span_seconds: f64,
    sessions: u64,
    learned: u64,
    skipped: Vec<JsonSkip<'a>>,
    stages: Vec<JsonStage<'a>>,
    refused: Option<JsonRefused<'a>>,
}

#[derive(Serialize)]
struct JsonRefused<'a> {
    scope: &'static str,
    proof: JsonProof<'a>,
}

fn span_seconds(obs: &Observation) -> f64 {
    let first = obs.map.edges.iter().map(|e| e.first_ns).min();
    let last = obs.map.edges.iter().map(|e| e.last_ns).max();
    match (first, last) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => 0.0,
    }
}

/// The plan as JSON (`harden --report json`).
pub fn plan_json(
    captures: &[String],
    obs: &Observation,
    plan: &Plan,
    stages: &[StageReport<'_>],
) -> String {
    to_json(&JsonPlan {
        captures,
        capture_span_seconds: span_seconds(obs),
        sessions: obs.sessions,
        learned: obs.learned,
        skipped: json_skips(obs),
        stages: stages
            .iter()
            .map(|s| JsonStage {
                number: s.stage.number,
                dir: &s.stage.dir,
                scope: s.stage.scope.as_str(),
                description: s.stage.scope.describe(),
                policies: s.stage.generated.policies.len(),
                diff: s.diff,
                proof: json_proof(&s.stage.proof),
                rare: s
                    .stage
                    .rare
                    .iter()
                    .map(|r| JsonRisk {
                        connection: &r.what,
                        sessions: r.sessions,
                    })
                    .collect(),
                delete: &s.stage.delete,
                notes: &s.stage.generated.notes,
            })
            .collect(),
        refused: plan.refused.as_ref().map(|(scope, proof)| JsonRefused {
            scope: scope.as_str(),
            proof: json_proof(proof),
        }),
    })
}

/// `PLAN.md`. `check` is the command prefix that re-runs the replay (`palisade replay
/// CAPTURE --cluster PATHS`), shown with each stage.
pub fn plan_md(
    captures: &[String],
    obs: &Observation,
    plan: &Plan,
    stages: &[StageReport<'_>],
    check: &str,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Hardening plan\n\nStart wide, observe, narrow: {} stage{} from the current policies to least privilege, learned from {} ({}, {} learned, {} skipped, spanning {:.1} s).\nEach stage directory holds the whole policy set of the namespaces it covers and replaces the previous stage there. Apply one, observe for a while, then go on.\n",
        stages.len(),
        if stages.len() == 1 { "" } else { "s" },
        captures.join(", "),
        plural(obs.sessions, "session"),
        obs.learned,
        obs.skipped.total(),
        span_seconds(obs)
    );
    if span_seconds(obs) < 24.0 * 3600.0 {
        out.push_str("**Risk:** the capture spans less than a day: daily and weekly jobs, failovers and rare clients are likely missing. Observe longer before the later stages.\n\n");
    }
    if let Some((n, _)) = obs
        .skipped
        .reasons
        .get(&palisade_discover::SkipReason::UnmappedAddress)
    {
        let _ = writeln!(
            out,
            "**Risk:** {} involve{} cluster addresses no pod of the model has: their peers get no rule. Export the pods again and re-run.\n",
            plural(*n, "session"),
            if *n == 1 { "s" } else { "" }
        );
    }
    for s in stages {
        let st = s.stage;
        let _ = writeln!(
            out,
            "## {} — {}\n\n{}.\n",
            st.dir,
            st.scope.as_str(),
            capitalize(st.scope.describe())
        );
        let _ = writeln!(
            out,
            "- **Closes:** {} connection{} (opens {}), against the {}.",
            s.diff.closes,
            if s.diff.closes == 1 { "" } else { "s" },
            s.diff.opens,
            if st.number == 1 {
                "current policies"
            } else {
                "previous stage"
            }
        );
        for p in &s.diff.closed {
            let _ = writeln!(out, "  - {} → {}: {}", p.src, p.dst, p.ports);
        }
        if s.diff.closes > s.diff.closed.len() {
            let _ = writeln!(
                out,
                "  - … and {} more",
                s.diff.closes - s.diff.closed.len()
            );
        }
        for p in &s.diff.opened {
            let _ = writeln!(out, "  - opens {} → {}: {}", p.src, p.dst, p.ports);
        }
        let _ = writeln!(
            out,
            "- **Evidence:** {}; 0 observed sessions break.",
            proof_line(&st.proof)
        );
        if st.rare.is_empty() {
            out.push_str("- **Risk:** every rule rests on at least 3 sessions.\n");
        } else {
            let _ = writeln!(
                out,
                "- **Risk:** {} rest{} on fewer than 3 sessions:",
                plural(st.rare.len() as u64, "rule"),
                if st.rare.len() == 1 { "s" } else { "" }
            );
            for r in st.rare.iter().take(TOP) {
                let _ = writeln!(out, "  - {} ({})", r.what, plural(r.sessions, "session"));
            }
            if st.rare.len() > TOP {
                let _ = writeln!(out, "  - … and {} more", st.rare.len() - TOP);
            }
        }
        for n in &st.generated.notes {
            let _ = writeln!(out, "- Note: {n}");
        }
        out.push_str("- **Check and apply:**\n\n  ```sh\n");
        let _ = writeln!(out, "  palisade lint {}/", st.dir);
        for (ns, names) in &st.delete {
            let _ = writeln!(
                out,
                "  kubectl delete networkpolicy -n {ns} {}",
                names.join(" ")
            );
        }
        let _ = writeln!(out, "  kubectl apply -f {}/", st.dir);
        let _ = writeln!(
            out,
            "  # then export the cluster again and replay new traffic against it:\n  {check}\n  ```\n"
        );
    }
    for (scope, opens) in &plan.widening {
        let _ = writeln!(
            out,
            "## Skipped: {}\n\nIt would open {opens} connection{} that the policy set before it denies: a hardening step never widens, so the plan goes on with the next, narrower stage.\n",
            scope.as_str(),
            if *opens == 1 { "" } else { "s" },
        );
    }
    if let Some((scope, proof)) = &plan.refused {
        let _ = writeln!(
            out,
            "## Not emitted: {}\n\n{}: the stage would break observed traffic, so it and the stages after it are left out.\n",
            scope.as_str(),
            proof_line(proof)
        );
        for b in &proof.broken {
            let _ = writeln!(
                out,
                "- {} ({}, denied on {})",
                b.what,
                plural(b.sessions, "session"),
                b.denied_on
            );
        }
    }
    out
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
