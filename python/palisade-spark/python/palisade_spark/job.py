"""``palisade-spark replay``: ``palisade replay`` as a Spark job.

    palisade-spark replay --flows s3://bucket/flows/ --cluster manifests/ \\
        [--proposed manifests-new/] --out s3://bucket/replay/

Reads Parquet flows (Palisade's flow schema: ``palisade convert`` writes it), writes
``OUT/sessions`` (the session schema, one row per connection attempt, as
``palisade replay -o parquet``) and, with ``--proposed``, ``OUT/whatif`` (what would break
or open, per workload pair and port, as ``palisade replay``'s what-if).

How (docs/scale-out.md): the manifests are read once on the driver and broadcast (the
snapshot); one pass finds where the capture shows reply flows (per node, the first time);
flows are repartitioned by their direction-normalised address pair, so both directions of a
connection and the copies seen on two nodes share a partition, sorted by time (then by
input order) within it, and handed to the Rust sessionizer in one ``mapInArrow`` per
partition. Each Python worker compiles the policies once.
"""

import argparse
import hashlib
import json
import os
import sys

from . import _native

#: Models compiled in this Python worker, by snapshot digest.
_MODELS = {}


def snapshot(cluster, proposed=None, default_namespace="default", deny_action="drop"):
    """The snapshot the driver broadcasts: the manifests' text, read as ``palisade replay``
    reads ``--cluster`` (errors raise with file:line), and a digest to cache the model by."""
    snap = {
        "format": _native.SNAPSHOT_FORMAT,
        "cluster": _native.read_manifests(list(cluster), default_namespace),
        "proposed": _native.read_manifests(list(proposed), default_namespace)
        if proposed
        else None,
        "default_namespace": default_namespace,
        "deny_action": deny_action,
    }
    snap["digest"] = hashlib.sha256(
        json.dumps(snap, sort_keys=True).encode()
    ).hexdigest()
    return snap


def model(snap):
    """The compiled model of a snapshot, once per Python worker."""
    m = _MODELS.get(snap["digest"])
    if m is None:
        m = _native.Model(
            snap["format"],
            snap["cluster"],
            snap["proposed"],
            snap["default_namespace"],
            snap["deny_action"],
        )
        _MODELS[snap["digest"]] = m
    return m


def _spark_schema(arrow_schema):
    """The Spark schema of one of Palisade's Arrow schemas (int32, int64, string, bool
    columns only; pyspark's own converter would need pandas)."""
    import pyarrow as pa
    from pyspark.sql import types as T

    def spark_type(t):
        if pa.types.is_int32(t):
            return T.IntegerType()
        if pa.types.is_int64(t):
            return T.LongType()
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return T.StringType()
        if pa.types.is_boolean(t):
            return T.BooleanType()
        raise TypeError(f"no Spark type for {t}")

    return T.StructType(
        [T.StructField(f.name, spark_type(f.type), f.nullable) for f in arrow_schema]
    )


def capture_context(flows):
    """What every partition must know about the whole capture: where it shows
    reply-direction Hubble flows (``[(node | None, first_ns)]``, the sessionizer's evidence
    that answers would have been captured) and the time of its last flow."""
    from pyspark.sql import functions as F

    rows = (
        flows.filter((F.col("kind") == "hubble") & (F.col("is_reply") == F.lit(True)))
        .groupBy("node")
        .agg(F.min("time_ns").alias("first_ns"))
        .collect()
    )
    replies = sorted(
        ((r["node"], int(r["first_ns"])) for r in rows),
        key=lambda r: (r[0] is None, r[0] or "", r[1]),
    )
    end = flows.agg(F.max("time_ns").alias("end")).collect()[0]["end"]
    return replies, (int(end) if end is not None else 0)


def partition_columns():
    """The direction-normalised address pair (the quoted datagram's for ICMP errors)."""
    from pyspark.sql import functions as F

    a = F.coalesce(F.col("quoted_src_ip"), F.col("src_ip"))
    b = F.coalesce(F.col("quoted_dst_ip"), F.col("dst_ip"))
    return [F.least(a, b), F.greatest(a, b)]


def sessions(spark, flows, snap, partitions=None, timeout_ms=3000):
    """The replayed sessions of a flow DataFrame (the session schema)."""
    from pyspark.sql import functions as F

    replies, end_ns = capture_context(flows)
    bc = spark.sparkContext.broadcast((snap, replies, end_ns, timeout_ms))
    # Input order breaks ties between equal times, as the single-process replay reads.
    ordered = flows.withColumn("_palisade_seq", F.monotonically_increasing_id())
    parts = partitions or spark.sparkContext.defaultParallelism
    ordered = ordered.repartition(parts, *partition_columns()).sortWithinPartitions(
        "time_ns", "_palisade_seq"
    )

    def run(batches):
        snap_, replies_, end_, timeout_ = bc.value
        sz = _native.Sessionizer(model(snap_), timeout_, replies_, end_)
        for batch in batches:
            out = sz.push(batch)
            if out.num_rows:
                yield out
        out = sz.finish()
        if out.num_rows:
            yield out

    return ordered.mapInArrow(run, _spark_schema(_native.session_schema()))


def whatif(sessions_df):
    """What a proposal breaks and opens: per change, workload pair, protocol and port, the
    sessions with their observed outcomes and first and last start times."""
    from pyspark.sql import functions as F

    def observed(name):
        return F.sum(F.when(F.col("observed") == name, 1).otherwise(0)).cast("long")

    return (
        sessions_df.filter(F.col("change").isNotNull())
        .groupBy("change", "pair_src", "pair_dst", "protocol", "dst_port")
        .agg(
            F.count(F.lit(1)).alias("sessions"),
            observed("accepted").alias("accepted"),
            observed("refused").alias("refused"),
            observed("timed-out").alias("timed_out"),
            observed("unknown").alias("unknown"),
            F.min("start_ns").alias("first_ns"),
            F.max("start_ns").alias("last_ns"),
        )
        .withColumnRenamed("pair_src", "src")
        .withColumnRenamed("pair_dst", "dst")
        .withColumnRenamed("dst_port", "port")
    )


def _duration_ms(text):
    units = {"ms": 1, "s": 1000, "m": 60000}
    for unit in ("ms", "s", "m"):
        if text.endswith(unit):
            try:
                value = float(text[: -len(unit)])
            except ValueError:
                break
            if value > 0:
                return int(value * units[unit])
    raise argparse.ArgumentTypeError(f"`{text}` is not a duration (e.g. 3s, 500ms, 1m)")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="palisade-spark",
        description="Palisade's replay and what-if as a Spark job (docs/scale-out.md).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rp = sub.add_parser("replay", help="sessions (and what-if) of Parquet flows")
    rp.add_argument("--flows", required=True, help="Parquet flows (a file or directory; any Spark path)")
    rp.add_argument("--cluster", required=True, nargs="+", help="the cluster's manifests, as for palisade replay")
    rp.add_argument("--proposed", nargs="+", help="a proposed policy set (what-if)")
    rp.add_argument("--out", required=True, help="output directory: sessions/ and whatif/")
    rp.add_argument("--timeout", default="3s", type=_duration_ms, help="attempt timeout (default 3s)")
    rp.add_argument("--deny-action", default="drop", choices=["drop", "reject"])
    rp.add_argument("--default-namespace", default="default")
    rp.add_argument("--partitions", type=int, help="shuffle partitions (default: the default parallelism)")
    rp.add_argument("--master", help="Spark master (default: spark-submit's)")
    args = parser.parse_args(argv)

    from pyspark.sql import SparkSession

    snap = snapshot(args.cluster, args.proposed, args.default_namespace, args.deny_action)
    builder = SparkSession.builder.appName("palisade-spark replay")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    flows = spark.read.parquet(args.flows)
    out = sessions(spark, flows, snap, args.partitions, args.timeout).cache()
    out.write.mode("overwrite").parquet(os.path.join(args.out, "sessions"))
    count = out.count()
    if args.proposed:
        whatif(out).write.mode("overwrite").parquet(os.path.join(args.out, "whatif"))
    print(f"palisade-spark: {count} sessions written to {args.out}", file=sys.stderr)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
