//! Truth tables observed on the kernel, next to the engine's prediction.

use crate::SandboxError;
use crate::probe::Outcome;
use crate::sandbox::{Probe, Sandbox, Source};
use palisade_engine::connectivity::Level;
use palisade_engine::{Engine, matrix};
use palisade_model::{Model, PodId, Protocol};
use std::net::IpAddr;
use std::time::Duration;

/// One port's table: what the engine predicts and what the kernel did, per pod pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelMatrix {
    /// The port probed.
    pub port: u16,
    /// The protocol probed.
    pub protocol: Protocol,
    /// Pod names (`ns/name`), sorted (the order of `palisade matrix`).
    pub peers: Vec<String>,
    /// The engine's verdicts, row = from, column = to.
    pub predicted: Vec<Vec<bool>>,
    /// The kernel's outcomes.
    pub observed: Vec<Vec<Outcome>>,
}

/// A cell where kernel and model disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Source pod.
    pub src: String,
    /// Destination pod.
    pub dst: String,
    /// What the kernel did.
    pub observed: Outcome,
    /// What the engine predicted (allowed?).
    pub predicted: bool,
}

impl KernelMatrix {
    /// Cells where the kernel's verdict differs from the prediction (`unsupported` cells
    /// have no verdict and never mismatch).
    pub fn mismatches(&self) -> Vec<Mismatch> {
        let mut out = Vec::new();
        for (i, row) in self.observed.iter().enumerate() {
            for (j, &observed) in row.iter().enumerate() {
                let predicted = self.predicted[i][j];
                if observed.allowed().is_some_and(|a| a != predicted) {
                    out.push(Mismatch {
                        src: self.peers[i].clone(),
                        dst: self.peers[j].clone(),
                        observed,
                        predicted,
                    });
                }
            }
        }
        out
    }
}

/// The address a probe from `src` to `dst` uses: IPv4 when both have one, else IPv6; `None`
/// when they share no family.
pub fn probe_address(sandbox: &Sandbox, src: PodId, dst: PodId) -> Option<IpAddr> {
    let (s, d) = (sandbox.plan().pod(src), sandbox.plan().pod(dst));
    [false, true]
        .into_iter()
        .find(|&v6| s.ip(v6).is_some() && d.ip(v6).is_some())
        .and_then(|v6| d.ip(v6))
}

/// Probes every pod pair on each `(protocol, port)` (all in flight at once) and pairs the
/// outcomes with the engine's prediction.
pub fn probe_matrices(
    model: &Model,
    sandbox: &Sandbox,
    ports: &[(Protocol, u16)],
    timeout: Duration,
) -> Result<Vec<KernelMatrix>, SandboxError> {
    let mut order: Vec<PodId> = model.pod_ids().collect();
    order.sort_by_key(|&p| model.pod_name(p));
    let mut probes = Vec::new();
    let mut slots = Vec::new();
    for (t, &(protocol, port)) in ports.iter().enumerate() {
        for (i, &src) in order.iter().enumerate() {
            for (j, &dst) in order.iter().enumerate() {
                if let Some(ip) = probe_address(sandbox, src, dst) {
                    probes.push(Probe {
                        src: Source::Pod(src),
                        dst: ip,
                        port,
                        protocol,
                    });
                    slots.push((t, i, j));
                }
            }
        }
    }
    let engine = Engine::new(model);
    let n = order.len();
    let mut tables: Vec<KernelMatrix> = ports
        .iter()
        .map(|&(protocol, port)| {
            let predicted = matrix::compute(model, &engine, Level::Pod, protocol, port);
            KernelMatrix {
                port,
                protocol,
                peers: predicted.peers,
                predicted: predicted.allowed,
                observed: vec![vec![Outcome::Unsupported; n]; n],
            }
        })
        .collect();
    // A disagreement may be a slow machine: ask again, patiently, before calling it a
    // mismatch (a disagreement the rules cause persists).
    let expect: Vec<bool> = slots
        .iter()
        .map(|&(t, i, j)| tables[t].predicted[i][j])
        .collect();
    let outcomes = sandbox.probe_confirmed(&probes, timeout, &expect)?;
    for ((t, i, j), outcome) in slots.iter().copied().zip(outcomes) {
        tables[t].observed[i][j] = outcome;
    }
    Ok(tables)
}
