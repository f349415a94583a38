//! Changes between an endpoint and external address ranges, on the common refinement of
//! both sides' ipBlock boundaries.

use crate::eval::{Side, Target};
use crate::{End, Raw};
use palisade_engine::ipspace::Family;
use palisade_engine::ipspace::family_max;
use palisade_model::{Direction, PodId, PortSet};

/// The changed ranges of one endpoint in one direction (egress: endpoint → range; ingress:
/// range → endpoint), adjacent ranges with equal before/after merged. A side where the
/// endpoint does not exist allows nothing.
pub(crate) fn rows(
    old: Option<(&Side<'_>, &[PodId])>,
    new: Option<(&Side<'_>, &[PodId])>,
    direction: Direction,
    endpoint: End,
    out: &mut Vec<Raw>,
) {
    let mut cuts: Vec<(Family, u128)> = vec![(Family::V4, 0), (Family::V6, 0)];
    for (side, pods) in old.iter().chain(new.iter()) {
        for &pod in *pods {
            side.cuts(pod, direction, &mut cuts);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let eval = |side: Option<(&Side<'_>, &[PodId])>, family: Family, lo: u128| -> PortSet {
        let Some((side, pods)) = side else {
            return PortSet::none();
        };
        let mut acc: Option<PortSet> = None;
        for &pod in pods {
            let p = side.side_ports(pod, direction, Target::Range(family, lo));
            acc = Some(match acc {
                None => p,
                Some(a) => a.intersection(&p),
            });
            if acc.as_ref().is_some_and(PortSet::is_empty) {
                break;
            }
        }
        acc.unwrap_or_default()
    };
    let mut pending: Option<(Family, u128, u128, PortSet, PortSet)> = None;
    let flush = |p: Option<(Family, u128, u128, PortSet, PortSet)>, out: &mut Vec<Raw>| {
        if let Some((f, lo, hi, before, after)) = p {
            let range = End::Range(f, lo, hi);
            let (src, dst) = match direction {
                Direction::Egress => (endpoint, range),
                Direction::Ingress => (range, endpoint),
            };
            out.push(Raw {
                src,
                dst,
                before,
                after,
            });
        }
    };
    for (i, &(family, lo)) in cuts.iter().enumerate() {
        let hi = match cuts.get(i + 1) {
            Some(&(f, next)) if f == family => next - 1,
            _ => family_max(family),
        };
        let before = eval(old, family, lo);
        let after = eval(new, family, lo);
        if before == after {
            flush(pending.take(), out);
            continue;
        }
        match &mut pending {
            Some((f, _, phi, pb, pa))
                if *f == family && *phi + 1 == lo && *pb == before && *pa == after =>
            {
                *phi = hi;
            }
            _ => {
                flush(pending.take(), out);
                pending = Some((family, lo, hi, before, after));
            }
        }
    }
    flush(pending.take(), out);
}
