#!/usr/bin/env bash
# The full test suite, as CI runs it: formatting, lints, every test of every crate.
# Installs the system packages the tests need when run as root on Debian: git; for the
# kernel sandbox tests (palisade-sandbox) iproute2 (`ip`, `bridge`) and nftables (`nft`);
# for the UI's browser test Chromium, Node.js and npm, and its npm packages (`npm ci`,
# pinned by a lockfile). Each only when missing. The Spark test (scripts/test-spark.sh, run
# last) installs Java, python3-venv and its Python packages itself.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for cmd in git:git chromium:chromium node:nodejs npm:npm; do
    command -v "${cmd%%:*}" >/dev/null 2>&1 || need+=("${cmd#*:}")
done
# package:command pairs for the kernel sandbox tests.
for pair in iproute2:ip iproute2:bridge nftables:nft; do
    pkg="${pair%%:*}" cmd="${pair##*:}"
    if ! command -v "$cmd" >/dev/null 2>&1 && [[ ! " ${need[*]-} " =~ " $pkg " ]]; then
        need+=("$pkg")
    fi
done
if [ "${#need[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

# The browser test's driver (playwright-core) and the pinned front-end packages it checks
# the embedded copies against; no browser download (Debian's Chromium is used).
ui=crates/palisade-server/ui
if [ ! -d "$ui/node_modules/playwright-core" ] && command -v npm >/dev/null; then
    (cd "$ui" && npm ci --no-audit --no-fund)
fi
# As root (CI) the browser test must run; elsewhere it skips with a reason when something
# is missing.
if [ "$(id -u)" = 0 ]; then
    export PALISADE_BROWSER_TESTS=1
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked

# The Spark job (#18): the palisade-spark wheel built with maturin and PySpark run for real
# in local mode, compared with `palisade replay`. Its own script, also runnable alone;
# installs Java (Debian's OpenJDK 17), python3-venv and a pinned venv when missing.
scripts/test-spark.sh
