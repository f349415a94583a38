//! A truth table for one port and protocol, as the upstream e2e suite prints it.

use crate::Engine;
use crate::connectivity::Level;
use palisade_model::{Model, Protocol, WorkloadId};
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
    let mut endpoints: Vec<(String, Vec<u32>)> = Vec::new();
    match level {
        Level::Pod => {
            for pod in model.pod_ids() {
                endpoints.push((model.pod_name(pod), vec![engine.class_of(pod)]));
            }
        }
        Level::Workload => {
            let mut index: FxHashMap<WorkloadId, usize> = FxHashMap::default();
            for pod in model.pod_ids() {
                let class = engine.class_of(pod);
                match model.pods[pod.index()].workload {
                    Some(w) => {
                        let slot = *index.entry(w).or_insert_with(|| {
                            endpoints.push((model.workload_name(w), Vec::new()));
                            endpoints.len() - 1
                        });
                        endpoints[slot].1.push(class);
                    }
                    None => endpoints.push((model.pod_name(pod), vec![class])),
                }
            }
        }
    }
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
