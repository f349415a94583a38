//! Golden tests of the loaded model and of every diagnostic the loader emits.

mod common;

use common::{load_data, load_text, render_diags, summary};
use palisade_load::{Diagnostic, Input, LoadOptions, Severity, load};

#[test]
fn multi_document_yaml() {
    let loaded = load_data(&["multi_doc.yaml"]);
    assert!(!loaded.has_errors(), "{}", render_diags(&loaded));
    insta::assert_snapshot!(summary(&loaded));
}

#[test]
fn json_list() {
    let loaded = load_data(&["list.json"]);
    assert!(!loaded.has_errors());
    insta::assert_snapshot!(summary(&loaded));
}

#[test]
fn typed_lists_give_their_kind_to_items() {
    let loaded = load_data(&["podlist.yaml"]);
    assert!(!loaded.has_errors());
    insta::assert_snapshot!(summary(&loaded));
}

#[test]
fn kubectl_dump_with_workloads_and_owned_pods() {
    let loaded = load_data(&["dump.yaml"]);
    assert!(!loaded.has_errors());
    insta::assert_snapshot!(summary(&loaded));
}

#[test]
fn yaml_syntax_errors_cost_their_document_json_ones_the_rest_of_the_file() {
    let loaded = load_data(&["yaml_syntax.yaml", "json_syntax.json", "podlist.yaml"]);
    insta::assert_snapshot!(summary(&loaded));
}

#[test]
fn duplicates_and_objects_without_kind_or_name() {
    let loaded = load_data(&["duplicates.yaml", "no_kind.yaml"]);
    insta::assert_snapshot!(summary(&loaded));
}

#[test]
fn findings_have_exact_positions() {
    let loaded = load_data(&["findings.yaml"]);
    assert!(!loaded.has_errors(), "{}", render_diags(&loaded));
    insta::assert_snapshot!(render_diags(&loaded));
    let at = |code: &str| -> Vec<(u32, u32)> {
        loaded
            .findings
            .iter()
            .filter(|f| f.code == Some(code))
            .map(|f| loaded.model.sources.line_col(f.span.unwrap()))
            .collect()
    };
    assert_eq!(at("NP008"), [(6, 3), (18, 5), (14, 7), (32, 7)]);
    assert_eq!(
        at("NP009"),
        [(10, 16), (11, 16), (17, 46), (17, 60), (25, 12), (26, 12)]
    );
    assert!(
        loaded
            .findings
            .iter()
            .all(|f| f.severity == Severity::Warning)
    );
    let policy = &loaded.model.policies[0];
    assert_eq!(policy.pod_selector.to_string(), "enabled=yes,version=1_5");
    assert_eq!(loaded.model.pods[0].labels["empty"], "");
}

/// One rejected object per case: the object is left out and the error names the field.
const REJECTIONS: &[(&str, &str, &str)] = &[
    (
        "bad cidr",
        "spec:\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/33}\n",
        "spec.ingress[0].from[0].ipBlock.cidr",
    ),
    (
        "cidr without prefix",
        "spec:\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.1}\n",
        "spec.ingress[0].from[0].ipBlock.cidr",
    ),
    (
        "missing cidr",
        "spec:\n  egress:\n  - to:\n    - ipBlock: {except: [10.0.0.0/8]}\n",
        "spec.egress[0].to[0].ipBlock.cidr",
    ),
    (
        "except outside",
        "spec:\n  ingress:\n  - from:\n    - {podSelector: {}}\n    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 11.0.0.0/16]}\n",
        "spec.ingress[0].from[1].ipBlock.except[1]",
    ),
    (
        "except equal",
        "spec:\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}\n",
        "spec.ingress[0].from[0].ipBlock.except[0]",
    ),
    (
        "except other family",
        "spec:\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/8, except: ['fd00::/64']}\n",
        "spec.ingress[0].from[0].ipBlock.except[0]",
    ),
    (
        "endPort below port",
        "spec:\n  ingress:\n  - ports:\n    - {port: 100, endPort: 99}\n",
        "spec.ingress[0].ports[0].endPort",
    ),
    (
        "endPort with named port",
        "spec:\n  ingress:\n  - ports:\n    - {port: http, endPort: 99}\n",
        "spec.ingress[0].ports[0].endPort",
    ),
    (
        "endPort without port",
        "spec:\n  egress:\n  - ports:\n    - {endPort: 99}\n",
        "spec.egress[0].ports[0].endPort",
    ),
    (
        "unknown operator",
        "spec:\n  podSelector:\n    matchExpressions:\n    - {key: app, operator: in, values: [a]}\n",
        "spec.podSelector.matchExpressions[0].operator",
    ),
    (
        "In without values",
        "spec:\n  podSelector:\n    matchExpressions:\n    - {key: app, operator: In, values: []}\n",
        "spec.podSelector.matchExpressions[0].values",
    ),
    (
        "Exists with values",
        "spec:\n  podSelector:\n    matchExpressions:\n    - {key: app, operator: Exists, values: [a]}\n",
        "spec.podSelector.matchExpressions[0].values",
    ),
    (
        "lowercase protocol",
        "spec:\n  ingress:\n  - ports:\n    - {protocol: tcp, port: 80}\n",
        "spec.ingress[0].ports[0].protocol",
    ),
    (
        "port zero",
        "spec:\n  ingress:\n  - ports:\n    - {port: 0}\n",
        "spec.ingress[0].ports[0].port",
    ),
    (
        "port too large",
        "spec:\n  ingress:\n  - ports:\n    - {port: 65536}\n",
        "spec.ingress[0].ports[0].port",
    ),
    (
        "bad port name",
        "spec:\n  ingress:\n  - ports:\n    - {port: Web--Port}\n",
        "spec.ingress[0].ports[0].port",
    ),
    (
        "quoted number port",
        "spec:\n  ingress:\n  - ports:\n    - {port: \"80\"}\n",
        "spec.ingress[0].ports[0].port",
    ),
    (
        "bad label key",
        "spec:\n  podSelector:\n    matchLabels: {-app: web}\n",
        "spec.podSelector.matchLabels.-app",
    ),
    (
        "bad label value",
        "spec:\n  podSelector:\n    matchLabels: {app: web server}\n",
        "spec.podSelector.matchLabels.app",
    ),
    (
        "bad selector value",
        "spec:\n  podSelector:\n    matchExpressions:\n    - {key: app, operator: In, values: [ok, -bad]}\n",
        "spec.podSelector.matchExpressions[0].values[1]",
    ),
    (
        "bad object label",
        "metadata:\n  labels: {app: \"a/b\"}\nspec: {}\n",
        "metadata.labels.app",
    ),
    (
        "empty peer",
        "spec:\n  ingress:\n  - from:\n    - {}\n",
        "spec.ingress[0].from[0]",
    ),
    (
        "null selectors make an empty peer",
        "spec:\n  ingress:\n  - from:\n    - podSelector:\n",
        "spec.ingress[0].from[0]",
    ),
    (
        "ipBlock and selector",
        "spec:\n  ingress:\n  - from:\n    - {ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}\n",
        "spec.ingress[0].from[0]",
    ),
    (
        "port as list",
        "spec:\n  ingress:\n  - ports:\n    - port: [1]\n",
        "spec.ingress[0].ports[0].port",
    ),
    (
        "labels as list",
        "spec:\n  podSelector:\n    matchLabels: [app]\n",
        "spec.podSelector.matchLabels",
    ),
    (
        "ingress as map",
        "spec:\n  ingress: {from: []}\n",
        "spec.ingress",
    ),
    (
        "bad policy type",
        "spec:\n  policyTypes: [ingress]\n",
        "spec.policyTypes[0]",
    ),
    (
        "missing key",
        "spec:\n  podSelector:\n    matchExpressions:\n    - {operator: Exists}\n",
        "spec.podSelector.matchExpressions[0].key",
    ),
];

#[test]
fn every_rejection_case() {
    let mut golden = String::new();
    for (i, (what, body, path)) in REJECTIONS.iter().enumerate() {
        let name = format!("case{i}.yaml");
        let metadata = if body.starts_with("metadata") {
            ""
        } else {
            "metadata: {name: np, namespace: ns}\n"
        };
        let text =
            format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n{metadata}{body}");
        let text = text.replace("metadata:\n  labels", "metadata:\n  name: np\n  labels");
        let loaded = load_text(&name, &text);
        let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert_eq!(errors.len(), 1, "{what}: {}", render_diags(&loaded));
        assert!(
            errors[0].message.starts_with(&format!("{path}: ")),
            "{what}: {}",
            errors[0].message
        );
        assert!(errors[0].help.is_some(), "{what}");
        assert!(errors[0].span.is_some(), "{what}");
        assert!(
            loaded.model.policies.is_empty(),
            "{what}: the policy must not be loaded"
        );
        golden.push_str(&format!("## {what}\n{}", render_diags(&loaded)));
    }
    insta::assert_snapshot!(golden);
}

#[test]
fn host_bits_are_accepted_and_cleared() {
    let loaded = load_text(
        "a.yaml",
        "kind: NetworkPolicy\nmetadata: {name: a}\nspec:\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.1/24, except: [10.0.0.128/25]}\n",
    );
    assert!(!loaded.has_errors(), "{}", render_diags(&loaded));
    let palisade_model::PeerKind::IpBlock(b) = &loaded.model.policies[0].ingress[0].peers[0].kind
    else {
        panic!()
    };
    assert_eq!(
        (b.cidr.to_string(), b.cidr_text.as_str()),
        ("10.0.0.0/24".to_string(), "10.0.0.1/24")
    );
}

#[test]
fn policy_types_default_like_the_api_server() {
    let cases = [
        ("spec: {}", (true, false)),
        ("spec: {egress: []}", (true, false)),
        ("spec: {egress: [{}]}", (true, true)),
        ("spec: {policyTypes: [], egress: [{}]}", (true, true)),
        (
            "spec: {policyTypes: [Egress], ingress: [{}]}",
            (false, true),
        ),
        ("spec: {policyTypes: [Ingress, Egress]}", (true, true)),
    ];
    for (spec, want) in cases {
        let loaded = load_text(
            "p.yaml",
            &format!("kind: NetworkPolicy\nmetadata: {{name: p}}\n{spec}\n"),
        );
        let p = &loaded.model.policies[0];
        assert_eq!((p.affects_ingress, p.affects_egress), want, "{spec}");
    }
}

#[test]
fn invalid_pod_ip_rejects_the_pod() {
    let loaded = load_text(
        "p.yaml",
        "kind: Pod\nmetadata: {name: p}\nstatus: {podIP: 10.0.0.300}\n",
    );
    assert!(loaded.has_errors());
    assert!(loaded.model.pods.is_empty());
    assert_eq!(
        loaded
            .model
            .sources
            .line_col(loaded.diagnostics[0].span.unwrap()),
        (3, 17)
    );
}

#[test]
fn paths_directories_and_missing_files() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("palisade-load-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::create_dir_all(dir.join(".hidden")).unwrap();
    std::fs::write(dir.join("b.yaml"), "kind: Namespace\nmetadata: {name: b}\n").unwrap();
    std::fs::write(
        dir.join("sub/a.yml"),
        "kind: Namespace\nmetadata: {name: a}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("c.json"),
        "{\"kind\": \"Namespace\", \"metadata\": {\"name\": \"c\"}}",
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not a manifest").unwrap();
    std::fs::write(
        dir.join(".hidden/h.yaml"),
        "kind: Namespace\nmetadata: {name: h}\n",
    )
    .unwrap();
    let missing = dir.join("missing.yaml");
    let loaded = load(
        &[Input::Path(dir.clone()), Input::Path(missing.clone())],
        &LoadOptions::default(),
    );
    let names: Vec<&str> = loaded
        .model
        .namespaces
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(names, ["b", "c", "a"]);
    let paths: Vec<String> = loaded
        .model
        .sources
        .iter()
        .map(|(_, f)| f.path.clone())
        .collect();
    assert_eq!(paths[0], dir.join("b.yaml").to_string_lossy());
    assert_eq!(loaded.diagnostics.len(), 1);
    let d = &loaded.diagnostics[0];
    assert!(d.is_error() && d.span.is_none());
    assert!(
        d.message.contains(&*missing.to_string_lossy()) && d.message.contains("No such file"),
        "{}",
        d.message
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn default_namespace_option() {
    let loaded = load(
        &[Input::Text {
            name: "p.yaml".into(),
            text: "kind: Pod\nmetadata: {name: p}\n".into(),
        }],
        &LoadOptions {
            default_namespace: "dev".into(),
            ..LoadOptions::default()
        },
    );
    assert_eq!(loaded.model.pod_name(palisade_model::PodId(0)), "dev/p");
    assert!(!loaded.model.namespaces[0].declared);
}

#[test]
fn network_policy_with_a_mistyped_api_version_warns_and_other_groups_are_kept_unevaluated() {
    let loaded = load_text(
        "np.yaml",
        "apiVersion: k8sV1\nkind: NetworkPolicy\nmetadata: {name: a, namespace: x}\nspec: {podSelector: {}}\n---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: b, namespace: x}\nspec: {selector: all()}\n",
    );
    assert!(!loaded.has_errors());
    assert!(loaded.model.policies.is_empty());
    let warnings: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| {
            let (line, col) = loaded.model.sources.line_col(d.span.unwrap());
            format!("{line}:{col} {}", d.message)
        })
        .collect();
    assert_eq!(
        warnings,
        [
            "1:13 NetworkPolicy with apiVersion `k8sV1` is skipped: no such API version serves NetworkPolicy",
            "7:7 Calico NetworkPolicy `x/b` is not evaluated: answers about the pods of its namespace it may select are marked uncertain",
        ]
    );
    // `all()` is no simple label selector: the Calico policy may select any pod of `x`.
    assert_eq!(loaded.model.unevaluated.len(), 1);
    assert_eq!(loaded.model.unevaluated_name(0), "Calico NetworkPolicy x/b");
    assert!(loaded.model.unevaluated[0].pod_labels.is_none());
}

#[test]
fn foreign_policy_selectors_narrow_what_they_may_select() {
    let loaded = load_text(
        "foreign.yaml",
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: c, namespace: x}\nspec: {endpointSelector: {matchLabels: {'k8s:app': api}}}\n---\napiVersion: crd.projectcalico.org/v1\nkind: NetworkPolicy\nmetadata: {name: d, namespace: x}\nspec: {selector: \"app == 'db' && tier == \\\"back\\\"\"}\n---\napiVersion: policy.networking.k8s.io/v1beta1\nkind: ClusterNetworkPolicy\nmetadata: {name: e}\nspec: {priority: 10, subject: {namespaces: {}}}\n---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: f, namespace: x}\nspec: {endpointSelector: {matchLabels: {'k8s:io.kubernetes.pod.namespace': x}}}\n",
    );
    assert!(!loaded.has_errors(), "{}", render_diags(&loaded));
    let got: Vec<String> = (0..loaded.model.unevaluated.len())
        .map(|i| {
            format!(
                "{} {:?}",
                loaded.model.unevaluated_name(i),
                loaded.model.unevaluated[i].pod_labels
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "CiliumNetworkPolicy x/c Some({\"app\": \"api\"})",
            "Calico NetworkPolicy x/d Some({\"app\": \"db\", \"tier\": \"back\"})",
            // A version of the admin kinds Palisade does not evaluate (v1alpha2 CNP and
            // v1alpha1 ANP/BANP are evaluated, tests/admin.rs).
            "ClusterNetworkPolicy e None",
            "CiliumNetworkPolicy x/f None",
        ]
    );
}

#[test]
fn dump_pods_are_grouped_under_owners_missing_from_the_input() {
    let loaded = load_data(&["dump_without_owners.yaml"]);
    assert!(!loaded.has_errors(), "{}", render_diags(&loaded));
    insta::assert_snapshot!(summary(&loaded));
}

#[test]
fn bare_lists_of_objects_are_read_and_files_of_other_things_are_skipped() {
    // A YAML document that is a list of objects (no `List` around it), then a document with a
    // syntax error, then one more object: only the broken document is lost.
    let loaded = load_text(
        "pods.yaml",
        "- {apiVersion: v1, kind: Pod, metadata: {name: a, namespace: x}}\n- {apiVersion: v1, kind: Pod, metadata: {name: b, namespace: x}}\n---\nkind: Pod\nmetadata: {name: [\n---\n{apiVersion: v1, kind: Pod, metadata: {name: c, namespace: x}}\n",
    );
    let names: Vec<&str> = loaded.model.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let errors: Vec<&Diagnostic> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{}", render_diags(&loaded));
    assert!(errors[0].notes[0].contains("loading resumes at the next `---`"));
    // `{{ }}` in a ConfigMap's alert templates is no Helm template: an invalid policy of the
    // same dump is still an error, and the rest is loaded.
    let dump = load_text(
        "dump.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: alerts, namespace: mon}\ndata:\n  rule: |\n    {{ $labels.instance }} is down\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: mon}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad, namespace: mon}\nspec:\n  podSelector: {}\n  ingress: [{ports: [{port: 0}]}]\n",
    );
    assert_eq!(
        dump.diagnostics.iter().filter(|d| d.is_error()).count(),
        1,
        "{}",
        render_diags(&dump)
    );
    assert_eq!(dump.model.namespaces.len(), 1);
    // A list of other things, a mapping without `kind`, Helm files: one info line, no error.
    for (name, text) in [
        ("report.json", "[{\"check\": \"dns\", \"ok\": true}]"),
        ("config.yaml", "severity: high\npaths: [a]\n"),
        ("Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n"),
        ("values.yaml", "replicas: 2\n"),
        (
            "deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n  labels:\n    {{- include \"x\" . | nindent 4 }}\n",
        ),
    ] {
        let loaded = load_text(name, text);
        assert!(!loaded.has_errors(), "{name}: {}", render_diags(&loaded));
        let infos: Vec<&str> = loaded
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(infos.len(), 1, "{name}: {infos:?}");
        assert!(
            infos[0].starts_with(&format!("skipped `{name}`")),
            "{infos:?}"
        );
    }
}
