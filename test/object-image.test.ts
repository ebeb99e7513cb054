// The worker is sent an object's relocation image (src/object-image.ts: DWARF contents
// dropped, every section header kept): libbpf must build the same plan from it as from the
// file, for every corpus object in both byte orders; hostile ELF input is passed through
// unchanged and still fails with a typed error.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ObjectFormatError, Relocator } from '../dist/index.js';
import { relocationImage } from '../src/object-image.js';
import { PROGS, corpusFiles, fixtureBytes, fixtures } from './helpers.js';

const relocator = new Relocator({ size: 1, resultCache: 0 });
afterAll(() => relocator.close());

interface Shdr { name: string; type: number; offset: number; size: number; link: number; info: number; flags: bigint }
function sections(b: Uint8Array): Shdr[] {
  const le = b[5] === 1;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const shoff = Number(v.getBigUint64(0x28, le));
  const shnum = v.getUint16(0x3c, le);
  const strndx = v.getUint16(0x3e, le);
  const hdr = (i: number) => shoff + i * 64;
  const strOff = Number(v.getBigUint64(hdr(strndx) + 24, le));
  const name = (o: number) => {
    let e = strOff + o;
    while (b[e] !== 0) e++;
    return Buffer.from(b.subarray(strOff + o, e)).toString('latin1');
  };
  return Array.from({ length: shnum }, (_, i) => ({
    name: name(v.getUint32(hdr(i), le)), type: v.getUint32(hdr(i) + 4, le), flags: v.getBigUint64(hdr(i) + 8, le),
    offset: Number(v.getBigUint64(hdr(i) + 24, le)), size: Number(v.getBigUint64(hdr(i) + 32, le)),
    link: v.getUint32(hdr(i) + 40, le), info: v.getUint32(hdr(i) + 44, le),
  }));
}
const contents = (b: Uint8Array, s: Shdr) => Buffer.from(b.subarray(s.offset, s.offset + s.size));
const dwarf = (name: string) => /^\.debug_|^\.rel\.debug_/.test(name);

const le = fixtures().find((f) => f.endianness === 'little' && !f.base)!;
const be = fixtures().find((f) => f.endianness === 'big' && !f.base)!;

describe('relocation image', () => {
  it('keeps every section header and every non-DWARF section byte for byte, and drops the DWARF', () => {
    let dropped = 0;
    for (const f of corpusFiles()) {
      const b = new Uint8Array(readFileSync(`${PROGS}/${f}`));
      const img = relocationImage(b);
      const [a, c] = [sections(b), sections(img)];
      expect(c.map((s) => [s.name, s.type, s.flags, s.link, s.info]), f).toEqual(a.map((s) => [s.name, s.type, s.flags, s.link, s.info]));
      a.forEach((s, i) => {
        if (dwarf(s.name)) expect(c[i]!.size, `${f} ${s.name}`).toBe(0);
        else if (s.type !== 8) expect(contents(img, c[i]!).equals(contents(b, s)), `${f} ${s.name}`).toBe(true);
      });
      if (a.some((s) => dwarf(s.name) && s.size > 0)) {
        expect(img.byteLength, f).toBeLessThan(b.byteLength);
        dropped++;
      }
    }
    expect(dropped).toBeGreaterThan(10); // the corpus is built with -g: something was dropped
  });

  // the differential: the worker's plan from the image equals its plan from the file
  for (const f of corpusFiles()) {
    const target = f.endsWith('.bpfeb.o') ? be : le;
    it(`gives the same plan and report as the file: ${f} on ${target.file}`, async () => {
      const b = new Uint8Array(readFileSync(`${PROGS}/${f}`));
      const img = relocationImage(b);
      const req = { objectName: 'obj', btf: fixtureBytes(target.file), kernelRelease: target.kernelRelease, kconfig: 'CONFIG_HZ=250\nCONFIG_BPF_SYSCALL=y\n' };
      const run = async (object: Uint8Array) => {
        try {
          const o = await relocator.pool.relocate({ ...req, object });
          return JSON.stringify({ plan: o.plan, relocations: o.relocations });
        } catch (e) {
          return `${(e as Error).constructor.name}: ${(e as Error).message}`;
        }
      };
      expect(await run(img)).toBe(await run(b));
    });
  }
});

describe('hostile ELF input', () => {
  const good = () => new Uint8Array(readFileSync(`${PROGS}/execsnoop.bpf.o`));
  const poke = (b: Uint8Array, at: number, v: bigint | number, size: 2 | 4 | 8) => {
    const d = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (size === 8) d.setBigUint64(at, BigInt(v), true);
    else if (size === 4) d.setUint32(at, Number(v), true);
    else d.setUint16(at, Number(v), true);
    return b;
  };
  const shoff = (b: Uint8Array) => Number(new DataView(b.buffer).getBigUint64(0x28, true));
  const cases: [string, () => Uint8Array][] = [
    ['truncated header', () => good().subarray(0, 40)],
    ['truncated section table', () => good().subarray(0, shoff(good()) + 100)],
    ['section table past the end', () => poke(good(), 0x28, 1n << 40n, 8)],
    ['section name table index past the table', () => poke(good(), 0x3e, 0xfff0, 2)],
    ['a section past the end of the file', () => { const b = good(); return poke(b, shoff(b) + 3 * 64 + 32, 1n << 33n, 8); }],
    ['a section offset near 2^64', () => { const b = good(); return poke(b, shoff(b) + 3 * 64 + 24, 0xffffffffffffff00n, 8); }],
    ['a name offset past the string table', () => { const b = good(); return poke(b, shoff(b) + 5 * 64, 0xfffffff0, 4); }],
    ['32-bit ELF', () => { const b = good(); b[4] = 1; return b; }],
    ['unknown byte order', () => { const b = good(); b[5] = 7; return b; }],
  ];
  for (const [what, make] of cases) {
    it(`${what}: passed through unchanged, and libbpf's refusal is an ObjectFormatError`, async () => {
      const b = make();
      expect(relocationImage(b)).toBe(b);
      await expect(relocator.relocate(b, { btf: fixtureBytes(le.file) })).rejects.toBeInstanceOf(ObjectFormatError);
    });
  }

  it('a stripped object whose kept sections are damaged still fails typed', async () => {
    const b = good();
    const btf = sections(b).find((s) => s.name === '.BTF')!;
    b.fill(0xff, btf.offset, btf.offset + 24); // .BTF header: bad magic
    const img = relocationImage(b);
    expect(img.byteLength).toBeLessThan(b.byteLength); // the image was made, DWARF dropped
    await expect(relocator.relocate(b, { btf: fixtureBytes(le.file) })).rejects.toBeInstanceOf(ObjectFormatError);
  });
});

describe('hostile section tables', () => {
  it('sections that all claim the same large region: passed through, not an image larger than the file', () => {
    const b = new Uint8Array(readFileSync(`${PROGS}/execsnoop.bpf.o`));
    const v = new DataView(b.buffer);
    const shoff = Number(v.getBigUint64(0x28, true));
    const shnum = v.getUint16(0x3c, true);
    const strndx = v.getUint16(0x3e, true);
    for (let i = 1; i < shnum; i++) {
      if (i === strndx) continue;
      v.setBigUint64(shoff + i * 64 + 24, 0n, true);
      v.setBigUint64(shoff + i * 64 + 32, BigInt(shoff), true); // every section: the whole file up to the table
      v.setBigUint64(shoff + i * 64 + 48, 1n, true);
    }
    expect(relocationImage(b)).toBe(b);
  });
});
