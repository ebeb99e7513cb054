// The human summary `corebpf check` and `corebpf merge` print on stdout.
import { safeLine } from '../text-safe.js';
import { describeExpectation } from './expect.js';
import { describeGuarded, describePath, describeVerifier } from './verdict.js';
import { CAUSE_TEXT, errorSummary, programError, type CheckReport, type CheckedKernel, type FailedRelocation, type ObjectResult, type Verdict } from './report.js';

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function list(names: string[], max = 4): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

export function kernelLabel(k: CheckedKernel): string {
  const extra = [k.arch, k.kernelRelease].filter(Boolean).join(' ');
  return extra ? `${k.id} (${extra})` : k.id;
}

export function describeFailure(f: FailedRelocation): string {
  if (f.guarded) return describeGuarded(f);
  const path = describePath(f);
  return `insn ${f.insn ?? '?'} ${f.kind} ${f.access}: ${CAUSE_TEXT[f.cause]}: ${f.reason}${f.poisoned ? ' [instruction poisoned]' : ''}${path ? ` (${path})` : ''}`;
}

function duration(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** The summary: counts, a line per object (per program where some kernel fails), then
 * every unexpected failure grouped by what failed, with the kernels it failed on. */
export function formatSummary(report: CheckReport, opts: { verbose?: boolean } = {}): string {
  const s = report.summary;
  const out: string[] = [];
  const shardText = report.shards.length === 1 && report.shards[0]!.count > 1
    ? ` (shard ${report.shards[0]!.index}/${report.shards[0]!.count} of ${report.shards[0]!.totalKernels} kernels)`
    : report.shards.length > 1 ? ` (${report.shards.length} shards merged)` : '';
  out.push(`corebpf check: ${plural(s.objects, 'object')} (${plural(s.programs, 'program')}) × ${plural(s.kernels, 'kernel')}${shardText}, ${plural(report.timing.jobs, 'worker')}, ${duration(report.timing.durationMs)}`);
  for (const k of report.skippedKernels) out.push(`  skipped ${k.file}: ${k.reason}`);
  out.push(`  ${s.pass} pass${s.guarded ? ` (${s.guarded} with guarded relocations in dead code)` : ''} · ${s.expectedFail} expected failures · ${s.unexpectedFail} UNEXPECTED failures · ${s.unexpectedPass} unexpected passes · ${s.notApplicable} not applicable · ${s.skipped} not checked  (program × kernel)`);
  out.push('');

  const kernels = new Map(report.kernels.map((k) => [k.id, k]));
  const byObject = new Map<string, ObjectResult[]>();
  for (const r of report.results) {
    let l = byObject.get(r.object);
    if (!l) byObject.set(r.object, (l = []));
    l.push(r);
  }
  const width = Math.max(10, ...report.objects.flatMap((o) => o.programs.map((p) => p.name.length + 4)));
  for (const o of report.objects) {
    const res = byObject.get(o.id) ?? [];
    const applicable = res.filter((r) => r.outcome !== 'not-applicable');
    const na = res.length - applicable.length;
    const naNote = na ? `; not applicable on ${plural(na, 'kernel')} (${res.find((r) => r.outcome === 'not-applicable')?.note?.split(':')[0] ?? 'n/a'})` : '';
    const lines = o.programs.map((p, pi) => {
      const by = (v: Verdict) => applicable.filter((r) => r.programs[pi]?.status === v).map((r) => r.kernel);
      const all = (ks: string[]) => (ks.length === applicable.length ? 'all' : list(ks));
      const parts = [`relocates on ${by('pass').length + by('unexpected-pass').length}/${applicable.length}`];
      const ux = by('unexpected-fail');
      const xf = by('expected-fail');
      const xp = by('unexpected-pass');
      const sk = by('skipped');
      const gu = applicable.filter((r) => r.programs[pi]?.status === 'pass' && r.programs[pi]!.guarded?.length).map((r) => r.kernel);
      if (gu.length) parts.push(`guarded fallbacks on ${all(gu)}`);
      if (ux.length) parts.push(`UNEXPECTED failure on ${all(ux)}`);
      if (xf.length) parts.push(`expected failure on ${all(xf)}`);
      if (xp.length) parts.push(`unexpectedly relocates on ${all(xp)}`);
      if (sk.length) parts.push(`not checked on ${all(sk)}`);
      return parts.join('; ');
    });
    if (!applicable.length) {
      out.push(`${o.id}: no kernel to check${naNote}`);
    } else if (lines.every((l) => l === lines[0])) {
      const one = lines[0] === `relocates on ${applicable.length}/${applicable.length}` ? `relocate on all ${plural(applicable.length, 'kernel')}` : lines[0];
      out.push(`${o.id}: ${o.programs.length === 1 ? `${o.programs[0]!.name}: ${one}` : `all ${o.programs.length} programs: ${one}`}${naNote}`);
    } else {
      out.push(`${o.id}:${naNote ? ` (${naNote.slice(2)})` : ''}`);
      o.programs.forEach((p, pi) => out.push(`  ${p.name.padEnd(width)}${lines[pi]}`));
    }
  }

  // unexpected failures: by object and what failed (one libbpf error of an object is listed
  // once, with the programs it stopped), with the kernels it happened on
  const groups = new Map<string, { object: string; programs: Set<string>; what: string; kernels: Set<string> }>();
  const add = (object: string, program: string, what: string, kernel: string) => {
    const key = `${object}\0${what}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { object, programs: new Set(), what, kernels: new Set() }));
    g.programs.add(program);
    g.kernels.add(kernel);
  };
  for (const r of report.results) {
    for (const p of r.programs) {
      if (p.status !== 'unexpected-fail') continue;
      if (p.error) add(r.object, p.program, `${r.unmet?.some((u) => u.program === p.program) ? 'kernel' : 'libbpf error'}: ${errorSummary(programError(r, p.program))}`, r.kernel);
      else for (const i of p.failures) if (r.failed[i]!.expected === null) add(r.object, p.program, `${p.program}: ${describeFailure(r.failed[i]!)}`, r.kernel);
    }
  }
  if (groups.size) {
    out.push('', `UNEXPECTED FAILURES (${plural(s.unexpectedFail, 'program × kernel')}):`);
    let last = '';
    for (const g of groups.values()) {
      if (g.object !== last) out.push(`  ${g.object}`);
      last = g.object;
      const ks = [...g.kernels];
      const on = ks.length === report.kernels.length ? `all ${ks.length} kernels` : list(ks.map((id) => (ks.length <= 2 ? kernelLabel(kernels.get(id)!) : id)), 6);
      const progs = g.what.startsWith('libbpf error') ? ` [${g.programs.size === report.objects.find((o) => o.id === g.object)?.programs.length ? 'all programs' : [...g.programs].join(', ')}]` : '';
      out.push(`    ${g.what}${progs}`, `      on ${on}`);
    }
  }
  if (opts.verbose && s.guarded) {
    out.push('', 'guarded relocations (failed, in dead code: the programs load):');
    for (const r of report.results) {
      for (const p of r.programs) for (const i of p.guarded ?? []) out.push(`  ${r.object} ${p.program} on ${r.kernel}: ${describeFailure(r.failed[i]!)}`);
    }
  }
  const verified = report.results.some((r) => r.programs.some((p) => p.verifier));
  if (verified) {
    const dis = report.results.flatMap((r) => r.programs.filter((p) => p.verifier && !p.verifier.agrees).map((p) => `  ${r.object} ${p.program} on ${r.kernel}: offline ${p.status}${p.guarded?.length ? ' (guarded)' : ''}, ${describeVerifier(p.verifier!)}`));
    const count = new Map<string, number>();
    const notes = new Map<string, number>();
    for (const r of report.results) {
      for (const p of r.programs) {
        if (!p.verifier) continue;
        count.set(p.verifier.status, (count.get(p.verifier.status) ?? 0) + 1);
        if (p.verifier.status === 'not-verified' || p.verifier.status === 'not-loaded') notes.set(p.verifier.note ?? p.verifier.status, (notes.get(p.verifier.note ?? p.verifier.status) ?? 0) + 1);
      }
    }
    const runs = [...new Set(report.results.flatMap((r) => (r.verifier?.note && r.verifier.runner !== 'none' && !r.verifier.note.startsWith('not verified') ? [`  ${r.kernel}: ${r.verifier.note}`] : [])))];
    out.push('', `verifier (check --verify): ${['accepted', 'rejected', 'not-loaded', 'not-verified'].map((k) => `${count.get(k) ?? 0} ${k}`).join(', ')}`,
      ...runs, ...[...notes].map(([n, c]) => `  ${c} × ${n}`));
    out.push(dis.length ? `VERIFIER DISAGREES (${p2(dis.length)}):` : 'verifier: agrees with every offline verdict it was asked about', ...dis);
  }
  if (opts.verbose && s.expectedFail) {
    out.push('', 'expected failures:');
    for (const r of report.results) {
      for (const p of r.programs) if (p.status === 'expected-fail') out.push(`  ${r.object} ${p.program} on ${r.kernel}: ${p.expected}`);
    }
  }
  if (s.unexpectedPass) {
    const xp = new Map<string, string[]>();
    for (const r of report.results) {
      for (const p of r.programs) {
        if (p.status !== 'unexpected-pass') continue;
        const key = `${r.object} ${p.program}`;
        xp.set(key, [...(xp.get(key) ?? []), r.kernel]);
      }
    }
    out.push('', `unexpected passes (${p2(s.unexpectedPass)}; expected to fail, but relocate):`);
    const applicable = (object: string) => (byObject.get(object) ?? []).filter((r) => r.outcome !== 'not-applicable').length;
    for (const [key, ks] of xp) out.push(`  ${key} on ${ks.length === applicable(key.split(' ')[0]!) ? 'all kernels' : list(ks)}`);
  }
  const unused = report.expectations.entries.flatMap((e, i) => (report.expectations.uses[i] === 0 ? [e] : []));
  if (unused.length) {
    const partial = report.shards.some((x) => x.count > 1) && report.shards.length === 1;
    out.push('', `expectations that matched no failure${partial ? ' in this shard' : ''} (${report.expectations.file ?? 'expectations'}):`);
    for (const e of unused) out.push(`  ${describeExpectation(e)}${e.reason ? `  — ${e.reason}` : ''}`);
  }
  out.push('', s.unexpectedFail
    ? `FAILED: ${plural(s.unexpectedFail, 'unexpected failure')}`
    : `OK: no unexpected failures (${s.pass} pass, ${s.expectedFail} expected failures)`);
  // names come from the inputs: one element is one line, whatever a name holds
  return out.map(safeLine).join('\n');
}

function p2(n: number): string {
  return plural(n, 'program × kernel');
}
