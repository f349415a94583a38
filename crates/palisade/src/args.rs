//! Every command-line flag, in one place.

use crate::output::ColorChoice;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Make Kubernetes NetworkPolicies visible, testable and provable before they ship.
#[derive(Debug, Parser)]
#[command(
    name = "palisade",
    version,
    about,
    after_help = "Exit codes: 0 success, 1 findings (e.g. --expect not met), 2 usage or input errors."
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Walk through the bundled example app: load it, find the broken connection, explain it.
    Demo(DemoArgs),
    /// May SRC reach DST on a port? Prints ALLOWED or DENIED and why, for both sides.
    Check(CheckArgs),
    /// A truth table for one port/protocol ('.' allowed, 'X' denied).
    Matrix(MatrixArgs),
    /// Every pair of pods/workloads/external ranges with its exact allowed ports.
    Connectivity(ConnectivityArgs),
    /// Find NetworkPolicy traps (NP001…): where, why, how to fix. Exit 1 on findings at or above --fail-on.
    Lint(LintArgs),
    /// Per-namespace report: policies, isolated workloads, workloads open to the cluster or the world.
    Audit(AuditArgs),
    /// What a policy change opens and closes: added/removed/changed connections, with the edit that caused each.
    Diff(DiffArgs),
    /// Replay recorded traffic (Hubble, pcap, VPC flow logs, CSV/JSONL) against the policies: observed vs predicted per connection, what-if, deny spikes.
    Replay(Box<ReplayArgs>),
    /// Convert captures (Hubble, pcap, VPC flow logs, CSV/JSONL, foreign Parquet) to Parquet in Palisade's flow schema, for replay at scale (docs/scale-out.md).
    Convert(ConvertArgs),
    /// A local web UI: map, matrix, explain, replay timeline, findings, diff (read-only, loopback).
    Serve(Box<crate::commands::ServeArgs>),
    /// The UI's views in one self-contained HTML file (no network), e.g. for a pull request or a ticket.
    Report(Box<crate::commands::ReportArgs>),
    /// Write what the cluster runs (namespaces, pods, workloads, services, policies) as manifests, to analyse offline, diff later or commit.
    Snapshot(SnapshotArgs),
    /// Follow Hubble Relay and the cluster: Prometheus metrics of observed vs predicted outcomes, drift, would-break and deny spikes.
    Watch(Box<WatchArgs>),
    /// The traffic map from captures: workloads, external networks, edges with session counts, observed outcomes and verdicts.
    Map(Box<crate::discover_args::MapArgs>),
    /// Least-privilege NetworkPolicies from observed traffic, proven by replaying it before they are written.
    Generate(Box<crate::discover_args::GenerateArgs>),
    /// A staged hardening plan from the current policies to least privilege, each stage proven by replay.
    Harden(Box<crate::discover_args::HardenArgs>),
    /// Prove policies on a real kernel dataplane: pods as network namespaces, policies as nftables, real probes (root, Linux).
    Sandbox(Box<crate::commands::sandbox::SandboxArgs>),
    /// Declarative connectivity tests (palisade or netassert v2 specs): checked by the engine, or on the kernel with --sandbox. JUnit output for CI.
    Test(Box<crate::commands::conntest::TestArgs>),
    /// Print the shell completion script for bash, zsh, fish, powershell or elvish.
    Completions(crate::commands::install::CompletionsArgs),
    /// Print the man page, or write one per command into --dir.
    Man(crate::commands::install::ManArgs),
    /// Print the version and the git commit the binary was built from.
    Version(crate::commands::install::VersionArgs),
}

/// How manifests are loaded and problems reported; shared by every command that loads them.
#[derive(Clone, Debug, Args)]
pub struct LoadArgs {
    /// Report objects the API server would reject, and continue without them.
    #[arg(long)]
    pub keep_going: bool,
    /// Also print notes: skipped kinds with their counts.
    #[arg(short, long)]
    pub verbose: bool,
    /// Do not read files or directories matching this glob (repeatable), e.g. `charts/**`
    /// or `*-values.yaml`; directories are also filtered by their `.palisadeignore`.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// When to use colours.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Also read the running cluster (kubeconfig's current context, or in-cluster), as kubectl does.
    #[arg(long)]
    pub live: bool,
    /// How to reach the cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Follow symbolic links met while scanning directories, wherever they point (by default
    /// only links to files inside the scanned directory are read).
    #[arg(long, short = 'L')]
    pub follow_symlinks: bool,
    /// Show no progress indicators (they appear only on a terminal, on stderr).
    #[arg(short, long)]
    pub quiet: bool,
}

/// How to reach a cluster: kubectl's flags (`KUBECONFIG` and in-cluster configuration are honoured too).
#[derive(Clone, Debug, Default, Args)]
pub struct ClusterArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<String>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Every namespace: with --live, read namespaced objects of every namespace (default: the -n
    /// namespace, else the context's); files are always read whole, and without -n the answer
    /// covers every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
}

/// kubectl's `-n`, and where objects without a namespace go.
#[derive(Clone, Debug, Default, Args)]
pub struct NamespaceArgs {
    /// The namespace the answer is about, as kubectl's -n: check, matrix, connectivity, lint, audit,
    /// diff, serve and report show only what concerns it; objects that name no namespace are placed in it
    /// (unless --default-namespace); --live reads it (with -A: reads every namespace, shows this one).
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// Namespace for objects that do not name one (default: the -n namespace, else `default`).
    #[arg(long, value_name = "NAMESPACE")]
    pub default_namespace: Option<String>,
}

impl NamespaceArgs {
    /// The namespace objects without one are placed in: `--default-namespace`, else `-n`
    /// (as `kubectl apply -n`), else `default`.
    pub fn default_namespace(&self) -> &str {
        self.default_namespace
            .as_deref()
            .or(self.namespace.as_deref())
            .unwrap_or("default")
    }
}

/// kubectl's `-l/--selector`: which pods the answer is about.
#[derive(Clone, Debug, Default, Args)]
pub struct SelectorArgs {
    /// Only pods (and workloads) whose labels match, in kubectl syntax: `app=web`, `tier!=db`,
    /// `env in (prod,staging)`, `env notin (dev)`, `canary`, `!canary`, comma-separated (AND).
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
    pub selector: Option<String>,
}

/// kubectl's `--no-headers`.
#[derive(Clone, Debug, Default, Args)]
pub struct TableArgs {
    /// Omit the header lines of text and CSV tables.
    #[arg(long)]
    pub no_headers: bool,
}

/// Where manifests come from and how to read them.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Manifest files or directories (recursive: .yaml, .yml, .json); `-` for stdin.
    #[arg(required_unless_present = "live", value_name = "PATHS")]
    pub paths: Vec<String>,
    /// `-n` and `--default-namespace`.
    #[command(flatten)]
    pub ns: NamespaceArgs,
    /// How to load them.
    #[command(flatten)]
    pub load: LoadArgs,
}

/// Pod or workload granularity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LevelArg {
    /// Every pod (one representative pod for a workload without declared pods).
    Pod,
    /// Every workload, and pods that belong to none.
    Workload,
}

/// `--expect` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Expect {
    /// The connection must be allowed.
    Allow,
    /// The connection must be denied.
    Deny,
}

/// `palisade demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The example app's directory (default: the bundled examples/webshop).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<String>,
    /// When to use colours.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// `palisade check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Manifests.
    #[command(flatten)]
    pub input: InputArgs,
    /// Source: `ns/pod`, `ns/workload` or an IP address.
    #[arg(long, value_name = "SRC")]
    pub from: String,
    /// Destination: `ns/pod`, `ns/workload`, an IP address, or a Service: `svc/NAME`,
    /// `svc/NS/NAME`, `NS/svc/NAME` or its ClusterIP (`10.96.0.10` or `10.96.0.10:80`);
    /// a Service is evaluated on every backend pod, on the target port.
    #[arg(long, value_name = "DST")]
    pub to: String,
    /// Destination port (for a Service: the service port): a number, a name (the destination
    /// pods' named container port, or the Service's port name) or either with a protocol
    /// (`53/UDP`). Optional when `--to` ends in `:PORT`.
    #[arg(long, value_name = "PORT")]
    pub port: Option<String>,
    /// Protocol: TCP (default), UDP or SCTP.
    #[arg(long)]
    pub protocol: Option<String>,
    /// Exit with 1 when the verdict differs (for CI).
    #[arg(long, value_enum)]
    pub expect: Option<Expect>,
    /// Output format: text, wide, json or yaml.
    #[arg(short, long, default_value = "text")]
    pub output: String,
}

/// `palisade matrix`.
#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Manifests.
    #[command(flatten)]
    pub input: InputArgs,
    /// Destination port: a number, or NUM/PROTO (`53/UDP`).
    #[arg(long, value_name = "PORT")]
    pub port: String,
    /// Protocol: TCP (default), UDP or SCTP.
    #[arg(long)]
    pub protocol: Option<String>,
    /// Granularity.
    #[arg(long, value_enum, default_value_t = LevelArg::Pod)]
    pub level: LevelArg,
    /// Output format: text (an aligned table), wide, csv, md, json or yaml.
    #[arg(short, long, default_value = "text")]
    pub output: String,
    /// Which pods.
    #[command(flatten)]
    pub select: SelectorArgs,
    /// Table layout.
    #[command(flatten)]
    pub table: TableArgs,
    /// Refuse tables with more rows than this (a table grows with the square of it).
    #[arg(long, default_value_t = 5000, value_name = "N")]
    pub max_peers: usize,
}

/// `palisade connectivity`.
#[derive(Debug, Args)]
pub struct ConnectivityArgs {
    /// Manifests.
    #[command(flatten)]
    pub input: InputArgs,
    /// Granularity: pod, workload, or namespace (ports some pod of one namespace may use
    /// towards some other pod of another, or of its own).
    #[arg(long, value_enum, default_value_t = ConnectivityLevel::Workload)]
    pub level: ConnectivityLevel,
    /// Output format: text, wide, csv, md, json, jsonl (streamed as produced), yaml, dot or
    /// svg.
    #[arg(short, long, default_value = "text")]
    pub output: String,
    /// Which pods.
    #[command(flatten)]
    pub select: SelectorArgs,
    /// Table layout.
    #[command(flatten)]
    pub table: TableArgs,
    /// Refuse when the answer may have more connections than this (0: no limit); the size is
    /// known before anything is produced.
    #[arg(long, value_name = "N", default_value_t = 50_000_000)]
    pub max_pairs: u64,
}

/// `connectivity --level` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ConnectivityLevel {
    /// Every pod (one representative pod for a workload without declared pods).
    Pod,
    /// Every workload, and pods that belong to none.
    Workload,
    /// Every namespace with pods.
    Namespace,
}

/// `palisade lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Manifests (omit with --explain).
    #[command(flatten)]
    pub input: LintInputArgs,
    /// Output format: text, wide, concise, json, yaml, sarif or github.
    #[arg(short, long, default_value = "text")]
    pub output: String,
    /// Run only these rules (codes, names, code prefixes or ALL); comma-separated or repeated.
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub select: Vec<String>,
    /// Do not run these rules; comma-separated or repeated.
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub ignore: Vec<String>,
    /// Exit with 1 when a finding has at least this severity: error (default), warning or info.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<String>,
    /// Configuration file (default: palisade.toml in the current directory or a parent, up to
    /// the repository root or the home directory).
    #[arg(long, value_name = "FILE")]
    pub config: Option<String>,
    /// Print a rule's documentation (NP003 or peer-selects-nothing) and exit.
    #[arg(long, value_name = "CODE", conflicts_with = "list_rules")]
    pub explain: Option<String>,
    /// List every rule: code, name, severity, status.
    #[arg(long)]
    pub list_rules: bool,
    /// Which pods: findings on the objects that concern them (docs/cli.md).
    #[command(flatten)]
    pub pods: SelectorArgs,
}

/// Manifest inputs of `palisade lint`: like [`InputArgs`], but optional for --explain.
#[derive(Debug, Args)]
pub struct LintInputArgs {
    /// Manifest files or directories (recursive: .yaml, .yml, .json); `-` for stdin.
    #[arg(value_name = "PATHS", required_unless_present_any = ["explain", "list_rules", "live"])]
    pub paths: Vec<String>,
    /// `-n` and `--default-namespace`.
    #[command(flatten)]
    pub ns: NamespaceArgs,
    /// How to load them.
    #[command(flatten)]
    pub load: LoadArgs,
}

impl LintInputArgs {
    /// As the shared input arguments.
    pub fn to_input_args(&self) -> InputArgs {
        InputArgs {
            paths: self.paths.clone(),
            ns: self.ns.clone(),
            load: self.load.clone(),
        }
    }
}

/// `palisade audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Manifests.
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format: text, wide, md, json or yaml.
    #[arg(short, long, default_value = "text")]
    pub output: String,
    /// Which pods: their namespaces, workloads, policies and guardrails.
    #[command(flatten)]
    pub select: SelectorArgs,
    /// Table layout.
    #[command(flatten)]
    pub table: TableArgs,
}

/// `--fail-on` values of `palisade diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// A connection removed, or a changed one that lost ports.
    Removed,
    /// A connection added, or a changed one that gained ports.
    Added,
    /// Any change.
    Any,
}

/// `palisade diff`.
#[derive(Debug, Args)]
#[command(
    after_help = "Sides: a file, a directory, `git:REV` (the other side's paths, or PATHS after --, at REV) or `git:REV:PATH`.\n\
Examples:\n  palisade diff examples/webshop examples/webshop-fixed --overlay\n  palisade diff git:main k8s/\n  palisade diff --git origin/main..HEAD -- k8s/ -o md\n\
Exit codes: 0 success, 1 a change that --fail-on rejects, 2 usage or input errors."
)]
pub struct DiffArgs {
    /// OLD and NEW.
    #[arg(value_name = "SIDE", num_args = 0..=2)]
    pub sides: Vec<String>,
    /// Both sides from git revisions of the current repository: `BASE..HEAD` (`BASE..` means `BASE..HEAD`).
    #[arg(long, value_name = "BASE..HEAD")]
    pub git: Option<String>,
    /// Paths read at git revisions (after `--`); default: the other side's path, or `.`.
    #[arg(last = true, value_name = "PATHS")]
    pub paths: Vec<String>,
    /// Namespaces, pods and workloads for both sides from `old`, `new`, or another side (file, directory, git:REV[:PATH]).
    #[arg(long, value_name = "old|new|SIDE")]
    pub workloads_from: Option<String>,
    /// NEW holds only the changed files: lay them over OLD at the same relative paths.
    #[arg(long)]
    pub overlay: bool,
    /// Granularity.
    #[arg(long, value_enum, default_value_t = LevelArg::Workload)]
    pub level: LevelArg,
    /// Output format: text, wide, md, csv, json or yaml.
    #[arg(short, long, default_value = "text")]
    pub output: String,
    /// Which pods.
    #[command(flatten)]
    pub select: SelectorArgs,
    /// Table layout.
    #[command(flatten)]
    pub table: TableArgs,
    /// Exit with 1 when the diff has such a change (for CI).
    #[arg(long, value_enum, value_name = "removed|added|any")]
    pub fail_on: Option<FailOn>,
    /// `-n` and `--default-namespace`.
    #[command(flatten)]
    pub ns: NamespaceArgs,
    /// How to load them.
    #[command(flatten)]
    pub load: LoadArgs,
}

/// `--deny-action` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DenyActionArg {
    /// Denied traffic is dropped: clients time out (most dataplanes).
    Drop,
    /// Denied traffic is rejected: clients see a RST / ICMP unreachable (refused).
    Reject,
}

/// `--spike-on` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SpikeOnArg {
    /// Sessions observed refused or timed out.
    Observed,
    /// Sessions the policies deny.
    Predicted,
}

/// `palisade replay`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  palisade replay capture.pcap --cluster k8s/\n  palisade replay flows.json.gz --cluster k8s/ --from shop/ --outcome timed-out\n  palisade replay flows.json --cluster k8s/ --proposed k8s-new/ --fail-on-break\n  palisade replay examples/webshop-traffic/capture.pcap --cluster examples/webshop examples/webshop-traffic/cluster --proposed examples/webshop-fixed --overlay\n\
Exit codes: 0 success, 1 a session would break under --proposed with --fail-on-break, 2 usage or input errors."
)]
pub struct ReplayArgs {
    /// The recorded traffic: Hubble JSON (hubble observe -o json, exporter files), pcap/pcapng, AWS VPC flow logs, CSV or JSONL (gzip is read transparently; `-` for stdin), or Parquet (`palisade convert`'s flow schema, Hubble exporter or VPC flow log layouts).
    #[arg(
        value_name = "CAPTURE",
        required_unless_present = "hubble_relay",
        conflicts_with = "hubble_relay"
    )]
    pub capture: Option<String>,
    /// The cluster's manifests (files or directories), including pods with their IPs (`status.podIP`).
    #[arg(long, value_name = "PATHS", num_args = 1.., required_unless_present = "live")]
    pub cluster: Vec<String>,
    /// Read flows from Hubble Relay instead of a capture.
    #[command(flatten)]
    pub relay: RelayArgs,
    /// A proposed policy set: every session is also evaluated under it (what breaks, what opens).
    #[arg(long, value_name = "PATHS", num_args = 1..)]
    pub proposed: Vec<String>,
    /// The --proposed directory holds only the changed files: lay them over the first --cluster directory at the same relative paths (the other --cluster paths are kept).
    #[arg(long, requires = "proposed")]
    pub overlay: bool,
    /// Exit with 1 when a session would break under --proposed (for CI on a policy pull request).
    #[arg(long, requires = "proposed")]
    pub fail_on_break: bool,
    /// Input format instead of detecting it: hubble, pcap, pcapng, vpc, csv, jsonl or parquet.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Make malformed records fatal instead of skipping and counting them.
    #[arg(long)]
    pub strict: bool,
    /// Threads: 1 reads, sessionizes and replays on one; 2 (the default when the machine has
    /// two cores) replays on a second thread while the first reads. The output is the same.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=2))]
    pub threads: Option<u64>,
    /// How long an attempt waits for an answer before it counts as timed out.
    #[arg(long, default_value = "3s", value_name = "DURATION")]
    pub timeout: String,
    /// What the dataplane does with denied traffic: drop (predicted timed-out) or reject (predicted refused).
    #[arg(long, value_enum, default_value_t = DenyActionArg::Drop)]
    pub deny_action: DenyActionArg,
    /// Session filters, shared with `map`, `generate` and `harden`.
    #[command(flatten)]
    pub filter: crate::discover_args::SessionFilterArgs,
    /// Detect deny spikes: windows with many more denied sessions than the windows before them.
    #[arg(long)]
    pub spikes: bool,
    /// Spike window length.
    #[arg(long, default_value = "1m", value_name = "DURATION")]
    pub spike_window: String,
    /// Which denials count for spikes.
    #[arg(long, value_enum, default_value_t = SpikeOnArg::Observed)]
    pub spike_on: SpikeOnArg,
    /// A window is a spike above median + K·MAD of the earlier windows.
    #[arg(long, default_value_t = 3.0, value_name = "K")]
    pub spike_k: f64,
    /// A window is a spike with at least this many denials (instead of the baseline).
    #[arg(long, value_name = "N")]
    pub spike_threshold: Option<u64>,
    /// Print the summary (and what-if, spikes) without one line per session (txt, md).
    #[arg(long)]
    pub summary: bool,
    /// Output format: text, wide, json, yaml, jsonl (one session per line, streamed), csv, md, or parquet (the session schema of docs/scale-out.md, into --out-file or a non-terminal stdout).
    #[arg(short, long, default_value = "text")]
    pub output: String,
    /// Write the output to this file instead of stdout (needed for -o parquet on a terminal).
    #[arg(short = 'O', long, value_name = "FILE")]
    pub out_file: Option<String>,
    /// Namespace for manifest objects that do not name one.
    #[arg(long, default_value = "default", value_name = "NAMESPACE")]
    pub default_namespace: String,
    /// How to load them.
    #[command(flatten)]
    pub load: LoadArgs,
}

/// `palisade convert`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  palisade convert capture.pcap -o flows.parquet\n  palisade convert node-a.json.gz node-b.json.gz -o flows.parquet\n  palisade convert vpc-flowlogs.parquet -o flows.parquet     (AWS VPC flow log Parquet → the flow schema)\n\
The flow schema is documented in docs/scale-out.md. Inputs are written one after the other, in the order given.\n\
Exit codes: 0 success, 2 usage or input errors."
)]
pub struct ConvertArgs {
    /// Captures in any format replay reads: Hubble JSON, pcap/pcapng, AWS VPC flow logs, CSV, JSONL (gzip or not), or Parquet (Palisade's, Hubble exporter's or VPC flow logs' layout).
    #[arg(value_name = "INPUT", required = true, num_args = 1..)]
    pub inputs: Vec<String>,
    /// The Parquet file to write (`-` for stdout, refused on a terminal).
    #[arg(short, long, value_name = "FILE")]
    pub output: String,
    /// Input format instead of detecting it: hubble, pcap, pcapng, vpc, csv, jsonl or parquet.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Make malformed records fatal instead of skipping and counting them.
    #[arg(long)]
    pub strict: bool,
}

/// Hubble Relay: where it is and hubble CLI's TLS options.
#[derive(Clone, Debug, Default, Args)]
pub struct RelayArgs {
    /// Read flows from Hubble Relay at HOST:PORT (default: $HUBBLE_SERVER, then localhost:4245).
    #[arg(long, value_name = "HOST:PORT", num_args = 0..=1, default_missing_value = "")]
    pub hubble_relay: Option<String>,
    /// Keep following new flows (sessions are decided as their --timeout expires; reconnects when Relay restarts).
    #[arg(long, requires = "hubble_relay")]
    pub follow: bool,
    /// Connect to Relay with TLS.
    #[arg(long)]
    pub tls: bool,
    /// CA certificates (PEM) to verify Relay with, instead of the system roots; repeatable or comma-separated.
    #[arg(long, value_name = "FILES", value_delimiter = ',')]
    pub tls_ca_cert_files: Vec<String>,
    /// Client certificate (PEM) for mutual TLS.
    #[arg(long, value_name = "FILE", requires = "tls_client_key_file")]
    pub tls_client_cert_file: Option<String>,
    /// Client key (PEM) for mutual TLS.
    #[arg(long, value_name = "FILE", requires = "tls_client_cert_file")]
    pub tls_client_key_file: Option<String>,
    /// The server name to verify in Relay's certificate.
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,
}

/// `palisade snapshot`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  palisade snapshot -A -o cluster/     one file per namespace (and _cluster.yaml)\n  palisade snapshot -n shop -o json    one List on stdout\n  palisade lint cluster/               analyse the snapshot offline\n\
Exit codes: 0 success, 2 the cluster could not be read (a 403 names the missing permission)."
)]
pub struct SnapshotArgs {
    /// How to reach the cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The namespace to read (default: the context's; -A for all).
    #[arg(short = 'n', long = "namespace")]
    pub namespace: Option<String>,
    /// Where: a directory (one file per namespace, created if missing), `yaml` or `json` (one List on stdout).
    #[arg(short, long, default_value = "yaml", value_name = "DIR|yaml|json")]
    pub output: String,
    /// Go on when a resource cannot be read (403), writing what could be read.
    #[arg(long)]
    pub keep_going: bool,
}

/// `palisade watch`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  palisade watch --hubble-relay localhost:4245 --live -A --metrics 127.0.0.1:9464\n  palisade watch --hubble-relay relay:443 --tls --cluster k8s/ --proposed k8s-next/\n\
Metrics (Prometheus text format at http://ADDR/metrics): see docs/live.md. Runs until interrupted."
)]
pub struct WatchArgs {
    /// Hubble Relay and TLS.
    #[command(flatten)]
    pub relay: RelayArgs,
    /// The cluster's manifests, instead of (or besides) --live; re-read when they change.
    #[arg(long, value_name = "PATHS", num_args = 1.., required_unless_present = "live")]
    pub cluster: Vec<String>,
    /// A proposed policy set: sessions it would break are counted (palisade_would_break_sessions_total).
    #[arg(long, value_name = "PATHS", num_args = 1..)]
    pub proposed: Vec<String>,
    /// Serve Prometheus metrics here.
    #[arg(long, default_value = "127.0.0.1:9464", value_name = "ADDR")]
    pub metrics: String,
    /// How long an attempt waits for an answer before it counts as timed out.
    #[arg(long, default_value = "3s", value_name = "DURATION")]
    pub timeout: String,
    /// What the dataplane does with denied traffic: drop (predicted timed-out) or reject (predicted refused).
    #[arg(long, value_enum, default_value_t = DenyActionArg::Drop)]
    pub deny_action: DenyActionArg,
    /// Deny-spike window length.
    #[arg(long, default_value = "1m", value_name = "DURATION")]
    pub spike_window: String,
    /// Windows of history a spike is measured against (the sliding baseline).
    #[arg(long, default_value_t = 30, value_name = "N")]
    pub spike_history: usize,
    /// A window is a spike above median + K·MAD of the earlier windows.
    #[arg(long, default_value_t = 3.0, value_name = "K")]
    pub spike_k: f64,
    /// A window is a spike with at least this many denials (instead of the baseline).
    #[arg(long, value_name = "N")]
    pub spike_threshold: Option<u64>,
    /// How often the cluster (--live) or the --cluster files are re-read to pick up policy and pod changes.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    pub reload_every: String,
    /// Print every decided session as a JSON line on stdout (the live timeline, for machines).
    #[arg(long)]
    pub jsonl: bool,
    /// Namespace for manifest objects that do not name one.
    #[arg(long, default_value = "default", value_name = "NAMESPACE")]
    pub default_namespace: String,
    /// How to load them.
    #[command(flatten)]
    pub load: LoadArgs,
}
