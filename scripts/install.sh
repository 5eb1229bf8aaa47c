#!/bin/sh
# Installs vane: picks the artefact for this machine (vane-VERSION-OS-ARCH), checks it
# against SHA256SUMS, and puts it in /usr/local/bin (as root) or ~/.local/bin.
#
#   curl -fsSL URL/install.sh | sh -s -- --url URL   from where the release is served
#   sh install.sh --from dist/release              from a local directory (offline)
#   sh install.sh --prefix /opt/vane               installs to /opt/vane/bin/vane
#
# Options: --from DIR, --url URL (a directory holding SHA256SUMS and the artefacts;
# default $VANE_DOWNLOAD_URL), --version V (default: the newest in SHA256SUMS),
# --prefix DIR, --dry-run (say what would happen, change nothing). POSIX sh, no Node.
set -eu

from="" url="${VANE_DOWNLOAD_URL:-}"
version="" prefix="" dry_run=0

say() { printf 'vane install: %s\n' "$*"; }
fail() { printf 'vane install: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case $1 in
    --from) [ $# -ge 2 ] || fail "--from needs a directory"; from=$2; shift 2 ;;
    --url) [ $# -ge 2 ] || fail "--url needs a URL"; url=$2; shift 2 ;;
    --version) [ $# -ge 2 ] || fail "--version needs a version (e.g. 0.1.0)"; version=$2; shift 2 ;;
    --prefix) [ $# -ge 2 ] || fail "--prefix needs a directory"; prefix=$2; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown option '$1' (see --help)" ;;
  esac
done

case $(uname -s) in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) fail "no vane build for $(uname -s); builds exist for Linux and macOS (and Windows: download vane-VERSION-windows-x64.exe)" ;;
esac
case $(uname -m) in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) fail "no vane build for the $(uname -m) processor; builds exist for x86_64 and arm64" ;;
esac

if [ -z "$prefix" ]; then
  if [ "$(id -u)" = 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
fi
bindir="$prefix/bin"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vane-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# fetch NAME: copies NAME from --from DIR, or downloads it from --url, into $tmp.
fetch() {
  if [ -n "$from" ]; then
    [ -f "$from/$1" ] || fail "$from/$1 does not exist"
    cp "$from/$1" "$tmp/$1"
  elif command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 2 -o "$tmp/$1" "$url/$1" || fail "could not download $url/$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$tmp/$1" "$url/$1" || fail "could not download $url/$1"
  else
    fail "neither curl nor wget is installed; install one, or download the files and use --from DIR"
  fi
}

[ -n "$from" ] || [ -n "$url" ] || fail "say where the release is: --from DIR (a copy of dist/release) or --url URL (or set VANE_DOWNLOAD_URL)"
fetch SHA256SUMS
suffix="-$os-$arch"
if [ -z "$version" ]; then
  # The newest version listed for this platform.
  version=$(sed -n "s/^[0-9a-f]\{64\}  vane-\(.*\)$suffix\$/\1/p" "$tmp/SHA256SUMS" | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1)
  [ -n "$version" ] || fail "SHA256SUMS lists no vane build for $os-$arch"
fi
name="vane-$version$suffix"
expected=$(sed -n "s/^\([0-9a-f]\{64\}\)  $name\$/\1/p" "$tmp/SHA256SUMS")
[ -n "$expected" ] || fail "SHA256SUMS lists no $name"

if [ "$dry_run" = 1 ]; then
  say "would install $name to $bindir/vane (checksum $expected)"
  exit 0
fi

fetch "$name"
if command -v sha256sum >/dev/null 2>&1; then
  actual=$(sha256sum "$tmp/$name" | cut -d' ' -f1)
elif command -v shasum >/dev/null 2>&1; then
  actual=$(shasum -a 256 "$tmp/$name" | cut -d' ' -f1)
else
  fail "neither sha256sum nor shasum is installed, so the download cannot be checked"
fi
[ "$actual" = "$expected" ] || fail "checksum mismatch for $name: expected $expected, got $actual; nothing was installed"

mkdir -p "$bindir" || fail "cannot create $bindir (try --prefix DIR, or run as root)"
chmod 755 "$tmp/$name"
# Move into place in one step, so a running vane keeps its old file and a reader never sees half a binary.
cp "$tmp/$name" "$bindir/.vane.new" && mv -f "$bindir/.vane.new" "$bindir/vane" || fail "cannot write $bindir/vane (try --prefix DIR, or run as root)"
say "installed $("$bindir/vane" --version 2>/dev/null || echo "$name") to $bindir/vane"
case ":$PATH:" in
  *":$bindir:"*) ;;
  *) say "$bindir is not on your PATH; add it, or run $bindir/vane" ;;
esac
