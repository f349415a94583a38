//! `palisade demo`: a guided tour on the bundled example app.

use crate::args::DemoArgs;
use crate::commands::check::{explain_all, resolve};
use crate::output::emit;
use anyhow::bail;
use palisade_engine::Reference;
use palisade_load::{Input, LoadOptions, load};
use palisade_model::Protocol;
use palisade_render::{check, diagnostics};
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The connections the example app's design intends (see examples/webshop/README.md).
const INTENDED: &[(&str, &str, u16, Protocol)] = &[
    (
        "ingress-nginx/ingress-nginx-controller",
        "shop/frontend",
        8080,
        Protocol::Tcp,
    ),
    ("shop/frontend", "shop/cart", 8080, Protocol::Tcp),
    ("shop/frontend", "shop/catalog", 8080, Protocol::Tcp),
    ("shop/frontend", "shop/checkout", 8080, Protocol::Tcp),
    ("shop/frontend", "shop/recommendation", 9090, Protocol::Tcp),
    ("shop/checkout", "shop/cart", 8080, Protocol::Tcp),
    ("shop/cart", "shop/redis-cart", 6379, Protocol::Tcp),
    (
        "shop/checkout",
        "payments/payments-api",
        8080,
        Protocol::Tcp,
    ),
    (
        "payments/payments-api",
        "payments/ledger",
        9090,
        Protocol::Tcp,
    ),
    ("payments/ledger", "payments/postgres", 5432, Protocol::Tcp),
    ("payments/payments-api", "203.0.113.10", 443, Protocol::Tcp),
    ("shop/checkout", "kube-system/coredns", 53, Protocol::Udp),
    ("monitoring/prometheus", "shop/cart", 9100, Protocol::Tcp),
];

/// The bundled example, found from the working directory or the source tree.
fn example_dir(explicit: Option<&str>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(PathBuf::from(dir));
    }
    let candidates = [
        PathBuf::from("examples/webshop"),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/webshop"),
    ];
    match candidates.iter().find(|p| p.is_dir()) {
        Some(p) => Ok(p.clone()),
        None => bail!("cannot find examples/webshop: run from the repository root or pass --dir"),
    }
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let style = args.color.style(false);
    let dir = example_dir(args.dir.as_deref())?;
    let shown = if args.dir.is_some() {
        dir.display().to_string()
    } else {
        "examples/webshop".to_string()
    };
    let loaded = load(&[Input::Path(dir.clone())], &LoadOptions::default());
    for d in loaded.diagnostics.iter().filter(|d| d.is_error()) {
        eprint!("{}", diagnostics::human(d, &loaded.model.sources, style));
    }
    if loaded.has_errors() {
        bail!("the example app failed to load");
    }
    let model = &loaded.model;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}\n",
        style.bold("Palisade demo: a web shop and its NetworkPolicies")
    );
    let _ = writeln!(
        out,
        "{} Loaded {shown}: {} files, {} namespaces, {} workloads, {} pods, {} NetworkPolicies.",
        style.blue("1."),
        model.sources.len(),
        model.namespaces.len(),
        model.workloads.iter().filter(|w| w.owner.is_none()).count(),
        model.pods.len(),
        model.policies.len()
    );
    let _ = writeln!(
        out,
        "   (`palisade connectivity {shown}` lists every allowed pair; `palisade matrix {shown} --port 8080 --level workload` draws the table.)\n"
    );
    let _ = writeln!(
        out,
        "{} Checking the {} connections the design intends (examples/webshop/README.md):",
        style.blue("2."),
        INTENDED.len()
    );
    let reference = Reference::new(model);
    let mut broken = Vec::new();
    for &(from, to, port, protocol) in INTENDED {
        let src = resolve(model, from)?;
        let dst = resolve(model, to)?;
        let (explanation, _) = explain_all(&reference, &src, &dst, protocol, port);
        let mark = if explanation.allowed {
            style.green("ALLOWED")
        } else {
            style.red("DENIED ")
        };
        let _ = writeln!(out, "   {mark}  {from} -> {to}  {port}/{protocol}");
        if !explanation.allowed {
            broken.push((from, to, port, protocol, explanation));
        }
    }
    out.push('\n');
    if broken.is_empty() {
        let _ = writeln!(out, "All intended connections are allowed.");
    }
    for (from, to, port, protocol, explanation) in &broken {
        let _ = writeln!(
            out,
            "{} Why is {from} -> {to} {port}/{protocol} denied?\n   $ palisade check {shown} --from {from} --to {to} --port {port}{}\n",
            style.blue("3."),
            if *protocol == Protocol::Tcp {
                String::new()
            } else {
                format!(" --protocol {protocol}")
            }
        );
        for line in check::text(model, explanation, &[], style).lines() {
            let _ = writeln!(out, "   {line}");
        }
        out.push('\n');
    }
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}
