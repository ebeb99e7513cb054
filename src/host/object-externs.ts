// Which host facts an object's externs need, read from its own BTF without libbpf: the
// CONFIG_* .kconfig externs (libbpf then reads the kernel config) and the typeless __ksym
// externs (libbpf then reads /proc/kallsyms). Cheap: one section header walk and one BTF
// parse of the object, no worker round trip.
import { parseBtf } from '../btf/reader.js';
import { BTF_KIND_DATASEC } from '../btf/kinds.js';

export interface ObjectExterns {
  /** CONFIG_* externs of .kconfig (LINUX_* ones are libbpf's own) */
  kconfig: string[];
  /** __ksym variables without a BTF type (`extern const void sym __ksym`) */
  typelessKsyms: string[];
}

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

/** The externs that need host facts; none when the object has no (readable) BTF. */
export function objectExterns(object: Uint8Array): ObjectExterns {
  const out: ObjectExterns = { kconfig: [], typelessKsyms: [] };
  const raw = elfSection(object, '.BTF');
  if (!raw) return out;
  let btf;
  try {
    btf = parseBtf(raw);
  } catch {
    return out; // libbpf will say what is wrong with it
  }
  for (const sec of btf.findAllByName('.kconfig', BTF_KIND_DATASEC)) {
    if (sec.kind !== BTF_KIND_DATASEC) continue;
    for (const v of sec.vars) {
      const name = btf.typeById(v.type).name;
      if (name.startsWith('CONFIG_')) out.kconfig.push(name);
    }
  }
  for (const sec of btf.findAllByName('.ksyms', BTF_KIND_DATASEC)) {
    if (sec.kind !== BTF_KIND_DATASEC) continue;
    for (const v of sec.vars) {
      const t = btf.typeById(v.type);
      if (t.kindName === 'VAR' && btf.resolveType(t.id) === 0) out.typelessKsyms.push(t.name);
    }
  }
  return out;
}
