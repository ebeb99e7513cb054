// What `corebpf gen` writes a module for, read from an opened object (libbpf's view after
// bpf_object__open(), src/object-spec.ts) and its BTF: programs, maps with the TS types
// their keys and values decode to once loaded, global-variable sections and record types.
import type { Btf } from '../btf/reader.js';
import { BTF_KIND_DATASEC, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_UNION, BTF_KIND_VAR, type BtfKind } from '../btf/kinds.js';
import { CorebpfError } from '../errors.js';
import type { ObjectSpec } from '../object-spec.js';
import * as U from '../host/generated/uapi.js';
import { isFdValueMapType, isPerCpuMapType, mapTypeName } from '../host/map.js';
import { pascalCase, TsTypes } from './ts-types.js';

/**
 * Map types libbpf creates without BTF key/value types (bpf_object__create_map() in
 * libbpf.c zeroes btf_fd and both type ids for them): the host then reads their keys and
 * values as raw bytes (fd-valued ones as ids). test/gen.test.ts checks this against maps
 * loaded into the kernel.
 */
const CREATED_WITHOUT_BTF = new Set<number>([
  U.BPF_MAP_TYPE_PERF_EVENT_ARRAY, U.BPF_MAP_TYPE_CGROUP_ARRAY, U.BPF_MAP_TYPE_STACK_TRACE,
  U.BPF_MAP_TYPE_ARRAY_OF_MAPS, U.BPF_MAP_TYPE_HASH_OF_MAPS, U.BPF_MAP_TYPE_DEVMAP, U.BPF_MAP_TYPE_DEVMAP_HASH,
  U.BPF_MAP_TYPE_CPUMAP, U.BPF_MAP_TYPE_XSKMAP, U.BPF_MAP_TYPE_SOCKMAP, U.BPF_MAP_TYPE_SOCKHASH,
  U.BPF_MAP_TYPE_QUEUE, U.BPF_MAP_TYPE_STACK, U.BPF_MAP_TYPE_ARENA, U.BPF_MAP_TYPE_STRUCT_OPS,
]);

export interface GenMap {
  name: string;
  type: number;
  typeName: string;
  key: string;
  value: string;
  /** values decoded through BTF once loaded (else raw bytes, or ids for fd maps) */
  btf: boolean;
}

export interface GenGlobal {
  name: string;
  type: string;
  cType: string;
}

export interface GenSection {
  /** '.rodata', '.data.custom', ... */
  section: string;
  /** 'rodata', 'data_custom' */
  prop: string;
  /** interface name */
  iface: string;
  /** .rodata*: fixed once loaded */
  readOnlyAfterLoad: boolean;
  kind: 'rodata' | 'data' | 'bss';
  vars: GenGlobal[];
}

export interface GenRecord {
  /** the name as given (--type), what BpfObject.decoderFor() takes */
  given: string;
  tsType: string;
}

export interface GenModel {
  base: string;
  programs: string[];
  maps: GenMap[];
  sections: GenSection[];
  records: GenRecord[];
  types: TsTypes;
}

/** The BTF type `decoderFor(name)` decodes records as (the same lookup). */
export function findRecordType(btf: Btf, typeName: string): number {
  const m = /^(struct|union)\s+(.+)$/.exec(typeName.trim());
  const kinds: BtfKind[] = m ? [m[1] === 'union' ? BTF_KIND_UNION : BTF_KIND_STRUCT] : [BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_TYPEDEF];
  const name = m ? m[2]! : typeName.trim();
  for (const k of kinds) {
    const t = btf.findByName(name, k);
    if (t) return t.id;
  }
  throw new CorebpfError(`the object's BTF has no struct, union or typedef '${typeName}' (--type)`, { type: typeName });
}

/** identifier for a section's property: '.rodata.cfg' -> 'rodata_cfg' */
function sectionProp(section: string): string {
  const s = section.replace(/^\./, '').replace(/[^A-Za-z0-9_$]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

export function buildModel(spec: ObjectSpec, btf: Btf | null, base: string, recordTypes: readonly string[]): GenModel {
  const reserved = ['Maps', 'Programs', 'Records', 'OpenOptions', 'RingbufName', 'PerfbufName', ''].map((s) => base + s);
  const sectionNames: string[] = [];
  for (const m of spec.maps) {
    if (!m.internal || !btf || !m.btfValueTypeId) continue;
    const t = btf.typeById(m.btfValueTypeId);
    if (t.kind === BTF_KIND_DATASEC) sectionNames.push(t.name);
  }
  for (const s of sectionNames) reserved.push(base + pascalCase(s));
  if (!btf) throw new CorebpfError(`object '${spec.object}' has no BTF: corebpf gen types maps, globals and records from it (compile with clang -g)`);
  const types = new TsTypes(btf, reserved);

  const records: GenRecord[] = [];
  for (const given of recordTypes) {
    if (records.some((r) => r.given === given)) continue;
    records.push({ given, tsType: types.typeOf(findRecordType(btf, given)) });
  }

  const maps: GenMap[] = [];
  for (const m of spec.maps) {
    if (m.internal) continue;
    const withBtf = !CREATED_WITHOUT_BTF.has(m.type);
    const key = withBtf && m.btfKeyTypeId ? types.typeOf(m.btfKeyTypeId) : 'Buffer';
    let value = withBtf && m.btfValueTypeId ? types.typeOf(m.btfValueTypeId)
      : isFdValueMapType(m.type) && m.valueSize === 4 ? 'number' : 'Buffer';
    if (isPerCpuMapType(m.type)) value = /^[A-Za-z0-9_]+$/.test(value) ? `${value}[]` : `Array<${value}>`;
    maps.push({ name: m.name, type: m.type, typeName: mapTypeName(m.type), key, value, btf: withBtf && m.btfValueTypeId !== 0 });
  }

  const sections: GenSection[] = [];
  for (const m of spec.maps) {
    if (!m.internal || !m.btfValueTypeId) continue;
    const t = btf.typeById(m.btfValueTypeId);
    if (t.kind !== BTF_KIND_DATASEC) continue;
    const kind = t.name === '.rodata' || t.name.startsWith('.rodata.') ? 'rodata'
      : t.name === '.data' || t.name.startsWith('.data.') ? 'data'
        : t.name === '.bss' || t.name.startsWith('.bss.') ? 'bss' : null;
    if (!kind) continue; // .kconfig, .ksyms: set by libbpf, not by the user
    const seen = new Map<string, number>();
    const vars: GenGlobal[] = [];
    for (const v of [...t.vars].sort((a, b) => a.offset - b.offset)) {
      const vt = btf.typeById(v.type);
      if (vt.kind !== BTF_KIND_VAR) continue;
      seen.set(vt.name, (seen.get(vt.name) ?? 0) + 1);
      vars.push({ name: vt.name, type: types.typeOf(vt.type), cType: cTypeName(btf, vt.type) });
    }
    sections.push({
      section: t.name, prop: sectionProp(t.name), iface: base + pascalCase(t.name), readOnlyAfterLoad: kind === 'rodata', kind,
      // a name twice in one section is ambiguous for setGlobal(): left out
      vars: vars.filter((v) => seen.get(v.name) === 1),
    });
  }
  return { base, programs: spec.programs.map((p) => p.name), maps, sections, records, types };
}

/** A short C spelling of a type for doc comments ("u32", "struct pair", "char[8]"). */
function cTypeName(btf: Btf, id: number, depth = 0): string {
  const t = btf.typeById(id);
  if (depth > 8) return '...';
  switch (t.kindName) {
    case 'CONST': return `const ${cTypeName(btf, t.type, depth + 1)}`;
    case 'VOLATILE': return `volatile ${cTypeName(btf, t.type, depth + 1)}`;
    case 'ARRAY': return `${cTypeName(btf, t.elemType, depth + 1)}[${t.nelems}]`;
    case 'PTR': return `${cTypeName(btf, t.type, depth + 1)} *`;
    case 'STRUCT': return `struct ${t.name || '(anon)'}`;
    case 'UNION': return `union ${t.name || '(anon)'}`;
    case 'ENUM': case 'ENUM64': return `enum ${t.name || '(anon)'}`;
    case 'UNKN': return 'void';
    default: return t.name || t.kindName.toLowerCase();
  }
}
