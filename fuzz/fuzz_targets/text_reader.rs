//! CSV and JSONL connection lists must never panic the reader or the session builder,
//! whatever the bytes. The first byte picks the format (even: CSV, odd: JSONL).

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_flows::{FlowReader, Format, ReadOptions, SessionConfig, sessionize};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let format = if pick % 2 == 0 { Format::Csv } else { Format::Jsonl };
    let opts = ReadOptions {
        format: Some(format),
        ..ReadOptions::default()
    };
    if let Ok(mut reader) = FlowReader::new("fuzz", body, &opts) {
        let _ = sessionize(&mut reader, SessionConfig::default(), |s| {
            assert!(s.last_seen_ns >= s.start_ns);
        });
        let report = reader.into_report();
        assert!(report.events + report.malformed + report.skipped <= report.records);
        let _ = report.diagnostics();
    }
});
