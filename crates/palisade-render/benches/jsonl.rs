//! `replay -o jsonl`'s per-session writer, [`palisade_render::replay::write_jsonl_line`], on
//! sessions shaped like a capture's: named pods, IPv4 addresses, two deciding rules.
//!
//! `cargo bench -p palisade-render --bench jsonl`.

use divan::counter::ItemsCount;
use palisade_flows::{Evidence, Observed, Session};
use palisade_model::{Direction, EndpointKind, Protocol, WorkloadKind};
use palisade_replay::{Decision, MapSource, Peer, Predicted, Prediction, Replayed};
use std::hint::black_box;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

fn main() {
    divan::main();
}

fn peer(name: &str) -> Peer {
    Peer {
        pod: None,
        name: Some(Arc::from(name)),
        namespace: None,
        source: MapSource::Ip,
        kind: EndpointKind::Workload(WorkloadKind::Deployment),
        named: None,
        ip_pod: None,
        pod_name: None,
        ip_pod_name: None,
    }
}

/// 1,024 sessions, differing in time, addresses and ports.
fn sessions() -> Vec<Replayed> {
    let decisions: Arc<[Decision]> = [Direction::Egress, Direction::Ingress]
        .into_iter()
        .enumerate()
        .map(|(i, direction)| Decision {
            direction,
            policy: format!("shop/policy-{i}"),
            rule: Some(i as u32),
            allows: true,
            location: Some(("cluster.yaml".to_string(), 120 + i as u32)),
            tier: None,
        })
        .collect();
    (0..1024u32)
        .map(|i| {
            let [a, b, c, d] = i.to_be_bytes();
            let start_ns = 1_789_862_400_000_000_000 + i64::from(i) * 1_250_000;
            Replayed {
                session: Session {
                    start_ns,
                    last_seen_ns: start_ns,
                    decided_ns: start_ns,
                    proto: Protocol::Tcp,
                    src: SocketAddr::new(IpAddr::from([10, b, c, d]), 40_000 + (i % 20_000) as u16),
                    dst: SocketAddr::new(IpAddr::from([10, 200, a, d]), 8080),
                    observed: Observed::Accepted,
                    evidence: Evidence::SynAck,
                    packets_fwd: 3,
                    packets_rev: 2,
                    attempts: 1,
                    src_endpoint: None,
                    dst_endpoint: None,
                    nodes: Vec::new(),
                    denied_by: Vec::new(),
                    during_gap: false,
                },
                src: peer("shop/frontend"),
                dst: peer("shop/checkout"),
                current: Prediction {
                    predicted: Predicted::Accepted,
                    egress: palisade_engine::SideOutcome::Allowed,
                    ingress: palisade_engine::SideOutcome::Allowed,
                    decided_by: decisions.clone(),
                },
                predicted: Predicted::Accepted,
                mismatch: None,
                proposed: None,
                change: None,
                service: None,
                uncertain: Vec::new(),
                dns: None,
            }
        })
        .collect()
}

#[divan::bench]
fn write_jsonl_lines(bencher: divan::Bencher) {
    let sessions = sessions();
    let mut buf = Vec::with_capacity(1 << 20);
    bencher
        .counter(ItemsCount::new(sessions.len()))
        .bench_local(|| {
            buf.clear();
            let mut high = false;
            for r in black_box(&sessions) {
                high |= palisade_render::replay::write_jsonl_line(r, &mut buf);
            }
            (buf.len(), high)
        });
}
