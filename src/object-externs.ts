// Which kernel facts an object's externs need, read from its own BTF without libbpf: the
// CONFIG_* .kconfig externs (libbpf then reads the kernel config) and the typeless __ksym
// externs (libbpf then reads /proc/kallsyms). Cheap: one section header walk and one BTF
// parse of the object, no worker round trip. Pure: the running kernel's files
// (src/host/kernel-env.ts) and a check kernel's (src/check/kernel-files.ts) are given to
// libbpf as the lines these externs read (configFor).
import { parseBtf } from './btf/reader.js';
import { BTF_KIND_DATASEC } from './btf/kinds.js';
import { elfSection } from './btf/raw.js';
import { knownObject } from './object-bytes.js';

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

/* A kernel config's lines libbpf reads for an object's externs: a kernel config is ~100 KB
 * (~8000 lines) that goes to the worker and into wasm memory with every relocation, and
 * libbpf only reads the lines of its externs. Kept: those lines, and every line libbpf would
 * refuse whatever the externs (CONFIG_ without '=', or longer than its PATH_MAX line buffer);
 * dropped: comments, blank lines and other options, which it skips. Text with a NUL (where
 * libbpf stops reading) is kept whole. Remembered per (text, externs): asked on every load,
 * and by check for every object × kernel (a few kernels in flight). */
const configLines: { text: string; key: string; lines: string }[] = [];
const REMEMBERED_CONFIGS = 32;
export function configFor(text: string, names: readonly string[]): string {
  const key = names.join(',');
  const have = configLines.find((e) => e.key === key && e.text === text);
  if (have) return have.lines;
  if (text.includes('\0')) return text;
  const want = new Set(names);
  const kept = text.split('\n').filter((l) => {
    if (l.length >= 4000) return true;
    if (!l.startsWith('CONFIG_')) return false;
    const eq = l.indexOf('=');
    return eq < 0 || want.has(l.slice(0, eq));
  });
  // none of them there: the text as it is (libbpf then says which it misses, as before)
  const lines = kept.length ? `${kept.join('\n')}\n` : text;
  configLines.push({ text, key, lines });
  if (configLines.length > REMEMBERED_CONFIGS) configLines.shift();
  return lines;
}
