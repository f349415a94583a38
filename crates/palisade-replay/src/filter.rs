//! Session filters in the spirit of `hubble observe`'s flags.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use palisade_flows::Observed;
use palisade_model::Protocol;

use crate::{Peer, Replayed};

/// A bad filter value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError(pub String);

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FilterError {}

/// What `--from` / `--to` match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerMatch {
    /// One address.
    Ip(IpAddr),
    /// A CIDR range.
    Net(IpNet),
    /// Every endpoint of a namespace (`shop/`).
    Namespace(String),
    /// `namespace/name`: the workload of that name, or pods whose name starts with it
    /// (as `hubble observe --from-pod` matches prefixes); Hubble's names count too.
    Name(String, String),
}

impl PeerMatch {
    /// Parses `10.0.0.1`, `10.0.0.0/8`, `shop/` or `shop/frontend`.
    pub fn parse(s: &str) -> Result<PeerMatch, FilterError> {
        let s = s.trim();
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(PeerMatch::Ip(ip));
        }
        if let Ok(net) = s.parse::<IpNet>() {
            return Ok(PeerMatch::Net(net));
        }
        let ns_part = s.split_once('/').map_or(s, |(ns, _)| ns);
        if looks_like_address(ns_part) {
            let why = match (s.parse::<IpAddr>(), s.split_once('/')) {
                (Err(e), None) => e.to_string(),
                (_, Some((addr, len))) => match (addr.parse::<IpAddr>(), len.parse::<u8>()) {
                    (Err(e), _) => e.to_string(),
                    (Ok(ip), Ok(len)) => format!(
                        "the prefix length {len} is longer than {}",
                        if ip.is_ipv4() { 32 } else { 128 }
                    ),
                    (Ok(_), Err(_)) => format!("`{len}` is not a prefix length"),
                },
                (Ok(_), None) => "not a filter".to_string(),
            };
            return Err(FilterError(format!(
                "`{s}` looks like an IP address or CIDR but is not one: {why}"
            )));
        }
        if !is_dns_label(ns_part) {
            return Err(FilterError(format!(
                "`{s}` is not an IP, a CIDR, `namespace/` or `namespace/name` (`{ns_part}` is not a namespace name)"
            )));
        }
        match s.split_once('/') {
            Some((ns, "")) if !ns.is_empty() => Ok(PeerMatch::Namespace(ns.to_string())),
            Some((ns, name)) if !ns.is_empty() && !name.contains('/') => {
                Ok(PeerMatch::Name(ns.to_string(), name.to_string()))
            }
            _ => Err(FilterError(format!(
                "`{s}` is not an IP, a CIDR, `namespace/` or `namespace/name`"
            ))),
        }
    }

    /// Whether a mapped endpoint matches.
    pub fn matches(&self, peer: &Peer, ip: IpAddr) -> bool {
        match self {
            PeerMatch::Ip(a) => *a == ip,
            PeerMatch::Net(n) => n.contains(&ip),
            PeerMatch::Namespace(ns) => peer.namespace.as_deref() == Some(ns.as_str()),
            PeerMatch::Name(ns, name) => {
                let full = |s: &str| {
                    s.split_once('/')
                        .is_some_and(|(n, rest)| n == ns && rest.starts_with(name.as_str()))
                };
                peer.name.as_deref().is_some_and(|w| {
                    w.split_once('/')
                        .is_some_and(|(n, rest)| n == ns && rest == name)
                }) || peer.pod_name.as_deref().is_some_and(full)
                    || peer.named.as_deref().is_some_and(|e| {
                        e.namespace == *ns && e.pod_name.starts_with(name.as_str())
                    })
            }
        }
    }
}

/// A time bound: absolute, or relative to the input's first or last event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeBound {
    /// Nanoseconds since the epoch.
    At(i64),
    /// Nanoseconds after the input's first event (`+90s`).
    AfterStart(i64),
    /// Nanoseconds before the input's last event (`5m`, as `hubble observe --since 5m` counts
    /// back from now).
    BeforeEnd(i64),
}

impl TimeBound {
    fn resolve(self, first_ns: Option<i64>, end_ns: Option<i64>) -> i64 {
        match self {
            TimeBound::At(t) => t,
            TimeBound::AfterStart(d) => first_ns.unwrap_or(0).saturating_add(d),
            TimeBound::BeforeEnd(d) => end_ns.unwrap_or(i64::MAX).saturating_sub(d),
        }
    }

    /// Parses RFC 3339 (`2026-09-20T14:56:00Z`), a duration before the input's last event
    /// (`90s`, `5m`, `1h30m`, `250ms`), or `+DURATION` after its first event (`+90s`).
    pub fn parse(s: &str) -> Result<TimeBound, FilterError> {
        if let Some(t) = palisade_flows::parse_rfc3339(s.trim().as_bytes()) {
            return Ok(TimeBound::At(t));
        }
        let (after_start, duration) = match s.trim().strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        parse_duration_ns(duration)
            .map(if after_start {
                TimeBound::AfterStart
            } else {
                TimeBound::BeforeEnd
            })
            .ok_or_else(|| {
                FilterError(format!(
                    "`{s}` is neither an RFC 3339 time (2026-09-20T14:56:00Z), a duration before the capture's end (90s, 5m, 1h30m) nor +DURATION after its start (+90s)"
                ))
            })
    }

    /// Whether the bound counts back from the input's last event.
    pub fn needs_end(self) -> bool {
        matches!(self, TimeBound::BeforeEnd(_))
    }
}

/// Parses `250ms`, `90s`, `5m`, `1h30m`, `2d` into nanoseconds.
pub fn parse_duration_ns(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" | "" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86_400e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total = total.checked_add((value * unit) as i64)?;
    }
    Some(total)
}

/// Whether text meant as a namespace can only have been meant as an address: namespace
/// names are DNS labels, which never contain `.` or `:`, while every IPv4 address has dots
/// and every IPv6 address colons.
fn looks_like_address(s: &str) -> bool {
    s.contains(':') || (s.contains('.') && s.chars().all(|c| c.is_ascii_hexdigit() || c == '.'))
}

/// An RFC 1123 label, as namespace names are: lowercase alphanumerics and `-`, at most 63.
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Which sessions to keep; empty lists match everything.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// The source matches one of these.
    pub from: Vec<PeerMatch>,
    /// The destination matches one of these.
    pub to: Vec<PeerMatch>,
    /// Either end is in one of these namespaces.
    pub namespace: Vec<String>,
    /// The destination port is one of these.
    pub port: Vec<u16>,
    /// The protocol is one of these.
    pub protocol: Vec<Protocol>,
    /// The observed outcome is one of these.
    pub outcome: Vec<Observed>,
    /// Only sessions flagged with a mismatch.
    pub mismatch_only: bool,
    /// Sessions starting at or after this.
    pub since: Option<TimeBound>,
    /// Sessions starting before this.
    pub until: Option<TimeBound>,
    /// The input's last event time, for bounds counted back from it (set by the caller,
    /// which reads the input once to find it).
    pub end_ns: Option<i64>,
}

impl Filter {
    /// Whether nothing is filtered.
    pub fn is_empty(&self) -> bool {
        self.from.is_empty()
            && self.to.is_empty()
            && self.namespace.is_empty()
            && self.port.is_empty()
            && self.protocol.is_empty()
            && self.outcome.is_empty()
            && !self.mismatch_only
            && self.since.is_none()
            && self.until.is_none()
    }

    /// Whether a replayed session passes. `first_ns` is the input's first event time, for
    /// relative `since` / `until`.
    pub fn matches(&self, r: &Replayed, first_ns: Option<i64>) -> bool {
        let s = &r.session;
        (self.from.is_empty() || self.from.iter().any(|m| m.matches(&r.src, s.src.ip())))
            && (self.to.is_empty() || self.to.iter().any(|m| m.matches(&r.dst, s.dst.ip())))
            && (self.namespace.is_empty()
                || self.namespace.iter().any(|ns| {
                    r.src.namespace.as_deref() == Some(ns.as_str())
                        || r.dst.namespace.as_deref() == Some(ns.as_str())
                }))
            && (self.port.is_empty() || self.port.contains(&s.dst.port()))
            && (self.protocol.is_empty() || self.protocol.contains(&s.proto))
            && (self.outcome.is_empty() || self.outcome.contains(&s.observed))
            && (!self.mismatch_only || r.mismatch.is_some())
            && self
                .since
                .is_none_or(|b| s.start_ns >= b.resolve(first_ns, self.end_ns))
            && self
                .until
                .is_none_or(|b| s.start_ns < b.resolve(first_ns, self.end_ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ns("90s"), Some(90_000_000_000));
        assert_eq!(parse_duration_ns("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration_ns("250ms"), Some(250_000_000));
        assert_eq!(parse_duration_ns("5x"), None);
        assert_eq!(parse_duration_ns(""), None);
    }

    #[test]
    fn durations_count_back_from_the_end_and_plus_forward_from_the_start() {
        let minute = 60_000_000_000;
        assert_eq!(TimeBound::parse("1m"), Ok(TimeBound::BeforeEnd(minute)));
        assert_eq!(TimeBound::parse("+1m"), Ok(TimeBound::AfterStart(minute)));
        let (first, end) = (Some(1_000 * minute), Some(1_010 * minute));
        assert_eq!(
            TimeBound::BeforeEnd(minute).resolve(first, end),
            1_009 * minute
        );
        assert_eq!(
            TimeBound::AfterStart(minute).resolve(first, end),
            1_001 * minute
        );
        assert!(TimeBound::parse("+").is_err());
        assert!(TimeBound::parse("5 minutes").is_err());
    }

    #[test]
    fn peer_matches_parse() {
        assert_eq!(
            PeerMatch::parse("shop/"),
            Ok(PeerMatch::Namespace("shop".into()))
        );
        assert!(matches!(
            PeerMatch::parse("10.0.0.0/8"),
            Ok(PeerMatch::Net(_))
        ));
        assert!(PeerMatch::parse("a/b/c").is_err());
        // Looks like an address, is not one: an error, not a namespace or pod name.
        for (bad, why) in [
            ("10.0.0.0/33", "prefix length 33 is longer than 32"),
            ("10.0.0.0/8junk", "`8junk` is not a prefix length"),
            ("10.0.0.256", "invalid IP address syntax"),
            ("fd00::/129", "prefix length 129 is longer than 128"),
            ("10.0.0.1/shop", "`shop` is not a prefix length"),
        ] {
            let err = PeerMatch::parse(bad).unwrap_err().to_string();
            assert!(
                err.contains("looks like an IP address or CIDR") && err.contains(why),
                "{bad}: {err}"
            );
        }
        assert!(PeerMatch::parse("Shop/web").is_err());
        assert_eq!(
            PeerMatch::parse("10/web"),
            Ok(PeerMatch::Name("10".into(), "web".into()))
        );
    }
}

/// hubble observe's endpoint filters (`--verdict`, `--from-pod`, `--to-namespace`,
/// `--from-label`, `--to-ip`, `--port`, ...), which need the model (pod labels, named
/// ports). As in hubble, values of one flag are alternatives (OR) and different flags must
/// all hold (AND), also together with [`Filter`].
#[derive(Clone, Debug, Default)]
pub struct HubbleFilter {
    /// The observed outcome is one of these (`FORWARDED` = accepted; `DROPPED` = refused or
    /// timed out: the session did not get through).
    pub verdict: Vec<Observed>,
    /// The source is one of these pods (`ns/name` prefixes) ...
    pub from_pod: Vec<PeerMatch>,
    /// ... and the destination one of these.
    pub to_pod: Vec<PeerMatch>,
    /// The source is in one of these namespaces.
    pub from_namespace: Vec<String>,
    /// The destination is in one of these namespaces.
    pub to_namespace: Vec<String>,
    /// The source's labels (the mapped pod's, else Hubble's) match one of these.
    pub from_label: Vec<palisade_model::LabelSelector>,
    /// The destination's labels match one of these.
    pub to_label: Vec<palisade_model::LabelSelector>,
    /// The source address is one of these (addresses or CIDRs).
    pub from_ip: Vec<PeerMatch>,
    /// The destination address is one of these.
    pub to_ip: Vec<PeerMatch>,
    /// The destination port is one of these (numbers, names of the destination pod's
    /// container ports, with or without `/PROTO`).
    pub port: Vec<palisade_model::PortArg>,
    /// kubectl's `-l` (with `-n`): an end is a selected pod ([`end_selected`]).
    pub selection: Option<palisade_engine::Selection>,
}

/// Whether a session end is one a selection (`-n`, `-l`) is about: in the namespace, with
/// labels (the mapped pod's, else those Hubble recorded) matching the selector. An end
/// without labels (an external address) is never selected by `-l`.
pub fn end_selected(
    model: &palisade_model::Model,
    selection: &palisade_engine::Selection,
    peer: &Peer,
) -> bool {
    selection
        .namespace
        .as_deref()
        .is_none_or(|ns| peer.namespace.as_deref() == Some(ns))
        && selection
            .selector
            .as_ref()
            .is_none_or(|sel| peer_labels(model, peer).is_some_and(|labels| sel.matches(&labels)))
}

impl HubbleFilter {
    /// Whether nothing is filtered.
    pub fn is_empty(&self) -> bool {
        self.verdict.is_empty()
            && self.from_pod.is_empty()
            && self.to_pod.is_empty()
            && self.from_namespace.is_empty()
            && self.to_namespace.is_empty()
            && self.from_label.is_empty()
            && self.to_label.is_empty()
            && self.from_ip.is_empty()
            && self.to_ip.is_empty()
            && self.port.is_empty()
            && self.selection.is_none()
    }

    /// Whether a replayed session passes.
    pub fn matches(&self, model: &palisade_model::Model, r: &Replayed) -> bool {
        let s = &r.session;
        let any = |list: &[PeerMatch], peer: &Peer, ip: IpAddr| {
            list.is_empty() || list.iter().any(|m| m.matches(peer, ip))
        };
        let in_ns = |list: &[String], peer: &Peer| {
            list.is_empty()
                || list
                    .iter()
                    .any(|ns| peer.namespace.as_deref() == Some(ns.as_str()))
        };
        let labelled = |list: &[palisade_model::LabelSelector], peer: &Peer| {
            list.is_empty() || {
                let labels = peer_labels(model, peer);
                list.iter()
                    .any(|sel| labels.as_ref().is_some_and(|l| sel.matches(l)))
            }
        };
        let dst_ports = r
            .dst
            .pod
            .map_or(&[][..], |p| model.pods[p.index()].ports.as_slice());
        (self.verdict.is_empty() || self.verdict.contains(&s.observed))
            && any(&self.from_pod, &r.src, s.src.ip())
            && any(&self.to_pod, &r.dst, s.dst.ip())
            && any(&self.from_ip, &r.src, s.src.ip())
            && any(&self.to_ip, &r.dst, s.dst.ip())
            && in_ns(&self.from_namespace, &r.src)
            && in_ns(&self.to_namespace, &r.dst)
            && labelled(&self.from_label, &r.src)
            && labelled(&self.to_label, &r.dst)
            && self.selection.as_ref().is_none_or(|sel| {
                end_selected(model, sel, &r.src) || end_selected(model, sel, &r.dst)
            })
            && (self.port.is_empty()
                || self
                    .port
                    .iter()
                    .any(|p| p.matches(s.dst.port(), s.proto, dst_ports)))
    }
}

/// An endpoint's labels: the mapped pod's, else those Hubble recorded (`k8s:app=web` →
/// `app=web`; sources other than `k8s` are kept with their prefix, as hubble matches them).
fn peer_labels(model: &palisade_model::Model, peer: &Peer) -> Option<palisade_model::Labels> {
    if let Some(pod) = peer.pod {
        return Some(model.pods[pod.index()].labels.clone());
    }
    let named = peer.named.as_deref()?;
    Some(
        named
            .labels
            .iter()
            .map(|l| {
                let l = l.strip_prefix("k8s:").unwrap_or(l);
                let (k, v) = l.split_once('=').unwrap_or((l, ""));
                (k.to_string(), v.to_string())
            })
            .collect(),
    )
}
