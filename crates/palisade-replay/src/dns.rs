//! Names of external addresses learned from a capture's DNS answers, for ClusterNetworkPolicy
//! `domainNames` peers: Hubble DNS flows (`l7.dns.query` with `l7.dns.ips`), Hubble's
//! `destination_names`, and DNS responses in pcap / pcapng captures (the reader parses
//! UDP and TCP packets from port 53: each address at the end of a question's CNAME chain is
//! known by the name asked). Without a name for an address, a verdict a `domainNames` rule could
//! change is reported as depending on DNS, never as allowed or denied.

use palisade_flows::{EventKind, FlowEvent};
use rustc_hash::FxHashMap;
use std::net::IpAddr;

/// Addresses remembered at most (then new ones are not learned: memory stays bounded, and a
/// session to an address not learned is reported as depending on DNS, never decided).
pub const DNS_ADDRESS_LIMIT: usize = 65_536;
/// Names remembered per address.
const NAMES_PER_ADDRESS: usize = 16;

/// The names each address was seen answering for.
#[derive(Clone, Debug, Default)]
pub struct DnsNames {
    by_ip: FxHashMap<IpAddr, Vec<String>>,
}

impl DnsNames {
    /// Records that `name` resolved to `ip` (lowercase, without trailing dot).
    pub fn insert(&mut self, ip: IpAddr, name: &str) {
        let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
        if name.is_empty() {
            return;
        }
        if !self.by_ip.contains_key(&ip) && self.by_ip.len() >= DNS_ADDRESS_LIMIT {
            return;
        }
        let names = self.by_ip.entry(ip).or_default();
        if !names.contains(&name) && names.len() < NAMES_PER_ADDRESS {
            names.push(name);
        }
    }

    /// Learns what one event says about names: a Hubble DNS answer (every address of
    /// `l7.dns.ips` is `l7.dns.query`), a flow's `destination_names` (its destination), or
    /// a captured DNS response (each answered address is the name the client asked).
    pub fn learn(&mut self, event: &FlowEvent<'_>) {
        for (ip, name) in Self::said(event) {
            self.insert(ip, &name);
        }
    }

    /// What [`DnsNames::learn`] would learn from one event, in order: `(address, name)`
    /// pairs, for a learner on another thread ([`DnsNames::insert`] them in order there).
    #[inline]
    pub fn said(event: &FlowEvent<'_>) -> Vec<(IpAddr, String)> {
        // Asked for every packet of a pcap on its reading thread: the common answer, none,
        // without a call.
        match &event.kind {
            EventKind::Packet { dns: [], .. } => Vec::new(),
            _ => Self::said_by(event),
        }
    }

    fn said_by(event: &FlowEvent<'_>) -> Vec<(IpAddr, String)> {
        let mut said = Vec::new();
        let info = match &event.kind {
            EventKind::Hubble(info) => info,
            EventKind::Packet { dns, .. } => {
                said.extend(dns.iter().map(|a| (a.address, a.name.clone())));
                return said;
            }
            _ => return said,
        };
        if let Some(query) = &info.dns_query {
            for ip in info.dns_ips.iter() {
                if let Ok(ip) = ip.parse() {
                    said.push((ip, query.to_string()));
                }
            }
        }
        for name in info.destination_names.iter() {
            said.push((event.dst, name.to_string()));
        }
        said
    }

    /// The names `ip` is known by, if any.
    pub fn names(&self, ip: IpAddr) -> Option<&[String]> {
        self.by_ip.get(&ip).map(Vec::as_slice)
    }

    /// How many addresses have names.
    pub fn len(&self) -> usize {
        self.by_ip.len()
    }

    /// Whether no name was learned.
    pub fn is_empty(&self) -> bool {
        self.by_ip.is_empty()
    }
}

/// How a session's verdict relates to `domainNames` rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsDependence {
    /// A `domainNames` rule could accept the destination, and the capture has no DNS answer
    /// naming it: the verdict shown (denied) may be wrong.
    Unresolved,
    /// Decided with the names the capture's DNS answers give the destination.
    Resolved(Vec<String>),
}
