"""Where the Spark job's CPU goes, step by step, in one local[2] session (docs/benchmarks.md)."""
import sys, time
from pyspark.sql import SparkSession, functions as F
from palisade_spark import job
# Usage: spark_breakdown.py CPUACCT_CGROUP_DIR FLOWS.parquet CLUSTER.yaml, run inside that cgroup
# (cgroup v1 cpuacct), so that the JVM and the Python workers are counted with the driver.
cg = sys.argv[1]; flows_path = sys.argv[2]; cluster = sys.argv[3]
def cpu(): return int(open(cg + "/cpuacct.usage").read()) / 1e9
t0 = cpu()
spark = SparkSession.builder.master("local[2]").appName("breakdown").getOrCreate()
snap = job.snapshot([cluster], None, "default", "drop")
print(f"start: cpu {cpu()-t0:.2f} s", flush=True)
def step(name, fn):
    c, w = cpu(), time.time(); r = fn(); print(f"{name}: cpu {cpu()-c:.2f} s wall {time.time()-w:.2f} s ({r})", flush=True)
flows = spark.read.parquet(flows_path)
step("warm-up scan count", lambda: flows.count())
step("scan count", lambda: flows.count())
def shuffled():
    o = flows.withColumn("_s", F.monotonically_increasing_id())
    return o.repartition(2, *job.partition_columns()).sortWithinPartitions("time_ns", "_s")
step("repartition+sort count", lambda: shuffled().count())
def passthrough(batches):
    n = 0
    for b in batches: n += b.num_rows
    import pyarrow as pa
    yield pa.RecordBatch.from_pydict({"n": [n]})
step("…+mapInArrow to Python (rows counted there)", lambda: shuffled().mapInArrow(passthrough, "n long").agg(F.sum("n")).collect()[0][0])
step("…+capture context", lambda: len(job.capture_context(flows)[0]))
step("full sessions (count)", lambda: job.sessions(spark, flows, snap).count())
step("full sessions (count), again", lambda: job.sessions(spark, flows, snap).count())
spark.stop()
