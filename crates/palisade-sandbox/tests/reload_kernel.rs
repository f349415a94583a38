//! `Sandbox::reload`: another model's rules over the same namespaces, with nothing the
//! previous rules let through surviving the swap.

mod common;

use palisade_model::Protocol;
use palisade_sandbox::{DenyAction, Outcome, Probe, Sandbox, SandboxOptions, Source, netns};
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

const PODS: &str = "\
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default, labels: {app: client}}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.9.0.1, podIPs: [{ip: 10.9.0.1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: default, labels: {app: server}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 53, protocol: UDP}]}]}
status: {podIP: 10.9.0.2, podIPs: [{ip: 10.9.0.2}]}
";

const DENY_SERVER_INGRESS: &str = "
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: default}
spec:
  podSelector: {matchLabels: {app: server}}
  policyTypes: [Ingress]
";

/// The same pods in another order and namespace: reload maps pods to namespaces by address.
const SWAPPED: &str = "\
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: other, labels: {app: server}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 53, protocol: UDP}]}]}
status: {podIP: 10.9.0.2, podIPs: [{ip: 10.9.0.2}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: other, labels: {app: client}}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.9.0.1, podIPs: [{ip: 10.9.0.1}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: other}
spec:
  podSelector: {matchLabels: {app: server}}
  policyTypes: [Ingress]
";

fn echoed(socket: &UdpSocket) -> bool {
    let _ = socket.send(b"ping");
    let mut buf = [0u8; 16];
    socket.recv(&mut buf).is_ok()
}

#[test]
fn a_reload_flushes_connection_tracking() {
    if !common::can_run("reload through the kernel") {
        return;
    }
    let open = common::load_text(PODS);
    let mut sandbox = Sandbox::up(&open, SandboxOptions::default()).unwrap();
    let client = open.pod_ids().next().unwrap();
    // One client socket (one 4-tuple) across the swap: without the flush, its conntrack
    // entry would keep the datagrams flowing through `ct state established`.
    let socket = netns::in_netns(sandbox.pod_netns(client), || {
        let s = UdpSocket::bind("10.9.0.1:40053").unwrap();
        s.connect(SocketAddr::from(([10, 9, 0, 2], 53))).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        Ok(s)
    })
    .unwrap();
    assert!(echoed(&socket), "no policy: the server echoes");
    let denied = common::load_text(&format!("{PODS}{DENY_SERVER_INGRESS}"));
    sandbox.reload(&denied, DenyAction::Drop).unwrap();
    assert!(
        !echoed(&socket),
        "the old connection survived the new rules"
    );
    sandbox.reload(&open, DenyAction::Drop).unwrap();
    assert!(echoed(&socket), "rules removed again: the server echoes");
    drop(socket);
    sandbox.down().unwrap();
}

#[test]
fn a_reload_maps_pods_by_address_and_rejects_unknown_addresses() {
    if !common::can_run("reload through the kernel") {
        return;
    }
    let open = common::load_text(PODS);
    let mut sandbox = Sandbox::up(&open, SandboxOptions::default()).unwrap();
    let swapped = common::load_text(SWAPPED);
    sandbox.reload(&swapped, DenyAction::Reject).unwrap();
    let client = swapped.pod_ids().nth(1).unwrap();
    assert_eq!(swapped.pod_name(client), "other/client");
    let to_server = Probe {
        src: Source::Pod(client),
        dst: "10.9.0.2".parse().unwrap(),
        port: 53,
        protocol: Protocol::Udp,
    };
    let timeout = Duration::from_millis(1000);
    // The server's ingress rule landed in the server's namespace (had it landed in the
    // client's, which the model order would suggest, the datagram would be echoed).
    assert_eq!(
        sandbox.probe(&[to_server], timeout).unwrap(),
        [Outcome::Refused]
    );
    sandbox.reload(&open, DenyAction::Reject).unwrap();
    let client = open.pod_ids().next().unwrap();
    assert_eq!(
        sandbox
            .probe(
                &[Probe {
                    src: Source::Pod(client),
                    ..to_server
                }],
                timeout
            )
            .unwrap(),
        [Outcome::Accepted]
    );
    let moved = common::load_text(&PODS.replace("10.9.0.2", "10.9.0.3"));
    let error = sandbox.reload(&moved, DenyAction::Drop).unwrap_err();
    assert!(error.to_string().contains("10.9.0.3"), "{error}");
    sandbox.down().unwrap();
}
