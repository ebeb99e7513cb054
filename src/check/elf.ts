// Just enough ELF to list a BPF object's programs and byte order without libbpf, so a row
// exists for every program even when libbpf refuses the object, and so endianness can be
// compared with the kernel's before relocating.
import type { CheckedProgram, Endianness } from './report.js';

const SHT_SYMTAB = 2;
const SHF_EXECINSTR = 0x4;
const STT_FUNC = 2;

export interface ElfInfo {
  endianness: Endianness;
  /** 64-bit ELF (BPF objects are) */
  is64: boolean;
  /** EM_BPF (247) */
  machine: number;
  /** entry programs (FUNC symbols in executable sections other than .text), in symbol order */
  programs: CheckedProgram[];
  sections: string[];
  /** names of the undefined (SHN_UNDEF) symbols: libbpf's externs are among them */
  undefinedSymbols: string[];
}

export function elfEndianness(b: Uint8Array): Endianness | null {
  if (b.length < 6 || b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46) return null;
  return b[5] === 1 ? 'little' : b[5] === 2 ? 'big' : null;
}

/** Byte order of a target: raw BTF (magic 0xeB9F) or an ELF. */
export function btfEndianness(b: Uint8Array): Endianness | null {
  if (b.length >= 2 && b[0] === 0x9f && b[1] === 0xeb) return 'little';
  if (b.length >= 2 && b[0] === 0xeb && b[1] === 0x9f) return 'big';
  return elfEndianness(b);
}

/** ELF e_machine of a vmlinux, mapped to a Debian-style arch name */
export function elfArch(b: Uint8Array): string | null {
  const e = elfEndianness(b);
  if (!e || b.length < 20) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const m = dv.getUint16(18, e === 'little');
  const is64 = b[4] === 2;
  const map: Record<number, string> = { 62: 'amd64', 183: 'arm64', 22: is64 ? 's390x' : 's390', 21: e === 'little' ? 'ppc64el' : 'ppc64', 243: 'riscv64', 3: 'i386', 40: 'armhf', 258: 'loong64', 8: e === 'little' ? 'mips64el' : 'mips' };
  return map[m] ?? null;
}

export function readElf(b: Uint8Array): ElfInfo | null {
  const endianness = elfEndianness(b);
  if (!endianness || b[4] !== 2 || b.length < 64) return null;
  const le = endianness === 'little';
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u16 = (o: number) => dv.getUint16(o, le);
  const u32 = (o: number) => dv.getUint32(o, le);
  const u64 = (o: number) => Number(dv.getBigUint64(o, le));
  try {
    const shoff = u64(0x28);
    const shentsize = u16(0x3a);
    const shnum = u16(0x3c);
    const shstrndx = u16(0x3e);
    if (shentsize < 64 || shoff + shnum * shentsize > b.length) return null;
    const sh = (i: number) => {
      const o = shoff + i * shentsize;
      return { name: u32(o), type: u32(o + 4), flags: u64(o + 8), offset: u64(o + 0x18), size: u64(o + 0x20), link: u32(o + 0x28), entsize: u64(o + 0x38) };
    };
    const str = (tab: { offset: number; size: number }, off: number): string => {
      let end = tab.offset + off;
      const lim = Math.min(b.length, tab.offset + tab.size);
      while (end < lim && b[end] !== 0) end++;
      return new TextDecoder().decode(b.subarray(tab.offset + off, end));
    };
    const shstr = sh(shstrndx);
    const sections = Array.from({ length: shnum }, (_, i) => str(shstr, sh(i).name));
    const programs: CheckedProgram[] = [];
    const undefinedSymbols: string[] = [];
    for (let i = 0; i < shnum; i++) {
      const s = sh(i);
      if (s.type !== SHT_SYMTAB) continue;
      const strtab = sh(s.link);
      const n = Math.floor(s.size / (s.entsize || 24));
      for (let j = 1; j < n; j++) {
        const o = s.offset + j * 24;
        if (o + 24 > b.length) break;
        const info = b[o + 4]!;
        const shndx = u16(o + 6);
        if (shndx === 0) {
          const name = str(strtab, u32(o));
          if (name) undefinedSymbols.push(name);
          continue;
        }
        if ((info & 0xf) !== STT_FUNC || shndx >= shnum) continue;
        const sec = sh(shndx);
        const secName = sections[shndx]!;
        if (!(sec.flags & SHF_EXECINSTR) || secName === '.text') continue;
        programs.push({ name: str(strtab, u32(o)), section: secName });
      }
    }
    return { endianness, is64: true, machine: u16(18), programs, sections, undefinedSymbols };
  } catch {
    return null;
  }
}
