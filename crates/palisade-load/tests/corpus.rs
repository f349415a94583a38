//! Loads every manifest of the NCA (network-config-analyzer) corpus: no panic, and the
//! deliberately bad inputs are rejected.

mod common;

use std::path::Path;

use palisade_load::{Input, LoadOptions, load};

#[test]
#[allow(clippy::print_stdout)]
fn nca_corpus_loads_without_panicking() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/nca-k8s");
    if !dir.is_dir() {
        println!("skipped: {} is absent", dir.display());
        return;
    }
    let mut files = Vec::new();
    collect(&dir, &mut files);
    files.sort();
    let (mut objects, mut with_errors) = (0, Vec::new());
    for file in &files {
        let loaded = load(&[Input::Path(file.clone())], &LoadOptions::default());
        let m = &loaded.model;
        objects += m.pods.len()
            + m.workloads.len()
            + m.policies.len()
            + m.services.len()
            + m.namespaces.iter().filter(|n| n.declared).count();
        if loaded.has_errors() {
            let rel = file.strip_prefix(&dir).unwrap().display().to_string();
            let first = loaded.diagnostics.iter().find(|d| d.is_error()).unwrap();
            let line = common::render_diag(m, first);
            with_errors.push(format!(
                "{rel}: {}",
                line.lines().next().unwrap_or_default()
            ));
        }
    }
    println!(
        "{} files, {objects} objects, {} files with errors",
        files.len(),
        with_errors.len()
    );
    for e in &with_errors {
        println!("  {e}");
    }
    // Every file of the bad-path directory is an invalid policy, except those whose only
    // defect is an unknown field (a warning here) and the deliberately valid controls.
    let bad_dir_errors = with_errors
        .iter()
        .filter(|e| e.starts_with("network-policy-checks-bad-path/"))
        .count();
    assert!(bad_dir_errors > 40, "{bad_dir_errors}");
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            out.push(path);
        }
    }
}
