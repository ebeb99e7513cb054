// `corebpf check --verify`: the kernel's verifier has the last word. The plans of the matrix
// (relocated offline, as check does) are loaded into the real kernels of the fixtures in the
// lab's VMs (scripts/lab: qemu, an initramfs with node and the package): one boot per
// kernel, every plan of that kernel loaded in it one program at a time, closed, nothing
// attached (scripts/lab/verify-guest.mjs). The verdicts come back over the console and
// become each result's raw `verifier` data, which classify() puts beside the offline verdict.
import { appendFileSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NotSupportedError } from '../errors.js';
import type { LoadPlan } from '../plan.js';
import { listKernels, shardOf } from './kernels.js';
import { childProcess } from '../lazy-modules.js';
import { classify, type CheckedKernel, type ObjectResult } from './report.js';
import { runCheck, type CheckOptions, type CheckRun } from './run.js';
import type { VerifierProgramResult, VerifierResult } from './verdict.js';

/** Options of {@link runCheckVerify}: those of a check run, and the lab's. */
export interface VerifyOptions extends CheckOptions {
  /** the corebpf source tree with scripts/lab (default: the one this package was built in) */
  labTop?: string;
  /** fetched sources and lab kernels (default: LABTOP/.deps, or $DEPS) */
  deps?: string;
  /** qemu acceleration for guests of this machine's architecture (default $LAB_ACCEL, else tcg:
   *  /dev/kvm exists on the lab machines but its guests hang) */
  accel?: 'tcg' | 'kvm';
  /** VMs at once (default 2) */
  vms?: number;
  /** called as each kernel's verification progresses */
  onVerifyProgress?: (p: VerifyProgress) => void;
}

/** The progress of `check --verify` in one lab kernel. */
export interface VerifyProgress {
  /** lab kernel name, e.g. amd64-6.1 */
  kernel: string;
  phase: 'archive' | 'boot' | 'load' | 'done' | 'retry' | 'failed';
  /** programs loaded / to load in this kernel */
  done: number;
  total: number;
  elapsedMs: number;
  why?: string;
}

/** A lab kernel that `check --verify` booted, and what came of it. */
export interface VerifiedKernel {
  /** lab kernel name and the fixtures it stood for */
  kernel: string;
  fixtures: string[];
  release: string | null;
  outcome: 'ran' | 'boot-failed' | 'crashed' | 'timeout';
  why: string | null;
  attempts: number;
  bootSeconds: number | null;
  seconds: number;
  programs: number;
}

/** The result of {@link runCheckVerify}: a check run with the verifier's answers. */
export interface VerifyRun extends CheckRun {
  verify: { accel: string; kernels: VerifiedKernel[]; notVerified: { kernel: string; why: string }[] };
}

interface LabKernelRow { name: string; arch: string }
interface FetchedKernel { dir: string; fetched: boolean; release?: string; kernel?: string }
interface LabModules {
  kernels: {
    readKernelList(top: string): LabKernelRow[];
    labKernelFor(rows: LabKernelRow[], k: { id: string; arch: string | null; version?: string }): { row?: LabKernelRow; why?: string };
    fetchedKernel(deps: string, row: LabKernelRow): FetchedKernel;
  };
  initramfs: {
    buildBase(o: { top: string; arch: string; out: string; parts: string[]; nodeModules: string[]; quiet: boolean }): { path: string; size: number };
    buildKernelArchive(o: { kernelDir: string; release: string; out: string; env: Record<string, string | number>; files: { path: string; data: string }[] }): { path: string };
  };
  qemu: {
    ARCHES: Record<string, { qemu: string }>;
    bootOnce(o: Record<string, unknown>): Promise<{ outcome: VerifiedKernel['outcome']; why?: string; bootMs: number | null; resultsB64: string | null; exitCode: number | null; accel: string }>;
  };
  report: { decodeResults(b64: string): GuestResults };
}
interface GuestResults {
  version: 1;
  kernelRelease: string;
  btfSha256: string | null;
  results: { key: string; programs: VerifierProgramResult[] }[];
}

const LIMITS: Record<string, { bootMs: number; runMs: number; memMb: number; cpus: number }> = {
  amd64: { bootMs: 90_000, runMs: 20 * 60_000, memMb: 2048, cpus: 1 },
  arm64: { bootMs: 240_000, runMs: 40 * 60_000, memMb: 2048, cpus: 2 },
};
const BOOT_RETRIES = 6;
const CRASH_RETRIES = 2;
const CMDLINE = 'quiet lsm=lockdown,capability,landlock,yama,bpf';
const GUEST_JOB = '/lab/verify/job.json';

/** the source tree this package was built in (dist/ or build/tsc/check/ are below it) */
function defaultLabTop(): string | null {
  for (let d = dirname(fileURLToPath(import.meta.url)); d !== dirname(d); d = dirname(d)) {
    if (existsSync(join(d, 'scripts/lab/qemu.mjs'))) return d;
  }
  return null;
}

async function labModules(top: string): Promise<LabModules> {
  const imp = (f: string) => import(pathToFileURL(join(top, 'scripts/lab', f)).href);
  const [kernels, initramfs, qemu, report] = await Promise.all(['kernels.mjs', 'initramfs.mjs', 'qemu.mjs', 'report.mjs'].map(imp));
  return { kernels, initramfs, qemu, report } as LabModules;
}

const notVerified = (why: string): VerifierResult => ({ runner: 'none', kernelRelease: null, programs: [], note: why });

/** The guest's base archive for ARCH in DIR, built when older than what goes into it; one
 *  process at a time (a lock file: two shards of a CI job may run on one machine). */
async function buildBaseOnce(lab: LabModules, top: string, dir: string, arch: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'base.cpio');
  const lock = join(dir, 'base.lock');
  const inputs = ['dist/index.js', 'dist/worker.cjs', 'scripts/lab/verify-guest.mjs', 'scripts/lab/guest-init.sh', 'package-lock.json'].map((f) => join(top, f));
  const fresh = () => existsSync(path) && inputs.every((f) => !existsSync(f) || statSync(f).mtimeMs < statSync(path).mtimeMs);
  for (let waited = 0; ; waited += 500) {
    if (fresh()) return path;
    let fd: number;
    try {
      fd = openSync(lock, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // a lock older than any build is left over from a process that died
      if (waited > 600_000 || Date.now() - statSync(lock).mtimeMs > 600_000) rmSync(lock, { force: true });
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    try {
      // the guest needs the built package and its dependencies only (~110 MiB with node, not ~170)
      if (!fresh()) lab.initramfs.buildBase({ top, arch, out: dir, parts: ['package.json', 'dist'], nodeModules: ['koffi', '@koromix', 'comlink'], quiet: true });
      return path;
    } finally {
      closeSync(fd);
      rmSync(lock, { force: true });
    }
  }
}

/** relocate offline (as check does, keeping the plans), then ask each kernel's verifier */
export async function runCheckVerify(opts: VerifyOptions): Promise<VerifyRun> {
  const top = opts.labTop ?? defaultLabTop();
  if (!top) throw new NotSupportedError('check --verify boots the lab\'s kernels: it needs the corebpf source tree with scripts/lab (run it from a checkout)', { feature: 'check --verify' });
  const lab = await labModules(top);
  const deps = opts.deps ?? process.env.DEPS ?? join(top, '.deps');
  const rows = lab.kernels.readKernelList(top);

  // which lab kernel boots which fixture; fail before the offline run when one is not there
  const list = listKernels(opts.btfDir);
  const fixtures = shardOf(list.kernels, opts.shard?.index ?? 1, opts.shard?.count ?? 1);
  const boot = new Map<string, { row: LabKernelRow; fetched: FetchedKernel; fixtures: string[] }>();
  const unbootable = new Map<string, string>();
  const missing: string[] = [];
  for (const k of fixtures) {
    const m = lab.kernels.labKernelFor(rows, k);
    if (!m.row) { unbootable.set(k.id, m.why!); continue; }
    const f = lab.kernels.fetchedKernel(deps, m.row);
    if (!f.fetched) { missing.push(`${m.row.name} (for ${k.id}) is not fetched: run make lab-fetch`); continue; }
    const q = lab.qemu.ARCHES[m.row.arch]?.qemu;
    if (!q || childProcess().spawnSync(q, ['--version']).status !== 0) { missing.push(`${q ?? `qemu for ${m.row.arch}`} is not installed (scripts/install-deps.sh installs it)`); continue; }
    const e = boot.get(m.row.name) ?? { row: m.row, fetched: f, fixtures: [] };
    e.fixtures.push(k.id);
    boot.set(m.row.name, e);
  }
  if (missing.length) {
    throw new NotSupportedError(`check --verify cannot boot the kernels of the fixtures:\n  ${[...new Set(missing)].join('\n  ')}`, { feature: 'check --verify', missing });
  }
  if (!existsSync(join(top, 'dist/index.js'))) throw new NotSupportedError(`check --verify puts the built package into its VMs: build it first (make all in ${top})`, { feature: 'check --verify' });

  // the offline run, keeping the plans of the kernels that will be booted
  const plans = new Map<string, LoadPlan>();
  const key = (object: string, kernel: string) => `${object}\u0000${kernel}`;
  const bootable = new Set([...boot.values()].flatMap((b) => b.fixtures));
  const run = await runCheck({ ...opts, onPlan: (object, kernel, plan) => { if (bootable.has(kernel)) plans.set(key(object, kernel), plan); } });

  const accel = opts.accel ?? (process.env.LAB_ACCEL === 'kvm' ? 'kvm' : 'tcg');
  const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const out = join(top, 'build/verify');
  const bases = new Map<string, Promise<string>>();
  const baseFor = (arch: string): Promise<string> => {
    let p = bases.get(arch);
    if (!p) {
      p = buildBaseOnce(lab, top, join(out, arch), arch);
      bases.set(arch, p);
    }
    return p;
  };

  const verified: VerifiedKernel[] = [];
  const byKernel = new Map<string, { guest: GuestResults | null; runner: string; why: string | null; fixtureBtf: Map<string, string | null> }>();
  const queue = [...boot.values()];
  const verifyOne = async (b: { row: LabKernelRow; fetched: FetchedKernel; fixtures: string[] }) => {
    const started = Date.now();
    const items = run.report.results.flatMap((r) => {
      const plan = b.fixtures.includes(r.kernel) ? plans.get(key(r.object, r.kernel)) : undefined;
      return plan ? [{ key: key(r.object, r.kernel), plan }] : [];
    });
    const total = items.reduce((n, i) => n + i.plan.programs.length, 0);
    const progress = (phase: VerifyProgress['phase'], done = 0, why?: string) => opts.onVerifyProgress?.({ kernel: b.row.name, phase, done, total, elapsedMs: Date.now() - started, ...(why ? { why } : {}) });
    progress('archive');
    const dir = join(out, b.row.name);
    mkdirSync(dir, { recursive: true });
    const ka = lab.initramfs.buildKernelArchive({
      kernelDir: b.fetched.dir, release: b.fetched.release!, out: dir,
      env: { LAB_TESTS: '', LAB_VERIFY: GUEST_JOB, LAB_KERNEL: b.row.name, LAB_TEST_TIMEOUT: 0 },
      files: [{ path: GUEST_JOB, data: JSON.stringify({ items }) }],
    });
    const initrd = join(dir, 'initrd.cpio');
    copyFileSync(await baseFor(b.row.arch), initrd);
    appendFileSync(initrd, readFileSync(ka.path));
    const lim = LIMITS[b.row.arch] ?? LIMITS.amd64!;
    let attempts = 0, bootFailures = 0, crashes = 0;
    let guest: GuestResults | null = null;
    let r: Awaited<ReturnType<LabModules['qemu']['bootOnce']>> | null = null;
    while (!r || r.outcome !== 'ran') {
      if (r?.outcome === 'boot-failed') bootFailures++;
      else if (r) crashes++;
      if (bootFailures > BOOT_RETRIES || crashes > CRASH_RETRIES) break;
      if (r) progress('retry', 0, `${r.outcome}: ${r.why}`);
      attempts++;
      progress('boot');
      r = await lab.qemu.bootOnce({
        arch: b.row.arch, accel: b.row.arch === hostArch ? accel : 'tcg', kernel: b.fetched.kernel, initrd,
        memMb: lim.memMb, cpus: lim.cpus, cmdline: CMDLINE, bootDeadlineMs: lim.bootMs, deadlineMs: lim.runMs,
        logPath: join(dir, `console-${attempts}.log`),
        onLine: (l: string) => { const m = /^COREBPF-VERIFY-PROGRESS (\d+)\/\d+/.exec(l); if (m) progress('load', Number(m[1])); },
      });
      // node died before it wrote results: a crash, retried
      if (r.outcome === 'ran' && !r.resultsB64) r = { ...r, outcome: 'crashed', why: `the guest's loader exited ${r.exitCode} without results (console: ${join(dir, `console-${attempts}.log`)})` };
      // results that came back damaged over the console (seen under host load): retried too,
      // as the lab does, rather than reported as a kernel that did not run the plans
      else if (r.outcome === 'ran') {
        try {
          guest = lab.report.decodeResults(r.resultsB64!);
        } catch (e) {
          r = { ...r, outcome: 'crashed', why: `results unreadable: ${(e as Error).message}` };
        }
      }
    }
    if (!r) throw new Error('unreachable: at least one boot');
    const why = r.outcome === 'ran' ? null : `${r.outcome}: ${r.why} (console: ${join(dir, `console-${attempts}.log`)})`;
    const fixtureBtf = new Map(b.fixtures.map((id) => [id, run.report.kernels.find((k) => k.id === id)?.btfSha256 ?? null]));
    byKernel.set(b.row.name, { guest, runner: `qemu ${b.row.arch === hostArch ? accel : 'tcg'} ${b.row.name}`, why, fixtureBtf });
    verified.push({
      kernel: b.row.name, fixtures: b.fixtures, release: guest?.kernelRelease ?? null, outcome: guest ? 'ran' : r.outcome === 'ran' ? 'crashed' : r.outcome,
      why, attempts, bootSeconds: r.bootMs != null ? +(r.bootMs / 1000).toFixed(1) : null, seconds: +((Date.now() - started) / 1000).toFixed(1), programs: total,
    });
    progress(guest ? 'done' : 'failed', guest ? total : 0, why ?? undefined);
  };
  const vms = Math.max(1, opts.vms ?? 2);
  await Promise.all(Array.from({ length: Math.min(vms, queue.length) }, async () => {
    for (let b = queue.shift(); b; b = queue.shift()) await verifyOne(b);
  }));

  // every result gets its verifier column
  const labOf = new Map([...boot.values()].flatMap((b) => b.fixtures.map((f) => [f, b.row.name] as const)));
  const results: ObjectResult[] = run.report.results.map((r) => {
    const { programs: _p, ...raw } = r;
    const names = r.programs.map((p) => p.program);
    const no = (why: string): VerifierResult => ({ ...notVerified(why), programs: names.map((program) => ({ program, status: 'not-verified', note: why })) });
    const lk = labOf.get(r.kernel);
    if (!lk) return { ...raw, programs: [], verifier: no(`not verified: no bootable kernel for ${r.kernel}${unbootable.has(r.kernel) ? ` (${unbootable.get(r.kernel)})` : ''}`) };
    const v = byKernel.get(lk)!;
    if (!v.guest) return { ...raw, programs: [], verifier: no(`not verified: ${lk} did not run the plans: ${v.why}`) };
    const got = v.guest.results.find((x) => x.key === key(r.object, r.kernel));
    if (!got) return { ...raw, programs: [], verifier: { ...no(`not verified: no load plan (offline: ${r.outcome})`), runner: v.runner, kernelRelease: v.guest.kernelRelease } };
    const programs = names.map((program): VerifierProgramResult => got.programs.find((p) => p.program === program)
      ?? { program, status: 'not-verified', note: 'not verified: not a program of the load plan (a subprogram is verified inside the programs that call it)' });
    const fixtureBtf = v.fixtureBtf.get(r.kernel);
    const note = v.guest.btfSha256 && fixtureBtf && v.guest.btfSha256 !== fixtureBtf
      ? `booted ${v.guest.kernelRelease} (lab kernel ${lk}), whose BTF differs from the fixture's: same version, another flavor`
      : undefined;
    return { ...raw, programs: [], verifier: { runner: v.runner, kernelRelease: v.guest.kernelRelease, programs, ...(note ? { note } : {}) } };
  });
  const report = classify({ ...run.report, results });
  const notVerifiedKernels = fixtures.filter((k) => !labOf.has(k.id)).map((k: CheckedKernel) => ({ kernel: k.id, why: unbootable.get(k.id) ?? 'not bootable' }));
  return { ...run, report, verify: { accel, kernels: verified.sort((a, b) => (a.kernel < b.kernel ? -1 : 1)), notVerified: notVerifiedKernels } };
}

/** for tests and the CLI: the repository root this module would use */
export function labTopDir(): string | null {
  const t = defaultLabTop();
  return t ? resolve(t) : null;
}
