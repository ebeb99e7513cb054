// Explaining verifier rejections: which instruction failed, which C source line it came
// from (the plan's bpf_line_info records, whose insn_off counts INSTRUCTIONS as the kernel
// wants them: libbpf converted them from .BTF.ext's byte offsets), and whether the
// instruction was poisoned by libbpf because a CO-RE relocation failed.
//
// libbpf's poison values (libbpf.c / relo_core.c):
//   call unknown#195896080               (0xbad2310)  a CO-RE relocation failed
//   call unknown#2001000000 + map index               an ld_imm64 of a map that was not created
//   call unknown#2002000000 + extern index            a kfunc call that was not resolved
import type { Btf } from '../btf/reader.js';
import { VerifierError } from '../errors.js';
import type { LoadPlan, PlanProgram, RelocationRecord } from '../plan.js';

export const POISON_CORE = 0xbad2310;
export const POISON_LDIMM64_MAP_BASE = 2001000000;
export const POISON_CALL_KFUNC_BASE = 2002000000;

/** A source line, from the program's BTF line info. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
  /** the source line's text as recorded in the BTF */
  text: string;
  /** the instruction whose line record this is */
  insn: number;
}

export interface LineInfoRecord {
  insnOff: number;
  fileNameOff: number;
  lineOff: number;
  line: number;
  column: number;
}

export interface FuncInfoRecord {
  insnOff: number;
  typeId: number;
  name: string;
}

function view(b64: string): DataView {
  const b = Buffer.from(b64, 'base64');
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** The program's bpf_line_info records (insn_off in instructions). */
export function lineInfoRecords(prog: PlanProgram, littleEndian = true): LineInfoRecord[] {
  const li = prog.lineInfo;
  if (!li || li.recSize < 16) return [];
  const v = view(li.data);
  const out: LineInfoRecord[] = [];
  for (let o = 0; o + li.recSize <= v.byteLength; o += li.recSize) {
    const lineCol = v.getUint32(o + 12, littleEndian);
    out.push({
      insnOff: v.getUint32(o, littleEndian), fileNameOff: v.getUint32(o + 4, littleEndian),
      lineOff: v.getUint32(o + 8, littleEndian), line: lineCol >>> 10, column: lineCol & 0x3ff,
    });
  }
  return out;
}

/** The program's bpf_func_info records, with the FUNC names from the plan's BTF. */
export function funcInfoRecords(prog: PlanProgram, btf: Btf | null): FuncInfoRecord[] {
  const fi = prog.funcInfo;
  if (!fi || fi.recSize < 8) return [];
  const le = btf ? btf.endianness === 'little' : true;
  const v = view(fi.data);
  const out: FuncInfoRecord[] = [];
  for (let o = 0; o + fi.recSize <= v.byteLength; o += fi.recSize) {
    const typeId = v.getUint32(o + 4, le);
    let name = '';
    try {
      name = btf ? btf.typeById(typeId).name : '';
    } catch { /* not in the BTF */ }
    out.push({ insnOff: v.getUint32(o, le), typeId, name });
  }
  return out;
}

/** The C source line of instruction `insn` of a program (null without line info). */
export function sourceForInsn(prog: PlanProgram, insn: number, btf: Btf | null): SourceLocation | null {
  if (!btf) return null;
  const recs = lineInfoRecords(prog, btf.endianness === 'little');
  let best = -1;
  for (let i = 0; i < recs.length; i++) {
    if (recs[i]!.insnOff <= insn && (best < 0 || recs[i]!.insnOff >= recs[best]!.insnOff)) best = i;
  }
  // compiler-generated records have line 0: use the closest real line before them
  while (best >= 0 && recs[best]!.line === 0) best--;
  if (best < 0) return null;
  const r = recs[best]!;
  const str = (off: number): string => {
    try {
      return btf.strAt(off);
    } catch {
      return '';
    }
  };
  return { file: str(r.fileNameOff), line: r.line, column: r.column, text: str(r.lineOff).trim(), insn: r.insnOff };
}

// Verifier logs differ between kernels; what is relied on here holds from 5.10 to 7.x:
//   - an instruction is printed as "N: (CC) ..." (print_bpf_insn) before it is checked, at
//     log level 1 and up; since 5.18 a register-state comment may follow on the same line
//     ("0: (b4) w1 = 1   ; R1=1"), since 6.x the state before insn 0 is "0: R1=ctx() ...";
//   - the kernel's own source annotation (verbose_linfo) is "; <source text>" on a line of
//     its own (5.10, 6.1), "; <source text> @ <file>:<line>" since 6.4, and 6.4+ may print it
//     after an instruction on the same line (back-edges);
//   - the error message is the last line before the trailer: "processed N insns ...",
//     "verification time", "stack depth", and the "cur state:" / "old state:" lines some
//     newer kernels print after "infinite loop detected".
// A log truncated by a full buffer (ENOSPC: the end is lost before 6.4, the start since)
// still yields the last instruction it shows.

const INSN_LINE = /^(\d+): \([0-9a-f]{2}\)/;

/** The instruction a verifier log failed at, or null. */
export function failingInsn(log: string): number | null {
  const lines = log.split('\n');
  const summaryIdx = lastMeaningfulLine(lines);
  const summary = summaryIdx >= 0 ? lines[summaryIdx]! : '';
  // "infinite loop detected at insn 3", "back-edge from insn 7 to 3", "unreachable insn 9",
  // "jump out of range from insn 5 to 40"
  const direct = /(?:at insn|from insn|unreachable insn) (\d+)/.exec(summary);
  if (direct) return Number(direct[1]);
  for (let i = summaryIdx >= 0 ? summaryIdx : lines.length - 1; i >= 0; i--) {
    const m = INSN_LINE.exec(lines[i]!);
    if (m) return Number(m[1]);
  }
  return null;
}

/** A source annotation the kernel printed in a verifier log. */
export interface KernelSourceAnnotation {
  /** the source text (trimmed) */
  text: string;
  /** file and line: only kernels 6.4+ print them ("; text @ file:line"), else null */
  file: string | null;
  line: number | null;
}

const ANNOTATION_AT = /^(.*?)\s*@ (\S+):(\d+)$/;

function parseAnnotation(body: string): KernelSourceAnnotation {
  const at = ANNOTATION_AT.exec(body);
  if (at) return { text: at[1]!.trim(), file: at[2]!, line: Number(at[3]) };
  return { text: body.trim(), file: null, line: null };
}

/**
 * The kernel's own source annotation for instruction `insn` in a verifier log (the last
 * "; ..." annotation printed before the last time the log shows that instruction), or null
 * when the log has none (no line info, or the instruction is not in the log). Annotations of
 * compiler-generated code (empty text, line 0) are passed over, as sourceForInsn does.
 */
export function kernelSourceFor(log: string, insn: number): KernelSourceAnnotation | null {
  const lines = log.split('\n');
  let at = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = INSN_LINE.exec(lines[i]!);
    if (m && Number(m[1]) === insn) {
      at = i;
      break;
    }
  }
  if (at < 0) return null;
  for (let i = at - 1; i >= 0; i--) {
    const l = lines[i]!;
    let a: KernelSourceAnnotation | null = null;
    if (l === ';' || l.startsWith('; ')) a = parseAnnotation(l.slice(2));
    else if (INSN_LINE.test(l)) {
      // 6.4+: an annotation after an instruction on the same line ("1: (56) ... goto pc-2 ; src @ f.c:61");
      // a same-line "; R1=..." is a register-state comment, not an annotation
      const mid = / ; (.*@ \S+:\d+)$/.exec(l);
      if (mid) a = parseAnnotation(mid[1]!);
    }
    if (a && a.text !== '' && a.line !== 0) return a;
  }
  return null;
}

/** Trailer lines of a verifier log that follow the error message. */
const TRAILER = /^(processed \d+ insns|verification time|stack depth|max_states_per_insn|-- END|cur state:|old state:|\s*$)/;

/** The error line of a verifier log (the last line that is not part of its trailer). */
export function verifierErrorLine(log: string): string {
  const lines = log.split('\n');
  const i = lastMeaningfulLine(lines);
  return i >= 0 ? lines[i]!.trim() : '';
}

function lastMeaningfulLine(lines: string[]): number {
  const skip = TRAILER;
  for (let i = lines.length - 1; i >= 0; i--) if (!skip.test(lines[i]!.trim())) return i;
  return -1;
}

/** The poison value a log complains about ("unknown#N"), or null. */
export function poisonInLog(log: string): number | null {
  const m = /unknown#(\d+)/.exec(log.slice(Math.max(0, log.length - 4096)));
  return m ? Number(m[1]) : null;
}

/**
 * The CO-RE relocation that poisoned instruction `insn` of plan program `progIndex`.
 * Relocation records count instructions in the (sub)program they were in; subprograms'
 * positions in the final program come from func_info (FUNC names).
 */
export function relocationAt(plan: LoadPlan, progIndex: number, insn: number, btf: Btf | null): RelocationRecord | null {
  const prog = plan.programs[progIndex]!;
  const funcs = funcInfoRecords(prog, btf);
  const starts = (name: string): number[] => {
    const list = funcs.filter((f) => f.name === name).map((f) => f.insnOff);
    if (name === prog.name && !list.includes(0)) list.push(0);
    return list;
  };
  for (const r of plan.relocations) {
    if (r.insn === null) continue;
    for (const base of starts(r.program)) if (base + r.insn === insn) return r;
  }
  return null;
}

function describeRelocation(r: RelocationRecord): string {
  return `${r.program} relo #${r.relo} ${r.kind} ${r.access} (${r.type})${r.reason ? `: ${r.reason}` : ''}`;
}

/**
 * Add what the plan knows to a verifier rejection of plan program `progIndex`: the failing
 * instruction, its C source line, and the failed CO-RE relocation behind a poisoned one.
 */
export function explainVerifierError(err: VerifierError, plan: LoadPlan, progIndex: number, btf: Btf | null): VerifierError {
  const prog = plan.programs[progIndex]!;
  const log = err.log;
  const insn = failingInsn(log);
  const source = insn === null ? null : sourceForInsn(prog, insn, btf);
  const poison = poisonInLog(log);
  let relocation: RelocationRecord | null = null;
  const notes: string[] = [];
  if (poison === POISON_CORE) {
    relocation = insn === null ? null : relocationAt(plan, progIndex, insn, btf);
    if (!relocation) {
      // no exact instruction match: if the program has exactly one poisoned relocation, it is the one
      const names = new Set([prog.name, ...funcInfoRecords(prog, btf).map((f) => f.name)]);
      const cands = plan.relocations.filter((r) => r.poisoned && names.has(r.program));
      if (cands.length === 1) relocation = cands[0]!;
    }
    notes.push(relocation
      ? `instruction ${insn ?? '?'} was poisoned by a failed CO-RE relocation: ${describeRelocation(relocation)}`
      : `instruction ${insn ?? '?'} was poisoned by a failed CO-RE relocation (not found in the plan's relocation report)`);
  } else if (poison !== null && poison >= POISON_LDIMM64_MAP_BASE && poison < POISON_LDIMM64_MAP_BASE + 1000000) {
    const idx = poison - POISON_LDIMM64_MAP_BASE;
    notes.push(`instruction ${insn ?? '?'} references map #${idx}${plan.maps[idx] ? ` '${plan.maps[idx]!.name}'` : ''}, which libbpf did not create`);
  } else if (poison !== null && poison >= POISON_CALL_KFUNC_BASE && poison < POISON_CALL_KFUNC_BASE + 1000000) {
    notes.push(`instruction ${insn ?? '?'} calls a kfunc (extern #${poison - POISON_CALL_KFUNC_BASE}) that was not found in the target kernel`);
  }
  // without line info in the plan, the kernel's own annotation (if it printed one) says where
  const kernelSource = insn === null ? null : kernelSourceFor(log, insn);
  if (source) notes.push(`at ${source.file}:${source.line}:${source.column}${source.text ? `: ${source.text}` : ''}`);
  else if (kernelSource) notes.push(`at instruction ${insn}${kernelSource.file ? ` (${kernelSource.file}:${kernelSource.line})` : ''}: ${kernelSource.text}`);
  else if (insn !== null) notes.push(`at instruction ${insn}`);
  // the error line, not the "cur state:/old state:" lines some messages are followed by
  const summary = verifierErrorLine(log) || String(err.details.summary ?? '');
  const head = `program '${prog.name}' rejected by the verifier (${err.errnoName || 'error'}): ${summary}`;
  const message = notes.length ? `${head}\n  ${notes.join('\n  ')}` : head;
  const details: Record<string, unknown> = { ...err.details, summary, insn, source, kernelSource, section: prog.section };
  if (relocation) details.relocation = relocation;
  const out = new VerifierError(message, details, { cause: err.cause });
  return out;
}
