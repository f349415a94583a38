//! The Relay client against the fake Relay (a tonic `Observer` server from the same proto):
//! same sessions as the file, lost events as gaps, reconnection, server-side filters.

use palisade_flows::{FlowReader, ReadOptions, ReadReport, SessionConfig, sessionize};
use palisade_live::fakes::{FakeRelay, RelayScript, responses_from_capture};
use palisade_live::proto::flow::{LostEvent, LostEventSource};
use palisade_live::proto::observer::{GetFlowsResponse, get_flows_response::ResponseTypes};
use palisade_live::relay::{Backpressure, FlowQuery, RelayFeed, RelayOptions, ServerFilter};
use std::path::{Path, PathBuf};

fn capture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/webshop-traffic/capture.jsonl")
}

/// Sessions as comparable lines.
fn sessions_of(reader: &mut FlowReader<'_>) -> (Vec<String>, ReadReport) {
    let mut out = Vec::new();
    sessionize(reader, SessionConfig::default(), |s| {
        out.push(format!(
            "{} {} -> {} {:?} {} {} fwd={} rev={} gap={}",
            s.start_ns,
            s.src,
            s.dst,
            s.proto,
            s.observed,
            s.evidence,
            s.packets_fwd,
            s.packets_rev,
            s.during_gap
        ));
    })
    .unwrap();
    out.sort();
    (out, reader.report().clone())
}

fn from_file() -> (Vec<String>, ReadReport) {
    let mut reader = FlowReader::open(capture(), &ReadOptions::default()).unwrap();
    sessions_of(&mut reader)
}

fn from_relay(relay: &FakeRelay, query: FlowQuery) -> (Vec<String>, ReadReport) {
    let feed = RelayFeed::start(
        RelayOptions {
            address: relay.addr.to_string(),
            ..Default::default()
        },
        query,
        Backpressure::Wait,
        Box::new(|_| {}),
    )
    .unwrap();
    let mut reader = FlowReader::new(
        "relay",
        std::io::BufReader::new(feed),
        &ReadOptions::default(),
    )
    .unwrap();
    sessions_of(&mut reader)
}

fn lost(n: u64) -> GetFlowsResponse {
    GetFlowsResponse {
        response_types: Some(ResponseTypes::LostEvents(LostEvent {
            source: LostEventSource::HubbleRingBuffer as i32,
            num_events_lost: n,
            cpu: None,
        })),
        node_name: "prod/worker-1".into(),
        time: None,
    }
}

#[test]
fn relay_gives_the_sessions_of_the_file() {
    let relay = FakeRelay::start(RelayScript {
        responses: responses_from_capture(&capture()).unwrap(),
        ..Default::default()
    });
    let (file, file_report) = from_file();
    let (live, live_report) = from_relay(&relay, FlowQuery::default());
    assert!(!file.is_empty());
    assert_eq!(live, file);
    assert_eq!(live_report.gaps.len(), file_report.gaps.len());
    // Without a time range Relay is asked for everything it has, not its last 20 flows.
    assert!(relay.requests()[0].number > 1_000_000);
}

#[test]
fn lost_events_become_gaps() {
    let mut responses = responses_from_capture(&capture()).unwrap();
    responses.insert(responses.len() - 1, lost(17));
    let relay = FakeRelay::start(RelayScript {
        responses,
        ..Default::default()
    });
    let (_, report) = from_relay(&relay, FlowQuery::default());
    assert_eq!(report.gaps.len(), 1);
    assert_eq!(report.lost_events, 17);
    assert_eq!(report.gaps[0].source, "HUBBLE_RING_BUFFER");
}

#[test]
fn a_broken_stream_is_resumed_where_it_broke() {
    let responses = responses_from_capture(&capture()).unwrap();
    let relay = FakeRelay::start(RelayScript {
        responses: responses.clone(),
        disconnect_after: Some(40),
        ..Default::default()
    });
    let (live, report) = from_relay(&relay, FlowQuery::default());
    let requests = relay.requests();
    assert_eq!(requests.len(), 2, "one reconnection");
    // The second request starts at the last flow received before the break.
    let last = match &responses[39].response_types {
        Some(ResponseTypes::Flow(f)) => f.time,
        _ => panic!("response 40 is a flow"),
    };
    assert_eq!(requests[1].since, last);
    // The break is a gap; sessions open across it are flagged, the others are the file's.
    assert_eq!(
        report
            .gaps
            .iter()
            .filter(|g| g.source == "RELAY_RECONNECT")
            .count(),
        1
    );
    let unflag = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|s| s.replace(" gap=true", " gap=false"))
            .collect()
    };
    assert_eq!(unflag(&live), unflag(&from_file().0));
}

#[test]
fn filters_and_time_range_are_sent_to_relay() {
    let relay = FakeRelay::start(RelayScript {
        responses: responses_from_capture(&capture()).unwrap(),
        ..Default::default()
    });
    let filters = ServerFilter {
        from: vec!["shop/checkout".into()],
        ports: vec![8080],
        protocols: vec!["tcp".into()],
        ..Default::default()
    }
    .to_flow_filters();
    let since = palisade_flows::parse_rfc3339(b"2026-09-20T14:56:44Z").unwrap();
    let (live, _) = from_relay(
        &relay,
        FlowQuery {
            since_ns: Some(since),
            filters: filters.clone(),
            ..Default::default()
        },
    );
    let req = &relay.requests()[0];
    assert_eq!(req.whitelist, filters);
    assert_eq!(req.since.map(|t| t.seconds), Some(since / 1_000_000_000));
    assert!(!req.follow);
    assert_eq!(req.number, 0, "a time range replaces `number`");
    // The fake applies the time range (not the filters): sessions start at or after it.
    assert!(
        live.iter()
            .all(|s| s.split(' ').next().unwrap().parse::<i64>().unwrap() >= since)
    );
}
