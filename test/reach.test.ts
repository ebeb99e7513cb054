// The reachability analysis (src/analysis/reach.ts) on hand-assembled programs, in both
// byte orders: which poisoned calls constant propagation proves dead, and which it must
// leave reachable (conservative), with the path it reports.
import { describe, expect, it } from 'vitest';
import { analyzeReach } from '../src/analysis/reach.js';
import { POISON_CORE } from '../src/analysis/insn.js';

interface I { code: number; dst?: number; src?: number; off?: number; imm?: number }

function asm(insns: I[], le: boolean): Uint8Array {
  const b = new Uint8Array(insns.length * 8);
  const v = new DataView(b.buffer);
  insns.forEach((i, k) => {
    const o = k * 8;
    const dst = i.dst ?? 0;
    const src = i.src ?? 0;
    v.setUint8(o, i.code);
    v.setUint8(o + 1, le ? (src << 4) | dst : (dst << 4) | src);
    v.setInt16(o + 2, i.off ?? 0, le);
    v.setInt32(o + 4, i.imm ?? 0, le);
  });
  return b;
}

// the few encodings the tests use (kernel UAPI opcodes)
const MOV64_K = (dst: number, imm: number): I => ({ code: 0xb7, dst, imm });
const MOV64_X = (dst: number, src: number): I => ({ code: 0xbf, dst, src });
const ADD64_K = (dst: number, imm: number): I => ({ code: 0x07, dst, imm });
const AND64_K = (dst: number, imm: number): I => ({ code: 0x57, dst, imm });
const JEQ_K = (dst: number, imm: number, off: number): I => ({ code: 0x15, dst, imm, off });
const JNE_K = (dst: number, imm: number, off: number): I => ({ code: 0x55, dst, imm, off });
const JGE_K = (dst: number, imm: number, off: number): I => ({ code: 0x35, dst, imm, off });
const JEQ32_K = (dst: number, imm: number, off: number): I => ({ code: 0x16, dst, imm, off });
const JA = (off: number): I => ({ code: 0x05, off });
const CALL = (imm: number): I => ({ code: 0x85, imm });
const CALL_SUB = (rel: number): I => ({ code: 0x85, src: 1, imm: rel });
const POISON: I = CALL(POISON_CORE);
const EXIT: I = { code: 0x95 };
const STX64 = (dst: number, src: number, off: number): I => ({ code: 0x7b, dst, src, off });
const LDX64 = (dst: number, src: number, off: number): I => ({ code: 0x79, dst, src, off });
const LDX32 = (dst: number, src: number, off: number): I => ({ code: 0x61, dst, src, off });
const LD_MAP_VALUE = (dst: number, off: number): I[] => [{ code: 0x18, dst, src: 2, imm: 0 }, { code: 0, imm: off }];
const LD_FUNC = (dst: number, rel: number): I[] => [{ code: 0x18, dst, src: 4, imm: rel }, { code: 0 }];

function run(insns: I[], le = true, frozen?: Uint8Array, mapInsn?: number) {
  return analyzeReach({
    insns: asm(insns, le), littleEndian: le,
    mapRefs: new Map(mapInsn === undefined ? [] : [[mapInsn, 0]]),
    frozen: new Map(frozen ? [[0, frozen]] : []),
  });
}
const poisons = (r: ReturnType<typeof run>) => r.poisons.map((p) => [p.insn, p.reachable]);

describe.each([true, false])('reachability (little-endian: %s)', (le) => {
  it('folds a branch on a constant CO-RE patched in: the poisoned fallback is dead', () => {
    // r1 = 1 (field_exists); if r1 == 0 goto fallback; r0 = 0; exit; fallback: poison
    const prog = [MOV64_K(1, 1), JEQ_K(1, 0, 2), MOV64_K(0, 0), EXIT, POISON, EXIT];
    expect(poisons(run(prog, le))).toEqual([[4, false]]);
    // the other way round, it is reachable, and the path says through which branch
    const flipped = [MOV64_K(1, 0), JEQ_K(1, 0, 2), MOV64_K(0, 0), EXIT, POISON, EXIT];
    const r = run(flipped, le);
    expect(r.poisons).toEqual([{ insn: 4, kind: 'core', reachable: true, path: [0, 1, 4] }]);
  });

  it('leaves a branch on an unknown value (a helper result) reachable both ways', () => {
    const prog = [CALL(5), JEQ_K(0, 0, 1), POISON, MOV64_K(0, 0), EXIT];
    expect(poisons(run(prog, le))).toEqual([[2, true]]);
  });

  it('follows constants through ALU, 32-bit compares and spills to the stack', () => {
    // r1 = 6; r1 &= 4 (4); *(r10-8) = r1; call helper; r2 = *(r10-8); if w2 == 4 goto ok; poison
    const prog = [MOV64_K(1, 6), AND64_K(1, 4), STX64(10, 1, -8), CALL(5), LDX64(2, 10, -8), JEQ32_K(2, 4, 1), POISON, MOV64_K(0, 0), EXIT];
    expect(poisons(run(prog, le))).toEqual([[6, false]]);
  });

  it('forgets a stack slot a helper may write through a pointer to it', () => {
    // r1 = 1 spilled at -8; r1 = r10 - 8; call helper(r1): the slot may now hold anything
    const prog = [MOV64_K(1, 1), STX64(10, 1, -8), MOV64_X(1, 10), ADD64_K(1, -8), CALL(4), LDX64(2, 10, -8), JEQ_K(2, 1, 1), POISON, MOV64_K(0, 0), EXIT];
    expect(poisons(run(prog, le))).toEqual([[7, true]]);
  });

  it('reads frozen map contents (.kconfig, .rodata) as constants, in the object byte order', () => {
    // r1 = &.kconfig + 4; r2 = *(u32 *)(r1 + 0) (LINUX_KERNEL_VERSION); if r2 >= 5.14 goto new; old: poison
    const kv = (6 << 16) | (1 << 8) | 176;
    const map = new Uint8Array(8);
    new DataView(map.buffer).setUint32(4, kv, le);
    const prog = [...LD_MAP_VALUE(1, 4), LDX32(2, 1, 0), JGE_K(2, (5 << 16) | (14 << 8), 2), POISON, EXIT, MOV64_K(0, 0), EXIT];
    expect(poisons(run(prog, le, map, 0))).toEqual([[4, false]]);
    // an older kernel's value takes the other branch
    new DataView(map.buffer).setUint32(4, (5 << 16) | (10 << 8) | 223, le);
    expect(poisons(run(prog, le, map, 0))).toEqual([[4, true]]);
    // and a map that is not frozen is not a constant
    expect(poisons(run(prog, le, undefined, 0))).toEqual([[4, true]]);
  });

  it('takes the value a sub-program returns, joined over its exits, into the caller', () => {
    // main: call has(); if r0 == 0 goto fallback; exit; fallback: poison; exit
    // has: r0 = 1; exit
    const prog = [CALL_SUB(5), JEQ_K(0, 0, 2), MOV64_K(0, 0), EXIT, POISON, EXIT, MOV64_K(0, 1), EXIT];
    expect(poisons(run(prog, le))).toEqual([[4, false]]);
    // two exits returning different constants: unknown in the caller
    const two = [CALL_SUB(5), JEQ_K(0, 0, 2), MOV64_K(0, 0), EXIT, POISON, EXIT, CALL(7), JNE_K(0, 0, 2), MOV64_K(0, 1), EXIT, MOV64_K(0, 0), EXIT];
    expect(poisons(run(two, le))).toEqual([[4, true]]);
  });

  it('a guard inside a sub-program: the poison there is dead, and a sub-program nobody calls is dead', () => {
    // main: call sub; exit | sub: r1 = 1; if r1 != 0 goto ok; poison; ok: exit | unused: poison; exit
    const prog = [CALL_SUB(1), EXIT, MOV64_K(1, 1), JNE_K(1, 0, 1), POISON, MOV64_K(0, 0), EXIT];
    const r = run(prog, le);
    expect(poisons(r)).toEqual([[4, false]]);
    expect(r.reachable.slice(0, 4)).toEqual([true, true, true, true]);
  });

  it('enters callbacks (bpf_loop & co.) with unknown arguments', () => {
    // main: r2 = &cb; call bpf_loop; exit | cb: if r1 == 0 goto +1; poison; exit
    const prog = [...LD_FUNC(2, 4), CALL(181), MOV64_K(0, 0), EXIT, JEQ_K(1, 0, 1), POISON, MOV64_K(0, 0), EXIT];
    expect(poisons(run(prog, le))).toEqual([[6, true]]);
    // the same code, not referenced: dead
    const unref = [MOV64_K(2, 0), MOV64_K(2, 0), CALL(181), MOV64_K(0, 0), EXIT, JEQ_K(1, 0, 1), POISON, MOV64_K(0, 0), EXIT];
    expect(poisons(run(unref, le))).toEqual([[6, false]]);
  });

  it('terminates on loops, and joins a loop counter to unknown', () => {
    // r1 = 0; loop: r1 += 1; if r1 < 10 goto loop; if r1 == 10 goto +1 (not folded: joined); poison; exit
    const prog = [MOV64_K(1, 0), ADD64_K(1, 1), { code: 0xa5, dst: 1, imm: 10, off: -2 }, JEQ_K(1, 10, 1), POISON, MOV64_K(0, 0), EXIT];
    expect(poisons(run(prog, le))).toEqual([[4, true]]);
    // falling through "if r1 != 10" says r1 is 10: the analysis uses that
    const ne = [MOV64_K(1, 0), ADD64_K(1, 1), JNE_K(1, 10, -2), JEQ_K(1, 10, 1), POISON, MOV64_K(0, 0), EXIT];
    expect(poisons(run(ne, le))).toEqual([[4, false]]);
  });

  it('an unconditional jump over a poison makes it dead', () => {
    expect(poisons(run([JA(1), POISON, MOV64_K(0, 0), EXIT], le))).toEqual([[1, false]]);
  });
});
