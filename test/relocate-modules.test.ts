// Kernel module BTF offered to libbpf (split BTF on vmlinux): CO-RE candidates, fentry
// targets, typed ksyms and kfuncs that only a module has are found there, as libbpf finds
// them through load_module_btfs(); the plan names the modules and the host patches their
// BTF fds in at replay. Real Debian BTF (amd64 6.1 and its ext4 module) plus a synthetic
// module BTF for the ksym and kfunc (no real module exports such symbols in its BTF).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Relocator } from '../dist/index.js';
import { parseBtf, type Btf } from '../src/btf/reader.js';
import { BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_VAR } from '../src/btf/kinds.js';
import { btfInfo, btfParam, btfType, rawBtf } from '../src/host/features/encode.js';
import * as U from '../src/host/generated/uapi.js';
import { resetMemlock } from '../src/host/memlock.js';
import { BpfObject } from '../src/host/object.js';
import { bpfCmdName, getSyscalls, setSyscalls, syscallError, type Bytes } from '../src/host/syscall.js';
import type { LoadPlan, PlanProgram } from '../src/plan.js';
import { CLI } from './helpers.js';

const TD = fileURLToPath(new URL('../testdata/', import.meta.url));
const OBJ = `${TD}progs/module_btf.bpf.o`;
const xz = (f: string): Uint8Array => new Uint8Array(execFileSync('xz', ['-dc', f], { maxBuffer: 1 << 30 }));
const vmlinuxBytes = xz(`${TD}btf/amd64-6.1.176.btf.xz`);
const ext4Bytes = xz(`${TD}btf/amd64-6.1.176.mod-ext4.btf.xz`);
const vmlinux = parseBtf(vmlinuxBytes);
const ext4 = parseBtf(ext4Bytes, { base: vmlinux });
const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());
afterEach(() => {
  setSyscalls(null);
  resetMemlock();
});

/** A module's split BTF on `base` with `int corebpf_mod_kfunc(int x)` and the VAR `int corebpf_mod_counter`. */
function syntheticModule(base: Btf): Uint8Array {
  const intId = base.findByName('int', 'INT')!.id;
  const strBase = base.header.strLen;
  const strs = '\0x\0corebpf_mod_kfunc\0corebpf_mod_counter\0';
  const s = (name: string): number => strBase + strs.indexOf(`\0${name}\0`) + 1;
  const first = base.lastId + 1;
  const types = [
    ...btfType(0, btfInfo(BTF_KIND_FUNC_PROTO, 0, 1), intId), ...btfParam(s('x'), intId), // [first] int (int x)
    ...btfType(s('corebpf_mod_kfunc'), btfInfo(BTF_KIND_FUNC, 0, 1), first), // [first+1] global FUNC
    ...btfType(s('corebpf_mod_counter'), btfInfo(BTF_KIND_VAR, 0, 0), intId), 1, // [first+2] global VAR
  ];
  return rawBtf(types, strs);
}
const modBytes = syntheticModule(vmlinux);
const mod = parseBtf(modBytes, { base: vmlinux });
const modules = [{ name: 'ext4', data: ext4Bytes }, { name: 'corebpf_mod', data: modBytes }];
/** where ext4's BTF puts ext4_inode_info.i_disksize (bytes) */
const DISKSIZE_OFFSET = (ext4.findByName('ext4_inode_info', 'STRUCT') as unknown as { members: { name: string; bitOffset: number }[] })
  .members.find((m) => m.name === 'i_disksize')!.bitOffset / 8;

type ModProg = PlanProgram & { moduleBtf?: { attach?: string; insns: { insn: number; module: string }[]; fdArray: (string | null)[] } };
const prog = (plan: LoadPlan, name: string): ModProg => plan.programs.find((p) => p.name === name)! as ModProg;
const insnAt = (p: PlanProgram, i: number): { code: number; src: number; off: number; imm: number } => {
  const b = Buffer.from(p.insns, 'base64');
  return { code: b[i * 8]!, src: b[i * 8 + 1]! >> 4, off: b.readInt16LE(i * 8 + 2), imm: b.readInt32LE(i * 8 + 4) };
};

describe('module BTF in relocation (worker, no kernel)', () => {
  it('without module BTF, what only modules have is not found', async () => {
    await expect(relocator.relocate(OBJ, { btf: vmlinuxBytes })).rejects.toThrow(/ext4_sync_fs|corebpf_mod/);
    // ext4 alone: the fentry target and the CO-RE candidate are there, the synthetic symbols not
    await expect(relocator.relocate(OBJ, { btf: vmlinuxBytes, moduleBtfs: modules.slice(0, 1) })).rejects.toThrow(/corebpf_mod/);
  });

  it('finds CO-RE candidates, the fentry target, a typed ksym and a kfunc in modules, and names the modules in the plan', async () => {
    const r = await relocator.relocate(OBJ, { btf: vmlinuxBytes, moduleBtfs: modules });
    // CO-RE: struct ext4_inode_info is ext4's, and i_disksize is where ext4's BTF says
    const info = ext4.findByName('ext4_inode_info', 'STRUCT')!;
    expect(info.id).toBeGreaterThan(vmlinux.lastId);
    const member = (info as unknown as { members: { name: string; bitOffset: number }[] }).members.find((m) => m.name === 'i_disksize')!;
    const relo = r.relocations.find((x) => x.program === 'module_core')!;
    expect(relo.status).toBe('resolved');
    expect(relo.target).toBe(String(member.bitOffset / 8));
    expect(relo.candidates).toBe(1); // ext4's, none in vmlinux
    // fentry on a module function: its id in ext4's BTF, and ext4's BTF object to load with
    const fentry = prog(r.plan, 'module_fentry');
    expect(fentry.attachBtfId).toBe(ext4.findByName('ext4_sync_fs', 'FUNC')!.id);
    expect(fentry.moduleBtf).toEqual({ attach: 'ext4', insns: [], fdArray: [] });
    // typed ksym and kfunc in the synthetic module
    const ks = prog(r.plan, 'module_ksyms');
    const varId = mod.findByName('corebpf_mod_counter', 'VAR')!.id;
    const fnId = mod.findByName('corebpf_mod_kfunc', 'FUNC')!.id;
    expect(ks.moduleBtf!.fdArray).toEqual([null, 'corebpf_mod']); // slot 0 is never a module's
    expect(ks.moduleBtf!.insns.length).toBe(1);
    const ld = insnAt(ks, ks.moduleBtf!.insns[0]!.insn);
    expect(ks.moduleBtf!.insns[0]!.module).toBe('corebpf_mod');
    expect([ld.code, ld.src, ld.imm]).toEqual([U.BPF_LD | U.BPF_IMM | U.BPF_DW, U.BPF_PSEUDO_BTF_ID, varId]);
    const n = Buffer.from(ks.insns, 'base64').byteLength / 8;
    const calls = Array.from({ length: n }, (_, i) => insnAt(ks, i)).filter((x) => x.code === (U.BPF_JMP | U.BPF_CALL) && x.src === U.BPF_PSEUDO_KFUNC_CALL);
    expect(calls).toEqual([{ code: U.BPF_JMP | U.BPF_CALL, src: U.BPF_PSEUDO_KFUNC_CALL, off: 1, imm: fnId }]);
    // programs that need no module say nothing about modules
    expect(prog(r.plan, 'module_core').moduleBtf).toBeUndefined();
  });
});

describe('corebpf relocate --module-btf', () => {
  it('offers module BTF files from the command line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'corebpf-modbtf-'));
    try {
      writeFileSync(join(dir, 'corebpf_mod.btf'), modBytes);
      const out = execFileSync(process.execPath, [CLI, 'relocate', OBJ, '--btf', `${TD}btf/amd64-6.1.176.btf.xz`,
        '--module-btf', `ext4=${TD}btf/amd64-6.1.176.mod-ext4.btf.xz`, '--module-btf', `corebpf_mod=${join(dir, 'corebpf_mod.btf')}`], { encoding: 'utf8' });
      expect(out).toMatch(/1 CO-RE relocation, 1 resolved, 0 failed/);
      expect(out).toMatch(new RegExp(`module_core\\s+\\d+\\s+field_byte_offset\\s+ext4_inode_info\\.i_disksize\\s+0 -> ${DISKSIZE_OFFSET}$`, 'm'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('module BTF at replay (fake kernel)', () => {
  it('opens each named module\'s BTF object as libbpf finds it and patches its fd in', async () => {
    const plan = (await relocator.relocate(OBJ, { btf: vmlinuxBytes, moduleBtfs: modules })).plan;
    const real = getSyscalls();
    const buffers = new Map<bigint, Bytes>();
    let nextAddr = 0x1000n;
    const kernelBtfs = [{ id: 1, name: 'vmlinux' }, { id: 7, name: 'ext4' }, { id: 9, name: 'corebpf_mod' }];
    const fds = new Map<number, number>(); // fd -> btf id
    let nextFd = 500;
    const loads: { name: string; insns: Uint8Array; fdArray: number[]; attachBtfObjFd: number }[] = [];
    const rd = (attr: Bytes, off: number, size: 4 | 8): bigint => {
      const v = new DataView(attr.buffer, attr.byteOffset, attr.byteLength);
      return size === 4 ? BigInt(v.getUint32(off, true)) : v.getBigUint64(off, true);
    };
    const F = U.layouts.bpf_attr.fields;
    const I = U.layouts.bpf_btf_info.fields;
    setSyscalls({
      ...real,
      addressOf(buf) {
        const a = nextAddr;
        nextAddr += 0x1000n;
        buffers.set(a, buf);
        return a;
      },
      setrlimit: () => undefined,
      close: (fd) => { fds.delete(fd); },
      bpf(cmd, attr) {
        const v = new DataView(attr.buffer, attr.byteOffset, attr.byteLength);
        switch (cmd) {
          case U.BPF_BTF_GET_NEXT_ID: {
            const after = Number(rd(attr, F.start_id.offset, 4));
            const next = kernelBtfs.find((b) => b.id > after);
            if (!next) throw syscallError(bpfCmdName(cmd), U.ERRNO.ENOENT);
            v.setUint32(F.next_id.offset, next.id, true);
            return 0;
          }
          case U.BPF_BTF_GET_FD_BY_ID: {
            const fd = nextFd++;
            fds.set(fd, Number(rd(attr, F.start_id.offset, 4)));
            return fd;
          }
          case U.BPF_OBJ_GET_INFO_BY_FD: {
            const b = kernelBtfs.find((x) => x.id === fds.get(Number(rd(attr, F['info.bpf_fd'].offset, 4))))!;
            const info = buffers.get(rd(attr, F['info.info'].offset, 8))!;
            const iv = new DataView(info.buffer, info.byteOffset, info.byteLength);
            const name = buffers.get(iv.getBigUint64(I.name.offset, true))!;
            name.set(new TextEncoder().encode(`${b.name}\0`));
            iv.setUint32(I.kernel_btf.offset, 1, true);
            iv.setUint32(I.id.offset, b.id, true);
            return 0;
          }
          case U.BPF_PROG_LOAD: {
            const insns = buffers.get(rd(attr, F.insns.offset, 8))!;
            const fa = rd(attr, F.fd_array.offset, 8);
            const arr = fa ? buffers.get(fa)! : null;
            loads.push({
              name: new TextDecoder().decode(attr.subarray(F.prog_name.offset, F.prog_name.offset + 16)).replace(/\0.*$/s, ''),
              insns: Uint8Array.from(insns),
              fdArray: arr ? Array.from(new Int32Array(Uint8Array.from(arr).buffer)) : [],
              attachBtfObjFd: Number(rd(attr, F.attach_btf_obj_fd.offset, 4)),
            });
            return 600 + loads.length;
          }
          default:
            return nextFd++; // the object's BTF, its maps, their updates: accepted
        }
      },
    });
    const obj = BpfObject.fromPlan(plan);
    obj.load({ programs: ['module_fentry', 'module_ksyms'] });
    const byName = new Map(loads.map((l) => [l.name, l]));
    // fentry: attach_btf_obj_fd is an fd of ext4's BTF object (id 7)
    const fe = byName.get('module_fentry')!;
    expect(fe.attachBtfObjFd).toBeGreaterThanOrEqual(500);
    // ksyms: fd_array [0, fd of corebpf_mod], and the same fd in the ld_imm64's second imm
    const ks = byName.get('module_ksyms')!;
    expect(ks.fdArray.length).toBe(2);
    expect(ks.fdArray[0]).toBe(0);
    expect(ks.fdArray[1]).toBeGreaterThanOrEqual(500);
    expect(ks.fdArray[1]).not.toBe(fe.attachBtfObjFd); // another module's BTF object
    const ref = prog(plan, 'module_ksyms').moduleBtf!.insns[0]!.insn;
    expect(new DataView(ks.insns.buffer).getInt32((ref + 1) * 8 + 4, true)).toBe(ks.fdArray[1]);
    expect(fds.size).toBe(0); // every module BTF fd opened for the load was closed again
    obj.close();
  });
});
