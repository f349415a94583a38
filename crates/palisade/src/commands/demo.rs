//! `palisade demo`: a guided tour on the bundled example app.

use crate::args::DemoArgs;
use crate::commands::check::{explain_all, resolve};
use crate::output::{emit, emit_err};
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
        emit_err(&diagnostics::human(d, &loaded.model.sources, style), style);
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
    lint_step(&loaded, &shown, style, &mut out);
    fix_step(&dir, &shown, model, style, &mut out)?;
    crate::commands::replay::demo_step(&dir, &shown, style, &mut out)?;
    guardrails_step(&dir, &shown, style, &mut out)?;
    crate::commands::generate::demo_step(&dir, &shown, style, &mut out)?;
    crate::commands::sandbox::demo_step(model, &shown, INTENDED, style, &mut out)?;
    emit(&out, style)?;
    Ok(ExitCode::SUCCESS)
}

/// Step 4: the correction in `webshop-fixed/` (next to the example), shown as a diff.
fn fix_step(
    dir: &std::path::Path,
    shown: &str,
    model: &palisade_model::Model,
    style: palisade_render::Style,
    out: &mut String,
) -> anyhow::Result<()> {
    let Some(fixed) = dir
        .file_name()
        .and_then(|name| {
            dir.parent()
                .map(|p| p.join(format!("{}-fixed", name.to_string_lossy())))
        })
        .filter(|p| p.is_dir())
    else {
        return Ok(());
    };
    let fixed_shown = format!("{shown}-fixed");
    let inputs =
        crate::commands::diff::overlay_inputs(&dir.to_string_lossy(), &fixed.to_string_lossy())?;
    let loaded = load(&inputs, &LoadOptions::default());
    if loaded.has_errors() {
        bail!("the fixed example app failed to load");
    }
    let diff = palisade_diff::diff(
        model,
        &loaded.model,
        palisade_engine::connectivity::Level::Workload,
    );
    let _ = writeln!(
        out,
        "{} The fix, shown as a diff before it is applied:\n   $ palisade diff {shown} {fixed_shown} --overlay\n",
        style.blue("4."),
    );
    for line in palisade_render::diff::text(&diff, style).lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "   {line}");
        }
    }
    out.push('\n');
    Ok(())
}

/// Step 7: the platform team's cluster guardrails (`<example>-guardrails/`, ClusterNetworkPolicy)
/// on top of the app: the Admin tier decides before any NetworkPolicy.
fn guardrails_step(
    dir: &std::path::Path,
    shown: &str,
    style: palisade_render::Style,
    out: &mut String,
) -> anyhow::Result<()> {
    let Some(guardrails) = dir
        .file_name()
        .and_then(|name| {
            dir.parent()
                .map(|p| p.join(format!("{}-guardrails", name.to_string_lossy())))
        })
        .filter(|p| p.is_dir())
    else {
        return Ok(());
    };
    let guardrails_shown = format!("{shown}-guardrails");
    let loaded = load(
        &[Input::Path(dir.to_path_buf()), Input::Path(guardrails)],
        &LoadOptions::default(),
    );
    if loaded.has_errors() {
        bail!("the example's guardrails failed to load");
    }
    let model = &loaded.model;
    let _ = writeln!(
        out,
        "{} Cluster guardrails: the platform team's {} ClusterNetworkPolicies ({guardrails_shown}) \
         are evaluated before any NetworkPolicy:\n",
        style.blue("7."),
        model.admin_policies.len(),
    );
    let reference = Reference::new(model);
    for (from, to, port) in [
        ("shop/frontend", "169.254.169.254", 80),
        ("monitoring/prometheus", "payments/payments-api", 9100),
    ] {
        let src = resolve(model, from)?;
        let dst = resolve(model, to)?;
        let (explanation, _) = explain_all(&reference, &src, &dst, Protocol::Tcp, port);
        let _ = writeln!(
            out,
            "   $ palisade check {shown} {guardrails_shown} --from {from} --to {to} --port {port}\n"
        );
        for line in check::text(model, &explanation, &[], style).lines() {
            let _ = writeln!(out, "   {line}");
        }
        out.push('\n');
    }
    Ok(())
}

/// The lint step: the linter points at the typo before anything is deployed.
fn lint_step(
    loaded: &palisade_load::Loaded,
    shown: &str,
    style: palisade_render::Style,
    out: &mut String,
) {
    let settings = palisade_lint::Settings::resolve(None, &["NP003".to_string()], &[], None)
        .expect("NP003 is a known rule");
    let findings = palisade_lint::lint(&loaded.model, &loaded.findings, &settings);
    if findings.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "   The linter would have caught it before deploying (NP003 peer-selects-nothing):\n   $ palisade lint {shown}\n"
    );
    for d in &findings {
        for line in diagnostics::human(d, &loaded.model.sources, style).lines() {
            let _ = writeln!(out, "   {line}");
        }
    }
    let _ = writeln!(
        out,
        "\n   (`palisade lint {shown}` runs every rule; the example's full list of findings is in its README.)\n"
    );
}
