#!/usr/bin/env node
// corebpf side of bench/cases/load-peers.mjs, run as a fresh process (as the peers are):
//
//   node bench/lib/load-child.mjs DIST OBJ N
//
// imports DIST/index.js (the built package), then N times: BpfObject.open(OBJ) + load()
// (timed), each program's kernel id (untimed), close() (timed). Prints the lines of
// bench/native/open_load.c:
//   iter I MS PROGS ID,ID,...
//   vmhwm KB             VmHWM of /proc/self/status: the peak resident set of this process
//                        image, workers included (process.resourceUsage().maxRSS would also
//                        keep the pre-exec copy of the parent's, see bench/README.md)
//   phases BOOT IMPORT   ms from the process's start (performance.timeOrigin) to this script
//                        running, and the import of the package
//   workers N            relocation workers started (0: every load came from the on-disk
//                        cache, COREBPF_CACHE_DIR)
// and exits. Any failure exits 1 with the error on stderr.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [dist, obj, n] = process.argv.slice(2);
const boot = performance.now();
try {
  const { BpfObject, Relocator } = await import(pathToFileURL(`${dist}/index.js`).href);
  const relocator = new Relocator(); // the shared one's equal, named to count its workers
  const imported = performance.now();
  for (let i = 1; i <= Number(n); i++) {
    const t0 = performance.now();
    const o = await BpfObject.open(obj, { relocator });
    await o.load();
    const t1 = performance.now();
    const ids = o.programs.map((p) => p.id);
    const t2 = performance.now();
    o.close();
    const t3 = performance.now();
    process.stdout.write(`iter ${i} ${(t1 - t0 + t3 - t2).toFixed(4)} ${ids.length} ${ids.join(',')}\n`);
  }
  process.stdout.write(`vmhwm ${readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+)/m)?.[1] ?? -1}\nphases ${boot.toFixed(2)} ${(imported - boot).toFixed(2)}\nworkers ${relocator.pool.started}\n`);
  process.exit(0);
} catch (e) {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
}
