#!/usr/bin/env bash
# The npm package as a user gets it: `npm pack`, its file list checked, installed into an
# empty project, and its CLI run from there (--version, demo, relocate, and examples/execmon:
# gen from C with the headers it ships, and an app on the generated module). Needs a built tree
# (make all) and the npm registry; `demo` loads into this kernel when run as root.
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/corebpf-pack.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$top"
tarball="$(npm pack --silent --pack-destination "$work" | tail -1)"
tar -tzf "$work/$tarball" | sed 's|^package/||' | sort > "$work/files"
need=(package.json README.md LICENSE dist/index.js dist/cli.js dist/worker.cjs dist/types/index.d.ts
  dist/wasm/corebpf.wasm dist/wasm/corebpf.cjs dist/THIRD_PARTY_NOTICES dist/include/bpf/bpf_helpers.h
  dist/include/bpf/bpf_tracing.h dist/include/bpf/bpf_core_read.h dist/include/bpf/usdt.bpf.h dist/include/linux/errno.h
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
# one of the examples (examples/execmon) as a user builds it: its C compiled by the installed
# package's gen with the headers it ships, against the bundled kernel BTF, and an app written
# only against the generated module, type-checked under --strict against the package's own
# types (the repo's tsc and @types/node: the app installs nothing else)
cp "$top/examples/execmon/execmon.bpf.c" .
npx --no-install corebpf gen execmon.bpf.c --btf node_modules/corebpf/testdata/btf/amd64-6.1.176.btf.xz \
  --type event -o execmon.gen.ts
grep -q 'export interface Event ' execmon.gen.ts || { echo "pack-check: gen from C wrote no Event" >&2; exit 1; }
cat > app.ts <<'EOF_APP'
import { spawnSync } from 'node:child_process';
import { load, type Event } from './execmon.gen.js';

const skel = await load({ rodata: { target_ppid: process.pid } });
await skel.programs.handle_exec.attach();
const rb = await skel.ringbuf('events', 'event');
const child = spawnSync('/bin/true');
const ev: Event | undefined = rb.drain().find((e) => e.pid === child.pid);
console.log(ev ? `exec ${ev.comm} ${ev.filename} pid ${ev.pid} ppid ${ev.ppid}` : 'no exec event');
const execs = skel.bss.execs;
rb.close();
skel.close();
if (!ev || ev.ppid !== process.pid || execs !== 1n) process.exitCode = 1;
EOF_APP
npm pkg set type=module > /dev/null
"$top/node_modules/.bin/tsc" --strict --target es2022 --module nodenext --moduleResolution nodenext \
  --typeRoots "$top/node_modules/@types" --types node app.ts execmon.gen.ts
if [ "$(id -u)" = 0 ]; then
  npx --no-install corebpf demo > demo.txt
  grep -q 'exec' demo.txt || { echo "pack-check: demo printed no exec event" >&2; cat demo.txt >&2; exit 1; }
  node app.js > app.txt || { echo "pack-check: the app on the generated module failed" >&2; cat app.txt >&2; exit 1; }
  grep -q '^exec true /bin/true pid' app.txt || { echo "pack-check: the app printed no exec event" >&2; cat app.txt >&2; exit 1; }
  echo "pack-check: installed package: --version, relocate, demo and examples/execmon built from C by gen and run through its module (loaded into this kernel) work"
else
  echo "pack-check: installed package: --version and relocate work (demo's live part needs root)"
fi
