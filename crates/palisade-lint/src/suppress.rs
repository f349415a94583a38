//! Per-object suppression with the `palisade.dev/ignore` annotation.
//!
//! A finding is dropped when the innermost object whose span contains its primary span, or
//! that object's namespace, carries the annotation with the finding's code or rule name
//! (comma- or space-separated; `all` suppresses every code).

use crate::registry::rule;
use palisade_diag::{Diagnostic, Span};
use palisade_model::{IGNORE_ANNOTATION, Labels, Model, NamespaceId};

/// Whether an annotation set suppresses a code.
pub(crate) fn suppresses(annotations: &Labels, code: &str) -> bool {
    let Some(value) = annotations.get(IGNORE_ANNOTATION) else {
        return false;
    };
    value
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .any(|s| {
            s.eq_ignore_ascii_case("all")
                || s.eq_ignore_ascii_case(code)
                || rule(code).is_some_and(|r| r.name == s)
        })
}

struct Object<'m> {
    span: Span,
    annotations: &'m Labels,
    namespace: Option<NamespaceId>,
}

pub(crate) fn filter(model: &Model, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut objects: Vec<Object<'_>> = Vec::new();
    for p in &model.policies {
        if let Some(span) = p.span {
            objects.push(Object {
                span,
                annotations: &p.annotations,
                namespace: Some(p.namespace),
            });
        }
    }
    for w in &model.workloads {
        if let Some(span) = w.span {
            objects.push(Object {
                span,
                annotations: &w.annotations,
                namespace: Some(w.namespace),
            });
        }
    }
    for p in &model.pods {
        if let Some(span) = p.span {
            objects.push(Object {
                span,
                annotations: &p.annotations,
                namespace: Some(p.namespace),
            });
        }
    }
    for n in &model.namespaces {
        if let Some(span) = n.span {
            objects.push(Object {
                span,
                annotations: &n.annotations,
                namespace: None,
            });
        }
    }
    diagnostics
        .into_iter()
        .filter(|d| {
            let (Some(code), Some(span)) = (d.code, d.span) else {
                return true;
            };
            let inner = objects
                .iter()
                .filter(|o| {
                    o.span.source == span.source
                        && o.span.start <= span.start
                        && span.end <= o.span.end
                })
                .min_by_key(|o| o.span.end - o.span.start);
            let Some(object) = inner else { return true };
            if suppresses(object.annotations, code) {
                return false;
            }
            !object
                .namespace
                .is_some_and(|n| suppresses(&model.namespace(n).annotations, code))
        })
        .collect()
}
