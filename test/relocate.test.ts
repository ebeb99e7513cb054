// Relocation through the public API (worker thread + wasm) against real and synthetic BTF.
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { NotSupportedError, RelocationError, Relocator, parsePlan, serializePlan, type RelocationRecord } from '../dist/index.js';
import { parseBtf, type Btf } from '../src/btf/index.js';
import { HOST_BTF, ROOT, TARGETS, fixtureBytes, fixtures, hasHostBtf, obj } from './helpers.js';

const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());

/** byte offset of a member path (e.g. ['real_parent']) inside a struct, read with our own BTF reader */
function memberOffset(btf: Btf, struct: string, member: string): number {
  const t = btf.findByName(struct, 'STRUCT');
  if (!t || t.kindName !== 'STRUCT') throw new Error(`no struct ${struct}`);
  const m = t.members.find((x) => x.name === member);
  if (!m) throw new Error(`no ${struct}.${member}`);
  return m.bitOffset / 8;
}

function byAccess(rel: RelocationRecord[], program: string, access: string, kind = 'field_byte_offset'): RelocationRecord {
  const r = rel.find((x) => x.program === program && x.access === access && x.kind === kind);
  if (!r) throw new Error(`no ${kind} relocation ${access} in ${program}: ${rel.map((x) => `${x.program}:${x.access}`).join(', ')}`);
  return r;
}

describe('relocate against this machine\'s kernel BTF', () => {
  it.skipIf(!hasHostBtf)('resolves execsnoop\'s task_struct reads to the running kernel\'s offsets', async () => {
    const r = await relocator.relocate(obj('execsnoop'));
    expect(r.ok).toBe(true);
    const host = parseBtf(new Uint8Array(readFileSync(HOST_BTF)));
    const rp = byAccess(r.relocations, 'tracepoint__syscalls__sys_enter_execve', 'task_struct.real_parent');
    expect(Number(rp.target)).toBe(memberOffset(host, 'task_struct', 'real_parent'));
    const tgid = byAccess(r.relocations, 'tracepoint__syscalls__sys_enter_execve', 'task_struct.tgid');
    expect(Number(tgid.target)).toBe(memberOffset(host, 'task_struct', 'tgid'));
    // the local value is the one compiled in from testdata/include/vmlinux_min.h, not the kernel's
    expect(rp.local).not.toBe(rp.target);
    expect(r.plan.kernel.release).not.toBe('');
  });
});

describe('self-relocation identity: the object\'s own BTF as target', () => {
  // (core_kinds is not here: it carries two flavors of one type with different sizes on
  // purpose, so against itself libbpf rightly finds them ambiguous)
  for (const name of ['core_basic', 'execsnoop', 'bench_tasks']) {
    it(`${name}: every relocation resolves to its local value`, async () => {
      const path = obj(name);
      // an ELF target: the worker takes its .BTF section
      const r = await relocator.relocate(path, { btf: new Uint8Array(readFileSync(path)) });
      expect(r.relocations.length).toBeGreaterThan(0);
      for (const x of r.relocations) {
        expect(x.status, `${x.program} ${x.kind} ${x.access}`).toBe('resolved');
        if (x.kind === 'type_id_target') continue; // target ids are ids in the target BTF: equal here too
        expect(x.target, `${x.program} ${x.kind} ${x.access}`).toBe(x.local);
      }
    });
  }
});

describe('synthetic targets with changed layouts (testdata/targets)', () => {
  interface Expected { object: string; target_btf: string; programs: { name: string; relocations: { index: number; insn: number; kind: string; local: number | string; target: number | string | null; fails: boolean }[] }[] }
  const files = readdirSync(TARGETS).filter((f) => f.endsWith('.expected.json'));
  it('there are synthetic targets', () => expect(files.length).toBeGreaterThanOrEqual(2));
  for (const file of files) {
    const expected = JSON.parse(readFileSync(`${TARGETS}/${file}`, 'utf8')) as Expected;
    it(`${file}: every relocation's value equals the hand-computed one`, async () => {
      const r = await relocator.relocate(`${ROOT}${expected.object}`, { btf: `${ROOT}${expected.target_btf}` })
        .catch((e: unknown) => {
          // libbpf stops at an ambiguous relocation: the report comes with the error
          if (e instanceof RelocationError) return { relocations: e.relocations as RelocationRecord[] };
          throw e;
        });
      // the relocations libbpf reaches: all of them, in order, up to and including the
      // first one that aborts the object ('error'); the report must hold exactly those
      const reached: { p: string; e: Expected['programs'][number]['relocations'][number] }[] = [];
      outer: for (const p of expected.programs) {
        for (const e of p.relocations) {
          reached.push({ p: p.name, e });
          if ((e as { failure?: string }).failure === 'error') break outer;
        }
      }
      expect(r.relocations.length, 'relocation records in the report').toBe(reached.length);
      let checked = 0;
      for (const { p: prog, e } of reached) {
        const g = r.relocations.find((x) => x.program === prog && x.relo === e.index);
        expect(g, `${prog} relo ${e.index} (${e.kind}) is missing from the report`).toBeDefined();
        const what = `${prog} relo ${e.index} (${g!.access})`;
        expect(g!.kind, what).toBe(e.kind);
        if (g!.insn !== null) expect(g!.insn, what).toBe(e.insn);
        if (g!.local !== null) expect(g!.local, `${what} local`).toBe(String(BigInt(e.local)));
        if (e.fails) {
          expect(g!.status, `${what} should fail`).toBe('failed');
          expect(g!.reason).toBeTruthy();
        } else {
          expect(g!.status, `${what}: ${g!.reason}`).toBe('resolved');
          expect(g!.target, what).toBe(String(BigInt(e.target!)));
        }
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
      // every kind the expectations name is in the report as often as expected
      const count = (kinds: string[]) => kinds.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>());
      expect(count(r.relocations.map((x) => x.kind))).toEqual(count(reached.map((x) => x.e.kind)));
    });
  }
});

describe('real Debian kernel BTF fixtures', () => {
  const amd64 = fixtures().filter((f) => f.arch === 'amd64' && !f.base);
  it('task_struct.real_parent moves between kernels and each target matches that kernel\'s BTF', async () => {
    const seen = new Set<string>();
    for (const f of amd64) {
      const bytes = fixtureBytes(f.file);
      const r = await relocator.relocate(obj('execsnoop'), { btf: bytes, kernelRelease: f.kernelRelease });
      expect(r.ok, f.file).toBe(true);
      const rp = byAccess(r.relocations, 'tracepoint__syscalls__sys_enter_execve', 'task_struct.real_parent');
      expect(Number(rp.target), f.file).toBe(memberOffset(parseBtf(bytes), 'task_struct', 'real_parent'));
      seen.add(rp.target!);
    }
    expect(amd64.length).toBeGreaterThanOrEqual(3);
    expect(seen.size).toBeGreaterThan(1);
  });

  it('a later relocation against the same kernel reuses the parsed BTF', async () => {
    const f = amd64[0]!;
    const bytes = fixtureBytes(f.file);
    const first = await relocator.relocate(obj('core_basic'), { btf: bytes });
    const second = await relocator.relocate(obj('bench_tasks'), { btf: bytes });
    expect(second.stats.targetCached).toBe(true);
    const again = await relocator.relocate(obj('core_basic'), { btf: bytes });
    expect(serializePlan(again.plan)).toBe(serializePlan(first.plan));
  });
});

describe('load plan file', () => {
  it('round-trips through serialize/parse unchanged', async () => {
    const r = await relocator.relocate(obj('execsnoop'), { btf: obj('execsnoop') });
    const text = serializePlan(r.plan);
    const back = parsePlan(text);
    expect(back).toEqual(r.plan);
    expect(serializePlan(back)).toBe(text);
    const maps = r.plan.maps.map((m) => m.name).sort();
    expect(maps).toEqual(expect.arrayContaining(['counts', 'events']));
    const rodata = r.plan.maps.find((m) => m.name.endsWith('.rodata'))!;
    expect(rodata.freeze).toBe(true);
    expect(rodata.internal).toBe(true);
    // map references in instructions are plan map indexes
    for (const p of r.plan.programs) {
      const insns = Buffer.from(p.insns, 'base64');
      for (const ref of p.mapRefs) expect(insns.readInt32LE(ref.insn * 8 + 4)).toBe(ref.map);
    }
  });

  it('parsePlan rejects what is not a plan', () => {
    expect(() => parsePlan('{"format":"x"}')).toThrow(/not a load plan/);
    expect(() => parsePlan('nope')).toThrow(/invalid JSON/);
    expect(() => parsePlan(JSON.stringify({ format: 'corebpf-load-plan', version: 99 }))).toThrow(/version 99/);
  });
});

describe('kernel release and kconfig inputs', () => {
  it('the programs carry the given kernel release as kern_version', async () => {
    const r = await relocator.relocate(obj('core_basic'), { btf: obj('core_basic'), kernelRelease: '6.1.0-50-amd64', kernelVersion: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1' });
    // Debian kernels: libbpf reads the real version from uname -v
    for (const p of r.plan.programs) expect(p.kernVersion).toBe((6 << 16) | (1 << 8) | 176);
  });
});

describe('big-endian objects against big-endian (s390x) kernel BTF', () => {
  const s390x = fixtures().filter((f) => f.arch === 's390x' && !f.base);
  it('relocates, with offsets from the s390x BTF and a plan in big-endian order', async () => {
    expect(s390x.length).toBeGreaterThanOrEqual(1);
    for (const f of s390x) {
      const bytes = fixtureBytes(f.file);
      const btf = parseBtf(bytes);
      expect(btf.endianness).toBe('big');
      const r = await relocator.relocate(`${ROOT}testdata/progs/execsnoop.bpfeb.o`, { btf: bytes, kernelRelease: f.kernelRelease });
      expect(r.ok, f.file).toBe(true);
      expect(r.plan.byteOrder).toBe('big');
      const rp = byAccess(r.relocations, 'tracepoint__syscalls__sys_enter_execve', 'task_struct.real_parent');
      expect(Number(rp.target)).toBe(memberOffset(btf, 'task_struct', 'real_parent'));
      // the patched instruction, read big-endian, carries the target offset
      const prog = r.plan.programs.find((p) => p.name === rp.program)!;
      const insns = Buffer.from(prog.insns, 'base64');
      expect(insns.readInt32BE(rp.insn! * 8 + 4)).toBe(Number(rp.target));
      // and the plan's BTF is big-endian too
      expect(Buffer.from(r.plan.btf!, 'base64').readUInt16BE(0)).toBe(0xeb9f);
    }
  });

  it('an object of the other byte order than the target is a NotSupportedError', async () => {
    const f = s390x[0]!;
    const e = await relocator.relocate(obj('execsnoop'), { btf: fixtureBytes(f.file) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotSupportedError);
    expect((e as Error).message).toMatch(/little-endian but the target kernel's BTF is big-endian: build the object with -target bpfeb/);
  });
});
