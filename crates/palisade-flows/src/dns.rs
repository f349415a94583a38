//! DNS responses inside captured packets: which addresses a response gives the name the
//! client asked for, so that replay can decide ClusterNetworkPolicy `domainNames` peers from a
//! pcap as it does from Hubble's `l7.dns` flows.
//!
//! Hand-written (about 200 lines) rather than a DNS crate: only the header, the questions and
//! the answer section's A, AAAA and CNAME records are needed, and a response cut short by the
//! capture's snap length (common: EDNS and authority records come last) should still yield
//! the answers read before the cut, with a precise note of what was lost. Whole-message
//! parsers reject such a message outright, parse every record type of every section (a
//! record type they are strict about costs the whole answer), and size allocations from the
//! header's counts. Nothing here allocates more than the message's own records, every index
//! is checked, and compression pointers are followed a bounded number of times: malformed
//! input is a [`DnsProblem`], never a panic (fuzzed: the `dns_response` target).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The DNS port: responses come from it (UDP, and TCP with a 2-byte length before each
/// message).
pub const DNS_PORT: u16 = 53;

/// Questions followed per response (real responses carry one).
const MAX_QUESTIONS: usize = 4;
/// CNAME links followed from a question name.
const MAX_CHAIN: usize = 16;
/// Compression pointers followed while reading one name: a name has at most 127 labels,
/// but a pointer loop must end.
const MAX_POINTERS: usize = 128;
/// RFC 1035 §3.1: a name is at most 255 bytes in wire form.
const MAX_NAME_WIRE: usize = 255;

const TYPE_A: u16 = 1;
const TYPE_CNAME: u16 = 5;
const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;

/// One address a DNS response gives the name a client asked for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DnsAnswer {
    /// The address (an A or AAAA record at the end of the question's CNAME chain).
    pub address: IpAddr,
    /// The name the client asked for (the question), lowercase, without the trailing dot.
    pub name: String,
}

/// Why a DNS response could not be read in full. Answers read before the problem are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsProblem {
    /// The message ends inside the part named (`header`, `question 1`, `answer 2 of 3`):
    /// cut short by the capture's snap length, or a count that promises more than is there.
    CutShort(String),
    /// A name that is not a valid wire-format name (in the part named).
    BadName {
        /// Where: `question 1`, `answer 2 of 3`, `CNAME of answer 1 of 2`.
        part: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An A or AAAA record whose data is not 4 or 16 bytes long (that record is skipped).
    BadAddress {
        /// Where: `answer 2 of 3`.
        part: String,
        /// Its RDLENGTH.
        len: u16,
    },
}

impl DnsProblem {
    /// Whether the message was cut short (rather than malformed).
    pub fn is_cut_short(&self) -> bool {
        matches!(self, DnsProblem::CutShort(_))
    }
}

impl fmt::Display for DnsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsProblem::CutShort(part) => write!(f, "message ends inside the {part}"),
            DnsProblem::BadName { part, reason } => write!(f, "bad name in the {part}: {reason}"),
            DnsProblem::BadAddress { part, len } => {
                write!(f, "address record in the {part} has {len} bytes of data")
            }
        }
    }
}

#[inline]
fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// Reads one DNS message (without the TCP length prefix) sent from port 53 and appends to
/// `out` the addresses it gives each question's name: A and AAAA records of the answer
/// section whose owner is the question name or a name its CNAME chain leads to, each paired
/// with the question name (what the client asked, as Hubble's `l7.dns.query` is).
///
/// Queries, other opcodes and error responses (NXDOMAIN ...) give nothing and are `Ok`.
/// On `Err`, `out` still holds what the records read before the problem give.
pub fn read_response(msg: &[u8], out: &mut Vec<DnsAnswer>) -> Result<(), DnsProblem> {
    let (Some(flags), Some(qdcount), Some(ancount)) = (be16(msg, 2), be16(msg, 4), be16(msg, 6))
    else {
        return Err(DnsProblem::CutShort("header".into()));
    };
    if msg.len() < 12 {
        return Err(DnsProblem::CutShort("header".into()));
    }
    let is_response = flags & 0x8000 != 0;
    let opcode = (flags >> 11) & 0xF;
    let rcode = flags & 0xF;
    if !is_response || opcode != 0 || rcode != 0 {
        return Ok(());
    }
    let mut at = 12;
    let mut questions: Vec<String> = Vec::new();
    for i in 0..qdcount {
        let part = || format!("question {}", i + 1);
        let (name, next) = read_name(msg, at).map_err(|e| e.in_part(part()))?;
        if msg.len() < next + 4 {
            return Err(DnsProblem::CutShort(part()));
        }
        let (qtype, qclass) = (be16(msg, next), be16(msg, next + 2));
        at = next + 4;
        if questions.len() < MAX_QUESTIONS
            && qclass == Some(CLASS_IN)
            && matches!(qtype, Some(TYPE_A | TYPE_AAAA | TYPE_CNAME | 255))
            && !name.is_empty()
            && !questions.contains(&name)
        {
            questions.push(name);
        }
    }
    let mut records: Vec<(String, Data)> = Vec::new();
    let mut problem = None;
    for i in 0..ancount {
        let part = || format!("answer {} of {ancount}", i + 1);
        match read_record(msg, at) {
            Ok((record, next)) => {
                at = next;
                match record {
                    Ok(Some(r)) => records.push(r),
                    Ok(None) => {}
                    // One bad record is skipped (its length says where the next starts);
                    // the first problem is reported.
                    Err(e) => {
                        problem.get_or_insert(e.in_part(part()));
                    }
                }
            }
            Err(e) => {
                problem.get_or_insert(e.in_part(part()));
                break;
            }
        }
    }
    resolve(&questions, &records, out);
    problem.map_or(Ok(()), Err)
}

/// What an answer record says, of the kinds that matter.
enum Data {
    Address(IpAddr),
    Alias(String),
}

/// A problem before its place in the message is known.
enum Fault {
    CutShort,
    BadName(&'static str),
    BadAddress(u16),
}

impl Fault {
    fn in_part(self, part: String) -> DnsProblem {
        match self {
            Fault::CutShort => DnsProblem::CutShort(part),
            Fault::BadName(reason) => DnsProblem::BadName { part, reason },
            Fault::BadAddress(len) => DnsProblem::BadAddress { part, len },
        }
    }
}

/// Reads the resource record at `at`: the outer `Err` when it cannot be read to its end
/// (nothing after it can be), the inner one when it can be skipped. `None` for records of
/// other types and classes.
#[allow(clippy::type_complexity)]
fn read_record(
    msg: &[u8],
    at: usize,
) -> Result<(Result<Option<(String, Data)>, Fault>, usize), Fault> {
    let (owner, next) = read_name(msg, at)?;
    let fixed = msg.get(next..next + 10).ok_or(Fault::CutShort)?;
    let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let class = u16::from_be_bytes([fixed[2], fixed[3]]);
    let rdlen = u16::from_be_bytes([fixed[8], fixed[9]]);
    let start = next + 10;
    let end = start + usize::from(rdlen);
    let rdata = msg.get(start..end).ok_or(Fault::CutShort)?;
    if class != CLASS_IN {
        return Ok((Ok(None), end));
    }
    let data = match (rtype, rdata.len()) {
        (TYPE_A, 4) => Ok(Some(Data::Address(IpAddr::V4(Ipv4Addr::new(
            rdata[0], rdata[1], rdata[2], rdata[3],
        ))))),
        (TYPE_AAAA, 16) => {
            let octets: [u8; 16] = rdata.try_into().map_err(|_| Fault::BadAddress(rdlen))?;
            Ok(Some(Data::Address(IpAddr::V6(Ipv6Addr::from(octets)))))
        }
        (TYPE_A | TYPE_AAAA, _) => Err(Fault::BadAddress(rdlen)),
        (TYPE_CNAME, _) => match read_name(msg, start) {
            Ok((target, after)) if after == end => Ok(Some(Data::Alias(target))),
            Ok(_) => Err(Fault::BadName("the CNAME target does not fill the record")),
            Err(Fault::CutShort) => Err(Fault::BadName("the CNAME target overruns the message")),
            Err(e) => Err(e),
        },
        _ => Ok(None),
    };
    Ok((data.map(|d| d.map(|d| (owner, d))), end))
}

/// Reads the (possibly compressed) name at `at`; returns it in presentation form, lowercase,
/// without the trailing dot (the root is empty), and the offset after its in-place part.
fn read_name(msg: &[u8], mut at: usize) -> Result<(String, usize), Fault> {
    let mut name = String::new();
    let mut wire_len = 0usize;
    let mut after = None;
    let mut pointers = 0;
    loop {
        let len = *msg.get(at).ok_or(Fault::CutShort)?;
        match len >> 6 {
            0 => {
                let len = usize::from(len);
                wire_len += len + 1;
                if wire_len > MAX_NAME_WIRE {
                    return Err(Fault::BadName("longer than 255 bytes"));
                }
                if len == 0 {
                    return Ok((name, after.unwrap_or(at + 1)));
                }
                let label = msg.get(at + 1..at + 1 + len).ok_or(Fault::CutShort)?;
                if !name.is_empty() {
                    name.push('.');
                }
                for &b in label {
                    push_label_byte(&mut name, b);
                }
                at += 1 + len;
            }
            3 => {
                let low = *msg.get(at + 1).ok_or(Fault::CutShort)?;
                pointers += 1;
                if pointers > MAX_POINTERS {
                    return Err(Fault::BadName("compression pointers loop"));
                }
                after.get_or_insert(at + 2);
                let target = usize::from(u16::from_be_bytes([len & 0x3F, low]));
                if target >= msg.len() {
                    return Err(Fault::BadName("compression pointer past the end"));
                }
                at = target;
            }
            _ => return Err(Fault::BadName("unknown label type")),
        }
    }
}

/// One byte of a label in RFC 1035 presentation form: letters lowercased, a dot, a backslash
/// and bytes outside printable ASCII escaped (`\.`, `\\`, `\DDD`), so that no label can pose
/// as two and no byte reaches a terminal raw.
fn push_label_byte(name: &mut String, b: u8) {
    match b {
        b'.' | b'\\' => {
            name.push('\\');
            name.push(char::from(b));
        }
        0x21..=0x7E => name.push(char::from(b.to_ascii_lowercase())),
        _ => {
            name.push('\\');
            name.push(char::from(b'0' + b / 100));
            name.push(char::from(b'0' + b / 10 % 10));
            name.push(char::from(b'0' + b % 10));
        }
    }
}

/// Pairs each question with the addresses its CNAME chain ends at.
fn resolve(questions: &[String], records: &[(String, Data)], out: &mut Vec<DnsAnswer>) {
    for question in questions {
        let mut chain: Vec<&str> = vec![question];
        let mut current: &str = question;
        for _ in 0..MAX_CHAIN {
            let next = records.iter().find_map(|(owner, data)| match data {
                Data::Alias(target) if owner == current => Some(target.as_str()),
                _ => None,
            });
            match next {
                Some(target) if !chain.contains(&target) => {
                    chain.push(target);
                    current = target;
                }
                _ => break,
            }
        }
        for (owner, data) in records {
            if let Data::Address(address) = data
                && chain.contains(&owner.as_str())
            {
                out.push(DnsAnswer {
                    address: *address,
                    name: question.clone(),
                });
            }
        }
    }
}

/// The DNS message(s) a packet from port 53 carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DnsPayload<'a> {
    /// A UDP datagram's payload, with the length its UDP header claims (more than the
    /// payload when the capture cut the packet short).
    Udp { payload: &'a [u8], claimed: usize },
    /// A TCP segment's payload: 2-byte-length-prefixed messages.
    Tcp(&'a [u8]),
}

/// Reads every DNS response a port-53 packet's payload carries into `out`; calls `problem`
/// for each one that could not be read in full (with whether the capture cut it short), and returns how many TCP messages the
/// segment holds only part of (reassembly across segments is not done).
pub(crate) fn read_payload(
    payload: DnsPayload<'_>,
    out: &mut Vec<DnsAnswer>,
    mut problem: impl FnMut(String, bool),
) -> u32 {
    match payload {
        DnsPayload::Udp { payload, claimed } => {
            if let Err(p) = read_response(payload, out) {
                if p.is_cut_short() && claimed > payload.len() {
                    let message = format!(
                        "DNS response cut short by the capture ({} of {claimed} bytes captured): {p}",
                        payload.len()
                    );
                    problem(message, true);
                } else {
                    problem(format!("DNS response: {p}"), false);
                }
            }
            0
        }
        DnsPayload::Tcp(mut rest) => {
            let mut partial = 0;
            while let Some(len) = be16(rest, 0) {
                let len = usize::from(len);
                let Some(msg) = rest.get(2..2 + len) else {
                    partial += 1;
                    break;
                };
                if let Err(p) = read_response(msg, out) {
                    problem(format!("DNS response (TCP): {p}"), false);
                }
                rest = &rest[2 + len..];
            }
            partial
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use simple_dns::rdata::{A, AAAA, CNAME, RData};
    use simple_dns::{
        CLASS, Name, Packet, PacketFlag, QTYPE, Question, RCODE, ResourceRecord, TYPE,
    };

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn record<'a>(owner: &'a str, rdata: RData<'a>) -> ResourceRecord<'a> {
        ResourceRecord::new(Name::new_unchecked(owner), CLASS::IN, 30, rdata)
    }

    fn a(owner: &str, addr: &str) -> ResourceRecord<'static> {
        let IpAddr::V4(v4) = ip(addr) else { panic!() };
        record(owner, RData::A(A::from(v4))).into_owned()
    }

    fn aaaa(owner: &str, addr: &str) -> ResourceRecord<'static> {
        let IpAddr::V6(v6) = ip(addr) else { panic!() };
        record(owner, RData::AAAA(AAAA::from(v6))).into_owned()
    }

    fn cname(owner: &str, target: &str) -> ResourceRecord<'static> {
        record(owner, RData::CNAME(CNAME(Name::new_unchecked(target)))).into_owned()
    }

    /// A response to `question` (type A) with `answers`, compressed or not.
    fn response(question: &str, answers: Vec<ResourceRecord<'static>>, compress: bool) -> Vec<u8> {
        let mut p = Packet::new_reply(7);
        p.set_flags(PacketFlag::RECURSION_DESIRED | PacketFlag::RECURSION_AVAILABLE);
        p.questions.push(Question::new(
            Name::new_unchecked(question),
            TYPE::A.into(),
            CLASS::IN.into(),
            false,
        ));
        p.answers = answers;
        if compress {
            p.build_bytes_vec_compressed().unwrap()
        } else {
            p.build_bytes_vec().unwrap()
        }
    }

    fn read(msg: &[u8]) -> (Vec<(IpAddr, String)>, Result<(), DnsProblem>) {
        let mut out = Vec::new();
        let r = read_response(msg, &mut out);
        (out.into_iter().map(|a| (a.address, a.name)).collect(), r)
    }

    #[test]
    fn a_and_aaaa_answers_name_their_addresses() {
        for compress in [false, true] {
            let msg = response(
                "api.example.com",
                vec![
                    a("api.example.com", "203.0.113.5"),
                    aaaa("api.example.com", "2001:db8::5"),
                ],
                compress,
            );
            let (got, r) = read(&msg);
            assert_eq!(r, Ok(()));
            assert_eq!(
                got,
                vec![
                    (ip("203.0.113.5"), "api.example.com".to_string()),
                    (ip("2001:db8::5"), "api.example.com".to_string()),
                ]
            );
        }
    }

    #[test]
    fn a_cname_chain_maps_the_asked_name_to_the_final_addresses() {
        // Records out of order, as servers may send them.
        let msg = response(
            "API.Example.com",
            vec![
                a("edge.cdn.example.net", "198.51.100.20"),
                cname("api.example.com", "api.example.com.cdn.example.net"),
                cname("api.example.com.cdn.example.net", "edge.cdn.example.net"),
                a("edge.cdn.example.net", "198.51.100.21"),
            ],
            true,
        );
        let (got, r) = read(&msg);
        assert_eq!(r, Ok(()));
        assert_eq!(
            got,
            vec![
                (ip("198.51.100.20"), "api.example.com".to_string()),
                (ip("198.51.100.21"), "api.example.com".to_string()),
            ]
        );
    }

    #[test]
    fn records_off_the_chain_name_nothing() {
        // A server (or a poisoner) adding an unrelated A record does not name its address.
        let msg = response(
            "api.example.com",
            vec![
                a("api.example.com", "203.0.113.5"),
                a("bank.example.org", "192.0.2.66"),
            ],
            false,
        );
        let (got, _) = read(&msg);
        assert_eq!(got, vec![(ip("203.0.113.5"), "api.example.com".into())]);
    }

    #[test]
    fn a_cname_loop_ends() {
        let msg = response(
            "a.example",
            vec![
                cname("a.example", "b.example"),
                cname("b.example", "a.example"),
                a("b.example", "192.0.2.1"),
            ],
            true,
        );
        let (got, r) = read(&msg);
        assert_eq!(r, Ok(()));
        assert_eq!(got, vec![(ip("192.0.2.1"), "a.example".into())]);
    }

    #[test]
    fn queries_and_error_responses_give_nothing() {
        let mut q = Packet::new_query(1);
        q.questions.push(Question::new(
            Name::new_unchecked("api.example.com"),
            QTYPE::TYPE(TYPE::A),
            CLASS::IN.into(),
            false,
        ));
        assert_eq!(read(&q.build_bytes_vec().unwrap()), (vec![], Ok(())));
        let mut nx = Packet::new_reply(1);
        *nx.rcode_mut() = RCODE::NameError;
        nx.questions = q.questions.clone();
        nx.answers.push(a("api.example.com", "192.0.2.1"));
        assert_eq!(read(&nx.build_bytes_vec().unwrap()), (vec![], Ok(())));
    }

    #[test]
    fn a_message_cut_short_keeps_the_answers_before_the_cut() {
        let msg = response(
            "api.example.com",
            vec![
                a("api.example.com", "203.0.113.5"),
                a("api.example.com", "203.0.113.6"),
            ],
            true,
        );
        let (got, r) = read(&msg[..msg.len() - 2]);
        assert_eq!(got, vec![(ip("203.0.113.5"), "api.example.com".into())]);
        assert_eq!(r, Err(DnsProblem::CutShort("answer 2 of 2".into())));
        assert_eq!(
            r.unwrap_err().to_string(),
            "message ends inside the answer 2 of 2"
        );
        assert_eq!(
            read(&msg[..20]).1,
            Err(DnsProblem::CutShort("question 1".into()))
        );
        assert_eq!(
            read(&msg[..5]).1,
            Err(DnsProblem::CutShort("header".into()))
        );
    }

    #[test]
    fn a_bad_address_record_is_skipped_and_reported() {
        let mut msg = response(
            "x.example",
            vec![a("x.example", "192.0.2.1"), a("x.example", "192.0.2.2")],
            false,
        );
        // Make the first record's RDLENGTH 3 and its data 3 bytes: the second still reads.
        let first_rdlen = 12 + (1 + 1 + 1 + 7 + 1) + 4 + 11 + 8;
        assert_eq!(msg[first_rdlen..first_rdlen + 2], [0, 4]);
        msg[first_rdlen + 1] = 3;
        msg.remove(first_rdlen + 2);
        let (got, r) = read(&msg);
        assert_eq!(got, vec![(ip("192.0.2.2"), "x.example".into())]);
        assert_eq!(
            r,
            Err(DnsProblem::BadAddress {
                part: "answer 1 of 2".into(),
                len: 3
            })
        );
    }

    #[test]
    fn compression_pointer_loops_and_bad_labels_are_problems() {
        // Header: response, 1 question; the question name is a pointer to itself.
        let mut msg = vec![0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        msg.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
        assert!(matches!(
            read(&msg).1,
            Err(DnsProblem::BadName {
                reason: "compression pointers loop",
                ..
            })
        ));
        msg[12] = 0x40;
        assert!(matches!(
            read(&msg).1,
            Err(DnsProblem::BadName {
                reason: "unknown label type",
                ..
            })
        ));
        msg[12] = 0xC0;
        msg[13] = 200;
        assert!(matches!(
            read(&msg).1,
            Err(DnsProblem::BadName {
                reason: "compression pointer past the end",
                ..
            })
        ));
    }

    #[test]
    fn odd_label_bytes_are_escaped() {
        let mut name = String::new();
        for b in *b"a.B\\\x07 " {
            push_label_byte(&mut name, b);
        }
        assert_eq!(name, r"a\.b\\\007\032");
    }

    #[test]
    fn tcp_messages_are_read_whole_and_partial_ones_counted() {
        let msg = response(
            "api.example.com",
            vec![a("api.example.com", "203.0.113.5")],
            true,
        );
        let mut stream = Vec::new();
        for _ in 0..2 {
            stream.extend_from_slice(&(msg.len() as u16).to_be_bytes());
            stream.extend_from_slice(&msg);
        }
        let mut out = Vec::new();
        let partial = read_payload(DnsPayload::Tcp(&stream), &mut out, |m, _| panic!("{m}"));
        assert_eq!((out.len(), partial), (2, 0));
        out.clear();
        let partial = read_payload(
            DnsPayload::Tcp(&stream[..stream.len() - 1]),
            &mut out,
            |m, _| panic!("{m}"),
        );
        assert_eq!((out.len(), partial), (1, 1));
    }

    #[test]
    fn a_udp_response_the_capture_cut_says_so() {
        let msg = response(
            "api.example.com",
            vec![a("api.example.com", "203.0.113.5")],
            true,
        );
        let mut problems = Vec::new();
        read_payload(
            DnsPayload::Udp {
                payload: &msg[..40],
                claimed: msg.len(),
            },
            &mut Vec::new(),
            |m, cut| problems.push((m, cut)),
        );
        assert_eq!(
            problems,
            vec![(
                format!(
                    "DNS response cut short by the capture (40 of {} bytes captured): message ends inside the answer 1 of 1",
                    msg.len()
                ),
                true
            )]
        );
    }

    /// One answer record: its owner (an index into `NAMES`) and an A address or a CNAME
    /// target (another index).
    type RecordSpec = (usize, Result<u32, usize>);

    /// The names and records a random response is built from: a question, then records
    /// over a small set of names (so that chains, loops and strays all occur).
    fn records_strategy() -> impl Strategy<Value = (usize, Vec<RecordSpec>)> {
        (
            0..4usize,
            proptest::collection::vec(
                (
                    0..4usize,
                    prop_oneof![any::<u32>().prop_map(Ok), (0..4usize).prop_map(Err)],
                ),
                0..8,
            ),
        )
    }

    const NAMES: [&str; 4] = [
        "api.example.com",
        "cdn.example.net",
        "edge.example.net",
        "other.example",
    ];

    /// The reference: simple-dns parses the same bytes, and the chain is followed on its
    /// records.
    fn reference(msg: &[u8]) -> Vec<(IpAddr, String)> {
        let p = Packet::parse(msg).expect("simple-dns reads what it wrote");
        let q = p.questions[0].qname.to_string().to_ascii_lowercase();
        let name = |n: &Name| n.to_string().to_ascii_lowercase();
        let mut chain = vec![q.clone()];
        loop {
            let cur = chain.last().unwrap().clone();
            let next = p.answers.iter().find_map(|r| match &r.rdata {
                RData::CNAME(t) if name(&r.name) == cur => Some(name(&t.0)),
                _ => None,
            });
            match next {
                Some(t) if !chain.contains(&t) => chain.push(t),
                _ => break,
            }
        }
        p.answers
            .iter()
            .filter_map(|r| match &r.rdata {
                RData::A(a) if chain.contains(&name(&r.name)) => {
                    Some((IpAddr::V4(Ipv4Addr::from(a.address)), q.clone()))
                }
                _ => None,
            })
            .collect()
    }

    proptest! {
        /// Random responses (compressed or not) read as simple-dns reads them, and every
        /// prefix of one reads without panicking into a prefix of the full answer.
        #[test]
        fn reads_as_simple_dns_does((question, recs) in records_strategy(), compress in any::<bool>()) {
            let answers = recs
                .iter()
                .map(|(owner, data)| match data {
                    Ok(v4) => a(NAMES[*owner], &Ipv4Addr::from(*v4).to_string()),
                    Err(target) => cname(NAMES[*owner], NAMES[*target]),
                })
                .collect();
            let msg = response(NAMES[question], answers, compress);
            let (got, r) = read(&msg);
            prop_assert_eq!(r, Ok(()));
            prop_assert_eq!(&got, &reference(&msg));
            for cut in 0..msg.len() {
                let (part, _) = read(&msg[..cut]);
                prop_assert!(part.len() <= got.len());
            }
        }

        /// Arbitrary bytes never panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut out = Vec::new();
            let _ = read_response(&bytes, &mut out);
            let _ = read_payload(DnsPayload::Tcp(&bytes), &mut out, |_, _| {});
        }
    }
}
