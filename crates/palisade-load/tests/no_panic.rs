//! Random and mutated manifests never make the loader panic.

use palisade_load::{Input, LoadOptions, load};
use proptest::prelude::*;

const SEEDS: &[&str] = &[
    include_str!("data/multi_doc.yaml"),
    include_str!("data/dump.yaml"),
    include_str!("data/findings.yaml"),
    include_str!("data/list.json"),
    include_str!("data/podlist.yaml"),
];

/// Fragments that exercise the converter's type checks when spliced into a manifest.
const FRAGMENTS: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    ": ",
    "- ",
    "\n",
    "  ",
    "---\n",
    "&a ",
    "*a",
    "~",
    "null",
    "\"",
    "'",
    "80",
    "-1",
    "99999",
    "é",
    "\t",
    "ipBlock: {cidr: ::/0}",
    "port: [1]",
    "kind: List\nitems: [",
    "#",
    "!!str ",
    "|\n  x\n",
    "\\u00e9",
    ",",
    "operator: In",
    "values: []",
    "endPort: 1",
];

fn mutate(seed: &str, edits: &[(usize, usize, usize)]) -> String {
    let mut text = seed.to_string();
    for &(at, cut, frag) in edits {
        let mut at = at % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let mut end = (at + cut % 8).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        text.replace_range(at..end, FRAGMENTS[frag % FRAGMENTS.len()]);
    }
    text
}

fn run(name: &str, text: String) {
    let loaded = load(
        &[Input::Text {
            name: name.to_string(),
            text,
        }],
        &LoadOptions::default(),
    );
    for d in loaded.diagnostics.iter().chain(&loaded.findings) {
        if let Some(span) = d.span {
            let _ = loaded.model.sources.location(span);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mutated_manifests_do_not_panic(
        seed in 0..SEEDS.len(),
        edits in prop::collection::vec((any::<usize>(), any::<usize>(), any::<usize>()), 1..12),
    ) {
        let name = if SEEDS[seed].starts_with('{') { "m.json" } else { "m.yaml" };
        run(name, mutate(SEEDS[seed], &edits));
    }

    #[test]
    fn random_text_does_not_panic(text in "[ -~\n\t]{0,300}") {
        run("r.yaml", text.clone());
        run("r.json", text);
    }
}
