#!/usr/bin/env node
// Warm open + load, measured against Debian's libbpf doing the same in the same run.
//
//   make -s all bench-native && node bench/open-load-probe.mjs [--rounds 3] [--loads 20]
//        [--object build/bench/open_load.bpf.o] [--from path|bytes] [--dist dist] [--kernel-time]
//        [--no-cache]   (the Relocator's result cache off: every load relocated in the worker)
//
// Each round runs both sides in fresh processes, alternating, so load from other work on
// the machine hits both alike:
//   native   build/bench/open-load-probe OBJECT N: bpf_object__open_file + bpf_object__load +
//            bpf_object__close, N times in one process (libbpf 1.1 parses vmlinux BTF on
//            every load)
//   corebpf  N x (BpfObject.open(OBJECT) + load() + close()) in one Node process; the first
//            is cold (worker spawn, wasm compile, target BTF parse), the rest are warm
// Printed: best and median per side (corebpf: warm loads only, and the open / load split),
// and the ratios corebpf warm / native. Root only (it loads programs into this kernel).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { summarize } from './lib/stats.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const object = resolve(opt('object', `${ROOT}build/bench/open_load.bpf.o`));
const loads = Number(opt('loads', 20));
const from = opt('from', 'path');
const dist = resolve(opt('dist', `${ROOT}dist`));

const kernelTime = args.includes('--kernel-time');
const noCache = args.includes('--no-cache');

if (args[0] === '--child') {
  // one corebpf process: N opens + loads, times on stdout as JSON. --kernel-time: the
  // unbundled build (build/tsc, where the syscall layer can be swapped) with bpf(2) timed
  let kernel = 0;
  /** bpf(2) time by command: map create 0, prog load 5 (the verifier), BTF load 18 */
  let byCmd = {};
  let api;
  if (kernelTime) {
    api = await import(pathToFileURL(`${ROOT}build/tsc/index.js`).href);
    const sc = await import(pathToFileURL(`${ROOT}build/tsc/host/syscall.js`).href);
    const real = sc.getSyscalls();
    sc.setSyscalls(new Proxy(real, {
      get(t, p) {
        const v = t[p];
        if (p !== 'bpf') return typeof v === 'function' ? v.bind(t) : v;
        return (cmd, attr) => {
          const k0 = performance.now();
          try {
            return v.call(t, cmd, attr);
          } finally {
            const dt = performance.now() - k0;
            kernel += dt;
            const name = { 0: 'mapCreate', 5: 'progLoad', 18: 'btfLoad' }[cmd] ?? 'other';
            byCmd[name] = (byCmd[name] ?? 0) + dt;
          }
        };
      },
    }));
  } else {
    api = await import(pathToFileURL(`${dist}/index.js`).href);
  }
  // --no-cache: every load goes through the worker (a new object each time, in effect)
  const relocator = new api.Relocator({ wasmDir: `${dist}/wasm`, ...(noCache ? { resultCache: 0 } : {}) });
  const out = [];
  const bytes = from === 'bytes' ? readFileSync(object) : null;
  for (let i = 0; i < loads; i++) {
    kernel = 0;
    byCmd = {};
    const t0 = performance.now();
    const obj = await api.BpfObject.open(bytes ?? object, { relocator });
    const t1 = performance.now();
    await obj.load();
    const t2 = performance.now();
    obj.close();
    const t3 = performance.now();
    out.push({ open: t1 - t0, load: t2 - t1, close: t3 - t2, total: t3 - t0, kernel, byCmd });
  }
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

if (process.getuid?.() !== 0) {
  console.error('open-load-probe: needs root (it loads programs into this kernel)');
  process.exit(2);
}
const rounds = Number(opt('rounds', 3));
const nativeBin = `${ROOT}build/bench/open-load-probe`;
const native = [];
const warm = [];
const cold = [];
for (let r = 0; r < rounds; r++) {
  const sides = r % 2 ? ['corebpf', 'native'] : ['native', 'corebpf'];
  for (const side of sides) {
    if (side === 'native') {
      const text = execFileSync(nativeBin, [object, String(loads)], { encoding: 'utf8' });
      native.push(...text.trim().split('\n').map(Number));
    } else {
      const text = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', '--object', object, '--loads', String(loads), '--from', from, '--dist', dist, ...(kernelTime ? ['--kernel-time'] : []), ...(noCache ? ['--no-cache'] : [])], { encoding: 'utf8' });
      const runs = JSON.parse(text);
      cold.push(runs[0]);
      warm.push(...runs.slice(1));
    }
  }
}
const s = (xs) => summarize(xs);
const nat = s(native);
const w = s(warm.map((x) => x.total));
const row = (name, st, base) => console.log(`${name.padEnd(22)} best ${st.min.toFixed(3).padStart(8)}  median ${st.median.toFixed(3).padStart(8)} ms${base ? `   ratio best ${(st.min / base.min).toFixed(3)}x  median ${(st.median / base.median).toFixed(3)}x` : ''}`);
console.log(`object ${object} (${readFileSync(object).byteLength} bytes), from ${from}${noCache ? ', result cache off' : ''}; ${rounds} rounds x ${loads} loads per side`);
row('native libbpf 1.1', nat);
row('corebpf warm', w, nat);
row('  open()', s(warm.map((x) => x.open)));
row('  load()', s(warm.map((x) => x.load)));
row('  close()', s(warm.map((x) => x.close)));
if (kernelTime) {
  row('  in bpf(2)', s(warm.map((x) => x.kernel)), nat);
  for (const k of ['progLoad', 'mapCreate', 'btfLoad', 'other']) row(`    ${k}`, s(warm.map((x) => x.byCmd[k] ?? 0)), nat);
  row('  outside bpf(2)', s(warm.map((x) => x.total - x.kernel)), nat);
}
row('corebpf cold (first)', s(cold.map((x) => x.total)));
if (args.includes('--json')) console.log(JSON.stringify({ native, warm, cold }));
