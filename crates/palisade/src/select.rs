//! kubectl's selection flags applied to answers: `-n` (the namespace the answer is about) and
//! `-l` (the pods it is about). The engine always evaluates the whole input, so a verdict
//! never depends on what is shown; only the printed rows are narrowed.

use crate::args::{InputArgs, SelectorArgs};
use crate::output::eprintln_sanitized;
use palisade_model::{LabelSelector, Model, PodId, Span};
use std::collections::HashSet;

/// The namespace objects without one are placed in (see [`crate::args::NamespaceArgs`]).
pub fn default_namespace(args: &InputArgs) -> &str {
    args.ns.default_namespace()
}

/// What the answer is narrowed to.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// `-n`.
    pub namespace: Option<String>,
    /// `-l`.
    pub selector: Option<LabelSelector>,
}

impl Selection {
    /// From `-n` and `-l`; a malformed selector is a usage error naming the flag.
    pub fn new(namespace: Option<&str>, select: Option<&SelectorArgs>) -> anyhow::Result<Self> {
        let selector = match select.and_then(|s| s.selector.as_deref()) {
            Some(s) => Some(
                LabelSelector::parse_kubectl(s)
                    .map_err(|e| anyhow::anyhow!("-l/--selector: {e}"))?,
            ),
            None => None,
        };
        Ok(Selection {
            namespace: namespace.map(str::to_string),
            selector,
        })
    }

    /// Nothing narrowed.
    pub fn is_everything(&self) -> bool {
        self.namespace.is_none() && self.selector.is_none()
    }

    /// Whether a pod is one the answer is about.
    pub fn pod(&self, model: &Model, id: PodId) -> bool {
        let pod = &model.pods[id.index()];
        self.namespace
            .as_deref()
            .is_none_or(|ns| model.namespace(pod.namespace).name == ns)
            && self
                .selector
                .as_ref()
                .is_none_or(|s| s.matches(&pod.labels))
    }

    /// The display names (`ns/pod` and `ns/workload`) of the selected pods and of the
    /// workloads they belong to, as the outputs name their rows.
    pub fn peer_names(&self, model: &Model) -> HashSet<String> {
        let mut names = HashSet::new();
        for id in model.pod_ids().filter(|&p| self.pod(model, p)) {
            names.insert(model.pod_name(id));
            names.insert(model.pod_workload_name(id));
        }
        names
    }

    /// Tells on stderr when `-n` names a namespace the input does not have (the answer is
    /// then empty, as kubectl's "No resources found").
    pub fn warn_if_unknown(&self, model: &Model) {
        if let Some(ns) = &self.namespace
            && model.namespace_id(ns).is_none()
        {
            eprintln_sanitized!(
                "palisade: note: no namespace `{ns}` in the input: nothing to show (without -n the answer covers every namespace)"
            );
        }
    }

    /// Whether a finding at `span` concerns the selected namespace: it lies inside an object
    /// of that namespace (policy, workload, pod, service, the namespace itself). Findings
    /// outside every namespaced object (cluster-scoped objects, whole files) are kept: they
    /// may concern any namespace.
    pub fn span_in_namespace(&self, model: &Model, span: Option<Span>) -> bool {
        let Some(ns) = self.namespace.as_deref() else {
            return true;
        };
        let Some(span) = span else {
            return true;
        };
        let inside = |object: Option<Span>| {
            object.is_some_and(|o| {
                o.source == span.source && o.start <= span.start && span.end <= o.end
            })
        };
        let mut owners = model
            .policies
            .iter()
            .map(|p| (p.namespace, p.span))
            .chain(model.workloads.iter().map(|w| (w.namespace, w.span)))
            .chain(model.pods.iter().map(|p| (p.namespace, p.span)))
            .chain(model.services.iter().map(|s| (s.namespace, s.span)))
            .filter(|(_, object)| inside(*object))
            .map(|(n, _)| model.namespace(n).name.as_str())
            .chain(
                model
                    .namespaces
                    .iter()
                    .filter(|n| inside(n.span))
                    .map(|n| n.name.as_str()),
            )
            .peekable();
        if owners.peek().is_none() {
            return true;
        }
        owners.any(|owner| owner == ns)
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
