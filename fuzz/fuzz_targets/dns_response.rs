//! DNS responses in captures must never panic the parser or the pcap reader that calls it.
//! The first byte picks how the rest is fed: as one DNS message, or inside a pcap frame from
//! port 53 over UDP or TCP (so the reader's payload extraction and report are exercised).
//! Every name handed out must be in presentation form: no raw control bytes, no spaces.

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_flows::{EventKind, FlowReader, ReadOptions, dns};

fn check(answers: &[dns::DnsAnswer]) {
    for a in answers {
        assert!(!a.name.is_empty());
        assert!(a.name.bytes().all(|b| b.is_ascii_graphic()), "{:?}", a.name);
        assert!(!a.name.bytes().any(|b| b.is_ascii_uppercase()), "{:?}", a.name);
    }
}

/// A classic pcap with one raw-IPv4 frame from 10.96.0.10:53 carrying `payload`.
fn pcap(proto: u8, payload: &[u8]) -> Vec<u8> {
    let l4 = if proto == 17 {
        let mut u = Vec::new();
        for v in [53u16, 40000, (8 + payload.len()).min(65535) as u16, 0] {
            u.extend_from_slice(&v.to_be_bytes());
        }
        u
    } else {
        // 53 → 40000, data offset 5 words, ACK|PSH.
        vec![0, 53, 0x9c, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x18, 0, 0, 0, 0, 0, 0]
    };
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&((20 + l4.len() + payload.len()).min(65535) as u16).to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0, 10, 96, 0, 10, 10, 0, 1, 11]);
    ip.extend_from_slice(&l4);
    ip.extend_from_slice(payload);
    let mut file = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 101] {
        file.extend_from_slice(&v.to_le_bytes());
    }
    for v in [1_796_000_000u32, 0, ip.len() as u32, ip.len() as u32] {
        file.extend_from_slice(&v.to_le_bytes());
    }
    file.extend_from_slice(&ip);
    file
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else { return };
    match choice % 3 {
        0 => {
            let mut out = Vec::new();
            let _ = dns::read_response(rest, &mut out);
            check(&out);
        }
        c => {
            let file = pcap(if c == 1 { 17 } else { 6 }, rest);
            let mut reader = FlowReader::new("fuzz", &file[..], &ReadOptions::default())
                .expect("a valid pcap header");
            let _ = reader.read_flows(|ev| {
                if let EventKind::Packet { dns, .. } = &ev.kind {
                    check(dns);
                }
            });
            let report = reader.into_report();
            assert!(report.dns_cut_by_capture <= report.dns_unreadable);
            let _ = report.diagnostics();
        }
    }
});
