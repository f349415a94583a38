//! ## What it does
//! Finds keys the Kubernetes API does not know in the objects Palisade reads
//! (`podSelecter`, `matchLabel`, `ingres`, …).
//!
//! ## Why is this bad?
//! The API server drops unknown fields, or rejects the object under strict field
//! validation (`kubectl apply --validate=strict`, the default of recent kubectl). A
//! dropped `podSelecter` turns into an empty podSelector that selects every pod of the
//! namespace; a dropped `ingres` into a policy that denies all ingress.
//!
//! ## Example
//! ```yaml
//! spec:
//!   podSelecter:
//!     matchLabels: {app: web}
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   podSelector:
//!     matchLabels: {app: web}
//! ```
//!
//! ## Notes
//! The loader reports this finding while it reads the YAML or JSON, where the keys are;
//! the linter forwards it (subject to `--select`, `--ignore` and suppression).
//!
//! ## References
//! - [Kubernetes: Field validation](https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation)

use super::Context;
use palisade_diag::Diagnostic;

/// NP008: found by the loader (`palisade_load::Loaded::findings`) and forwarded by
/// [`crate::lint`]; nothing to do on the model.
pub(crate) fn check(_ctx: &Context<'_>, _out: &mut Vec<Diagnostic>) {}
