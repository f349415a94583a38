//! Ordered evaluation tiers, as the upstream reference dataplane evaluates them.
//!
//! Each direction of a connection passes through the tiers in order: the admin tier
//! (ClusterNetworkPolicy with `tier: Admin`), the NetworkPolicy tier, then the baseline tier.
//! The first tier that answers [`TierVerdict::Accept`] or [`TierVerdict::Deny`] decides;
//! [`TierVerdict::Pass`] skips the rest of the admin tier straight to NetworkPolicy;
//! [`TierVerdict::NoMatch`] falls through. When no tier decides, the traffic is accepted
//! (Kubernetes' default is allow). Only the NetworkPolicy tier exists today; the admin and
//! baseline tiers are the slots ClusterNetworkPolicy will fill without a rewrite.

/// What one tier says about one direction of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TierVerdict {
    /// The tier allows the traffic; later tiers are not consulted.
    Accept,
    /// The tier drops the traffic; later tiers are not consulted.
    Deny,
    /// Skip to the NetworkPolicy tier (admin tier only).
    Pass,
    /// The tier has no opinion; the next tier decides.
    NoMatch,
}

/// The tiers, in evaluation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// ClusterNetworkPolicy, tier Admin (not implemented yet: always [`TierVerdict::NoMatch`]).
    Admin,
    /// namespaced `networking.k8s.io/v1` NetworkPolicy.
    NetworkPolicy,
    /// ClusterNetworkPolicy, tier Baseline (not implemented yet: always [`TierVerdict::NoMatch`]).
    Baseline,
}

impl Tier {
    /// All tiers in evaluation order.
    pub const ORDER: [Tier; 3] = [Tier::Admin, Tier::NetworkPolicy, Tier::Baseline];

    /// A short name for explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Admin => "admin",
            Tier::NetworkPolicy => "networkpolicy",
            Tier::Baseline => "baseline",
        }
    }
}

/// Runs the tiers in order and returns whether the direction is accepted and which tier
/// decided (`None`: no tier decided, default allow).
pub fn decide(mut tier_verdict: impl FnMut(Tier) -> TierVerdict) -> (bool, Option<Tier>) {
    let mut skip_to_np = false;
    for tier in Tier::ORDER {
        if skip_to_np && tier == Tier::Admin {
            continue;
        }
        match tier_verdict(tier) {
            TierVerdict::Accept => return (true, Some(tier)),
            TierVerdict::Deny => return (false, Some(tier)),
            TierVerdict::Pass => skip_to_np = true,
            TierVerdict::NoMatch => {}
        }
    }
    (true, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_deciding_tier_wins_and_default_is_allow() {
        assert_eq!(decide(|_| TierVerdict::NoMatch), (true, None));
        assert_eq!(
            decide(|t| if t == Tier::NetworkPolicy {
                TierVerdict::Deny
            } else {
                TierVerdict::Accept
            }),
            (true, Some(Tier::Admin))
        );
        assert_eq!(
            decide(|t| match t {
                Tier::Admin => TierVerdict::Pass,
                Tier::NetworkPolicy => TierVerdict::NoMatch,
                Tier::Baseline => TierVerdict::Deny,
            }),
            (false, Some(Tier::Baseline))
        );
    }

    #[test]
    fn tier_names_and_order() {
        assert_eq!(
            Tier::ORDER.map(Tier::as_str),
            ["admin", "networkpolicy", "baseline"]
        );
        assert!(Tier::Admin < Tier::NetworkPolicy && Tier::NetworkPolicy < Tier::Baseline);
    }

    #[test]
    fn pass_skips_the_rest_of_the_admin_tier_only() {
        let mut asked = Vec::new();
        let verdict = decide(|t| {
            asked.push(t);
            match t {
                Tier::Admin => TierVerdict::Pass,
                Tier::NetworkPolicy => TierVerdict::Accept,
                Tier::Baseline => TierVerdict::Deny,
            }
        });
        assert_eq!(verdict, (true, Some(Tier::NetworkPolicy)));
        assert_eq!(asked, [Tier::Admin, Tier::NetworkPolicy]);
        assert_eq!(
            decide(|t| if t == Tier::Baseline {
                TierVerdict::Accept
            } else {
                TierVerdict::NoMatch
            }),
            (true, Some(Tier::Baseline))
        );
    }
}
