"""The Spark job gives exactly the answers of ``palisade replay`` on the same flows.

Runs Spark for real (``local[2]``, and ``local-cluster[2,1,1024]``: separate executor JVMs
and a real shuffle), offline, on a generated flow set with reply directions, the same
connection seen from two nodes, drops, timeouts, UDP and external peers, read in small
Arrow batches into many partitions.
"""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import palisade_spark
from palisade_spark import job

REPO = Path(__file__).resolve().parents[3]
PALISADE = os.environ.get("PALISADE_BIN", str(REPO / "target" / "debug" / "palisade"))

PODS = [
    # namespace, name, app, ip, node
    ("shop", "web-1", "web", "10.1.0.1", "node-a"),
    ("shop", "web-2", "web", "10.1.0.2", "node-b"),
    ("shop", "api-1", "api", "10.1.1.1", "node-b"),
    ("shop", "api-2", "api", "10.1.1.2", "node-c"),
    ("shop", "db-1", "db", "10.1.2.1", "node-c"),
    ("ops", "mon-1", "monitor", "10.2.0.1", "node-a"),
]
EXTERNAL = ["203.0.113.7", "198.51.100.9"]

POLICIES = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: api}}}]
    ports: [{port: 5432}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8080}]
"""

# The proposal breaks web -> api:8080 (only 8443 now) and opens monitor -> db:5432.
PROPOSED = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: api}}}]
    ports: [{port: 5432}]
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ops}}}]
    ports: [{port: 5432}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8443}]
"""


def pods_yaml():
    docs = [
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: ops}\n",
    ]
    for ns, name, app, ip, node in PODS:
        docs.append(
            f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}, labels: {{app: {app}}}}}\n"
            f"spec: {{nodeName: {node}, containers: [{{name: c, image: x}}]}}\nstatus: {{podIP: {ip}}}\n"
        )
    return "---\n".join(docs)


SYN, ACK, FIN, RST = 2, 16, 1, 4


def generate_flows(seed=7, connections=600):
    """Hubble flows in the flow schema, in time order."""
    rng = random.Random(seed)
    rows = []
    pod_of = {p[3]: p for p in PODS}

    def row(t, src, dst, sport, dport, proto, flags, node, reply, verdict="FORWARDED",
            direction=None, drop=None, denied=None):
        s, d = pod_of.get(src), pod_of.get(dst)
        rows.append({
            "time_ns": t, "kind": "hubble", "src_ip": src, "dst_ip": dst,
            "src_port": sport, "dst_port": dport, "protocol": proto,
            "tcp_flags": flags if proto == 6 else None,
            "is_reply": reply, "node": node,
            "src_namespace": s[0] if s else None, "src_pod": s[1] if s else None,
            "dst_namespace": d[0] if d else None, "dst_pod": d[1] if d else None,
            "verdict": verdict, "drop_reason": drop,
            "traffic_direction": direction, "ingress_denied_by": denied,
        })

    t0 = 1_790_000_000_000_000_000
    ports = {"web": 8080, "api": 5432, "monitor": 5432}
    for i in range(connections):
        t = t0 + i * 37_000_000 + rng.randrange(1_000_000)
        client = rng.choice(PODS)
        kind = rng.random()
        if kind < 0.1:
            server_ip, server_node = rng.choice(EXTERNAL), None
        else:
            server = rng.choice([p for p in PODS if p != client])
            server_ip, server_node = server[3], server[4]
        src, node = client[3], client[4]
        sport = 30000 + rng.randrange(5000)  # reused often: same 5-tuple later
        dport = rng.choice([ports.get(client[2], 8080), 8080, 5432, 8443, 53])
        udp = dport == 53
        proto = 17 if udp else 6
        outcome = rng.random()
        # The request: seen leaving the client's node, and entering the server's.
        row(t, src, server_ip, sport, dport, proto, SYN, node, False, direction="EGRESS")
        if server_node and server_node != node:
            if outcome < 0.2:
                row(t + 90_000, src, server_ip, sport, dport, proto, SYN, server_node, False,
                    verdict="DROPPED", direction="INGRESS", drop="POLICY_DENIED",
                    denied='[{"kind":"NetworkPolicy","namespace":"shop","name":"db"}]')
                continue
            row(t + 90_000, src, server_ip, sport, dport, proto, SYN, server_node, False,
                direction="INGRESS")
        if outcome < 0.35:
            continue  # forwarded, never answered: timed out (or unknown without replies)
        reply_node = server_node or node
        if outcome < 0.45 and not udp:
            row(t + 200_000, server_ip, src, dport, sport, proto, RST | ACK, reply_node, True)
            continue
        row(t + 200_000, server_ip, src, dport, sport, proto, SYN | ACK, reply_node, True)
        if reply_node != node:
            row(t + 260_000, server_ip, src, dport, sport, proto, SYN | ACK, node, True)
        if not udp:
            row(t + 300_000, src, server_ip, sport, dport, proto, ACK, node, False)
            end = t + rng.randrange(2_000_000, 900_000_000)
            row(end, src, server_ip, sport, dport, proto, FIN | ACK, node, False)
            row(end + 50_000, server_ip, src, dport, sport, proto, FIN | ACK, reply_node, True)
    rows.sort(key=lambda r: r["time_ns"])
    schema = palisade_spark.flow_schema()
    columns = {f.name: [r.get(f.name) for r in rows] for f in schema}
    return pa.Table.from_pydict(columns, schema=schema)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("spark")
    (d / "cluster").mkdir()
    (d / "cluster" / "pods.yaml").write_text(pods_yaml())
    (d / "cluster" / "policies.yaml").write_text(POLICIES)
    (d / "proposed").mkdir()
    (d / "proposed" / "pods.yaml").write_text(pods_yaml())
    (d / "proposed" / "policies.yaml").write_text(PROPOSED)
    table = generate_flows()
    # Small row groups: the job reads many input splits.
    pq.write_table(table, d / "flows.parquet", row_group_size=257)
    return d


def palisade(*args):
    return subprocess.run([PALISADE, *map(str, args)], check=True, capture_output=True)


@pytest.fixture(scope="module")
def expected(workdir):
    """``palisade replay``'s sessions (Parquet) and what-if (JSON)."""
    d = workdir
    palisade("replay", d / "flows.parquet", "--cluster", d / "cluster", "--proposed",
             d / "proposed", "-o", "parquet", "-O", d / "expected.parquet")
    report = json.loads(palisade("replay", d / "flows.parquet", "--cluster", d / "cluster",
                                 "--proposed", d / "proposed", "-o", "json").stdout)
    return pq.read_table(d / "expected.parquet"), report


def rows(table):
    out = [json.dumps(r, sort_keys=True) for r in table.to_pylist()]
    out.sort()
    return out


def whatif_rows(table):
    t = palisade_spark.format_time
    return sorted(
        json.dumps({
            "change": r["change"], "src": r["src"], "dst": r["dst"], "protocol": r["protocol"],
            "port": r["port"], "sessions": r["sessions"],
            "observed": {"accepted": r["accepted"], "refused": r["refused"],
                         "timed-out": r["timed_out"], "unknown": r["unknown"]},
            "first": t(r["first_ns"])[:23] + "Z", "last": t(r["last_ns"])[:23] + "Z",
        }, sort_keys=True)
        for r in table.to_pylist()
    )


def spark_session(master):
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    ivy = Path(os.environ.get("TMPDIR", "/tmp")) / "palisade-spark-ivy"
    return (
        SparkSession.builder.master(master)
        .appName("palisade-spark test")
        .config("spark.jars.ivy", str(ivy))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "16")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "37")
        .config("spark.sql.files.maxPartitionBytes", "16k")
        .config("spark.executor.memory", "512m")
        .config("spark.driver.memory", "1g")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )


@pytest.mark.parametrize("master", ["local[2]", "local-cluster[2,1,1024]"])
def test_spark_job_equals_palisade_replay(workdir, expected, master):
    want_sessions, report = expected
    assert want_sessions.num_rows > 500
    observed = set(want_sessions.column("observed").to_pylist())
    assert {"accepted", "refused", "timed-out"} <= observed, observed
    changes = set(want_sessions.column("change").to_pylist())
    assert {"break", "open"} <= changes, changes

    out = workdir / ("out-" + master.split("[")[0])
    spark = spark_session(master)
    try:
        rc = job.main([
            "replay", "--flows", str(workdir / "flows.parquet"),
            "--cluster", str(workdir / "cluster"),
            "--proposed", str(workdir / "proposed"),
            "--out", str(out), "--partitions", "16",
        ])
        assert rc == 0
    finally:
        spark.stop()
    got = ds.dataset(out / "sessions", format="parquet").to_table()
    assert got.column_names == want_sessions.column_names
    assert rows(got) == rows(want_sessions)
    got_whatif = ds.dataset(out / "whatif", format="parquet").to_table()
    want_whatif = sorted(json.dumps(c, sort_keys=True) for c in report["changes"])
    assert whatif_rows(got_whatif) == want_whatif


def test_verdicts_of_a_flow_batch(workdir):
    snap = job.snapshot([str(workdir / "cluster")], [str(workdir / "proposed")])
    m = job.model(snap)
    assert (m.pods, m.policies) == (6, 2)
    batch = generate_flows(connections=50).to_batches()[0]
    v = palisade_spark.verdicts(m, batch)
    assert v.num_rows == batch.num_rows
    assert set(v.column("predicted").to_pylist()) <= {"accepted", "timed-out"}
    web_to_api = [
        i for i, (s, d, p, r) in enumerate(zip(
            batch.column("src_ip").to_pylist(), batch.column("dst_ip").to_pylist(),
            batch.column("dst_port").to_pylist(), batch.column("is_reply").to_pylist()))
        if s.startswith("10.1.0.") and d.startswith("10.1.1.") and p == 8080 and not r
    ]
    assert web_to_api
    for i in web_to_api:
        assert v.column("predicted")[i].as_py() == "accepted"
        assert v.column("change")[i].as_py() == "break"
