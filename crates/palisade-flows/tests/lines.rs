//! Sessions from Hubble, VPC flow log, CSV and JSONL inputs, gzip, and data problems.

mod common;

use std::io::Write;

use common::*;
use palisade_flows::{Error, FlowReader, Format, ReadOptions};

/// 2026-09-20T00:00:00Z + `ms` milliseconds.
fn time(ms: i64) -> String {
    palisade_flows::format_rfc3339(T0 + ms * MS)
}

#[allow(clippy::too_many_arguments)]
fn flow(
    ms: i64,
    verdict: &str,
    src: (&str, u16),
    dst: (&str, u16),
    l4: &str,
    node: &str,
    direction: &str,
    extra: &str,
) -> String {
    format!(
        r#"{{"flow":{{"time":"{t}","verdict":"{verdict}","IP":{{"source":"{}","destination":"{}","ipVersion":"IPv4"}},"l4":{l4},"source":{{"identity":60176,"namespace":"shop","labels":["k8s:app=frontend"],"pod_name":"frontend-7d9c"}},"destination":{{"identity":10337,"namespace":"payments","labels":["k8s:app=ledger"],"pod_name":"ledger-5b8f"}},"Type":"L3_L4","node_name":"{node}","traffic_direction":"{direction}"{extra}}},"node_name":"{node}","time":"{t}"}}"#,
        src.0,
        dst.0,
        t = time(ms),
    ) + "\n"
}

fn tcp_l4(sp: u16, dp: u16, flags: &str) -> String {
    format!(r#"{{"TCP":{{"source_port":{sp},"destination_port":{dp},"flags":{{{flags}}}}}}}"#)
}

const FE: &str = "10.0.1.116";
const LEDGER: &str = "10.0.2.117";

/// The reply direction swaps the endpoints in Hubble too.
fn reply(ms: i64, flags: &str, sp: u16, node: &str) -> String {
    format!(
        r#"{{"flow":{{"time":"{}","verdict":"FORWARDED","IP":{{"source":"{LEDGER}","destination":"{FE}"}},"l4":{},"source":{{"namespace":"payments","labels":["k8s:app=ledger"],"pod_name":"ledger-5b8f"}},"destination":{{"namespace":"shop","labels":["k8s:app=frontend"],"pod_name":"frontend-7d9c"}},"node_name":"{node}","traffic_direction":"EGRESS","is_reply":true}}}}"#,
        time(ms),
        tcp_l4(8080, sp, flags)
    ) + "\n"
}

fn lines_of(input: &str, opts: &ReadOptions) -> String {
    let (sessions, report) = run(input.as_bytes(), opts);
    format!("{}{}", render_report(&report), render(&sessions))
}

#[test]
fn hubble_two_nodes_drops_and_gaps() {
    let syn = r#""SYN":true"#;
    let mut input = String::new();
    // Accepted, seen on both nodes (egress on worker-1, ingress on worker-2), then the reply.
    input += &flow(
        0,
        "FORWARDED",
        (FE, 38160),
        (LEDGER, 8080),
        &tcp_l4(38160, 8080, syn),
        "prod/worker-1",
        "EGRESS",
        r#","is_reply":false"#,
    );
    input += &flow(
        0,
        "FORWARDED",
        (FE, 38160),
        (LEDGER, 8080),
        &tcp_l4(38160, 8080, syn),
        "prod/worker-2",
        "INGRESS",
        r#","is_reply":false"#,
    );
    input += &reply(1, r#""SYN":true,"ACK":true"#, 38160, "prod/worker-2");
    // Forwarded by the source node, dropped at ingress on the destination node, retransmitted
    // once (dropped again): one timed-out session naming the policy.
    let denied = r#","drop_reason_desc":"POLICY_DENIED","drop_reason":133,"ingress_denied_by":[{"name":"default-deny","namespace":"payments","kind":"NetworkPolicy"}]"#;
    input += &flow(
        10,
        "FORWARDED",
        (FE, 38161),
        (LEDGER, 8080),
        &tcp_l4(38161, 8080, syn),
        "prod/worker-1",
        "EGRESS",
        "",
    );
    input += &flow(
        10,
        "DROPPED",
        (FE, 38161),
        (LEDGER, 8080),
        &tcp_l4(38161, 8080, syn),
        "prod/worker-2",
        "INGRESS",
        denied,
    );
    input += r#"{"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":"12","cpu":1},"node_name":"prod/worker-2","time":"2026-09-20T00:00:00.500000000Z"}"#;
    input += "\n";
    input += &flow(
        1010,
        "FORWARDED",
        (FE, 38161),
        (LEDGER, 8080),
        &tcp_l4(38161, 8080, syn),
        "prod/worker-1",
        "EGRESS",
        "",
    );
    input += &flow(
        1010,
        "DROPPED",
        (FE, 38161),
        (LEDGER, 8080),
        &tcp_l4(38161, 8080, syn),
        "prod/worker-2",
        "INGRESS",
        denied,
    );
    // Dropped at egress on the source node (a bare flow object, no envelope).
    input += &format!(
        r#"{{"time":"{}","verdict":"DROPPED","drop_reason_desc":"POLICY_DENY","IP":{{"source":"{FE}","destination":"10.0.3.3"}},"l4":{{"UDP":{{"source_port":5353,"destination_port":53}}}},"node_name":"prod/worker-1","traffic_direction":"EGRESS","egress_denied_by":[{{"name":"no-dns","namespace":"shop"}}]}}"#,
        time(20)
    );
    input += "\n";
    // Forwarded on the only node that reports it, no reply in the record: accepted by verdict.
    input += &flow(
        30,
        "FORWARDED",
        (FE, 38162),
        (LEDGER, 9090),
        &tcp_l4(38162, 9090, syn),
        "prod/worker-1",
        "EGRESS",
        "",
    );
    // Refused: RST reply.
    input += &flow(
        40,
        "FORWARDED",
        (FE, 38163),
        (LEDGER, 8080),
        &tcp_l4(38163, 8080, syn),
        "prod/worker-1",
        "EGRESS",
        "",
    );
    input += &reply(41, r#""RST":true,"ACK":true"#, 38163, "prod/worker-2");
    // Later traffic lets the windows pass.
    input += &flow(
        9000,
        "FORWARDED",
        (FE, 40000),
        (LEDGER, 8080),
        &tcp_l4(40000, 8080, syn),
        "prod/worker-1",
        "EGRESS",
        "",
    );
    insta::assert_snapshot!(lines_of(&input, &ReadOptions::default()));
}

#[test]
fn hubble_reply_before_request_is_still_one_accepted_session() {
    // Two nodes' streams merged with a little skew: the reply is recorded first.
    let syn = r#""SYN":true"#;
    let mut input = reply(0, r#""SYN":true,"ACK":true"#, 38160, "prod/worker-2");
    input += &flow(
        1,
        "FORWARDED",
        (FE, 38160),
        (LEDGER, 8080),
        &tcp_l4(38160, 8080, syn),
        "prod/worker-1",
        "EGRESS",
        "",
    );
    input += &flow(
        0,
        "FORWARDED",
        (FE, 38160),
        (LEDGER, 8080),
        &tcp_l4(38160, 8080, r#""ACK":true"#),
        "prod/worker-1",
        "EGRESS",
        "",
    );
    insta::assert_snapshot!(lines_of(&input, &ReadOptions::default()));
}

#[test]
fn malformed_lines_are_counted_and_strict_mode_stops() {
    let syn = r#""SYN":true"#;
    let good = flow(
        0,
        "FORWARDED",
        (FE, 38160),
        (LEDGER, 8080),
        &tcp_l4(38160, 8080, syn),
        "prod/worker-1",
        "EGRESS",
        "",
    );
    let input = format!(
        "{good}{{\"flow\": {{\"time\": \"yesterday\"}}}}\n\nnot json at all\n{{\"flow\":{{\"IP\":{{\"source\":\"10.0.0.300\"}}}}}}\n{good}{{\"flow\":{{\"time\":\"2026-09-20T00:00:00Z\",\"l4\":{{\"TCP\":{{\"source_port\":70000}}}}}}}}\n{{\"node_status\":{{}}}}\n"
    );
    insta::assert_snapshot!(lines_of(&input, &ReadOptions::default()));
    let strict = ReadOptions {
        strict: true,
        ..ReadOptions::default()
    };
    let mut reader = FlowReader::new("flows.json", input.as_bytes(), &strict).unwrap();
    let err = reader.read_flows(|_| {}).unwrap_err();
    assert!(matches!(err, Error::Malformed { line: 2, .. }), "{err}");
    assert_eq!(err.to_string(), "flows.json:2: invalid time");
}

#[test]
fn vpc_flow_logs_with_nodata() {
    let input = "\
version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
2 123456789010 eni-1235b8ca123456789 10.0.1.5 10.0.2.9 49761 443 6 20 4249 1789862400 1789862460 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 10.0.2.9 10.0.1.5 443 49761 6 18 9000 1789862400 1789862460 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 10.0.1.5 10.0.2.9 49762 5432 6 3 180 1789862400 1789862460 REJECT OK
2 123456789010 eni-1235b8ca123456789 10.0.1.5 10.0.2.10 49763 53 17 1 60 1789862401 1789862460 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 - - - - - - - 1789862460 1789862520 - NODATA
2 123456789010 eni-1235b8ca123456789 - - - - - - - 1789862520 1789862580 - SKIPDATA
2 123456789010 eni-1235b8ca123456789 10.0.1.5 10.0.2.9 49761 443 6 20 4249 1789862400 ACCEPT OK
";
    insta::assert_snapshot!(lines_of(input, &ReadOptions::default()));
}

#[test]
fn csv_and_jsonl_connection_lists() {
    let csv = "\
time,src,dst,src_port,dst_port,protocol,outcome
2026-09-20T00:00:00Z,10.0.1.5,10.0.2.9,40000,80,TCP,accepted
2026-09-20T00:00:01.5Z,10.0.1.5,10.0.2.9,40001,53,udp,refused
1789862402,10.0.1.5,fd00::9,40002,8080,TCP,timed-out
2026-09-20T00:00:03Z,10.0.1.5,10.0.2.9,40003,80,SCTP,
2026-09-20T00:00:04Z,10.0.1.5,10.0.2.9,40004,80,TCP,maybe
";
    let jsonl = r#"{"time":"2026-09-20T00:00:00Z","src":"10.0.1.5","dst":"10.0.2.9","src_port":40000,"dst_port":80,"protocol":"TCP","outcome":"accepted","src_namespace":"shop","src_pod":"web-1"}
{"time":1789862401,"src":"10.0.1.5","dst":"10.0.2.9","src_port":"40001","dst_port":53,"protocol":17}
{"time":"2026-09-20T00:00:02Z","src":"10.0.1.5","dst":"10.0.2.9","dst_port":80,"protocol":"TCP","outcome":"TIMEOUT"}
{"time":"2026-09-20T00:00:02Z","src":"10.0.1.5"}
"#;
    let out = format!(
        "== csv\n{}== jsonl\n{}",
        lines_of(csv, &ReadOptions::default()),
        lines_of(jsonl, &ReadOptions::default())
    );
    insta::assert_snapshot!(out);
}

#[test]
fn gzip_is_read_transparently() {
    let syn = r#""SYN":true"#;
    let text = flow(
        0,
        "FORWARDED",
        (FE, 38160),
        (LEDGER, 8080),
        &tcp_l4(38160, 8080, syn),
        "prod/worker-1",
        "EGRESS",
        "",
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let bytes = gz.finish().unwrap();
    let (sessions, report) = run(&bytes, &ReadOptions::default());
    assert_eq!(report.format, Some(Format::Hubble));
    assert_eq!(sessions.len(), 1);
    // And pcap inside gzip.
    let file = pcap(
        1,
        false,
        &[(
            0,
            ethernet(&[], &ip_packet("10.0.0.1", "10.0.0.2", 6, &tcp(1, 2, SYN))),
        )],
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&file).unwrap();
    let (sessions, report) = run(&gz.finish().unwrap(), &ReadOptions::default());
    assert_eq!((report.format, sessions.len()), (Some(Format::Pcap), 1));
}

#[test]
fn format_detection_and_override() {
    assert_eq!(Format::detect(b"{\"flow\":{}}\n"), Ok(Format::Hubble));
    assert_eq!(
        Format::detect(b"{\"time\":1,\"src\":\"1.2.3.4\"}\n"),
        Ok(Format::Jsonl)
    );
    assert_eq!(
        Format::detect(b"version account-id interface-id srcaddr dstaddr\n"),
        Ok(Format::VpcFlowLog)
    );
    assert_eq!(
        Format::detect(b"# comment\ntime,src,dst,dst_port\n"),
        Ok(Format::Csv)
    );
    assert!(Format::detect(b"hello world\n").is_err());
    let err = FlowReader::new("x", &b"hello\n"[..], &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, Error::UnknownFormat { .. }));
    // Forcing a format skips detection: a bare flow line read as Hubble.
    let forced = ReadOptions {
        format: Some(Format::Hubble),
        ..ReadOptions::default()
    };
    let reader = FlowReader::new("x", &b"\n"[..], &forced).unwrap();
    assert_eq!(reader.format(), Format::Hubble);
    assert_eq!(Format::parse("VPC"), Some(Format::VpcFlowLog));
}

#[test]
fn hubble_icmp_port_unreachable_refuses_the_udp_datagram_it_answers() {
    // Hubble carries no inner header in ICMP flows: the unreachable from LEDGER to FE answers
    // FE's open UDP attempt to LEDGER. Before, it was ignored and the FORWARDED datagram made
    // the session look accepted.
    let udp = r#"{"UDP":{"source_port":40001,"destination_port":53}}"#;
    let icmp = r#"{"ICMPv4":{"type":3,"code":3}}"#;
    let mut input = String::new();
    input += &flow(
        0,
        "FORWARDED",
        (FE, 40001),
        (LEDGER, 53),
        udp,
        "w1",
        "EGRESS",
        "",
    );
    input += &flow(
        2,
        "FORWARDED",
        (LEDGER, 0),
        (FE, 0),
        icmp,
        "w1",
        "INGRESS",
        "",
    );
    // Another datagram with no answer at all, to another peer: not refused by that ICMP.
    input += &flow(
        3,
        "FORWARDED",
        (FE, 40002),
        ("10.0.9.9", 53),
        udp,
        "w1",
        "EGRESS",
        "",
    );
    let out = lines_of(&input, &ReadOptions::default());
    insta::assert_snapshot!(out);
    let first = out
        .lines()
        .find(|l| l.contains(":40001"))
        .expect("the first datagram's session");
    assert!(first.contains("refused"), "{out}");
}

#[test]
fn hubble_same_node_egress_and_ingress_copies_are_one_attempt() {
    // Both pods on worker-1: it reports the SYN leaving the client (EGRESS) and reaching the
    // server (INGRESS). One attempt, not a retransmission; a real retransmission counts.
    let syn = r#""SYN":true"#;
    let mut input = String::new();
    input += &flow(
        0,
        "FORWARDED",
        (FE, 41000),
        (LEDGER, 8080),
        &tcp_l4(41000, 8080, syn),
        "w1",
        "EGRESS",
        "",
    );
    input += &flow(
        1,
        "FORWARDED",
        (FE, 41000),
        (LEDGER, 8080),
        &tcp_l4(41000, 8080, syn),
        "w1",
        "INGRESS",
        "",
    );
    input += &flow(
        1000,
        "FORWARDED",
        (FE, 41000),
        (LEDGER, 8080),
        &tcp_l4(41000, 8080, syn),
        "w1",
        "EGRESS",
        "",
    );
    input += &flow(
        1001,
        "FORWARDED",
        (FE, 41000),
        (LEDGER, 8080),
        &tcp_l4(41000, 8080, syn),
        "w1",
        "INGRESS",
        "",
    );
    input += &reply(1002, r#""SYN":true,"ACK":true"#, 41000, "w1");
    let out = lines_of(&input, &ReadOptions::default());
    assert!(out.contains("accepted [SYN-ACK seen]"), "{out}");
    assert!(out.contains("attempts=2"), "{out}");
}
