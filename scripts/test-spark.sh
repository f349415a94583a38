#!/usr/bin/env bash
# The Spark test (issue #18): builds the palisade-spark wheel and runs the PySpark job for
# real (local[2] and local-cluster[2,1,1024]) against `palisade replay` on the same flows.
# Installs what it needs when missing (as root on Debian): Java 17 (Spark 4 needs ≥ 17),
# python3-venv; then a venv with pinned pyspark, pyarrow, maturin and pytest from PyPI.
# No network at run time: Spark runs offline (no Maven/Ivy lookups).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
java_ok() { command -v java >/dev/null 2>&1 && java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])'; }
java_ok || need+=(openjdk-17-jre-headless)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
    else
        echo "test-spark: missing ${need[*]} (install them, or run as root on Debian)" >&2
        exit 1
    fi
fi

venv=target/spark-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
    'pyspark==4.3.0' 'pyarrow==26.0.1' 'pandas==2.3.3' 'maturin==1.16.0' 'pytest==9.2.0' \
    'ziglang==0.17.1'

# The CLI the job is compared with.
[ -x target/debug/palisade ] || cargo build -p palisade --locked

# The wheel, as a cluster would install it: abi3 (any CPython ≥ 3.9) and manylinux_2_28
# (glibc 2.28: RHEL 8, Debian 10, Ubuntu 20.04 and later), linked by zig (PyPI's ziglang)
# against that glibc whatever the build machine's is; the tag is checked.
rm -rf target/wheels
(cd python/palisade-spark && PATH="$PWD/../../$venv/bin:$PATH" "../../$venv/bin/maturin" build \
    --release --locked --zig --compatibility manylinux_2_28 \
    --interpreter "../../$venv/bin/python" --out ../../target/wheels)
wheel=(target/wheels/palisade_spark-*-cp39-abi3-manylinux_2_28_x86_64.whl)
if [ ! -f "${wheel[0]}" ]; then
    echo "test-spark: expected a cp39-abi3-manylinux_2_28 wheel, found: $(ls target/wheels)" >&2
    exit 1
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps \
    "${wheel[0]}"

export PALISADE_BIN="$PWD/target/debug/palisade"
export PYSPARK_PYTHON="$PWD/$venv/bin/python"
export SPARK_LOCAL_IP=127.0.0.1
"$venv/bin/python" -m pytest -q python/palisade-spark/tests
