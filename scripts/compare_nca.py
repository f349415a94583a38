#!/usr/bin/env python3
"""Differential comparison of `palisade connectivity` against NCA on NCA's k8s test corpus.

Run through scripts/compare-nca.sh, which provides NCA (and this interpreter, whose only
non-standard import is PyYAML, a dependency of NCA itself) and a built palisade binary.

For every networkConfig of every `*-scheme.yaml` in the corpus, the namespace, pod and
policy inputs are resolved the way NCA resolves them (config keys, then resourceList,
then the scheme's global lists), and both tools run on exactly those inputs:

    nca --connectivity POLICIES --ns_list NS --pod_list PODS -o txt_no_fw_rules
        --output_endpoints pods --print_ipv6
    palisade connectivity FILES --level pod -o json

Both outputs are normalized to (src, dst) -> {protocol: port intervals} over TCP/UDP/SCTP;
pod <-> IP connections are compared as functions from addresses to port sets, so range
spelling (CIDR vs a-b, merged vs split) does not matter.  Normalizations (see
docs/nca-comparison.md): NCA's stand-in `*-livesim` pods are dropped; NCA's generated
workload pods `ns/name-1`, `ns/name-2` map to Palisade's representative pod `ns/name`;
only pods both tools model are compared (NCA keeps at most 2 isomorphic replicas); NCA's
IPv6 rows are dropped when Palisade did not partition IPv6 (no IPv6 in the input).
"""

import argparse
import copy
import ipaddress
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict

import yaml  # PyYAML: installed with NCA

PROTOCOLS = ("TCP", "UDP", "SCTP")
FULL = ((1, 65535),)
ALL_PORTS = {p: FULL for p in PROTOCOLS}

NS_KINDS = {"Namespace"}
POD_KINDS = {
    "Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob",
    "ReplicationController", "Service",
}
POLICY_KINDS = {"NetworkPolicy"}
# Policy-like objects NCA evaluates and Palisade does not (a config using them is skipped).
FOREIGN_POLICY_API = (
    "projectcalico.org", "security.istio.io", "networking.istio.io", "route.openshift.io",
    "gateway.networking.k8s.io", "policy.networking.k8s.io",
)
FOREIGN_POLICY_KINDS = {"Ingress", "GlobalNetworkPolicy", "GlobalNetworkSet", "NetworkSet",
                        "HostEndpoint", "Profile", "AdminNetworkPolicy",
                        "BaselineAdminNetworkPolicy"}


# ---------------------------------------------------------------- inputs

def yaml_files(entry):
    """Files NCA reads for one list entry (a file, a dir, or `dir/**` for recursion)."""
    recursive = entry.endswith("**")
    path = entry[:-2] if recursive else entry
    if os.path.isfile(path):
        return [path]
    out = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for f in sorted(files):
            if os.path.splitext(f)[1] in (".yaml", ".yml", ".json"):
                out.append(os.path.join(root, f))
        if not recursive:
            break
    return out


_DOC_CACHE = {}


def documents(path):
    """Top-level objects of a file, `List` items flattened; None if PyYAML cannot read it."""
    if path not in _DOC_CACHE:
        try:
            with open(path, encoding="utf-8") as f:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
        except Exception:  # noqa: BLE001 - a bad file is a finding, not a crash
            _DOC_CACHE[path] = None
            return None
        flat = []
        for d in docs:
            if isinstance(d, dict) and isinstance(d.get("items"), list) and str(
                    d.get("kind", "")).endswith("List"):
                # kubectl's typed lists (PodList, ...) may leave `kind` out of their items
                item_kind = d["kind"][:-4] if d["kind"] != "List" else None
                for i in d["items"]:
                    if isinstance(i, dict):
                        flat.append(i if "kind" in i or not item_kind else dict(i, kind=item_kind))
            else:
                flat.append(d)
        _DOC_CACHE[path] = flat
    return _DOC_CACHE[path]


def kind_of(doc):
    return doc.get("kind") if isinstance(doc, dict) else None


def is_foreign_policy(doc):
    if not isinstance(doc, dict):
        return False
    api = str(doc.get("apiVersion", ""))
    return doc.get("kind") in FOREIGN_POLICY_KINDS or any(api.startswith(a) for a in FOREIGN_POLICY_API)


def has_kind(entries, kinds):
    for e in entries or []:
        for f in yaml_files(e):
            for d in documents(f) or []:
                if kind_of(d) in kinds and not is_foreign_policy(d):
                    return True
    return False


def resolve(scheme_dir, scheme, cfg):
    """NCA's resolution of a config's inputs -> (ns, pods, policies) lists of paths, or a skip reason."""
    def lst(value):
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        out = []
        for v in value:
            if v.startswith("http://") or v.startswith("https://"):
                raise SkipCase(f"remote input {v}")
            star = v.endswith("**")
            base = v[:-2] if star else v
            p = os.path.normpath(os.path.join(scheme_dir, base)) if base else scheme_dir
            if not os.path.exists(p):
                raise SkipCase(f"missing input {v}")
            out.append(p + ("/**" if star else ""))
        return out

    c_ns, c_pods, c_res = lst(cfg.get("namespaceList")), lst(cfg.get("podList")), lst(cfg.get("resourceList"))
    c_np = lst(cfg.get("networkPolicyList"))
    g_ns, g_pods, g_res = lst(scheme.get("namespaceList")), lst(scheme.get("podList")), lst(scheme.get("resourceList"))

    def pick(specific, kinds, glob):
        if specific:
            return specific
        if c_res and has_kind(c_res, kinds):
            return c_res
        for g in (glob, g_res):
            if g:
                return g
        return c_res or []

    ns = pick(c_ns, NS_KINDS, g_ns)
    pods = pick(c_pods, POD_KINDS - {"Service"}, g_pods)
    np = c_np if c_np is not None else (c_res or [])
    return ns, pods, np


class SkipCase(Exception):
    pass


def pod_specs(doc):
    spec = doc.get("spec") if isinstance(doc, dict) else None
    if not isinstance(spec, dict):
        return []
    if doc.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
    if doc.get("kind") != "Pod":
        spec = ((spec.get("template") or {}).get("spec") or {}) if isinstance(spec, dict) else {}
    return [spec] if isinstance(spec, dict) else []


def fix_up(doc):
    """Comparison-only repair of a known corpus defect: `ports: {}` (an empty mapping where the
    API has a list) in containers. The API server rejects it and so does Palisade (reported
    separately as a load failure); NCA reads it as "no ports". Returns True if `doc` changed."""
    changed = False
    for spec in pod_specs(doc):
        for c in spec.get("containers") or []:
            if isinstance(c, dict) and c.get("ports") == {}:
                del c["ports"]
                changed = True
    return changed


def host_network_pods(entries):
    """`ns/name` of pods (and workload templates) with hostNetwork: true."""
    out = set()
    for e in entries:
        for f in yaml_files(e):
            for d in documents(f) or []:
                if kind_of(d) in POD_KINDS and any(sp.get("hostNetwork") is True for sp in pod_specs(d)):
                    md = d.get("metadata") or {}
                    out.add(f"{md.get('namespace') or 'default'}/{md.get('name')}")
    return out


def palisade_inputs(roles, tmpdir):
    """Files for Palisade: the original file when every object in it is of a kind its role(s)
    read, else a filtered copy (e.g. a pod-list directory that also holds policies)."""
    wanted = defaultdict(set)
    for entries, kinds in roles:
        for e in entries:
            for f in yaml_files(e):
                wanted[f] |= kinds
    files, filtered, foreign, fixed = [], [], set(), []
    for f in sorted(wanted):
        docs = documents(f)
        kinds = wanted[f]
        if docs is None:
            files.append(f)  # let palisade report it
            continue
        if POLICY_KINDS & kinds:
            foreign |= {f"{kind_of(d)} ({d.get('apiVersion')})" for d in docs if is_foreign_policy(d)}
        keep = [d for d in docs if kind_of(d) in kinds and not is_foreign_policy(d)]
        if not keep:
            continue
        repaired = False
        if POD_KINDS & kinds:
            keep = copy.deepcopy(keep)  # fix_up edits a copy
            repaired = any([fix_up(d) for d in keep])
        if repaired:
            fixed.append(f)
        if len(keep) == len(docs) and not repaired:
            files.append(f)
        else:
            out = os.path.join(tmpdir, f"filtered-{len(filtered)}-{os.path.basename(f)}")
            out = os.path.splitext(out)[0] + ".json"
            with open(out, "w", encoding="utf-8") as fh:
                json.dump({"apiVersion": "v1", "kind": "List", "items": keep}, fh, default=str)
            files.append(out)
            if len(keep) != len(docs):
                filtered.append(f)
    return files, filtered, sorted(foreign), fixed


# ---------------------------------------------------------------- port sets

def norm_intervals(iv):
    iv = sorted(iv)
    out = []
    for lo, hi in iv:
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def subtract(a, b):
    out = []
    for lo, hi in a:
        cur = [(lo, hi)]
        for blo, bhi in b:
            nxt = []
            for clo, chi in cur:
                if bhi < clo or blo > chi:
                    nxt.append((clo, chi))
                    continue
                if clo < blo:
                    nxt.append((clo, blo - 1))
                if bhi < chi:
                    nxt.append((bhi + 1, chi))
            cur = nxt
        out.extend(cur)
    return norm_intervals(out)


def canon(ps):
    """{proto: intervals} -> hashable, empty protocols dropped."""
    return tuple((p, norm_intervals(ps[p])) for p in PROTOCOLS if ps.get(p))


def parse_ports(text):
    iv = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        iv.append((int(lo), int(hi or lo)))
    return iv


CUBE_KEY = re.compile(r",(?=[a-z_]+:)")


def parse_nca_conn(text):
    text = text.strip()
    if text == "All connections":
        return canon(ALL_PORTS)
    if text == "No connections":
        return ()
    negate = text.startswith("All but ")
    if negate:
        text = text[len("All but "):]
    got = defaultdict(list)
    for cube in re.findall(r"\{([^}]*)\}", text):
        fields = dict(kv.split(":", 1) for kv in CUBE_KEY.split(cube))
        extra = set(fields) - {"protocols", "dst_ports"}
        if extra:
            raise ValueError(f"unsupported NCA dimension(s) {sorted(extra)} in {text!r}")
        protos = [p.strip().upper() for p in fields.get("protocols", ",".join(PROTOCOLS)).split(",")]
        ports = parse_ports(fields["dst_ports"]) if "dst_ports" in fields else list(FULL)
        for p in protos:
            if p in PROTOCOLS:
                got[p].extend(ports)
    if negate:
        return canon({p: subtract(FULL, norm_intervals(got[p])) for p in PROTOCOLS})
    return canon(got)


def parse_palisade_allowed(allowed):
    got = defaultdict(list)
    for a in allowed:
        got[a["protocol"].upper()].extend(parse_ports(str(a["ports"])))
    return canon(got)


def show(ps):
    if ps == canon(ALL_PORTS):
        return "All"
    if not ps:
        return "none"
    return ";".join(f"{p} " + ",".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in iv) for p, iv in ps)


# ---------------------------------------------------------------- addresses

def parse_ip_peer(text):
    """An IP peer as (family, lo, hi), or None when `text` names a pod."""
    text = text.strip()
    try:
        if "/" in text:
            net = ipaddress.ip_network(text, strict=False)
            return (net.version, int(net.network_address), int(net.broadcast_address))
        if "-" in text and (":" in text or text[0].isdigit()):
            a, b = text.split("-", 1)
            lo, hi = ipaddress.ip_address(a), ipaddress.ip_address(b)
            return (lo.version, int(lo), int(hi))
        ip = ipaddress.ip_address(text)
        return (ip.version, int(ip), int(ip))
    except ValueError:
        return None


def fmt_range(fam, lo, hi):
    mk = ipaddress.IPv4Address if fam == 4 else ipaddress.IPv6Address
    try:
        nets = list(ipaddress.summarize_address_range(mk(lo), mk(hi)))
        if len(nets) == 1:
            return str(nets[0])
    except ValueError:
        pass
    return f"{mk(lo)}-{mk(hi)}"


class Conn:
    """Normalized connectivity: pod pairs and per-(pod, direction) address functions."""

    def __init__(self):
        self.pairs = {}                     # (src, dst) -> portset
        self.ext = defaultdict(list)        # (pod, 'in'|'out', fam) -> [(lo, hi, portset)]
        self.pods = set()
        self.conflicts = []

    def add(self, src, dst, ps, union_rows=False):
        """`union_rows`: NCA prints one row per distinct property set, so one pair can have
        several rows whose port sets add up."""
        s_ip, d_ip = parse_ip_peer(src), parse_ip_peer(dst)
        if s_ip and d_ip:
            return
        if s_ip or d_ip:
            pod, ip, way = (dst, s_ip, "in") if s_ip else (src, d_ip, "out")
            self.pods.add(pod)
            self.ext[(pod, way, ip[0])].append((ip[1], ip[2], ps))
            return
        self.pods.update((src, dst))
        if src == dst:
            return
        old = self.pairs.get((src, dst))
        if old is not None and union_rows:
            ps = union(old, ps)
        elif old is not None and old != ps:
            self.conflicts.append((src, dst, old, ps))
            ps = intersect(old, ps)
        self.pairs[(src, dst)] = ps

    def has_v6(self):
        return any(k[2] == 6 for k in self.ext)


def intersect(a, b):
    da, db = dict(a), dict(b)
    out = {}
    for p in PROTOCOLS:
        iv = []
        for lo, hi in da.get(p, ()):
            for blo, bhi in db.get(p, ()):
                if max(lo, blo) <= min(hi, bhi):
                    iv.append((max(lo, blo), min(hi, bhi)))
        out[p] = iv
    return canon(out)


def segments(entries, fam):
    """Piecewise function over the whole family's space: [(lo, hi, portset)], gaps = ()."""
    top = 2 ** 32 - 1 if fam == 4 else 2 ** 128 - 1
    cuts = {0, top + 1}
    for lo, hi, _ in entries:
        cuts.update((lo, hi + 1))
    cuts = sorted(cuts)
    out = []
    for a, b in zip(cuts, cuts[1:]):
        ps = ()
        for lo, hi, p in entries:
            if lo <= a and b - 1 <= hi:
                ps = p if not ps else union(ps, p)
        out.append((a, b - 1, ps))
    return out


def union(a, b):
    da, db = dict(a), dict(b)
    return canon({p: list(da.get(p, ())) + list(db.get(p, ())) for p in PROTOCOLS})


def compare_ext(a_entries, b_entries, fam):
    """Ranges where the two functions differ, merged: [(lo, hi, a_ps, b_ps)]."""
    sa, sb = segments(a_entries, fam), segments(b_entries, fam)
    cuts = sorted({s[0] for s in sa} | {s[0] for s in sb} | {2 ** (32 if fam == 4 else 128)})
    out = []

    def at(seg, x):
        for lo, hi, ps in seg:
            if lo <= x <= hi:
                return ps
        return ()

    for a, b in zip(cuts, cuts[1:]):
        pa, pb = at(sa, a), at(sb, a)
        if pa != pb:
            if out and out[-1][1] == a - 1 and out[-1][2] == pa and out[-1][3] == pb:
                out[-1] = (out[-1][0], b - 1, pa, pb)
            else:
                out.append((a, b - 1, pa, pb))
    return out


# ---------------------------------------------------------------- tools

def run(cmd, timeout=600):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def nca_args(entries):
    """The CLI does not take NCA's `dir/**` scheme syntax: pass the files it stands for."""
    out = []
    for e in entries:
        out += yaml_files(e) if e.endswith("**") else [e]
    return out


def nca_conn(nca, ns, pods, np):
    ns, pods, np = nca_args(ns), nca_args(pods), nca_args(np)
    cmd = [nca]
    for p in np:
        cmd += ["--connectivity", p]
    for n in ns:
        cmd += ["--ns_list", n]
    for p in pods:
        cmd += ["--pod_list", p]
    cmd += ["-o", "txt_no_fw_rules", "--output_endpoints", "pods", "--print_ipv6"]
    r = run(cmd)
    lines = [l for l in r.stdout.splitlines() if " => " in l and " : " in l]
    if r.returncode != 0 and not lines:
        raise ToolFailure("nca", cmd, r)
    conn = Conn()
    livesim = 0
    for line in lines:
        peers, _, conn_text = line.partition(" : ")
        src, _, dst = peers.partition(" => ")
        if src.endswith("-livesim") or dst.endswith("-livesim"):
            livesim += 1
            continue
        conn.add(src.strip(), dst.strip(), parse_nca_conn(conn_text), union_rows=True)
    return conn, livesim, r


def palisade_conn(palisade, files, keep_going=False):
    cmd = [palisade, "connectivity", "-v", "--level", "pod", "-o", "json", "--color", "never"]
    cmd += (["--keep-going"] if keep_going else []) + files
    r = run(cmd)
    if r.returncode not in (0, 2) or (r.returncode == 0 and not r.stdout.strip()):
        raise ToolFailure("palisade", cmd, r)
    if r.returncode == 2 and not (keep_going and r.stdout.strip()):
        return None, r
    data = json.loads(r.stdout)
    conn = Conn()
    for c in data["connections"]:
        conn.add(c["src"], c["dst"], parse_palisade_allowed(c["allowed"]))
    return conn, r


class ToolFailure(Exception):
    def __init__(self, tool, cmd, r):
        super().__init__(f"{tool} failed (exit {r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:]}")


def errors(stderr):
    """[(message, file, line)] of Palisade's error diagnostics."""
    out, msg = [], None
    for line in stderr.splitlines():
        if line.startswith("error:") or line.startswith("error["):
            msg = line.split(":", 1)[1].strip()
        elif msg and line.strip().startswith("--> "):
            loc = line.strip()[4:]
            path, ln = loc.rsplit(":", 2)[0], loc.rsplit(":", 2)[1]
            out.append((msg, path, ln))
            msg = None
    return out


def skipped_kinds(stderr):
    return [l.split(":", 1)[1].strip() for l in stderr.splitlines() if l.startswith("info: skipped")]


CORPUS_PREFIX = ""


def first_error(stderr):
    stderr = stderr.replace(CORPUS_PREFIX, "") if CORPUS_PREFIX else stderr
    lines = [l for l in stderr.splitlines() if l.startswith("error")]
    locs = [l.strip()[4:] for l in stderr.splitlines() if l.strip().startswith("--> ")]
    if not lines:
        return stderr.strip().splitlines()[0] if stderr.strip() else "?"
    return f"{lines[0]} at {locs[0] if locs else '?'}" + (f" (+{len(lines) - 1} more)" if len(lines) > 1 else "")


# ---------------------------------------------------------------- comparison

GEN_POD = re.compile(r"^(.*)-(\d+)$")


def compare(nca, pal, nca_universe, pal_universe):
    """-> (diff lines, notes)."""
    notes = []
    # NCA pod name -> Palisade pod name
    def mapname(n):
        if n in pal_universe:
            return n
        m = GEN_POD.match(n)
        if m and m.group(1) in pal_universe:
            return m.group(1)
        return None

    mapped_universe = {mapname(n) for n in nca_universe} - {None}
    only_pal = sorted(pal_universe - mapped_universe)
    only_nca = sorted(n for n in nca_universe if mapname(n) is None)
    if only_pal:
        notes.append(f"{len(only_pal)} pod(s) only Palisade models (not compared): {', '.join(only_pal[:6])}"
                     + (" ..." if len(only_pal) > 6 else ""))
    if only_nca:
        notes.append(f"{len(only_nca)} pod(s) only NCA models (not compared): {', '.join(only_nca[:6])}"
                     + (" ..." if len(only_nca) > 6 else ""))
    common = mapped_universe

    a = Conn()  # NCA, renamed
    for (s, d), ps in nca.pairs.items():
        ms, md = mapname(s), mapname(d)
        if ms and md:
            a.add(ms, md, ps)
    for (pod, way, fam), entries in nca.ext.items():
        mp = mapname(pod)
        if mp:
            a.ext[(mp, way, fam)].extend(entries)
    for s, d, old, new in a.conflicts:
        notes.append(f"NCA replicas of one Palisade pod disagree: {s} => {d}: {show(old)} vs {show(new)}")

    dropped_v6 = 0
    if not pal.has_v6():
        for k in [k for k in a.ext if k[2] == 6]:
            dropped_v6 += 1
            del a.ext[k]
        if dropped_v6:
            notes.append("IPv6 not compared (no IPv6 in the input: Palisade does not partition it)")

    diffs = []
    for key in sorted(set(a.pairs) | set(pal.pairs)):
        if key[0] not in common or key[1] not in common:
            continue
        pa, pb = a.pairs.get(key, ()), pal.pairs.get(key, ())
        if pa != pb:
            diffs.append(("pod", key[0], key[1], pa, pb))
    for key in sorted(set(a.ext) | set(pal.ext)):
        pod, way, fam = key
        if pod not in common:
            continue
        for lo, hi, pa, pb in compare_ext(a.ext.get(key, []), pal.ext.get(key, []), fam):
            rng = fmt_range(fam, lo, hi)
            src, dst = (rng, pod) if way == "in" else (pod, rng)
            diffs.append(("ip", src, dst, pa, pb))
    return diffs, notes


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--nca", required=True)
    ap.add_argument("--palisade", required=True)
    ap.add_argument("--only", help="substring filter on case ids")
    ap.add_argument("--max-pairs", type=int, default=20, help="differing pairs printed per case")
    ap.add_argument("--json", help="also write the full results here")
    args = ap.parse_args()

    corpus = os.path.abspath(args.corpus)
    global CORPUS_PREFIX
    CORPUS_PREFIX = corpus + os.sep
    schemes = []
    for root, dirs, files in os.walk(corpus):
        dirs.sort()
        schemes += [os.path.join(root, f) for f in sorted(files) if f.endswith("-scheme.yaml")]

    tmp = tempfile.TemporaryDirectory(prefix="compare-nca-")
    empty = os.path.join(tmp.name, "empty-policies.yaml")
    open(empty, "w").close()
    results = []
    universes = {}

    def rel(p):
        return os.path.relpath(p, corpus)

    for scheme_path in schemes:
        with open(scheme_path, encoding="utf-8") as f:
            scheme = yaml.safe_load(f)
        for cfg in scheme.get("networkConfigList") or []:
            cid = f"{rel(scheme_path)}:{cfg.get('name')}"
            if args.only and args.only not in cid:
                continue
            res = {"case": cid, "status": None, "notes": [], "diffs": []}
            results.append(res)
            try:
                ns, pods, np = resolve(os.path.dirname(scheme_path), scheme, cfg)
                if not pods:
                    raise SkipCase("no pod input")
                files, filtered, foreign, fixed = palisade_inputs(
                    [(ns, NS_KINDS), (pods, POD_KINDS), (np, POLICY_KINDS)], tmp.name)
                if filtered:
                    res["notes"].append("filtered for Palisade (objects outside the file's role dropped): "
                                        + ", ".join(rel(f) for f in filtered))
                if fixed:
                    res["notes"].append("input fix-up for Palisade (`ports: {}` dropped): "
                                        + ", ".join(rel(f) for f in fixed))
                if cfg.get("expectedError") == 1:
                    # a deliberately bad input: NCA must reject it; does Palisade?
                    _, r = palisade_conn(args.palisade, files)
                    res["status"] = "bad-input"
                    np_files = {os.path.abspath(f) for e in np for f in yaml_files(e)}
                    errs = [e for e in errors(r.stderr) if os.path.abspath(e[1]) in np_files]
                    res["palisade_rejects"] = bool(errs)
                    res["palisade_error"] = (f"{errs[0][0]} at {rel(errs[0][1])}:{errs[0][2]}"
                                             + (f" (+{len(errs) - 1} more)" if len(errs) > 1 else "")
                                             if errs else "")
                    res["skipped_kinds"] = skipped_kinds(r.stderr)
                    if not errs:
                        lint = run([args.palisade, "lint", "--color", "never"] + sorted(np_files))
                        res["lint_errors"] = sorted(set(re.findall(r"^error\[(NP\d+)\]", lint.stdout + lint.stderr, re.M)))
                    res["inputs"] = [rel(f) for f in np]
                    continue
                if foreign:
                    raise SkipCase("uses policy kinds Palisade does not evaluate: " + ", ".join(foreign))
                pal, r = palisade_conn(args.palisade, files)
                if pal is None:
                    res["notes"].append("Palisade load errors (compared with --keep-going): "
                                        + first_error(r.stderr))
                    res["load_error"] = first_error(r.stderr)
                    pal, r = palisade_conn(args.palisade, files, keep_going=True)
                topo_key = (tuple(ns), tuple(pods))
                if topo_key not in universes:
                    topo_files, _, _, _ = palisade_inputs([(ns, NS_KINDS), (pods, POD_KINDS)], tmp.name)
                    u_nca, _, _ = nca_conn(args.nca, ns, pods, [empty])
                    u_pal, _ = palisade_conn(args.palisade, topo_files, keep_going=True)
                    universes[topo_key] = (u_nca.pods, u_pal.pods)
                nca, livesim, nr = nca_conn(args.nca, ns, pods, np or [empty])
                if livesim:
                    res["notes"].append(f"{livesim} NCA row(s) with a *-livesim stand-in pod dropped")
                u_nca, u_pal = universes[topo_key]
                diffs, notes = compare(nca, pal, u_nca | nca.pods, u_pal | pal.pods)
                res["notes"] += notes
                host = host_network_pods(pods)
                res["diffs"] = [
                    {"kind": k, "src": s, "dst": d, "nca": show(a), "palisade": show(b),
                     "class": "hostNetwork" if (s in host or d in host) else "unexplained"}
                    for k, s, d, a, b in diffs
                ]
                res["status"] = "different" if diffs else "identical"
            except SkipCase as e:
                res["status"] = "skipped"
                res["reason"] = str(e)
            except ToolFailure as e:
                print(f"error: {cid}: {e}", file=sys.stderr)
                sys.exit(3)

    # ------------------------------------------------------------ every input file alone
    load_failures = []
    n_files = 0
    for root, dirs, files in os.walk(corpus):
        dirs.sort()
        if rel(root).split(os.sep)[0] == "expected_output":
            continue
        for fname in sorted(files):
            f = os.path.join(root, fname)
            if fname.endswith("-scheme.yaml") or os.path.splitext(fname)[1] not in (".yaml", ".yml", ".json"):
                continue
            if args.only and args.only not in rel(f):
                continue
            n_files += 1
            r = run([args.palisade, "connectivity", "--level", "pod", "-o", "json", "--color", "never", f])
            if r.returncode != 0:
                errs = errors(r.stderr)
                load_failures.append((rel(f), len(errs), first_error(r.stderr)))

    # ------------------------------------------------------------ report
    by = defaultdict(list)
    for r in results:
        by[r["status"]].append(r)
    compared = by["identical"] + by["different"]
    print("NCA comparison")
    print("==============")
    for r in compared:
        mark = "identical" if r["status"] == "identical" else f"DIFFERENT ({len(r['diffs'])} pair(s))"
        print(f"\n{r['case']}: {mark}")
        for n in r["notes"]:
            print(f"  note: {n}")
        classes = defaultdict(int)
        for d in r["diffs"]:
            classes[d["class"]] += 1
        if classes:
            print("  classes: " + ", ".join(f"{c} {n}" for c, n in sorted(classes.items())))
        for d in r["diffs"][: args.max_pairs]:
            print(f"  [{d['class']}] {d['src']} => {d['dst']}: NCA {d['nca']} | Palisade {d['palisade']}")
        if len(r["diffs"]) > args.max_pairs:
            print(f"  ... {len(r['diffs']) - args.max_pairs} more")
    if by["skipped"]:
        print("\nSkipped:")
        for r in by["skipped"]:
            print(f"  {r['case']}: {r['reason']}")
    if by["bad-input"]:
        print("\nDeliberately bad inputs (NCA expects an error):")
        for r in by["bad-input"]:
            if r["palisade_rejects"]:
                verdict = "rejected: " + r["palisade_error"]
            elif r.get("lint_errors"):
                verdict = "loaded; `palisade lint` errors " + ",".join(r["lint_errors"])
            elif r.get("skipped_kinds"):
                verdict = "not evaluated (" + "; ".join(r["skipped_kinds"]) + ")"
            else:
                verdict = "ACCEPTED by Palisade"
            print(f"  {r['case']}: {verdict}")
    print(f"\nCorpus files Palisade does not load cleanly alone ({len(load_failures)} of {n_files}; "
          "scheme files and expected outputs excluded):")
    for f, n, e in load_failures:
        print(f"  {f}: {n} error(s); first: {e}")
    print("\nSummary")
    print(f"  configs found:   {len(results)}")
    print(f"  compared:        {len(compared)}")
    print(f"  identical:       {len(by['identical'])}")
    print(f"  different:       {len(by['different'])} "
          f"({sum(len(r['diffs']) for r in by['different'])} differing pair/range rows)")
    totals = defaultdict(int)
    for r in by["different"]:
        for d in r["diffs"]:
            totals[d["class"]] += 1
    for c, n in sorted(totals.items()):
        print(f"    class {c}: {n} row(s)")
    print(f"  skipped:         {len(by['skipped'])}")
    rej = sum(1 for r in by["bad-input"] if r["palisade_rejects"])
    lint = sum(1 for r in by["bad-input"] if not r["palisade_rejects"] and r.get("lint_errors"))
    skip = sum(1 for r in by["bad-input"] if not r["palisade_rejects"] and not r.get("lint_errors")
               and r.get("skipped_kinds"))
    print(f"  bad inputs:      {len(by['bad-input'])} (Palisade load rejects {rej}; loads but lint errors {lint}; "
          f"skips as another kind {skip}; accepts {len(by['bad-input']) - rej - lint - skip})")
    loaderr = [r for r in compared if r.get("load_error")]
    print(f"  compared despite Palisade load errors: {len(loaderr)}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
