// The three offline verdicts of a program × kernel cell, and the verifier's column.
//
// Offline, a cell is
//   ok                   every CO-RE relocation of the program resolved;
//   ok, guarded          some failed, but each poisoned instruction is dead code once the
//                        CO-RE and kconfig constants are folded (src/analysis/reach.ts): the
//                        verifier never visits it, the program loads;
//   failed               a failed relocation's poisoned instruction may run (with a path).
// Expectations then turn "failed" into expected / unexpected failures (report.ts classify()).
//
// `check --verify` (the lab's VMs) adds the kernel verifier's verdict per cell. It is raw
// data of the result (ObjectResult.verifier), so `merge` carries it like every other result,
// and classify() puts it beside the offline verdict, saying when the two disagree.
import type { FailedRelocation, ObjectResult, ProgramVerdict, Verdict } from './report.js';

/** the offline verdict in the words of the issue: ok / ok-guarded / failed */
export type OfflineVerdict = 'ok' | 'ok-guarded' | 'failed';

/** What the kernel's verifier said about one program of an object (check --verify). */
export interface VerifierProgramResult {
  program: string;
  /** accepted: loaded (and closed again); rejected: BPF_PROG_LOAD failed in the verifier;
   * not-loaded: the plan could not be loaded for another reason (the note says);
   * not-verified: no verifier was asked (no bootable kernel, no plan: the note says) */
  status: 'accepted' | 'rejected' | 'not-loaded' | 'not-verified';
  /** rejected: the errno of BPF_PROG_LOAD (EACCES, EINVAL, ...) */
  errno?: string;
  /** rejected: the verifier log's failing instruction and message, and its C source line */
  insn?: number;
  message?: string;
  source?: string;
  note?: string;
}

/** Raw verifier results of one object × kernel: where they came from and per program. */
export interface VerifierResult {
  /** how the kernel was run, e.g. "qemu amd64 6.1.0-50-amd64" */
  runner: string;
  /** uname -r the booted kernel reported */
  kernelRelease: string | null;
  programs: VerifierProgramResult[];
  /** a remark on the whole result (why it was not verified; a booted kernel whose BTF is
   *  not the fixture's) */
  note?: string;
}

/** The verifier's column of a cell (derived by classify()). */
export interface VerifierCell {
  status: VerifierProgramResult['status'];
  /** the offline verdict says the same: ok/ok-guarded with accepted, failed with rejected
   *  or not-loaded (cells no kernel was asked about, not-verified, agree) */
  agrees: boolean;
  errno?: string;
  insn?: number;
  message?: string;
  source?: string;
  note?: string;
}

/** a failure counts unless the analysis proved its poisoned instruction dead */
export const isGuarded = (f: FailedRelocation): boolean => f.guarded === true;

/** a program's failed relocations: those that may run, and the guarded (dead) ones */
export function splitFailures(r: ObjectResult, program: string): { failures: number[]; guarded: number[] } {
  const failures: number[] = [];
  const guarded: number[] = [];
  r.failed.forEach((f, i) => {
    if (f.program === program) (isGuarded(f) ? guarded : failures).push(i);
  });
  return { failures, guarded };
}

const OFFLINE_OK: Verdict[] = ['pass', 'unexpected-pass'];

/** A program's offline verdict (ok / ok-guarded / failed), or null when it was skipped or not applicable. */
export function offlineVerdict(p: ProgramVerdict): OfflineVerdict | null {
  if (OFFLINE_OK.includes(p.status)) return p.guarded?.length ? 'ok-guarded' : 'ok';
  if (p.status === 'expected-fail' || p.status === 'unexpected-fail') return 'failed';
  return null;
}

/** the verifier's cell for program p of result r, when the result has verifier data */
export function verifierCell(r: ObjectResult, p: ProgramVerdict): VerifierCell | undefined {
  const v = r.verifier?.programs.find((x) => x.program === p.program);
  if (!v) return undefined;
  const offline = offlineVerdict(p);
  // a plan the kernel would not take (its BTF, a map type the kernel lacks) does not load
  // either: against an offline "ok" that is a disagreement too
  const agrees = v.status === 'not-verified' || offline === null
    ? true
    : (offline === 'failed') === (v.status === 'rejected' || v.status === 'not-loaded');
  const cell: VerifierCell = { status: v.status, agrees };
  for (const k of ['errno', 'insn', 'message', 'source', 'note'] as const) if (v[k] !== undefined) (cell as unknown as Record<string, unknown>)[k] = v[k];
  return cell;
}

/** one line for a guarded relocation: what failed, and that it is dead code */
export function describeGuarded(f: FailedRelocation): string {
  return `insn ${f.insn ?? '?'} ${f.kind} ${f.access}: ${f.reason} [guarded: the poisoned instruction is dead code${f.reachNote ? `; ${f.reachNote}` : ''}]`;
}

/** a reachable failure's path, as text ("reached by 0 → 12 → 40 in prog") */
export function describePath(f: FailedRelocation): string {
  if (f.path) return `reached by insn ${f.path.insns.join(' → ')} of ${f.path.program}`;
  if (f.reachNote) return `may be reached: ${f.reachNote}`;
  return '';
}

/** the verifier's cell in a few words */
export function describeVerifier(v: VerifierCell): string {
  const what = v.status === 'accepted' ? 'verifier accepts' : v.status === 'rejected'
    ? `verifier rejects${v.errno ? ` (${v.errno})` : ''}${v.insn !== undefined ? ` at insn ${v.insn}` : ''}${v.message ? `: ${v.message}` : ''}${v.source ? ` (${v.source})` : ''}`
    : v.status === 'not-verified' ? v.note ?? 'not verified'
      : `not loaded${v.note ? `: ${v.note}` : ''}`;
  return v.agrees ? what : `${what} — DISAGREES with the offline verdict`;
}
