//! Golden diffs on small manifests: added, removed, changed, equivalence (no change),
//! ipBlock splits and named ports whose numbers change in a workload.

use insta::assert_snapshot;
use palisade_diff::{Diff, diff, diff_aligned, diff_full};
use palisade_engine::connectivity::Level;
use palisade_load::{Input, LoadOptions, load};
use palisade_model::Model;
use std::fmt::Write;

const WORKLOADS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other, labels: {team: b}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: app}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        ports: [{name: pg, containerPort: 5432}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: client, namespace: other}
spec:
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec:
      containers:
      - name: client
"#;

const DENY: &str = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: app}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
"#;

const WEB: &str = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: app}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: b}}
    ports: [{port: 8080}]
  egress:
  - to:
    - podSelector: {matchLabels: {app: db}}
    ports: [{port: 5432}]
  - to:
    - ipBlock: {cidr: 10.0.0.0/8}
    ports: [{port: 443}]
"#;

fn model(files: &[(&str, &str)]) -> Model {
    let inputs: Vec<Input> = files
        .iter()
        .map(|(name, text)| Input::Text {
            name: (*name).to_string(),
            text: (*text).to_string(),
        })
        .collect();
    let loaded = load(&inputs, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.model
}

fn show(d: &Diff) -> String {
    let mut out = format!("{}\n", d.headline());
    for c in &d.changes {
        let _ = writeln!(
            out,
            "{} {} -> {}: {} => {}",
            c.change.as_str(),
            c.src,
            c.dst,
            c.before,
            c.after
        );
        for k in &c.causes {
            let _ = writeln!(
                out,
                "  cause {} {} {}:{} {:?}",
                k.policy,
                k.what.as_str(),
                k.file.as_deref().unwrap_or("?"),
                k.line.unwrap_or(0),
                k.rule
            );
        }
    }
    for name in &d.appeared {
        let _ = writeln!(out, "appeared {name}");
    }
    for name in &d.disappeared {
        let _ = writeln!(out, "disappeared {name}");
    }
    out
}

/// Diffs at workload level, checking that the full and the aligned path agree with the
/// chosen one.
fn run(old: &Model, new: &Model) -> String {
    let d = diff(old, new, Level::Workload);
    let full = diff_full(old, new, Level::Workload);
    assert_eq!(
        d.changes, full.changes,
        "the chosen and the full path differ"
    );
    let aligned = diff_aligned(old, new, Level::Workload).expect("no admin policies");
    assert_eq!(
        show(&aligned),
        show(&full),
        "the aligned and the full path differ"
    );
    show(&d)
}

fn base() -> Model {
    model(&[
        ("w.yaml", WORKLOADS),
        ("deny.yaml", DENY),
        ("web.yaml", WEB),
    ])
}

#[test]
fn added_policy_opens_a_connection() {
    let db = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: app}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: web}}
    ports: [{port: pg}]
"#;
    let new = model(&[
        ("w.yaml", WORKLOADS),
        ("deny.yaml", DENY),
        ("web.yaml", WEB),
        ("db.yaml", db),
    ]);
    assert_snapshot!(run(&base(), &new));
}

#[test]
fn removed_policy_closes_connections() {
    let new = model(&[("w.yaml", WORKLOADS), ("deny.yaml", DENY)]);
    assert_snapshot!(run(&base(), &new));
}

#[test]
fn edited_ports_change_a_connection() {
    let web = WEB.replace(
        "ports: [{port: 8080}]",
        "ports: [{port: 8080}, {port: 9090, protocol: UDP}]",
    );
    let new = model(&[
        ("w.yaml", WORKLOADS),
        ("deny.yaml", DENY),
        ("web.yaml", &web),
    ]);
    assert_snapshot!(run(&base(), &new));
}

#[test]
fn reordered_rules_are_equivalent() {
    let web = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: app}
spec:
  podSelector: {matchLabels: {app: web}}
  egress:
  - to:
    - ipBlock: {cidr: 10.0.0.0/8}
    ports: [{port: 443}]
  - to:
    - podSelector: {matchLabels: {app: db}}
    ports: [{port: 5432}]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: b}}
    ports: [{port: 8080}]
"#;
    let new = model(&[
        ("w.yaml", WORKLOADS),
        ("deny.yaml", DENY),
        ("web.yaml", web),
    ]);
    let out = run(&base(), &new);
    assert_eq!(out, "no connectivity change; 1 policy edited\n");
}

#[test]
fn split_and_merged_policies_are_equivalent() {
    // `web` split into an ingress policy and an egress policy, the deny merged into it.
    let split = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-in, namespace: app}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: b}}
    ports: [{port: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-out, namespace: app}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - to:
    - podSelector: {matchLabels: {app: db}}
    ports: [{port: 5432}]
  - to:
    - ipBlock: {cidr: 10.0.0.0/9}
    - ipBlock: {cidr: 10.128.0.0/9}
    ports: [{port: 443}]
"#;
    let new = model(&[
        ("w.yaml", WORKLOADS),
        ("deny.yaml", DENY),
        ("split.yaml", split),
    ]);
    let out = run(&base(), &new);
    assert_eq!(out, "no connectivity change; 3 policies edited\n");
}

#[test]
fn reformatting_is_not_an_edit() {
    let web = WEB
        .replace(
            "ports: [{port: 8080}]",
            "ports:\n    - port: 8080\n      protocol: TCP",
        )
        .replace("{cidr: 10.0.0.0/8}", "{cidr: 10.1.2.3/8}");
    let new = model(&[
        ("w.yaml", WORKLOADS),
        ("web.yaml", &web),
        ("deny.yaml", DENY),
    ]);
    assert_eq!(
        run(&base(), &new),
        "no connectivity change; no policy edited\n"
    );
}

#[test]
fn ip_block_split_with_except_reports_only_the_carved_range() {
    let web = WEB.replace(
        "- ipBlock: {cidr: 10.0.0.0/8}",
        "- ipBlock: {cidr: 10.0.0.0/9, except: [10.64.0.0/10]}\n    - ipBlock: {cidr: 10.128.0.0/9}",
    );
    let new = model(&[
        ("w.yaml", WORKLOADS),
        ("deny.yaml", DENY),
        ("web.yaml", &web),
    ]);
    assert_snapshot!(run(&base(), &new));
}

#[test]
fn named_port_number_change_in_a_workload() {
    let db_policy = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: app}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: web}}
    ports: [{port: pg}]
"#;
    let web = WEB.replace("ports: [{port: 5432}]", "ports: [{port: pg}]");
    let old = model(&[
        ("w.yaml", WORKLOADS),
        ("deny.yaml", DENY),
        ("web.yaml", &web),
        ("db.yaml", db_policy),
    ]);
    let moved = WORKLOADS.replace("containerPort: 5432", "containerPort: 6432");
    let new = model(&[
        ("w.yaml", &moved),
        ("deny.yaml", DENY),
        ("web.yaml", &web),
        ("db.yaml", db_policy),
    ]);
    let d = diff(&old, &new, Level::Workload);
    assert!(
        !d.incremental,
        "pods differ, and in a cluster this small the full path is cheaper"
    );
    let aligned = diff_aligned(&old, &new, Level::Workload).expect("no admin policies");
    assert_eq!(show(&aligned), show(&d));
    assert_snapshot!(show(&d));
}

#[test]
fn workloads_that_appear_and_disappear() {
    let renamed = WORKLOADS.replace("name: client,", "name: client2,");
    let old = base();
    let new = model(&[("w.yaml", &renamed), ("deny.yaml", DENY), ("web.yaml", WEB)]);
    assert_snapshot!(run(&old, &new));
}

#[test]
fn pod_level_names_pods() {
    let new = model(&[("w.yaml", WORKLOADS), ("deny.yaml", DENY)]);
    let d = diff(&base(), &new, Level::Pod);
    assert!(d.incremental);
    assert_eq!(d.changes, diff_full(&base(), &new, Level::Pod).changes);
    assert!(
        d.changes
            .iter()
            .all(|c| !c.src.is_empty() && !c.dst.is_empty())
    );
}

#[test]
fn workloads_from_another_model() {
    let policies_old = model(&[("deny.yaml", DENY), ("web.yaml", WEB)]);
    let policies_new = model(&[("deny.yaml", DENY)]);
    let w = model(&[("w.yaml", WORKLOADS)]);
    let old = palisade_diff::with_workloads_from(&policies_old, &w);
    let new = palisade_diff::with_workloads_from(&policies_new, &w);
    let d = diff(&old, &new, Level::Workload);
    assert!(d.incremental);
    assert_eq!(
        show(&d),
        run(
            &base(),
            &model(&[("w.yaml", WORKLOADS), ("deny.yaml", DENY)])
        )
    );
}
