#!/usr/bin/env node
// corebpf side of bench/cases/load-peers.mjs, run as a fresh process (as the peers are):
//
//   node bench/lib/load-child.mjs DIST OBJ N [--kernel-time]
//
// imports DIST/index.js (the built package), then N times: BpfObject.open(OBJ) + load()
// (timed), each program's kernel id (untimed), close() (timed). Prints the lines of
// bench/native/open_load.c:
//   iter I MS PROGS ID,ID,... [KMS]
//   vmhwm KB             VmHWM of /proc/self/status: the peak resident set of this process
//                        image, workers included (process.resourceUsage().maxRSS would also
//                        keep the pre-exec copy of the parent's, see bench/README.md)
//   phases BOOT IMPORT   ms from the process's start (performance.timeOrigin) to this script
//                        running, and the import of the package
//   workers N            relocation workers started (0: every load came from the on-disk
//                        cache, COREBPF_CACHE_DIR)
// and exits. Any failure exits 1 with the error on stderr.
// --kernel-time: the unbundled build beside DIST's sources (build/tsc, where the syscall layer
// can be swapped: the bundle does not export it) with bpf(2) timed; KMS is the part of MS
// spent inside bpf(2), the kernel's own work (bench/native/open_load.c prints libbpf's).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, obj, n, mode] = process.argv.slice(2);
const boot = performance.now();
let kernelMs = 0;
/** the package, or with --kernel-time its unbundled build with bpf(2) timed */
async function api() {
  if (mode !== '--kernel-time') return import(pathToFileURL(`${dist}/index.js`).href);
  const tsc = new URL('../../build/tsc/', import.meta.url);
  const sc = await import(new URL('host/syscall.js', tsc).href);
  const real = sc.getSyscalls();
  const timed = (call) => (cmd, attr) => {
    const t0 = performance.now();
    try {
      return call(cmd, attr);
    } finally {
      kernelMs += performance.now() - t0;
    }
  };
  const bpf = timed(real.bpf);
  // the -errno variant map lookups use, timed the same way
  if (real.bpf.orErrno) bpf.orErrno = timed(real.bpf.orErrno);
  sc.setSyscalls(new Proxy(real, { get: (t, p) => (p === 'bpf' ? bpf : typeof t[p] === 'function' ? t[p].bind(t) : t[p]) }));
  return import(new URL('index.js', tsc).href);
}
try {
  const { BpfObject, Relocator } = await api();
  // the shared one's equal, named to count its workers (the unbundled build finds no wasm
  // beside itself: DIST's)
  const relocator = new Relocator(mode === '--kernel-time' ? { wasmDir: resolve(dist, 'wasm') } : {});
  const imported = performance.now();
  for (let i = 1; i <= Number(n); i++) {
    kernelMs = 0;
    const t0 = performance.now();
    const o = await BpfObject.open(obj, { relocator });
    await o.load();
    const t1 = performance.now();
    const k1 = kernelMs;
    const ids = o.programs.map((p) => p.id);
    const k2 = kernelMs;
    const t2 = performance.now();
    o.close();
    const t3 = performance.now();
    const k = mode === '--kernel-time' ? ` ${(kernelMs - (k2 - k1)).toFixed(4)}` : '';
    process.stdout.write(`iter ${i} ${(t1 - t0 + t3 - t2).toFixed(4)} ${ids.length} ${ids.join(',')}${k}\n`);
  }
  process.stdout.write(`vmhwm ${readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+)/m)?.[1] ?? -1}\nphases ${boot.toFixed(2)} ${(imported - boot).toFixed(2)}\nworkers ${relocator.pool.started}\n`);
  process.exit(0);
} catch (e) {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
}
