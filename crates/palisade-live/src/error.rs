//! The one error type of live sources.

/// Why a live source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No usable kubeconfig or in-cluster configuration.
    #[error("cannot configure the Kubernetes client: {detail}")]
    Kubeconfig {
        /// What kube-rs reported.
        detail: String,
    },
    /// A request could not be built.
    #[error("cannot build the request for `{url}`: {detail}")]
    Request {
        /// The request path.
        url: String,
        /// Why.
        detail: String,
    },
    /// The API server answered with an error other than 403/404-for-a-CRD, or not at all.
    #[error("reading `{url}` from {server} failed: {detail}")]
    Api {
        /// The API server.
        server: String,
        /// The request path.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The API server refused one or more list requests (403).
    #[error(
        "the API server {server} refused to let Palisade read the cluster:\n  {}\ngrant the read-only ClusterRole in docs/rbac/palisade-reader.yaml, or pass --keep-going to continue with an incomplete model",
        refused.join("\n  ")
    )]
    Forbidden {
        /// The API server.
        server: String,
        /// One line per refused resource: verb, resource, scope, what it disables.
        refused: Vec<String>,
    },
    /// The Hubble Relay address or TLS options are unusable.
    #[error("Hubble Relay `{address}`: {detail}")]
    RelayConfig {
        /// The address as given.
        address: String,
        /// What is wrong.
        detail: String,
    },
    /// Hubble Relay could not be reached or the stream failed.
    #[error("Hubble Relay `{address}`: {detail}")]
    Relay {
        /// The address.
        address: String,
        /// What went wrong (the gRPC status).
        detail: String,
    },
    /// A local IO problem (reading TLS files, binding the metrics port).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
}
