//! Golden rulesets (no root needed): what `palisade sandbox compile` shows for policies with
//! named ports, ipBlock except and both directions.

mod common;

use palisade_sandbox::compile::compile;
use palisade_sandbox::{AddressPlan, CompileOptions, DenyAction};

fn rulesets(case: &str, deny: DenyAction) -> String {
    let dir = common::e2e_dir();
    let model = common::load_paths(&[dir.join("model.yaml"), dir.join(case).join("policies.yaml")]);
    let plan = AddressPlan::new(&model, &[]).unwrap();
    let options = CompileOptions {
        table: "palisade".into(),
        deny,
    };
    // The pods a policy selects and one it does not.
    compile(&model, &plan, &options)
        .into_iter()
        .filter(|r| r.isolated_ingress || r.isolated_egress || r.pod.index() == 8)
        .map(|r| r.text)
        .collect()
}

#[test]
fn egress_named_port_resolves_per_destination_pod() {
    insta::assert_snapshot!(rulesets(
        "should-allow-egress-access-on-one-named-port",
        DenyAction::Drop
    ));
}

#[test]
fn ingress_named_port_and_reject() {
    insta::assert_snapshot!(rulesets(
        "should-allow-ingress-access-on-one-named-port",
        DenyAction::Reject
    ));
}

#[test]
fn ipblock_except() {
    insta::assert_snapshot!(rulesets(
        "should-enforce-except-clause-while-egress-access-to-server-in-cidr-block",
        DenyAction::Drop
    ));
}

/// Every pod's ruleset of one admin-tier truth table (tiers, Accept/Deny/Pass, baseline).
fn tier_rulesets(case: &str, deny: DenyAction) -> String {
    let dir = common::e2e_dir().join("../tiers");
    let model = common::load_paths(&[dir.join("model.yaml"), dir.join(case).join("policies.yaml")]);
    let plan = AddressPlan::new(&model, &[]).unwrap();
    let options = CompileOptions {
        table: "palisade".into(),
        deny,
    };
    compile(&model, &plan, &options)
        .into_iter()
        .map(|r| r.text)
        .collect()
}

#[test]
fn admin_pass_networkpolicy_and_baseline() {
    insta::assert_snapshot!(tier_rulesets("anp-np-banp-integration", DenyAction::Reject));
}

#[test]
fn admin_networks_and_named_ports() {
    insta::assert_snapshot!(format!(
        "{}{}",
        tier_rulesets("cnp-inline-cidr", DenyAction::Drop),
        tier_rulesets("cnp-sctp-and-named-port", DenyAction::Drop)
    ));
}
