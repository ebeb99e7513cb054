// The shape of a program's control flow that does not depend on values: where its functions
// start, and the branches and calls on a path the analysis recorded. Apart from reach.ts,
// which computes values, because these only read the instructions' opcodes and targets.
import { BPF_CALL, BPF_EXIT, BPF_JMP, BPF_JMP32, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, cls, isLdImm64, op, type Insn } from './insn.js';

/** function entry points: instruction 0, bpf-to-bpf call targets, ld_imm64 function references */
export function functionStarts(insns: Insn[]): number[] {
  const starts = new Set([0]);
  for (let pc = 0; pc < insns.length; pc++) {
    const i = insns[pc]!;
    if (i.code === (BPF_JMP | BPF_CALL) && i.src === BPF_PSEUDO_CALL) starts.add(pc + i.imm + 1);
    if (isLdImm64(i)) {
      if (i.src === BPF_PSEUDO_FUNC) starts.add(pc + i.imm + 1);
      pc++;
    }
  }
  return [...starts].filter((s) => s >= 0 && s < insns.length).sort((a, b) => a - b);
}

/** the control-flow decisions on the first path the analysis found to `pc`, then `pc` */
export function pathTo(pc: number, pred: Int32Array, insns: Insn[]): number[] {
  const out: number[] = [pc];
  // keep jumps and calls, and any instruction the path does not simply fall through from
  for (let next = pc, at = pred[pc]!; at >= 0; next = at, at = pred[at]!) {
    const k = cls(insns[at]!.code);
    const falls = at + 1 === next || (isLdImm64(insns[at]!) && at + 2 === next);
    if (((k === BPF_JMP || k === BPF_JMP32) && op(insns[at]!.code) !== BPF_EXIT) || !falls) out.push(at);
  }
  if (out[out.length - 1] !== 0) out.push(0);
  return out.reverse();
}
