//! The gzip wrapper: corrupt, truncated and concatenated streams must never panic; what
//! decompressed before the damage is read. The first byte picks the mode: even, the rest is
//! taken as (possibly broken) gzip bytes as they are; odd, the rest is compressed here and the
//! stream cut at a point the second byte chooses, so truncation is hit on every run.

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_flows::{FlowReader, ReadOptions, SessionConfig, sessionize};
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes: Vec<u8> = if mode % 2 == 0 {
        let mut v = vec![0x1f, 0x8b];
        v.extend_from_slice(rest);
        v
    } else {
        let Some((&cut, body)) = rest.split_first() else {
            return;
        };
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(body).unwrap();
        let mut gz = enc.finish().unwrap();
        let keep = gz.len() * usize::from(cut) / 255;
        gz.truncate(keep.max(2));
        gz
    };
    if let Ok(mut reader) = FlowReader::new("fuzz.gz", &bytes[..], &ReadOptions::default()) {
        let _ = sessionize(&mut reader, SessionConfig::default(), |s| {
            assert!(s.last_seen_ns >= s.start_ns);
        });
        let report = reader.into_report();
        assert!(report.events + report.malformed + report.skipped <= report.records);
        let _ = report.diagnostics();
    }
});
