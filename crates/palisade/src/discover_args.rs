//! Flags of `map`, `generate` and `harden` (kept apart from args.rs so that commands added
//! in parallel do not collide; registered there in one line each).

use crate::args::{DenyActionArg, LoadArgs};
use clap::{Args, ValueEnum};

/// Session filters shared with `replay`.
#[derive(Clone, Debug, Default, Args)]
pub struct SessionFilterArgs {
    /// Only sessions from these: IP, CIDR, `namespace/`, or `namespace/name` (workload, or pod name prefix); repeatable.
    #[arg(long, value_name = "PEER")]
    pub from: Vec<String>,
    /// Only sessions to these (same forms as --from); repeatable.
    #[arg(long, value_name = "PEER")]
    pub to: Vec<String>,
    /// Only sessions with either end in this namespace (kubectl's -n: the answer is about it); repeatable.
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Vec<String>,
    /// Only sessions to this destination port: a number, a name of the destination pod's
    /// container ports (`pg`), or either with a protocol (`53/UDP`); repeatable.
    #[arg(long, value_name = "PORT")]
    pub port: Vec<String>,
    /// hubble observe's filters.
    #[command(flatten)]
    pub hubble: HubbleFilterArgs,
    /// kubectl's -l: only sessions with an end whose labels match (the mapped pod's, else
    /// Hubble's); with -n, that end is in the namespace.
    #[command(flatten)]
    pub pods: crate::args::SelectorArgs,
    /// Only sessions of this protocol (TCP, UDP, SCTP); repeatable.
    #[arg(long, value_name = "PROTOCOL")]
    pub protocol: Vec<String>,
    /// Only sessions with this observed outcome: accepted, refused, timed-out, unknown; or `mismatch` for flagged sessions; repeatable or comma-separated.
    #[arg(long, value_name = "OUTCOME", value_delimiter = ',')]
    pub outcome: Vec<String>,
    /// Only sessions starting at or after this: RFC 3339, a duration before the capture's last event (5m, as hubble's before now), or +DURATION after its first event (+90s).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only sessions starting before this: RFC 3339, a duration before the capture's last event, or +DURATION after its first event.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}

/// hubble observe's flags, spelled as hubble spells them: one flag's values are
/// alternatives, different flags must all hold.
#[derive(Clone, Debug, Default, Args)]
pub struct HubbleFilterArgs {
    /// Only sessions with this verdict: FORWARDED (observed accepted) or DROPPED (observed
    /// refused or timed out); repeatable or comma-separated.
    #[arg(long, value_name = "VERDICT", value_delimiter = ',')]
    pub verdict: Vec<String>,
    /// Only sessions from pods whose name starts with this: `[namespace/]name` (namespace
    /// default: `default`, as hubble); repeatable.
    #[arg(long, value_name = "[NS/]POD")]
    pub from_pod: Vec<String>,
    /// Only sessions to pods whose name starts with this (as --from-pod); repeatable.
    #[arg(long, value_name = "[NS/]POD")]
    pub to_pod: Vec<String>,
    /// Only sessions from this namespace; repeatable.
    #[arg(long, value_name = "NAMESPACE")]
    pub from_namespace: Vec<String>,
    /// Only sessions to this namespace; repeatable.
    #[arg(long, value_name = "NAMESPACE")]
    pub to_namespace: Vec<String>,
    /// Only sessions from endpoints with these labels (kubectl selector syntax; Hubble's
    /// `k8s:` prefix may be left out); repeatable.
    #[arg(long, value_name = "SELECTOR")]
    pub from_label: Vec<String>,
    /// Only sessions to endpoints with these labels; repeatable.
    #[arg(long, value_name = "SELECTOR")]
    pub to_label: Vec<String>,
    /// Only sessions from this address or CIDR; repeatable.
    #[arg(long, value_name = "IP|CIDR")]
    pub from_ip: Vec<String>,
    /// Only sessions to this address or CIDR; repeatable.
    #[arg(long, value_name = "IP|CIDR")]
    pub to_ip: Vec<String>,
}

/// Captures, the cluster, and how sessions become nodes: shared by the three commands.
#[derive(Clone, Debug, Args)]
pub struct CaptureArgs {
    /// Recorded traffic, as `replay` reads it (Hubble JSON, pcap/pcapng, VPC flow logs, CSV, JSONL; gzip; `-` for stdin); several are merged.
    #[arg(value_name = "CAPTURE", required = true)]
    pub captures: Vec<String>,
    /// The cluster's manifests, including pods with their IPs (`status.podIP`).
    #[arg(long, value_name = "PATHS", num_args = 1.., required = true)]
    pub cluster: Vec<String>,
    /// Input format instead of detecting it: hubble, pcap, pcapng, vpc, csv or jsonl.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Make malformed records fatal instead of skipping and counting them.
    #[arg(long)]
    pub strict: bool,
    /// How long an attempt waits for an answer before it counts as timed out.
    #[arg(long, default_value = "3s", value_name = "DURATION")]
    pub timeout: String,
    /// What the dataplane does with denied traffic (the predicted outcome of denied sessions).
    #[arg(long, value_enum, default_value_t = DenyActionArg::Drop)]
    pub deny_action: DenyActionArg,
    /// External IPv4 addresses are grouped into networks of this prefix length (32: one node per address).
    #[arg(long, default_value_t = 24, value_name = "BITS", value_parser = clap::value_parser!(u8).range(0..=32))]
    pub cidr_prefix: u8,
    /// External IPv6 addresses are grouped into networks of this prefix length.
    #[arg(long, default_value_t = 64, value_name = "BITS", value_parser = clap::value_parser!(u8).range(0..=128))]
    pub cidr_prefix_v6: u8,
    /// Names for external networks: a file of `name: [CIDR, ...]` lines.
    #[arg(long, value_name = "FILE")]
    pub known_networks: Option<String>,
    /// Session filters.
    #[command(flatten)]
    pub filter: SessionFilterArgs,
    /// Namespace for manifest objects that do not name one.
    #[arg(long, default_value = "default", value_name = "NAMESPACE")]
    pub default_namespace: String,
    /// How to load the manifests.
    #[command(flatten)]
    pub load: LoadArgs,
}

/// `--level` of `map`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MapLevelArg {
    /// One node per workload (top-level owner) or bare pod.
    Workload,
    /// One node per namespace.
    Namespace,
}

/// `palisade map`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  palisade map examples/webshop-traffic/capture.pcap --cluster examples/webshop examples/webshop-traffic/cluster\n  palisade map flows.json.gz --cluster k8s/ pods.yaml -o svg > map.svg\n\
Exit codes: 0 success, 1 the capture holds no session, 2 usage or input errors."
)]
pub struct MapArgs {
    /// Captures, cluster, grouping, filters.
    #[command(flatten)]
    pub input: CaptureArgs,
    /// Also the verdict of every edge under this policy set.
    #[arg(long, value_name = "PATHS", num_args = 1..)]
    pub proposed: Vec<String>,
    /// Node granularity.
    #[arg(long, value_enum, default_value_t = MapLevelArg::Workload)]
    pub level: MapLevelArg,
    /// Output format: text, wide, json, yaml, dot, mermaid or svg.
    #[arg(short, long, default_value = "text")]
    pub output: String,
}

/// `--learn` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LearnArg {
    /// Sessions observed accepted.
    Accepted,
    /// Also sessions attempted and refused or timed out (keep today's intended traffic).
    Attempted,
}

/// `--dns` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DnsArg {
    /// Every egress-isolated workload may resolve names.
    All,
    /// Only workloads seen resolving.
    Observed,
    /// No DNS rule: DNS sessions are learned like any other.
    None,
}

/// `--mode` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// The generated set is the whole policy set of the namespaces it covers.
    Replace,
    /// Only what the current policies do not already allow, next to them.
    Add,
}

/// What to generate (shared by `generate` and `harden`).
#[derive(Clone, Debug, Args)]
pub struct GenerateFlags {
    /// Which sessions are learned.
    #[arg(long, value_enum, default_value_t = LearnArg::Accepted)]
    pub learn: LearnArg,
    /// Also a default-deny policy per namespace covered.
    #[arg(long)]
    pub default_deny: bool,
    /// Merge consecutive observed ports into endPort ranges.
    #[arg(long)]
    pub merge_ports: bool,
    /// DNS egress rules: all egress-isolated workloads, only those observed resolving, or none.
    #[arg(long, value_enum, default_value_t = DnsArg::All)]
    pub dns: DnsArg,
    /// Replace the covered namespaces' policies, or add to them.
    #[arg(long, value_enum, default_value_t = ModeArg::Replace)]
    pub mode: ModeArg,
}

/// `palisade generate`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  palisade generate examples/webshop-traffic/capture.pcap --cluster examples/webshop examples/webshop-traffic/cluster -o generated/\n  palisade generate flows.json --cluster k8s/ pods.yaml --dns observed --report report.md\n\
Exit codes: 0 written, 1 nothing to generate or a learned session would break (nothing written), 2 usage or input errors."
)]
pub struct GenerateArgs {
    /// Captures, cluster, grouping, filters.
    #[command(flatten)]
    pub input: CaptureArgs,
    /// What to generate.
    #[command(flatten)]
    pub generate: GenerateFlags,
    /// Output directory (one file per namespace), or `-` for stdout.
    #[arg(short, long, default_value = "-", value_name = "DIR|-")]
    pub output: String,
    /// Also write the report to this file: .json or .md.
    #[arg(long, value_name = "FILE")]
    pub report: Option<String>,
}

/// `palisade harden`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  palisade harden examples/webshop-traffic/capture.pcap --cluster examples/webshop examples/webshop-traffic/cluster -o plan/\n\
Exit codes: 0 plan written, 1 nothing to generate or not even the first stage holds, 2 usage or input errors."
)]
pub struct HardenArgs {
    /// Captures, cluster, grouping, filters.
    #[command(flatten)]
    pub input: CaptureArgs,
    /// What the last stage generates.
    #[command(flatten)]
    pub generate: GenerateFlags,
    /// Output directory: DIR/01-.../, DIR/02-.../, ..., DIR/PLAN.md.
    #[arg(short, long, value_name = "DIR", required = true)]
    pub output: String,
    /// Also print the plan as JSON on stdout (`json`), or write it to a .json file.
    #[arg(long, value_name = "json|FILE")]
    pub report: Option<String>,
}
