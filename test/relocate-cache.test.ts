// The Relocator's result cache (src/relocate-cache.ts) and the object bytes it knows
// (src/object-bytes.ts): a second relocation of equal inputs is not sent to a worker and
// gives an equal plan in new objects; any different input — the bytes (even the same array
// changed in place), the name, the target, kconfig, adjustments, module BTF — is relocated
// again.
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Relocator } from '../dist/index.js';
import { readObjectFile } from '../src/object-bytes.js';
import { relocationImage } from '../src/object-image.js';
import { fixtureBytes, fixtures, obj } from './helpers.js';

const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());
const [f61, f510] = ['amd64-6.1.176.btf.xz', 'amd64-5.10.223.btf.xz'].map((n) => fixtures().find((f) => f.file === n)!);
const btf61 = fixtureBytes(f61!.file);
const btf510 = fixtureBytes(f510!.file);
const sent = vi.spyOn(relocator.pool, 'relocateWire');

/** the offset of a section's contents (little-endian ELF64) */
function sectionAt(b: Uint8Array, want: string): { offset: number; size: number } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const shoff = Number(v.getBigUint64(0x28, true));
  const strOff = Number(v.getBigUint64(shoff + v.getUint16(0x3e, true) * 64 + 24, true));
  for (let i = 0; i < v.getUint16(0x3c, true); i++) {
    const h = shoff + i * 64;
    let e = strOff + v.getUint32(h, true);
    const s = e;
    while (b[e] !== 0) e++;
    if (Buffer.from(b.subarray(s, e)).toString() === want) return { offset: Number(v.getBigUint64(h + 24, true)), size: Number(v.getBigUint64(h + 32, true)) };
  }
  throw new Error(`no ${want}`);
}

describe('result cache', () => {
  it('equal inputs: no worker call, an equal plan in new objects', async () => {
    const bytes = new Uint8Array(readFileSync(obj('execsnoop')));
    sent.mockClear();
    const a = await relocator.relocate(bytes, { btf: btf61, kernelRelease: f61!.kernelRelease });
    const b = await relocator.relocate(bytes.slice(), { btf: btf61, kernelRelease: f61!.kernelRelease });
    expect(sent).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(b.plan)).toBe(JSON.stringify(a.plan));
    expect(b.stats.targetCached).toBe(true);
    expect(b.plan).not.toBe(a.plan);
    a.plan.programs[0]!.name = 'changed';
    a.relocations.length = 0;
    const c = await relocator.relocate(bytes, { btf: btf61, kernelRelease: f61!.kernelRelease });
    expect(c.plan.programs[0]!.name).not.toBe('changed');
    expect(JSON.stringify(c.plan)).toBe(JSON.stringify(b.plan));
    expect(sent).toHaveBeenCalledTimes(1);
  });

  it('the same array changed in place is a new object', async () => {
    const bytes = new Uint8Array(readFileSync(obj('execsnoop')));
    const opts = { btf: btf61, kernelRelease: f61!.kernelRelease };
    const a = await relocator.relocate(bytes, opts);
    const ro = sectionAt(bytes, '.rodata');
    bytes[ro.offset] ^= 0x5a; // target_uid's initial value
    sent.mockClear();
    const b = await relocator.relocate(bytes, opts);
    expect(sent).toHaveBeenCalledTimes(1);
    expect(b.plan.sources!.object).not.toBe(a.plan.sources!.object);
    const rodata = (p: typeof a.plan) => JSON.stringify(p.maps.find((m) => m.name.endsWith('.rodata'))!.initial);
    expect(rodata(b.plan)).not.toBe(rodata(a.plan));
  });

  it('a different target, name, kconfig, release or adjustment is relocated again', async () => {
    const bytes = new Uint8Array(readFileSync(obj('kconfig')));
    const base = { btf: btf61, kernelRelease: f61!.kernelRelease, kconfig: 'CONFIG_HZ=250\nCONFIG_BPF_SYSCALL=y\nCONFIG_BPF_JIT=y\nCONFIG_NR_CPUS=64\n' };
    const first = await relocator.relocate(bytes, base);
    const variants = [
      { ...base, btf: btf510, kernelRelease: f510!.kernelRelease },
      { ...base, objectName: 'other' },
      { ...base, kconfig: base.kconfig.replace('250', '1000') },
      { ...base, kernelRelease: '6.1.0-99-amd64' },
      { ...base, adjustments: { maps: { [first.plan.maps[0]!.name]: { maxEntries: 7 } } } },
    ];
    for (const v of variants) {
      sent.mockClear();
      const r = await relocator.relocate(bytes, v);
      expect(sent, JSON.stringify(Object.keys(v))).toHaveBeenCalledTimes(1);
      expect(JSON.stringify(r.plan)).not.toBe(JSON.stringify(first.plan));
    }
    // and each is a hit the second time
    sent.mockClear();
    for (const v of variants) await relocator.relocate(bytes, v);
    expect(sent).toHaveBeenCalledTimes(0);
  });

  it('module BTF is compared by content', async () => {
    const mod = fixtures().find((f) => f.base === f61!.file)!;
    const bytes = new Uint8Array(readFileSync(obj('execsnoop')));
    const opts = (data: Uint8Array) => ({ btf: btf61, kernelRelease: f61!.kernelRelease, moduleBtfs: [{ name: 'ext4', data }] });
    const data = fixtureBytes(mod.file);
    await relocator.relocate(bytes, opts(data));
    sent.mockClear();
    await relocator.relocate(bytes, opts(data.slice()));
    expect(sent).toHaveBeenCalledTimes(0);
    const changed = data.slice();
    changed[changed.byteLength - 2] ^= 1; // a string of the module's BTF
    await relocator.relocate(bytes, opts(changed)).catch(() => undefined);
    expect(sent).toHaveBeenCalledTimes(1);
  });

  it('resultCache: 0 sends every relocation', async () => {
    const r = new Relocator({ size: 1, resultCache: 0 });
    try {
      const spy = vi.spyOn(r.pool, 'relocateWire');
      const bytes = new Uint8Array(readFileSync(obj('execsnoop')));
      await r.relocate(bytes, { btf: btf61 });
      await r.relocate(bytes, { btf: btf61 });
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      await r.close();
    }
  });

  it('open(): the spec of equal bytes and name once, handed out as copies', async () => {
    const spy = vi.spyOn(relocator.pool, 'open');
    const a = await relocator.open(obj('execsnoop'));
    const b = await relocator.open(new Uint8Array(readFileSync(obj('execsnoop'))), { objectName: 'execsnoop' });
    expect(spy).toHaveBeenCalledTimes(1);
    expect(b).toEqual(a);
    a.programs.length = 0;
    expect((await relocator.open(obj('execsnoop'))).programs.length).toBeGreaterThan(0);
    await relocator.open(obj('execsnoop'), { objectName: 'renamed' });
    expect(spy).toHaveBeenCalledTimes(2);
  });
});

describe('object files', () => {
  it('are read again when they change, even to the same size', () => {
    const dir = mkdtempSync(`${tmpdir()}/corebpf-objfile-`);
    try {
      const p = `${dir}/x.bpf.o`;
      writeFileSync(p, 'aaaa');
      const a = readObjectFile(p);
      expect(readObjectFile(p)).toBe(a); // unchanged: the same bytes
      writeFileSync(p, 'bbbb');
      utimesSync(p, 1e9, 1e9); // a whole second: restorable exactly
      expect(Buffer.from(readObjectFile(p)).toString()).toBe('bbbb');
      // same size, mtime set back to what it was: the ctime still tells (fileIdentity)
      // (a coarse-grained clock, a jiffy, gives changes within one tick the same times)
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      writeFileSync(p, 'cccc');
      utimesSync(p, 1e9, 1e9);
      expect(statSync(p, { bigint: true }).mtimeNs).toBe(1_000_000_000_000_000_000n);
      expect(Buffer.from(readObjectFile(p)).toString()).toBe('cccc');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('target BTF files', () => {
  it('are read again when rewritten to the same size with the mtime set back (ctime)', async () => {
    const dir = mkdtempSync(`${tmpdir()}/corebpf-btffile-`);
    try {
      const p = `${dir}/target.btf`;
      writeFileSync(p, btf61);
      utimesSync(p, 1e9, 1e9);
      const first = await relocator.relocate(obj('execsnoop'), { btf: p });
      expect(first.ok).toBe(true);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      // the same size, every byte after the header's 24 changed: not BTF any more
      const bad = Buffer.from(btf61);
      bad.fill(0xff, 24);
      writeFileSync(p, bad);
      utimesSync(p, 1e9, 1e9);
      await expect(relocator.relocate(obj('execsnoop'), { btf: p })).rejects.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Node Buffers as input', () => {
  it('a Buffer (whose slice() is a view, maybe of a shared pool) is copied, never detached', async () => {
    // a small Buffer from Node's pool, sharing its ArrayBuffer with others
    const neighbour = Buffer.from('kept');
    const small = Buffer.from(readFileSync(obj('socket_filter')));
    const pooled = Buffer.allocUnsafe(16);
    pooled.fill(1);
    const b = Buffer.from(readFileSync(obj('execsnoop')));
    // no DWARF to drop: the image is the object itself
    const nodwarf = Buffer.from(relocationImage(new Uint8Array(readFileSync(obj('execsnoop')))));
    expect(relocationImage(nodwarf)).toBe(nodwarf);
    for (const input of [b, small, nodwarf]) {
      await relocator.relocate(input, { btf: btf61 }).catch(() => undefined);
      await relocator.open(input).catch(() => undefined);
      expect(input.buffer.byteLength).toBeGreaterThan(0); // not detached
      expect(input.byteLength).toBeGreaterThan(0);
    }
    expect(neighbour.toString()).toBe('kept');
    expect(pooled.every((x) => x === 1)).toBe(true);
    // and the same bytes stripped of nothing (no DWARF) go through twice
    const r1 = await relocator.relocate(b, { btf: btf61, objectName: 'again' });
    const r2 = await relocator.relocate(Buffer.from(b), { btf: btf61, objectName: 'again' });
    expect(JSON.stringify(r2.plan)).toBe(JSON.stringify(r1.plan));
  });
});
