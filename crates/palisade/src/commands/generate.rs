//! `palisade generate`: least-privilege policies from observed traffic, proven by replay
//! before they are written.

use crate::commands::discover::{generate_options, load_cluster, map_options, read_captures};
use crate::discover_args::GenerateArgs;
use anyhow::{Context, bail};
use palisade_discover::{Learner, Observation, generate, proposed_model, prove};
use palisade_engine::connectivity::Level;
use palisade_model::Model;
use palisade_render::generate::{DiffSummary, GenerateReport, json, md, text};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Why nothing can be generated, or `None`.
pub(crate) fn nothing_to_learn(obs: &Observation) -> Option<String> {
    if obs.sessions == 0 {
        return Some("the capture holds no session: there is nothing to learn from".into());
    }
    if obs.learned == 0 {
        let reasons: Vec<String> = obs
            .skipped
            .reasons
            .iter()
            .map(|(r, (n, _))| format!("{n} {}", r.as_str()))
            .collect();
        return Some(format!(
            "none of the {} sessions could be learned ({}): no policy generated",
            obs.sessions,
            reasons.join(", ")
        ));
    }
    None
}

/// Above this many workload-level endpoints the pairwise connectivity diff (quadratic in
/// them) is skipped; the report keeps the per-workload isolation counts.
pub(crate) const DIFF_LIMIT: usize = 500;

/// What `proposed` closes against `model`: the pairwise diff when the cluster is small enough.
pub(crate) fn diff_summary(model: &Model, proposed: &Model) -> DiffSummary {
    let isolated = palisade_discover::newly_isolated(model, proposed);
    let endpoints = model.workloads.iter().filter(|w| w.owner.is_none()).count()
        + model.pods.iter().filter(|p| p.workload.is_none()).count();
    if endpoints > DIFF_LIMIT {
        return DiffSummary::isolation_only(
            isolated,
            format!(
                "{endpoints} workloads, above {DIFF_LIMIT} the pairwise diff grows too large; run `palisade diff` on the written files for it"
            ),
        );
    }
    let mut d = DiffSummary::of(&palisade_diff::diff(model, proposed, Level::Workload));
    d.newly_isolated = isolated;
    d
}

pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let report_format = match args.report.as_deref() {
        None => None,
        Some(f) if f.ends_with(".json") => Some(true),
        Some(f) if f.ends_with(".md") => Some(false),
        Some(f) => bail!("--report: `{f}` must end in .json or .md"),
    };
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
        for (reason, (n, examples)) in &obs.skipped.reasons {
            crate::output::eprintln_sanitized!(
                "  skipped {n} {}: {} (e.g. {})",
                reason.as_str(),
                reason.explain(),
                examples.join("; ")
            );
        }
        return Ok(ExitCode::from(1));
    }
    let generated = generate(model, &obs, &gen_options);
    let proposed = proposed_model(model, &generated, gen_options.mode)?;
    let proof = prove(&proposed, &obs);
    let diff = diff_summary(model, &proposed);
    let mut written = Vec::new();
    if proof.holds() {
        if args.output == "-" {
            let mut stdout = std::io::stdout().lock();
            // File by file, as `concatenated()` joins them, without a copy of them all.
            for text in generated.files.values() {
                stdout.write_all(text.as_bytes())?;
            }
            stdout.flush()?;
        } else {
            let dir = Path::new(&args.output);
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
            for (ns, text) in &generated.files {
                let path = dir.join(format!("{ns}.yaml"));
                std::fs::write(&path, text)
                    .with_context(|| format!("cannot write `{}`", path.display()))?;
                written.push(path.display().to_string());
            }
        }
    }
    let report = GenerateReport {
        captures: &args.input.captures,
        observation: &obs,
        generated: &generated,
        proof: &proof,
        diff: &diff,
        written: &written,
    };
    crate::output::emit_err(&text(&report), palisade_render::Style::PLAIN);
    if let (Some(path), Some(is_json)) = (&args.report, report_format) {
        let body = if is_json { json(&report) } else { md(&report) };
        std::fs::write(path, body).with_context(|| format!("--report: cannot write `{path}`"))?;
    }
    if !proof.holds() {
        crate::output::eprintln_sanitized!(
            "palisade: refusing to write: the generated policies would break {} learned session{}",
            proof.sessions - proof.accepted,
            if proof.sessions - proof.accepted == 1 {
                ""
            } else {
                "s"
            }
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Demo step 7: the traffic map of the example capture, policies generated from it, and the
/// replay proof.
pub(crate) fn demo_step(
    dir: &Path,
    shown: &str,
    style: palisade_render::Style,
    out: &mut String,
) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    let Some(traffic) = dir.file_name().and_then(|name| {
        dir.parent()
            .map(|p| p.join(format!("{}-traffic", name.to_string_lossy())))
            .filter(|p| p.join("capture.pcap").is_file())
    }) else {
        return Ok(());
    };
    let loaded = palisade_load::load(
        &[
            palisade_load::Input::Path(dir.into()),
            palisade_load::Input::Path(traffic.join("cluster")),
        ],
        &palisade_load::LoadOptions::default(),
    );
    if loaded.has_errors() {
        bail!("the example app with its pods failed to load");
    }
    let model = &loaded.model;
    let capture = traffic.join("capture.pcap");
    let file = std::fs::File::open(&capture)
        .with_context(|| format!("cannot open `{}`", capture.display()))?;
    let mut reader = palisade_flows::FlowReader::new(
        "capture.pcap",
        std::io::BufReader::new(file),
        &palisade_flows::ReadOptions::default(),
    )?;
    let mut replayer = palisade_replay::Replayer::new(model, palisade_replay::DenyAction::Drop);
    let mut learner = Learner::new(
        model,
        palisade_discover::MapOptions::default(),
        palisade_discover::LearnMode::Accepted,
    );
    palisade_flows::sessionize(&mut reader, palisade_flows::SessionConfig::default(), |s| {
        learner.add(&replayer.replay(s))
    })?;
    let obs = learner.finish();
    let args = format!("{shown}-traffic/capture.pcap --cluster {shown} {shown}-traffic/cluster");
    let _ = writeln!(
        out,
        "{} From traffic to policies: the map of who talks to whom, then least-privilege policies learned from it, proven by replay before they are written:\n   $ palisade map {args}\n",
        style.blue("8."),
    );
    for line in palisade_render::map::text(&obs.map).lines().take(12) {
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "   {line}");
        }
    }
    let _ = writeln!(out, "   …\n\n   $ palisade generate {args} -o generated/\n");
    let generated = generate(
        model,
        &obs,
        &palisade_discover::GenerateOptions {
            generated_from: "capture.pcap".into(),
            ..Default::default()
        },
    );
    let proposed = proposed_model(model, &generated, Default::default())?;
    let proof = prove(&proposed, &obs);
    let diff = diff_summary(model, &proposed);
    let report = GenerateReport {
        captures: &[format!("{shown}-traffic/capture.pcap")],
        observation: &obs,
        generated: &generated,
        proof: &proof,
        diff: &diff,
        written: &[],
    };
    for line in text(&report).lines().filter(|l| !l.contains("replaces in")) {
        let _ = writeln!(out, "   {line}");
    }
    let _ = writeln!(
        out,
        "\n   Every learned session still passes under the generated set; what it closes is everything the capture never used.\n   `palisade harden` stages the same way in steps (namespace ingress → workload ingress → ports → egress and DNS).\n"
    );
    Ok(())
}
