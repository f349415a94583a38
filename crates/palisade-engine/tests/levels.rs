//! Property tests: the workload- and namespace-level answers are the pod-level answer folded
//! (workloads: the ports every pod pair allows; namespaces: the ports some pod pair allows),
//! and the streamed rows are exactly what `compute` collects, in the same order.

use palisade_engine::Engine;
use palisade_engine::connectivity::{self, ConnectivityStream, Level, PeerRef};
use palisade_model::{Model, PortSet};
use palisade_testkit::{model_strategy, pod_strategy};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Pod-level connections by (src name, dst name), pods and external ranges by name.
fn pod_pairs(model: &Model, engine: &Engine) -> BTreeMap<(String, String), PortSet> {
    let result = connectivity::compute(model, engine, Level::Pod);
    result
        .connections
        .iter()
        .map(|c| {
            (
                (
                    result.peers[c.src].name.clone(),
                    result.peers[c.dst].name.clone(),
                ),
                c.ports.clone(),
            )
        })
        .collect()
}

/// Per pod name: its workload's name (or its own name) and its namespace.
fn groups(model: &Model) -> BTreeMap<String, (String, String)> {
    model
        .pod_ids()
        .map(|pod| {
            let p = &model.pods[pod.index()];
            let workload = p
                .workload
                .map_or_else(|| model.pod_name(pod), |w| model.workload_name(w));
            (
                model.pod_name(pod),
                (workload, model.namespace(p.namespace).name.clone()),
            )
        })
        .collect()
}

fn streamed(mut stream: ConnectivityStream) -> Vec<(String, String, PortSet)> {
    let mut rows = Vec::new();
    let done: Result<(), ()> = stream.for_each(&mut |peers, s, d, ports| {
        rows.push((peers[s].name.clone(), peers[d].name.clone(), ports.clone()));
        Ok(())
    });
    assert!(done.is_ok());
    rows
}

fn model_with_workloads(
    pods: &[(palisade_testkit::PodSpec, Option<u8>)],
    policies: &[palisade_testkit::PolicySpec],
    ns: &[Vec<(usize, usize)>],
) -> Model {
    palisade_testkit::build_model(pods, policies, ns)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn workload_and_namespace_levels_fold_the_pod_level(
        (_, policies, ns) in model_strategy(),
        pods in prop::collection::vec((pod_strategy(), prop::option::of(0u8..3)), 1..8),
    ) {
        let model = model_with_workloads(&pods, &policies, &ns);
        let engine = Engine::new(&model);
        let by_pod = pod_pairs(&model, &engine);
        let group = groups(&model);
        let name_of = |name: &str, namespace: bool| -> String {
            match group.get(name) {
                Some((w, n)) => if namespace { n.clone() } else { w.clone() },
                None => name.to_string(), // an external range
            }
        };
        let members = |endpoint: &str, namespace: bool| -> Vec<String> {
            let inside: Vec<String> = group
                .iter()
                .filter(|(_, (w, n))| if namespace { n == endpoint } else { w == endpoint })
                .map(|(p, _)| p.clone())
                .collect();
            if inside.is_empty() { vec![endpoint.to_string()] } else { inside }
        };

        // Workloads: every pod pair must allow the ports.
        let result = connectivity::compute(&model, &engine, Level::Workload);
        let mut expected: BTreeMap<(String, String), PortSet> = BTreeMap::new();
        let mut endpoints: Vec<String> = by_pod.keys()
            .flat_map(|(s, d)| [name_of(s, false), name_of(d, false)])
            .collect();
        endpoints.sort();
        endpoints.dedup();
        for a in &endpoints {
            for b in &endpoints {
                if a == b { continue; }
                let mut ports = PortSet::all();
                for p in members(a, false) {
                    for q in members(b, false) {
                        ports = ports.intersection(by_pod.get(&(p.clone(), q)).unwrap_or(&PortSet::none()));
                    }
                }
                if !ports.is_empty() {
                    expected.insert((a.clone(), b.clone()), ports);
                }
            }
        }
        let got: BTreeMap<(String, String), PortSet> = result.connections.iter()
            .map(|c| ((result.peers[c.src].name.clone(), result.peers[c.dst].name.clone()), c.ports.clone()))
            .collect();
        prop_assert_eq!(&got, &expected);

        // Namespaces: some pod pair (two different pods) allows the ports.
        let mut expected: BTreeMap<(String, String), PortSet> = BTreeMap::new();
        for ((s, d), ports) in &by_pod {
            expected
                .entry((name_of(s, true), name_of(d, true)))
                .or_insert_with(PortSet::none)
                .union_with(ports);
        }
        let stream = ConnectivityStream::namespaces(&model, &engine);
        let size = stream.size();
        let got: BTreeMap<(String, String), PortSet> = streamed(stream)
            .into_iter()
            .map(|(s, d, p)| ((s, d), p))
            .collect();
        prop_assert!(size.max_pairs >= got.len() as u64, "{:?} < {}", size, got.len());
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn streamed_rows_are_the_collected_answer_in_order(
        (_, policies, ns) in model_strategy(),
        pods in prop::collection::vec((pod_strategy(), prop::option::of(0u8..3)), 1..8),
    ) {
        let model = model_with_workloads(&pods, &policies, &ns);
        let engine = Engine::new(&model);
        for level in [Level::Pod, Level::Workload] {
            let result = connectivity::compute(&model, &engine, level);
            let collected: Vec<(String, String, PortSet)> = result.connections.iter()
                .map(|c| (result.peers[c.src].name.clone(), result.peers[c.dst].name.clone(), c.ports.clone()))
                .collect();
            let stream = ConnectivityStream::new(&model, &engine, level);
            let size = stream.size();
            let rows = streamed(stream);
            prop_assert!(size.max_pairs >= rows.len() as u64, "{:?} < {}", size, rows.len());
            prop_assert_eq!(rows, collected);
            prop_assert!(result.peers.iter().all(|p| !matches!(p.what, PeerRef::Namespace(_))));
        }
    }

    #[test]
    fn progress_external_sources_and_the_held_pairs_follow_the_rows(
        (_, policies, ns) in model_strategy(),
        pods in prop::collection::vec((pod_strategy(), prop::option::of(0u8..3)), 1..8),
        namespace_level in any::<bool>(),
    ) {
        let model = model_with_workloads(&pods, &policies, &ns);
        let engine = Engine::new(&model);
        let open = || if namespace_level {
            ConnectivityStream::namespaces(&model, &engine)
        } else {
            ConnectivityStream::new(&model, &engine, Level::Workload)
        };
        let rows = streamed(open());

        // Progress: one call per source, counting up to the number of endpoints.
        let mut stream = open();
        let total = stream.sources();
        prop_assert_eq!(total, stream.peers().len());
        let mut calls = Vec::new();
        let done: Result<(), ()> = stream.for_each_with_progress(
            &mut |_, _, _, _| Ok(()),
            &mut |done, of| calls.push((done, of)),
        );
        prop_assert!(done.is_ok());
        let expected: Vec<(usize, usize)> = (1..=total).map(|done| (done, total)).collect();
        prop_assert_eq!(calls, expected);

        // The external sources: the external endpoints in name order, and their rows are
        // the full walk's rows from external ranges, in the same order.
        let mut stream = open();
        let external: Vec<String> = stream
            .external_sources()
            .into_iter()
            .map(|e| stream.peers()[e].name.clone())
            .collect();
        let mut expected_external: Vec<String> = stream
            .peers()
            .iter()
            .filter(|p| matches!(p.what, PeerRef::External(_)))
            .map(|p| p.name.clone())
            .collect();
        expected_external.sort();
        prop_assert_eq!(&external, &expected_external);
        let mut from_external = Vec::new();
        let done: Result<(), ()> = stream.for_each_external_source(&mut |peers, s, d, ports| {
            from_external.push((peers[s].name.clone(), peers[d].name.clone(), ports.clone()));
            Ok(())
        });
        prop_assert!(done.is_ok());
        let expected_rows: Vec<_> = rows
            .iter()
            .filter(|(s, _, _)| external.contains(s))
            .cloned()
            .collect();
        prop_assert_eq!(from_external, expected_rows);

        // What the stream holds: the class-level explicit pairs; its endpoints given up whole.
        let stream = open();
        prop_assert_eq!(
            stream.explicit_pairs(),
            connectivity::class_connectivity(&engine).explicit_pairs()
        );
        let names: Vec<String> = stream.peers().iter().map(|p| p.name.clone()).collect();
        let given_up: Vec<String> = stream.into_peers().into_iter().map(|p| p.name).collect();
        prop_assert_eq!(given_up, names);
    }
}
