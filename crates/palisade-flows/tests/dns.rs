//! DNS responses inside pcap / pcapng captures: the packet events carry the addresses each
//! response gives the names asked; responses that cannot be read in full are reported.

mod common;

use std::net::IpAddr;

use common::*;
use palisade_flows::{EventKind, FlowReader, ReadOptions, ReadReport};
use simple_dns::rdata::{A, CNAME, RData};
use simple_dns::{CLASS, Name, Packet, Question, ResourceRecord, TYPE};

const POD: &str = "10.0.1.11";
const DNS: &str = "10.96.0.10";

/// A compressed DNS response to `question` whose answers are `(owner, A address or CNAME
/// target)`.
fn dns_response(question: &str, answers: &[(&str, &str)]) -> Vec<u8> {
    let mut p = Packet::new_reply(42);
    p.questions.push(Question::new(
        Name::new_unchecked(question),
        TYPE::A.into(),
        CLASS::IN.into(),
        false,
    ));
    for (owner, data) in answers {
        let rdata = match data.parse::<std::net::Ipv4Addr>() {
            Ok(v4) => RData::A(A::from(v4)),
            Err(_) => RData::CNAME(CNAME(Name::new_unchecked(data))),
        };
        p.answers.push(ResourceRecord::new(
            Name::new_unchecked(owner),
            CLASS::IN,
            30,
            rdata,
        ));
    }
    p.build_bytes_vec_compressed().unwrap()
}

fn udp_with(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = udp(sport, dport, payload.len());
    u[8..].copy_from_slice(payload);
    u
}

fn tcp_with(sport: u16, dport: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = tcp(sport, dport, flags);
    t.extend_from_slice(payload);
    t
}

/// The DNS answers of every event, in order, and the report.
fn answers_of(file: &[u8]) -> (Vec<(usize, IpAddr, String)>, ReadReport) {
    let mut reader = FlowReader::new("capture.pcap", file, &ReadOptions::default()).unwrap();
    let mut out = Vec::new();
    let mut i = 0;
    reader
        .read_flows(|ev| {
            if let EventKind::Packet { dns, .. } = &ev.kind {
                for a in dns.iter() {
                    out.push((i, a.address, a.name.clone()));
                }
            }
            i += 1;
        })
        .unwrap();
    (out, reader.into_report())
}

fn ip4(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn a_udp_response_names_the_address_on_its_packet() {
    let answer = dns_response(
        "api.example.com",
        &[
            ("api.example.com", "api.example.com.edge.example.net"),
            ("api.example.com.edge.example.net", "203.0.113.5"),
        ],
    );
    let query = udp_with(40000, 53, &[0u8; 12]);
    for file in [
        pcap(
            1,
            false,
            &[
                (0, ethernet(&[], &ip_packet(POD, DNS, 17, &query))),
                (
                    MS,
                    ethernet(&[], &ip_packet(DNS, POD, 17, &udp_with(53, 40000, &answer))),
                ),
            ],
        ),
        pcapng(
            113,
            9,
            &[
                (0, sll(&ip_packet(POD, DNS, 17, &query))),
                (
                    MS,
                    sll(&ip_packet(DNS, POD, 17, &udp_with(53, 40000, &answer))),
                ),
            ],
        ),
    ] {
        let (answers, report) = answers_of(&file);
        assert_eq!(
            answers,
            vec![(1, ip4("203.0.113.5"), "api.example.com".to_string())]
        );
        assert_eq!(report.dns_responses, 1);
        assert!(
            report.diagnostics().is_empty(),
            "{:?}",
            report.diagnostics()
        );
    }
}

#[test]
fn a_response_over_tcp_in_one_segment_is_read_and_a_split_one_noted() {
    let answer = dns_response("api.example.com", &[("api.example.com", "203.0.113.5")]);
    let mut framed = (answer.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&answer);
    let seg = |payload: &[u8]| {
        ethernet(
            &[],
            &ip_packet(DNS, POD, 6, &tcp_with(53, 40000, ACK | PSH, payload)),
        )
    };
    let file = pcap(
        1,
        false,
        &[
            (0, seg(&framed)),
            (MS, seg(&framed[..20])),
            (
                2 * MS,
                ethernet(&[], &ip_packet(DNS, POD, 6, &tcp(53, 40000, ACK))),
            ),
        ],
    );
    let (answers, report) = answers_of(&file);
    assert_eq!(
        answers,
        vec![(0, ip4("203.0.113.5"), "api.example.com".into())]
    );
    assert_eq!(report.dns_tcp_partial, 1);
    let d = report.diagnostics();
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].message,
        "capture.pcap: 1 DNS-over-TCP response spans several segments; segments are not reassembled, so its names are not learned"
    );
}

#[test]
fn a_response_cut_by_the_snap_length_is_a_warning_with_its_offset() {
    let answer = dns_response(
        "api.example.com",
        &[
            ("api.example.com", "203.0.113.5"),
            ("api.example.com", "203.0.113.6"),
        ],
    );
    let mut frame = ethernet(&[], &ip_packet(DNS, POD, 17, &udp_with(53, 40000, &answer)));
    // What `tcpdump -s` leaves: the headers still claim the whole datagram.
    frame.truncate(frame.len() - 3);
    let file = pcap(1, false, &[(0, frame)]);
    let (answers, report) = answers_of(&file);
    assert_eq!(
        answers,
        vec![(0, ip4("203.0.113.5"), "api.example.com".into())]
    );
    assert_eq!((report.dns_unreadable, report.dns_cut_by_capture), (1, 1));
    assert_eq!(report.malformed, 0, "the packet itself is fine");
    let d = report.diagnostics();
    assert_eq!(d.len(), 1);
    let text = format!("{:?}", d[0]);
    assert!(
        d[0].message
            .starts_with("capture.pcap: 1 DNS response from port 53 could not be read in full"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "byte 24: DNS response cut short by the capture ({} of {} bytes captured): message ends inside the answer 2 of 2",
            answer.len() - 3,
            answer.len()
        )),
        "{text}"
    );
    assert!(text.contains("tcpdump -s 0"), "{text}");
}

#[test]
fn garbage_from_port_53_is_reported_not_fatal_even_when_strict() {
    // A "response" whose question name is a compression pointer to itself.
    let mut msg = vec![0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
    msg.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
    let file = pcap(
        1,
        false,
        &[(
            0,
            ethernet(&[], &ip_packet(DNS, POD, 17, &udp_with(53, 40000, &msg))),
        )],
    );
    let opts = ReadOptions {
        strict: true,
        ..ReadOptions::default()
    };
    let mut reader = FlowReader::new("capture.pcap", &file[..], &opts).unwrap();
    let mut events = 0;
    reader.read_flows(|_| events += 1).unwrap();
    let report = reader.into_report();
    assert_eq!(
        (events, report.dns_unreadable, report.dns_cut_by_capture),
        (1, 1, 0)
    );
    assert_eq!(
        report.dns_samples[0].message,
        "DNS response: bad name in the question 1: compression pointers loop"
    );
}
