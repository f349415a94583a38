//! ## What it does
//! Finds an admin rule with a `domainNames` peer whose action is not `Accept`.
//!
//! ## Why is this bad?
//! The ClusterNetworkPolicy CRD only allows `domainNames` on `Accept` rules (a CEL rule):
//! the API server rejects the whole policy, so none of its guardrails exist. Denying by name
//! is not supported because a name resolves to addresses that other names share; a Deny by
//! name could never be enforced exactly.
//!
//! ## Example
//! ```yaml
//! egress:
//! - action: Deny
//!   to: [{domainNames: ["*.example.com"]}]
//! ```
//!
//! Use instead: accept the names the pods may reach, and deny the rest with a later
//! (lower-precedence) rule:
//! ```yaml
//! egress:
//! - action: Accept
//!   to: [{domainNames: ["api.example.com"]}]
//! - action: Deny
//!   to: [{networks: ["0.0.0.0/0", "::/0"]}]
//! ```
//!
//! ## Notes
//! The loader finds these (the policy is rejected, as the API server would); `palisade lint`
//! reports them under this code instead of NP017. With NP025 disabled they are NP017
//! findings.

use super::Context;
use palisade_diag::Diagnostic;

/// NP025: found by the loader (its diagnostic carries the code) and turned into findings by
/// [`crate::input_errors`]; nothing to do on the model.
pub(crate) fn check(_ctx: &Context<'_>, _out: &mut Vec<Diagnostic>) {}
