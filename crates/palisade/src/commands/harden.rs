//! `palisade harden`: a staged plan from the current policies to least privilege.

use crate::commands::discover::{generate_options, load_cluster, map_options, read_captures};
use crate::commands::generate::nothing_to_learn;
use crate::discover_args::HardenArgs;
use anyhow::Context;
use palisade_discover::{Learner, harden};
use palisade_render::generate::{StageReport, plan_json, plan_md};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub fn run(args: HardenArgs) -> anyhow::Result<ExitCode> {
    let options = map_options(&args.input)?;
    let (learn, gen_options) = generate_options(&args.generate, &args.input.captures);
    let loaded = load_cluster(&args.input)?;
    let model = &loaded.model;
    let mut learner = Learner::new(model, options, learn);
    read_captures(&args.input, model, None, |r, keep| {
        if keep {
            learner.add(r);
        } else {
            learner.filtered(r);
        }
    })?;
    let obs = learner.finish();
    if let Some(why) = nothing_to_learn(&obs) {
        crate::output::eprintln_sanitized!("palisade: {why}");
        return Ok(ExitCode::from(1));
    }
    // Widening is judged by the pairwise diff, within its size limit (above it, stages are
    // kept and the plan says the diff was skipped).
    let opens = |before: &palisade_model::Model, after: &palisade_model::Model| {
        crate::commands::generate::diff_summary(before, after).opens
    };
    // Each kept stage's diff from the one before, taken while both models exist (the plan
    // keeps no models), and its files written as it is kept (the plan keeps no file texts).
    let dir = Path::new(&args.output);
    let mut diffs = Vec::new();
    let mut write_err = None;
    let plan = harden(model, &obs, &gen_options, &opens, &mut |kept| {
        diffs.push(crate::commands::generate::diff_summary(
            kept.before,
            kept.after,
        ));
        if write_err.is_none() {
            write_err = write_stage(&dir.join(kept.dir), kept.generated).err();
        }
    })?;
    if let Some(e) = write_err {
        return Err(e);
    }
    let stages: Vec<StageReport<'_>> = plan
        .stages
        .iter()
        .zip(&diffs)
        .map(|(stage, diff)| StageReport { stage, diff })
        .collect();
    let check = format!(
        "palisade replay NEW-CAPTURE --cluster {}",
        args.input.cluster.join(" ")
    );
    let captures = &args.input.captures;
    let plan_path = dir.join("PLAN.md");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    std::fs::write(&plan_path, plan_md(captures, &obs, &plan, &stages, &check))
        .with_context(|| format!("cannot write `{}`", plan_path.display()))?;
    match args.report.as_deref() {
        None => {}
        Some("json") => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(plan_json(captures, &obs, &plan, &stages).as_bytes())?;
            stdout.flush()?;
        }
        Some(path) => std::fs::write(path, plan_json(captures, &obs, &plan, &stages))
            .with_context(|| format!("--report: cannot write `{path}`"))?,
    }
    for s in &stages {
        crate::output::eprintln_sanitized!(
            "palisade harden: {}: {} policies, closes {} connections, {}/{} learned sessions still accepted",
            s.stage.dir,
            s.stage.generated.policies.len(),
            s.diff.closes,
            s.stage.proof.accepted,
            s.stage.proof.sessions
        );
    }
    for (scope, n) in &plan.widening {
        crate::output::eprintln_sanitized!(
            "palisade harden: stage {} skipped: it would open {n} connections the policies before it deny",
            scope.as_str()
        );
    }
    if let Some((scope, proof)) = &plan.refused {
        crate::output::eprintln_sanitized!(
            "palisade harden: stage {} not emitted: {} learned sessions would break",
            scope.as_str(),
            proof.sessions - proof.accepted
        );
    }
    crate::output::eprintln_sanitized!("palisade harden: wrote {}", plan_path.display());
    if plan.stages.is_empty() {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a kept stage's files into its directory and drops their texts from the plan.
fn write_stage(sdir: &Path, generated: &mut palisade_discover::Generated) -> anyhow::Result<()> {
    std::fs::create_dir_all(sdir).with_context(|| format!("cannot create `{}`", sdir.display()))?;
    for (ns, text) in &mut generated.files {
        let path = sdir.join(format!("{ns}.yaml"));
        std::fs::write(&path, std::mem::take(text))
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(())
}
