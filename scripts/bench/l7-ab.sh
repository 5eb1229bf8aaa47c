#!/usr/bin/env bash
# Two Deno L7 proxies compared in CPU per request under the bench's L7 load, in quick
# turns: both run the whole time, pinned to core 1, and wrk (with nginx, on core 0) loads
# one, then the other, for SECS each, PAIRS times, the order alternating per pair. Each
# one's CPU time comes from /proc around its own run. Turns of a few seconds hold this
# shared machine's drift better than the bench's rounds (a contender's runs there are
# 10-20 s apart), so the paired ratios spread less.
#
#   scripts/bench/l7-ab.sh A B [PAIRS] [SECS]       (defaults: 16 pairs of 2 s)
#
# A and B are each `vane:TREE` (vane from TREE's src/main.ts, the bench's L7 listener)
# or `floor:TREE` (TREE's scripts/bench/deno-min-http.ts). E.g. a change against its
# base, or vane against its floor:
#
#   scripts/bench/l7-ab.sh vane:/tmp/base vane:.
#   scripts/bench/l7-ab.sh floor:. vane:.
#
# Prints each pair (A and B: µs/req and wrk's p99), then the median of B ÷ A with its
# range, each side's mean µs/req and its median p99. docs/benchmarks.md, "Corked writes on Deno", reads it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DENO=$ROOT/node_modules/.bin/deno
A=${1:-}
B=${2:-}
PAIRS=${3:-16}
SECS=${4:-2}
usage() { echo "usage: l7-ab.sh vane:TREE|floor:TREE vane:TREE|floor:TREE [PAIRS] [SECS]" >&2; exit 2; }
[ -n "$B" ] || usage
[[ $PAIRS =~ ^[1-9][0-9]*$ && $SECS =~ ^[1-9][0-9]*$ ]] || usage
command -v wrk >/dev/null || { echo "l7-ab: wrk is not installed" >&2; exit 2; }
command -v nginx >/dev/null || { echo "l7-ab: nginx is not installed" >&2; exit 2; }

DIR=$(mktemp -d /tmp/vane-l7-ab.XXXXXX)
# shellcheck source=l7-load.sh
. "$ROOT/scripts/bench/l7-load.sh"
trap 'l7_stop_all; rm -rf "$DIR"' EXIT
for spec in "$A" "$B"; do l7_check_spec l7-ab "$spec"; done

l7_backend 2
PA=${L7_PORTS[0]}
PB=${L7_PORTS[1]}
l7_start_two "$A" "$B"

HZ=$(getconf CLK_TCK)
# run PID PORT: µs of CPU per request over one wrk run, and its p99 in ms.
run() {
  local before after requests p99
  before=$(l7_ticks "$1")
  l7_wrk "$2" "$SECS" --latency >"$DIR/wrk.txt"
  after=$(l7_ticks "$1")
  requests=$(grep -o '[0-9]* requests in' "$DIR/wrk.txt" | tr -dc 0-9)
  # wrk prints 99% as 1.23ms, 456.78us or 1.02s.
  p99=$(awk '$1 == "99%" { v = $2; m = 1; if (v ~ /us$/) m = 0.001; else if (v ~ /ms$/) m = 1; else if (v ~ /s$/) m = 1000;
    sub(/[a-z]+$/, "", v); printf "%.3f", v * m }' "$DIR/wrk.txt")
  awk -v t=$((after - before)) -v n="$requests" -v hz="$HZ" -v p="$p99" 'BEGIN { printf "%.3f %s", t / hz * 1e6 / n, p }'
}
echo "l7-ab: A = $A, B = $B; $PAIRS pairs of ${SECS} s; µs of CPU per request"
for i in $(seq "$PAIRS"); do
  if [ $((i % 2)) = 1 ]; then
    a=$(run "$PID_A" "$PA")
    b=$(run "$PID_B" "$PB")
  else
    b=$(run "$PID_B" "$PB")
    a=$(run "$PID_A" "$PA")
  fi
  echo "$a $b" | awk '{ printf "  A %6.2f µs, p99 %6.3f ms  B %6.2f µs, p99 %6.3f ms  B/A %.3f\n", $1, $2, $3, $4, $3 / $1 }' |
    tee -a "$DIR/pairs.txt"
done
# Fields: 2 A µs, 5 A p99, 8 B µs, 11 B p99, 14 B/A.
ratio=$(awk '{ print $14 }' "$DIR/pairs.txt" | l7_median)
low=$(awk '{ print $14 }' "$DIR/pairs.txt" | sort -n | head -1)
high=$(awk '{ print $14 }' "$DIR/pairs.txt" | sort -n | tail -1)
mean() { awk '{ s += $1 } END { printf "%.2f", s / NR }'; }
echo "l7-ab: B/A median $ratio [$low-$high] over $PAIRS pairs"
echo "  µs/req, mean: A $(awk '{ print $2 }' "$DIR/pairs.txt" | mean), B $(awk '{ print $8 }' "$DIR/pairs.txt" | mean)"
echo "  p99 ms, median: A $(awk '{ print $5 }' "$DIR/pairs.txt" | l7_median), B $(awk '{ print $11 }' "$DIR/pairs.txt" | l7_median)"
