//! `check --expect`: a failed expectation is said first, before the explanation.

use crate::support::palisade;

const SHOP: &str = "examples/webshop";

/// checkout → payments-api:8080 is denied in the example app, frontend → cart:8080 allowed.
fn check(from: &str, to: &str, extra: &[&str]) -> crate::support::Run {
    let mut args = vec!["check", SHOP, "--from", from, "--to", to, "--port", "8080"];
    args.extend_from_slice(extra);
    palisade(&args, None)
}

#[test]
fn expected_allow_got_denied_comes_first() {
    let run = check(
        "shop/checkout",
        "payments/payments-api",
        &["--expect", "allow"],
    );
    assert_eq!(run.code, 1);
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next(), Some("expected allow, got denied"));
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("DENIED  shop/checkout -> payments/payments-api")
    );
}

#[test]
fn expected_deny_got_allowed_comes_first() {
    let run = check("shop/frontend", "shop/cart", &["--expect", "deny"]);
    assert_eq!(run.code, 1);
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next(), Some("expected deny, got allowed"));
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("ALLOWED  shop/frontend -> shop/cart")
    );
}

#[test]
fn a_met_expectation_adds_nothing() {
    let plain = check("shop/checkout", "payments/payments-api", &[]);
    let met = check(
        "shop/checkout",
        "payments/payments-api",
        &["--expect", "deny"],
    );
    assert_eq!(met.code, 0);
    assert_eq!(met.stdout, plain.stdout);
    assert!(!met.stdout.contains("expected"));
}

/// JSON stays parseable: the failure line goes to stderr.
#[test]
fn json_keeps_stdout_parseable_and_says_it_on_stderr() {
    let run = check(
        "shop/checkout",
        "payments/payments-api",
        &["--expect", "allow", "-o", "json"],
    );
    assert_eq!(run.code, 1);
    serde_json::from_str::<serde_json::Value>(&run.stdout).expect("stdout is JSON");
    assert_eq!(
        run.stderr.lines().next(),
        Some("expected allow, got denied")
    );
}
