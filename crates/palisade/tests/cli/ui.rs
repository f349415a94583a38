//! `palisade serve` and `palisade report`: every JSON endpoint returns what the matching
//! command prints with `-o json` for the same input; the security rules hold (Host, token,
//! read-only); the report is self-contained.

use crate::support::{palisade, root};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};

/// A running `palisade serve`, killed when dropped.
struct Served {
    child: Child,
    addr: SocketAddr,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `palisade serve ARGS --addr ADDR` and reads the URL it prints.
fn serve(args: &[&str], addr: &str) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .arg("serve")
        .args(args)
        .args(["--addr", addr])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    let hostport = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let port: u16 = hostport.rsplit(':').next().unwrap().parse().unwrap();
    Served {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        url,
    }
}

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

/// One HTTP/1.1 request; `host` overrides the Host header.
fn request(addr: SocketAddr, method: &str, path: &str, extra: &[(&str, &str)]) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !extra.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("Content-Length: 0\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Reply {
        status,
        headers: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

fn get(served: &Served, path: &str) -> Reply {
    request(served.addr, "GET", path, &[])
}

/// The endpoint's JSON equals the command's.
fn same_json(served: &Served, path: &str, cli: &[&str]) {
    let reply = get(served, path);
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    assert!(reply.headers.contains("content-type: application/json"));
    let run = palisade(cli, None);
    assert!(run.code == 0 || run.code == 1, "{cli:?}: {}", run.stderr);
    let endpoint: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let command: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(endpoint, command, "{path} differs from `palisade {cli:?}`");
    // Byte for byte too: the same renderer.
    assert_eq!(reply.body, run.stdout, "{path}");
}

const APP: &str = "examples/webshop";

#[test]
fn endpoints_match_the_cli_on_the_example_app() {
    let s = serve(
        &[APP, "--proposed", "examples/webshop-fixed", "--overlay"],
        "127.0.0.1:0",
    );
    same_json(
        &s,
        "/api/connectivity",
        &["connectivity", APP, "-o", "json"],
    );
    same_json(
        &s,
        "/api/check?from=shop/checkout&to=payments/payments-api&port=8080&protocol=TCP",
        &[
            "check",
            APP,
            "--from",
            "shop/checkout",
            "--to",
            "payments/payments-api",
            "--port",
            "8080",
            "-o",
            "json",
        ],
    );
    same_json(
        &s,
        "/api/check?from=shop/frontend&to=shop/catalog&port=8080",
        &[
            "check",
            APP,
            "--from",
            "shop/frontend",
            "--to",
            "shop/catalog",
            "--port",
            "8080",
            "-o",
            "json",
        ],
    );
    same_json(
        &s,
        "/api/matrix?port=8080&protocol=TCP",
        &[
            "matrix", APP, "--port", "8080", "--level", "workload", "-o", "json",
        ],
    );
    same_json(&s, "/api/lint", &["lint", APP, "-o", "json"]);
    same_json(&s, "/api/audit", &["audit", APP, "-o", "json"]);
    same_json(
        &s,
        "/api/diff",
        &[
            "diff",
            APP,
            "examples/webshop-fixed",
            "--overlay",
            "-o",
            "json",
        ],
    );
    // The matrix of one namespace is the same shape with that namespace's rows only.
    let ns = get(&s, "/api/matrix?port=8080&namespace=payments");
    let ns: serde_json::Value = serde_json::from_str(&ns.body).unwrap();
    assert_eq!(
        ns["peers"],
        serde_json::json!([
            "payments/ledger",
            "payments/payments-api",
            "payments/postgres"
        ])
    );
    // Without a capture there is no replay.
    assert_eq!(get(&s, "/api/replay").status, 404);
    // Bad queries are refused with the reason.
    let bad = get(&s, "/api/check?from=shop/nope&to=shop/cart&port=80");
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("shop/nope"), "{}", bad.body);
    assert_eq!(get(&s, "/api/check?from=shop/cart").status, 400);
    assert_eq!(get(&s, "/api/matrix?port=0").status, 400);
}

#[test]
fn replay_and_map_with_a_capture() {
    let s = serve(
        &[
            APP,
            "examples/webshop-traffic/cluster",
            "--capture",
            "examples/webshop-traffic/capture.pcap",
            "--proposed",
            "examples/webshop-traffic/proposal",
            "--overlay",
        ],
        "127.0.0.1:0",
    );
    same_json(
        &s,
        "/api/replay",
        &[
            "replay",
            "examples/webshop-traffic/capture.pcap",
            "--cluster",
            APP,
            "examples/webshop-traffic/cluster",
            "--proposed",
            "examples/webshop-traffic/proposal",
            "--overlay",
            "--spikes",
            "-o",
            "json",
        ],
    );
    let map: serde_json::Value = serde_json::from_str(&get(&s, "/api/map").body).unwrap();
    assert_eq!(map["source"], "capture");
    let node = |name: &str| {
        map["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .position(|n| n["id"] == name)
            .unwrap_or_else(|| panic!("{name} is not on the map"))
    };
    let (checkout, payments_api) = (node("shop/checkout"), node("payments/payments-api"));
    let edge = map["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["src"] == checkout && e["dst"] == payments_api)
        .expect("the broken edge is on the map");
    assert_eq!(edge["verdict"], "denied");
    assert_eq!(edge["allowed"], serde_json::Value::Null);
    // An allowed edge points at its ports in `port_sets`.
    let frontend = node("shop/frontend");
    let catalog = node("shop/catalog");
    let ok = map["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["src"] == frontend && e["dst"] == catalog)
        .unwrap();
    assert_eq!(ok["verdict"], "allowed");
    let set = ok["allowed"].as_u64().unwrap() as usize;
    assert_eq!(
        map["port_sets"][set],
        serde_json::json!([{"protocol": "TCP", "ports": "8080"}])
    );
    assert_eq!(edge["flows"][0]["observed"]["timed-out"], 2);
    let status: serde_json::Value = serde_json::from_str(&get(&s, "/api/status").body).unwrap();
    assert_eq!(status["capture"], true);
    assert_eq!(status["proposed"], true);
    assert_eq!(status["workloads"], 12);
}

#[test]
fn security_rules() {
    let s = serve(&[APP], "127.0.0.1:0");
    // Every response carries the CSP.
    let page = get(&s, "/");
    assert_eq!(page.status, 200);
    assert!(
        page.headers
            .contains("content-security-policy: default-src 'none'; script-src 'self'"),
        "{}",
        page.headers
    );
    assert!(page.headers.contains("x-content-type-options: nosniff"));
    assert!(!page.body.contains("http://") && !page.body.contains("https://"));
    for asset in [
        "/assets/app.js",
        "/assets/app.css",
        "/assets/vendor/cytoscape.min.js",
        "/assets/vendor/cytoscape-dagre.min.js",
    ] {
        assert_eq!(get(&s, asset).status, 200, "{asset}");
    }
    // DNS rebinding: a Host other than the bound address is refused.
    let rebound = request(
        s.addr,
        "GET",
        "/api/lint",
        &[("Host", "attacker.example:80")],
    );
    assert_eq!(rebound.status, 403);
    assert!(rebound.body.contains("unexpected Host"));
    let localhost = format!("localhost:{}", s.addr.port());
    assert_eq!(
        request(s.addr, "GET", "/api/status", &[("Host", &localhost)]).status,
        200
    );
    // Read-only: no method but GET and HEAD, on any path.
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        for path in ["/", "/api/status", "/api/check", "/api/anything"] {
            let r = request(s.addr, method, path, &[]);
            assert_eq!(r.status, 405, "{method} {path}");
            assert!(r.headers.contains("allow: get, head"));
        }
    }
    assert_eq!(request(s.addr, "HEAD", "/api/status", &[]).status, 200);
    // Only loaded manifest files are readable.
    assert_eq!(get(&s, "/api/source?file=/etc/passwd").status, 404);
    assert_eq!(get(&s, "/api/source?file=Cargo.toml").status, 404);
    let src = get(
        &s,
        "/api/source?file=examples/webshop/payments/policies/payments-api.yaml",
    );
    assert_eq!(src.status, 200);
    assert!(src.body.contains("chekout"));
    assert_eq!(get(&s, "/api/nothing").status, 404);
}

#[test]
fn token_rules() {
    let s = serve(&[APP, "--token", "s3cret"], "127.0.0.1:0");
    assert!(s.url.ends_with("/?token=s3cret"), "{}", s.url);
    assert_eq!(get(&s, "/api/status").status, 401);
    assert_eq!(get(&s, "/?token=wrong").status, 401);
    let first = get(&s, "/?token=s3cret");
    assert_eq!(first.status, 200);
    assert!(
        first
            .headers
            .contains("set-cookie: palisade_token=s3cret; httponly; samesite=strict"),
        "{}",
        first.headers
    );
    let cookie = request(
        s.addr,
        "GET",
        "/api/status",
        &[("Cookie", "palisade_token=s3cret")],
    );
    assert_eq!(cookie.status, 200);
    let bearer = request(
        s.addr,
        "GET",
        "/api/status",
        &[("Authorization", "Bearer s3cret")],
    );
    assert_eq!(bearer.status, 200);
}

#[test]
fn non_loopback_address_gets_a_generated_token() {
    let s = serve(&[APP], "0.0.0.0:0");
    let token = s
        .url
        .split("?token=")
        .nth(1)
        .expect("a token in the printed URL");
    assert_eq!(token.len(), 32);
    assert_eq!(get(&s, "/api/status").status, 401);
    assert_eq!(get(&s, &format!("/api/status?token={token}")).status, 200);
}

#[test]
fn report_is_one_self_contained_file() {
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("palisade-report-{}.html", std::process::id()));
    let out_s = out.to_string_lossy().into_owned();
    let run = palisade(
        &[
            "report",
            APP,
            "examples/webshop-traffic/cluster",
            "--capture",
            "examples/webshop-traffic/capture.pcap",
            "--proposed",
            "examples/webshop-fixed",
            "--overlay",
            "-o",
            &out_s,
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let html = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    assert!(html.len() <= 2 * 1024 * 1024, "{} bytes", html.len());
    // No network: no external reference, and a CSP without connect-src.
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    assert!(!html.contains("<script src=") && !html.contains("<link"));
    assert!(html.contains("default-src 'none'"));
    // The data of every view is inlined, with the explanation of the broken connection.
    let start = html.find("type=\"application/json\">").unwrap() + 24;
    let end = start + html[start..].find("</script>").unwrap();
    let data: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
    for key in [
        "status", "map", "lint", "audit", "diff", "replay", "matrices", "checks", "sources",
    ] {
        assert!(!data[key].is_null(), "{key} missing");
    }
    let check = &data["checks"]["shop/checkout|payments/payments-api|8080|TCP"];
    assert_eq!(check["verdict"], "denied");
    assert!(
        check["ingress"]["near_misses"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("chekout")
    );
    assert!(data["matrices"]["8080/TCP"]["peers"].is_array());
}

#[test]
fn serve_refuses_bad_inputs() {
    let run = palisade(&["serve", "examples/nope"], None);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("`examples/nope` does not exist"),
        "{}",
        run.stderr
    );
    let run = palisade(&["serve", "-"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("stdin"), "{}", run.stderr);
}

/// `serve -n/-l` narrows every view as the command of the same view narrows it with the
/// same flags; the old meaning of `-n` (where objects without a namespace go) is
/// `--default-namespace`.
#[test]
fn narrowed_views_match_the_narrowed_commands() {
    for flags in [
        &["-n", "payments"][..],
        &["-l", "app in (checkout,cart)"][..],
    ] {
        let mut args = vec![APP, "--proposed", "examples/webshop-fixed", "--overlay"];
        args.extend(flags);
        let s = serve(&args, "127.0.0.1:0");
        let with = |cli: &[&str]| -> Vec<String> {
            cli.iter()
                .chain(flags)
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
        };
        for (path, cli) in [
            (
                "/api/connectivity",
                with(&["connectivity", APP, "-o", "json"]),
            ),
            ("/api/lint", with(&["lint", APP, "-o", "json"])),
            ("/api/audit", with(&["audit", APP, "-o", "json"])),
            (
                "/api/matrix?port=8080",
                with(&[
                    "matrix", APP, "--port", "8080", "--level", "workload", "-o", "json",
                ]),
            ),
            (
                "/api/diff",
                with(&[
                    "diff",
                    APP,
                    "examples/webshop-fixed",
                    "--overlay",
                    "-o",
                    "json",
                ]),
            ),
        ] {
            let cli: Vec<&str> = cli.iter().map(String::as_str).collect();
            same_json(&s, path, &cli);
        }
        // Narrowed means narrowed: every edge of the map has a selected end.
        let map: serde_json::Value = serde_json::from_str(&get(&s, "/api/map").body).unwrap();
        let nodes = map["nodes"].as_array().unwrap();
        let selected = |i: &serde_json::Value| {
            let id = nodes[i.as_u64().unwrap() as usize]["id"].as_str().unwrap();
            match flags[0] {
                "-n" => id.starts_with("payments/"),
                _ => id == "shop/checkout" || id == "shop/cart",
            }
        };
        let edges = map["edges"].as_array().unwrap();
        assert!(!edges.is_empty());
        for e in edges {
            assert!(selected(&e["src"]) || selected(&e["dst"]), "{flags:?}: {e}");
        }
    }
    // A namespace the views are not about is refused by name.
    let s = serve(&[APP, "-n", "payments"], "127.0.0.1:0");
    let other = get(&s, "/api/matrix?port=8080&namespace=shop");
    assert_eq!(other.status, 400);
    assert!(
        other.body.contains("narrowed to namespace `payments`"),
        "{}",
        other.body
    );
}

/// `report -l`: the replay timeline keeps the sessions with a selected end, and the summary
/// counts only them; `--default-namespace` keeps the old `-n`.
#[test]
fn report_narrowed_by_selector() {
    let data = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "report",
            APP,
            "examples/webshop-traffic/cluster",
            "--capture",
            "examples/webshop-traffic/capture.pcap",
            "-o",
            "-",
        ];
        args.extend(extra);
        let run = palisade(&args, None);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let html = run.stdout;
        let start = html.find("type=\"application/json\">").unwrap() + 24;
        let end = start + html[start..].find("</script>").unwrap();
        serde_json::from_str(&html[start..end]).unwrap()
    };
    let all = data(&[]);
    let checkout = data(&["-l", "app=checkout"]);
    let sessions = |d: &serde_json::Value| d["replay"]["sessions"].as_array().unwrap().clone();
    assert!(sessions(&checkout).len() < sessions(&all).len());
    assert!(!sessions(&checkout).is_empty());
    for s in sessions(&checkout) {
        let ends = format!("{} {}", s["src"], s["dst"]);
        assert!(ends.contains("shop/checkout"), "{ends}");
    }
    // The same sessions as `palisade replay -l` would keep are not counted twice or missed:
    // every session of the whole replay with checkout at an end is here.
    let expected = sessions(&all)
        .into_iter()
        .filter(|s| format!("{} {}", s["src"], s["dst"]).contains("shop/checkout"))
        .count();
    assert_eq!(sessions(&checkout).len(), expected);
}
