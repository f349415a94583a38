//! Which files of a directory walk are read: `--exclude` globs, `.palisadeignore` files and
//! kustomize overlays.
//!
//! - An `--exclude` glob matches a path as shown (`deploy/charts/**`) or any trailing part of
//!   it (`*.values.yaml`, `charts/**`); `*` does not cross `/`, `**` does.
//! - A `.palisadeignore` in a directory holds one glob per line (`#` comments, blank lines
//!   ignored; a trailing `/` is dropped) for the files and directories below it: a glob with
//!   a `/` is anchored at that directory, one without matches a name at any depth.
//! - A directory with a `kustomization.yaml` that patches or builds on other directories is
//!   an overlay: its files are partial objects that only `kustomize build` can complete, so the
//!   directory is skipped with one info line (a base, listing only its own files, is read).

use std::path::Path;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use palisade_diag::Diagnostic;

/// The name of the ignore file read in every directory of a walk.
pub const IGNORE_FILE: &str = ".palisadeignore";

fn glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern).literal_separator(true).build()
}

/// The `--exclude` globs.
#[derive(Default)]
pub(crate) struct Excludes {
    set: GlobSet,
}

impl Excludes {
    pub(crate) fn new(patterns: &[String], diagnostics: &mut Vec<Diagnostic>) -> Self {
        let mut builder = GlobSetBuilder::new();
        for p in patterns {
            let p = p.trim_end_matches('/');
            match (glob(p), glob(&format!("**/{p}"))) {
                (Ok(a), Ok(b)) => {
                    builder.add(a);
                    builder.add(b);
                }
                (Err(e), _) | (_, Err(e)) => diagnostics.push(
                    Diagnostic::error(format!("invalid --exclude pattern `{p}`: {e}"))
                        .with_help("write a glob such as `charts/**` or `*-values.yaml`"),
                ),
            }
        }
        Excludes {
            set: builder.build().unwrap_or_default(),
        }
    }

    pub(crate) fn matches(&self, path: &Path) -> bool {
        !self.set.is_empty() && self.set.is_match(path)
    }
}

/// The globs of one directory's `.palisadeignore`.
pub(crate) struct IgnoreFile {
    set: GlobSet,
}

impl IgnoreFile {
    /// Reads `dir/.palisadeignore`, if there is one.
    pub(crate) fn read(dir: &Path, diagnostics: &mut Vec<Diagnostic>) -> Option<IgnoreFile> {
        let path = dir.join(IGNORE_FILE);
        let text = std::fs::read_to_string(&path).ok()?;
        let mut builder = GlobSetBuilder::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.trim_end_matches('/');
            let anchored = line.trim_start_matches('/');
            let pattern = if line.contains('/') {
                anchored.to_string()
            } else {
                format!("**/{line}")
            };
            match glob(&pattern) {
                Ok(g) => {
                    builder.add(g);
                }
                Err(e) => diagnostics.push(Diagnostic::warning(format!(
                    "{}:{}: invalid pattern `{line}` is ignored: {e}",
                    path.display(),
                    n + 1
                ))),
            }
        }
        Some(IgnoreFile {
            set: builder.build().ok()?,
        })
    }

    /// Whether a path below the ignore file's directory (given relative to it) is ignored.
    pub(crate) fn matches(&self, relative: &Path) -> bool {
        self.set.is_match(relative)
    }
}

/// Whether `dir` is a kustomize overlay (see the module docs); the info line if so.
pub(crate) fn kustomize_overlay(dir: &Path) -> Option<Diagnostic> {
    let text = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .find_map(|name| std::fs::read_to_string(dir.join(name)).ok())?;
    // The keys are top-level and plain in every kustomization seen in practice; a line scan
    // avoids a second YAML reader for a file whose content is otherwise not used.
    let patches = text.lines().any(|l| {
        [
            "patches:",
            "patchesStrategicMerge:",
            "patchesJson6902:",
            "components:",
        ]
        .iter()
        .any(|k| l.starts_with(k))
    });
    let builds_on_others = text.lines().any(|l| {
        let l = l.trim_start().trim_start_matches('-').trim_start();
        l.starts_with("../") || l.starts_with("- ../") || l.contains("?ref=")
    });
    (patches || builds_on_others).then(|| {
        Diagnostic::info(format!(
            "skipped `{}`: a kustomize overlay (its files are patches, not whole objects)",
            dir.display()
        ))
        .with_help(format!(
            "render it first: `kustomize build {} | palisade lint -`",
            dir.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclude_matches_whole_paths_and_trailing_parts() {
        let mut d = Vec::new();
        let e = Excludes::new(&["charts/**".into(), "*-values.yaml".into()], &mut d);
        assert!(d.is_empty());
        assert!(e.matches(Path::new("repo/charts/api/templates/x.yaml")));
        assert!(e.matches(Path::new("charts/x.yaml")));
        assert!(e.matches(Path::new("repo/prod-values.yaml")));
        assert!(!e.matches(Path::new("repo/manifests/app.yaml")));
        // `*` stays within one path component.
        assert!(!e.matches(Path::new("repo/a/b-values.yaml/c.yaml")));
        let bad = Excludes::new(&["a[".into()], &mut d);
        assert_eq!(d.len(), 1);
        assert!(!bad.matches(Path::new("a[")));
    }
}
