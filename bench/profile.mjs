#!/usr/bin/env node
// Where the time goes: CPU profiles of one relocation, wasm and native, cold and warm.
//
//   node bench/profile.mjs [--target host|amd64-6.1.176] [--mode cold,warm] [--runs N]
//                          [--top N] [--wasm-dir DIR] [--native BIN]
//                          [--src DIR --build DIR]   (link the profiling wasm from another checkout/build)
//
// wasm: the release build (-O2) carries no name section, so V8 profiles show only
// wasm-function[N]. This links the same objects once more with --profiling-funcs (names
// kept, code unchanged) into build/bench/profiling/wasm/ and profiles the raw relocation
// loop in this thread through the inspector (.cpuprofile files in build/bench/profile/,
// loadable in Chrome DevTools). native: self time from `perf record` of corebpf-native
// --repeat N [--warm], and exact per-run instruction counts (self and inclusive) from
// callgrind: a run of N+1 relocations minus a run of 1, divided by N.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULTS, ROOT, Targets } from './lib/env.mjs';
import { calleesOf, profileWasm, summarizeProfile } from './lib/profile-loop.mjs';

const { values: opt } = parseArgs({
  options: {
    target: { type: 'string', default: 'host' },
    mode: { type: 'string', default: 'cold,warm' },
    runs: { type: 'string', default: '30' },
    top: { type: 'string', default: '15' },
    object: { type: 'string', default: DEFAULTS.object },
    'wasm-dir': { type: 'string' },
    native: { type: 'string', default: DEFAULTS.native },
    src: { type: 'string', default: ROOT },
    build: { type: 'string' },
    'no-native': { type: 'boolean', default: false },
    'no-wasm': { type: 'boolean', default: false },
  },
});
for (const k of ['wasm-dir', 'native', 'object', 'src', 'build']) if (opt[k]) opt[k] = resolve(opt[k]);
const OUT = `${ROOT}build/bench/profile`;
mkdirSync(OUT, { recursive: true });
const runs = Number(opt.runs);
const top = Number(opt.top);
const modes = opt.mode.split(',');

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  if (r.error) throw r.error;
  return r;
}

/** link the project's wasm objects again with --profiling-funcs, through its own make rules */
function profilingWasm() {
  const dir = `${ROOT}build/bench/profiling${opt.build ? `-${opt.build.replace(/\W+/g, '_')}` : ''}/wasm`;
  mkdirSync(dir, { recursive: true });
  const rule = 'bench-profiling-link: $(GLUE_WASM_OBJS) $(WASM_LIBBPF) $(WASM_LIBS_ELF) ; ' +
    '$(EMCC) $(WASM_LDFLAGS) --profiling-funcs $(GLUE_WASM_OBJS) $(WASM_LIBBPF) $(WASM_LIBS_ELF) -o $(BENCH_PROF_OUT)';
  const args = ['-s', '--eval', rule, 'bench-profiling-link', `BENCH_PROF_OUT=${dir}/corebpf.cjs`];
  if (opt.build) args.push(`BUILD=${opt.build}`, `DEPS=${ROOT}.deps`);
  // link only: never rebuild the shared tree's objects with other flags behind its back
  const dry = sh('make', ['-n', ...args.slice(1)], { cwd: opt.src });
  const cmds = dry.stdout.split('\n').filter((l) => l.trim() && !/^mkdir /.test(l));
  if (dry.status !== 0 || cmds.length !== 1) {
    throw new Error(`the wasm objects are not up to date (make -n wants ${cmds.length} commands): run \`make -s all\` first`);
  }
  const r = sh('make', args, { cwd: opt.src, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error('linking the profiling wasm failed');
  const m = new WebAssembly.Module(readFileSync(`${dir}/corebpf.wasm`));
  if (!WebAssembly.Module.customSections(m, 'name').length) throw new Error(`${dir}/corebpf.wasm has no name section`);
  return dir;
}

function printRanked(title, list, n = top) {
  console.log(`  ${title}`);
  for (const e of list.slice(0, n)) console.log(`    ${e.pct.toFixed(1).padStart(5)}%  ${e.ms !== undefined ? `${e.ms.toFixed(1).padStart(7)} ms  ` : ''}${e.name}`);
}

/** perf report lines "  12.34%  [.] sym" -> [{name, pct}] (self time, % of samples) */
function perfSelf(data) {
  const r = sh('perf', ['report', '-i', data, '--no-children', '--sort', 'symbol', '--stdio', '-g', 'none', '--percent-limit', '0.3']);
  const out = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\s+([\d.]+)%\s+\[[.k]\]\s+(\S+)/.exec(line);
    if (m) out.push({ name: m[2], pct: Number(m[1]) });
  }
  return out;
}

/** callgrind instruction counts per function (self or inclusive) */
function callgrindCounts(file, inclusive) {
  const r = sh('callgrind_annotate', [`--inclusive=${inclusive ? 'yes' : 'no'}`, '--threshold=100', file]);
  const counts = new Map();
  for (const l of r.stdout.split('\n')) {
    const m = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$/.exec(l);
    if (!m || /PROGRAM TOTALS/.test(m[2])) continue;
    const name = m[2].replace(/\s+\[.*\]$/, '').replace(/^.*:/, '');
    counts.set(name, (counts.get(name) ?? 0) + Number(m[1].replace(/,/g, '')));
  }
  return counts;
}

/** per-run instruction counts: callgrind of N+1 runs minus callgrind of 1 run, divided by N
 * (drops process start-up, file reading and, when warm, the one parse of the target) */
function callgrindPerRun(target, mode, n) {
  const run = (repeat) => {
    const file = `${OUT}/native-${target.id}-${mode}-${repeat}.callgrind`;
    const r = sh('valgrind', ['--tool=callgrind', `--callgrind-out-file=${file}`, opt.native, opt.object, target.path,
      '--repeat', String(repeat), ...(mode === 'warm' ? ['--warm'] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`callgrind of ${opt.native} failed: ${r.stderr}`);
    return { self: callgrindCounts(file, false), incl: callgrindCounts(file, true) };
  };
  const one = run(1);
  const many = run(n + 1);
  const diff = (a, b) => {
    const out = new Map();
    for (const [k, v] of b) out.set(k, (v - (a.get(k) ?? 0)) / n);
    return out;
  };
  const self = diff(one.self, many.self);
  const incl = diff(one.incl, many.incl);
  const total = incl.get('cb_run') + (mode === 'cold' ? (incl.get('cb_target_register_owned') ?? 0) + (incl.get('cb_target_release') ?? 0) : 0);
  const rank = (m) => [...m].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([name, v]) => ({ name, pct: (100 * v) / total, minstr: v / 1e6 }));
  return { instrPerRun: total, self: rank(self), inclusive: rank(incl) };
}

function profileNative(target, mode) {
  const out = {};
  const data = `${OUT}/native-${target.id}-${mode}.perf.data`;
  // warm: many runs, so that the one run that parses the target weighs little (~25 warm runs' worth)
  const n = mode === 'warm' ? Math.max(runs, 2000) : runs;
  const rec = sh('perf', ['record', '-q', '-F', '4999', '-o', data, '--', opt.native, opt.object, target.path,
    '--repeat', String(n), ...(mode === 'warm' ? ['--warm'] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (!rec.error && rec.status === 0 && existsSync(data)) out.perfSelf = { runs: n, self: perfSelf(data) };
  if (sh('valgrind', ['--version']).status === 0) out.callgrind = callgrindPerRun(target, mode, Math.min(runs, 5));
  return out;
}

const targets = new Targets();
process.on('exit', () => targets.cleanup());
const target = targets.add(opt.target);
if (!target) throw new Error(`no target BTF '${opt.target}'`);
const object = new Uint8Array(readFileSync(opt.object));
const summary = { date: new Date().toISOString(), target: opt.target, object: opt.object.replace(ROOT, ''), runs, wasm: {}, native: {} };

// functions whose inclusive share tells the phases apart
const PHASES = /^(cb_target_register_owned|target_register|target_btf|btf__new|btf_new|btf_parse_type_sec|btf_sanity_check|cand_index_build|cand_index_free|cb_run|bpf_object__open_mem|bpf_object_open|bpf_object__load|bpf_object_load|bpf_object__relocate|bpf_object__relocate_core|bpf_core_resolve_relo|bpf_core_add_cands|vk_core_add_cands|bpf_core_calc_relo_insn|vk_core_calc_relo_insn|bpf_core_format_spec|vk_core_format_spec|bpf_core_parse_spec|bpf_core_spec_match|core_report_json|fmt|bpf_object__load_progs|bpf_object_load_prog|bpf_object__sanitize_and_load_btf|btf__dedup|plan_write|core_report_json|json_\w+|print_fn|libbpf_print|vsnprintf|UTF8ToString|btf__free|vk_btf_free|cb_target_release|bpf_object__close|malloc|free|dlmalloc|dlfree|memcpy|memset)$/;

if (!opt['no-wasm']) {
  const dir = opt['wasm-dir'] ?? profilingWasm();
  for (const mode of modes) {
    const { profile, msPerRun } = await profileWasm({ wasmDir: dir, objPath: opt.object, object, btf: target.bytes, mode, runs });
    writeFileSync(`${OUT}/wasm-${target.id}-${mode}.cpuprofile`, JSON.stringify(profile));
    const s = summarizeProfile(profile, 'once');
    // wasm-opt inlines much of libbpf into its callers: the split by callee says more than phases
    const split = Object.fromEntries(['once', 'cb_run', 'cb_target_register_owned', 'cb_target_release'].map((f) => [f, calleesOf(profile, f)]));
    summary.wasm[mode] = { msPerRun, self: s.self.slice(0, 40), inclusive: s.inclusive.filter((e) => PHASES.test(e.name)), callees: split };
    console.log(`\nwasm ${mode} against ${target.id}: ${msPerRun.toFixed(2)} ms per run (while profiled; V8 sampling profile of the loop, ${s.totalMs.toFixed(0)} ms sampled)`);
    printRanked('self time (% of the loop):', s.self);
    for (const [f, c] of Object.entries(split)) {
      if (c.ms > 0.02 * s.totalMs) printRanked(`${f}: ${((100 * c.ms) / s.totalMs).toFixed(1)}% of the loop, by callee (% of ${f}):`, c.callees, f === 'once' ? 8 : top);
    }
  }
}
if (!opt['no-native']) {
  for (const mode of modes) {
    const p = profileNative(target, mode);
    summary.native[mode] = {
      perfSelf: p.perfSelf && { runs: p.perfSelf.runs, self: p.perfSelf.self.slice(0, 40) },
      callgrind: p.callgrind && { instrPerRun: p.callgrind.instrPerRun, self: p.callgrind.self.slice(0, 40), inclusive: p.callgrind.inclusive.filter((e) => PHASES.test(e.name)) },
    };
    console.log(`\nnative ${mode} against ${target.id}`);
    if (p.perfSelf) printRanked(`self time (perf, ${p.perfSelf.runs} runs):`, p.perfSelf.self);
    if (p.callgrind) {
      const c = summary.native[mode].callgrind;
      console.log(`  callgrind: ${(c.instrPerRun / 1e6).toFixed(1)} M instructions per run`);
      printRanked('self instructions:', p.callgrind.self);
      printRanked('inclusive instructions (phases):', c.inclusive, 30);
    }
  }
}
writeFileSync(`${OUT}/summary-${target.id}.json`, `${JSON.stringify(summary, null, 1)}\n`);
console.log(`\nprofiles and summary: ${OUT.replace(ROOT, '')}/`);
