//! Random clusters and policies → kernel vs engine.
//!
//! Each case is manifest text (so a mismatch is saved as a directory a user can load with
//! any `palisade` command): 2-3 namespaces, a few pods with labels, named container ports
//! and IPv4/IPv6/dual-stack/no addresses, and policies with `matchLabels` and
//! `matchExpressions` selectors, namespace selectors, ipBlocks with `except`, numeric, named
//! and `endPort` ports, ingress and egress. The sandbox probes every pod pair on every
//! declared port, a port no pod declares and the ports the policies name, over every address
//! family the pair shares; the engine predicts each probe.

use std::fmt::Write;

/// A small deterministic generator (SplitMix64): the same seed gives the same cases.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const NAMESPACES: [&str; 3] = ["alpha", "beta", "gamma"];
const KEYS: [&str; 2] = ["app", "tier"];
const VALUES: [&str; 3] = ["a", "b", "c"];
/// (name, protocol, port) of the named container ports pods may declare; two names share a
/// number and one number has two names, as real clusters do.
const NAMED: [(&str, &str, u16); 5] = [
    ("http", "TCP", 80),
    ("web", "TCP", 8080),
    ("dns", "UDP", 53),
    ("metrics", "TCP", 9100),
    ("alt", "TCP", 80),
];
/// A port no pod declares: probes to it are refused by the host even when policy allows.
pub const UNDECLARED_PORT: u16 = 7;

/// The addresses of pod `index`: fixed by the index (IPv4, dual-stack, IPv6, none, in
/// turn), so that every case with the same number of pods has the same pods' addresses and
/// one sandbox serves them all ([`FuzzSandbox`]); which pod plays which part (namespace,
/// labels, ports) is random per case.
fn pod_ips(index: usize) -> Vec<String> {
    let v4 = format!("10.{}.0.{}", 1 + index / 200, 1 + index % 200);
    let v6 = format!("fd00:10::{:x}", index + 1);
    match index % 4 {
        0 => vec![v4],
        1 => vec![v4, v6],
        2 => vec![v6],
        _ => vec![],
    }
}

fn write_status(ips: &[String], out: &mut String) {
    if !ips.is_empty() {
        let _ = writeln!(out, "status:\n  podIP: \"{}\"\n  podIPs:", ips[0]);
        for ip in ips {
            let _ = writeln!(out, "  - ip: \"{ip}\"");
        }
    }
}

/// The pods every case with `pods` pods shares, without labels, ports or policies: what
/// [`FuzzSandbox::up`] builds the namespaces, addresses and listeners for.
pub fn pod_set(pods: usize) -> String {
    let mut out = String::from("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: alpha\n");
    for i in 0..pods {
        let _ = writeln!(
            out,
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: pod{i}\n  namespace: alpha\nspec:\n  containers:\n  - name: main\n    image: app"
        );
        write_status(&pod_ips(i), &mut out);
    }
    out
}

fn selector(rng: &mut Rng, indent: &str, out: &mut String) {
    match rng.below(4) {
        0 => {
            let _ = writeln!(out, "{indent}{{}}");
        }
        1 | 2 => {
            let _ = writeln!(out, "{indent}matchLabels:");
            let _ = writeln!(out, "{indent}  {}: {}", rng.pick(&KEYS), rng.pick(&VALUES));
        }
        _ => {
            let op = *rng.pick(&["In", "NotIn", "Exists", "DoesNotExist"]);
            let _ = writeln!(out, "{indent}matchExpressions:");
            let _ = writeln!(out, "{indent}- key: {}", rng.pick(&KEYS));
            let _ = writeln!(out, "{indent}  operator: {op}");
            if op == "In" || op == "NotIn" {
                let _ = writeln!(
                    out,
                    "{indent}  values: [{}, {}]",
                    rng.pick(&VALUES),
                    rng.pick(&VALUES)
                );
            }
        }
    }
}

fn peer(rng: &mut Rng, out: &mut String) {
    match rng.below(6) {
        0 | 1 => {
            let _ = writeln!(out, "    - podSelector:");
            selector(rng, "        ", out);
        }
        2 => {
            let _ = writeln!(out, "    - namespaceSelector:");
            if rng.chance(50) {
                let _ = writeln!(out, "        matchLabels:");
                let _ = writeln!(
                    out,
                    "          kubernetes.io/metadata.name: {}",
                    rng.pick(&NAMESPACES)
                );
            } else {
                selector(rng, "        ", out);
            }
        }
        3 => {
            let _ = writeln!(out, "    - namespaceSelector:");
            selector(rng, "        ", out);
            let _ = writeln!(out, "      podSelector:");
            selector(rng, "        ", out);
        }
        4 => {
            let (cidr, except) = *rng.pick(&[
                ("10.1.0.0/24", Some("10.1.0.0/29")),
                ("10.0.0.0/8", Some("10.1.0.8/30")),
                ("10.1.0.0/28", None),
                ("0.0.0.0/0", Some("10.1.0.0/30")),
                ("0.0.0.0/0", None),
            ]);
            let _ = writeln!(out, "    - ipBlock:");
            let _ = writeln!(out, "        cidr: {cidr}");
            if let Some(e) = except {
                let _ = writeln!(out, "        except: [{e}]");
            }
        }
        _ => {
            let (cidr, except) = *rng.pick(&[
                ("fd00:10::/64", Some("fd00:10::/126")),
                ("::/0", None),
                ("fd00:10::/120", Some("fd00:10::4/126")),
            ]);
            let _ = writeln!(out, "    - ipBlock:");
            let _ = writeln!(out, "        cidr: \"{cidr}\"");
            if let Some(e) = except {
                let _ = writeln!(out, "        except: [\"{e}\"]");
            }
        }
    }
}

fn port(rng: &mut Rng, out: &mut String) {
    match rng.below(6) {
        0 => {
            let (name, protocol, _) = *rng.pick(&NAMED);
            let _ = writeln!(out, "    - protocol: {protocol}\n      port: {name}");
        }
        1 => {
            let start = *rng.pick(&[50u16, 79, 80, 8000]);
            let end = start + *rng.pick(&[1u16, 5, 200]);
            let protocol = rng.pick(&["TCP", "UDP"]);
            let _ = writeln!(
                out,
                "    - protocol: {protocol}\n      port: {start}\n      endPort: {end}"
            );
        }
        2 => {
            let _ = writeln!(out, "    - protocol: {}", rng.pick(&["TCP", "UDP"]));
        }
        _ => {
            let (_, protocol, number) = *rng.pick(&NAMED);
            let _ = writeln!(out, "    - protocol: {protocol}\n      port: {number}");
        }
    }
}

fn rules(rng: &mut Rng, key: &str, peer_key: &str, out: &mut String) {
    let n = rng.below(3);
    if n == 0 && rng.chance(50) {
        return;
    }
    let _ = writeln!(out, "  {key}:");
    if n == 0 {
        // `- {}`: every peer, every port.
        let _ = writeln!(out, "  - {{}}");
        return;
    }
    for _ in 0..n {
        let _ = writeln!(out, "  - {peer_key}:");
        for _ in 0..1 + rng.below(2) {
            peer(rng, out);
        }
        if rng.chance(75) {
            let _ = writeln!(out, "    ports:");
            for _ in 0..1 + rng.below(2) {
                port(rng, out);
            }
        }
    }
}

/// Which admin API a generated admin policy is written in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AdminApi {
    /// `ClusterNetworkPolicy` v1alpha2 (`tier`, `protocols`, `Accept`).
    V1Alpha2,
    /// `AdminNetworkPolicy` v1alpha1 (`ports`, `Allow`).
    Anp,
    /// `BaselineAdminNetworkPolicy` v1alpha1 (the singleton `default`; Allow and Deny only).
    Banp,
}

/// A namespace selector for admin subjects and peers: by name or by the `tier` label.
fn admin_namespace_selector(rng: &mut Rng, indent: &str, out: &mut String) {
    if rng.chance(40) {
        let _ = writeln!(out, "{indent}matchLabels:");
        let _ = writeln!(
            out,
            "{indent}  kubernetes.io/metadata.name: {}",
            rng.pick(&NAMESPACES)
        );
    } else {
        selector(rng, indent, out);
    }
}

/// `namespaces: <sel>` or `pods: {namespaceSelector, podSelector}` at `indent`.
fn admin_selector_peer(rng: &mut Rng, indent: &str, first: &str, out: &mut String) {
    let deeper = format!("{indent}    ");
    if rng.chance(40) {
        let _ = writeln!(out, "{indent}{first}namespaces:");
        admin_namespace_selector(rng, &deeper, out);
    } else {
        let _ = writeln!(out, "{indent}{first}pods:");
        let _ = writeln!(out, "{indent}    namespaceSelector:");
        admin_namespace_selector(rng, &format!("{deeper}  "), out);
        let _ = writeln!(out, "{indent}    podSelector:");
        selector(rng, &format!("{deeper}  "), out);
    }
}

/// One admin port entry (v1alpha2 `protocols` or v1alpha1 `ports`); `named` allows a named
/// port (not with `networks` peers, as the CRD's CEL rule says).
fn admin_port(rng: &mut Rng, api: AdminApi, named: bool, out: &mut String) {
    let protocol = *rng.pick(&["TCP", "UDP"]);
    let choice = rng.below(if named { 3 } else { 2 });
    let (number, range) = (
        *rng.pick(&[80u16, 81, 8080, 9100, 53]),
        *rng.pick(&[(50u16, 90u16), (79, 81), (8000, 9200)]),
    );
    match (api, choice) {
        (AdminApi::V1Alpha2, 0) => {
            let _ = writeln!(
                out,
                "    - {}: {{destinationPort: {{number: {number}}}}}",
                protocol.to_lowercase()
            );
        }
        (AdminApi::V1Alpha2, 1) => {
            let _ = writeln!(
                out,
                "    - {}: {{destinationPort: {{range: {{start: {}, end: {}}}}}}}",
                protocol.to_lowercase(),
                range.0,
                range.1
            );
        }
        (AdminApi::V1Alpha2, _) => {
            let _ = writeln!(out, "    - destinationNamedPort: {}", rng.pick(&NAMED).0);
        }
        (_, 0) => {
            let _ = writeln!(
                out,
                "    - portNumber: {{protocol: {protocol}, port: {number}}}"
            );
        }
        (_, 1) => {
            let _ = writeln!(
                out,
                "    - portRange: {{protocol: {protocol}, start: {}, end: {}}}",
                range.0, range.1
            );
        }
        _ => {
            let _ = writeln!(out, "    - namedPort: {}", rng.pick(&NAMED).0);
        }
    }
}

/// The rules of one direction of an admin policy.
fn admin_rules(rng: &mut Rng, api: AdminApi, direction: &str, out: &mut String) {
    let n = rng.below(3);
    if n == 0 {
        return;
    }
    let _ = writeln!(out, "  {direction}:");
    for r in 0..n {
        let actions: &[&str] = match api {
            AdminApi::V1Alpha2 => &["Accept", "Deny", "Pass"],
            AdminApi::Anp => &["Allow", "Deny", "Pass"],
            AdminApi::Banp => &["Allow", "Deny"],
        };
        let _ = writeln!(
            out,
            "  - name: {direction}-{r}\n    action: {}",
            rng.pick(actions)
        );
        let _ = writeln!(
            out,
            "    {}:",
            if direction == "ingress" { "from" } else { "to" }
        );
        let mut networks = false;
        for _ in 0..1 + rng.below(2) {
            if direction == "egress" && rng.chance(25) {
                networks = true;
                let cidr = *rng.pick(&[
                    "10.1.0.0/29",
                    "10.1.0.0/24",
                    "0.0.0.0/0",
                    "\"fd00:10::/126\"",
                    "\"::/0\"",
                ]);
                let _ = writeln!(out, "    - networks: [{cidr}]");
            } else {
                admin_selector_peer(rng, "    ", "- ", out);
            }
        }
        if rng.chance(60) {
            let key = if api == AdminApi::V1Alpha2 {
                "protocols"
            } else {
                "ports"
            };
            let _ = writeln!(out, "    {key}:");
            for _ in 0..1 + rng.below(2) {
                admin_port(rng, api, !networks, out);
            }
        }
    }
}

/// One admin policy (any generation); `banp_taken` keeps the BANP a singleton.
fn admin_policy(rng: &mut Rng, index: usize, banp_taken: &mut bool, out: &mut String) {
    let mut api = *rng.pick(&[
        AdminApi::V1Alpha2,
        AdminApi::V1Alpha2,
        AdminApi::Anp,
        AdminApi::Banp,
    ]);
    if api == AdminApi::Banp && *banp_taken {
        api = AdminApi::Anp;
    }
    // Priorities collide now and then: equal priorities are evaluated in name order.
    let priority = *rng.pick(&[1u32, 5, 5, 20]);
    match api {
        AdminApi::V1Alpha2 => {
            let tier = *rng.pick(&["Admin", "Baseline"]);
            let _ = writeln!(
                out,
                "---\napiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata:\n  name: cnp{index}\nspec:\n  tier: {tier}\n  priority: {priority}"
            );
        }
        AdminApi::Anp => {
            let _ = writeln!(
                out,
                "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata:\n  name: anp{index}\nspec:\n  priority: {priority}"
            );
        }
        AdminApi::Banp => {
            *banp_taken = true;
            let _ = writeln!(
                out,
                "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata:\n  name: default\nspec:"
            );
        }
    }
    let _ = writeln!(out, "  subject:");
    admin_selector_peer(rng, "    ", "", out);
    admin_rules(rng, api, "ingress", out);
    admin_rules(rng, api, "egress", out);
}

/// One random cluster with `pods` pods, as manifest text.
pub fn generate_case(rng: &mut Rng, pods: usize) -> String {
    let mut out = String::new();
    let namespaces = &NAMESPACES[..2 + rng.below(2)];
    for ns in namespaces {
        let _ = writeln!(
            out,
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    tier: {}",
            rng.pick(&VALUES)
        );
    }
    for i in 0..pods {
        let ns = rng.pick(namespaces);
        let _ = writeln!(
            out,
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: pod{i}\n  namespace: {ns}\n  labels:"
        );
        for key in KEYS {
            if rng.chance(70) {
                let _ = writeln!(out, "    {key}: {}", rng.pick(&VALUES));
            }
        }
        let _ = writeln!(out, "spec:\n  containers:\n  - name: main\n    image: app");
        let mut declared: Vec<(&str, &str, u16)> = Vec::new();
        for named in NAMED {
            // Two container ports may not share a number and protocol.
            if rng.chance(45) && !declared.iter().any(|d| d.1 == named.1 && d.2 == named.2) {
                declared.push(named);
            }
        }
        if !declared.is_empty() {
            let _ = writeln!(out, "    ports:");
            for (name, protocol, number) in declared {
                let _ = writeln!(
                    out,
                    "    - name: {name}\n      containerPort: {number}\n      protocol: {protocol}"
                );
            }
        }
        write_status(&pod_ips(i), &mut out);
    }
    for p in 0..1 + rng.below(4) {
        let ns = rng.pick(namespaces);
        let _ = writeln!(
            out,
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: policy{p}\n  namespace: {ns}\nspec:\n  podSelector:"
        );
        selector(rng, "    ", &mut out);
        let types = rng.below(4);
        if types > 0 {
            let _ = writeln!(out, "  policyTypes:");
            if types != 2 {
                let _ = writeln!(out, "  - Ingress");
            }
            if types != 1 {
                let _ = writeln!(out, "  - Egress");
            }
        }
        if types != 2 {
            rules(rng, "ingress", "from", &mut out);
        }
        if types != 1 {
            rules(rng, "egress", "to", &mut out);
        }
    }
    // Admin tiers in about half the cases: ClusterNetworkPolicy (both tiers), ANP, BANP.
    if rng.chance(50) {
        let mut banp_taken = false;
        for a in 0..1 + rng.below(3) {
            admin_policy(rng, a, &mut banp_taken, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_cases_load_without_errors_and_half_have_admin_policies() {
        let mut with_admin = 0;
        for seed in 0..400 {
            let text = generate_case(&mut Rng::new(seed), 5);
            let model = load_case(&text).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{text}"));
            with_admin += usize::from(!model.admin_policies.is_empty());
        }
        assert!((120..=280).contains(&with_admin), "{with_admin} of 400");
    }

    #[test]
    fn the_same_seed_gives_the_same_case() {
        let a = generate_case(&mut Rng::new(7), 5);
        let b = generate_case(&mut Rng::new(7), 5);
        assert_eq!(a, b);
        assert_ne!(a, generate_case(&mut Rng::new(8), 5));
    }
}

/// The ports every fuzz pod listens on and every probe tries: each named port's number, a
/// number inside the generated `endPort` ranges, and [`UNDECLARED_PORT`].
pub const PROBED: [(Protocol, u16); 7] = [
    (Protocol::Tcp, 80),
    (Protocol::Tcp, 81),
    (Protocol::Tcp, 8080),
    (Protocol::Tcp, 9100),
    (Protocol::Udp, 53),
    (Protocol::Tcp, UNDECLARED_PORT),
    (Protocol::Udp, UNDECLARED_PORT),
];

use crate::SandboxError;
use crate::compile::DenyAction;
use crate::probe::Outcome;
use crate::sandbox::{Probe, Sandbox, SandboxOptions, Source};
use palisade_engine::{Endpoint, Engine};
use palisade_load::{Input, LoadOptions, load};
use palisade_model::{Model, Protocol};
use std::time::Duration;

/// One probe where kernel and engine disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuzzMismatch {
    /// `ns/pod`.
    pub src: String,
    /// `ns/pod`.
    pub dst: String,
    /// The address probed.
    pub address: std::net::IpAddr,
    /// Protocol.
    pub protocol: Protocol,
    /// Port.
    pub port: u16,
    /// What the kernel did.
    pub observed: Outcome,
    /// What the engine predicted.
    pub predicted: bool,
}

impl std::fmt::Display for FuzzMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} -> {} ({}) {}/{}: kernel {}, engine {}",
            self.src,
            self.dst,
            self.address,
            self.port,
            self.protocol,
            self.observed.as_str(),
            if self.predicted { "allowed" } else { "denied" }
        )
    }
}

/// What one case found.
#[derive(Clone, Debug, Default)]
pub struct CaseReport {
    /// Probes run.
    pub probes: usize,
    /// Disagreements (after re-probing apparent timeouts with a long deadline).
    pub mismatches: Vec<FuzzMismatch>,
    /// First answers that disagreed with the engine but agreed when asked again (with a
    /// longer deadline): what the machine, not the rules, caused. Kept to study them.
    pub transient: Vec<FuzzMismatch>,
}

/// Loads generated manifest text; `None` when the loader rejected something (a generator
/// bug, reported by the caller).
pub fn load_case(text: &str) -> Result<Model, String> {
    let loaded = load(
        &[Input::Text {
            name: "cluster.yaml".into(),
            text: text.to_string(),
        }],
        &LoadOptions::default(),
    );
    if loaded.has_errors() {
        return Err(format!("{:?}", loaded.diagnostics));
    }
    Ok(loaded.model)
}

/// A sandbox built once for a run's pods ([`pod_set`]) that runs case after case by
/// swapping only the rulesets ([`Sandbox::reload`]): namespaces, links, addresses and
/// listeners are made once, so a case costs one `nft -f` per pod and its probes.
pub struct FuzzSandbox {
    sandbox: Sandbox,
    pods: usize,
}

impl FuzzSandbox {
    /// Brings up the namespaces of `pods` pods, listening on every [`PROBED`] port.
    pub fn up(pods: usize) -> Result<FuzzSandbox, SandboxError> {
        let model = load_case(&pod_set(pods)).map_err(SandboxError::Unavailable)?;
        let sandbox = Sandbox::up(
            &model,
            SandboxOptions {
                deny: DenyAction::Drop,
                external: Vec::new(),
                extra_ports: PROBED.iter().map(|&(p, n)| (n, p)).collect(),
            },
        )?;
        Ok(FuzzSandbox { sandbox, pods })
    }

    /// How many pods it was built for.
    pub fn pods(&self) -> usize {
        self.pods
    }

    /// Runs one case (its pods must be among the sandbox's, as [`generate_case`] makes
    /// them): loads its rulesets, then probes.
    pub fn run_case(
        &mut self,
        model: &Model,
        deny: DenyAction,
        timeout: Duration,
    ) -> Result<CaseReport, SandboxError> {
        self.sandbox.reload(model, deny)?;
        probe_case(&self.sandbox, model, timeout)
    }

    /// Tears the namespaces down (also done on drop).
    pub fn down(self) -> Result<(), SandboxError> {
        self.sandbox.down()
    }
}

/// Runs one case in a sandbox of its own (up, probe, down); [`FuzzSandbox`] is the fast
/// path for many cases.
pub fn run_case(
    model: &Model,
    deny: DenyAction,
    timeout: Duration,
) -> Result<CaseReport, SandboxError> {
    let sandbox = Sandbox::up(
        model,
        SandboxOptions {
            deny,
            external: Vec::new(),
            extra_ports: PROBED.iter().map(|&(p, n)| (n, p)).collect(),
        },
    )?;
    let report = probe_case(&sandbox, model, timeout)?;
    sandbox.down()?;
    Ok(report)
}

/// Probes every pod pair × [`PROBED`] × shared address family and compares with the engine.
fn probe_case(
    sandbox: &Sandbox,
    model: &Model,
    timeout: Duration,
) -> Result<CaseReport, SandboxError> {
    let engine = Engine::new(model);
    let mut probes = Vec::new();
    let mut predicted = Vec::new();
    for src in model.pod_ids() {
        for dst in model.pod_ids() {
            let (s, d) = (sandbox.plan().pod(src), sandbox.plan().pod(dst));
            for v6 in [false, true] {
                let (Some(_), Some(address)) = (s.ip(v6), d.ip(v6)) else {
                    continue;
                };
                for &(protocol, port) in &PROBED {
                    probes.push(Probe {
                        src: Source::Pod(src),
                        dst: address,
                        port,
                        protocol,
                    });
                    predicted.push(
                        engine
                            .verdict(
                                engine.entity(&Endpoint::Pod(src)),
                                engine.entity(&Endpoint::Pod(dst)),
                                protocol,
                                port,
                            )
                            .allowed,
                    );
                }
            }
        }
    }
    // A disagreement may be a slow machine: ask again, patiently.
    let retried = sandbox.probe_retrying(&probes, timeout, &predicted)?;
    let describe = |probe: &Probe, observed: Outcome, predicted: bool| {
        let Source::Pod(src) = probe.src else {
            unreachable!("fuzz probes start in pods")
        };
        let dst = sandbox
            .plan()
            .pod_by_ip(probe.dst)
            .expect("probes target pods");
        FuzzMismatch {
            src: model.pod_name(src),
            dst: model.pod_name(dst),
            address: probe.dst,
            protocol: probe.protocol,
            port: probe.port,
            observed,
            predicted,
        }
    };
    let mut report = CaseReport {
        probes: probes.len(),
        ..CaseReport::default()
    };
    for (i, &outcome) in retried.outcomes.iter().enumerate() {
        if outcome.allowed().is_some_and(|a| a != predicted[i]) {
            report
                .mismatches
                .push(describe(&probes[i], outcome, predicted[i]));
        }
    }
    for &(i, first) in &retried.first {
        if retried.outcomes[i].allowed() == Some(predicted[i]) {
            report
                .transient
                .push(describe(&probes[i], first, predicted[i]));
        }
    }
    Ok(report)
}

/// Shrinks a failing case: drops documents (policies first, then pods) one at a time while
/// the case still loads and still mismatches. Returns the smallest text found.
pub fn minimize(
    sandbox: &mut FuzzSandbox,
    text: &str,
    deny: DenyAction,
    timeout: Duration,
) -> Result<String, SandboxError> {
    let mut docs: Vec<String> = text
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(str::to_string)
        .collect();
    let join = |docs: &[String]| -> String { docs.iter().map(|d| format!("---\n{d}")).collect() };
    let mut i = docs.len();
    while i > 0 {
        i -= 1;
        if docs[i].contains("kind: Namespace") {
            continue;
        }
        let mut candidate = docs.clone();
        candidate.remove(i);
        let text = join(&candidate);
        let Ok(model) = load_case(&text) else {
            continue;
        };
        if model.pods.is_empty() {
            continue;
        }
        if !sandbox
            .run_case(&model, deny, timeout)?
            .mismatches
            .is_empty()
        {
            docs = candidate;
        }
    }
    Ok(join(&docs))
}
