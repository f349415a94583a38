//! `--known-networks FILE`: names for external networks.
//!
//! ```text
//! # comments
//! payment-provider: [203.0.113.0/24, 2001:db8:5::/48]
//! office:
//!   - 198.51.100.0/25
//! ```

use std::net::IpAddr;

use ipnet::IpNet;

/// A problem in a known-networks file, with its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworksError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

impl std::fmt::Display for NetworksError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for NetworksError {}

/// Named networks, in file order. An address belongs to the network with the longest
/// matching prefix (the first listed on a tie).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KnownNetworks {
    /// `(name, networks)`.
    pub networks: Vec<(String, Vec<IpNet>)>,
}

impl KnownNetworks {
    /// Parses `name: [cidr, ...]` entries (flow list, or a block list of `- cidr` lines).
    pub fn parse(text: &str) -> Result<KnownNetworks, NetworksError> {
        let mut out = KnownNetworks::default();
        let mut open: Option<usize> = None;
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.split('#').next().unwrap_or("").trim_end();
            if line.trim().is_empty() {
                continue;
            }
            let err = |message: String| NetworksError {
                line: line_no,
                message,
            };
            let trimmed = line.trim_start();
            if let Some(item) = trimmed.strip_prefix('-') {
                let Some(k) = open else {
                    return Err(err(
                        "a `- CIDR` item outside a network: write `name:` on the line before"
                            .into(),
                    ));
                };
                let net = cidr(item.trim()).map_err(err)?;
                out.networks[k].1.push(net);
                continue;
            }
            let Some((name, rest)) = trimmed.split_once(':') else {
                return Err(err(format!(
                    "expected `name: [CIDR, ...]`, found `{trimmed}`"
                )));
            };
            let name = name.trim().trim_matches('"').trim_matches('\'').to_string();
            if name.is_empty() {
                return Err(err("the network has no name".into()));
            }
            if out.networks.iter().any(|(n, _)| *n == name) {
                return Err(err(format!("network `{name}` is named twice")));
            }
            let rest = rest.trim();
            let mut nets = Vec::new();
            if rest.is_empty() {
                open = Some(out.networks.len());
            } else {
                open = None;
                let inner = rest
                    .strip_prefix('[')
                    .and_then(|r| r.strip_suffix(']'))
                    .ok_or_else(|| err(format!("expected a list `[CIDR, ...]` after `{name}:`")))?;
                for item in inner.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    nets.push(cidr(item).map_err(err)?);
                }
            }
            out.networks.push((name, nets));
        }
        if let Some((name, _)) = out.networks.iter().find(|(_, n)| n.is_empty()) {
            return Err(NetworksError {
                line: text.lines().count().max(1),
                message: format!("network `{name}` lists no CIDR"),
            });
        }
        Ok(out)
    }

    /// The network an address belongs to.
    pub fn find(&self, ip: IpAddr) -> Option<usize> {
        let mut best: Option<(usize, u8)> = None;
        for (i, (_, nets)) in self.networks.iter().enumerate() {
            for n in nets {
                if n.contains(&ip) && best.is_none_or(|(_, len)| n.prefix_len() > len) {
                    best = Some((i, n.prefix_len()));
                }
            }
        }
        best.map(|(i, _)| i)
    }
}

fn cidr(s: &str) -> Result<IpNet, String> {
    let s = s.trim_matches('"').trim_matches('\'');
    if let Ok(net) = s.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    match s.parse::<IpAddr>() {
        Ok(ip) => Ok(IpNet::from(ip)),
        Err(_) => Err(format!(
            "`{s}` is not a CIDR (e.g. 203.0.113.0/24) or an address"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_and_block_lists() {
        let k = KnownNetworks::parse(
            "# providers\npayment-provider: [203.0.113.0/24, \"2001:db8:5::/48\"]\noffice:\n  - 198.51.100.0/25\n  - 198.51.100.200\npsp-sandbox: [203.0.113.192/26]\n",
        )
        .unwrap();
        assert_eq!(k.networks.len(), 3);
        assert_eq!(k.networks[1].1.len(), 2);
        // Longest prefix wins.
        assert_eq!(k.find("203.0.113.200".parse().unwrap()), Some(2));
        assert_eq!(k.find("203.0.113.10".parse().unwrap()), Some(0));
        assert_eq!(k.find("198.51.100.200".parse().unwrap()), Some(1));
        assert_eq!(k.find("198.51.100.199".parse().unwrap()), None);
    }

    #[test]
    fn errors_name_the_line() {
        let e = KnownNetworks::parse("a: [10.0.0.0/8]\nb: [nope]\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("`nope`"));
        assert_eq!(KnownNetworks::parse("- 10.0.0.0/8").unwrap_err().line, 1);
        assert!(KnownNetworks::parse("a:\n").is_err());
        assert!(
            KnownNetworks::parse("a: [1.2.3.4]\na: [1.2.3.5]")
                .unwrap_err()
                .message
                .contains("twice")
        );
    }
}
