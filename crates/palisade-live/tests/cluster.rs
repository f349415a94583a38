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

fn server(forbidden: &[&str]) -> FakeApiServer {
    FakeApiServer::start(ApiServerConfig {
        root: fixture(),
        forbidden: forbidden
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
        max_page: 3,
    })
}

fn kubeconfig(api: &FakeApiServer, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("palisade-live-{}-{name}", std::process::id()));
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
    let api = server(&[]);
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
    // The absent CRD is said, not an error.
    let banp = snap
        .reads
        .iter()
        .find(|r| r.resource.plural == "baselineadminnetworkpolicies")
        .unwrap();
    assert_eq!(banp.outcome, ReadOutcome::Absent);
    assert!(
        snap.warnings
            .iter()
            .any(|w| w.contains("BaselineAdminNetworkPolicy are not installed")),
        "{:?}",
        snap.warnings
    );
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
