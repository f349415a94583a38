//! Reading manifests from git revisions of the current repository, by shelling out to `git`.
//! Only objects are read (`rev-parse`, `ls-tree`, `cat-file`): nothing is ever written to the
//! repository, the index or the working tree.

use anyhow::{Context, bail};
use palisade_load::Input;
use std::io::{Read, Write};
use std::process::{Command, Stdio};

fn git(args: &[&str]) -> anyhow::Result<std::process::Output> {
    Command::new("git")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("cannot run `git` (is it installed and on PATH?)")
}

fn is_manifest(path: &str) -> bool {
    let hidden = path
        .split('/')
        .any(|c| c.starts_with('.') && c != "." && c != "..");
    !hidden && [".yaml", ".yml", ".json"].iter().any(|e| path.ends_with(e))
}

/// The manifests under `paths` at `rev`, named `git:REV:path` (path from the repository root).
pub fn read(rev: &str, paths: &[String]) -> anyhow::Result<Vec<Input>> {
    let inside = git(&["rev-parse", "--is-inside-work-tree"])?;
    if !inside.status.success() {
        bail!("`git:{rev}` needs a git repository, and the current directory is not in one");
    }
    let spec = format!("{rev}^{{commit}}");
    let ok = git(&["rev-parse", "--verify", "--quiet", &spec])?;
    if !ok.status.success() {
        bail!("unknown git revision `{rev}`");
    }
    let mut blobs: Vec<(String, String)> = Vec::new();
    for path in paths {
        let out = git(&["ls-tree", "-r", "-z", "--full-name", rev, "--", path])?;
        if !out.status.success() {
            bail!(
                "cannot list `{path}` at git revision `{rev}`: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let listing = String::from_utf8_lossy(&out.stdout).into_owned();
        let entries: Vec<(&str, &str)> = listing
            .split('\0')
            .filter(|l| !l.is_empty())
            .filter_map(|l| {
                let (meta, name) = l.split_once('\t')?;
                let mut parts = meta.split(' ');
                let (_, kind, sha) = (parts.next()?, parts.next()?, parts.next()?);
                (kind == "blob").then_some((sha, name))
            })
            .collect();
        if entries.is_empty() {
            bail!("`{path}` does not exist at git revision `{rev}`");
        }
        let single_file = entries.len() == 1;
        for (sha, name) in entries {
            if single_file || is_manifest(name) {
                blobs.push((sha.to_string(), name.to_string()));
            }
        }
    }
    blobs.sort_by(|a, b| a.1.cmp(&b.1));
    blobs.dedup_by(|a, b| a.1 == b.1);
    let texts = cat_blobs(blobs.iter().map(|(sha, _)| sha.as_str()))?;
    Ok(blobs
        .into_iter()
        .zip(texts)
        .map(|((_, name), text)| Input::Text {
            name: format!("git:{rev}:{name}"),
            text,
        })
        .collect())
}

/// Reads blobs in one `git cat-file --batch` process.
fn cat_blobs<'a>(shas: impl Iterator<Item = &'a str>) -> anyhow::Result<Vec<String>> {
    let request: String = shas.map(|s| format!("{s}\n")).collect();
    if request.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = Command::new("git")
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot run `git cat-file`")?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(request.as_bytes()));
    let mut raw = Vec::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_end(&mut raw)?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("git cat-file writer panicked"))??;
    child.wait()?;
    let mut texts = Vec::new();
    let mut pos = 0;
    while pos < raw.len() {
        let eol = raw[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .context("truncated git cat-file output")?;
        let header = String::from_utf8_lossy(&raw[pos..pos + eol]).into_owned();
        pos += eol + 1;
        let size: usize = header
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("unexpected git cat-file header `{header}`"))?;
        let body = raw.get(pos..pos + size).context("truncated git blob")?;
        texts.push(String::from_utf8_lossy(body).into_owned());
        pos += size + 1;
    }
    Ok(texts)
}
