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
        while let (Some(&a), Some(&b)) = (self.ranges.get(i), other.ranges.get(j)) {
            let lo = a.lo.max(b.lo);
            let hi = a.hi.min(b.hi);
            if lo <= hi {
                out.push(PortRange { lo, hi });
            }
            // On equal ends either may advance: the next comparison skips the other.
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
            // Skip the ranges that end below this one (the loop below would pass over them).
            while other.ranges.get(j).is_some_and(|o| u32::from(o.hi) < lo) {
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

    #[test]
    fn insert_edges() {
        // Touching (hi + 1 == lo) ranges merge; a gap of one port does not.
        assert_eq!(
            pp(&[(10, 20), (21, 30)]).ranges(),
            &[PortRange { lo: 10, hi: 30 }]
        );
        assert_eq!(
            pp(&[(21, 30), (10, 20)]).ranges(),
            &[PortRange { lo: 10, hi: 30 }]
        );
        assert_eq!(pp(&[(10, 20), (22, 30)]).to_string(), "10-20,22-30");
        // One insert can swallow several ranges and fill the gaps between them.
        assert_eq!(pp(&[(1, 1), (5, 5), (9, 9), (2, 8)]).to_string(), "1-9");
        assert_eq!(pp(&[(5, 5), (9, 9), (4, 10)]).to_string(), "4-10");
        // Inside an existing range: no change.
        assert_eq!(pp(&[(1, 100), (50, 60)]).to_string(), "1-100");
        // An inverted range is empty.
        assert!(pp(&[(9, 8)]).is_empty());
        assert_eq!(pp(&[(1, 3), (9, 8)]).to_string(), "1-3");
        // The top of the port space.
        assert_eq!(
            pp(&[(65535, 65535), (65534, 65534)]).to_string(),
            "65534-65535"
        );
        assert!(pp(&[(65535, 65535)]).contains(65535));
        assert!(!pp(&[(65535, 65535)]).contains(65534));
        assert_eq!(PortRange::single(7), PortRange { lo: 7, hi: 7 });
    }

    #[test]
    fn contains_is_exact_at_range_ends() {
        let p = pp(&[(10, 20), (30, 30)]);
        for (port, want) in [
            (0, false),
            (9, false),
            (10, true),
            (20, true),
            (21, false),
            (29, false),
            (30, true),
            (31, false),
            (65535, false),
        ] {
            assert_eq!(p.contains(port), want, "{port}");
        }
        assert!(!ProtocolPorts::default().contains(1));
    }

    #[test]
    fn all_and_empty() {
        assert!(ProtocolPorts::default().is_empty());
        assert!(!ProtocolPorts::default().is_all());
        assert!(!pp(&[(1, 65534)]).is_all());
        assert!(!pp(&[(2, 65535)]).is_all());
        assert!(pp(&[(1, 65535)]).is_all());
        assert!(!pp(&[(1, 65535)]).is_empty());
        assert!(PortSet::all().is_all() && !PortSet::all().is_empty());
        assert!(PortSet::none().is_empty() && !PortSet::none().is_all());
        let mut tcp_only = PortSet::none();
        tcp_only.insert(Protocol::Tcp, PortRange::ALL);
        assert!(!tcp_only.is_all() && !tcp_only.is_empty());
        assert_eq!(tcp_only.to_string(), "TCP 1-65535");
    }

    #[test]
    fn union_shortcuts_agree_with_the_general_case() {
        let a = pp(&[(1, 10), (20, 30)]);
        let all = pp(&[(1, 65535)]);
        let empty = ProtocolPorts::default();
        for (x, y, want) in [
            (&a, &empty, "1-10,20-30"),
            (&empty, &a, "1-10,20-30"),
            (&a, &all, "1-65535"),
            (&all, &a, "1-65535"),
            (&empty, &empty, ""),
            (&a, &pp(&[(11, 19)]), "1-30"),
            (&a, &pp(&[(5, 25), (40, 40)]), "1-30,40"),
        ] {
            let mut u = x.clone();
            u.union_with(y);
            assert_eq!(u.to_string(), want, "{x} + {y}");
        }
    }

    #[test]
    fn intersection_edges() {
        let a = pp(&[(1, 10), (20, 30)]);
        assert_eq!(a.intersection(&pp(&[(10, 20)])).to_string(), "10,20");
        assert_eq!(a.intersection(&pp(&[(11, 19)])).to_string(), "");
        assert_eq!(a.intersection(&ProtocolPorts::default()).to_string(), "");
        assert_eq!(a.intersection(&pp(&[(1, 65535)])), a);
        assert_eq!(
            pp(&[(1, 5), (7, 9), (11, 13)])
                .intersection(&pp(&[(3, 12)]))
                .to_string(),
            "3-5,7-9,11-12"
        );
        assert_eq!(
            pp(&[(3, 12)])
                .intersection(&pp(&[(1, 5), (7, 9), (11, 13)]))
                .to_string(),
            "3-5,7-9,11-12"
        );
    }

    #[test]
    fn difference_edges() {
        let a = pp(&[(1, 10), (20, 30)]);
        // Removing touching neighbours leaves the range intact.
        assert_eq!(a.difference(&pp(&[(11, 19)])), a);
        // Exact ends.
        assert_eq!(a.difference(&pp(&[(1, 1)])).to_string(), "2-10,20-30");
        assert_eq!(a.difference(&pp(&[(10, 10)])).to_string(), "1-9,20-30");
        assert_eq!(a.difference(&pp(&[(10, 20)])).to_string(), "1-9,21-30");
        // Several holes in one range, and one range removing several.
        assert_eq!(
            pp(&[(1, 100)])
                .difference(&pp(&[(10, 20), (30, 40)]))
                .to_string(),
            "1-9,21-29,41-100"
        );
        assert_eq!(a.difference(&pp(&[(1, 30)])).to_string(), "");
        assert_eq!(a.difference(&ProtocolPorts::default()), a);
        assert_eq!(ProtocolPorts::default().difference(&a).to_string(), "");
        // Ranges of `other` entirely below and above are skipped.
        assert_eq!(
            pp(&[(50, 60)])
                .difference(&pp(&[(1, 2), (55, 55), (100, 200)]))
                .to_string(),
            "50-54,56-60"
        );
        // An `other` range spanning two of ours.
        assert_eq!(
            pp(&[(1, 5), (8, 12), (15, 20)])
                .difference(&pp(&[(4, 16)]))
                .to_string(),
            "1-3,17-20"
        );
        assert_eq!(
            pp(&[(1, 65535)])
                .difference(&pp(&[(65535, 65535)]))
                .to_string(),
            "1-65534"
        );
    }

    #[test]
    fn port_set_operations_work_per_protocol() {
        let mut a = PortSet::none();
        a.insert(Protocol::Tcp, PortRange { lo: 80, hi: 90 });
        a.insert(Protocol::Udp, PortRange::single(53));
        let mut b = PortSet::none();
        b.insert(Protocol::Tcp, PortRange { lo: 85, hi: 100 });
        b.insert(Protocol::Sctp, PortRange::single(53));
        assert!(a.contains(Protocol::Udp, 53));
        assert!(!a.contains(Protocol::Tcp, 53));
        assert!(!a.contains(Protocol::Sctp, 53));
        assert_eq!(a.protocol(Protocol::Tcp).to_string(), "80-90");
        assert_eq!(a.intersection(&b).to_string(), "TCP 85-90");
        assert_eq!(a.difference(&b).to_string(), "TCP 80-84;UDP 53");
        assert_eq!(b.difference(&a).to_string(), "TCP 91-100;SCTP 53");
        let mut u = a.clone();
        u.union_with(&b);
        assert_eq!(u.to_string(), "TCP 80-100;UDP 53;SCTP 53");
        assert_eq!(
            u.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            Protocol::ALL.to_vec()
        );
        assert_eq!(
            a.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            vec![Protocol::Tcp, Protocol::Udp]
        );
        assert!(PortSet::all().difference(&PortSet::all()).is_empty());
        assert_eq!(PortSet::all().intersection(&a), a);
    }

    mod reference {
        //! Every operation against a plain set of ports, on ranges clustered at the edges
        //! of the port space and around small numbers so that touching and overlapping
        //! ranges are common.
        use super::super::*;
        use proptest::prelude::*;

        fn port() -> impl Strategy<Value = u16> {
            prop_oneof![1u16..=24, 65520u16..=65535, Just(1), Just(65535)]
        }

        fn ranges() -> impl Strategy<Value = Vec<(u16, u16)>> {
            proptest::collection::vec((port(), port()), 0..5)
        }

        /// A plain set of ports: one flag per port number.
        type Plain = Vec<bool>;

        fn build(ranges: &[(u16, u16)]) -> (ProtocolPorts, Plain) {
            let mut set = ProtocolPorts::default();
            let mut reference = vec![false; 65536];
            for &(lo, hi) in ranges {
                set.insert(PortRange { lo, hi });
                for p in lo..=hi {
                    reference[usize::from(p)] = true;
                }
            }
            (set, reference)
        }

        fn ports_of(set: &ProtocolPorts) -> Plain {
            let mut out = vec![false; 65536];
            for r in set.ranges() {
                for p in r.lo..=r.hi {
                    out[usize::from(p)] = true;
                }
            }
            out
        }

        fn zip(a: &Plain, b: &Plain, f: impl Fn(bool, bool) -> bool) -> Plain {
            a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
        }

        fn canonical(set: &ProtocolPorts) -> bool {
            set.ranges().iter().all(|r| r.lo <= r.hi && r.lo >= 1)
                && set
                    .ranges()
                    .windows(2)
                    .all(|w| u32::from(w[0].hi) + 1 < u32::from(w[1].lo))
        }

        proptest! {
            #[test]
            fn operations_match_a_plain_set(a in ranges(), b in ranges()) {
                let (x, rx) = build(&a);
                let (y, ry) = build(&b);
                prop_assert!(canonical(&x));
                prop_assert!(ports_of(&x) == rx);
                for p in [1u16, 2, 12, 24, 25, 65519, 65520, 65534, 65535] {
                    prop_assert_eq!(x.contains(p), rx[usize::from(p)]);
                }
                let count = rx.iter().filter(|&&p| p).count();
                prop_assert_eq!(x.is_empty(), count == 0);
                prop_assert_eq!(x.is_all(), count == 65535);
                let mut u = x.clone();
                u.union_with(&y);
                prop_assert!(canonical(&u));
                prop_assert!(ports_of(&u) == zip(&rx, &ry, |p, q| p || q));
                let i = x.intersection(&y);
                prop_assert!(canonical(&i));
                prop_assert!(ports_of(&i) == zip(&rx, &ry, |p, q| p && q));
                let d = x.difference(&y);
                prop_assert!(canonical(&d));
                prop_assert!(ports_of(&d) == zip(&rx, &ry, |p, q| p && !q));
            }
        }
    }
}
