//! The cluster reader against the fake API server (see `palisade_live::fakes`): pagination,
//! absent CRDs, refusals, kubectl's namespace rules.

use palisade_live::Error;
use palisade_live::cluster::{ClusterOptions, ReadOutcome, read_cluster};
use palisade_live::fakes::{ApiServerConfig, FakeApiServer};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/apiserver")
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn server(forbidden: &[&str]) -> FakeApiServer {
    FakeApiServer::start(ApiServerConfig {
        root: fixture(),
        forbidden: set(forbidden),
        max_page: 3,
        ..Default::default()
    })
}

/// A cluster with the v1alpha1 admin-tier CRDs (AdminNetworkPolicy,
/// BaselineAdminNetworkPolicy) but not the newer v1alpha2 ClusterNetworkPolicy.
fn server_without_cnp() -> FakeApiServer {
    FakeApiServer::start(ApiServerConfig {
        root: fixture(),
        absent: set(&["clusternetworkpolicies"]),
        max_page: 3,
        ..Default::default()
    })
}

fn kubeconfig(api: &FakeApiServer, name: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("palisade-live-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("kubeconfig");
    std::fs::write(&path, api.kubeconfig()).unwrap();
    path
}

fn fixture_items(path: &str) -> usize {
    let text = std::fs::read_to_string(fixture().join(path)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["items"].as_array().unwrap().len()
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn reads_every_resource_page_by_page() {
    let api = server_without_cnp();
    let opts = ClusterOptions {
        kubeconfig: Some(kubeconfig(&api, "all")),
        all_namespaces: true,
        page_size: 2,
        ..Default::default()
    };
    let snap = block(read_cluster(&opts)).unwrap();
    let pods = snap
        .reads
        .iter()
        .find(|r| r.resource.plural == "pods")
        .unwrap();
    let n = fixture_items("api/v1/pods.json");
    assert_eq!(pods.objects, n);
    assert_eq!(pods.pages, n.div_ceil(2), "limit=2 asks for pages of two");
    // Every item of every fixture file arrived once.
    let total: usize = [
        "api/v1/namespaces.json",
        "api/v1/nodes.json",
        "api/v1/pods.json",
        "api/v1/services.json",
        "apis/apps/v1/deployments.json",
        "apis/apps/v1/statefulsets.json",
        "apis/networking.k8s.io/v1/networkpolicies.json",
        "apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies.json",
        "apis/policy.networking.k8s.io/v1alpha1/baselineadminnetworkpolicies.json",
    ]
    .iter()
    .map(|p| fixture_items(p))
    .sum();
    assert_eq!(snap.objects.len(), total);
    // Continue tokens went back percent-encoded, exactly as the server issued them.
    let requests = api.requests();
    assert!(
        requests.iter().any(|r| r.starts_with(
            "/api/v1/pods?limit=2&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEi%2B%2F2%3D%3D"
        )),
        "{requests:?}"
    );
    // Items are standalone objects, without server bookkeeping.
    for obj in &snap.objects {
        assert!(
            obj["apiVersion"].is_string() && obj["kind"].is_string(),
            "{obj}"
        );
        assert!(obj["metadata"].get("managedFields").is_none());
    }
    let kinds: BTreeSet<&str> = snap
        .objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains("AdminNetworkPolicy"), "{kinds:?}");
    assert!(kinds.contains("BaselineAdminNetworkPolicy"), "{kinds:?}");
    assert!(!kinds.contains("ClusterNetworkPolicy"), "{kinds:?}");
    // The absent CRD is said, not an error.
    let cnp = snap
        .reads
        .iter()
        .find(|r| r.resource.plural == "clusternetworkpolicies")
        .unwrap();
    assert_eq!(cnp.outcome, ReadOutcome::Absent);
    assert!(
        snap.warnings.iter().any(|w| w.contains(
            "ClusterNetworkPolicy are not installed in this cluster (no clusternetworkpolicies.policy.networking.k8s.io CRD)"
        )),
        "{:?}",
        snap.warnings
    );
}

#[test]
fn admin_tier_policies_are_read_from_their_api_groups() {
    let api = server(&[]);
    let opts = ClusterOptions {
        kubeconfig: Some(kubeconfig(&api, "tiers")),
        all_namespaces: true,
        ..Default::default()
    };
    let snap = block(read_cluster(&opts)).unwrap();
    let named = |kind: &str| -> Vec<(String, String)> {
        snap.objects
            .iter()
            .filter(|o| o["kind"] == kind)
            .map(|o| {
                (
                    o["apiVersion"].as_str().unwrap().to_string(),
                    o["metadata"]["name"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let v1a2 = "policy.networking.k8s.io/v1alpha2".to_string();
    let v1a1 = "policy.networking.k8s.io/v1alpha1".to_string();
    assert_eq!(
        named("ClusterNetworkPolicy"),
        [
            (v1a2.clone(), "deny-metadata".into()),
            (v1a2, "allow-monitoring".into())
        ]
    );
    assert_eq!(
        named("AdminNetworkPolicy"),
        [(v1a1.clone(), "cluster-control".into())]
    );
    assert_eq!(
        named("BaselineAdminNetworkPolicy"),
        [(v1a1, "default".into())]
    );
    // Cluster-scoped: listed once, never per namespace, with the tier and rules intact.
    let requests = api.requests();
    assert!(requests.iter().any(|r| {
        r.starts_with("/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies?limit=")
    }));
    let cnp = snap
        .objects
        .iter()
        .find(|o| o["metadata"]["name"] == "deny-metadata")
        .unwrap();
    assert_eq!(cnp["spec"]["tier"], "Admin");
    assert_eq!(
        cnp["spec"]["egress"][0]["to"][0]["networks"][0],
        "169.254.169.254/32"
    );
    assert!(snap.warnings.iter().all(|w| !w.contains("not installed")));
}

#[test]
fn an_expired_continue_token_restarts_the_list_whole() {
    let api = FakeApiServer::start(ApiServerConfig {
        root: fixture(),
        max_page: 2,
        expire_first_continue: true,
        ..Default::default()
    });
    let opts = ClusterOptions {
        kubeconfig: Some(kubeconfig(&api, "expired")),
        all_namespaces: true,
        page_size: 2,
        ..Default::default()
    };
    let snap = block(read_cluster(&opts)).unwrap();
    // Namespaces are listed first, so their second page met the 410.
    let ns = &snap.reads[0];
    assert_eq!(ns.resource.plural, "namespaces");
    assert!(ns.restarted);
    assert_eq!(ns.objects, fixture_items("api/v1/namespaces.json"));
    let names: Vec<&str> = snap
        .objects
        .iter()
        .filter(|o| o["kind"] == "Namespace")
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(
        names.len(),
        unique.len(),
        "no page counted twice: {names:?}"
    );
    let requests = api.requests();
    assert!(
        requests.iter().any(|r| r == "/api/v1/namespaces"),
        "the restart is one list without `limit`: {requests:?}"
    );
    // Later resources paginate normally again.
    assert!(snap.reads[1..].iter().all(|r| !r.restarted));
    let pods = snap
        .reads
        .iter()
        .find(|r| r.resource.plural == "pods")
        .unwrap();
    assert_eq!(pods.objects, fixture_items("api/v1/pods.json"));
}

#[test]
fn a_refused_read_names_verb_resource_and_consequence() {
    let api = server(&["pods"]);
    let opts = ClusterOptions {
        kubeconfig: Some(kubeconfig(&api, "forbidden")),
        all_namespaces: true,
        ..Default::default()
    };
    let err = block(read_cluster(&opts)).unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }));
    let text = err.to_string();
    assert!(
        text.contains("cannot `list` pods in all namespaces"),
        "{text}"
    );
    assert!(text.contains("403 Forbidden"), "{text}");
    assert!(text.contains("cannot list resource \"pods\""), "{text}");
    assert!(
        text.contains("without it Palisade has no pods, their labels and IPs"),
        "{text}"
    );
    assert!(text.contains("docs/rbac/palisade-reader.yaml"), "{text}");

    // --keep-going: the same refusal as a warning, and no pods.
    let snap = block(read_cluster(&ClusterOptions {
        keep_going: true,
        ..opts
    }))
    .unwrap();
    assert!(snap.objects.iter().all(|o| o["kind"] != "Pod"));
    assert!(
        snap.warnings
            .iter()
            .any(|w| w.contains("cannot `list` pods") && w.contains("INCOMPLETE")),
        "{:?}",
        snap.warnings
    );
}

#[test]
fn without_a_namespace_flag_the_contexts_namespace_is_read() {
    let api = server(&[]);
    let opts = ClusterOptions {
        kubeconfig: Some(kubeconfig(&api, "ctxns")),
        ..Default::default()
    };
    let snap = block(read_cluster(&opts)).unwrap();
    assert_eq!(snap.namespace.as_deref(), Some("shop"));
    let requests = api.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("/api/v1/namespaces/shop/pods?")),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("/api/v1/namespaces?")),
        "namespaces are cluster-scoped"
    );
    assert!(snap.objects.iter().all(|o| {
        o["metadata"]["namespace"]
            .as_str()
            .is_none_or(|ns| ns == "shop")
    }));
    assert!(snap.warnings.iter().any(|w| w.contains("pass -A")));

    // -n wins over the context's namespace.
    let snap = block(read_cluster(&ClusterOptions {
        namespace: Some("payments".into()),
        ..opts.clone()
    }))
    .unwrap();
    assert!(
        snap.objects
            .iter()
            .any(|o| o["metadata"]["namespace"] == "payments")
    );
    assert!(
        snap.objects
            .iter()
            .all(|o| o["metadata"]["namespace"] != "shop")
    );

    // --context picks another cluster: here one that does not answer.
    let err = block(read_cluster(&ClusterOptions {
        context: Some("elsewhere".into()),
        ..opts
    }))
    .unwrap_err();
    assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
}

#[test]
fn the_rbac_file_grants_list_on_every_resource_read() {
    let rbac = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rbac/palisade-reader.yaml"),
    )
    .unwrap();
    for r in palisade_live::cluster::RESOURCES {
        let group_line = format!("- apiGroups: [\"{}\"]", r.group);
        let start = rbac
            .find(&group_line)
            .unwrap_or_else(|| panic!("no rule for API group `{}`", r.group));
        let rule = &rbac[start..];
        let rule = &rule[..rule[1..].find("- apiGroups").map_or(rule.len(), |e| e + 1)];
        assert!(
            rule.contains(&format!("\"{}\"", r.plural)),
            "{} missing",
            r.plural
        );
        assert!(rule.contains("\"list\""), "list missing for {}", r.plural);
    }
}
