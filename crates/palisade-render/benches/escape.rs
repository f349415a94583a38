//! `sanitize_output` on the text it meets most: JSON lines with nothing to escape (the byte
//! scan's fast path), a report with a few unsafe characters, and non-ASCII text whose lead
//! bytes look like unsafe ones (`é`, `→`, `…`) but are not.
//!
//! `cargo bench -p palisade-render --bench escape`.

use divan::counter::BytesCount;
use palisade_render::escape::sanitize_output;
use std::hint::black_box;

fn main() {
    divan::main();
}

/// About 1 MiB of lines shaped like `replay -o jsonl`'s.
fn jsonl() -> String {
    let line = r#"{"start":"2026-09-20T00:00:01.250Z","src":"shop/frontend","src_ip":"10.0.1.23","src_port":40312,"dst":"shop/checkout","dst_ip":"10.0.2.41","dst_port":8080,"protocol":"TCP","observed":"accepted","predicted":"accepted","decided_by":[{"direction":"ingress","policy":"shop/web","rule":0,"effect":"allows","file":"cluster.yaml","line":12}],"evidence":"syn-ack","attempts":1,"during_gap":false,"mismatch":null,"src_kind":"workload","src_workload_kind":"Deployment","dst_kind":"workload","dst_workload_kind":"Deployment"}"#;
    let mut s = String::new();
    while s.len() < 1 << 20 {
        s.push_str(line);
        s.push('\n');
    }
    s
}

#[divan::bench]
fn clean_jsonl(bencher: divan::Bencher) {
    let text = jsonl();
    bencher
        .counter(BytesCount::new(text.len()))
        .bench(|| sanitize_output(black_box(&text), false).len());
}

#[divan::bench]
fn non_ascii_but_safe(bencher: divan::Bencher) {
    let text = jsonl().replace("frontend", "frönt→end…");
    bencher
        .counter(BytesCount::new(text.len()))
        .bench(|| sanitize_output(black_box(&text), false).len());
}

#[divan::bench]
fn a_few_unsafe(bencher: divan::Bencher) {
    let text = jsonl().replacen("checkout", "check\u{9b}out\u{202e}", 64);
    bencher
        .counter(BytesCount::new(text.len()))
        .bench(|| sanitize_output(black_box(&text), false).len());
}
