//! Counters and gauges in the Prometheus text exposition format (0.0.4), and a minimal HTTP
//! endpoint serving them.
//!
//! The endpoint is a plain `std::net` listener answering every `GET` with the current text:
//! watch needs one read-only page, and a web framework for it would be the only reason to
//! pull one into the binary's dependency tree (the web UI has its own crate).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::Error;

/// A metric family: name, help, type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Family {
    /// Name (`palisade_...`).
    pub name: &'static str,
    /// `# HELP` text.
    pub help: &'static str,
    /// `counter` or `gauge`.
    pub kind: &'static str,
}

type Labels = Vec<(&'static str, String)>;

/// The current values; cheap to clone (shared).
#[derive(Clone, Debug, Default)]
pub struct Registry {
    inner: Arc<Mutex<BTreeMap<Family, BTreeMap<Labels, f64>>>>,
}

impl Registry {
    /// Declares a family so it is exported (with no series) before its first value.
    pub fn declare(&self, family: Family) {
        self.lock().entry(family).or_default();
    }

    /// Adds `by` to a counter.
    pub fn add(&self, family: Family, labels: &[(&'static str, &str)], by: f64) {
        let labels: Labels = labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
        *self
            .lock()
            .entry(family)
            .or_default()
            .entry(labels)
            .or_default() += by;
    }

    /// Sets a gauge (or a counter mirrored from elsewhere).
    pub fn set(&self, family: Family, labels: &[(&'static str, &str)], value: f64) {
        let labels: Labels = labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
        self.lock().entry(family).or_default().insert(labels, value);
    }

    /// One value, if set (for tests and logs).
    pub fn get(&self, family: Family, labels: &[(&'static str, &str)]) -> Option<f64> {
        let labels: Labels = labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
        self.lock()
            .get(&family)
            .and_then(|m| m.get(&labels))
            .copied()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Family, BTreeMap<Labels, f64>>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The text exposition format, families and series in name order.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (family, series) in self.lock().iter() {
            let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
            let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind);
            for (labels, value) in series {
                out.push_str(family.name);
                if !labels.is_empty() {
                    out.push('{');
                    for (i, (k, v)) in labels.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        let _ = write!(out, "{k}=\"{}\"", escape(v));
                    }
                    out.push('}');
                }
                let _ = writeln!(out, " {value}");
            }
        }
        out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Serves `registry` on `addr` from a background thread; returns the bound address (port 0
/// picks a free one).
pub fn serve(addr: SocketAddr, registry: Registry) -> Result<SocketAddr, Error> {
    let listener = TcpListener::bind(addr).map_err(|source| Error::Io {
        what: format!("--metrics: cannot listen on {addr}"),
        source,
    })?;
    let bound = listener.local_addr().map_err(|source| Error::Io {
        what: "--metrics".into(),
        source,
    })?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(match stream.try_clone() {
                    Ok(s) => s,
                    Err(_) => continue,
                });
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                // Skip the headers; the answer does not depend on them.
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let (status, body) = if request_line.starts_with("GET ") {
                    ("200 OK", registry.render())
                } else {
                    ("405 Method Not Allowed", String::new())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        })
        .map_err(|source| Error::Io {
            what: "starting the metrics thread".into(),
            source,
        })?;
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: Family = Family {
        name: "palisade_test_total",
        help: "A test.",
        kind: "counter",
    };

    #[test]
    fn renders_the_text_format() {
        let r = Registry::default();
        r.add(F, &[("ns", "a\"b")], 2.0);
        r.add(F, &[("ns", "a\"b")], 1.0);
        assert_eq!(
            r.render(),
            "# HELP palisade_test_total A test.\n# TYPE palisade_test_total counter\npalisade_test_total{ns=\"a\\\"b\"} 3\n"
        );
    }

    #[test]
    fn serves_over_http() {
        let r = Registry::default();
        r.set(F, &[], 7.0);
        let addr = serve("127.0.0.1:0".parse().unwrap(), r).unwrap();
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut s, &mut text).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.ends_with("palisade_test_total 7\n"), "{text}");
    }
}
