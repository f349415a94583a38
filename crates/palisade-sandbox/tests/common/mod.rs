//! Shared helpers of the kernel tests.

#![allow(dead_code, clippy::print_stderr)]

use palisade_load::{Input, LoadOptions, load};
use palisade_model::Model;
use std::path::{Path, PathBuf};

/// The engine's e2e data (the upstream truth tables).
pub fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../palisade-engine/tests/data/e2e")
}

/// Loads manifests, failing the test on errors.
pub fn load_paths(paths: &[PathBuf]) -> Model {
    let inputs: Vec<Input> = paths.iter().map(|p| Input::Path(p.clone())).collect();
    let loaded = load(&inputs, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.model
}

/// Loads manifest text.
pub fn load_text(text: &str) -> Model {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "palisade-sandbox-test-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cluster.yaml");
    std::fs::write(&file, text).unwrap();
    let model = load_paths(&[file]);
    let _ = std::fs::remove_dir_all(&dir);
    model
}

static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// `true` when sandboxes can run here; otherwise prints why the test is skipped.
pub fn can_run(test: &str) -> bool {
    match palisade_sandbox::check_environment() {
        Ok(()) => true,
        Err(e) => {
            eprintln!("skipping {test}: {e}");
            false
        }
    }
}
