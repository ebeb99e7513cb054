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
 * libbpf stops reading) is kept whole. A text's lines are indexed by option once (a few texts
 * are kept: asked on every load, and by check for every object × kernel). */
interface ConfigIndex {
  text: string;
  /** libbpf stops at a NUL: such a text is given whole */
  nul: boolean;
  lines: string[];
  /** the lines kept whatever the externs */
  always: number[];
  /** the lines of each option, by its name */
  byName: Map<string, number[]>;
}
const configIndexes: ConfigIndex[] = [];
const INDEXED_CONFIGS = 4;

function configIndex(text: string): ConfigIndex {
  const have = configIndexes.find((e) => e.text === text);
  if (have) return have;
  const ix: ConfigIndex = { text, nul: text.includes('\0'), lines: [], always: [], byName: new Map() };
  if (!ix.nul) {
    ix.lines = text.split('\n');
    ix.lines.forEach((l, i) => {
      if (l.length >= 4000) ix.always.push(i);
      else if (l.startsWith('CONFIG_')) {
        const eq = l.indexOf('=');
        if (eq < 0) ix.always.push(i);
        else {
          const name = l.slice(0, eq);
          const at = ix.byName.get(name);
          if (at) at.push(i);
          else ix.byName.set(name, [i]);
        }
      }
    });
  }
  configIndexes.push(ix);
  if (configIndexes.length > INDEXED_CONFIGS) configIndexes.shift();
  return ix;
}

export function configFor(text: string, names: readonly string[]): string {
  const ix = configIndex(text);
  if (ix.nul) return text;
  const kept = [...ix.always];
  for (const name of new Set(names)) kept.push(...(ix.byName.get(name) ?? []));
  // none of them there: the text as it is (libbpf then says which it misses, as before)
  if (!kept.length) return text;
  kept.sort((a, b) => a - b);
  return `${kept.map((i) => ix.lines[i]).join('\n')}\n`;
}
