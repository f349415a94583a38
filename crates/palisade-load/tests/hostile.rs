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
