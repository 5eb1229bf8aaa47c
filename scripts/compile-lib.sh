# Shared by scripts/build and scripts/release (sourced, not run): compile src/main.ts
# into one executable with Bun or Deno, the build's commit and date embedded
# (src/version.ts reads them; `vane --version` shows them).
bun=node_modules/.bin/bun
deno=node_modules/.bin/deno

build_commit() { git rev-parse --short=12 HEAD 2>/dev/null || echo unknown; }
build_date() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# compile_bun OUT [TARGET]: bun build --compile (offline cross-compile for any TARGET;
# --minify is the smallest that still starts: --bytecode adds ~3 MB, strip(1) removes
# the embedded program; docs/install.md has the measurements).
compile_bun() {
  local out=$1 target=()
  [ -n "${2:-}" ] && target=(--target "$2")
  "$bun" build --compile --minify "${target[@]}" \
    --define "VANE_BUILD_COMMIT=\"$(build_commit)\"" \
    --define "VANE_BUILD_DATE=\"$(build_date)\"" \
    src/main.ts --outfile "$out"
}

# compile_deno OUT [TARGET]: deno compile, which needs its denort base binary for the
# target (downloaded from dl.deno.land, or DENORT_BIN). deno compile has no --define,
# so a Deno-built binary reports commit and date as "source". The V8 flags are those of
# src/runtime/deno-flags.ts, baked into the binary.
compile_deno() {
  local out=$1 target=()
  [ -n "${2:-}" ] && target=(--target "$2")
  NO_COLOR=1 "$deno" compile --allow-all --unstable-net --v8-flags=--min-semi-space-size=16 "${target[@]}" --output "$out" src/main.ts
}

# deno_failure_reason LOG: the first line of a deno compile failure that says why, in
# plain words (NO_COLOR is set, and any escape code left is stripped).
deno_failure_reason() {
  local plain reason
  plain=$(printf '%s\n' "$1" | sed 's/\x1b\[[0-9;]*m//g')
  # deno's deepest cause names the real problem (a DNS failure, a refused connection).
  reason=$(printf '%s\n' "$plain" | grep -E '^ *1: ' | sed 's/^ *1: //' | head -n 1 || true)
  [ -n "$reason" ] || reason=$(printf '%s\n' "$plain" | grep -iE '^error' | head -n 1 || true)
  printf '%s' "${reason:-deno compile exited without saying why}"
}
