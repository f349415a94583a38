//! Listeners and probes: real sockets in the pods' namespaces, served and driven from this
//! one process.
//!
//! A TCP probe is a non-blocking `connect`: the handshake completing is `accepted` (the
//! kernel answers from the listen backlog, the listener thread only drains it), a reset is
//! `refused`, silence until the deadline is `timed-out`. A UDP probe sends one datagram on a
//! connected socket: an echo is `accepted`, an ICMP port unreachable (`ECONNREFUSED`) is
//! `refused`. All probes of a batch are in flight at once, so a batch costs one timeout at
//! most.

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use palisade_model::Protocol;
use socket2::{Domain, SockAddr, Socket, Type};
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::SandboxError;

/// What a client saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// The handshake completed (TCP, SCTP) or the datagram was echoed (UDP).
    Accepted,
    /// Actively rejected: TCP reset, ICMP unreachable.
    Refused,
    /// No answer before the deadline (or dropped on the way out).
    TimedOut,
    /// The kernel cannot run this probe (e.g. no SCTP support): never a verdict.
    Unsupported,
}

impl Outcome {
    /// `accepted`, `refused`, `timed-out` or `unsupported`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Refused => "refused",
            Outcome::TimedOut => "timed-out",
            Outcome::Unsupported => "unsupported",
        }
    }

    /// The verdict it implies: `Some(true)` allowed, `Some(false)` denied, `None` no verdict.
    pub fn allowed(self) -> Option<bool> {
        match self {
            Outcome::Accepted => Some(true),
            Outcome::Refused | Outcome::TimedOut => Some(false),
            Outcome::Unsupported => None,
        }
    }
}

const IPPROTO_SCTP: i32 = 132;
/// Threads starting probes at once.
const START_THREADS: usize = 4;
const PAYLOAD: &[u8] = b"palisade-probe";

fn socket_for(ip: IpAddr, protocol: Protocol) -> std::io::Result<Socket> {
    let domain = if ip.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let socket = match protocol {
        Protocol::Tcp => Socket::new(domain, Type::STREAM, Some(socket2::Protocol::TCP))?,
        Protocol::Udp => Socket::new(domain, Type::DGRAM, Some(socket2::Protocol::UDP))?,
        Protocol::Sctp => Socket::new(domain, Type::STREAM, Some(IPPROTO_SCTP.into()))?,
    };
    if ip.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    Ok(socket)
}

/// Whether this kernel can open SCTP sockets (in the current namespace).
pub fn sctp_supported() -> bool {
    socket_for(IpAddr::from([127, 0, 0, 1]), Protocol::Sctp).is_ok()
}

/// One listening socket.
enum Listener {
    /// UDP: echoes datagrams.
    Datagram(UdpSocket),
    /// TCP or SCTP: accepts and closes.
    Stream(Socket),
}

impl Listener {
    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Listener::Datagram(s) => s.as_fd(),
            Listener::Stream(s) => s.as_fd(),
        }
    }
}

/// Listening sockets opened in some namespaces, not yet served.
#[derive(Default)]
pub struct Listeners(Vec<Listener>);

impl Listeners {
    /// Adds the listeners of another namespace.
    pub fn extend(&mut self, other: Listeners) {
        self.0.extend(other.0);
    }

    /// How many sockets.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Opens listeners on `(address, port, protocol)` in the calling thread's namespace.
/// SCTP listeners are skipped when the kernel has no SCTP.
pub fn open_listeners(endpoints: &[(IpAddr, u16, Protocol)]) -> Result<Listeners, SandboxError> {
    let mut out = Vec::new();
    for &(ip, port, protocol) in endpoints {
        let socket = match socket_for(ip, protocol) {
            Ok(s) => s,
            Err(_) if protocol == Protocol::Sctp => continue,
            Err(e) => return Err(listen_error(ip, port, protocol, e)),
        };
        let addr = SockAddr::from(SocketAddr::new(ip, port));
        let setup = || -> std::io::Result<()> {
            socket.set_reuse_address(true)?;
            socket.bind(&addr)?;
            if protocol != Protocol::Udp {
                socket.listen(4096)?;
            }
            socket.set_nonblocking(true)
        };
        setup().map_err(|e| listen_error(ip, port, protocol, e))?;
        out.push(match protocol {
            Protocol::Udp => Listener::Datagram(socket.into()),
            Protocol::Tcp | Protocol::Sctp => Listener::Stream(socket),
        });
    }
    Ok(Listeners(out))
}

fn listen_error(ip: IpAddr, port: u16, protocol: Protocol, e: std::io::Error) -> SandboxError {
    SandboxError::Listen {
        endpoint: format!("{}/{protocol}", SocketAddr::new(ip, port)),
        message: e.to_string(),
    }
}

/// Serves listeners on one thread until dropped: accepts (and closes) stream connections,
/// echoes datagrams.
pub struct Server {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts serving.
    pub fn start(listeners: Listeners) -> Server {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || serve(listeners.0, &flag));
        Server {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(listeners: Vec<Listener>, stop: &AtomicBool) {
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let mut fds: Vec<PollFd<'_>> = listeners
            .iter()
            .map(|l| PollFd::new(l.fd(), PollFlags::POLLIN))
            .collect();
        if poll(&mut fds, PollTimeout::from(50u16)).unwrap_or(0) <= 0 {
            continue;
        }
        let ready: Vec<usize> = fds
            .iter()
            .enumerate()
            .filter(|(_, f)| f.revents().is_some_and(|r| !r.is_empty()))
            .map(|(i, _)| i)
            .collect();
        drop(fds);
        for i in ready {
            match &listeners[i] {
                Listener::Datagram(socket) => {
                    while let Ok((n, from)) = socket.recv_from(&mut buf) {
                        let _ = socket.send_to(&buf[..n], from);
                    }
                }
                Listener::Stream(socket) => {
                    while let Ok((conn, _)) = socket.accept() {
                        drop(conn);
                    }
                }
            }
        }
    }
}

/// One connection attempt: from the namespace whose sockets are given, to `dst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    /// The source address to bind, when the namespace has several.
    pub src: Option<IpAddr>,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// Protocol.
    pub protocol: Protocol,
}

/// A probe socket created in the source namespace, not yet connected.
pub struct PreparedProbe(Option<Socket>);

/// Creates the probe sockets in the calling thread's namespace (the socket's namespace is
/// fixed at creation; connecting can happen anywhere).
pub fn prepare(targets: &[Target]) -> Vec<PreparedProbe> {
    targets
        .iter()
        .map(|t| {
            let socket = socket_for(t.dst.ip(), t.protocol)
                .ok()
                .and_then(|s| match t.src {
                    Some(ip) => s
                        .bind(&SockAddr::from(SocketAddr::new(ip, 0)))
                        .ok()
                        .map(|()| s),
                    None => Some(s),
                });
            PreparedProbe(socket)
        })
        .collect()
}

enum InFlight {
    Done(Outcome),
    Stream(Socket),
    Datagram(UdpSocket),
}

fn start(probe: PreparedProbe, target: &Target) -> InFlight {
    let Some(socket) = probe.0 else {
        return InFlight::Done(Outcome::Unsupported);
    };
    if socket.set_nonblocking(true).is_err() {
        return InFlight::Done(Outcome::Unsupported);
    }
    let addr = SockAddr::from(target.dst);
    match target.protocol {
        Protocol::Tcp | Protocol::Sctp => match socket.connect(&addr) {
            Ok(()) => InFlight::Done(Outcome::Accepted),
            Err(e) if e.raw_os_error() == Some(nix::libc::EINPROGRESS) => InFlight::Stream(socket),
            Err(e) => InFlight::Done(classify(&e)),
        },
        Protocol::Udp => {
            if let Err(e) = socket.connect(&addr) {
                return InFlight::Done(classify(&e));
            }
            let udp: UdpSocket = socket.into();
            match udp.send(PAYLOAD) {
                Ok(_) => InFlight::Datagram(udp),
                // Stopped by the client's own egress rule. A reject also queued an ICMP
                // port unreachable on the socket (`recv` then says ECONNREFUSED: refused); a
                // drop queued nothing (timed-out at the deadline). Wait and see which.
                Err(e) if e.kind() == ErrorKind::PermissionDenied => InFlight::Datagram(udp),
                Err(e) => InFlight::Done(classify(&e)),
            }
        }
    }
}

/// How a socket error reads to a client.
fn classify(e: &std::io::Error) -> Outcome {
    match e.kind() {
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset => Outcome::Refused,
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => Outcome::Refused,
        // A local drop (an egress rule in the client's own namespace) surfaces as EPERM:
        // the packet never left, which a client of a dropping dataplane sees as a timeout.
        ErrorKind::PermissionDenied => Outcome::TimedOut,
        _ if e.raw_os_error() == Some(nix::libc::EACCES) => Outcome::Refused,
        _ => Outcome::TimedOut,
    }
}

/// Runs prepared probes (all at once) and waits at most `timeout` for their answers.
pub fn run(prepared: Vec<PreparedProbe>, targets: &[Target], timeout: Duration) -> Vec<Outcome> {
    // Starting a probe runs the whole transmit path (both namespaces' rules, the bridge,
    // the answer) in this thread: spread it over the cores.
    let mut prepared: Vec<(PreparedProbe, &Target)> = prepared.into_iter().zip(targets).collect();
    let chunk = prepared.len().div_ceil(START_THREADS).max(1);
    let mut flights: Vec<InFlight> = Vec::with_capacity(prepared.len());
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        while !prepared.is_empty() {
            let rest = prepared.split_off(chunk.min(prepared.len()));
            let part = std::mem::replace(&mut prepared, rest);
            let len = part.len();
            handles.push((
                len,
                scope.spawn(move || {
                    part.into_iter()
                        .map(|(p, t)| start(p, t))
                        .collect::<Vec<_>>()
                }),
            ));
        }
        for (len, h) in handles {
            // Keep outcomes aligned with targets even if a thread died.
            match h.join() {
                Ok(started) => flights.extend(started),
                Err(_) => flights.extend((0..len).map(|_| InFlight::Done(Outcome::Unsupported))),
            }
        }
    });
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 64];
    loop {
        let pending: Vec<usize> = flights
            .iter()
            .enumerate()
            .filter(|(_, f)| !matches!(f, InFlight::Done(_)))
            .map(|(i, _)| i)
            .collect();
        let now = Instant::now();
        if pending.is_empty() || now >= deadline {
            break;
        }
        let wait = (deadline - now).as_millis().min(i32::MAX as u128) as i32;
        let mut fds: Vec<PollFd<'_>> = pending
            .iter()
            .map(|&i| match &flights[i] {
                InFlight::Stream(s) => PollFd::new(s.as_fd(), PollFlags::POLLOUT),
                InFlight::Datagram(s) => PollFd::new(s.as_fd(), PollFlags::POLLIN),
                InFlight::Done(_) => unreachable!("pending probes are in flight"),
            })
            .collect();
        let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX);
        if poll(&mut fds, timeout).unwrap_or(0) <= 0 {
            continue;
        }
        let ready: Vec<usize> = fds
            .iter()
            .zip(&pending)
            .filter(|(f, _)| f.revents().is_some_and(|r| !r.is_empty()))
            .map(|(_, &i)| i)
            .collect();
        drop(fds);
        for i in ready {
            let outcome = match &flights[i] {
                InFlight::Stream(s) => match s.take_error() {
                    Ok(None) => Outcome::Accepted,
                    Ok(Some(e)) | Err(e) => classify(&e),
                },
                InFlight::Datagram(s) => match s.recv(&mut buf) {
                    Ok(_) => Outcome::Accepted,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                    Err(e) => classify(&e),
                },
                InFlight::Done(_) => continue,
            };
            flights[i] = InFlight::Done(outcome);
        }
    }
    flights
        .into_iter()
        .map(|f| match f {
            InFlight::Done(o) => o,
            _ => Outcome::TimedOut,
        })
        .collect()
}
