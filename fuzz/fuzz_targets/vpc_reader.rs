//! AWS VPC flow logs (default version 2 format, or any field order a header gives) must never
//! panic the reader or the session builder, whatever the bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_flows::{FlowReader, Format, ReadOptions, SessionConfig, sessionize};

fuzz_target!(|data: &[u8]| {
    let opts = ReadOptions {
        format: Some(Format::VpcFlowLog),
        ..ReadOptions::default()
    };
    if let Ok(mut reader) = FlowReader::new("fuzz", data, &opts) {
        let _ = sessionize(&mut reader, SessionConfig::default(), |s| {
            assert!(s.last_seen_ns >= s.start_ns);
        });
        let report = reader.into_report();
        assert!(report.events + report.malformed + report.skipped <= report.records);
        let _ = report.diagnostics();
    }
});
