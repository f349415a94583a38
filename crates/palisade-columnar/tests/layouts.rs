//! Parquet written by others: the Hubble exporter's nested `GetFlowsResponse` layout and AWS
//! VPC flow logs' Parquet option read through the column mapping, through a real Parquet file.

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray, StructArray,
    TimestampNanosecondArray, UInt32Array,
};
use arrow_schema::{DataType, Field, Fields};
use palisade_columnar::{Layout, ParquetFlowReader};
use palisade_flows::{EventKind, L4, Record, Verdict};

fn field(name: &str, a: &ArrayRef) -> (Arc<Field>, ArrayRef) {
    (
        Arc::new(Field::new(name, a.data_type().clone(), true)),
        a.clone(),
    )
}

fn strct(children: Vec<(Arc<Field>, ArrayRef)>) -> ArrayRef {
    Arc::new(StructArray::from(children))
}

fn strings(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

fn write(batch: &RecordBatch) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(file.reopen().unwrap(), batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
    file
}

/// Two flows as the Hubble exporter pipeline writes them (nested structs, a timestamp
/// column, labels as a list, the verdict as its enum number) and one L7 flow without `IP`.
fn hubble_batch() -> RecordBatch {
    let ip = strct(vec![
        field(
            "source",
            &strings(&[Some("10.0.0.1"), Some("10.0.0.2"), None]),
        ),
        field(
            "destination",
            &strings(&[Some("10.0.0.2"), Some("10.0.0.1"), None]),
        ),
    ]);
    let flags = strct(vec![
        field(
            "SYN",
            &(Arc::new(BooleanArray::from(vec![Some(true), Some(true), None])) as ArrayRef),
        ),
        field(
            "ACK",
            &(Arc::new(BooleanArray::from(vec![None, Some(true), None])) as ArrayRef),
        ),
    ]);
    let tcp = strct(vec![
        field(
            "source_port",
            &(Arc::new(UInt32Array::from(vec![Some(40000), Some(5432), None])) as ArrayRef),
        ),
        field(
            "destination_port",
            &(Arc::new(UInt32Array::from(vec![Some(5432), Some(40000), None])) as ArrayRef),
        ),
        field("flags", &flags),
    ]);
    let l4 = strct(vec![field("TCP", &tcp)]);
    let mut labels = ListBuilder::new(StringBuilder::new());
    labels.values().append_value("k8s:app=web");
    labels.append(true);
    labels.append(false);
    labels.append(false);
    let labels: ArrayRef = Arc::new(labels.finish());
    let source = strct(vec![
        field("namespace", &strings(&[Some("shop"), Some("shop"), None])),
        field("pod_name", &strings(&[Some("web-1"), Some("db-1"), None])),
        field("labels", &labels),
    ]);
    let verdict: ArrayRef = Arc::new(Int32Array::from(vec![1, 1, 1]));
    let is_reply: ArrayRef = Arc::new(BooleanArray::from(vec![false, true, false]));
    let node: ArrayRef = strings(&[Some("n1"), Some("n2"), Some("n1")]);
    let time: ArrayRef =
        Arc::new(TimestampNanosecondArray::from(vec![1_000, 2_000, 3_000]).with_timezone("UTC"));
    let flow = strct(vec![
        field("time", &time),
        field("verdict", &verdict),
        field("IP", &ip),
        field("l4", &l4),
        field("source", &source),
        field("is_reply", &is_reply),
        field("node_name", &node),
    ]);
    let flow_field = Field::new("flow", flow.data_type().clone(), true);
    RecordBatch::try_new(
        Arc::new(arrow_schema::Schema::new(vec![flow_field])),
        vec![flow],
    )
    .unwrap()
}

#[test]
fn hubble_exporter_parquet_reads_through_the_mapping() {
    let file = write(&hubble_batch());
    let mut reader = ParquetFlowReader::open(file.path(), None).unwrap();
    let mut events = Vec::new();
    reader
        .read(|r| {
            if let Record::Flow(ev) = r {
                events.push((
                    ev.time_ns,
                    ev.src.to_string(),
                    ev.dst_port,
                    ev.l4,
                    ev.is_reply,
                    ev.node.as_deref().map(str::to_string),
                    ev.src_endpoint.as_ref().map(|e| {
                        (
                            e.pod_name.to_string(),
                            e.labels.iter().map(|l| l.to_string()).collect::<Vec<_>>(),
                        )
                    }),
                    matches!(&ev.kind, EventKind::Hubble(h) if h.verdict == Verdict::Forwarded),
                ));
            }
        })
        .unwrap();
    assert_eq!(events.len(), 2);
    let (t, src, dport, l4, reply, node, endpoint, forwarded) = &events[0];
    assert_eq!((*t, src.as_str(), *dport), (1_000, "10.0.0.1", 5432));
    assert_eq!(
        *l4,
        L4::Tcp(palisade_flows::TcpFlags(palisade_flows::TcpFlags::SYN))
    );
    assert_eq!((*reply, node.as_deref()), (Some(false), Some("n1")));
    assert_eq!(
        endpoint,
        &Some(("web-1".to_string(), vec!["k8s:app=web".to_string()]))
    );
    assert!(forwarded);
    let l4 = events[1].3;
    assert_eq!(
        l4,
        L4::Tcp(palisade_flows::TcpFlags(
            palisade_flows::TcpFlags::SYN | palisade_flows::TcpFlags::ACK
        ))
    );
    let report = reader.report();
    assert_eq!((report.records, report.flows_without_ip), (3, 1));
}

#[test]
fn vpc_flow_log_parquet_reads_through_the_mapping() {
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("version", Arc::new(Int32Array::from(vec![2, 2, 2]))),
        (
            "interface_id",
            strings(&[Some("eni-1"), Some("eni-1"), Some("eni-2")]),
        ),
        (
            "srcaddr",
            strings(&[Some("10.0.1.5"), Some("10.0.2.9"), None]),
        ),
        (
            "dstaddr",
            strings(&[Some("10.0.2.9"), Some("10.0.1.5"), None]),
        ),
        (
            "srcport",
            Arc::new(Int32Array::from(vec![Some(49152), Some(5432), None])),
        ),
        (
            "dstport",
            Arc::new(Int32Array::from(vec![Some(5432), Some(49152), None])),
        ),
        (
            "protocol",
            Arc::new(Int32Array::from(vec![Some(6), Some(6), None])),
        ),
        (
            "packets",
            Arc::new(Int64Array::from(vec![Some(10), Some(8), None])),
        ),
        (
            "bytes",
            Arc::new(Int64Array::from(vec![Some(840), Some(620), None])),
        ),
        (
            "start",
            Arc::new(Int64Array::from(vec![
                1_700_000_000,
                1_700_000_000,
                1_700_000_000,
            ])),
        ),
        (
            "end",
            Arc::new(Int64Array::from(vec![
                1_700_000_060,
                1_700_000_060,
                1_700_000_060,
            ])),
        ),
        ("action", strings(&[Some("ACCEPT"), Some("ACCEPT"), None])),
        (
            "log_status",
            strings(&[Some("OK"), Some("OK"), Some("NODATA")]),
        ),
    ];
    let fields: Fields = cols
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let batch = RecordBatch::try_new(
        Arc::new(arrow_schema::Schema::new(fields)),
        cols.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    let file = write(&batch);
    let mut reader = ParquetFlowReader::open(file.path(), None).unwrap();
    let mut flows = Vec::new();
    let mut gaps = 0;
    reader
        .read(|r| match r {
            Record::Flow(ev) => {
                let EventKind::Aggregate {
                    action,
                    packets,
                    end_ns,
                    ..
                } = ev.kind
                else {
                    panic!("not an aggregate")
                };
                flows.push((
                    ev.time_ns,
                    action,
                    packets,
                    end_ns,
                    ev.node.as_deref().map(str::to_string),
                ));
            }
            Record::Gap(g) => {
                assert_eq!(g.source, "NODATA");
                gaps += 1;
            }
        })
        .unwrap();
    assert_eq!(gaps, 1);
    assert_eq!(
        flows[0],
        (
            1_700_000_000_000_000_000,
            palisade_flows::Action::Accept,
            10,
            1_700_000_060_000_000_000,
            Some("eni-1".to_string())
        )
    );
    assert_eq!(flows[1].1, palisade_flows::Action::Accept);
    // Sessions: the two directions of the window merge into one accepted session.
    let mut reader = ParquetFlowReader::open(file.path(), None).unwrap();
    let mut sz = palisade_flows::Sessionizer::new(Default::default());
    let mut sessions = Vec::new();
    reader
        .read(|r| sz.push_record(r, &mut |s| sessions.push(s)))
        .unwrap();
    sz.finish(&mut |s| sessions.push(s));
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].observed, palisade_flows::Observed::Accepted);
}

#[test]
fn unknown_layouts_and_wrong_types_are_errors_with_the_column() {
    let batch = RecordBatch::try_new(
        Arc::new(arrow_schema::Schema::new(vec![Field::new(
            "a",
            DataType::Int32,
            false,
        )])),
        vec![Arc::new(Int32Array::from(vec![1]))],
    )
    .unwrap();
    let err = palisade_columnar::FlowColumns::new(&batch, None)
        .err()
        .unwrap();
    assert!(err.to_string().contains("found a"), "{err}");
    let bad = RecordBatch::try_new(
        Arc::new(arrow_schema::Schema::new(vec![
            Field::new("srcaddr", DataType::Int32, false),
            Field::new("action", DataType::Utf8, false),
        ])),
        vec![
            Arc::new(Int32Array::from(vec![1])),
            strings(&[Some("ACCEPT")]),
        ],
    )
    .unwrap();
    let err = palisade_columnar::FlowColumns::new(&bad, None)
        .err()
        .unwrap();
    assert!(err.to_string().contains("start"), "{err}");
    let err = palisade_columnar::FlowColumns::new(&bad, Some(Layout::Palisade))
        .err()
        .unwrap();
    assert!(err.to_string().contains("time_ns"), "{err}");
}

#[test]
fn a_bad_row_costs_only_that_row() {
    let mut batch = palisade_columnar::FlowBatchBuilder::new();
    let csv = "time,src,dst,src_port,dst_port,protocol\n2026-01-01T00:00:00Z,10.0.0.1,10.0.0.2,1,80,TCP\n2026-01-01T00:00:01Z,10.0.0.1,10.0.0.3,2,80,TCP\n";
    palisade_flows::FlowReader::new("c.csv", csv.as_bytes(), &Default::default())
        .unwrap()
        .read_flows(|ev| batch.push(ev))
        .unwrap();
    let good = batch.finish();
    // Replace the first source address with garbage.
    let mut cols: Vec<ArrayRef> = good.columns().to_vec();
    cols[2] = strings(&[Some("not-an-ip"), Some("10.0.0.1")]);
    let broken = RecordBatch::try_new(good.schema(), cols).unwrap();
    let file = write(&broken);
    let mut reader = ParquetFlowReader::open(file.path(), None).unwrap();
    let mut n = 0;
    reader.read_flows(|_| n += 1).unwrap();
    assert_eq!(n, 1);
    let report = reader.report();
    assert_eq!(report.malformed, 1);
    assert_eq!(report.malformed_samples[0].line, 1);
    assert!(report.malformed_samples[0].message.contains("not-an-ip"));
}
