//! The README's tour, run as written: every command line of its first shell block, in a
//! scratch directory that sees the examples, with the exit code the README documents
//! (`# exit N`; 0 otherwise). Lines marked `# needs: ...` (root, a cluster, a server that
//! runs until interrupted) are the only ones left out, and must say why.

use crate::support::root;
use std::process::Command;

/// The tour's command lines (continuations joined) with their trailing comment.
fn tour_lines() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let tour = &readme[readme.find("## A short tour").expect("the tour section")..];
    let start = tour.find("```sh\n").expect("a shell block") + 6;
    let block = &tour[start..start + tour[start..].find("```").unwrap()];
    let mut lines = Vec::new();
    let mut current = String::new();
    for raw in block.lines() {
        current.push_str(raw.trim_end().trim_end_matches('\\'));
        current.push(' ');
        if raw.trim_end().ends_with('\\') {
            continue;
        }
        let line = std::mem::take(&mut current);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (command, comment) = match line.find(" #") {
            Some(i) => (line[..i].trim(), line[i + 2..].trim()),
            None => (line, ""),
        };
        lines.push((command.to_string(), comment.to_string()));
    }
    lines
}

#[test]
fn every_command_of_the_readme_tour_runs_as_documented() {
    let lines = tour_lines();
    assert!(lines.len() > 20, "the tour has its commands: {lines:?}");
    let scratch = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root().join("examples"), scratch.path().join("examples")).unwrap();
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_palisade"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    for (command, comment) in &lines {
        assert!(
            command.starts_with("palisade ") || command.starts_with("sudo palisade "),
            "a tour line that is not a palisade command: {command}"
        );
        if command.starts_with("sudo ") || comment.starts_with("needs:") {
            assert!(
                comment.starts_with("needs:"),
                "`{command}` cannot run here and must say why (`# needs: ...`)"
            );
            continue;
        }
        let expected: i32 = comment
            .strip_prefix("exit ")
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .map_or(0, |n| n.parse().unwrap());
        let out = Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(scratch.path())
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(expected),
            "`{command}` (README: {comment:?})\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    assert!(ran >= 20, "{ran} lines ran");
}
