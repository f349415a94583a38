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

/// `-n` narrows the answer to a namespace (the verdicts stay those of the whole input);
/// `-l` to pods matching a kubectl selector; `--no-headers` drops table headers.
#[test]
fn namespace_selector_and_no_headers() {
    // connectivity: only pairs with an end in `payments`.
    let all = palisade(&["connectivity", SHOP, "-o", "csv"], None);
    let payments = palisade(&["connectivity", SHOP, "-n", "payments", "-o", "csv"], None);
    assert_eq!(payments.code, 0, "{}", payments.stderr);
    let rows: Vec<&str> = payments.stdout.lines().skip(1).collect();
    assert!(!rows.is_empty());
    for row in &rows {
        assert!(row.contains("payments/"), "{row}");
        assert!(
            all.stdout.lines().any(|l| l == *row),
            "{row} is a row of the whole answer"
        );
    }
    let expected = all.stdout.lines().skip(1).filter(|l| {
        let mut cells = l.split(',');
        let (src, dst) = (cells.next().unwrap(), cells.next().unwrap());
        src.starts_with("payments/") || dst.starts_with("payments/")
    });
    assert_eq!(rows, expected.collect::<Vec<_>>());
    // --no-headers drops the CSV header line only.
    let bare = palisade(
        &[
            "connectivity",
            SHOP,
            "-n",
            "payments",
            "-o",
            "csv",
            "--no-headers",
        ],
        None,
    );
    assert_eq!(bare.stdout.lines().collect::<Vec<_>>(), rows);

    // -l with set-based syntax: the matrix of the selected workloads.
    let run = palisade(
        &[
            "matrix",
            SHOP,
            "--port",
            "8080",
            "--level",
            "workload",
            "-o",
            "json",
            "-l",
            "app in (checkout,payments-api)",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let m = json_of(&run.stdout);
    assert_eq!(
        m["peers"],
        serde_json::json!(["payments/payments-api", "shop/checkout"])
    );
    // The broken connection of the example stays denied: the selection narrows rows only.
    assert_eq!(m["allowed"][1][0], serde_json::json!(false));
    let run = palisade(
        &[
            "matrix",
            SHOP,
            "--port",
            "8080",
            "-o",
            "json",
            "-l",
            "app in (checkout",
        ],
        None,
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("-l/--selector: unclosed `(`"),
        "{}",
        run.stderr
    );

    // audit -n: that namespace's row; --no-headers drops the column names.
    let run = palisade(&["audit", SHOP, "-n", "shop", "--no-headers"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(run.stdout.starts_with("shop "), "{}", run.stdout);

    // lint -n: findings on objects of other namespaces are left out.
    let all = json_of(&palisade(&["lint", SHOP, "-o", "json"], None).stdout);
    let shop = json_of(&palisade(&["lint", SHOP, "-n", "shop", "-o", "json"], None).stdout);
    let files = |v: &serde_json::Value| -> Vec<String> {
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["file"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert!(files(&shop).len() < files(&all).len(), "{shop}");
    assert!(
        files(&shop).iter().all(|f| !f.contains("/payments/")),
        "{shop}"
    );

    // diff -n: the example's one change is in `payments`; nothing in `monitoring`.
    let changed = palisade(
        &[
            "diff",
            SHOP,
            "examples/webshop-fixed",
            "--overlay",
            "-n",
            "payments",
            "-o",
            "json",
        ],
        None,
    );
    assert_eq!(
        json_of(&changed.stdout)["changes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let none = palisade(
        &[
            "diff",
            SHOP,
            "examples/webshop-fixed",
            "--overlay",
            "-n",
            "monitoring",
            "-o",
            "json",
        ],
        None,
    );
    assert_eq!(json_of(&none.stdout)["changes"], serde_json::json!([]));

    // check -n: bare names are in that namespace, as kubectl reads them.
    let qualified = palisade(
        &[
            "check",
            SHOP,
            "--from",
            "shop/checkout",
            "--to",
            "shop/cart",
            "--port",
            "8080",
        ],
        None,
    );
    let bare = palisade(
        &[
            "check", SHOP, "-n", "shop", "--from", "checkout", "--to", "cart", "--port", "8080",
        ],
        None,
    );
    assert_eq!(bare.code, qualified.code, "{}", bare.stderr);
    assert_eq!(bare.stdout, qualified.stdout);

    // An unknown namespace says so.
    let run = palisade(&["connectivity", SHOP, "-n", "nope"], None);
    assert!(
        run.stderr.contains("no namespace `nope` in the input"),
        "{}",
        run.stderr
    );
}

/// `--default-namespace` places objects without a namespace; `-n` does too when it is not
/// given (kubectl apply -n).
#[test]
fn default_namespace_for_objects_without_one() {
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {app: web}}\nspec: {containers: [{name: c, image: x}]}\n";
    let run = palisade(
        &["connectivity", "-", "-n", "team", "-o", "json"],
        Some(manifest),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("\"team/web\""), "{}", run.stdout);
    let run = palisade(
        &[
            "connectivity",
            "-",
            "--default-namespace",
            "apps",
            "-o",
            "json",
        ],
        Some(manifest),
    );
    assert!(run.stdout.contains("\"apps/web\""), "{}", run.stdout);
}

fn replay_csv(extra: &[&str]) -> Vec<String> {
    let mut args = vec!["replay", HUBBLE, "--cluster"];
    args.extend(CLUSTER);
    args.extend(["-o", "csv"]);
    args.extend(extra);
    let run = palisade(&args, None);
    assert_eq!(run.code, 0, "{extra:?}: {}", run.stderr);
    run.stdout.lines().skip(1).map(str::to_string).collect()
}

/// The column of a replay CSV row.
fn col(row: &str, name: &str) -> String {
    const COLUMNS: [&str; 8] = [
        "start", "src", "src_ip", "src_port", "dst", "dst_ip", "dst_port", "protocol",
    ];
    const OBSERVED: usize = 8;
    let cells: Vec<&str> = row.split(',').collect();
    match name {
        "observed" => cells[OBSERVED].to_string(),
        _ => cells[COLUMNS.iter().position(|c| *c == name).unwrap()].to_string(),
    }
}

/// hubble observe's flags on replay, each checked against the unfiltered rows: a flag keeps
/// exactly the rows it describes.
#[test]
fn hubble_filters_on_replay() {
    let all = replay_csv(&[]);
    assert!(all.len() > 10);
    let expect = |extra: &[&str], keep: &dyn Fn(&str) -> bool| {
        let want: Vec<String> = all.iter().filter(|r| keep(r)).cloned().collect();
        assert!(
            !want.is_empty() && want.len() < all.len(),
            "{extra:?} must narrow"
        );
        assert_eq!(replay_csv(extra), want, "{extra:?}");
    };
    expect(&["--verdict", "DROPPED"], &|r| {
        matches!(col(r, "observed").as_str(), "refused" | "timed-out")
    });
    expect(&["--verdict", "forwarded"], &|r| {
        col(r, "observed") == "accepted"
    });
    expect(&["--from-pod", "shop/checkout"], &|r| {
        col(r, "src") == "shop/checkout"
    });
    expect(&["--to-namespace", "payments"], &|r| {
        col(r, "dst").starts_with("payments/")
    });
    expect(
        &["--from-namespace", "shop", "--to-namespace", "payments"],
        &|r| col(r, "src").starts_with("shop/") && col(r, "dst").starts_with("payments/"),
    );
    expect(
        &["--to-label", "app.kubernetes.io/name in (payments-api)"],
        &|r| col(r, "dst") == "payments/payments-api",
    );
    expect(&["--to-ip", "10.0.2.0/24"], &|r| {
        col(r, "dst_ip").starts_with("10.0.2.")
    });
    expect(&["-n", "payments"], &|r| {
        col(r, "src").starts_with("payments/") || col(r, "dst").starts_with("payments/")
    });
    // Ports by number, by the destination pod's port name, and NUM/PROTO.
    expect(&["--port", "8080"], &|r| col(r, "dst_port") == "8080");
    expect(&["--port", "http", "--to-namespace", "payments"], &|r| {
        col(r, "dst_port") == "8080" && col(r, "dst").starts_with("payments/")
    });
    expect(&["--port", "53/UDP"], &|r| {
        col(r, "dst_port") == "53" && col(r, "protocol") == "UDP"
    });
    // Bad values say which flag and why.
    for (flag, value, why) in [
        ("--verdict", "AUDIT", "expected FORWARDED or DROPPED"),
        ("--port", "53/QUIC", "unknown protocol"),
        ("--from-ip", "shop/web", "not an IP address or CIDR"),
        ("--to-label", "app in (x", "unclosed"),
    ] {
        let mut args = vec!["replay", HUBBLE, "--cluster"];
        args.extend(CLUSTER);
        args.extend([flag, value]);
        let run = palisade(&args, None);
        assert_eq!(run.code, 2, "{flag} {value}");
        assert!(
            run.stderr.contains(flag) && run.stderr.contains(why),
            "{}",
            run.stderr
        );
    }
}

/// Connectivity: external fragments are merged per peer into canonical CIDR lists, and the
/// structured JSON ports say what the port strings say.
#[test]
fn external_ranges_merged_and_structured_ports() {
    let run = palisade(&["connectivity", SHOP, "-o", "json"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = json_of(&run.stdout);
    let connections = doc["connections"].as_array().unwrap();
    let external: Vec<(&str, &str)> = connections
        .iter()
        .filter(|c| c["src_kind"] == "external")
        .map(|c| (c["src"].as_str().unwrap(), c["dst"].as_str().unwrap()))
        .collect();
    // The whole address space, once per destination, instead of six fragments each.
    assert!(external.contains(&("0.0.0.0/0, ::/0", "ingress-nginx/ingress-nginx-controller")));
    let mut dsts: Vec<&str> = external.iter().map(|(_, d)| *d).collect();
    dsts.dedup();
    assert_eq!(
        dsts.len(),
        external.len(),
        "one row per peer and ports: {external:?}"
    );
    for c in connections {
        let strings: Vec<String> = c["allowed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                format!(
                    "{} {}",
                    a["protocol"].as_str().unwrap(),
                    a["ports"].as_str().unwrap()
                )
            })
            .collect();
        let mut from_ranges: Vec<String> = Vec::new();
        for r in c["ports"].as_array().unwrap() {
            let (p, from, to) = (
                r["protocol"].as_str().unwrap(),
                r["from"].as_u64().unwrap(),
                r["to"].as_u64().unwrap(),
            );
            let one = if from == to {
                from.to_string()
            } else {
                format!("{from}-{to}")
            };
            match from_ranges.last_mut() {
                Some(last) if last.starts_with(&format!("{p} ")) => {
                    last.push(',');
                    last.push_str(&one);
                }
                _ => from_ranges.push(format!("{p} {one}")),
            }
        }
        assert_eq!(from_ranges, strings, "{c}");
    }
}

/// diff: one edit's changes to external fragments are one line per peer.
#[test]
fn diff_groups_an_edits_fragments_per_peer() {
    let new = tempfile::tempdir().unwrap();
    let policy = std::fs::read_to_string(
        crate::support::root().join("examples/webshop/ingress-nginx/networkpolicy.yaml"),
    )
    .unwrap();
    let edited = policy.replacen(
        "    - ipBlock:\n        cidr: 0.0.0.0/0\n    - ipBlock:\n        cidr: ::/0\n",
        "    - ipBlock:\n        cidr: 0.0.0.0/0\n        except: [198.51.100.0/24]\n",
        1,
    );
    assert_ne!(edited, policy, "the example's ingress rule is as expected");
    std::fs::create_dir_all(new.path().join("ingress-nginx")).unwrap();
    std::fs::write(new.path().join("ingress-nginx/networkpolicy.yaml"), edited).unwrap();
    let run = palisade(
        &[
            "diff",
            SHOP,
            new.path().to_str().unwrap(),
            "--overlay",
            "-o",
            "json",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let changes = json_of(&run.stdout)["changes"].clone();
    let changes = changes.as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["src"], "198.51.100.0/24, ::/0");
    assert_eq!(changes[0]["change"], "removed");
    assert_eq!(
        changes[0]["before_ports"],
        serde_json::json!([
            {"protocol": "TCP", "from": 80, "to": 80},
            {"protocol": "TCP", "from": 443, "to": 443}
        ])
    );
}

/// `--port` by number, name or NUM/PROTO on check and matrix (one parser).
#[test]
fn ports_by_number_name_or_proto() {
    let check = |port: &[&str], to: &str| {
        let mut args = vec![
            "check",
            SHOP,
            "--from",
            "shop/checkout",
            "--to",
            to,
            "-o",
            "json",
        ];
        args.extend(port);
        palisade(&args, None)
    };
    // By name: payments-api's container port `http` is 8080.
    let by_number = check(&["--port", "8080"], "payments/payments-api");
    let by_name = check(&["--port", "http"], "payments/payments-api");
    assert_eq!(by_name.code, 0, "{}", by_name.stderr);
    assert_eq!(by_name.stdout, by_number.stdout);
    // NUM/PROTO and name/proto equal --port N --protocol P.
    let flags = check(
        &["--port", "53", "--protocol", "UDP"],
        "kube-system/coredns",
    );
    for spec in ["53/UDP", "53/udp", "dns/UDP"] {
        let run = check(&["--port", spec], "kube-system/coredns");
        assert_eq!(run.code, 0, "{spec}: {}", run.stderr);
        assert_eq!(run.stdout, flags.stdout, "{spec}");
    }
    for (port, why) in [
        (
            &["--port", "nope"][..],
            "no TCP container port named `nope` on payments/payments-api",
        ),
        (
            &["--port", "53/UDP", "--protocol", "TCP"][..],
            "--port says UDP but --protocol says TCP",
        ),
        (&["--port", "0"][..], "a port number is 1-65535"),
    ] {
        let run = check(port, "payments/payments-api");
        assert_eq!(run.code, 2, "{port:?}");
        assert!(run.stderr.contains(why), "{port:?}: {}", run.stderr);
    }
    // matrix: NUM/PROTO; a name is refused with the reason.
    let flags = palisade(
        &[
            "matrix",
            SHOP,
            "--port",
            "53",
            "--protocol",
            "UDP",
            "--level",
            "workload",
            "-o",
            "json",
        ],
        None,
    );
    let spec = palisade(
        &[
            "matrix", SHOP, "--port", "53/UDP", "--level", "workload", "-o", "json",
        ],
        None,
    );
    assert_eq!(spec.code, 0, "{}", spec.stderr);
    assert_eq!(spec.stdout, flags.stdout);
    assert_eq!(json_of(&spec.stdout)["protocol"], "UDP");
    let run = palisade(&["matrix", SHOP, "--port", "http"], None);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("named ports differ per destination"),
        "{}",
        run.stderr
    );
}

/// `-o wide`: connectivity as aligned columns with each end's kind; the matrix headed by
/// the full names. `--no-headers` drops their header lines.
#[test]
fn wide_tables() {
    let run = palisade(
        &["connectivity", SHOP, "-n", "payments", "-o", "wide"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("SRC ")
            && lines[0].contains("DST-KIND")
            && lines[0].ends_with("ALLOWED"),
        "{}",
        lines[0]
    );
    let col = lines[0].find("DST ").unwrap();
    assert!(
        lines[1..]
            .iter()
            .all(|l| l[col..].starts_with(|c: char| c != ' ')),
        "aligned:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains("payments/postgres"), "{}", run.stdout);
    let bare = palisade(
        &[
            "connectivity",
            SHOP,
            "-n",
            "payments",
            "-o",
            "wide",
            "--no-headers",
        ],
        None,
    );
    assert_eq!(bare.stdout.lines().collect::<Vec<_>>(), lines[1..]);

    let run = palisade(
        &[
            "matrix", SHOP, "--port", "8080", "--level", "workload", "-n", "shop", "-o", "wide",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].contains("rows: from, columns: to"), "{}", lines[0]);
    assert!(
        lines[1].starts_with("from \\ to") && lines[1].contains("  shop/cart  shop/catalog"),
        "{}",
        lines[1]
    );
    // checkout -> cart is allowed: the '.' sits under the `shop/cart` column.
    let checkout = lines
        .iter()
        .find(|l| l.starts_with("shop/checkout "))
        .unwrap();
    let cart_col = lines[1].find("shop/cart").unwrap();
    assert_eq!(&checkout[cart_col..cart_col + 1], ".", "{}", run.stdout);
    let bare = palisade(
        &[
            "matrix",
            SHOP,
            "--port",
            "8080",
            "--level",
            "workload",
            "-n",
            "shop",
            "--no-headers",
        ],
        None,
    );
    assert_eq!(bare.stdout.lines().count(), 6, "{}", bare.stdout);
}

/// `--since 5m` counts back from the capture's last event (hubble counts back from now);
/// `+DURATION` forward from its first event; stdin cannot be measured before it is read.
#[test]
fn since_counts_back_from_the_capture_end() {
    // The example capture's last event is at 14:56:48.5054; its first at 14:56:40.00005.
    assert_eq!(
        replay_csv(&["--since", "3s"]),
        replay_csv(&["--since", "2026-09-20T14:56:45.5054Z"])
    );
    assert_eq!(
        replay_csv(&["--until", "4s"]),
        replay_csv(&["--until", "2026-09-20T14:56:44.5054Z"])
    );
    assert_eq!(
        replay_csv(&["--since", "+5s"]),
        replay_csv(&["--since", "2026-09-20T14:56:45.00005Z"])
    );
    let late = replay_csv(&["--since", "3s"]);
    assert!(!late.is_empty() && late.len() < replay_csv(&[]).len());
    let capture = std::fs::read_to_string(crate::support::root().join(HUBBLE)).unwrap();
    let mut args = vec!["replay", "-", "--cluster"];
    args.extend(CLUSTER);
    args.extend(["--since", "5m"]);
    let run = palisade(&args, Some(&capture));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("stdin cannot give"), "{}", run.stderr);
    args.pop();
    args.push("+5m");
    assert_eq!(palisade(&args, Some(&capture)).code, 0);
}

/// The streamed connectivity (`-o text`: narrowed row by row, external ranges merged per
/// source) lists exactly the rows of the collected one (`-o wide`: the whole answer
/// narrowed, then `merge_external`), in the same order, at every level and selection.
#[test]
fn streamed_connectivity_equals_the_collected_answer() {
    for extra in [
        &[][..],
        &["-n", "payments"],
        &["-n", "kube-system"],
        &["-n", "ingress-nginx"],
        &["-l", "app=payments-api"],
        &["-A", "-l", "app"],
    ] {
        for level in ["pod", "workload", "namespace"] {
            let run = |output: &str| {
                let mut args = vec!["connectivity", SHOP, "--level", level, "-o", output];
                args.extend(extra);
                let run = palisade(&args, None);
                assert_eq!(run.code, 0, "{extra:?} {level}: {}", run.stderr);
                run
            };
            let streamed: Vec<Vec<String>> = run("text")
                .stdout
                .lines()
                .map(|l| {
                    let (pair, ports) = l.split_once(" : ").unwrap();
                    let (src, dst) = pair.split_once(" => ").unwrap();
                    vec![src.to_string(), dst.to_string(), ports.to_string()]
                })
                .collect();
            let collected: Vec<Vec<String>> = run("wide")
                .stdout
                .lines()
                .skip(1)
                .map(|l| {
                    let cells: Vec<&str> = l
                        .split("  ")
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .collect();
                    vec![
                        cells[0].to_string(),
                        cells[2].to_string(),
                        cells[4].to_string(),
                    ]
                })
                .collect();
            assert_eq!(streamed, collected, "{extra:?} at {level} level");
            if extra.is_empty() {
                assert!(
                    streamed.iter().any(|r| r[0].contains(", "))
                        && streamed.iter().any(|r| r[1].contains(", ")),
                    "merged ranges on both ends at {level} level"
                );
            }
        }
    }
}

/// `-l` on lint and audit: what concerns the selected pods (docs/cli.md defines it), and
/// with `-n` too, what concerns both.
#[test]
fn selector_on_lint_and_audit() {
    let lint = |extra: &[&str]| {
        let mut args = vec!["lint", SHOP, "-o", "concise"];
        args.extend(extra);
        let run = palisade(&args, None);
        assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
        run.stdout
    };
    let all = lint(&[]);
    // checkout: the policies selecting it (shop/checkout, shop/default-deny-all, ...) and
    // nothing about payments, monitoring or the namespaces without it.
    let checkout = lint(&["-l", "app=checkout"]);
    insta::assert_snapshot!("lint_selector_checkout", checkout);
    for line in checkout.lines().filter(|l| l.contains("]: ")) {
        assert!(all.contains(line), "{line} is a finding of the whole lint");
    }
    // payments-api: the NP003 typo lives in its policy.
    let api = lint(&["-l", "app=payments-api"]);
    assert!(api.contains("NP003"), "{api}");
    assert!(!api.contains("shop/policies"), "{api}");
    // -n and -l together: both must hold.
    assert!(!lint(&["-l", "app=payments-api", "-n", "shop"]).contains("NP003"));
    // A selector that matches nothing: no finding on any object, and a note.
    let run = palisade(&["lint", SHOP, "-l", "app=nope", "-o", "concise"], None);
    assert!(run.stderr.contains("matches no pod"), "{}", run.stderr);
    assert!(!run.stdout.contains("NP0"), "{}", run.stdout);

    let audit = |extra: &[&str]| {
        let mut args = vec!["audit", SHOP];
        args.extend(extra);
        let run = palisade(&args, None);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    insta::assert_snapshot!(
        "audit_selector",
        audit(&["-l", "app in (checkout,payments-api,prometheus)"])
    );
    let json = json_of(&audit(&["-l", "app=checkout", "-o", "json"]));
    let namespaces = json["namespaces"].as_array().unwrap();
    assert_eq!(namespaces.len(), 1, "{json}");
    assert_eq!(namespaces[0]["name"], "shop");
    assert_eq!(namespaces[0]["workloads"], 1);
    assert_eq!(
        namespaces[0]["ingress_isolated"],
        serde_json::json!(["shop/checkout"])
    );
    // The policies that select checkout, not the namespace's other ones.
    let policies = namespaces[0]["policies"].as_array().unwrap();
    assert!(policies.iter().any(|p| p == "checkout"), "{json}");
    assert!(!policies.iter().any(|p| p == "cart"), "{json}");
    assert!(audit(&["-l", "app=checkout", "-n", "payments", "--no-headers"]).is_empty());
}

/// `-l` on replay (and map, generate, harden, which share the session filters): the
/// sessions with an end whose labels match; with `-n`, that end is in the namespace. The
/// union of `--from-label` and `--to-label`, checked row by row.
#[test]
fn selector_on_replay_and_map() {
    let all = replay_csv(&[]);
    let selected = replay_csv(&["-l", "app=checkout"]);
    let from = replay_csv(&["--from-label", "app=checkout"]);
    let to = replay_csv(&["--to-label", "app=checkout"]);
    assert!(!selected.is_empty() && selected.len() < all.len());
    let expected: Vec<&String> = all
        .iter()
        .filter(|r| from.contains(r) || to.contains(r))
        .collect();
    assert_eq!(selected.iter().collect::<Vec<_>>(), expected);
    // -n and -l on the same end: checkout is in shop, not in payments.
    assert!(replay_csv(&["-l", "app=checkout", "-n", "payments"]).is_empty());
    assert_eq!(replay_csv(&["-l", "app=checkout", "-n", "shop"]), selected);
    // -A is accepted (files are read whole): the same rows.
    assert_eq!(replay_csv(&["-A"]), all);
    // map: the edges of the selected sessions only.
    let mut args = vec!["map", HUBBLE, "--cluster"];
    args.extend(CLUSTER);
    args.extend(["-o", "json", "-l", "app=checkout"]);
    let run = palisade(&args, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let map = json_of(&run.stdout);
    let edges = map["edges"].as_array().unwrap();
    assert!(!edges.is_empty());
    for e in edges {
        let ends = format!("{} {}", e["src"], e["dst"]);
        assert!(ends.contains("shop/checkout"), "{ends}");
    }
}

/// `--max-pairs` judges the answer that will be written: narrowed by `-n`, a cluster too
/// large as a whole is answered (the refusal itself tells to narrow with -n).
#[test]
fn max_pairs_counts_the_narrowed_answer() {
    let whole = palisade(&["connectivity", SHOP, "--max-pairs", "40"], None);
    assert_eq!(whole.code, 2, "{}", whole.stderr);
    assert!(
        whole.stderr.contains("narrow it with -n"),
        "{}",
        whole.stderr
    );
    for output in ["csv", "wide"] {
        let narrowed = palisade(
            &[
                "connectivity",
                SHOP,
                "--max-pairs",
                "40",
                "-n",
                "monitoring",
                "-o",
                output,
            ],
            None,
        );
        assert_eq!(narrowed.code, 0, "{output}: {}", narrowed.stderr);
        let unbounded = palisade(
            &["connectivity", SHOP, "-n", "monitoring", "-o", output],
            None,
        );
        assert_eq!(narrowed.stdout, unbounded.stdout, "{output}");
        assert!(narrowed.stdout.contains("monitoring/prometheus"));
    }
}
