#!/usr/bin/env bash
# The npm package as a user gets it: `npm pack`, its file list checked, installed into an
# empty project, and its CLI run from there (--version, demo, relocate). Needs a built tree
# (make all) and the npm registry; `demo` loads into this kernel when run as root.
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/corebpf-pack.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$top"
tarball="$(npm pack --silent --pack-destination "$work" | tail -1)"
tar -tzf "$work/$tarball" | sed 's|^package/||' | sort > "$work/files"
need=(package.json README.md LICENSE dist/index.js dist/cli.js dist/worker.js dist/types/index.d.ts
  dist/wasm/corebpf.wasm dist/wasm/corebpf.cjs dist/THIRD_PARTY_NOTICES
  testdata/progs/execsnoop.bpf.o testdata/btf/manifest.json testdata/btf/amd64-6.1.176.btf.xz)
for f in "${need[@]}"; do
  grep -qx "$f" "$work/files" || { echo "pack-check: $f is missing from the package" >&2; exit 1; }
done
if grep -E '^(test|build|src|scripts|wasm|mk|\.deps|node_modules)/' "$work/files"; then
  echo "pack-check: the package carries the files above, which are not for users" >&2
  exit 1
fi
echo "pack-check: $tarball: $(wc -l < "$work/files") files, $(du -k "$work/$tarball" | cut -f1) KiB"
mkdir "$work/app"
cd "$work/app"
npm init -y > /dev/null
npm install --no-audit --no-fund --silent "$work/$tarball"
npx --no-install corebpf --version
npx --no-install corebpf relocate node_modules/corebpf/testdata/progs/execsnoop.bpf.o \
  --btf node_modules/corebpf/testdata/btf/amd64-6.1.176.btf.xz --kernel-release 6.1.0-50-cloud-amd64 > relocate.txt
grep -q 'real_parent' relocate.txt || { echo "pack-check: relocate printed no real_parent relocation" >&2; cat relocate.txt >&2; exit 1; }
if [ "$(id -u)" = 0 ]; then
  npx --no-install corebpf demo > demo.txt
  grep -q 'exec' demo.txt || { echo "pack-check: demo printed no exec event" >&2; cat demo.txt >&2; exit 1; }
  echo "pack-check: installed package: --version, relocate and demo (loaded into this kernel) work"
else
  echo "pack-check: installed package: --version and relocate work (demo's live part needs root)"
fi
