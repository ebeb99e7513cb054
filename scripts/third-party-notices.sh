#!/usr/bin/env bash
# THIRD_PARTY_NOTICES for what dist/wasm/corebpf.wasm contains, from the PINNED sources'
# own license files (nothing copied by hand): libbpf, elfutils' libelf, zlib. Versions come
# from emsdk.lock. usage: scripts/third-party-notices.sh SRC_DIR OUT
set -euo pipefail
src=$1 out=$2
lock="$(dirname "$0")/../emsdk.lock"
ver() { awk -v n="$1" '$1 == "source" && $2 == n { print $4 " (Debian source package " $3 ")" }' "$lock"; }
section() { # NAME VERSION-KEY LICENSE-SUMMARY FILE...
  local name=$1 key=$2 summary=$3; shift 3
  printf '================================================================================\n'
  printf '%s %s\nLicense: %s\n' "$name" "$(ver "$key")" "$summary"
  for f in "$@"; do
    [ -f "$src/$f" ] || { echo "third-party-notices: $src/$f is missing" >&2; exit 1; }
    printf -- '---------- %s ----------\n' "${f#*/}"
    cat "$src/$f"
  done
  printf '\n'
}
{
  printf 'corebpf bundles, compiled into dist/wasm/corebpf.wasm:\n\n'
  section libbpf libbpf 'LGPL-2.1 OR BSD-2-Clause (used here under BSD-2-Clause)' \
    libbpf/LICENSE libbpf/LICENSE.BSD-2-Clause libbpf/LICENSE.LGPL-2.1
  section 'elfutils (libelf)' elfutils 'GPL-2.0-or-later OR LGPL-3.0-or-later (libelf)' \
    elfutils/COPYING-LGPLV3 elfutils/COPYING-GPLV2
  section zlib zlib 'Zlib' zlib/LICENSE
} > "$out.tmp"
mv "$out.tmp" "$out"
