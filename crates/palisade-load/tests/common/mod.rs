//! Renders a `Loaded` as text for snapshots.

#![allow(dead_code)]

use std::fmt::Write;

use palisade_load::{Diagnostic, Input, LoadOptions, Loaded, load};
use palisade_model::{ListForm, Model, PeerKind, PortRef, PortSpec, Rule};

/// The path of a file under `tests/data`.
pub fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Loads files under `tests/data`, naming them relative to it so that snapshots are portable.
pub fn load_data(names: &[&str]) -> Loaded {
    let inputs: Vec<Input> = names
        .iter()
        .map(|n| Input::Text {
            name: format!("tests/data/{n}"),
            text: std::fs::read_to_string(data(n)).unwrap(),
        })
        .collect();
    load(&inputs, &LoadOptions::default())
}

/// Loads one in-memory manifest.
pub fn load_text(name: &str, text: &str) -> Loaded {
    load(
        &[Input::Text {
            name: name.to_string(),
            text: text.to_string(),
        }],
        &LoadOptions::default(),
    )
}

/// `file:line:col: severity[code]: message` plus help, labels and notes.
pub fn render_diag(model: &Model, d: &Diagnostic) -> String {
    let mut s = String::new();
    let at = match d.span {
        Some(span) => format!("{}: ", model.sources.location(span)),
        None => String::new(),
    };
    let code = d.code.map(|c| format!("[{c}]")).unwrap_or_default();
    writeln!(s, "{at}{}{code}: {}", d.severity, d.message).unwrap();
    for l in &d.labels {
        writeln!(
            s,
            "  label {}: {}",
            model.sources.location(l.span),
            l.message
        )
        .unwrap();
    }
    if let Some(h) = &d.help {
        writeln!(s, "  help: {h}").unwrap();
    }
    for n in &d.notes {
        writeln!(s, "  note: {n}").unwrap();
    }
    s
}

pub fn render_diags(loaded: &Loaded) -> String {
    let mut s = String::new();
    for d in &loaded.diagnostics {
        s.push_str(&render_diag(&loaded.model, d));
    }
    if !loaded.findings.is_empty() {
        s.push_str("-- findings --\n");
        for d in &loaded.findings {
            s.push_str(&render_diag(&loaded.model, d));
        }
    }
    s
}

fn form(f: ListForm) -> &'static str {
    match f {
        ListForm::Missing => "missing",
        ListForm::Empty => "empty",
        ListForm::Items => "items",
    }
}

fn port(p: &PortSpec) -> String {
    let port = match &p.port {
        None => "*".to_string(),
        Some(PortRef::Number(n)) => n.to_string(),
        Some(PortRef::Name(n)) => n.clone(),
    };
    match p.end_port {
        Some(e) => format!("{}/{port}-{e}", p.protocol),
        None => format!("{}/{port}", p.protocol),
    }
}

fn rule(model: &Model, s: &mut String, r: &Rule) {
    let loc = model
        .location(r.span)
        .map(|l| l.to_string())
        .unwrap_or_default();
    writeln!(
        s,
        "    rule @{loc} peers={} ports={}",
        form(r.peers_form),
        form(r.ports_form)
    )
    .unwrap();
    for p in &r.peers {
        match &p.kind {
            PeerKind::Selector {
                namespace_selector,
                pod_selector,
            } => writeln!(
                s,
                "      peer ns={} pod={}",
                namespace_selector
                    .as_ref()
                    .map_or("-".to_string(), |x| x.to_string()),
                pod_selector
                    .as_ref()
                    .map_or("-".to_string(), |x| x.to_string())
            )
            .unwrap(),
            PeerKind::IpBlock(b) => writeln!(
                s,
                "      peer ipBlock {} ({}) except {:?}",
                b.cidr, b.cidr_text, b.except_text
            )
            .unwrap(),
        }
    }
    if !r.ports.is_empty() {
        let ports: Vec<String> = r.ports.iter().map(port).collect();
        writeln!(s, "      ports {}", ports.join(", ")).unwrap();
    }
}

/// A stable text rendering of the model and every diagnostic.
pub fn summary(loaded: &Loaded) -> String {
    let m = &loaded.model;
    let loc = |span| {
        m.location(span)
            .map(|l| l.to_string())
            .unwrap_or("-".into())
    };
    let mut s = String::new();
    for ns in &m.namespaces {
        writeln!(
            s,
            "namespace {} declared={} labels={:?} @{}",
            ns.name,
            ns.declared,
            ns.labels,
            loc(ns.span)
        )
        .unwrap();
    }
    for (i, p) in m.pods.iter().enumerate() {
        let ports: Vec<String> = p
            .ports
            .iter()
            .map(|c| {
                format!(
                    "{}{}/{}",
                    c.name.as_ref().map(|n| format!("{n}=")).unwrap_or_default(),
                    c.protocol,
                    c.port
                )
            })
            .collect();
        writeln!(
            s,
            "pod#{i} {} {:?} labels={:?} ports=[{}] ips={:?} hostNetwork={} workload={} @{}",
            m.pod_name(palisade_model::PodId::new(i)),
            p.origin,
            p.labels,
            ports.join(", "),
            p.ips,
            p.host_network,
            p.workload.map_or("-".to_string(), |w| m.workload_name(w)),
            loc(p.span)
        )
        .unwrap();
    }
    for (i, w) in m.workloads.iter().enumerate() {
        let ports: Vec<String> = w
            .template_ports
            .iter()
            .map(|c| format!("{:?}/{}/{}", c.name, c.protocol, c.port))
            .collect();
        writeln!(
            s,
            "workload {} {} owner={} pods={:?} template_labels={:?} ports=[{}] @{}",
            w.kind.as_str(),
            m.workload_name(palisade_model::WorkloadId::new(i)),
            w.owner.map_or("-".to_string(), |o| m.workload_name(o)),
            w.pods.iter().map(|p| p.0).collect::<Vec<_>>(),
            w.template_labels,
            ports.join(", "),
            loc(w.span)
        )
        .unwrap();
    }
    for svc in &m.services {
        let ports: Vec<String> = svc
            .ports
            .iter()
            .map(|p| {
                format!(
                    "{:?} {}/{}->{:?}",
                    p.name, p.protocol, p.port, p.target_port
                )
            })
            .collect();
        writeln!(
            s,
            "service {}/{} selector={:?} ports=[{}] clusterIPs={:?} @{}",
            m.namespace(svc.namespace).name,
            svc.name,
            svc.selector,
            ports.join(", "),
            svc.cluster_ips,
            loc(svc.span)
        )
        .unwrap();
    }
    for (i, p) in m.policies.iter().enumerate() {
        let declared = p.declared_policy_types.as_ref().map(|t| {
            t.iter()
                .map(|(d, sp)| format!("{}@{}", d.as_str(), loc(*sp)))
                .collect::<Vec<_>>()
        });
        writeln!(
            s,
            "policy {} selector={} ingress={} egress={} declared={:?} @{}",
            m.policy_name(palisade_model::PolicyId::new(i)),
            p.pod_selector,
            p.affects_ingress,
            p.affects_egress,
            declared,
            loc(p.span)
        )
        .unwrap();
        writeln!(s, "  ingress {}", form(p.ingress_form)).unwrap();
        for r in &p.ingress {
            rule(m, &mut s, r);
        }
        writeln!(s, "  egress {}", form(p.egress_form)).unwrap();
        for r in &p.egress {
            rule(m, &mut s, r);
        }
    }
    for i in 0..m.unevaluated.len() {
        writeln!(
            s,
            "unevaluated {} selects={:?} @{}",
            m.unevaluated_name(i),
            m.unevaluated[i].pod_labels,
            loc(m.unevaluated[i].span)
        )
        .unwrap();
    }
    if !loaded.skipped.is_empty() {
        writeln!(s, "skipped {:?}", loaded.skipped).unwrap();
    }
    s.push_str("-- diagnostics --\n");
    s.push_str(&render_diags(loaded));
    s
}
