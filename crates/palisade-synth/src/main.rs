//! `palisade-synth`: writes a synthetic cluster to a file or stdout.
// The CLI reports to the terminal by design: usage/errors on stderr, data on stdout or a file.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use palisade_synth::{Format, Params, Preset, generate_to};

const USAGE: &str = "\
usage: palisade-synth [--preset small|medium|large] [--seed N] [-o FILE] [--format yaml|json]
                      [--namespaces N] [--workloads N] [--pods N] [--policies N]
                      [--cluster-network-policies N]

Writes a reproducible synthetic Kubernetes cluster (namespaces, workloads or declared pods,
NetworkPolicies). Explicit counts override the preset; --pods N switches to declared Pod
objects (with ReplicaSets and ownerReferences), --pods 0 back to workload templates.
Without a preset the defaults are those of `small`. Output goes to stdout unless -o is given.
--cluster-network-policies N appends N ClusterNetworkPolicies (v1alpha2 guardrails in the
Admin and Baseline tiers, selecting the teams' namespaces; YAML only).

presets:
  small   500 workloads, 20 namespaces, 100 policies
  medium  2,000 workloads, 50 namespaces, 250 policies
  large   150,000 pods (40,000 workloads), 10,000 namespaces, 20,000 policies";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("palisade-synth: {msg}");
            ExitCode::from(2)
        }
    }
}

fn number(flag: &str, value: Option<String>) -> Result<u64, String> {
    let v = value.ok_or_else(|| format!("{flag} needs a value"))?;
    v.replace('_', "")
        .parse()
        .map_err(|_| format!("{flag}: not a number: {v}"))
}

fn run(args: Vec<String>) -> Result<(), String> {
    let mut preset = Preset::Small;
    let (mut seed, mut output, mut format) = (1u64, None::<String>, Format::Yaml);
    let (mut namespaces, mut workloads, mut pods, mut policies) = (None, None, None, None);
    let mut guardrails = 0usize;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next());
        match flag.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            "--preset" => {
                let v = value().ok_or("--preset needs a value")?;
                preset = Preset::from_name(&v).ok_or_else(|| format!("unknown preset {v:?}"))?;
            }
            "--seed" => seed = number("--seed", value())?,
            "-o" | "--output" => output = Some(value().ok_or("-o needs a file name")?),
            "--format" => {
                format = match value().as_deref() {
                    Some("yaml") => Format::Yaml,
                    Some("json") => Format::Json,
                    other => return Err(format!("--format must be yaml or json, got {other:?}")),
                }
            }
            "--namespaces" => namespaces = Some(number("--namespaces", value())? as usize),
            "--workloads" => workloads = Some(number("--workloads", value())? as usize),
            "--pods" => pods = Some(number("--pods", value())? as usize),
            "--policies" => policies = Some(number("--policies", value())? as usize),
            "--cluster-network-policies" => {
                guardrails = number("--cluster-network-policies", value())? as usize
            }
            other => return Err(format!("unexpected argument {other:?}\n\n{USAGE}")),
        }
    }
    let base = preset.params(seed);
    let params = Params {
        namespaces: namespaces.unwrap_or(base.namespaces),
        workloads: workloads.unwrap_or(base.workloads),
        pods: match pods {
            Some(0) => None,
            Some(n) => Some(n),
            None => base.pods,
        },
        policies: policies.unwrap_or(base.policies),
        seed,
    };
    params.validate().map_err(|e| e.to_string())?;
    if guardrails > 0 && format == Format::Json {
        return Err("--cluster-network-policies needs --format yaml".into());
    }
    // The guardrails follow the cluster as more YAML documents.
    let guardrails_text = palisade_synth::cluster_network_policies(guardrails);

    let start = Instant::now();
    let summary = match &output {
        Some(path) => {
            if let Some(dir) = std::path::Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            let file = File::create(path).map_err(|e| format!("{path}: {e}"))?;
            let mut w = BufWriter::with_capacity(1 << 20, file);
            let summary = generate_to(&params, format, &mut w).map_err(|e| e.to_string())?;
            w.write_all(guardrails_text.as_bytes())
                .map_err(|e| format!("{path}: {e}"))?;
            w.flush().map_err(|e| format!("{path}: {e}"))?;
            summary
        }
        None => {
            let stdout = io::stdout();
            let mut w = BufWriter::with_capacity(1 << 20, stdout.lock());
            let summary = generate_to(&params, format, &mut w).map_err(|e| e.to_string())?;
            w.write_all(guardrails_text.as_bytes())
                .map_err(|e| e.to_string())?;
            w.flush().map_err(|e| e.to_string())?;
            summary
        }
    };
    eprintln!(
        "palisade-synth: seed {seed}: {} namespaces, {} workloads, {} replicasets, {} pods, {} policies, \
         {guardrails} cluster network policies; {:.1} MiB in {:.2?}{}",
        summary.namespaces,
        summary.workloads,
        summary.replica_sets,
        summary.pods,
        summary.policies,
        summary.bytes as f64 / (1024.0 * 1024.0),
        start.elapsed(),
        output.map(|p| format!(" -> {p}")).unwrap_or_default(),
    );
    Ok(())
}
