//! Fatal errors. Problems inside the data (bad lines, truncation, gaps) are not errors: they are
//! collected in a [`ReadReport`](crate::ReadReport) next to the results.

use std::io;

use crate::Format;

/// A problem that stops reading.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the input failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path as given (`-` for stdin).
        path: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The content matches none of the supported formats.
    #[error("cannot tell the format of {path}: {reason}")]
    UnknownFormat {
        /// The path as given.
        path: String,
        /// What the first bytes looked like.
        reason: String,
    },
    /// A pcap or pcapng interface uses a link type Palisade cannot decode.
    #[error(
        "{path}: unsupported pcap link type {link_type} (supported: 1 Ethernet, 101/228/229 raw IP, 113 Linux SLL, 276 Linux SLL2)"
    )]
    UnsupportedLinkType {
        /// The path as given.
        path: String,
        /// The `LINKTYPE_*` number.
        link_type: u32,
    },
    /// The file header itself is unusable (not a truncated packet: the whole file).
    #[error("{path}: invalid {format} header: {reason}")]
    BadHeader {
        /// The path as given.
        path: String,
        /// The format that was expected.
        format: Format,
        /// What is wrong.
        reason: String,
    },
    /// `strict` was set and a record is malformed.
    #[error("{path}:{line}: {message}")]
    Malformed {
        /// The path as given.
        path: String,
        /// 1-based line number, or the byte offset for binary formats.
        line: u64,
        /// What is wrong.
        message: String,
    },
}
