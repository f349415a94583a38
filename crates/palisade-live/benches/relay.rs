//! The client side of following Relay, per flow, on one core: protobuf decode of
//! `GetFlowsResponse`, the Hubble JSON line, the Hubble parser and the sessionizer — all the
//! work `replay --hubble-relay` / `watch` do per flow before prediction (the issue asks for
//! ≥ 100,000 flows/s). Flows: the flows crate's generator (seed 42), 100,000 of them.
//!
//! `cargo bench -p palisade-live --bench relay`

use palisade_flows::{FlowReader, ReadOptions, SessionConfig, sessionize};
use palisade_live::fakes::responses_from_reader;
use palisade_live::proto::observer::GetFlowsResponse;
use palisade_live::relay::write_response_json;
use prost::Message;

fn main() {
    divan::main();
}

const FLOWS: u64 = 100_000;

fn encoded() -> Vec<Vec<u8>> {
    let mut json = Vec::new();
    palisade_synth::traffic::write_hubble(&mut json, FLOWS, 42).expect("in memory");
    let reader =
        FlowReader::new("synth", json.as_slice(), &ReadOptions::default()).expect("hubble");
    responses_from_reader(reader)
        .expect("generated flows parse")
        .iter()
        .map(|r| r.encode_to_vec())
        .collect()
}

#[divan::bench(sample_count = 10)]
fn decode_and_write_lines(bencher: divan::Bencher) {
    let messages = encoded();
    bencher
        .counter(divan::counter::ItemsCount::new(messages.len()))
        .bench_local(|| {
            let mut out = Vec::with_capacity(64 << 20);
            for m in &messages {
                let r = GetFlowsResponse::decode(m.as_slice()).expect("valid");
                write_response_json(&r, &mut out);
            }
            out.len()
        });
}

#[divan::bench(sample_count = 10)]
fn decode_to_sessions(bencher: divan::Bencher) {
    let messages = encoded();
    bencher
        .counter(divan::counter::ItemsCount::new(messages.len()))
        .bench_local(|| {
            let mut out = Vec::with_capacity(64 << 20);
            for m in &messages {
                let r = GetFlowsResponse::decode(m.as_slice()).expect("valid");
                write_response_json(&r, &mut out);
            }
            let mut reader =
                FlowReader::new("relay", out.as_slice(), &ReadOptions::default()).expect("hubble");
            let mut n = 0u64;
            sessionize(&mut reader, SessionConfig::default(), |_| n += 1).expect("parses");
            n
        });
}
