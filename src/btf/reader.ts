// A dependency-free reader of raw BTF blobs (kernel `vmlinux` / module BTF, or the .BTF
// section of an object), little- or big-endian, optionally split on top of a base BTF. The
// blob's layout is checked up front (layout.ts); records are decoded when first asked for.
import { decodeType, VOID } from './decode.js';
import { readLayout, type BtfEndianness } from './layout.js';
import {
  BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_INT, BTF_KIND_NAMES, BTF_KIND_UNKN, BTF_TYPE_SIZE,
  btfInfoKind, btfInfoVlen,
  type BtfKind, type BtfKindName,
} from './kinds.js';
import { buildNameIndex, fnv1a, NAME_ENCODER, type NameIndex } from './name-index.js';
import { resolveSize, resolveType } from './resolve.js';
import type { BtfEnum, BtfEnum64, BtfHeader, BtfType } from './types.js';

export { BtfFormatError } from './errors.js';
export * from './kinds.js';
export type * from './types.js';
export type { BtfEndianness } from './layout.js';
export { skipModifiers } from './resolve.js';

/** Options of {@link parseBtf}. */
export interface BtfParseOptions {
  /** Base BTF of a split BTF blob (e.g. vmlinux for a module's .BTF). */
  base?: Btf;
}

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
    return (this.#cache[i] ??= decodeType(this, this.#view, this.#le, id, this.#offsets[i]!));
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
    const index = this.#byName ??= buildNameIndex(
      this.#data, this.#view, this.#le, this.#offsets, this.#strStart, this.startStrOff, this.header.strLen, this);
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
    return resolveType(this, id);
  }

  /**
   * Size in bytes of a type, following typedefs and modifiers, multiplying out arrays
   * (libbpf's btf__resolve_size). Throws BtfFormatError for types without a size
   * (void, FWD, FUNC, FUNC_PROTO, DECL_TAG) and for loops.
   */
  resolveSize(id: number): number {
    return resolveSize(this, id);
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
}
