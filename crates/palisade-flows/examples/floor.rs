//! The floor under `palisade replay CAPTURE.pcap -o jsonl`: what the least a pcap replay
//! has to do costs on the machine at hand, with none of palisade's semantics (issue 10's
//! throughput target is measured against it in docs/benchmarks.md).
//!
//! Per record: read it, decode Ethernet/IPv4/TCP-or-UDP ports and TCP flags, and count the
//! packet in the direction-free 5-tuple's entry of a hash table of small (32-byte)
//! connection counters. Per connection: one short JSON line (addresses, ports, protocol,
//! start, end, packets, an outcome from the flags seen) written to a buffer that is thrown
//! away. No timers (every connection stays in the table to the end: more cache misses than
//! bounded state would cost, and none of the expiry work), no IPv6, no names, no policy, no
//! sanitizing, nothing checked.
//!
//! `floor FILE.pcap [THREADS] [prefetch]`
//! * THREADS > 1: each thread reads the whole file and keeps only the packets whose flow
//!   hash falls to it: a split with no hand-off between threads (but the file read once per
//!   thread).
//! * `prefetch`: an open-addressing table whose bucket address follows from the hash alone,
//!   asked for [`AHEAD`] packets before the packet is counted, so that the cache misses of
//!   several look-ups overlap (a hashbrown table does not expose its buckets).
//!
//! Prints records, packets counted, connections, bytes of JSON, the wall time and the rate
//! in records per second (the figure `palisade replay` is held to).

// An example program: printing its figures is what it is for.
#![allow(clippy::print_stdout)]

use std::collections::VecDeque;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{BufReader, Read};
use std::time::Instant;

use hashbrown::HashMap;
use rustc_hash::FxBuildHasher;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    a: u32,
    b: u32,
    pa: u16,
    pb: u16,
    proto: u8,
}

#[derive(Clone, Copy, Default)]
struct Counters {
    start_ns: i64,
    last_ns: i64,
    pkts: u32,
    flags: u8,
    client_is_a: bool,
}

/// Packets between a bucket's prefetch and its update.
const AHEAD: usize = 12;

/// Buckets of the prefetching table, over all threads: room for the benchmark capture's
/// 1.3 M connections at under a third full.
const PROBING_BUCKETS: usize = 1 << 22;

/// A decoded packet waiting for its bucket.
struct Pending {
    key: Key,
    hash: u64,
    t: i64,
    flags: u8,
    src_is_a: bool,
}

/// Linear probing over inline entries (no deletions): mostly one cache line per look-up,
/// at an address known from the hash alone, so it can be asked for early.
struct Probing {
    buckets: Vec<Option<(Key, Counters)>>,
    mask: usize,
    len: usize,
}

impl Probing {
    /// A table for one of `shares` threads.
    fn new(shares: u64) -> Self {
        let buckets = PROBING_BUCKETS / shares.next_power_of_two() as usize;
        Probing {
            buckets: vec![None; buckets],
            mask: buckets - 1,
            len: 0,
        }
    }

    fn bucket(&self, hash: u64) -> usize {
        hash as usize & self.mask
    }

    fn prefetch(&self, hash: u64) {
        #[cfg(target_arch = "x86_64")]
        safe_arch::prefetch_t0(&self.buckets[self.bucket(hash)]);
        #[cfg(not(target_arch = "x86_64"))]
        let _ = hash;
    }

    fn count(&mut self, p: &Pending) {
        let mut i = self.bucket(p.hash);
        loop {
            match &mut self.buckets[i] {
                Some((k, c)) if *k == p.key => {
                    c.last_ns = p.t;
                    c.pkts += 1;
                    c.flags |= p.flags;
                    return;
                }
                Some(_) => i = (i + 1) & self.mask,
                empty @ None => {
                    assert!(self.len <= self.mask / 2, "the floor's table is full");
                    self.len += 1;
                    *empty = Some((
                        p.key,
                        Counters {
                            start_ns: p.t,
                            last_ns: p.t,
                            pkts: 1,
                            flags: p.flags,
                            client_is_a: p.src_is_a,
                        },
                    ));
                    return;
                }
            }
        }
    }
}

struct Totals {
    records: u64,
    packets: u64,
    connections: u64,
    json_bytes: u64,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: floor FILE.pcap [THREADS] [prefetch]");
    let threads: u64 = args.next().map_or(1, |t| t.parse().expect("THREADS"));
    let prefetch = args.next().as_deref() == Some("prefetch");
    let started = Instant::now();
    let totals: Vec<Totals> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|share| {
                let path = path.clone();
                s.spawn(move || run(&path, share, threads, prefetch))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a floor thread"))
            .collect()
    });
    let secs = started.elapsed().as_secs_f64();
    let sum = |f: fn(&Totals) -> u64| totals.iter().map(f).sum::<u64>();
    let records = totals[0].records;
    println!(
        "{records} records, {} packets counted, {} connections, {} bytes of JSON, {secs:.2} s wall, {:.1} M records/s",
        sum(|t| t.packets),
        sum(|t| t.connections),
        sum(|t| t.json_bytes),
        records as f64 / secs / 1e6
    );
}

fn run(path: &str, share: u64, shares: u64, prefetch: bool) -> Totals {
    let mut input = BufReader::with_capacity(128 << 10, File::open(path).expect("open"));
    let mut header = [0u8; 24];
    input.read_exact(&mut header).expect("pcap header");
    let nanos = header[..4] == [0x4d, 0x3c, 0xb2, 0xa1];
    // Sized for the benchmark capture's connections up front: no rehash in the floor.
    let mut table: HashMap<Key, Counters, FxBuildHasher> = HashMap::with_capacity_and_hasher(
        if prefetch {
            0
        } else {
            (1 << 21) / shares as usize
        },
        FxBuildHasher,
    );
    let mut probing = prefetch.then(|| Probing::new(shares));
    let mut window = VecDeque::with_capacity(AHEAD + 1);
    let mut record = [0u8; 16];
    let mut frame = vec![0u8; 1 << 16];
    let (mut records, mut packets) = (0, 0);
    while input.read_exact(&mut record).is_ok() {
        records += 1;
        let le = |i: usize| u32::from_le_bytes(record[i..i + 4].try_into().expect("4 bytes"));
        let t = i64::from(le(0)) * 1_000_000_000 + i64::from(le(4)) * if nanos { 1 } else { 1000 };
        let caplen = le(8) as usize;
        if caplen > frame.len() {
            frame.resize(caplen, 0);
        }
        input
            .read_exact(&mut frame[..caplen])
            .expect("a whole record");
        let Some(pending) = decode(&frame[..caplen], t) else {
            continue;
        };
        // The top bit splits (the low bits pick buckets).
        if shares > 1 && (pending.hash >> 32) % shares != share {
            continue;
        }
        packets += 1;
        if let Some(probing) = &mut probing {
            probing.prefetch(pending.hash);
            window.push_back(pending);
            if window.len() > AHEAD {
                probing.count(&window.pop_front().expect("a full window"));
            }
        } else {
            let c = table.entry(pending.key).or_insert(Counters {
                start_ns: t,
                client_is_a: pending.src_is_a,
                ..Counters::default()
            });
            c.last_ns = t;
            c.pkts += 1;
            c.flags |= pending.flags;
        }
    }
    let mut out = Vec::with_capacity(2 << 20);
    let mut json_bytes = 0;
    let mut connections = 0;
    let mut write = |k: &Key, c: &Counters| {
        connections += 1;
        line(&mut out, k, c);
        if out.len() > 1 << 20 {
            json_bytes += out.len() as u64;
            out.clear();
        }
    };
    if let Some(probing) = &mut probing {
        for p in window.drain(..) {
            probing.count(&p);
        }
        for (k, c) in probing.buckets.iter().flatten() {
            write(k, c);
        }
    } else {
        for (k, c) in &table {
            write(k, c);
        }
    }
    json_bytes += out.len() as u64;
    Totals {
        records,
        packets,
        connections,
        json_bytes,
    }
}

/// An Ethernet/IPv4 TCP or UDP packet's direction-free key and flags; `None` for the rest.
fn decode(f: &[u8], t: i64) -> Option<Pending> {
    if f.len() < 34 || f[12..14] != [0x08, 0x00] {
        return None;
    }
    let ip = &f[14..];
    let ihl = usize::from(ip[0] & 0xf) * 4;
    let proto = ip[9];
    if (proto != 6 && proto != 17) || ip.len() < ihl + 14 {
        return None;
    }
    let src = u32::from_be_bytes(ip[12..16].try_into().expect("4 bytes"));
    let dst = u32::from_be_bytes(ip[16..20].try_into().expect("4 bytes"));
    let l4 = &ip[ihl..];
    let sp = u16::from_be_bytes([l4[0], l4[1]]);
    let dp = u16::from_be_bytes([l4[2], l4[3]]);
    let src_is_a = (src, sp) <= (dst, dp);
    let (a, pa, b, pb) = if src_is_a {
        (src, sp, dst, dp)
    } else {
        (dst, dp, src, sp)
    };
    let key = Key {
        a,
        b,
        pa,
        pb,
        proto,
    };
    Some(Pending {
        key,
        hash: FxBuildHasher.hash_one(key),
        t,
        flags: if proto == 6 { l4[13] } else { 0 },
        src_is_a,
    })
}

fn line(out: &mut Vec<u8>, k: &Key, c: &Counters) {
    let (client, server) = if c.client_is_a {
        ((k.a, k.pa), (k.b, k.pb))
    } else {
        ((k.b, k.pb), (k.a, k.pa))
    };
    let outcome: &[u8] = if c.flags & 0x04 != 0 {
        b"refused"
    } else if c.flags & 0x12 == 0x12 {
        b"accepted"
    } else {
        b"timed-out"
    };
    out.extend_from_slice(br#"{"client":""#);
    socket(out, client);
    out.extend_from_slice(br#"","server":""#);
    socket(out, server);
    out.extend_from_slice(br#"","protocol":"#);
    decimal(out, u64::from(k.proto));
    out.extend_from_slice(br#","start_ns":"#);
    decimal(out, c.start_ns as u64);
    out.extend_from_slice(br#","end_ns":"#);
    decimal(out, c.last_ns as u64);
    out.extend_from_slice(br#","packets":"#);
    decimal(out, u64::from(c.pkts));
    out.extend_from_slice(br#","observed":""#);
    out.extend_from_slice(outcome);
    out.extend_from_slice(b"\"}\n");
}

fn socket(out: &mut Vec<u8>, (ip, port): (u32, u16)) {
    for (i, octet) in ip.to_be_bytes().into_iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        decimal(out, u64::from(octet));
    }
    out.push(b':');
    decimal(out, u64::from(port));
}

fn decimal(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}
