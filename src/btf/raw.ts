// Raw BTF out of what users hand us as a kernel's BTF: raw BTF itself, or an ELF (a vmlinux,
// a BPF object) with a .BTF section. Pure: bytes in, bytes out.
import { ObjectFormatError } from '../errors.js';

/** The bytes of an ELF section by name, or null (not ELF, no such section). */
export function elfSection(b: Uint8Array, name: string): Uint8Array | null {
  if (b.length < 64 || b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46 || b[4] !== 2) return null;
  const le = b[5] === 1;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u64 = (o: number): number => Number(dv.getBigUint64(o, le));
  const shoff = u64(0x28);
  const shentsize = dv.getUint16(0x3a, le);
  const shnum = dv.getUint16(0x3c, le);
  const shstrndx = dv.getUint16(0x3e, le);
  if (shentsize < 64 || shoff + shnum * shentsize > b.length || shstrndx >= shnum) return null;
  const strOff = u64(shoff + shstrndx * shentsize + 0x18);
  const want = new TextEncoder().encode(name);
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    const n = strOff + dv.getUint32(o, le);
    if (n + want.length >= b.length || b[n + want.length] !== 0) continue;
    if (!want.every((c, k) => b[n + k] === c)) continue;
    const off = u64(o + 0x18);
    const size = u64(o + 0x20);
    return off + size <= b.length ? b.subarray(off, off + size) : null;
  }
  return null;
}

/** The raw BTF of `b`: its .BTF section when it is an ELF file, else `b` itself. */
export function readBtf(b: Uint8Array, what = 'BTF'): Uint8Array {
  if (b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46) {
    const s = elfSection(b, '.BTF');
    if (!s) throw new ObjectFormatError(`${what}: an ELF file without a readable .BTF section (built without CONFIG_DEBUG_INFO_BTF or -g?)`, { input: 'btf' });
    return s;
  }
  return b;
}
