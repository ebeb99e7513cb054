// `corebpf check`: relocate every object against every kernel in worker threads.
//
// Scheduling is by kernel: a worker takes the next kernel, gets all objects against it, and
// only then takes another, so each worker parses each kernel's BTF once (the worker keeps
// it parsed; the pool sends its bytes only on the first call). Kernel files are read and
// decompressed in this thread (xz in a child process, one kernel ahead of each worker).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { disablePrograms, type Adjustments } from '../adjust.js';
import { CorebpfError, LibbpfError, ObjectFormatError, RelocationError } from '../errors.js';
import { objectNameOf, readInput, sha256 } from '../inputs.js';
import type { LoadPlan, RelocationRecord } from '../plan.js';
import { WorkerPool } from '../worker/pool.js';
import type { ReportMode } from '../worker/generated/result-protocol.js';
import { btfEndianness, elfArch, readElf } from './elf.js';
import { adjustmentsFor, type Expectation, type ObjectAdjustment } from './expect.js';
import { readKernelTexts, textsFor, type KernelTexts } from './kernel-files.js';
import { listKernels, machineOf, readKernel, shardOf, type KernelInput } from './kernels.js';
import {
  REPORT_FORMAT, REPORT_VERSION, classify, completePrograms, errorPrograms, failedRelocation,
  type CheckReport, type CheckedKernel, type CheckedObject, type DisabledProgram, type ObjectResult,
} from './report.js';

/** Options of {@link runCheck}. */
export interface CheckOptions {
  /** object files, or directories whose *.o files are checked */
  objects: string[];
  /** directory of kernel BTF (see listKernels) */
  btfDir: string;
  expectations?: Expectation[];
  /** the open phase per object (expectations file "adjustments"): how user space adjusts
   *  each object before loading it */
  adjustments?: ObjectAdjustment[];
  /** where the expectations came from (recorded in the report) */
  expectationsFile?: string | null;
  /** worker threads (default: one per core) */
  jobs?: number;
  /** check only this slice of the sorted kernel list */
  shard?: { index: number; count: number };
  /** given the load plan of every relocated object × kernel (check --verify loads them);
   *  without it only the relocation reports are made */
  onPlan?: (object: string, kernel: string, plan: LoadPlan) => void;
  /** called after every object × kernel */
  onProgress?: (p: CheckProgress) => void;
  wasmDir?: string;
  /** @internal the report the workers send: 'failed' (the default: the failed relocations,
   *  their count and programs, all the report reads) or 'full' (every record;
   *  test/check-report-mode.test.ts compares the two) */
  reportMode?: ReportMode;
}

/** The progress of a check run, as given to `onProgress`. */
export interface CheckProgress {
  /** object × kernel pairs done / in this run */
  done: number;
  total: number;
  kernelsDone: number;
  kernels: number;
  /** unexpected program failures so far */
  unexpected: number;
  /** the kernel that was just finished, when one was */
  finishedKernel?: string;
  /** kernels being worked on */
  current: string[];
  elapsedMs: number;
}

/** The result of {@link runCheck}: the report, remarks and statistics. */
export interface CheckRun {
  report: CheckReport;
  /** remarks for the user (skipped inputs, manifest problems) */
  warnings: string[];
  stats: {
    /** relocations run (object × kernel pairs tried) */
    relocations: number;
    /** successful relocations for which a worker parsed the kernel's BTF (not from its cache):
     * one per kernel when scheduling by kernel works */
    btfParses: number;
    /** compressed kernel files read from the cache of decompressed BTF (./btf-cache.ts) */
    cacheHits: number;
  };
}

interface ObjectInput extends CheckedObject {
  bytes: Uint8Array;
  adjustments?: Adjustments;
}

function expandObjects(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      throw new CorebpfError(`cannot read BPF object '${p}': ${(e as Error).message}`, { path: p }, { cause: e });
    }
    if (st.isDirectory()) {
      const files = readdirSync(p).filter((f) => f.endsWith('.o')).sort().map((f) => join(p, f));
      if (!files.length) throw new CorebpfError(`directory '${p}' holds no .o files`, { path: p });
      out.push(...files);
    } else out.push(p);
  }
  return [...new Set(out)];
}

export function readObjects(paths: string[]): ObjectInput[] {
  const files = expandObjects(paths);
  const count = new Map<string, number>();
  for (const f of files) count.set(basename(f), (count.get(basename(f)) ?? 0) + 1);
  const objects = files.map((path): ObjectInput => {
    const bytes = readInput(path, 'BPF object');
    const elf = readElf(bytes);
    return {
      id: count.get(basename(path))! > 1 ? path : basename(path),
      path, name: objectNameOf(path), sha256: sha256(bytes), size: bytes.byteLength,
      endianness: elf?.endianness ?? null, programs: elf?.programs ?? [], bytes,
    };
  });
  return objects.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function corebpfVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function firstLines(s: string, n = 12, max = 4000): string {
  const t = s.split('\n').slice(0, n).join('\n');
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

function programsOf(rel: RelocationRecord[]): string[] {
  return [...new Set(rel.map((r) => r.program))];
}

const IN_FLIGHT_PER_WORKER = 2;

/** Run `corebpf check`: relocate every object against every kernel's BTF in worker threads and return the program × kernel report. */
export async function runCheck(opts: CheckOptions): Promise<CheckRun> {
  const started = new Date();
  const t0 = performance.now();
  const objects = readObjects(opts.objects);
  if (!objects.length) throw new CorebpfError('no BPF objects to check');
  const list = listKernels(opts.btfDir);
  const warnings = [...list.warnings];
  for (const s of list.skipped) warnings.push(`skipped ${s.file}: ${s.reason}`);
  const shard = opts.shard ?? { index: 1, count: 1 };
  const kernels = shardOf(list.kernels, shard.index, shard.count);
  if (!list.kernels.length) throw new CorebpfError(`no kernel BTF (*.btf, *.btf.xz, vmlinux) in '${opts.btfDir}'`, { path: opts.btfDir });
  const jobs = Math.max(1, Math.min(opts.jobs ?? availableParallelism(), Math.max(1, kernels.length)));
  const expectations = opts.expectations ?? [];
  for (const o of objects) o.adjustments = adjustmentsFor(opts.adjustments ?? [], o);

  const results: ObjectResult[][] = kernels.map(() => []);
  const total = kernels.length * objects.length;
  let done = 0;
  let kernelsDone = 0;
  let unexpected = 0;
  const current = new Set<string>();
  const progress = (finishedKernel?: string) => opts.onProgress?.({
    done, total, kernelsDone, kernels: kernels.length, unexpected, current: [...current],
    elapsedMs: performance.now() - t0, ...(finishedKernel ? { finishedKernel } : {}),
  });

  const pool = new WorkerPool({ size: jobs, wasmDir: opts.wasmDir });
  const stats = { relocations: 0, btfParses: 0, cacheHits: 0 };
  let libbpf: string | null = null;
  try {
    if (kernels.length) libbpf = (await pool.run((r) => r.info(), 0)).libbpf;
    const loads = new Map<number, Promise<[Uint8Array, KernelTexts]>>();
    const load = (i: number) => {
      let p = loads.get(i);
      if (!p) {
        // the BTF, and the kernel's config and symbols when it brings them
        // of the symbols, the lines the objects can match (one search per kernel, or none when
        // the cache of kernel files has them for these names)
        p = Promise.all([readKernel(kernels[i]!.path, stats), readKernelTexts(opts.btfDir, kernels[i]!, objects.map((o) => o.bytes))]);
        p.catch(() => {}); // handled when awaited
        loads.set(i, p);
      }
      return p;
    };
    let next = 0;
    const workerLoop = async (w: number) => {
      for (;;) {
        const i = next++;
        if (i >= kernels.length) return;
        if (next < kernels.length) load(next); // one kernel ahead
        const k = kernels[i]!;
        current.add(k.id);
        const loaded = await load(i).catch((e: unknown) => e as Error);
        loads.delete(i);
        const [bytes, texts] = loaded instanceof Error ? [loaded, {}] : loaded;
        results[i] = await checkKernel(pool, w, k, bytes, texts, objects, stats, () => { done++; progress(); }, opts.onPlan, opts.reportMode ?? 'failed');
        current.delete(k.id);
        kernelsDone++;
        unexpected += countUnexpected(objects, k, results[i]!, expectations);
        progress(k.id);
      }
    };
    await Promise.all(Array.from({ length: jobs }, (_, w) => workerLoop(w)));
  } finally {
    await pool.close();
  }

  const flat = results.flat();
  const checkedObjects: CheckedObject[] = objects.map(({ bytes: _b, ...o }) => ({ ...o, programs: o.programs.map((p) => ({ ...p })) }));
  completePrograms(checkedObjects, flat);
  for (const o of checkedObjects) if (!o.programs.length) o.programs.push({ name: '(object)', section: null });
  const report = classify({
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    tool: { corebpf: corebpfVersion(), libbpf },
    shards: [{ index: shard.index, count: shard.count, totalKernels: list.kernels.length }],
    objects: checkedObjects,
    kernels: kernels.map(({ path: _p, ...k }): CheckedKernel => k),
    skippedKernels: list.skipped,
    expectations: { file: opts.expectationsFile ?? null, entries: expectations, uses: [] },
    results: flat,
    timing: { startedAt: started.toISOString(), durationMs: Math.round(performance.now() - t0), jobs },
  });
  return { report, warnings, stats };
}

/** unexpected program failures among one kernel's results (for progress output) */
function countUnexpected(objects: ObjectInput[], k: KernelInput, res: ObjectResult[], entries: Expectation[]): number {
  const objs: CheckedObject[] = objects.map(({ bytes: _b, ...o }) => ({ ...o, programs: o.programs.map((p) => ({ ...p })) }));
  const copy = res.map((r) => ({ ...r, failed: r.failed.map((f) => ({ ...f })) }));
  completePrograms(objs, copy);
  for (const o of objs) if (!o.programs.length) o.programs.push({ name: '(object)', section: null });
  const { path: _p, ...kernel } = k;
  const rep = classify({
    format: REPORT_FORMAT, version: REPORT_VERSION, tool: { corebpf: '', libbpf: null }, shards: [], objects: objs,
    kernels: [kernel], skippedKernels: [], expectations: { file: null, entries, uses: [] }, results: copy,
    timing: { startedAt: '', durationMs: 0, jobs: 0 },
  });
  return rep.summary.unexpectedFail;
}

function errorResult(o: ObjectInput, k: KernelInput, e: unknown, ms: number): ObjectResult {
  const err = e instanceof Error ? e : new Error(String(e));
  return {
    object: o.id, kernel: k.id, outcome: 'error', relocations: 0, failed: [], programsRelocated: [],
    error: { name: err.name, message: firstLines(err.message) }, programs: [], ms,
  };
}

async function checkKernel(pool: WorkerPool, w: number, k: KernelInput, bytes: Uint8Array | Error, texts: KernelTexts, objects: ObjectInput[],
  stats: CheckRun['stats'], tick: () => void, onPlan: CheckOptions['onPlan'], reportMode: ReportMode): Promise<ObjectResult[]> {
  const out: ObjectResult[] = new Array(objects.length);
  if (bytes instanceof Error) {
    objects.forEach((o, i) => { out[i] = errorResult(o, k, bytes, 0); tick(); });
    return out;
  }
  k.btfSha256 = sha256(bytes);
  k.endianness ??= btfEndianness(bytes);
  k.arch ??= elfArch(bytes);
  k.machine ??= machineOf(k.arch);
  let targetError: Error | undefined;
  const one = async (i: number) => {
    const o = objects[i]!;
    if (targetError) {
      out[i] = errorResult(o, k, targetError, 0);
      return;
    }
    if (o.endianness && k.endianness && o.endianness !== k.endianness) {
      out[i] = {
        object: o.id, kernel: k.id, outcome: 'not-applicable', relocations: 0, failed: [], programsRelocated: [],
        error: null, note: `endianness: the object is ${o.endianness}-endian, the kernel ${k.endianness}-endian`, programs: [], ms: 0,
      };
      return;
    }
    const t = performance.now();
    const disabled: DisabledProgram[] = [];
    const withDisabled = <T extends ObjectResult>(r: T): T => (disabled.length ? { ...r, disabled } : r);
    try {
      // A program libbpf stops at (its attach target is not in this kernel, say) fails its
      // own cell: turn it off, as its user space would, and relocate the others again.
      const names = o.programs.map((p) => p.name);
      let r;
      for (;;) {
        stats.relocations++;
        try {
          r = await pool.relocate({
            object: o.bytes, objectName: o.name, btf: bytes, btfKey: k.btfSha256!,
            kernelRelease: k.kernelRelease ?? undefined, kernelVersion: k.kernelVersion ?? undefined, machine: k.machine ?? undefined,
            // the kernel judged by its own BTF: libbpf's features, the helpers and map types
            // it offers (read once per kernel in the worker)
            profileTarget: true,
            ...textsFor(o.bytes, texts),
            reportOnly: !onPlan, // the matrix needs the relocations; --verify the plans too
            // what the matrix reads of them: the failed ones, the count and the programs
            // (the glue writes no record of the others, this thread parses none)
            reportMode: onPlan ? 'full' : reportMode,
            adjustments: disabled.length ? disablePrograms(o.adjustments, disabled.map((d) => d.program)) : o.adjustments,
          }, [], w);
          break;
        } catch (e) {
          if (!(e instanceof LibbpfError)) throw e;
          const at = errorPrograms(e.message, names).find((n) => !disabled.some((d) => d.program === n));
          if (!at || disabled.length + 1 >= names.length) throw e;
          disabled.push({ program: at, error: { name: e.name, message: firstLines(e.message) } });
        }
      }
      if (!r.stats.targetCached) stats.btfParses++;
      if (r.missingFeatures) k.missingFeatures = r.missingFeatures;
      if (onPlan && r.plan) onPlan(o.id, k.id, r.plan);
      out[i] = withDisabled({
        object: o.id, kernel: k.id, outcome: 'relocated', relocations: r.stats.relocations,
        failed: r.relocations.filter((x) => x.status === 'failed').map(failedRelocation),
        programsRelocated: r.programs ?? programsOf(r.relocations), error: null, programs: [], ms: Math.round(performance.now() - t),
        ...(r.unmet?.length ? { unmet: r.unmet } : {}),
      });
    } catch (e) {
      const ms = Math.round(performance.now() - t);
      if (e instanceof RelocationError) {
        // a 'failed' report: the failed records, and the count and programs of them all
        const rel = e.relocations as RelocationRecord[];
        const count = e.details.relocationCount as number | undefined;
        const programs = e.details.programs as string[] | undefined;
        out[i] = withDisabled({
          object: o.id, kernel: k.id, outcome: 'stopped', relocations: count ?? rel.length,
          failed: rel.filter((x) => x.status === 'failed').map(failedRelocation), programsRelocated: programs ?? programsOf(rel),
          error: { name: e.name, message: firstLines(e.message) }, programs: [], ms,
        });
      } else {
        if (e instanceof ObjectFormatError && e.details.input === 'target') targetError = e;
        out[i] = withDisabled(errorResult(o, k, e, ms));
      }
    }
  };
  let i = 0;
  const lane = async () => {
    while (i < objects.length) {
      const j = i++;
      await one(j);
      tick();
    }
  };
  // the first call alone sends and parses the BTF; then a few calls in flight keep the worker busy
  if (objects.length) {
    i = 1;
    await one(0);
    tick();
  }
  await Promise.all(Array.from({ length: IN_FLIGHT_PER_WORKER }, lane));
  return out;
}
