#!/usr/bin/env python3
"""Writes each case's expected.txt from the expectation written beside it here, by hand from
the API's semantics (never from Palisade's output). Run from this directory."""
import os

PODS = ["forbidden-forest/centaur-0", "gryffindor/harry-potter-0", "hufflepuff/cedric-diggory-0",
        "ravenclaw/luna-lovegood-0", "slytherin/draco-malfoy-0"]
NS = lambda p: p.split("/")[0]

# case -> (policies, [(port, proto)], denied(src_ns, dst_ns, port, proto) -> bool)
CASES = {}

CASES["anp-ingress-tcp-rule-order"] = ("""\
# AdminNetworkPolicy v1alpha1: the first matching rule decides, Allow before Deny.
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: ingress-tcp
spec:
  priority: 10
  subject:
    namespaces:
      matchLabels:
        conformance-house: gryffindor
  ingress:
  - name: allow-from-slytherin-at-port-80
    action: Allow
    from:
    - namespaces:
        matchLabels:
          conformance-house: slytherin
    ports:
    - portNumber:
        protocol: TCP
        port: 80
  - name: deny-all-from-slytherin
    action: Deny
    from:
    - namespaces:
        matchLabels:
          conformance-house: slytherin
""", [(80, "TCP"), (8080, "TCP"), (53, "UDP")],
    lambda s, d, port, proto: d == "gryffindor" and s == "slytherin" and (port, proto) != (80, "TCP"))

CASES["cnp-egress-udp"] = ("""\
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: egress-udp
spec:
  tier: Admin
  priority: 5
  subject:
    pods:
      namespaceSelector:
        matchLabels:
          conformance-house: hufflepuff
      podSelector: {}
  egress:
  - name: deny-to-ravenclaw-dns
    action: Deny
    to:
    - pods:
        namespaceSelector:
          matchLabels:
            conformance-house: ravenclaw
        podSelector:
          matchLabels:
            app: luna-lovegood
    protocols:
    - udp:
        destinationPort:
          number: 53
  - name: deny-to-slytherin-udp-range
    action: Deny
    to:
    - namespaces:
        matchLabels:
          conformance-house: slytherin
    protocols:
    - udp:
        destinationPort:
          range:
            start: 5000
            end: 6000
""", [(53, "UDP"), (5353, "UDP"), (80, "TCP")],
    lambda s, d, port, proto: s == "hufflepuff" and proto == "UDP"
        and ((d == "ravenclaw" and port == 53) or (d == "slytherin" and 5000 <= port <= 6000)))

PRIORITY = """\
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: deny-slytherin
spec:
  tier: Admin
  priority: {deny}
  subject:
    namespaces:
      matchLabels:
        conformance-house: gryffindor
  ingress:
  - name: deny-slytherin
    action: Deny
    from:
    - namespaces:
        matchLabels:
          conformance-house: slytherin
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: accept-slytherin-80
spec:
  tier: Admin
  priority: {accept}
  subject:
    namespaces:
      matchLabels:
        conformance-house: gryffindor
  ingress:
  - name: accept-slytherin-80
    action: Accept
    from:
    - namespaces:
        matchLabels:
          conformance-house: slytherin
    protocols:
    - tcp:
        destinationPort:
          number: 80
"""
CASES["priority-accept-before-deny"] = (PRIORITY.format(deny=20, accept=10), [(80, "TCP"), (8080, "TCP")],
    lambda s, d, port, proto: d == "gryffindor" and s == "slytherin" and port != 80)
# The same two policies with their priorities swapped: the Deny now comes first.
CASES["priority-swapped-deny-first"] = (PRIORITY.format(deny=5, accept=10), [(80, "TCP"), (8080, "TCP")],
    lambda s, d, port, proto: d == "gryffindor" and s == "slytherin")

CASES["anp-np-banp-integration"] = ("""\
# Admin Pass for slytherin -> gryffindor hands the decision to NetworkPolicy, which isolates
# gryffindor's ingress and lets only ravenclaw in; everywhere no NetworkPolicy isolates, the
# baseline denies ingress from every namespace.
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: pass-slytherin
spec:
  priority: 1
  subject:
    namespaces:
      matchLabels:
        conformance-house: gryffindor
  ingress:
  - name: pass-slytherin
    action: Pass
    from:
    - namespaces:
        matchLabels:
          conformance-house: slytherin
  - name: allow-hufflepuff-80
    action: Allow
    from:
    - namespaces:
        matchLabels:
          conformance-house: hufflepuff
    ports:
    - portNumber:
        port: 80
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: only-ravenclaw
  namespace: gryffindor
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          conformance-house: ravenclaw
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata:
  name: default
spec:
  subject:
    namespaces: {}
  ingress:
  - name: deny-all
    action: Deny
    from:
    - namespaces: {}
""", [(80, "TCP"), (8080, "TCP")],
    # gryffindor: hufflepuff on 80 by the ANP, else NetworkPolicy (ravenclaw only);
    # every other destination: baseline Deny from all pods.
    lambda s, d, port, proto: not ((d == "gryffindor" and (s == "ravenclaw" or (s == "hufflepuff" and port == 80)))))

CASES["cnp-inline-cidr"] = ("""\
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: egress-cidr
spec:
  tier: Admin
  priority: 30
  subject:
    namespaces:
      matchLabels:
        conformance-house: gryffindor
  egress:
  - name: deny-slytherin-network
    action: Deny
    to:
    - networks:
      - 10.10.5.0/24
  - name: accept-cluster-network
    action: Accept
    to:
    - networks:
      - 10.10.0.0/16
---
# Isolates gryffindor's egress to nothing: only the admin Accept lets it out.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-egress
  namespace: gryffindor
spec:
  podSelector: {}
  policyTypes: [Egress]
""", [(80, "TCP"), (53, "UDP")],
    lambda s, d, port, proto: s == "gryffindor" and d == "slytherin")

CASES["cnp-sctp-and-named-port"] = ("""\
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: ravenclaw-sctp
spec:
  tier: Admin
  priority: 40
  subject:
    namespaces:
      matchLabels:
        conformance-house: ravenclaw
  ingress:
  - name: accept-named-web
    action: Accept
    from:
    - namespaces: {}
    protocols:
    - destinationNamedPort: web-9005-sctp
  - name: deny-sctp
    action: Deny
    from:
    - namespaces: {}
    protocols:
    - sctp: {destinationPort: {range: {start: 9000, end: 9010}}}
""", [(9003, "SCTP"), (9005, "SCTP"), (80, "TCP")],
    lambda s, d, port, proto: d == "ravenclaw" and proto == "SCTP" and port == 9003)

CASES["baseline-only-without-networkpolicy"] = ("""\
# The baseline denies egress from slytherin; a NetworkPolicy isolating slytherin's ingress
# only does not change that, one isolating egress replaces the baseline for egress.
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: baseline-deny-egress
spec:
  tier: Baseline
  priority: 0
  subject:
    namespaces: {}
  egress:
  - name: pass-gryffindor
    action: Pass
    to:
    - namespaces:
        matchLabels:
          conformance-house: gryffindor
  - name: deny-all
    action: Deny
    to:
    - namespaces: {}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ingress-only
  namespace: slytherin
spec:
  podSelector: {}
  ingress:
  - {}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: egress-to-ravenclaw
  namespace: hufflepuff
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector:
        matchLabels:
          conformance-house: ravenclaw
""", [(80, "TCP")],
    # hufflepuff: NetworkPolicy (ravenclaw only); others: baseline (gryffindor passes to the
    # default allow, everything else denied).
    lambda s, d, port, proto: (d != "ravenclaw") if s == "hufflepuff" else d != "gryffindor")

for name, (policies, ports, denied) in CASES.items():
    os.makedirs(name, exist_ok=True)
    with open(os.path.join(name, "policies.yaml"), "w") as f:
        f.write(policies)
    out = []
    for port, proto in ports:
        out.append(f"# port {port} {proto}\n")
        out.append("-\t" + "\t".join(PODS) + "\n")
        for s in PODS:
            cells = ["X" if denied(NS(s), NS(d), port, proto) else "." for d in PODS]
            out.append(s + "\t" + "\t".join(cells) + "\n")
    with open(os.path.join(name, "expected.txt"), "w") as f:
        f.write("".join(out))
