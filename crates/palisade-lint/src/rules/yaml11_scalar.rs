//! ## What it does
//! Finds unquoted label values and similar strings that YAML 1.1 (and so kubectl and
//! most Kubernetes tooling) reads as something else, although YAML 1.2 reads a string:
//! `yes`, `no`, `on`, `off`, `null`, `~`, numbers such as `1_000` or `0b11`. Values that
//! every reader takes as a boolean or number (`true`, `8080`, `1.5`, `1e3`, and any JSON
//! non-string) are not findings but input errors: the loader rejects the object, as the API
//! server does, in every command.
//!
//! ## Why is this bad?
//! Label values must be strings. kubectl sends `env: yes` as the boolean `true`, and the
//! API server rejects the object, or a tool stores the value it read (`true`, `8080.0`)
//! and the selector no longer matches the label.
//!
//! ## Example
//! ```yaml
//! metadata:
//!   labels:
//!     public: yes
//!     build: 1_000
//! ```
//!
//! Use instead:
//! ```yaml
//! metadata:
//!   labels:
//!     public: "yes"
//!     build: "1_000"
//! ```
//!
//! ## Notes
//! The loader reports this finding while it reads the YAML (it knows which scalars were
//! plain); the linter forwards it.
//!
//! ## References
//! - [YAML 1.1 boolean type](https://yaml.org/type/bool.html)
//! - [Kubernetes: Labels, syntax and character set](https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set)

use super::Context;
use palisade_diag::Diagnostic;

/// NP009: found by the loader (`palisade_load::Loaded::findings`) and forwarded by
/// [`crate::lint`]; nothing to do on the model.
pub(crate) fn check(_ctx: &Context<'_>, _out: &mut Vec<Diagnostic>) {}
