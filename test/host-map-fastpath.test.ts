// The map element hot path (src/host/attr/map-elem.ts, src/host/btf-codec/scalar.ts and
// BpfMap's get/set/getRaw/setRaw): the fast codec must give exactly what the generic codec
// gives (checked value by value, no kernel), and on the real kernel every value must reach
// the map and come back exactly, whichever handle wrote it, with the same typed errors,
// returned bytes that the next call does not touch, and reentrant calls kept apart.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// from src, like the syscall layer below: one module instance, so setSyscalls() reaches BpfMap
import { BpfMap, BtfCodec, BtfCodecError, SyscallError } from '../src/index.js';
import { parseBtf } from '../src/btf/reader.js';
import { scalarCodec } from '../src/host/btf-codec/scalar.js';
import * as U from '../src/host/generated/uapi.js';
import { getSyscalls, setSyscalls } from '../src/host/syscall.js';
import { BtfWriter } from './btf-writer.js';
import { needsEach, unmet } from './kernel.js';

/** A BTF with every scalar shape the fast path takes, and some it must leave alone. */
function testBtf() {
  const w = new BtfWriter();
  const ids = {
    u8: w.int('unsigned char', 1, false), s8: w.int('signed char', 1, true),
    u16: w.int('unsigned short', 2, false), s16: w.int('short', 2, true),
    u32: w.int('unsigned int', 4, false), s32: w.int('int', 4, true),
    u64: w.int('unsigned long long', 8, false), s64: w.int('long long', 8, true),
    bool: w.intEnc('_Bool', 1, 4, 8), char: w.intEnc('char', 1, 2, 8), u128: w.int('__int128 unsigned', 16, false),
    bits12: w.intEnc('u16_12', 2, 0, 12), // an INT narrower than its bytes
    e32: w.enum('e32', 4, false, [['A', 1], ['B', 0x7fffffff]]),
    es32: w.enum('es32', 4, true, [['NEG', -5], ['POS', 5]]),
    e16: w.enum('e16', 2, false, [['X', 3]]),
    e64: w.enum64('e64', 8, false, [['BIG', 0x100000000n]]),
    es64: w.enum64('es64', 8, true, [['MIN', -(2n ** 63n)]]),
    e64small: w.enum64('e64small', 4, false, [['ONE', 1n]]),
  };
  const typed = { ...ids, u32t: w.typedef('__u32', ids.u32), cs64: w.const(w.typedef('__s64', ids.s64)) };
  const key = w.struct('pair', 8, [['a', ids.u32, 0], ['b', ids.s16, 32], ['c', ids.u8, 48]]);
  const val = w.struct('stats', 24, [['n', ids.u64, 0], ['d', ids.s64, 64], ['tag', ids.e32, 128], ['neg', ids.s8, 160]]);
  return { btf: parseBtf(w.bytes()), ids: typed, key, val };
}

const VALUES: unknown[] = [
  0, 1, -1, 2, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768, -32769, 65535, 65536,
  2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), 2 ** 53 - 1, -(2 ** 53 - 1),
  2 ** 53, 2 ** 64, 1.5, -0.5, NaN, Infinity, -Infinity, -0,
  0n, 1n, -1n, 255n, 256n, -128n, -129n, 65535n, 65536n, 2n ** 31n, -(2n ** 31n), -(2n ** 31n) - 1n, 2n ** 32n - 1n, 2n ** 32n,
  2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, -(2n ** 63n), -(2n ** 63n) - 1n, 2n ** 64n - 1n, 2n ** 64n,
  true, false, '1', 'A', 'NEG', 'BIG', null, undefined, {}, [1], new Uint8Array(4),
];

describe('scalar fast codec = generic codec (no kernel)', () => {
  const { btf, ids } = testBtf();

  it('takes whole-byte integers and enums (through typedefs and const), leaves bool, char-as-bool, bitfield and 16-byte ints', () => {
    const c = new BtfCodec(btf);
    for (const k of ['u8', 's8', 'u16', 's16', 'u32', 's32', 'u64', 's64', 'e32', 'es32', 'e16', 'e64', 'es64', 'e64small', 'u32t', 'cs64'] as const) {
      expect(scalarCodec(c, ids[k]), k).not.toBeNull();
    }
    expect(scalarCodec(c, ids.bool)).toBeNull();
    expect(scalarCodec(c, ids.u128)).toBeNull();
    expect(scalarCodec(c, ids.bits12)).toBeNull();
  });

  for (const littleEndian of [true, false]) {
    it(`encode: the same bytes, or the generic path (which then encodes or throws) — ${littleEndian ? 'little' : 'big'}-endian`, () => {
      const c = new BtfCodec(btf, { littleEndian });
      let fast = 0;
      for (const [name, id] of Object.entries(ids)) {
        const s = scalarCodec(c, id);
        if (!s) continue;
        for (const v of VALUES) {
          let want: Uint8Array | Error;
          try {
            want = c.encode(id, v);
          } catch (e) {
            want = e as Error;
          }
          const out = new Uint8Array(s.size + 3).fill(0xa5);
          const took = s.encode(new DataView(out.buffer), 3, v);
          const what = `${name} ${typeof v} ${String(v)}`;
          if (want instanceof Error) {
            expect(want, what).toBeInstanceOf(BtfCodecError);
            expect(took, `${what}: the generic codec throws, the fast one must not take it`).toBe(false);
            expect([...out], `${what}: nothing written`).toEqual(new Array(s.size + 3).fill(0xa5));
          } else if (took) {
            fast++;
            expect(Buffer.from(out.subarray(3)).toString('hex'), what).toBe(Buffer.from(want).toString('hex'));
            expect([...out.subarray(0, 3)], what).toEqual([0xa5, 0xa5, 0xa5]);
          } else {
            // only enumerator names and raw bytes are left to the generic path among values it takes
            expect(typeof v === 'string' || v instanceof Uint8Array, `${what}: the fast path left a value it could take`).toBe(true);
          }
        }
      }
      expect(fast).toBeGreaterThan(200);
    });

    it(`decode: the same value and JS type (number, bigint) for every byte pattern — ${littleEndian ? 'little' : 'big'}-endian`, () => {
      const c = new BtfCodec(btf, { littleEndian });
      const patterns = [0x00, 0xff, 0x80, 0x7f, 0x01, 0xfe];
      for (const [name, id] of Object.entries(ids)) {
        const s = scalarCodec(c, id);
        if (!s) continue;
        const bufs = patterns.map((p) => new Uint8Array(s.size).fill(p));
        for (let i = 0; i < 32; i++) bufs.push(Uint8Array.from({ length: s.size }, (_, j) => (i * 73 + j * 151 + 17) & 0xff));
        for (const b of bufs) {
          const got = s.decode(new DataView(b.buffer), 0);
          const want = c.decode(id, b);
          expect(typeof got, `${name} ${Buffer.from(b).toString('hex')}`).toBe(typeof want);
          expect(got, `${name} ${Buffer.from(b).toString('hex')}`).toBe(want);
        }
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------

describe('map element hot path on the real kernel', () => {
  needsEach('bpf');
  const { btf, ids, key: pairId, val: statsId } = testBtf();
  const codec = new BtfCodec(btf);
  let dir: string;
  beforeAll(() => {
    if (unmet('bpf')) return;
    dir = mkdtempSync('/sys/fs/bpf/corebpf-fastpath-');
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A map created raw, and a typed and a raw handle on it through a pin (three fds, one map). */
  function handles(name: string, type: number, keySize: number, valueSize: number, keyId: number, valueId: number) {
    const raw = BpfMap.create({ mapType: type, keySize, valueSize, maxEntries: 64, name });
    const path = join(dir, name);
    raw.pin(path);
    const typed = BpfMap.fromPin(path, { codec, btfKeyTypeId: keyId, btfValueTypeId: valueId });
    const other = BpfMap.fromPin(path);
    return {
      raw, typed, other,
      close() {
        raw.unpin();
        for (const m of [raw, typed, other]) m.close();
      },
    };
  }

  const cases = [
    { name: 'u32_u64', key: 'u32', value: 'u64', ks: 4, vs: 8, keys: [0, 1, 0xffffffff, 0x80000000], vals: [0n, 1n, 2n ** 64n - 1n, 2n ** 63n],
      wk: (b: Buffer, k: number) => b.writeUInt32LE(k), wv: (b: Buffer, v: bigint) => b.writeBigUInt64LE(v) },
    { name: 's32_s64', key: 's32', value: 's64', ks: 4, vs: 8, keys: [-1, -(2 ** 31), 2 ** 31 - 1, 0], vals: [-1n, -(2n ** 63n), 2n ** 63n - 1n, 5n],
      wk: (b: Buffer, k: number) => b.writeInt32LE(k), wv: (b: Buffer, v: bigint) => b.writeBigInt64LE(v) },
    { name: 'u8_s16', key: 'u8', value: 's16', ks: 1, vs: 2, keys: [0, 255, 128, 7], vals: [-32768, 32767, -1, 0],
      wk: (b: Buffer, k: number) => b.writeUInt8(k), wv: (b: Buffer, v: number) => b.writeInt16LE(v) },
    { name: 'u64_s32', key: 'u64', value: 's32', ks: 8, vs: 4, keys: [2n ** 64n - 1n, 0n, 2n ** 53n + 1n, 1n], vals: [-(2 ** 31), 2 ** 31 - 1, -7, 0],
      wk: (b: Buffer, k: bigint) => b.writeBigUInt64LE(k), wv: (b: Buffer, v: number) => b.writeInt32LE(v) },
    { name: 'e32_es64', key: 'e32', value: 'es64', ks: 4, vs: 8, keys: [1, 0x7fffffff, 0xffffffff, 9], vals: [-(2n ** 63n), -1n, 0n, 42n],
      wk: (b: Buffer, k: number) => b.writeUInt32LE(k), wv: (b: Buffer, v: bigint) => b.writeBigInt64LE(v) },
  ] as const;

  for (const c of cases) {
    for (const mapType of [U.BPF_MAP_TYPE_HASH, U.BPF_MAP_TYPE_LRU_HASH]) {
      it(`${c.name} (${mapType === U.BPF_MAP_TYPE_HASH ? 'hash' : 'lru_hash'}): what one handle writes, the others read exactly, raw and typed`, () => {
        const h = handles(`fp_${c.name}_${mapType}`, mapType, c.ks, c.vs, ids[c.key], ids[c.value]);
        try {
          const kb = (k: unknown) => { const b = Buffer.alloc(c.ks); (c.wk as (b: Buffer, k: unknown) => void)(b, k); return b; };
          const vb = (v: unknown) => { const b = Buffer.alloc(c.vs); (c.wv as (b: Buffer, v: unknown) => void)(b, v); return b; };
          // raw bytes in (one handle), typed values out (another), alternating with typed writes
          c.keys.forEach((k, i) => {
            const v = c.vals[i];
            h.raw.setRaw(kb(k), vb(v));
            expect(h.typed.get(k as never), `typed get ${String(k)}`).toBe(v);
            expect(h.other.getRaw(kb(k))!.toString('hex')).toBe(vb(v).toString('hex'));
          });
          c.keys.forEach((k, i) => {
            const v = c.vals[(i + 1) % c.vals.length];
            h.typed.set(k as never, v as never);
            expect(h.raw.getRaw(kb(k))!.toString('hex'), `raw after typed set ${String(k)}`).toBe(vb(v).toString('hex'));
            expect(h.typed.get(k as never)).toBe(v);
            // the same key as raw bytes through the typed handle (bytes pass through)
            expect(h.typed.getRaw(kb(k))!.toString('hex')).toBe(vb(v).toString('hex'));
          });
          expect(h.other.count()).toBe(c.keys.length);
        } finally {
          h.close();
        }
      });
    }
  }

  it('struct keys and values (generic codec into the channel): exact bytes both ways; unset members are zero', () => {
    const h = handles('fp_struct', U.BPF_MAP_TYPE_HASH, 8, 24, pairId, statsId);
    try {
      h.typed.set({ a: 0xfffffffe, b: -2, c: 200 }, { n: 2n ** 64n - 1n, d: -3n, tag: 'B', neg: -128 });
      const k = Buffer.from('feffffff' + 'feff' + 'c8' + '00', 'hex');
      const want = Buffer.alloc(24);
      want.writeBigUInt64LE(2n ** 64n - 1n, 0); want.writeBigInt64LE(-3n, 8); want.writeUInt32LE(0x7fffffff, 16); want.writeInt8(-128, 20);
      expect(h.other.getRaw(k)!.toString('hex')).toBe(want.toString('hex'));
      // a later set with fewer members does not keep the earlier one's bytes
      h.typed.set({ a: 1, b: 0, c: 0 }, { n: 1n, d: 0n, tag: 0, neg: 0 });
      h.typed.set({ a: 1 }, { d: -1n });
      const b = Buffer.alloc(24); b.writeBigInt64LE(-1n, 8);
      expect(h.raw.getRaw(Buffer.from('0100000000000000', 'hex'))!.toString('hex')).toBe(b.toString('hex'));
      // written raw by another handle, decoded typed
      const v2 = Buffer.alloc(24); v2.writeBigUInt64LE(7n, 0); v2.writeBigInt64LE(-(2n ** 63n), 8); v2.writeUInt32LE(1, 16); v2.writeInt8(5, 20);
      h.other.setRaw(Buffer.from('0500000085ff0900', 'hex'), v2);
      expect(h.typed.get({ a: 5, b: -123, c: 9 })).toEqual({ n: 7n, d: -(2n ** 63n), tag: 1, neg: 5 });
    } finally {
      h.close();
    }
  });

  it('a returned Buffer or value is not touched by later calls; getRaw bytes have their own ArrayBuffer, as before', () => {
    const h = handles('fp_clobber', U.BPF_MAP_TYPE_ARRAY, 4, 24, ids.u32, statsId);
    try {
      h.typed.set(1, { n: 11n, d: -11n, tag: 1, neg: -1 });
      h.typed.set(2, { n: 22n, d: -22n, tag: 0x7fffffff, neg: 2 });
      const k = (i: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(i); return b; };
      const r1 = h.typed.getRaw(k(1))!;
      const s1 = r1.toString('hex');
      const v1 = h.typed.get(1);
      const r2 = h.typed.getRaw(k(2))!;
      h.typed.get(2);
      h.typed.set(1, { n: 99n });
      expect(r1.toString('hex')).toBe(s1);
      expect(r1.readBigUInt64LE(0)).toBe(11n);
      expect(r2.readBigUInt64LE(0)).toBe(22n);
      expect(v1).toEqual({ n: 11n, d: -11n, tag: 1, neg: -1 });
      expect([r1.byteOffset, r1.buffer.byteLength]).toEqual([0, 24]);
      expect(r1.buffer).not.toBe(r2.buffer);
      // the key Buffer passed in is not kept either
      const key = k(2);
      const got = h.typed.getRaw(key)!;
      key.writeUInt32LE(1);
      expect(got.readBigUInt64LE(0)).toBe(22n);
      expect(h.typed.getRaw(key)!.readBigUInt64LE(0)).toBe(99n);
    } finally {
      h.close();
    }
  });

  it('errors stay typed: ENOENT is undefined for lookups, an error for updates; EEXIST, EINVAL, bad keys and values, closed maps', () => {
    const h = handles('fp_errors', U.BPF_MAP_TYPE_HASH, 4, 8, ids.s32, ids.u64);
    try {
      expect(h.typed.get(-5)).toBeUndefined();
      expect(h.typed.getRaw(Buffer.alloc(4))).toBeUndefined();
      expect(h.typed.has(-5)).toBe(false);
      h.typed.set(-5, 1n);
      expect(h.typed.has(-5)).toBe(true);
      const err = (f: () => unknown) => { try { f(); } catch (e) { return e as SyscallError; } throw new Error('did not throw'); };
      const exists = err(() => h.typed.set(-5, 2n, 'noexist'));
      expect(exists).toBeInstanceOf(SyscallError);
      expect([exists.cmd, exists.errnoName]).toEqual(['BPF_MAP_UPDATE_ELEM', 'EEXIST']);
      const missing = err(() => h.typed.set(6, 2n, 'exist'));
      expect([missing.constructor, missing.cmd, missing.errnoName]).toEqual([SyscallError, 'BPF_MAP_UPDATE_ELEM', 'ENOENT']);
      const missingRaw = err(() => h.other.setRaw(Buffer.alloc(4, 1), Buffer.alloc(8), 'exist'));
      expect([missingRaw.cmd, missingRaw.errnoName]).toEqual(['BPF_MAP_UPDATE_ELEM', 'ENOENT']);
      // a lookup flag the kernel refuses: a SyscallError of the lookup, not "absent"
      const badFlags = err(() => h.typed.get(-5, 0x1234));
      expect(badFlags).toBeInstanceOf(SyscallError);
      expect([badFlags.cmd, badFlags.errnoName]).toEqual(['BPF_MAP_LOOKUP_ELEM', 'EINVAL']);
      // flags above 32 bits (refused) leave nothing behind for the next call's flags
      const highFlags = err(() => h.typed.get(-5, 2 ** 32));
      expect([highFlags.cmd, highFlags.errnoName]).toEqual(['BPF_MAP_LOOKUP_ELEM', 'EINVAL']);
      expect(err(() => h.typed.set(-5, 1n, 2 ** 33)).errnoName).toBe('EINVAL');
      expect(h.typed.get(-5)).toBe(1n);
      h.typed.set(-5, 1n);
      expect(() => h.typed.set(2 ** 31, 1n)).toThrow(BtfCodecError);
      expect(() => h.typed.set(2 ** 31, 1n)).toThrow(/key: 2147483648 does not fit int \(signed 32-bit/);
      expect(() => h.typed.set(1, -1n)).toThrow(/value: -1 does not fit/);
      expect(() => h.typed.set(1.5, 1n)).toThrow(/key: 1.5 is not an integer/);
      expect(() => h.typed.get('x' as never)).toThrow(/key: expected an integer for int, got the string "x"/);
      expect(() => h.typed.setRaw(Buffer.alloc(4), Buffer.alloc(7))).toThrow(/value of 7 bytes, expected 8/);
      // a raw key of another size never reaches the kernel (it would read key_size bytes past a short one)
      for (const k of [Buffer.from([0xfb, 0xff]), Buffer.alloc(8, 0xff), null]) {
        expect(() => h.other.getRaw(k)).toThrow(TypeError);
        expect(() => h.other.setRaw(k, Buffer.alloc(8))).toThrow(new RegExp(`key of ${k?.length ?? 0} bytes, expected 4`));
        expect(() => h.other.deleteRaw(k as Buffer)).toThrow(TypeError);
      }
      expect(() => h.typed.set(1, 1n, 'sometimes' as never)).toThrow(/unknown update flag 'sometimes'/);
      // nothing of the failed calls was written
      expect(h.other.count()).toBe(1);
      expect(h.typed.get(-5)).toBe(1n);
      h.typed.close();
      expect(() => h.typed.get(-5)).toThrow(/closed/);
      expect(() => h.typed.getRaw(Buffer.alloc(4))).toThrow(/closed/);
      expect(() => h.typed.set(-5, 1n)).toThrow(/closed/);
      expect(() => h.typed.has(-5)).toThrow(/closed/);
      // has() of the other handles: the element is there, others are not
      expect([h.other.has(Buffer.from([0xfb, 0xff, 0xff, 0xff])), h.other.has(Buffer.from([6, 0, 0, 0]))]).toEqual([true, false]);
    } finally {
      h.close();
    }
  });

  it('a getter that uses the same map while its value is encoded does not disturb the outer call', () => {
    const h = handles('fp_reenter', U.BPF_MAP_TYPE_HASH, 8, 24, pairId, statsId);
    try {
      h.typed.set({ a: 3 }, { n: 33n });
      let inner: unknown;
      const value = {
        n: 1n,
        get d() {
          // a lookup and an update of other keys in the middle of the outer set()
          inner = h.typed.get({ a: 3 });
          h.typed.set({ a: 4, b: -4 }, { n: 44n, neg: -4 });
          return -1n;
        },
      };
      h.typed.set({ a: 1, b: 1, c: 1 }, value);
      expect(inner).toEqual({ n: 33n, d: 0n, tag: 0, neg: 0 });
      expect(h.typed.get({ a: 1, b: 1, c: 1 })).toEqual({ n: 1n, d: -1n, tag: 0, neg: 0 });
      expect(h.typed.get({ a: 4, b: -4 })).toEqual({ n: 44n, d: 0n, tag: 0, neg: -4 });
      expect(h.typed.get({ a: 3 })).toEqual({ n: 33n, d: 0n, tag: 0, neg: 0 });
      expect(h.other.count()).toBe(3);
    } finally {
      h.close();
    }
  });

  it('a swapped syscall layer sees every element call (its own bpf(), its own addresses); ENOENT it throws is still undefined', () => {
    const h = handles('fp_layer', U.BPF_MAP_TYPE_HASH, 4, 8, ids.u32, ids.u64);
    const real = getSyscalls();
    try {
      h.typed.set(1, 10n); // the channel exists, made with the real layer
      const cmds: number[] = [];
      const addrs: bigint[] = [];
      setSyscalls({
        ...real,
        bpf: (cmd, attr) => (cmds.push(cmd), real.bpf(cmd, attr)),
        addressOf: (b) => { const a = real.addressOf(b); addrs.push(a); return a; },
      });
      expect(h.typed.get(1)).toBe(10n);
      expect(h.typed.get(2)).toBeUndefined();
      h.typed.set(2, 20n);
      expect(h.typed.getRaw(Buffer.from([2, 0, 0, 0]))!.readBigUInt64LE(0)).toBe(20n);
      expect(cmds).toEqual([U.BPF_MAP_LOOKUP_ELEM, U.BPF_MAP_LOOKUP_ELEM, U.BPF_MAP_UPDATE_ELEM, U.BPF_MAP_LOOKUP_ELEM]);
      expect(addrs.length).toBeGreaterThan(0);
      // and back on the real layer
      setSyscalls(real);
      expect(h.typed.get(2)).toBe(20n);
      expect(cmds.length).toBe(4);
    } finally {
      setSyscalls(real);
      h.close();
    }
  });

  it('maps too large for a channel, per-CPU maps and keyless maps keep working', () => {
    const big = BpfMap.create({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 40000, maxEntries: 2, name: 'fp_big' });
    try {
      const v = Buffer.alloc(40000);
      for (let i = 0; i < v.length; i++) v[i] = (i * 7) & 0xff;
      big.setRaw(Buffer.from([1, 0, 0, 0]), v);
      expect(big.getRaw(Buffer.from([1, 0, 0, 0]))!.equals(v)).toBe(true);
      expect((big.get(1) as Buffer).equals(v)).toBe(true);
    } finally {
      big.close();
    }
    const pc = BpfMap.create({ mapType: U.BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, name: 'fp_percpu' });
    try {
      const n = pc.valueBufferSize / 8;
      const all = Buffer.alloc(pc.valueBufferSize);
      for (let cpu = 0; cpu < n; cpu++) all.writeUInt32LE(1000 + cpu, cpu * 8);
      pc.setRaw(Buffer.from([0, 0, 0, 0]), all);
      const got = pc.get(0) as Buffer[];
      expect(got.map((b) => b.readUInt32LE(0))).toEqual(Array.from({ length: n }, (_, cpu) => 1000 + cpu));
    } finally {
      pc.close();
    }
    const st = BpfMap.create({ mapType: U.BPF_MAP_TYPE_STACK, keySize: 0, valueSize: 4, maxEntries: 4, name: 'fp_stack' });
    try {
      st.push(Buffer.from([1, 2, 3, 4]));
      st.push(Buffer.from([5, 6, 7, 8]));
      expect((st.peek() as Buffer).toString('hex')).toBe('05060708');
      expect((st.getRaw(null) as Buffer).toString('hex')).toBe('05060708');
      expect(() => st.getRaw(Buffer.alloc(4))).toThrow(/key of 4 bytes, expected 0 \(this map has no keys: pass null\)/);
      expect((st.pop() as Buffer).toString('hex')).toBe('05060708');
      expect((st.peek() as Buffer).toString('hex')).toBe('01020304');
    } finally {
      st.close();
    }
  });
});
