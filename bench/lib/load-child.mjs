#!/usr/bin/env node
// corebpf side of bench/cases/load-peers.mjs, run as a fresh process (as the peers are):
//
//   node bench/lib/load-child.mjs DIST OBJ N
//
// imports DIST/index.js (the built package), then N times: BpfObject.open(OBJ) + load()
// (timed), each program's kernel id (untimed), close() (timed). Prints the lines of
// bench/native/open_load.c:
//   iter I MS PROGS ID,ID,...
//   maxrss KB            process.resourceUsage().maxRSS (the whole process: workers included)
//   phases BOOT IMPORT   ms from the process's start (performance.timeOrigin) to this script
//                        running, and the import of the package
// and exits. Any failure exits 1 with the error on stderr.
import { pathToFileURL } from 'node:url';

const [dist, obj, n] = process.argv.slice(2);
const boot = performance.now();
try {
  const { BpfObject } = await import(pathToFileURL(`${dist}/index.js`).href);
  const imported = performance.now();
  for (let i = 1; i <= Number(n); i++) {
    const t0 = performance.now();
    const o = await BpfObject.open(obj);
    await o.load();
    const t1 = performance.now();
    const ids = o.programs.map((p) => p.id);
    const t2 = performance.now();
    o.close();
    const t3 = performance.now();
    process.stdout.write(`iter ${i} ${(t1 - t0 + t3 - t2).toFixed(4)} ${ids.length} ${ids.join(',')}\n`);
  }
  process.stdout.write(`maxrss ${process.resourceUsage().maxRSS}\nphases ${boot.toFixed(2)} ${(imported - boot).toFixed(2)}\n`);
  process.exit(0);
} catch (e) {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
}
