//! `palisade replay`: every output format on the example traffic, what-if, spikes, filters,
//! bad input.

use crate::support::palisade;
use insta::assert_snapshot;

const PCAP: &str = "examples/webshop-traffic/capture.pcap";
const HUBBLE: &str = "examples/webshop-traffic/capture.jsonl";
const CLUSTER: [&str; 3] = [
    "--cluster",
    "examples/webshop",
    "examples/webshop-traffic/cluster",
];

fn replay(capture: &str, extra: &[&str], stdin: Option<&str>) -> crate::support::Run {
    let mut args = vec!["replay", capture];
    args.extend(CLUSTER);
    args.extend(["--color", "never"]);
    args.extend(extra);
    palisade(&args, stdin)
}

#[test]
fn pcap_timeline_txt() {
    assert_snapshot!(replay(PCAP, &[], None).snapshot());
}

#[test]
fn hubble_timeline_txt() {
    // Hubble names the frontend pod missing from the cluster export: no address mismatch.
    assert_snapshot!(replay(HUBBLE, &[], None).snapshot());
}

#[test]
fn hubble_json() {
    let run = replay(HUBBLE, &["-o", "json"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let s = &v["sessions"][0];
    for key in [
        "start",
        "src",
        "src_ip",
        "src_port",
        "dst",
        "dst_ip",
        "dst_port",
        "protocol",
        "observed",
        "predicted",
        "decided_by",
    ] {
        assert!(s.get(key).is_some(), "missing {key}");
    }
    assert!(v["gaps"].is_array());
    assert!(v["summary"].is_object());
    assert_snapshot!(run.stdout);
}

#[test]
fn pcap_jsonl() {
    let run = replay(PCAP, &["-o", "jsonl"], None);
    for line in run.stdout.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    assert_snapshot!(run.snapshot());
}

#[test]
fn pcap_csv() {
    assert_snapshot!(replay(PCAP, &["-o", "csv"], None).snapshot());
}

#[test]
fn pcap_md() {
    assert_snapshot!(replay(PCAP, &["-o", "md"], None).snapshot());
}

#[test]
fn whatif_fixed_opens_and_breaks_nothing() {
    let run = replay(
        PCAP,
        &[
            "--proposed",
            "examples/webshop-fixed",
            "--overlay",
            "--fail-on-break",
            "--summary",
        ],
        None,
    );
    assert_eq!(run.code, 0);
    assert_snapshot!(run.snapshot());
}

#[test]
fn whatif_breaking_proposal_fails() {
    let run = replay(
        PCAP,
        &[
            "--proposed",
            "examples/webshop-traffic/proposal",
            "--overlay",
            "--fail-on-break",
            "--outcome",
            "accepted",
            "--to",
            "shop/catalog",
        ],
        None,
    );
    assert_eq!(run.code, 1);
    assert_snapshot!(run.snapshot());
}

#[test]
fn whatif_json_changes() {
    let run = replay(
        HUBBLE,
        &[
            "--proposed",
            "examples/webshop-traffic/proposal",
            "--overlay",
            "-o",
            "json",
            "--from",
            "shop/recommendation",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["sessions"][0]["proposed"], "timed-out");
    assert_eq!(v["changes"][0]["change"], "break");
    assert_snapshot!(run.stdout);
}

#[test]
fn filters() {
    assert_snapshot!(
        replay(
            PCAP,
            &[
                "--from",
                "shop/checkout",
                "--outcome",
                "timed-out",
                "--summary"
            ],
            None
        )
        .snapshot()
    );
    assert_snapshot!(
        replay(
            PCAP,
            &[
                "--since",
                "5s",
                "--until",
                "2026-09-20T14:56:47Z",
                "--port",
                "443"
            ],
            None
        )
        .snapshot()
    );
    assert_snapshot!(
        replay(PCAP, &["--outcome", "mismatch", "--protocol", "tcp"], None).snapshot()
    );
}

/// A CSV of sessions: a steady 2 denied per minute, then a burst of 12 from checkout.
fn spiky_csv() -> String {
    let mut s = String::from("time,src,dst,src_port,dst_port,protocol,outcome\n");
    for minute in 0..8 {
        let burst = minute == 6;
        for i in 0..if burst { 12 } else { 2 } {
            let src = if burst { "10.0.1.41" } else { "10.0.1.11" };
            let _ = std::fmt::Write::write_fmt(
                &mut s,
                format_args!(
                    "2026-09-20T15:{:02}:{:02}Z,{src},10.0.2.11,{},8080,TCP,timed-out\n",
                    minute,
                    i * 4,
                    40000 + minute * 100 + i
                ),
            );
        }
        let _ = std::fmt::Write::write_fmt(
            &mut s,
            format_args!(
                "2026-09-20T15:{minute:02}:59Z,10.0.1.11,10.0.1.31,{},8080,TCP,accepted\n",
                41000 + minute
            ),
        );
    }
    s
}

#[test]
fn spikes_txt_and_json() {
    let csv = spiky_csv();
    let run = replay("-", &["--spikes", "--summary"], Some(&csv));
    assert_snapshot!(run.snapshot());
    let run = replay(
        "-",
        &["--spikes", "-o", "json", "--spike-on", "predicted"],
        Some(&csv),
    );
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_snapshot!(serde_json::to_string_pretty(&v["spikes"]).unwrap());
    let run = replay(
        "-",
        &[
            "--spikes",
            "--spike-threshold",
            "2",
            "--summary",
            "-o",
            "md",
        ],
        Some(&csv),
    );
    assert_snapshot!(run.snapshot());
}

const HUBBLE_BAD: &str = r#"{"flow":{"time":"2026-09-20T14:56:45.000Z","verdict":"FORWARDED","IP":{"source":"10.0.1.41","destination":"10.0.1.21"},"l4":{"TCP":{"source_port":43010,"destination_port":8080,"flags":{"SYN":true}}},"traffic_direction":"EGRESS","is_reply":false},"node_name":"prod/worker-1"}
this is not json
{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"12","cpu":1},"node_name":"prod/worker-1","time":"2026-09-20T14:56:45.100Z"}
{"flow":{"time":"2026-09-20T14:56:44.500Z","verdict":"DROPPED","drop_reason_desc":"POLICY_DENIED","IP":{"source":"10.0.1.41","destination":"10.0.2.11"},"l4":{"TCP":{"source_port":43020,"destination_port":8080,"flags":{"SYN":true}}},"traffic_direction":"INGRESS","is_reply":false},"node_name":"prod/worker-3"}
{"flow": {"time": 
"#;

#[test]
fn malformed_lines_gaps_and_out_of_order_are_reported() {
    let run = replay("-", &[], Some(HUBBLE_BAD));
    assert_eq!(run.code, 0);
    assert_snapshot!(run.snapshot());
    let run = replay("-", &["-o", "json", "--summary"], Some(HUBBLE_BAD));
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_snapshot!(serde_json::to_string_pretty(&(&v["gaps"], &v["summary"]["inputs"])).unwrap());
}

#[test]
fn strict_makes_malformed_lines_fatal() {
    assert_snapshot!(replay("-", &["--strict"], Some(HUBBLE_BAD)).snapshot());
}

#[test]
fn unknown_format_is_an_input_error() {
    assert_snapshot!(replay("-", &[], Some("hello world\n")).snapshot());
}

#[test]
fn truncated_pcap_keeps_the_sessions_so_far() {
    assert_snapshot!(
        replay(
            "crates/palisade/tests/cli/data/replay/truncated.pcap",
            &[],
            None
        )
        .snapshot()
    );
}

#[test]
fn reject_dataplane_predicts_refused() {
    let run = replay(
        PCAP,
        &[
            "--deny-action",
            "reject",
            "-o",
            "csv",
            "--outcome",
            "timed-out",
        ],
        None,
    );
    assert_snapshot!(run.snapshot());
}

#[test]
fn demo_replays_the_example_traffic() {
    let run = palisade(&["demo", "--color", "never"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let step = &run.stdout[run.stdout.find("5. Replaying").expect("replay step")..];
    // Up to step 7 (guardrails: core.rs; map and generate: discover.rs; the kernel: conntest.rs).
    let step = step.split("7. Cluster guardrails").next().unwrap_or(step);
    assert_snapshot!(step);
}

#[test]
fn hubble_flows_without_ip_are_counted_in_the_report() {
    // An L7 flow as Hubble emits it for proxied traffic: pod names and ports, no `IP` section.
    let l7 = r#"{"flow":{"time":"2026-09-20T14:56:40.100Z","verdict":"FORWARDED","l4":{"TCP":{"source_port":40990,"destination_port":8080}},"source":{"namespace":"shop","pod_name":"frontend-7d9c"},"destination":{"namespace":"shop","pod_name":"catalog-5b8f"},"Type":"L7","l7":{"type":"REQUEST","http":{"method":"GET","url":"http://catalog/"}}},"time":"2026-09-20T14:56:40.100Z"}"#;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let capture = std::fs::read_to_string(root.join(HUBBLE)).unwrap();
    let input = format!("{l7}\n{capture}");
    let run = replay("-", &[], Some(&input));
    assert_eq!(run.code, 0);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("1 flow without an IP section (L7, sock-trace) not replayed"),
        "{all}"
    );
    let run = replay("-", &["-o", "json", "--summary"], Some(&input));
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["summary"]["inputs"][0]["flows_without_ip"], 1);
    // Without such flows the field stays absent (the shape of existing outputs is unchanged).
    let run = replay("-", &["-o", "json", "--summary"], Some(&capture));
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(v["summary"]["inputs"][0].get("flows_without_ip").is_none());
}

/// A Hubble capture of `n` connection attempts from the example cluster's addresses, some
/// answered, spread over time so that sessions end throughout the read.
fn many_hubble_flows(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        let (second, milli) = (i / 1000, i % 1000);
        let port = 30000 + (i % 20000);
        let dst_port = [8080, 6379, 5432, 53][i % 4];
        let verdict = if i % 3 == 0 { "DROPPED" } else { "FORWARDED" };
        out.push_str(&format!(
            r#"{{"flow":{{"time":"2026-09-20T14:{:02}:{:02}.{milli:03}Z","verdict":"{verdict}","IP":{{"source":"10.0.1.41","destination":"10.0.1.21"}},"l4":{{"TCP":{{"source_port":{port},"destination_port":{dst_port},"flags":{{"SYN":true}}}}}},"traffic_direction":"EGRESS","is_reply":false}},"node_name":"prod/worker-1"}}"#,
            10 + second / 60,
            second % 60,
        ));
        out.push('\n');
        if i % 2 == 0 {
            out.push_str(&format!(
                r#"{{"flow":{{"time":"2026-09-20T14:{:02}:{:02}.{milli:03}Z","verdict":"FORWARDED","IP":{{"source":"10.0.1.21","destination":"10.0.1.41"}},"l4":{{"TCP":{{"source_port":{dst_port},"destination_port":{port},"flags":{{"SYN":true,"ACK":true}}}}}},"traffic_direction":"INGRESS","is_reply":true}},"node_name":"prod/worker-1"}}"#,
                10 + second / 60,
                second % 60,
            ));
            out.push('\n');
        }
        // Gaps in the record and lines the reader rejects, in the middle of the sessions:
        // flagged sessions and the read report must come out the same on every thread count.
        if i % 1500 == 700 {
            out.push_str(&format!(
                r#"{{"lost_events":{{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":"{}","cpu":1}},"node_name":"prod/worker-1","time":"2026-09-20T14:{:02}:{:02}.{milli:03}Z"}}"#,
                i / 100,
                10 + second / 60,
                second % 60,
            ));
            out.push_str("\n{not json\n\n");
        }
    }
    out
}

#[test]
fn two_threads_give_the_output_of_one() {
    // More sessions than one batch handed between the threads, and ≈ 4.5 MB: many chunks
    // of lines parsed in parallel.
    let capture = many_hubble_flows(9000);
    // A file, so that `--since 5s` (the capture's last five seconds) can find the end in a
    // first pass before the two threads start.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("capture.jsonl");
    std::fs::write(&file, &capture).unwrap();
    let file = file.to_str().unwrap();
    for extra in [
        &["-o", "jsonl"][..],
        &["-o", "json"],
        &["-o", "csv"],
        &["--summary"],
        &["-o", "jsonl", "--since", "5s", "--outcome", "timed-out"],
        &["-o", "jsonl", "--since", "+3s", "--until", "+6s"],
        &["-o", "jsonl", "--verdict", "DROPPED"],
        &["-o", "text"],
        &["-o", "md"],
        &["-o", "yaml", "--spikes"],
    ] {
        let run = |threads: &str| {
            let mut args = vec!["--threads", threads];
            args.extend(extra);
            replay(file, &args, None)
        };
        let (one, two) = (run("1"), run("2"));
        assert_eq!(one.code, two.code, "{extra:?}: {}", two.stderr);
        assert!(one.stdout.lines().count() > 2, "{extra:?}: {}", one.stderr);
        assert_eq!(one.stdout, two.stdout, "{extra:?}");
        assert_eq!(one.stderr, two.stderr, "{extra:?}");
        if extra == ["-o", "json"] {
            // The gaps and the malformed lines are there to be compared.
            assert!(
                one.stdout.contains("\"during_gap\": true"),
                "{}",
                one.stdout
            );
            assert!(one.stderr.contains("malformed"), "{}", one.stderr);
        }
    }
}

/// domainNames in replay: an address a Hubble DNS answer names is decided by the
/// ClusterNetworkPolicy's domainNames rule (accepted), one no answer names depends on DNS
/// (marked, and not called a mismatch).
#[test]
fn replay_resolves_domain_names_from_dns_answers() {
    let args = |format: &str| {
        palisade(
            &[
                "replay",
                "crates/palisade/tests/cli/data/tiers-dns/capture.jsonl",
                "--cluster",
                "crates/palisade/tests/cli/data/tiers-dns/cluster.yaml",
                "--color",
                "never",
                "-o",
                format,
            ],
            None,
        )
    };
    let text = args("text");
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert_snapshot!(text.snapshot());
    let run = args("json");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let by_dst = |ip: &str| {
        v["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["dst_ip"] == ip)
            .unwrap_or_else(|| panic!("{ip}"))
            .clone()
    };
    let registry = by_dst("203.0.113.9");
    assert_eq!(registry["predicted"], "accepted");
    assert_eq!(registry["dns_names"][0], "registry.example.com");
    assert!(registry.get("depends_on_dns").is_none());
    assert_eq!(registry["decided_by"][0]["tier"], "Admin");
    let unknown = by_dst("198.51.100.7");
    assert_eq!(unknown["depends_on_dns"], true);
    assert!(unknown["mismatch"].is_null());
}

/// Names learned from DNS answers reach the replaying thread in reading order: two threads
/// decide domainNames rules as one does.
#[test]
fn two_threads_resolve_domain_names_as_one() {
    let run = |threads: &str| {
        palisade(
            &[
                "replay",
                "crates/palisade/tests/cli/data/tiers-dns/capture.jsonl",
                "--cluster",
                "crates/palisade/tests/cli/data/tiers-dns/cluster.yaml",
                "--threads",
                threads,
                "-o",
                "jsonl",
            ],
            None,
        )
    };
    let (one, two) = (run("1"), run("2"));
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert!(
        one.stdout.contains("registry.example.com"),
        "{}",
        one.stdout
    );
    assert_eq!(one.stdout, two.stdout);
}

/// A pcap (Ethernet, µs) written by hand for the test: a pod asks kube-dns for
/// `api.example.com` (UDP) and, if `answered`, gets `203.0.113.5` back (through a CNAME), then
/// opens a TCP connection to that address that the server accepts.
fn dns_pcap(answered: bool) -> Vec<u8> {
    use simple_dns::rdata::{A, CNAME, RData};
    use simple_dns::{CLASS, Name, Packet, Question, ResourceRecord, TYPE};
    const POD: [u8; 4] = [10, 0, 1, 11];
    const KUBE_DNS: [u8; 4] = [10, 96, 0, 10];
    const API: [u8; 4] = [203, 0, 113, 5];
    let frame = |src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]| {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0];
        f.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(l4);
        f
    };
    let udp = |sport: u16, dport: u16, payload: &[u8]| {
        let mut u = Vec::new();
        for v in [sport, dport, (8 + payload.len()) as u16, 0] {
            u.extend_from_slice(&v.to_be_bytes());
        }
        u.extend_from_slice(payload);
        u
    };
    let tcp = |sport: u16, dport: u16, flags: u8| {
        let mut t = vec![0u8; 20];
        t[0..2].copy_from_slice(&sport.to_be_bytes());
        t[2..4].copy_from_slice(&dport.to_be_bytes());
        t[12] = 5 << 4;
        t[13] = flags;
        t
    };
    let question = Question::new(
        Name::new_unchecked("api.example.com"),
        TYPE::A.into(),
        CLASS::IN.into(),
        false,
    );
    let mut query = Packet::new_query(7);
    query.questions.push(question.clone());
    let mut reply = Packet::new_reply(7);
    reply.questions.push(question);
    let record =
        |owner, rdata| ResourceRecord::new(Name::new_unchecked(owner), CLASS::IN, 30, rdata);
    reply.answers.push(record(
        "api.example.com",
        RData::CNAME(CNAME(Name::new_unchecked("api.edge.example.net"))),
    ));
    reply.answers.push(record(
        "api.edge.example.net",
        RData::A(A::from(std::net::Ipv4Addr::from(API))),
    ));
    let mut frames = vec![frame(
        POD,
        KUBE_DNS,
        17,
        &udp(40000, 53, &query.build_bytes_vec().unwrap()),
    )];
    if answered {
        let answer = reply.build_bytes_vec_compressed().unwrap();
        frames.push(frame(KUBE_DNS, POD, 17, &udp(53, 40000, &answer)));
    }
    frames.push(frame(POD, API, 6, &tcp(41000, 443, 0x02)));
    frames.push(frame(API, POD, 6, &tcp(443, 41000, 0x12)));
    frames.push(frame(POD, API, 6, &tcp(41000, 443, 0x10)));
    let mut file = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        file.extend_from_slice(&v.to_le_bytes());
    }
    for (i, f) in frames.iter().enumerate() {
        let at_us = 1_796_000_000_000_000u64 + 100_000 * i as u64;
        for v in [
            (at_us / 1_000_000) as u32,
            (at_us % 1_000_000) as u32,
            f.len() as u32,
            f.len() as u32,
        ] {
            file.extend_from_slice(&v.to_le_bytes());
        }
        file.extend_from_slice(f);
    }
    file
}

/// domainNames in replay from a pcap: the DNS response in the capture names the address the
/// pod then connects to, so the ClusterNetworkPolicy's domainNames rule decides (accepted);
/// without the response, the same connection depends on DNS, as with Hubble.
#[test]
fn replay_resolves_domain_names_from_dns_answers_in_a_pcap() {
    let dir = tempfile::tempdir().unwrap();
    let run = |answered: bool| {
        let path = dir.path().join(format!("dns-{answered}.pcap"));
        std::fs::write(&path, dns_pcap(answered)).unwrap();
        let run = palisade(
            &[
                "replay",
                path.to_str().unwrap(),
                "--cluster",
                "crates/palisade/tests/cli/data/tiers-dns-pcap/cluster.yaml",
                "-o",
                "json",
            ],
            None,
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let sessions = v["sessions"].as_array().unwrap().clone();
        let api = sessions
            .iter()
            .find(|s| s["dst_ip"] == "203.0.113.5")
            .unwrap_or_else(|| panic!("{}", run.stdout))
            .clone();
        (api, sessions, run.stderr)
    };

    let (api, sessions, stderr) = run(true);
    assert!(!stderr.contains("DNS"), "{stderr}");
    assert_eq!(api["observed"], "accepted", "{api}");
    assert_eq!(api["predicted"], "accepted", "{api}");
    assert_eq!(api["dns_names"], serde_json::json!(["api.example.com"]));
    assert!(api.get("depends_on_dns").is_none(), "{api}");
    assert!(api["mismatch"].is_null(), "{api}");
    assert_eq!(api["decided_by"][0]["tier"], "Admin", "{api}");
    let decided = api["decided_by"][0].to_string();
    assert!(
        decided.contains("api-only") && decided.contains("api"),
        "{decided}"
    );
    // The DNS exchange itself is allowed by the dns rule.
    let dns = sessions
        .iter()
        .find(|s| s["dst_ip"] == "10.96.0.10")
        .unwrap();
    assert_eq!(dns["predicted"], "accepted", "{dns}");

    let (api, _, _) = run(false);
    assert_eq!(api["depends_on_dns"], true, "{api}");
    assert!(api.get("dns_names").is_none_or(|n| n.is_null()), "{api}");
    assert!(api["mismatch"].is_null(), "{api}");

    // Names learned from packets reach the replaying thread in reading order too.
    let path = dir.path().join("dns-true.pcap");
    let jsonl = |threads: &str| {
        palisade(
            &[
                "replay",
                path.to_str().unwrap(),
                "--cluster",
                "crates/palisade/tests/cli/data/tiers-dns-pcap/cluster.yaml",
                "--threads",
                threads,
                "-o",
                "jsonl",
            ],
            None,
        )
        .stdout
    };
    let one = jsonl("1");
    assert!(one.contains("api.example.com"), "{one}");
    assert_eq!(one, jsonl("2"));

    // The timeline, as users read it (the temporary path replaced).
    for answered in [true, false] {
        let path = dir.path().join(format!("dns-{answered}.pcap"));
        let text = palisade(
            &[
                "replay",
                path.to_str().unwrap(),
                "--cluster",
                "crates/palisade/tests/cli/data/tiers-dns-pcap/cluster.yaml",
                "--color",
                "never",
            ],
            None,
        );
        assert_eq!(text.code, 0, "{}", text.stderr);
        let shown = text
            .snapshot()
            .replace(path.to_str().unwrap(), "capture.pcap");
        assert_snapshot!(format!("pcap_dns_answered_{answered}"), shown);
    }
}

/// Runs `replay` as [`replay`] does, keeping at most `keep` sessions in memory before they go
/// to sorted runs on disk.
fn replay_keeping(keep: &str, capture: &str, extra: &[&str]) -> crate::support::Run {
    let mut args = vec!["replay", capture];
    args.extend(CLUSTER);
    args.extend(["--color", "never"]);
    args.extend(extra);
    crate::support::palisade_with_env(&args, None, &[("PALISADE_REPLAY_SESSIONS_IN_MEMORY", keep)])
}

#[test]
fn reports_merged_from_runs_on_disk_are_the_in_memory_ones() {
    // 23 sessions, two in memory at a time: twelve runs, merged.
    for extra in [
        &["-o", "text"][..],
        &["-o", "json"],
        &["-o", "yaml"],
        &["-o", "csv"],
        &["-o", "md"],
        &["-o", "json", "--summary"],
        &["-o", "text", "--spikes"],
        &[
            "-o",
            "yaml",
            "--proposed",
            "examples/webshop-fixed",
            "--overlay",
        ],
        &[
            "-o",
            "md",
            "--proposed",
            "examples/webshop-fixed",
            "--overlay",
        ],
        &[
            "-o",
            "csv",
            "--proposed",
            "examples/webshop-fixed",
            "--overlay",
        ],
    ] {
        for capture in [PCAP, HUBBLE] {
            let whole = replay(capture, extra, None);
            let merged = replay_keeping("2", capture, extra);
            assert_eq!(whole.code, 0, "{extra:?}: {}", whole.stderr);
            assert!(
                whole.stdout.lines().count() > 20,
                "{extra:?}: {}",
                whole.stdout
            );
            assert_eq!(whole.stdout, merged.stdout, "{capture} {extra:?}");
            assert_eq!(whole.stderr, merged.stderr, "{capture} {extra:?}");
        }
    }
    // Colour codes survive the runs as they survive sanitizing the whole report.
    let args = ["--color", "always"];
    assert_eq!(
        replay(PCAP, &args, None).stdout,
        replay_keeping("3", PCAP, &args).stdout
    );
}

#[test]
fn many_runs_are_merged_in_stages() {
    // 9000 sessions, seven in memory at a time: ≈ 1300 runs, merged 64 at a time as they
    // pile up, then once more with the report's frame.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("capture.jsonl");
    std::fs::write(&file, many_hubble_flows(9000)).unwrap();
    let file = file.to_str().unwrap();
    for extra in [&["-o", "json"][..], &["-o", "text"]] {
        let whole = replay(file, extra, None);
        let merged = replay_keeping("7", file, extra);
        assert!(whole.stdout.lines().count() > 9000, "{extra:?}");
        assert_eq!(whole.stdout, merged.stdout, "{extra:?}");
    }
}

#[test]
fn a_missing_temporary_directory_says_how_to_go_on() {
    let mut args = vec!["replay", PCAP];
    args.extend(CLUSTER);
    args.extend(["-o", "json"]);
    let run = crate::support::palisade_with_env(
        &args,
        None,
        &[
            ("PALISADE_REPLAY_SESSIONS_IN_MEMORY", "2"),
            ("TMPDIR", "/nonexistent/palisade-test"),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("/nonexistent/palisade-test"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("set TMPDIR"), "{}", run.stderr);
    assert!(run.stderr.contains("-o jsonl"), "{}", run.stderr);
}
