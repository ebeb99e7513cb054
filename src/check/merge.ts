// `corebpf merge`: join the reports of `corebpf check --shard i/N` runs into one report, as
// if one unsharded run had produced it (verdicts are re-derived from the raw results).
import { CorebpfError } from '../errors.js';
import {
  classify, completePrograms, type CheckReport, type CheckedObject, type ObjectResult, type ShardInfo,
} from './report.js';

/** Options of {@link mergeReports}. */
export interface MergeOptions {
  /** accept shards that do not add up to the whole kernel list */
  allowPartial?: boolean;
}

export class MergeError extends CorebpfError {}

function stable(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x)
    ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
    : x));
}

function objectKey(o: CheckedObject): string {
  return `${o.id}@${o.sha256}`;
}

/** Join shard reports. `names` name the reports in error messages (file names). */
export function mergeReports(reports: CheckReport[], names: string[] = reports.map((_, i) => `report ${i + 1}`), opts: MergeOptions = {}): CheckReport {
  if (!reports.length) throw new MergeError('nothing to merge');
  const first = reports[0]!;
  const firstObjects = new Map(first.objects.map((o) => [o.id, o]));

  // the same objects (same bytes) in every shard
  for (let r = 1; r < reports.length; r++) {
    const rep = reports[r]!;
    const here = new Map(rep.objects.map((o) => [o.id, o]));
    const problems: string[] = [];
    for (const o of rep.objects) {
      const f = firstObjects.get(o.id);
      if (!f) problems.push(`${o.id} is only in ${names[r]}`);
      else if (f.sha256 !== o.sha256) problems.push(`${o.id} differs (sha256 ${f.sha256.slice(0, 12)}… in ${names[0]}, ${o.sha256.slice(0, 12)}… in ${names[r]})`);
    }
    for (const o of first.objects) if (!here.has(o.id)) problems.push(`${o.id} is only in ${names[0]}`);
    if (problems.length) {
      throw new MergeError(`cannot merge ${names[0]} and ${names[r]}: they checked different objects:\n  ${problems.join('\n  ')}\n(every shard must check the same objects; only the kernels are split)`);
    }
    if (stable(rep.expectations.entries) !== stable(first.expectations.entries)) {
      throw new MergeError(`cannot merge ${names[0]} and ${names[r]}: they were checked with different expectations (--expect-fail ${first.expectations.file ?? '(none)'} vs ${rep.expectations.file ?? '(none)'})`);
    }
    if (stable(rep.skippedKernels) !== stable(first.skippedKernels)) {
      throw new MergeError(`cannot merge ${names[0]} and ${names[r]}: their --btf-dir skipped different files (not the same kernel directory?)`);
    }
  }

  // no kernel in two shards
  const owner = new Map<string, number>();
  const overlaps: string[] = [];
  reports.forEach((rep, r) => {
    for (const k of rep.kernels) {
      const o = owner.get(k.id);
      if (o !== undefined) overlaps.push(`${k.id} (in ${names[o]} and ${names[r]})`);
      else owner.set(k.id, r);
    }
  });
  if (overlaps.length) {
    const shown = overlaps.slice(0, 10).join('\n  ');
    throw new MergeError(`cannot merge: ${overlaps.length} kernel${overlaps.length === 1 ? ' was' : 's were'} checked by more than one report:\n  ${shown}${overlaps.length > 10 ? `\n  … and ${overlaps.length - 10} more` : ''}\n(merge the reports of one 'corebpf check --shard I/N' matrix, each shard once)`);
  }

  // the shards add up to the whole kernel list
  const shards: ShardInfo[] = reports.flatMap((r) => r.shards).sort((a, b) => a.count - b.count || a.index - b.index);
  const counts = new Set(shards.map((s) => s.count));
  const totals = new Set(shards.map((s) => s.totalKernels));
  const seen = new Set<number>();
  for (const s of shards) {
    if (seen.has(s.index) && counts.size === 1) throw new MergeError(`cannot merge: shard ${s.index}/${s.count} appears twice`);
    seen.add(s.index);
  }
  if (!opts.allowPartial) {
    if (counts.size > 1) throw new MergeError(`cannot merge shards of different splits (${[...counts].map((c) => `/${c}`).join(', ')}); use --allow-partial to merge them anyway`);
    if (totals.size > 1) throw new MergeError(`cannot merge: the shards saw different kernel directories (${[...totals].join(' vs ')} kernels in all)`);
    const count = [...counts][0]!;
    const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
    if (missing.length) throw new MergeError(`incomplete: shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} missing (use --allow-partial to merge what is there)`);
    const total = [...totals][0]!;
    if (owner.size !== total) throw new MergeError(`incomplete: the shards checked ${owner.size} of ${total} kernels`);
  }

  const kernels = reports.flatMap((r) => r.kernels).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const kernelIndex = new Map(kernels.map((k, i) => [k.id, i]));
  const objectIndex = new Map(first.objects.map((o, i) => [o.id, i]));
  const results: ObjectResult[] = reports.flatMap((r) => r.results).map((r) => ({ ...r, failed: r.failed.map((f) => ({ ...f })), programs: [] }));
  results.sort((a, b) => kernelIndex.get(a.kernel)! - kernelIndex.get(b.kernel)! || objectIndex.get(a.object)! - objectIndex.get(b.object)!);

  // rows: the entry programs, then sub-programs any shard saw, as one run would list them
  const objects: CheckedObject[] = first.objects.map((o) => ({ ...o, programs: o.programs.filter((p) => !p.subprogram && p.name !== '(object)').map((p) => ({ ...p })) }));
  completePrograms(objects, results);
  for (const o of objects) if (!o.programs.length) o.programs.push({ name: '(object)', section: null });

  const libbpf = reports.map((r) => r.tool.libbpf).find((v) => v) ?? null;
  const startedAt = reports.map((r) => r.timing.startedAt).sort()[0]!;
  return classify({
    format: first.format,
    version: first.version,
    tool: { corebpf: first.tool.corebpf, libbpf },
    shards,
    objects,
    kernels,
    skippedKernels: first.skippedKernels,
    expectations: { file: first.expectations.file, entries: first.expectations.entries, uses: [] },
    results,
    timing: {
      startedAt,
      durationMs: reports.reduce((n, r) => n + r.timing.durationMs, 0),
      jobs: reports.reduce((n, r) => n + r.timing.jobs, 0),
    },
  });
}
