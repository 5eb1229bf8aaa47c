#!/usr/bin/env bash
# HTTP/2 flow control under a slow reader: a client reads a large response at a fixed
# pace (it gives window back only at that pace) while vane's RSS is sampled. With flow
# control right, vane's memory stays flat however large the body: it reads the target
# only as fast as the client's windows open.
#
#   scripts/bench/h2-slow-reader.sh [BYTES] [RATE_BYTES_PER_S] [VANE...]
#   scripts/bench/h2-slow-reader.sh 1073741824 1048576 dist/vane     # 1 GiB at 1 MiB/s (about 17 minutes)
#
# Needs /usr/bin/python3 with python3-h2 (hyperframe, hpack) and node.
set -euo pipefail
cd "$(dirname "$0")/../.."
BYTES=${1:-134217728}
RATE=${2:-1048576}
shift 2 2>/dev/null || true
VANE=("${@:-node_modules/.bin/bun src/main.ts}")
[ $# -eq 0 ] && VANE=(node_modules/.bin/bun src/main.ts)

BACKEND_PORT=$((20000 + RANDOM % 10000))
VANE_PORT=$((BACKEND_PORT + 1))
node -e '
const http = require("node:http");
const chunk = Buffer.alloc(64 * 1024, "h");
http.createServer((req, res) => {
  const total = Number(new URL(req.url, "http://x").searchParams.get("bytes"));
  res.setHeader("content-length", total);
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return res.once("drain", pump);
    }
    res.end();
  };
  pump();
}).listen(Number(process.argv[1]), "127.0.0.1");
' "$BACKEND_PORT" &
BACKEND=$!
sleep 0.5
"${VANE[@]}" --listen "http://127.0.0.1:$VANE_PORT" --route "*=127.0.0.1:$BACKEND_PORT" --status off --workers 1 \
  >/tmp/vane-h2-slow.log 2>&1 &
VP=$!
trap 'kill $BACKEND $VP 2>/dev/null || true' EXIT
sleep 1.5
rss() { awk '/VmRSS/ { print $2 }' "/proc/$VP/status"; }
START_RSS=$(rss)
MAX=$START_RSS
(
  while kill -0 $VP 2>/dev/null; do
    r=$(rss 2>/dev/null || echo 0)
    echo "$r"
    sleep 5
  done
) >/tmp/vane-h2-slow.rss &
SAMPLER=$!
RESULT=$(/usr/bin/python3 test/helpers/h2raw.py slow-download "$VANE_PORT" "/?bytes=$BYTES" "$RATE")
kill $SAMPLER 2>/dev/null || true
MAX=$(sort -n /tmp/vane-h2-slow.rss | tail -1)
MIN=$(sort -n /tmp/vane-h2-slow.rss | head -1)
SAMPLES=$(wc -l </tmp/vane-h2-slow.rss)
echo "vane: ${VANE[*]}"
echo "read: $RESULT (asked $BYTES bytes at $RATE bytes/s)"
echo "RSS: start ${START_RSS} kB, min ${MIN} kB, max ${MAX} kB over ${SAMPLES} samples (every 5 s)"
