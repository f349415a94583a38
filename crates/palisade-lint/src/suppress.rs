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
    let objects = ObjectIndex::new(objects);
    diagnostics
        .into_iter()
        .filter(|d| {
            let (Some(code), Some(span)) = (d.code, d.span) else {
                return true;
            };
            let Some(object) = objects.innermost(span) else {
                return true;
            };
            if suppresses(object.annotations, code) {
                return false;
            }
            !object
                .namespace
                .is_some_and(|n| suppresses(&model.namespace(n).annotations, code))
        })
        .collect()
}

/// The objects sorted by where they start, to find the innermost one containing a span
/// without a walk over every object per finding (thousands of findings × hundreds of
/// thousands of objects on a large cluster).
struct ObjectIndex<'m> {
    /// (object, its position in the list given), by (source, start, position).
    sorted: Vec<(Object<'m>, usize)>,
}

impl<'m> ObjectIndex<'m> {
    fn new(objects: Vec<Object<'m>>) -> Self {
        let mut sorted: Vec<(Object<'m>, usize)> = objects.into_iter().zip(0..).collect();
        sorted.sort_by_key(|(o, i)| (o.span.source, o.span.start, *i));
        ObjectIndex { sorted }
    }

    /// The shortest object whose span contains `span` (the first given among equally
    /// short ones), as a scan of every object would find it.
    fn innermost(&self, span: Span) -> Option<&Object<'m>> {
        let end = self
            .sorted
            .partition_point(|(o, _)| (o.span.source, o.span.start) <= (span.source, span.start));
        let mut best: Option<(u32, usize, &Object<'m>)> = None;
        // Walking back from the last object starting at or before the span: once an object
        // starts further back than `span.end - best length`, it and all before it are longer.
        for (o, i) in self.sorted[..end].iter().rev() {
            if o.span.source != span.source {
                break;
            }
            if let Some((len, _, _)) = best
                && u64::from(o.span.start) + u64::from(len) < u64::from(span.end)
            {
                break;
            }
            if span.end <= o.span.end {
                let len = o.span.end - o.span.start;
                if best.is_none_or(|(l, j, _)| (len, *i) < (l, j)) {
                    best = Some((len, *i, o));
                }
            }
        }
        best.map(|(_, _, o)| o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_diag::SourceId;

    /// The index finds what a scan of every object finds (the first shortest container),
    /// on random nested, overlapping and identical spans.
    #[test]
    fn innermost_equals_a_scan() {
        let labels = Labels::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n) as u32
        };
        for _ in 0..200 {
            let objects: Vec<Object<'_>> = (0..1 + next(30))
                .map(|_| {
                    let start = next(100);
                    Object {
                        span: Span {
                            source: SourceId(next(2)),
                            start,
                            end: start + next(40),
                        },
                        annotations: &labels,
                        namespace: None,
                    }
                })
                .collect();
            let spans: Vec<Span> = objects.iter().map(|o| o.span).collect();
            let index = ObjectIndex::new(objects);
            for _ in 0..50 {
                let start = next(120);
                let span = Span {
                    source: SourceId(next(2)),
                    start,
                    end: start + next(10),
                };
                let scan = spans
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| {
                        o.source == span.source && o.start <= span.start && span.end <= o.end
                    })
                    .min_by_key(|(_, o)| o.end - o.start)
                    .map(|(i, _)| i);
                let found = index.innermost(span).map(|o| {
                    index
                        .sorted
                        .iter()
                        .find(|(x, _)| std::ptr::eq(x, o))
                        .map(|(_, i)| *i)
                        .unwrap()
                });
                assert_eq!(found, scan, "{span:?} in {spans:?}");
            }
        }
    }
}
