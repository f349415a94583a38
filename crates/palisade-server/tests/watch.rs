//! `--watch` without a browser: an edited manifest is picked up (the generation moves and
//! the verdict changes), a broken one is reported while the last good model keeps serving,
//! and fixing it clears the error. Waits are bounded only so a broken watcher fails.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade_load::Input;
use palisade_server::{Inputs, Options, ServeConfig, Server};

fn get(addr: SocketAddr, path: &str) -> serde_json::Value {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let body = raw.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap()
}

/// Polls until `done` holds; panics after a generous bound (not a timing assertion).
fn wait_for(addr: SocketAddr, what: &str, done: impl Fn(&serde_json::Value) -> bool) {
    let start = Instant::now();
    loop {
        let status = get(addr, "/api/status");
        if done(&status) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "waited for {what}; status {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn verdict(addr: SocketAddr) -> String {
    get(
        addr,
        "/api/check?from=shop/checkout&to=payments/payments-api&port=8080",
    )["verdict"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn edits_reload_and_errors_keep_the_last_good_model() {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("ui-watch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/webshop");
    let file = dir.join("app.yaml");
    let mut text = String::new();
    for part in [
        "namespaces.yaml",
        "shop/checkout.yaml",
        "payments/payments-api.yaml",
        "payments/policies/payments-api.yaml",
    ] {
        text.push_str(&std::fs::read_to_string(examples.join(part)).unwrap());
        text.push_str("\n---\n");
    }
    std::fs::write(&file, &text).unwrap();
    let watched = file.clone();
    let server = Server::bind(ServeConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        token: None,
        watch: vec![dir.clone()],
        inputs: Arc::new(move || {
            Ok(Inputs {
                current: vec![Input::Path(watched.clone())],
                ..Inputs::default()
            })
        }),
        options: Options::default(),
    })
    .unwrap();
    let addr = server.local_addr();
    std::thread::spawn(move || server.run());
    wait_for(addr, "the server", |s| s["generation"] == 1);
    assert_eq!(verdict(addr), "denied");

    std::fs::write(&file, text.replace("app: chekout", "app: checkout")).unwrap();
    wait_for(addr, "the reload", |s| s["generation"] == 2);
    assert_eq!(get(addr, "/api/status")["error"], serde_json::Value::Null);
    assert_eq!(verdict(addr), "allowed");

    // A port the API server would reject: the error is published, the model stays.
    std::fs::write(
        &file,
        text.replace("app: chekout", "app: checkout")
            .replacen("port: http", "port: 99999", 1),
    )
    .unwrap();
    wait_for(addr, "the failed reload", |s| s["generation"] == 3);
    let status = get(addr, "/api/status");
    let error = status["error"].as_str().unwrap();
    assert!(error.contains("app.yaml"), "{error}");
    assert_eq!(verdict(addr), "allowed");

    std::fs::write(&file, &text).unwrap();
    wait_for(addr, "the recovery", |s| s["generation"] == 4);
    assert_eq!(get(addr, "/api/status")["error"], serde_json::Value::Null);
    assert_eq!(verdict(addr), "denied");
    let _ = std::fs::remove_dir_all(&dir);
}
