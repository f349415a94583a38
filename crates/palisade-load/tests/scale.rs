//! Loading a generated cluster (the shape of a `kubectl get -A` dump) from YAML and from JSON
//! gives the same, complete model. Timing at the `large` size (10,000 namespaces, 150,000
//! pods, 20,000 policies) is the `load` benchmark:
//! `cargo bench -p palisade-load --bench load` (see docs/benchmarks.md).

#[path = "support/cluster.rs"]
mod cluster;

use cluster::{Size, json_cluster, yaml_cluster};
use palisade_load::{Input, LoadOptions, Loaded, load};
use palisade_model::{Direction, PeerKind, PortRef};

const SIZE: Size = Size {
    namespaces: 40,
    pods: 600,
    policies: 80,
};

fn load_text(name: &str, text: String) -> Loaded {
    load(
        &[Input::Text {
            name: name.to_string(),
            text,
        }],
        &LoadOptions::default(),
    )
}

fn check(loaded: &Loaded) {
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics.first());
    let model = &loaded.model;
    assert_eq!(model.namespaces.len(), SIZE.namespaces);
    assert_eq!(model.pods.len(), SIZE.pods);
    assert_eq!(model.policies.len(), SIZE.policies);
    // Every pod keeps both addresses and both named ports.
    for pod in &model.pods {
        assert_eq!(pod.ips.len(), 2, "{}", pod.name);
        assert!(pod.ips[0].is_ipv4() && pod.ips[1].is_ipv6());
        let names: Vec<_> = pod.ports.iter().filter_map(|p| p.name.as_deref()).collect();
        assert_eq!(names, ["http", "metrics"]);
    }
    // Every policy keeps both peers, the named port and the endPort range.
    for policy in &model.policies {
        let ingress = policy.rules(Direction::Ingress);
        assert_eq!(ingress.len(), 1);
        assert!(
            matches!(ingress[0].peers[1].kind, PeerKind::IpBlock(ref b) if b.except.len() == 1)
        );
        assert_eq!(
            ingress[0].ports[1].port,
            Some(PortRef::Name("metrics".into()))
        );
        let egress = policy.rules(Direction::Egress);
        assert_eq!(egress[0].ports[0].end_port, Some(5440));
    }
}

#[test]
fn a_cluster_dump_loads_completely_from_yaml_and_json() {
    let yaml = load_text("cluster.yaml", yaml_cluster(SIZE));
    let json = load_text("cluster.json", json_cluster(SIZE));
    check(&yaml);
    check(&json);
    let names =
        |l: &Loaded| -> Vec<String> { l.model.pod_ids().map(|p| l.model.pod_name(p)).collect() };
    assert_eq!(names(&yaml), names(&json));
    for (a, b) in yaml.model.policies.iter().zip(&json.model.policies) {
        assert_eq!((&a.name, &a.pod_selector), (&b.name, &b.pod_selector));
        assert_eq!(a.ingress.len(), b.ingress.len());
        for (x, y) in a.ingress.iter().zip(&b.ingress) {
            let kinds = |r: &palisade_model::Rule| -> Vec<PeerKind> {
                r.peers.iter().map(|p| p.kind.clone()).collect()
            };
            assert_eq!(kinds(x), kinds(y));
        }
    }
}
