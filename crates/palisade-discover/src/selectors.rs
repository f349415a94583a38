//! Stable selectors: labels that select a workload's pods today and after its next rollout.

use palisade_model::{Labels, Model, PodId};

use crate::map::NodeKey;

/// Labels controllers set per revision or per pod: a selector on them stops matching after a
/// rollout (or matches one pod only). Never used in generated selectors.
pub const UNSTABLE_LABELS: &[&str] = &[
    "pod-template-hash",
    "controller-revision-hash",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "pod-template-generation",
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
    "job-name",
    "batch.kubernetes.io/job-name",
    "batch.kubernetes.io/job-completion-index",
];

/// Whether a label key is one of [`UNSTABLE_LABELS`].
pub fn is_unstable(key: &str) -> bool {
    UNSTABLE_LABELS.contains(&key)
}

/// The labels a generated policy selects a workload's pods with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StableSelector {
    /// `matchLabels`.
    pub labels: Labels,
    /// When the workload's own selector also matches other pods of the namespace: which,
    /// and what was done about it.
    pub note: Option<String>,
    /// Whether the labels match exactly the workload's pods among the namespace's pods
    /// (false when no label set tells it apart).
    pub exact: bool,
    /// When not exact: the other pods of the namespace the labels select too.
    pub also_selects: Vec<PodId>,
}

/// Pods of a node (hostNetwork pods left out: policies do not select them).
pub fn members(model: &Model, key: &NodeKey) -> Vec<PodId> {
    let pods: Vec<PodId> = match key {
        NodeKey::Workload(w) => model.workloads[w.index()].pods.clone(),
        NodeKey::Pod(p) => vec![*p],
        _ => Vec::new(),
    };
    pods.into_iter()
        .filter(|p| !model.pods[p.index()].host_network)
        .collect()
}

fn subset_matches(subset: &Labels, labels: &Labels) -> bool {
    subset.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The stable selector of a workload (or bare pod): its `spec.selector` labels when they
/// are plain `matchLabels` (else every label all its pods share, unstable keys left out),
/// provided they tell its pods apart from the rest of the namespace; when they do not, the
/// smallest subset of the shared labels that does, and a note saying so. `name` is the node's display id, for the note.
pub fn stable_selector(model: &Model, key: &NodeKey, name: &str) -> StableSelector {
    let namespace_pods: Vec<PodId> = model.pod_ids().collect();
    stable_selector_among(model, key, name, &namespace_pods)
}

/// [`stable_selector`] with the pods of the node's namespace given (a superset will do:
/// pods of other namespaces are skipped), so that a caller asking for every workload of a
/// large cluster does not scan every pod for each one.
pub fn stable_selector_among(
    model: &Model,
    key: &NodeKey,
    name: &str,
    namespace_pods: &[PodId],
) -> StableSelector {
    let own = members(model, key);
    let namespace = match key {
        NodeKey::Workload(w) => model.workloads[w.index()].namespace,
        NodeKey::Pod(p) => model.pods[p.index()].namespace,
        _ => {
            return StableSelector {
                labels: Labels::new(),
                note: None,
                exact: false,
                also_selects: Vec::new(),
            };
        }
    };
    let others: Vec<PodId> = namespace_pods
        .iter()
        .copied()
        .filter(|p| {
            let pod = &model.pods[p.index()];
            pod.namespace == namespace && !pod.host_network && !own.contains(p)
        })
        .collect();
    // Labels every pod of the workload carries, minus the unstable ones.
    let mut shared: Labels = match own.first() {
        Some(p) => model.pods[p.index()].labels.clone(),
        None => match key {
            NodeKey::Workload(w) => model.workloads[w.index()].template_labels.clone(),
            _ => Labels::new(),
        },
    };
    shared.retain(|k, v| {
        !is_unstable(k)
            && own
                .iter()
                .all(|p| model.pods[p.index()].labels.get(k) == Some(v))
    });
    let base: Option<Labels> = match key {
        NodeKey::Workload(w) => model.workloads[w.index()]
            .selector
            .as_ref()
            .filter(|s| s.match_expressions.is_empty() && !s.match_labels.is_empty())
            .map(|s| {
                s.match_labels
                    .iter()
                    .filter(|(k, _)| !is_unstable(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Labels>()
            })
            .filter(|l| !l.is_empty() && subset_matches(l, &shared)),
        _ => None,
    };
    let clashes = |labels: &Labels| -> Vec<PodId> {
        others
            .iter()
            .copied()
            .filter(|p| subset_matches(labels, &model.pods[p.index()].labels))
            .collect()
    };
    let clash_names = |pods: &[PodId]| -> String {
        let mut names: Vec<String> = pods.iter().map(|&p| model.pod_workload_name(p)).collect();
        names.sort();
        names.dedup();
        names.join(", ")
    };
    let start = base.clone().unwrap_or_else(|| shared.clone());
    let start_clash = clashes(&start);
    if start_clash.is_empty() {
        return StableSelector {
            labels: start,
            note: None,
            exact: true,
            also_selects: Vec::new(),
        };
    }
    // The smallest distinguishing subset of the shared labels (ties: the first in key
    // order), searched exhaustively over up to 16 labels.
    let items: Vec<(&String, &String)> = shared.iter().collect();
    let n = items.len().min(16);
    let mut best: Option<Labels> = None;
    'sizes: for size in 1..=n {
        for mask in 0u32..(1 << n) {
            if mask.count_ones() as usize != size {
                continue;
            }
            let subset: Labels = (0..n)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| (items[i].0.clone(), items[i].1.clone()))
                .collect();
            if clashes(&subset).is_empty() {
                best = Some(subset);
                break 'sizes;
            }
        }
    }
    if best.is_none() && clashes(&shared).is_empty() {
        best = Some(shared.clone());
    }
    match best {
        Some(labels) => StableSelector {
            note: Some(format!(
                "the stable labels of {name} ({}) also match {}: selected by {} instead",
                labels_text(&start),
                clash_names(&start_clash),
                labels_text(&labels)
            )),
            labels,
            exact: true,
            also_selects: Vec::new(),
        },
        None => {
            let clash = clashes(&shared);
            StableSelector {
                note: Some(format!(
                    "no stable labels tell {name} apart from {}: its policy also selects them (give it a distinguishing label)",
                    clash_names(&clash)
                )),
                labels: shared,
                exact: false,
                also_selects: clash,
            }
        }
    }
}

/// `{a: x, b: y}` for messages.
pub fn labels_text(labels: &Labels) -> String {
    let items: Vec<String> = labels.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("{{{}}}", items.join(", "))
}
