// USDT probes of an ELF file, as libbpf's usdt.c collect_usdt_targets() finds them: the
// SHT_NOTE section .note.stapsdt holds one "stapsdt" note (type 3) per probe site with its
// address, the link-time address of .stapsdt.base, the semaphore's address (0 for none),
// then "provider\0name\0args\0". A prelinked file moved .stapsdt.base: the difference is
// applied to the probe address. Addresses become file offsets through the PT_LOAD segment
// holding them (the probe's must be executable, the semaphore's must not).
import { NotSupportedError, ObjectFormatError } from '../../errors.js';
import type { ElfFile, ElfSegment } from '../uprobe.js';

const SHT_NOTE = 7;
const PT_LOAD = 1;
const PF_X = 1;
const ET_EXEC = 2;
const ET_DYN = 3;
const USDT_NOTE_TYPE = 3;
const USDT_NOTE_NAME = 'stapsdt';

export interface UsdtNote {
  provider: string;
  name: string;
  /** The argument spec string ('' for none), e.g. "-4@%edi 8@%rsi 8@-16(%rbp)". */
  args: string;
  locAddr: bigint;
  baseAddr: bigint;
  semaAddr: bigint;
}

export interface UsdtTarget {
  note: UsdtNote;
  /** Virtual address of the probe site (after the .stapsdt.base adjustment). */
  absIp: bigint;
  /** File offset of the probe site: what the uprobe is placed at. */
  relIp: bigint;
  /** File offset of the semaphore (reference counter), 0 for none. */
  semaOff: bigint;
}

function cstr(b: Uint8Array, start: number, end: number): { s: string; next: number } | null {
  const z = b.indexOf(0, start);
  if (z < 0 || z >= end) return null;
  return { s: Buffer.from(b.buffer, b.byteOffset + start, z - start).toString('latin1'), next: z + 1 };
}

/** Every stapsdt note of `elf` (libbpf's parse_usdt_note() rules; a malformed note is an ObjectFormatError). */
export function usdtNotes(elf: ElfFile): UsdtNote[] {
  const sec = elf.sections.find((s) => s.name === '.note.stapsdt');
  if (!sec) throw new ObjectFormatError(`${elf.path} has no USDT notes section (.note.stapsdt): it defines no USDT probes`, { path: elf.path });
  if (sec.type !== SHT_NOTE) throw new ObjectFormatError(`${elf.path}: .note.stapsdt is not a SHT_NOTE section`, { path: elf.path });
  const b = elf.sectionBytes(sec);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const le = elf.littleEndian;
  const asz = elf.is64 ? 8 : 4;
  const notes: UsdtNote[] = [];
  const bad = (why: string, off: number) => new ObjectFormatError(`${elf.path}: bad USDT note at offset ${off} of .note.stapsdt: ${why}`, { path: elf.path, offset: off });
  let off = 0;
  const align4 = (n: number) => (n + 3) & ~3;
  while (off + 12 <= b.byteLength) {
    const namesz = dv.getUint32(off, le);
    const descsz = dv.getUint32(off + 4, le);
    const type = dv.getUint32(off + 8, le);
    const nameOff = off + 12;
    const descOff = nameOff + align4(namesz);
    const next = descOff + align4(descsz);
    if (next > b.byteLength) throw bad('truncated', off);
    const noteName = Buffer.from(b.buffer, b.byteOffset + nameOff, Math.max(0, namesz - 1)).toString('latin1');
    if (noteName !== USDT_NOTE_NAME || type !== USDT_NOTE_TYPE) throw bad(`note '${noteName}' type ${type} is not a '${USDT_NOTE_NAME}' note of type ${USDT_NOTE_TYPE}`, off);
    if (descsz < 3 * asz + 3) throw bad('description too short', off);
    const addr = (i: number) => (elf.is64 ? dv.getBigUint64(descOff + i * 8, le) : BigInt(dv.getUint32(descOff + i * 4, le)));
    const end = descOff + descsz;
    const provider = cstr(b, descOff + 3 * asz, end);
    if (!provider) throw bad('unterminated provider', off);
    const name = cstr(b, provider.next, end);
    if (!name || !name.s) throw bad('missing or empty name', off);
    if (name.next >= end) throw bad('missing argument spec', off);
    const args = cstr(b, name.next, end)?.s ?? Buffer.from(b.buffer, b.byteOffset + name.next, end - name.next).toString('latin1');
    notes.push({
      provider: provider.s, name: name.s, args: args === '' || args.startsWith(':') ? '' : args,
      locAddr: addr(0), baseAddr: addr(1), semaAddr: addr(2),
    });
    off = next;
  }
  return notes;
}

function loadSegmentOf(elf: ElfFile, vaddr: bigint): ElfSegment | undefined {
  return elf.segments.find((p) => p.type === PT_LOAD && vaddr >= p.vaddr && vaddr < p.vaddr + p.memsz);
}

/**
 * The sites of USDT probe `provider:name` in `elf` (libbpf's collect_usdt_targets() with BPF
 * cookies available, so shared libraries need no pid). `semaphores`: whether the kernel
 * counts uprobe references (else a probe with a semaphore is refused, as libbpf does).
 */
export function usdtTargets(elf: ElfFile, provider: string, name: string, semaphores: boolean): UsdtTarget[] {
  if (elf.type !== ET_EXEC && elf.type !== ET_DYN) throw new ObjectFormatError(`${elf.path}: USDT probes live in executables and shared libraries (ELF type ${elf.type})`, { path: elf.path });
  const base = elf.sections.find((s) => s.name === '.stapsdt.base')?.addr ?? 0n;
  const out: UsdtTarget[] = [];
  for (const note of usdtNotes(elf)) {
    if (note.provider !== provider || note.name !== name) continue;
    const absIp = base ? note.locAddr + base - note.baseAddr : note.locAddr;
    const seg = loadSegmentOf(elf, absIp);
    const where = `'${provider}:${name}' in ${elf.path} at 0x${absIp.toString(16)}`;
    if (!seg) throw new ObjectFormatError(`USDT ${where} is in no loadable segment`, { path: elf.path });
    if (!(seg.flags & PF_X)) throw new ObjectFormatError(`USDT ${where} is in a segment that is not executable`, { path: elf.path });
    let semaOff = 0n;
    if (note.semaAddr) {
      if (!semaphores) {
        throw new NotSupportedError(`USDT ${where} has a semaphore, and the kernel does not count uprobe references (no /sys/bus/event_source/devices/uprobe/format/ref_ctr_offset; Linux 4.20+)`,
          { feature: 'uprobe ref_ctr_offset' });
      }
      const sseg = loadSegmentOf(elf, note.semaAddr);
      if (!sseg || sseg.flags & PF_X) throw new ObjectFormatError(`the semaphore of USDT ${where} (0x${note.semaAddr.toString(16)}) is not in a writable data segment`, { path: elf.path });
      semaOff = note.semaAddr - sseg.vaddr + sseg.offset;
    }
    out.push({ note, absIp, relIp: absIp - seg.vaddr + seg.offset, semaOff });
  }
  return out;
}
