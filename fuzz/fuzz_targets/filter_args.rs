//! What `palisade replay` does with filter arguments (`--from`/`--to`, `--since`/`--until`,
//! `--timeout`/`--spike-window`, `--format`, `--outcome`): any text parses or is refused, never
//! panics; a parsed address filter round-trips.

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_flows::{Format, Observed};
use palisade_replay::{PeerMatch, TimeBound, parse_duration_ns};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for arg in text.split('\0') {
        match PeerMatch::parse(arg) {
            Ok(PeerMatch::Ip(ip)) => assert_eq!(PeerMatch::parse(&ip.to_string()), Ok(PeerMatch::Ip(ip))),
            Ok(PeerMatch::Net(net)) => {
                assert_eq!(PeerMatch::parse(&net.to_string()), Ok(PeerMatch::Net(net)))
            }
            Ok(_) | Err(_) => {}
        }
        let _ = TimeBound::parse(arg);
        if let Some(ns) = parse_duration_ns(arg) {
            assert!(ns >= 0);
        }
        let _ = Format::parse(arg);
        let _ = Observed::parse(arg);
    }
});
