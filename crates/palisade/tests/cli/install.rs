//! completions, man and version: what an installed binary needs around it.

use crate::support::palisade;
use std::process::Command;

const SUBCOMMANDS: &[&str] = &[
    "check",
    "connectivity",
    "lint",
    "replay",
    "completions",
    "man",
];

#[test]
fn completions_cover_every_shell_and_every_command() {
    let markers = [
        ("bash", "complete -F _palisade"),
        ("zsh", "#compdef palisade"),
        ("fish", "complete -c palisade"),
        (
            "powershell",
            "Register-ArgumentCompleter -Native -CommandName 'palisade'",
        ),
        ("elvish", "set edit:completion:arg-completer[palisade]"),
    ];
    for (shell, marker) in markers {
        let run = palisade(&["completions", shell], None);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(
            run.stdout.contains(marker),
            "{shell} script lacks `{marker}`"
        );
        for sub in SUBCOMMANDS {
            assert!(run.stdout.contains(sub), "{shell} script lacks `{sub}`");
        }
        assert!(
            run.stdout.contains("expect"),
            "{shell} lacks check's --expect"
        );
    }
}

#[test]
fn completions_refuse_an_unknown_shell() {
    let run = palisade(&["completions", "tcsh"], None);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("invalid value 'tcsh'"),
        "{}",
        run.stderr
    );
}

/// The bash script, sourced into a real bash, completes commands and flags.
#[test]
fn bash_completion_completes_commands_and_flags() {
    let script = palisade(&["completions", "bash"], None).stdout;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("palisade.bash");
    std::fs::write(&path, script).unwrap();
    let complete = |words: &str, cword: usize| {
        let program = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; \
             _palisade palisade \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            path.display()
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(program)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(complete("palisade conn", 1), "connectivity\n");
    assert_eq!(complete("palisade check --ex", 2), "--exclude\n--expect\n");
    assert_eq!(complete("palisade completions fi", 2), "fish\n");
}

#[test]
fn man_prints_the_top_page() {
    let run = palisade(&["man"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(".TH palisade 1"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains(".SH NAME\npalisade \\- Make Kubernetes NetworkPolicies")
    );
    for sub in SUBCOMMANDS {
        assert!(
            run.stdout.contains(&format!("palisade\\-{sub}(1)")),
            "no {sub}"
        );
    }
}

#[test]
fn man_dir_writes_one_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    // A directory that does not exist yet is created.
    let target = dir.path().join("share/man/man1");
    let run = palisade(&["man", "--dir", target.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut listed: Vec<String> = run.stdout.lines().map(str::to_owned).collect();
    let mut on_disk: Vec<String> = std::fs::read_dir(&target)
        .unwrap()
        .map(|entry| entry.unwrap().path().display().to_string())
        .collect();
    listed.sort();
    on_disk.sort();
    assert_eq!(listed, on_disk);
    for name in [
        "palisade",
        "palisade-check",
        "palisade-connectivity",
        "palisade-sandbox",
        "palisade-sandbox-run",
        "palisade-completions",
        "palisade-man",
        "palisade-version",
    ] {
        let page = std::fs::read_to_string(target.join(format!("{name}.1")))
            .unwrap_or_else(|e| panic!("{name}.1: {e}"));
        assert!(page.contains(&format!(".TH {name} 1")), "{name}.1 title");
    }
    let check = std::fs::read_to_string(target.join("palisade-check.1")).unwrap();
    assert!(
        check.contains("\\-\\-expect"),
        "check's page documents --expect"
    );
    assert!(!listed.iter().any(|path| path.ends_with("palisade-help.1")));
}

#[test]
fn version_names_the_release_and_the_commit() {
    let run = palisade(&["version"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // build.rs sets the commit for every target of the package, this test included.
    let commit = env!("PALISADE_GIT_COMMIT");
    assert_eq!(
        run.stdout,
        format!("palisade {} (commit {commit})\n", env!("CARGO_PKG_VERSION"))
    );
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "commit `{commit}`"
    );
}
