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

/// An error and its sources, `: `-separated (the outermost message alone often says only
/// "transport error" or "client error (Connect)").
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let next = c.to_string();
        if !s.ends_with(&next) {
            s.push_str(": ");
            s.push_str(&next);
        }
        cur = c.source();
    }
    s
}

/// What to do about a failed TLS handshake, from the rustls error in `chain`; `trust` names
/// where the client's trusted CAs come from, `name` how the expected server name is set.
pub(crate) fn tls_hint(chain: &str, trust: &str, name: &str) -> Option<String> {
    if chain.contains("UnknownIssuer") || chain.contains("BadSignature") {
        Some(format!(
            "the server's TLS certificate is not signed by a CA Palisade trusts: check {trust}"
        ))
    } else if chain.contains("NotValidForName") || chain.contains("not valid for name") {
        Some(format!(
            "the server's TLS certificate is not valid for the name Palisade expects: check {name}"
        ))
    } else if chain.contains("Expired") && chain.contains("certificate") {
        Some("the server's TLS certificate has expired (or this machine's clock is wrong)".into())
    } else if chain.contains("CertificateRequired") || chain.contains("certificate required") {
        Some("the server requires a client certificate: pass one".into())
    } else if chain.contains("InvalidContentType") || chain.contains("corrupt message") {
        Some("the server does not speak TLS here: drop the TLS options or check the port".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_hints_name_the_fix() {
        let unknown = "transport error: invalid peer certificate: UnknownIssuer";
        assert!(
            tls_hint(unknown, "--tls-ca-cert-files", "--tls-server-name")
                .unwrap()
                .contains("--tls-ca-cert-files")
        );
        let name = "invalid peer certificate: NotValidForName";
        assert!(
            tls_hint(name, "--tls-ca-cert-files", "--tls-server-name")
                .unwrap()
                .contains("--tls-server-name")
        );
        assert!(tls_hint("connection refused", "a", "b").is_none());
    }
}
