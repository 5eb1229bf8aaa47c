#!/usr/bin/env bash
# Where a Deno proxy's CPU goes per L7 request, by what ran: V8's compiled JavaScript
# ([JIT]: vane's code, or the floor's, and Deno's own JavaScript), the deno binary (V8's
# runtime and builtins, Deno's Rust: ops, tokio), libc, and the kernel. vane or Deno's L7
# floor (deno-min-http.ts) runs pinned to core 1, nginx and wrk on core 0, and
# `perf record -e cpu-clock` samples it over one wrk run. A software clock, because this
# VM offers perf no hardware counters; V8's --perf-basic-prof names the JIT frames
# (with PERF_SPLIT_KEEP=1, `perf report -i DIR/perf.data --sort sym` lists them). Needs
# perf (Debian: linux-perf).
#
#   scripts/bench/perf-split.sh [vane|floor] [SECONDS]     (default: vane, 5)
#
# Prints µs of CPU per request by kind, from the samples (4,000 a second). perf adds a
# little of its own, so compare the two modes with each other, not with bench's /proc
# figures. docs/benchmarks.md, "Head parsing in one pass", reads it.
set -euo pipefail
MODE=${1:-vane}
SECS=${2:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DENO=$ROOT/node_modules/.bin/deno
HZ=4000
command -v perf >/dev/null || { echo "perf-split: perf is not installed (apt-get install linux-perf)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "perf-split: wrk is not installed" >&2; exit 2; }
case $MODE in vane | floor) ;; *) echo "perf-split: MODE must be vane or floor, not $MODE" >&2; exit 2 ;; esac

DIR=$(mktemp -d /tmp/vane-perf-split.XXXXXX)
# shellcheck source=l7-load.sh
. "$ROOT/scripts/bench/l7-load.sh"
trap l7_stop_all EXIT

l7_backend 1
L7=${L7_PORTS[0]}
# vane's flags on Deno (the floor's too) and perf's symbol map.
mapfile -t RUN_FLAGS < <(l7_run_flags --perf-basic-prof)
if [ "$MODE" = floor ]; then
  taskset -c 1 "$DENO" run "${RUN_FLAGS[@]}" \
    "$ROOT/scripts/bench/deno-min-http.ts" "$L7" "$UP" "$OTHER" >"$DIR/proxy.log" 2>&1 &
else
  taskset -c 1 "$DENO" run "${RUN_FLAGS[@]}" "$ROOT/src/main.ts" run "$DIR/vane-0.yaml" >"$DIR/proxy.log" 2>&1 &
fi
PROXY=$!
L7_PIDS+=("$PROXY")
l7_wait "$L7"
# Warm-up: the JIT settles before anything is counted.
l7_wrk "$L7" 3 >/dev/null
perf record -q -e cpu-clock -F $HZ -p "$PROXY" -o "$DIR/perf.data" -- sleep "$SECS" >/dev/null 2>&1 &
RECORD=$!
l7_wrk "$L7" "$SECS" >"$DIR/wrk.txt"
wait $RECORD
REQUESTS=$(grep -o '[0-9]* requests in' "$DIR/wrk.txt" | tr -dc 0-9)

echo "perf-split: $MODE, $REQUESTS requests in ${SECS} s; µs of CPU per request (share):"
perf report -i "$DIR/perf.data" --no-children --sort dso --stdio -g none -F overhead,sample,dso 2>/dev/null |
  grep -v '^#' | grep -v '^$' |
  awk -v hz=$HZ -v n="$REQUESTS" '{
    share = $1; samples = $2; $1 = ""; $2 = ""; sub(/^ +/, "");
    name = $0; if (name ~ /^\[JIT\]/) name = "JavaScript, compiled (JIT)";
    printf "  %6.2f  %7s  %s\n", samples / hz * 1e6 / n, share, name }' | sort -rn
trap - EXIT
l7_stop_all
# The samples stay for `perf report` with PERF_SPLIT_KEEP=1, as bench's BENCH_KEEP_TMP.
if [ "${PERF_SPLIT_KEEP:-}" = 1 ]; then echo "  (samples and logs: $DIR)"; else rm -rf "$DIR"; fi
