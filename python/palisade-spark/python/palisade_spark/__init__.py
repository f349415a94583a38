"""Palisade's replay and what-if on Apache Spark.

The Rust batch functions (``palisade-columnar``) over pyarrow record batches:

* ``Model(format, cluster, proposed=None, default_namespace="default", deny_action="drop")``:
  the policies, compiled once per worker from a snapshot (the manifests' text).
* ``verdicts(model, batch)``: per-flow verdict columns for a flow batch.
* ``Sessionizer(model, timeout_ms, reply_nodes)``: ``push(batch)`` / ``finish()``, the
  streaming sessionizer of one partition; returns session batches.

The job (``palisade-spark replay ...``, :mod:`palisade_spark.job`) wires them into Spark:
repartition by the direction-normalised address pair, sort by time within partitions,
``mapInArrow``. See docs/scale-out.md.
"""

from ._native import (  # noqa: F401
    SNAPSHOT_FORMAT,
    Model,
    Sessionizer,
    flow_schema,
    format_time,
    read_manifests,
    session_schema,
    verdict_schema,
    verdicts,
)

__all__ = [
    "SNAPSHOT_FORMAT",
    "Model",
    "Sessionizer",
    "flow_schema",
    "format_time",
    "read_manifests",
    "session_schema",
    "verdict_schema",
    "verdicts",
]
