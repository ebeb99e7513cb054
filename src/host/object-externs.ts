// Which host facts an object's externs need, read from its own BTF without libbpf: the
// CONFIG_* .kconfig externs (libbpf then reads the kernel config) and the typeless __ksym
// externs (libbpf then reads /proc/kallsyms). Cheap: one section header walk and one BTF
// parse of the object, no worker round trip.
import { parseBtf } from '../btf/reader.js';
import { BTF_KIND_DATASEC } from '../btf/kinds.js';
import { elfSection } from '../btf/raw.js';
import { knownObject } from '../object-bytes.js';

export interface ObjectExterns {
  /** CONFIG_* externs of .kconfig (LINUX_* ones are libbpf's own) */
  kconfig: string[];
  /** __ksym variables without a BTF type (`extern const void sym __ksym`) */
  typelessKsyms: string[];
}

/** The externs that need host facts; none when the object has no (readable) BTF. Read once
 * per object (src/object-bytes.ts); the lists are shared, not to be changed. */
export function objectExterns(object: Uint8Array): ObjectExterns {
  const k = knownObject(object);
  let ext = k.derived.get('externs') as ObjectExterns | undefined;
  if (!ext) k.derived.set('externs', ext = Object.freeze(readExterns(k.bytes)));
  return ext;
}

function readExterns(object: Uint8Array): ObjectExterns {
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
