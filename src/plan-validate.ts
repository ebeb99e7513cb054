// A load plan is untrusted input: it may come from another machine, a file anyone could
// have written, or a network peer, and replaying it drives bpf() as root. Before the host
// allocates anything from it, every field is checked here for type, range, index and
// size consistency (with the plan's own BTF), and the first problem is reported as an
// ObjectFormatError naming the field (`details.field`, e.g. "maps[2].keySize").
import { parseBtf, type Btf } from './btf/reader.js';
import { ObjectFormatError } from './errors.js';
import { BPF_MAP_TYPE_STRUCT_OPS, BPF_PROG_TYPE_STRUCT_OPS } from './host/generated/uapi.js';
import type { LoadPlan, PlanSources } from './plan.js';

/** Limits on what a plan may ask for (all far above what libbpf or the kernel accept). */
export const PLAN_LIMITS = {
  /** objects with more maps or programs than this are not libbpf objects */
  maps: 4096,
  programs: 4096,
  relocations: 1 << 20,
  /** BPF_COMPLEXITY_LIMIT_INSNS: the kernel loads no longer program */
  insns: 1_000_000,
  /** the kernel's BTF_MAX_SIZE */
  btfBytes: 16 << 20,
  /** longer than any key the kernel accepts (hash keys live on the BPF stack: 512) */
  keySize: 1 << 16,
  /** above KMALLOC_MAX_SIZE on every architecture we target; a value the host would
   * have to allocate (lookups, initial contents) is never larger */
  valueSize: 1 << 28,
  /** total bytes of initial map contents */
  initialBytes: 1 << 30,
  /** the kernel's MAX_FUNCINFO_REC_SIZE / MAX_LINEINFO_REC_SIZE */
  infoRecSize: 252,
  string: 4096,
} as const;

const U32_MAX = 0xffffffff;
const KINDS = new Set([
  'field_byte_offset', 'field_byte_size', 'field_exists', 'field_signed', 'field_lshift_u64', 'field_rshift_u64',
  'type_id_local', 'type_id_target', 'type_exists', 'type_size', 'enumval_exists', 'enumval_value', 'type_matches',
]);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const SHA256 = /^[0-9a-f]{64}$/;

function bad(field: string, what: string, got?: unknown): never {
  const shown = got === undefined ? '' : `, got ${describe(got)}`;
  throw new ObjectFormatError(`invalid load plan: ${field}: ${what}${shown}`, { field });
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function obj(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(field, 'expected an object', v);
  return v as Record<string, unknown>;
}

function arr(v: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(v)) bad(field, 'expected an array', v);
  if (v.length > max) bad(field, `more than ${max} entries (${v.length})`);
  return v;
}

function str(v: unknown, field: string, max: number = PLAN_LIMITS.string): string {
  if (typeof v !== 'string') bad(field, 'expected a string', v);
  if (v.length > max) bad(field, `longer than ${max} characters (${v.length})`);
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') bad(field, 'expected true or false', v);
  return v;
}

function int(v: unknown, field: string, min = 0, max = U32_MAX): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(field, `expected an integer ${min}..${max}`, v);
  return v;
}

function index(v: unknown, field: string, count: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= count) {
    bad(field, `expected an index into ${what} (0..${count - 1})`, v);
  }
  return v;
}

/** Decoded length of a base64 field, checked strictly (Buffer.from ignores junk). */
function b64(v: unknown, field: string, maxBytes: number): number {
  const s = str(v, field, Math.ceil(maxBytes / 3) * 4 + 4);
  if (s.length % 4 !== 0 || !BASE64.test(s)) bad(field, 'expected base64 text', v);
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const n = (s.length / 4) * 3 - pad;
  if (n > maxBytes) bad(field, `more than ${maxBytes} bytes (${n})`);
  return n;
}

function u64Text(v: unknown, field: string): void {
  const s = str(v, field, 20);
  if (!/^\d{1,20}$/.test(s) || BigInt(s) > 0xffffffffffffffffn) bad(field, 'expected a u64 as a decimal string', v);
}

/**
 * Check that `v` is a well-formed load plan and return it (typed). Throws
 * ObjectFormatError naming the first bad field. Format and version are checked by the
 * caller (parsePlan) so that their messages stay specific.
 */
export function validatePlan(v: unknown): LoadPlan {
  const p = obj(v, 'plan');
  str(p.object, 'object');
  const k = obj(p.kernel, 'kernel');
  str(k.release, 'kernel.release');
  str(k.version, 'kernel.version');
  str(k.machine, 'kernel.machine');
  const page = int(k.pageSize, 'kernel.pageSize', 1, 1 << 20);
  if ((page & (page - 1)) !== 0) bad('kernel.pageSize', 'expected a power of two', page);
  if (p.byteOrder !== 'little' && p.byteOrder !== 'big') bad('byteOrder', 'expected "little" or "big"', p.byteOrder);
  if (p.sources !== undefined) {
    const s = obj(p.sources, 'sources');
    for (const key of ['object', 'btf'] as const) {
      if (typeof s[key] !== 'string' || !SHA256.test(s[key] as string)) bad(`sources.${key}`, 'expected a sha256 in lowercase hex', s[key]);
    }
  }

  let btf: Btf | null = null;
  if (p.btf !== null) {
    b64(p.btf, 'btf', PLAN_LIMITS.btfBytes);
    try {
      btf = parseBtf(Buffer.from(p.btf as string, 'base64'));
    } catch (e) {
      throw new ObjectFormatError(`invalid load plan: btf: ${(e as Error).message}`, { field: 'btf' }, { cause: e });
    }
    if (btf.endianness !== p.byteOrder) bad('btf', `the BTF is ${btf.endianness}-endian but byteOrder is ${String(p.byteOrder)}`);
  }

  const maps = arr(p.maps, 'maps', PLAN_LIMITS.maps);
  const progs = arr(p.programs, 'programs', PLAN_LIMITS.programs);
  const nmaps = maps.length;
  const nprogs = progs.length;
  let initialBytes = 0;
  maps.forEach((mv, i) => {
    const f = `maps[${i}]`;
    const m = obj(mv, f);
    str(m.name, `${f}.name`);
    int(m.type, `${f}.type`);
    const keySize = int(m.keySize, `${f}.keySize`, 0, PLAN_LIMITS.keySize);
    const valueSize = int(m.valueSize, `${f}.valueSize`, 0, PLAN_LIMITS.valueSize);
    int(m.maxEntries, `${f}.maxEntries`);
    int(m.flags, `${f}.flags`);
    int(m.numaNode, `${f}.numaNode`);
    u64Text(m.mapExtra, `${f}.mapExtra`);
    int(m.ifindex, `${f}.ifindex`);
    const withBtf = bool(m.btf, `${f}.btf`);
    const keyId = int(m.btfKeyTypeId, `${f}.btfKeyTypeId`);
    const valueId = int(m.btfValueTypeId, `${f}.btfValueTypeId`);
    int(m.btfVmlinuxValueTypeId, `${f}.btfVmlinuxValueTypeId`);
    if (m.innerMap !== null) {
      const inner = index(m.innerMap, `${f}.innerMap`, nmaps, 'maps');
      if (inner === i) bad(`${f}.innerMap`, 'a map cannot be its own inner map');
      const t = obj(maps[inner], `maps[${inner}]`);
      if (t.innerMap !== null) bad(`${f}.innerMap`, `inner-map template maps[${inner}] has an inner map itself`);
    }
    bool(m.innerTemplate, `${f}.innerTemplate`);
    bool(m.internal, `${f}.internal`);
    bool(m.freeze, `${f}.freeze`);
    if (m.pinPath !== null) {
      const pin = str(m.pinPath, `${f}.pinPath`);
      if (!pin.startsWith('/') || pin.includes('\0')) bad(`${f}.pinPath`, 'expected an absolute path', pin);
    }
    if (withBtf && btf) {
      for (const [id, size, name] of [[keyId, keySize, 'btfKeyTypeId'], [valueId, valueSize, 'btfValueTypeId']] as const) {
        if (id === 0) continue;
        if (id > btf.lastId) bad(`${f}.${name}`, `type id ${id} is not in the plan's BTF (last id ${btf.lastId})`);
        let s: number;
        try {
          s = btf.resolveSize(id);
        } catch (e) {
          throw new ObjectFormatError(`invalid load plan: ${f}.${name}: type [${id}] has no size: ${(e as Error).message}`, { field: `${f}.${name}` }, { cause: e });
        }
        const want = name === 'btfKeyTypeId' ? 'keySize' : 'valueSize';
        if (s !== size) bad(`${f}.${want}`, `${size} bytes, but BTF type [${id}] (${name}) is ${s} bytes`);
      }
    } else if (withBtf && !btf) {
      bad(`${f}.btf`, 'the map is created with the plan\'s BTF but the plan has none');
    }
    arr(m.initial, `${f}.initial`, Math.max(1, PLAN_LIMITS.initialBytes / Math.max(1, keySize))).forEach((iv, j) => {
      const g = `${f}.initial[${j}]`;
      const init = obj(iv, g);
      const kn = b64(init.key, `${g}.key`, keySize);
      if (kn !== keySize) bad(`${g}.key`, `${kn} bytes for a ${keySize}-byte key`);
      const refs = [init.value, init.program, init.map].filter((x) => x !== undefined).length;
      if (refs > 1) bad(g, 'at most one of value, program, map');
      if (init.value !== undefined) {
        const vn = b64(init.value, `${g}.value`, valueSize);
        if (vn !== valueSize) bad(`${g}.value`, `${vn} bytes for a ${valueSize}-byte value`);
      }
      if (init.program !== undefined) index(init.program, `${g}.program`, nprogs, 'programs');
      if (init.map !== undefined) {
        const mi = index(init.map, `${g}.map`, nmaps, 'maps');
        if (mi === i) bad(`${g}.map`, 'a map cannot hold itself');
      }
      if (init.flags !== undefined) int(init.flags, `${g}.flags`);
      initialBytes += keySize + valueSize;
      if (initialBytes > PLAN_LIMITS.initialBytes) bad(`${g}`, `initial map contents exceed ${PLAN_LIMITS.initialBytes} bytes`);
    });
    if (m.structOps !== undefined) structOps(m.structOps, f, m.type, keySize, valueSize, progs);
  });

  progs.forEach((pv, i) => {
    const f = `programs[${i}]`;
    const pr = obj(pv, f);
    str(pr.name, `${f}.name`);
    str(pr.section, `${f}.section`);
    int(pr.type, `${f}.type`);
    int(pr.expectedAttachType, `${f}.expectedAttachType`);
    int(pr.attachBtfId, `${f}.attachBtfId`);
    str(pr.license, `${f}.license`, 128);
    int(pr.kernVersion, `${f}.kernVersion`);
    int(pr.flags, `${f}.flags`);
    int(pr.ifindex, `${f}.ifindex`);
    if (bool(pr.btf, `${f}.btf`) && !btf) bad(`${f}.btf`, 'the program is loaded with the plan\'s BTF but the plan has none');
    const nbytes = b64(pr.insns, `${f}.insns`, PLAN_LIMITS.insns * 8);
    if (nbytes === 0 || nbytes % 8 !== 0) bad(`${f}.insns`, `expected a whole number of 8-byte instructions (${nbytes} bytes)`);
    const ninsns = nbytes / 8;
    arr(pr.mapRefs, `${f}.mapRefs`, ninsns).forEach((rv, j) => {
      const r = obj(rv, `${f}.mapRefs[${j}]`);
      int(r.insn, `${f}.mapRefs[${j}].insn`, 0, ninsns - 2);
      index(r.map, `${f}.mapRefs[${j}].map`, nmaps, 'maps');
    });
    for (const key of ['funcInfo', 'lineInfo'] as const) {
      if (pr[key] === null) continue;
      const b = obj(pr[key], `${f}.${key}`);
      const rec = int(b.recSize, `${f}.${key}.recSize`, 1, PLAN_LIMITS.infoRecSize);
      const n = b64(b.data, `${f}.${key}.data`, PLAN_LIMITS.insns * rec);
      if (n % rec !== 0) bad(`${f}.${key}.data`, `${n} bytes is not a whole number of ${rec}-byte records`);
    }
    arr(pr.boundMaps, `${f}.boundMaps`, nmaps).forEach((m, j) => index(m, `${f}.boundMaps[${j}]`, nmaps, 'maps'));
    if (pr.attachProgram !== undefined) int(pr.attachProgram, `${f}.attachProgram`, 0, 65535);
    if (pr.moduleBtf !== undefined) {
      // kernel modules whose BTF the program refers to (kfuncs, ksyms, attach target)
      const mb = obj(pr.moduleBtf, `${f}.moduleBtf`);
      if (mb.attach !== undefined) str(mb.attach, `${f}.moduleBtf.attach`);
      arr(mb.insns, `${f}.moduleBtf.insns`, ninsns).forEach((rv, j) => {
        const r = obj(rv, `${f}.moduleBtf.insns[${j}]`);
        int(r.insn, `${f}.moduleBtf.insns[${j}].insn`, 0, ninsns - 1);
        str(r.module, `${f}.moduleBtf.insns[${j}].module`);
      });
      arr(mb.fdArray, `${f}.moduleBtf.fdArray`, 65536).forEach((n, j) => {
        if (n !== null) str(n, `${f}.moduleBtf.fdArray[${j}]`);
      });
    }
  });

  arr(p.relocations, 'relocations', PLAN_LIMITS.relocations).forEach((rv, i) => {
    const f = `relocations[${i}]`;
    const r = obj(rv, f);
    str(r.program, `${f}.program`);
    if (!KINDS.has(r.kind as string)) bad(`${f}.kind`, 'expected a CO-RE relocation kind', r.kind);
    if (r.status !== 'resolved' && r.status !== 'failed') bad(`${f}.status`, 'expected "resolved" or "failed"', r.status);
    if (r.insn !== null) int(r.insn, `${f}.insn`);
    int(r.relo, `${f}.relo`);
    for (const key of ['type', 'access', 'rawAccess'] as const) str(r[key], `${f}.${key}`);
    for (const key of ['local', 'target'] as const) if (r[key] !== null) str(r[key], `${f}.${key}`, 40);
    if (r.reason !== undefined) str(r.reason, `${f}.reason`);
  });
  return p as unknown as LoadPlan;
}

/** The plan's recorded sources, or null (plans from before they were recorded, or hand-made). */
export function planSources(plan: LoadPlan): PlanSources | null {
  return plan.sources ?? null;
}

/** What `fromPlan(plan, { expect })` requires of a plan: the sha256 (hex) of its object
 * and of its target BTF, or the bytes themselves (hashed here). */
export interface PlanExpectation {
  object?: string | Uint8Array;
  btf?: string | Uint8Array;
}

/** Throw unless the plan records the expected object and target BTF. */
export function checkPlanSources(plan: LoadPlan, expect: PlanExpectation, hash: (b: Uint8Array) => string): void {
  const src = planSources(plan);
  for (const key of ['object', 'btf'] as const) {
    const want = expect[key];
    if (want === undefined) continue;
    const hex = typeof want === 'string' ? want.toLowerCase() : hash(want);
    if (!src) {
      throw new ObjectFormatError(
        `load plan '${plan.object}' does not record the sha256 of its ${key === 'object' ? 'object' : 'target BTF'}, so it cannot be checked; relocate the object again with this corebpf`,
        { field: `sources.${key}`, expected: hex });
    }
    if (src[key] !== hex) {
      throw new ObjectFormatError(
        `load plan '${plan.object}' was made from ${key === 'object' ? 'another object' : 'another target BTF'} (sha256 ${src[key]}, expected ${hex}): refusing to load it`,
        { field: `sources.${key}`, expected: hex, actual: src[key] });
    }
  }
}


// A struct_ops map's registration value: the host writes program fds into it, so every
// slot must lie inside the value and name a struct_ops program.
function structOps(v: unknown, f: string, type: unknown, keySize: number, valueSize: number, progs: unknown[]): void {
  const g = `${f}.structOps`;
  if (type !== BPF_MAP_TYPE_STRUCT_OPS) bad(g, `only a struct_ops map (type ${BPF_MAP_TYPE_STRUCT_OPS}) has one`);
  if (keySize !== 4) bad(`${f}.keySize`, `a struct_ops map's key is 4 bytes, not ${keySize}`);
  const s = obj(v, g);
  const n = b64(s.value, `${g}.value`, valueSize);
  if (n !== valueSize) bad(`${g}.value`, `${n} bytes for a ${valueSize}-byte value`);
  const seen = new Set<number>();
  arr(s.programs, `${g}.programs`, Math.floor(valueSize / 8)).forEach((sv, k) => {
    const h = `${g}.programs[${k}]`;
    const slot = obj(sv, h);
    const off = int(slot.offset, `${h}.offset`, 0, valueSize - 8);
    if (off % 8 !== 0) bad(`${h}.offset`, 'a function pointer slot is 8-byte aligned', off);
    if (seen.has(off)) bad(`${h}.offset`, 'two programs in one slot', off);
    seen.add(off);
    const pi = index(slot.program, `${h}.program`, progs.length, 'programs');
    const pt = (progs[pi] as { type?: unknown } | null)?.type;
    if (pt !== BPF_PROG_TYPE_STRUCT_OPS) bad(`${h}.program`, `programs[${pi}] is not a struct_ops program`);
  });
}
