//! "Start wide, observe, narrow": the staged way from the current policies to least privilege.
//!
//! Each stage is a complete policy set for the namespaces it covers (it replaces the previous
//! stage's policies there), generated at a narrower [`Scope`] than the one before, and proven
//! by replay like `generate`'s output. A stage whose proof fails is not emitted, and neither
//! is anything after it.

use std::collections::BTreeMap;

use palisade_model::Model;

use crate::generate::{GenerateOptions, Generated, Scope, generate};
use crate::learn::Observation;
use crate::proof::{Proof, ReloadError, proposed_model, prove};

/// Sessions below this count make a rule "rare" evidence.
pub const RARE_SESSIONS: u64 = 3;

/// Evidence a stage relies on that was seen only a few times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Risk {
    /// `src → dst` at the stage's granularity (with `:port/PROTO` from the ports stage on).
    pub what: String,
    /// Learned sessions behind it.
    pub sessions: u64,
}

/// One stage of the plan.
#[derive(Debug)]
pub struct Stage {
    /// 1-based.
    pub number: usize,
    /// How far it goes.
    pub scope: Scope,
    /// Directory name: `01-namespace-ingress`.
    pub dir: String,
    /// The policies.
    pub generated: Generated,
    /// The replay proof.
    pub proof: Proof,
    /// Rules that rely on fewer than [`RARE_SESSIONS`] learned sessions.
    pub rare: Vec<Risk>,
    /// Policies of the previous stage (or the current ones, for the first stage) that this
    /// stage's set replaces, by namespace: delete them when applying it.
    pub delete: BTreeMap<String, Vec<String>>,
}

/// A stage as it is kept, for [`harden`]'s caller.
pub struct KeptStage<'a> {
    /// The cluster before it: the previous kept stage applied, or the current policies.
    pub before: &'a Model,
    /// The cluster with it applied.
    pub after: &'a Model,
    /// Its directory name, as in [`Stage::dir`].
    pub dir: &'a str,
    /// Its policies; the caller may take the file texts (the plan keeps the rest).
    pub generated: &'a mut Generated,
}

/// The plan: the stages that hold, and the first one that did not (if any).
#[derive(Debug, Default)]
pub struct Plan {
    /// Stages, widest first; every one proven.
    pub stages: Vec<Stage>,
    /// A stage left out because learned sessions would break under it, with the proof.
    pub refused: Option<(Scope, Proof)>,
    /// Stages left out because they would open connections the set before them denies
    /// (every stage but the last), with the number of connections.
    pub widening: Vec<(Scope, usize)>,
}

fn risks(obs: &Observation, scope: Scope) -> Vec<Risk> {
    let nodes = &obs.map.nodes;
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    for t in &obs.tuples {
        let (src, dst) = (&nodes[t.src_node], &nodes[t.dst_node]);
        let key = match scope {
            Scope::NamespaceIngress => format!(
                "{} → {}",
                src.namespace.as_deref().unwrap_or(&src.id),
                dst.namespace.as_deref().unwrap_or(&dst.id)
            ),
            Scope::WorkloadIngress => format!("{} → {}", src.id, dst.id),
            Scope::IngressPorts | Scope::Full => {
                format!("{} → {} :{}/{}", src.id, dst.id, t.port, t.protocol)
            }
        };
        *by.entry(key).or_default() += t.sessions;
    }
    by.into_iter()
        .filter(|(_, n)| *n < RARE_SESSIONS)
        .map(|(what, sessions)| Risk { what, sessions })
        .collect()
}

/// Builds the staged plan. `options.scope` is ignored: every scope is tried, widest first.
/// `opens(before, after)` counts the connections `after` allows that `before` does not (the
/// caller's connectivity diff): a stage other than the last that opens any is skipped, since
/// a hardening step never widens (it happens when the current policies are already tighter
/// in some direction than a wide early stage). `accepted(before, after)` is called once per
/// stage kept, in order, with the cluster before it (the previous stage, or the current
/// policies) and with it applied: what the caller wants of the two models (a diff) it takes
/// there, because the plan keeps only the policies — a whole cluster model per stage would
/// hold several copies of the cluster at once (≈ 1 GB each at 150,000 pods). It also gets
/// the stage's generated set, whose file texts it may take (to write them at once): the
/// plan keeps what is left, and the texts of every stage held to the end add up (≈ 60 MB a
/// stage at 150,000 pods).
pub fn harden(
    model: &Model,
    obs: &Observation,
    options: &GenerateOptions,
    opens: &dyn Fn(&Model, &Model) -> usize,
    accepted: &mut dyn FnMut(KeptStage<'_>),
) -> Result<Plan, ReloadError> {
    // The last kept stage's model: what the next stage is compared with.
    let mut last: Option<Model> = None;
    let mut plan = Plan::default();
    let mut previous: BTreeMap<String, Vec<String>> =
        model.policies.iter().fold(BTreeMap::new(), |mut acc, p| {
            acc.entry(model.namespace(p.namespace).name.clone())
                .or_insert_with(Vec::new)
                .push(p.name.clone());
            acc
        });
    for scope in Scope::ALL {
        let opts = GenerateOptions {
            scope,
            ..options.clone()
        };
        let mut generated = generate(model, obs, &opts);
        let proposed = proposed_model(model, &generated, opts.mode)?;
        let proof = prove(&proposed, obs);
        if !proof.holds() {
            plan.refused = Some((scope, proof));
            break;
        }
        let before = last.as_ref().unwrap_or(model);
        if scope != Scope::Full {
            let n = opens(before, &proposed);
            if n > 0 {
                plan.widening.push((scope, n));
                continue;
            }
        }
        let mut delete: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut now: BTreeMap<String, Vec<String>> = previous.clone();
        for ns in generated.files.keys() {
            let names: Vec<String> = generated
                .policies
                .iter()
                .filter(|p| p.namespace == *ns)
                .map(|p| p.name.clone())
                .collect();
            let mut gone: Vec<String> = previous
                .get(ns)
                .map(|old| old.iter().filter(|n| !names.contains(n)).cloned().collect())
                .unwrap_or_default();
            gone.sort();
            gone.dedup();
            if !gone.is_empty() {
                delete.insert(ns.clone(), gone);
            }
            now.insert(ns.clone(), names);
        }
        previous = now;
        let number = plan.stages.len() + 1;
        let dir = format!("{number:02}-{}", scope.as_str());
        accepted(KeptStage {
            before,
            after: &proposed,
            dir: &dir,
            generated: &mut generated,
        });
        last = Some(proposed);
        plan.stages.push(Stage {
            number,
            scope,
            dir,
            rare: risks(obs, scope),
            generated,
            proof,
            delete,
        });
    }
    Ok(plan)
}
