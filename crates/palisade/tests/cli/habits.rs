//! kubectl and hubble habits (#10): one `-o` vocabulary, `-n`/`-A`/`-l`/`--no-headers`,
//! ports by number, name or NUM/PROTO, hubble's replay filters. One test per flag family.

use crate::support::palisade;

const SHOP: &str = "examples/webshop";
const PCAP: &str = "examples/webshop-traffic/capture.pcap";
const HUBBLE: &str = "examples/webshop-traffic/capture.jsonl";
const CLUSTER: [&str; 2] = ["examples/webshop", "examples/webshop-traffic/cluster"];

fn json_of(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

fn yaml_of(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}"))
}

/// `-o yaml` is the `-o json` document, on every command that has JSON.
#[test]
fn yaml_is_the_json_document_everywhere() {
    let check = [
        "check",
        SHOP,
        "--from",
        "shop/checkout",
        "--to",
        "payments/payments-api",
        "--port",
        "8080",
    ];
    let lines: Vec<Vec<&str>> = vec![
        check.to_vec(),
        vec!["matrix", SHOP, "--port", "8080", "--level", "workload"],
        vec!["connectivity", SHOP],
        vec!["lint", SHOP],
        vec!["audit", SHOP],
        vec!["diff", SHOP, "examples/webshop-fixed", "--overlay"],
        [&["replay", PCAP, "--cluster"][..], &CLUSTER[..]].concat(),
        [&["map", PCAP, "--cluster"][..], &CLUSTER[..]].concat(),
    ];
    for line in lines {
        let json = palisade(&[&line[..], &["-o", "json"]].concat(), None);
        let yaml = palisade(&[&line[..], &["-o", "yaml"]].concat(), None);
        assert_eq!(json.code, yaml.code, "{line:?}: {}", yaml.stderr);
        assert!(
            !yaml.stdout.trim_start().starts_with('{'),
            "{line:?}: not YAML"
        );
        assert_eq!(yaml_of(&yaml.stdout), json_of(&json.stdout), "{line:?}");
        // `yml` is an alias.
        let yml = palisade(&[&line[..], &["-o", "yml"]].concat(), None);
        assert_eq!(yml.stdout, yaml.stdout, "{line:?}");
    }
}

/// The old per-command names still work and print what `text` prints; `wide` is accepted
/// wherever `text` is; a name a command does not have lists the command's own.
#[test]
fn one_output_vocabulary_with_the_old_names_as_aliases() {
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (
            vec!["matrix", SHOP, "--port", "8080", "--level", "workload"],
            &["table", "txt"],
        ),
        (vec!["connectivity", SHOP], &["txt"]),
        (vec!["lint", SHOP], &["human", "txt"]),
        (vec!["audit", SHOP], &["table"]),
        (
            vec!["diff", SHOP, "examples/webshop-fixed", "--overlay"],
            &["txt"],
        ),
        (
            [&["replay", PCAP, "--cluster"][..], &CLUSTER[..]].concat(),
            &["txt"],
        ),
        (
            [&["map", PCAP, "--cluster"][..], &CLUSTER[..]].concat(),
            &["txt"],
        ),
    ];
    for (line, aliases) in cases {
        let text = palisade(&[&line[..], &["-o", "text"]].concat(), None);
        let default = palisade(&line, None);
        assert_eq!(text.stdout, default.stdout, "{line:?}: text is the default");
        for alias in aliases {
            let old = palisade(&[&line[..], &["-o", alias]].concat(), None);
            assert_eq!(old.stdout, text.stdout, "{line:?} -o {alias}");
        }
        let wide = palisade(&[&line[..], &["-o", "wide"]].concat(), None);
        assert_eq!(wide.code, text.code, "{line:?} -o wide: {}", wide.stderr);
    }
    let run = palisade(&["audit", SHOP, "-o", "svg"], None);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "palisade: error: unsupported output format `svg`: expected one of text, wide, json, yaml, md\n"
    );
    let run = palisade(&["lint", SHOP, "-o", "dot"], None);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("expected one of text, concise, json, yaml, sarif, github"),
        "{}",
        run.stderr
    );
}
