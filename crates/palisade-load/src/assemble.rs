//! Converted items to the [`Model`]: namespaces get ids, duplicates are refused, pods are
//! grouped under their top-level workload and workloads without pods get a template pod.

use std::collections::BTreeMap;

use palisade_diag::{Diagnostic, Span};
use palisade_model::{Model, NamespaceId, Pod, PodId, PodOrigin, WorkloadId, WorkloadKind};
use rustc_hash::FxHashMap;

use crate::convert::{Item, Object, OwnerRef, Template};

/// Builds the model from items in input order.
pub(crate) struct Assembler<'o> {
    pub model: Model,
    pub diags: Vec<Diagnostic>,
    pub skipped: BTreeMap<String, usize>,
    skip_notes: BTreeMap<String, &'static str>,
    default_namespace: &'o str,
    seen: FxHashMap<(&'static str, String, String), Span>,
    workload_index: FxHashMap<(NamespaceId, WorkloadKind, String), WorkloadId>,
    pod_owners: Vec<(PodId, Vec<OwnerRef>)>,
    workload_extra: Vec<(Vec<OwnerRef>, Template)>,
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
            Object::Namespace { .. } | Object::AdminPolicy(_) | Object::Node(_) => String::new(),
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
            Object::Pod { mut pod, owners } => {
                pod.namespace = ns_id;
                let id = self.model.add_pod(pod);
                if !owners.is_empty() {
                    self.pod_owners.push((id, owners));
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

    pub(crate) fn finish(mut self) -> (Model, Vec<Diagnostic>, BTreeMap<String, usize>) {
        let extra = std::mem::take(&mut self.workload_extra);
        for (i, (owners, _)) in extra.iter().enumerate() {
            let ns = self.model.workloads[i].namespace;
            let owner = self.owner_of(ns, owners).filter(|&o| o.index() != i);
            self.model.workloads[i].owner = owner;
        }
        let pod_owners = std::mem::take(&mut self.pod_owners);
        for (pod_id, owners) in &pod_owners {
            let pod = &self.model.pods[pod_id.index()];
            let ns = pod.namespace;
            let direct = self.owner_of(ns, owners).or_else(|| {
                // The ReplicaSet `NAME-HASH` may be missing from the input while its Deployment
                // `NAME` is there; the pod's pod-template-hash label ties them together.
                let hash = pod.labels.get("pod-template-hash")?;
                owners.iter().find_map(|o| {
                    if o.kind != "ReplicaSet" {
                        return None;
                    }
                    let deployment = o.name.strip_suffix(hash.as_str())?.strip_suffix('-')?;
                    self.workload_index
                        .get(&(ns, WorkloadKind::Deployment, deployment.to_string()))
                        .copied()
                })
            });
            if let Some(w) = direct {
                let top = self.top_level(w);
                self.model.pods[pod_id.index()].workload = Some(top);
                self.model.workloads[top.index()].pods.push(*pod_id);
            }
        }
        for (i, (_, template)) in extra.into_iter().enumerate() {
            let w = &self.model.workloads[i];
            if w.owner.is_some() || !w.pods.is_empty() {
                continue;
            }
            let pod = Pod {
                name: w.name.clone(),
                namespace: w.namespace,
                labels: w.template_labels.clone(),
                annotations: template.annotations,
                ports: w.template_ports.clone(),
                ips: Vec::new(),
                host_network: template.host_network,
                workload: Some(WorkloadId::new(i)),
                origin: PodOrigin::Template,
                span: Some(template.span),
            };
            let id = self.model.add_pod(pod);
            self.model.workloads[i].pods.push(id);
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
