#!/usr/bin/env bash
# Build the cilium/ebpf peer of the load benchmark (bench/cases/load-peers.mjs):
#
#   scripts/bench-go-peer.sh OUT     build OUT from bench/native/cilium_open_load/main.go
#
# Debian 12's Go toolchain and cilium/ebpf 0.9.1 with its dependency (pinned with their
# sha256 in bench/native/go-peer.lock) are fetched with `apt-get download` through a private
# apt state (scripts/lib/apt-private.sh: own sources.list built from the system's mirror
# URIs, own lists and cache; the system's apt configuration is never changed and nothing is
# installed), cached under build/bench/peers/debs/, unpacked with `dpkg-deb -x` into
# build/bench/peers/root/ and used from there: GOROOT and GOPATH point into it, GOPATH mode
# (GO111MODULE=off), GOPROXY=off, no cgo. No network once the .debs are cached.
#
# When the peer cannot be built (no network and no cached .debs, an architecture without
# pins, a failed build) this writes the reason to OUT.unavailable, removes OUT and exits 0:
# the benchmark then prints the peer as "unavailable: REASON" instead of failing.
set -euo pipefail
export LC_ALL=C
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: $0 OUT}
lock="$top/bench/native/go-peer.lock"
src="$top/bench/native/cilium_open_load/main.go"
peers="$top/build/bench/peers"
reason="$out.unavailable"

note() { echo "bench-go-peer: $*" >&2; }
die() { note "$*"; mkdir -p "$(dirname "$out")"; printf '%s\n' "$*" > "$reason"; rm -f "$out"; exit 0; }

arch=$(dpkg --print-architecture 2>/dev/null) || die "dpkg is missing (the Go peer comes from Debian packages)"
rows() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$lock" | awk -v a="$arch" '$1 == "deb" && ($2 == a || $2 == "all")'; }
sed -e 's/#.*//' "$lock" | awk -v a="$arch" '$1 == "deb" && $2 == a' | grep -q . ||
  die "no Go toolchain pinned for $arch in bench/native/go-peer.lock"
suites=$(sed -e 's/#.*//' "$lock" | awk '$1 == "suites" { $1 = ""; print; exit }')

# shellcheck source=lib/apt-private.sh
aptroot="$peers/apt"
. "$top/scripts/lib/apt-private.sh"

sha256() { sha256sum "$1" | cut -d' ' -f1; }
mkdir -p "$peers"
stamp="$peers/root/.lock"
if ! cmp -s "$lock" "$stamp" 2>/dev/null; then
  debs=()
  while read -r _ parch pkg ver sha; do
    [ "$parch" = all ] && parch=$arch
    f="$peers/debs/${pkg}_${ver//:/%3a}.deb"
    if ! [ -f "$f" ] || [ "$(sha256 "$f")" != "$sha" ]; then
      # (apt_for's own failures go through die() above; a failed update only warns, and the
      # download below then says what is missing)
      [ -n "${APT_GET:-}" ] || apt_for "$arch" "$suites" > "$peers/apt.log" 2>&1
      mkdir -p "$peers/debs"
      tmp=$(mktemp -d "$peers/debs/.dl.XXXXXX")
      if ! (cd "$tmp" && "${APT_GET[@]}" download "$pkg:$parch=$ver") > "$tmp/log" 2>&1; then
        msg=$(grep -E '^(E|W):' "$tmp/log" | head -1); rm -rf "$tmp"
        die "apt-get download $pkg=$ver failed (offline, or Debian replaced it: re-pin bench/native/go-peer.lock): ${msg:-see apt output}"
      fi
      got=("$tmp"/*.deb)
      sum=$(sha256 "${got[0]}")
      [ "$sum" = "$sha" ] || { rm -rf "$tmp"; die "$pkg $ver: sha256 $sum is not the pinned $sha"; }
      mv "${got[0]}" "$f"; rm -rf "$tmp"
    fi
    debs+=("$f")
  done < <(rows)
  rm -rf "$peers/root"; mkdir -p "$peers/root"
  for f in "${debs[@]}"; do dpkg-deb -x "$f" "$peers/root" || die "dpkg-deb -x $f failed"; done
  cp "$lock" "$stamp"
fi

goroot=$(echo "$peers"/root/usr/lib/go-*)
[ -x "$goroot/bin/go" ] || die "no go binary in $goroot"
mkdir -p "$(dirname "$out")"
if ! env -i PATH="$goroot/bin:/usr/bin:/bin" HOME="$peers" GOROOT="$goroot" \
    GOPATH="$peers/root/usr/share/gocode" GOCACHE="$peers/gocache" GO111MODULE=off \
    GOPROXY=off GOFLAGS= GOTOOLCHAIN=local CGO_ENABLED=0 \
    "$goroot/bin/go" build -o "$out" "$src" > "$peers/build.log" 2>&1; then
  die "go build of $src failed: $(head -3 "$peers/build.log" | tr '\n' ' ')"
fi
rm -f "$reason"
note "built $out ($("$goroot/bin/go" version 2>/dev/null | cut -d' ' -f3), cilium/ebpf $(awk '$3 == "golang-github-cilium-ebpf-dev" {print $4}' "$lock"))"
