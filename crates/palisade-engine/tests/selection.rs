//! `-n`/`-l` narrow answers without changing them: the matrix of a selection is the whole
//! matrix's square of the selected rows (a workload row still means every pod of it), and
//! restricting connectivity keeps exactly the pairs with a chosen end.

use palisade_engine::connectivity::{self, Level, PeerRef};
use palisade_engine::{Engine, Selection, matrix};
use palisade_model::{LabelSelector, Model, Protocol};
use palisade_testkit::{model_strategy, pod_strategy};
use proptest::prelude::*;

/// The whole matrix narrowed to the rows (and columns) named in `names`.
fn narrowed(whole: &matrix::Matrix, names: &std::collections::HashSet<String>) -> matrix::Matrix {
    let keep: Vec<usize> = (0..whole.peers.len())
        .filter(|&i| names.contains(&whole.peers[i]))
        .collect();
    matrix::Matrix {
        port: whole.port,
        protocol: whole.protocol,
        peers: keep.iter().map(|&i| whole.peers[i].clone()).collect(),
        allowed: keep
            .iter()
            .map(|&i| keep.iter().map(|&j| whole.allowed[i][j]).collect())
            .collect(),
    }
}

/// Selections worth trying on a model: each namespace, each label of a pod, both.
fn selections(model: &Model) -> Vec<Selection> {
    let mut out = vec![Selection::default()];
    for ns in &model.namespaces {
        out.push(Selection {
            namespace: Some(ns.name.clone()),
            selector: None,
        });
    }
    for pod in model.pods.iter().take(3) {
        for (k, v) in pod.labels.iter().take(2) {
            let selector = LabelSelector::parse_kubectl(&format!("{k}={v}")).unwrap();
            out.push(Selection {
                namespace: None,
                selector: Some(selector.clone()),
            });
            out.push(Selection {
                namespace: Some(model.namespace(pod.namespace).name.clone()),
                selector: Some(selector),
            });
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn narrowing_selects_rows_and_never_changes_a_cell(
        (_, policies, ns) in model_strategy(),
        pods in prop::collection::vec((pod_strategy(), prop::option::of(0u8..3)), 1..8),
    ) {
        let model = palisade_testkit::build_model(&pods, &policies, &ns);
        let engine = Engine::new(&model);
        for level in [Level::Pod, Level::Workload] {
            let whole = matrix::compute(&model, &engine, level, Protocol::Tcp, 80);
            for selection in selections(&model) {
                let names = if selection.is_everything() {
                    whole.peers.iter().cloned().collect()
                } else {
                    selection.peer_names(&model)
                };
                let selected =
                    matrix::compute_selected(&model, &engine, level, Protocol::Tcp, 80, &selection);
                prop_assert_eq!(&selected, &narrowed(&whole, &names), "{:?}", selection);
                prop_assert_eq!(
                    matrix::rows(&model, level, &selection),
                    selected.peers.len()
                );
            }
        }
        let whole = connectivity::compute(&model, &engine, Level::Workload);
        for selection in selections(&model) {
            let names = selection.peer_names(&model);
            let chosen = |p: &connectivity::Peer| {
                !matches!(p.what, PeerRef::External(_)) && names.contains(&p.name)
            };
            let expected: Vec<(String, String, String)> = whole
                .connections
                .iter()
                .filter(|c| chosen(&whole.peers[c.src]) || chosen(&whole.peers[c.dst]))
                .map(|c| {
                    (
                        whole.peers[c.src].name.clone(),
                        whole.peers[c.dst].name.clone(),
                        c.ports.to_string(),
                    )
                })
                .collect();
            let restricted = connectivity::compute(&model, &engine, Level::Workload).restrict(chosen);
            let got: Vec<(String, String, String)> = restricted
                .connections
                .iter()
                .map(|c| {
                    (
                        restricted.peers[c.src].name.clone(),
                        restricted.peers[c.dst].name.clone(),
                        c.ports.to_string(),
                    )
                })
                .collect();
            prop_assert_eq!(&got, &expected);
            // The bounded collection is the same answer, or a prefix of it when cut.
            let rows = |c: &connectivity::Connectivity| -> Vec<(String, String, String)> {
                c.connections
                    .iter()
                    .map(|x| (c.peers[x.src].name.clone(), c.peers[x.dst].name.clone(), x.ports.to_string()))
                    .collect()
            };
            let stream = || connectivity::ConnectivityStream::new(&model, &engine, Level::Workload);
            let chosen_or_all = |p: &connectivity::Peer| selection.is_everything() || chosen(p);
            let (whole_bounded, complete) = stream().collect_at_most(usize::MAX, chosen_or_all);
            prop_assert!(complete);
            if selection.is_everything() {
                prop_assert_eq!(rows(&whole_bounded), rows(&whole));
                prop_assert_eq!(whole_bounded.peers.len(), whole.peers.len());
            } else {
                prop_assert_eq!(rows(&whole_bounded), expected.clone());
            }
            if expected.len() > 1 && !selection.is_everything() {
                let (cut, complete) = stream().collect_at_most(1, chosen_or_all);
                prop_assert!(!complete);
                prop_assert_eq!(cut.connections.len(), 1);
            }
        }
    }
}

const MANIFEST: &str = r#"apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: pay}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: pay, labels: {app: api}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec: {podSelector: {matchLabels: {app: db}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: all, namespace: shop}
spec: {podSelector: {}}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {selector: {app: db}, ports: [{port: 5432}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: pay}
spec: {podSelector: {}}
"#;

/// The object each named policy/service/namespace/pod occupies, as a span to look up.
fn object_span(model: &Model, kind: &str, name: &str) -> Option<palisade_model::Span> {
    let found = match kind {
        "policy" => model
            .policies
            .iter()
            .find(|p| format!("{}/{}", model.namespace(p.namespace).name, p.name) == name)
            .and_then(|p| p.span),
        "service" => model
            .services
            .iter()
            .find(|s| format!("{}/{}", model.namespace(s.namespace).name, s.name) == name)
            .and_then(|s| s.span),
        "namespace" => model
            .namespaces
            .iter()
            .find(|n| n.name == name)
            .and_then(|n| n.span),
        _ => model
            .pod_ids()
            .find(|&p| model.pod_name(p) == name)
            .and_then(|p| model.pods[p.index()].span),
    };
    // Something inside the object (a finding points at a field), not the object itself.
    found.map(|s| palisade_model::Span {
        start: s.start + 1,
        end: s.end - 1,
        ..s
    })
}

#[test]
fn objects_concern_a_selection_as_documented() {
    let loaded = palisade_load::load(
        &[palisade_load::Input::Text {
            name: "m.yaml".into(),
            text: MANIFEST.into(),
        }],
        &palisade_load::LoadOptions::default(),
    );
    let model = &loaded.model;
    let objects = [
        ("policy", "shop/web"),
        ("policy", "shop/db"),
        ("policy", "shop/all"),
        ("service", "shop/db"),
        ("policy", "pay/api"),
        ("namespace", "shop"),
        ("namespace", "pay"),
        ("pod", "shop/web"),
        ("pod", "shop/db"),
        ("pod", "pay/api"),
    ];
    let kept = |selection: &Selection| -> Vec<(&str, &str)> {
        let index = selection.object_index(model);
        objects
            .iter()
            .copied()
            .filter(|(k, n)| index.keeps(Some(object_span(model, k, n).expect(n))))
            .collect()
    };
    let selector = |s: &str| Some(LabelSelector::parse_kubectl(s).unwrap());
    // -l app=db: the db pod, the policies selecting it (db, all), its service and namespace.
    assert_eq!(
        kept(&Selection {
            namespace: None,
            selector: selector("app=db")
        }),
        [
            ("policy", "shop/db"),
            ("policy", "shop/all"),
            ("service", "shop/db"),
            ("namespace", "shop"),
            ("pod", "shop/db"),
        ]
    );
    // -n shop: every object of the namespace, whatever it selects.
    assert_eq!(
        kept(&Selection {
            namespace: Some("shop".into()),
            selector: None
        }),
        [
            ("policy", "shop/web"),
            ("policy", "shop/db"),
            ("policy", "shop/all"),
            ("service", "shop/db"),
            ("namespace", "shop"),
            ("pod", "shop/web"),
            ("pod", "shop/db"),
        ]
    );
    // -n pay -l app=db: nothing (both must hold).
    assert!(
        kept(&Selection {
            namespace: Some("pay".into()),
            selector: selector("app=db")
        })
        .is_empty()
    );
    // A span inside no object (or none at all) may concern anything: kept.
    let index = Selection {
        namespace: None,
        selector: selector("app=nope"),
    }
    .object_index(model);
    assert!(index.keeps(None));
    // The first document separator lies between objects.
    let first = model.namespaces.iter().find_map(|n| n.span).unwrap();
    let separator = MANIFEST.find("---").unwrap() as u32;
    assert!(first.end <= separator, "{first:?}");
    assert!(index.keeps(Some(palisade_model::Span {
        start: separator,
        end: separator + 3,
        ..first
    })));
}
