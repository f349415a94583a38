//! Exact sets of (protocol, port) pairs: what a connection allows.

use crate::Protocol;
use std::fmt;

/// An inclusive port range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    /// First port.
    pub lo: u16,
    /// Last port (inclusive).
    pub hi: u16,
}

impl PortRange {
    /// Every port NetworkPolicy can name: 1-65535.
    pub const ALL: PortRange = PortRange { lo: 1, hi: 65535 };

    /// One port.
    pub fn single(port: u16) -> Self {
        PortRange { lo: port, hi: port }
    }
}

/// Sorted, disjoint, non-adjacent port ranges of one protocol.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProtocolPorts {
    ranges: Vec<PortRange>,
}

impl ProtocolPorts {
    /// The ranges, sorted and merged.
    pub fn ranges(&self) -> &[PortRange] {
        &self.ranges
    }

    /// Whether no port is in the set.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether every port 1-65535 is in the set.
    pub fn is_all(&self) -> bool {
        self.ranges.first() == Some(&PortRange::ALL)
    }

    /// Whether a port is in the set.
    pub fn contains(&self, port: u16) -> bool {
        let i = self.ranges.partition_point(|r| r.hi < port);
        self.ranges.get(i).is_some_and(|r| r.lo <= port)
    }

    /// Adds a range, keeping the ranges sorted and merged.
    pub fn insert(&mut self, range: PortRange) {
        if range.lo > range.hi {
            return;
        }
        let (mut lo, mut hi) = (range.lo, range.hi);
        // First range that could touch [lo, hi]: its hi + 1 >= lo.
        let start = self
            .ranges
            .partition_point(|r| u32::from(r.hi) + 1 < u32::from(lo));
        let mut end = start;
        while end < self.ranges.len() && u32::from(self.ranges[end].lo) <= u32::from(hi) + 1 {
            lo = lo.min(self.ranges[end].lo);
            hi = hi.max(self.ranges[end].hi);
            end += 1;
        }
        self.ranges
            .splice(start..end, std::iter::once(PortRange { lo, hi }));
    }

    /// Adds every range of another set.
    pub fn union_with(&mut self, other: &ProtocolPorts) {
        if self.is_all() || other.is_empty() {
            return;
        }
        if other.is_all() || self.is_empty() {
            self.ranges.clone_from(&other.ranges);
            return;
        }
        for r in &other.ranges {
            self.insert(*r);
        }
    }

    /// The ports in both sets.
    pub fn intersection(&self, other: &ProtocolPorts) -> ProtocolPorts {
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a, b) = (self.ranges[i], other.ranges[j]);
            let lo = a.lo.max(b.lo);
            let hi = a.hi.min(b.hi);
            if lo <= hi {
                out.push(PortRange { lo, hi });
            }
            if a.hi < b.hi {
                i += 1;
            } else {
                j += 1;
            }
        }
        ProtocolPorts { ranges: out }
    }

    /// The ports in this set and not in the other.
    pub fn difference(&self, other: &ProtocolPorts) -> ProtocolPorts {
        let mut out = Vec::new();
        let mut j = 0;
        for r in &self.ranges {
            let mut lo = u32::from(r.lo);
            let hi = u32::from(r.hi);
            while j < other.ranges.len() && u32::from(other.ranges[j].hi) < lo {
                j += 1;
            }
            let mut k = j;
            while lo <= hi && k < other.ranges.len() && u32::from(other.ranges[k].lo) <= hi {
                let o = other.ranges[k];
                if u32::from(o.lo) > lo {
                    out.push(PortRange {
                        lo: lo as u16,
                        hi: (u32::from(o.lo) - 1) as u16,
                    });
                }
                lo = lo.max(u32::from(o.hi) + 1);
                k += 1;
            }
            if lo <= hi {
                out.push(PortRange {
                    lo: lo as u16,
                    hi: hi as u16,
                });
            }
        }
        ProtocolPorts { ranges: out }
    }
}

impl fmt::Display for ProtocolPorts {
    /// `80,8080-8090`; empty string for no port.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if r.lo == r.hi {
                write!(f, "{}", r.lo)?;
            } else {
                write!(f, "{}-{}", r.lo, r.hi)?;
            }
        }
        Ok(())
    }
}

/// Allowed ports per protocol.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortSet {
    by_protocol: [ProtocolPorts; 3],
}

impl PortSet {
    /// The empty set.
    pub fn none() -> Self {
        PortSet::default()
    }

    /// Every port of every protocol.
    pub fn all() -> Self {
        let mut set = PortSet::default();
        for p in Protocol::ALL {
            set.insert(p, PortRange::ALL);
        }
        set
    }

    /// Adds a range of one protocol.
    pub fn insert(&mut self, protocol: Protocol, range: PortRange) {
        self.by_protocol[protocol.index()].insert(range);
    }

    /// The ports of one protocol.
    pub fn protocol(&self, protocol: Protocol) -> &ProtocolPorts {
        &self.by_protocol[protocol.index()]
    }

    /// Whether a (protocol, port) pair is in the set.
    pub fn contains(&self, protocol: Protocol, port: u16) -> bool {
        self.by_protocol[protocol.index()].contains(port)
    }

    /// Whether nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.by_protocol.iter().all(ProtocolPorts::is_empty)
    }

    /// Whether everything is allowed.
    pub fn is_all(&self) -> bool {
        self.by_protocol.iter().all(ProtocolPorts::is_all)
    }

    /// Adds everything of another set.
    pub fn union_with(&mut self, other: &PortSet) {
        for (a, b) in self.by_protocol.iter_mut().zip(&other.by_protocol) {
            a.union_with(b);
        }
    }

    /// What both sets allow.
    pub fn intersection(&self, other: &PortSet) -> PortSet {
        PortSet {
            by_protocol: std::array::from_fn(|i| {
                self.by_protocol[i].intersection(&other.by_protocol[i])
            }),
        }
    }

    /// What this set allows and the other does not.
    pub fn difference(&self, other: &PortSet) -> PortSet {
        PortSet {
            by_protocol: std::array::from_fn(|i| {
                self.by_protocol[i].difference(&other.by_protocol[i])
            }),
        }
    }

    /// Non-empty protocols with their ports, in TCP, UDP, SCTP order.
    pub fn iter(&self) -> impl Iterator<Item = (Protocol, &ProtocolPorts)> {
        Protocol::ALL
            .into_iter()
            .zip(&self.by_protocol)
            .filter(|(_, p)| !p.is_empty())
    }
}

impl fmt::Display for PortSet {
    /// `All Connections`, `TCP 80,443;UDP 53`, or `No Connections`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("All Connections");
        }
        if self.is_empty() {
            return f.write_str("No Connections");
        }
        for (i, (proto, ports)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{proto} {ports}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pp(ranges: &[(u16, u16)]) -> ProtocolPorts {
        let mut p = ProtocolPorts::default();
        for &(lo, hi) in ranges {
            p.insert(PortRange { lo, hi });
        }
        p
    }

    #[test]
    fn insert_merges_overlapping_and_adjacent() {
        let p = pp(&[(80, 80), (8080, 8090), (81, 85), (8000, 8079), (1, 1)]);
        assert_eq!(p.to_string(), "1,80-85,8000-8090");
        assert!(p.contains(8085));
        assert!(!p.contains(86));
        assert!(pp(&[(1, 100), (101, 65535)]).is_all());
    }

    #[test]
    fn intersection_and_difference() {
        let a = pp(&[(1, 100), (200, 300)]);
        let b = pp(&[(50, 250)]);
        assert_eq!(a.intersection(&b).to_string(), "50-100,200-250");
        assert_eq!(a.difference(&b).to_string(), "1-49,251-300");
        assert_eq!(pp(&[(1, 65535)]).difference(&pp(&[(1, 65535)])), pp(&[]));
        assert_eq!(
            pp(&[(65535, 65535)])
                .difference(&pp(&[(1, 10)]))
                .to_string(),
            "65535"
        );
    }

    #[test]
    fn display_of_port_sets() {
        let mut s = PortSet::none();
        assert_eq!(s.to_string(), "No Connections");
        s.insert(Protocol::Udp, PortRange::single(53));
        s.insert(Protocol::Tcp, PortRange::single(53));
        assert_eq!(s.to_string(), "TCP 53;UDP 53");
        assert_eq!(PortSet::all().to_string(), "All Connections");
    }
}
