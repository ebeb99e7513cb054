// freplace: a program that replaces a global function of a program already loaded
// (libbpf's bpf_program__set_attach_target(prog, target_fd, func); src/host/prog-btf.ts
// reads the target's BTF, wasm/target_prog.c lets libbpf resolve the function in it, the
// plan names the target by slot and the replay passes its fd as attach_prog_fd).
// testdata/progs/freplace.bpf.c: xdp_verdict returns decide(ctx) (XDP_PASS); new_decide
// replaces decide with "drop frames longer than drop_above".
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfObject, CorebpfError, LibbpfError, NotSupportedError, ObjectFormatError, Relocator } from '../dist/index.js';
import { parseBtf } from '../src/btf/reader.js';
import { BTF_KIND_FUNC } from '../src/btf/kinds.js';
import * as A from '../src/host/attr.js';
import { checkKernelSupport } from '../src/host/kernel-support.js';
import { ElfFile } from '../src/host/uprobe.js';
import * as U from '../src/host/generated/uapi.js';
import { PROGS } from './helpers.js';
import { needs, skipWith } from './kernel.js';

const OBJ = `${PROGS}/freplace.bpf.o`;
const BTF_61 = new URL('../testdata/btf/amd64-6.1.176.btf.xz', import.meta.url).pathname;
const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());

/** the object's own .BTF: what the kernel holds for xdp_verdict once it is loaded */
function objectBtf(): Uint8Array {
  const bytes = new Uint8Array(readFileSync(OBJ));
  const s = new ElfFile(bytes, OBJ).sections.find((x) => x.name === '.BTF')!;
  return bytes.slice(Number(s.offset), Number(s.offset + s.size));
}

const funcId = (btf: Uint8Array, name: string) => parseBtf(btf).findAllByName(name).find((t) => t.kind === BTF_KIND_FUNC)!.id;
const frame = (n: number) => Buffer.alloc(n, 0xab);

describe('freplace without a kernel: libbpf resolves the target function in the target program\'s BTF', () => {
  const adjustments = { programs: { xdp_verdict: { autoload: false }, new_decide: { attachTarget: 'decide', attachProgram: 0 } } };

  it('the plan carries the function\'s BTF id in the target and the target\'s slot', async () => {
    const btf = objectBtf();
    const r = await relocator.relocate(OBJ, { btf: BTF_61, adjustments, targetPrograms: [btf] });
    const p = r.plan.programs.find((x) => x.name === 'new_decide')!;
    expect(p.type).toBe(U.BPF_PROG_TYPE_EXT);
    expect(p.attachProgram).toBe(0);
    expect(p.attachBtfId).toBe(funcId(btf, 'decide'));
    expect(p.attachBtfId).toBeGreaterThan(0);
    // xdp_verdict was turned off: it is not in the plan's loaded programs
    expect(r.plan.programs.find((x) => x.name === 'xdp_verdict')).toBeUndefined();
    // a second target: slot 1 is the one named
    const r2 = await relocator.relocate(OBJ, { btf: BTF_61, targetPrograms: [new Uint8Array(0), btf],
      adjustments: { programs: { ...adjustments.programs, new_decide: { attachTarget: 'decide', attachProgram: 1 } } } });
    expect(r2.plan.programs.find((x) => x.name === 'new_decide')!.attachProgram).toBe(1);
  });

  it('a function the target lacks, a missing target, a bad slot: libbpf\'s reasons, typed', async () => {
    const btf = objectBtf();
    const missingFunc = relocator.relocate(OBJ, { btf: BTF_61, targetPrograms: [btf],
      adjustments: { programs: { ...adjustments.programs, new_decide: { attachTarget: 'no_such_func', attachProgram: 0 } } } });
    await expect(missingFunc).rejects.toBeInstanceOf(LibbpfError);
    await expect(missingFunc).rejects.toThrow(/no_such_func is not found in prog's BTF/);
    // freplace with no target program at all: libbpf refuses at load
    const noTarget = relocator.relocate(OBJ, { btf: BTF_61, adjustments: { programs: { xdp_verdict: { autoload: false } } } });
    await expect(noTarget).rejects.toBeInstanceOf(LibbpfError);
    await expect(noTarget).rejects.toThrow(/attach program FD is not set/);
    const badSlot = relocator.relocate(OBJ, { btf: BTF_61, targetPrograms: [btf],
      adjustments: { programs: { ...adjustments.programs, new_decide: { attachTarget: 'decide', attachProgram: 3 } } } });
    await expect(badSlot).rejects.toThrow(/new_decide.*attach_prog.*EINVAL/);
  });

  it('a plan naming a target slot is validated and needs the target\'s fd to load', async (ctx) => {
    const r = await relocator.relocate(OBJ, { btf: BTF_61, adjustments, targetPrograms: [objectBtf()] });
    const bad = structuredClone(r.plan);
    (bad.programs[0] as { attachProgram?: unknown }).attachProgram = -1;
    expect(() => BpfObject.fromPlan(bad)).toThrow(ObjectFormatError);
    expect(() => BpfObject.fromPlan(bad)).toThrow(/attachProgram/);
    const obj = BpfObject.fromPlan(r.plan);
    try {
      expect(() => obj.program('new_decide').setAttachTarget('decide', 5)).toThrow(/comes from a load plan.*attachPrograms/);
      needs(ctx, 'bpf'); // the maps are created before the program is refused
      expect(() => obj.load()).toThrow(/extends a loaded program.*attachPrograms/);
      expect(obj.loaded).toBe(false);
    } finally {
      obj.close();
    }
  });
});

describe('freplace on the running kernel', () => {
  it('replaces decide() in a loaded xdp_verdict: frames over drop_above dropped while attached, passed after', async (ctx) => {
    needs(ctx, 'bpf', 'btf');
    const lacking = checkKernelSupport('freplace');
    if (lacking) skipWith(ctx, lacking.message);
    const target = await BpfObject.open(OBJ, { relocator });
    target.program('new_decide').setAutoload(false);
    await target.load();
    const repl = await BpfObject.open(OBJ, { relocator, rodata: { drop_above: 64 } });
    try {
      const xdp = target.program('xdp_verdict');
      expect([xdp.testRun({ data: frame(100) }).retval, xdp.testRun({ data: frame(40) }).retval]).toEqual([2, 2]);

      repl.program('xdp_verdict').setAutoload(false);
      repl.program('new_decide').setAttachTarget('decide', xdp);
      expect(repl.program('new_decide').attachTarget).toBe('decide');
      await repl.load();
      const nd = repl.program('new_decide');
      const info = A.progInfo(nd.fd);
      expect(info.type).toBe(U.BPF_PROG_TYPE_EXT);
      // the kernel's record of what it replaces: decide in xdp_verdict's BTF
      const targetBtfId = A.progInfo(xdp.fd).btfId;
      expect(nd.attachBtfId).toBe(funcId(objectBtf(), 'decide'));
      expect(targetBtfId).toBeGreaterThan(0);

      let link;
      try {
        link = await nd.attach();
      } catch (e) {
        // arm64 before 6.4 may load extensions and lack the trampoline to attach them
        if (e instanceof NotSupportedError) skipWith(ctx, e.message);
        throw e;
      }
      expect([xdp.testRun({ data: frame(100) }).retval, xdp.testRun({ data: frame(40) }).retval]).toEqual([1, 2]);
      expect(repl.getGlobal('replaced')).toBe(2n);
      expect(target.getGlobal('calls')).toBe(4n);
      link.close();
      expect(xdp.testRun({ data: frame(100) }).retval).toBe(2);
      expect(repl.getGlobal('replaced')).toBe(2n);
    } finally {
      repl.close();
      target.close();
    }
  });

  it('a plan of the replacement loads with the target given by fd (fromPlan attachPrograms)', async (ctx) => {
    needs(ctx, 'bpf', 'btf');
    const lacking = checkKernelSupport('freplace');
    if (lacking) skipWith(ctx, lacking.message);
    const target = await BpfObject.open(OBJ, { relocator });
    target.program('new_decide').setAutoload(false);
    await target.load();
    try {
      const repl = await BpfObject.open(OBJ, { relocator });
      repl.program('xdp_verdict').setAutoload(false);
      repl.program('new_decide').setAttachTarget(null, target.program('xdp_verdict').fd); // the section's "decide"
      const { plan } = await repl.relocate();
      repl.close();
      const fromPlan = BpfObject.fromPlan(JSON.stringify(plan), { attachPrograms: [target.program('xdp_verdict').fd] });
      try {
        await fromPlan.load();
        expect(A.progInfo(fromPlan.program('new_decide').fd).type).toBe(U.BPF_PROG_TYPE_EXT);
      } finally {
        fromPlan.close();
      }
    } finally {
      target.close();
    }
  });

  it('on a kernel without extension programs, loading one is a NotSupportedError naming what is missing', async (ctx) => {
    needs(ctx, 'bpf', 'btf');
    const lacking = checkKernelSupport('freplace');
    if (!lacking) skipWith(ctx, 'this kernel has extension programs (the other tests here load and attach one)');
    const target = await BpfObject.open(OBJ, { relocator });
    target.program('new_decide').setAutoload(false);
    await target.load();
    const repl = await BpfObject.open(OBJ, { relocator });
    try {
      repl.program('xdp_verdict').setAutoload(false);
      repl.program('new_decide').setAttachTarget('decide', target.program('xdp_verdict'));
      const err = await repl.load().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(NotSupportedError);
      expect((err as Error).message).toMatch(/freplace programs \(BPF_PROG_TYPE_EXT\) are not available/);
      expect((err as Error).message).toContain('BPF_PROG_LOAD');
      expect(err).toBeInstanceOf(CorebpfError);
    } finally {
      repl.close();
      target.close();
    }
  });
});
