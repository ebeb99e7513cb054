// Uprobe targets: a function symbol of an ELF file → the file offset the kernel's uprobe
// wants (uprobes are placed by inode + file offset, not by virtual address).
//
// Like libbpf's elf_find_func_offset(): look in .symtab, then .dynsym, for an STT_FUNC or
// STT_GNU_IFUNC symbol defined in a section; prefer a GLOBAL binding over a WEAK one over a
// LOCAL one; fail when two symbols of the best binding disagree on the address. The offset
// is st_value - sh_addr + sh_offset of the symbol's section (or, for a symbol without a
// usable section, through the PT_LOAD segment containing st_value).
import { readFileSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, resolve } from 'node:path';
import { ObjectFormatError } from '../errors.js';
import { fileIdentity } from '../inputs.js';
import { pathDirs, searchDirs } from '../path-search.js';

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const SHT_NOBITS = 8;
const PT_LOAD = 1;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const STB_LOCAL = 0;
const STB_GLOBAL = 1;
const STB_WEAK = 2;
const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;
const SHN_XINDEX = 0xffff;

export interface ElfSection {
  name: string;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: bigint;
  size: bigint;
  link: number;
  entsize: bigint;
}

export interface ElfSegment {
  type: number;
  /** p_flags (PF_X 1, PF_W 2, PF_R 4). */
  flags: number;
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
  memsz: bigint;
}

export interface ElfSymbol {
  name: string;
  value: bigint;
  size: bigint;
  type: number;
  bind: number;
  shndx: number;
  /** '.symtab' or '.dynsym'. */
  table: string;
}

/** The parts of an ELF file uprobes need: section and program headers and symbols. */
export class ElfFile {
  readonly is64: boolean;
  readonly littleEndian: boolean;
  readonly type: number;
  readonly machine: number;
  readonly sections: ElfSection[] = [];
  readonly segments: ElfSegment[] = [];
  readonly #dv: DataView;
  readonly #bytes: Uint8Array;

  constructor(data: Uint8Array, readonly path = '<memory>') {
    this.#bytes = data;
    this.#dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (data.byteLength < 52 || data[0] !== 0x7f || data[1] !== 0x45 || data[2] !== 0x4c || data[3] !== 0x46) {
      throw new ObjectFormatError(`${path}: not an ELF file`, { path });
    }
    if (data[4] !== 1 && data[4] !== 2) throw new ObjectFormatError(`${path}: bad ELF class ${data[4]}`, { path });
    if (data[5] !== 1 && data[5] !== 2) throw new ObjectFormatError(`${path}: bad ELF data encoding ${data[5]}`, { path });
    this.is64 = data[4] === 2;
    this.littleEndian = data[5] === 1;
    this.type = this.u16(16);
    this.machine = this.u16(18);
    const phoff = this.addr(this.is64 ? 32 : 28);
    const shoff = this.addr(this.is64 ? 40 : 32);
    const base = this.is64 ? 52 : 40;
    const phentsize = this.u16(base + 2);
    let phnum = this.u16(base + 4);
    const shentsize = this.u16(base + 6);
    let shnum = this.u16(base + 8);
    let shstrndx = this.u16(base + 10);
    // extended numbering: the real counts live in section header 0
    if (shoff !== 0n && (shnum === 0 || shstrndx === SHN_XINDEX || phnum === 0xffff)) {
      const s0 = this.rawSection(Number(shoff));
      if (shnum === 0) shnum = Number(s0.size);
      if (shstrndx === SHN_XINDEX) shstrndx = s0.link;
      if (phnum === 0xffff) phnum = this.u32(Number(shoff) + (this.is64 ? 44 : 28));
    }
    for (let i = 0; i < phnum && phoff !== 0n; i++) {
      const o = Number(phoff) + i * phentsize;
      this.check(o, phentsize);
      this.segments.push(this.is64
        ? { type: this.u32(o), flags: this.u32(o + 4), offset: this.u64(o + 8), vaddr: this.u64(o + 16), filesz: this.u64(o + 32), memsz: this.u64(o + 40) }
        : { type: this.u32(o), flags: this.u32(o + 24), offset: BigInt(this.u32(o + 4)), vaddr: BigInt(this.u32(o + 8)), filesz: BigInt(this.u32(o + 16)), memsz: BigInt(this.u32(o + 20)) });
    }
    const raw: (ElfSection & { nameOff: number })[] = [];
    for (let i = 0; i < shnum && shoff !== 0n; i++) raw.push(this.rawSection(Number(shoff) + i * shentsize));
    const strtab = raw[shstrndx];
    for (const s of raw) {
      const { nameOff, ...rest } = s;
      this.sections.push({ ...rest, name: strtab ? this.str(Number(strtab.offset), Number(strtab.size), nameOff) : '' });
    }
  }

  private check(off: number, len: number): void {
    if (off < 0 || off + len > this.#bytes.byteLength) {
      throw new ObjectFormatError(`${this.path}: truncated ELF (${len} bytes at ${off} past the end)`, { path: this.path, offset: off });
    }
  }
  private u16(o: number): number { this.check(o, 2); return this.#dv.getUint16(o, this.littleEndian); }
  private u32(o: number): number { this.check(o, 4); return this.#dv.getUint32(o, this.littleEndian); }
  private u64(o: number): bigint { this.check(o, 8); return this.#dv.getBigUint64(o, this.littleEndian); }
  private addr(o: number): bigint { return this.is64 ? this.u64(o) : BigInt(this.u32(o)); }

  private rawSection(o: number): ElfSection & { nameOff: number } {
    if (this.is64) {
      this.check(o, 64);
      return {
        nameOff: this.u32(o), name: '', type: this.u32(o + 4), flags: this.u64(o + 8), addr: this.u64(o + 16),
        offset: this.u64(o + 24), size: this.u64(o + 32), link: this.u32(o + 40), entsize: this.u64(o + 56),
      };
    }
    this.check(o, 40);
    return {
      nameOff: this.u32(o), name: '', type: this.u32(o + 4), flags: BigInt(this.u32(o + 8)), addr: BigInt(this.u32(o + 12)),
      offset: BigInt(this.u32(o + 16)), size: BigInt(this.u32(o + 20)), link: this.u32(o + 24), entsize: BigInt(this.u32(o + 36)),
    };
  }

  private str(tabOff: number, tabSize: number, off: number): string {
    if (off >= tabSize) throw new ObjectFormatError(`${this.path}: string offset ${off} outside its table`, { path: this.path });
    const start = tabOff + off;
    const end = this.#bytes.indexOf(0, start);
    if (end < 0 || end > tabOff + tabSize) throw new ObjectFormatError(`${this.path}: unterminated string at ${start}`, { path: this.path });
    return Buffer.from(this.#bytes.buffer, this.#bytes.byteOffset + start, end - start).toString('latin1');
  }

  /** The file bytes of section `sec` (empty for SHT_NOBITS). */
  sectionBytes(sec: ElfSection): Uint8Array {
    if (sec.type === SHT_NOBITS) return new Uint8Array(0);
    this.check(Number(sec.offset), Number(sec.size));
    return this.#bytes.subarray(Number(sec.offset), Number(sec.offset + sec.size));
  }

  /** Symbols of the given table ('.symtab' then '.dynsym' by default). */
  *symbols(tables: readonly number[] = [SHT_SYMTAB, SHT_DYNSYM]): Generator<ElfSymbol> {
    for (const want of tables) {
      for (const sec of this.sections) {
        if (sec.type !== want || sec.type === SHT_NOBITS) continue;
        const strsec = this.sections[sec.link];
        if (!strsec) continue;
        const entsize = Number(sec.entsize) || (this.is64 ? 24 : 16);
        const count = Math.floor(Number(sec.size) / entsize);
        const base = Number(sec.offset);
        for (let i = 1; i < count; i++) {
          const o = base + i * entsize;
          let nameOff: number, info: number, shndx: number, value: bigint, size: bigint;
          if (this.is64) {
            nameOff = this.u32(o); info = this.#dv.getUint8(o + 4); shndx = this.u16(o + 6); value = this.u64(o + 8); size = this.u64(o + 16);
          } else {
            nameOff = this.u32(o); value = BigInt(this.u32(o + 4)); size = BigInt(this.u32(o + 8)); info = this.#dv.getUint8(o + 12); shndx = this.u16(o + 14);
          }
          if (nameOff === 0) continue;
          yield {
            name: this.str(Number(strsec.offset), Number(strsec.size), nameOff), value, size,
            type: info & 0xf, bind: info >> 4, shndx, table: sec.name || (want === SHT_SYMTAB ? '.symtab' : '.dynsym'),
          };
        }
      }
    }
  }

  /** File offset of virtual address `vaddr` of symbol `sym` (see the file comment). */
  fileOffset(vaddr: bigint, shndx = SHN_UNDEF): bigint {
    const sec = shndx !== SHN_UNDEF && shndx < SHN_LORESERVE ? this.sections[shndx] : undefined;
    if (sec && sec.type !== SHT_NOBITS && vaddr >= sec.addr && vaddr < sec.addr + (sec.size || 1n)) {
      return vaddr - sec.addr + sec.offset;
    }
    for (const p of this.segments) {
      if (p.type === PT_LOAD && vaddr >= p.vaddr && vaddr < p.vaddr + p.memsz) return vaddr - p.vaddr + p.offset;
    }
    if (this.type === 1 /* ET_REL */ || this.segments.length === 0) return vaddr;
    throw new ObjectFormatError(`${this.path}: address 0x${vaddr.toString(16)} is in no section or PT_LOAD segment`, { path: this.path });
  }
}

const cache = new Map<string, { id: string; elf: ElfFile }>();

/** Parse (and cache by path and file identity) the ELF file at `path`. */
export function openElf(path: string): ElfFile {
  const id = fileIdentity(statSync(path, { bigint: true }));
  const c = cache.get(path);
  if (c?.id === id) return c.elf;
  const elf = new ElfFile(new Uint8Array(readFileSync(path)), path);
  cache.set(path, { id, elf });
  if (cache.size > 16) cache.delete(cache.keys().next().value as string);
  return elf;
}

function bindRank(bind: number): number {
  return bind === STB_GLOBAL ? 0 : bind === STB_WEAK ? 1 : bind === STB_LOCAL ? 2 : 3;
}

/**
 * The file offset of function `symbol` in the ELF file at `path`. A versioned name
 * ("malloc@GLIBC_2.2.5" / "@@") matches the symbol of that base name.
 */
export function resolveSymbolOffset(path: string, symbol: string): number {
  const elf = openElf(path);
  const base = symbol.split('@')[0];
  let best: ElfSymbol[] = [];
  for (const tables of [[SHT_SYMTAB], [SHT_DYNSYM]]) {
    for (const s of elf.symbols(tables)) {
      if (s.type !== STT_FUNC && s.type !== STT_GNU_IFUNC) continue;
      if (s.shndx === SHN_UNDEF) continue;
      if (s.name !== symbol && s.name.split('@')[0] !== base) continue;
      if (best.length === 0 || bindRank(s.bind) < bindRank(best[0].bind)) best = [s];
      else if (bindRank(s.bind) === bindRank(best[0].bind)) best.push(s);
    }
    if (best.length) break; // libbpf: .dynsym only when .symtab has no match
  }
  if (best.length === 0) {
    throw new ObjectFormatError(`function '${symbol}' not found in ${path} (.symtab/.dynsym)`, { path, symbol });
  }
  const offsets = new Set(best.map((s) => elf.fileOffset(s.value, s.shndx)));
  if (offsets.size > 1) {
    throw new ObjectFormatError(`function '${symbol}' is ambiguous in ${path}: ${best.length} ${['GLOBAL', 'WEAK', 'LOCAL'][bindRank(best[0].bind)] ?? ''} symbols at different offsets`,
      { path, symbol, offsets: [...offsets].map(String) });
  }
  const off = [...offsets][0];
  if (off > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`offset of ${symbol} does not fit a number`);
  return Number(off);
}

const LIB_DIRS = ['/usr/lib64', '/lib64', '/usr/lib', '/lib', `/usr/lib/${archTriple()}`, `/lib/${archTriple()}`];

function archTriple(): string {
  const m: Record<string, string> = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', riscv64: 'riscv64-linux-gnu', s390x: 's390x-linux-gnu', ppc64: 'powerpc64le-linux-gnu', loong64: 'loongarch64-linux-gnu' };
  return m[process.arch] ?? `${process.arch}-linux-gnu`;
}

/**
 * Like libbpf's resolve_full_path(): a name with a '/' is a path (made absolute); a bare
 * name containing ".so" is looked up in LD_LIBRARY_PATH and the standard library
 * directories, any other bare name in PATH.
 */
export function resolveBinaryPath(name: string): string {
  if (name.includes('/')) return isAbsolute(name) ? name : resolve(name);
  const isLib = name.includes('.so');
  const dirs = isLib ? [...(process.env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean), ...LIB_DIRS] : pathDirs();
  const p = searchDirs(name, dirs, !isLib);
  if (p) return p;
  throw new ObjectFormatError(`cannot find '${name}' in ${isLib ? 'LD_LIBRARY_PATH and the library directories' : 'PATH'}`, { name });
}
