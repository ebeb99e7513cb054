#!/usr/bin/env bash
# Fetch the lab's kernels (scripts/lab/kernels.list) into .deps/lab/kernels/NAME/:
#   vmlinuz     the kernel image as Debian ships it
#   config      its /boot/config (the guest gets it as /boot/config-REL, where libbpf looks)
#   System.map
#   modules/    /lib/modules/REL (the lab loads the few modules a test needs)
#   info        "NAME ARCH RELEASE PACKAGE=VERSION@SHA256..." as fetched
#
#   scripts/lab/fetch-kernels.sh [NAME...]     fetch what is not cached (sha256 checked)
#   scripts/lab/fetch-kernels.sh --pin NAME... download and write the sha256s into kernels.list
#
# apt runs with a private state per architecture under .deps/lab/apt (mirror URIs read from
# the system's sources at run time); nothing is installed, the system apt config is untouched.
set -euo pipefail
export LC_ALL=C
top=$(cd "$(dirname "$0")/../.." && pwd)
list="$top/scripts/lab/kernels.list"
deps="${DEPS:-$top/.deps}"
aptroot="$deps/lab/apt"
kdir="$deps/lab/kernels"
note() { echo "lab-fetch: $*" >&2; }
die() { echo "lab-fetch: $*" >&2; exit 1; }
# shellcheck source=../lib/apt-private.sh
. "$top/scripts/lib/apt-private.sh"

pin=0
[ "${1:-}" = --pin ] && { pin=1; shift; }
mapfile -t rows < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list")
want=("$@")
sel() { [ ${#want[@]} = 0 ] && return 0; local w; for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }
for w in "${want[@]}"; do printf '%s\n' "${rows[@]}" | awk -v n="$w" '$1 == n {f = 1} END {exit !f}' || die "$w is not in $list"; done

# available PKG ARCH SUITE -> versions of PKG in SUITE, newest last
available() {
  "${APT_CACHE[@]}" madison "$1:$2" 2>/dev/null |
    awk -F'|' -v s="$3" '$3 ~ (" " s "/") {gsub(/ /,"",$2); print $2}' | sort -V
}

for row in "${rows[@]}"; do
  read -r name arch suite flags specs <<<"$row"
  sel "$name" || continue
  out="$kdir/$name"
  if [ $pin = 0 ] && [ -f "$out/info" ] && [ "$(cut -d' ' -f4- "$out/info")" = "$specs" ]; then
    continue
  fi
  suites=$(printf '%s\n' "${rows[@]}" | awk -v a="$arch" '$2 == a {print $3}' | sort -u | tr '\n' ' ')
  apt_for "$arch" "${suites% }"
  w="$kdir/.work-$name"; rm -rf "$w"; mkdir -p "$w/root"
  # a moving suite: when the image's pinned version is gone, move every package of the row
  # to the newest version of the image's family (same flavor) in the suite
  first=${specs%% *}; pkg=${first%%=*}; ver=${first#*=}; ver=${ver%@*}
  from= to=
  if [ -z "$(available "$pkg" "$arch" "$suite" | grep -Fx "$ver")" ]; then
    [ "$flags" = moving ] || die "$pkg=$ver is gone from $suite ($arch); pick a current one with: scripts/extract-btf.sh --avail $arch $suite"
    flavor=${pkg#*+deb[0-9][0-9]-}                 # cloud-amd64
    kind=${pkg%%-[0-9]*}                           # linux-binary
    newest=$("${APT_CACHE[@]}" pkgnames "$kind-" | grep -E "^$kind-[0-9].*-$flavor\$" |
      while read -r p; do available "$p" "$arch" "$suite" | sed "s|^|$p |"; done | sort -V -k2 | tail -1)
    [ -n "$newest" ] || die "no $kind-*-$flavor in $suite any more"
    from=${pkg#"$kind"-}; from=${from%-"$flavor"}
    to=${newest%% *}; to=${to#"$kind"-}; to=${to%-"$flavor"}
    nver=${newest#* }
    note "WARNING: $pkg=$ver is gone from $suite; using the newest there, $to ($nver) — not pinned: run --pin $name"
  fi
  pinned=()
  for spec in $specs; do
    pkg=${spec%%=*} rest=${spec#*=}; ver=${rest%@*} sha=${rest#*@}
    if [ -n "$from" ]; then pkg=${pkg/$from/$to}; ver=$nver; sha=-; fi
    (cd "$w" && "${APT_GET[@]}" download "$pkg:$arch=$ver" >> download.log 2>&1) ||
      { cat "$w/download.log" >&2; die "apt-get download $pkg:$arch=$ver failed"; }
    deb=$(ls "$w"/"${pkg}"_*.deb)
    got=$(sha256sum "$deb" | cut -d' ' -f1)
    if [ $pin = 0 ] && [ "$sha" != - ] && [ "$got" != "$sha" ]; then
      die "$name: $pkg=$ver has sha256 $got, kernels.list pins $sha"
    fi
    [ $pin = 1 ] || [ "$sha" != - ] || [ -n "$from" ] || die "$name: $pkg=$ver has no sha256 in kernels.list: run --pin $name"
    pinned+=("$pkg=$ver@$got")
    dpkg-deb -x "$deb" "$w/root"
  done
  if [ $pin = 1 ]; then
    awk -v n="$name" -v s="${pinned[*]}" '$1 == n && !/^#/ {printf "%-12s %-6s %-9s %-7s %s\n", $1, $2, $3, $4, s; next} {print}' "$list" > "$list.new"
    mv "$list.new" "$list"
    note "$name: pinned ${pinned[*]}"
  fi
  img=$(ls "$w"/root/boot/vmlinu[xz]-* "$w"/root/usr/lib/modules/*/vmlinu[xz] 2>/dev/null | head -1 || true)
  [ -n "$img" ] || die "$name: no kernel image in $specs"
  moddir=$(ls -d "$w"/root/lib/modules/* "$w"/root/usr/lib/modules/* 2>/dev/null | head -1 || true)
  rel=$(basename "$moddir")
  rm -rf "$out"; mkdir -p "$out"
  mv "$img" "$out/vmlinuz"
  for f in config System.map; do
    src=$(ls "$w"/root/boot/$f-* "$moddir/$f" 2>/dev/null | head -1 || true)
    [ -n "$src" ] && mv "$src" "$out/$f"
  done
  [ -f "$out/config" ] || die "$name: no kernel config in $specs"
  # fixture rows (check --verify) load plans, no modules: the generic flavors' are large
  if [ "$flags" = fixture ]; then mkdir -p "$out/modules"; else mv "$moddir" "$out/modules"; fi
  echo "$name $arch $rel ${pinned[*]}" > "$out/info"
  [ -n "$from" ] && echo "$specs" > "$out/unpinned-instead-of"
  rm -rf "$w"
  note "$name: $rel, $(du -sh "$out" | cut -f1)"
done
