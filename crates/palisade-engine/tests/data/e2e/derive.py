#!/usr/bin/env python3
"""Derive the e2e truth tables by transliterating upstream's reachability calls.

Each case lists the NetworkPolicies exactly as upstream builds them and the
reachability setup calls (NewReachability(all, true) followed by ExpectPeer /
ExpectAllIngress / ExpectAllEgress / Expect) for every probe (port, protocol).
Run: python3 derive.py <out-dir>
"""
import os, sys, yaml


class Dumper(yaml.SafeDumper):
    """Quotes strings that YAML 1.1 would read as booleans (PyYAML leaves `y`/`n` plain)."""


def _str(dumper, value):
    style = '"' if value.lower() in ("y", "n", "yes", "no", "on", "off", "true", "false") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, _str)

NS = ["x", "y", "z"]
PODS = ["a", "b", "c"]
ALL = [f"{n}/{p}" for n in NS for p in PODS]
NSIDX = {"x": 1, "y": 2, "z": 3}
PODIDX = {"a": 1, "b": 2, "c": 3}
def ip(pod):
    n, p = pod.split("/")
    return f"10.244.{NSIDX[n]}.{PODIDX[p]}"

UPSTREAM_FILE = "kubernetes/kubernetes test/e2e/network/netpol/network_policy.go"
KEY = "kubernetes.io/metadata.name"

# ---- policy builders (mirror upstream policies.go GenNetworkPolicy* + SetSpec*Rules)
def pol(name, ns, pod_selector, ingress=None, egress=None, types=None):
    spec = {"podSelector": pod_selector}
    t = []
    if ingress is not None:
        t.append("Ingress")
    if egress is not None:
        t.append("Egress")
    spec["policyTypes"] = types if types is not None else t
    if ingress:
        spec["ingress"] = ingress
    if egress:
        spec["egress"] = egress
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}

def ml(**kv):
    return {"matchLabels": dict(kv)} if kv else {}
def mlk(d):
    return {"matchLabels": d}
def expr(key, op, values=None):
    e = {"key": key, "operator": op}
    if values is not None:
        e["values"] = values
    return {"matchExpressions": [e]}
POD_A = ml(pod="a")

# ---- reachability ops
def peer(f, t, v): return ("peer", f, t, v)      # Peer{Namespace,Pod}; None = any
def ingress(p, v): return ("in", p, v)           # ExpectAllIngress
def egress(p, v): return ("eg", p, v)            # ExpectAllEgress
def expect(f, t, v): return ("ex", f, t, v)      # Expect

def table(ops):
    m = {f: {t: True for t in ALL} for f in ALL}
    def match(pe, pod):
        ns, name = pod.split("/")
        return (pe[0] is None or pe[0] == ns) and (pe[1] is None or pe[1] == name)
    for op in ops:
        if op[0] == "peer":
            for f in ALL:
                if match(op[1], f):
                    for t in ALL:
                        if match(op[2], t):
                            m[f][t] = op[3]
        elif op[0] == "in":
            for f in ALL:
                m[f][op[1]] = op[2]
        elif op[0] == "eg":
            for t in ALL:
                m[op[1]][t] = op[2]
        elif op[0] == "ex":
            m[op[1]][op[2]] = op[3]
    return m

def render(port, proto, m):
    lines = [f"# port {port} {proto}", "\t".join(["-"] + ALL)]
    for f in ALL:
        lines.append("\t".join([f] + ["." if m[f][t] else "X" for t in ALL]))
    return "\n".join(lines) + "\n"

CASES = []
def case(slug, it, ctx, policies, probes, note=None):
    CASES.append(dict(slug=slug, it=it, ctx=ctx, policies=policies, probes=probes, note=note))

X, Y, Z = "x", "y", "z"
ANY = (None, None)
def P(ns=None, pod=None): return (ns, pod)

# ============ Context "NetworkPolicy between server and client" (TCP) ============
C = 'Netpol NetworkPolicy between server and client'

case("should-support-a-default-deny-ingress-policy",
     "should support a 'default-deny-ingress' policy", C,
     [pol("deny-ingress", X, {}, ingress=[])],
     [(80, "TCP", [peer(ANY, P(X), False)])])

case("should-support-a-default-deny-all-policy",
     "should support a 'default-deny-all' policy", C,
     [pol("deny-all", X, {}, ingress=[], egress=[])],
     [(80, "TCP", [peer(ANY, P(X), False), peer(P(X), ANY, False)])])

case("should-enforce-policy-to-allow-traffic-from-pods-within-server-namespace-based-on-podselector",
     "should enforce policy to allow traffic from pods within server namespace based on PodSelector", C,
     [pol("x-a-allows-x-b", X, POD_A, ingress=[{"from": [{"podSelector": ml(pod="b")}]}])],
     [(80, "TCP", [ingress("x/a", False), expect("x/b", "x/a", True)])])

case("should-enforce-policy-to-allow-ingress-traffic-for-a-target",
     "should enforce policy to allow ingress traffic for a target", C,
     [pol("deny-all", X, {}, ingress=[]),
      pol("allow-all-to-a", X, POD_A, ingress=[{"from": [{"podSelector": {}, "namespaceSelector": {}}]}])],
     [(80, "TCP", [ingress("x/a", True), ingress("x/b", False), ingress("x/c", False)])])

case("should-enforce-policy-to-allow-ingress-traffic-from-pods-in-all-namespaces",
     "should enforce policy to allow ingress traffic from pods in all namespaces", C,
     [pol("allow-from-another-ns", X, POD_A, ingress=[{"from": [{"namespaceSelector": {}}]}])],
     [(80, "TCP", [])])

case("should-enforce-policy-to-allow-traffic-only-from-a-different-namespace-based-on-namespaceselector",
     "should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector", C,
     [pol("allow-client-a-via-ns-selector", X, POD_A, ingress=[{"from": [{"namespaceSelector": mlk({KEY: Y})}]}])],
     [(80, "TCP", [peer(P(X), P(X, "a"), False), peer(P(Z), P(X, "a"), False)])])

case("should-enforce-policy-based-on-podselector-with-matchexpressions",
     "should enforce policy based on PodSelector with MatchExpressions", C,
     [pol("x-a-allows-x-b", X, POD_A, ingress=[{"from": [{"podSelector": expr("pod", "In", ["b"])}]}])],
     [(80, "TCP", [ingress("x/a", False), expect("x/b", "x/a", True)])])

case("should-enforce-policy-based-on-namespaceselector-with-matchexpressions",
     "should enforce policy based on NamespaceSelector with MatchExpressions", C,
     [pol("allow-ns-y-match-selector", X, POD_A, ingress=[{"from": [{"namespaceSelector": expr(KEY, "In", [Y])}]}])],
     [(80, "TCP", [peer(P(X), P(X, "a"), False), peer(P(Z), P(X, "a"), False)])])

case("should-enforce-policy-based-on-podselector-or-namespaceselector",
     "should enforce policy based on PodSelector or NamespaceSelector", C,
     [pol("allow-ns-y-match-selector", X, POD_A, ingress=[{"from": [
         {"namespaceSelector": expr(KEY, "NotIn", [X])}, {"podSelector": ml(pod="b")}]}])],
     [(80, "TCP", [expect("x/a", "x/a", False), expect("x/c", "x/a", False)])])

case("should-enforce-policy-based-on-podselector-and-namespaceselector",
     "should enforce policy based on PodSelector and NamespaceSelector", C,
     [pol("allow-ns-y-podselector-and-nsselector", X, POD_A, ingress=[{"from": [
         {"namespaceSelector": expr(KEY, "NotIn", [X]), "podSelector": ml(pod="b")}]}])],
     [(80, "TCP", [ingress("x/a", False), expect("y/b", "x/a", True), expect("z/b", "x/a", True)])])

case("should-enforce-policy-based-on-multiple-podselectors-and-namespaceselectors",
     "should enforce policy based on Multiple PodSelectors and NamespaceSelectors", C,
     [pol("allow-ns-y-z-pod-b-c", X, POD_A, ingress=[{"from": [
         {"namespaceSelector": expr(KEY, "NotIn", [X]), "podSelector": expr("pod", "In", ["b", "c"])}]}])],
     [(80, "TCP", [peer(P(X), P(X, "a"), False), expect("y/a", "x/a", False), expect("z/a", "x/a", False)])])

case("should-enforce-policy-based-on-any-podselectors",
     "should enforce policy based on any PodSelectors", C,
     [pol("allow-ns-x-pod-b-c", X, POD_A, ingress=[{"from": [
         {"podSelector": ml(pod="b")}, {"podSelector": ml(pod="c")}]}])],
     [(80, "TCP", [ingress("x/a", False), expect("x/b", "x/a", True), expect("x/c", "x/a", True)])])

def ns_and_pod_case(slug_prefix, ctx, proto):
    case(slug_prefix + "should-enforce-policy-to-allow-traffic-only-from-a-pod-in-a-different-namespace-based-on-podselector-and-namespaceselector",
         "should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector", ctx,
         [pol("allow-ns-y-pod-a-via-namespace-pod-selector", X, POD_A, ingress=[{"from": [
             {"namespaceSelector": mlk({KEY: Y}), "podSelector": ml(pod="a")}]}])],
         [(80, proto, [ingress("x/a", False), expect("y/a", "x/a", True)])])
ns_and_pod_case("", C, "TCP")

case("should-enforce-policy-based-on-ports",
     "should enforce policy based on Ports", C,
     [pol("allow-client-a-via-ns-selector", X, POD_A, ingress=[{"from": [{"namespaceSelector": mlk({KEY: Y})}],
                                                                "ports": [{"port": 81, "protocol": "TCP"}]}])],
     [(81, "TCP", [peer(P(X), P(X, "a"), False), peer(P(Y), P(X, "a"), True), peer(P(Z), P(X, "a"), False)])])

STACK81 = pol("allow-client-a-via-ns-selector", X, POD_A, ingress=[{"from": [{"namespaceSelector": mlk({KEY: Y})}],
                                                                    "ports": [{"port": 81, "protocol": "TCP"}]}])
STACK80 = pol("allow-client-a-via-ns-selector-80", X, POD_A, ingress=[{"from": [{"namespaceSelector": mlk({KEY: Y})}],
                                                                       "ports": [{"port": 80, "protocol": "TCP"}]}])
ALLOW = [peer(P(X), P(X, "a"), False), peer(P(Y), P(X, "a"), True), peer(P(Z), P(X, "a"), False)]
case("should-enforce-multiple-stacked-policies-with-overlapping-podselectors--step-1",
     "should enforce multiple, stacked policies with overlapping podSelectors", C,
     [STACK81],
     [(81, "TCP", ALLOW), (80, "TCP", [ingress("x/a", False)])],
     note="step 1 of 2: only allowPort81Policy exists (\"Verifying traffic on port 81.\" / \"port 80.\")")
case("should-enforce-multiple-stacked-policies-with-overlapping-podselectors--step-2",
     "should enforce multiple, stacked policies with overlapping podSelectors", C,
     [STACK81, STACK80],
     [(80, "TCP", ALLOW)],
     note="step 2 of 2: allowPort80Policy added (\"Verifying that we can add a policy to unblock port 80\"); upstream only re-probes port 80")

case("should-support-allow-all-policy",
     "should support allow-all policy", C,
     [pol("allow-all", X, {}, ingress=[{}])],
     [(80, "TCP", []), (81, "TCP", [])])

case("should-allow-ingress-access-on-one-named-port",
     "should allow ingress access on one named port", C,
     [pol("allow-all", X, {}, ingress=[{"ports": [{"port": "serve-81-tcp"}]}])],
     [(81, "TCP", []), (80, "TCP", [peer(ANY, P(X), False)])])

case("should-allow-ingress-access-from-namespace-on-one-named-port",
     "should allow ingress access from namespace on one named port", C,
     [pol("allow-client-a-via-ns-selector-80", X, POD_A, ingress=[{"from": [{"namespaceSelector": mlk({KEY: Y})}],
                                                                   "ports": [{"port": "serve-80-tcp", "protocol": "TCP"}]}])],
     [(80, "TCP", [peer(P(X), P(X, "a"), False), peer(P(Z), P(X, "a"), False)]),
      (81, "TCP", [ingress("x/a", False)])])

case("should-allow-egress-access-on-one-named-port",
     "should allow egress access on one named port", C,
     [pol("allow-egress", X, {}, egress=[{"ports": [{"port": "serve-80-tcp"}]}])],
     [(80, "TCP", []), (81, "TCP", [peer(P(X), ANY, False)])])

case("should-enforce-updated-policy--step-1",
     "should enforce updated policy", C,
     [pol("allow-all-mutate-to-deny-all", X, {}, ingress=[{}])],
     [(81, "TCP", [])],
     note="step 1 of 2: allow-all ingress policy as created")
case("should-enforce-updated-policy--step-2",
     "should enforce updated policy", C,
     [pol("allow-all-mutate-to-deny-all", X, {}, ingress=[])],
     [(81, "TCP", [peer(ANY, P(X), False)])],
     note="step 2 of 2: the same policy after UpdatePolicy with spec.ingress = [] (policyTypes stays [Ingress])")

case("should-allow-ingress-access-from-updated-namespace--step-1",
     "should allow ingress access from updated namespace", C,
     [pol("allow-client-a-via-ns-selector", X, POD_A, ingress=[{"from": [{"namespaceSelector": ml(ns2="updated")}]}])],
     [(80, "TCP", [ingress("x/a", False)])],
     note="step 1 of 2 only: step 2 adds label ns2=updated to namespace y (a model change, out of scope)")

case("should-allow-ingress-access-from-updated-pod--step-1",
     "should allow ingress access from updated pod", C,
     [pol("allow-client-a-via-pod-selector", X, POD_A, ingress=[{"from": [{"podSelector": ml(pod="b", pod2="updated")}]}])],
     [(80, "TCP", [ingress("x/a", False)])],
     note="step 1 of 2 only: step 2 adds label pod2=updated to pod x/b (a model change, out of scope)")

case("should-deny-ingress-from-pods-on-other-namespaces",
     "should deny ingress from pods on other namespaces", C,
     [pol("deny-empty-policy", X, {}, ingress=[{"from": [{"podSelector": {}}]}])],
     [(80, "TCP", [peer(P(Y), P(X), False), peer(P(Z), P(X), False)])])

case("should-deny-ingress-access-to-updated-pod--step-1",
     "should deny ingress access to updated pod", C,
     [pol("deny-ingress-via-label-selector", X, ml(target="isolated"), ingress=[])],
     [(80, "TCP", [])],
     note="step 1 of 2 only: step 2 adds label target=isolated to pod x/a (a model change, out of scope)")

case("should-deny-egress-from-pods-based-on-podselector",
     "should deny egress from pods based on PodSelector", C,
     [pol("deny-egress-pod-a", X, POD_A, egress=[])],
     [(80, "TCP", [egress("x/a", False)])])

case("should-deny-egress-from-all-pods-in-a-namespace",
     "should deny egress from all pods in a namespace", C,
     [pol("deny-egress-ns-x", X, {}, egress=[])],
     [(80, "TCP", [peer(P(X), ANY, False)])])

case("should-work-with-ingress-egress-specified-together",
     "should work with Ingress, Egress specified together", C,
     [pol("allow-client-a-via-pod-selector", X, POD_A,
          ingress=[{"from": [{"podSelector": ml(pod="b")}]}],
          egress=[{"ports": [{"port": 80}]}],
          types=["Egress", "Ingress"])],
     [(80, "TCP", [ingress("x/a", False), expect("x/b", "x/a", True)]),
      (81, "TCP", [ingress("x/a", False), egress("x/a", False), expect("x/b", "x/a", True)])])

XA_PEER = {"namespaceSelector": mlk({KEY: X}), "podSelector": ml(pod="a")}
case("should-support-denying-of-egress-traffic-on-the-client-side-even-if-the-server-explicitly-allows-this-traffic",
     "should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)", C,
     [pol("allow-to-ns-y-pod-a", X, POD_A, egress=[{"to": [{"namespaceSelector": mlk({KEY: Y}), "podSelector": ml(pod="a")}]}]),
      pol("allow-from-xa-on-ya-match-selector", Y, POD_A, ingress=[{"from": [XA_PEER]}]),
      pol("allow-from-xa-on-yb-match-selector", Y, ml(pod="b"), ingress=[{"from": [XA_PEER]}])],
     [(80, "TCP", [peer(P(X, "a"), ANY, False), peer(ANY, P(Y, "a"), False),
                   peer(P(X, "a"), P(Y, "a"), True), peer(ANY, P(Y, "b"), False)])])

case("should-enforce-egress-policy-allowing-traffic-to-a-server-in-a-different-namespace-based-on-podselector-and-namespaceselector",
     "should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector", C,
     [pol("allow-to-ns-y-pod-a", X, POD_A, egress=[{"to": [{"namespaceSelector": mlk({KEY: Y}), "podSelector": ml(pod="a")}]}])],
     [(80, "TCP", [egress("x/a", False), expect("x/a", "y/a", True)])])

case("should-enforce-ingress-policy-allowing-any-port-traffic-to-a-server-on-a-specific-protocol",
     "should enforce ingress policy allowing any port traffic to a server on a specific protocol", C,
     [pol("allow-ingress-by-proto", X, POD_A, ingress=[{"ports": [{"protocol": "TCP"}]}])],
     [(80, "TCP", []), (80, "UDP", [peer(ANY, P(X, "a"), False)])])

case("should-enforce-multiple-ingress-policies-with-ingress-allow-all-policy-taking-precedence--step-1",
     "should enforce multiple ingress policies with ingress allow-all policy taking precedence", C,
     [pol("allow-ingress-port-80", X, {}, ingress=[{"ports": [{"port": 80}]}])],
     [(81, "TCP", [peer(ANY, P(X), False)])],
     note="step 1 of 2: only allow-ingress-port-80 exists")
case("should-enforce-multiple-ingress-policies-with-ingress-allow-all-policy-taking-precedence--step-2",
     "should enforce multiple ingress policies with ingress allow-all policy taking precedence", C,
     [pol("allow-ingress-port-80", X, {}, ingress=[{"ports": [{"port": 80}]}]),
      pol("allow-ingress", X, {}, ingress=[{}])],
     [(81, "TCP", [])],
     note="step 2 of 2: allow-ingress (allow-all) added")

case("should-enforce-multiple-egress-policies-with-egress-allow-all-policy-taking-precedence--step-1",
     "should enforce multiple egress policies with egress allow-all policy taking precedence", C,
     [pol("allow-egress-port-80", X, {}, egress=[{"ports": [{"port": 80}]}])],
     [(81, "TCP", [peer(P(X), ANY, False)])],
     note="step 1 of 2: only allow-egress-port-80 exists")
case("should-enforce-multiple-egress-policies-with-egress-allow-all-policy-taking-precedence--step-2",
     "should enforce multiple egress policies with egress allow-all policy taking precedence", C,
     [pol("allow-egress-port-80", X, {}, egress=[{"ports": [{"port": 80}]}]),
      pol("allow-egress", X, {}, egress=[{}])],
     [(81, "TCP", [])],
     note="step 2 of 2: allow-egress (allow-all) added")

case("should-stop-enforcing-policies-after-they-are-deleted--step-1",
     "should stop enforcing policies after they are deleted", C,
     [pol("deny-all", X, {}, ingress=[], egress=[])],
     [(80, "TCP", [peer(P(X), ANY, False), peer(ANY, P(X), False)])],
     note="step 1 of 2: deny-all in x")
case("should-stop-enforcing-policies-after-they-are-deleted--step-2",
     "should stop enforcing policies after they are deleted", C,
     [],
     [(80, "TCP", [])],
     note="step 2 of 2: all policies deleted (k8s.cleanNetworkPolicies); policies.yaml is intentionally empty")

case("should-allow-egress-access-to-server-in-cidr-block",
     "should allow egress access to server in CIDR block", C,
     [pol("allow-client-a-via-cidr-egress-rule", X, POD_A, egress=[{"to": [{"ipBlock": {"cidr": ip("y/b") + "/32"}}]}])],
     [(80, "TCP", [egress("x/a", False), expect("x/a", "y/b", True)])],
     note="CIDR is pod y/b's status.podIP + /32, as upstream computes it")

EXCEPT_POL = pol("allow-client-a-via-cidr-egress-rule", X, POD_A, egress=[{"to": [{"ipBlock": {
    "cidr": ip("x/a") + "/4", "except": [ip("x/b") + "/32"]}}]}])
case("should-enforce-except-clause-while-egress-access-to-server-in-cidr-block",
     "should enforce except clause while egress access to server in CIDR block", C,
     [EXCEPT_POL],
     [(80, "TCP", [expect("x/a", "x/b", False)])],
     note="cidr is x/a's podIP + \"/4\" verbatim (host bits set, NOT canonical: it means 0.0.0.0/4); except is x/b's podIP/32")

case("should-ensure-an-ip-overlapping-both-ipblock-cidr-and-ipblock-except-is-allowed--step-1",
     "should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed", C,
     [EXCEPT_POL],
     [(80, "TCP", [expect("x/a", "x/b", False)])],
     note="step 1 of 2: cidr x/a-IP/4 (non-canonical, = 0.0.0.0/4) except x/b-IP/32")
case("should-ensure-an-ip-overlapping-both-ipblock-cidr-and-ipblock-except-is-allowed--step-2",
     "should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed", C,
     [pol("allow-client-a-via-cidr-egress-rule", X, POD_A, egress=[{"to": [{"ipBlock": {"cidr": ip("x/b") + "/32"}}]}])],
     [(80, "TCP", [egress("x/a", False), expect("x/a", "x/b", True)])],
     note="step 2 of 2: UpdatePolicy replaces the policy (same name) with egress to x/b-IP/32 only")

case("should-enforce-policies-to-check-ingress-and-egress-policies-can-be-controlled-independently-based-on-podselector--step-1",
     "should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector", C,
     [pol("allow-egress-for-target", X, POD_A, egress=[{}])],
     [(80, "TCP", [])],
     note="step 1 of 2: allow-egress-for-target only")
case("should-enforce-policies-to-check-ingress-and-egress-policies-can-be-controlled-independently-based-on-podselector--step-2",
     "should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector", C,
     [pol("allow-egress-for-target", X, POD_A, egress=[{}]),
      pol("deny-ingress-via-label-selector", X, POD_A, ingress=[])],
     [(80, "TCP", [ingress("x/a", False)])],
     note="step 2 of 2: deny-ingress-via-label-selector added")

case("should-not-mistakenly-treat-protocol-sctp-as-protocol-tcp-even-if-the-plugin-doesnt-support-sctp",
     "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP", C,
     [pol("deny-ingress", X, {}, ingress=[]),
      pol("allow-only-sctp-ingress-on-port-81", X, POD_A, ingress=[{"ports": [{"port": 81, "protocol": "SCTP"}]}])],
     [(81, "TCP", [peer(ANY, P(X), False)])])

case("should-properly-isolate-pods-that-are-selected-by-a-policy-allowing-sctp-even-if-the-plugin-doesnt-support-sctp",
     "should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP", C,
     [pol("allow-only-sctp-ingress-on-port-80", X, POD_A, ingress=[{"ports": [{"port": 80, "protocol": "SCTP"}]}])],
     [(81, "TCP", [ingress("x/a", False)])])

case("should-not-allow-access-by-tcp-when-a-policy-specifies-only-udp",
     "should not allow access by TCP when a policy specifies only UDP", C,
     [pol("allow-only-udp-ingress-on-port-81", X, POD_A, ingress=[{"ports": [{"port": 81, "protocol": "UDP"}]}])],
     [(81, "TCP", [ingress("x/a", False)])])

case("should-enforce-policy-to-allow-traffic-based-on-namespaceselector-with-matchlabels-using-default-ns-label",
     "should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label", C,
     [pol("allow-client-a-via-ns-selector-for-immutable-ns-label", X, POD_A,
          ingress=[{"from": [{"namespaceSelector": mlk({KEY: Y})}]}])],
     [(80, "TCP", [peer(P(X), P(X, "a"), False), peer(P(Z), P(X, "a"), False)])])

case("should-enforce-policy-based-on-namespaceselector-with-matchexpressions-using-default-ns-label",
     "should enforce policy based on NamespaceSelector with MatchExpressions using default ns label", C,
     [pol("allow-ns-y-match-selector-for-immutable-ns-label", X, POD_A,
          egress=[{"to": [{"namespaceSelector": expr(KEY, "NotIn", [Y])}]}])],
     [(80, "TCP", [peer(P(X, "a"), P(Y), False)])])

# ============ UDP and SCTP contexts ============
for proto, ctx in (("UDP", 'Netpol [LinuxOnly] NetworkPolicy between server and client using UDP'),
                   ("SCTP", 'Netpol [Feature:SCTPConnectivity] [LinuxOnly] NetworkPolicy between server and client using SCTP')):
    pre = proto.lower() + "-"
    case(pre + "should-support-a-default-deny-ingress-policy",
         "should support a 'default-deny-ingress' policy", ctx,
         [pol("deny-all", X, {}, ingress=[])],
         [(80, proto, [peer(ANY, P(X), False)])])
    case(pre + "should-enforce-policy-based-on-ports",
         "should enforce policy based on Ports", ctx,
         [pol("allow-ingress-on-port-81-ns-x", X, POD_A, ingress=[{"from": [{"namespaceSelector": mlk({KEY: Y})}],
                                                                  "ports": [{"port": 81, "protocol": proto}]}])],
         [(81, proto, [peer(P(X), P(X, "a"), False), peer(P(Z), P(X, "a"), False)])])
    ns_and_pod_case(pre, ctx, proto)


# ----------------------------------------------------------------------------
# Independent check: a direct NetworkPolicy evaluator over the model.
def sel_match(sel, labels):
    if sel is None:
        return True
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        op, k, vals = e["operator"], e["key"], e.get("values", [])
        if op == "In" and labels.get(k) not in vals: return False
        if op == "NotIn" and k in labels and labels[k] in vals: return False
        if op == "Exists" and k not in labels: return False
        if op == "DoesNotExist" and k in labels: return False
    return True

import ipaddress
def ns_labels(ns): return {"ns": ns, KEY: ns}
def pod_labels(pod): return {"pod": pod.split("/")[1]}
def container_ports():
    return [(f"serve-{p}-{pr.lower()}", p, pr) for p in (80, 81) for pr in ("TCP", "UDP", "SCTP")]

def peer_match(pe, policy_ns, other):
    if "ipBlock" in pe:
        a = ipaddress.ip_address(ip(other))
        net = ipaddress.ip_network(pe["ipBlock"]["cidr"], strict=False)
        if a not in net: return False
        return not any(a in ipaddress.ip_network(e, strict=False) for e in pe["ipBlock"].get("except", []))
    ons = other.split("/")[0]
    if "namespaceSelector" in pe:
        if not sel_match(pe["namespaceSelector"], ns_labels(ons)): return False
    elif ons != policy_ns:
        return False
    return sel_match(pe.get("podSelector"), pod_labels(other))

def port_match(ports, dst, port, proto):
    if not ports: return True
    for pp in ports:
        pr = pp.get("protocol", "TCP")
        if pr != proto: continue
        if "port" not in pp: return True
        p = pp["port"]
        if isinstance(p, str):
            if any(n == p and cp == port and cpr == proto for n, cp, cpr in container_ports()): return True
        elif p <= port <= pp.get("endPort", p):
            return True
    return False

def direction_allows(policies, pod, other, port, proto, direction):
    key, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    ns = pod.split("/")[0]
    selecting = [p for p in policies if p["metadata"]["namespace"] == ns
                 and direction in p["spec"]["policyTypes"] and sel_match(p["spec"]["podSelector"], pod_labels(pod))]
    if not selecting: return True
    for p in selecting:
        for rule in p["spec"].get(key) or []:
            pl = rule.get(peers)
            if pl and not any(peer_match(pe, ns, other) for pe in pl): continue
            if port_match(rule.get("ports"), pod if direction == "Ingress" else other, port, proto): return True
    return False

def evaluate(policies, port, proto):
    return {f: {t: direction_allows(policies, f, t, port, proto, "Egress") and
                   direction_allows(policies, t, f, port, proto, "Ingress") for t in ALL} for f in ALL}


def write_model(out):
    docs = []
    for n in NS:
        docs.append({"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": n, "labels": {"ns": n, KEY: n}}})
    for n in NS:
        for p in PODS:
            containers = []
            for port in (80, 81):
                for proto in ("TCP", "UDP", "SCTP"):
                    containers.append({
                        "name": f"cont-{port}-{proto.lower()}",
                        "image": "registry.k8s.io/e2e-test-images/agnhost",
                        "ports": [{"containerPort": port, "name": f"serve-{port}-{proto.lower()}", "protocol": proto}],
                    })
            docs.append({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": p, "namespace": n, "labels": {"pod": p}},
                         "spec": {"containers": containers},
                         "status": {"phase": "Running", "podIP": ip(f"{n}/{p}"), "podIPs": [{"ip": ip(f"{n}/{p}")}]}})
    head = ("# The upstream Kubernetes e2e NetworkPolicy model (test/e2e/network/netpol/model.go):\n"
            "# namespaces x, y, z labelled ns=<name> (+ the automatic kubernetes.io/metadata.name),\n"
            "# pods a, b, c in each labelled pod=<name>; one container per (port, protocol) named\n"
            "# cont-<port>-<proto> exposing a container port named serve-<port>-<proto>.\n"
            "# Pod IPs are 10.244.<ns>.<pod> with x=1, y=2, z=3 and a=1, b=2, c=3.\n")
    with open(os.path.join(out, "model.yaml"), "w") as fh:
        fh.write(head + "---\n" + "---\n".join(yaml.dump(d, Dumper=Dumper, sort_keys=False) for d in docs))

def main(out):
    write_model(out)
    problems = 0
    for c in CASES:
        d = os.path.join(out, c["slug"])
        os.makedirs(d, exist_ok=True)
        header = [f"# upstream: {UPSTREAM_FILE}",
                  f"# upstream: Describe/Context: {c['ctx']}",
                  f"# upstream: It(\"{c['it']}\")"]
        if c["note"]:
            header.append(f"# note: {c['note']}")
        body = "---\n".join(yaml.dump(p, Dumper=Dumper, sort_keys=False, default_flow_style=False) for p in c["policies"])
        with open(os.path.join(d, "policies.yaml"), "w") as fh:
            fh.write("\n".join(header) + "\n")
            if body:
                fh.write("---\n" + body)
        with open(os.path.join(d, "expected.txt"), "w") as fh:
            fh.write("\n".join(render(port, proto, table(ops)) for port, proto, ops in c["probes"]))
        for port, proto, ops in c["probes"]:
            exp, got = table(ops), evaluate(c["policies"], port, proto)
            for f in ALL:
                for t in ALL:
                    if exp[f][t] != got[f][t]:
                        problems += 1
                        print(f"MISMATCH {c['slug']} {port}/{proto} {f}->{t}: upstream={exp[f][t]} semantic={got[f][t]}")
    print(f"{len(CASES)} cases, {problems} mismatches between upstream tables and direct evaluation")

if __name__ == "__main__":
    main(sys.argv[1])
