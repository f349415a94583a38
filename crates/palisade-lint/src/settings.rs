//! Which rules run and what fails the run: `--select`, `--ignore`, `--fail-on` and
//! `palisade.toml`.
//!
//! ```toml
//! [lint]
//! select = ["ALL"]          # codes or names; default: every stable rule
//! ignore = ["NP011"]
//! fail-on = "warning"       # error (default), warning or info
//! ```

use crate::Error;
use crate::registry::{RULES, RuleInfo, Status, rule};
use palisade_diag::Severity;
use serde::Deserialize;

/// Resolved lint settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    enabled: Vec<&'static str>,
    /// Findings at or above this severity make the run fail (exit 1).
    pub fail_on: Severity,
}

impl Default for Settings {
    /// Every stable rule, failing on errors.
    fn default() -> Self {
        Settings {
            enabled: RULES
                .iter()
                .filter(|r| r.status == Status::Stable)
                .map(|r| r.code)
                .collect(),
            fail_on: Severity::Error,
        }
    }
}

/// The `[lint]` table of `palisade.toml`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LintConfig {
    /// Codes or names to run instead of the default set (`ALL` for every rule).
    pub select: Option<Vec<String>>,
    /// Codes or names not to run.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// `error`, `warning` or `info`.
    pub fail_on: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    lint: LintConfig,
}

impl LintConfig {
    /// Parses the text of a `palisade.toml`.
    pub fn from_toml(text: &str) -> Result<LintConfig, Error> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        Ok(file.lint)
    }
}

/// Parses a severity name.
pub fn parse_severity(s: &str) -> Result<Severity, Error> {
    match s.to_ascii_lowercase().as_str() {
        "error" => Ok(Severity::Error),
        "warning" => Ok(Severity::Warning),
        "info" => Ok(Severity::Info),
        _ => Err(Error::UnknownSeverity(s.to_string())),
    }
}

fn resolve(selector: &str) -> Result<Vec<&'static RuleInfo>, Error> {
    if selector.eq_ignore_ascii_case("all") {
        return Ok(RULES
            .iter()
            .filter(|r| r.status != Status::Removed)
            .collect());
    }
    if let Some(r) = rule(selector) {
        return Ok(vec![r]);
    }
    // A code prefix such as `NP01`.
    let upper = selector.to_ascii_uppercase();
    let matched: Vec<&RuleInfo> = RULES
        .iter()
        .filter(|r| r.code.starts_with(&upper) && r.status != Status::Removed)
        .collect();
    if upper.starts_with("NP") && !matched.is_empty() {
        Ok(matched)
    } else {
        Err(Error::UnknownRule(selector.to_string()))
    }
}

impl Settings {
    /// Builds settings from a config file (if any), then command-line `--select`/`--ignore`
    /// (which replace/extend the file's) and `--fail-on`.
    pub fn resolve(
        config: Option<&LintConfig>,
        select: &[String],
        ignore: &[String],
        fail_on: Option<&str>,
    ) -> Result<Settings, Error> {
        let mut settings = Settings::default();
        let file_select = config.and_then(|c| c.select.as_deref());
        let select: Option<&[String]> = if select.is_empty() {
            file_select
        } else {
            Some(select)
        };
        if let Some(select) = select {
            let mut enabled = Vec::new();
            for s in select {
                for r in resolve(s)? {
                    enabled.push(r.code);
                }
            }
            enabled.sort_unstable();
            enabled.dedup();
            settings.enabled = enabled;
        }
        let file_ignore = config.map(|c| c.ignore.as_slice()).unwrap_or_default();
        for s in file_ignore.iter().chain(ignore) {
            for r in resolve(s)? {
                settings.enabled.retain(|c| *c != r.code);
            }
        }
        if let Some(f) = fail_on.or(config.and_then(|c| c.fail_on.as_deref())) {
            settings.fail_on = parse_severity(f)?;
        }
        Ok(settings)
    }

    /// Whether a rule runs.
    pub fn is_enabled(&self, code: &str) -> bool {
        self.enabled.contains(&code)
    }

    /// The codes that run, in code order.
    pub fn enabled(&self) -> &[&'static str] {
        &self.enabled
    }

    /// These settings with only the rules of `codes` that they enable.
    pub fn restricted_to(&self, codes: &[&str]) -> Settings {
        Settings {
            enabled: self
                .enabled
                .iter()
                .copied()
                .filter(|c| codes.contains(c))
                .collect(),
            fail_on: self.fail_on,
        }
    }

    /// Whether these findings fail the run.
    pub fn fails(&self, diagnostics: &[palisade_diag::Diagnostic]) -> bool {
        diagnostics.iter().any(|d| d.severity >= self.fail_on)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_overrides_the_file() {
        let config = LintConfig::from_toml(
            "[lint]\nselect = [\"NP00\"]\nignore = [\"open-to-all\"]\nfail-on = \"warning\"\n",
        )
        .unwrap();
        let s = Settings::resolve(Some(&config), &[], &["NP001".into()], None).unwrap();
        assert_eq!(
            s.enabled(),
            [
                "NP002", "NP003", "NP004", "NP006", "NP007", "NP008", "NP009"
            ]
        );
        assert_eq!(s.fail_on, Severity::Warning);
        let s = Settings::resolve(Some(&config), &["NP011".into()], &[], Some("error")).unwrap();
        assert_eq!(s.enabled(), ["NP011"]);
        assert_eq!(s.fail_on, Severity::Error);
    }

    #[test]
    fn unknown_names_are_errors() {
        assert!(Settings::resolve(None, &["NP999".into()], &[], None).is_err());
        assert!(Settings::resolve(None, &[], &[], Some("fatal")).is_err());
        assert!(LintConfig::from_toml("[lint]\nselct = []\n").is_err());
    }
}
