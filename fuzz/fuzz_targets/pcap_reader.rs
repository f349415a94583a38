//! pcap and pcapng captures must never panic the reader or the session builder. The first
//! byte picks a valid pcap header (link type, resolution) so the fuzzer reaches the packets.

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_flows::{FlowReader, ReadOptions, SessionConfig, sessionize};

const LINKS: [u32; 7] = [1, 113, 276, 101, 228, 229, 1];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else { return };
    let mut file = Vec::with_capacity(data.len() + 24);
    match choice % 3 {
        // A classic pcap header, then fuzzed records.
        0 | 1 => {
            let magic: u32 = if choice & 0x80 != 0 { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
            file.extend_from_slice(&magic.to_le_bytes());
            file.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0]);
            file.extend_from_slice(&LINKS[usize::from(choice >> 4) % LINKS.len()].to_le_bytes());
        }
        // Raw bytes: pcapng (or anything) as given.
        _ => {}
    }
    file.extend_from_slice(rest);
    if let Ok(mut reader) = FlowReader::new("fuzz", &file[..], &ReadOptions::default()) {
        let _ = sessionize(&mut reader, SessionConfig::default(), |_| {});
        let _ = reader.report().diagnostics();
    }
});
