//! `palisade check`: one connection, its verdict and why.

use crate::args::{CheckArgs, Expect};
use crate::input::{format, load_inputs, protocol};
use crate::output::emit;
use anyhow::{anyhow, bail};
use palisade_engine::{Endpoint, Explanation, Query, Reference, resolve_endpoints};
use palisade_model::Model;
use palisade_render::{OutputFormat, Style, check};
use std::process::ExitCode;

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let output = format(&args.output, &[OutputFormat::Text, OutputFormat::Json])?;
    let protocol = protocol(&args.protocol)?;
    let loaded = load_inputs(&args.input)?;
    let model = &loaded.model;
    let src = resolve(model, &args.from).map_err(|e| anyhow!("--from {}: {e}", args.from))?;
    let dst = resolve(model, &args.to).map_err(|e| anyhow!("--to {}: {e}", args.to))?;
    let reference = Reference::new(model);
    let (explanation, notes) = explain_all(&reference, &src, &dst, protocol, args.port);
    let style = match output {
        OutputFormat::Json => Style::PLAIN,
        _ => args.input.load.color.style(false),
    };
    let text = match output {
        OutputFormat::Json => check::json(model, &explanation, &notes),
        _ => check::text(model, &explanation, &notes, style),
    };
    emit(&text, style)?;
    let met = match args.expect {
        None => true,
        Some(Expect::Allow) => explanation.allowed,
        Some(Expect::Deny) => !explanation.allowed,
    };
    Ok(if met {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A named endpoint and the pods behind it (several for a workload).
pub struct Resolved {
    pub name: String,
    pub endpoints: Vec<Endpoint>,
}

/// Evaluates every pod pair; the verdict is ALLOWED only if all pairs are. Explains the first
/// denied pair, or the first pair when all are allowed.
pub fn explain_all(
    reference: &Reference<'_>,
    src: &Resolved,
    dst: &Resolved,
    protocol: palisade_model::Protocol,
    port: u16,
) -> (Explanation, Vec<String>) {
    let mut notes = Vec::new();
    let mut chosen: Option<Explanation> = None;
    let mut denied = 0usize;
    let mut total = 0usize;
    for &s in &src.endpoints {
        for &d in &dst.endpoints {
            total += 1;
            let query = Query {
                src: s,
                dst: d,
                protocol,
                port,
            };
            if reference.allowed(&query) {
                if chosen.is_none() {
                    chosen = Some(reference.explain(&query));
                }
            } else {
                denied += 1;
                if chosen.as_ref().is_none_or(|c| c.allowed) {
                    chosen = Some(reference.explain(&query));
                }
            }
        }
    }
    if total > 1 {
        notes.push(format!(
            "{} -> {}: {total} pod pairs evaluated, {denied} denied; the first {} pair is explained",
            src.name,
            dst.name,
            if denied > 0 { "denied" } else { "allowed" }
        ));
    }
    (chosen.expect("at least one endpoint on each side"), notes)
}

/// Resolves `ns/pod`, `ns/workload` or an IP against the model; explains what exists when
/// nothing has that name.
pub fn resolve(model: &Model, name: &str) -> anyhow::Result<Resolved> {
    if let Some(endpoints) = resolve_endpoints(model, name) {
        return Ok(Resolved {
            name: name.to_string(),
            endpoints,
        });
    }
    let Some((ns, rest)) = name.split_once('/') else {
        bail!("`{name}` is not `namespace/name` or an IP address");
    };
    let Some(ns_id) = model.namespace_id(ns) else {
        let known: Vec<&str> = model.namespaces.iter().map(|n| n.name.as_str()).collect();
        bail!(
            "no namespace `{ns}` in the input (namespaces: {})",
            known.join(", ")
        );
    };
    let mut names: Vec<String> = model
        .pods
        .iter()
        .filter(|p| p.namespace == ns_id)
        .map(|p| p.name.clone())
        .chain(
            model
                .workloads
                .iter()
                .filter(|w| w.namespace == ns_id)
                .map(|w| w.name.clone()),
        )
        .collect();
    names.sort();
    names.dedup();
    bail!(
        "no pod or workload `{rest}` in namespace `{ns}` (there: {})",
        names.join(", ")
    )
}
