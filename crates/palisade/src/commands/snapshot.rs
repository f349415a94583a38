//! `palisade snapshot`: what the cluster runs, written as manifests.

use crate::args::SnapshotArgs;
use crate::live::{cluster_options, read_cluster};
use anyhow::Context;
use palisade_live::cluster::ClusterSnapshot;
use palisade_live::yaml::to_yaml;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub fn run(args: SnapshotArgs) -> anyhow::Result<ExitCode> {
    let opts = cluster_options(&args.cluster, args.namespace.as_deref(), args.keep_going);
    let snapshot = read_cluster(&opts)?;
    let all: Vec<&serde_json::Value> = snapshot.objects.iter().collect();
    let mut stdout = std::io::stdout().lock();
    match args.output.as_str() {
        "yaml" => stdout.write_all(to_yaml(&ClusterSnapshot::list_of(&all)).as_bytes())?,
        "json" => {
            let text = serde_json::to_string_pretty(&ClusterSnapshot::list_of(&all))?;
            stdout.write_all(text.as_bytes())?;
            stdout.write_all(b"\n")?;
        }
        dir => {
            let dir = Path::new(dir);
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
            let mut written = 0;
            for (ns, objects) in snapshot.by_namespace() {
                // `_cluster` cannot clash with a namespace: names are DNS labels (no `_`).
                let name = format!("{}.yaml", ns.as_deref().unwrap_or("_cluster"));
                let path = dir.join(&name);
                let text = format!(
                    "# palisade snapshot of {} ({} objects)\n{}",
                    snapshot.server,
                    objects.len(),
                    to_yaml(&ClusterSnapshot::list_of(&objects))
                );
                std::fs::write(&path, text)
                    .with_context(|| format!("cannot write `{}`", path.display()))?;
                written += objects.len();
            }
            eprintln!(
                "palisade: wrote {written} objects to {} ({} files)",
                dir.display(),
                snapshot.by_namespace().len()
            );
        }
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}
