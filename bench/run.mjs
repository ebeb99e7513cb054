#!/usr/bin/env node
// corebpf benchmark: wasm (in-process and through the worker pool) against the native
// build of the same C. `npm run bench` builds first, then runs this.
//
//   node bench/run.mjs [--quick] [--reps N] [--warmup N] [--rounds N] [--only REGEX]
//                      [--targets host,amd64-6.1.176] [--object FILE.bpf.o]
//                      [--dist DIR] [--wasm-dir DIR] [--native BIN] [--out FILE]
//
// --dist: the built package to measure (index.js, worker.cjs, wasm/; default dist/), e.g. a
// copy kept to compare builds; --wasm-dir defaults to DIST/wasm.
//
// Each case is a module in bench/cases/, run in file-name order; its default export is one of
//   {id, title, variants, goals, minWarmup, run(ctx, target)}   per target BTF: run() returns
//       samples (ms) per side, { native: [...], <variant>: [...] }; every variant becomes one
//       row against the native samples; goals[variant] = { kind: 'ratio', max, text } (a
//       variant without one is informative); minWarmup: ctx.warmup unless --warmup says.
//       ctx.interleave() measures the sides in alternating rounds so that
//       load from other processes hits all sides alike.
//   {id, title, rows(ctx)}   once: rows(ctx) returns finished rows
//       { case, wasm_or_node_value, native_value, unit, ratio, goal (text), met, ... }
//       (the host cases; see bench/cases/host-lib.mjs).
// Modules with neither (helpers) are skipped. --only REGEX selects 'case/variant' rows.
// Results: a table on stdout and JSON in build/bench/results.json (never committed).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULTS, ROOT, RawWasm, Targets, nativeResult, publicApi, resultReport, stripLog } from './lib/env.mjs';
import { fmtMs, round, summarize, table } from './lib/stats.mjs';

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    only: { type: 'string' },
    targets: { type: 'string' },
    object: { type: 'string', default: DEFAULTS.object },
    dist: { type: 'string', default: DEFAULTS.dist },
    'wasm-dir': { type: 'string' },
    native: { type: 'string', default: DEFAULTS.native },
    out: { type: 'string', default: DEFAULTS.out },
  },
});
const reps = Number(opt.reps ?? (opt.quick ? 10 : 60));
const warmup = Number(opt.warmup ?? (opt.quick ? 3 : 10));
/** a case's warm-up runs: its minWarmup unless --warmup or --quick says otherwise */
const warmupOf = (c) => (opt.warmup !== undefined || opt.quick ? warmup : Math.max(warmup, c.minWarmup ?? 0));
const rounds = Math.max(1, Math.min(reps, Number(opt.rounds ?? (opt.quick ? 2 : 6))));
const only = opt.only ? new RegExp(opt.only) : undefined;
for (const k of ['dist', 'wasm-dir', 'native', 'object', 'out']) if (opt[k]) opt[k] = resolve(opt[k]);
opt['wasm-dir'] ??= `${opt.dist}/wasm`;

// ---- cases ---------------------------------------------------------------------------
const caseDir = new URL('./cases/', import.meta.url);
const cases = [];
// run in file-name order (10-cold.mjs, 20-warm.mjs, ...)
for (const f of readdirSync(caseDir).filter((f) => f.endsWith('.mjs')).sort()) {
  cases.push((await import(new URL(f, caseDir).href)).default);
}

/** --only REGEX selects rows by 'case/variant' (e.g. 'warm', 'cold/raw') */
function wants(c, variant) {
  return !only || only.test(`${c.id}/${variant}`);
}

// ---- context given to every case -------------------------------------------------------
const objectBytes = new Uint8Array(readFileSync(opt.object));
const object = { path: opt.object, bytes: objectBytes, name: basename(opt.object).replace(/\..*$/, '') };
const raw = await RawWasm.load(opt['wasm-dir']);
const api = await publicApi(opt.dist);
const relocators = [];
let uniq = Date.now();

const ctx = {
  raw, api, object, reps, warmup, rounds,
  quick: opt.quick,
  native: opt.native,
  /** the built package measured (rows cases that start their own processes import it) */
  dist: opt.dist,
  unique: () => ++uniq,
  /** whether this run reports `variant` of the current case (--only): skip unwanted set-up */
  wants: (variant) => wants(ctx.current, variant),
  /** a Relocator with one worker (closed at the end of the case); without its result cache,
   *  so every timed relocation goes through the worker (bench/open-load-probe.mjs measures
   *  the cache) */
  relocator(opts = {}) {
    const r = new api.Relocator({ size: 1, wasmDir: opt['wasm-dir'], resultCache: 0, ...opts });
    // count what reaches a worker: expect() checks every timed call did
    const pool = r.pool;
    const relocateWire = pool.relocateWire.bind(pool);
    r.workerCalls = 0;
    pool.relocateWire = (...a) => (r.workerCalls++, relocateWire(...a));
    relocators.push(r);
    return r;
  },
  /** fail loudly when a timed run did not do the real work */
  expect(result, { cached, relocator } = {}) {
    const want = ctx.target.relocations;
    if (relocator) {
      // one relocation in the worker per call (none answered from a result cache)
      if (relocator.workerCalls !== (relocator.checkedCalls ?? 0) + 1) {
        throw new Error(`worker calls: ${relocator.workerCalls}, expected ${(relocator.checkedCalls ?? 0) + 1}: a relocation did not reach the worker`);
      }
      relocator.checkedCalls = relocator.workerCalls;
    }
    if (!result.ok || result.relocations.length !== want) {
      throw new Error(`worker result: ok=${result.ok}, ${result.relocations.length} relocations (expected ${want})`);
    }
    if (cached !== undefined && result.stats.targetCached !== cached) {
      throw new Error(`worker result: targetCached=${result.stats.targetCached}, expected ${cached}`);
    }
  },
  timeEach(n, fn) {
    const out = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      fn();
      out.push(performance.now() - t0);
    }
    return out;
  },
  async timeEachAsync(n, fn) {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await fn());
    return out;
  },
  /** samples of every side, measured in `rounds` interleaved rounds (order alternates) */
  async interleave(sides, n = reps) {
    const keys = Object.keys(sides);
    const out = Object.fromEntries(keys.map((k) => [k, []]));
    for (let r = 0; r < rounds; r++) {
      const chunk = Math.round((n * (r + 1)) / rounds) - Math.round((n * r) / rounds);
      for (const k of r % 2 ? [...keys].reverse() : keys) {
        if (k === 'native' || wants(ctx.current, k)) out[k].push(...(await sides[k](chunk)));
      }
    }
    for (const k of keys) if (!out[k].length) delete out[k];
    return out;
  },
};

// ---- run -----------------------------------------------------------------------------
const targets = new Targets();
process.on('exit', () => targets.cleanup());
const loadavgBefore = loadavg().map((x) => round(x, 2));
const rows = []; // per-target sample cases
const otherRows = []; // rows(ctx) cases
const perTarget = cases.filter((c) => typeof c?.run === 'function' && (c.variants ?? []).some((v) => wants(c, v)));
try {
  for (const id of perTarget.length ? (opt.targets ?? DEFAULTS.targets.join(',')).split(',').filter(Boolean) : []) {
    const t = targets.add(id);
    if (!t) {
      console.error(`skipping target '${id}': ${id === 'host' ? 'this machine has no /sys/kernel/btf/vmlinux' : 'not found'}`);
      continue;
    }
    // the wasm build and the native build must agree before their speeds mean anything
    const h = raw.register(t.bytes);
    const wasmOut = stripLog(raw.run(object.bytes, object.name, h));
    raw.release(h);
    if (wasmOut !== nativeResult(opt.native, object.path, t.path)) {
      throw new Error(`wasm and native results differ for ${object.name} against ${id}: rebuild (make all native)`);
    }
    const parsed = resultReport(wasmOut);
    if (parsed.error) throw new Error(`${object.name} against ${id}: ${parsed.error.message}`);
    t.relocations = parsed.relocations.length;
    t.programs = parsed.plan.programs.length;
  }
  if (perTarget.length && !targets.list.length) throw new Error('no target BTF to run against');

  const o = targets.list[0];
  if (o) console.log(`corebpf bench: ${basename(object.path)} (${o.programs} programs, ${o.relocations} CO-RE relocations), ` +
    `${reps} runs per side in ${rounds} interleaved rounds after ${warmup} warm-up runs (or a case's minimum); times in ms, median (p90); ` +
    `load average ${loadavgBefore[0]} on ${availableParallelism()} cores`);
  for (const t of targets.list) {
    console.log(`  target ${t.id}: ${t.path === '/sys/kernel/btf/vmlinux' ? t.path : `testdata/btf/${t.id}.btf.xz`}, ` +
      `${(t.size / 1048576).toFixed(1)} MiB, ${t.types} types`);
  }

  for (const c of cases) {
    if (typeof c?.rows === 'function') {
      if (only && !only.test(c.id)) continue;
      process.stderr.write(`  running ${c.id} ...\n`);
      try {
        otherRows.push(...(await c.rows(ctx)));
      } finally {
        await Promise.all(relocators.splice(0).map((r) => r.close()));
      }
      continue;
    }
    if (typeof c?.run !== 'function') continue;
    for (const t of targets.list) {
      if (!(c.variants ?? []).some((v) => wants(c, v))) continue;
      ctx.current = c;
      ctx.target = t;
      ctx.warmup = warmupOf(c);
      process.stderr.write(`  running ${c.id} against ${t.id} ...\n`);
      let samples;
      try {
        samples = await c.run(ctx, t);
      } finally {
        await Promise.all(relocators.splice(0).map((r) => r.close()));
      }
      const native = summarize(samples.native);
      for (const [variant, s] of Object.entries(samples)) {
        if (variant === 'native') continue;
        const wasm = summarize(s);
        const ratio = round(wasm.median / native.median, 2);
        const goal = c.goals?.[variant];
        const met = goal?.kind === 'ratio' ? ratio <= goal.max : undefined;
        rows.push({
          case: `${c.id}/${variant}`, title: c.title, target: t.id, unit: 'ms', wasm, native, ratio, goal: goal ?? null, met,
          // the goal in ms: what the median must not exceed, against this run's native median
          goalMs: goal?.kind === 'ratio' ? round(goal.max * native.median) : null,
          samples: { wasm: s.map((x) => round(x)), native: samples.native.map((x) => round(x)) },
        });
      }
    }
  }
} finally {
  await Promise.all(relocators.splice(0).map((r) => r.close()));
}

// ---- report --------------------------------------------------------------------------
const lines = [['case', 'target', 'wasm ms', 'native ms', 'ratio', 'goal', 'goal ms', '']];
for (const r of rows) {
  lines.push([
    r.case, r.target,
    `${fmtMs(r.wasm.median)} (${fmtMs(r.wasm.p90)})`,
    `${fmtMs(r.native.median)} (${fmtMs(r.native.p90)})`,
    `${r.ratio.toFixed(2)}x`,
    r.goal?.text ?? 'informative',
    r.goalMs === null ? '-' : `<=${fmtMs(r.goalMs)}`,
    r.met === undefined ? '' : r.met ? 'met' : 'NOT MET',
  ]);
}
if (rows.length) {
  console.log(`\n${table(lines)}`);
  console.log('\nratio = wasm median / native median; goal ms = the goal\'s ratio x native median. cold: target parsed per run;\n' +
    'warm: parsed once. worker = public API (Relocator, one worker, no result cache): the rows the issue\'s goals are for;\n' +
    'raw = wasm in this thread (informative: the floor of the worker rows). See bench/README.md.');
}
if (otherRows.length) {
  const fmtV = (v) => (typeof v !== 'number' ? String(v ?? '-') : Math.abs(v) >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : fmtMs(v));
  // rows measured against more than one peer (load-peers) name them: `native_side`, `peersText`
  const withPeers = otherRows.some((r) => r.peersText);
  const more = [['case', 'node/wasm', 'native', 'unit', 'ratio', 'goal', '', ...(withPeers ? ['peers'] : [])]];
  for (const r of otherRows) {
    more.push([r.case, fmtV(r.wasm_or_node_value), r.native_side ? `${fmtV(r.native_value)} ${r.native_side}` : fmtV(r.native_value), r.unit ?? '',
      typeof r.ratio === 'number' && Number.isFinite(r.ratio) ? `${r.ratio.toFixed(r.ratio < 0.1 ? 3 : 2)}x` : '-',
      r.goal ?? '-', r.met === undefined ? '' : r.met ? 'met' : 'NOT MET', ...(withPeers ? [r.peersText ?? ''] : [])]);
  }
  console.log(`\n${table(more)}`);
  for (const r of otherRows.filter((x) => x.note)) console.log(`${r.case}: ${r.note}`);
  for (const r of otherRows.filter((x) => x.shards)) {
    console.log(`${r.case}: ${r.objects} objects, ${r.msPerKernel} ms per kernel (2 workers), xz -d ${r.unxzMsPerKernel} ms per kernel`);
    for (const x of r.shards) console.log(`  --shard I/${x.machines}: ${x.kernelsEach} kernels each, ${x.warmCacheMin} min (BTF cache warm), ${x.coldCacheMin} min (first run)`);
  }
}

/** what was measured: the checkout's commit (and whether its sources differ from it), the artefacts' hashes */
function buildInfo() {
  const git = (...a) => {
    try {
      return execFileSync('git', a, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return undefined;
    }
  };
  const hash = (f) => {
    try {
      return createHash('sha256').update(readFileSync(f)).digest('hex').slice(0, 16);
    } catch {
      return undefined;
    }
  };
  return {
    // of the checkout: the artefacts measured may come from elsewhere (--dist, --native)
    checkout: { commit: git('rev-parse', '--short', 'HEAD'), sourcesModified: (git('status', '--porcelain', '--', 'wasm', 'mk', 'Makefile', 'src') ?? '') !== '' },
    wasmSha256: hash(`${opt['wasm-dir']}/corebpf.wasm`),
    nativeSha256: hash(opt.native),
  };
}

const result = {
  date: new Date().toISOString(),
  build: buildInfo(),
  machine: { cpu: cpus()[0]?.model, cores: availableParallelism(), kernel: release(), node: process.version, loadavgBefore, loadavgAfter: loadavg().map((x) => round(x, 2)) },
  object: { path: object.path.replace(ROOT, ''), programs: targets.list[0]?.programs, relocations: targets.list[0]?.relocations },
  targets: targets.list.map(({ bytes, path, ...t }) => ({ ...t, path: path.startsWith(ROOT) || path.startsWith('/sys') ? path.replace(ROOT, '') : `testdata/btf/${t.id}.btf.xz` })),
  params: { reps, warmup, rounds, dist: opt.dist.replace(ROOT, ''), wasmDir: opt['wasm-dir'].replace(ROOT, ''), native: opt.native.replace(ROOT, '') },
  rows: [...rows, ...otherRows],
};
mkdirSync(dirname(opt.out), { recursive: true });
writeFileSync(opt.out, `${JSON.stringify(result, null, 1)}\n`);
console.log(`results: ${opt.out.replace(ROOT, '')}`);
