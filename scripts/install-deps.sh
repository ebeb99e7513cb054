#!/usr/bin/env bash
# Install what building and testing corebpf needs on Debian 12: the pinned emscripten
# (emsdk.lock), the pinned clang for test objects and its libFuzzer/sanitizer runtimes (make fuzz), LLVM tools, xz, the Linux UAPI headers,
# the cross compilers and qemu-user that measure the per-architecture C library values
# (scripts/gen-uapi.mjs: aarch64, riscv64) and run the arm64 lab userland, sys/sdt.h for the
# USDT test binary (systemtap-sdt-dev), and npm dependencies. Installs only what is missing; needs root for apt.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
lock="$top/emsdk.lock"
pkg() { sed -n "s/^$1[[:space:]]*//p" "$lock"; }

want=("$(pkg emscripten.package)" "$(pkg clang.package)" llvm-16 libclang-rt-16-dev xz-utils linux-libc-dev iproute2 make gcc chromium libbpf-dev
      qemu-system-x86 qemu-system-arm busybox-static cpio zstd systemtap-sdt-dev
  gcc-aarch64-linux-gnu gcc-riscv64-linux-gnu libc6-dev-arm64-cross libc6-dev-riscv64-cross
  linux-libc-dev-arm64-cross linux-libc-dev-riscv64-cross qemu-user-static bpftool)
missing=()
for p in "${want[@]}"; do
  name=${p%%=*}
  ver=${p#*=}
  [ "$name" = "$p" ] && ver=""
  have=$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)
  if [[ "$have" != "install ok installed"* ]] || { [ -n "$ver" ] && [ "${have##* }" != "$ver" ]; }; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: apt-get install ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

cd "$top"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm install`, not `npm ci`: with this machine's omit-lockfile-registry-resolved (no
  # registry host in the lock file) npm 11 writes locks that `npm ci` rejects as out of
  # sync (rollup's per-platform optional packages); install still follows the lock's versions
  npm install --no-audit --no-fund --loglevel=error
fi
