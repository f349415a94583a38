//! Converted items to the [`Model`]: namespaces get ids, duplicates are refused, pods are
//! grouped under their top-level workload and workloads without pods get a template pod.

use std::collections::BTreeMap;

use palisade_diag::{Diagnostic, Span};
use palisade_model::{
    Labels, Model, NamespaceId, Pod, PodId, PodOrigin, Workload, WorkloadId, WorkloadKind,
};
use rustc_hash::FxHashMap;

use crate::convert::{Item, Object, OwnerRef, Template};
use crate::owners;

/// Builds the model from items in input order.
pub(crate) struct Assembler<'o> {
    pub model: Model,
    pub diags: Vec<Diagnostic>,
    pub skipped: BTreeMap<String, usize>,
    skip_notes: BTreeMap<String, &'static str>,
    default_namespace: &'o str,
    seen: FxHashMap<(&'static str, String, String), Span>,
    workload_index: FxHashMap<(NamespaceId, WorkloadKind, String), WorkloadId>,
    /// Declared pods that name an owner (references, `generateName`, controller labels).
    pod_owners: Vec<(PodId, Vec<OwnerRef>, Option<String>)>,
    workload_extra: Vec<(Vec<OwnerRef>, Template)>,
    /// How many workloads were created from references to them.
    inferred: usize,
}

impl<'o> Assembler<'o> {
    pub(crate) fn new(model: Model, default_namespace: &'o str) -> Self {
        Assembler {
            model,
            diags: Vec::new(),
            skipped: BTreeMap::new(),
            skip_notes: BTreeMap::new(),
            default_namespace,
            seen: FxHashMap::default(),
            workload_index: FxHashMap::default(),
            pod_owners: Vec::new(),
            workload_extra: Vec::new(),
            inferred: 0,
        }
    }

    pub(crate) fn add(&mut self, item: Item) {
        let (kind, name, namespace, span, object) = match item {
            Item::Skipped { key, note } => {
                *self.skipped.entry(key.clone()).or_default() += 1;
                if let Some(note) = note {
                    self.skip_notes.insert(key, note);
                }
                return;
            }
            Item::Object {
                kind,
                name,
                namespace,
                span,
                object,
            } => (kind, name, namespace, span, object),
        };
        let ns_name = match &object {
            Object::Namespace { .. }
            | Object::AdminPolicy(_)
            | Object::Node(_)
            | Object::Unevaluated {
                cluster_wide: true, ..
            } => String::new(),
            _ => namespace.unwrap_or_else(|| self.default_namespace.to_string()),
        };
        let key = (kind, ns_name, name);
        if let Some(&first) = self.seen.get(&key) {
            let (kind, ns, name) = key;
            let what = if ns.is_empty() {
                format!("{kind} `{name}`")
            } else {
                format!("{kind} `{ns}/{name}`")
            };
            let at = self.model.sources.location(first);
            self.diags.push(
                Diagnostic::error(format!("duplicate {what}: already defined at {at}"))
                    .with_span(span)
                    .with_label(first, "first defined here")
                    .with_help("remove or rename one of them; this one is not loaded"),
            );
            return;
        }
        let ns_id = (!key.1.is_empty()).then(|| self.model.ensure_namespace(&key.1));
        let name = key.2.clone();
        self.seen.insert(key, span);
        let ns_id = ns_id.unwrap_or(NamespaceId(0));
        match object {
            Object::Namespace {
                labels,
                annotations,
            } => {
                self.model
                    .declare_namespace(&name, labels, annotations, Some(span));
            }
            Object::Pod {
                mut pod,
                owners,
                generate_name,
            } => {
                pod.namespace = ns_id;
                let may_have_owner = !owners.is_empty()
                    || generate_name.is_some()
                    || pod
                        .labels
                        .contains_key("statefulset.kubernetes.io/pod-name");
                let id = self.model.add_pod(pod);
                if may_have_owner {
                    self.pod_owners.push((id, owners, generate_name));
                }
            }
            Object::Workload {
                mut workload,
                owners,
                template,
            } => {
                workload.namespace = ns_id;
                let kind = workload.kind;
                let id = self.model.add_workload(workload);
                self.workload_index.insert((ns_id, kind, name), id);
                self.workload_extra.push((owners, template));
            }
            Object::Service(mut service) => {
                service.namespace = ns_id;
                self.model.add_service(service);
            }
            Object::Policy(mut policy) => {
                policy.namespace = ns_id;
                self.model.add_policy(policy);
            }
            Object::AdminPolicy(policy) => self.model.admin_policies.push(policy),
            Object::Node(node) => self.model.nodes.push(node),
            Object::Unevaluated {
                mut policy,
                cluster_wide,
            } => {
                policy.namespace = (!cluster_wide).then_some(ns_id);
                self.model.unevaluated.push(policy);
            }
        }
    }

    /// The workload an owner reference points to, preferring the controller reference.
    fn owner_of(&self, ns: NamespaceId, owners: &[OwnerRef]) -> Option<WorkloadId> {
        let lookup = |o: &OwnerRef| {
            let kind = WorkloadKind::parse(&o.kind)?;
            self.workload_index
                .get(&(ns, kind, o.name.clone()))
                .copied()
        };
        owners
            .iter()
            .filter(|o| o.controller)
            .chain(owners.iter().filter(|o| !o.controller))
            .find_map(lookup)
    }

    fn top_level(&self, mut w: WorkloadId) -> WorkloadId {
        // Bounded: ownership cycles in bad input must not loop.
        for _ in 0..16 {
            match self.model.workloads[w.index()].owner {
                Some(o) if o != w => w = o,
                _ => break,
            }
        }
        w
    }

    /// The workload `(kind, name)` of a namespace, created without a declaring object (span
    /// `None`) when the input does not have it: a dump holds pods, not always their owners.
    fn workload_or_inferred(
        &mut self,
        ns: NamespaceId,
        kind: WorkloadKind,
        name: &str,
    ) -> WorkloadId {
        let key = (ns, kind, name.to_string());
        if let Some(&id) = self.workload_index.get(&key) {
            return id;
        }
        let id = self.model.add_workload(Workload {
            name: name.to_string(),
            namespace: ns,
            kind,
            template_labels: Labels::new(),
            // Inferred from its pods: the object and its selector are not in the input.
            selector: None,
            template_ports: Vec::new(),
            annotations: Labels::new(),
            owner: None,
            pods: Vec::new(),
            span: None,
        });
        self.workload_index.insert(key, id);
        self.inferred += 1;
        id
    }

    pub(crate) fn finish(mut self) -> (Model, Vec<Diagnostic>, BTreeMap<String, usize>) {
        let extra = std::mem::take(&mut self.workload_extra);
        // Which declared workload's template an inferred owner without pods takes its
        // representative pod from (a ReplicaSet in the input whose Deployment is not).
        let mut template_of: FxHashMap<usize, usize> = FxHashMap::default();
        for (i, (owners, _)) in extra.iter().enumerate() {
            let ns = self.model.workloads[i].namespace;
            let mut owner = self.owner_of(ns, owners).filter(|&o| o.index() != i);
            if owner.is_none()
                && let Some(o) = owners.iter().find(|o| o.controller).or(owners.first())
                && let Some(kind) = WorkloadKind::parse(&o.kind)
            {
                let labels = self.model.workloads[i].template_labels.clone();
                let (kind, name) = owners::top_level_of(kind, &o.name, &labels);
                let id = self.workload_or_inferred(ns, kind, &name);
                if id.index() != i {
                    owner = Some(id);
                    if id.index() >= extra.len() {
                        let w = &self.model.workloads[i];
                        let (labels, ports) = (w.template_labels.clone(), w.template_ports.clone());
                        let inferred = &mut self.model.workloads[id.index()];
                        if inferred.template_labels.is_empty() {
                            inferred.template_labels = labels;
                            inferred.template_ports = ports;
                        }
                        template_of.entry(id.index()).or_insert(i);
                    }
                }
            }
            self.model.workloads[i].owner = owner;
        }
        let pod_owners = std::mem::take(&mut self.pod_owners);
        for (pod_id, refs, generate_name) in &pod_owners {
            let pod = &self.model.pods[pod_id.index()];
            let ns = pod.namespace;
            let inferred =
                owners::infer_pod_owner(&pod.name, &pod.labels, refs, generate_name.as_deref());
            let direct = match self.owner_of(ns, refs) {
                Some(w) => Some(w),
                None => inferred.map(|(kind, name)| self.workload_or_inferred(ns, kind, &name)),
            };
            if let Some(w) = direct {
                let top = self.top_level(w);
                self.model.pods[pod_id.index()].workload = Some(top);
                self.model.workloads[top.index()].pods.push(*pod_id);
            }
        }
        // An inferred workload's template is what its pods have in common, less the labels
        // controllers add per pod or per revision.
        for i in extra.len()..self.model.workloads.len() {
            let w = &self.model.workloads[i];
            let Some((&first, rest)) = w.pods.split_first() else {
                continue;
            };
            let mut labels = self.model.pods[first.index()].labels.clone();
            for p in rest {
                let other = &self.model.pods[p.index()].labels;
                labels.retain(|k, v| other.get(k) == Some(v));
            }
            labels.retain(|k, _| !owners::CONTROLLER_LABELS.contains(&k.as_str()));
            let ports = self.model.pods[first.index()].ports.clone();
            let w = &mut self.model.workloads[i];
            w.template_labels = labels;
            w.template_ports = ports;
        }
        for i in 0..self.model.workloads.len() {
            let w = &self.model.workloads[i];
            if w.owner.is_some() || !w.pods.is_empty() {
                continue;
            }
            let source = if i < extra.len() {
                i
            } else if let Some(&child) = template_of.get(&i) {
                child
            } else {
                continue;
            };
            let template = &extra[source].1;
            let child = &self.model.workloads[source];
            let pod = Pod {
                name: w.name.clone(),
                namespace: w.namespace,
                labels: child.template_labels.clone(),
                annotations: template.annotations.clone(),
                ports: child.template_ports.clone(),
                ips: Vec::new(),
                host_network: template.host_network,
                workload: Some(WorkloadId::new(i)),
                origin: PodOrigin::Template,
                span: Some(template.span),
            };
            let id = self.model.add_pod(pod);
            self.model.workloads[i].pods.push(id);
        }
        if self.inferred > 0 {
            let n = self.inferred;
            self.diags.push(Diagnostic::info(format!(
                "{n} workload{} not in the input {} inferred from their pods' or ReplicaSets' \
                     ownerReferences, generateName and controller labels",
                if n == 1 { "" } else { "s" },
                if n == 1 { "was" } else { "were" },
            )));
        }
        for (key, count) in &self.skipped {
            let objects = if *count == 1 { "object" } else { "objects" };
            let mut d = Diagnostic::info(format!("skipped {count} {objects} of kind {key}"));
            if let Some(note) = self.skip_notes.get(key) {
                d = d.with_note(*note);
            }
            self.diags.push(d);
        }
        (self.model, self.diags, self.skipped)
    }
}
