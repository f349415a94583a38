//! `palisade lint`: run the rules, print the findings, exit 1 on findings at or above
//! `--fail-on`.

use crate::args::LintArgs;
use crate::input::load_for_lint;
use crate::output::{emit, emit_err};
use anyhow::{Context, bail};
use palisade_lint::{
    LintConfig, RULES, Settings, input_error_code, input_errors, lint, lint_rejected, rule, sort,
};
use palisade_render::Style;
use palisade_render::lint::{LintFormat, RuleMeta, render};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The rule metadata SARIF output carries.
pub fn rule_meta() -> Vec<RuleMeta> {
    RULES
        .iter()
        .map(|r| RuleMeta {
            code: r.code,
            name: r.name,
            summary: r.summary(),
            doc: r.doc(),
            severity: r.severity,
        })
        .collect()
}

/// `palisade.toml` in `start` or the nearest parent that has one, searching no higher than
/// the repository root (the first directory with `.git`) or the home directory, whichever
/// comes first. Outside both, only `start` itself is searched: a `palisade.toml` left in
/// `/tmp` by someone else must not configure (or silence) lint in every directory below it.
fn find_config_from(start: &Path, home: Option<&Path>) -> Option<PathBuf> {
    let bounded = start
        .ancestors()
        .any(|d| d.join(".git").exists() || home.is_some_and(|h| d == h));
    for dir in start.ancestors() {
        let candidate = dir.join("palisade.toml");
        if candidate.is_file() {
            return Some(candidate);
        }
        if !bounded || dir.join(".git").exists() || home.is_some_and(|h| dir == h) {
            return None;
        }
    }
    None
}

pub(crate) fn find_config() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    let home = std::env::var_os("HOME").map(PathBuf::from);
    find_config_from(&cwd, home.as_deref())
}

pub(crate) fn read_config(path: &Path) -> anyhow::Result<LintConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    LintConfig::from_toml(&text).with_context(|| format!("in `{}`", path.display()))
}

pub fn run(args: LintArgs) -> anyhow::Result<ExitCode> {
    if let Some(code) = &args.explain {
        let Some(info) = rule(code) else {
            bail!("unknown rule `{code}`: `palisade lint --list-rules` lists them");
        };
        emit(
            &format!(
                "# {} {}\n\nSeverity: {}. Status: {} since {}.\n\n{}",
                info.code,
                info.name,
                info.severity,
                info.status.as_str(),
                info.since,
                info.doc()
            ),
            Style::PLAIN,
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.list_rules {
        let mut out = String::new();
        for r in RULES {
            out.push_str(&format!(
                "{}  {:<28} {:<8} {}\n",
                r.code,
                r.name,
                r.severity.as_str(),
                r.status.as_str()
            ));
        }
        emit(&out, Style::PLAIN)?;
        return Ok(ExitCode::SUCCESS);
    }
    // `yaml` is the JSON document as YAML; `wide` is the text.
    let yaml = palisade_render::OutputFormat::canonical_name(&args.output) == "yaml";
    let format: LintFormat = match palisade_render::OutputFormat::canonical_name(&args.output) {
        "yaml" => LintFormat::Json,
        "wide" => LintFormat::Human,
        other => other.parse().map_err(anyhow::Error::msg)?,
    };
    let config_path = args
        .config
        .as_deref()
        .map(PathBuf::from)
        .or_else(find_config);
    let config = match &config_path {
        Some(path) => Some(read_config(path)?),
        None => None,
    };
    let config_shown = config_path.as_ref().map(|p| p.display().to_string());
    if args.input.load.verbose {
        let style = args.input.load.color.style(true);
        emit_err(
            &match &config_shown {
                Some(p) => format!("palisade: lint configuration from `{p}`\n"),
                None => "palisade: no lint configuration file (palisade.toml) found\n".to_string(),
            },
            style,
        );
    }
    let settings = Settings::resolve(
        config.as_ref(),
        &args.select,
        &args.ignore,
        args.fail_on.as_deref(),
    )?;
    let input = args.input.to_input_args();
    crate::progress::configure(
        input.load.quiet,
        crate::progress::is_machine_format(&args.output),
    );
    // Input errors are findings (NP017) here, not a reason to stop: the report must be
    // complete, e.g. for a SARIF upload, even when one object is invalid.
    // Errors that are no finding (their rule disabled) are printed on stderr instead.
    let unreported = |d: &palisade_diag::Diagnostic| input_error_code(d, &settings).is_none();
    let mut loaded = load_for_lint(&input, unreported)?;
    let mut findings = crate::progress::phase("linting", || {
        lint(&loaded.model, &loaded.findings, &settings)
    });
    findings.extend(input_errors(&loaded.diagnostics, &settings));
    let rejected = std::mem::take(&mut loaded.rejected_policies);
    findings.extend(lint_rejected(&mut loaded.model, rejected, &settings));
    let selection = crate::select::selection(input.ns.namespace.as_deref(), Some(&args.pods))?;
    if !selection.is_everything() {
        // -n, -l: the findings on objects that concern the selection (and those on no
        // object, which may concern anything).
        crate::select::warn_if_empty(&selection, &loaded.model);
        let objects = selection.object_index(&loaded.model);
        findings.retain(|f| objects.keeps(f.span));
    }
    sort(&mut findings);
    let style = input.load.color.style(false);
    let text = render(
        &findings,
        &loaded.model.sources,
        format,
        &rule_meta(),
        style,
        config_shown.as_deref(),
    );
    let text = if yaml {
        palisade_render::yaml::from_json(&text).map_err(anyhow::Error::msg)?
    } else {
        text
    };
    emit(&text, style)?;
    // With NP017 off, input errors are not findings: exit 2 as other commands do, unless
    // --keep-going, where (as in every command) the exit code reflects the results.
    let unreported_errors = loaded
        .diagnostics
        .iter()
        .any(|d| d.is_error() && unreported(d));
    if unreported_errors && !args.input.load.keep_going {
        return Ok(ExitCode::from(2));
    }
    Ok(if settings.fails(&findings) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::find_config_from;

    #[test]
    fn config_lookup_stops_at_the_repository_or_home() {
        let top = tempfile::tempdir().unwrap();
        let t = top.path();
        // /tmp-like: a hostile palisade.toml above a repository and above a plain directory.
        std::fs::write(t.join("palisade.toml"), "[lint]\nignore = [\"ALL\"]\n").unwrap();
        std::fs::create_dir_all(t.join("repo/.git")).unwrap();
        std::fs::create_dir_all(t.join("repo/k8s/apps")).unwrap();
        std::fs::create_dir_all(t.join("plain/sub")).unwrap();
        std::fs::create_dir_all(t.join("home/me/project")).unwrap();
        let home = t.join("home/me");
        assert_eq!(find_config_from(&t.join("repo/k8s/apps"), None), None);
        assert_eq!(find_config_from(&t.join("plain/sub"), None), None);
        assert_eq!(
            find_config_from(&t.join("home/me/project"), Some(&home)),
            None
        );
        // Inside the bounds it is found, nearest first.
        std::fs::write(t.join("repo/palisade.toml"), "").unwrap();
        assert_eq!(
            find_config_from(&t.join("repo/k8s/apps"), None),
            Some(t.join("repo/palisade.toml"))
        );
        std::fs::write(t.join("repo/k8s/palisade.toml"), "").unwrap();
        assert_eq!(
            find_config_from(&t.join("repo/k8s/apps"), None),
            Some(t.join("repo/k8s/palisade.toml"))
        );
        std::fs::write(t.join("home/me/palisade.toml"), "").unwrap();
        assert_eq!(
            find_config_from(&t.join("home/me/project"), Some(&home)),
            Some(home.join("palisade.toml"))
        );
        // The current directory itself always counts.
        std::fs::write(t.join("plain/sub/palisade.toml"), "").unwrap();
        assert_eq!(
            find_config_from(&t.join("plain/sub"), None),
            Some(t.join("plain/sub/palisade.toml"))
        );
    }
}
