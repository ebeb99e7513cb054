// The `corebpf check` report made and read: per-program verdicts derived from libbpf's raw
// results and the expectations, the summary, and the JSON form (its shape: report-schema.ts,
// documented in src/check/README.md; `corebpf merge` reads it). Verdicts are always
// re-derived from the raw results (classify()), so a merged report classifies exactly as one
// unsharded run would.
import type { RelocationRecord } from '../plan.js';
import { describeCtxRefusals, describeNeeds } from '../analysis/needs.js';
import { ObjectFormatError } from '../errors.js';
import { matchError, matchRelocation, ERR_CONVENTION, isErrProgram } from './expect.js';
import { isGuarded, splitFailures, verifierCell } from './verdict.js';
import {
  REPORT_FORMAT, REPORT_VERSION, type CheckedObject, type CheckedProgram, type CheckReport, type FailedRelocation,
  type FailureCause, type ObjectResult, type ProgramVerdict, type Summary,
} from './report-schema.js';

export * from './report-schema.js';

const CAUSES: [RegExp, FailureCause][] = [
  [/ambigu/i, 'ambiguous'],
  [/size changed|memsz|size mismatch/i, 'size-changed'],
  [/has no .* \(no type with this name|no candidate|has no (struct|union|enum|typedef|type)/i, 'type-missing'],
  [/none has field|no such field/i, 'field-missing'],
  [/none has enumerator/i, 'enumval-missing'],
  [/none compatible|incompatible|not compatible/i, 'incompatible'],
];

export function causeOf(reason: string | undefined): FailureCause {
  for (const [re, c] of CAUSES) if (reason && re.test(reason)) return c;
  return 'other';
}

export const CAUSE_TEXT: Record<FailureCause, string> = {
  'type-missing': 'type missing',
  'field-missing': 'field missing',
  'enumval-missing': 'enumerator missing',
  ambiguous: 'ambiguous candidates',
  'size-changed': 'size changed',
  incompatible: 'incompatible type',
  other: 'failed',
};

export function failedRelocation(r: RelocationRecord): FailedRelocation {
  const reason = r.reason ?? 'libbpf gave no reason';
  const f: FailedRelocation = {
    program: r.program, relo: r.relo, insn: r.insn, kind: r.kind, type: r.type, access: r.access,
    rawAccess: r.rawAccess, local: r.local, candidates: r.candidates, matched: r.matched,
    poisoned: r.poisoned === true, cause: causeOf(reason), reason, expected: null,
  };
  if (r.localSize !== undefined) f.localSize = r.localSize;
  if (r.targetSize !== undefined) f.targetSize = r.targetSize;
  if (r.guarded !== undefined) f.guarded = r.guarded;
  if (r.reachPath) f.path = r.reachPath;
  if (r.reachNote) f.reachNote = r.reachNote;
  return f;
}

/** Row list of an object: its entry programs, then every other program a result names. */
export function completePrograms(objects: CheckedObject[], results: ObjectResult[]): void {
  const byId = new Map(objects.map((o) => [o.id, o]));
  const extra = new Map<string, Set<string>>();
  for (const r of results) {
    const names = new Set([...r.programsRelocated, ...r.failed.map((f) => f.program)]);
    for (const n of names) {
      let s = extra.get(r.object);
      if (!s) extra.set(r.object, (s = new Set()));
      s.add(n);
    }
  }
  for (const [id, names] of extra) {
    const o = byId.get(id);
    if (!o) continue;
    const have = new Set(o.programs.map((p) => p.name));
    for (const n of [...names].sort()) {
      if (!have.has(n)) o.programs.push({ name: n, section: null, subprogram: true });
    }
  }
}

/** Derive every program verdict, each failure's `expected`, the expectation uses and the summary. */
export function classify(report: Omit<CheckReport, 'summary'> & { summary?: Summary }): CheckReport {
  const objects = new Map(report.objects.map((o) => [o.id, o]));
  const kernels = new Map(report.kernels.map((k) => [k.id, k]));
  const entries = report.expectations.entries;
  const uses = entries.map(() => 0);
  for (const r of report.results) {
    const obj = objects.get(r.object);
    const kernel = kernels.get(r.kernel);
    if (!obj || !kernel) throw new ObjectFormatError(`check report: result for unknown ${obj ? 'kernel' : 'object'} '${obj ? r.kernel : r.object}'`);
    for (const f of r.failed) {
      f.expected = null;
      if (isGuarded(f)) continue; // dead code: not a failure to expect
      if (isErrProgram(f.program)) {
        f.expected = ERR_CONVENTION;
        continue;
      }
      const i = matchRelocation(entries, obj, kernel, f);
      if (i >= 0) {
        uses[i]!++;
        f.expected = entries[i]!.reason ?? 'listed in the expectations';
      }
    }
    const relocated = new Set(r.programsRelocated);
    const errorUses = new Set<number>();
    const objectError = (p: CheckedProgram, message: string, failures: number[], note?: string): ProgramVerdict => {
      let expected: string | undefined = isErrProgram(p.name) ? ERR_CONVENTION : undefined;
      if (!expected) {
        const i = matchError(entries, obj, kernel, p.name, message);
        if (i >= 0) {
          errorUses.add(i);
          expected = entries[i]!.reason ?? 'listed in the expectations';
        }
      }
      return { program: p.name, status: expected ? 'expected-fail' : 'unexpected-fail', failures, error: true, ...(expected ? { expected } : {}), ...(note ? { note } : {}) };
    };
    const programVerdict = (p: CheckedProgram): ProgramVerdict => {
      const { failures, guarded } = splitFailures(r, p.name);
      const err = isErrProgram(p.name);
      if (r.outcome === 'not-applicable') return { program: p.name, status: 'not-applicable', failures, note: r.note ?? 'not applicable' };
      const lacks = unmetError(r, p.name);
      if (lacks) return objectError(p, lacks.message, failures, lacks.name === 'VerifierError' ? 'the kernel\'s verifier refuses its context access (argument types from its BTF)' : 'the kernel lacks what it needs (from its BTF)');
      const off = r.disabled?.find((d) => d.program === p.name);
      if (off) {
        return objectError(p, off.error.message, failures,
          `turned off (autoload) so that the other programs could be checked: ${errorSummary(off.error)}`);
      }
      if (r.outcome === 'error') {
        // libbpf names the program it stopped at ("prog 'x': failed to find kernel BTF type ID of ...");
        // the others were not checked
        const named = errorPrograms(r.error?.message ?? '', obj.programs.map((q) => q.name));
        if (named.length && !named.includes(p.name)) {
          return { program: p.name, status: 'skipped', failures, note: `not checked: libbpf stopped at an error in program '${named[0]}'` };
        }
        return objectError(p, r.error?.message ?? '', failures);
      }
      if (failures.length) {
        if (failures.some((i) => r.failed[i]!.expected === null)) return { program: p.name, status: 'unexpected-fail', failures };
        return { program: p.name, status: 'expected-fail', failures, expected: r.failed[failures[0]!]!.expected! };
      }
      if (r.outcome === 'stopped' && !relocated.has(p.name)) {
        return { program: p.name, status: 'skipped', failures, note: 'not checked: libbpf stopped at an earlier failed relocation' };
      }
      if (err) return { program: p.name, status: 'unexpected-pass', failures, ...(guarded.length ? { guarded } : {}), note: `relocates, but ${ERR_CONVENTION}` };
      return { program: p.name, status: 'pass', failures, ...(guarded.length ? { guarded } : {}) };
    };
    r.programs = obj.programs.map((p) => withColumns(r, programVerdict(p)));
    // an object-level error counts once per expectation entry, not once per program
    for (const i of errorUses) uses[i]!++;
  }
  const out = report as CheckReport;
  out.expectations.uses = uses;
  out.summary = summarize(out);
  return out;
}

/** the libbpf error behind a program's cell: the one it was turned off for, else the object's */
export function programError(r: ObjectResult, program: string): { name: string; message: string } | null {
  return unmetError(r, program) ?? r.disabled?.find((d) => d.program === program)?.error ?? r.error;
}

/** the program's unmet needs as the error the kernel's refusal amounts to */
function unmetError(r: ObjectResult, program: string): { name: string; message: string } | null {
  const mine = r.unmet?.filter((u) => u.program === program);
  if (!mine?.length) return null;
  const lacks = describeNeeds(mine);
  const refused = describeCtxRefusals(mine);
  if (!lacks) return { name: 'VerifierError', message: `the kernel's verifier refuses ${refused}` };
  return { name: 'NotSupportedError', message: `this kernel lacks ${lacks}${refused ? `; its verifier refuses ${refused}` : ''}` };
}

/** the verdict with the verifier's column beside it, when the result has one */
function withColumns(r: ObjectResult, v: ProgramVerdict): ProgramVerdict {
  const cell = verifierCell(r, v);
  return cell ? { ...v, verifier: cell } : v;
}

/** programs an object-level libbpf error names ("libbpf: prog 'x': ...") */
export function errorPrograms(message: string, programs: string[]): string[] {
  const names = new Set<string>();
  for (const m of message.matchAll(/prog '([^']+)'/g)) names.add(m[1]!);
  return programs.filter((p) => names.has(p));
}

/** an object-level error in one line: corebpf's message and libbpf's first explanation */
export function errorSummary(e: { name: string; message: string } | null): string {
  if (!e) return 'error';
  const lines = e.message.split('\n');
  const why = lines.slice(1).map((l) => l.replace(/^libbpf: /, '')).find((l) => l && !/^failed to load object/.test(l));
  return `${e.name}: ${lines[0]}${why ? ` (${why})` : ''}`;
}

export function summarize(report: CheckReport): Summary {
  const s: Summary = {
    objects: report.objects.length, kernels: report.kernels.length, skippedKernels: report.skippedKernels.length,
    programs: report.objects.reduce((n, o) => n + o.programs.length, 0), cells: 0,
    pass: 0, guarded: 0, expectedFail: 0, unexpectedFail: 0, unexpectedPass: 0, skipped: 0, notApplicable: 0,
    unusedExpectations: report.expectations.uses.filter((u) => u === 0).length,
  };
  for (const r of report.results) {
    for (const p of r.programs) {
      s.cells++;
      if (p.status === 'pass' && p.guarded?.length) s.guarded++;
      if (p.verifier && !p.verifier.agrees) s.verifierDisagree = (s.verifierDisagree ?? 0) + 1;
      switch (p.status) {
        case 'pass': s.pass++; break;
        case 'expected-fail': s.expectedFail++; break;
        case 'unexpected-fail': s.unexpectedFail++; break;
        case 'unexpected-pass': s.unexpectedPass++; break;
        case 'skipped': s.skipped++; break;
        case 'not-applicable': s.notApplicable++; break;
      }
    }
  }
  return s;
}

/** A check report as JSON text (what {@link parseCheckReport} reads back). */
export function serializeReport(report: CheckReport): string {
  return JSON.stringify(report, null, 1) + '\n';
}

/** Parse a report written by `corebpf check --json` (or merge). Throws ObjectFormatError. */
export function parseReport(text: string | Uint8Array, name = 'report'): CheckReport {
  const s = typeof text === 'string' ? text : new TextDecoder().decode(text);
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch (e) {
    throw new ObjectFormatError(`${name} is not a check report: invalid JSON (${(e as Error).message})`, {}, { cause: e });
  }
  const r = v as Partial<CheckReport>;
  if (!r || typeof r !== 'object' || r.format !== REPORT_FORMAT) {
    throw new ObjectFormatError(`${name} is not a check report: "format" is not "${REPORT_FORMAT}" (write one with corebpf check --json)`);
  }
  if (r.version !== REPORT_VERSION) {
    throw new ObjectFormatError(`${name}: check report version ${String(r.version)} is not supported (this corebpf reads version ${REPORT_VERSION})`);
  }
  for (const key of ['objects', 'kernels', 'skippedKernels', 'results', 'shards'] as const) {
    if (!Array.isArray(r[key])) throw new ObjectFormatError(`${name}: check report has no "${key}" array`);
  }
  if (!r.expectations || !Array.isArray(r.expectations.entries)) throw new ObjectFormatError(`${name}: check report has no "expectations.entries"`);
  return r as CheckReport;
}

/** The report without timing fields: what two runs over the same inputs agree on. */
export function withoutTiming(report: CheckReport): Omit<CheckReport, 'timing' | 'shards'> {
  const { timing: _t, shards: _s, ...rest } = report;
  return { ...rest, results: rest.results.map(({ ms: _ms, ...r }) => r as ObjectResult) };
}
