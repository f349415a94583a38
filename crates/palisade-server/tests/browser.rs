//! The UI in a real browser: Debian's Chromium, headless, driven by playwright-core
//! (`ui/browser-test.mjs`). On the example app with its capture and the fixed policies as a
//! proposal: every view renders, clicking the broken checkout → payments-api edge explains
//! it (policy and label typo), the timeline shows the timed-out sessions, the report opened
//! from disk does the same, and `--watch` picks up an edited manifest. Screenshots go to
//! `target/ui-screenshots/`.
//!
//! Needs `/usr/bin/chromium` (or `PALISADE_CHROMIUM`), `node`, and `npm ci` in `ui/`
//! (scripts/test.sh installs all three). Without them the test says why and passes, unless
//! `PALISADE_BROWSER_TESTS=1` (set by scripts/test.sh), where a missing piece fails it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use palisade_load::Input;
use palisade_server::{Inputs, Options, ServeConfig, Server, Snapshot};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Why the browser test cannot run here, if it cannot.
fn missing_prerequisite(chromium: &Path, ui: &Path) -> Option<String> {
    if !chromium.exists() {
        return Some(format!("no Chromium at {}", chromium.display()));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("no `node` on PATH".into());
    }
    if !ui.join("node_modules/playwright-core").is_dir() {
        return Some(format!(
            "playwright-core not installed (`npm ci` in {})",
            ui.display()
        ));
    }
    None
}

#[test]
fn views_in_headless_chromium() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ui = manifest.join("ui");
    let chromium = PathBuf::from(
        std::env::var("PALISADE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    );
    if let Some(why) = missing_prerequisite(&chromium, &ui) {
        if std::env::var("PALISADE_BROWSER_TESTS").as_deref() == Ok("1") {
            panic!("browser test required (PALISADE_BROWSER_TESTS=1) but {why}");
        }
        // A test that cannot run says why (the one place this test prints).
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipping the browser test: {why}");
        }
        return;
    }

    // A copy of the example to edit (for --watch), and the proposal laid over a copy.
    let work =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("ui-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let root = repo();
    let app = work.join("webshop");
    copy_dir(&root.join("examples/webshop"), &app);
    let fixed = work.join("webshop-fixed");
    copy_dir(&root.join("examples/webshop"), &fixed);
    copy_dir(&root.join("examples/webshop-fixed"), &fixed);
    let cluster = root.join("examples/webshop-traffic/cluster");
    let capture = root.join("examples/webshop-traffic/capture.pcap");
    let inputs = {
        let (app, fixed, cluster, capture) =
            (app.clone(), fixed.clone(), cluster.clone(), capture.clone());
        Arc::new(move || {
            Ok(Inputs {
                current: vec![Input::Path(app.clone()), Input::Path(cluster.clone())],
                proposed: Some(vec![
                    Input::Path(fixed.clone()),
                    Input::Path(cluster.clone()),
                ]),
                captures: vec![capture.clone()],
            })
        })
    };

    // The report first, from the unedited copy.
    let report = work.join("report.html");
    let snapshot = Snapshot::build(&inputs().unwrap(), &Options::default()).unwrap();
    std::fs::write(&report, palisade_server::report_html(&snapshot)).unwrap();

    let server = Server::bind(ServeConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        token: None,
        watch: vec![app.clone()],
        inputs,
        options: Options::default(),
    })
    .unwrap();
    let url = server.url();
    std::thread::spawn(move || server.run());

    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../ui-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    let status = Command::new("node")
        .arg(ui.join("browser-test.mjs"))
        .env("PALISADE_URL", &url)
        .env("PALISADE_REPORT", &report)
        .env(
            "PALISADE_WATCH_FILE",
            app.join("payments/policies/payments-api.yaml"),
        )
        .env("PALISADE_SCREENSHOTS", &screenshots)
        .env("PALISADE_CHROMIUM", &chromium)
        .env("PALISADE_VENDOR", manifest.join("assets/vendor"))
        .status()
        .expect("node runs");
    assert!(
        status.success(),
        "the browser test failed (its output is above)"
    );
    let _ = std::fs::remove_dir_all(&work);
}
