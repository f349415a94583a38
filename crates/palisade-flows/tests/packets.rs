//! Sessions from hand-made pcap and pcapng captures.

mod common;

use common::*;
use palisade_flows::{Error, FlowReader, Format, ReadOptions};

const C: &str = "10.0.1.5";
const S: &str = "10.0.2.9";

fn eth_tcp(src: &str, dst: &str, sp: u16, dp: u16, flags: u8) -> Vec<u8> {
    ethernet(&[], &ip_packet(src, dst, 6, &tcp(sp, dp, flags)))
}

fn sessions_of(file: &[u8]) -> String {
    let (sessions, report) = run(file, &ReadOptions::default());
    format!("{}{}", render_report(&report), render(&sessions))
}

#[test]
fn tcp_outcomes() {
    let frames = vec![
        // Accepted: handshake, data, FIN both ways.
        (0, eth_tcp(C, S, 40000, 80, SYN)),
        (MS, eth_tcp(S, C, 80, 40000, SYN | ACK)),
        (2 * MS, eth_tcp(C, S, 40000, 80, ACK)),
        (3 * MS, eth_tcp(C, S, 40000, 80, ACK | PSH)),
        (4 * MS, eth_tcp(C, S, 40000, 80, FIN | ACK)),
        (5 * MS, eth_tcp(S, C, 80, 40000, FIN | ACK)),
        (6 * MS, eth_tcp(C, S, 40000, 80, ACK)),
        // Refused: RST-ACK to the SYN.
        (10 * MS, eth_tcp(C, S, 40001, 81, SYN)),
        (11 * MS, eth_tcp(S, C, 81, 40001, RST | ACK)),
        // Timed out, with two retransmitted SYNs inside the 3 s window.
        (20 * MS, eth_tcp(C, S, 40002, 82, SYN)),
        (1020 * MS, eth_tcp(C, S, 40002, 82, SYN)),
        (3010 * MS, eth_tcp(C, S, 40002, 82, SYN)),
        // First seen mid-stream: data both ways, no SYN.
        (30 * MS, eth_tcp(S, C, 443, 50000, ACK | PSH)),
        (31 * MS, eth_tcp(C, S, 50000, 443, ACK)),
        // Keeps the capture going past the timeouts.
        (9000 * MS, eth_tcp(C, S, 40009, 89, SYN)),
        (9001 * MS, eth_tcp(S, C, 89, 40009, SYN | ACK)),
    ];
    insta::assert_snapshot!(sessions_of(&pcap(1, false, &frames)));
}

#[test]
fn syn_unanswered_when_the_capture_ends() {
    let frames = vec![
        (0, eth_tcp(C, S, 40000, 80, SYN)),
        (500 * MS, eth_tcp(C, S, 40000, 80, SYN)),
    ];
    insta::assert_snapshot!(sessions_of(&pcap(1, false, &frames)));
}

#[test]
fn udp_outcomes() {
    let u = |src: &str, dst: &str, sp: u16, dp: u16| ip_packet(src, dst, 17, &udp(sp, dp, 12));
    let refused_dgram = u(C, S, 40001, 54);
    let frames = vec![
        // Answered.
        (0, ethernet(&[], &u(C, S, 40000, 53))),
        (MS, ethernet(&[], &u(S, C, 53, 40000))),
        // Refused by ICMP port unreachable quoting the datagram.
        (10 * MS, ethernet(&[], &refused_dgram)),
        (
            11 * MS,
            ethernet(&[], &icmp_unreachable(S, C, 3, &refused_dgram)),
        ),
        // Nothing comes back; a datagram after the session ended starts a new one.
        (20 * MS, ethernet(&[], &u(C, S, 40002, 55))),
        (5000 * MS, ethernet(&[], &u(C, S, 40002, 55))),
        (9000 * MS, ethernet(&[], &u(C, S, 40003, 56))),
        (9001 * MS, ethernet(&[], &u(S, C, 56, 40003))),
    ];
    insta::assert_snapshot!(sessions_of(&pcap(1, false, &frames)));
}

#[test]
fn sctp_outcomes() {
    let s = |src: &str, dst: &str, sp: u16, dp: u16, chunk: u8| {
        ethernet(&[], &ip_packet(src, dst, 132, &sctp(sp, dp, chunk)))
    };
    let frames = vec![
        (0, s(C, S, 5000, 3868, 1)),
        (MS, s(S, C, 3868, 5000, 2)),
        (10 * MS, s(C, S, 5001, 3869, 1)),
        (11 * MS, s(S, C, 3869, 5001, 6)),
    ];
    insta::assert_snapshot!(sessions_of(&pcap(1, false, &frames)));
}

#[test]
fn link_types_vlans_ipv6_and_nanoseconds() {
    let v4 = ip_packet(C, S, 6, &tcp(40000, 80, SYN));
    let v4_reply = ip_packet(S, C, 6, &tcp(80, 40000, SYN | ACK));
    let v6 = ip_packet("fd00::1", "fd00::2", 6, &tcp(40000, 80, SYN));
    let v6_rst = ip_packet("fd00::2", "fd00::1", 6, &tcp(80, 40000, RST | ACK));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "vlan",
            pcap(
                1,
                false,
                &[
                    (0, ethernet(&[100], &v4)),
                    (MS, ethernet(&[100], &v4_reply)),
                ],
            ),
        ),
        (
            "qinq",
            pcap(
                1,
                false,
                &[
                    (0, ethernet(&[10, 20], &v4)),
                    (MS, ethernet(&[10, 20], &v4_reply)),
                ],
            ),
        ),
        (
            "sll",
            pcap(113, false, &[(0, sll(&v4)), (MS, sll(&v4_reply))]),
        ),
        (
            "sll2",
            pcap(276, false, &[(0, sll2(&v4)), (MS, sll2(&v4_reply))]),
        ),
        (
            "raw",
            pcap(101, false, &[(0, v4.clone()), (MS, v4_reply.clone())]),
        ),
        (
            "raw4",
            pcap(228, false, &[(0, v4.clone()), (MS, v4_reply.clone())]),
        ),
        (
            "raw6",
            pcap(229, true, &[(7, v6.clone()), (MS + 3, v6_rst.clone())]),
        ),
        (
            "ipv6-ethernet-ns",
            pcap(
                1,
                true,
                &[(7, ethernet(&[], &v6)), (MS + 3, ethernet(&[], &v6_rst))],
            ),
        ),
        (
            "pcapng-us",
            pcapng(
                1,
                6,
                &[(0, ethernet(&[], &v4)), (MS, ethernet(&[], &v4_reply))],
            ),
        ),
        (
            "pcapng-ns",
            pcapng(
                1,
                9,
                &[(7, ethernet(&[], &v6)), (MS + 3, ethernet(&[], &v6_rst))],
            ),
        ),
    ];
    let mut out = String::new();
    for (name, file) in cases {
        out.push_str(&format!("== {name}\n{}", sessions_of(&file)));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn icmpv6_unreachable_refuses_udp() {
    let dgram = ip_packet("fd00::1", "fd00::2", 17, &udp(40000, 53, 4));
    let frames = vec![
        (0, dgram.clone()),
        (MS, icmp_unreachable("fd00::2", "fd00::1", 4, &dgram)),
    ];
    insta::assert_snapshot!(sessions_of(&pcap(101, false, &frames)));
}

#[test]
fn truncated_pcap_keeps_packets_and_warns_with_offset() {
    let mut file = pcap(
        1,
        false,
        &[
            (0, eth_tcp(C, S, 40000, 80, SYN)),
            (MS, eth_tcp(S, C, 80, 40000, SYN | ACK)),
        ],
    );
    file.truncate(file.len() - 10);
    insta::assert_snapshot!(sessions_of(&file));
}

#[test]
fn truncated_pcapng_warns_with_offset() {
    let mut file = pcapng(
        1,
        6,
        &[
            (0, eth_tcp(C, S, 40000, 80, SYN)),
            (MS, eth_tcp(S, C, 80, 40000, SYN | ACK)),
        ],
    );
    file.truncate(file.len() - 3);
    insta::assert_snapshot!(sessions_of(&file));
}

#[test]
fn unknown_link_type_is_an_error() {
    let file = pcap(147, false, &[]);
    let err = FlowReader::new("x.pcap", &file[..], &ReadOptions::default())
        .and_then(|mut r| r.read_flows(|_| {}).map(drop))
        .unwrap_err();
    assert!(matches!(
        err,
        Error::UnsupportedLinkType { link_type: 147, .. }
    ));
    assert!(
        err.to_string().contains("unsupported pcap link type 147"),
        "{err}"
    );
}

#[test]
fn non_ip_frames_are_skipped() {
    let mut arp = vec![0xff; 12];
    arp.extend_from_slice(&[0x08, 0x06]);
    arp.extend_from_slice(&[0; 28]);
    let (sessions, report) = run(&pcap(1, false, &[(0, arp)]), &ReadOptions::default());
    assert!(sessions.is_empty());
    assert_eq!((report.records, report.skipped), (1, 1));
    assert_eq!(report.format, Some(Format::Pcap));
}
