// corebpf check asks the glue for the check-only report (reportMode 'failed',
// wasm/result-protocol.json): the failed relocations' records, their count and the programs
// relocated, instead of every relocation's record. It must give check exactly what the full
// report gives: the same records of the failed relocations, count and programs for every
// object × kernel of the corpus, the same check report (verdicts, failures, JSON), and the
// wasm build must write it byte for byte as the native oracle does.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorebpfError, WorkerPool, runCheck, withoutTiming, type CheckReport } from '../dist/index.js';
import { BTF_DIR, PROGS, TARGETS, corpusFiles, fixtureBytes, fixtures, nativeRun, rawWasm, type RawWasm } from './helpers.js';
import { REPORT_MODES } from '../src/worker/generated/result-protocol.js';
import type { RelocationRecord } from '../src/plan.js';

const tmp = mkdtempSync(join(tmpdir(), 'corebpf-report-mode-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** the synthetic targets as a --btf-dir: core_ambiguous makes libbpf stop (a RelocationError) */
const synthetic = join(tmp, 'synthetic');
mkdirSync(synthetic);
for (const t of ['core_ambiguous', 'core_target']) copyFileSync(join(TARGETS, `${t}.target.btf`), join(synthetic, `${t}.target.btf`));

const programsOf = (rel: RelocationRecord[]) => [...new Set(rel.map((r) => r.program))];

describe('the check-only report gives check what the full report gives', () => {
  const reports: Record<string, Record<'full' | 'failed', CheckReport>> = {};
  beforeAll(async () => {
    for (const [name, btfDir] of [['kernels', BTF_DIR], ['synthetic', synthetic]] as const) {
      const run = async (reportMode: 'full' | 'failed') =>
        (await runCheck({ objects: [PROGS], btfDir, jobs: 2, reportMode } as Parameters<typeof runCheck>[0])).report;
      reports[name] = { full: await run('full'), failed: await run('failed') };
    }
  }, 600_000);

  it.each(['kernels', 'synthetic'])('%s: the same report, verdicts and failed relocations', (name) => {
    const { full, failed } = reports[name]!;
    // not vacuous: relocated pairs, pairs with failed relocations, guarded ones, libbpf stopping
    expect(full.results.filter((r) => r.outcome === 'relocated' && r.relocations > 0).length).toBeGreaterThan(20);
    expect(full.results.some((r) => r.failed.length > 0)).toBe(true);
    expect(full.summary.unexpectedFail).toBeGreaterThan(0);
    if (name === 'kernels') expect(full.summary.guarded).toBeGreaterThan(0);
    else expect(full.results.some((r) => r.outcome === 'stopped' && r.programsRelocated.length > 0)).toBe(true);
    expect(withoutTiming(failed)).toEqual(withoutTiming(full));
  });
});

describe('the check-only report against the full one, object by object', () => {
  const pool = new WorkerPool({ size: 2 });
  afterAll(() => pool.close());
  const objects = corpusFiles().map((f) => ({ name: basename(f).replace(/\..*$/, ''), bytes: new Uint8Array(readFileSync(join(PROGS, f))), file: f }));
  const kernels = [
    ...fixtures().filter((f) => !f.base).map((f) => ({ id: f.file.replace(/\.btf\.xz$/, ''), btf: () => fixtureBytes(f.file), release: f.kernelRelease })),
    ...['core_ambiguous', 'core_target'].map((t) => ({ id: t, btf: () => new Uint8Array(readFileSync(join(TARGETS, `${t}.target.btf`))), release: undefined })),
  ];

  it('has the objects and kernels of the check tests', () => {
    expect(objects.length).toBeGreaterThanOrEqual(80);
    expect(kernels.length).toBeGreaterThanOrEqual(15);
  });

  it.each(kernels.map((k) => [k.id, k] as const))('%s: every object\'s failed records, count and programs', async (_id, k) => {
    const btf = k.btf();
    const btfKey = `${k.id}-${process.pid}`;
    let compared = 0, withFailures = 0, errors = 0;
    const one = async (o: (typeof objects)[number], w: number) => {
      const ask = (reportMode: 'full' | 'failed') => pool.relocate({
        object: o.bytes, objectName: o.name, btf, btfKey, kernelRelease: k.release, profileTarget: true, reportOnly: true, reportMode,
      }, [], w).then((r) => ({ ok: r }), (e: unknown) => ({ error: e as CorebpfError }));
      const [full, failed] = [await ask('full'), await ask('failed')];
      if ('error' in full) {
        errors++;
        expect('error' in failed, `${o.file}: both fail`).toBe(true);
        const f = (failed as { error: CorebpfError }).error;
        expect([f.name, f.message]).toEqual([full.error.name, full.error.message]);
        const all = (full.error.details.relocations ?? []) as RelocationRecord[];
        expect(f.details.relocations).toEqual(all.filter((x) => x.status === 'failed'));
        if (all.length) {
          expect(f.details.relocationCount).toBe(all.length);
          expect(f.details.programs).toEqual(programsOf(all));
        }
        return;
      }
      expect('ok' in failed, `${o.file}: both relocate`).toBe(true);
      const a = full.ok;
      const b = (failed as { ok: typeof a }).ok;
      const failures = a.relocations.filter((x) => x.status === 'failed');
      if (failures.length) withFailures++;
      expect(b.relocations, `${o.file}: the failed records, whole, guards included`).toEqual(failures);
      expect({ ...b.stats, targetCached: null }).toEqual({ ...a.stats, targetCached: null }); // the second call finds the target parsed
      expect(b.stats.relocations).toBe(a.relocations.length);
      expect(b.programs, `${o.file}: the programs relocated, in order`).toEqual(programsOf(a.relocations));
      expect(a.programs).toBeUndefined();
      expect([b.unmet, b.missingFeatures]).toEqual([a.unmet, a.missingFeatures]);
      compared++;
    };
    // by worker, as check schedules: each parses the kernel once
    const half = Math.ceil(objects.length / 2);
    await Promise.all([0, 1].map(async (w) => {
      for (const o of objects.slice(w * half, (w + 1) * half)) await one(o, w);
    }));
    expect(compared + errors).toBe(objects.length);
    expect(compared).toBeGreaterThan(0);
    if (k.id === 'core_target' || k.id.startsWith('amd64-5.10')) expect(withFailures).toBeGreaterThan(0);
  }, 300_000);
});

describe('the check-only report: wasm = native', () => {
  let wasm: RawWasm;
  const dir = mkdtempSync(join(tmpdir(), 'corebpf-report-mode-oracle-'));
  beforeAll(async () => {
    wasm = await rawWasm();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const FAILED = REPORT_MODES.indexOf('failed');

  it('the mode is the second of wasm/result-protocol.json (the number both builds are given)', () => {
    expect(REPORT_MODES).toEqual(['full', 'failed']);
  });

  it.each([
    ['core_target', join(TARGETS, 'core_target.target.btf')],
    ['core_ambiguous', join(TARGETS, 'core_ambiguous.target.btf')],
    ['amd64-5.10.223', 'amd64-5.10.223.btf.xz'],
    ['arm64-7.2.13', 'arm64-7.2.13.btf.xz'],
  ])('every corpus object against %s: identical bytes, and the failed records of the full report', async (_name, target) => {
    let path = target;
    if (target.endsWith('.xz')) {
      path = join(dir, basename(target, '.xz'));
      writeFileSync(path, fixtureBytes(target));
    }
    const h = wasm.register(new Uint8Array(readFileSync(path)));
    let failedSeen = 0;
    try {
      for (const file of corpusFiles()) {
        const name = basename(file).replace(/\..*$/, '');
        const bytes = new Uint8Array(readFileSync(join(PROGS, file)));
        const native = await nativeRun(join(PROGS, file), path, ['--name', name, '--report-mode', 'failed']);
        const w = wasm.run(bytes, name, h, '', FAILED);
        expect(w === native, `${file}: wasm and native differ`).toBe(true);
        // and it is the full report's failed records (the full run after it: the mode is reset)
        const report = (text: string) => (JSON.parse(text.slice(text.indexOf('\n') + 1)) as { report: { reportMode?: string; relocations: RelocationRecord[]; programs?: string[]; stats: object } }).report;
        const full = report(wasm.run(bytes, name, h, '', 0));
        const part = report(w);
        expect(full.reportMode).toBeUndefined();
        expect(part.reportMode).toBe('failed');
        expect(part.relocations).toEqual(full.relocations.filter((x) => x.status === 'failed'));
        expect(part.programs).toEqual(programsOf(full.relocations));
        expect(part.stats).toEqual(full.stats);
        failedSeen += part.relocations.length;
      }
    } finally {
      wasm.release(h);
    }
    expect(failedSeen).toBeGreaterThan(0);
  }, 300_000);
});
