//! The benchmark input of `palisade map` / `generate`: a cluster of N Deployments (two pods
//! each, with IPs) in 50 namespaces plus CoreDNS, and a CSV capture in which every workload
//! calls 5 others (3 sessions each), resolves names, and every tenth calls an external API.
//! Deterministic (a fixed linear congruential sequence). Shared by the divan bench and the
//! `bench_traffic` example.

use std::fmt::Write as _;

/// The address of pod `i`.
pub fn ip(i: usize) -> String {
    format!("10.{}.{}.{}", 1 + i / 65536, (i / 256) % 256, i % 256)
}

/// `(cluster manifests, CSV capture)` for `workloads` Deployments.
pub fn build(workloads: usize) -> (String, String) {
    let mut y = String::new();
    let namespaces = 50;
    for n in 0..namespaces {
        let _ = write!(
            y,
            "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: ns{n}}}\n"
        );
    }
    let _ = write!(
        y,
        "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: kube-system}}\n"
    );
    let mut pod = 0usize;
    let mut pod_ips: Vec<Vec<String>> = Vec::new();
    let mut deployment = |y: &mut String,
                          ns: &str,
                          name: &str,
                          labels: &str,
                          port: &str|
     -> Vec<String> {
        let _ = write!(
            y,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {{{labels}}}}}\n  template:\n    metadata: {{labels: {{{labels}, tier: backend}}}}\n    spec: {{containers: [{{name: c, image: x, ports: [{port}]}}]}}\n"
        );
        let mut ips = Vec::new();
        for k in 0..2 {
            let addr = ip(pod);
            pod += 1;
            let _ = write!(
                y,
                "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}-6b7c8d9f5-{k}\n  namespace: {ns}\n  labels: {{{labels}, tier: backend, pod-template-hash: 6b7c8d9f5}}\n  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: {name}-6b7c8d9f5, controller: true}}]\nspec: {{containers: [{{name: c, image: x, ports: [{port}]}}]}}\nstatus: {{podIP: {addr}}}\n"
            );
            ips.push(addr);
        }
        ips
    };
    let dns = deployment(
        &mut y,
        "kube-system",
        "coredns",
        "k8s-app: kube-dns",
        "{name: dns, containerPort: 53, protocol: UDP}, {name: dns-tcp, containerPort: 53, protocol: TCP}",
    );
    for w in 0..workloads {
        let ips = deployment(
            &mut y,
            &format!("ns{}", w % namespaces),
            &format!("w{w}"),
            &format!("app: w{w}"),
            "{name: http, containerPort: 8080}",
        );
        pod_ips.push(ips);
    }
    let mut csv = String::from("time,src,dst,src_port,dst_port,protocol,outcome\n");
    let mut state: u64 = 42;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    let mut t: u64 = 0;
    let mut row = |csv: &mut String, src: &str, dst: &str, port: u16, proto: &str, sport: usize| {
        t += 1;
        let _ = writeln!(
            csv,
            "2026-09-20T{:02}:{:02}:{:02}.{:03}Z,{src},{dst},{},{port},{proto},accepted",
            (t / 3_600_000) % 24,
            (t / 60_000) % 60,
            (t / 1000) % 60,
            t % 1000,
            30000 + sport % 30000
        );
    };
    for w in 0..workloads {
        for _ in 0..5 {
            let peer = next() % workloads;
            for s in 0..3 {
                let src = &pod_ips[w][s % 2];
                let dst = &pod_ips[peer][(s + 1) % 2];
                row(&mut csv, src, dst, 8080, "TCP", next());
            }
        }
        row(&mut csv, &pod_ips[w][0], &dns[w % 2], 53, "UDP", next());
        if w % 10 == 0 {
            let ext = format!("203.0.113.{}", next() % 250);
            row(&mut csv, &pod_ips[w][1], &ext, 443, "TCP", next());
        }
    }
    (y, csv)
}
