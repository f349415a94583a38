//! The documented flow and session schemas (docs/scale-out.md lists every column).
//!
//! Types are the ones Spark, DuckDB, pandas and Athena all read without options: signed
//! integers (Spark has no unsigned types), strings, booleans. Times are `Int64` nanoseconds
//! since the Unix epoch (UTC): Parquet's `TIMESTAMP(NANOS)` is refused by Spark unless a
//! legacy option is set, and microseconds would lose the order of packets a capture keeps.

use std::sync::{Arc, LazyLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef};

/// Version of the flow schema, stored in the Parquet/Arrow metadata under [`VERSION_KEY`].
pub const FLOW_SCHEMA_VERSION: &str = "1";
/// Version of the session schema, stored under [`VERSION_KEY`].
pub const SESSION_SCHEMA_VERSION: &str = "1";
/// The schema metadata key naming the schema and its version: `palisade.flows` = `1`.
pub const VERSION_KEY: &str = "palisade.schema";

/// Column names of the flow schema.
pub mod flow {
    /// Observation time, ns since the epoch (UTC).
    pub const TIME_NS: &str = "time_ns";
    /// `packet`, `hubble`, `aggregate` (flow-log window) or `attempt` (CSV/JSONL row).
    pub const KIND: &str = "kind";
    /// Source address.
    pub const SRC_IP: &str = "src_ip";
    /// Destination address.
    pub const DST_IP: &str = "dst_ip";
    /// Source port (0 without ports).
    pub const SRC_PORT: &str = "src_port";
    /// Destination port.
    pub const DST_PORT: &str = "dst_port";
    /// IANA protocol number (6 TCP, 17 UDP, 132 SCTP, 1 ICMP, 58 ICMPv6 ...).
    pub const PROTOCOL: &str = "protocol";
    /// TCP flags, header bits (FIN 1, SYN 2, RST 4, PSH 8, ACK 16 ...); null unless TCP.
    pub const TCP_FLAGS: &str = "tcp_flags";
    /// SCTP: type of the first chunk.
    pub const SCTP_CHUNK: &str = "sctp_chunk";
    /// ICMP type.
    pub const ICMP_TYPE: &str = "icmp_type";
    /// ICMP code.
    pub const ICMP_CODE: &str = "icmp_code";
    /// ICMP error: the quoted datagram's source.
    pub const QUOTED_SRC_IP: &str = "quoted_src_ip";
    /// ICMP error: the quoted datagram's destination.
    pub const QUOTED_DST_IP: &str = "quoted_dst_ip";
    /// ICMP error: the quoted datagram's source port.
    pub const QUOTED_SRC_PORT: &str = "quoted_src_port";
    /// ICMP error: the quoted datagram's destination port.
    pub const QUOTED_DST_PORT: &str = "quoted_dst_port";
    /// ICMP error: the quoted datagram's protocol.
    pub const QUOTED_PROTOCOL: &str = "quoted_protocol";
    /// Hubble `is_reply`.
    pub const IS_REPLY: &str = "is_reply";
    /// Observing node (Hubble `node_name`; VPC interface id).
    pub const NODE: &str = "node";
    /// Source namespace, when the record names the endpoint.
    pub const SRC_NAMESPACE: &str = "src_namespace";
    /// Source pod name.
    pub const SRC_POD: &str = "src_pod";
    /// Source labels, as Hubble's JSON array text.
    pub const SRC_LABELS: &str = "src_labels";
    /// Destination namespace.
    pub const DST_NAMESPACE: &str = "dst_namespace";
    /// Destination pod name.
    pub const DST_POD: &str = "dst_pod";
    /// Destination labels, as JSON array text.
    pub const DST_LABELS: &str = "dst_labels";
    /// Hubble verdict (`FORWARDED`, `DROPPED` ...).
    pub const VERDICT: &str = "verdict";
    /// Hubble `drop_reason_desc`.
    pub const DROP_REASON: &str = "drop_reason";
    /// Hubble numeric `drop_reason`.
    pub const DROP_REASON_CODE: &str = "drop_reason_code";
    /// Hubble `traffic_direction` (`INGRESS`, `EGRESS`).
    pub const TRAFFIC_DIRECTION: &str = "traffic_direction";
    /// Hubble `ingress_denied_by`, JSON array text.
    pub const INGRESS_DENIED_BY: &str = "ingress_denied_by";
    /// Hubble `egress_denied_by`, JSON array text.
    pub const EGRESS_DENIED_BY: &str = "egress_denied_by";
    /// Hubble `destination_names` (DNS names of the destination), JSON array text.
    pub const DESTINATION_NAMES: &str = "destination_names";
    /// Hubble `l7.dns.query` of a DNS flow.
    pub const DNS_QUERY: &str = "dns_query";
    /// Hubble `l7.dns.ips`, JSON array text.
    pub const DNS_IPS: &str = "dns_ips";
    /// Flow log action (`ACCEPT`, `REJECT`).
    pub const ACTION: &str = "action";
    /// Flow log packets in the window.
    pub const PACKETS: &str = "packets";
    /// Flow log bytes in the window.
    pub const BYTES: &str = "bytes";
    /// Flow log window end, ns since the epoch.
    pub const END_TIME_NS: &str = "end_time_ns";
    /// CSV/JSONL `outcome`.
    pub const OUTCOME: &str = "outcome";
    /// Packet length on the wire.
    pub const WIRE_LEN: &str = "wire_len";
}

fn field(name: &str, data_type: DataType, nullable: bool) -> Field {
    Field::new(name, data_type, nullable)
}

static FLOW_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    use DataType::{Boolean, Int32, Int64, Utf8};
    use flow::*;
    let fields = vec![
        field(TIME_NS, Int64, false),
        field(KIND, Utf8, false),
        field(SRC_IP, Utf8, false),
        field(DST_IP, Utf8, false),
        field(SRC_PORT, Int32, false),
        field(DST_PORT, Int32, false),
        field(PROTOCOL, Int32, false),
        field(TCP_FLAGS, Int32, true),
        field(SCTP_CHUNK, Int32, true),
        field(ICMP_TYPE, Int32, true),
        field(ICMP_CODE, Int32, true),
        field(QUOTED_SRC_IP, Utf8, true),
        field(QUOTED_DST_IP, Utf8, true),
        field(QUOTED_SRC_PORT, Int32, true),
        field(QUOTED_DST_PORT, Int32, true),
        field(QUOTED_PROTOCOL, Int32, true),
        field(IS_REPLY, Boolean, true),
        field(NODE, Utf8, true),
        field(SRC_NAMESPACE, Utf8, true),
        field(SRC_POD, Utf8, true),
        field(SRC_LABELS, Utf8, true),
        field(DST_NAMESPACE, Utf8, true),
        field(DST_POD, Utf8, true),
        field(DST_LABELS, Utf8, true),
        field(VERDICT, Utf8, true),
        field(DROP_REASON, Utf8, true),
        field(DROP_REASON_CODE, Int64, true),
        field(TRAFFIC_DIRECTION, Utf8, true),
        field(INGRESS_DENIED_BY, Utf8, true),
        field(EGRESS_DENIED_BY, Utf8, true),
        field(DESTINATION_NAMES, Utf8, true),
        field(DNS_QUERY, Utf8, true),
        field(DNS_IPS, Utf8, true),
        field(ACTION, Utf8, true),
        field(PACKETS, Int64, true),
        field(BYTES, Int64, true),
        field(END_TIME_NS, Int64, true),
        field(OUTCOME, Utf8, true),
        field(WIRE_LEN, Int64, true),
    ];
    let metadata = [(
        VERSION_KEY.to_string(),
        format!("flows/{FLOW_SCHEMA_VERSION}"),
    )]
    .into();
    Arc::new(Schema::new_with_metadata(fields, metadata))
});

/// The flow schema: one row per [`palisade_flows::FlowEvent`].
pub fn flow_schema() -> SchemaRef {
    FLOW_SCHEMA.clone()
}

/// Column names of the session schema.
pub mod session {
    /// First event of the session, ns since the epoch.
    pub const START_NS: &str = "start_ns";
    /// Last event.
    pub const LAST_SEEN_NS: &str = "last_seen_ns";
    /// When the outcome was decided.
    pub const DECIDED_NS: &str = "decided_ns";
    /// `TCP`, `UDP`, `SCTP`.
    pub const PROTOCOL: &str = "protocol";
    /// Initiator address.
    pub const SRC_IP: &str = "src_ip";
    /// Initiator port.
    pub const SRC_PORT: &str = "src_port";
    /// Peer address.
    pub const DST_IP: &str = "dst_ip";
    /// Peer port.
    pub const DST_PORT: &str = "dst_port";
    /// `namespace/workload` of the initiator, when mapped.
    pub const SRC_NAME: &str = "src_name";
    /// `namespace/workload` of the peer, when mapped.
    pub const DST_NAME: &str = "dst_name";
    /// How the initiator was mapped (`pod-ip`, `hubble-name` ...).
    pub const SRC_MAPPED_BY: &str = "src_mapped_by";
    /// How the peer was mapped.
    pub const DST_MAPPED_BY: &str = "dst_mapped_by";
    /// Observed outcome: `accepted`, `refused`, `timed-out`, `unknown`.
    pub const OBSERVED: &str = "observed";
    /// What decided the observed outcome, one sentence.
    pub const EVIDENCE: &str = "evidence";
    /// Packets (or flows) initiator → peer.
    pub const PACKETS_FWD: &str = "packets_fwd";
    /// Packets peer → initiator.
    pub const PACKETS_REV: &str = "packets_rev";
    /// Attempts (SYN retransmissions count).
    pub const ATTEMPTS: &str = "attempts";
    /// Observing nodes, comma-separated.
    pub const NODES: &str = "nodes";
    /// Policies Hubble said denied it (`namespace/name`, comma-separated).
    pub const DENIED_BY: &str = "denied_by";
    /// Whether the capture lost events while it was undecided.
    pub const DURING_GAP: &str = "during_gap";
    /// Predicted outcome under the current policies.
    pub const PREDICTED: &str = "predicted";
    /// The deciding policies (`egress:namespace/name#rule@file:line`, comma-separated).
    pub const DECIDED_BY: &str = "decided_by";
    /// Mismatch kind (`drift`, `address`, `deny-action`, `no-listener`), if any.
    pub const MISMATCH: &str = "mismatch";
    /// The mismatch's explanation.
    pub const MISMATCH_REASON: &str = "mismatch_reason";
    /// Predicted outcome under the proposal (what-if only).
    pub const PROPOSED_PREDICTED: &str = "proposed_predicted";
    /// The proposal's deciding policies.
    pub const PROPOSED_DECIDED_BY: &str = "proposed_decided_by";
    /// `break` or `open` when the proposal changes the verdict.
    pub const CHANGE: &str = "change";
    /// The Service a ClusterIP destination was evaluated through.
    pub const SERVICE: &str = "service";
    /// Policies Palisade does not evaluate that may select an end (comma-separated).
    pub const UNCERTAIN: &str = "uncertain";
    /// The what-if pair's source: `src_name`, else the source IP.
    pub const PAIR_SRC: &str = "pair_src";
    /// The what-if pair's destination.
    pub const PAIR_DST: &str = "pair_dst";
}

static SESSION_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    use DataType::{Boolean, Int32, Int64, Utf8};
    use session::*;
    let fields = vec![
        field(START_NS, Int64, false),
        field(LAST_SEEN_NS, Int64, false),
        field(DECIDED_NS, Int64, false),
        field(PROTOCOL, Utf8, false),
        field(SRC_IP, Utf8, false),
        field(SRC_PORT, Int32, false),
        field(DST_IP, Utf8, false),
        field(DST_PORT, Int32, false),
        field(SRC_NAME, Utf8, true),
        field(DST_NAME, Utf8, true),
        field(SRC_MAPPED_BY, Utf8, false),
        field(DST_MAPPED_BY, Utf8, false),
        field(OBSERVED, Utf8, false),
        field(EVIDENCE, Utf8, false),
        field(PACKETS_FWD, Int64, false),
        field(PACKETS_REV, Int64, false),
        field(ATTEMPTS, Int64, false),
        field(NODES, Utf8, true),
        field(DENIED_BY, Utf8, true),
        field(DURING_GAP, Boolean, false),
        field(PREDICTED, Utf8, false),
        field(DECIDED_BY, Utf8, true),
        field(MISMATCH, Utf8, true),
        field(MISMATCH_REASON, Utf8, true),
        field(PROPOSED_PREDICTED, Utf8, true),
        field(PROPOSED_DECIDED_BY, Utf8, true),
        field(CHANGE, Utf8, true),
        field(SERVICE, Utf8, true),
        field(UNCERTAIN, Utf8, true),
        field(PAIR_SRC, Utf8, false),
        field(PAIR_DST, Utf8, false),
    ];
    let metadata = [(
        VERSION_KEY.to_string(),
        format!("sessions/{SESSION_SCHEMA_VERSION}"),
    )]
    .into();
    Arc::new(Schema::new_with_metadata(fields, metadata))
});

/// The session schema: one row per replayed session.
pub fn session_schema() -> SchemaRef {
    SESSION_SCHEMA.clone()
}

/// Column names of the per-flow verdict output ([`crate::verdicts`]).
pub mod verdict {
    /// Predicted outcome of the flow's connection under the current policies.
    pub const PREDICTED: &str = "predicted";
    /// The deciding policies, like the session schema's.
    pub const DECIDED_BY: &str = "decided_by";
    /// Under the proposal (null without one).
    pub const PROPOSED_PREDICTED: &str = "proposed_predicted";
    /// The proposal's deciding policies.
    pub const PROPOSED_DECIDED_BY: &str = "proposed_decided_by";
    /// `break` or `open`.
    pub const CHANGE: &str = "change";
}

static VERDICT_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    use DataType::Utf8;
    use verdict::*;
    Arc::new(Schema::new(vec![
        field(PREDICTED, Utf8, true),
        field(DECIDED_BY, Utf8, true),
        field(PROPOSED_PREDICTED, Utf8, true),
        field(PROPOSED_DECIDED_BY, Utf8, true),
        field(CHANGE, Utf8, true),
    ]))
});

/// The columns [`crate::verdicts`] appends to a flow batch (null where a row has no IP
/// protocol the policies know: ICMP, other protocols, or an unreadable row).
pub fn verdict_schema() -> SchemaRef {
    VERDICT_SCHEMA.clone()
}
