//! The proof before output: the generated YAML is parsed back, laid over the cluster model,
//! and every learned session is replayed against it.

use std::collections::BTreeSet;

use palisade_engine::{Endpoint, Engine, Entity, SideOutcome};
use palisade_load::{Input, LoadOptions, load};
use palisade_model::{Model, Peer, PeerKind, Policy, Rule, Span};

use crate::generate::{GenerateMode, Generated};
use crate::learn::{End, Observation};

/// The generated files did not load back (a bug in the generator, reported rather than hidden).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReloadError(pub Vec<String>);

impl std::fmt::Display for ReloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the generated policies do not load back: {}",
            self.0.join("; ")
        )
    }
}

impl std::error::Error for ReloadError {}

fn shift(span: &mut Option<Span>, offset: u32) {
    if let Some(s) = span {
        s.source.0 += offset;
    }
}

fn shift_rule(rule: &mut Rule, offset: u32) {
    shift(&mut rule.span, offset);
    for Peer { kind, span } in &mut rule.peers {
        shift(span, offset);
        if let PeerKind::Selector {
            namespace_selector,
            pod_selector,
        } = kind
        {
            for sel in [namespace_selector, pod_selector].into_iter().flatten() {
                shift(&mut sel.span, offset);
            }
        }
    }
    for p in &mut rule.ports {
        shift(&mut p.span, offset);
    }
}

fn shift_policy(policy: &mut Policy, offset: u32) {
    shift(&mut policy.span, offset);
    shift(&mut policy.pod_selector.span, offset);
    if let Some(types) = &mut policy.declared_policy_types {
        for (_, s) in types {
            shift(s, offset);
        }
    }
    for r in policy.ingress.iter_mut().chain(policy.egress.iter_mut()) {
        shift_rule(r, offset);
    }
}

/// A copy of `model` whose policies are `generated` plus, with `--mode replace`, the current
/// policies of the namespaces it does not cover (with `--mode add`, all current ones). Pods,
/// workloads and their ids are the model's, so sessions map the same way.
pub fn proposed_model(
    model: &Model,
    generated: &Generated,
    mode: GenerateMode,
) -> Result<Model, ReloadError> {
    let inputs: Vec<Input> = generated
        .files
        .iter()
        .map(|(ns, text)| Input::Text {
            name: format!("generated/{ns}.yaml"),
            text: text.clone(),
        })
        .collect();
    let loaded = load(&inputs, &LoadOptions::default());
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .chain(loaded.findings.iter())
        .filter(|d| d.severity >= palisade_diag::Severity::Warning)
        .map(|d| d.message.clone())
        .collect();
    if !errors.is_empty() || loaded.model.policies.len() != generated.policies.len() {
        return Err(ReloadError(errors));
    }
    let mut out = Model::default();
    for (_, f) in model.sources.iter() {
        out.sources.add(f.path.clone(), f.text.clone());
    }
    let offset = out.sources.len() as u32;
    for (_, f) in loaded.model.sources.iter() {
        out.sources.add(f.path.clone(), f.text.clone());
    }
    for ns in &model.namespaces {
        let id = out.ensure_namespace(&ns.name);
        out.namespaces[id.index()] = ns.clone();
    }
    // The same pods and workloads, shared rather than copied (at 150,000 pods a copy was
    // hundreds of MB, and `harden` holds three models while it compares a stage).
    out.pods = model.pods.clone();
    out.workloads = model.workloads.clone();
    for s in &model.services {
        out.add_service(s.clone());
    }
    let covered: BTreeSet<&str> = generated.files.keys().map(String::as_str).collect();
    for p in &model.policies {
        let ns = model.namespace(p.namespace).name.as_str();
        if mode == GenerateMode::Add || !covered.contains(ns) {
            out.add_policy(p.clone());
        }
    }
    for p in &loaded.model.policies {
        let mut p = p.clone();
        let ns = loaded.model.namespace(p.namespace).name.clone();
        p.namespace = out.ensure_namespace(&ns);
        shift_policy(&mut p, offset);
        out.add_policy(p);
    }
    Ok(out)
}

/// A learned session (group) the generated set would deny.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// `src → dst :port/PROTO`, with the map's node ids.
    pub what: String,
    /// Learned sessions it stands for.
    pub sessions: u64,
    /// `egress`, `ingress` or `egress and ingress`: the side that denies.
    pub denied_on: &'static str,
}

/// The replay proof.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Proof {
    /// Learned sessions replayed.
    pub sessions: u64,
    /// Of those, allowed by the proposed set.
    pub accepted: u64,
    /// The ones denied, grouped.
    pub broken: Vec<Broken>,
}

impl Proof {
    /// Whether every learned session is still allowed.
    pub fn holds(&self) -> bool {
        self.broken.is_empty()
    }
}

fn entity(engine: &Engine, end: &End) -> Entity {
    match end.pod {
        Some(p) => engine.entity(&Endpoint::Pod(p)),
        None => engine.entity_of(end.ip),
    }
}

/// Replays every learned session of `obs` against `proposed` (whose pods are the observed
/// model's, as [`proposed_model`] builds it).
pub fn prove(proposed: &Model, obs: &Observation) -> Proof {
    let engine = Engine::new(proposed);
    let mut proof = Proof::default();
    for t in &obs.tuples {
        let v = engine.verdict(
            entity(&engine, &t.src),
            entity(&engine, &t.dst),
            t.protocol,
            t.port,
        );
        proof.sessions += t.sessions;
        if v.allowed {
            proof.accepted += t.sessions;
            continue;
        }
        let denied_on = match (
            v.egress == SideOutcome::Denied,
            v.ingress == SideOutcome::Denied,
        ) {
            (true, true) => "egress and ingress",
            (true, false) => "egress",
            _ => "ingress",
        };
        let nodes = &obs.map.nodes;
        let what = format!(
            "{} → {} :{}/{}",
            nodes[t.src_node].id, nodes[t.dst_node].id, t.port, t.protocol
        );
        match proof
            .broken
            .iter_mut()
            .find(|b| b.what == what && b.denied_on == denied_on)
        {
            Some(b) => b.sessions += t.sessions,
            None => proof.broken.push(Broken {
                what,
                sessions: t.sessions,
                denied_on,
            }),
        }
    }
    proof
}

/// Workloads (top-level, or bare pods) a policy change isolates that were not isolated
/// before, per direction `[ingress, egress]`: the part of "what it closes" that stays cheap
/// on any cluster size (the pairwise connectivity diff grows with the square of it).
pub fn newly_isolated(before: &Model, after: &Model) -> [usize; 2] {
    use palisade_engine::Reference;
    use palisade_model::Direction;
    let (b, a) = (Reference::new(before), Reference::new(after));
    let mut out = [0usize; 2];
    for id in before.pod_ids() {
        let pod = &before.pods[id.index()];
        if pod.host_network {
            continue;
        }
        // One pod stands for its workload: the first one grouped under it.
        if let Some(w) = pod.workload
            && before.workloads[w.index()].pods.first() != Some(&id)
        {
            continue;
        }
        for (i, d) in [Direction::Ingress, Direction::Egress]
            .into_iter()
            .enumerate()
        {
            if b.isolating_policies(id, d).is_empty() && !a.isolating_policies(id, d).is_empty() {
                out[i] += 1;
            }
        }
    }
    out
}
