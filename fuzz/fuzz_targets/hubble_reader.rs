//! Hubble JSON lines (and the other line formats) must never panic the reader or the
//! session builder, whatever the bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_flows::{FlowReader, Format, ReadOptions, SessionConfig, sessionize};

fuzz_target!(|data: &[u8]| {
    let (format, body) = match data.split_first() {
        Some((b, rest)) => (
            match b % 5 {
                0 => Some(Format::Hubble),
                1 => Some(Format::VpcFlowLog),
                2 => Some(Format::Csv),
                3 => Some(Format::Jsonl),
                _ => None,
            },
            rest,
        ),
        None => (None, data),
    };
    let opts = ReadOptions { format, ..ReadOptions::default() };
    if let Ok(mut reader) = FlowReader::new("fuzz", body, &opts) {
        let _ = sessionize(&mut reader, SessionConfig::default(), |s| {
            assert!(s.last_seen_ns >= s.start_ns);
        });
        let report = reader.into_report();
        assert!(report.events + report.malformed + report.skipped <= report.records);
        let _ = report.diagnostics();
    }
});
