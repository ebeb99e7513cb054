// Plan replay on the real kernel (src/host/replay.ts, src/host/verifier.ts): maps, programs,
// initial contents, freezing, map-in-map, prog arrays, pinning, all-or-nothing failure, and
// verifier errors explained with source lines and failed CO-RE relocations.
// Skips (and says why) only when not root or when bpf() answers EPERM.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BpfMap, BpfObject, CorebpfError, NotSupportedError, Relocator, VerifierError, replayPlan, type LoadPlan,
} from '../dist/index.js';
import * as A from '../src/host/attr.js';
import * as U from '../src/host/generated/uapi.js';
import { getSyscalls } from '../src/host/syscall.js';
import { kernelSourceFor } from '../src/host/verifier.js';
import { kernelWithoutRealParent } from './btf-writer.js';
import { kernelFeatures } from '../src/host/features/index.js';
import { needs, needsEach, unmet } from './kernel.js';

const PROGS = new URL('../testdata/progs/', import.meta.url).pathname;
const TARGETS = new URL('../testdata/targets/', import.meta.url).pathname;


const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());
const cache = new Map<string, LoadPlan>();
async function plan(name: string, btf?: string | Uint8Array, file = `${PROGS}${name}.bpf.o`): Promise<LoadPlan> {
  const key = `${file}:${typeof btf === 'string' ? btf : btf ? 'bytes' : ''}`;
  // relocated against another BTF, loaded here: libbpf sanitizes for this kernel's features
  // (a 5.10 kernel refuses BTF kinds it does not know)
  const features = unmet('bpf') ? undefined : kernelFeatures().features;
  if (!cache.has(key) || btf instanceof Uint8Array) cache.set(key, (await relocator.relocate(file, btf ? { btf, features } : {})).plan);
  return structuredClone(cache.get(key)!);
}

const fdCount = (): number => readdirSync('/proc/self/fd').length;
function fdinfo(fd: number): Record<string, string> {
  return Object.fromEntries(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').trim().split('\n').map((l) => l.split(/:\s*/) as [string, string]));
}
/** Ids of the maps a program uses (bpf_prog_info.map_ids). */
function progMapIds(progFd: number): number[] {
  const ids = A.bytes(4 * 32);
  const info = A.infoBuf('bpf_prog_info').set('nr_map_ids', 32).setPtr('map_ids', ids);
  getSyscalls().bpf(U.BPF_OBJ_GET_INFO_BY_FD, A.objGetInfoByFdAttr(progFd, info.buf).buf);
  const n = info.get('nr_map_ids');
  return Array.from({ length: n }, (_, i) => new DataView(ids.buffer).getUint32(i * 4, true)).sort((a, b) => a - b);
}
/** An instruction stream as base64. */
function insnsB64(...insns: [code: number, regs: number, off: number, imm: number][]): string {
  const b = Buffer.alloc(8 * insns.length);
  insns.forEach(([code, regs, off, imm], i) => {
    b[i * 8] = code; b[i * 8 + 1] = regs; b.writeInt16LE(off, i * 8 + 2); b.writeInt32LE(imm, i * 8 + 4);
  });
  return b.toString('base64');
}
const EXIT = 0x95;

/**
 * Check that the kernel annotated instruction `insn` of a verifier log with this source line:
 * the text always; file and line only where the kernel prints them (6.4+: "; text @ file:line";
 * 5.10 and 6.1 print "; text" alone).
 */
function expectKernelLine(log: string, insn: number, want: { text: string; file: string; line: number }): void {
  const k = kernelSourceFor(log, insn);
  expect(k, `the kernel's annotation of instruction ${insn} in:\n${log}`).not.toBeNull();
  expect(k!.text).toBe(want.text);
  if (k!.file !== null) expect({ file: k!.file, line: k!.line }).toEqual({ file: want.file, line: want.line });
}

// ---------------------------------------------------------------------------------------------

describe('replay preconditions (no kernel)', () => {
  it('refuses a plan of the other byte order', async () => {
    // libbpf in the worker refuses to relocate across byte orders, so a big-endian plan is
    // made here by turning the BTF magic around (the plan's byte order is its BTF's)
    const be = await plan('execsnoop');
    const btf = Buffer.from(be.btf!, 'base64');
    btf.writeUInt16BE(0xeb9f, 0);
    be.btf = btf.toString('base64');
    expect(() => replayPlan(be)).toThrow(NotSupportedError);
    expect(() => replayPlan(be)).toThrow(/big-endian but this machine is little-endian/);
  });
});

describe('replay on the real kernel', () => {
  needsEach('bpf');
  let execsnoop: LoadPlan;
  beforeAll(async () => {
    execsnoop = await plan('execsnoop');
  });

  it('execsnoop: creates its maps and programs with the plan attributes, .rodata frozen with its value', () => {
    const before = fdCount();
    const rodataIdx = execsnoop.maps.findIndex((m) => m.name.endsWith('.rodata'));
    const ro = Uint8Array.from([0xe8, 0x03, 0, 0, 1]); // target_uid = 1000, emit_failed = true
    const res = replayPlan(execsnoop, { initialValues: new Map([[rodataIdx, ro]]) });
    try {
      // BTF + 5 maps + 2 programs
      expect(fdCount() - before).toBe(8);
      const infos = res.maps.map((fd) => A.mapInfo(fd!.fd));
      expect(infos.map((i) => [i.name, i.type, i.keySize, i.valueSize, i.maxEntries])).toEqual([
        ['scratch', U.BPF_MAP_TYPE_PERCPU_ARRAY, 4, 92, 1],
        ['execs', U.BPF_MAP_TYPE_HASH, 4, 92, 10240],
        ['counts', U.BPF_MAP_TYPE_HASH, 4, 8, 10240],
        ['events', U.BPF_MAP_TYPE_RINGBUF, 0, 0, 262144],
        ['execsnoo.rodata', U.BPF_MAP_TYPE_ARRAY, 4, 5, 1],
      ]);
      // maps carry the plan's BTF types
      const btfId = A.objGetInfo(res.btf!.fd, 'bpf_btf_info').get('id');
      expect(infos[2]!.btfId).toBe(btfId);
      expect([infos[2]!.btfKeyTypeId, infos[2]!.btfValueTypeId]).toEqual([execsnoop.maps[2]!.btfKeyTypeId, execsnoop.maps[2]!.btfValueTypeId]);
      expect(infos[4]!.mapFlags).toBe(U.BPF_F_RDONLY_PROG | U.BPF_F_MMAPABLE);
      // .rodata: frozen, holding the value given
      const rofd = res.maps[4]!.fd;
      expect(fdinfo(rofd).frozen).toBe('1');
      const v = A.bytes(5);
      expect(A.mapLookupElem(rofd, A.bytes(4), v)).toBe(true);
      expect([...v]).toEqual([0xe8, 0x03, 0, 0, 1]);
      expect(() => A.mapUpdateElem(rofd, A.bytes(4), v)).toThrow(/EPERM/);
      // programs: type, name (15 bytes in the kernel), and the maps their instructions reference
      const progs = res.programs.map((fd) => A.progInfo(fd!.fd));
      expect(progs.map((p) => [p.type, p.name])).toEqual([
        [U.BPF_PROG_TYPE_TRACEPOINT, 'tracepoint__sys'], [U.BPF_PROG_TYPE_TRACEPOINT, 'tracepoint__sys'],
      ]);
      expect(progs.every((p) => p.btfId === btfId && p.gplCompatible)).toBe(true);
      const id = (i: number) => infos[i]!.id;
      expect(progMapIds(res.programs[0]!.fd)).toEqual([id(0), id(1), id(4)].sort((a, b) => a - b));
      expect(progMapIds(res.programs[1]!.fd)).toEqual([id(1), id(2), id(3), id(4)].sort((a, b) => a - b));
    } finally {
      for (const f of [...res.programs, ...res.maps, res.btf]) f?.close();
    }
    expect(fdCount()).toBe(before);
  });

  it('map-in-map: slots hold the inner maps, templates are closed', async () => {
    const p = await plan('map_in_map');
    const before = fdCount();
    const obj = await BpfObject.fromPlan(p).load();
    try {
      expect(obj.maps.map((m) => m.name)).toEqual(['inner_a', 'inner_b', 'outer_array', 'inner_d', 'inner_c', 'outer_hash', 'dyn_outer']);
      expect(fdCount() - before).toBe(7 + 1); // maps + program; BTF and the 3 templates closed
      const id = (n: string) => obj.map(n).id;
      const outerArray = obj.map('outer_array');
      expect(outerArray.get(0)).toBe(id('inner_a'));
      expect(outerArray.get(1)).toBe(id('inner_b'));
      expect(outerArray.get(2)).toBeUndefined();
      expect(obj.map('outer_hash').get(3)).toBe(id('inner_d'));
      expect(obj.map('outer_hash').get(7)).toBe(id('inner_c'));
      const dyn = obj.map('dyn_outer');
      expect(dyn.get(0)).toBeUndefined();
      dyn.set(0, obj.map('inner_b'));
      expect(dyn.get(0)).toBe(id('inner_b'));
      // the template's attributes were what the kernel checks against
      expect(() => dyn.set(1, obj.map('inner_c'))).toThrow(/EINVAL/); // max_entries 16 != 4, no BPF_F_INNER_MAP on the template
    } finally {
      obj.close();
    }
    expect(fdCount()).toBe(before);
  });

  it('prog array: slots filled after the programs load; tail calls reach them', async () => {
    const obj = await BpfObject.fromPlan(await plan('tailcall')).load();
    try {
      const jt = obj.map('jmp_table');
      expect(jt.get(0)).toBe(obj.program('stage_parse').id);
      expect(jt.get(2)).toBe(obj.program('stage_count').id);
      expect(jt.get(5)).toBe(obj.program('stage_drop').id);
      expect(jt.get(1)).toBeUndefined();
      const dispatch = obj.program('dispatch');
      const pkt = (first: number) => Buffer.concat([Buffer.from([first]), Buffer.alloc(63)]);
      expect(dispatch.testRun({ data: pkt(5) }).retval).toBe(1); // XDP_DROP via slot 5
      expect(dispatch.testRun({ data: pkt(2) }).retval).toBe(2); // XDP_PASS via stage_count
      expect(dispatch.testRun({ data: pkt(1) }).retval).toBe(2); // empty slot: static 0 -> 2
      expect(dispatch.testRun({ data: pkt(9) }).retval).toBe(2);
      const hits = obj.map('stage_hits');
      const sum = (k: number) => (hits.get(k) as bigint[]).reduce((a, b) => a + b, 0n);
      expect([sum(7), sum(0), sum(2), sum(5)]).toEqual([4n, 2n, 3n, 1n]);
    } finally {
      obj.close();
    }
  });

  it('all or nothing: a program rejected after maps were created leaves no fd behind', () => {
    const bad = structuredClone(execsnoop);
    const p = bad.programs[1]!;
    p.insns = insnsB64([EXIT, 0, 0, 0]); // R0 !read_ok
    p.mapRefs = [];
    p.funcInfo = null;
    p.lineInfo = null;
    p.boundMaps = [];
    const before = fdCount();
    let err: unknown;
    try {
      replayPlan(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerifierError);
    expect((err as VerifierError).message).toMatch(/R0 !read_ok/);
    expect(fdCount()).toBe(before);
    // and through BpfObject
    const obj = BpfObject.fromPlan(bad);
    expect(() => obj.load()).toThrow(VerifierError);
    expect(obj.loaded).toBe(false);
    expect(fdCount()).toBe(before);
    // a plan whose ld_imm64 does not hold the map index it claims is refused (also after maps exist)
    const wrong = structuredClone(execsnoop);
    wrong.programs[0]!.mapRefs[0]!.map = 2;
    expect(() => replayPlan(wrong)).toThrow(/holds map index 4, the plan says 2/);
    expect(fdCount()).toBe(before);
  });

  it('pinning: creates and pins, a second load reuses the pinned map (same id)', async () => {
    const p = await plan('map_pinning');
    expect(p.maps.map((m) => m.pinPath)).toEqual(['/sys/fs/bpf/pinned_config', '/sys/fs/bpf/pinned_counts', null]);
    const root = mkdtempSync('/sys/fs/bpf/corebpf-test-');
    try {
      const first = await BpfObject.fromPlan(p, { pinRoot: root }).load();
      const ids = { config: first.map('pinned_config').id, counts: first.map('pinned_counts').id, unpinned: first.map('unpinned').id };
      expect(readdirSync(root).sort()).toEqual(['pinned_config', 'pinned_counts']);
      expect(first.map('pinned_counts').pinnedPath).toBe(join(root, 'pinned_counts'));
      first.map('pinned_counts').set(1, 5n);
      first.close(); // the pinned maps live on in bpffs

      const second = await BpfObject.fromPlan(p, { pinRoot: root }).load();
      try {
        expect(second.map('pinned_config').id).toBe(ids.config);
        expect(second.map('pinned_counts').id).toBe(ids.counts);
        expect(second.map('unpinned').id).not.toBe(ids.unpinned);
        expect(second.map('pinned_counts').get(1)).toBe(5n);
      } finally {
        second.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('pinning: an incompatible pinned map is a clear error; a failed load removes the pins it made', async () => {
    const p = await plan('map_pinning');
    const root = mkdtempSync('/sys/fs/bpf/corebpf-test-');
    try {
      // someone else's map at pinned_counts: max_entries 64 instead of 128
      const other = BpfMap.create({ mapType: U.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 64 });
      other.pin(join(root, 'pinned_counts'));
      other.close();
      const before = fdCount();
      const obj = BpfObject.fromPlan(p, { pinRoot: root });
      expect(() => obj.load()).toThrow(CorebpfError);
      expect(() => obj.load()).toThrow(/cannot reuse the map pinned at '.*pinned_counts' for map 'pinned_counts': it is incompatible \(max_entries 64 vs 128\)/);
      expect(fdCount()).toBe(before);
      expect(readdirSync(root)).toEqual(['pinned_counts']);
      rmSync(join(root, 'pinned_counts'));

      // a load that fails at its program: the pins it made are gone again
      const bad = structuredClone(p);
      Object.assign(bad.programs[0]!, { insns: insnsB64([EXIT, 0, 0, 0]), mapRefs: [], funcInfo: null, lineInfo: null });
      expect(() => BpfObject.fromPlan(bad, { pinRoot: root }).load()).toThrow(VerifierError);
      expect(readdirSync(root)).toEqual([]);
      expect(fdCount()).toBe(before);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('pinning outside a bpffs is refused with a clear error', async () => {
    const p = await plan('map_pinning');
    const dir = mkdtempSync(join(tmpdir(), 'corebpf-notbpffs-'));
    try {
      const before = fdCount();
      expect(() => BpfObject.fromPlan(p, { pinRoot: dir }).load()).toThrow(NotSupportedError);
      expect(() => BpfObject.fromPlan(p, { pinRoot: dir }).load()).toThrow(/is not on a BPF filesystem \(bpffs\)/);
      expect(fdCount()).toBe(before);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a verifier rejection names the C source line (from the plan line_info), matching the kernel', async () => {
    const p = await plan('verifier_reject');
    const src = readFileSync(`${PROGS}verifier_reject.bpf.c`, 'utf8').split('\n');
    const cases: [string, string, RegExp][] = [
      ['reject___err_oob_read', 'return *(volatile u64 *)((char *)p + sizeof(*p));', /outside of the allowed memory range|invalid access to map value/],
      ['reject___err_null_deref', 'return p->a;', /map_value_or_null/],
      // the error line, not the "cur state:/old state:" lines after it, heads the message
      ['reject___err_unbounded_loop', 'while (*(volatile u32 *)&skb->len != 0x12345)', /rejected by the verifier \(EINVAL\): infinite loop detected at insn 0\n/],
    ];
    for (const [name, text, why] of cases) {
      const obj = BpfObject.fromPlan(p);
      obj.setAutoload('reject___err_oob_read', false).setAutoload('reject___err_null_deref', false)
        .setAutoload('reject___err_unbounded_loop', false).setAutoload(name, true);
      let err: VerifierError | undefined;
      try {
        obj.load();
      } catch (e) {
        err = e as VerifierError;
      }
      expect(err).toBeInstanceOf(VerifierError);
      expect(err!.program).toBe(name);
      expect(err!.message).toMatch(why);
      const line = src.findIndex((l) => l.includes(text)) + 1;
      expect(line).toBeGreaterThan(0);
      const source = err!.details.source as { file: string; line: number; column: number; text: string };
      expect(source.file).toMatch(/verifier_reject\.bpf\.c$/);
      expect(source.line).toBe(line);
      expect(source.text).toBe(text);
      expect(source.column).toBeGreaterThan(0);
      expect(err!.message).toContain(`verifier_reject.bpf.c:${line}:`);
      // the kernel annotates the failing instruction with the same line
      expectKernelLine(err!.log, err!.details.insn as number, { text, file: 'verifier_reject.bpf.c', line });
    }
  });

  it('a poisoned CO-RE relocation the verifier reaches is named in the error (synthetic target)', async () => {
    const p = await plan('core_target', `${TARGETS}core_target.target.btf`);
    const failed = p.relocations.filter((r) => r.program === 'prog___err_array_oob');
    expect(failed).toHaveLength(1);
    const obj = BpfObject.fromPlan(p);
    let err: VerifierError | undefined;
    try {
      obj.load({ programs: ['prog___err_array_oob'] });
    } catch (e) {
      err = e as VerifierError;
    }
    expect(err).toBeInstanceOf(VerifierError);
    expect(err!.log).toMatch(/invalid func unknown#195896080/);
    expect(err!.details.relocation).toEqual(failed[0]);
    expect(err!.message).toContain('poisoned by a failed CO-RE relocation: prog___err_array_oob relo #0 field_byte_offset core_nested.arr[3].x (struct core_nested): 1 candidate type in target BTF, but none has field core_nested.arr[3].x');
  });

  it('a poisoned relocation deep in a real tracepoint program: execsnoop against a kernel without task_struct.real_parent', async () => {
    const btf = kernelWithoutRealParent();
    const p = await plan('execsnoop', btf);
    const failed = p.relocations.filter((r) => r.status === 'failed');
    expect(failed.map((r) => [r.program, r.insn, r.kind, r.access])).toEqual([
      ['tracepoint__syscalls__sys_enter_execve', 25, 'field_byte_offset', 'task_struct.real_parent'],
    ]);
    const before = fdCount();
    let err: VerifierError | undefined;
    try {
      BpfObject.fromPlan(p).load();
    } catch (e) {
      err = e as VerifierError;
    }
    expect(err).toBeInstanceOf(VerifierError);
    expect(err!.details.insn).toBe(25);
    expect(err!.log).toMatch(/^25: \(85\) call unknown#195896080$/m);
    expect(err!.message).toMatch(/instruction 25 was poisoned by a failed CO-RE relocation: tracepoint__syscalls__sys_enter_execve relo #0 field_byte_offset task_struct\.real_parent \(struct task_struct\): .*real_parent/);
    // the compiler scheduled the relocated `r1 = offsetof(real_parent)` among the
    // instructions of the line before: the line info (and so the kernel) says line 84
    const source = err!.details.source as { line: number; text: string; file: string };
    const src = readFileSync(`${PROGS}execsnoop.bpf.c`, 'utf8').split('\n');
    expect(src[source.line - 1]!.trim()).toBe(source.text);
    expectKernelLine(err!.log, 25, { text: source.text, file: 'execsnoop.bpf.c', line: source.line });
    expect(source.text).toBe('e->pid = bpf_get_current_pid_tgid() >> 32;');
    expect(fdCount()).toBe(before);
  });

  it('a poisoned relocation inside a subprogram is found through func_info (subprogs: task_ppid)', async (ctx) => {
    // prog_a passes a callback to bpf_loop(): older kernels refuse it before reaching the poisoned call
    needs(ctx, 'bpf_loop');
    const p = await plan('subprogs', kernelWithoutRealParent());
    const failed = p.relocations.filter((r) => r.status === 'failed');
    // relocation records count instructions in the subprogram they are in
    expect(failed.map((r) => [r.program, r.insn, r.access])).toEqual([['task_ppid', 1, 'task_struct.real_parent']]);
    for (const [prog, at] of [['prog_a', 29 + 1], ['prog_b', 33 + 1]] as const) {
      let err: VerifierError | undefined;
      try {
        BpfObject.fromPlan(p).load({ programs: [prog] });
      } catch (e) {
        err = e as VerifierError;
      }
      expect(err).toBeInstanceOf(VerifierError);
      expect(err!.program).toBe(prog);
      // task_ppid sits at a different place in each program's final instructions
      expect(err!.details.insn).toBe(at);
      expect(err!.log).toMatch(new RegExp(`^${at}: \\(85\\) call unknown#195896080$`, 'm'));
      expect(err!.details.relocation).toEqual(failed[0]);
      expect(err!.message).toContain(`instruction ${at} was poisoned by a failed CO-RE relocation: task_ppid relo #0 field_byte_offset task_struct.real_parent`);
      const source = err!.details.source as { line: number; text: string };
      expect(source).not.toBeNull();
      expectKernelLine(err!.log, at, { text: source.text, file: 'subprogs.bpf.c', line: source.line });
    }
  });

  it('a relocated plan file replays the same (serialized and parsed back)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corebpf-plan-'));
    try {
      const { serializePlan } = await import('../dist/index.js');
      writeFileSync(join(dir, 'x.plan'), serializePlan(execsnoop));
      const obj = await BpfObject.fromPlan(readFileSync(join(dir, 'x.plan')), { rodata: { target_uid: 7 } }).load();
      expect(obj.map('.rodata').get(0)).toEqual({ target_uid: 7, emit_failed: false });
      obj.close();
      expect(existsSync(join(dir, 'x.plan'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
