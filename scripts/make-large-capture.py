#!/usr/bin/env python3
"""Writes a Hubble capture (`hubble observe -o json` lines) whose endpoints are pods of a
synthetic cluster, for measuring replay, map, generate, harden, report and serve at scale.

    python3 scripts/make-large-capture.py bench-data/large.yaml 200000 bench-data/large-hubble.json

The cluster files of `palisade-synth` declare workloads (Deployments, StatefulSets,
DaemonSets) and no pods, so the capture names pods as Kubernetes would name a workload's
replicas (`WORKLOAD-HASH-SUFFIX`, `STATEFULSET-0`, `DAEMONSET-SUFFIX`): replay maps them to
their workloads (`HubbleWorkload` mapping), as it does for manifests without live pods.

CONNECTIONS connections, each three flows: the client's SYN, the server's SYN-ACK (or, for
one connection in 20, no answer: a drop Hubble reports as DROPPED / POLICY_DENIED), and the
client's FIN. Clients and servers are drawn from the cluster's workloads (a server on one of
its container ports; 70% in the client's namespace); one connection in 50 goes to an external address (203.0.113.0/24).
Deterministic for a given cluster, count and seed (default 1). The traffic is SYNTHESIZED.
"""

import heapq
import json
import random
import sys


def workloads(path):
    """(kind, namespace, name, [ports]) of every workload, read line by line (the files are
    hundreds of MB; only the fields needed are picked)."""
    out = []
    kind = ns = name = None
    ports = []

    def flush():
        if kind in ("Deployment", "StatefulSet", "DaemonSet") and ns and name:
            out.append((kind, ns, name, ports or [8080]))

    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("---"):
                flush()
                kind = ns = name = None
                ports = []
            elif line.startswith("kind: "):
                kind = line[6:].strip()
            elif line.startswith("  name: ") and name is None:
                name = line[8:].strip()
            elif line.startswith("  namespace: ") and ns is None:
                ns = line[13:].strip()
            elif "containerPort: " in line:
                ports.append(int(line.split("containerPort: ")[1]))
    flush()
    return out


ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def pod_name(rng, kind, name):
    suffix = "".join(rng.choice(ALPHABET) for _ in range(5))
    if kind == "StatefulSet":
        return f"{name}-{rng.randrange(3)}"
    if kind == "DaemonSet":
        return f"{name}-{suffix}"
    return f"{name}-{''.join(rng.choice(ALPHABET) for _ in range(9))}-{suffix}"


def endpoint(ns, pod, identity):
    return {"identity": identity, "namespace": ns, "pod_name": pod}


def flow(t_ns, verdict, src_ip, dst_ip, sport, dport, flags, src, dst, reply, drop=False):
    secs, nanos = divmod(t_ns, 1_000_000_000)
    stamp = f"2026-09-20T{secs // 3600 % 24:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}.{nanos:09d}Z"
    f = {
        "time": stamp,
        "verdict": verdict,
        "IP": {"source": src_ip, "destination": dst_ip, "ipVersion": "IPv4"},
        "l4": {"TCP": {"source_port": sport, "destination_port": dport, "flags": flags}},
        "source": src,
        "destination": dst,
        "Type": "L3_L4",
        "traffic_direction": "EGRESS" if not reply else "INGRESS",
        "is_reply": reply,
    }
    if drop:
        f["drop_reason_desc"] = "POLICY_DENIED"
    return json.dumps({"flow": f, "time": stamp}, separators=(",", ":"))


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    cluster, count, out = sys.argv[1], int(sys.argv[2].replace("_", "")), sys.argv[3]
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    rng = random.Random(seed)
    units = workloads(cluster)
    if not units:
        sys.exit(f"no workloads in {cluster}")
    # A few pods per workload, each with a stable address and identity.
    pods = {}

    def pod_of(i):
        key = (i, rng.randrange(3))
        if key not in pods:
            kind, ns, name, _ = units[i]
            n = len(pods)
            ip = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
            pods[key] = (ip, endpoint(ns, pod_name(rng, kind, name), 10_000 + n))
        return pods[key]

    by_namespace = {}
    for i, (_, ns, _, _) in enumerate(units):
        by_namespace.setdefault(ns, []).append(i)
    t = 12 * 3600 * 1_000_000_000
    # Replies and FINs wait in a heap so that the file is in time order, as Hubble writes it.
    pending = []
    with open(out, "w", encoding="utf-8") as w:
        for c in range(count):
            t += rng.randrange(1, 200_000)
            while pending and pending[0][0] <= t:
                w.write(heapq.heappop(pending)[2] + "\n")
            a = rng.randrange(len(units))
            client_ip, client = pod_of(a)
            sport = 32768 + c % 28000
            if c % 50 == 49:
                server_ip = f"203.0.113.{rng.randrange(1, 255)}"
                server = {"identity": 2, "labels": ["reserved:world"]}
                dport = 443
            else:
                # Most traffic stays in its namespace, as in a real cluster.
                if rng.random() < 0.7:
                    s = rng.choice(by_namespace[units[a][1]])
                else:
                    s = rng.randrange(len(units))
                server_ip, server = pod_of(s)
                dport = rng.choice(units[s][3])
            dropped = c % 20 == 7
            w.write(flow(t, "DROPPED" if dropped else "FORWARDED", client_ip, server_ip,
                         sport, dport, {"SYN": True}, client, server, False, dropped) + "\n")
            if dropped:
                continue
            heapq.heappush(pending, (t + 300_000, c * 2, flow(
                t + 300_000, "FORWARDED", server_ip, client_ip, dport, sport,
                {"SYN": True, "ACK": True}, server, client, True)))
            heapq.heappush(pending, (t + 5_000_000, c * 2 + 1, flow(
                t + 5_000_000, "FORWARDED", client_ip, server_ip, sport, dport,
                {"FIN": True, "ACK": True}, client, server, False)))
        while pending:
            w.write(heapq.heappop(pending)[2] + "\n")
    print(f"{out}: {count} connections, {len(units)} workloads in the cluster", file=sys.stderr)


if __name__ == "__main__":
    main()
