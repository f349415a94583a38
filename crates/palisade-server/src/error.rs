//! The server's one error type.

use std::net::SocketAddr;

/// What can stop `serve` or `report`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The manifests (or the proposal) have objects the API server would reject.
    #[error("{what} failed to load ({} problem{})", problems.len(), if problems.len() == 1 { "" } else { "s" })]
    Load {
        /// Which input set.
        what: String,
        /// Each problem, rendered as text with its file and line.
        problems: Vec<String>,
    },
    /// The caller could not produce the inputs (a missing path, an unreadable overlay).
    #[error("{0}")]
    Inputs(String),
    /// A capture could not be read.
    #[error("cannot replay `{path}`: {message}")]
    Capture {
        /// The capture file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A non-loopback address without a token.
    #[error(
        "{0} is not a loopback address: pass --token TOKEN (anyone who can reach it could read your policies)"
    )]
    TokenRequired(SocketAddr),
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The async runtime or the listener failed.
    #[error("server failure")]
    Runtime(#[source] std::io::Error),
}
