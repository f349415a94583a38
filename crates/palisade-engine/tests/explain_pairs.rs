//! `Reference::explain_pairs`: how `check` (and the UI's check) answer for a workload or a
//! Service, i.e. for several pod pairs at once. The answer is ALLOWED only if every pair is,
//! and the pair explained is one that decides it.

use palisade_engine::{Endpoint, Reference};
use palisade_load::{Input, LoadOptions, load};
use palisade_model::{Model, PodId, Protocol};

/// `api-0` admits the client on 8080; `api-1` admits it on 9090 only.
const CLUSTER: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop, labels: {app: client}}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: api-0, namespace: shop, labels: {app: api, shard: "0"}}
status: {podIP: 10.0.0.10}
---
apiVersion: v1
kind: Pod
metadata: {name: api-1, namespace: shop, labels: {app: api, shard: "1"}}
status: {podIP: 10.0.0.11}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-0, namespace: shop}
spec:
  podSelector: {matchLabels: {shard: "0"}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-1, namespace: shop}
spec:
  podSelector: {matchLabels: {shard: "1"}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: 9090}]
"#;

fn model() -> Model {
    let loaded = load(
        &[Input::Text {
            name: "cluster.yaml".into(),
            text: CLUSTER.into(),
        }],
        &LoadOptions::default(),
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.model
}

fn pod(model: &Model, name: &str) -> Endpoint {
    let index = model
        .pods
        .iter()
        .position(|p| p.name == name)
        .expect("pod in the fixture");
    Endpoint::Pod(PodId::new(index))
}

fn api(model: &Model) -> Vec<Endpoint> {
    vec![pod(model, "api-0"), pod(model, "api-1")]
}

#[test]
fn one_denied_pair_denies_the_answer_and_is_the_pair_explained() {
    let model = model();
    let reference = Reference::new(&model);
    let client = [pod(&model, "client")];
    let found = reference
        .explain_pairs(&client, &api(&model), Protocol::Tcp, 8080, None)
        .expect("both sides have pods");
    assert_eq!((found.pairs, found.denied), (2, 1));
    assert!(!found.explanation.allowed);
    assert_eq!(found.explanation.query.dst, pod(&model, "api-1"));
    assert_eq!(
        found.note("shop/client", "shop/api").as_deref(),
        Some(
            "shop/client -> shop/api: 2 pod pairs evaluated, 1 denied; the first denied pair is explained"
        )
    );
}

#[test]
fn all_allowed_explains_the_first_pair() {
    let model = model();
    let reference = Reference::new(&model);
    let client = [pod(&model, "client")];
    // Each backend reached on its own port, as a Service's target ports do.
    let found = reference
        .explain_pairs(&client, &api(&model), Protocol::Tcp, 1, Some(&[8080, 9090]))
        .expect("both sides have pods");
    assert_eq!((found.pairs, found.denied), (2, 0));
    assert!(found.explanation.allowed);
    assert_eq!(found.explanation.query.dst, pod(&model, "api-0"));
    assert_eq!(found.explanation.query.port, 8080);
    assert_eq!(
        found.note("shop/client", "shop/api").as_deref(),
        Some(
            "shop/client -> shop/api: 2 pod pairs evaluated, 0 denied; the first allowed pair is explained"
        )
    );
}

#[test]
fn a_single_pair_needs_no_note_and_an_empty_side_no_answer() {
    let model = model();
    let reference = Reference::new(&model);
    let client = [pod(&model, "client")];
    let one = [pod(&model, "api-0")];
    let found = reference
        .explain_pairs(&client, &one, Protocol::Tcp, 8080, None)
        .expect("both sides have pods");
    assert!(found.explanation.allowed);
    assert_eq!(found.note("a", "b"), None);
    assert!(
        reference
            .explain_pairs(&client, &[], Protocol::Tcp, 8080, None)
            .is_none()
    );
}
