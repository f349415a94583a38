//! Records the git commit the binary is built from, for `palisade version`.
//! Never fails the build: outside a git checkout (a crates.io tarball, a Docker context without
//! `.git`) or without `git` on PATH the commit is "unknown".

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=PALISADE_GIT_COMMIT={commit}");
    // Rebuild when HEAD moves (a checkout changes HEAD, a commit changes a file under refs).
    if let Some(git_dir) = git_path("HEAD") {
        println!("cargo:rerun-if-changed={git_dir}");
    }
    if let Some(refs) = git_path("refs") {
        println!("cargo:rerun-if-changed={refs}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}

/// The absolute path of `name` inside the git directory (worktrees have their own), if any.
fn git_path(name: &str) -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "--path-format=absolute", "--git-path", name])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let path = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    std::path::Path::new(&path).exists().then_some(path)
}
