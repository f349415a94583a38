//! The rule table: one line per code, in code order. Codes are never renumbered or reused;
//! a removed rule stays here with the status `Removed`.

use palisade_diag::Severity;

/// The lifecycle state of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Enabled by default, behaviour stable.
    Stable,
    /// Only runs when selected explicitly.
    Preview,
    /// Still runs when selected; will be removed.
    Deprecated,
    /// Never runs; the code is kept so it is never reused.
    Removed,
}

impl Status {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Stable => "stable",
            Status::Preview => "preview",
            Status::Deprecated => "deprecated",
            Status::Removed => "removed",
        }
    }
}

/// One line of the rule table.
#[derive(Clone, Copy, Debug)]
pub struct RuleInfo {
    /// The stable code, e.g. `NP003`.
    pub code: &'static str,
    /// The kebab-case name, e.g. `peer-selects-nothing`.
    pub name: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// Lifecycle state.
    pub status: Status,
    /// The version that introduced it.
    pub since: &'static str,
    source: &'static str,
}

impl RuleInfo {
    /// The rule's documentation: the `//!` comment of its file, without the markers.
    pub fn doc(&self) -> String {
        let mut out = String::new();
        for line in self.source.lines() {
            let Some(rest) = line.strip_prefix("//!") else {
                break;
            };
            out.push_str(rest.strip_prefix(' ').unwrap_or(rest));
            out.push('\n');
        }
        out
    }

    /// The first line of the "What it does" section.
    pub fn summary(&self) -> String {
        self.doc()
            .lines()
            .skip_while(|l| !l.starts_with("## What it does"))
            .skip(1)
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .to_string()
    }
}

macro_rules! rules {
    ($($code:literal, $name:literal, $severity:ident, $status:ident, $since:literal, $module:ident;)*) => {
        /// Every rule, in code order.
        pub static RULES: &[RuleInfo] = &[$(
            RuleInfo {
                code: $code,
                name: $name,
                severity: Severity::$severity,
                status: Status::$status,
                since: $since,
                source: include_str!(concat!("rules/", stringify!($module), ".rs")),
            },
        )*];
    };
}

rules! {
    "NP001", "dns-egress-blocked", Error, Stable, "0.1.0", dns_egress_blocked;
    "NP002", "policy-selects-nothing", Warning, Stable, "0.1.0", policy_selects_nothing;
    "NP003", "peer-selects-nothing", Warning, Stable, "0.1.0", peer_selects_nothing;
    "NP004", "named-port-unresolved", Warning, Stable, "0.1.0", named_port_unresolved;
    "NP005", "open-to-all", Warning, Stable, "0.1.0", open_to_all;
    "NP006", "empty-rule-allows-all", Warning, Stable, "0.1.0", empty_rule_allows_all;
    "NP007", "policy-types-mismatch", Error, Stable, "0.1.0", policy_types_mismatch;
    "NP008", "unknown-field", Error, Stable, "0.1.0", unknown_field;
    "NP009", "yaml-1.1-scalar", Error, Stable, "0.1.0", yaml11_scalar;
    "NP010", "cidr-suspicious", Warning, Stable, "0.1.0", cidr_suspicious;
    "NP011", "redundant", Info, Stable, "0.1.0", redundant;
    "NP012", "namespace-without-policy", Warning, Stable, "0.1.0", namespace_without_policy;
    "NP013", "wrong-namespace-label", Warning, Stable, "0.1.0", wrong_namespace_label;
    "NP014", "policy-in-empty-namespace", Warning, Stable, "0.1.0", policy_in_empty_namespace;
    "NP015", "unprotected-workload", Warning, Stable, "0.1.0", unprotected_workload;
    "NP016", "host-network-selected", Info, Stable, "0.1.0", host_network_selected;
    "NP017", "invalid-object", Error, Stable, "0.1.0", invalid_object;
    "NP018", "unevaluated-policy", Warning, Stable, "0.1.0", unevaluated_policy;
    "NP019", "admin-equal-priority", Warning, Stable, "0.1.0", admin_equal_priority;
    "NP020", "admin-subject-selects-nothing", Warning, Stable, "0.1.0", admin_subject_selects_nothing;
    "NP021", "admin-pass-without-networkpolicy", Warning, Stable, "0.1.0", admin_pass_without_networkpolicy;
    "NP022", "admin-rule-shadowed", Warning, Stable, "0.1.0", admin_rule_shadowed;
    "NP023", "admin-baseline-deny-overridden", Warning, Stable, "0.1.0", admin_baseline_deny_overridden;
    "NP024", "admin-accept-bypasses-networkpolicy", Warning, Stable, "0.1.0", admin_accept_bypasses_networkpolicy;
    "NP025", "admin-domain-names-without-accept", Error, Stable, "0.1.0", admin_domain_names_without_accept;
}

/// The rule with this code or name (`NP003`, `np003`, `peer-selects-nothing`).
pub fn rule(code_or_name: &str) -> Option<&'static RuleInfo> {
    RULES
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(code_or_name) || r.name == code_or_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes are part of the interface: this snapshot shows every change in review.
    #[test]
    fn codes_are_stable() {
        let table: Vec<String> = RULES
            .iter()
            .map(|r| {
                format!(
                    "{} {} {} {} {}",
                    r.code,
                    r.name,
                    r.severity,
                    r.status.as_str(),
                    r.since
                )
            })
            .collect();
        insta::assert_snapshot!(table.join("\n"));
    }

    #[test]
    fn codes_are_unique_sorted_and_documented() {
        for pair in RULES.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} before {}",
                pair[0].code,
                pair[1].code
            );
        }
        for r in RULES {
            let doc = r.doc();
            for section in [
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "Use instead:",
            ] {
                assert!(doc.contains(section), "{} lacks `{section}`", r.code);
            }
            assert!(!r.summary().is_empty(), "{}", r.code);
        }
    }
}
