//! Flows survive the trip to Arrow / Parquet and back exactly, and replay on Parquet equals
//! replay on the source capture; partitioned sessionization equals the whole capture's.

use std::collections::BTreeMap;
use std::net::IpAddr;

use arrow_array::{Array, RecordBatch};
use palisade_columnar::{
    FlowBatchBuilder, FlowColumns, FlowParquetWriter, Layout, ParquetFlowReader,
    PartitionSessionizer, Row, Scratch, SessionBatchBuilder, VerdictFunction,
};
use palisade_flows::{FlowReader, ReadOptions, Record, SessionConfig, Sessionizer};
use palisade_model::Model;
use palisade_replay::{DenyAction, Replayer};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");

const VPC: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n\
2 123456789010 eni-1 10.0.1.5 10.0.2.9 49152 5432 6 10 840 1700000000 1700000060 ACCEPT OK\n\
2 123456789010 eni-1 10.0.2.9 10.0.1.5 5432 49152 6 8 620 1700000000 1700000060 ACCEPT OK\n\
2 123456789010 eni-2 10.0.1.5 10.0.3.3 49153 22 6 3 180 1700000010 1700000070 REJECT OK\n\
2 123456789010 eni-3 - - - - - - - 1700000000 1700000060 - NODATA\n";

const CSV: &str = "time,src,dst,src_port,dst_port,protocol,outcome\n\
2026-01-01T00:00:00Z,10.0.0.1,10.0.0.2,40000,80,TCP,timed-out\n\
2026-01-01T00:00:01Z,10.0.0.1,10.0.0.3,40001,53,UDP,\n\
2026-01-01T00:00:02Z,10.0.0.1,10.0.0.3,40002,5432,SCTP,unknown\n";

fn synthetic_hubble(flows: u64) -> Vec<u8> {
    let mut v = Vec::new();
    palisade_synth::traffic::write_hubble(&mut v, flows, 7).unwrap();
    v
}

fn synthetic_pcap(packets: u64) -> Vec<u8> {
    let mut v = Vec::new();
    palisade_synth::traffic::write_pcap(&mut v, packets, 7).unwrap();
    v
}

fn sources() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "capture.pcap",
            std::fs::read(format!("{EXAMPLES}/webshop-traffic/capture.pcap")).unwrap(),
        ),
        (
            "capture.jsonl",
            std::fs::read(format!("{EXAMPLES}/webshop-traffic/capture.jsonl")).unwrap(),
        ),
        ("synth.json", synthetic_hubble(20_000)),
        ("synth.pcap", synthetic_pcap(20_000)),
        ("flows.vpc", VPC.as_bytes().to_vec()),
        ("conns.csv", CSV.as_bytes().to_vec()),
    ]
}

/// Every record of a capture as text (flows by their Debug form, gaps by time and source).
fn records(name: &str, data: &[u8]) -> Vec<String> {
    let mut reader = FlowReader::new(name, data, &ReadOptions::default()).unwrap();
    let mut out = Vec::new();
    reader
        .read(|r| match r {
            Record::Flow(ev) => out.push(format!("{ev:?}")),
            Record::Gap(g) => out.push(format!("gap {:?} {}", g.time_ns, g.source)),
        })
        .unwrap();
    out
}

fn to_batch(name: &str, data: &[u8]) -> RecordBatch {
    let mut reader = FlowReader::new(name, data, &ReadOptions::default()).unwrap();
    let mut b = FlowBatchBuilder::new();
    reader.read_flows(|ev| b.push(ev)).unwrap();
    b.finish()
}

#[test]
fn every_capture_format_survives_arrow_exactly() {
    for (name, data) in sources() {
        let want: Vec<String> = records(name, &data)
            .into_iter()
            .filter(|r| !r.starts_with("gap "))
            .collect();
        assert!(!want.is_empty(), "{name}");
        let batch = to_batch(name, &data);
        let cols = FlowColumns::new(&batch, None).unwrap();
        assert_eq!(cols.layout(), Layout::Palisade);
        let mut scratch = Scratch::default();
        let got: Vec<String> = (0..cols.len())
            .map(|i| match cols.row(i, &mut scratch) {
                Ok(Row::Flow(ev)) => format!("{ev:?}"),
                _ => panic!("{name}: row {i} did not decode"),
            })
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

fn parquet_file(name: &str, data: &[u8]) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut w = FlowParquetWriter::new(file.reopen().unwrap()).unwrap();
    let mut reader = FlowReader::new(name, data, &ReadOptions::default()).unwrap();
    reader.read_flows(|ev| w.push(ev).unwrap()).unwrap();
    w.finish().unwrap();
    file
}

/// Sessions as text, in emission order.
fn sessions_of(
    mut feed: impl FnMut(&mut dyn FnMut(&palisade_flows::FlowEvent<'_>)),
) -> Vec<String> {
    let mut sz = Sessionizer::new(SessionConfig::default());
    let mut out = Vec::new();
    feed(&mut |ev| sz.push(ev, &mut |s| out.push(format!("{s:?}"))));
    sz.finish(&mut |s| out.push(format!("{s:?}")));
    out
}

#[test]
fn sessions_from_parquet_equal_sessions_from_the_source() {
    for (name, data) in sources() {
        let file = parquet_file(name, &data);
        let mut from_parquet = ParquetFlowReader::open(file.path(), None).unwrap();
        let want = sessions_of(|f| {
            FlowReader::new(name, &data[..], &ReadOptions::default())
                .unwrap()
                .read_flows(|ev| f(ev))
                .map(|_| ())
                .unwrap()
        });
        let got = sessions_of(|f| from_parquet.read_flows(|ev| f(ev)).map(|_| ()).unwrap());
        assert!(!want.is_empty(), "{name}");
        assert_eq!(got, want, "{name}");
        let report = from_parquet.report();
        assert_eq!((report.malformed, report.skipped), (0, 0), "{name}");
    }
}

fn model(text: String) -> Model {
    let loaded = palisade_load::load(
        &[palisade_load::Input::Text {
            name: "cluster.yaml".into(),
            text,
        }],
        &palisade_load::LoadOptions::default(),
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.model
}

fn webshop() -> Model {
    let mut text = String::new();
    for dir in ["webshop", "webshop-traffic/cluster"] {
        for entry in walk(&format!("{EXAMPLES}/{dir}")) {
            text.push_str("\n---\n");
            text.push_str(&std::fs::read_to_string(entry).unwrap());
        }
    }
    model(text)
}

fn walk(dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(p.to_str().unwrap()));
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p.to_str().unwrap().to_string());
        }
    }
    out
}

fn string_at(b: &RecordBatch, column: &str, i: usize) -> String {
    b.column_by_name(column)
        .unwrap()
        .as_any()
        .downcast_ref::<arrow_array::StringArray>()
        .unwrap()
        .value(i)
        .to_string()
}

fn last_time(b: &RecordBatch) -> i64 {
    let t = b
        .column_by_name("time_ns")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow_array::Int64Array>()
        .unwrap();
    t.values().iter().copied().max().unwrap()
}

/// One cell as text.
fn cell(c: &dyn Array, i: usize) -> String {
    use arrow_array::{BooleanArray, Int32Array, Int64Array, StringArray};
    if c.is_null(i) {
        return "-".into();
    }
    let any = c.as_any();
    if let Some(a) = any.downcast_ref::<StringArray>() {
        a.value(i).to_string()
    } else if let Some(a) = any.downcast_ref::<Int64Array>() {
        a.value(i).to_string()
    } else if let Some(a) = any.downcast_ref::<Int32Array>() {
        a.value(i).to_string()
    } else if let Some(a) = any.downcast_ref::<BooleanArray>() {
        a.value(i).to_string()
    } else {
        panic!("unexpected column type {}", c.data_type())
    }
}

/// Session rows as sorted text lines.
fn rows(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        for i in 0..b.num_rows() {
            let cells: Vec<String> = b.columns().iter().map(|c| cell(c, i)).collect();
            out.push(cells.join("|"));
        }
    }
    out.sort();
    out
}

/// The lines of `a` not in `b` and of `b` not in `a`, for a readable failure.
fn difference(a: &[String], b: &[String]) -> String {
    let only_a: Vec<&String> = a.iter().filter(|x| !b.contains(x)).take(5).collect();
    let only_b: Vec<&String> = b.iter().filter(|x| !a.contains(x)).take(5).collect();
    format!(
        "{} vs {} rows\nonly in partitions: {only_a:#?}\nonly in the whole: {only_b:#?}",
        a.len(),
        b.len()
    )
}

/// The flows of a capture split like the Spark job splits them: by the unordered address
/// pair (the quoted datagram's for ICMP errors), each partition in time order, cut into
/// small batches.
fn partitions(batch: &RecordBatch, parts: usize) -> Vec<Vec<RecordBatch>> {
    let cols = FlowColumns::new(batch, None).unwrap();
    let mut scratch = Scratch::default();
    let mut keyed: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    for i in 0..cols.len() {
        let Ok(Row::Flow(ev)) = cols.row(i, &mut scratch) else {
            panic!("row {i}")
        };
        let (a, b) = palisade_columnar::partition_pair(&ev);
        let h = fxhash(a) ^ fxhash(b).rotate_left(1);
        keyed
            .entry((h % parts as u64) as usize)
            .or_default()
            .push(i as u32);
    }
    keyed
        .into_values()
        .map(|idx| {
            let idx = arrow_array::UInt32Array::from(idx);
            let part = arrow_select_take(batch, &idx);
            (0..part.num_rows())
                .step_by(7)
                .map(|s| part.slice(s, 7.min(part.num_rows() - s)))
                .collect()
        })
        .collect()
}

fn fxhash(ip: IpAddr) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    ip.hash(&mut h);
    h.finish()
}

/// Rows `idx` of `batch` (in order), column by column.
fn arrow_select_take(batch: &RecordBatch, idx: &arrow_array::UInt32Array) -> RecordBatch {
    let mut b = FlowBatchBuilder::new();
    let cols = FlowColumns::new(batch, None).unwrap();
    let mut scratch = Scratch::default();
    for i in idx.values() {
        let Ok(Row::Flow(ev)) = cols.row(*i as usize, &mut scratch) else {
            unreachable!()
        };
        b.push(&ev);
    }
    b.finish()
}

#[test]
fn partitioned_sessionization_equals_the_whole_capture() {
    let m = webshop();
    for (name, data) in sources() {
        let batch = to_batch(name, &data);
        // The whole capture, one partition.
        let mut whole = PartitionSessionizer::new(
            Replayer::new(&m, DenyAction::Drop).with_proposed(&m),
            SessionConfig::default(),
            None,
        );
        let mut want = vec![whole.push(&batch).unwrap()];
        want.push(whole.finish());
        // Where the whole capture shows reply flows.
        let mut sz = Sessionizer::new(SessionConfig::default());
        FlowReader::new(name, &data[..], &ReadOptions::default())
            .unwrap()
            .read_flows(|ev| sz.push(ev, &mut |_| {}))
            .unwrap();
        let capture = palisade_columnar::CaptureContext {
            reply_nodes: sz.reply_nodes().clone(),
            end_ns: last_time(&batch),
        };
        for parts in [3, 16] {
            let mut got = Vec::new();
            for part in partitions(&batch, parts) {
                let mut p = PartitionSessionizer::new(
                    Replayer::new(&m, DenyAction::Drop).with_proposed(&m),
                    SessionConfig::default(),
                    Some(capture.clone()),
                );
                for b in &part {
                    got.push(p.push(b).unwrap());
                }
                got.push(p.finish());
            }
            let (got, want) = (rows(&got), rows(&want));
            assert!(
                got == want,
                "{name} in {parts} partitions: {}",
                difference(&got, &want)
            );
        }
    }
}

#[test]
fn partitions_without_the_capture_wide_reply_nodes_can_differ() {
    // Why the job broadcasts them: a forwarded SYN without answer is a timeout only where
    // replies are captured; its partition alone may hold no reply flow of its node.
    let lines = [
        r#"{"flow":{"time":"2026-01-01T00:00:00Z","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"source_port":40000,"destination_port":80,"flags":{"SYN":true}}},"node_name":"n1","is_reply":false}}"#,
        r#"{"flow":{"time":"2026-01-01T00:00:00.5Z","verdict":"FORWARDED","IP":{"source":"10.0.0.4","destination":"10.0.0.3"},"l4":{"TCP":{"source_port":80,"destination_port":40001,"flags":{"SYN":true,"ACK":true}}},"node_name":"n1","is_reply":true}}"#,
        r#"{"flow":{"time":"2026-01-01T00:00:10Z","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"source_port":40002,"destination_port":81,"flags":{"SYN":true}}},"node_name":"n1","is_reply":false}}"#,
    ]
    .join("\n");
    let m = Model::default();
    let batch = to_batch("flows.json", lines.as_bytes());
    let first_only = batch.slice(0, 1);
    let run = |replies| {
        let mut p = PartitionSessionizer::new(
            Replayer::new(&m, DenyAction::Drop),
            SessionConfig::default(),
            replies,
        );
        p.push(&first_only).unwrap();
        let b = p.finish();
        string_at(&b, "observed", 0)
    };
    let mut whole = Sessionizer::new(SessionConfig::default());
    FlowReader::new("flows.json", lines.as_bytes(), &ReadOptions::default())
        .unwrap()
        .read_flows(|ev| whole.push(ev, &mut |_| {}))
        .unwrap();
    let end_ns = last_time(&batch);
    let no_replies = palisade_columnar::CaptureContext {
        reply_nodes: Default::default(),
        end_ns,
    };
    assert_eq!(run(Some(no_replies)), "unknown");
    let capture = palisade_columnar::CaptureContext {
        reply_nodes: whole.reply_nodes().clone(),
        end_ns,
    };
    assert_eq!(run(Some(capture)), "timed-out");
    // Without the capture's end the partition ends at its own last flow: the attempt was
    // still open ("capture ended"), not timed out as in the whole capture.
    let b = {
        let mut p = PartitionSessionizer::new(
            Replayer::new(&m, DenyAction::Drop),
            SessionConfig::default(),
            None,
        );
        p.push(&first_only).unwrap();
        p.finish()
    };
    assert_eq!(string_at(&b, "evidence", 0), "capture ended");
}

#[test]
fn verdicts_name_the_deciding_policy_and_turn_replies_around() {
    let m = webshop();
    let data = std::fs::read(format!("{EXAMPLES}/webshop-traffic/capture.jsonl")).unwrap();
    let batch = to_batch("capture.jsonl", &data);
    let mut f = VerdictFunction::new(Replayer::new(&m, DenyAction::Drop));
    let v = f.verdicts(&batch).unwrap();
    assert_eq!(v.num_rows(), batch.num_rows());
    // Every TCP/UDP flow's verdict equals the verdict replay gives its session.
    let cols = FlowColumns::new(&batch, None).unwrap();
    let predicted = v
        .column(0)
        .as_any()
        .downcast_ref::<arrow_array::StringArray>()
        .unwrap();
    let mut by_conn: BTreeMap<(String, String, u16), String> = BTreeMap::new();
    let mut scratch = Scratch::default();
    for i in 0..cols.len() {
        let Ok(Row::Flow(ev)) = cols.row(i, &mut scratch) else {
            continue;
        };
        if ev.protocol().is_none() {
            assert!(predicted.is_null(i));
            continue;
        }
        let (client, server, port) = if ev.is_reply == Some(true) {
            (ev.dst, ev.src, ev.src_port)
        } else {
            (ev.src, ev.dst, ev.dst_port)
        };
        by_conn
            .entry((client.to_string(), server.to_string(), port))
            .or_insert_with(|| predicted.value(i).to_string());
    }
    let mut rp = Replayer::new(&m, DenyAction::Drop);
    let mut reader = FlowReader::new("capture.jsonl", &data[..], &ReadOptions::default()).unwrap();
    let mut checked = 0;
    palisade_flows::sessionize(&mut reader, SessionConfig::default(), |s| {
        let r = rp.replay(s);
        let key = (
            r.session.src.ip().to_string(),
            r.session.dst.ip().to_string(),
            r.session.dst.port(),
        );
        if r.service.is_none()
            && let Some(p) = by_conn.get(&key)
        {
            assert_eq!(p, r.predicted.as_str(), "{key:?}");
            checked += 1;
        }
    })
    .unwrap();
    assert!(checked > 5, "{checked}");
    // Timed-out verdicts name the isolating policy.
    let decided = v
        .column(1)
        .as_any()
        .downcast_ref::<arrow_array::StringArray>()
        .unwrap();
    assert!(
        (0..v.num_rows()).any(|i| predicted.is_valid(i)
            && predicted.value(i) == "timed-out"
            && decided.value(i).contains("(isolates)")),
        "a denied flow names its isolating policy"
    );
}

#[test]
fn session_batches_have_the_session_schema() {
    let b = SessionBatchBuilder::new().finish();
    assert_eq!(b.schema(), palisade_columnar::session_schema());
}
