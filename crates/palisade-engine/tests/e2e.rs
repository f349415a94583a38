//! The upstream Kubernetes e2e NetworkPolicy truth tables (namespaces x, y, z × pods a, b, c),
//! as data in `tests/data/e2e/<case>/`: every case's expected tables must be reproduced.

use palisade_engine::connectivity::Level;
use palisade_engine::{Engine, matrix};
use palisade_load::{Input, LoadOptions, load};
use palisade_model::Protocol;
use std::path::{Path, PathBuf};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/e2e")
}

/// (port, protocol, table text) per `# port P PROTO` header.
fn expected_tables(text: &str) -> Vec<(u16, Protocol, String)> {
    let mut tables = Vec::new();
    for block in text.split("# port ").skip(1) {
        let (header, body) = block.split_once('\n').expect("header line");
        let mut parts = header.split_whitespace();
        let port: u16 = parts.next().unwrap().parse().unwrap();
        let protocol = Protocol::parse(parts.next().unwrap()).unwrap();
        let table: String = body
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| format!("{}\n", l.trim_end()))
            .collect();
        tables.push((port, protocol, table));
    }
    tables
}

#[test]
fn upstream_truth_tables_are_reproduced() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(data())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("policies.yaml").is_file())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 50,
        "expected the e2e cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    let mut tables = 0;
    for case in &cases {
        let loaded = load(
            &[
                Input::Path(data().join("model.yaml")),
                Input::Path(case.join("policies.yaml")),
            ],
            &LoadOptions::default(),
        );
        assert!(
            !loaded.has_errors(),
            "{}: {:?}",
            case.display(),
            loaded.diagnostics
        );
        let engine = Engine::new(&loaded.model);
        let expected = std::fs::read_to_string(case.join("expected.txt")).unwrap();
        for (port, protocol, want) in expected_tables(&expected) {
            tables += 1;
            let got = matrix::compute(&loaded.model, &engine, Level::Pod, protocol, port);
            let got = palisade_render_table(&got);
            if got != want {
                failures.push(format!(
                    "{} ({port}/{protocol}):\nexpected:\n{want}got:\n{got}",
                    case.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    assert!(tables >= cases.len());
    assert!(
        failures.is_empty(),
        "{} of {tables} tables differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The upstream tab-separated rendering (kept here so the engine's tests need no renderer).
fn palisade_render_table(m: &matrix::Matrix) -> String {
    let mut out = format!("-\t{}\n", m.peers.join("\t"));
    for (peer, row) in m.peers.iter().zip(&m.allowed) {
        let cells: Vec<&str> = row.iter().map(|&b| if b { "." } else { "X" }).collect();
        out.push_str(&format!("{peer}\t{}\n", cells.join("\t")));
    }
    out
}
