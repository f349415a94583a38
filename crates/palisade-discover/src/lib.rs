//! Discover and generate: the traffic map, least-privilege NetworkPolicies proven by replay,
//! and a staged hardening plan.
//!
//! Sessions come from [`palisade_replay::Replayer`] (so everything replay reads works here):
//!
//! * [`MapBuilder`] folds replayed sessions into a [`Map`]: nodes are workloads (top-level
//!   owners), external networks (aggregated to a prefix, or named by [`KnownNetworks`]) and
//!   unmapped cluster addresses; edges are (source, destination, protocol, port) with session
//!   counts, observed outcomes and the current (and proposed) verdict.
//! * [`Learner`] collects the same map plus the sessions generation may learn from, and
//!   counts the others by [`SkipReason`].
//! * [`generate()`] writes one policy per workload that takes part (stable selectors, named
//!   ports, DNS, aggregated external peers) as YAML, one file per namespace;
//!   [`proposed_model`] parses the YAML back over the cluster model and [`prove`] replays
//!   every learned session against it.
//! * [`harden()`] stages the way from the current policies to that set.
//!
//! ```
//! use palisade_discover::{GenerateOptions, LearnMode, Learner, MapOptions, generate, proposed_model, prove};
//! use palisade_flows::{sessionize, FlowReader, ReadOptions, SessionConfig};
//! use palisade_load::{load, Input, LoadOptions};
//! use palisade_replay::{DenyAction, Replayer};
//!
//! let cluster = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {app: web}}\nstatus: {podIP: 10.0.0.1}\n---\n\
//!                apiVersion: v1\nkind: Pod\nmetadata: {name: db, namespace: shop, labels: {app: db}}\nstatus: {podIP: 10.0.0.2}\n";
//! let model = load(&[Input::Text { name: "c.yaml".into(), text: cluster.into() }], &LoadOptions::default()).model;
//! let csv = "time,src,dst,src_port,dst_port,protocol,outcome\n2026-01-01T00:00:00Z,10.0.0.1,10.0.0.2,40000,5432,TCP,accepted\n";
//! let mut reader = FlowReader::new("c.csv", csv.as_bytes(), &ReadOptions::default())?;
//! let mut replayer = Replayer::new(&model, DenyAction::Drop);
//! let mut learner = Learner::new(&model, MapOptions::default(), LearnMode::Accepted);
//! sessionize(&mut reader, SessionConfig::default(), |s| learner.add(&replayer.replay(s)))?;
//! let obs = learner.finish();
//! let generated = generate(&model, &obs, &GenerateOptions::default());
//! assert!(generated.files["shop"].contains("name: db"));
//! let proposed = proposed_model(&model, &generated, Default::default()).unwrap();
//! assert!(prove(&proposed, &obs).holds());
//! # Ok::<(), palisade_flows::Error>(())
//! ```

pub mod generate;
pub mod harden;
pub mod learn;
pub mod map;
pub mod networks;
pub mod proof;
pub mod selectors;
mod yaml;

pub use generate::{
    DnsMode, GenerateMode, GenerateOptions, Generated, GeneratedPolicy, Scope, generate,
};
pub use harden::{KeptStage, Plan, Risk, Stage, harden};
pub use learn::{End, LearnMode, Learner, Observation, SkipReason, Skipped, Tuple};
pub use map::{Edge, Map, MapBuilder, MapLevel, MapOptions, Node, NodeKey, NodeKind};
pub use networks::{KnownNetworks, NetworksError};
pub use proof::{Broken, Proof, ReloadError, newly_isolated, proposed_model, prove};
pub use selectors::{StableSelector, UNSTABLE_LABELS, stable_selector};
