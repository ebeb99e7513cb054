// What every bpf() command shares: the zeroed bpf_attr, running it through the current
// syscall layer, and the log buffer that BPF_PROG_LOAD and BPF_BTF_LOAD fill.
import { SyscallError } from '../../errors.js';
import * as U from '../generated/uapi.js';
import { getSyscalls, type Bytes } from '../syscall.js';
import { cStringAt, StructBuf, type FieldsOf } from './struct-buf.js';

export type BpfAttrLayout = typeof U.layouts.bpf_attr;
export type BpfAttrField = FieldsOf<BpfAttrLayout>;

export function bpfAttr(): StructBuf<BpfAttrLayout> {
  return new StructBuf(U.layouts.bpf_attr, 'bpf_attr');
}

export function run(cmd: number, a: StructBuf<BpfAttrLayout>): number {
  return getSyscalls().bpf(cmd, a.buf);
}

export function isErrno(e: unknown, ...names: string[]): e is SyscallError {
  return e instanceof SyscallError && names.includes(e.errnoName);
}

export function cutLog(log: Bytes, trueSize = 0): string {
  return cStringAt(log, trueSize || log.byteLength);
}

/** The most telling line of a verifier log: the last line before the summary lines. */
export function verifierSummary(log: string): string {
  const lines = log.split('\n').map((l) => l.trim()).filter(Boolean);
  const skip = /^(processed \d+ insns|verification time|stack depth|max_states_per_insn|-- END)/;
  for (let i = lines.length - 1; i >= 0; i--) if (!skip.test(lines[i])) return lines[i];
  return '';
}

export const DEFAULT_LOG_SIZE = 1 << 20;
