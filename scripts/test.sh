#!/usr/bin/env bash
# The full test suite, as CI runs it: formatting, lints, every test of every crate.
# Installs the system packages the tests need when run as root on Debian: git, and for the
# kernel sandbox tests (palisade-sandbox) iproute2 (`ip`, `bridge`) and nftables (`nft`).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in git; do
    command -v "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# package:command pairs for the kernel sandbox tests.
for pair in iproute2:ip iproute2:bridge nftables:nft; do
    pkg="${pair%%:*}" cmd="${pair##*:}"
    if ! command -v "$cmd" >/dev/null 2>&1 && [[ ! " ${need[*]-} " =~ " $pkg " ]]; then
        need+=("$pkg")
    fi
done
if [ "${#need[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq "${need[@]}"
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
