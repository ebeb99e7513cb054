// BTF-typed keys and values (src/host/btf-codec.ts) and the Map class (src/host/map.ts).
// Codec tests need no privileges; map tests run on the real kernel and skip only when not
// root or when bpf() answers EPERM (and say why).
import { readFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BpfMap, BpfObject, BtfCodec, BtfCodecError, PermissionError, Relocator, possibleCpus, type LoadPlan,
} from '../dist/index.js';
import * as A from '../src/host/attr.js';
import * as U from '../src/host/generated/uapi.js';
import { parseBtf } from '../src/btf/reader.js';
import { needsEach, unmet } from './kernel.js';

const PROGS = new URL('../testdata/progs/', import.meta.url).pathname;


const relocator = new Relocator({ size: 1 });
const plans: Record<string, LoadPlan> = {};
async function plan(name: string, btf?: string): Promise<LoadPlan> {
  const key = `${name}:${btf ?? ''}`;
  plans[key] ??= (await relocator.relocate(`${PROGS}${name}.bpf.o`, btf ? { btf } : {})).plan;
  return plans[key]!;
}
afterAll(() => relocator.close());

function codecOf(p: LoadPlan): BtfCodec {
  return new BtfCodec(parseBtf(Buffer.from(p.btf!, 'base64')));
}

// ---------------------------------------------------------------------------------------------

describe('BtfCodec (no kernel)', () => {
  let execsnoop: LoadPlan;
  let globals: LoadPlan;
  let coreTarget: LoadPlan;
  beforeAll(async () => {
    execsnoop = await plan('execsnoop');
    globals = await plan('global_data');
    coreTarget = await plan('core_target', new URL('../testdata/targets/core_target.target.btf', import.meta.url).pathname);
  });

  it('decodes and encodes struct event: u32 fields as numbers, char arrays as NUL-trimmed strings', () => {
    const c = codecOf(execsnoop);
    const ev = c.btf.findByName('event', 'STRUCT')!;
    expect(c.sizeOf(ev.id)).toBe(92);
    const b = Buffer.alloc(92);
    b.writeUInt32LE(4242, 0); b.writeUInt32LE(1, 4); b.writeUInt32LE(1000, 8);
    b.write('bash', 12); b.write('/usr/bin/ls', 28);
    b[28 + 11] = 0; b[28 + 12] = 0x41; // bytes after the NUL are not part of the string
    expect(c.decode(ev.id, b)).toEqual({ pid: 4242, ppid: 1, uid: 1000, comm: 'bash', filename: '/usr/bin/ls' });
    const enc = Buffer.from(c.encode(ev.id, { pid: 4242, ppid: 1, uid: 1000, comm: 'bash', filename: '/usr/bin/ls' }));
    const want = Buffer.alloc(92);
    want.writeUInt32LE(4242, 0); want.writeUInt32LE(1, 4); want.writeUInt32LE(1000, 8);
    want.write('bash', 12); want.write('/usr/bin/ls', 28);
    expect(enc.equals(want)).toBe(true);
    expect(c.typeName(ev.id)).toBe('struct event');
  });

  it('rejects values that do not fit, naming the path', () => {
    const c = codecOf(execsnoop);
    const ev = c.btf.findByName('event', 'STRUCT')!.id;
    expect(() => c.encode(ev, { pid: -1 })).toThrow(/value\.pid: -1 does not fit .*unsigned 32-bit/);
    expect(() => c.encode(ev, { pid: 2 ** 32 })).toThrow(/value\.pid: 4294967296 does not fit/);
    expect(() => c.encode(ev, { pid: 1.5 })).toThrow(/not an integer/);
    expect(() => c.encode(ev, { comm: 'x'.repeat(17) })).toThrow(/value\.comm: string of 17 bytes does not fit char\[16\]/);
    expect(() => c.encode(ev, { nope: 1 })).toThrow(/has no field 'nope' \(fields: pid, ppid, uid, comm, filename\)/);
    expect(() => c.encode(ev, { pid: 'one' })).toThrow(BtfCodecError);
    // 16 bytes exactly fill char[16] (no NUL, like C's char s[4] = "abcd")
    const b = c.encode(ev, { comm: 'abcdefghijklmnop' });
    expect(Buffer.from(b.subarray(12, 28)).toString()).toBe('abcdefghijklmnop');
  });

  it('decodes a DATASEC as an object of its variables (.data, .rodata of global_data)', () => {
    const c = codecOf(globals);
    const data = globals.maps.find((m) => m.name.endsWith('.data'))!;
    const ro = globals.maps.find((m) => m.name.endsWith('.rodata'))!;
    const dv = c.decode(data.btfValueTypeId, Buffer.from(data.initial[0]!.value!, 'base64'));
    expect(dv).toEqual({ data_counter: 7n, data_struct: { first: 1, second: 2, tag: 'init' }, static_data: 3 });
    const rv = c.decode(ro.btfValueTypeId, Buffer.from(ro.initial[0]!.value!, 'base64'));
    expect(rv).toEqual({ ro_limit: 100n, ro_name: 'corebpf', ro_table: [2, 3, 5, 7], static_ro: 42 });
    // and back: encoding the decoded object reproduces the section bytes
    const again = Buffer.from(c.encode(ro.btfValueTypeId, rv));
    expect(again.equals(Buffer.from(ro.initial[0]!.value!, 'base64'))).toBe(true);
    expect(c.datasecVars(ro.btfValueTypeId).map((v) => [v.name, v.offset, v.size])).toEqual([
      ['ro_limit', 0, 8], ['ro_name', 8, 8], ['ro_table', 16, 16], ['static_ro', 32, 4],
    ]);
  });

  it('bitfields: places and sign-extends exactly as C does (struct core_bits, little-endian)', () => {
    const c = codecOf(coreTarget);
    const t = c.btf.findByName('core_bits', 'STRUCT')!.id;
    // flag_a:1 @0, flag_b:3 @1, sval:5 (signed) @4, wide:20 @9, plain u8 @byte 4, big:40 @64
    const v = { flag_a: 1, flag_b: 5, sval: -3, wide: 0xabcde, plain: 0x7f, big: 0x12_3456_789an };
    const b = Buffer.from(c.encode(t, v));
    const lo = b.readUInt32LE(0);
    expect(lo & 1).toBe(1);
    expect((lo >>> 1) & 7).toBe(5);
    expect((lo >>> 4) & 31).toBe(32 - 3); // -3 in 5 bits
    expect((lo >>> 9) & 0xfffff).toBe(0xabcde);
    expect(b[4]).toBe(0x7f);
    expect(b.readBigUInt64LE(8) & ((1n << 40n) - 1n)).toBe(0x12_3456_789an);
    expect(c.decode(t, b)).toEqual(v);
    expect(() => c.encode(t, { sval: 16 })).toThrow(/does not fit .*signed 5-bit: -16\.\.15/);
    expect(() => c.encode(t, { flag_b: 8 })).toThrow(/does not fit/);
  });

  it('enums: numbers, names on encode, name lookup helpers', () => {
    const c = codecOf(coreTarget);
    const e = c.btf.findByName('core_enum', 'ENUM')!.id;
    expect(c.enumName(e, 2)).toBe('CE_B');
    expect(c.enumValue(e, 'CE_C')).toBe(3);
    expect(c.decode(e, c.encode(e, 'CE_C'))).toBe(3);
    expect(() => c.encode(e, 'CE_Z')).toThrow(/no enumerator 'CE_Z' \(it has CE_A, CE_B, CE_C\)/);
    const e64 = c.btf.findByName('core_enum64', 'ENUM64')!.id;
    expect(c.decode(e64, c.encode(e64, 'CE64_BIG'))).toBe(0x100000000n);
  });

  it('structs with anonymous members, unions, arrays of structs, pointers', () => {
    const c = codecOf(coreTarget);
    const t = c.btf.findByName('core_nested', 'STRUCT')!.id;
    expect(c.sizeOf(t)).toBe(72);
    const b = c.encode(t, { id: 9, inner: { x: 1, y: -2 }, u_int: 0x41424344, anon_a: 5n, anon_b: -6n, arr: [{ x: 7 }, undefined, { y: 8 }], next: 0xffff8880_12345678n });
    const d = c.decode(t, b) as Record<string, unknown>;
    expect(d).toEqual({
      id: 9, inner: { x: 1, y: -2 }, u_int: 0x41424344, u_bytes: 'DCBA', anon_a: 5n, anon_b: -6n,
      arr: [{ x: 7, y: 0 }, { x: 0, y: 0 }, { x: 0, y: 8 }, { x: 0, y: 0 }], next: 0xffff8880_12345678n,
    });
    expect(c.typeName(c.btf.findByName('core_word_t', 'TYPEDEF')!.id)).toBe('core_word_t');
  });
});

// ---------------------------------------------------------------------------------------------

describe('Map on the real kernel', () => {
  needsEach('bpf');
  let obj: BpfObject;
  beforeAll(async () => {
    if (unmet('bpf')) return;
    obj = await BpfObject.fromPlan(await plan('execsnoop')).load();
  });
  afterAll(() => obj?.close());

  it('counts (u32 uid -> u64): set, get, has, delete with exact values', () => {
    const counts = obj.map('counts');
    expect(counts.type).toBe(U.BPF_MAP_TYPE_HASH);
    expect([counts.keySize, counts.valueSize, counts.maxEntries]).toEqual([4, 8, 10240]);
    expect(counts.get(1000)).toBeUndefined();
    counts.set(1000, 3n).set(0, 0xffff_ffff_ffff_ffffn).set(4294967295, 1n);
    expect(counts.get(1000)).toBe(3n);
    expect(counts.get(0)).toBe(0xffff_ffff_ffff_ffffn);
    expect(counts.get(4294967295)).toBe(1n);
    expect(counts.has(1000)).toBe(true);
    // what the kernel holds, byte for byte
    const raw = counts.getRaw(Buffer.from([0xe8, 0x03, 0, 0]))!;
    expect(raw.equals(Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]))).toBe(true);
    expect(() => counts.set(1001, 1n, 'exist')).toThrow(/ENOENT/);
    expect(() => counts.set(1000, 1n, 'noexist')).toThrow(/EEXIST/);
    expect(counts.delete(1000)).toBe(true);
    expect(counts.delete(1000)).toBe(false);
    expect(counts.has(1000)).toBe(false);
    expect(() => counts.set(-1, 1n)).toThrow(/key: -1 does not fit/);
    expect(() => counts.set(5, -1n)).toThrow(/value: -1 does not fit/);
    counts.clear();
    expect(counts.count()).toBe(0);
  });

  it('iterates keys, values and entries; deleting during iteration is safe', () => {
    const counts = obj.map('counts');
    counts.clear();
    const want = new Map<number, bigint>();
    for (let i = 0; i < 100; i++) want.set(i * 7 + 1, BigInt(i) * 1000n);
    counts.setBatch([...want]);
    const got = new Map(counts.entries() as Iterable<[number, bigint]>);
    expect(got).toEqual(want);
    expect(new Set(counts.keys())).toEqual(new Set(want.keys()));
    expect([...counts.values()].map(Number).sort((a, b) => a - b)).toEqual([...want.values()].map(Number).sort((a, b) => a - b));
    // delete every key while walking: every key is seen exactly once
    const seen: number[] = [];
    for (const k of counts.keys()) {
      seen.push(k as number);
      expect(counts.delete(k)).toBe(true);
    }
    expect(seen.sort((a, b) => a - b)).toEqual([...want.keys()].sort((a, b) => a - b));
    expect(counts.count()).toBe(0);
    // delete every other key while walking entries
    counts.setBatch([...want]);
    let n = 0;
    for (const [k] of counts.entries()) if (n++ % 2 === 0) counts.delete(k);
    expect(n).toBe(100);
    expect(counts.count()).toBe(50);
    counts.clear();
  });

  it('batch lookup returns what iteration returns; non-batch map types fall back', () => {
    const counts = obj.map('counts');
    counts.clear();
    const want: [number, bigint][] = [];
    for (let i = 0; i < 700; i++) want.push([i * 13, BigInt(i) << 33n]);
    expect(counts.setBatch(want)).toBe(700);
    const viaBatch = counts.entriesBatch(64) as [number, bigint][];
    expect(viaBatch.length).toBe(700);
    expect(new Map(viaBatch)).toEqual(new Map(want));
    expect(counts.getBatch([13, 26, 5])).toEqual([1n << 33n, 2n << 33n, undefined]);
    counts.clear();
    // an LPM trie has no LOOKUP_BATCH: entriesBatch walks keys instead
    using lpm = BpfMap.create({ mapType: U.BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 8, mapFlags: U.BPF_F_NO_PREALLOC });
    const key = (len: number, a: number[]) => Buffer.from([len, 0, 0, 0, ...a]);
    lpm.set(key(24, [10, 1, 2, 0]), 1).set(key(8, [10, 0, 0, 0]), 2);
    const e = lpm.entriesBatch().map(([k, v]) => [(k as Buffer).toString('hex'), (v as Buffer).readUInt32LE(0)]);
    expect(e.sort()).toEqual([['080000000a000000', 2], ['180000000a010200', 1]]);
    // longest-prefix match: the raw API takes exact bytes
    expect(lpm.getRaw(key(32, [10, 1, 2, 3]))!.readUInt32LE(0)).toBe(1);
  });

  it('array maps: batch lookup over all indexes, delete refused', () => {
    using arr = BpfMap.create({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 5, name: 'corebpf_arr' });
    arr.set(3, 42n);
    const all = arr.entriesBatch(2).map(([k, v]) => [(k as Buffer).readUInt32LE(0), (v as Buffer).readBigUInt64LE(0)]);
    expect(all).toEqual([[0, 0n], [1, 0n], [2, 0n], [3, 42n], [4, 0n]]);
    expect(() => arr.delete(3)).toThrow(/EINVAL/);
  });

  it('a per-CPU map decodes to one value per possible CPU', () => {
    const scratch = obj.map('scratch'); // PERCPU_ARRAY of struct event
    const ncpu = possibleCpus();
    expect(ncpu).toBe(Number(readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim().split(/[-,]/).pop()) + 1);
    expect(scratch.perCpu).toBe(true);
    expect(scratch.valueBufferSize).toBe(96 * ncpu); // 92 rounded up to 8, per CPU
    const vals = Array.from({ length: ncpu }, (_, cpu) => ({ pid: 100 + cpu, ppid: cpu, uid: 7, comm: `cpu${cpu}`, filename: `/f/${cpu}` }));
    scratch.set(0, vals);
    const got = scratch.get(0) as unknown[];
    expect(got).toHaveLength(ncpu);
    expect(got).toEqual(vals);
    // the kernel's layout: CPU n's value at n * 96
    const raw = scratch.getRaw(Buffer.alloc(4))!;
    for (let cpu = 0; cpu < ncpu; cpu++) expect(raw.readUInt32LE(cpu * 96)).toBe(100 + cpu);
    // a single value is written to every CPU
    scratch.set(0, { pid: 5 });
    expect((scratch.get(0) as { pid: number }[]).map((v) => v.pid)).toEqual(new Array(ncpu).fill(5));
    if (ncpu === 1) {
      // one possible CPU (the lab's guests): an array of one value is exactly one per CPU
      scratch.set(0, [{ pid: 1 }]);
      expect((scratch.get(0) as { pid: number }[]).map((v) => v.pid)).toEqual([1]);
    } else {
      expect(() => scratch.set(0, [{ pid: 1 }])).toThrow(/needs \d+ values \(one per possible CPU\), got 1/);
    }
  });

  it('queue maps: push, peek, pop', () => {
    using q = BpfMap.create({ mapType: U.BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 8, maxEntries: 4 });
    q.push(Buffer.from('00000000000000aa', 'hex'));
    q.push(7n);
    expect((q.peek() as Buffer).toString('hex')).toBe('00000000000000aa');
    expect((q.pop() as Buffer).toString('hex')).toBe('00000000000000aa');
    expect((q.pop() as Buffer).readBigUInt64LE(0)).toBe(7n);
    expect(q.pop()).toBeUndefined();
  });

  it('pin, reopen from the pin (same map id), unpin', () => {
    const dir = mkdtempSync('/sys/fs/bpf/corebpf-maps-');
    try {
      const counts = obj.map('counts');
      const path = join(dir, 'counts');
      counts.pin(path);
      expect(counts.pinnedPath).toBe(path);
      counts.set(77, 99n);
      using again = BpfMap.fromPin(path);
      expect(again.id).toBe(counts.id);
      expect(again.getRaw(Buffer.from([77, 0, 0, 0]))!.readBigUInt64LE(0)).toBe(99n);
      counts.unpin();
      expect(existsSync(path)).toBe(false);
      expect(counts.pinnedPath).toBeNull();
      counts.delete(77);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('closing a map closes its fd once', () => {
    const m = BpfMap.create({ mapType: U.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
    const fd = m.fd;
    m.close();
    m.close();
    expect(m.closed).toBe(true);
    expect(() => m.fd).toThrow(/closed/);
    expect(() => A.mapInfo(fd)).toThrow(/EBADF/);
  });

  it('errors are typed', () => {
    expect(PermissionError).toBeTypeOf('function');
    const counts = obj.map('counts');
    expect(() => counts.set(Buffer.alloc(3), 1n)).toThrow(/key: 3 bytes given, the map wants 4|3 bytes given/);
  });
});
