//! A sandbox run: namespaces up, listeners served, probes, guaranteed teardown.
//!
//! Topology: one *node* namespace holding a bridge; every pod (and the external peers) gets
//! its own namespace with one veth into the bridge, its addresses as host routes on that
//! interface, a default route out of it, and a static neighbour entry for every other address
//! of the run (no ARP/NDP: dynamic resolution across many namespaces gives false timeouts).
//! The bridge has a static FDB entry per interface. Nothing is created in the root namespace.
//!
//! Names: namespaces are `palisade-<pid>-<seq>-{node,ext,p<i>}`, links `b<tok>` (bridge),
//! `v<tok>-<i>` (node side) and `e<tok>` (pod side), the nft table `palisade_<pid>_<seq>`,
//! where `<tok>` is `<pid hex><seq hex>`. The pid lets `sandbox down --all` tell a killed
//! run's leftovers from a live run's.

use crate::SandboxError;
use crate::compile::{CompileOptions, DenyAction, compile};
use crate::netns::{self, bridge_batch, in_netns, ip_batch, write_sysctl};
use crate::plan::AddressPlan;
use crate::probe::{self, Listeners, Outcome, Server, Target};
use palisade_model::{Model, PodId, Protocol};
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The prefix of every namespace a sandbox creates.
pub const NETNS_PREFIX: &str = "palisade-";

static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// Threads configuring endpoint namespaces at once.
const CONFIGURE_WORKERS: usize = 8;

/// Namespaces of live runs of this process, deleted by the signal handler.
static LIVE: Mutex<Vec<Vec<String>>> = Mutex::new(Vec::new());

/// A run's identity: names of everything it creates derive from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunId {
    /// Owning process.
    pub pid: u32,
    /// Sequence number within the process.
    pub seq: u32,
}

impl RunId {
    fn next() -> RunId {
        RunId {
            pid: std::process::id(),
            seq: SEQUENCE.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// `palisade-<pid>-<seq>`.
    pub fn prefix(&self) -> String {
        format!("{NETNS_PREFIX}{}-{}", self.pid, self.seq)
    }

    /// The nft table name.
    pub fn table(&self) -> String {
        format!("palisade_{}_{}", self.pid, self.seq)
    }

    fn token(&self) -> String {
        // Interface names are at most 15 bytes: keep this short.
        format!("{:x}{:x}", self.pid, self.seq % 256)
    }

    /// Parses the run of a namespace name (`palisade-<pid>-<seq>-...`).
    pub fn of_netns(name: &str) -> Option<RunId> {
        let rest = name.strip_prefix(NETNS_PREFIX)?;
        let mut parts = rest.splitn(3, '-');
        let pid = parts.next()?.parse().ok()?;
        let seq = parts.next()?.parse().ok()?;
        Some(RunId { pid, seq })
    }
}

/// How to bring a sandbox up.
#[derive(Clone, Debug)]
pub struct SandboxOptions {
    /// What denied connections look like.
    pub deny: DenyAction,
    /// Addresses for the external namespace (peers outside the cluster).
    pub external: Vec<IpAddr>,
    /// Extra `(port, protocol)` listeners on every pod besides its declared container ports.
    pub extra_ports: Vec<(u16, Protocol)>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            deny: DenyAction::Drop,
            external: Vec::new(),
            extra_ports: Vec::new(),
        }
    }
}

/// Who sends a probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// A pod.
    Pod(PodId),
    /// The external namespace, sending from this one of its addresses.
    External(IpAddr),
}

/// One probe: from a source to an address, port and protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Probe {
    /// Who connects.
    pub src: Source,
    /// Where to.
    pub dst: IpAddr,
    /// Destination port.
    pub port: u16,
    /// Protocol.
    pub protocol: Protocol,
}

/// What [`Sandbox::probe_retrying`] saw.
#[derive(Clone, Debug, Default)]
pub struct Retried {
    /// The final outcome of every probe.
    pub outcomes: Vec<Outcome>,
    /// `(probe index, first outcome)` of each probe whose first answer disagreed with the
    /// expectation and was asked again.
    pub first: Vec<(usize, Outcome)>,
}

/// Checks what a sandbox needs: Linux, root, `ip`, `bridge` and `nft` on `PATH`.
pub fn check_environment() -> Result<(), SandboxError> {
    if !cfg!(target_os = "linux") {
        return Err(SandboxError::Unavailable(
            "the sandbox needs Linux (network namespaces and nftables)".into(),
        ));
    }
    if !nix::unistd::geteuid().is_root() {
        return Err(SandboxError::Unavailable(
            "the sandbox needs root (it creates network namespaces): run it with sudo, or in a container with CAP_NET_ADMIN and CAP_SYS_ADMIN".into(),
        ));
    }
    for tool in ["ip", "bridge", "nft"] {
        let found = std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()));
        if !found {
            return Err(SandboxError::Unavailable(format!(
                "`{tool}` was not found on PATH: install iproute2 and nftables (Debian: apt-get install iproute2 nftables)"
            )));
        }
    }
    Ok(())
}

/// A running sandbox. Dropping it tears everything down.
pub struct Sandbox {
    run: RunId,
    plan: AddressPlan,
    options: SandboxOptions,
    namespaces: Vec<String>,
    /// The pod slot (index of its namespace among the pods') of each pod of the current
    /// model: the identity until [`Sandbox::reload`] brings another model's pods.
    slots: Vec<usize>,
    /// The addresses each pod slot holds (fixed when the sandbox comes up).
    slot_ips: Vec<Vec<IpAddr>>,
    server: Option<Server>,
    torn_down: bool,
}

impl Sandbox {
    /// Brings a sandbox up for the model: namespaces, links, addresses, neighbours, the
    /// compiled rulesets and the listeners. On error everything created so far is removed.
    pub fn up(model: &Model, options: SandboxOptions) -> Result<Sandbox, SandboxError> {
        check_environment()?;
        raise_fd_limit();
        let plan = AddressPlan::new(model, &options.external)?;
        let run = RunId::next();
        let prefix = run.prefix();
        let mut namespaces = vec![format!("{prefix}-node")];
        namespaces.extend((0..plan.pods.len()).map(|i| format!("{prefix}-p{i}")));
        if !plan.external.is_empty() {
            namespaces.push(format!("{prefix}-ext"));
        }
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(namespaces.clone());
        let slots = (0..plan.pods.len()).collect();
        let slot_ips = plan.pods.iter().map(|p| p.ips.clone()).collect();
        let mut sandbox = Sandbox {
            run,
            plan,
            options,
            namespaces,
            slots,
            slot_ips,
            server: None,
            torn_down: false,
        };
        sandbox.build(model)?;
        Ok(sandbox)
    }

    /// The run's identity.
    pub fn run(&self) -> &RunId {
        &self.run
    }

    /// The addresses in use.
    pub fn plan(&self) -> &AddressPlan {
        &self.plan
    }

    /// The namespaces of this run.
    pub fn namespaces(&self) -> &[String] {
        &self.namespaces
    }

    /// The namespace of a pod.
    pub fn pod_netns(&self, pod: PodId) -> &str {
        &self.namespaces[self.slots[pod.index()] + 1]
    }

    fn external_netns(&self) -> Option<&str> {
        (!self.plan.external.is_empty()).then(|| self.namespaces.last().map(String::as_str))?
    }

    /// Every endpoint namespace with its MAC and addresses: pods, then the external one.
    fn endpoints(&self) -> Vec<(String, [u8; 6], Vec<IpAddr>)> {
        let mut out: Vec<_> = self
            .plan
            .pods
            .iter()
            .enumerate()
            .map(|(i, p)| (self.namespaces[i + 1].clone(), p.mac, p.ips.clone()))
            .collect();
        if let Some(ext) = self.external_netns() {
            out.push((
                ext.to_string(),
                self.plan.external_mac,
                self.plan.external.clone(),
            ));
        }
        out
    }

    fn build(&mut self, model: &Model) -> Result<(), SandboxError> {
        let add: String = self
            .namespaces
            .iter()
            .map(|n| format!("netns add {n}\n"))
            .collect();
        ip_batch(None, &add)?;
        let token = self.run.token();
        let node = self.namespaces[0].clone();
        let bridge = format!("b{token}");
        let pod_link = format!("e{token}");
        let endpoints = self.endpoints();
        // The node: bridge, one veth per endpoint (the peer is created directly in the
        // endpoint's namespace, so no link ever exists in the root namespace).
        let mut node_lines = format!("link add {bridge} type bridge\nlink set {bridge} up\n");
        let mut fdb = String::new();
        for (i, (ns, mac, _)) in endpoints.iter().enumerate() {
            let veth = format!("v{token}-{i:x}");
            node_lines.push_str(&format!(
                "link add {veth} type veth peer name {pod_link} address {} netns {ns}\nlink set {veth} master {bridge} up\n",
                mac_text(mac)
            ));
            fdb.push_str(&format!(
                "fdb add {} dev {veth} master static\n",
                mac_text(mac)
            ));
        }
        ip_batch(Some(&node), &node_lines)?;
        bridge_batch(&node, &fdb)?;
        // Every endpoint: addresses, routes, static neighbours, sysctls, ruleset, listeners.
        let neighbours: Vec<(IpAddr, [u8; 6])> = endpoints
            .iter()
            .flat_map(|(_, mac, ips)| ips.iter().map(move |&ip| (ip, *mac)))
            .collect();
        let rulesets = compile(
            model,
            &self.plan,
            &CompileOptions {
                table: self.run.table(),
                deny: self.options.deny,
            },
        );
        // Endpoints are configured in parallel: most of the time goes to spawning `ip` and
        // `nft` and waiting for the kernel, not to this process.
        let configure = |i: usize| -> Result<Listeners, SandboxError> {
            let (ns, _, ips) = &endpoints[i];
            let mut lines = format!("link set lo up\nlink set {pod_link} up\n");
            for ip in ips {
                let (len, nodad) = if ip.is_ipv6() {
                    (128, " nodad")
                } else {
                    (32, "")
                };
                lines.push_str(&format!("addr add {ip}/{len} dev {pod_link}{nodad}\n"));
            }
            lines.push_str(&format!(
                "route add 0.0.0.0/0 dev {pod_link}\nroute add ::/0 dev {pod_link}\n"
            ));
            for (ip, mac) in &neighbours {
                if !ips.contains(ip) {
                    lines.push_str(&format!(
                        "neigh add {ip} lladdr {} dev {pod_link} nud permanent\n",
                        mac_text(mac)
                    ));
                }
            }
            ip_batch(Some(ns), &lines)?;
            let ports: Vec<(IpAddr, u16, Protocol)> = match model.pod_ids().nth(i) {
                Some(pod) => {
                    let declared: BTreeSet<(u16, Protocol)> = model.pods[pod.index()]
                        .ports
                        .iter()
                        .map(|cp| (cp.port, cp.protocol))
                        .chain(self.options.extra_ports.iter().copied())
                        .collect();
                    ips.iter()
                        .flat_map(|&ip| {
                            declared.iter().map(move |&(port, proto)| (ip, port, proto))
                        })
                        .collect()
                }
                // The external namespace listens on the extra ports (tests towards a CIDR).
                None => ips
                    .iter()
                    .flat_map(|&ip| {
                        self.options
                            .extra_ports
                            .iter()
                            .map(move |&(port, proto)| (ip, port, proto))
                    })
                    .collect(),
            };
            let ruleset = rulesets.get(i).map(|r| r.text.clone());
            in_netns(ns, move || {
                // Reject answers are ICMP errors: never rate-limit them, or busy probes would
                // read as timeouts. `*ratelimit` is the per-destination limit; the ratemask
                // also exempts every type from the namespace-wide budget
                // (`icmp_msgs_per_sec`, a burst of 50). Older kernels lack the IPv6 ratemask:
                // the budget then only costs the shape of some busy reject answers (a
                // timeout instead of a refusal), never a verdict, so it is not an error.
                write_sysctl("net/ipv4/icmp_ratelimit", "0")?;
                write_sysctl("net/ipv6/icmp/ratelimit", "0")?;
                write_sysctl("net/ipv4/icmp_ratemask", "0")?;
                let _ = write_sysctl("net/ipv6/icmp/ratemask", "\n");
                let listeners = probe::open_listeners(&ports)?;
                if let Some(ruleset) = ruleset {
                    // `nft` inherits this thread's namespace.
                    netns::run_with_input("nft", &["-f", "-"], &ruleset)?;
                }
                Ok(listeners)
            })
        };
        let results = parallel(endpoints.len(), configure);
        let mut listeners = Listeners::default();
        for result in results {
            listeners.extend(result?);
        }
        self.server = Some(Server::start(listeners));
        Ok(())
    }

    /// Swaps in another model's policies over the same pods' addresses, without touching
    /// namespaces, links or listeners: what makes a long fuzz run fast. Every pod of `model`
    /// must hold exactly the addresses of one pod slot of the running sandbox (pods may be
    /// left out: their slots run without rules); its namespace, labels and declared ports
    /// may differ. Each slot's table is replaced in one `nft -f` transaction, then its
    /// connection tracking is flushed, so nothing the previous rules let through survives.
    pub fn reload(&mut self, model: &Model, deny: DenyAction) -> Result<(), SandboxError> {
        let plan = AddressPlan::new(model, &self.plan.external)?;
        let mut slots = Vec::with_capacity(plan.pods.len());
        for pod in &plan.pods {
            let wanted: BTreeSet<IpAddr> = pod.ips.iter().copied().collect();
            let slot = self
                .slot_ips
                .iter()
                .position(|ips| ips.iter().copied().collect::<BTreeSet<_>>() == wanted)
                .ok_or_else(|| {
                    let ips: Vec<String> = pod.ips.iter().map(IpAddr::to_string).collect();
                    SandboxError::Unavailable(format!(
                        "pod {} has addresses ({}) that no pod of the running sandbox has: a reload keeps the pods' addresses",
                        model.pod_name(pod.pod),
                        ips.join(", ")
                    ))
                })?;
            slots.push(slot);
        }
        let table = self.run.table();
        let rulesets = compile(
            model,
            &plan,
            &CompileOptions {
                table: table.clone(),
                deny,
            },
        );
        // Creating the table first makes the delete valid whether or not it exists.
        let mut texts = vec![
            format!("table inet {table} {{}}\ndelete table inet {table}\n");
            self.slot_ips.len()
        ];
        for (ruleset, &slot) in rulesets.iter().zip(&slots) {
            texts[slot].push_str(&ruleset.text);
        }
        let namespaces = &self.namespaces;
        let results = parallel(texts.len(), |slot| {
            let text = texts[slot].clone();
            in_netns(&namespaces[slot + 1], move || {
                netns::run_with_input("nft", &["-f", "-"], &text)?;
                netns::flush_conntrack()
            })
        });
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        self.options.deny = deny;
        self.plan = plan;
        self.slots = slots;
        Ok(())
    }

    /// The namespace and source address a probe starts from.
    fn source_netns(&self, src: Source) -> Option<&str> {
        match src {
            Source::Pod(pod) => Some(self.pod_netns(pod)),
            Source::External(_) => self.external_netns(),
        }
    }

    /// Runs probes (all in flight at once), waiting at most `timeout` for answers.
    pub fn probe(&self, probes: &[Probe], timeout: Duration) -> Result<Vec<Outcome>, SandboxError> {
        let mut outcomes = vec![Outcome::Unsupported; probes.len()];
        // Group by source namespace: sockets are created inside it.
        let mut by_source: std::collections::BTreeMap<Source, Vec<usize>> = Default::default();
        for (i, p) in probes.iter().enumerate() {
            by_source.entry(p.src).or_default().push(i);
        }
        let mut all_prepared = Vec::new();
        let mut all_targets = Vec::new();
        let mut all_index = Vec::new();
        for (src, indexes) in by_source {
            let Some(ns) = self.source_netns(src) else {
                continue;
            };
            let targets: Vec<Target> = indexes
                .iter()
                .map(|&i| Target {
                    src: match src {
                        Source::External(ip) => Some(ip),
                        Source::Pod(_) => None,
                    },
                    dst: SocketAddr::new(probes[i].dst, probes[i].port),
                    protocol: probes[i].protocol,
                })
                .collect();
            let for_thread = targets.clone();
            let prepared = in_netns(ns, move || Ok(probe::prepare(&for_thread)))?;
            all_prepared.extend(prepared);
            all_targets.extend(targets);
            all_index.extend(indexes);
        }
        let results = probe::run(all_prepared, &all_targets, timeout);
        for (i, outcome) in all_index.into_iter().zip(results) {
            outcomes[i] = outcome;
        }
        Ok(outcomes)
    }

    /// Probes like [`Sandbox::probe`], then asks again — up to twice, waiting 3 s and then
    /// 6 s — for every probe whose verdict differs from `expected` (allowed?). On a loaded
    /// machine the kernel's receive processing can be deferred for seconds; a disagreement
    /// caused by the rules persists, one caused by the machine does not.
    pub fn probe_confirmed(
        &self,
        probes: &[Probe],
        timeout: Duration,
        expected: &[bool],
    ) -> Result<Vec<Outcome>, SandboxError> {
        Ok(self.probe_retrying(probes, timeout, expected)?.outcomes)
    }

    /// [`Sandbox::probe_confirmed`], also reporting the first outcome of every probe that
    /// was asked again (what a single short probe would have concluded).
    pub fn probe_retrying(
        &self,
        probes: &[Probe],
        timeout: Duration,
        expected: &[bool],
    ) -> Result<Retried, SandboxError> {
        let mut outcomes = self.probe(probes, timeout)?;
        let mut first = Vec::new();
        for patience in [3, 6] {
            let retry: Vec<usize> = (0..probes.len())
                .filter(|&i| outcomes[i].allowed().is_some_and(|a| a != expected[i]))
                .collect();
            if retry.is_empty() {
                break;
            }
            if first.is_empty() {
                first = retry.iter().map(|&i| (i, outcomes[i])).collect();
            }
            let again: Vec<Probe> = retry.iter().map(|&i| probes[i]).collect();
            let wait = timeout.max(Duration::from_secs(patience));
            for (i, outcome) in retry.into_iter().zip(self.probe(&again, wait)?) {
                outcomes[i] = outcome;
            }
        }
        Ok(Retried { outcomes, first })
    }

    /// Tears the sandbox down (also done on drop).
    pub fn down(mut self) -> Result<(), SandboxError> {
        self.teardown()
    }

    /// Writes the run's state (pods, namespaces, addresses) for `sandbox probe` in another
    /// process; removed on teardown.
    pub fn write_state(&self, model: &Model) -> Result<std::path::PathBuf, SandboxError> {
        let mut text = String::new();
        for plan in &self.plan.pods {
            let ips: Vec<String> = plan.ips.iter().map(IpAddr::to_string).collect();
            text.push_str(&format!(
                "{}\t{}\t{}\n",
                model.pod_name(plan.pod),
                self.pod_netns(plan.pod),
                ips.join(",")
            ));
        }
        let path = state_path(&self.run.prefix());
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(STATE_DIR)?;
            std::fs::write(&path, text)
        };
        write().map_err(|e| SandboxError::Tool {
            tool: format!("write {}", path.display()),
            message: e.to_string(),
        })?;
        Ok(path)
    }

    fn teardown(&mut self) -> Result<(), SandboxError> {
        if self.torn_down {
            return Ok(());
        }
        self.torn_down = true;
        let _ = std::fs::remove_file(state_path(&self.run.prefix()));
        // Close the listeners first: open sockets keep a namespace alive.
        self.server = None;
        let result = netns::delete(&self.namespaces);
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|n| n != &self.namespaces);
        result
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}

/// Runs `f(0..n)` on [`CONFIGURE_WORKERS`] threads; results in index order. Most of the
/// time of configuring a namespace goes to spawning `ip` and `nft` and waiting for the
/// kernel, not to this process.
fn parallel<R: Send>(n: usize, f: impl Fn(usize) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CONFIGURE_WORKERS.min(n))
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return out;
                        }
                        out.push((i, f(i)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Raises the open-file limit to its hard maximum: every probe in flight is a socket.
fn raise_fd_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

/// Deletes the namespaces of every live run of this process; for signal handlers.
pub fn cleanup_live_runs() {
    let live: Vec<String> = LIVE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain(..)
        .flatten()
        .collect();
    for name in &live {
        if let Some(run) = RunId::of_netns(name) {
            let _ = std::fs::remove_file(state_path(&run.prefix()));
        }
    }
    let _ = netns::delete(&live);
}

/// Where `sandbox up` records its runs for `sandbox probe`.
pub const STATE_DIR: &str = "/run/palisade-sandbox";

fn state_path(prefix: &str) -> std::path::PathBuf {
    std::path::Path::new(STATE_DIR).join(prefix)
}

/// One pod of a recorded run: `ns/name`, its namespace, its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatePod {
    /// `ns/name`.
    pub name: String,
    /// The network namespace.
    pub netns: String,
    /// Addresses.
    pub ips: Vec<IpAddr>,
}

/// Runs recorded by `sandbox up` whose namespaces still exist (prefixes).
pub fn recorded_runs() -> Vec<String> {
    let existing = netns::list();
    let Ok(dir) = std::fs::read_dir(STATE_DIR) else {
        return Vec::new();
    };
    let mut runs: Vec<String> = dir
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|p| existing.iter().any(|n| n.starts_with(&format!("{p}-"))))
        .collect();
    runs.sort();
    runs
}

/// The pods of a recorded run.
pub fn read_state(prefix: &str) -> Result<Vec<StatePod>, SandboxError> {
    let text = std::fs::read_to_string(state_path(prefix)).map_err(|e| {
        SandboxError::Unavailable(format!(
            "no running sandbox {prefix} ({e}): start one with `palisade sandbox up`"
        ))
    })?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut parts = l.split('\t');
            Some(StatePod {
                name: parts.next()?.to_string(),
                netns: parts.next()?.to_string(),
                ips: parts
                    .next()?
                    .split(',')
                    .filter_map(|ip| ip.parse().ok())
                    .collect(),
            })
        })
        .collect())
}

/// One probe from a namespace of any run (for `sandbox probe` against a run served by
/// another process).
pub fn probe_from(
    netns: &str,
    dst: SocketAddr,
    protocol: Protocol,
    timeout: Duration,
) -> Result<Outcome, SandboxError> {
    let targets = vec![Target {
        src: None,
        dst,
        protocol,
    }];
    let for_thread = targets.clone();
    let prepared = in_netns(netns, move || Ok(probe::prepare(&for_thread)))?;
    Ok(probe::run(prepared, &targets, timeout)[0])
}

/// Installs a Ctrl-C / SIGTERM handler that removes this process's sandboxes, then exits
/// with 130. Call once, before bringing a sandbox up.
pub fn install_signal_cleanup() -> Result<(), SandboxError> {
    ctrlc::set_handler(|| {
        cleanup_live_runs();
        std::process::exit(130);
    })
    .map_err(|e| SandboxError::Unavailable(format!("cannot install the signal handler: {e}")))
}

/// What a sweep found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Namespaces deleted (their owning process is gone, or `force`).
    pub deleted: Vec<String>,
    /// Namespaces kept because their owning process is still running.
    pub live: Vec<String>,
}

/// Removes sandbox namespaces left by runs whose process is gone (`palisade sandbox down
/// --all`); with `only`, just that run's (`palisade-<pid>-<seq>`), whether live or not.
pub fn sweep(only: Option<&str>) -> Result<Sweep, SandboxError> {
    let mut result = Sweep::default();
    for name in netns::list() {
        let Some(run) = RunId::of_netns(&name) else {
            continue;
        };
        let selected = match only {
            Some(prefix) => name.starts_with(&format!("{prefix}-")),
            None => !process_alive(run.pid),
        };
        if selected {
            let _ = std::fs::remove_file(state_path(&run.prefix()));
            result.deleted.push(name);
        } else if only.is_none() {
            result.live.push(name);
        }
    }
    netns::delete(&result.deleted)?;
    Ok(result)
}

fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
