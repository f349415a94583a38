#!/usr/bin/env bash
# Wall time, user CPU and peak RSS of the commands users type, on a generated cluster
# (docs/benchmarks.md, "The commands users run, at medium and large").
#
#   scripts/bench-commands.sh bench-data/large.yaml [NAMESPACE] [CONNECTIONS]
#
# Makes its inputs next to the cluster file when missing (an edited copy for diff, a Hubble
# capture naming the cluster's pods), then runs each command under /usr/bin/time -v with an
# address-space cap (PALISADE_BENCH_CAP_KB, default 8 GiB) so that a command that would grow
# without bound fails instead of taking the machine down. One line per command on stdout:
#   command | wall | user CPU | peak RSS | exit code
# The load average is printed before and after.
set -u
cluster=${1:?usage: scripts/bench-commands.sh CLUSTER.yaml [NAMESPACE] [CONNECTIONS]}
P=${PALISADE:-./target/release/palisade}
cap=${PALISADE_BENCH_CAP_KB:-8388608}
base=${cluster%.yaml}
edited=$base-edited.yaml
capture=$base-hubble.json
# The namespace -n narrows to: that of the first NetworkPolicy (an application namespace), unless given.
ns=${2:-$(awk '/^kind: NetworkPolicy/{k=1} k && /^  namespace: /{print $2; exit}' "$cluster")}
connections=${3:-200000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

[ -f "$edited" ] || python3 scripts/edit-policies.py "$cluster" "$edited"
[ -f "$capture" ] || python3 scripts/make-large-capture.py "$cluster" "$connections" "$capture"

measure() {
    local name=$1
    shift
    (
        ulimit -v "$cap"
        /usr/bin/time -v "$@" >"$out/stdout" 2>"$out/time"
    )
    local code=$?
    local wall user rss
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$out/time")
    user=$(sed -n 's/.*User time (seconds): //p' "$out/time")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out/time")
    printf '%s | %s | %ss | %s MB | exit %s\n' "$name" "$wall" "$user" "$((rss / 1024))" "$code"
    grep -v -E '^\s+(Command being timed|User time|System time|Percent of CPU|Elapsed|Average|Maximum|Major|Minor|Voluntary|Involuntary|Swaps|File system|Socket|Signals|Page size|Exit status)' "$out/time" | head -3 | sed 's/^/    /'
}

# serve: from start to the map document served (what the page's first render waits for),
# then the server is stopped; peak RSS is the server's.
measure_serve() {
    local name=$1
    shift
    local start end
    start=$(date +%s.%N)
    (
        ulimit -v "$cap"
        exec /usr/bin/time -v "$@" --addr 127.0.0.1:0 >"$out/serve.out" 2>"$out/time"
    ) &
    local timer=$!
    local url=""
    while kill -0 $timer 2>/dev/null && [ -z "$url" ]; do
        url=$(grep -o 'http://[^ ]*' "$out/serve.out" 2>/dev/null | head -1)
        sleep 0.5
    done
    if [ -n "$url" ]; then
        curl -s "${url%/}/api/map" -o "$out/map.json"
        end=$(date +%s.%N)
        kill "$(pgrep -P $timer)" 2>/dev/null
    fi
    wait $timer
    local rss
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out/time")
    printf '%s | %.1fs to /api/map served (%s bytes) | %ss | %s MB | %s\n' "$name" \
        "$(echo "${end:-$start} - $start" | bc)" "$(stat -c %s "$out/map.json" 2>/dev/null)" \
        "$(sed -n 's/.*User time (seconds): //p' "$out/time")" "$((rss / 1024))" \
        "$([ -n "$url" ] && echo served || echo 'did not start')"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); namespace for -n: $ns"
measure "connectivity (default: workload level)" $P connectivity "$cluster"
measure "connectivity -n $ns -o json" $P connectivity "$cluster" -n "$ns" -o json
measure "diff (edited copy) -o json" $P diff "$cluster" "$edited" -o json
measure "matrix -n $ns --level workload --port 8080 -o csv" \
    $P matrix "$cluster" -n "$ns" --level workload --port 8080 -o csv
measure "replay -o jsonl" $P replay "$capture" --cluster "$cluster" -o jsonl
measure "map -o json" $P map "$capture" --cluster "$cluster" -o json
measure "generate -o -" $P generate "$capture" --cluster "$cluster" -o -
measure "harden -o DIR" $P harden "$capture" --cluster "$cluster" -o "$out/harden"
measure "report -o" $P report "$cluster" -o "$out/report.html"
measure_serve "serve" $P serve "$cluster"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
