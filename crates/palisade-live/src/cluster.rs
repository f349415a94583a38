//! Reading a running cluster through the Kubernetes API (kube-rs): the objects Palisade's
//! loader understands, as raw JSON, paginated, with every refusal named.
//!
//! The reader does not interpret objects: it hands them to the loader exactly as `kubectl get
//! -o json` would have written them to a file, so a live model and a model loaded from a
//! snapshot of the same objects are the same model.

use std::path::PathBuf;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Map, Value};

use crate::error::{Error, error_chain, tls_hint};

/// How to reach the cluster and what to read; the flags kubectl has.
#[derive(Clone, Debug, Default)]
pub struct ClusterOptions {
    /// `--kubeconfig`: this file instead of `KUBECONFIG` / `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`: this kubeconfig context instead of the current one.
    pub context: Option<String>,
    /// `-n/--namespace`: read namespaced objects of this namespace only.
    pub namespace: Option<String>,
    /// `-A/--all-namespaces`: read namespaced objects of every namespace.
    pub all_namespaces: bool,
    /// Objects per list request (`limit`); 0 means the default, 500 (kubectl's chunk size).
    pub page_size: u32,
    /// Report refused reads as warnings and go on (the model is then marked incomplete)
    /// instead of failing.
    pub keep_going: bool,
}

/// One kind of object the reader lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resource {
    /// API group, empty for the core group.
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// Kind of the items.
    pub kind: &'static str,
    /// Plural resource name, as in RBAC rules and URLs.
    pub plural: &'static str,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// A CustomResourceDefinition that may be absent from a cluster.
    pub optional_crd: bool,
    /// What Palisade cannot do without it (said when it cannot be read).
    pub needed_for: &'static str,
}

impl Resource {
    /// `apiVersion` of the objects.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The list URL path, for one namespace or (None) all of them.
    pub fn list_path(&self, namespace: Option<&str>) -> String {
        let base = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match namespace {
            Some(ns) if self.namespaced => format!("{base}/namespaces/{ns}/{}", self.plural),
            _ => format!("{base}/{}", self.plural),
        }
    }

    /// `plural.group` as RBAC and kubectl name it (`pods`, `networkpolicies.networking.k8s.io`).
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

const fn res(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    needed_for: &'static str,
) -> Resource {
    Resource {
        group,
        version,
        kind,
        plural,
        namespaced,
        optional_crd: false,
        needed_for,
    }
}

const fn crd(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
) -> Resource {
    Resource {
        group,
        version,
        kind,
        plural,
        namespaced: false,
        optional_crd: true,
        needed_for: "admin-tier policies (their verdicts come before and after NetworkPolicies)",
    }
}

/// Everything the reader lists, in the order it lists them. `docs/rbac/palisade-reader.yaml`
/// grants exactly these (a test keeps the two in step).
pub const RESOURCES: &[Resource] = &[
    res(
        "",
        "v1",
        "Namespace",
        "namespaces",
        false,
        "namespace selectors",
    ),
    res(
        "",
        "v1",
        "Node",
        "nodes",
        false,
        "snapshots of node addresses",
    ),
    res("", "v1", "Pod", "pods", true, "pods, their labels and IPs"),
    res("", "v1", "Service", "services", true, "services"),
    res(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        true,
        "workload grouping",
    ),
    res(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        true,
        "workload grouping",
    ),
    res(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        true,
        "workload grouping",
    ),
    res(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        true,
        "workload grouping",
    ),
    res("batch", "v1", "Job", "jobs", true, "workload grouping"),
    res(
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        true,
        "workload grouping",
    ),
    res(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        "every policy verdict",
    ),
    crd(
        "policy.networking.k8s.io",
        "v1alpha2",
        "ClusterNetworkPolicy",
        "clusternetworkpolicies",
    ),
    crd(
        "policy.networking.k8s.io",
        "v1alpha1",
        "AdminNetworkPolicy",
        "adminnetworkpolicies",
    ),
    crd(
        "policy.networking.k8s.io",
        "v1alpha1",
        "BaselineAdminNetworkPolicy",
        "baselineadminnetworkpolicies",
    ),
];

/// What one list read returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceRead {
    /// The resource.
    pub resource: Resource,
    /// Objects read.
    pub objects: usize,
    /// List requests made (pages).
    pub pages: usize,
    /// The paginated list expired mid-way (410 Gone) and was read again in one request.
    pub restarted: bool,
    /// Why it was not read, if it was not.
    pub outcome: ReadOutcome,
}

/// Whether a resource could be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// Read completely.
    Read,
    /// The CRD is not installed (404): nothing to read.
    Absent,
    /// The API server refused (403) and `keep_going` was set: the model lacks these objects.
    Forbidden {
        /// The API server's message (it names the user).
        message: String,
    },
}

/// What was read from the cluster.
#[derive(Clone, Debug, Default)]
pub struct ClusterSnapshot {
    /// The API server's URL.
    pub server: String,
    /// The namespace read, or None for all namespaces.
    pub namespace: Option<String>,
    /// Every object, with `apiVersion` and `kind` set, `metadata.managedFields` removed.
    pub objects: Vec<Value>,
    /// One entry per resource listed.
    pub reads: Vec<ResourceRead>,
    /// Things the user should know about the snapshot's completeness.
    pub warnings: Vec<String>,
}

impl ClusterSnapshot {
    /// Objects grouped for writing: cluster-scoped ones under `None`, then each namespace in
    /// name order; objects keep the read order within a group.
    pub fn by_namespace(&self) -> Vec<(Option<String>, Vec<&Value>)> {
        let mut groups: std::collections::BTreeMap<Option<String>, Vec<&Value>> =
            Default::default();
        for obj in &self.objects {
            let ns = obj
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .map(str::to_string);
            groups.entry(ns).or_default().push(obj);
        }
        groups.into_iter().collect()
    }

    /// A `v1 List` holding the given objects (what `kubectl get -o json` prints).
    pub fn list_of(objects: &[&Value]) -> Value {
        let mut list = Map::new();
        list.insert("apiVersion".into(), Value::from("v1"));
        list.insert("kind".into(), Value::from("List"));
        list.insert(
            "items".into(),
            Value::Array(objects.iter().map(|o| (*o).clone()).collect()),
        );
        Value::Object(list)
    }
}

/// Builds the client the way kubectl picks its configuration: `--kubeconfig`, else
/// `KUBECONFIG`, else `~/.kube/config`, else the in-cluster service account; `--context` picks
/// a context of the kubeconfig.
pub async fn connect(opts: &ClusterOptions) -> Result<(Client, Config), Error> {
    let kube_opts = KubeConfigOptions {
        context: opts.context.clone(),
        ..Default::default()
    };
    let config = match (&opts.kubeconfig, &opts.context) {
        (Some(path), _) => {
            let kubeconfig = Kubeconfig::read_from(path).map_err(|e| Error::Kubeconfig {
                detail: format!("`{}`: {e}", path.display()),
            })?;
            Config::from_custom_kubeconfig(kubeconfig, &kube_opts)
                .await
                .map_err(|e| Error::Kubeconfig {
                    detail: format!("`{}`: {e}", path.display()),
                })?
        }
        (None, Some(_)) => {
            Config::from_kubeconfig(&kube_opts)
                .await
                .map_err(|e| Error::Kubeconfig {
                    detail: e.to_string(),
                })?
        }
        (None, None) => Config::infer().await.map_err(|e| Error::Kubeconfig {
            detail: e.to_string(),
        })?,
    };
    let client = Client::try_from(config.clone()).map_err(|e| Error::Kubeconfig {
        detail: e.to_string(),
    })?;
    Ok((client, config))
}

/// Reads every resource of [`RESOURCES`] the options ask for.
pub async fn read_cluster(opts: &ClusterOptions) -> Result<ClusterSnapshot, Error> {
    let (client, config) = connect(opts).await?;
    let namespace = if opts.all_namespaces {
        None
    } else {
        Some(
            opts.namespace
                .clone()
                .unwrap_or_else(|| config.default_namespace.clone()),
        )
    };
    let server = config.cluster_url.to_string();
    read_with(&client, &server, namespace, opts).await
}

/// [`read_cluster`] with a client already built.
pub async fn read_with(
    client: &Client,
    server: &str,
    namespace: Option<String>,
    opts: &ClusterOptions,
) -> Result<ClusterSnapshot, Error> {
    let mut snapshot = ClusterSnapshot {
        server: server.to_string(),
        namespace: namespace.clone(),
        ..Default::default()
    };
    let mut forbidden = Vec::new();
    for resource in RESOURCES {
        let read = list_all(
            client,
            server,
            resource,
            namespace.as_deref(),
            opts,
            &mut snapshot.objects,
        )
        .await?;
        match &read.outcome {
            ReadOutcome::Read => {}
            ReadOutcome::Absent => snapshot.warnings.push(format!(
                "{} are not installed in this cluster (no {} CRD): no {} to read",
                resource.kind,
                resource.qualified(),
                resource.kind
            )),
            ReadOutcome::Forbidden { message } => forbidden.push((*resource, message.clone())),
        }
        snapshot.reads.push(read);
    }
    if !forbidden.is_empty() {
        let lines: Vec<String> = forbidden
            .iter()
            .map(|(r, message)| forbidden_line(r, namespace.as_deref(), message))
            .collect();
        if opts.keep_going {
            for line in lines {
                snapshot.warnings.push(format!(
                    "{line}; the model is INCOMPLETE: answers involving these objects may be wrong"
                ));
            }
        } else {
            return Err(Error::Forbidden {
                server: server.to_string(),
                refused: lines,
            });
        }
    }
    if let Some(ns) = &namespace {
        snapshot.warnings.push(format!(
            "read namespaced objects of namespace `{ns}` only (as kubectl does without -A); policies whose peers live in other namespaces see no pods there: pass -A to read every namespace"
        ));
    }
    Ok(snapshot)
}

fn forbidden_line(r: &Resource, namespace: Option<&str>, message: &str) -> String {
    let scope = match namespace {
        Some(ns) if r.namespaced => format!(" in namespace `{ns}`"),
        _ if r.namespaced => " in all namespaces".to_string(),
        _ => String::new(),
    };
    format!(
        "cannot `list` {}{scope} (403 Forbidden: {message}); without it Palisade has no {}",
        r.qualified(),
        r.needed_for
    )
}

/// Lists one resource page by page (`limit` / `continue`), appending the items.
async fn list_all(
    client: &Client,
    server: &str,
    resource: &Resource,
    namespace: Option<&str>,
    opts: &ClusterOptions,
    out: &mut Vec<Value>,
) -> Result<ResourceRead, Error> {
    let limit = if opts.page_size == 0 {
        500
    } else {
        opts.page_size
    };
    let path = resource.list_path(namespace);
    let mut read = ResourceRead {
        resource: *resource,
        objects: 0,
        pages: 0,
        restarted: false,
        outcome: ReadOutcome::Read,
    };
    let mut token: Option<String> = None;
    // Where this resource's items start in `out` (dropped again if the list restarts).
    let first_item = out.len();
    // After a 410 Expired continue token: one full list without `limit`, as client-go's
    // pager does (a chunked list can expire again; an unchunked one cannot).
    let mut unchunked = false;
    loop {
        let mut url = if unchunked {
            path.clone()
        } else {
            format!("{path}?limit={limit}")
        };
        if let Some(t) = &token {
            url.push_str(if url.contains('?') {
                "&continue="
            } else {
                "?continue="
            });
            url.push_str(&percent_encode(t));
        }
        let request = http::Request::get(&url)
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|e| Error::Request {
                url: url.clone(),
                detail: e.to_string(),
            })?;
        let list: Value = match client.request(request).await {
            Ok(v) => v,
            Err(kube::Error::Api(status)) if status.code == 404 && resource.optional_crd => {
                read.outcome = ReadOutcome::Absent;
                return Ok(read);
            }
            Err(kube::Error::Api(status))
                if status.code == 410 && token.is_some() && !unchunked =>
            {
                // The snapshot the continue token pointed into is gone (compacted): the pages
                // read so far may not fit the next ones, so the list starts over, whole.
                out.truncate(first_item);
                read.objects = 0;
                read.restarted = true;
                token = None;
                unchunked = true;
                continue;
            }
            Err(kube::Error::Api(status)) if status.code == 403 => {
                read.outcome = ReadOutcome::Forbidden {
                    message: status.message.clone(),
                };
                return Ok(read);
            }
            Err(e) => {
                let chain = error_chain(&e);
                let detail = match tls_hint(
                    &chain,
                    "the kubeconfig cluster's certificate-authority(-data)",
                    "the kubeconfig cluster's server (or tls-server-name)",
                ) {
                    Some(h) => format!("{chain} ({h})"),
                    None => chain,
                };
                return Err(Error::Api {
                    server: server.to_string(),
                    url,
                    detail,
                });
            }
        };
        read.pages += 1;
        let items = list
            .get("items")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::Api {
                server: server.to_string(),
                url: url.clone(),
                detail: "the response is not a list (no `items`)".into(),
            })?;
        for item in items {
            out.push(normalize(item, resource));
            read.objects += 1;
        }
        token = list
            .pointer("/metadata/continue")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if token.is_none() {
            return Ok(read);
        }
    }
}

/// An item as a standalone object: list items carry no `apiVersion`/`kind`; server-side
/// bookkeeping (`managedFields`) is dropped because no analysis reads it.
fn normalize(item: &Value, resource: &Resource) -> Value {
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), Value::from(resource.api_version()));
    obj.insert("kind".into(), Value::from(resource.kind));
    if let Value::Object(fields) = item {
        for (k, v) in fields {
            if k == "apiVersion" || k == "kind" {
                continue;
            }
            let mut v = v.clone();
            if k == "metadata"
                && let Value::Object(meta) = &mut v
            {
                meta.remove("managedFields");
            }
            obj.insert(k.clone(), v);
        }
    }
    Value::Object(obj)
}

/// Percent-encodes a continue token for a query string (tokens are base64, which has `+`,
/// `/` and `=`).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_paths_follow_the_api_layout() {
        let pods = RESOURCES.iter().find(|r| r.plural == "pods").unwrap();
        assert_eq!(pods.list_path(Some("shop")), "/api/v1/namespaces/shop/pods");
        assert_eq!(pods.list_path(None), "/api/v1/pods");
        let np = RESOURCES
            .iter()
            .find(|r| r.plural == "networkpolicies")
            .unwrap();
        assert_eq!(
            np.list_path(Some("a")),
            "/apis/networking.k8s.io/v1/namespaces/a/networkpolicies"
        );
        let ns = RESOURCES.iter().find(|r| r.plural == "namespaces").unwrap();
        assert_eq!(ns.list_path(Some("a")), "/api/v1/namespaces");
    }

    #[test]
    fn continue_tokens_are_percent_encoded() {
        assert_eq!(percent_encode("eyJ2+/=x"), "eyJ2%2B%2F%3Dx");
    }
}
