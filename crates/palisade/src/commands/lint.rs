//! `palisade lint`: run the rules, print the findings, exit 1 on findings at or above
//! `--fail-on`.

use crate::args::LintArgs;
use crate::input::load_for_lint;
use crate::output::emit;
use anyhow::{Context, bail};
use palisade_lint::{
    INVALID_OBJECT, LintConfig, RULES, Settings, input_errors, lint, lint_rejected, rule, sort,
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

/// `palisade.toml` in the current directory or the nearest parent that has one.
fn find_config() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|d| d.join("palisade.toml"))
        .find(|p| p.is_file())
}

fn read_config(path: &Path) -> anyhow::Result<LintConfig> {
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
    let format: LintFormat = args.output.parse().map_err(anyhow::Error::msg)?;
    let config = match args
        .config
        .as_deref()
        .map(PathBuf::from)
        .or_else(find_config)
    {
        Some(path) => Some(read_config(&path)?),
        None => None,
    };
    let settings = Settings::resolve(
        config.as_ref(),
        &args.select,
        &args.ignore,
        args.fail_on.as_deref(),
    )?;
    let input = args.input.to_input_args();
    // Input errors are findings (NP017) here, not a reason to stop: the report must be
    // complete, e.g. for a SARIF upload, even when one object is invalid.
    let invalid_enabled = settings.is_enabled(INVALID_OBJECT);
    let mut loaded = load_for_lint(&input, !invalid_enabled)?;
    let mut findings = lint(&loaded.model, &loaded.findings, &settings);
    findings.extend(input_errors(&loaded.diagnostics, &settings));
    let rejected = std::mem::take(&mut loaded.rejected_policies);
    findings.extend(lint_rejected(&mut loaded.model, rejected, &settings));
    sort(&mut findings);
    let style = input.load.color.style(false);
    emit(
        &render(
            &findings,
            &loaded.model.sources,
            format,
            &rule_meta(),
            style,
        ),
        style,
    )?;
    if loaded.has_errors() && !invalid_enabled {
        return Ok(ExitCode::from(2));
    }
    Ok(if settings.fails(&findings) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
