//! TLS against the loopback fakes, with certificates generated here (rcgen): the Relay client
//! with hubble's TLS options (CA, client certificate and key, server name) against a tonic
//! server requiring mutual TLS, and the Kubernetes client against an HTTPS API server whose
//! CA comes from the kubeconfig's `certificate-authority-data`. A wrong CA fails with a
//! message that says what to check.

use palisade_flows::{FlowReader, ReadOptions};
use palisade_live::Error;
use palisade_live::cluster::{ClusterOptions, read_cluster};
use palisade_live::fakes::{
    ApiServerConfig, FakeApiServer, FakeRelay, RelayScript, ServerTls, responses_from_capture,
};
use palisade_live::relay::{Backpressure, FlowQuery, RelayFeed, RelayOptions, channel};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A CA and the PEM files of one server and one client certificate it signed.
struct Pki {
    ca: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

fn pki(name: &str, server_names: &[&str]) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} test CA"));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf = |names: Vec<String>, usage: ExtendedKeyUsagePurpose| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names).unwrap();
        params.extended_key_usages = vec![usage];
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} leaf"));
        let cert = params.signed_by(&key, &ca).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf(
        server_names.iter().map(|s| s.to_string()).collect(),
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (client_cert, client_key) = leaf(
        vec!["palisade.client".into()],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    Pki {
        ca: ca.pem(),
        server_cert,
        server_key,
        client_cert,
        client_key,
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("palisade-live-tls-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, file: &str, text: &str) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path
}

fn capture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/webshop-traffic/capture.jsonl")
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn flows_in_capture() -> usize {
    let mut n = 0;
    let mut reader = FlowReader::open(capture(), &ReadOptions::default()).unwrap();
    reader
        .read(|r| {
            if let palisade_flows::Record::Flow(_) = r {
                n += 1;
            }
        })
        .unwrap();
    n
}

/// Relay's certificate names `relay.hubble-relay.cilium.io` only (as Cilium issues it), so
/// the client must be told that name: the address is a loopback IP.
#[test]
fn relay_with_mutual_tls_streams_the_capture() {
    let pki = pki("relay", &["relay.hubble-relay.cilium.io"]);
    let relay = FakeRelay::start_tls(
        RelayScript {
            responses: responses_from_capture(&capture()).unwrap(),
            ..Default::default()
        },
        ServerTls {
            cert_pem: pki.server_cert.clone(),
            key_pem: pki.server_key.clone(),
            client_ca_pem: Some(pki.ca.clone()),
        },
    );
    let dir = scratch("relay-mtls");
    let opts = RelayOptions {
        address: relay.addr.to_string(),
        tls: true,
        tls_ca_cert_files: vec![write(&dir, "ca.pem", &pki.ca)],
        tls_client_cert_file: Some(write(&dir, "client.pem", &pki.client_cert)),
        tls_client_key_file: Some(write(&dir, "client-key.pem", &pki.client_key)),
        tls_server_name: Some("relay.hubble-relay.cilium.io".into()),
    };
    let mut feed = RelayFeed::start(
        opts,
        FlowQuery::default(),
        Backpressure::Wait,
        Box::new(|_| {}),
    )
    .unwrap();
    let mut text = String::new();
    feed.read_to_string(&mut text).unwrap();
    let flows = text.lines().filter(|l| l.starts_with("{\"flow\":")).count();
    assert_eq!(flows, flows_in_capture());
    assert_eq!(relay.requests().len(), 1);
}

#[test]
fn relay_with_the_wrong_ca_or_name_fails_saying_what_to_check() {
    let good = pki("relay", &["relay.hubble-relay.cilium.io"]);
    let other = pki("other", &["relay.hubble-relay.cilium.io"]);
    let relay = FakeRelay::start_tls(
        RelayScript::default(),
        ServerTls {
            cert_pem: good.server_cert.clone(),
            key_pem: good.server_key.clone(),
            client_ca_pem: None,
        },
    );
    let dir = scratch("relay-wrong-ca");
    let base = RelayOptions {
        address: relay.addr.to_string(),
        tls: true,
        tls_ca_cert_files: vec![write(&dir, "other-ca.pem", &other.ca)],
        tls_server_name: Some("relay.hubble-relay.cilium.io".into()),
        ..Default::default()
    };
    let err = block(channel(&base)).unwrap_err();
    assert!(matches!(err, Error::Relay { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("UnknownIssuer"), "{text}");
    assert!(
        text.contains("not signed by a CA Palisade trusts: check --tls-ca-cert-files"),
        "{text}"
    );
    // The right CA, but the address's host (an IP) is not in the certificate.
    let no_name = RelayOptions {
        tls_ca_cert_files: vec![write(&dir, "ca.pem", &good.ca)],
        tls_server_name: None,
        ..base.clone()
    };
    let text = block(channel(&no_name)).unwrap_err().to_string();
    assert!(text.contains("check --tls-server-name"), "{text}");
    // Both right: connects.
    let right = RelayOptions {
        tls_ca_cert_files: vec![write(&dir, "ca.pem", &good.ca)],
        ..base
    };
    block(channel(&right)).unwrap();
    // TLS options against a plaintext Relay: said as such.
    let plain = FakeRelay::start(RelayScript::default());
    let text = block(channel(&RelayOptions {
        address: plain.addr.to_string(),
        ..right
    }))
    .unwrap_err()
    .to_string();
    assert!(text.contains("does not speak TLS"), "{text}");
}

fn api_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/apiserver")
}

fn api_config() -> ApiServerConfig {
    ApiServerConfig {
        root: api_fixture(),
        forbidden: BTreeSet::new(),
        max_page: 3,
        ..ApiServerConfig::default()
    }
}

#[test]
fn the_cluster_is_read_over_https_with_the_kubeconfigs_ca() {
    // kind and kubeadm put the API server's IP in its certificate.
    let pki = pki("apiserver", &["127.0.0.1", "kubernetes.default.svc"]);
    let api = FakeApiServer::start_tls(
        api_config(),
        ServerTls {
            cert_pem: pki.server_cert.clone(),
            key_pem: pki.server_key.clone(),
            client_ca_pem: Some(pki.ca.clone()),
        },
    );
    let dir = scratch("kube-tls");
    let kubeconfig = write(
        &dir,
        "kubeconfig",
        &api.kubeconfig_trusting(&pki.ca, Some((&pki.client_cert, &pki.client_key))),
    );
    let snap = block(read_cluster(&ClusterOptions {
        kubeconfig: Some(kubeconfig),
        all_namespaces: true,
        ..Default::default()
    }))
    .unwrap();
    assert!(
        snap.server.starts_with("https://127.0.0.1:"),
        "{}",
        snap.server
    );
    assert!(snap.objects.iter().any(|o| o["kind"] == "Pod"));
    assert!(snap.objects.iter().any(|o| o["kind"] == "NetworkPolicy"));
}

#[test]
fn a_kubeconfig_with_the_wrong_ca_fails_saying_what_to_check() {
    let good = pki("apiserver", &["127.0.0.1"]);
    let other = pki("other", &["127.0.0.1"]);
    let api = FakeApiServer::start_tls(
        api_config(),
        ServerTls {
            cert_pem: good.server_cert.clone(),
            key_pem: good.server_key.clone(),
            client_ca_pem: None,
        },
    );
    let dir = scratch("kube-wrong-ca");
    let kubeconfig = write(
        &dir,
        "kubeconfig",
        &api.kubeconfig_trusting(&other.ca, None),
    );
    let err = block(read_cluster(&ClusterOptions {
        kubeconfig: Some(kubeconfig),
        all_namespaces: true,
        ..Default::default()
    }))
    .unwrap_err();
    assert!(matches!(err, Error::Api { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("UnknownIssuer"), "{text}");
    assert!(
        text.contains("not signed by a CA Palisade trusts: check the kubeconfig cluster's certificate-authority(-data)"),
        "{text}"
    );
    assert!(api.requests().is_empty(), "no request got through");
}
