//! Semantic diff of two NetworkPolicy models: which connections a change opens, closes or
//! alters, and which policy edit caused each of them.
//!
//! For every pair of endpoints (pods or workloads, and external address ranges) the exact
//! allowed protocol/port sets of both sides are compared; a pair whose set differs is a
//! [`Change`]: `added` (nothing was allowed before), `removed` (nothing is allowed after)
//! or `changed`. Each change names its [`Cause`]s: the policies added, removed or modified
//! that select one of the pair's endpoints (the source for egress, the destination for
//! ingress) in a direction the edit touched, with `file:line` on the side where the policy
//! lives (the new side for added and modified policies, the old side for removed ones).
//!
//! Three paths compute the same result:
//! - [`diff_incremental`], when both sides have the same namespaces, pods and workloads and
//!   no admin policies (a policy-only change, the usual pull request): only the pods a
//!   changed policy selects as subject can change, and only towards the peers the changed
//!   rules mention (or every peer, when the pod's isolation flips). Nothing else is
//!   evaluated.
//! - the aligned path, when both sides have the same Nodes (workloads added, removed or
//!   relabelled; admin policies): endpoints matched by name, the pairs of those that changed
//!   and the pairs the policy edits reach, evaluated from the policies.
//! - [`diff_full`]: both sides' complete connectivity, compared pair by pair.
//!
//! [`diff`] picks the first that applies (the full path also when it is cheaper, on small
//! clusters where most pods changed). External ranges are compared on the common
//! refinement of both sides' ipBlock boundaries, then adjacent ranges with the same
//! before/after are merged, so the ranges reported do not depend on how either side split
//! the address space.
//!
//! The crate does no IO: the command line reads files and git revisions.
//!
//! ```
//! use palisade_diff::diff;
//! use palisade_engine::connectivity::Level;
//! use palisade_model::Model;
//!
//! let d = diff(&Model::default(), &Model::default(), Level::Workload);
//! assert!(d.changes.is_empty());
//! assert_eq!(d.headline(), "no connectivity change; no policy edited");
//! ```

mod aligned;
mod causes;
mod eval;
mod external;
mod full;
mod incremental;
mod merge;
mod policies;

use palisade_engine::connectivity::Level;
use palisade_model::{
    AdminAction, AdminKind, AdminTier, Direction, EndpointKind, Model, PodId, PortSet, WorkloadId,
};

pub use merge::{same_workloads, with_workloads_from};

/// How a connection changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeKind {
    /// Nothing was allowed before; something is now.
    Added,
    /// Something was allowed before; nothing is now.
    Removed,
    /// Allowed on both sides, with different protocol/port sets.
    Changed,
}

impl ChangeKind {
    /// `added`, `removed` or `changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        }
    }
}

/// What happened to a policy between the sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum What {
    /// Only on the new side.
    Added,
    /// Only on the old side.
    Removed,
    /// On both sides, with different content (spans, formatting and annotations ignored).
    Modified,
}

impl What {
    /// `added`, `removed` or `modified`.
    pub fn as_str(self) -> &'static str {
        match self {
            What::Added => "added",
            What::Removed => "removed",
            What::Modified => "modified",
        }
    }
}

/// A policy edit that can explain a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// `namespace/name` of the policy.
    pub policy: String,
    /// Added, removed or modified.
    pub what: What,
    /// The file of the side where the policy lives (new side unless removed).
    pub file: Option<String>,
    /// The line of the responsible rule, or of the policy when no single rule is.
    pub line: Option<u32>,
    /// The responsible rule: direction and 0-based index in that direction's list.
    pub rule: Option<(Direction, usize)>,
    /// For an admin policy (`policy` is then `cnp/<name>`, `anp/<name>` or `banp/<name>`):
    /// its kind, tier, priority and the responsible rule's name and action.
    pub admin: Option<AdminCause>,
}

/// What names an admin-tier cause besides its `kind/name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminCause {
    /// The API kind.
    pub kind: AdminKind,
    /// Admin or Baseline.
    pub tier: AdminTier,
    /// `priority` (lower first).
    pub priority: u32,
    /// The responsible rule's `name` (empty when unnamed or no single rule is responsible).
    pub rule_name: String,
    /// The responsible rule's action.
    pub action: Option<AdminAction>,
}

/// One connection whose allowed set differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Source: `ns/name` or an address range.
    pub src: String,
    /// Destination: `ns/name` or an address range.
    pub dst: String,
    /// What `src` names (pod, workload, external range).
    pub src_kind: EndpointKind,
    /// What `dst` names.
    pub dst_kind: EndpointKind,
    /// Added, removed or changed.
    pub change: ChangeKind,
    /// What the old side allows.
    pub before: PortSet,
    /// What the new side allows.
    pub after: PortSet,
    /// The policy edits that select an endpoint in a direction they touched; empty when the
    /// change comes from workloads, labels or named ports rather than policies.
    pub causes: Vec<Cause>,
}

impl Change {
    /// What the new side allows and the old did not.
    pub fn gained(&self) -> PortSet {
        self.after.difference(&self.before)
    }

    /// What the old side allowed and the new does not.
    pub fn lost(&self) -> PortSet {
        self.before.difference(&self.after)
    }
}

/// A policy that differs between the sides, whether or not it changed connectivity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyEdit {
    /// `namespace/name`.
    pub policy: String,
    /// Added, removed or modified.
    pub what: What,
    /// The file of the side where the policy lives.
    pub file: Option<String>,
    /// The line of the policy object.
    pub line: Option<u32>,
}

/// Counts of changes per kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Added connections.
    pub added: usize,
    /// Removed connections.
    pub removed: usize,
    /// Changed connections.
    pub changed: usize,
}

/// The semantic difference between two models.
#[derive(Clone, Debug)]
pub struct Diff {
    /// The granularity of the endpoints.
    pub level: Level,
    /// Every changed connection, sorted by source then destination.
    pub changes: Vec<Change>,
    /// Endpoints only on the new side (their connections are `added`).
    pub appeared: Vec<String>,
    /// Endpoints only on the old side (their connections are `removed`).
    pub disappeared: Vec<String>,
    /// Every policy edit, sorted by name.
    pub edits: Vec<PolicyEdit>,
    /// Whether only what changed was evaluated (the incremental or the aligned path), rather
    /// than both sides' complete connectivity.
    pub incremental: bool,
}

impl Diff {
    /// Counts per kind.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.change {
                ChangeKind::Added => s.added += 1,
                ChangeKind::Removed => s.removed += 1,
                ChangeKind::Changed => s.changed += 1,
            }
        }
        s
    }

    /// No connection differs (the policy sets are equivalent, whatever was edited).
    pub fn is_equivalent(&self) -> bool {
        self.changes.is_empty() && self.appeared.is_empty() && self.disappeared.is_empty()
    }

    /// One line: `1 added, 0 removed, 0 changed; 1 policy edited`, or
    /// `no connectivity change; N policies edited`.
    pub fn headline(&self) -> String {
        let edited = match self.edits.len() {
            0 => "no policy edited".to_string(),
            1 => "1 policy edited".to_string(),
            n => format!("{n} policies edited"),
        };
        if self.is_equivalent() {
            return format!("no connectivity change; {edited}");
        }
        let s = self.summary();
        format!(
            "{} added, {} removed, {} changed; {edited}",
            s.added, s.removed, s.changed
        )
    }
}

/// Diffs two models: incrementally when they share namespaces, pods and workloads and have
/// no admin policies; else from the endpoints that changed and the policy edits (the
/// aligned path) when they have the same Nodes, unless the full recomputation is cheaper;
/// else in full.
pub fn diff(old: &Model, new: &Model, level: Level) -> Diff {
    if let Some(d) = diff_incremental(old, new, level) {
        return d;
    }
    if let Some(d) = aligned::diff(old, new, level, aligned::Fallback::WhenCheaper) {
        return d;
    }
    diff_full(old, new, level)
}

/// The aligned path however many endpoints changed; `None` when the sides' Nodes differ.
/// For the property tests, which hold it to [`diff_full`].
#[doc(hidden)]
pub fn diff_aligned(old: &Model, new: &Model, level: Level) -> Option<Diff> {
    aligned::diff(old, new, level, aligned::Fallback::Never)
}

/// Diffs two models by computing both sides' complete connectivity.
pub fn diff_full(old: &Model, new: &Model, level: Level) -> Diff {
    full::diff(old, new, level)
}

/// Diffs two models evaluating only what the policy edits can affect; `None` when the sides
/// differ in namespaces, pods or workloads, or when either has admin-tier policies (the
/// incremental path follows NetworkPolicy edits only; use [`diff_full`]).
pub fn diff_incremental(old: &Model, new: &Model, level: Level) -> Option<Diff> {
    incremental_by(old, new, level, incremental::ByClasses::WhenMany)
}

/// [`diff_incremental`] evaluating pod pairs once per pair of pod classes however few
/// candidates there are, as it does on its own only when there are many (this lets the
/// property tests hold that path to [`diff_full`] on small models).
#[doc(hidden)]
pub fn diff_incremental_by_classes(old: &Model, new: &Model, level: Level) -> Option<Diff> {
    incremental_by(old, new, level, incremental::ByClasses::Always)
}

fn incremental_by(
    old: &Model,
    new: &Model,
    level: Level,
    by_classes: incremental::ByClasses,
) -> Option<Diff> {
    if !same_workloads(old, new) || !old.admin_policies.is_empty() || !new.admin_policies.is_empty()
    {
        return None;
    }
    Some(incremental::diff(old, new, level, by_classes))
}

/// The endpoints of one side at a level: each with its pods.
///
/// `Built` numbers them densely (the full path needs names for all of them); `Direct`
/// computes them from the model on demand (the incremental path touches only a few): a
/// workload is its index, a pod without workload is `workloads.len() + pod index`, and at
/// pod level every pod is its own index.
pub(crate) enum Endpoints {
    Built {
        ids: Vec<EndpointId>,
        pods: Vec<Vec<PodId>>,
        of_pod: Vec<u32>,
    },
    Direct(Level),
}

/// What an endpoint is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum EndpointId {
    Workload(WorkloadId),
    Pod(PodId),
}

impl Endpoints {
    pub(crate) fn new(model: &Model, level: Level) -> Self {
        let mut ids = Vec::new();
        let mut pods: Vec<Vec<PodId>> = Vec::new();
        let mut of_pod = Vec::with_capacity(model.pods.len());
        let mut workload_slot = vec![u32::MAX; model.workloads.len()];
        for pod in model.pod_ids() {
            let slot = match (level, model.pods[pod.index()].workload) {
                (Level::Workload, Some(w)) => {
                    if workload_slot[w.index()] == u32::MAX {
                        workload_slot[w.index()] = ids.len() as u32;
                        ids.push(EndpointId::Workload(w));
                        pods.push(Vec::new());
                    }
                    workload_slot[w.index()]
                }
                _ => {
                    ids.push(EndpointId::Pod(pod));
                    pods.push(Vec::new());
                    ids.len() as u32 - 1
                }
            };
            pods[slot as usize].push(pod);
            of_pod.push(slot);
        }
        Endpoints::Built { ids, pods, of_pod }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Endpoints::Built { ids, .. } => ids.len(),
            Endpoints::Direct(_) => unreachable!("direct endpoints are not enumerated"),
        }
    }

    fn id(&self, model: &Model, e: u32) -> EndpointId {
        match self {
            Endpoints::Built { ids, .. } => ids[e as usize],
            Endpoints::Direct(Level::Pod) => EndpointId::Pod(PodId::new(e as usize)),
            Endpoints::Direct(Level::Workload) => {
                let w = model.workloads.len();
                if (e as usize) < w {
                    EndpointId::Workload(WorkloadId::new(e as usize))
                } else {
                    EndpointId::Pod(PodId::new(e as usize - w))
                }
            }
        }
    }

    pub(crate) fn of_pod(&self, model: &Model, pod: PodId) -> u32 {
        match self {
            Endpoints::Built { of_pod, .. } => of_pod[pod.index()],
            Endpoints::Direct(Level::Pod) => pod.index() as u32,
            Endpoints::Direct(Level::Workload) => match model.pods[pod.index()].workload {
                Some(w) => w.index() as u32,
                None => (model.workloads.len() + pod.index()) as u32,
            },
        }
    }

    pub(crate) fn pods<'a>(&'a self, model: &'a Model, e: u32) -> std::borrow::Cow<'a, [PodId]> {
        match self {
            Endpoints::Built { pods, .. } => {
                std::borrow::Cow::Borrowed(pods[e as usize].as_slice())
            }
            Endpoints::Direct(_) => match self.id(model, e) {
                EndpointId::Workload(w) => {
                    // The pods grouped under the workload, as the connectivity grouping
                    // sees them (pods whose top-level workload is `w`).
                    let listed = &model.workloads[w.index()].pods;
                    if listed
                        .iter()
                        .all(|p| model.pods[p.index()].workload == Some(w))
                    {
                        std::borrow::Cow::Borrowed(listed.as_slice())
                    } else {
                        std::borrow::Cow::Owned(
                            model
                                .pod_ids()
                                .filter(|p| model.pods[p.index()].workload == Some(w))
                                .collect(),
                        )
                    }
                }
                EndpointId::Pod(p) => std::borrow::Cow::Owned(vec![p]),
            },
        }
    }

    pub(crate) fn kind(&self, model: &Model, e: u32) -> EndpointKind {
        match self.id(model, e) {
            EndpointId::Workload(w) => model.workload_kind(w),
            EndpointId::Pod(_) => EndpointKind::Pod,
        }
    }

    pub(crate) fn name(&self, model: &Model, e: u32) -> String {
        match self.id(model, e) {
            EndpointId::Workload(w) => model.workload_name(w),
            EndpointId::Pod(p) => model.pod_name(p),
        }
    }
}

/// One end of a raw change: an endpoint (its index on each side where it exists) or a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum End {
    Ep { old: Option<u32>, new: Option<u32> },
    Range(palisade_engine::ipspace::Family, u128, u128),
}

/// A change before naming and attribution.
#[derive(Clone, Debug)]
pub(crate) struct Raw {
    pub(crate) src: End,
    pub(crate) dst: End,
    pub(crate) before: PortSet,
    pub(crate) after: PortSet,
}

/// Everything both paths share to turn raw changes into a [`Diff`].
pub(crate) struct Sides<'m> {
    pub(crate) old: eval::Side<'m>,
    pub(crate) new: eval::Side<'m>,
    pub(crate) old_eps: Endpoints,
    pub(crate) new_eps: Endpoints,
    pub(crate) level: Level,
}

impl<'m> Sides<'m> {
    /// Both sides with their endpoints numbered densely (the full and the aligned path).
    pub(crate) fn numbered(old: &'m Model, new: &'m Model, level: Level) -> Self {
        Sides {
            old: eval::Side::new(old),
            new: eval::Side::new(new),
            old_eps: Endpoints::new(old, level),
            new_eps: Endpoints::new(new, level),
            level,
        }
    }

    fn end_name(&self, end: End) -> String {
        match end {
            End::Ep { old: Some(e), .. } => self.old_eps.name(self.old.model, e),
            End::Ep { new: Some(e), .. } => self.new_eps.name(self.new.model, e),
            End::Ep { .. } => String::new(),
            End::Range(f, lo, hi) => palisade_engine::ipspace::Atom::display_range(f, lo, hi),
        }
    }

    fn end_kind(&self, end: End) -> EndpointKind {
        match end {
            End::Ep { old: Some(e), .. } => self.old_eps.kind(self.old.model, e),
            End::Ep { new: Some(e), .. } => self.new_eps.kind(self.new.model, e),
            End::Ep { .. } | End::Range(..) => EndpointKind::External,
        }
    }

    pub(crate) fn finish(
        &self,
        raws: Vec<Raw>,
        edits: &[policies::Edit],
        appeared: Vec<String>,
        disappeared: Vec<String>,
        incremental: bool,
    ) -> Diff {
        let admin_edits = policies::admin_edits(self.old.model, self.new.model);
        let mut changes: Vec<Change> = raws
            .into_iter()
            .filter(|r| r.before != r.after)
            .map(|r| {
                let change = if r.before.is_empty() {
                    ChangeKind::Added
                } else if r.after.is_empty() {
                    ChangeKind::Removed
                } else {
                    ChangeKind::Changed
                };
                Change {
                    src: self.end_name(r.src),
                    dst: self.end_name(r.dst),
                    src_kind: self.end_kind(r.src),
                    dst_kind: self.end_kind(r.dst),
                    change,
                    causes: causes::attribute(self, &r, edits, &admin_edits),
                    before: r.before,
                    after: r.after,
                }
            })
            .collect();
        changes.sort_by(|a, b| (&a.src, &a.dst).cmp(&(&b.src, &b.dst)));
        let mut edits: Vec<PolicyEdit> = edits
            .iter()
            .map(|e| {
                let (model, id) = match (e.new, e.old) {
                    (Some(n), _) => (self.new.model, n),
                    (None, Some(o)) => (self.old.model, o),
                    (None, None) => unreachable!("an edit has a side"),
                };
                let loc = model.location(model.policies[id.index()].span);
                PolicyEdit {
                    policy: e.key.clone(),
                    what: e.what,
                    file: loc.as_ref().map(|l| l.file.clone()),
                    line: loc.map(|l| l.line),
                }
            })
            .collect();
        edits.extend(admin_edits.iter().map(|e| {
            let (model, id) = match (e.new, e.old) {
                (Some(n), _) => (self.new.model, n),
                (None, Some(o)) => (self.old.model, o),
                (None, None) => unreachable!("an edit has a side"),
            };
            let loc = model.location(model.admin_policies[id as usize].span);
            PolicyEdit {
                policy: e.key.clone(),
                what: e.what,
                file: loc.as_ref().map(|l| l.file.clone()),
                line: loc.map(|l| l.line),
            }
        }));
        Diff {
            level: self.level,
            changes,
            appeared,
            disappeared,
            edits,
            incremental,
        }
    }
}
