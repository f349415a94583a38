//! `FlowReader::read_parallel` against `FlowReader::read`: the same records in the same order,
//! the same report, the same sessions (in emission order), whatever the chunk size and the
//! number of threads.

use palisade_flows::{
    FlowReader, Format, ParallelRead, ReadOptions, Record, SessionConfig, Sessionizer,
};
use proptest::prelude::*;

/// 2026-09-20T00:00:00Z + `ms` milliseconds.
fn time(ms: i64) -> String {
    palisade_flows::format_rfc3339(1_789_862_400_000_000_000 + ms * 1_000_000)
}

/// A Hubble flow line. `reply` swaps the ends (the reply direction, `is_reply: true`).
#[allow(clippy::too_many_arguments)]
fn flow(
    ms: i64,
    client: u8,
    server: u8,
    port: u16,
    flags: &str,
    reply: bool,
    node: &str,
    direction: &str,
    verdict: &str,
    udp: bool,
) -> String {
    let (c, s) = (format!("10.0.1.{client}"), format!("10.0.2.{server}"));
    let (src, dst, sp, dp) = if reply {
        (s, c, 8080, port)
    } else {
        (c, s, port, 8080)
    };
    let l4 = if udp {
        format!(r#"{{"UDP":{{"source_port":{sp},"destination_port":{dp}}}}}"#)
    } else {
        format!(r#"{{"TCP":{{"source_port":{sp},"destination_port":{dp},"flags":{{{flags}}}}}}}"#)
    };
    let drop = if verdict == "DROPPED" {
        r#","drop_reason_desc":"POLICY_DENIED""#
    } else {
        ""
    };
    format!(
        r#"{{"flow":{{"time":"{t}","verdict":"{verdict}"{drop},"IP":{{"source":"{src}","destination":"{dst}"}},"l4":{l4},"source":{{"namespace":"shop","labels":["k8s:app=c{client}"],"pod_name":"c{client}"}},"destination":{{"namespace":"pay","labels":["k8s:app=s{server}"],"pod_name":"s{server}"}},"node_name":"{node}","traffic_direction":"{direction}","is_reply":{reply}}},"node_name":"{node}","time":"{t}"}}"#,
        t = time(ms),
    )
}

/// One piece of a generated capture.
#[derive(Clone, Debug)]
enum Piece {
    /// A connection: SYN (or a datagram) at `at` ms, from `client` to `server` on `port`,
    /// reported by one node or two (EGRESS on the client's, INGRESS on the server's), then
    /// maybe an answer, data and a close, each `step` ms apart (long steps outlast the
    /// timeouts; long connections span many chunks).
    Connection {
        at: i64,
        client: u8,
        server: u8,
        port: u16,
        two_nodes: bool,
        udp: bool,
        dropped: bool,
        answer: u8,
        data: u8,
        close: u8,
        step: i64,
    },
    /// `lost_events` (a gap in the record).
    Lost { at: i64, lost: u32 },
    /// Lines the reader skips or rejects.
    Noise(u8),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        8 => (
            0i64..20_000,
            (1u8..6, 1u8..4, 40_000u16..40_040),
            (any::<bool>(), prop::bool::weighted(0.2), prop::bool::weighted(0.2)),
            (0u8..4, 0u8..6, 0u8..4),
            prop_oneof![1i64..50, 500i64..5_000, 60_000i64..70_000],
        )
            .prop_map(
                |(at, (client, server, port), (two_nodes, udp, dropped), (answer, data, close), step)| {
                    Piece::Connection {
                        at,
                        client,
                        server,
                        port,
                        two_nodes,
                        udp,
                        dropped,
                        answer,
                        data,
                        close,
                        step,
                    }
                }
            ),
        1 => (0i64..20_000, 1u32..50).prop_map(|(at, lost)| Piece::Lost { at, lost }),
        1 => (0u8..8).prop_map(Piece::Noise),
    ]
}

/// Lines of the pieces, ordered by time as a capture's are (stable: noise keeps its place).
fn capture(pieces: &[Piece], crlf: bool, final_newline: bool) -> String {
    let mut timed: Vec<(i64, String)> = Vec::new();
    let mut last = 0;
    for p in pieces {
        match p {
            &Piece::Connection {
                at,
                client,
                server,
                port,
                two_nodes,
                udp,
                dropped,
                answer,
                data,
                close,
                step,
            } => {
                let (n1, n2) = ("prod/worker-1", "prod/worker-2");
                let verdict = if dropped { "DROPPED" } else { "FORWARDED" };
                let mut push = |t: i64, flags: &str, reply: bool| {
                    let direction = if reply { "INGRESS" } else { "EGRESS" };
                    timed.push((
                        t,
                        flow(t, client, server, port, flags, reply, n1, direction, verdict, udp),
                    ));
                    if two_nodes {
                        let other = if reply { "EGRESS" } else { "INGRESS" };
                        timed.push((
                            t,
                            flow(t, client, server, port, flags, reply, n2, other, verdict, udp),
                        ));
                    }
                };
                let mut t = at;
                push(t, r#""SYN":true"#, false);
                match answer {
                    1 => {
                        t += step;
                        push(t, r#""SYN":true,"ACK":true"#, true);
                    }
                    2 => {
                        t += step;
                        push(t, r#""RST":true,"ACK":true"#, true);
                    }
                    _ => {}
                }
                for i in 0..data {
                    t += step;
                    push(t, r#""ACK":true,"PSH":true"#, i % 2 == 1);
                }
                match close {
                    1 => {
                        t += step;
                        push(t, r#""FIN":true,"ACK":true"#, false);
                        t += step;
                        push(t, r#""FIN":true,"ACK":true"#, true);
                    }
                    2 => {
                        t += step;
                        push(t, r#""RST":true"#, false);
                    }
                    _ => {}
                }
                last = at;
            }
            &Piece::Lost { at, lost } => {
                timed.push((
                    at,
                    format!(
                        r#"{{"lost_events":{{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":"{lost}","cpu":1}},"node_name":"prod/worker-2","time":"{}"}}"#,
                        time(at)
                    ),
                ));
                last = at;
            }
            Piece::Noise(kind) => timed.push((
                last,
                match kind {
                    0 => String::new(),
                    1 => "   \t ".into(),
                    2 => "not json at all".into(),
                    3 => r#"{"node_status":{}}"#.into(),
                    4 => r#"{"flow":{"time":"yesterday"}}"#.into(),
                    5 => format!(
                        r#"{{"flow":{{"time":"{}","verdict":"FORWARDED","l7":{{"type":"REQUEST"}}}}}}"#,
                        time(last)
                    ),
                    6 => "# a comment".into(),
                    _ => r#"{"flow":{"IP":{"source":"10.0.0.300"}}}"#.into(),
                },
            )),
        }
    }
    timed.sort_by_key(|(t, _)| *t);
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut out: String = timed.into_iter().map(|(_, line)| line + eol).collect();
    if !final_newline && out.ends_with(eol) {
        out.truncate(out.len() - eol.len());
    }
    out
}

/// What a read delivers, in order, with the report; sessions in emission order.
fn read(input: &[u8], opts: &ReadOptions, parallel: Option<ParallelRead>) -> Vec<String> {
    let mut reader = FlowReader::new("capture", input, opts).expect("readable");
    let mut sessionizer = Sessionizer::new(SessionConfig::default());
    let mut out = Vec::new();
    let mut on_record = |record: Record<'_, '_>| {
        out.push(format!("{record:?}"));
        sessionizer.push_record(record, &mut |s| out.push(format!("{s:?}")));
    };
    let result = match parallel {
        Some(p) => reader.read_parallel(&p, &mut on_record).map(|_| ()),
        None => reader.read(&mut on_record).map(|_| ()),
    };
    if let Err(e) = result {
        out.push(format!("error: {e}"));
    }
    let stats = sessionizer.finish(&mut |s| out.push(format!("{s:?}")));
    out.push(format!("{stats:?}"));
    out.push(format!("{:?}", reader.into_report()));
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn parallel_reading_equals_serial_reading(
        pieces in prop::collection::vec(piece(), 0..40),
        crlf in prop::bool::weighted(0.2),
        final_newline in prop::bool::weighted(0.8),
        strict in prop::bool::weighted(0.1),
        threads in 2usize..5,
        chunk_bytes in prop_oneof![1usize..64, 64usize..2_000, 2_000usize..40_000],
    ) {
        let input = capture(&pieces, crlf, final_newline);
        let opts = ReadOptions { format: Some(Format::Hubble), strict, ..ReadOptions::default() };
        let serial = read(input.as_bytes(), &opts, None);
        let parallel = read(
            input.as_bytes(),
            &opts,
            Some(ParallelRead { threads, chunk_bytes }),
        );
        prop_assert_eq!(serial, parallel);
    }
}

/// JSONL connection lists split too, and gzip is undone before splitting.
#[test]
fn jsonl_and_gzip_split_like_serial() {
    let mut jsonl = String::new();
    for i in 0..3000 {
        jsonl += &format!(
            r#"{{"time":"{}","src":"10.0.0.{}","dst":"10.0.1.1","src_port":{},"dst_port":80,"protocol":"TCP","outcome":"{}"}}"#,
            time(i),
            i % 200,
            30_000 + i,
            ["accepted", "refused", "timed-out"][i as usize % 3]
        );
        jsonl.push('\n');
        if i % 500 == 7 {
            jsonl += "{broken\n";
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, jsonl.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    for input in [jsonl.as_bytes(), &gz[..], &gz[..gz.len() - 40]] {
        let serial = read(input, &ReadOptions::default(), None);
        assert!(serial.len() > 3000, "{:?}", serial.last());
        for chunk_bytes in [100, 4096, 1 << 20] {
            let parallel = read(
                input,
                &ReadOptions::default(),
                Some(ParallelRead {
                    threads: 3,
                    chunk_bytes,
                }),
            );
            assert_eq!(serial, parallel);
        }
    }
}

/// Strict mode stops at the first malformed line, on any thread, with its line number.
#[test]
fn strict_stops_at_the_same_line() {
    let mut input = String::new();
    for i in 0..2000 {
        input += &flow(
            i,
            1,
            1,
            40_000 + (i % 30) as u16,
            r#""SYN":true"#,
            false,
            "n",
            "EGRESS",
            "FORWARDED",
            false,
        );
        input.push('\n');
    }
    input += "oops\n";
    input += &input.clone();
    let opts = ReadOptions {
        strict: true,
        ..ReadOptions::default()
    };
    let serial = read(input.as_bytes(), &opts, None);
    assert!(
        serial
            .iter()
            .any(|l| l.contains("error:") && l.contains("2001")),
        "{:?}",
        &serial[serial.len() - 3..]
    );
    let parallel = read(
        input.as_bytes(),
        &opts,
        Some(ParallelRead {
            threads: 2,
            chunk_bytes: 1000,
        }),
    );
    assert_eq!(serial, parallel);
}

/// A panic in the callback reaches the caller instead of leaving the workers waiting.
#[test]
fn a_panicking_callback_panics_the_caller() {
    let mut input = String::new();
    for i in 0..500 {
        input += &flow(
            i,
            1,
            1,
            40_000,
            r#""SYN":true"#,
            false,
            "n",
            "EGRESS",
            "FORWARDED",
            false,
        );
        input.push('\n');
    }
    let caught = std::panic::catch_unwind(|| {
        let mut reader =
            FlowReader::new("capture", input.as_bytes(), &ReadOptions::default()).unwrap();
        let mut n = 0;
        let _ = reader.read_parallel(
            &ParallelRead {
                threads: 2,
                chunk_bytes: 500,
            },
            |_| {
                n += 1;
                assert!(n < 100, "callback gives up");
            },
        );
    });
    assert!(caught.is_err());
}
