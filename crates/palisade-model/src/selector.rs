//! Label selectors with `metav1.LabelSelector` semantics.

use crate::{Labels, Span};

/// A `matchExpressions` operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// The label exists and its value is one of the values.
    In,
    /// The label is absent, or its value is none of the values.
    NotIn,
    /// The label exists.
    Exists,
    /// The label is absent.
    DoesNotExist,
}

impl Operator {
    /// Parses the API name (case-sensitive).
    pub fn parse(s: &str) -> Option<Operator> {
        Some(match s {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            _ => return None,
        })
    }

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::In => "In",
            Operator::NotIn => "NotIn",
            Operator::Exists => "Exists",
            Operator::DoesNotExist => "DoesNotExist",
        }
    }
}

/// One `matchExpressions` entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Requirement {
    /// The label key.
    pub key: String,
    /// The operator.
    pub operator: Operator,
    /// The values (sorted, deduplicated; empty for `Exists`/`DoesNotExist`).
    pub values: Vec<String>,
}

impl Requirement {
    /// Whether a label set satisfies the requirement.
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In => value.is_some_and(|v| self.values.iter().any(|x| x == v)),
            Operator::NotIn => value.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }
}

/// A label selector: `matchLabels` AND `matchExpressions`; empty selects everything.
#[derive(Clone, Debug, Default)]
pub struct LabelSelector {
    /// `matchLabels`, sorted by key.
    pub match_labels: Vec<(String, String)>,
    /// `matchExpressions`, as written.
    pub match_expressions: Vec<Requirement>,
    /// The selector node.
    pub span: Option<Span>,
}

impl PartialEq for LabelSelector {
    /// Selectors are equal when they select the same sets by construction (spans ignored).
    fn eq(&self, other: &Self) -> bool {
        self.match_labels == other.match_labels && self.match_expressions == other.match_expressions
    }
}

impl Eq for LabelSelector {}

impl std::hash::Hash for LabelSelector {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.match_labels.hash(state);
        self.match_expressions.hash(state);
    }
}

impl LabelSelector {
    /// A selector with only `matchLabels`.
    pub fn match_labels<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut match_labels: Vec<(String, String)> = labels
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match_labels.sort();
        LabelSelector {
            match_labels,
            ..Default::default()
        }
    }

    /// Whether the selector is empty (`{}`), which selects everything.
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    /// Whether a label set is selected.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| r.matches(labels))
    }

    /// All requirements, with `matchLabels` entries as `In` with one value.
    pub fn requirements(&self) -> impl Iterator<Item = Requirement> + '_ {
        self.match_labels
            .iter()
            .map(|(k, v)| Requirement {
                key: k.clone(),
                operator: Operator::In,
                values: vec![v.clone()],
            })
            .chain(self.match_expressions.iter().cloned())
    }
}

impl std::fmt::Display for LabelSelector {
    /// kubectl's selector syntax: `app=web,tier in (a,b),!legacy`; `{}` for empty.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return f.write_str("{}");
        }
        let mut parts: Vec<String> = self
            .match_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        for r in &self.match_expressions {
            parts.push(match r.operator {
                Operator::In => format!("{} in ({})", r.key, r.values.join(",")),
                Operator::NotIn => format!("{} notin ({})", r.key, r.values.join(",")),
                Operator::Exists => r.key.clone(),
                Operator::DoesNotExist => format!("!{}", r.key),
            });
        }
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn req(key: &str, operator: Operator, values: &[&str]) -> LabelSelector {
        LabelSelector {
            match_expressions: vec![Requirement {
                key: key.into(),
                operator,
                values: values.iter().map(|v| v.to_string()).collect(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn empty_selector_matches_everything() {
        assert!(LabelSelector::default().matches(&labels(&[])));
        assert!(LabelSelector::default().matches(&labels(&[("a", "b")])));
    }

    #[test]
    fn match_labels_needs_every_pair() {
        let s = LabelSelector::match_labels([("app", "web"), ("tier", "fe")]);
        assert!(s.matches(&labels(&[("app", "web"), ("tier", "fe"), ("x", "y")])));
        assert!(!s.matches(&labels(&[("app", "web")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("tier", "be")])));
    }

    #[test]
    fn operators_follow_the_api_reference() {
        let l = labels(&[("env", "prod")]);
        let none = labels(&[]);
        assert!(req("env", Operator::In, &["prod", "dev"]).matches(&l));
        assert!(!req("env", Operator::In, &["dev"]).matches(&l));
        assert!(!req("env", Operator::In, &["prod"]).matches(&none));
        // NotIn matches pods without the key at all.
        assert!(req("env", Operator::NotIn, &["dev"]).matches(&l));
        assert!(req("env", Operator::NotIn, &["prod"]).matches(&none));
        assert!(!req("env", Operator::NotIn, &["prod"]).matches(&l));
        assert!(req("env", Operator::Exists, &[]).matches(&l));
        assert!(!req("env", Operator::Exists, &[]).matches(&none));
        assert!(req("env", Operator::DoesNotExist, &[]).matches(&none));
        assert!(!req("env", Operator::DoesNotExist, &[]).matches(&l));
    }

    #[test]
    fn labels_and_expressions_are_anded() {
        let mut s = req("env", Operator::NotIn, &["dev"]);
        s.match_labels = vec![("app".into(), "web".into())];
        assert!(s.matches(&labels(&[("app", "web")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("env", "dev")])));
        assert!(!s.matches(&labels(&[("env", "prod")])));
        assert_eq!(s.to_string(), "app=web,env notin (dev)");
    }

    #[test]
    fn operator_names_round_trip() {
        let all = [
            (Operator::In, "In"),
            (Operator::NotIn, "NotIn"),
            (Operator::Exists, "Exists"),
            (Operator::DoesNotExist, "DoesNotExist"),
        ];
        for (op, name) in all {
            assert_eq!(op.as_str(), name);
            assert_eq!(Operator::parse(name), Some(op));
        }
        assert_eq!(Operator::parse("in"), None);
        assert_eq!(Operator::parse("doesnotexist"), None);
        assert_eq!(Operator::parse("Gt"), None);
    }

    #[test]
    fn empty_means_no_labels_and_no_expressions() {
        assert!(LabelSelector::default().is_empty());
        assert!(!LabelSelector::match_labels([("a", "b")]).is_empty());
        assert!(!req("a", Operator::Exists, &[]).is_empty());
        assert_eq!(LabelSelector::default().to_string(), "{}");
    }

    #[test]
    fn requirements_list_match_labels_as_in_then_expressions() {
        let mut s = req("tier", Operator::DoesNotExist, &[]);
        s.match_labels = vec![("app".into(), "web".into()), ("env".into(), "prod".into())];
        let all: Vec<Requirement> = s.requirements().collect();
        assert_eq!(
            all,
            vec![
                Requirement {
                    key: "app".into(),
                    operator: Operator::In,
                    values: vec!["web".into()],
                },
                Requirement {
                    key: "env".into(),
                    operator: Operator::In,
                    values: vec!["prod".into()],
                },
                Requirement {
                    key: "tier".into(),
                    operator: Operator::DoesNotExist,
                    values: vec![],
                },
            ]
        );
        // The requirements select exactly what the selector selects.
        for l in [
            labels(&[("app", "web"), ("env", "prod")]),
            labels(&[("app", "web"), ("env", "prod"), ("tier", "x")]),
            labels(&[("app", "web")]),
            labels(&[]),
        ] {
            assert_eq!(s.matches(&l), all.iter().all(|r| r.matches(&l)), "{l:?}");
        }
        assert_eq!(LabelSelector::default().requirements().count(), 0);
    }

    #[test]
    fn match_labels_sorts_and_display_uses_kubectl_syntax() {
        let s = LabelSelector::match_labels([("tier", "fe"), ("app", "web")]);
        assert_eq!(
            s.match_labels,
            vec![
                ("app".to_string(), "web".to_string()),
                ("tier".to_string(), "fe".to_string())
            ]
        );
        let mut all = s.clone();
        all.match_expressions = vec![
            Requirement {
                key: "env".into(),
                operator: Operator::In,
                values: vec!["a".into(), "b".into()],
            },
            Requirement {
                key: "zone".into(),
                operator: Operator::NotIn,
                values: vec!["x".into()],
            },
            Requirement {
                key: "legacy".into(),
                operator: Operator::DoesNotExist,
                values: vec![],
            },
            Requirement {
                key: "owner".into(),
                operator: Operator::Exists,
                values: vec![],
            },
        ];
        assert_eq!(
            all.to_string(),
            "app=web,tier=fe,env in (a,b),zone notin (x),!legacy,owner"
        );
    }

    #[test]
    fn equality_and_hash_ignore_the_span() {
        use std::hash::{BuildHasher, RandomState};
        let a = LabelSelector::match_labels([("app", "web")]);
        let mut b = a.clone();
        b.span = Some(Span {
            source: palisade_diag::SourceId(0),
            start: 1,
            end: 2,
        });
        assert_eq!(a, b);
        let hasher = RandomState::new();
        assert_eq!(hasher.hash_one(&a), hasher.hash_one(&b));
        let c = LabelSelector::match_labels([("app", "api")]);
        assert_ne!(a, c);
        assert_ne!(a, req("app", Operator::Exists, &[]));
        assert_ne!(hasher.hash_one(&a), hasher.hash_one(&c));
    }

    #[test]
    fn in_and_not_in_with_several_values() {
        let l = labels(&[("env", "dev")]);
        assert!(req("env", Operator::In, &["prod", "dev"]).matches(&l));
        assert!(!req("env", Operator::NotIn, &["prod", "dev"]).matches(&l));
        assert!(req("env", Operator::NotIn, &["prod", "qa"]).matches(&l));
        // Exists and DoesNotExist ignore the value.
        assert!(req("env", Operator::Exists, &[]).matches(&labels(&[("env", "")])));
        assert!(!req("env", Operator::DoesNotExist, &[]).matches(&labels(&[("env", "")])));
        // Keys are compared exactly.
        assert!(!req("env", Operator::In, &["dev"]).matches(&labels(&[("Env", "dev")])));
    }
}

impl LabelSelector {
    /// Parses a selector in kubectl's `-l` syntax (apimachinery `labels.Parse`):
    /// comma-separated requirements, each `key`, `!key`, `key=value`, `key==value`,
    /// `key!=value` (also true when the label is absent, as in Kubernetes),
    /// `key in (v1,v2)` or `key notin (v1,v2)`. An empty string selects everything.
    ///
    /// # Errors
    /// What is wrong and where, e.g. ``expected `)` after `in (a,b` ``.
    pub fn parse_kubectl(s: &str) -> Result<LabelSelector, String> {
        let mut selector = LabelSelector::default();
        for part in split_requirements(s)? {
            let part = part.trim();
            if part.is_empty() {
                if s.trim().is_empty() {
                    continue;
                }
                return Err(format!("empty requirement in `{s}`"));
            }
            selector.match_expressions.push(parse_requirement(part)?);
        }
        for r in &mut selector.match_expressions {
            r.values.sort();
            r.values.dedup();
        }
        Ok(selector)
    }
}

/// Splits at commas outside parentheses.
fn split_requirements(s: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("unmatched `)` in `{s}`"))?;
            }
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("unclosed `(` in `{s}`"));
    }
    parts.push(&s[start..]);
    Ok(parts)
}

fn parse_requirement(part: &str) -> Result<Requirement, String> {
    let requirement = |key: &str, operator, values: Vec<String>| -> Result<Requirement, String> {
        check_key(key)?;
        for v in &values {
            check_value(v)?;
        }
        Ok(Requirement {
            key: key.to_string(),
            operator,
            values,
        })
    };
    if let Some(key) = part.strip_prefix('!') {
        return requirement(key.trim(), Operator::DoesNotExist, Vec::new());
    }
    if let Some((key, value)) = part.split_once("!=") {
        return requirement(key.trim(), Operator::NotIn, vec![value.trim().to_string()]);
    }
    if let Some((key, value)) = part.split_once("==").or_else(|| part.split_once('=')) {
        return requirement(key.trim(), Operator::In, vec![value.trim().to_string()]);
    }
    if part.contains(['<', '>']) {
        return Err(format!(
            "`{part}`: the `<`/`>` operators do not apply to label values here; use =, !=, in, notin, key or !key"
        ));
    }
    // `key in (...)` / `key notin (...)`: the word after the key, then a parenthesised list.
    let mut words = part.splitn(2, char::is_whitespace);
    let key = words.next().unwrap_or_default();
    let rest = words.next().unwrap_or_default().trim_start();
    if rest.is_empty() {
        return requirement(key, Operator::Exists, Vec::new());
    }
    let (operator, list) = if let Some(list) = rest.strip_prefix("notin") {
        (Operator::NotIn, list)
    } else if let Some(list) = rest.strip_prefix("in") {
        (Operator::In, list)
    } else {
        return Err(format!(
            "`{part}`: expected `=`, `!=`, `in (...)` or `notin (...)` after `{key}`"
        ));
    };
    let list = list.trim();
    let inner = list
        .strip_prefix('(')
        .and_then(|l| l.strip_suffix(')'))
        .ok_or_else(|| {
            format!("`{part}`: expected a list in parentheses, e.g. `{key} in (a,b)`")
        })?;
    let values: Vec<String> = inner.split(',').map(|v| v.trim().to_string()).collect();
    if values.iter().all(String::is_empty) {
        return Err(format!("`{part}`: the list needs at least one value"));
    }
    requirement(key, operator, values)
}

/// A label key: `[prefix/]name`, name at most 63 characters of `[A-Za-z0-9._-]` starting and
/// ending alphanumeric (the prefix a DNS subdomain).
fn check_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let name_ok = !name.is_empty() && name.len() <= 63 && label_chars(name);
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|l| {
                !l.is_empty()
                    && l.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            })
    });
    if name_ok && prefix_ok {
        Ok(())
    } else {
        Err(format!(
            "`{key}` is not a label key (`[prefix/]name`: alphanumerics, `-`, `_`, `.`, at most 63 characters)"
        ))
    }
}

/// A label value: empty, or at most 63 characters of `[A-Za-z0-9._-]` starting and ending
/// alphanumeric.
fn check_value(value: &str) -> Result<(), String> {
    if value.is_empty() || (value.len() <= 63 && label_chars(value)) {
        Ok(())
    } else {
        Err(format!(
            "`{value}` is not a label value (alphanumerics, `-`, `_`, `.`, at most 63 characters)"
        ))
    }
}

fn label_chars(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod kubectl_syntax_tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn selects(selector: &str, pairs: &[(&str, &str)]) -> bool {
        LabelSelector::parse_kubectl(selector)
            .unwrap_or_else(|e| panic!("{selector}: {e}"))
            .matches(&labels(pairs))
    }

    #[test]
    fn equality_and_inequality() {
        assert!(selects("app=web", &[("app", "web")]));
        assert!(selects("app==web", &[("app", "web")]));
        assert!(!selects("app=web", &[("app", "db")]));
        assert!(!selects("app=web", &[]));
        // != also holds when the label is absent (apimachinery semantics).
        assert!(selects("app!=web", &[]));
        assert!(selects("app!=web", &[("app", "db")]));
        assert!(!selects("app!=web", &[("app", "web")]));
        // An empty value is a value.
        assert!(selects("app=", &[("app", "")]));
        assert!(!selects("app=", &[("app", "x")]));
    }

    #[test]
    fn set_based_and_existence() {
        let sel = "tier in (web, api),env notin (dev),!canary,team";
        assert!(selects(
            sel,
            &[("tier", "api"), ("env", "prod"), ("team", "a")]
        ));
        assert!(selects(sel, &[("tier", "web"), ("team", "a")]));
        assert!(!selects(sel, &[("tier", "db"), ("team", "a")]));
        assert!(!selects(
            sel,
            &[("tier", "web"), ("env", "dev"), ("team", "a")]
        ));
        assert!(!selects(
            sel,
            &[("tier", "web"), ("canary", "true"), ("team", "a")]
        ));
        assert!(!selects(sel, &[("tier", "web")]));
        // notin holds when the label is absent; in does not.
        assert!(selects("env notin (dev)", &[]));
        assert!(!selects("env in (dev)", &[]));
        assert!(selects(
            "app.kubernetes.io/name=web",
            &[("app.kubernetes.io/name", "web")]
        ));
        assert!(selects("", &[("any", "thing")]));
    }

    #[test]
    fn malformed_selectors_say_what_is_wrong() {
        for (bad, why) in [
            ("tier in (a,b", "unclosed"),
            ("tier in a,b)", "unmatched"),
            ("tier in ()", "at least one value"),
            ("tier is (a)", "expected `=`"),
            ("app=web,,tier=x", "empty requirement"),
            ("app=w b", "not a label value"),
            ("-app=web", "not a label key"),
            ("replicas>1", "`<`/`>`"),
        ] {
            let err = LabelSelector::parse_kubectl(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn keys_and_values_at_their_edges() {
        let parses = |s: &str| LabelSelector::parse_kubectl(s).is_ok();
        let name63 = "a".repeat(63);
        let label63 = "b".repeat(63);
        // Three 63-character labels and one of 61, with dots: 253 characters.
        let prefix253 = format!("{label63}.{label63}.{label63}.{}", "c".repeat(61));
        assert_eq!(prefix253.len(), 253);
        for good in [
            "a=b".to_string(),
            "a-b.c_d=x".to_string(),
            "k8s.io/name=v".to_string(),
            "my-team.example.com/app".to_string(),
            format!("{name63}=v"),
            format!("{prefix253}/app=v"),
            format!("k={name63}"),
            "k=a-b_c.d".to_string(),
            "A9=Z0".to_string(),
        ] {
            assert!(parses(&good), "{good}");
        }
        for bad in [
            format!("{name63}a=v"),
            format!("{prefix253}c/app=v"),
            format!("k={name63}a"),
            "/app=v".to_string(),
            "app/=v".to_string(),
            "Example.com/app=v".to_string(),
            "ex_ample.com/app=v".to_string(),
            "-ex.com/app=v".to_string(),
            "ex-.com/app=v".to_string(),
            "ex..com/app=v".to_string(),
            "_ab=v".to_string(),
            "ab_=v".to_string(),
            "a:b=v".to_string(),
            "k=-a".to_string(),
            "k=a-".to_string(),
            "k=_a".to_string(),
            "k=a:b".to_string(),
            "ab_".to_string(),
            "!ab_".to_string(),
        ] {
            assert!(!parses(&bad), "{bad}");
        }
    }
}
