//! Output-level tests: determinism, parseability (YAML and JSON agree), counts, invariants.

use std::collections::{HashMap, HashSet};

use palisade_synth::{Format, Params, Preset, Summary, generate};
use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Value};

fn pods_params(seed: u64) -> Params {
    Params {
        namespaces: 30,
        workloads: 120,
        pods: Some(700),
        policies: 90,
        seed,
    }
}

fn yaml_docs(text: &str) -> Vec<Value> {
    enum Frame {
        Map(Map<String, Value>, Option<String>),
        Seq(Vec<Value>),
    }
    fn scalar(v: &str, style: ScalarStyle) -> Value {
        if style != ScalarStyle::Plain {
            return Value::String(v.to_string());
        }
        match v {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => v
                .parse::<i64>()
                .map_or_else(|_| Value::String(v.to_string()), Value::from),
        }
    }
    fn push(stack: &mut [Frame], docs: &mut Vec<Value>, v: Value) {
        match stack.last_mut() {
            None => docs.push(v),
            Some(Frame::Seq(items)) => items.push(v),
            Some(Frame::Map(m, key)) => match key.take() {
                None => *key = Some(v.as_str().expect("string keys").to_string()),
                Some(k) => {
                    assert!(m.insert(k.clone(), v).is_none(), "duplicate key {k}");
                }
            },
        }
    }
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    for ev in Parser::new_from_str(text) {
        let (ev, span) = ev.expect("valid YAML");
        match ev {
            Event::Scalar(v, style, _, _) => push(&mut stack, &mut docs, scalar(&v, style)),
            Event::MappingStart(..) => stack.push(Frame::Map(Map::new(), None)),
            Event::SequenceStart(..) => stack.push(Frame::Seq(Vec::new())),
            Event::MappingEnd => {
                let Some(Frame::Map(m, None)) = stack.pop() else {
                    panic!("bad mapping end at {span:?}")
                };
                push(&mut stack, &mut docs, Value::Object(m));
            }
            Event::SequenceEnd => {
                let Some(Frame::Seq(items)) = stack.pop() else {
                    panic!("bad sequence end at {span:?}")
                };
                push(&mut stack, &mut docs, Value::Array(items));
            }
            Event::Alias(_) => panic!("no aliases expected"),
            _ => {}
        }
    }
    docs
}

fn json_items(text: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(text).expect("valid JSON");
    assert_eq!(v["kind"], "List");
    v["items"].as_array().expect("items").clone()
}

fn kinds(docs: &[Value]) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for d in docs {
        *out.entry(d["kind"].as_str().expect("kind").to_string())
            .or_default() += 1;
    }
    out
}

#[test]
fn byte_identical_for_a_seed() {
    for params in [Preset::Small.params(7), pods_params(7)] {
        for format in [Format::Yaml, Format::Json] {
            let (a, sa) = generate(&params, format).unwrap();
            let (b, sb) = generate(&params, format).unwrap();
            assert_eq!(sa, sb);
            assert!(a == b, "output differs between two runs with the same seed");
            assert_eq!(sa.bytes, a.len());
        }
        let (a, _) = generate(&params, Format::Yaml).unwrap();
        let (c, _) = generate(
            &Params {
                seed: 8,
                ..params.clone()
            },
            Format::Yaml,
        )
        .unwrap();
        assert_ne!(a, c, "a different seed should give a different cluster");
    }
}

#[test]
fn yaml_and_json_parse_to_the_same_objects() {
    for params in [Preset::Small.params(3), pods_params(3)] {
        let (yaml, _) = generate(&params, Format::Yaml).unwrap();
        let (json, _) = generate(&params, Format::Json).unwrap();
        let from_yaml = yaml_docs(&yaml);
        let from_json = json_items(&json);
        assert_eq!(from_yaml.len(), from_json.len());
        for (y, j) in from_yaml.iter().zip(&from_json) {
            assert_eq!(y, j);
        }
    }
}

fn check_counts(params: &Params, summary: &Summary, docs: &[Value]) {
    let k = kinds(docs);
    let get = |kind: &str| k.get(kind).copied().unwrap_or(0);
    assert_eq!(get("Namespace"), params.namespaces);
    assert_eq!(
        get("Deployment") + get("StatefulSet") + get("DaemonSet"),
        params.workloads
    );
    assert_eq!(get("NetworkPolicy"), params.policies);
    assert_eq!(get("Pod"), params.pods.unwrap_or(0));
    assert_eq!(summary.namespaces, params.namespaces);
    assert_eq!(summary.workloads, params.workloads);
    assert_eq!(summary.policies, params.policies);
    assert_eq!(summary.pods, params.pods.unwrap_or(0));
    assert_eq!(summary.replica_sets, get("ReplicaSet"));
    assert_eq!(docs.len(), k.values().sum::<usize>());
}

#[test]
fn counts_match_parameters() {
    for params in [
        Preset::Small.params(1),
        Preset::Medium.params(1),
        pods_params(1),
        Params {
            namespaces: 4,
            workloads: 3,
            pods: Some(5),
            policies: 3,
            seed: 9,
        },
        Params {
            namespaces: 40,
            workloads: 10,
            pods: None,
            policies: 0,
            seed: 9,
        },
    ] {
        let (json, summary) = generate(&params, Format::Json).unwrap();
        check_counts(&params, &summary, &json_items(&json));
    }
    let params = pods_params(2);
    let (yaml, summary) = generate(&params, Format::Yaml).unwrap();
    check_counts(&params, &summary, &yaml_docs(&yaml));
}

#[test]
fn rejects_impossible_parameters() {
    assert!(
        generate(
            &Params {
                namespaces: 3,
                workloads: 10,
                pods: None,
                policies: 1,
                seed: 1
            },
            Format::Yaml
        )
        .is_err()
    );
    assert!(
        generate(
            &Params {
                namespaces: 10,
                workloads: 2,
                pods: None,
                policies: 1,
                seed: 1
            },
            Format::Yaml
        )
        .is_err()
    );
    assert!(
        generate(
            &Params {
                namespaces: 10,
                workloads: 50,
                pods: Some(40),
                policies: 1,
                seed: 1
            },
            Format::Yaml
        )
        .is_err()
    );
}

#[test]
fn declared_pods_are_consistent() {
    let params = pods_params(11);
    let (json, _) = generate(&params, Format::Json).unwrap();
    let docs = json_items(&json);
    let by_uid: HashMap<&str, &Value> = docs
        .iter()
        .filter_map(|d| d["metadata"]["uid"].as_str().map(|u| (u, d)))
        .collect();
    let mut ips = HashSet::new();
    for d in &docs {
        if d["kind"] == "Pod" {
            let ip = d["status"]["podIP"].as_str().unwrap();
            assert!(ip.starts_with("10."), "{ip}");
            assert!(ips.insert(ip.to_string()), "duplicate pod IP {ip}");
            let owners = d["metadata"]["ownerReferences"].as_array().unwrap();
            assert_eq!(owners.len(), 1);
        }
        for o in d["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let owner = by_uid[o["uid"].as_str().unwrap()];
            assert_eq!(owner["kind"], o["kind"]);
            assert_eq!(owner["metadata"]["name"], o["name"]);
            assert_eq!(owner["metadata"]["namespace"], d["metadata"]["namespace"]);
            // The owner's selector selects the pod.
            let labels = &d["metadata"]["labels"];
            for (k, v) in owner["spec"]["selector"]["matchLabels"]
                .as_object()
                .unwrap()
            {
                assert_eq!(
                    &labels[k], v,
                    "selector {k} of {} does not match",
                    o["name"]
                );
            }
        }
    }
}

#[test]
fn realistic_content_is_present() {
    let params = Preset::Medium.params(1);
    let (json, _) = generate(&params, Format::Json).unwrap();
    let docs = json_items(&json);
    // CoreDNS with the well-known labels and ports.
    let coredns = docs
        .iter()
        .find(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == "coredns")
        .expect("coredns");
    assert_eq!(coredns["metadata"]["namespace"], "kube-system");
    let tmpl = &coredns["spec"]["template"];
    assert_eq!(tmpl["metadata"]["labels"]["k8s-app"], "kube-dns");
    let ports = &tmpl["spec"]["containers"][0]["ports"];
    assert_eq!(
        ports[0],
        serde_json::json!({"name": "dns", "containerPort": 53, "protocol": "UDP"})
    );
    assert_eq!(
        ports[1],
        serde_json::json!({"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"})
    );

    // Namespaces carry team/env/tier.
    for ns in docs.iter().filter(|d| d["kind"] == "Namespace") {
        let labels = &ns["metadata"]["labels"];
        assert_eq!(
            labels["kubernetes.io/metadata.name"],
            ns["metadata"]["name"]
        );
        if ns["metadata"]["name"] != "kube-system" {
            for key in ["team", "env", "tier"] {
                assert!(
                    labels[key].is_string(),
                    "{key} on {}",
                    ns["metadata"]["name"]
                );
            }
            assert!(["prod", "staging", "dev"].contains(&labels["env"].as_str().unwrap()));
        }
    }

    // The policy mix covers the features the engine must handle.
    let policies: Vec<String> = docs
        .iter()
        .filter(|d| d["kind"] == "NetworkPolicy")
        .map(|d| d["spec"].to_string())
        .collect();
    let has = |needle: &str| policies.iter().any(|p| p.contains(needle));
    for needle in [
        r#""policyTypes":["Ingress","Egress"]"#,
        r#""policyTypes":["Ingress"]"#,
        r#""policyTypes":["Egress"]"#,
        r#""k8s-app":"kube-dns""#,
        r#""operator":"In""#,
        r#""operator":"NotIn""#,
        r#""operator":"Exists""#,
        r#""operator":"DoesNotExist""#,
        r#""endPort""#,
        r#""except""#,
        "2001:db8",
        r#""namespaceSelector":{}"#,
        r#""port":"metrics""#,
        r#""protocol":"UDP""#,
    ] {
        assert!(has(needle), "no policy contains {needle}");
    }
    // namespaceSelector and podSelector in one peer.
    assert!(
        policies
            .iter()
            .any(|p| p.contains(r#"{"namespaceSelector":{"matchLabels""#)
                && p.contains(r#""podSelector":{"matchLabels""#))
    );

    // Pods don't collapse into a handful of label sets.
    let label_sets: HashSet<String> = docs
        .iter()
        .filter(|d| {
            d["kind"] == "Deployment" || d["kind"] == "StatefulSet" || d["kind"] == "DaemonSet"
        })
        .map(|d| d["spec"]["template"]["metadata"]["labels"].to_string())
        .collect();
    assert!(
        label_sets.len() > params.workloads / 2,
        "{} label sets",
        label_sets.len()
    );
}
