#!/usr/bin/env bash
# Two Deno L7 proxies compared in CPU per request with both under load at the same time:
# both pinned to core 1, each loaded by a wrk of its own (with nginx, on core 0), ROUNDS
# times for SECS. Each one's CPU time comes from /proc around each round (user and
# system ticks: 5 s of half a core is some 250, ±0.4%). The machine's drift and the
# other tenants' steal hit both proxies in the same seconds, so the per-round ratio
# holds still where l7-ab.sh's alternating turns swing: two copies of one tree read
# within ±1% per round here, against ±15% there. The price: the two share a core, so
# each runs at about half its own pace, and the ratio of two proxies of very different
# cost (vane and its floor) is not the bench's. For comparing two versions of vane, or
# a flag, this is the instrument.
#
#   scripts/bench/l7-together.sh A B [ROUNDS] [SECS]       (defaults: 10 rounds of 5 s)
#
# A and B are each `vane:TREE` (vane from TREE's src/main.ts, the bench's L7 listener)
# or `floor:TREE` (TREE's scripts/bench/deno-min-http.ts), as for l7-ab.sh. With
# ROUTES=N, both vanes' flows get N host rules (siteK.example.com) in front of the
# bench's, which every request then gets past: a big route table.
#
# Prints each round (A and B: µs/req and requests served), then the median of B ÷ A
# with its range. docs/benchmarks.md, "Two proxies under load at once", reads it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DENO=$ROOT/node_modules/.bin/deno
A=${1:-}
B=${2:-}
ROUNDS=${3:-10}
SECS=${4:-5}
ROUTES=${ROUTES:-0}
usage() { echo "usage: l7-together.sh vane:TREE|floor:TREE vane:TREE|floor:TREE [ROUNDS] [SECS]" >&2; exit 2; }
[ -n "$B" ] || usage
[[ $ROUNDS =~ ^[1-9][0-9]*$ && $SECS =~ ^[1-9][0-9]*$ && $ROUTES =~ ^[0-9]+$ ]] || usage
command -v wrk >/dev/null || { echo "l7-together: wrk is not installed" >&2; exit 2; }
command -v nginx >/dev/null || { echo "l7-together: nginx is not installed" >&2; exit 2; }

DIR=$(mktemp -d /tmp/vane-l7-together.XXXXXX)
# shellcheck source=l7-load.sh
. "$ROOT/scripts/bench/l7-load.sh"
trap 'l7_stop_all; rm -rf "$DIR"' EXIT
for spec in "$A" "$B"; do l7_check_spec l7-together "$spec"; done

l7_backend 2
PA=${L7_PORTS[0]}
PB=${L7_PORTS[1]}
if [ "$ROUTES" -gt 0 ]; then
  for i in 0 1; do
    rules=""
    for ((k = 0; k < ROUTES; k++)); do rules+="      - when: { host: site$k.example.com }\n        proxy: other\n"; done
    sed -i "s/^    flow:\$/    flow:\n${rules%\\n}/" "$DIR/vane-$i.yaml"
  done
fi
l7_start_two "$A" "$B"

HZ=$(getconf CLK_TCK)
requests() { grep -o '[0-9]* requests in' "$1" | tr -dc 0-9; }
echo "l7-together: A = $A, B = $B; $ROUNDS rounds of ${SECS} s, both loaded at once; µs of CPU per request"
for _ in $(seq "$ROUNDS"); do
  a0=$(l7_ticks "$PID_A")
  b0=$(l7_ticks "$PID_B")
  l7_wrk "$PA" "$SECS" >"$DIR/wrk-a.txt" &
  wa=$!
  l7_wrk "$PB" "$SECS" >"$DIR/wrk-b.txt" &
  wb=$!
  wait "$wa" "$wb"
  a1=$(l7_ticks "$PID_A")
  b1=$(l7_ticks "$PID_B")
  awk -v ta=$((a1 - a0)) -v tb=$((b1 - b0)) -v na="$(requests "$DIR/wrk-a.txt")" -v nb="$(requests "$DIR/wrk-b.txt")" \
    -v hz="$HZ" 'BEGIN { a = ta / hz * 1e6 / na; b = tb / hz * 1e6 / nb;
      printf "  A %6.2f µs (%d requests)  B %6.2f µs (%d requests)  B/A %.3f\n", a, na, b, nb, b / a }' |
    tee -a "$DIR/rounds.txt"
done
ratio=$(awk '{ print $NF }' "$DIR/rounds.txt" | l7_median)
low=$(awk '{ print $NF }' "$DIR/rounds.txt" | sort -n | head -1)
high=$(awk '{ print $NF }' "$DIR/rounds.txt" | sort -n | tail -1)
echo "l7-together: B/A median $ratio [$low-$high] over $ROUNDS rounds"
