// Typed context access of BTF-attached tracing programs (src/analysis/ctx-access.ts): the
// kernel's btf_ctx_access() rule, judged with real Debian kernels' BTF (the argument types
// differ between them), by release, and the register tracking that finds the loads. The
// kernels' own verdicts on the corpus are asserted in test/check-verify.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import {
  Relocator, ctxAccessRefusals, ctxRegisters, ctxRulesFor, judgeCtxSlot, kernelOffersFromBtf, parseBtf, unmetNeeds,
  type Btf, type BtfFuncProto, type CtxProgram, type LoadPlan,
} from '../dist/index.js';
import { fixtureBytes, obj } from './helpers.js';

const U = { TRACING: 26, LSM: 29, RAW_TP: 23, FENTRY: 24, FEXIT: 25, FMOD_RET: 26, LSM_MAC: 27 };
const KERNELS = { '5.10': 'amd64-5.10.223', '6.1': 'amd64-6.1.176', '6.12': 'amd64-6.12.107', '7.2': 'amd64-7.2.13' } as const;
const btfs = new Map<string, Btf>();
const btf = (k: keyof typeof KERNELS): Btf => {
  let b = btfs.get(k);
  if (!b) btfs.set(k, (b = parseBtf(fixtureBytes(`${KERNELS[k]}.btf.xz`))));
  return b;
};
const V = (k: string): [number, number] => k.split('.').map(Number) as [number, number];
function proto(b: Btf, fn: string): BtfFuncProto {
  const f = b.findByName(fn, 'FUNC');
  if (!f || f.kind !== 12) throw new Error(`no FUNC ${fn}`);
  return b.typeById(f.type) as BtfFuncProto;
}
/** the kernel's verdict on an 8-byte load at `off` from the context of a program on `fn` */
function judge(k: keyof typeof KERNELS, fn: string, off: number, attach = U.FENTRY, version: [number, number] | null = V(k)): string | null {
  return judgeCtxSlot(btf(k), proto(btf(k), fn), fn, false, attach, off, ctxRulesFor(version));
}

describe('btf_ctx_access, kernel by kernel (the fixtures\' own argument types)', () => {
  it('vfs_unlink: the slot a 6.3+ program reads as `struct dentry *` is `struct inode **` on 5.10', () => {
    expect(judge('5.10', 'vfs_unlink', 16)).toBe("func 'vfs_unlink' arg2 type PTR is not a struct");
    // 5.10: (dir, dentry, delegated_inode); the struct pointers are fine
    expect(judge('5.10', 'vfs_unlink', 0)).toBeNull();
    expect(judge('5.10', 'vfs_unlink', 8)).toBeNull();
    // 6.1: (mnt_userns, dir, dentry, delegated_inode): slot 2 is the dentry, slot 3 the inode **
    expect(judge('6.1', 'vfs_unlink', 16)).toBeNull();
    expect(judge('6.1', 'vfs_unlink', 24)).toBe("func 'vfs_unlink' arg3 type PTR is not a struct");
    expect(judge('6.12', 'vfs_unlink', 24)).toBe("func 'vfs_unlink' arg3 type PTR is not a struct");
    // 7.2: the fourth argument became `struct delegated_inode *`
    expect(judge('7.2', 'vfs_unlink', 24)).toBeNull();
  });

  it('past the arguments: fentry has no slot there, fexit reads the return value there', () => {
    expect(judge('5.10', 'vfs_unlink', 24)).toBe("func 'vfs_unlink' doesn't have 4-th argument");
    expect(judge('5.10', 'vfs_unlink', 24, U.FEXIT)).toBeNull(); // int
    expect(judge('5.10', 'vfs_unlink', 24, U.LSM_MAC)).toBeNull();
    expect(judge('5.10', 'vfs_unlink', 32, U.FEXIT)).toBe("func 'vfs_unlink' doesn't have 5-th argument");
    expect(judge('6.1', 'vfs_unlink', 32, U.FEXIT)).toBeNull();
    expect(judge('6.1', 'vfs_unlink', 40, U.FEXIT)).toBe("func 'vfs_unlink' doesn't have 6-th argument");
    // fmod_ret's return value has a rule of its own, not judged here
    expect(judge('5.10', 'vfs_unlink', 24, U.FMOD_RET)).toBeNull();
    // not an argument slot btf_ctx_access sees (misaligned, negative): not judged
    expect(judge('5.10', 'vfs_unlink', 12)).toBeNull();
    expect(judge('5.10', 'vfs_unlink', -8)).toBeNull();
  });

  it('int pointers: refused before 5.17 ("bpf: Allow access to int pointer arguments in tracing programs")', () => {
    expect(proto(btf('5.10'), 'bpf_modify_return_test').params.length).toBe(2); // (int a, int *b)
    expect(judge('5.10', 'bpf_modify_return_test', 8)).toBe("func 'bpf_modify_return_test' arg1 type INT is not a struct");
    expect(judge('5.10', 'bpf_modify_return_test', 8, U.FENTRY, [5, 16])).toBe("func 'bpf_modify_return_test' arg1 type INT is not a struct");
    expect(judge('5.10', 'bpf_modify_return_test', 8, U.FENTRY, [5, 17])).toBeNull();
    expect(judge('6.1', 'bpf_modify_return_test', 8)).toBeNull();
    // the scalar argument itself: fine everywhere
    expect(judge('5.10', 'bpf_modify_return_test', 0)).toBeNull();
  });

  it('void pointers: `void *` always, `const void *` from 6.16 ("bpf: Allow access to const void pointer arguments in tracing programs")', () => {
    // kfree(const void *)
    expect(judge('5.10', 'kfree', 0)).toBe("func 'kfree' arg0 type UNKNOWN is not a struct");
    expect(judge('6.12', 'kfree', 0)).toBe("func 'kfree' arg0 type UNKNOWN is not a struct");
    expect(judge('6.12', 'kfree', 0, U.FENTRY, [6, 15])).toBe("func 'kfree' arg0 type UNKNOWN is not a struct");
    expect(judge('6.12', 'kfree', 0, U.FENTRY, [6, 16])).toBeNull();
    expect(judge('7.2', 'kfree', 0)).toBeNull();
    // a release it cannot read: the newest kernels' rule, which refuses least
    expect(judge('5.10', 'kfree', 0, U.FENTRY, null)).toBeNull();
    expect(judge('5.10', 'vfs_unlink', 16, U.FENTRY, null)).toBe("func 'vfs_unlink' arg2 type PTR is not a struct");
  });

  it('`const char *` is a string on every kernel (is_string_ptr)', () => {
    expect(judge('5.10', 'getname', 0)).toBeNull();
    expect(judge('6.1', 'getname', 0)).toBeNull();
  });
});

/** struct bpf_insn fields, as decodeInsns gives them */
const I = {
  mov: (dst: number, src: number) => ({ code: 0xbf, dst, src, off: 0, imm: 0 }),
  ldx: (dst: number, src: number, off: number) => ({ code: 0x79, dst, src, off, imm: 0 }),
  add: (dst: number, imm: number) => ({ code: 0x07, dst, src: 0, off: 0, imm }),
  call: (imm: number) => ({ code: 0x85, dst: 0, src: 0, off: 0, imm }),
  jeq: (dst: number, imm: number, off: number) => ({ code: 0x15, dst, src: 0, off, imm }),
  ja: (off: number) => ({ code: 0x05, dst: 0, src: 0, off, imm: 0 }),
  movi: (dst: number, imm: number) => ({ code: 0xb7, dst, src: 0, off: 0, imm }),
  exit: () => ({ code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }),
};

describe('which loads read the context', () => {
  const fentry510: CtxProgram = { name: 'p', type: U.TRACING, expectedAttachType: U.FENTRY, attachBtfId: 0 };
  const target = () => {
    const b = btf('5.10');
    return { prog: { ...fentry510, attachBtfId: b.findByName('vfs_unlink', 'FUNC')!.id }, t: { btf: b, version: V('5.10') } };
  };
  const all = (n: number) => new Array<boolean>(n).fill(true);

  it('r1 at entry, copies of it, lost to calls (r1-r5) and to writes, kept in r6-r9 across calls', () => {
    const insns = [
      I.mov(6, 1), //         0: r6 = ctx
      I.call(14), //          1: r1-r5 clobbered
      I.ldx(2, 6, 16), //     2: ctx load (r6)
      I.ldx(3, 1, 16), //     3: r1 is no longer ctx
      I.mov(7, 6), //         4
      I.add(7, 8), //         5: r7 = ctx + 8: not the context at offset 0
      I.ldx(4, 7, 8), //      6: not judged
      I.ldx(6, 6, 16), //     7: ctx load, then r6 is the loaded value
      I.ldx(5, 6, 16), //     8: not ctx
      I.exit(),
    ];
    const regs = ctxRegisters(insns);
    expect(Array.from(regs)).toEqual([0b10, 0b1000010, 0b1000000, 0b1000000, 0b1000000, 0b11000000, 0b1000000, 0b1000000, 0, 0]);
    const { prog, t } = target();
    expect(ctxAccessRefusals(prog, insns, all(insns.length), t)).toEqual([
      { insn: 2, off: 16, arg: 2, message: "func 'vfs_unlink' arg2 type PTR is not a struct" },
      { insn: 7, off: 16, arg: 2, message: "func 'vfs_unlink' arg2 type PTR is not a struct" },
    ]);
  });

  it('a join keeps the context only where every path has it; an unreachable load is not judged', () => {
    const insns = [
      I.jeq(2, 0, 2), //      0: if r2 == 0 goto 3
      I.mov(6, 1), //         1
      I.ja(1), //             2: goto 4
      I.movi(6, 0), //        3: r6 is not ctx on this path
      I.ldx(3, 6, 16), //     4: r6 is ctx on one path only: not judged
      I.ldx(3, 1, 16), //     5: r1 is ctx on both
      I.ldx(3, 1, 24), //     6: past the arguments, but unreachable here
      I.exit(),
    ];
    const { prog, t } = target();
    const reach = all(insns.length);
    reach[6] = false;
    expect(ctxAccessRefusals(prog, insns, reach, t).map((r) => r.insn)).toEqual([5]);
    reach[6] = true;
    expect(ctxAccessRefusals(prog, insns, reach, t).map((r) => [r.insn, r.message])).toEqual([
      [5, "func 'vfs_unlink' arg2 type PTR is not a struct"],
      [6, "func 'vfs_unlink' doesn't have 4-th argument"],
    ]);
  });

  it('only BTF-attached tracing and LSM programs against the kernel\'s own BTF are judged', () => {
    const insns = [I.ldx(2, 1, 16), I.exit()];
    const { prog, t } = target();
    expect(ctxAccessRefusals(prog, insns, all(2), t)).toHaveLength(1);
    expect(ctxAccessRefusals({ ...prog, type: 2 /* kprobe */ }, insns, all(2), t)).toEqual([]);
    expect(ctxAccessRefusals({ ...prog, attachProgram: 0 }, insns, all(2), t)).toEqual([]);
    expect(ctxAccessRefusals({ ...prog, moduleBtf: { attach: 'ext4' } }, insns, all(2), t)).toEqual([]);
    expect(ctxAccessRefusals({ ...prog, type: U.LSM, expectedAttachType: U.LSM_MAC }, insns, all(2), t)).toHaveLength(1);
  });

  it('tp_btf: the tracepoint\'s hidden first argument is not a slot', () => {
    const b = btf('5.10');
    const td = b.findByName('btf_trace_sched_switch', 'TYPEDEF')!;
    const tp: CtxProgram = { name: 'sw', type: U.TRACING, expectedAttachType: U.RAW_TP, attachBtfId: td.id };
    const t = { btf: b, version: V('5.10') };
    // (bool preempt, struct task_struct *prev, struct task_struct *next): slot 3 is past them
    expect(ctxAccessRefusals(tp, [I.ldx(2, 1, 16), I.exit()], all(2), t)).toEqual([]);
    expect(ctxAccessRefusals(tp, [I.ldx(2, 1, 24), I.exit()], all(2), t).map((r) => r.message)).toEqual(["func 'sched_switch' doesn't have 4-th argument"]);
  });
});

describe('in the plan\'s needs, against the kernel the plan was made for', () => {
  const relocator = new Relocator({ size: 1 });
  afterAll(() => relocator.close());

  it('heldout_runqslower\'s vfs_unlink: refused on 5.10 (the dentry read from slot 2), accepted on 6.1', async () => {
    const on = async (k: '5.10' | '6.1', release: string): Promise<LoadPlan> =>
      (await relocator.relocate(obj('heldout_runqslower'), { btf: fixtureBytes(`${KERNELS[k]}.btf.xz`), kernelRelease: release })).plan;
    const p510 = await on('5.10', '5.10.0-32-amd64');
    const unmet = unmetNeeds(p510, kernelOffersFromBtf(btf('5.10')), { btf: btf('5.10'), version: [5, 10] });
    expect(unmet.map((u) => [u.program, u.need, u.id, u.name])).toEqual([['vfs_unlink', 'ctx-access', 2, "func 'vfs_unlink' arg2 type PTR is not a struct"]]);
    expect(unmet[0]!.insn).toEqual(expect.any(Number));
    // without the kernel's BTF to judge by, nothing is said about it
    expect(unmetNeeds(p510, kernelOffersFromBtf(btf('5.10')))).toEqual([]);
    const p61 = await on('6.1', '6.1.0-50-amd64');
    expect(unmetNeeds(p61, kernelOffersFromBtf(btf('6.1')), { btf: btf('6.1'), version: [6, 1] })).toEqual([]);
  }, 60_000);
});
