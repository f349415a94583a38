//! Captures and settings chosen to break arithmetic: nothing wraps, nothing panics (these
//! run in debug builds, where an overflow panics).

mod common;

use common::{ip_packet, pcap, tcp};
use palisade_flows::{FlowReader, Observed, ReadOptions, SessionConfig, sessionize};
use std::time::Duration;

const SYN: u8 = 0x02;
const SYN_ACK: u8 = 0x12;

#[test]
fn huge_timeouts_saturate_instead_of_wrapping() {
    // A refused-looking SYN with no answer, an answered one, and a retry: with a 2 500 000 h
    // (~285 years) timeout, `start + timeout` is past the end of an i64 of nanoseconds.
    let frames = vec![
        (
            0,
            ip_packet("10.0.1.5", "10.0.2.9", 6, &tcp(40000, 80, SYN)),
        ),
        (
            1_000,
            ip_packet("10.0.2.9", "10.0.1.5", 6, &tcp(80, 40000, SYN_ACK)),
        ),
        (
            2_000,
            ip_packet("10.0.1.5", "10.0.2.9", 6, &tcp(40001, 81, SYN)),
        ),
        (
            3_000_000_000,
            ip_packet("10.0.1.5", "10.0.2.9", 6, &tcp(40001, 81, SYN)),
        ),
    ];
    let bytes = pcap(101, true, &frames);
    for timeout in [Duration::from_secs(2_500_000 * 3600), Duration::MAX] {
        let mut reader = FlowReader::new("input", &bytes[..], &ReadOptions::default()).unwrap();
        let mut got = Vec::new();
        sessionize(
            &mut reader,
            SessionConfig {
                timeout,
                idle_timeout: timeout,
                ..SessionConfig::default()
            },
            |s| got.push(s),
        )
        .unwrap();
        // Exactly the two attempts (the retry joins the second), with their outcomes: not
        // 23 becoming 53 as when the deadline wrapped into the past.
        assert_eq!(got.len(), 2, "{timeout:?}: {got:#?}");
        got.sort_by_key(|s| s.start_ns);
        assert_eq!(got[0].observed, Observed::Accepted);
        assert_eq!(got[1].observed, Observed::TimedOut);
    }
}

#[test]
fn ip_packets_whose_headers_do_not_parse_are_counted() {
    let good = ip_packet("10.0.1.5", "10.0.2.9", 6, &tcp(40000, 80, SYN));
    // The same packet cut inside its TCP header, and an IPv4 header cut short.
    let cut_tcp = good[..good.len() - 10].to_vec();
    let cut_ip = good[..12].to_vec();
    let bytes = pcap(101, true, &[(0, good), (1, cut_tcp), (2, cut_ip)]);
    let mut reader = FlowReader::new("input", &bytes[..], &ReadOptions::default()).unwrap();
    reader.read_flows(|_| {}).unwrap();
    let report = reader.into_report();
    assert_eq!(
        (report.events, report.skipped, report.undecodable_ip),
        (1, 2, 2)
    );
    let warning = report
        .diagnostics()
        .into_iter()
        .find(|d| d.message.contains("whose headers did not parse"))
        .expect("a warning");
    assert!(
        warning.message.contains("2 IP packets"),
        "{}",
        warning.message
    );
}
