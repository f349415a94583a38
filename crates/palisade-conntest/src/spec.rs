//! Test specs: Palisade's own `tests:` format and netassert v2 files.

use crate::yaml::{Kind, Node, parse};
use ipnet::IpNet;
use palisade_model::Protocol;
use std::net::IpAddr;

/// One end of a test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndpointSpec {
    /// `ns/name`: a pod, or every pod of a workload.
    Name(String),
    /// `ns/`: every pod of a namespace.
    Namespace(String),
    /// `{namespace, labels}`: pods matching the labels (in one namespace, or all).
    Labels {
        /// The namespace, if given.
        namespace: Option<String>,
        /// Labels that must all match.
        labels: Vec<(String, String)>,
    },
    /// An address: the pod that has it, or an external peer.
    Ip(IpAddr),
    /// A range of addresses outside the cluster.
    Cidr(IpNet),
    /// A DNS name (netassert `host`): not resolvable without a cluster.
    Host(String),
}

impl std::fmt::Display for EndpointSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndpointSpec::Name(n) => f.write_str(n),
            EndpointSpec::Namespace(ns) => write!(f, "{ns}/"),
            EndpointSpec::Labels { namespace, labels } => {
                let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(
                    f,
                    "{}{{{}}}",
                    namespace
                        .as_deref()
                        .map(|n| format!("{n}/"))
                        .unwrap_or_default(),
                    l.join(",")
                )
            }
            EndpointSpec::Ip(ip) => write!(f, "{ip}"),
            EndpointSpec::Cidr(net) => write!(f, "{net}"),
            EndpointSpec::Host(h) => f.write_str(h),
        }
    }
}

/// A port by number or container-port name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortSpec {
    /// A number.
    Number(u16),
    /// A container port name of the destination pods.
    Name(String),
}

/// What a test expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Every connection the test names is allowed.
    Allow,
    /// Every connection the test names is denied.
    Deny,
}

/// One test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestCase {
    /// `name`.
    pub name: String,
    /// The spec file.
    pub file: String,
    /// Its line.
    pub line: usize,
    /// Source.
    pub from: EndpointSpec,
    /// Destination.
    pub to: EndpointSpec,
    /// Port; `None` means every declared port of the destination pods.
    pub port: Option<PortSpec>,
    /// Protocol; `None` means TCP for numbers, the container port's protocol for names.
    pub protocol: Option<Protocol>,
    /// Expected outcome.
    pub expect: Expect,
}

/// A problem in a spec file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    /// The file.
    pub file: String,
    /// The line.
    pub line: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Parses a spec file: a mapping with `tests:` (Palisade) or a sequence of netassert v2
/// tests. One bad test costs only that test.
pub fn parse_spec(file: &str, text: &str) -> (Vec<TestCase>, Vec<SpecError>) {
    let mut tests = Vec::new();
    let mut errors = Vec::new();
    let err = |line: usize, message: String| SpecError {
        file: file.to_string(),
        line,
        message,
    };
    let docs = match parse(text) {
        Ok(d) => d,
        Err((line, message)) => {
            return (tests, vec![err(line, format!("invalid YAML: {message}"))]);
        }
    };
    for doc in docs {
        match &doc.kind {
            Kind::Map(_) => match doc.get("tests") {
                Some(Node {
                    kind: Kind::Seq(items),
                    ..
                }) => {
                    for item in items {
                        match palisade_test(file, item) {
                            Ok(t) => tests.push(t),
                            Err(e) => errors.push(e),
                        }
                    }
                }
                _ => errors.push(err(
                    doc.line,
                    "expected `tests:` with a list of tests (or a netassert v2 list)".into(),
                )),
            },
            Kind::Seq(items) => {
                for item in items {
                    match netassert_test(file, item) {
                        Ok(t) => tests.push(t),
                        Err(e) => errors.push(e),
                    }
                }
            }
            Kind::Scalar(_) => errors.push(err(
                doc.line,
                "expected a mapping with `tests:` or a netassert v2 list".into(),
            )),
        }
    }
    (tests, errors)
}

fn field<'a>(file: &str, node: &'a Node, key: &str) -> Result<&'a Node, SpecError> {
    node.get(key).ok_or_else(|| SpecError {
        file: file.to_string(),
        line: node.line,
        message: format!("missing `{key}`"),
    })
}

fn scalar<'a>(file: &str, node: &'a Node, what: &str) -> Result<&'a str, SpecError> {
    node.scalar().ok_or_else(|| SpecError {
        file: file.to_string(),
        line: node.line,
        message: format!("`{what}` must be a scalar"),
    })
}

fn endpoint(file: &str, node: &Node, what: &str) -> Result<EndpointSpec, SpecError> {
    let bad = |message: String| SpecError {
        file: file.to_string(),
        line: node.line,
        message,
    };
    match &node.kind {
        Kind::Scalar(s) => {
            let s = s.trim();
            if let Ok(ip) = s.parse::<IpAddr>() {
                Ok(EndpointSpec::Ip(ip))
            } else if let Ok(net) = s.parse::<IpNet>() {
                Ok(EndpointSpec::Cidr(net.trunc()))
            } else if let Some(ns) = s
                .strip_suffix('/')
                .filter(|ns| !ns.contains('/') && !ns.is_empty())
            {
                Ok(EndpointSpec::Namespace(ns.to_string()))
            } else if s.split('/').count() == 2 && !s.starts_with('/') {
                Ok(EndpointSpec::Name(s.to_string()))
            } else {
                Err(bad(format!(
                    "`{what}: {s}`: expected ns/name, ns/, {{namespace, labels}}, an IP or a CIDR"
                )))
            }
        }
        Kind::Map(_) => {
            let namespace = node
                .get("namespace")
                .and_then(Node::scalar)
                .map(str::to_string);
            let labels = match node.get("labels").map(|n| &n.kind) {
                Some(Kind::Map(entries)) => entries
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), scalar(file, v, "labels")?.to_string())))
                    .collect::<Result<Vec<_>, SpecError>>()?,
                None => Vec::new(),
                Some(_) => {
                    return Err(bad(
                        "`labels` must be a mapping of label keys to values".into()
                    ));
                }
            };
            if namespace.is_none() && labels.is_empty() {
                return Err(bad(format!("`{what}` needs `namespace` and/or `labels`")));
            }
            Ok(EndpointSpec::Labels { namespace, labels })
        }
        Kind::Seq(_) => Err(bad(format!("`{what}` must be one endpoint, not a list"))),
    }
}

fn palisade_test(file: &str, node: &Node) -> Result<TestCase, SpecError> {
    let name = scalar(file, field(file, node, "name")?, "name")?.to_string();
    let from = endpoint(file, field(file, node, "from")?, "from")?;
    let to = endpoint(file, field(file, node, "to")?, "to")?;
    let port = match node.get("port") {
        None => None,
        Some(p) => {
            let s = scalar(file, p, "port")?;
            Some(match s.parse::<u16>() {
                Ok(0) => {
                    return Err(SpecError {
                        file: file.into(),
                        line: p.line,
                        message: "`port` must be 1-65535".into(),
                    });
                }
                Ok(n) => PortSpec::Number(n),
                Err(_) => PortSpec::Name(s.to_string()),
            })
        }
    };
    let protocol = match node.get("protocol") {
        None => None,
        Some(p) => Some(
            Protocol::parse_loose(scalar(file, p, "protocol")?).ok_or_else(|| SpecError {
                file: file.into(),
                line: p.line,
                message: "`protocol` must be TCP, UDP or SCTP".into(),
            })?,
        ),
    };
    let e = field(file, node, "expect")?;
    let expect = match scalar(file, e, "expect")? {
        "allow" => Expect::Allow,
        "deny" => Expect::Deny,
        other => {
            return Err(SpecError {
                file: file.into(),
                line: e.line,
                message: format!("`expect: {other}`: expected allow or deny"),
            });
        }
    };
    Ok(TestCase {
        name,
        file: file.into(),
        line: node.line,
        from,
        to,
        port,
        protocol,
        expect,
    })
}

fn netassert_endpoint(file: &str, node: &Node, what: &str) -> Result<EndpointSpec, SpecError> {
    if let Some(host) = node.get("host") {
        let name = scalar(file, field(file, host, "name")?, "host.name")?;
        return Ok(match name.parse::<IpAddr>() {
            Ok(ip) => EndpointSpec::Ip(ip),
            Err(_) => EndpointSpec::Host(name.to_string()),
        });
    }
    let r = node.get("k8sResource").ok_or_else(|| SpecError {
        file: file.into(),
        line: node.line,
        message: format!("`{what}` needs `k8sResource` (or `host` for dst)"),
    })?;
    let name = scalar(file, field(file, r, "name")?, "name")?;
    let namespace = scalar(file, field(file, r, "namespace")?, "namespace")?;
    Ok(EndpointSpec::Name(format!("{namespace}/{name}")))
}

fn netassert_test(file: &str, node: &Node) -> Result<TestCase, SpecError> {
    let name = scalar(file, field(file, node, "name")?, "name")?.to_string();
    let kind = node.get("type").and_then(Node::scalar).unwrap_or("k8s");
    if kind != "k8s" {
        return Err(SpecError {
            file: file.into(),
            line: node.line,
            message: format!(
                "netassert test `{name}`: type `{kind}` is not supported (only `type: k8s`)"
            ),
        });
    }
    let protocol = match node.get("protocol").and_then(Node::scalar) {
        None => Protocol::Tcp,
        Some(p) => Protocol::parse_loose(p).ok_or_else(|| SpecError {
            file: file.into(),
            line: node.line,
            message: format!("netassert test `{name}`: protocol `{p}` must be tcp or udp"),
        })?,
    };
    let port_node = field(file, node, "targetPort")?;
    let port: u16 = scalar(file, port_node, "targetPort")?
        .parse()
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| SpecError {
            file: file.into(),
            line: port_node.line,
            message: "`targetPort` must be 1-65535".into(),
        })?;
    let exit_code = node.get("exitCode").and_then(Node::scalar).unwrap_or("0");
    let expect = if exit_code.trim() == "0" {
        Expect::Allow
    } else {
        Expect::Deny
    };
    Ok(TestCase {
        name,
        file: file.into(),
        line: node.line,
        from: netassert_endpoint(file, field(file, node, "src")?, "src")?,
        to: netassert_endpoint(file, field(file, node, "dst")?, "dst")?,
        port: Some(PortSpec::Number(port)),
        protocol: Some(protocol),
        expect,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palisade_format_every_endpoint_form() {
        let text = "tests:\n  - name: a\n    from: shop/checkout\n    to: payments/\n    port: http\n    expect: allow\n  - name: b\n    from: {namespace: shop, labels: {app: web}}\n    to: 10.0.0.0/8\n    port: 443\n    protocol: udp\n    expect: deny\n  - name: c\n    from: 10.1.2.3\n    to: {labels: {app: db}}\n    expect: deny\n";
        let (tests, errors) = parse_spec("s.yaml", text);
        assert_eq!(errors, vec![]);
        assert_eq!(tests.len(), 3);
        assert_eq!(tests[0].from, EndpointSpec::Name("shop/checkout".into()));
        assert_eq!(tests[0].to, EndpointSpec::Namespace("payments".into()));
        assert_eq!(tests[0].port, Some(PortSpec::Name("http".into())));
        assert_eq!(tests[0].protocol, None);
        assert_eq!((tests[0].line, tests[1].line), (2, 7));
        assert_eq!(
            tests[1].from,
            EndpointSpec::Labels {
                namespace: Some("shop".into()),
                labels: vec![("app".into(), "web".into())]
            }
        );
        assert_eq!(
            tests[1].to,
            EndpointSpec::Cidr("10.0.0.0/8".parse().unwrap())
        );
        assert_eq!(tests[1].protocol, Some(Protocol::Udp));
        assert_eq!(tests[1].expect, Expect::Deny);
        assert_eq!(tests[2].from, EndpointSpec::Ip("10.1.2.3".parse().unwrap()));
        assert_eq!(tests[2].port, None);
    }

    #[test]
    fn one_bad_test_costs_only_that_test() {
        let text = "tests:\n  - name: a\n    from: shop/x\n    to: shop/y\n    expect: maybe\n  - name: b\n    from: shop/x\n    to: not an endpoint\n    expect: allow\n  - name: c\n    from: shop/x\n    to: shop/y\n    expect: allow\n";
        let (tests, errors) = parse_spec("s.yaml", text);
        assert_eq!(tests.len(), 1);
        assert_eq!(errors.len(), 2);
        assert_eq!(
            errors[0].to_string(),
            "s.yaml:5: `expect: maybe`: expected allow or deny"
        );
        assert!(
            errors[1]
                .to_string()
                .starts_with("s.yaml:8: `to: not an endpoint`"),
            "{}",
            errors[1]
        );
    }

    #[test]
    fn netassert_v2() {
        let text = "- name: t1\n  type: k8s\n  protocol: udp\n  targetPort: 53\n  exitCode: 1\n  src:\n    k8sResource: {kind: deployment, name: web, namespace: shop}\n  dst:\n    k8sResource: {kind: statefulset, name: db, namespace: data}\n- name: t2\n  type: k8s\n  targetPort: 443\n  exitCode: 0\n  src:\n    k8sResource: {kind: pod, name: p, namespace: shop}\n  dst:\n    host: {name: github.com}\n- name: t3\n  type: bogus\n  targetPort: 1\n";
        let (tests, errors) = parse_spec("n.yaml", text);
        assert_eq!(tests.len(), 2);
        assert_eq!(tests[0].from, EndpointSpec::Name("shop/web".into()));
        assert_eq!(tests[0].to, EndpointSpec::Name("data/db".into()));
        assert_eq!(tests[0].protocol, Some(Protocol::Udp));
        assert_eq!(tests[0].port, Some(PortSpec::Number(53)));
        assert_eq!(tests[0].expect, Expect::Deny);
        assert_eq!(tests[1].expect, Expect::Allow);
        assert_eq!(tests[1].protocol, Some(Protocol::Tcp));
        assert_eq!(tests[1].to, EndpointSpec::Host("github.com".into()));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("type `bogus`"));
    }
}
