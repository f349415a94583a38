#!/bin/sh
# Seeds every fuzz target's corpus from the example data and runs the targets one after
# another, single job, each for SECONDS (default 300), printing the executions each reached.
#
#   fuzz/run.sh            # all targets, 300 s each
#   fuzz/run.sh 60 gzip_reader text_reader
#   RUNS=1000000 fuzz/run.sh 0 pcap_reader   # stop after a number of executions instead
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Built without a
# sanitizer: the crates forbid `unsafe`, so what fuzzing looks for is panics (including
# arithmetic overflow: debug assertions are on), hangs and runaway memory.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
secs=${1:-300}
[ $# -gt 0 ] && shift
targets=${*:-"load_manifest hubble_reader pcap_reader vpc_reader text_reader gzip_reader filter_args dns_response"}
ex="$root/examples"
traffic="$ex/webshop-traffic"

seed() {
    dir="$here/corpus/$1"
    mkdir -p "$dir"
    echo "$dir"
}

d=$(seed load_manifest)
find "$ex" -name '*.yaml' | while read -r f; do cp "$f" "$d/$(echo "$f" | tr '/' '_')"; done
d=$(seed hubble_reader)
{ printf '\000'; head -n 40 "$traffic/capture.jsonl"; } > "$d/example-hubble"
d=$(seed pcap_reader)
{ printf '\000'; tail -c +25 "$traffic/capture.pcap"; } > "$d/example-pcap"
d=$(seed vpc_reader)
cp "$here"/seeds/vpc/* "$d/"
d=$(seed text_reader)
{ printf '\000'; cat "$here/seeds/text/connections.csv"; } > "$d/example-csv"
{ printf '\001'; cat "$here/seeds/text/connections.jsonl"; } > "$d/example-jsonl"
d=$(seed gzip_reader)
{ printf '\000'; head -n 20 "$traffic/capture.jsonl" | gzip -c | tail -c +3; } > "$d/example-gzip"
{ printf '\001\200'; head -n 20 "$traffic/capture.jsonl"; } > "$d/example-cut"
d=$(seed dns_response)
# A response to api.example.com: a CNAME to edge.example.net, which has an A record
# (compressed names), as a bare message, over UDP and over TCP (length-prefixed).
dns='\000\007\201\200\000\001\000\002\000\000\000\000\003\141\160\151\007\145\170\141\155\160\154\145\003\143\157\155\000\000\001\000\001\300\014\000\005\000\001\000\000\000\036\000\022\004\145\144\147\145\007\145\170\141\155\160\154\145\003\156\145\164\000\300\055\000\001\000\001\000\000\000\036\000\004\313\000\161\005'
{ printf '\000'; printf "$dns"; } > "$d/example-message"
{ printf '\001'; printf "$dns"; } > "$d/example-udp"
{ printf '\002\000\117'; printf "$dns"; } > "$d/example-tcp"
d=$(seed filter_args)
printf '10.0.0.0/8\000shop/\000shop/frontend\000fd00::1\0002026-09-20T14:56:40Z\0003s\000hubble\000timed-out' > "$d/example-args"

cd "$here"
for t in $targets; do
    log="$here/artifacts/$t.log"
    mkdir -p "$here/artifacts"
    # With -jobs, libFuzzer's worker writes to fuzz-0.log in the current directory.
    rm -f "$here"/fuzz-*.log
    if [ -n "${RUNS:-}" ]; then limit="-runs=$RUNS"; else limit="-max_total_time=$secs"; fi
    start=$(date +%s)
    cargo +nightly fuzz run -s none "$t" -- "$limit" -jobs=1 -workers=1 \
        -print_final_stats=1 >"$log" 2>&1 || { echo "$t: FAILED (see $log)"; continue; }
    cat "$here"/fuzz-*.log >>"$log" 2>/dev/null || true
    took=$(($(date +%s) - start))
    execs=$(grep -E '^stat::number_of_executed_units' "$log" | tail -n 1 | awk '{print $2}')
    echo "$t: $execs executions in ${took}s (build included), 0 crashes"
done
