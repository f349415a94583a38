//! Streaming readers for recorded traffic and the session builder that turns packets and flow
//! records into connection attempts with an **observed** outcome.
//!
//! * [`FlowReader`] reads Hubble flow JSON, pcap / pcapng, AWS VPC flow logs, and plain CSV /
//!   JSONL connection lists, from a file or stdin, gzip or not, detecting the format from the
//!   content. It hands each [`FlowEvent`] (borrowing from its buffer) to a callback, so a
//!   10 M-flow file never sits in memory. Problems in the data (malformed lines, truncation,
//!   lost events, out-of-order times) land in a [`ReadReport`]; only unusable input is an
//!   [`Error`].
//! * [`Sessionizer`] turns events into [`Session`]s: one per connection attempt, with its
//!   [`Observed`] outcome (accepted, refused, timed out, unknown) and the [`Evidence`] that
//!   decided it. Memory is bounded by the number of open connections. The rules are
//!   documented in the [`session`] module.
//!
//! ```
//! use palisade_flows::{sessionize, FlowReader, Observed, ReadOptions, SessionConfig};
//!
//! let hubble = r#"{"flow":{"time":"2026-09-20T14:56:45.779111730Z","verdict":"DROPPED","IP":{"source":"10.0.1.116","destination":"10.0.2.117"},"l4":{"TCP":{"source_port":38160,"destination_port":8080,"flags":{"SYN":true}}},"traffic_direction":"EGRESS","drop_reason_desc":"POLICY_DENIED","node_name":"prod/worker-2"}}"#;
//! let mut reader = FlowReader::new("flows.json", hubble.as_bytes(), &ReadOptions::default())?;
//! let mut sessions = Vec::new();
//! sessionize(&mut reader, SessionConfig::default(), |s| sessions.push(s))?;
//! assert_eq!(sessions.len(), 1);
//! assert_eq!(sessions[0].observed, Observed::TimedOut);
//! assert_eq!(
//!     sessions[0].evidence.to_string(),
//!     "Hubble DROPPED: Policy denied (egress on the source node prod/worker-2)"
//! );
//! # Ok::<(), palisade_flows::Error>(())
//! ```

pub mod dns;
mod error;
mod event;
mod gzip;
mod hubble;
mod json;
mod packet;
mod parallel;
mod pcap;
mod reader;
mod report;
pub mod session;
mod text;
mod time;

pub use dns::{DnsAnswer, DnsProblem};
pub use error::Error;
pub use event::{
    Action, Endpoint, EventKind, FlowEvent, HubbleInfo, Icmp, L4, Observed, PolicyList, PolicyRef,
    Quoted, SctpChunk, StrList, TcpFlags, TrafficDirection, Unreachable, Verdict,
};
pub use packet::LinkType;
pub use parallel::ParallelRead;
pub use reader::{FlowReader, Format, ReadOptions, Record};
pub use report::{DEFAULT_MAX_SAMPLES, Gap, Problem, ReadReport};
pub use session::{
    DeniedBy, DropSide, EndpointName, Evidence, ReplyNodes, Session, SessionConfig, SessionStats,
    Sessionizer, sessionize,
};
pub use time::{civil_from_ns, format_rfc3339, parse_rfc3339};

/// `ip` as its `Display` form (`10.0.3.7`), written into `buf` without the formatting
/// machinery: the one place replay's JSON lines and the columnar session rows (one address
/// per session end) format IPv4 addresses.
pub fn ipv4_text(ip: std::net::Ipv4Addr, buf: &mut [u8; 15]) -> &str {
    let mut n = 0;
    for (k, octet) in ip.octets().into_iter().enumerate() {
        if k > 0 {
            buf[n] = b'.';
            n += 1;
        }
        if octet >= 100 {
            buf[n] = b'0' + octet / 100;
            n += 1;
        }
        if octet >= 10 {
            buf[n] = b'0' + octet / 10 % 10;
            n += 1;
        }
        buf[n] = b'0' + octet % 10;
        n += 1;
    }
    std::str::from_utf8(&buf[..n]).expect("ASCII digits and dots")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ipv4_text_is_display(bits in any::<u32>()) {
            let ip = std::net::Ipv4Addr::from(bits);
            let mut buf = [0; 15];
            prop_assert_eq!(super::ipv4_text(ip, &mut buf), ip.to_string());
        }
    }

    #[test]
    fn ipv4_text_edges() {
        for ip in ["0.0.0.0", "255.255.255.255", "10.0.100.9", "1.22.103.250"] {
            let mut buf = [0; 15];
            assert_eq!(super::ipv4_text(ip.parse().unwrap(), &mut buf), ip);
        }
    }
}
