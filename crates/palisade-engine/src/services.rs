//! Services: a Service (by name or ClusterIP) resolved to its backend pods and, for each,
//! the port a connection to a service port reaches — the semantics kube-proxy implements
//! before NetworkPolicy sees the packet (policies match the backend pod and its target port,
//! never the ClusterIP or the service port).
//!
//! - Backends are the pods of the Service's namespace whose labels contain its `selector`; a
//!   Service without a selector (manually managed endpoints) or of type ExternalName has none
//!   Palisade can know.
//! - `targetPort` is a number, or a container-port name resolved on each backend by name
//!   and protocol; a backend without that named port is not an endpoint of that port.
//! - A headless Service (`clusterIP: None`) has backends but no ClusterIP.

use std::net::IpAddr;

use palisade_model::{Model, PodId, PortRef, Protocol, Service, ServiceId, ServicePort};

/// One backend of a service port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backend {
    /// The backend pod.
    pub pod: PodId,
    /// The port on the pod the connection reaches (the resolved `targetPort`).
    pub port: u16,
}

/// `namespace/name` of a service.
pub fn service_name(model: &Model, id: ServiceId) -> String {
    let s = &model.services[id.index()];
    format!("{}/{}", model.namespace(s.namespace).name, s.name)
}

/// The service with a ClusterIP.
pub fn service_by_ip(model: &Model, ip: IpAddr) -> Option<ServiceId> {
    model
        .services
        .iter()
        .position(|s| s.cluster_ips.contains(&ip))
        .map(ServiceId::new)
}

/// The services named `name`, in namespace `namespace` or, without one, in every namespace.
pub fn services_named(model: &Model, namespace: Option<&str>, name: &str) -> Vec<ServiceId> {
    let ns = namespace.map(|n| model.namespace_id(n));
    if ns == Some(None) {
        return Vec::new();
    }
    model
        .services
        .iter()
        .enumerate()
        .filter(|(_, s)| s.name == name && ns.is_none_or(|n| n == Some(s.namespace)))
        .map(|(i, _)| ServiceId::new(i))
        .collect()
}

/// The pods a service selects.
pub fn selected_pods(model: &Model, service: &Service) -> Vec<PodId> {
    if service.selector.is_empty() {
        return Vec::new();
    }
    model
        .pod_ids()
        .filter(|&p| {
            let pod = &model.pods[p.index()];
            pod.namespace == service.namespace
                && service
                    .selector
                    .iter()
                    .all(|(k, v)| pod.labels.get(k) == Some(v))
        })
        .collect()
}

/// The service port a client reaches at `port`/`protocol`.
pub fn service_port(service: &Service, port: u16, protocol: Protocol) -> Option<&ServicePort> {
    service
        .ports
        .iter()
        .find(|p| p.port == port && p.protocol == protocol)
}

/// The port `target` reaches on a pod: the number, or the pod's container port of that name
/// and protocol.
pub fn target_port(model: &Model, pod: PodId, target: &PortRef, protocol: Protocol) -> Option<u16> {
    match target {
        PortRef::Number(n) => Some(*n),
        PortRef::Name(name) => model.pods[pod.index()]
            .ports
            .iter()
            .find(|c| crate::semantics::named_port_resolves(name, protocol, c))
            .map(|c| c.port),
    }
}

/// The backends of a service port: each selected pod with its resolved target port.
pub fn backends(model: &Model, service: &Service, port: &ServicePort) -> Vec<Backend> {
    selected_pods(model, service)
        .into_iter()
        .filter_map(|pod| {
            target_port(model, pod, &port.target_port, port.protocol)
                .map(|port| Backend { pod, port })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_model::{ContainerPort, Labels, NamespaceId, Pod, PodOrigin};

    fn pod(ns: NamespaceId, app: &str, ports: Vec<ContainerPort>) -> Pod {
        Pod {
            name: app.into(),
            namespace: ns,
            labels: [("app".to_string(), app.to_string())].into_iter().collect(),
            annotations: Labels::new(),
            ports,
            ips: vec![],
            host_network: false,
            workload: None,
            origin: PodOrigin::Declared,
            span: None,
        }
    }

    #[test]
    fn named_target_ports_resolve_per_backend_and_by_protocol() {
        let mut model = Model::default();
        let shop = model.ensure_namespace("shop");
        let other = model.ensure_namespace("other");
        let http = |port| ContainerPort {
            name: Some("http".into()),
            port,
            protocol: Protocol::Tcp,
        };
        let a = model.add_pod(pod(shop, "web", vec![http(8080)]));
        let b = model.add_pod(pod(shop, "web", vec![http(9090)]));
        // Same labels, other namespace: not a backend.
        model.add_pod(pod(other, "web", vec![http(8080)]));
        // A backend without the named port is not an endpoint of that port.
        let c = model.add_pod(pod(shop, "web", vec![]));
        let svc = Service {
            name: "web".into(),
            namespace: shop,
            selector: [("app".to_string(), "web".to_string())]
                .into_iter()
                .collect(),
            ports: vec![ServicePort {
                name: None,
                port: 80,
                target_port: PortRef::Name("http".into()),
                protocol: Protocol::Tcp,
            }],
            cluster_ips: vec!["10.96.0.10".parse().unwrap()],
            span: None,
        };
        assert_eq!(selected_pods(&model, &svc), vec![a, b, c]);
        let port = service_port(&svc, 80, Protocol::Tcp).unwrap();
        assert!(service_port(&svc, 80, Protocol::Udp).is_none());
        assert_eq!(
            backends(&model, &svc, port),
            vec![
                Backend { pod: a, port: 8080 },
                Backend { pod: b, port: 9090 }
            ]
        );
        let numbered = ServicePort {
            target_port: PortRef::Number(7000),
            ..port.clone()
        };
        assert_eq!(backends(&model, &svc, &numbered).len(), 3);
        model.services.push(svc);
        assert_eq!(
            service_by_ip(&model, "10.96.0.10".parse().unwrap()),
            Some(ServiceId::new(0))
        );
        assert_eq!(services_named(&model, Some("shop"), "web").len(), 1);
        assert!(services_named(&model, Some("other"), "web").is_empty());
        assert!(services_named(&model, Some("nope"), "web").is_empty());
        let mut no_selector = model.services[0].clone();
        no_selector.selector.clear();
        assert!(selected_pods(&model, &no_selector).is_empty());
    }
}
