//! kubectl's selection flags applied to answers: `-n` (the namespace the answer is about) and
//! `-l` (the pods it is about), parsed once here into the engine's [`Selection`], which
//! defines what each output keeps. The engine always evaluates the whole input, so a verdict
//! never depends on what is shown; only the printed rows are narrowed.

use crate::args::{InputArgs, SelectorArgs};
use crate::output::eprintln_sanitized;
use palisade_engine::Selection;
use palisade_model::{LabelSelector, Model};

/// The namespace objects without one are placed in (see [`crate::args::NamespaceArgs`]).
pub fn default_namespace(args: &InputArgs) -> &str {
    args.ns.default_namespace()
}

/// The selection of `-n` and `-l`; a malformed selector is a usage error naming the flag.
pub fn selection(
    namespace: Option<&str>,
    select: Option<&SelectorArgs>,
) -> anyhow::Result<Selection> {
    let selector = match select.and_then(|s| s.selector.as_deref()) {
        Some(s) => Some(
            LabelSelector::parse_kubectl(s).map_err(|e| anyhow::anyhow!("-l/--selector: {e}"))?,
        ),
        None => None,
    };
    Ok(Selection {
        namespace: namespace.map(str::to_string),
        selector,
    })
}

/// Tells on stderr when `-n` names a namespace the input does not have, or `-l` matches no
/// pod (the answer is then empty, as kubectl's "No resources found").
pub fn warn_if_empty(selection: &Selection, model: &Model) {
    if let Some(ns) = &selection.namespace
        && model.namespace_id(ns).is_none()
    {
        eprintln_sanitized!(
            "palisade: note: no namespace `{ns}` in the input: nothing to show (without -n the answer covers every namespace)"
        );
        return;
    }
    if selection.selector.is_some() && selection.pods(model).is_empty() {
        eprintln_sanitized!(
            "palisade: note: -l/--selector matches no pod of the input{}: nothing to show",
            selection
                .namespace
                .as_deref()
                .map(|ns| format!(" in `{ns}`"))
                .unwrap_or_default()
        );
    }
}

/// `--no-headers`: the text without its first `lines` lines.
pub fn without_headers(text: String, lines: usize) -> String {
    let mut rest = text.as_str();
    for _ in 0..lines {
        rest = rest.split_once('\n').map_or("", |(_, r)| r);
    }
    rest.to_string()
}
