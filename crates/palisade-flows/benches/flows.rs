//! Throughput of the readers and the session builder on in-memory synthetic inputs.
//!
//! `cargo bench -p palisade-flows --bench flows`
//! The inputs come from `palisade_synth::traffic` with a fixed seed, so runs are comparable.

use std::sync::LazyLock;

use divan::counter::{BytesCount, ItemsCount};
use divan::{Bencher, black_box};
use palisade_flows::{FlowReader, ParallelRead, ReadOptions, SessionConfig, Sessionizer};
use palisade_synth::traffic as synth;

const HUBBLE_FLOWS: u64 = 200_000;
const PCAP_PACKETS: u64 = 2_000_000;

static HUBBLE: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut v = Vec::new();
    synth::write_hubble(&mut v, HUBBLE_FLOWS, 42).expect("in-memory write");
    v
});

static PCAP: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut v = Vec::new();
    synth::write_pcap(&mut v, PCAP_PACKETS, 42).expect("in-memory write");
    v
});

fn main() {
    divan::main();
}

fn read_only(data: &[u8]) -> u64 {
    let mut reader = FlowReader::new("bench", data, &ReadOptions::default()).expect("valid input");
    let mut n = 0u64;
    reader
        .read_flows(|ev| {
            n += 1;
            black_box(ev.dst_port);
        })
        .expect("readable");
    n
}

fn read_and_sessionize(data: &[u8]) -> u64 {
    let mut reader = FlowReader::new("bench", data, &ReadOptions::default()).expect("valid input");
    let mut s = Sessionizer::new(SessionConfig::default());
    let mut n = 0u64;
    reader
        .read(|r| s.push_record(r, &mut |_| n += 1))
        .expect("readable");
    s.finish(&mut |_| n += 1);
    n
}

/// Hubble JSON lines parsed into events.
#[divan::bench(sample_count = 10)]
fn hubble_parse(b: Bencher) {
    let data = &*HUBBLE;
    b.counter(ItemsCount::new(HUBBLE_FLOWS))
        .counter(BytesCount::new(data.len()))
        .bench(|| read_only(data));
}

/// Hubble JSON lines parsed and sessionized.
#[divan::bench(sample_count = 10)]
fn hubble_sessionize(b: Bencher) {
    let data = &*HUBBLE;
    b.counter(ItemsCount::new(HUBBLE_FLOWS))
        .bench(|| read_and_sessionize(data));
}

/// pcap packets decoded into events.
#[divan::bench(sample_count = 10)]
fn pcap_parse(b: Bencher) {
    let data = &*PCAP;
    b.counter(ItemsCount::new(PCAP_PACKETS))
        .counter(BytesCount::new(data.len()))
        .bench(|| read_only(data));
}

/// pcap packets decoded and sessionized.
#[divan::bench(sample_count = 10)]
fn pcap_sessionize(b: Bencher) {
    let data = &*PCAP;
    b.counter(ItemsCount::new(PCAP_PACKETS))
        .bench(|| read_and_sessionize(data));
}

/// A typical captured DNS response (what the pcap reader parses for each packet from port
/// 53): `api.example.com` → CNAME `edge.example.net` → two A records, compressed.
static DNS_RESPONSE: LazyLock<Vec<u8>> = LazyLock::new(|| {
    use simple_dns::rdata::{A, CNAME, RData};
    use simple_dns::{CLASS, Name, Packet, Question, ResourceRecord, TYPE};
    let mut p = Packet::new_reply(7);
    p.questions.push(Question::new(
        Name::new_unchecked("api.example.com"),
        TYPE::A.into(),
        CLASS::IN.into(),
        false,
    ));
    let rr = |owner, rdata| ResourceRecord::new(Name::new_unchecked(owner), CLASS::IN, 30, rdata);
    p.answers.push(rr(
        "api.example.com",
        RData::CNAME(CNAME(Name::new_unchecked("edge.example.net"))),
    ));
    for last in [5u8, 6] {
        p.answers.push(rr(
            "edge.example.net",
            RData::A(A::from(std::net::Ipv4Addr::new(203, 0, 113, last))),
        ));
    }
    p.build_bytes_vec_compressed().expect("a valid response")
});

/// One DNS response parsed into its answers.
#[divan::bench]
fn dns_response(b: Bencher) {
    let msg = &*DNS_RESPONSE;
    let mut out = Vec::with_capacity(4);
    b.counter(ItemsCount::new(1u32)).bench_local(|| {
        out.clear();
        let _ = palisade_flows::dns::read_response(black_box(msg), &mut out);
        black_box(out.len())
    });
}

/// Hubble JSON lines parsed on 1, 2 and 4 threads (`FlowReader::read_parallel`) and
/// sessionized in input order: what `palisade replay --threads N` reads with. On one core
/// the extra threads only add the hand-over cost.
#[divan::bench(sample_count = 10, args = [1, 2, 4])]
fn hubble_sessionize_parallel(b: Bencher, threads: usize) {
    let data = &*HUBBLE;
    b.counter(ItemsCount::new(HUBBLE_FLOWS))
        .counter(BytesCount::new(data.len()))
        .bench(|| {
            let mut reader =
                FlowReader::new("bench", &data[..], &ReadOptions::default()).expect("valid input");
            let mut s = Sessionizer::new(SessionConfig::default());
            let mut n = 0u64;
            reader
                .read_parallel(&ParallelRead::threads(threads), |r| {
                    s.push_record(r, &mut |_| n += 1)
                })
                .expect("readable");
            s.finish(&mut |_| n += 1);
            n
        });
}
