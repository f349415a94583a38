#!/usr/bin/env bash
# The full test suite, as CI runs it: formatting, lints, every test of every crate.
# Installs the system packages the tests need (none beyond the Rust toolchain yet; the
# kernel dataplane will need nftables and iproute2) when run as root on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in git; do
    command -v "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq "${need[@]}"
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
