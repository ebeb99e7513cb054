// The layout of a raw BTF blob, checked as libbpf's btf_parse_hdr, btf_parse_str_sec and
// btf_parse_type_sec do: the header, the string section's bounds, where each type record
// starts, and that every type id and string offset a record holds is inside the blob. The
// reader (reader.ts) decodes records from it lazily.
import { BtfFormatError } from './errors.js';
import {
  BTF_HEADER_SIZE, BTF_KIND_ARRAY, BTF_KIND_CONST, BTF_KIND_DATASEC, BTF_KIND_DECL_TAG,
  BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_INT,
  BTF_KIND_NAMES, BTF_KIND_PTR, BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF,
  BTF_KIND_TYPE_TAG, BTF_KIND_UNION, BTF_KIND_VAR, BTF_KIND_VOLATILE, BTF_MAGIC, BTF_TYPE_SIZE,
  BTF_VERSION, btfInfoKind, btfInfoVlen, btfTypeExtraSize,
} from './kinds.js';
import type { BtfHeader } from './types.js';

/** Byte order of a BTF blob (from its magic). */
export type BtfEndianness = 'little' | 'big';

/** BTF_MAX_NAME_OFFSET / BTF_MAX_TYPE of the kernel UAPI. */
const BTF_MAX_TYPE = 0x000fffff;

const hex = (n: number): string => `0x${n.toString(16)}`;

/** What a split BTF takes from its base. */
export interface BtfBase {
  readonly endianness: BtfEndianness;
  readonly startStrOff: number;
  readonly header: BtfHeader;
  readonly lastId: number;
}

/** Where things are in a blob; offsets are absolute (from the blob's first byte). */
export interface BtfLayout {
  header: BtfHeader;
  le: boolean;
  endianness: BtfEndianness;
  typeStart: number;
  strStart: number;
  /** this blob's first type id: 1, or the base's last id + 1 */
  startId: number;
  /** this blob's first string offset: 0, or the base's string end */
  startStrOff: number;
  lastId: number;
  /** the byte offset of each type record */
  offsets: Uint32Array;
}

/** The blob's layout; throws BtfFormatError where it is truncated or corrupt. */
export function readLayout(data: Uint8Array, view: DataView, base: BtfBase | undefined): BtfLayout {
  // --- header
  if (data.length < BTF_HEADER_SIZE) {
    throw new BtfFormatError(`BTF truncated: ${data.length} bytes, the header alone needs ${BTF_HEADER_SIZE}`, { offset: 0 });
  }
  let le: boolean;
  if (view.getUint16(0, true) === BTF_MAGIC) le = true;
  else if (view.getUint16(0, false) === BTF_MAGIC) le = false;
  else {
    throw new BtfFormatError(
      `bad BTF magic ${hex(view.getUint16(0, true))} (expected ${hex(BTF_MAGIC)} in either byte order)`, { offset: 0 });
  }
  const u32 = (o: number): number => view.getUint32(o, le);
  const header: BtfHeader = {
    magic: BTF_MAGIC, version: data[2]!, flags: data[3]!, hdrLen: u32(4),
    typeOff: u32(8), typeLen: u32(12), strOff: u32(16), strLen: u32(20),
  };
  if (header.version !== BTF_VERSION) {
    throw new BtfFormatError(`unsupported BTF version ${header.version} (expected ${BTF_VERSION})`, { offset: 2 });
  }
  if (header.hdrLen < BTF_HEADER_SIZE) {
    throw new BtfFormatError(`BTF hdr_len ${header.hdrLen} is smaller than ${BTF_HEADER_SIZE}`, { offset: 4 });
  }
  if (header.hdrLen > data.length) {
    throw new BtfFormatError(`BTF truncated: hdr_len is ${header.hdrLen} but the blob has ${data.length} bytes`, { offset: 4 });
  }
  for (let i = BTF_HEADER_SIZE; i < header.hdrLen; i++) {
    if (data[i] !== 0) throw new BtfFormatError(`unsupported non-zero BTF header field at byte ${i}`, { offset: i });
  }
  const meta = data.length - header.hdrLen;
  const typeEnd = header.typeOff + header.typeLen;
  const strEnd = header.strOff + header.strLen;
  if (typeEnd > meta || strEnd > meta) {
    const want = header.hdrLen + Math.max(typeEnd, strEnd);
    throw new BtfFormatError(`BTF truncated: its sections end at byte ${want} but the blob has ${data.length} bytes`, { offset: data.length });
  }
  if (Math.max(typeEnd, strEnd) < meta) {
    throw new BtfFormatError(
      `${meta - Math.max(typeEnd, strEnd)} unexpected bytes after the BTF sections (blob of ${data.length} bytes)`,
      { offset: header.hdrLen + Math.max(typeEnd, strEnd) });
  }
  if (header.typeOff % 4 !== 0) throw new BtfFormatError(`BTF type section misaligned (type_off ${header.typeOff})`, { offset: 8 });
  if (header.typeLen % 4 !== 0) throw new BtfFormatError(`BTF type section length ${header.typeLen} is not a multiple of 4`, { offset: 12 });
  if (header.typeLen > 0 && header.strLen > 0 && header.typeOff < strEnd && header.strOff < typeEnd) {
    throw new BtfFormatError('BTF type and string sections overlap', { offset: 8 });
  }
  const typeStart = header.hdrLen + header.typeOff;
  const strStart = header.hdrLen + header.strOff;

  // --- strings (libbpf btf_parse_str_sec)
  const endianness: BtfEndianness = le ? 'little' : 'big';
  if (base && base.endianness !== endianness) {
    throw new BtfFormatError(`split BTF is ${endianness}-endian but its base is ${base.endianness}-endian`, { offset: 0 });
  }
  const startStrOff = base ? base.startStrOff + base.header.strLen : 0;
  const startId = base ? base.lastId + 1 : 1;
  if (header.strLen === 0) {
    if (!base) throw new BtfFormatError('BTF string section is empty', { offset: 20 });
  } else {
    if (data[strStart + header.strLen - 1] !== 0) {
      throw new BtfFormatError('BTF string section is not NUL-terminated', { offset: strStart + header.strLen - 1 });
    }
    if (!base && data[strStart] !== 0) {
      throw new BtfFormatError('BTF string section does not start with the empty string', { offset: strStart });
    }
  }

  // --- type records
  const typeEndAbs = typeStart + header.typeLen;
  let offsets = new Uint32Array(Math.max(16, header.typeLen >>> 4));
  let n = 0;
  for (let p = typeStart; p < typeEndAbs;) {
    const id = startId + n;
    if (p + BTF_TYPE_SIZE > typeEndAbs) {
      throw new BtfFormatError(`BTF type [${id}] truncated: ${typeEndAbs - p} bytes left of a ${BTF_TYPE_SIZE}-byte record`, { offset: p, typeId: id });
    }
    const info = u32(p + 4);
    const kind = btfInfoKind(info);
    const extra = btfTypeExtraSize(kind, btfInfoVlen(info));
    if (extra < 0) throw new BtfFormatError(`BTF type [${id}] has invalid kind ${kind}`, { offset: p, typeId: id });
    if (p + BTF_TYPE_SIZE + extra > typeEndAbs) {
      throw new BtfFormatError(
        `BTF type [${id}] ${BTF_KIND_NAMES[kind]} truncated: needs ${BTF_TYPE_SIZE + extra} bytes, ${typeEndAbs - p} left`, { offset: p, typeId: id });
    }
    if (n === offsets.length) {
      const grown = new Uint32Array(offsets.length * 2);
      grown.set(offsets);
      offsets = grown;
    }
    offsets[n++] = p;
    p += BTF_TYPE_SIZE + extra;
  }
  const lastId = startId + n - 1;
  if (lastId > BTF_MAX_TYPE) throw new BtfFormatError(`too many BTF types (last id ${lastId})`, { offset: typeStart });
  const l: BtfLayout = { header, le, endianness, typeStart, strStart, startId, startStrOff, lastId, offsets: offsets.subarray(0, n) };
  validate(view, l);
  return l;
}

/** Every type id and string offset a record refers to must exist. (One pass over a kernel's
 *  ~130k records on every parse: nothing here allocates unless a record is bad.) */
function validate(v: DataView, l: BtfLayout): void {
  const le = l.le, offsets = l.offsets;
  for (let i = 0; i < offsets.length; i++) {
    const p = offsets[i]!;
    const info = v.getUint32(p + 4, le), kind = btfInfoKind(info), vlen = btfInfoVlen(info);
    const q = p + BTF_TYPE_SIZE;
    nameIn(v, l, i, p);
    switch (kind) {
      case BTF_KIND_INT: {
        const size = v.getUint32(p + 8, le), enc = v.getUint32(q, le);
        const bits = enc & 0xff, off = (enc >>> 16) & 0xff;
        if (size !== 1 && size !== 2 && size !== 4 && size !== 8 && size !== 16) badRecord(v, l, i, `invalid size ${size}`, p + 8);
        if (bits > 128 || off + bits > size * 8) badRecord(v, l, i, `invalid bits ${bits} at offset ${off} for size ${size}`, q);
        break;
      }
      case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST:
      case BTF_KIND_RESTRICT: case BTF_KIND_FUNC: case BTF_KIND_FUNC_PROTO: case BTF_KIND_VAR:
      case BTF_KIND_TYPE_TAG: case BTF_KIND_DECL_TAG:
        idIn(v, l, i, p + 8);
        if (kind === BTF_KIND_FUNC_PROTO) entries(v, l, i, q, vlen, 8, 0, 4);
        break;
      case BTF_KIND_ARRAY: entries(v, l, i, q, 2, 4, -1, 0); break;
      case BTF_KIND_STRUCT: case BTF_KIND_UNION: entries(v, l, i, q, vlen, 12, 0, 4); break;
      case BTF_KIND_ENUM: entries(v, l, i, q, vlen, 8, 0, -1); break;
      case BTF_KIND_ENUM64: entries(v, l, i, q, vlen, 12, 0, -1); break;
      case BTF_KIND_DATASEC: entries(v, l, i, q, vlen, 12, -1, 0); break;
      default: break;
    }
  }
}

/** `count` entries of record `i`, `stride` bytes apart from `from`: a name offset at +nameAt
 *  and a type id at +idAt (-1: none). */
function entries(v: DataView, l: BtfLayout, i: number, from: number, count: number, stride: number, nameAt: number, idAt: number): void {
  for (let k = 0, o = from; k < count; k++, o += stride) {
    if (nameAt >= 0) nameIn(v, l, i, o + nameAt);
    if (idAt >= 0) idIn(v, l, i, o + idAt);
  }
}

function nameIn(v: DataView, l: BtfLayout, i: number, at: number): void {
  const off = v.getUint32(at, l.le);
  if (off >= l.startStrOff + l.header.strLen) badRecord(v, l, i, `name offset ${off} is outside the string section`, at);
}

function idIn(v: DataView, l: BtfLayout, i: number, at: number): void {
  const id = v.getUint32(at, l.le);
  if (id > l.lastId) badRecord(v, l, i, `refers to type [${id}], the last is [${l.lastId}]`, at);
}

function badRecord(v: DataView, l: BtfLayout, i: number, what: string, at: number): never {
  const id = l.startId + i;
  throw new BtfFormatError(`BTF type [${id}] ${BTF_KIND_NAMES[btfInfoKind(v.getUint32(l.offsets[i]! + 4, l.le))]}: ${what}`, { offset: at, typeId: id });
}
