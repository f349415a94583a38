//! Deterministic generators of large captures (Hubble JSON, pcap) for benchmarks and soak
//! tests.
//!
//! Both write a made-up cluster's traffic from a fixed seed: the same seed and count give the
//! same bytes. The mix is mostly accepted TCP connections, with policy drops (retransmitted
//! SYNs), refusals and UDP request/reply pairs, so that every session path is exercised.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};

/// SplitMix64: tiny, good enough for traffic shapes, and stable across versions.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// What a generator wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SynthSummary {
    /// Records written (flows or packets).
    pub records: u64,
    /// Connections started.
    pub connections: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// The namespaces the generated endpoints live in (a cluster for replaying generated traffic
/// uses the same names, so addresses map to pods).
pub const NAMESPACES: [&str; 8] = [
    "shop",
    "payments",
    "auth",
    "search",
    "catalog",
    "mail",
    "monitoring",
    "kube-system",
];
/// The app of each namespace, same index as [`NAMESPACES`].
pub const APPS: [&str; 8] = [
    "frontend",
    "ledger",
    "login",
    "indexer",
    "api",
    "smtp",
    "prometheus",
    "coredns",
];
const NODES: u64 = 8;
const PODS: u64 = 256;
/// 2026-09-20T00:00:00Z.
const EPOCH_S: i64 = 1_789_862_400;

struct Pod {
    ip: [u8; 4],
    ns: &'static str,
    app: &'static str,
    name: String,
    node: u64,
    identity: u64,
}

fn pods(rng: &mut Rng) -> Vec<Pod> {
    (0..PODS)
        .map(|i| {
            let k = (i % 8) as usize;
            let node = rng.below(NODES);
            Pod {
                ip: [10, 0, node as u8, (i / 8 + 10) as u8 + (i % 8) as u8 * 24],
                ns: NAMESPACES[k],
                app: APPS[k],
                name: format!(
                    "{}-{:x}-{:05x}",
                    APPS[k],
                    rng.below(1 << 32),
                    rng.below(1 << 20)
                ),
                node,
                identity: 10_000 + i * 7,
            }
        })
        .collect()
}

/// One flow the Hubble generator will write.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    time_ns: i64,
    seq: u64,
    client: u32,
    server: u32,
    sport: u16,
    dport: u16,
    kind: u8,
}

// Flow kinds.
const SYN_EGRESS: u8 = 0;
const SYN_INGRESS: u8 = 1;
const SYNACK_REPLY: u8 = 2;
const FIN_CLIENT: u8 = 3;
const FIN_REPLY: u8 = 4;
const SYN_DROPPED_INGRESS: u8 = 5;
const RST_REPLY: u8 = 6;
const UDP_REQUEST: u8 = 7;
const UDP_REPLY: u8 = 8;
const ACK_CLIENT: u8 = 9;

/// Writes `flows` Hubble `GetFlowsResponse` lines (shaped like `hubble observe -o json`).
pub fn write_hubble(w: &mut impl Write, flows: u64, seed: u64) -> io::Result<SynthSummary> {
    let mut rng = Rng::new(seed);
    let pods = pods(&mut rng);
    let mut heap: BinaryHeap<Reverse<Pending>> = BinaryHeap::new();
    let mut summary = SynthSummary::default();
    let mut line = Vec::with_capacity(2048);
    let mut t = EPOCH_S * 1_000_000_000;
    let mut seq = 0u64;
    while summary.records < flows {
        // About 4000 new connections per second.
        t += 1 + rng.below(500_000) as i64;
        while let Some(Reverse(p)) = heap.peek() {
            if p.time_ns > t || summary.records >= flows {
                break;
            }
            let p = heap.pop().expect("peeked").0;
            line.clear();
            hubble_line(&mut line, &p, &pods, &mut rng);
            w.write_all(&line)?;
            summary.bytes += line.len() as u64;
            summary.records += 1;
        }
        summary.connections += 1;
        let client = rng.below(PODS) as u32;
        let server = rng.below(PODS) as u32;
        let sport = 32768 + rng.below(28000) as u16;
        let r = rng.below(100);
        let dport = if r < 88 {
            [80u16, 443, 8080, 5432, 6379, 9090][rng.below(6) as usize]
        } else {
            53
        };
        let hop = 50_000 + rng.below(2_000_000) as i64;
        let kinds: &[(i64, u8)] = if r < 68 {
            &[
                (0, SYN_EGRESS),
                (1, SYN_INGRESS),
                (2, SYNACK_REPLY),
                (3, ACK_CLIENT),
                (40, FIN_CLIENT),
                (41, FIN_REPLY),
            ]
        } else if r < 83 {
            &[
                (0, SYN_EGRESS),
                (1, SYN_DROPPED_INGRESS),
                (10_000, SYN_EGRESS),
                (10_001, SYN_DROPPED_INGRESS),
            ]
        } else if r < 88 {
            &[(0, SYN_EGRESS), (1, SYN_INGRESS), (2, RST_REPLY)]
        } else {
            &[(0, UDP_REQUEST), (2, UDP_REPLY)]
        };
        for &(steps, kind) in kinds {
            // Steps are in units of the connection's hop latency, except the 1 s retransmit.
            let dt = if steps >= 10_000 {
                1_000_000_000 + (steps - 10_000) * hop
            } else {
                steps * hop
            };
            seq += 1;
            heap.push(Reverse(Pending {
                time_ns: t + dt,
                seq,
                client,
                server,
                sport,
                dport,
                kind,
            }));
        }
    }
    Ok(summary)
}

fn labels(out: &mut Vec<u8>, p: &Pod) {
    let _ = write!(
        out,
        r#"["k8s:app={}","k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name={}","k8s:io.cilium.k8s.policy.cluster=prod","k8s:io.cilium.k8s.policy.serviceaccount={}","k8s:io.kubernetes.pod.namespace={}"]"#,
        p.app, p.ns, p.app, p.ns
    );
}

fn endpoint(out: &mut Vec<u8>, p: &Pod) {
    let _ = write!(
        out,
        r#"{{"ID":{},"identity":{},"cluster_name":"prod","namespace":"{}","labels":"#,
        100 + p.identity % 3000,
        p.identity,
        p.ns
    );
    labels(out, p);
    let _ = write!(
        out,
        r#","pod_name":"{}","workloads":[{{"name":"{}","kind":"Deployment"}}]}}"#,
        p.name, p.app
    );
}

fn hubble_line(out: &mut Vec<u8>, p: &Pending, pods: &[Pod], rng: &mut Rng) {
    let reply = matches!(p.kind, SYNACK_REPLY | FIN_REPLY | RST_REPLY | UDP_REPLY);
    let (c, s) = (&pods[p.client as usize], &pods[p.server as usize]);
    let (src, dst, sport, dport) = if reply {
        (s, c, p.dport, p.sport)
    } else {
        (c, s, p.sport, p.dport)
    };
    // Egress is reported on the client's node, ingress and replies on the server's.
    let (node, direction) = match p.kind {
        SYN_EGRESS | ACK_CLIENT | FIN_CLIENT | UDP_REQUEST => (c.node, "EGRESS"),
        _ => (s.node, if reply { "EGRESS" } else { "INGRESS" }),
    };
    let dropped = p.kind == SYN_DROPPED_INGRESS;
    let secs = p.time_ns.div_euclid(1_000_000_000);
    let nanos = p.time_ns.rem_euclid(1_000_000_000);
    let sod = secs - EPOCH_S;
    let time = format!(
        "2026-09-{:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        20 + sod / 86_400,
        sod % 86_400 / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    let _ = write!(
        out,
        r#"{{"flow":{{"time":"{time}","uuid":"{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}","verdict":"{}","#,
        rng.below(1 << 32),
        rng.below(1 << 16),
        rng.below(1 << 12),
        rng.below(1 << 12),
        rng.below(1 << 48),
        if dropped { "DROPPED" } else { "FORWARDED" }
    );
    if dropped {
        out.extend_from_slice(br#""drop_reason":133,"#);
    }
    let _ = write!(
        out,
        r#""ethernet":{{"source":"2a:b1:{:02x}:{:02x}:0a:11","destination":"8e:3c:{:02x}:{:02x}:71:02"}},"IP":{{"source":"{}.{}.{}.{}","destination":"{}.{}.{}.{}","ipVersion":"IPv4"}},"l4":"#,
        src.ip[2],
        src.ip[3],
        dst.ip[2],
        dst.ip[3],
        src.ip[0],
        src.ip[1],
        src.ip[2],
        src.ip[3],
        dst.ip[0],
        dst.ip[1],
        dst.ip[2],
        dst.ip[3]
    );
    let (summary, l4) = match p.kind {
        UDP_REQUEST | UDP_REPLY => (
            "UDP".to_string(),
            format!(r#"{{"UDP":{{"source_port":{sport},"destination_port":{dport}}}}}"#),
        ),
        k => {
            let flags = match k {
                SYN_EGRESS | SYN_INGRESS | SYN_DROPPED_INGRESS => r#""SYN":true"#,
                SYNACK_REPLY => r#""SYN":true,"ACK":true"#,
                FIN_CLIENT | FIN_REPLY => r#""FIN":true,"ACK":true"#,
                RST_REPLY => r#""RST":true,"ACK":true"#,
                _ => r#""ACK":true"#,
            };
            let names = flags
                .replace("\":true", "")
                .replace('"', "")
                .replace(',', ", ");
            (
                format!("TCP Flags: {names}"),
                format!(
                    r#"{{"TCP":{{"source_port":{sport},"destination_port":{dport},"flags":{{{flags}}}}}}}"#
                ),
            )
        }
    };
    out.extend_from_slice(l4.as_bytes());
    out.extend_from_slice(br#","source":"#);
    endpoint(out, src);
    out.extend_from_slice(br#","destination":"#);
    endpoint(out, dst);
    let _ = write!(
        out,
        r#","Type":"L3_L4","node_name":"prod/worker-{node}","event_type":{{"type":{}{}}},"traffic_direction":"{direction}","trace_observation_point":"{}","#,
        if dropped { 1 } else { 4 },
        if dropped { r#","sub_type":133"# } else { "" },
        if dropped {
            "UNKNOWN_POINT"
        } else {
            "TO_ENDPOINT"
        }
    );
    if dropped {
        let _ = write!(
            out,
            r#""drop_reason_desc":"POLICY_DENIED","ingress_denied_by":[{{"kind":"NetworkPolicy","namespace":"{}","name":"default-deny","revision":"7"}}],"#,
            s.ns
        );
    } else {
        out.extend_from_slice(br#""trace_reason":"NEW","#);
    }
    let _ = write!(
        out,
        r#""is_reply":{reply},"interface":{{"index":{},"name":"lxc{:08x}"}},"Summary":"{summary}"}},"node_name":"prod/worker-{node}","time":"{time}"}}"#,
        10 + node,
        rng.below(1 << 32)
    );
    out.push(b'\n');
}

/// Writes a classic pcap (Ethernet, µs timestamps) of `packets` packets.
pub fn write_pcap(w: &mut impl Write, packets: u64, seed: u64) -> io::Result<SynthSummary> {
    let mut rng = Rng::new(seed);
    let mut summary = SynthSummary::default();
    let mut header = Vec::with_capacity(24);
    header.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    header.extend_from_slice(&2u16.to_le_bytes());
    header.extend_from_slice(&4u16.to_le_bytes());
    header.extend_from_slice(&[0; 8]);
    header.extend_from_slice(&262_144u32.to_le_bytes());
    header.extend_from_slice(&1u32.to_le_bytes());
    w.write_all(&header)?;
    summary.bytes += 24;
    let mut heap: BinaryHeap<Reverse<(i64, u64, Vec<u8>)>> = BinaryHeap::new();
    let mut t_us: i64 = EPOCH_S * 1_000_000;
    let mut seq = 0u64;
    let mut rec = Vec::with_capacity(256);
    while summary.records < packets {
        t_us += 1 + rng.below(60) as i64;
        while let Some(Reverse((at, _, _))) = heap.peek() {
            if *at > t_us || summary.records >= packets {
                break;
            }
            let Reverse((at, _, frame)) = heap.pop().expect("peeked");
            rec.clear();
            rec.extend_from_slice(&((at / 1_000_000) as u32).to_le_bytes());
            rec.extend_from_slice(&((at % 1_000_000) as u32).to_le_bytes());
            rec.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            rec.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            rec.extend_from_slice(&frame);
            w.write_all(&rec)?;
            summary.bytes += rec.len() as u64;
            summary.records += 1;
        }
        summary.connections += 1;
        let c = [10, 0, rng.below(8) as u8, 10 + rng.below(200) as u8];
        let s = [10, 0, rng.below(8) as u8, 10 + rng.below(200) as u8];
        let sport = 32768 + rng.below(28000) as u16;
        let dport = [80u16, 443, 8080, 5432][rng.below(4) as usize];
        let vlan = rng.below(10) == 0;
        let r = rng.below(100);
        let rtt = 50 + rng.below(400) as i64;
        let mut push = |dt: i64, frame: Vec<u8>| {
            seq += 1;
            heap.push(Reverse((t_us + dt, seq, frame)));
        };
        let tcp = |from_client: bool, flags: u8, payload: usize| {
            let (a, b, pa, pb) = if from_client {
                (c, s, sport, dport)
            } else {
                (s, c, dport, sport)
            };
            frame(vlan, a, b, 6, &tcp_header(pa, pb, flags), payload)
        };
        if r < 80 {
            push(0, tcp(true, 0x02, 0));
            push(rtt, tcp(false, 0x12, 0));
            push(rtt + 1, tcp(true, 0x10, 0));
            push(rtt + 2, tcp(true, 0x18, 120));
            push(2 * rtt + 2, tcp(false, 0x18, 600));
            push(2 * rtt + 3, tcp(true, 0x11, 0));
            push(3 * rtt + 3, tcp(false, 0x11, 0));
            push(3 * rtt + 4, tcp(true, 0x10, 0));
        } else if r < 90 {
            push(0, tcp(true, 0x02, 0));
            push(1_000_000, tcp(true, 0x02, 0));
            push(3_000_000, tcp(true, 0x02, 0));
        } else if r < 95 {
            push(0, tcp(true, 0x02, 0));
            push(rtt, tcp(false, 0x14, 0));
        } else {
            push(0, frame(vlan, c, s, 17, &udp_header(sport, 53), 40));
            push(rtt, frame(vlan, s, c, 17, &udp_header(53, sport), 120));
        }
    }
    Ok(summary)
}

fn tcp_header(sport: u16, dport: u16, flags: u8) -> [u8; 20] {
    let mut h = [0u8; 20];
    h[0..2].copy_from_slice(&sport.to_be_bytes());
    h[2..4].copy_from_slice(&dport.to_be_bytes());
    h[12] = 5 << 4;
    h[13] = flags;
    h[14..16].copy_from_slice(&64_240u16.to_be_bytes());
    h
}

fn udp_header(sport: u16, dport: u16) -> [u8; 8] {
    let mut h = [0u8; 8];
    h[0..2].copy_from_slice(&sport.to_be_bytes());
    h[2..4].copy_from_slice(&dport.to_be_bytes());
    h
}

/// An Ethernet frame (optionally 802.1Q-tagged) carrying IPv4 with the given L4 header and
/// `payload` zero bytes.
pub fn frame(
    vlan: bool,
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    l4: &[u8],
    payload: usize,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(18 + 20 + l4.len() + payload);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1]);
    if vlan {
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
    }
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + l4.len() + payload) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(l4);
    f.resize(f.len() + payload, 0);
    f
}
