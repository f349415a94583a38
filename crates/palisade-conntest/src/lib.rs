//! Declarative connectivity tests for CI (`palisade test`): specs in Palisade's own format
//! or netassert v2, expanded against a model into concrete connections ([`Check`]s), and
//! graded from verdicts — the engine's (static) or the kernel's (`--sandbox`, run by the
//! binary through `palisade-sandbox`).
//!
//! A test names sets of endpoints; it passes when **every** connection it names has the
//! expected outcome (a workload, namespace or CIDR stands for all its pods or addresses).

pub mod spec;
pub mod yaml;

use ipnet::IpNet;
use palisade_engine::{Endpoint, Engine};
use palisade_model::{LabelSelector, Model, PodId, Protocol};
use spec::{EndpointSpec, Expect, PortSpec, TestCase};
use std::net::IpAddr;

pub use spec::{SpecError, parse_spec};

/// One concrete connection a test names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Check {
    /// Source.
    pub src: Endpoint,
    /// Destination.
    pub dst: Endpoint,
    /// Protocol.
    pub protocol: Protocol,
    /// Destination port.
    pub port: u16,
}

/// Resolves a test's endpoints against the model.
fn endpoints(model: &Model, engine: &Engine, spec: &EndpointSpec) -> Result<Vec<Endpoint>, String> {
    let pods = |f: &dyn Fn(PodId) -> bool| -> Vec<Endpoint> {
        model
            .pod_ids()
            .filter(|&p| f(p))
            .map(Endpoint::Pod)
            .collect()
    };
    let found = match spec {
        EndpointSpec::Name(name) => palisade_engine::resolve_endpoints(model, name)
            .ok_or_else(|| format!("no pod or workload `{name}` in the cluster"))?,
        EndpointSpec::Namespace(ns) => {
            let id = model
                .namespace_id(ns)
                .ok_or_else(|| format!("no namespace `{ns}` in the cluster"))?;
            pods(&|p| model.pods[p.index()].namespace == id)
        }
        EndpointSpec::Labels { namespace, labels } => {
            let ns = match namespace {
                Some(ns) => Some(
                    model
                        .namespace_id(ns)
                        .ok_or_else(|| format!("no namespace `{ns}` in the cluster"))?,
                ),
                None => None,
            };
            let selector =
                LabelSelector::match_labels(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            pods(&|p| {
                let pod = &model.pods[p.index()];
                ns.is_none_or(|ns| pod.namespace == ns) && selector.matches(&pod.labels)
            })
        }
        EndpointSpec::Ip(ip) => {
            palisade_engine::resolve_endpoints(model, &ip.to_string()).unwrap_or_default()
        }
        EndpointSpec::Cidr(net) => external_representatives(model, engine, net),
        EndpointSpec::Host(host) => {
            return Err(format!(
                "`{host}` is a DNS name: without a cluster there is nothing to resolve it to; use an IP or a CIDR"
            ));
        }
    };
    if found.is_empty() {
        return Err(format!("`{spec}` matches no pod"));
    }
    Ok(found)
}

/// One address per piece of the ipBlock partition inside `net`, never a pod's address: the
/// policies cannot tell two addresses of one piece apart, so one probe per piece covers the
/// range.
pub fn external_representatives(model: &Model, engine: &Engine, net: &IpNet) -> Vec<Endpoint> {
    let pod_ips: std::collections::HashSet<IpAddr> = model
        .pods
        .iter()
        .flat_map(|p| p.ips.iter().copied())
        .collect();
    let space = engine.ip_space();
    let mut out = Vec::new();
    // The first usable unicast address of [lo, hi]: near its start, or at a few landmarks
    // (an atom starting at 0.0.0.0 holds 1.0.0.1).
    let pick = |lo: u128, hi: u128, v6: bool| -> Option<IpAddr> {
        let to_ip = |k: u128| -> IpAddr {
            if v6 {
                IpAddr::from(std::net::Ipv6Addr::from(k))
            } else {
                IpAddr::from(std::net::Ipv4Addr::from(k as u32))
            }
        };
        let landmarks: &[u128] = if v6 {
            &[0x2001_0db9 << 96, 0xfc00 << 112, 0x2000 << 112]
        } else {
            &[0x0100_0001, 0x0b00_0001, 0x8000_0001, 0xc800_0001]
        };
        (lo..=hi.min(lo.saturating_add(64)))
            .chain(landmarks.iter().copied().filter(|&k| lo <= k && k <= hi))
            .map(to_ip)
            .find(|ip| usable(*ip) && !pod_ips.contains(ip))
    };
    let v6 = matches!(net, IpNet::V6(_));
    let (net_lo, net_hi) = match net {
        IpNet::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    };
    let range = space.atoms_in(net);
    for atom in &space.atoms()[range.start as usize..range.end as usize] {
        let (lo, hi) = atom.bounds();
        let key = |ip: IpAddr| match ip {
            IpAddr::V4(a) => u128::from(u32::from(a)),
            IpAddr::V6(a) => u128::from(a),
        };
        if let Some(ip) = pick(key(lo).max(net_lo), key(hi).min(net_hi), v6) {
            out.push(Endpoint::External(ip));
        }
    }
    if out.is_empty()
        && let Some(ip) = pick(net_lo, net_hi, v6)
    {
        out.push(Endpoint::External(ip));
    }
    out
}

/// Whether an address can be a peer of a real connection (not unspecified, loopback,
/// multicast, broadcast/reserved, "this network" or link-local).
fn usable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let first = a.octets()[0];
            first != 0 && first != 127 && first < 224 && !a.is_link_local()
        }
        IpAddr::V6(a) => {
            !a.is_unspecified()
                && !a.is_loopback()
                && !a.is_multicast()
                && a.to_ipv4_mapped().is_none()
                && (a.segments()[0] & 0xffc0) != 0xfe80
        }
    }
}

/// Expands a test into the connections it names; `Err` says why it cannot be run.
pub fn expand(model: &Model, engine: &Engine, test: &TestCase) -> Result<Vec<Check>, String> {
    let sources = endpoints(model, engine, &test.from)?;
    let destinations = endpoints(model, engine, &test.to)?;
    let mut checks = Vec::new();
    for &dst in &destinations {
        let ports: Vec<(Protocol, u16)> = match (&test.port, dst) {
            (Some(PortSpec::Number(n)), _) => vec![(test.protocol.unwrap_or(Protocol::Tcp), *n)],
            (Some(PortSpec::Name(name)), Endpoint::Pod(p)) => model.pods[p.index()]
                .ports
                .iter()
                .filter(|cp| {
                    cp.name.as_deref() == Some(name)
                        && test.protocol.is_none_or(|pr| pr == cp.protocol)
                })
                .map(|cp| (cp.protocol, cp.port))
                .collect(),
            (Some(PortSpec::Name(name)), Endpoint::External(ip)) => {
                return Err(format!(
                    "named port `{name}` cannot apply to the external address {ip}: give a number"
                ));
            }
            (None, Endpoint::Pod(p)) => model.pods[p.index()]
                .ports
                .iter()
                .filter(|cp| test.protocol.is_none_or(|pr| pr == cp.protocol))
                .map(|cp| (cp.protocol, cp.port))
                .collect(),
            (None, Endpoint::External(ip)) => {
                return Err(format!(
                    "`to` includes the external address {ip}: give a `port`"
                ));
            }
        };
        for &src in &sources {
            if src == dst {
                continue;
            }
            for &(protocol, port) in &ports {
                checks.push(Check {
                    src,
                    dst,
                    protocol,
                    port,
                });
            }
        }
    }
    if checks.is_empty() {
        return Err(match &test.port {
            Some(PortSpec::Name(name)) => format!("no destination pod declares a container port named `{name}`"),
            _ => "the test names no connection (no declared container port on the destination pods, or only a pod to itself): give a `port`".into(),
        });
    }
    checks.sort_by_key(|c| (c.src, c.dst, c.protocol, c.port));
    checks.dedup();
    Ok(checks)
}

/// How a test ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Every connection had the expected outcome.
    Passed,
    /// Some connection did not.
    Failed {
        /// The first connection with the wrong outcome.
        check: Check,
        /// What was seen there (`allowed`, `denied`, or a kernel outcome).
        observed: String,
        /// How many connections failed.
        failures: usize,
    },
    /// The test could not be run (bad endpoint, nothing to check).
    Error(String),
    /// Every connection was unsupported (e.g. SCTP on a kernel without SCTP).
    Skipped(String),
}

/// One graded test.
#[derive(Clone, Debug)]
pub struct TestResult {
    /// The test.
    pub test: TestCase,
    /// Connections checked.
    pub checks: usize,
    /// Connections without a verdict (unsupported), not counted either way.
    pub unsupported: usize,
    /// The outcome.
    pub status: Status,
}

impl TestResult {
    /// Whether the test failed or could not run.
    pub fn is_failure(&self) -> bool {
        matches!(self.status, Status::Failed { .. } | Status::Error(_))
    }
}

/// Grades a test from one verdict per check: `(Some(allowed), label)` or `(None, label)`
/// when there is no verdict (unsupported). `label` is what was observed, for the message.
pub fn grade(test: &TestCase, checks: &[Check], verdicts: &[(Option<bool>, String)]) -> TestResult {
    let want = test.expect == Expect::Allow;
    let unsupported = verdicts.iter().filter(|v| v.0.is_none()).count();
    let failing: Vec<usize> = (0..checks.len())
        .filter(|&i| verdicts[i].0.is_some_and(|a| a != want))
        .collect();
    let status = if let Some(&first) = failing.first() {
        Status::Failed {
            check: checks[first],
            observed: verdicts[first].1.clone(),
            failures: failing.len(),
        }
    } else if unsupported == checks.len() {
        Status::Skipped(format!(
            "{} connection(s) could not be probed: {}",
            unsupported,
            verdicts.first().map(|v| v.1.as_str()).unwrap_or("")
        ))
    } else {
        Status::Passed
    };
    TestResult {
        test: test.clone(),
        checks: checks.len(),
        unsupported,
        status,
    }
}

/// A result for a test that could not be expanded.
pub fn error(test: &TestCase, message: String) -> TestResult {
    TestResult {
        test: test.clone(),
        checks: 0,
        unsupported: 0,
        status: Status::Error(message),
    }
}
