//! The address space cut into disjoint ranges ("atoms") at every ipBlock boundary.
//!
//! Within one atom every address is inside exactly the same ipBlocks, so an atom is the finest
//! external peer connectivity needs. IPv4 and IPv6 are partitioned separately; addresses are
//! mapped into one `u128` line (IPv4 as IPv4-mapped IPv6) so one sorted vector serves both.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Which family an atom belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// An address on the ordered line: IPv4 first, then IPv6.
pub fn key(ip: IpAddr) -> (Family, u128) {
    match ip {
        IpAddr::V4(v4) => (Family::V4, u128::from(u32::from(v4))),
        // IPv4-mapped IPv6 addresses are the IPv4 addresses themselves.
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (Family::V4, u128::from(u32::from(v4))),
            None => (Family::V6, u128::from(v6)),
        },
    }
}

/// The address of a number on the ordered line.
pub fn addr(family: Family, k: u128) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(k as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(k)),
    }
}

/// The last address of a family, as a number.
pub fn family_max(family: Family) -> u128 {
    match family {
        Family::V4 => u128::from(u32::MAX),
        Family::V6 => u128::MAX,
    }
}

/// The first and last address of a network, on the ordered line.
pub fn net_bounds(net: &IpNet) -> (Family, u128, u128) {
    match net {
        IpNet::V4(n) => (
            Family::V4,
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (
            Family::V6,
            u128::from(n.network()),
            u128::from(n.broadcast()),
        ),
    }
}

/// A disjoint inclusive range of addresses of one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Atom {
    /// The family.
    pub family: Family,
    /// First address, as a number.
    pub lo: u128,
    /// Last address, as a number (inclusive).
    pub hi: u128,
}

impl Atom {
    /// The first and last address.
    pub fn bounds(&self) -> (IpAddr, IpAddr) {
        (addr(self.family, self.lo), addr(self.family, self.hi))
    }

    /// A range as one CIDR when it is one, else `first-last`.
    pub fn display_range(family: Family, lo: u128, hi: u128) -> String {
        let bits = match family {
            Family::V4 => 32u32,
            Family::V6 => 128u32,
        };
        let whole = lo == 0 && hi == family_max(family);
        let size = hi.wrapping_sub(lo).wrapping_add(1);
        if whole || (size.is_power_of_two() && lo.is_multiple_of(size)) {
            let prefix = if whole {
                0
            } else {
                bits - size.trailing_zeros()
            };
            format!("{}/{}", addr(family, lo), prefix)
        } else {
            format!("{}-{}", addr(family, lo), addr(family, hi))
        }
    }
}

impl std::fmt::Display for Atom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&Atom::display_range(self.family, self.lo, self.hi))
    }
}

/// The partition of the address space by ipBlock boundaries.
#[derive(Clone, Debug, Default)]
pub struct IpSpace {
    atoms: Vec<Atom>,
}

impl IpSpace {
    /// Partitions IPv4 (always) and IPv6 (when `with_v6` or when a network is IPv6) by the
    /// bounds of every network given.
    pub fn new<'a>(nets: impl IntoIterator<Item = &'a IpNet>, with_v6: bool) -> Self {
        // Cut points: the first address of each atom.
        let mut cuts: Vec<(Family, u128)> = vec![(Family::V4, 0)];
        let mut v6 = with_v6;
        for net in nets {
            let (family, lo, hi) = net_bounds(net);
            v6 |= family == Family::V6;
            cuts.push((family, lo));
            if hi != family_max(family) {
                cuts.push((family, hi + 1));
            }
        }
        if v6 {
            cuts.push((Family::V6, 0));
        }
        cuts.sort_unstable();
        cuts.dedup();
        let atoms = cuts
            .iter()
            .enumerate()
            .map(|(i, &(family, lo))| {
                let hi = match cuts.get(i + 1) {
                    Some(&(f, next)) if f == family => next - 1,
                    _ => family_max(family),
                };
                Atom { family, lo, hi }
            })
            .collect();
        IpSpace { atoms }
    }

    /// The atoms, sorted (IPv4 first).
    pub fn atoms(&self) -> &[Atom] {
        &self.atoms
    }

    /// The atom holding an address, if its family is partitioned.
    pub fn atom_of(&self, ip: IpAddr) -> Option<u32> {
        let (family, k) = key(ip);
        let i = self
            .atoms
            .partition_point(|a| (a.family, a.hi) < (family, k));
        let atom = self.atoms.get(i)?;
        (atom.family == family && atom.lo <= k).then_some(i as u32)
    }

    /// The atoms inside a network, as an index range (the network's bounds are cut points).
    pub fn atoms_in(&self, net: &IpNet) -> std::ops::Range<u32> {
        let (family, lo, hi) = net_bounds(net);
        let start = self
            .atoms
            .partition_point(|a| (a.family, a.lo) < (family, lo));
        let end = self
            .atoms
            .partition_point(|a| (a.family, a.hi) <= (family, hi));
        start as u32..end.max(start) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse::<IpNet>().unwrap().trunc()
    }

    #[test]
    fn partitions_ipv4_at_block_and_except_bounds() {
        let nets = [net("10.0.0.0/8"), net("10.1.0.0/16")];
        let space = IpSpace::new(&nets, false);
        let shown: Vec<String> = space.atoms().iter().map(Atom::to_string).collect();
        assert_eq!(
            shown,
            [
                "0.0.0.0-9.255.255.255",
                "10.0.0.0/16",
                "10.1.0.0/16",
                "10.2.0.0-10.255.255.255",
                "11.0.0.0-255.255.255.255"
            ]
        );
        assert_eq!(space.atoms_in(&nets[0]), 1..4);
        assert_eq!(space.atoms_in(&nets[1]), 2..3);
        assert_eq!(space.atom_of("10.1.2.3".parse().unwrap()), Some(2));
        assert_eq!(space.atom_of("2001:db8::1".parse().unwrap()), None);
    }

    #[test]
    fn whole_spaces_and_ipv6() {
        let nets = [net("0.0.0.0/0"), net("2001:db8::/32")];
        let space = IpSpace::new(&nets, false);
        let shown: Vec<String> = space.atoms().iter().map(Atom::to_string).collect();
        assert_eq!(
            shown,
            [
                "0.0.0.0/0",
                "::-2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
                "2001:db8::/32",
                "2001:db9::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
            ]
        );
        assert_eq!(space.atoms_in(&nets[0]), 0..1);
        assert_eq!(space.atoms_in(&nets[1]), 2..3);
        assert_eq!(
            space.atom_of("::ffff:10.0.0.1".parse().unwrap()),
            space.atom_of("10.0.0.1".parse().unwrap())
        );
    }
}
