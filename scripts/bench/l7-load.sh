# The bench's L7 load, for the scripts that put a Deno proxy under it (perf-split.sh,
# l7-ab.sh, l7-together.sh): free ports picked by the kernel, nginx as the backends on
# core 0 with a vane config per proxy (l7-fixture.ts, as the bench writes them), a wait
# until a proxy answers, and wrk from core 0 as the bench's L7 test runs it. Sourced, not
# run; the caller sets ROOT (the checkout), DENO (its deno) and DIR (a directory of its
# own), and starts each proxy pinned to core 1 (l7_start_two, or its own way), adding
# its pid to L7_PIDS.

# l7_run_flags [V8_FLAG...]: what goes between `deno run` and the script, one per line, as
# vane runs on Deno (src/runtime/deno-flags.ts; its floors run with the same), with more
# V8 flags added to its own (Deno takes --v8-flags once).
l7_run_flags() {
  "$DENO" eval --quiet "import { denoRunFlagsWith } from '$ROOT/src/runtime/deno-flags.ts';
console.log(denoRunFlagsWith(Deno.args).join('\n'));" -- "$@"
}

# What l7_stop_all stops: nginx, and the proxies the caller adds.
L7_PIDS=()

# Asked to stop (TERM), not killed: a killed nginx master leaves its worker behind.
l7_stop_all() {
  for p in "${L7_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

# l7_backend N: N free ports for proxies in L7_PORTS, the backends' two in UP and OTHER,
# DIR/vane-I.yaml for the proxy on L7_PORTS[I], and nginx started on core 0.
l7_backend() {
  local n=$1 i ports yamls=""
  read -r -a ports < <("$DENO" eval "const ls = Array.from({ length: $n + 2 }, () => Deno.listen({ hostname: '127.0.0.1', port: 0 }));
console.log(ls.map((l) => (l.addr as Deno.NetAddr).port).join(' ')); for (const l of ls) l.close();")
  L7_PORTS=("${ports[@]:0:n}")
  UP=${ports[n]}
  OTHER=${ports[n + 1]}
  mkdir -p "$DIR/nginx"
  for ((i = 0; i < n; i++)); do
    yamls+="Deno.writeTextFileSync('$DIR/vane-$i.yaml', vaneL7Yaml(${L7_PORTS[i]}, $UP, $OTHER));"
  done
  "$DENO" eval --quiet "import { backendConf, vaneL7Yaml } from '$ROOT/scripts/bench/l7-fixture.ts';
Deno.writeTextFileSync('$DIR/nginx.conf', backendConf('$DIR/nginx', $UP, $OTHER)); $yamls"
  taskset -c 0 nginx -c "$DIR/nginx.conf" -g 'daemon off;' >"$DIR/nginx.log" 2>&1 &
  L7_PIDS+=($!)
}

# l7_wait PORT: until the proxy on PORT answers, for at most about 10 s.
l7_wait() {
  for _ in $(seq 100); do
    curl -s -o /dev/null -H 'Host: bench.local' "http://127.0.0.1:$1/" && return
    sleep 0.1
  done
}

# l7_wrk PORT SECONDS [WRK OPTIONS...]: the bench's L7 load on PORT, from core 0.
l7_wrk() {
  local port=$1 secs=$2
  shift 2
  taskset -c 0 wrk -t1 -c64 -d"${secs}s" "$@" -H 'Host: bench.local' "http://127.0.0.1:$port/"
}

# l7_check_spec SCRIPT SPEC: exits 2 with a line naming SCRIPT unless SPEC is `vane:TREE`
# or `floor:TREE` with TREE a directory.
l7_check_spec() {
  case $2 in
    vane:?* | floor:?*) [ -d "${2#*:}" ] || { echo "$1: no such tree: ${2#*:}" >&2; exit 2; } ;;
    *) echo "$1: a proxy is vane:TREE or floor:TREE, not '$2'" >&2; exit 2 ;;
  esac
}

# l7_start_two A B: the two proxies, each `vane:TREE` (TREE's src/main.ts with
# DIR/vane-I.yaml) or `floor:TREE` (TREE's scripts/bench/deno-min-http.ts), on
# L7_PORTS[0] and [1] (after `l7_backend 2`), pinned to core 1 with vane's Deno flags;
# then the wait until both answer and a 2-s warm-up each, so that the JIT has settled
# before anything is counted. Their pids in PID_A and PID_B.
l7_start_two() {
  local flags i spec tree
  mapfile -t flags < <(l7_run_flags)
  for i in 0 1; do
    spec=$([ "$i" = 0 ] && echo "$1" || echo "$2")
    tree=${spec#*:}
    if [ "${spec%%:*}" = floor ]; then
      taskset -c 1 "$DENO" run "${flags[@]}" "$tree/scripts/bench/deno-min-http.ts" "${L7_PORTS[i]}" "$UP" "$OTHER" \
        >>"$DIR/proxy.log" 2>&1 &
    else
      taskset -c 1 "$DENO" run "${flags[@]}" "$tree/src/main.ts" run "$DIR/vane-$i.yaml" >>"$DIR/proxy.log" 2>&1 &
    fi
    L7_PIDS+=("$!")
    if [ "$i" = 0 ]; then PID_A=$!; else PID_B=$!; fi
  done
  for i in 0 1; do l7_wait "${L7_PORTS[i]}"; done
  for i in 0 1; do l7_wrk "${L7_PORTS[i]}" 2 >/dev/null; done
}

# l7_ticks PID: the process's user and system time so far, in clock ticks (getconf
# CLK_TCK a second; time the hypervisor stole is not in them).
l7_ticks() {
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# l7_median: the median of the numbers on stdin, one a line.
l7_median() {
  sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
