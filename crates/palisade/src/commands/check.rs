//! `palisade check`: one connection, its verdict and why.

use crate::args::{CheckArgs, Expect};
use crate::input::{format, load_inputs, port_and_protocol, rendered};
use crate::output::{emit, emit_err};
use anyhow::{anyhow, bail};
use palisade_engine::{Endpoint, Explanation, Reference, Uncertainty, resolve_endpoints, services};
use palisade_model::{Model, PortRef, Protocol, ServiceId};
use palisade_render::check::CheckContext;
use palisade_render::{OutputFormat, Style, check};
use std::net::IpAddr;
use std::process::ExitCode;

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    crate::progress::configure(
        args.input.load.quiet,
        crate::progress::is_machine_format(&args.output),
    );
    let output = format(&args.output, &[OutputFormat::Text, OutputFormat::Json])?;
    let (port_arg, protocol) = port_and_protocol(args.port.as_deref(), args.protocol.as_deref())?;
    let from = qualify(&args.from, args.input.ns.namespace.as_deref());
    let to = qualify(&args.to, args.input.ns.namespace.as_deref());
    let loaded = load_inputs(&args.input)?;
    let model = &loaded.model;
    let (to, port) = match port_arg {
        Some(PortRef::Name(name)) => {
            if split_port(&to, None).is_ok() {
                bail!("--to names a port and --port names `{name}`: give one");
            }
            let number = port_by_name(model, &to, &name, protocol)
                .map_err(|e| anyhow!("--port {name}: {e}"))?;
            (to.as_str(), number)
        }
        Some(PortRef::Number(n)) => split_port(&to, Some(n))?,
        None => split_port(&to, None)?,
    };
    let src = resolve(model, &from).map_err(|e| anyhow!("--from {}: {e}", args.from))?;
    let mut ctx = CheckContext::default();
    let dst = match resolve_service(model, to, port, protocol)
        .map_err(|e| anyhow!("--to {}: {e}", args.to))?
    {
        Some((service, dst, note)) => {
            ctx.service = Some(service);
            ctx.notes.push(note);
            dst
        }
        None => resolve(model, to).map_err(|e| anyhow!("--to {}: {e}", args.to))?,
    };
    let reference = Reference::new(model);
    let (explanation, notes) = explain_all(&reference, &src, &dst, protocol, port);
    ctx.notes.extend(notes);
    let uncertainty = Uncertainty::new(model);
    let pods = src
        .endpoints
        .iter()
        .chain(&dst.endpoints)
        .filter_map(|e| match e {
            Endpoint::Pod(p) => Some(*p),
            Endpoint::External(_) => None,
        });
    ctx.uncertain = uncertainty.names(model, pods);
    let machine = matches!(output, OutputFormat::Json | OutputFormat::Yaml);
    let style = if machine {
        Style::PLAIN
    } else {
        args.input.load.color.style(false)
    };
    let text = rendered(output, |f| match f {
        OutputFormat::Json => check::json_with(model, &explanation, &ctx),
        _ => check::text_with(model, &explanation, &ctx, style),
    })?;
    let met = match args.expect {
        None => true,
        Some(Expect::Allow) => explanation.allowed,
        Some(Expect::Deny) => !explanation.allowed,
    };
    // A failed expectation is said first, before the explanation; JSON stays parseable, so
    // there the line goes to stderr.
    let failure = (!met).then(|| expectation_failure(explanation.allowed));
    match &failure {
        Some(line) if machine => emit_err(line, args.input.load.color.style(true)),
        Some(line) => emit(line, style)?,
        None => {}
    }
    emit(&text, style)?;
    Ok(if met {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// With `-n NS`, a bare name means `NS/name` and `svc/NAME` means `svc/NS/NAME`, as kubectl
/// reads names in a namespace; addresses and qualified names are kept.
fn qualify(name: &str, namespace: Option<&str>) -> String {
    let Some(ns) = namespace else {
        return name.to_string();
    };
    let is_address = name.parse::<IpAddr>().is_ok() || name.parse::<std::net::SocketAddr>().is_ok();
    match name.split('/').collect::<Vec<_>>().as_slice() {
        _ if is_address => name.to_string(),
        [bare] => format!("{ns}/{bare}"),
        ["svc" | "service", svc] => format!("svc/{ns}/{svc}"),
        _ => name.to_string(),
    }
}

/// The line that opens the output when `--expect` is not met, e.g. "expected allow, got denied".
fn expectation_failure(allowed: bool) -> String {
    if allowed {
        "expected deny, got allowed\n".to_owned()
    } else {
        "expected allow, got denied\n".to_owned()
    }
}

/// `--to ADDRESS:PORT` (a Service's ClusterIP and port): the address and the port, which
/// must agree with `--port` when both are given.
fn split_port(to: &str, port: Option<u16>) -> anyhow::Result<(&str, u16)> {
    let parsed = match to.rsplit_once(':') {
        // `[v6]:port`, or `v4:port`; a bare IPv6 address has colons but no port.
        Some((addr, p)) if to.parse::<IpAddr>().is_err() => {
            let p: u16 = p
                .parse()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| anyhow!("--to {to}: `{p}` is not a port (1-65535)"))?;
            Some((addr.trim_start_matches('[').trim_end_matches(']'), p))
        }
        _ => None,
    };
    match (parsed, port) {
        (Some((addr, p)), None) => Ok((addr, p)),
        (Some((addr, p)), Some(q)) if p == q => Ok((addr, p)),
        (Some((_, p)), Some(q)) => bail!("--to names port {p} but --port says {q}"),
        (None, Some(q)) => Ok((to, q)),
        (None, None) => {
            bail!("--port is required (or write the port in --to, e.g. `10.96.0.10:80`)")
        }
    }
}

/// The Service `name` names (`svc/NAME`, `svc/NS/NAME`, `NS/svc/NAME` or a ClusterIP), if it
/// names one; an error when it names a Service that is missing or ambiguous.
fn find_service(model: &Model, name: &str) -> anyhow::Result<Option<ServiceId>> {
    let id = if let Ok(ip) = name.parse::<IpAddr>() {
        // A pod's own address is the pod, not a service.
        if model.pods.iter().any(|p| p.ips.contains(&ip)) {
            return Ok(None);
        }
        match services::service_by_ip(model, ip) {
            Some(id) => id,
            None => return Ok(None),
        }
    } else {
        let parts: Vec<&str> = name.split('/').collect();
        let (ns, svc) = match parts.as_slice() {
            ["svc" | "service", n] => (None, *n),
            ["svc" | "service", ns, n] | [ns, "svc" | "service", n] => (Some(*ns), *n),
            _ => return Ok(None),
        };
        let found = services::services_named(model, ns, svc);
        match found.as_slice() {
            [id] => *id,
            [] => {
                let mut known: Vec<String> = (0..model.services.len())
                    .map(|i| services::service_name(model, ServiceId::new(i)))
                    .collect();
                known.sort();
                bail!(
                    "no Service `{svc}` in the input (services: {})",
                    known.join(", ")
                )
            }
            many => {
                let names: Vec<String> = many
                    .iter()
                    .map(|&i| services::service_name(model, i))
                    .collect();
                bail!(
                    "several Services are named `{svc}`: {}; write `svc/NAMESPACE/{svc}`",
                    names.join(", ")
                )
            }
        }
    };
    Ok(Some(id))
}

/// `--port NAME`: the number the name stands for at the destination — the Service port of
/// that name for a Service, else the named container port of every destination pod (they
/// must agree).
fn port_by_name(model: &Model, to: &str, name: &str, protocol: Protocol) -> anyhow::Result<u16> {
    if let Some(id) = find_service(model, to)? {
        let service = &model.services[id.index()];
        return service
            .ports
            .iter()
            .find(|p| p.name.as_deref() == Some(name) && p.protocol == protocol)
            .map(|p| p.port)
            .ok_or_else(|| {
                let named: Vec<String> = service
                    .ports
                    .iter()
                    .filter_map(|p| {
                        p.name
                            .as_ref()
                            .map(|n| format!("{n} ({}/{})", p.port, p.protocol))
                    })
                    .collect();
                anyhow!(
                    "Service {} has no {protocol} port named `{name}` (its named ports: {})",
                    services::service_name(model, id),
                    if named.is_empty() {
                        "none".into()
                    } else {
                        named.join(", ")
                    }
                )
            });
    }
    let dst = resolve(model, to)?;
    let mut numbers: Vec<u16> = Vec::new();
    let mut missing = Vec::new();
    for e in &dst.endpoints {
        let Endpoint::Pod(p) = e else {
            bail!("`{to}` is an address: give the port as a number");
        };
        let pod = &model.pods[p.index()];
        match pod
            .ports
            .iter()
            .find(|c| c.name.as_deref() == Some(name) && c.protocol == protocol)
        {
            Some(c) => numbers.push(c.port),
            None => missing.push(model.pod_name(*p)),
        }
    }
    numbers.sort_unstable();
    numbers.dedup();
    match (numbers.as_slice(), missing.is_empty()) {
        ([n], true) => Ok(*n),
        (_, false) => bail!(
            "no {protocol} container port named `{name}` on {} (named ports are resolved on the destination pods)",
            missing.join(", ")
        ),
        _ => bail!(
            "the pods of `{to}` name different ports `{name}` ({}): give the number",
            numbers
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A Service destination: `svc/NAME`, `svc/NS/NAME`, `NS/svc/NAME` or a ClusterIP. Its
/// backends on the target port the service port leads to, as a destination with one port
/// per backend, the Service's name and a note saying so. `None` when `name` is no Service.
fn resolve_service(
    model: &Model,
    name: &str,
    port: u16,
    protocol: Protocol,
) -> anyhow::Result<Option<(String, Resolved, String)>> {
    let Some(id) = find_service(model, name)? else {
        return Ok(None);
    };
    let service = &model.services[id.index()];
    let shown = services::service_name(model, id);
    let Some(service_port) = services::service_port(service, port, protocol) else {
        let ports: Vec<String> = service
            .ports
            .iter()
            .map(|p| format!("{}/{}", p.port, p.protocol))
            .collect();
        bail!(
            "Service {shown} has no port {port}/{protocol} (its ports: {})",
            if ports.is_empty() {
                "none".to_string()
            } else {
                ports.join(", ")
            }
        );
    };
    let backends = services::backends(model, service, service_port);
    if backends.is_empty() {
        let why = if service.selector.is_empty() {
            "it has no selector (its endpoints are managed by hand, or it is an ExternalName)"
        } else if services::selected_pods(model, service).is_empty() {
            "its selector matches no pod of the input"
        } else {
            "no selected pod has the named target port"
        };
        bail!("Service {shown} has no backend Palisade can know for port {port}: {why}");
    }
    let target = match &service_port.target_port {
        PortRef::Number(n) => n.to_string(),
        PortRef::Name(n) => format!("`{n}`"),
    };
    let note = format!(
        "Service {shown} port {port}/{protocol} -> targetPort {target} on {} backend pod{}: \
         NetworkPolicy sees the backend pod and its port, not the Service",
        backends.len(),
        if backends.len() == 1 { "" } else { "s" }
    );
    let resolved = Resolved {
        name: shown.clone(),
        endpoints: backends.iter().map(|b| Endpoint::Pod(b.pod)).collect(),
        ports: Some(backends.iter().map(|b| b.port).collect()),
    };
    Ok(Some((shown, resolved, note)))
}

/// A named endpoint and the pods behind it (several for a workload).
pub struct Resolved {
    pub name: String,
    pub endpoints: Vec<Endpoint>,
    /// For a Service destination, the port each endpoint is reached on (its target port);
    /// `None`: the port asked for.
    pub ports: Option<Vec<u16>>,
}

/// Evaluates every pod pair; the verdict is ALLOWED only if all pairs are
/// ([`Reference::explain_pairs`]), with a note saying how many pairs stand behind it.
pub fn explain_all(
    reference: &Reference<'_>,
    src: &Resolved,
    dst: &Resolved,
    protocol: palisade_model::Protocol,
    port: u16,
) -> (Explanation, Vec<String>) {
    let found = reference
        .explain_pairs(
            &src.endpoints,
            &dst.endpoints,
            protocol,
            port,
            dst.ports.as_deref(),
        )
        .expect("resolve returns at least one endpoint on each side");
    let notes = found.note(&src.name, &dst.name).into_iter().collect();
    (found.explanation, notes)
}

/// Resolves `ns/pod`, `ns/workload` or an IP against the model; explains what exists when
/// nothing has that name.
pub fn resolve(model: &Model, name: &str) -> anyhow::Result<Resolved> {
    if let Some(endpoints) = resolve_endpoints(model, name) {
        return Ok(Resolved {
            name: name.to_string(),
            endpoints,
            ports: None,
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
