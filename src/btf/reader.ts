// A dependency-free reader of raw BTF blobs (kernel `vmlinux` / module BTF, or the .BTF
// section of an object), little- or big-endian, optionally split on top of a base BTF. The
// blob's layout is checked up front (layout.ts); records are decoded when first asked for.
import { BtfFormatError } from './errors.js';
import { readLayout, type BtfEndianness } from './layout.js';
import {
  BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, BTF_KIND_ARRAY, BTF_KIND_CONST,
  BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FLOAT,
  BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_FWD, BTF_KIND_INT, BTF_KIND_NAMES, BTF_KIND_PTR,
  BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_TYPE_TAG, BTF_KIND_UNION,
  BTF_KIND_UNKN, BTF_KIND_VAR, BTF_KIND_VOLATILE, BTF_TYPE_SIZE,
  btfInfoKflag, btfInfoKind, btfInfoVlen,
  type BtfKind, type BtfKindName,
} from './kinds.js';
import type {
  BtfEnum, BtfEnum64, BtfEnumValue, BtfFuncLinkage, BtfHeader, BtfMember, BtfParam, BtfType, BtfVarLinkage,
  BtfVarSecinfo, BtfVoid,
} from './types.js';

export { BtfFormatError } from './errors.js';
export * from './kinds.js';
export type * from './types.js';
export type { BtfEndianness } from './layout.js';

/** Options of {@link parseBtf}. */
export interface BtfParseOptions {
  /** Base BTF of a split BTF blob (e.g. vmlinux for a module's .BTF). */
  base?: Btf;
}

/** Same limit as libbpf's MAX_RESOLVE_DEPTH. */
const MAX_RESOLVE_DEPTH = 32;

const VOID: BtfVoid = { id: 0, kind: BTF_KIND_UNKN, kindName: 'UNKN', name: '', nameOff: 0, vlen: 0, kflag: false };
const FUNC_LINKAGE: readonly BtfFuncLinkage[] = ['static', 'global', 'extern'];
const VAR_LINKAGE: readonly BtfVarLinkage[] = ['static', 'global', 'extern'];
const LONG_NAMES = new Set([
  'long', 'long int', 'int long', 'unsigned long', 'long unsigned', 'unsigned long int',
  'unsigned int long', 'long unsigned int', 'long int unsigned', 'int unsigned long',
  'int long unsigned',
]);

/** Parse a raw BTF blob. Throws BtfFormatError when it is truncated or corrupt. */
export function parseBtf(data: Uint8Array, options: BtfParseOptions = {}): Btf {
  return new Btf(data, options);
}

/** A parsed BTF blob (a kernel's `/sys/kernel/btf/vmlinux`, a module's, or an object's `.BTF`): its types by id and by name. Made by {@link parseBtf}. */
export class Btf {
  readonly header: BtfHeader;
  readonly endianness: BtfEndianness;
  /** The base BTF of a split BTF, else undefined. */
  readonly base: Btf | undefined;
  /** Id of this blob's first type: 1, or the base's lastId + 1 for split BTF. */
  readonly startId: number;
  /** Number of type records in this blob (not counting void, nor the base's types). */
  readonly typeCount: number;
  /** Highest valid type id. */
  readonly lastId: number;
  /** Offset of this blob's first string: 0, or the base's string end for split BTF. */
  readonly startStrOff: number;

  readonly #data: Uint8Array;
  readonly #view: DataView;
  readonly #le: boolean;
  readonly #strStart: number;    // absolute byte offset of the string section
  readonly #offsets: Uint32Array; // absolute byte offset of each type record
  readonly #cache: (BtfType | undefined)[];
  readonly #strCache = new Map<number, string>();
  readonly #decoder = new TextDecoder('utf-8', { fatal: false });
  #byName: NameIndex | undefined;
  #ptrSize: number | undefined;

  constructor(data: Uint8Array, options: BtfParseOptions = {}) {
    if (!(data instanceof Uint8Array)) throw new TypeError('BTF data must be a Uint8Array');
    this.#data = data;
    this.#view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const base = options.base;
    this.base = base;
    const l = readLayout(data, this.#view, base);
    this.header = l.header;
    this.#le = l.le;
    this.endianness = l.endianness;
    this.#strStart = l.strStart;
    this.startId = l.startId;
    this.startStrOff = l.startStrOff;
    this.#offsets = l.offsets;
    this.typeCount = l.offsets.length;
    this.lastId = l.lastId;
    this.#cache = new Array<BtfType | undefined>(this.typeCount);
  }

  /** Whether `id` is a valid type id here (0, the base's, or this blob's). */
  hasType(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id <= this.lastId;
  }

  /** The string at `offset` of the (split-continued) string section. */
  strAt(offset: number): string {
    if (offset < this.startStrOff) {
      if (!this.base) throw new RangeError(`string offset ${offset} out of range`);
      return this.base.strAt(offset);
    }
    const rel = offset - this.startStrOff;
    if (!Number.isInteger(rel) || rel >= this.header.strLen) {
      throw new RangeError(`string offset ${offset} is outside the BTF string section`);
    }
    let s = this.#strCache.get(rel);
    if (s === undefined) {
      const start = this.#strStart + rel;
      const end = this.#data.indexOf(0, start); // the section is NUL-terminated (checked)
      s = this.#decoder.decode(this.#data.subarray(start, end));
      this.#strCache.set(rel, s);
    }
    return s;
  }

  /** The type with this id (0 is void; ids of a split BTF's base are looked up there). */
  typeById(id: number): BtfType {
    if (id === 0) return VOID;
    if (!this.hasType(id)) throw new RangeError(`no BTF type [${id}] (valid ids: 0..${this.lastId})`);
    if (id < this.startId) return this.base!.typeById(id);
    const i = id - this.startId;
    return (this.#cache[i] ??= this.#decode(id, this.#offsets[i]!));
  }

  /** This blob's own types, in id order (not the base's). */
  *types(): IterableIterator<BtfType> {
    for (let id = this.startId; id <= this.lastId; id++) yield this.typeById(id);
  }

  /** Kind of a type without decoding it fully. */
  kindOf(id: number): BtfKind | typeof BTF_KIND_UNKN {
    if (id === 0) return BTF_KIND_UNKN;
    if (!this.hasType(id)) throw new RangeError(`no BTF type [${id}] (valid ids: 0..${this.lastId})`);
    if (id < this.startId) return this.base!.kindOf(id);
    return btfInfoKind(this.#view.getUint32(this.#offsets[id - this.startId]! + 4, this.#le)) as BtfKind;
  }

  /** All types (base first) with this name, optionally of one kind, in id order. */
  findAllByName(name: string, kind?: BtfKind | BtfKindName): BtfType[] {
    const want = typeof kind === 'string' ? BTF_KIND_NAMES.indexOf(kind) : kind;
    const out = this.base ? this.base.findAllByName(name, kind) : [];
    const index = this.#byName ??= this.#nameIndex();
    const bytes = NAME_ENCODER.encode(name);
    const h = fnv1a(bytes, 0, bytes.length);
    // ids of one hash sit in the probe sequence from its home slot in the order they went in
    for (let slot = h & index.mask, e; (e = index.slots[slot]!) !== 0; slot = (slot + 1) & index.mask) {
      const i = e - 1;
      if (index.hashes[i] !== h) continue;
      if (!this.#strIs(this.#view.getUint32(this.#offsets[i]!, this.#le), name, bytes)) continue; // a hash collision
      const id = this.startId + i;
      if (want === undefined || this.kindOf(id) === want) out.push(this.typeById(id));
    }
    return out;
  }

  // Names hashed from their bytes, not decoded: a kernel's ~130k names would otherwise be
  // decoded to strings once per parse, most never asked for (check parses every kernel). An
  // open-addressing table in two typed arrays, not a Map of arrays: no object per name for the
  // collector to trace (check builds one per kernel in each worker).
  #nameIndex(): NameIndex {
    const data = this.#data, n = this.typeCount;
    const hashes = new Uint32Array(n);
    let size = 16;
    while (size < n * 2) size *= 2;
    const slots = new Uint32Array(size), mask = size - 1;
    for (let i = 0; i < n; i++) {
      const nameOff = this.#view.getUint32(this.#offsets[i]!, this.#le);
      if (nameOff === 0) continue;
      let h: number;
      const start = this.#ownStrAt(nameOff);
      if (start >= 0) {
        // fnv1a up to the NUL, inline: a call to indexOf per name costs more than the hash
        h = 0x811c9dc5;
        for (let j = start, c; (c = data[j]!) !== 0; j++) h = Math.imul(h ^ c, 0x01000193);
        h >>>= 0;
      } else {
        const b = NAME_ENCODER.encode(this.strAt(nameOff)); // a split BTF naming a base string
        h = fnv1a(b, 0, b.length);
      }
      hashes[i] = h;
      let slot = h & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = i + 1;
    }
    return { hashes, slots, mask };
  }

  /**
   * The first enum (ENUM or ENUM64; lowest id, base first) with an enumerator of this name:
   * how a kernel's UAPI enums are found (enum bpf_func_id by BPF_FUNC_map_lookup_elem). The
   * records are scanned without decoding the thousands of other enums.
   */
  findEnumByEnumerator(name: string): BtfEnum | BtfEnum64 | undefined {
    const inBase = this.base?.findEnumByEnumerator(name);
    if (inBase) return inBase;
    const want = NAME_ENCODER.encode(name);
    const v = this.#view, le = this.#le;
    for (let i = 0; i < this.typeCount; i++) {
      const p = this.#offsets[i]!, info = v.getUint32(p + 4, le), kind = btfInfoKind(info);
      if (kind !== BTF_KIND_ENUM && kind !== BTF_KIND_ENUM64) continue;
      const stride = kind === BTF_KIND_ENUM ? 8 : 12, n = btfInfoVlen(info);
      for (let k = 0, e = p + BTF_TYPE_SIZE; k < n; k++, e += stride) {
        if (this.#strIs(v.getUint32(e, le), name, want)) return this.typeById(this.startId + i) as BtfEnum | BtfEnum64;
      }
    }
    return undefined;
  }

  /** Where the string at `offset` starts in this blob's bytes, or -1 when it is the base's. */
  #ownStrAt(offset: number): number {
    const rel = offset - this.startStrOff;
    return rel >= 0 && rel < this.header.strLen ? this.#strStart + rel : -1;
  }

  /**
   * Whether the string at `offset` is `name` (`bytes`, its UTF-8), compared in place: lookups
   * test many offsets and most are not the name, so decoding each would be garbage.
   */
  #strIs(offset: number, name: string, bytes: Uint8Array): boolean {
    const at = this.#ownStrAt(offset), data = this.#data;
    if (at < 0) return this.strAt(offset) === name; // a split BTF naming its base's string
    if (at + bytes.length >= data.length || data[at + bytes.length] !== 0) return false;
    for (let j = 0; j < bytes.length; j++) if (data[at + j] !== bytes[j]) return false;
    return true;
  }

  /** The first type (lowest id, base first) with this name, optionally of one kind. */
  findByName(name: string, kind?: BtfKind | BtfKindName): BtfType | undefined {
    return this.findAllByName(name, kind)[0];
  }

  /** Follow typedefs, modifiers (volatile, const, restrict, type tags) and VARs to a type id. */
  resolveType(id: number): number {
    let depth = 0;
    for (;;) {
      const t = this.typeById(id);
      switch (t.kind) {
        case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
        case BTF_KIND_TYPE_TAG: case BTF_KIND_VAR:
          id = t.type;
          break;
        default:
          return id;
      }
      if (++depth > MAX_RESOLVE_DEPTH) throw new BtfFormatError(`BTF type chain from [${t.id}] is too deep or loops`, { typeId: t.id });
    }
  }

  /**
   * Size in bytes of a type, following typedefs and modifiers, multiplying out arrays
   * (libbpf's btf__resolve_size). Throws BtfFormatError for types without a size
   * (void, FWD, FUNC, FUNC_PROTO, DECL_TAG) and for loops.
   */
  resolveSize(id: number): number {
    let mult = 1;
    let depth = 0;
    for (;;) {
      const t = this.typeById(id);
      let size: number | undefined;
      switch (t.kind) {
        case BTF_KIND_INT: case BTF_KIND_STRUCT: case BTF_KIND_UNION: case BTF_KIND_ENUM:
        case BTF_KIND_ENUM64: case BTF_KIND_DATASEC: case BTF_KIND_FLOAT:
          size = t.size;
          break;
        case BTF_KIND_PTR:
          size = this.pointerSize;
          break;
        case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
        case BTF_KIND_TYPE_TAG: case BTF_KIND_VAR:
          id = t.type;
          break;
        case BTF_KIND_ARRAY:
          mult *= t.nelems;
          id = t.elemType;
          break;
        default:
          throw new BtfFormatError(
            `BTF type [${t.id}] ${t.kindName}${t.name ? ` '${t.name}'` : ''} has no size`, { typeId: t.id });
      }
      if (size !== undefined) {
        const total = size * mult;
        if (!Number.isSafeInteger(total) || total > 0xffffffff) {
          throw new BtfFormatError(`BTF type size overflows (${size} x ${mult})`, { typeId: id });
        }
        return total;
      }
      if (++depth > MAX_RESOLVE_DEPTH) throw new BtfFormatError(`BTF type chain from [${t.id}] is too deep or loops`, { typeId: t.id });
    }
  }

  /**
   * Pointer size of the target, from the size of its `long` (as libbpf determines it);
   * 8 when the BTF has no `long` type.
   */
  get pointerSize(): number {
    return (this.#ptrSize ??= this.#longSize() ?? 8);
  }

  /** Size of the first INT named like `long` (base first), if any. */
  #longSize(): number | undefined {
    const fromBase = this.base === undefined ? undefined : this.base.#longSize();
    if (fromBase !== undefined) return fromBase;
    for (let i = 0; i < this.typeCount; i++) {
      const p = this.#offsets[i]!;
      if (btfInfoKind(this.#view.getUint32(p + 4, this.#le)) !== BTF_KIND_INT) continue;
      const size = this.#view.getUint32(p + 8, this.#le);
      if ((size === 4 || size === 8) && LONG_NAMES.has(this.strAt(this.#view.getUint32(p, this.#le)))) return size;
    }
    return undefined;
  }

  #decode(id: number, p: number): BtfType {
    const v = this.#view, le = this.#le;
    const u32 = (o: number): number => v.getUint32(o, le);
    const nameOff = u32(p), info = u32(p + 4), sizeOrType = u32(p + 8);
    const kind = btfInfoKind(info), vlen = btfInfoVlen(info), kflag = btfInfoKflag(info);
    const name = nameOff === 0 ? '' : this.strAt(nameOff);
    const q = p + BTF_TYPE_SIZE;
    const c = { id, name, nameOff, vlen, kflag };
    switch (kind) {
      case BTF_KIND_INT: {
        const enc = u32(q), encoding = (enc >>> 24) & 0x0f;
        return {
          ...c, kind, kindName: 'INT', size: sizeOrType, encoding,
          signed: (encoding & BTF_INT_SIGNED) !== 0, char: (encoding & BTF_INT_CHAR) !== 0,
          bool: (encoding & BTF_INT_BOOL) !== 0, bitOffset: (enc >>> 16) & 0xff, bits: enc & 0xff,
        };
      }
      case BTF_KIND_PTR: return { ...c, kind, kindName: 'PTR', type: sizeOrType };
      case BTF_KIND_ARRAY:
        return { ...c, kind, kindName: 'ARRAY', elemType: u32(q), indexType: u32(q + 4), nelems: u32(q + 8) };
      case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
        const members: BtfMember[] = new Array(vlen);
        for (let k = 0; k < vlen; k++) {
          const m = q + 12 * k, mName = u32(m), off = u32(m + 8);
          members[k] = {
            name: mName === 0 ? '' : this.strAt(mName), nameOff: mName, type: u32(m + 4),
            bitOffset: kflag ? off & 0xffffff : off, bitfieldSize: kflag ? off >>> 24 : 0,
          };
        }
        return kind === BTF_KIND_STRUCT
          ? { ...c, kind, kindName: 'STRUCT', size: sizeOrType, members }
          : { ...c, kind, kindName: 'UNION', size: sizeOrType, members };
      }
      case BTF_KIND_ENUM: {
        const values: BtfEnumValue<number>[] = new Array(vlen);
        for (let k = 0; k < vlen; k++) {
          const e = q + 8 * k, eName = u32(e);
          values[k] = { name: eName === 0 ? '' : this.strAt(eName), nameOff: eName, value: kflag ? v.getInt32(e + 4, le) : u32(e + 4) };
        }
        return { ...c, kind, kindName: 'ENUM', size: sizeOrType, signed: kflag, values };
      }
      case BTF_KIND_ENUM64: {
        const values: BtfEnumValue<bigint>[] = new Array(vlen);
        for (let k = 0; k < vlen; k++) {
          const e = q + 12 * k, eName = u32(e);
          const raw = (BigInt(u32(e + 8)) << 32n) | BigInt(u32(e + 4));
          values[k] = { name: eName === 0 ? '' : this.strAt(eName), nameOff: eName, value: kflag ? BigInt.asIntN(64, raw) : raw };
        }
        return { ...c, kind, kindName: 'ENUM64', size: sizeOrType, signed: kflag, values };
      }
      case BTF_KIND_FWD: return { ...c, kind, kindName: 'FWD', fwdKind: kflag ? 'union' : 'struct' };
      case BTF_KIND_TYPEDEF: return { ...c, kind, kindName: 'TYPEDEF', type: sizeOrType };
      case BTF_KIND_VOLATILE: return { ...c, kind, kindName: 'VOLATILE', type: sizeOrType };
      case BTF_KIND_CONST: return { ...c, kind, kindName: 'CONST', type: sizeOrType };
      case BTF_KIND_RESTRICT: return { ...c, kind, kindName: 'RESTRICT', type: sizeOrType };
      case BTF_KIND_TYPE_TAG: return { ...c, kind, kindName: 'TYPE_TAG', type: sizeOrType, attribute: kflag };
      case BTF_KIND_FUNC: {
        const linkage = FUNC_LINKAGE[vlen];
        if (!linkage) throw new BtfFormatError(`BTF type [${id}] FUNC has invalid linkage ${vlen}`, { offset: p + 4, typeId: id });
        return { ...c, kind, kindName: 'FUNC', type: sizeOrType, linkage };
      }
      case BTF_KIND_FUNC_PROTO: {
        const params: BtfParam[] = [];
        let variadic = false;
        for (let k = 0; k < vlen; k++) {
          const e = q + 8 * k, pName = u32(e), pType = u32(e + 4);
          if (k === vlen - 1 && pName === 0 && pType === 0) { variadic = true; break; }
          params.push({ name: pName === 0 ? '' : this.strAt(pName), nameOff: pName, type: pType });
        }
        return { ...c, kind, kindName: 'FUNC_PROTO', returnType: sizeOrType, params, variadic };
      }
      case BTF_KIND_VAR: {
        const linkage = VAR_LINKAGE[u32(q)];
        if (!linkage) throw new BtfFormatError(`BTF type [${id}] VAR has invalid linkage ${u32(q)}`, { offset: q, typeId: id });
        return { ...c, kind, kindName: 'VAR', type: sizeOrType, linkage };
      }
      case BTF_KIND_DATASEC: {
        const vars: BtfVarSecinfo[] = new Array(vlen);
        for (let k = 0; k < vlen; k++) {
          const e = q + 12 * k;
          vars[k] = { type: u32(e), offset: u32(e + 4), size: u32(e + 8) };
        }
        return { ...c, kind, kindName: 'DATASEC', size: sizeOrType, vars };
      }
      case BTF_KIND_FLOAT: return { ...c, kind, kindName: 'FLOAT', size: sizeOrType };
      case BTF_KIND_DECL_TAG:
        return { ...c, kind, kindName: 'DECL_TAG', type: sizeOrType, componentIdx: v.getInt32(q, le), attribute: kflag };
      default:
        // unreachable: kinds were checked while indexing the records
        throw new BtfFormatError(`BTF type [${id}] has invalid kind ${kind}`, { offset: p + 4, typeId: id });
    }
  }
}

/** Follow typedefs and modifiers (volatile, const, restrict, type tags; not VARs) from a type
 *  id: the type a value of it is decoded as. null when the chain is longer than `maxDepth`. */
export function skipModifiers(btf: Btf, typeId: number, maxDepth = 64): BtfType | null {
  let t = btf.typeById(typeId);
  for (let depth = 0; depth < maxDepth; depth++) {
    switch (t.kind) {
      case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
      case BTF_KIND_TYPE_TAG:
        t = btf.typeById(t.type);
        break;
      default:
        return t;
    }
  }
  return null;
}

const NAME_ENCODER = new TextEncoder();

/** Named types by the FNV-1a hash of their name: `slots` holds record index + 1 (0: empty). */
interface NameIndex {
  hashes: Uint32Array;
  slots: Uint32Array;
  mask: number;
}

/** FNV-1a over bytes [start, end) */
function fnv1a(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}
