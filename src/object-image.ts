// What the worker is sent of a BPF object: the ELF without the sections libbpf never reads.
// A libbpf-tools style object is ~95% DWARF (.debug_* and their .rel.debug_* relocations);
// libbpf's ignore_elf_section() skips those by name before it reads their data, so the
// relocation image keeps every section header (same indexes, names, types, flags, links)
// and drops only their contents (size 0). Everything relocation reads — .BTF, .BTF.ext,
// .symtab, .strtab, program, map and data sections and their relocations — is copied as is,
// so libbpf builds the same plan from the image as from the file.
//
// Anything this reader does not follow (not ELF64, program headers, extended section
// numbering, a header or section outside the file) is sent unchanged: libbpf then says
// what is wrong with it (ObjectFormatError), as it does today.

const SHDR_SIZE = 64;
const EHDR_SIZE = 64;
const SHT_NOBITS = 8;

/** libbpf's DWARF test (is_sec_name_dwarf) and its `.rel` + DWARF rule, nothing more */
function libbpfIgnoresByName(name: string): boolean {
  return name.startsWith('.debug_') || (name.startsWith('.rel') && name.slice(4).startsWith('.debug_'));
}

interface Section {
  hdr: number;
  type: number;
  offset: number;
  size: number;
  align: number;
  keep: boolean;
}

/** the NUL-terminated name at `at` in the file, or null when it runs off the end */
function cstr(b: Uint8Array, at: number, end: number): string | null {
  let e = at;
  while (e < end && b[e] !== 0) e++;
  if (e >= end) return null;
  let s = '';
  for (let i = at; i < e; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/**
 * The relocation image of `elf` (see above): a new array (the caller may move its buffer to
 * a worker), or `elf` itself when there is nothing to drop or the file is not one this
 * reader follows.
 */
export function relocationImage(elf: Uint8Array): Uint8Array {
  const n = elf.byteLength;
  if (n < EHDR_SIZE || elf[0] !== 0x7f || elf[1] !== 0x45 || elf[2] !== 0x4c || elf[3] !== 0x46 || elf[4] !== 2) return elf;
  const le = elf[5] === 1;
  if (!le && elf[5] !== 2) return elf;
  const v = new DataView(elf.buffer, elf.byteOffset, n);
  const u64 = (at: number) => {
    const x = v.getBigUint64(at, le);
    return x > BigInt(n) ? -1 : Number(x);
  };
  const phnum = v.getUint16(0x38, le);
  const shoff = u64(0x28);
  const shentsize = v.getUint16(0x3a, le);
  const shnum = v.getUint16(0x3c, le);
  const shstrndx = v.getUint16(0x3e, le);
  if (phnum !== 0 || shentsize !== SHDR_SIZE || shnum === 0 || shstrndx >= shnum || shoff < EHDR_SIZE || shoff + shnum * SHDR_SIZE > n) return elf;
  const secs: Section[] = [];
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * SHDR_SIZE;
    const offset = u64(h + 24);
    const size = u64(h + 32);
    const align = u64(h + 48);
    const type = v.getUint32(h + 4, le);
    if (offset < 0 || size < 0 || align < 0) return elf;
    if (type !== SHT_NOBITS && offset + size > n) return elf;
    secs.push({ hdr: h, type, offset, size, align, keep: true });
  }
  const strtab = secs[shstrndx]!;
  if (strtab.type === SHT_NOBITS) return elf;
  const strEnd = strtab.offset + strtab.size;
  let dropped = 0;
  for (let i = 1; i < shnum; i++) {
    const s = secs[i]!;
    const name = cstr(elf, strtab.offset + v.getUint32(s.hdr, le), strEnd);
    if (name === null) return elf;
    if (s.type !== SHT_NOBITS && s.size > 0 && libbpfIgnoresByName(name)) {
      s.keep = false;
      dropped += s.size;
    }
  }
  if (dropped === 0) return elf;

  // layout: ELF header, kept contents (each at its alignment), section headers
  const place = (at: number, align: number) => (align > 1 ? Math.ceil(at / align) * align : at);
  let at = EHDR_SIZE;
  const offsets = secs.map((s, i) => {
    if (i === 0 || s.type === SHT_NOBITS || !s.keep) return -1;
    const o = place(at, Math.min(Math.max(s.align, 1), 4096));
    at = o + s.size;
    return o;
  });
  const newShoff = place(at, 8);
  // sections that overlap in the file (hostile input) would add up past it: not an image
  if (newShoff + shnum * SHDR_SIZE >= n) return elf;
  const out = new Uint8Array(newShoff + shnum * SHDR_SIZE);
  out.set(elf.subarray(0, EHDR_SIZE));
  out.set(elf.subarray(shoff, shoff + shnum * SHDR_SIZE), newShoff);
  const w = new DataView(out.buffer);
  w.setBigUint64(0x28, BigInt(newShoff), le);
  secs.forEach((s, i) => {
    if (i === 0) return;
    const h = newShoff + i * SHDR_SIZE;
    const o = offsets[i]!;
    if (o >= 0) {
      out.set(elf.subarray(s.offset, s.offset + s.size), o);
      w.setBigUint64(h + 24, BigInt(o), le);
    } else {
      // dropped contents, or no contents (NOBITS): an offset inside the image
      w.setBigUint64(h + 24, BigInt(s.type === SHT_NOBITS ? Math.min(s.offset, newShoff) : newShoff), le);
      if (!s.keep) w.setBigUint64(h + 32, 0n, le);
    }
  });
  return out;
}
