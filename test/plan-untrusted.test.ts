// Plans are untrusted input (issue 15): schema validation naming the field, pin paths that
// cannot leave the pin root, pin reuse only by consent, plans tied to their object and BTF,
// and the size blow-ups of BTF-driven decoding. Each security finding is tested with the
// crafted input that showed it. The validator's tests need no kernel; the pinning ones run
// on the real bpffs and skip (saying why) without bpf().
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BpfMap, BpfObject, BtfCodecError, ObjectFormatError, Relocator, parsePlan, serializePlan, type LoadPlan,
} from '../dist/index.js';
import * as U from '../src/host/generated/uapi.js';
import { CLI, BTF_DIR, HOST_BTF, PROGS, corpus, hasHostBtf } from './helpers.js';
import { bpfUsable } from './kernel.js';

const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());
const BTF = `${BTF_DIR}/amd64-6.12.107.btf.xz`;
const fdCount = (): number => readdirSync('/proc/self/fd').length;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const plans = new Map<string, LoadPlan>();
async function plan(name: string): Promise<LoadPlan> {
  if (!plans.has(name)) plans.set(name, (await relocator.relocate(`${PROGS}/${name}.bpf.o`, { btf: BTF })).plan);
  return structuredClone(plans.get(name)!);
}

/** the ObjectFormatError a bad plan gets, and the field it names */
function rejection(p: unknown): { field: string; message: string } {
  try {
    parsePlan(JSON.stringify(p));
  } catch (e) {
    expect(e).toBeInstanceOf(ObjectFormatError);
    return { field: String((e as ObjectFormatError).details.field), message: (e as Error).message };
  }
  throw new Error('the plan was accepted');
}

describe('plan validation (no kernel)', () => {
  it('every corpus plan passes, as a file and as an object', async () => {
    for (const name of corpus()) {
      let p: LoadPlan;
      try {
        p = await plan(name);
      } catch {
        continue; // objects libbpf refuses for this kernel (core_errors) have no plan
      }
      expect(() => parsePlan(serializePlan(p)), name).not.toThrow();
      expect(() => BpfObject.fromPlan(p), name).not.toThrow();
    }
    expect(plans.size).toBeGreaterThanOrEqual(18);
  });

  it('names the field: wrong types, ranges, indexes, sizes', async () => {
    const base = await plan('execsnoop');
    const cases: [string, (p: any) => void, RegExp][] = [
      ['maps[0].keySize', (p) => { p.maps[0].keySize = 'x'; }, /expected an integer/],
      ['maps[0].keySize', (p) => { p.maps[0].keySize = 2 ** 32; }, /expected an integer 0\.\.65536/],
      ['maps[1].valueSize', (p) => { p.maps[1].valueSize = 2 ** 30; }, /0\.\.268435456/],
      ['maps[0].mapExtra', (p) => { p.maps[0].mapExtra = { a: 1 }; }, /expected a string/],
      ['maps[0].mapExtra', (p) => { p.maps[0].mapExtra = '18446744073709551616'; }, /u64/],
      ['maps[0].innerMap', (p) => { p.maps[0].innerMap = 99; }, /index into maps/],
      ['maps[0].innerMap', (p) => { p.maps[0].innerMap = 0; }, /its own inner map/],
      ['programs[0].insns', (p) => { p.programs[0].insns = 'AAAA'; }, /whole number of 8-byte instructions/],
      ['programs[0].insns', (p) => { p.programs[0].insns = 'not base64!'; }, /base64/],
      ['programs[0].mapRefs[0].insn', (p) => { p.programs[0].mapRefs[0].insn = 1e6; }, /expected an integer/],
      ['programs[0].mapRefs[0].map', (p) => { p.programs[0].mapRefs[0].map = -1; }, /index into maps/],
      ['programs[0].boundMaps[0]', (p) => { p.programs[0].boundMaps = [7]; }, /index into maps/],
      ['programs[0].funcInfo.data', (p) => { p.programs[0].funcInfo.recSize = 7; }, /7-byte records/],
      ['programs[0].license', (p) => { p.programs[0].license = 'x'.repeat(200); }, /longer than 128/],
      ['kernel.pageSize', (p) => { p.kernel.pageSize = 4095; }, /power of two/],
      ['byteOrder', (p) => { p.byteOrder = 'middle'; }, /little/],
      ['btf', (p) => { p.btf = Buffer.from('garbage').toString('base64'); }, /btf:/],
      ['relocations[0].kind', (p) => { p.relocations[0].kind = 'field_evil'; }, /CO-RE relocation kind/],
      ['sources.object', (p) => { p.sources.object = 'abc'; }, /sha256/],
      ['maps', (p) => { p.maps = {}; }, /expected an array/],
    ];
    for (const [field, mutate, msg] of cases) {
      const p = structuredClone(base);
      mutate(p);
      const r = rejection(p);
      expect(r.field, field).toBe(field);
      expect(r.message, field).toMatch(msg);
      // a plan object is checked the same way
      expect(() => BpfObject.fromPlan(p as LoadPlan), field).toThrow(ObjectFormatError);
    }
  });

  it('sizes must agree with the plan BTF: key and value sizes against their BTF types', async () => {
    const p = await plan('execsnoop');
    const i = p.maps.findIndex((m) => m.btf && m.btfKeyTypeId && m.btfValueTypeId);
    expect(i).toBeGreaterThanOrEqual(0);
    p.maps[i]!.valueSize += 4;
    const r = rejection(p);
    expect(r.field).toBe(`maps[${i}].valueSize`);
    expect(r.message).toMatch(/but BTF type \[\d+\] \(btfValueTypeId\) is \d+ bytes/);
    const q = await plan('global_data');
    const j = q.maps.findIndex((m) => m.initial.some((x) => x.value !== undefined));
    q.maps[j]!.initial[0]!.value = Buffer.alloc(3).toString('base64');
    expect(rejection(q).field).toBe(`maps[${j}].initial[0].value`);
  });

  it('the mutated plans that used to throw untyped errors now get ObjectFormatError', async () => {
    const base = await plan('execsnoop');
    const mutations: ((p: any) => void)[] = [
      (p) => { p.maps[0].mapExtra = { x: 1 }; }, // was: SyntaxError: Cannot convert [object Object] to a BigInt
      (p) => { p.maps[2].initial = [{ key: 5 }]; }, // was: TypeError: The first argument must be of type string...
      (p) => { p.programs[0].insns = 12; },
      (p) => { p.programs[0].funcInfo = { recSize: 0, data: '' }; },
      (p) => { p.programs = [null]; },
      (p) => { p.kernel = 'x'; },
    ];
    const before = fdCount();
    for (const m of mutations) {
      const p = structuredClone(base);
      m(p);
      let err: unknown;
      try {
        BpfObject.fromPlan(JSON.stringify(p)).load();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ObjectFormatError);
    }
    expect(fdCount()).toBe(before);
  });

  it('a plan records the sha256 of its object and target BTF; fromPlan can require them', async () => {
    const bytes = readFileSync(`${PROGS}/execsnoop.bpf.o`);
    const btf = new Uint8Array(execFileSync('xz', ['-dc', BTF], { maxBuffer: 1 << 28 }));
    const p = await plan('execsnoop');
    expect(p.sources).toEqual({ object: sha(bytes), btf: sha(btf) });
    expect(() => BpfObject.fromPlan(p, { expect: { object: bytes, btf: sha(btf) } })).not.toThrow();
    const other = readFileSync(`${PROGS}/maps.bpf.o`);
    expect(() => BpfObject.fromPlan(p, { expect: { object: other } })).toThrow(/made from another object .*refusing to load it/);
    expect(() => BpfObject.fromPlan(p, { expect: { btf: '0'.repeat(64) } })).toThrow(ObjectFormatError);
    const old = structuredClone(p);
    delete old.sources;
    expect(() => BpfObject.fromPlan(old)).not.toThrow(); // plans from before sources still read
    expect(() => BpfObject.fromPlan(old, { expect: { object: bytes } })).toThrow(/does not record the sha256 of its object/);
  });

  it('BTF-driven decoding is capped: zero-size elements in a 300-byte plan do not build a 20-million element array', () => {
    const text = JSON.stringify(evilPlan());
    expect(text.length).toBeLessThan(700);
    const obj = BpfObject.fromPlan(text);
    const decode = obj.decoderFor('event');
    const t0 = performance.now();
    expect(() => decode(Buffer.alloc(0))).toThrow(BtfCodecError);
    expect(() => decode(Buffer.alloc(0))).toThrow(/would produce 20000000 elements/);
    expect(performance.now() - t0).toBeLessThan(500);
    obj.close();
  });
});

/** a tiny plan whose BTF has `struct event { struct empty x[20000000]; }` (size 0) */
function evilPlan(): object {
  const strs = Buffer.from('\0int\0empty\0event\0x\0');
  const w: number[] = [];
  // [1] int: name, info (INT), size, encoding
  w.push(1, 1 << 24, 4, 32);
  // [2] struct empty {} (size 0)
  w.push(5, 4 << 24, 0);
  // [3] array of [2], index [1], 20M elements
  w.push(0, 3 << 24, 0, 2, 1, 20_000_000);
  // [4] struct event { x: [3] at bit 0 } (size 0)
  w.push(11, (4 << 24) | 1, 0, 17, 3, 0);
  const types = Buffer.alloc(w.length * 4);
  w.forEach((v, i) => types.writeUInt32LE(v, i * 4));
  const hdr = Buffer.alloc(24);
  hdr.writeUInt16LE(0xeb9f, 0);
  hdr[2] = 1;
  hdr.writeUInt32LE(24, 4);
  hdr.writeUInt32LE(0, 8);
  hdr.writeUInt32LE(types.length, 12);
  hdr.writeUInt32LE(types.length, 16);
  hdr.writeUInt32LE(strs.length, 20);
  const exit = Buffer.from([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  return {
    format: 'corebpf-load-plan', version: 1, object: 'evil', kernel: { release: '', version: '', machine: '', pageSize: 4096 },
    byteOrder: 'little', btf: Buffer.concat([hdr, types, strs]).toString('base64'), maps: [],
    programs: [{
      name: 'p', section: 'socket', type: 1, expectedAttachType: 0, attachBtfId: 0, license: 'GPL', kernVersion: 0,
      flags: 0, ifindex: 0, btf: false, mapRefs: [], insns: exit.toString('base64'), funcInfo: null, lineInfo: null, boundMaps: [],
    }],
    relocations: [],
  };
}

const skip = bpfUsable();
if (skip) console.warn(`[plan-untrusted] bpffs pinning tests SKIPPED: ${skip}`);

describe('pin paths from a plan (real bpffs)', () => {
  it('a pin path with .. cannot leave /sys/fs/bpf: refused before anything is created', async () => {
    const p = await plan('map_pinning');
    const evil = mkdtempSync(join(tmpdir(), 'corebpf-evil-'));
    rmSync(evil, { recursive: true });
    p.maps[0]!.pinPath = `/sys/fs/bpf/x/../../../..${evil}/sub/m`;
    const before = fdCount();
    let err: unknown;
    try {
      BpfObject.fromPlan(p).load();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ObjectFormatError);
    expect((err as Error).message).toMatch(/resolves to '.*corebpf-evil-.*\/sub\/m', outside the pin root \/sys\/fs\/bpf/);
    expect((err as Error).message).not.toMatch(/run as root/);
    expect(existsSync(evil)).toBe(false);
    expect(fdCount()).toBe(before);
    // with a pin root, only the last component counts, and it must be a name
    p.maps[0]!.pinPath = '/sys/fs/bpf/..';
    expect(() => BpfObject.fromPlan(p, { pinRoot: '/sys/fs/bpf/whatever' }).load()).toThrow(/does not end in a file name/);
  });

  it.skipIf(skip !== null)('a symlink inside bpffs does not lead a pin out of the root', async () => {
    const root = mkdtempSync('/sys/fs/bpf/corebpf-test-');
    const outside = mkdtempSync(join(tmpdir(), 'corebpf-target-'));
    try {
      symlinkSync(outside, join(root, 'link'));
      const p = await plan('map_pinning');
      p.maps[0]!.pinPath = `${root}/link/sub/pinned_config`;
      const before = fdCount();
      expect(() => BpfObject.fromPlan(p).load()).toThrow(/leads to '.*corebpf-target-.*\/sub', outside the pin root/);
      expect(readdirSync(outside)).toEqual([]);
      expect(fdCount()).toBe(before);
    } finally {
      rmSync(root, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it.skipIf(skip !== null)('a plan from elsewhere does not take over a map pinned by someone else, unless reusePins', async () => {
    const root = mkdtempSync('/sys/fs/bpf/corebpf-test-');
    const dir = mkdtempSync(join(tmpdir(), 'corebpf-plan-'));
    try {
      // another tool's compatible map where the plan pins pinned_counts
      const other = BpfMap.create({ mapType: U.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 128, name: 'victim' });
      other.set(Buffer.from([1, 0, 0, 0]), Buffer.from([42, 0, 0, 0, 0, 0, 0, 0]));
      const victimId = other.id;
      // the plan comes from another process (the CLI), pinning inside /sys/fs/bpf
      execFileSync(process.execPath, [CLI, 'relocate', `${PROGS}/map_pinning.bpf.o`, '--btf', BTF, '-o', `${dir}/plan.json`]);
      const text = readFileSync(`${dir}/plan.json`, 'utf8').replaceAll('/sys/fs/bpf/', `${root}/`);
      writeFileSync(`${dir}/plan.json`, text);
      other.pin(join(root, 'pinned_counts'));
      other.close();
      const before = fdCount();
      expect(() => BpfObject.fromPlan(text).load()).toThrow(/already pinned at '.*pinned_counts'.*reusing pins is off for this plan.*reusePins: true/);
      expect(fdCount()).toBe(before);
      expect(readdirSync(root)).toEqual(['pinned_counts']);
      const ok = BpfObject.fromPlan(text, { reusePins: true });
      void ok.load();
      try {
        expect(ok.map('pinned_counts').id).toBe(victimId);
      } finally {
        ok.close();
      }
      // never across roots: with a pin root the plan's directory is ignored
      const sub = join(root, 'sub');
      mkdirSync(sub);
      const mine = BpfObject.fromPlan(text, { pinRoot: sub, reusePins: true });
      void mine.load();
      try {
        expect(mine.map('pinned_counts').id).not.toBe(victimId);
        expect(mine.map('pinned_counts').pinnedPath).toBe(join(sub, 'pinned_counts'));
      } finally {
        mine.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('relocating for this host', () => {
  it.skipIf(!hasHostBtf)('records the host BTF hash when relocating against /sys/kernel/btf/vmlinux', async () => {
    const r = await relocator.relocate(`${PROGS}/maps.bpf.o`);
    expect(r.plan.sources?.btf).toBe(sha(readFileSync(HOST_BTF)));
  });
});



