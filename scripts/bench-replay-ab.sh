#!/usr/bin/env bash
# Replay end to end, two builds compared on the same run (docs/benchmarks.md, "Replay end to
# end"): on two noisy cores only ratios within one run mean anything, so the runs alternate
# (A, B, A, B, ...) and the output of every pair is compared byte for byte.
#
#   scripts/bench-replay-ab.sh BEFORE AFTER CLUSTER.yaml CAPTURE... [-- REPLAY FLAGS]
#
#   ROUNDS (default 5), THREADS (default "1 2").
#
# One line per binary, capture and thread count:
#   capture | threads | binary | wall min–max | least CPU (user + sys) | peak RSS
# Exits 1 if any two outputs differ (`-o jsonl` unless REPLAY FLAGS say otherwise).
set -u
before=${1:?usage: scripts/bench-replay-ab.sh BEFORE AFTER CLUSTER.yaml CAPTURE... [-- FLAGS]}
after=${2:?usage}
cluster=${3:?usage}
shift 3
captures=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    captures+=("$1")
    shift
done
[ "${1:-}" = "--" ] && shift
flags=("$@")
[ ${#flags[@]} -eq 0 ] && flags=(-o jsonl)
rounds=${ROUNDS:-5}
threads=${THREADS:-1 2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
for capture in "${captures[@]}"; do
    for t in $threads; do
        : >"$out/times"
        for _ in $(seq "$rounds"); do
            for side in before after; do
                bin=${!side}
                /usr/bin/time -f "$side %e %U %S %M" -a -o "$out/times" \
                    "$bin" replay "$capture" --cluster "$cluster" --threads "$t" "${flags[@]}" \
                    >"$out/$side.out" 2>/dev/null
            done
            if ! cmp -s "$out/before.out" "$out/after.out"; then
                echo "$capture, --threads $t: the outputs differ" >&2
                status=1
            fi
        done
        for side in before after; do
            awk -v side="$side" -v cap="$(basename "$capture")" -v t="$t" '
                $1 == side {
                    cpu = $3 + $4
                    if (n == 0 || $2 < lo) lo = $2
                    if (n == 0 || $2 > hi) hi = $2
                    if (n == 0 || cpu < least) least = cpu
                    if ($5 > rss) rss = $5
                    n++
                }
                END { printf "%s | %s | %s | %.2f–%.2f s | %.2f s | %d MB\n", cap, t, side, lo, hi, least, rss / 1024 }
            ' "$out/times"
        done
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
