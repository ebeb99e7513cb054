// Start-up probe (issue 14): one process that imports corebpf, opens and loads one object
// into the running kernel, and exits. Run by bench/startup.sh (or by hand, as root):
//   node bench/startup-probe.mjs [object]   -> JSON on stderr (QUIET=1: nothing): ms since
//   the process's time origin at each phase's end (boot: this script starts; loaded; exit:
//   the 'exit' event), each phase's own ms (import, open, load), peak RSS in MB, and how
//   many relocation workers were started (0 on an on-disk cache hit: COREBPF_CACHE_DIR).
// The wall time of the whole process (start -> exit) is what the shell loop measures.
import { performance } from 'node:perf_hooks';
const t0 = performance.now();
const { BpfObject, Relocator } = await import('../dist/index.js');
const tImport = performance.now();
const path = process.argv[2] ?? new URL('../testdata/progs/execsnoop.bpf.o', import.meta.url).pathname;
// (the shared relocator's equal, named to count its workers; COREBPF_CACHE_DIR: the cache)
const relocator = new Relocator();
const obj = await BpfObject.open(path, { relocator });
const tOpen = performance.now();
await obj.load();
const tLoad = performance.now();
obj.close();
const rss = process.resourceUsage().maxRSS / 1024;
if (!process.env.QUIET) {
  process.on('exit', () => {
    const r = (x) => Math.round(x);
    process.stderr.write(JSON.stringify({ boot: r(t0), import: r(tImport - t0), open: r(tOpen - tImport), load: r(tLoad - tOpen), loaded: r(tLoad), exit: r(performance.now()), maxRssMB: r(process.resourceUsage().maxRSS / 1024), rssAtLoadMB: r(rss), workers: relocator.pool.started }) + '\n');
  });
}
