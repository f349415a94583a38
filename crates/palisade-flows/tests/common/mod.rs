//! Builders for test inputs (pcap bytes written programmatically) and a readable rendering of
//! sessions for snapshots.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::net::IpAddr;

use palisade_flows::{FlowReader, ReadOptions, ReadReport, Session, SessionConfig, sessionize};

pub const T0: i64 = 1_789_862_400_000_000_000;

/// Reads `bytes` and returns the sessions and the report.
pub fn run(bytes: &[u8], opts: &ReadOptions) -> (Vec<Session>, ReadReport) {
    let mut reader = FlowReader::new("input", bytes, opts).expect("readable");
    let mut sessions = Vec::new();
    sessionize(&mut reader, SessionConfig::default(), |s| sessions.push(s))
        .expect("no fatal error");
    (sessions, reader.into_report())
}

/// One line per session, times in ms relative to `T0`, sorted by start.
pub fn render(sessions: &[Session]) -> String {
    let mut sorted: Vec<&Session> = sessions.iter().collect();
    sorted.sort_by_key(|s| (s.start_ns, s.src, s.dst));
    let mut out = String::new();
    let ms = |t: i64| (t - T0) as f64 / 1e6;
    for s in sorted {
        let _ = write!(
            out,
            "{} {} -> {} {} [{}] start={}ms decided={}ms last={}ms fwd={} rev={} attempts={}",
            s.proto,
            s.src,
            s.dst,
            s.observed,
            s.evidence,
            ms(s.start_ns),
            ms(s.decided_ns),
            ms(s.last_seen_ns),
            s.packets_fwd,
            s.packets_rev,
            s.attempts
        );
        if !s.nodes.is_empty() {
            let nodes: Vec<&str> = s.nodes.iter().map(|n| &**n).collect();
            let _ = write!(out, " nodes={}", nodes.join(","));
        }
        for (side, ep) in [("src", &s.src_endpoint), ("dst", &s.dst_endpoint)] {
            if let Some(ep) = ep {
                let _ = write!(
                    out,
                    " {side}={}/{}{:?}",
                    ep.namespace, ep.pod_name, ep.labels
                );
            }
        }
        for d in &s.denied_by {
            let _ = write!(
                out,
                " denied_by={:?}:{}/{}",
                d.direction, d.namespace, d.name
            );
        }
        if s.during_gap {
            out.push_str(" during-gap");
        }
        out.push('\n');
    }
    out
}

pub fn render_report(r: &ReadReport) -> String {
    let mut out = format!(
        "format={:?} records={} events={} skipped={} malformed={} lost={} out_of_order={}\n",
        r.format, r.records, r.events, r.skipped, r.malformed, r.lost_events, r.out_of_order
    );
    for p in &r.malformed_samples {
        let _ = writeln!(out, "malformed {}: {}", p.line, p.message);
    }
    for g in &r.gaps {
        let _ = writeln!(
            out,
            "gap line {}: {:?} lost {} at {} time={:?}",
            g.line, g.node, g.lost, g.source, g.time_ns
        );
    }
    for w in &r.warnings {
        let _ = writeln!(out, "warning {}: {}", w.line, w.message);
    }
    out
}

// ---- packets ----

pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;
pub const RST: u8 = 0x04;
pub const FIN: u8 = 0x01;
pub const PSH: u8 = 0x08;

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

pub fn tcp(sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    let mut h = vec![0u8; 20];
    h[0..2].copy_from_slice(&sport.to_be_bytes());
    h[2..4].copy_from_slice(&dport.to_be_bytes());
    h[12] = 5 << 4;
    h[13] = flags;
    h
}

pub fn udp(sport: u16, dport: u16, payload: usize) -> Vec<u8> {
    let mut h = vec![0u8; 8 + payload];
    h[0..2].copy_from_slice(&sport.to_be_bytes());
    h[2..4].copy_from_slice(&dport.to_be_bytes());
    h[4..6].copy_from_slice(&((8 + payload) as u16).to_be_bytes());
    h
}

pub fn sctp(sport: u16, dport: u16, chunk: u8) -> Vec<u8> {
    let mut h = vec![0u8; 16];
    h[0..2].copy_from_slice(&sport.to_be_bytes());
    h[2..4].copy_from_slice(&dport.to_be_bytes());
    h[12] = chunk;
    h[15] = 4;
    h
}

/// An IP packet (v4 or v6 by the addresses) carrying `l4` as protocol `proto`.
pub fn ip_packet(src: &str, dst: &str, proto: u8, l4: &[u8]) -> Vec<u8> {
    match (ip(src), ip(dst)) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut p = vec![0x45, 0];
            p.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(l4);
            p
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut p = vec![0x60, 0, 0, 0];
            p.extend_from_slice(&(l4.len() as u16).to_be_bytes());
            p.extend_from_slice(&[proto, 64]);
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(l4);
            p
        }
        _ => panic!("mixed address families"),
    }
}

/// ICMP (v4) or ICMPv6 destination unreachable quoting `original` (an IP packet).
pub fn icmp_unreachable(from: &str, to: &str, code: u8, original: &[u8]) -> Vec<u8> {
    let v6 = ip(from).is_ipv6();
    let mut m = vec![if v6 { 1 } else { 3 }, code, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&original[..original.len().min(if v6 { 48 } else { 28 })]);
    ip_packet(from, to, if v6 { 58 } else { 1 }, &m)
}

pub fn ethernet(vlans: &[u16], ip: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    for (i, v) in vlans.iter().enumerate() {
        // The outer tag of QinQ is 802.1ad.
        let tpid: u16 = if i == 0 && vlans.len() > 1 {
            0x88A8
        } else {
            0x8100
        };
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&v.to_be_bytes());
    }
    let ethertype: u16 = if ip[0] >> 4 == 6 { 0x86DD } else { 0x0800 };
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(ip);
    f
}

pub fn sll(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
    let ethertype: u16 = if ip[0] >> 4 == 6 { 0x86DD } else { 0x0800 };
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(ip);
    f
}

pub fn sll2(ip: &[u8]) -> Vec<u8> {
    let ethertype: u16 = if ip[0] >> 4 == 6 { 0x86DD } else { 0x0800 };
    let mut f = ethertype.to_be_bytes().to_vec();
    f.extend_from_slice(&[0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
    f.extend_from_slice(ip);
    f
}

/// A classic pcap file: `frames` are (ns offset from T0, frame bytes).
pub fn pcap(link: u32, nanos: bool, frames: &[(i64, Vec<u8>)]) -> Vec<u8> {
    let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut f = magic.to_le_bytes().to_vec();
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&65535u32.to_le_bytes());
    f.extend_from_slice(&link.to_le_bytes());
    for (dt, frame) in frames {
        let t = T0 + dt;
        let secs = (t / 1_000_000_000) as u32;
        let frac = if nanos {
            (t % 1_000_000_000) as u32
        } else {
            (t % 1_000_000_000 / 1000) as u32
        };
        f.extend_from_slice(&secs.to_le_bytes());
        f.extend_from_slice(&frac.to_le_bytes());
        f.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        f.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        f.extend_from_slice(frame);
    }
    f
}

fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

fn block(block_type: u32, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    pad4(&mut body);
    let total = (12 + body.len()) as u32;
    let mut b = block_type.to_le_bytes().to_vec();
    b.extend_from_slice(&total.to_le_bytes());
    b.extend_from_slice(&body);
    b.extend_from_slice(&total.to_le_bytes());
    b
}

/// A pcapng file with one interface of `link` and timestamp resolution 10^-`tsresol`.
pub fn pcapng(link: u16, tsresol: u8, frames: &[(i64, Vec<u8>)]) -> Vec<u8> {
    let mut shb = 0x1A2B_3C4Du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    let mut out = block(0x0A0D_0D0A, &shb);
    let mut idb = link.to_le_bytes().to_vec();
    idb.extend_from_slice(&[0, 0]);
    idb.extend_from_slice(&65535u32.to_le_bytes());
    idb.extend_from_slice(&9u16.to_le_bytes());
    idb.extend_from_slice(&1u16.to_le_bytes());
    idb.extend_from_slice(&[tsresol, 0, 0, 0]);
    idb.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&block(1, &idb));
    // A custom block the reader must skip.
    out.extend_from_slice(&block(0x0000_0BAD, &[1, 2, 3, 4]));
    for (dt, frame) in frames {
        let ts = ((T0 + dt) as u128 * 10u128.pow(u32::from(tsresol)) / 1_000_000_000) as u64;
        let mut epb = 0u32.to_le_bytes().to_vec();
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        epb.extend_from_slice(frame);
        out.extend_from_slice(&block(6, &epb));
    }
    out
}

pub const MS: i64 = 1_000_000;
