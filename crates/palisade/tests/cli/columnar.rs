//! `palisade convert` and Parquet in `palisade replay` (#18): every capture format converts,
//! replay on the Parquet file equals replay on the source, `-o parquet` writes the sessions.

use crate::support::{palisade, root};
use insta::assert_snapshot;

const CLUSTER: [&str; 3] = [
    "--cluster",
    "examples/webshop",
    "examples/webshop-traffic/cluster",
];

/// Converts `capture` into a temporary Parquet file; returns the directory and the path.
fn convert(capture: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flows.parquet").display().to_string();
    let run = palisade(&["convert", capture, "-o", &out], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("written to"), "{}", run.stderr);
    (dir, out)
}

fn replay(capture: &str, extra: &[&str]) -> crate::support::Run {
    let mut args = vec!["replay", capture];
    args.extend(CLUSTER);
    args.extend(["--color", "never"]);
    args.extend(extra);
    palisade(&args, None)
}

/// The JSON report without its `inputs` (which name the file and its format).
fn without_inputs(json: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["summary"]["inputs"] = serde_json::Value::Null;
    v
}

#[test]
fn replay_on_parquet_equals_replay_on_the_source() {
    for capture in [
        "examples/webshop-traffic/capture.pcap",
        "examples/webshop-traffic/capture.jsonl",
    ] {
        let (_dir, parquet) = convert(capture);
        for extra in [
            &["-o", "json"][..],
            &[
                "-o",
                "json",
                "--proposed",
                "examples/webshop-traffic/proposal",
                "--overlay",
            ],
        ] {
            let want = replay(capture, extra);
            let got = replay(&parquet, extra);
            assert_eq!(got.code, want.code, "{}", got.stderr);
            assert_eq!(got.stderr, want.stderr);
            assert_eq!(
                without_inputs(&got.stdout),
                without_inputs(&want.stdout),
                "{capture}"
            );
            let v: serde_json::Value = serde_json::from_str(&got.stdout).unwrap();
            assert_eq!(v["summary"]["inputs"][0]["format"], "parquet");
        }
    }
}

#[test]
fn parquet_timeline_txt() {
    let (dir, parquet) = convert("examples/webshop-traffic/capture.pcap");
    let run = replay(&parquet, &[]);
    let text = run
        .snapshot()
        .replace(&dir.path().display().to_string(), "TMP");
    assert_snapshot!(text);
}

#[test]
fn sessions_as_parquet() {
    let (dir, parquet) = convert("examples/webshop-traffic/capture.jsonl");
    let out = dir.path().join("sessions.parquet");
    let run = replay(&parquet, &["-o", "parquet", "-O", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    let file = std::fs::File::open(&out).unwrap();
    let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
    use parquet::file::reader::FileReader;
    let meta = reader.metadata();
    let json = replay(&parquet, &["-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        meta.file_metadata().num_rows(),
        v["sessions"].as_array().unwrap().len() as i64
    );
    let columns: Vec<&str> = meta
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name())
        .collect();
    assert_eq!(
        &columns[..4],
        ["start_ns", "last_seen_ns", "decided_ns", "protocol"]
    );
    // Not with another format.
    let run = replay(&parquet, &["-o", "json", "-O", out.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--out-file is for -o parquet"),
        "{}",
        run.stderr
    );
}

#[test]
fn convert_reads_every_capture_format_and_concatenates() {
    let dir = tempfile::tempdir().unwrap();
    let vpc = dir.path().join("flows.vpc");
    std::fs::write(
        &vpc,
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n\
         2 123456789010 eni-1 10.0.1.5 10.0.2.9 49152 5432 6 10 840 1700000000 1700000060 ACCEPT OK\n\
         2 123456789010 eni-3 - - - - - - - 1700000000 1700000060 - NODATA\n",
    )
    .unwrap();
    let csv = dir.path().join("conns.csv");
    std::fs::write(
        &csv,
        "time,src,dst,src_port,dst_port,protocol,outcome\n2026-01-01T00:00:00Z,10.0.0.1,10.0.0.2,40000,80,TCP,timed-out\n",
    )
    .unwrap();
    let out = dir.path().join("all.parquet");
    let run = palisade(
        &[
            "convert",
            vpc.to_str().unwrap(),
            csv.to_str().unwrap(),
            "examples/webshop-traffic/capture.pcap",
            "-o",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let stderr = run.stderr.replace(&dir.path().display().to_string(), "TMP");
    assert_snapshot!(stderr);
    // And Parquet converts again (a copy through the flow schema is the same file's rows).
    let again = dir.path().join("again.parquet");
    let run = palisade(
        &[
            "convert",
            out.to_str().unwrap(),
            "-o",
            again.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("156 flows from 1 input"),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_parquet_input_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("broken.parquet");
    std::fs::write(&fake, b"PAR1 this is not a parquet file").unwrap();
    let run = replay(fake.to_str().unwrap(), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("palisade: error"), "{}", run.stderr);
    let run = palisade(
        &[
            "replay",
            "-",
            "--format",
            "parquet",
            "--cluster",
            "examples/webshop",
        ],
        Some("PAR1"),
    );
    assert_eq!(run.code, 2);
    assert_snapshot!(run.stderr);
    let run = palisade(
        &[
            "convert",
            "examples/webshop-traffic/capture.pcap",
            "--format",
            "bogus",
            "-o",
            "x.parquet",
        ],
        None,
    );
    assert_eq!(run.code, 2);
    assert_snapshot!(run.stderr);
    assert!(!root().join("x.parquet").exists());
}
