#!/usr/bin/env node
// make lab: boot real Debian kernels in qemu (scripts/lab/kernels.list) and run the
// real-kernel test suites inside each, as root, from an initramfs. Reports per kernel
// (passed / failed / skipped with the reason) and exits 1 on any test failure or on a kernel
// whose tests could not be run. A boot that fails (no ready marker in time, an early panic:
// 1 in 10 TCG boots here before cx16=off, none of 176 since) is retried and reported, never
// a failure by itself.
//
//   node scripts/lab/lab.mjs [--kernels amd64-6.1,arm64] [--jobs 2] [--tests 'test/x.test.ts ...']
//   node scripts/lab/lab.mjs --boot-stats N [--kernels ...]   boot each kernel N times (no
//        tests) and count the boots that fail: the flake rate the retries have to absorb
//   env: KERNELS (same as --kernels), LAB_ACCEL=tcg|kvm|auto, LAB_JOBS
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync, createWriteStream, copyFileSync, appendFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBase, buildKernelArchive } from './initramfs.mjs';
import { bootOnce } from './qemu.mjs';
import { fetchedKernel, readKernelList } from './kernels.mjs';
import { decodeResults, details, ok, summarize, table, writeReport } from './report.mjs';
import { buildTestBinaries } from './test-binaries.mjs';

const top = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const deps = process.env.DEPS || join(top, '.deps');
const out = join(top, 'build/lab');
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };

/** The suites whose results depend on the kernel; the rest runs on the host only (among
 *  them fault-injection and mutation-run, which test corebpf's own cleanup over thousands of
 *  loads: hours under emulation, and no kernel-specific answer in them). */
const DEFAULT_TESTS = (f) => /^(host-.*|cli-run.*|kernel-.*|plan-untrusted|ringbuf-views)\.test\.ts$/.test(f) && !HOST_ONLY.has(f);
/** host-* suites whose answers do not depend on the kernel: host-plan-cache tests the on-disk
 *  cache (keys, file checks, no worker on a hit) through three node processes, ~65 s per
 *  amd64 guest under TCG for nothing the kernel decides */
const HOST_ONLY = new Set(['host-plan-cache.test.ts']);
/** Per-architecture limits (TCG): boot to the ready marker, then the whole test run. */
const LIMITS = {
  amd64: { bootMs: 90_000, kvmBootMs: 20_000, runMs: 25 * 60_000, memMb: 3072, cpus: 1, testTimeoutMs: 180_000 },
  // x86-64 emulating arm64 is ~5x slower again: the guest gets the suites whose answers
  // depend on the architecture (syscall numbers and libc layouts through koffi, PT_REGS of
  // kprobes and ksyscalls, uprobes, ring and perf buffers, the feature probes against
  // libbpf's own), and two vCPUs so that vitest's main process is never starved long enough
  // for its worker RPC to time out (60 s)
  arm64: {
    bootMs: 240_000, runMs: 40 * 60_000, memMb: 3072, cpus: 2, testTimeoutMs: 600_000,
    // V8's wasm tier-up aborted the test fork under TCG (Runtime_WasmTriggerTierUp: "Check
    // failed: maybe_code.has_value()"), in 2 of 3 runs on CI's machine: Liftoff only, and no
    // budget checks that call into the tier-up (--no-wasm-tier-up alone changes nothing)
    nodeFlags: '--liftoff-only --no-wasm-dynamic-tiering',
    tests: /^test\/(host-kernel-basic|host-syscall|host-ringbuf|host-usdt|host-uprobe-multi|kernel-tracing|kernel-kprobe-multi|kernel-features)\.test\.ts$/,
  },
};
const BOOT_RETRIES = Number(opt('--boot-retries', 10));
const CRASH_RETRIES = Number(opt('--crash-retries', 5));
const CMDLINE = 'quiet lsm=lockdown,capability,landlock,yama,bpf';
const log = (m) => console.log(`lab: ${m}`);

// ------------------------------------------------------------------ which kernels
const rows = readKernelList(top);
const want = (opt('--kernels', process.env.KERNELS || '') || '').split(/[\s,]+/).filter(Boolean);
const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
// `fixture` rows are the BTF fixtures' own kernels, for check --verify: booted only by name
const selected = want.length === 0 ? rows.filter((k) => k.flags !== 'fixture') : rows.filter((k) => want.some((w) =>
  w === k.name || k.flags !== 'fixture' && (w === k.arch || `${hostArch}-${w}` === k.name || w === k.name.split('-')[1] && k.arch === hostArch)));
if (selected.length === 0) {
  console.error(`lab: no kernel matches ${want.join(' ')}; kernels: ${rows.map((k) => k.name).join(' ')}`);
  process.exit(2);
}
const tests = (opt('--tests', process.env.LAB_TESTS || '') || '').split(/\s+/).filter(Boolean);
const explicitTests = tests.length > 0;
if (tests.length === 0) tests.push(...readdirSync(join(top, 'test')).filter(DEFAULT_TESTS).sort().map((f) => `test/${f}`));
// the examples' tests load, attach and read on the real kernel too (examples/NAME/NAME.test.ts)
if (!explicitTests) tests.push(...readdirSync(join(top, 'examples')).sort().flatMap((d) => (existsSync(join(top, 'examples', d, `${d}.test.ts`)) ? [`examples/${d}/${d}.test.ts`] : [])));

for (const a of new Set(selected.map((k) => k.arch))) {
  const q = a === 'amd64' ? 'qemu-system-x86_64' : 'qemu-system-aarch64';
  if (spawnSync(q, ['--version']).status !== 0) { console.error(`lab: ${q} is not installed (scripts/install-deps.sh installs it)`); process.exit(2); }
}
if (!existsSync(join(top, 'dist/index.js'))) { console.error('lab: build first (make all)'); process.exit(2); }

// ------------------------------------------------------------------ fetch + archives
log(`kernels: ${selected.map((k) => k.name).join(' ')}; ${tests.length} test files`);
execFileSync(join(top, 'scripts/lab/fetch-kernels.sh'), selected.map((k) => k.name), { stdio: 'inherit' });
mkdirSync(out, { recursive: true });
const t0 = Date.now();
const bases = {};
for (const arch of new Set(selected.map((k) => k.arch))) {
  const dir = join(out, arch);
  mkdirSync(dir, { recursive: true });
  const testBins = buildTestBinaries({ top, arch, out: join(dir, 'test-bin') });
  bases[arch] = buildBase({ top, arch, out: dir, testBins: testBins.dir, extraFiles: testBins.extraFiles });
  log(`${arch} initramfs: ${(bases[arch].size / 2 ** 20).toFixed(0)} MiB`);
}
const kernels = selected.map((k) => {
  const f = fetchedKernel(deps, k);
  const kd = f.dir;
  const release = f.release;
  const dir = join(out, k.name);
  mkdirSync(dir, { recursive: true });
  const lim = LIMITS[k.arch];
  const ka = buildKernelArchive({
    kernelDir: kd, release, out: dir,
    env: { LAB_TESTS: opt('--boot-stats', 0) > 0 ? 'none' : tests.filter((t) => !lim.tests || explicitTests || lim.tests.test(t)).join(' '), LAB_TEST_TIMEOUT: lim.testTimeoutMs, LAB_KERNEL: k.name, ...(lim.nodeFlags ? { LAB_NODE_FLAGS: lim.nodeFlags } : {}) },
  });
  const initrd = join(dir, 'initrd.cpio');
  copyFileSync(bases[k.arch].path, initrd);
  appendFileSync(initrd, readFileSync(ka.path));
  return { ...k, release, packages: f.packages, kernel: f.kernel, initrd, dir, unpinned: f.unpinned };
});
log(`archives ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

// ------------------------------------------------------------------ accel: KVM if it works
// /dev/kvm exists on these machines but guests hang under it: one short try, then TCG
let accel = process.env.LAB_ACCEL || 'auto';
async function decideAccel(k) {
  if (accel !== 'auto') return;
  accel = 'tcg';
  if (k.arch !== hostArch || !existsSync('/dev/kvm')) return;
  const r = await bootOnce({ ...vm(k, 'kvm'), bootDeadlineMs: LIMITS[k.arch].kvmBootMs, deadlineMs: LIMITS[k.arch].runMs, logPath: join(k.dir, 'kvm-probe.log') });
  if (r.outcome === 'boot-failed') {
    log(`KVM: no ready marker within ${LIMITS[k.arch].kvmBootMs / 1000} s (${r.why}); using TCG`);
    return;
  }
  accel = 'kvm';
  log('KVM works: guests run under KVM');
  k.kvmProbeResult = r;
}
/** --boot-stats: N plain boots per kernel, two at a time; prints and records the failures */
async function runBootStats(n) {
  const jobs = [];
  for (const k of kernels) for (let i = 1; i <= n; i++) jobs.push({ k, i });
  const stats = new Map(kernels.map((k) => [k.name, { boots: 0, failed: 0, bootMs: [], why: [] }]));
  await Promise.all([0, 1].map(async () => {
    for (let j = jobs.shift(); j; j = jobs.shift()) {
      const lim = LIMITS[j.k.arch];
      const r = await bootOnce({ ...vm(j.k, j.k.arch === hostArch ? accel : 'tcg'), bootDeadlineMs: lim.bootMs, deadlineMs: lim.bootMs + 30_000, logPath: join(j.k.dir, `boot-${j.i}.log`) });
      const s = stats.get(j.k.name);
      s.boots++;
      if (r.outcome !== 'ran') { s.failed++; s.why.push(`boot ${j.i}: ${r.why}`); } else s.bootMs.push(r.bootMs);
    }
  }));
  const summary = [];
  for (const [name, s] of stats) {
    const med = s.bootMs.sort((a, b) => a - b)[s.bootMs.length >> 1] ?? 0;
    summary.push({ kernel: name, boots: s.boots, failed: s.failed, rate: +(s.failed / s.boots).toFixed(3), medianBootSeconds: +(med / 1000).toFixed(1), failures: s.why });
    log(`${name}: ${s.failed}/${s.boots} boots failed, median boot ${(med / 1000).toFixed(1)} s${s.why.length ? `\n    ${s.why.join('\n    ')}` : ''}`);
  }
  writeFileSync(join(out, 'boot-stats.json'), JSON.stringify({ date: new Date().toISOString(), accel, kernels: summary }, null, 2) + '\n');
  return 0;
}
function vm(k, acc) {
  const lim = LIMITS[k.arch];
  return { arch: k.arch, accel: acc, kernel: k.kernel, initrd: k.initrd, memMb: lim.memMb, cpus: lim.cpus, cmdline: CMDLINE };
}

// ------------------------------------------------------------------ run
function whyNoResults(r) {
  if ((r.exitCode ?? 0) >= 128) return `node died in the guest (exit ${r.exitCode}) before reporting`;
  const err = (r.tail ?? []).find((l) => /^\s*(\w*Error|Serialized Error)\b/.test(l));
  return `vitest exited ${r.exitCode} without results${err ? ` (${err.trim()})` : ''}`;
}
async function runKernel(k) {
  const lim = LIMITS[k.arch];
  let attempts = 0, bootFailures = 0, crashes = 0, r = null;
  /** what each retried attempt ended in: the flakes the retries absorbed, for the report */
  const retried = [];
  if (k.kvmProbeResult) {
    r = withResults(k.kvmProbeResult);
    attempts = 1;
  }
  // node dying under emulation is a crash of the guest run, retried like a kernel crash: either
  // vitest itself (a signal) or its test fork, which vitest reports as an unhandled "Channel
  // closed" before exiting 1 without results (1 run in 3 on the arm64 guest); so are results
  // that arrive unreadable (a console line lost or garbled: the gzip check catches it). A
  // vitest that ran and reported readable results is final.
  while (!r || r.outcome !== 'ran') {
    if (r) retried.push(`attempt ${attempts}: ${r.outcome}: ${r.why}`);
    if (r && r.outcome === 'boot-failed') bootFailures++;
    if (r && (r.outcome === 'crashed' || r.outcome === 'timeout')) crashes++;
    if (bootFailures > BOOT_RETRIES || crashes > CRASH_RETRIES) break;
    attempts++;
    const logPath = join(k.dir, `console-${attempts}.log`);
    const started = Date.now();
    r = withResults(await bootOnce({ ...vm(k, k.arch === hostArch ? accel : 'tcg'), bootDeadlineMs: lim.bootMs, deadlineMs: lim.runMs, logPath,
      onLine: (l) => { if (/^ (✓|×|↓) /.test(l) && process.env.LAB_VERBOSE) console.log(`  [${k.name}] ${l.trim()}`); } }));
    const s = ((Date.now() - started) / 1000).toFixed(1);
    if (r.outcome === 'ran') log(`${k.name}: tests ran (attempt ${attempts}, ${r.accel}, boot ${(r.bootMs / 1000).toFixed(1)} s, total ${s} s)`);
    else log(`${k.name}: attempt ${attempts}: ${r.outcome}: ${r.why} (${s} s; console: ${logPath})`);
  }
  return summarize(k, { ...r, attempts, bootFailures, crashes, retried });
}

/** a guest run with its results decoded; one that ran without readable results is a crash */
function withResults(r) {
  if (r.outcome !== 'ran') return { ...r, results: null };
  if (!r.resultsB64) return { ...r, results: null, outcome: 'crashed', why: whyNoResults(r) };
  try {
    return { ...r, results: decodeResults(r.resultsB64) };
  } catch (e) {
    return { ...r, results: null, outcome: 'crashed', why: `results unreadable (${r.resultsB64.length} base64 bytes): ${e.message}` };
  }
}

await decideAccel(kernels.find((k) => k.arch === hostArch) ?? kernels[0]);
const bootStats = Number(opt('--boot-stats', 0));
if (bootStats > 0) process.exit(await runBootStats(bootStats));
const jobs = Math.max(1, Number(opt('--jobs', process.env.LAB_JOBS || 2)));
// the slowest guests first, so they overlap with the others instead of running last
const queue = [...kernels].sort((a, b) => LIMITS[b.arch].runMs - LIMITS[a.arch].runMs);
const summaries = new Map();
await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, async () => {
  for (let k = queue.shift(); k; k = queue.shift()) summaries.set(k.name, await runKernel(k));
}));
const all = kernels.map((k) => summaries.get(k.name));
writeReport(out, all, { date: new Date().toISOString(), accel, tests, seconds: Math.round((Date.now() - t0) / 1000) });
console.log(`\n${table(all)}\n`);
const d = details(all);
if (d) console.log(d + '\n');
log(`${((Date.now() - t0) / 1000).toFixed(0)} s; report: build/lab/report.json, consoles: build/lab/NAME/console-N.log`);
process.exit(all.every(ok) ? 0 : 1);
