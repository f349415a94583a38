//! Reading flows from Hubble Relay for `replay` and `watch`.

use crate::args::{RelayArgs, ReplayArgs};
use crate::live::relay_options;
use palisade_live::relay::{Backpressure, FlowQuery, Notice, RelayFeed, ServerFilter};
use palisade_replay::{Filter, PeerMatch, TimeBound};
use std::io::Read;

/// Replay's filter as server-side flow filters (the client filters sessions again).
pub fn server_filter(filter: &Filter) -> ServerFilter {
    let peer = |p: &PeerMatch| match p {
        PeerMatch::Ip(ip) => ip.to_string(),
        PeerMatch::Net(net) => net.to_string(),
        PeerMatch::Namespace(ns) => format!("{ns}/"),
        PeerMatch::Name(ns, name) => format!("{ns}/{name}"),
    };
    ServerFilter {
        from: filter.from.iter().map(peer).collect(),
        to: filter.to.iter().map(peer).collect(),
        namespaces: filter.namespace.clone(),
        ports: filter.port.clone(),
        protocols: filter
            .protocol
            .iter()
            .map(|p| p.as_str().to_ascii_lowercase())
            .collect(),
    }
}

/// Nanoseconds since the epoch, now.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// With Relay, a duration in --since/--until means "that long ago", as in `hubble observe`.
pub fn absolute(bound: Option<TimeBound>, now: i64) -> Option<TimeBound> {
    bound.map(|b| match b {
        TimeBound::AfterStart(d) | TimeBound::BeforeEnd(d) => TimeBound::At(now.saturating_sub(d)),
        at => at,
    })
}

fn at(bound: Option<TimeBound>) -> Option<i64> {
    match bound {
        Some(TimeBound::At(t)) => Some(t),
        _ => None,
    }
}

/// Starts following Relay; notices go to stderr.
pub fn start(
    relay: &RelayArgs,
    query: FlowQuery,
    backpressure: Backpressure,
) -> anyhow::Result<(String, RelayFeed)> {
    let opts = relay_options(relay);
    let name = format!("hubble-relay:{}", opts.address);
    let shown = opts.address.clone();
    let on_notice = Box::new(move |n: &Notice| match n {
        Notice::Connected => {}
        Notice::Disconnected { reason, retry_in } => eprintln!(
            "palisade: Hubble Relay {shown}: {reason}; reconnecting in {:.1}s",
            retry_in.as_secs_f64()
        ),
        Notice::Overloaded { dropped } => eprintln!(
            "palisade: warning: flows arrive faster than they can be processed: dropped {dropped} (counted as a gap; see palisade_flows_dropped_total)"
        ),
    });
    let feed = RelayFeed::start(opts, query, backpressure, on_notice)?;
    Ok((name, feed))
}

/// `replay --hubble-relay`: the feed for the replay's filter (already made absolute).
pub fn open(args: &ReplayArgs, filter: &Filter) -> anyhow::Result<(String, Box<dyn Read>)> {
    let query = FlowQuery {
        since_ns: at(filter.since),
        until_ns: at(filter.until),
        follow: args.relay.follow,
        filters: server_filter(filter).to_flow_filters(),
    };
    // A bounded replay waits for its reader (nothing lost); following never holds Relay up.
    let backpressure = if args.relay.follow {
        Backpressure::Drop
    } else {
        Backpressure::Wait
    };
    let (name, feed) = start(&args.relay, query, backpressure)?;
    Ok((name, Box::new(feed)))
}
