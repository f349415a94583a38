//! Directory scans and input a hostile pull request could contain.

use palisade_load::{Input, LoadOptions, Severity, load};
use std::os::unix::fs::symlink;

const NAMESPACE: &str = "kind: Namespace\nmetadata: {name: inside}\n";

/// A scanned tree with a link to a secret outside it, a link into `/proc`, a link to a
/// manifest inside it, a link to a directory outside it and a FIFO named like a manifest.
fn hostile_tree() -> (tempfile::TempDir, std::path::PathBuf) {
    let top = tempfile::tempdir().unwrap();
    let tree = top.path().join("repo");
    std::fs::create_dir_all(tree.join("k8s")).unwrap();
    std::fs::write(top.path().join("secret.txt"), "TOKEN=MARKER-7f3a\n").unwrap();
    std::fs::write(tree.join("k8s/ns.yaml"), NAMESPACE).unwrap();
    symlink(top.path().join("secret.txt"), tree.join("env.yaml")).unwrap();
    symlink("/proc/self/environ", tree.join("environ.yaml")).unwrap();
    symlink("k8s/ns.yaml", tree.join("again.yaml")).unwrap();
    symlink(top.path(), tree.join("up")).unwrap();
    nix_mkfifo(&tree.join("pipe.yaml"));
    (top, tree)
}

fn nix_mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

fn everything_read(loaded: &palisade_load::Loaded) -> String {
    loaded
        .model
        .sources
        .iter()
        .map(|(_, f)| format!("{}\n{}", f.path, f.text))
        .collect()
}

#[test]
fn scans_do_not_follow_links_out_of_the_tree() {
    let (_top, tree) = hostile_tree();
    let loaded = load(&[Input::Path(tree.clone())], &LoadOptions::default());
    let read = everything_read(&loaded);
    assert!(!read.contains("MARKER-7f3a"), "{read}");
    let files: Vec<String> = loaded
        .model
        .sources
        .iter()
        .map(|(_, f)| {
            f.path
                .strip_prefix(tree.to_str().unwrap())
                .unwrap()
                .to_string()
        })
        .collect();
    // The link inside the tree is read (and so is its target): both define `inside`.
    assert_eq!(files, ["/again.yaml", "/k8s/ns.yaml"]);
    let warnings: Vec<&str> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    assert!(
        warnings[0].contains("env.yaml") && warnings[0].contains("outside the scanned directory")
    );
    assert!(
        warnings[1].contains("environ.yaml")
            && warnings[1].contains("outside the scanned directory")
    );
    assert!(warnings[2].contains("pipe.yaml") && warnings[2].contains("not a regular file"));
    let dir_note = loaded
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Info)
        .expect("a note for the directory link");
    assert!(dir_note.message.contains("/up`"), "{}", dir_note.message);
}

#[test]
fn follow_symlinks_opts_in() {
    let (_top, tree) = hostile_tree();
    std::fs::remove_file(tree.join("environ.yaml")).unwrap();
    let loaded = load(
        &[Input::Path(tree.clone())],
        &LoadOptions {
            follow_symlinks: true,
            ..LoadOptions::default()
        },
    );
    assert!(everything_read(&loaded).contains("MARKER-7f3a"));
    // The directory link to the tree's parent is followed once: the repo is not read twice
    // through `up/repo` (a cycle), but the secret is.
    assert!(loaded.model.sources.len() >= 3);
    // The FIFO is still not opened.
    assert!(
        loaded
            .diagnostics
            .iter()
            .any(|d| d.message.contains("pipe.yaml") && d.message.contains("not a regular file"))
    );
}

#[test]
fn a_link_given_as_an_argument_is_read() {
    let (_top, tree) = hostile_tree();
    let loaded = load(
        &[Input::Path(tree.join("env.yaml"))],
        &LoadOptions::default(),
    );
    assert!(everything_read(&loaded).contains("MARKER-7f3a"));
}

/// Loads one YAML or JSON text and renders its errors as `line:col message | help`.
fn errors_of(name: &str, text: &str) -> (palisade_load::Loaded, Vec<String>) {
    let loaded = load(
        &[Input::Text {
            name: name.into(),
            text: text.into(),
        }],
        &LoadOptions::default(),
    );
    let errors = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let (line, col) = loaded.model.sources.line_col(d.span.expect("a span"));
            format!(
                "{line}:{col} {} | {}",
                d.message,
                d.help.as_deref().unwrap_or("")
            )
        })
        .collect();
    (loaded, errors)
}

#[test]
fn scalars_the_api_server_rejects_are_input_errors() {
    let yaml = "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a, namespace: shop}
spec:
  podSelector: {matchLabels: {app: 5}}
  ingress:
  - ports: [{port: true}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b, namespace: shop}
spec:
  podSelector: {}
  ingress:
  - ports: [{port: 8080.5, protocol: TCP}]
---
apiVersion: v1
kind: Pod
metadata: {name: 123, namespace: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop, labels: {canary: false}, annotations: {x: 1}}
---
apiVersion: v1
kind: Pod
metadata: {name: fine, namespace: shop, labels: {app: \"5\", v: 1_0}}
spec: {containers: [{name: c, ports: [{containerPort: 80, name: http}]}]}
";
    let (loaded, errors) = errors_of("bad.yaml", yaml);
    insta::assert_snapshot!(errors.join("\n"), @r#"
    5:36 spec.podSelector.matchLabels.app: expected a string, found a number (`5`) | quote it: "5" (the API server rejects a number here)
    7:20 spec.ingress[0].ports[0].port: expected a port number or name, found a boolean (`true`) | write a port number (80) or a quoted port name ("http")
    15:20 spec.ingress[0].ports[0].port: expected a port number or name, found a number (`8080.5`) | write a port number (80) or a quoted port name ("http")
    19:18 metadata.name: expected a string, found a number (`123`) | quote it: "123" (the API server rejects a number here)
    23:55 metadata.labels.canary: expected a string, found a boolean (`false`) | quote it: "false" (the API server rejects a boolean here)
    23:80 metadata.annotations.x: expected a string, found a number (`1`) | quote it: "1" (the API server rejects a number here)
    "#);
    // Only the last pod loads; `1_0` is a string to YAML 1.2 (NP009 warns: not to kubectl).
    assert_eq!(loaded.model.policies.len(), 0);
    let pods: Vec<&str> = loaded.model.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(pods, ["fine"]);
    assert_eq!(loaded.findings.len(), 1);

    let json = r#"{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
 "metadata": {"name": "j", "namespace": "shop", "labels": {"team": true}},
 "spec": {"podSelector": {}, "egress": [{"ports": [{"port": false}]}]}}"#;
    let (_, errors) = errors_of("bad.json", json);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].contains(" metadata.labels.team: expected a string, found a boolean"),
        "{errors:#?}"
    );
    assert!(errors[0].starts_with("2:68 "), "{errors:#?}");
    assert!(errors[1].contains("port: expected a port number or name, found a boolean"));
}

#[test]
fn non_utf8_input_is_located_by_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.yaml");
    std::fs::write(&path, b"kind: Namespace\nmetadata: {name: caf\xe9}\n").unwrap();
    let loaded = load(&[Input::Path(path.clone())], &LoadOptions::default());
    let message = &loaded.diagnostics[0].message;
    assert!(
        message.starts_with(&format!(
            "{}:2:21: not UTF-8 text (invalid byte 0xe9 at byte offset 36)",
            path.display()
        )),
        "{message}"
    );
}
