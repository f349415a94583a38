//! A truth table for one port and protocol, as the upstream e2e suite prints it.

use crate::Engine;
use crate::Selection;
use crate::connectivity::Level;
use palisade_model::{Model, PodId, Protocol, WorkloadId};
use rustc_hash::FxHashMap;

/// `allowed[i][j]`: may `peers[i]` reach `peers[j]` on the port?
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matrix {
    /// The port probed.
    pub port: u16,
    /// The protocol probed.
    pub protocol: Protocol,
    /// Endpoint names (`ns/name`), sorted.
    pub peers: Vec<String>,
    /// Row = from, column = to.
    pub allowed: Vec<Vec<bool>>,
}

/// Computes the matrix. A workload is allowed to reach another only when every pod of the
/// first may reach every pod of the second; the diagonal is evaluated like any other cell.
pub fn compute(
    model: &Model,
    engine: &Engine,
    level: Level,
    protocol: Protocol,
    port: u16,
) -> Matrix {
    compute_selected(model, engine, level, protocol, port, &Selection::default())
}

/// The rows (and columns) of the matrix of a selection: the selected pods, or the workloads
/// (and bare pods) with a selected pod. Counted without evaluating anything.
pub fn rows(model: &Model, level: Level, selection: &Selection) -> usize {
    endpoints(model, level, selection, |_| 0).len()
}

/// Endpoints with their pods' `class` values, unsorted: every pod of a chosen workload, so
/// that a workload's cell still means "every pod of it".
fn endpoints<T>(
    model: &Model,
    level: Level,
    selection: &Selection,
    class: impl Fn(PodId) -> T,
) -> Vec<(String, Vec<T>)> {
    let mut endpoints: Vec<(String, Vec<T>)> = Vec::new();
    let everything = selection.is_everything();
    match level {
        Level::Pod => {
            for pod in model.pod_ids() {
                if everything || selection.pod(model, pod) {
                    endpoints.push((model.pod_name(pod), vec![class(pod)]));
                }
            }
        }
        Level::Workload => {
            let mut index: FxHashMap<WorkloadId, usize> = FxHashMap::default();
            let mut chosen = Vec::new();
            for pod in model.pod_ids() {
                let selected = everything || selection.pod(model, pod);
                match model.pods[pod.index()].workload {
                    Some(w) => {
                        let slot = *index.entry(w).or_insert_with(|| {
                            endpoints.push((model.workload_name(w), Vec::new()));
                            chosen.push(false);
                            endpoints.len() - 1
                        });
                        endpoints[slot].1.push(class(pod));
                        chosen[slot] |= selected;
                    }
                    None => {
                        endpoints.push((model.pod_name(pod), vec![class(pod)]));
                        chosen.push(selected);
                    }
                }
            }
            let mut chosen = chosen.into_iter();
            endpoints.retain(|_| chosen.next().unwrap_or(false));
        }
    }
    endpoints
}

/// [`compute`] for the rows and columns of a selection (`-n`, `-l`): the square of the
/// selected endpoints, evaluated without the rest of the table.
pub fn compute_selected(
    model: &Model,
    engine: &Engine,
    level: Level,
    protocol: Protocol,
    port: u16,
    selection: &Selection,
) -> Matrix {
    let mut endpoints = endpoints(model, level, selection, |pod| engine.class_of(pod));
    endpoints.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, classes) in &mut endpoints {
        classes.sort_unstable();
        classes.dedup();
    }
    let allowed = endpoints
        .iter()
        .map(|(_, from)| {
            endpoints
                .iter()
                .map(|(_, to)| {
                    from.iter().all(|&s| {
                        to.iter().all(|&d| {
                            engine
                                .verdict(
                                    crate::Entity::Class(s),
                                    crate::Entity::Class(d),
                                    protocol,
                                    port,
                                )
                                .allowed
                        })
                    })
                })
                .collect()
        })
        .collect();
    Matrix {
        port,
        protocol,
        peers: endpoints.into_iter().map(|(n, _)| n).collect(),
        allowed,
    }
}
