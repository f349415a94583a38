//! Proves NetworkPolicies on a real kernel dataplane, no cluster needed: every pod becomes a
//! Linux network namespace on a bridge, the policies are compiled to nftables
//! ([`compile`], independently of `palisade-engine`), Palisade serves every declared
//! container port itself, and probes report what a client sees: accepted, refused or timed
//! out.
//!
//! This is the only Palisade crate with kernel side effects. Everything it creates lives in
//! namespaces named after the run (`palisade-<pid>-<seq>-...`); nothing touches the root
//! namespace's links or firewall; a [`Sandbox`] removes its namespaces when dropped,
//! [`install_signal_cleanup`] covers Ctrl-C/SIGTERM and [`sweep`] what a killed run left.

pub mod compile;
pub mod fuzz;
pub mod matrix;
pub mod netns;
pub mod plan;
pub mod probe;
mod sandbox;

pub use compile::{CompileOptions, DenyAction, PodRuleset};
pub use plan::{AddressPlan, PlanError, PodPlan};
pub use probe::Outcome;
pub use sandbox::{
    NETNS_PREFIX, Probe, Retried, RunId, STATE_DIR, Sandbox, SandboxOptions, Source, StatePod,
    Sweep, check_environment, cleanup_live_runs, install_signal_cleanup, probe_from, read_state,
    recorded_runs, sweep,
};

/// Why a sandbox could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The machine cannot run sandboxes (not Linux, not root, tools missing).
    #[error("{0}")]
    Unavailable(String),
    /// Addresses could not be planned.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A configuration tool failed.
    #[error("`{tool}` failed: {message}")]
    Tool {
        /// The command.
        tool: String,
        /// Its error output.
        message: String,
    },
    /// A namespace could not be entered.
    #[error("cannot enter network namespace {netns}: {message}")]
    Namespace {
        /// The namespace.
        netns: String,
        /// Why.
        message: String,
    },
    /// A listener could not be opened.
    #[error("cannot listen on {endpoint}: {message}")]
    Listen {
        /// `addr:port/PROTO`.
        endpoint: String,
        /// Why.
        message: String,
    },
}
