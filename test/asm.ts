// A tiny BPF assembler for the real-kernel tests that need programs without a compiler.
import * as A from '../src/host/attr.js';
import * as U from '../src/host/generated/uapi.js';

export type Insn = { code: number; dst?: number; src?: number; off?: number; imm?: number; to?: string } | { label: string };
export const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R7 = 7, R8 = 8, R9 = 9, R10 = 10;
export function asm(prog: Insn[]): Uint8Array {
  const labels = new Map<string, number>();
  const real: Exclude<Insn, { label: string }>[] = [];
  for (const i of prog) {
    if ('label' in i) labels.set(i.label, real.length);
    else real.push(i);
  }
  const size = U.layouts.bpf_insn.size;
  const out = new Uint8Array(size * real.length);
  real.forEach((i, k) => {
    const off = i.to !== undefined ? labels.get(i.to)! - (k + 1) : i.off ?? 0;
    const s = new A.StructBuf(U.layouts.bpf_insn, 'bpf_insn')
      .set('code', i.code).set('dst_reg', i.dst ?? 0).set('src_reg', i.src ?? 0).set('off', off).set('imm', i.imm ?? 0);
    out.set(s.buf, k * size);
  });
  return out;
}
export const mov = (dst: number, imm: number): Insn => ({ code: U.BPF_ALU64 | U.BPF_MOV | U.BPF_K, dst, imm });
export const mov32 = (dst: number, imm: number): Insn => ({ code: U.BPF_ALU | U.BPF_MOV | U.BPF_K, dst, imm });
export const movr = (dst: number, src: number): Insn => ({ code: U.BPF_ALU64 | U.BPF_MOV | U.BPF_X, dst, src });
export const add = (dst: number, imm: number): Insn => ({ code: U.BPF_ALU64 | U.BPF_ADD | U.BPF_K, dst, imm });
export const mul = (dst: number, imm: number): Insn => ({ code: U.BPF_ALU64 | U.BPF_MUL | U.BPF_K, dst, imm });
export const stW = (dst: number, off: number, imm: number): Insn => ({ code: U.BPF_ST | U.BPF_MEM | U.BPF_W, dst, off, imm });
export const stDW = (dst: number, off: number, imm: number): Insn => ({ code: U.BPF_ST | U.BPF_MEM | U.BPF_DW, dst, off, imm });
export const stxDW = (dst: number, off: number, src: number): Insn => ({ code: U.BPF_STX | U.BPF_MEM | U.BPF_DW, dst, src, off });
export const ldxDW = (dst: number, src: number, off: number): Insn => ({ code: U.BPF_LDX | U.BPF_MEM | U.BPF_DW, dst, src, off });
export const atomicAdd = (dst: number, off: number, src: number): Insn => ({ code: U.BPF_STX | U.BPF_ATOMIC | U.BPF_DW, dst, src, off, imm: U.BPF_ADD });
export const fetchAdd = (dst: number, off: number, src: number): Insn => ({ code: U.BPF_STX | U.BPF_ATOMIC | U.BPF_DW, dst, src, off, imm: U.BPF_ADD | U.BPF_FETCH });
export const ld64 = (dst: number, v: bigint): Insn[] => [
  { code: U.BPF_LD | U.BPF_DW | U.BPF_IMM, dst, imm: Number(BigInt.asIntN(32, v)) },
  { code: 0, imm: Number(BigInt.asIntN(32, v >> 32n)) },
];
export const ldMap = (dst: number, fd: number): Insn[] => [{ code: U.BPF_LD | U.BPF_DW | U.BPF_IMM, dst, src: U.BPF_PSEUDO_MAP_FD, imm: fd }, { code: 0 }];
export const call = (fn: number): Insn => ({ code: U.BPF_JMP | U.BPF_CALL, imm: fn });
export const jeq = (dst: number, imm: number, to: string): Insn => ({ code: U.BPF_JMP | U.BPF_JEQ | U.BPF_K, dst, imm, to });
export const jneR = (dst: number, src: number, to: string): Insn => ({ code: U.BPF_JMP | U.BPF_JNE | U.BPF_X, dst, src, to });
export const jne = (dst: number, imm: number, to: string): Insn => ({ code: U.BPF_JMP | U.BPF_JNE | U.BPF_K, dst, imm, to });
export const jset = (dst: number, imm: number, to: string): Insn => ({ code: U.BPF_JMP | U.BPF_JSET | U.BPF_K, dst, imm, to });
export const ja = (to: string): Insn => ({ code: U.BPF_JMP | U.BPF_JA, to });
export const exit = (): Insn => ({ code: U.BPF_JMP | U.BPF_EXIT });
export const label = (l: string): Insn => ({ label: l });
