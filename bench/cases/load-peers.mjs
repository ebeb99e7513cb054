// Loading an object: corebpf against native libbpf and cilium/ebpf, each in its own fresh
// processes, measured in the same run (bench/README.md, "Against libbpf and cilium/ebpf").
//
// Sides (every one prints `iter I MS PROGS ID,...` per load and `vmhwm KB` at exit):
//   corebpf  node bench/lib/load-child.mjs DIST OBJ N: the built package (ctx.dist, default
//            dist/), BpfObject.open(OBJ) + load() + close()
//   libbpf   build/bench/open-load OBJ N (bench/native/open_load.c, Debian's libbpf 1.1):
//            bpf_object__open_file + bpf_object__load + bpf_object__close
//   cilium   build/bench/cilium-open-load OBJ N (cilium/ebpf 0.9.1, Debian's Go 1.19):
//            ebpf.LoadCollectionSpec + NewCollectionWithOptions (kernel types parsed once per
//            process) + Close
//   node     bare `node -e 0` (start) / a node printing its VmHWM (memory)
// Objects (make bench-peers): load_bench.bpf.o (tracepoints with CO-RE reads, ring buffer,
// hash maps, .rodata, .bss, .kconfig externs) and load_bench_nocore.bpf.o (the same without
// .kconfig externs and CO-RE relocations: what cilium/ebpf 0.9.1 loads on this kernel).
// Rows per object:
//   warm   20 loads per process, loads 2..20 of every process: median and best; ratio
//          corebpf / libbpf (medians), goal <= 0.05x
//   start  wall time from spawn to exit of a process that loads the object once; median of
//          the runs, sides interleaved; ratio corebpf / bare node, goal <= 2x
//   rss    peak RSS of those processes (VmHWM at exit: the process image's own high-water
//          mark; getrusage's maxRSS of a spawned child also counts the parent's pages
//          copied at fork), median; goal corebpf <= 64 MB (ratio vs bare node)
//   warm/.../in-bpf   the floor under the warm goal: ms inside bpf(2) per warm load, corebpf
//          (bench/lib/load-child.mjs --kernel-time) and libbpf (bench/native/open_load.c
//          times its own calls); ratio corebpf's / libbpf's whole warm load (informative)
//   start/.../cache-hit, rss/.../cache-hit: the same for corebpf processes whose
//          COREBPF_CACHE_DIR an earlier process filled (an on-disk cache hit: no worker
//          starts; the side fails if one does). The plain rows run without the cache.
//   start/floor, rss/floor   the floor under the start and memory goals, once: a process that
//          starts a worker, compiles corebpf.wasm there and reads this kernel's BTF into wasm
//          memory, nothing else (bench/lib/floor-child.cjs), vs bare node (informative)
// Every load must report the object's program count with a kernel id per program, or the
// side fails (a peer that loads nothing cannot produce a fast number).
//
//   node bench/cases/load-peers.mjs [--quick] [--rounds N] [--runs N] [--dist DIR] [--json]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { ROOT, isMain, median, round } from './host-lib.mjs';

const B = `${ROOT}build/bench`;
const LIBBPF = `${B}/open-load`;
const CILIUM = `${B}/cilium-open-load`;
const CHILD = `${ROOT}bench/lib/load-child.mjs`;
const FLOOR = `${ROOT}bench/lib/floor-child.cjs`;
const HOST_BTF = '/sys/kernel/btf/vmlinux';
const OBJECTS = [
  { id: 'full', file: 'load_bench.bpf.o', programs: 2 },
  { id: 'nocore', file: 'load_bench_nocore.bpf.o', programs: 2 },
];
const LOADS = 20;
const GOALS = {
  warm: { max: 0.05, text: '<=0.05x libbpf' },
  start: { max: 2, text: '<=2x node -e 0' },
  rss: { maxMB: 64, text: '<=64 MB' },
};
const NAMES = { corebpf: 'corebpf', libbpf: 'libbpf', cilium: 'cilium/ebpf', node: 'node', hit: 'corebpf (cache hit)' };
/** the environment without the on-disk cache (the plain corebpf side), or with `dir` */
const cacheEnv = (dir) => {
  const env = { ...process.env };
  delete env.COREBPF_CACHE_DIR;
  return dir ? { ...env, COREBPF_CACHE_DIR: dir } : env;
};
const PRINT_RSS = "process.stdout.write(`vmhwm ${require('fs').readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\\s+(\\d+)/m)[1]}\\n`)";

function skipReason(dist) {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.geteuid?.() !== 0) return 'needs root (loads BPF programs)';
  if (!existsSync(`${dist}/index.js`)) return `${dist}/index.js is missing: run \`make -s all\``;
  for (const o of OBJECTS) if (!existsSync(`${B}/${o.file}`)) return `build/bench/${o.file} is missing: run \`make bench-peers\``;
  return null;
}

/** why the cilium/ebpf peer binary is missing, or null */
function ciliumMissing() {
  if (existsSync(CILIUM)) return null;
  const why = `${CILIUM}.unavailable`;
  return existsSync(why) ? readFileSync(why, 'utf8').trim() : 'build/bench/cilium-open-load is missing: run `make bench-peers`';
}

/** one process: wall ms from spawn to exit, per-load ms, VmHWM KB; throws with the side's stderr */
function runProcess(cmd, args, expectLoads, programs, { rss: needRss = true, env = undefined } = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 24, env });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error || r.status !== 0) {
    const err = (r.stderr ?? '').split(ROOT).join('').replace(/^kernel-types-error: /m, 'kernel BTF: ').trim().split('\n').filter(Boolean);
    throw new Error(r.error?.message ?? (err.length ? err.slice(-3).join('; ') : `exit status ${r.status}`));
  }
  const loads = [];
  /** per load, the ms inside bpf(2), where the side reports it */
  const kernel = [];
  let rss;
  let phases;
  let workers;
  for (const line of r.stdout.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'iter') {
      const ids = (f[4] ?? '').split(',').map(Number);
      if (Number(f[3]) !== programs || ids.length !== programs || ids.some((id) => !(id > 0)) || new Set(ids).size !== programs) {
        throw new Error(`load ${f[1]} reported ${f[3]} programs with ids '${f[4] ?? ''}', expected ${programs} programs with distinct kernel ids`);
      }
      loads.push(Number(f[2]));
      if (f[5] !== undefined) kernel.push(Number(f[5]));
    } else if (f[0] === 'vmhwm') rss = Number(f[1]);
    else if (f[0] === 'phases') phases = { boot: Number(f[1]), import: Number(f[2]) };
    else if (f[0] === 'workers') workers = Number(f[1]);
  }
  if (loads.length !== expectLoads) throw new Error(`${loads.length} loads reported, expected ${expectLoads}`);
  if (needRss && !(rss > 0)) throw new Error('no vmhwm line');
  return { wall, loads, kernel, rss, phases, workers };
}

/** cilium/ebpf's errors without the repeated paths; BTF kinds by name */
function shortReason(msg) {
  const kinds = { 17: 'DECL_TAG', 18: 'TYPE_TAG', 19: 'ENUM64' };
  return msg
    .replace(/LoadCollectionSpec\([^)]*\): file \S+: /g, '')
    .replace(/can't read types: type id (\d+): unknown kind: Unknown \((\d+)\)/g,
      (_, id, k) => `type ${id} has BTF kind ${k}${kinds[k] ? ` (${kinds[k]})` : ''}, unknown to this cilium/ebpf`);
}

/** sides that load OBJ: name -> (n) => runProcess(...) */
function loaders(dist, path, programs) {
  return {
    corebpf: (n) => runProcess(process.execPath, [CHILD, dist, path, String(n)], n, programs, { env: cacheEnv() }),
    /** corebpf (its unbundled build) with bpf(2) timed: not a side of the warm row */
    corebpfKernel: (n) => runProcess(process.execPath, [CHILD, dist, path, String(n), '--kernel-time'], n, programs, { env: cacheEnv() }),
    libbpf: (n) => runProcess(LIBBPF, [path, String(n)], n, programs),
    cilium: (n) => runProcess(CILIUM, [path, String(n)], n, programs),
  };
}

/** `rounds` rounds over the available sides, order alternating per round */
function interleave(sides, rounds, fn) {
  const keys = Object.keys(sides);
  const out = Object.fromEntries(keys.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) for (const k of r % 2 ? [...keys].reverse() : keys) out[k].push(fn(sides[k], k));
  return out;
}

function num(v) {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function fmt(v, unit) {
  if (typeof v === 'string') return v;
  if (typeof v !== 'number' || !Number.isFinite(v)) return '-';
  return `${num(v)} ${unit}`;
}

/** a finished row: corebpf value against `base` (the goal's peer), other peers as text */
function mkRow(name, object, unit, values, baseKey, goal, met, extra = {}) {
  const base = values[baseKey];
  const ratio = typeof base === 'number' ? round(values.corebpf / base, 3) : NaN;
  const peers = Object.entries(values).filter(([k]) => k !== 'corebpf');
  return {
    case: name, object, unit,
    wasm_or_node_value: round(values.corebpf, 2),
    native_value: typeof base === 'number' ? round(base, 2) : null,
    native_side: NAMES[baseKey],
    ratio, goal: goal.text, met: met(ratio, values.corebpf),
    peers: Object.fromEntries(peers.map(([k, v]) => [NAMES[k], typeof v === 'number' ? round(v, 2) : v])),
    // the reason a peer is unavailable is spelled out once per object, in its warm row
    peersText: peers.map(([k, v]) => `${NAMES[k]} ${typeof v === 'string' && !name.includes('/warm/') ? `unavailable (see ${name.replace(/\/(start|rss)\//, '/warm/')})` : fmt(v, unit)}`).join('; '),
    ...extra,
  };
}

export async function run(ctx = {}) {
  const dist = ctx.dist ?? `${ROOT}dist`;
  const why = skipReason(dist);
  if (why) {
    process.stderr.write(`  load-peers: skipped: ${why}\n`);
    return [];
  }
  const quick = ctx.quick ?? false;
  const procs = ctx.loadRounds ?? (quick ? 1 : 3);
  const runs = ctx.startRuns ?? (quick ? 3 : 11);
  const loadavgBefore = loadavg().map((x) => round(x, 2));
  const rows = [];
  for (const o of OBJECTS) {
    const path = `${B}/${o.file}`;
    const all = loaders(dist, path, o.programs);
    const unavailable = {};
    if (!existsSync(LIBBPF)) unavailable.libbpf = 'build/bench/open-load is missing: run `make bench-peers`';
    const cm = ciliumMissing();
    if (cm) unavailable.cilium = cm;
    // a peer that cannot load this object says why (one probe load, untimed)
    for (const k of ['libbpf', 'cilium']) {
      if (unavailable[k]) continue;
      try {
        all[k](1);
      } catch (e) {
        unavailable[k] = `cannot load ${o.file}: ${shortReason(e.message)}`;
      }
    }
    all.corebpf(1); // fails the case if corebpf cannot load it
    const { corebpfKernel } = all;
    delete all.corebpfKernel;
    const sides = Object.fromEntries(Object.entries(all).filter(([k]) => !unavailable[k]));
    const un = Object.fromEntries(Object.keys(unavailable).map((k) => [k, `unavailable: ${unavailable[k]}`]));
    process.stderr.write(`  load-peers: ${o.file}: ${Object.keys(sides).join(', ')}` +
      `${Object.keys(un).length ? ` (${Object.entries(un).map(([k, v]) => `${NAMES[k]} ${v}`).join('; ')})` : ''}\n`);

    // warm: 20 loads per process, loads 2..20
    const warmRuns = interleave(sides, procs, (f) => f(LOADS));
    const warm = Object.fromEntries(Object.entries(warmRuns).map(([k, runs]) => [k, runs.map((r) => r.loads.slice(1))]));
    const wMed = {};
    const wBest = {};
    for (const [k, per] of Object.entries(warm)) {
      wMed[k] = median(per.flat());
      wBest[k] = Math.min(...per.flat());
    }
    rows.push(mkRow(`load-peers/warm/${o.id}`, o.file, 'ms', { ...wMed, ...un }, 'libbpf', GOALS.warm,
      (ratio) => ratio <= GOALS.warm.max,
      {
        best: Object.fromEntries(Object.entries(wBest).map(([k, v]) => [NAMES[k], round(v, 3)])), processes: procs, loadsPerProcess: LOADS,
        samples: Object.fromEntries(Object.entries(warm).map(([k, per]) => [NAMES[k], per.map((xs) => xs.map((x) => round(x, 3)))])),
      }));

    // the floor under the warm goal: the kernel's own work, inside bpf(2), per warm load of
    // corebpf (its unbundled build, whose syscall layer can be timed) and of libbpf (its
    // syscall() interposed, bench/native/open_load.c), against libbpf's whole open + load
    if (sides.libbpf) {
      const kc = [];
      for (let r = 0; r < procs; r++) kc.push(...corebpfKernel(LOADS).kernel.slice(1));
      const kl = median(warmRuns.libbpf.flatMap((r) => r.kernel.slice(1)));
      const floor = median(kc);
      rows.push({
        case: `load-peers/warm/${o.id}/in-bpf`, object: o.file, unit: 'ms',
        wasm_or_node_value: round(floor, 3), native_value: round(wMed.libbpf, 2), native_side: NAMES.libbpf,
        ratio: round(floor / wMed.libbpf, 3), goal: `floor of ${GOALS.warm.text}`, met: undefined,
        peers: { [NAMES.libbpf]: round(kl, 3) },
        note: 'ms inside bpf(2) per warm load (the kernel\'s work: map creation, BTF and program loads, the verifier); ratio = corebpf\'s in bpf(2) / libbpf\'s whole warm open + load',
        samples: { corebpf: kc.map((x) => round(x, 3)) },
      });
    }

    // start -> first program loaded, and peak RSS, from the same fresh processes; the cache-hit
    // side reads a cache directory one process filled first
    const cacheDir = mkdtempSync(`${tmpdir()}/corebpf-bench-cache-`);
    runProcess(process.execPath, [CHILD, dist, path, '1'], 1, o.programs, { env: cacheEnv(cacheDir) });
    const hit = () => {
      const r = runProcess(process.execPath, [CHILD, dist, path, '1'], 1, o.programs, { env: cacheEnv(cacheDir) });
      if (r.workers !== 0) throw new Error(`the cache-hit side started ${r.workers} worker(s): not a hit`);
      return r;
    };
    const startSides = { ...sides, hit, node: () => ({ wall: runProcess(process.execPath, ['-e', '0'], 0, 0, { rss: false }).wall }) };
    const nodeRss = [];
    const start = interleave(startSides, runs, (f, k) => {
      const r = f(1);
      if (k === 'node') nodeRss.push(runBareRss());
      return r;
    });
    rmSync(cacheDir, { recursive: true, force: true });
    const hits = start.hit;
    delete start.hit;
    const sMed = Object.fromEntries(Object.entries(start).map(([k, xs]) => [k, median(xs.map((x) => x.wall))]));
    rows.push(mkRow(`load-peers/start/${o.id}`, o.file, 'ms', { ...sMed, ...un }, 'node', GOALS.start,
      (ratio) => ratio <= GOALS.start.max, {
        runs,
        // corebpf's start split: node until the script runs, the package's import, the first load
        corebpfPhases: {
          boot: round(median(start.corebpf.map((x) => x.phases.boot)), 2),
          import: round(median(start.corebpf.map((x) => x.phases.import)), 2),
          firstLoad: round(median(start.corebpf.map((x) => x.loads[0])), 2),
        },
        samples: Object.fromEntries(Object.entries(start).map(([k, xs]) => [NAMES[k], xs.map((x) => round(x.wall, 2))])),
      }));
    const rMed = Object.fromEntries(Object.entries(start).filter(([k]) => k !== 'node').map(([k, xs]) => [k, median(xs.map((x) => x.rss)) / 1024]));
    rMed.node = median(nodeRss) / 1024;
    rows.push(mkRow(`load-peers/rss/${o.id}`, o.file, 'MB', { ...rMed, ...un }, 'node', GOALS.rss,
      (_, v) => v <= GOALS.rss.maxMB, { runs, samplesKB: { ...Object.fromEntries(Object.entries(start).filter(([k]) => k !== 'node').map(([k, xs]) => [NAMES[k], xs.map((x) => x.rss)])), node: nodeRss } }));
    // the same with an on-disk cache hit (the first run on a machine, kernel or build is the row above)
    rows.push(mkRow(`load-peers/start/${o.id}/cache-hit`, o.file, 'ms', { corebpf: median(hits.map((x) => x.wall)), node: sMed.node }, 'node', GOALS.start,
      (ratio) => ratio <= GOALS.start.max, {
        runs,
        corebpfPhases: {
          boot: round(median(hits.map((x) => x.phases.boot)), 2),
          import: round(median(hits.map((x) => x.phases.import)), 2),
          firstLoad: round(median(hits.map((x) => x.loads[0])), 2),
        },
        samples: { [NAMES.hit]: hits.map((x) => round(x.wall, 2)), node: start.node.map((x) => round(x.wall, 2)) },
      }));
    rows.push(mkRow(`load-peers/rss/${o.id}/cache-hit`, o.file, 'MB', { corebpf: median(hits.map((x) => x.rss)) / 1024, node: rMed.node }, 'node', GOALS.rss,
      (_, v) => v <= GOALS.rss.maxMB, { runs, samplesKB: { [NAMES.hit]: hits.map((x) => x.rss), node: nodeRss } }));
  }
  rows.push(...floorRows(dist, runs));
  for (const r of rows) r.loadavgBefore = loadavgBefore;
  return rows;
}

/**
 * The floor under the start and memory goals: a process that only starts a worker, compiles
 * corebpf.wasm there and reads this kernel's BTF into wasm memory (bench/lib/floor-child.cjs),
 * against bare node, interleaved. Every corebpf load that relocates pays at least this.
 */
function floorRows(dist, runs) {
  if (!existsSync(HOST_BTF)) return [];
  const sides = {
    floor: () => runProcess(process.execPath, [FLOOR, `${dist}/wasm/corebpf.wasm`, HOST_BTF], 0, 0),
    node: () => ({ wall: runProcess(process.execPath, ['-e', '0'], 0, 0, { rss: false }).wall, rss: runBareRss() }),
  };
  const r = interleave(sides, runs, (f) => f());
  const med = (k, f) => median(r[k].map(f));
  const note = 'a process that starts a worker, compiles corebpf.wasm in it and reads the kernel\'s BTF into wasm memory, nothing else (bench/lib/floor-child.cjs): the corebpf column';
  const informative = () => undefined;
  return [
    mkRow('load-peers/start/floor', HOST_BTF, 'ms', { corebpf: med('floor', (x) => x.wall), node: med('node', (x) => x.wall) }, 'node',
      { text: `floor of ${GOALS.start.text}` }, informative, { runs, note }),
    mkRow('load-peers/rss/floor', HOST_BTF, 'MB', { corebpf: med('floor', (x) => x.rss) / 1024, node: med('node', (x) => x.rss) / 1024 }, 'node',
      { text: `floor of ${GOALS.rss.text}` }, informative, { runs, note }),
  ];
}

/** VmHWM (KB) of a bare node that only prints it */
function runBareRss() {
  return runProcess(process.execPath, ['-e', PRINT_RSS], 0, 0).rss;
}

export function printRows(rows, out = process.stdout) {
  const sides = ['libbpf', 'cilium/ebpf', 'node'];
  const lines = [['case', 'corebpf', ...sides, 'ratio', 'goal', '']];
  for (const r of rows) {
    const cell = (s) => {
      const v = r.peers[s];
      if (v === undefined) return '';
      const best = r.best?.[s];
      return typeof v === 'number' ? `${fmt(v, r.unit)}${best !== undefined ? ` (best ${num(best)})` : ''}` : 'unavailable';
    };
    const best = r.best?.corebpf;
    lines.push([r.case, `${fmt(r.wasm_or_node_value, r.unit)}${best !== undefined ? ` (best ${num(best)})` : ''}`, ...sides.map(cell),
      Number.isFinite(r.ratio) ? `${r.ratio.toFixed(r.ratio < 0.1 ? 3 : 2)}x ${r.native_side}` : '-', r.goal, r.met === undefined ? 'informative' : r.met ? 'met' : 'NOT MET']);
  }
  const clip = (s) => (s.length > 60 ? `${s.slice(0, 57)}...` : s);
  const w = lines[0].map((_, c) => Math.max(...lines.map((l) => clip(String(l[c])).length)));
  out.write(`${lines.map((l) => l.map((v, c) => clip(String(v)).padEnd(w[c])).join('  ').trimEnd()).join('\n')}\n`);
  const why = new Set(rows.flatMap((r) => Object.entries(r.peers).filter(([, v]) => typeof v === 'string').map(([k, v]) => `${k} ${v}`)));
  for (const w2 of why) out.write(`  ${w2}\n`);
  for (const r of rows.filter((x) => x.corebpfPhases)) {
    const p = r.corebpfPhases;
    out.write(`  ${r.case}: corebpf's process: node start ${num(p.boot)} ms, import ${num(p.import)} ms, first open+load+close ${num(p.firstLoad)} ms (medians)\n`);
  }
}

export default {
  id: 'load-peers',
  title: 'open + load of an object: corebpf vs native libbpf and cilium/ebpf (fresh processes)',
  perTarget: false,
  variants: [],
  rows: run,
};

if (isMain(import.meta.url)) {
  const a = process.argv.slice(2);
  const opt = (k) => (a.includes(k) ? a[a.indexOf(k) + 1] : undefined);
  const rows = await run({
    quick: a.includes('--quick'),
    loadRounds: opt('--rounds') && Number(opt('--rounds')),
    startRuns: opt('--runs') && Number(opt('--runs')),
    dist: opt('--dist') && (await import('node:path')).resolve(opt('--dist')),
  });
  if (a.includes('--json')) process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
  else printRows(rows);
}
