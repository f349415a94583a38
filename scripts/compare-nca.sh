#!/usr/bin/env bash
# Differential comparison of `palisade connectivity` against NCA (np-guard/network-config-analyzer)
# on NCA's own Kubernetes test corpus. A report: exits 0 whatever the differences, non-zero only
# when a tool cannot be installed, built or run. See docs/nca-comparison.md.
#
# Environment:
#   NCA_CORPUS   corpus directory (default: ../shared/corpora/nca-k8s from the repository root)
#   NCA          nca command to use (default: `nca` on PATH, else one installed into .nca-venv/)
#   PALISADE     palisade binary to use (default: build target/release/palisade)
# Arguments are passed to scripts/compare_nca.py (--only SUBSTRING, --max-pairs N, --json FILE).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="${NCA_CORPUS:-$root/../shared/corpora/nca-k8s}"
venv="$root/.nca-venv"

if [[ ! -d "$corpus" ]]; then
    echo "compare-nca: corpus not found at $corpus (set NCA_CORPUS)" >&2
    exit 2
fi

# NCA, and a Python that can import PyYAML (NCA's own dependency): the interpreter NCA runs on.
nca="${NCA:-}"
if [[ -z "$nca" ]]; then
    if command -v nca >/dev/null 2>&1; then
        nca="$(command -v nca)"
    else
        if [[ ! -x "$venv/bin/nca" ]]; then
            echo "compare-nca: installing network-config-analyzer into $venv" >&2
            python3 -m venv "$venv"
            "$venv/bin/pip" install --quiet network-config-analyzer
        fi
        nca="$venv/bin/nca"
    fi
fi
python="$(head -n1 "$nca" | sed -n 's/^#! *//p')"
if [[ -z "$python" ]] || ! "$python" -c 'import yaml' 2>/dev/null; then
    python="$(dirname "$nca")/python3"
fi
"$python" -c 'import yaml' || { echo "compare-nca: no Python with PyYAML next to $nca" >&2; exit 2; }

palisade="${PALISADE:-}"
if [[ -z "$palisade" ]]; then
    (cd "$root" && cargo build --quiet --release -p palisade)
    palisade="$root/target/release/palisade"
fi

exec "$python" "$root/scripts/compare_nca.py" --corpus "$corpus" --nca "$nca" --palisade "$palisade" "$@"
