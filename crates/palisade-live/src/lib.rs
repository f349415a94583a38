//! Live inputs: the running cluster through the Kubernetes API, flows from Hubble Relay, and
//! the Prometheus exposition of `palisade watch`.
//!
//! * [`cluster`] reads Namespaces, Nodes, Pods, workloads, Services, NetworkPolicies and (when
//!   their CRDs exist) the admin-tier policies with kube-rs, paginated, and hands them on as
//!   raw objects, exactly as a file would hold them. A refused read (403) is an error naming
//!   the verb, the resource and what it disables.
//! * [`relay`] follows `Observer.GetFlows` (a tonic client generated from Cilium's observer
//!   API) and serves the flows as Hubble JSON lines, so the file readers and the sessionizer
//!   are reused unchanged; lost events and reconnections become gaps.
//! * [`metrics`] renders counters in the Prometheus text format and serves them over HTTP.
//! * `fakes` (feature `fakes`): a loopback Kubernetes API server and a loopback Hubble Relay
//!   that speak the real protocols, for tests.
//!
//! This crate does IO (network) and nothing else: it interprets no policy.

pub mod cluster;
mod error;
pub mod metrics;
pub mod relay;
pub mod yaml;

#[cfg(feature = "fakes")]
pub mod fakes;

pub use error::Error;

/// Code generated from `proto/` (Cilium's observer API, the subset Palisade uses).
#[allow(missing_docs, clippy::all)]
pub mod proto {
    /// `package flow`.
    pub mod flow {
        tonic::include_proto!("flow");
    }
    /// `package observer`.
    pub mod observer {
        tonic::include_proto!("observer");
    }
}
