//! ## What it does
//! Reports every object the Kubernetes API server would reject (a malformed CIDR, a port
//! out of range, an invalid name, a mistyped field, a YAML syntax error) as a finding, at
//! the exact `file:line:col`, in every output format.
//!
//! ## Why is this bad?
//! `kubectl apply` refuses the object, so the policy you reviewed never exists in the
//! cluster: the pods it was meant to protect stay open, or the traffic it was meant to
//! allow stays denied. Other objects of the same file are independent and are still linted;
//! the other rules also judge what they can read of the rejected policy, so one invalid
//! field does not hide its other mistakes.
//!
//! ## Example
//! ```yaml
//! ingress:
//! - from:
//!   - ipBlock:
//!       cidr: 10.0.0.0/8
//!       except: [192.168.0.0/16]   # not inside the cidr
//! ```
//!
//! Use instead:
//! ```yaml
//! ingress:
//! - from:
//!   - ipBlock:
//!       cidr: 10.0.0.0/8
//!       except: [10.1.0.0/16]
//! ```
//!
//! ## Notes
//! The loader finds these errors; `palisade lint` turns them into findings instead of
//! stopping, so JSON and SARIF reports stay complete. Other commands stop on them unless
//! `--keep-going`.
//!
//! ## References
//! - [NetworkPolicy API reference](https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/)

use super::Context;
use palisade_diag::Diagnostic;

/// NP017: found by the loader (`palisade_load::Loaded::diagnostics`) and turned into
/// findings by [`crate::input_errors`]; nothing to do on the model.
pub(crate) fn check(_ctx: &Context<'_>, _out: &mut Vec<Diagnostic>) {}
