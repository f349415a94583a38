//! Property tests: no input makes the readers or the session builder panic, and sessions
//! keep their invariants.

mod common;

use common::*;
use palisade_flows::{FlowReader, Format, ReadOptions, SessionConfig, sessionize};
use proptest::prelude::*;

fn check(bytes: &[u8], format: Option<Format>) {
    let opts = ReadOptions {
        format,
        ..ReadOptions::default()
    };
    let Ok(mut reader) = FlowReader::new("prop", bytes, &opts) else {
        return;
    };
    let mut n = 0u64;
    let stats = sessionize(&mut reader, SessionConfig::default(), |s| {
        assert!(s.last_seen_ns >= s.start_ns, "{s:?}");
        n += 1;
    });
    if let Ok(stats) = stats {
        assert_eq!(stats.sessions, n);
        assert_eq!(stats.open, 0);
        assert_eq!(stats.by_outcome.iter().sum::<u64>(), n);
    }
}

/// A small frame: Ethernet/IPv4 or IPv6 TCP/UDP/SCTP/ICMP with random ports and flags.
fn frame() -> impl Strategy<Value = Vec<u8>> {
    (
        0u8..4,
        0u8..6,
        0u8..3,
        any::<u8>(),
        1u16..6,
        1u16..6,
        prop::bool::ANY,
    )
        .prop_map(|(kind, hosts, vlans, flags, sp, dp, v6)| {
            let (a, b) = if v6 {
                (
                    format!("fd00::{}", hosts % 3 + 1),
                    format!("fd00::{}", hosts / 3 + 1),
                )
            } else {
                (
                    format!("10.0.0.{}", hosts % 3 + 1),
                    format!("10.0.0.{}", hosts / 3 + 1),
                )
            };
            let packet = match kind {
                0 => ip_packet(&a, &b, 6, &tcp(sp, dp, flags)),
                1 => ip_packet(&a, &b, 17, &udp(sp, dp, 4)),
                2 => ip_packet(&a, &b, 132, &sctp(sp, dp, flags % 8)),
                _ => icmp_unreachable(&a, &b, flags % 5, &ip_packet(&b, &a, 17, &udp(dp, sp, 4))),
            };
            let tags: Vec<u16> = (0..vlans).map(u16::from).collect();
            ethernet(&tags, &packet)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_in_every_format(bytes in prop::collection::vec(any::<u8>(), 0..600), which in 0usize..7) {
        let format = [None, Some(Format::Hubble), Some(Format::Pcap), Some(Format::Pcapng), Some(Format::VpcFlowLog), Some(Format::Csv), Some(Format::Jsonl)][which];
        check(&bytes, format);
    }

    #[test]
    fn random_captures_sessionize(frames in prop::collection::vec((0i64..8_000, frame()), 0..60), cut in 0usize..40) {
        let frames: Vec<(i64, Vec<u8>)> = frames.into_iter().map(|(dt, f)| (dt * MS, f)).collect();
        let mut file = pcap(1, false, &frames);
        check(&file, None);
        file.truncate(file.len().saturating_sub(cut));
        check(&file, None);
        let mut ng = pcapng(1, 9, &frames);
        check(&ng, None);
        ng.truncate(ng.len().saturating_sub(cut));
        check(&ng, None);
    }

    #[test]
    fn mutated_hubble_lines(cut in 0usize..400, flip in 0usize..400, byte in any::<u8>()) {
        let line = r#"{"flow":{"time":"2026-09-20T14:56:45.779111730Z","verdict":"DROPPED","IP":{"source":"10.0.1.116","destination":"10.0.2.117"},"l4":{"TCP":{"source_port":38160,"destination_port":8080,"flags":{"SYN":true}}},"source":{"namespace":"shop","labels":["k8s:app=frontend"],"pod_name":"f"},"traffic_direction":"EGRESS","drop_reason_desc":"POLICY_DENIED","ingress_denied_by":[{"name":"x"}],"node_name":"prod/w"}}"#;
        let mut bytes = line.as_bytes().to_vec();
        let i = flip % bytes.len();
        bytes[i] = byte;
        bytes.truncate(bytes.len().saturating_sub(cut));
        bytes.push(b'\n');
        bytes.extend_from_slice(line.as_bytes());
        check(&bytes, Some(Format::Hubble));
    }
}
