//! Workloads from cluster dumps: the top-level owner of a pod whose owner objects are not in
//! the input (the usual case for `kubectl get pods,networkpolicies -A -o yaml`).
//!
//! The rules are the ones the controllers use to name what they create, so the name found is
//! the name of the real workload:
//! - a ReplicaSet named `NAME-HASH` whose pods carry `pod-template-hash: HASH` belongs to the
//!   Deployment `NAME` (the Deployment controller's naming, which kubectl relies on too).
//!   Kubernetes before 1.11 put the decimal hash in the label and its "safe-encoded" form in the
//!   name; both forms are recognised;
//! - a Job named `NAME-MINUTES` (a number of at least 8 digits, the scheduled time in minutes
//!   since the epoch) belongs to the CronJob `NAME`;
//! - StatefulSet, DaemonSet, ReplicationController, Deployment and CronJob owners are
//!   top-level already;
//! - without `ownerReferences`, `metadata.generateName` stands in for the owner's name: `NAME-HASH-`
//!   with `pod-template-hash: HASH` is the Deployment `NAME`, `NAME-` with a `job-name` label is
//!   that Job (or its CronJob), `NAME-` with `controller-revision-hash` is the DaemonSet `NAME`; a
//!   pod with `statefulset.kubernetes.io/pod-name` equal to its name `NAME-N` is the
//!   StatefulSet `NAME`.
//!
//! Owners of other kinds (a `Node` for static pods, custom controllers) group nothing: the pod
//! stays on its own.

use palisade_model::{Labels, WorkloadKind};

use crate::convert::OwnerRef;

/// The label the Deployment controller puts on the pods of each ReplicaSet.
pub(crate) const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// Labels controllers add to the pods they create; not part of the workload's own template.
pub(crate) const CONTROLLER_LABELS: &[&str] = &[
    POD_TEMPLATE_HASH,
    "controller-revision-hash",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "pod-template-generation",
    "controller-uid",
    "job-name",
    "batch.kubernetes.io/job-name",
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-completion-index",
];

/// The characters Kubernetes' `rand.SafeEncodeString` maps bytes to.
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `rand.SafeEncodeString`: how Kubernetes before 1.11 turned the decimal pod-template-hash
/// into the ReplicaSet name suffix.
fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|b| SAFE_ALPHABET[b as usize % SAFE_ALPHABET.len()] as char)
        .collect()
}

/// The Deployment owning a ReplicaSet named `rs` whose pods carry `pod-template-hash: hash`.
pub(crate) fn deployment_of_replicaset<'r>(rs: &'r str, hash: &str) -> Option<&'r str> {
    let (deployment, suffix) = rs.rsplit_once('-')?;
    if deployment.is_empty() || hash.is_empty() {
        return None;
    }
    (suffix == hash || suffix == safe_encode(hash)).then_some(deployment)
}

/// The CronJob owning a Job named `job`, by the CronJob controller's `NAME-MINUTES` naming.
pub(crate) fn cronjob_of_job(job: &str) -> Option<&str> {
    let (cronjob, suffix) = job.rsplit_once('-')?;
    (!cronjob.is_empty() && suffix.len() >= 8 && suffix.bytes().all(|b| b.is_ascii_digit()))
        .then_some(cronjob)
}

/// The top-level workload `(kind, name)` of a workload `(kind, name)` named by a reference,
/// when that workload is not in the input.
pub(crate) fn top_level_of(
    kind: WorkloadKind,
    name: &str,
    labels: &Labels,
) -> (WorkloadKind, String) {
    match kind {
        WorkloadKind::ReplicaSet => match labels
            .get(POD_TEMPLATE_HASH)
            .and_then(|h| deployment_of_replicaset(name, h))
        {
            Some(d) => (WorkloadKind::Deployment, d.to_string()),
            None => (kind, name.to_string()),
        },
        WorkloadKind::Job => match cronjob_of_job(name) {
            Some(c) => (WorkloadKind::CronJob, c.to_string()),
            None => (kind, name.to_string()),
        },
        _ => (kind, name.to_string()),
    }
}

/// The top-level workload of a pod, from its owner references (controller first) or, without
/// them, from its `generateName` and controller labels. `None` when nothing names one.
pub(crate) fn infer_pod_owner(
    name: &str,
    labels: &Labels,
    owners: &[OwnerRef],
    generate_name: Option<&str>,
) -> Option<(WorkloadKind, String)> {
    if !owners.is_empty() {
        return owners
            .iter()
            .filter(|o| o.controller)
            .chain(owners.iter().filter(|o| !o.controller))
            .find_map(|o| {
                let kind = WorkloadKind::parse(&o.kind)?;
                Some(top_level_of(kind, &o.name, labels))
            });
    }
    if let Some(generated) = generate_name.and_then(|g| g.strip_suffix('-')) {
        if labels.contains_key(POD_TEMPLATE_HASH) {
            return Some(top_level_of(WorkloadKind::ReplicaSet, generated, labels));
        }
        let job = labels
            .get("batch.kubernetes.io/job-name")
            .or_else(|| labels.get("job-name"));
        if let Some(job) = job.filter(|j| j.as_str() == generated) {
            return Some(top_level_of(WorkloadKind::Job, job, labels));
        }
        if labels.contains_key("controller-revision-hash") && !generated.is_empty() {
            return Some((WorkloadKind::DaemonSet, generated.to_string()));
        }
    }
    if labels
        .get("statefulset.kubernetes.io/pod-name")
        .is_some_and(|n| n == name)
        && let Some((set, ordinal)) = name.rsplit_once('-')
        && !set.is_empty()
        && !ordinal.is_empty()
        && ordinal.bytes().all(|b| b.is_ascii_digit())
    {
        return Some((WorkloadKind::StatefulSet, set.to_string()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn owner(kind: &str, name: &str, controller: bool) -> OwnerRef {
        OwnerRef {
            kind: kind.into(),
            name: name.into(),
            controller,
        }
    }

    #[test]
    fn replicaset_suffix_must_be_the_pod_template_hash() {
        assert_eq!(
            deployment_of_replicaset("web-6f7b9c5d8", "6f7b9c5d8"),
            Some("web")
        );
        assert_eq!(
            deployment_of_replicaset("my-web-6f7b9c5d8", "6f7b9c5d8"),
            Some("my-web")
        );
        // A standalone ReplicaSet whose name happens to have a dash is not a Deployment's.
        assert_eq!(deployment_of_replicaset("barbar-app", "175883757"), None);
        assert_eq!(deployment_of_replicaset("web-6f7b9c5d8", "other"), None);
        assert_eq!(deployment_of_replicaset("-abc", "abc"), None);
    }

    #[test]
    fn old_decimal_hash_labels_match_their_safe_encoded_names() {
        // From a Kubernetes 1.10 dump: label `3833961177`, ReplicaSet `...-7d77fb55cc`.
        assert_eq!(safe_encode("3833961177"), "7d77fb55cc");
        assert_eq!(
            deployment_of_replicaset("cog-local-analyzer-7d77fb55cc", "3833961177"),
            Some("cog-local-analyzer")
        );
    }

    #[test]
    fn cronjob_jobs_end_in_scheduled_minutes() {
        assert_eq!(cronjob_of_job("backup-29123456"), Some("backup"));
        assert_eq!(cronjob_of_job("migrate-v2"), None);
        assert_eq!(cronjob_of_job("backup-1234"), None);
    }

    #[test]
    fn controller_reference_wins_and_unknown_kinds_group_nothing() {
        let l = labels(&[("pod-template-hash", "abc12")]);
        let refs = [
            owner("StatefulSet", "other", false),
            owner("ReplicaSet", "web-abc12", true),
        ];
        assert_eq!(
            infer_pod_owner("web-abc12-xyz", &l, &refs, None),
            Some((WorkloadKind::Deployment, "web".into()))
        );
        let node = [owner("Node", "node-1", true)];
        assert_eq!(infer_pod_owner("kube-proxy-node-1", &l, &node, None), None);
        let ds = [owner("DaemonSet", "agent", true)];
        assert_eq!(
            infer_pod_owner("agent-x1", &Labels::new(), &ds, None),
            Some((WorkloadKind::DaemonSet, "agent".into()))
        );
        let job = [owner("Job", "report-29000000", true)];
        assert_eq!(
            infer_pod_owner("report-29000000-k2", &Labels::new(), &job, None),
            Some((WorkloadKind::CronJob, "report".into()))
        );
    }

    #[test]
    fn generate_name_stands_in_for_missing_references() {
        let l = labels(&[("pod-template-hash", "6f7b9c5d8")]);
        assert_eq!(
            infer_pod_owner("web-6f7b9c5d8-qz7lm", &l, &[], Some("web-6f7b9c5d8-")),
            Some((WorkloadKind::Deployment, "web".into()))
        );
        let ds = labels(&[("controller-revision-hash", "5d8f")]);
        assert_eq!(
            infer_pod_owner("agent-x1", &ds, &[], Some("agent-")),
            Some((WorkloadKind::DaemonSet, "agent".into()))
        );
        let job = labels(&[("job-name", "migrate")]);
        assert_eq!(
            infer_pod_owner("migrate-x1", &job, &[], Some("migrate-")),
            Some((WorkloadKind::Job, "migrate".into()))
        );
        let sts = labels(&[("statefulset.kubernetes.io/pod-name", "db-0")]);
        assert_eq!(
            infer_pod_owner("db-0", &sts, &[], None),
            Some((WorkloadKind::StatefulSet, "db".into()))
        );
        // generateName alone says nothing about the kind: the pod stays on its own.
        assert_eq!(
            infer_pod_owner("x-abcde", &Labels::new(), &[], Some("x-")),
            None
        );
    }
}
