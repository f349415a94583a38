//! Feeds arbitrary bytes to the loader as YAML and as JSON: it must never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_load::{Input, LoadOptions, load};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for name in ["fuzz.yaml", "fuzz.json"] {
        let loaded = load(
            &[Input::Text { name: name.to_string(), text: text.to_string() }],
            &LoadOptions::default(),
        );
        for d in loaded.diagnostics.iter().chain(&loaded.findings) {
            if let Some(span) = d.span {
                let _ = loaded.model.sources.location(span);
            }
        }
    }
});
