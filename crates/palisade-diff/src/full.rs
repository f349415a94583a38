//! The full path: both sides' complete connectivity, compared pair by pair.

use crate::{Diff, End, Endpoints, Raw, Sides, external, policies};
use palisade_engine::Engine;
use palisade_engine::connectivity::{Level, PeerRef, compute};
use palisade_model::{Direction, Model, PortSet};
use rustc_hash::FxHashMap;

pub(crate) fn diff(old: &Model, new: &Model, level: Level) -> Diff {
    let sides = Sides::numbered(old, new, level);
    let edits = policies::edits(old, new);
    let names = |model: &Model, eps: &Endpoints| -> FxHashMap<String, u32> {
        (0..eps.len() as u32)
            .map(|e| (eps.name(model, e), e))
            .collect()
    };
    let old_index = names(old, &sides.old_eps);
    let new_index = names(new, &sides.new_eps);
    let end = |name: &str| End::Ep {
        old: old_index.get(name).copied(),
        new: new_index.get(name).copied(),
    };

    // Pod/workload pairs, from the compiled engine.
    let mut pairs: FxHashMap<(String, String), (PortSet, PortSet)> = FxHashMap::default();
    for (model, after) in [(old, false), (new, true)] {
        let engine = Engine::new(model);
        let result = compute(model, &engine, level);
        for c in result.connections {
            let (s, d) = (&result.peers[c.src], &result.peers[c.dst]);
            if matches!(s.what, PeerRef::External(_)) || matches!(d.what, PeerRef::External(_)) {
                continue;
            }
            let slot = pairs.entry((s.name.clone(), d.name.clone())).or_default();
            if after {
                slot.1 = c.ports;
            } else {
                slot.0 = c.ports;
            }
        }
    }
    let mut raws: Vec<Raw> = pairs
        .into_iter()
        .filter(|(_, (b, a))| b != a)
        .map(|((s, d), (before, after))| Raw {
            src: end(&s),
            dst: end(&d),
            before,
            after,
        })
        .collect();

    // External ranges, per endpoint, on the refinement of both sides' boundaries.
    let mut all_names: Vec<&String> = old_index.keys().chain(new_index.keys()).collect();
    all_names.sort();
    all_names.dedup();
    let (mut appeared, mut disappeared) = (Vec::new(), Vec::new());
    for name in all_names {
        let (o, n) = (old_index.get(name).copied(), new_index.get(name).copied());
        match (o, n) {
            (None, Some(_)) => appeared.push(name.clone()),
            (Some(_), None) => disappeared.push(name.clone()),
            _ => {}
        }
        let old_pods = o.map(|e| sides.old_eps.pods(old, e));
        let new_pods = n.map(|e| sides.new_eps.pods(new, e));
        let old_side = old_pods.as_deref().map(|p| (&sides.old, p));
        let new_side = new_pods.as_deref().map(|p| (&sides.new, p));
        for direction in [Direction::Egress, Direction::Ingress] {
            external::rows(
                old_side,
                new_side,
                direction,
                End::Ep { old: o, new: n },
                &mut raws,
            );
        }
    }
    sides.finish(raws, &edits, appeared, disappeared, false)
}
