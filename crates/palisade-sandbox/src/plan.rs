//! Addresses for the sandbox: every pod keeps its known IPs; pods without any get addresses
//! from the sandbox ranges (IPv4 and IPv6), which are shown in the output.

use palisade_model::{Model, PodId};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The IPv4 range addresses are assigned from (RFC 2544 benchmarking, unlikely in policies).
pub const ASSIGNED_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 0);
/// The IPv6 range addresses are assigned from (RFC 5180 benchmarking, `2001:2::/48`).
pub const ASSIGNED_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0);

/// Where one pod lives in the sandbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodPlan {
    /// The model's pod.
    pub pod: PodId,
    /// Its addresses in the sandbox: the known IPs, or assigned ones.
    pub ips: Vec<IpAddr>,
    /// Whether `ips` were assigned by the sandbox (the model knew no IP).
    pub assigned: bool,
    /// The MAC address of its interface (locally administered, derived from the index).
    pub mac: [u8; 6],
}

impl PodPlan {
    /// The first address of a family.
    pub fn ip(&self, v6: bool) -> Option<IpAddr> {
        self.ips.iter().copied().find(|ip| ip.is_ipv6() == v6)
    }
}

/// Every address of a sandbox run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressPlan {
    /// One entry per model pod, in pod order.
    pub pods: Vec<PodPlan>,
    /// Addresses held by the "external" namespace (peers outside the cluster).
    pub external: Vec<IpAddr>,
    /// The MAC address of the external namespace's interface.
    pub external_mac: [u8; 6],
}

/// Why addresses could not be planned.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// Two pods (or a pod and an external peer) claim one address.
    #[error("address {ip} is used twice ({first} and {second}); a sandbox needs unique addresses")]
    DuplicateAddress {
        /// The address.
        ip: IpAddr,
        /// Who had it first.
        first: String,
        /// Who claimed it again.
        second: String,
    },
    /// More pods than the assigned ranges hold.
    #[error("too many pods for the sandbox ({0}; at most 65,000)")]
    TooManyPods(usize),
}

/// A locally administered MAC address for interface `index` (0 is the external namespace).
pub fn mac(index: usize) -> [u8; 6] {
    let i = index as u32;
    [
        0x02,
        0x50,
        (i >> 24) as u8,
        (i >> 16) as u8,
        (i >> 8) as u8,
        i as u8,
    ]
}

impl AddressPlan {
    /// Plans addresses: known pod IPs are kept, pods without one get an IPv4 and an IPv6
    /// address from the assigned ranges (skipping addresses already in use), `external` are
    /// the addresses the external namespace holds.
    pub fn new(model: &Model, external: &[IpAddr]) -> Result<AddressPlan, PlanError> {
        if model.pods.len() > 65_000 {
            return Err(PlanError::TooManyPods(model.pods.len()));
        }
        let mut owner: std::collections::HashMap<IpAddr, String> = Default::default();
        let mut claim = |ip: IpAddr, who: String| match owner.get(&ip) {
            Some(first) => Err(PlanError::DuplicateAddress {
                ip,
                first: first.clone(),
                second: who,
            }),
            None => {
                owner.insert(ip, who);
                Ok(())
            }
        };
        for id in model.pod_ids() {
            for &ip in &model.pods[id.index()].ips {
                claim(ip, model.pod_name(id))?;
            }
        }
        for &ip in external {
            claim(ip, "external peer".to_string())?;
        }
        let used: HashSet<IpAddr> = owner.keys().copied().collect();
        let mut next = 1u32;
        let mut assign = |v6: bool| loop {
            let n = next;
            next += 1;
            let ip = if v6 {
                IpAddr::V6(Ipv6Addr::from(u128::from(ASSIGNED_V6) + u128::from(n)))
            } else {
                IpAddr::V4(Ipv4Addr::from(u32::from(ASSIGNED_V4) + n))
            };
            if !used.contains(&ip) {
                return ip;
            }
        };
        let pods = model
            .pod_ids()
            .enumerate()
            .map(|(i, id)| {
                let known = &model.pods[id.index()].ips;
                let (ips, assigned) = if known.is_empty() {
                    (vec![assign(false), assign(true)], true)
                } else {
                    (known.clone(), false)
                };
                PodPlan {
                    pod: id,
                    ips,
                    assigned,
                    mac: mac(i + 1),
                }
            })
            .collect();
        Ok(AddressPlan {
            pods,
            external: external.to_vec(),
            external_mac: mac(0),
        })
    }

    /// The plan of a pod.
    pub fn pod(&self, id: PodId) -> &PodPlan {
        &self.pods[id.index()]
    }

    /// The pod holding an address in the sandbox, if any.
    pub fn pod_by_ip(&self, ip: IpAddr) -> Option<PodId> {
        self.pods
            .iter()
            .find(|p| p.ips.contains(&ip))
            .map(|p| p.pod)
    }

    /// Addresses the sandbox assigned (pods the model knew no IP for).
    pub fn assigned_ips(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.pods
            .iter()
            .filter(|p| p.assigned)
            .flat_map(|p| p.ips.iter().copied())
    }
}
