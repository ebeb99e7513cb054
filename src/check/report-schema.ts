// The shape of a `corebpf check` report (documented in src/check/README.md): what was
// checked, libbpf's raw result for each object × kernel, the per-program verdicts and the
// summary. What fills and reads it is report.ts.
import type { RelocationKind } from '../plan.js';
import type { UnmetNeed } from '../analysis/needs.js';
import type { Expectation } from './expect.js';
import type { VerifierCell, VerifierResult } from './verdict.js';

/** The `format` field of a check report. */
export const REPORT_FORMAT = 'corebpf-check-report';
/** The `version` field of a check report this library writes and reads. */
export const REPORT_VERSION = 1;

/** Byte order of an object or a kernel. */
export type Endianness = 'little' | 'big';

/** A program of a checked object. */
export interface CheckedProgram {
  name: string;
  /** ELF section (SEC("...")) */
  section: string | null;
  /** a .text function (not an entry point) that has CO-RE relocations of its own */
  subprogram?: boolean;
}

/** An object of a check report. */
export interface CheckedObject {
  /** unique name in the report: the file name, or the path given when two files share one */
  id: string;
  path: string;
  /** libbpf's object name (file name up to the first dot) */
  name: string;
  sha256: string;
  size: number;
  endianness: Endianness | null;
  /** entry programs from the ELF symbol table, then sub-programs named by relocations */
  programs: CheckedProgram[];
}

/** A kernel of a check report (one BTF file). */
export interface CheckedKernel {
  /** file path under --btf-dir without .btf / .xz: "amd64-6.1.176" */
  id: string;
  /** file path relative to --btf-dir */
  file: string;
  arch: string | null;
  /** uname -r given to libbpf (LINUX_KERNEL_VERSION); null when unknown */
  kernelRelease: string | null;
  /** uname -v given to libbpf (Debian kernels: "... Debian 6.1.176-1") */
  kernelVersion: string | null;
  /** uname -m given to libbpf */
  machine: string | null;
  endianness: Endianness | null;
  /** sha256 of the uncompressed BTF / vmlinux bytes */
  btfSha256: string | null;
  /** where arch/release came from */
  source: 'manifest' | 'file';
  /** the kernel's config given to libbpf for .kconfig externs (file under --btf-dir) */
  kconfig?: string;
  /** the kernel's symbols (kallsyms form) for typeless __ksym externs (file under --btf-dir) */
  kallsyms?: string;
  package?: string;
  version?: string;
  /** libbpf features this kernel lacks (read from its BTF, else its release): the plans are
   *  made as libbpf makes them there (BTF sanitized, calls rewritten) */
  missingFeatures?: string[];
}

/** A file of the BTF directory that was not checked, and why. */
export interface SkippedKernel {
  file: string;
  reason: string;
}

/** Why a relocation failed, from libbpf's reason. */
export type FailureCause =
  | 'type-missing' | 'field-missing' | 'enumval-missing' | 'ambiguous' | 'size-changed' | 'incompatible' | 'other';

/** A CO-RE relocation that failed, with why (from libbpf's reason). */
export interface FailedRelocation {
  program: string;
  relo: number;
  insn: number | null;
  kind: RelocationKind;
  /** local root type, "struct task_struct" */
  type: string;
  access: string;
  rawAccess: string;
  /** value compiled into the object (u64 as decimal string) */
  local: string | null;
  candidates: number;
  matched: number;
  poisoned: boolean;
  localSize?: number;
  targetSize?: number;
  cause: FailureCause;
  reason: string;
  /** the poisoned instruction is dead code in every loaded program carrying it (a guarded
   * fallback: not a failure); false: it may run; absent: not analyzed (libbpf stopped) */
  guarded?: boolean;
  /** guarded false: a path to the poisoned instruction (entry program, final instruction indexes) */
  path?: { program: string; insns: number[] };
  /** why the analysis decided so, when it is not the plain answer */
  reachNote?: string;
  /** derived: the reason this failure is expected (an expectation's reason, or the ___err_ convention), else null */
  expected: string | null;
}

/** What happened when an object was relocated against a kernel. */
export type Outcome =
  /** libbpf relocated the object (some relocations may have failed: libbpf poisons them) */
  | 'relocated'
  /** libbpf stopped at a relocation it could not resolve (e.g. ambiguous candidates) */
  | 'stopped'
  /** libbpf or corebpf failed for another reason (the error says) */
  | 'error'
  /** not tried: the object's byte order is not the kernel's */
  | 'not-applicable';

/** One object relocated against one kernel. */
export interface ObjectResult {
  object: string;
  kernel: string;
  outcome: Outcome;
  /** CO-RE relocation records libbpf produced */
  relocations: number;
  failed: FailedRelocation[];
  /** programs that had at least one relocation record (complete only when outcome is 'relocated') */
  programsRelocated: string[];
  error: { name: string; message: string } | null;
  /** not-applicable: why */
  note?: string;
  /** programs turned off (bpf_program__set_autoload) after libbpf stopped at them, so that
   *  the others could be relocated; each with the error it stopped with */
  disabled?: DisabledProgram[];
  /** relocated, but needing what the kernel's BTF says it lacks (a helper, a map or program
   *  type): the kernel refuses these programs at load */
  unmet?: UnmetNeed[];
  /** derived per-program verdicts, in the object's program order */
  programs: ProgramVerdict[];
  /** check --verify: what the kernel's verifier said (raw; merged like the rest) */
  verifier?: VerifierResult;
  /** timing: milliseconds the relocation took (left out of comparisons) */
  ms: number;
}

/** A program turned off after libbpf stopped at it, with the error it stopped with. */
export interface DisabledProgram {
  program: string;
  error: { name: string; message: string };
}

/** A program's verdict on a kernel, with expectations applied: `pass`, `expected-fail`, `unexpected-fail`, `unexpected-pass` (expected to fail but did not), `skipped` (not checked: libbpf stopped earlier), `not-applicable` (byte order). */
export type Verdict = 'pass' | 'expected-fail' | 'unexpected-fail' | 'unexpected-pass' | 'skipped' | 'not-applicable';

/** A program's verdict on one kernel. */
export interface ProgramVerdict {
  program: string;
  status: Verdict;
  /** failed relocations of this program whose poisoned instruction may run (indexes into result.failed) */
  failures: number[];
  /** failed relocations of this program in dead code (guarded fallbacks; indexes into result.failed):
   * a 'pass' with guarded relocations is the "ok, guarded" verdict */
  guarded?: number[];
  /** check --verify: the kernel verifier's verdict beside the offline one */
  verifier?: VerifierCell;
  /** the program failed because libbpf stopped with an error for the whole object */
  error?: boolean;
  /** why it is expected to fail, when it is */
  expected?: string;
  /** skipped / not-applicable: why */
  note?: string;
}

/** The expected failures a report was checked with, and how often each matched. */
export interface ReportExpectations {
  /** the --expect-fail file as given, or null */
  file: string | null;
  entries: Expectation[];
  /** derived: failures each entry matched */
  uses: number[];
}

/** The counts of a check report. */
export interface Summary {
  objects: number;
  kernels: number;
  skippedKernels: number;
  programs: number;
  cells: number;
  pass: number;
  /** of the passes: cells with guarded (dead) failed relocations */
  guarded: number;
  /** check --verify: cells whose verifier verdict disagrees with the offline one */
  verifierDisagree?: number;
  expectedFail: number;
  unexpectedFail: number;
  unexpectedPass: number;
  skipped: number;
  notApplicable: number;
  unusedExpectations: number;
}

/** Which shard of the kernel list a report covers (`check --shard I/N`). */
export interface ShardInfo {
  index: number;
  count: number;
  /** kernels in the whole (unsharded) list */
  totalKernels: number;
}

/** The report of `corebpf check`: every object against every kernel (docs/check-report.md). */
export interface CheckReport {
  format: typeof REPORT_FORMAT;
  version: typeof REPORT_VERSION;
  tool: { corebpf: string; libbpf: string | null };
  /** the shards this report covers: one for a `check` run, several after `merge` */
  shards: ShardInfo[];
  objects: CheckedObject[];
  kernels: CheckedKernel[];
  skippedKernels: SkippedKernel[];
  expectations: ReportExpectations;
  /** one per object × kernel, kernel-major in the order of `kernels`, then `objects` */
  results: ObjectResult[];
  summary: Summary;
  /** timing (left out of comparisons) */
  timing: { startedAt: string; durationMs: number; jobs: number };
}
