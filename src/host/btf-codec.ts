// BTF-typed encoding and decoding of map keys, values, ring buffer records and global
// variables, between raw bytes and plain JS values:
//
//   INT (size <= 4)      number          INT (size 8, 16)     bigint
//   bool                 boolean         char[N]              string (up to the first NUL)
//   other arrays         arrays          struct / union       objects (anonymous members flattened)
//   enum                 number (bigint for 64-bit enums; encode also takes the enumerator name)
//   pointer              bigint          float / double       number
//   bitfields            number / bigint, by the width of their declared type
//   DATASEC              object of its variables
//   anything else        Buffer (a copy)
//
// Encoding checks that every value fits its C type and names the path of the one that does
// not ("value.comm: ..."). A Uint8Array of exactly the type's size is accepted for any type
// (raw bytes). Unset struct members and array elements keep the bytes already there (zero
// for a fresh buffer).
import { skipModifiers, type Btf } from '../btf/reader.js';
import {
  BTF_KIND_ARRAY, BTF_KIND_CONST, BTF_KIND_DATASEC, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPE_TAG, BTF_KIND_UNION, BTF_KIND_VAR, BTF_KIND_VOLATILE,
} from '../btf/kinds.js';
import type { BtfMember, BtfType } from '../btf/types.js';

/** A decoded value. */
export type BtfValue =
  | number | bigint | boolean | string | Buffer | BtfValue[] | { [name: string]: BtfValue };

/** A value that does not fit its BTF type (or bytes that do not decode); `path` says where in the value. */
export class BtfCodecError extends TypeError {
  constructor(message: string, readonly path: string) {
    super(message);
    this.name = 'BtfCodecError';
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });
const MAX_DEPTH = 64;
/* Values one decode() may produce: the BTF comes from the plan, so a type of zero-size
 * elements (`struct {} x[4000000000]`) must not turn a 0-byte record into billions of
 * array slots. Real data yields at most one value per bit (bitfields); the floor covers
 * zero-size members of small records. */
const decodeBudget = (bytes: number) => Math.max(1 << 16, 8 * bytes + 1024);

interface FieldRef {
  member: BtfMember;
  /** bit offset from the start of the outermost struct/union */
  bitOffset: number;
}

/** A variable of a DATASEC (a global of .data, .rodata, .bss, ...). */
export interface DatasecVar {
  name: string;
  /** the VAR's type (what its bytes hold) */
  typeId: number;
  varId: number;
  offset: number;
  size: number;
  linkage: string;
}

function u8(b: Uint8Array | Buffer): Uint8Array {
  return b as Uint8Array;
}

/** Encodes and decodes map keys, values, ring buffer records and global variables between raw bytes and plain JS values ({@link BtfValue}), by their BTF types. */
export class BtfCodec {
  readonly littleEndian: boolean;
  readonly #fields = new Map<number, Map<string, FieldRef>>();
  #budget = 0;

  /** `littleEndian`: byte order of the data (default: the BTF's own). */
  constructor(readonly btf: Btf, opts: { littleEndian?: boolean } = {}) {
    this.littleEndian = opts.littleEndian ?? btf.endianness === 'little';
  }

  /** Size in bytes of a type. */
  sizeOf(typeId: number): number {
    return this.btf.resolveSize(typeId);
  }

  /** Follow typedefs and modifiers (not VARs). */
  resolve(typeId: number): BtfType {
    const t = skipModifiers(this.btf, typeId, MAX_DEPTH);
    if (t) return t;
    throw new BtfCodecError(`BTF type chain from [${typeId}] is too deep`, '');
  }

  /** A C-like name of a type, for messages: "u32", "struct event", "char[16]", "int *". */
  typeName(typeId: number, depth = 0): string {
    const t = this.btf.typeById(typeId);
    if (depth > 8) return '...';
    switch (t.kind) {
      case 0: return 'void';
      case BTF_KIND_STRUCT: return `struct ${t.name || '(anon)'}`;
      case BTF_KIND_UNION: return `union ${t.name || '(anon)'}`;
      case BTF_KIND_ENUM: case BTF_KIND_ENUM64: return `enum ${t.name || '(anon)'}`;
      case BTF_KIND_PTR: return `${this.typeName(t.type, depth + 1)} *`;
      case BTF_KIND_ARRAY: return `${this.typeName(t.elemType, depth + 1)}[${t.nelems}]`;
      case BTF_KIND_CONST: return `const ${this.typeName(t.type, depth + 1)}`;
      case BTF_KIND_VOLATILE: return `volatile ${this.typeName(t.type, depth + 1)}`;
      case BTF_KIND_RESTRICT: case BTF_KIND_TYPE_TAG: case BTF_KIND_VAR: return this.typeName(t.type, depth + 1);
      case BTF_KIND_DATASEC: return `section ${t.name}`;
      default: return t.name || t.kindName.toLowerCase();
    }
  }

  /** Whether an array of this element type is decoded as a string (plain `char`). */
  isCharType(typeId: number): boolean {
    const t = this.resolve(typeId);
    return t.kind === BTF_KIND_INT && t.size === 1 && (t.char || t.name === 'char');
  }

  // -----------------------------------------------------------------------------------------
  // enums

  /** Name of the enumerator with this value in the enum `typeId` (after typedefs), if any. */
  enumName(typeId: number, value: number | bigint): string | undefined {
    const t = this.resolve(typeId);
    if (t.kind !== BTF_KIND_ENUM && t.kind !== BTF_KIND_ENUM64) throw new BtfCodecError(`${this.typeName(typeId)} is not an enum`, '');
    const v = BigInt(value);
    for (const e of t.values) if (BigInt(e.value) === v) return e.name;
    // values of unsigned enums may be given sign-extended and vice versa
    const bits = BigInt(t.size * 8);
    for (const e of t.values) if (BigInt.asUintN(Number(bits), BigInt(e.value)) === BigInt.asUintN(Number(bits), v)) return e.name;
    return undefined;
  }

  /** Value of an enumerator by name (number for 32-bit enums, bigint for ENUM64). */
  enumValue(typeId: number, name: string): number | bigint | undefined {
    const t = this.resolve(typeId);
    if (t.kind !== BTF_KIND_ENUM && t.kind !== BTF_KIND_ENUM64) throw new BtfCodecError(`${this.typeName(typeId)} is not an enum`, '');
    for (const e of t.values) if (e.name === name) return e.value;
    return undefined;
  }

  // -----------------------------------------------------------------------------------------
  // DATASEC helpers (global variables)

  /** The variables of a DATASEC, in offset order. */
  datasecVars(datasecId: number): DatasecVar[] {
    const t = this.btf.typeById(datasecId);
    if (t.kind !== BTF_KIND_DATASEC) throw new BtfCodecError(`BTF type [${datasecId}] is ${t.kindName}, not a DATASEC`, '');
    const out: DatasecVar[] = [];
    for (const v of t.vars) {
      const vt = this.btf.typeById(v.type);
      if (vt.kind !== BTF_KIND_VAR) continue;
      out.push({ name: vt.name, typeId: vt.type, varId: vt.id, offset: v.offset, size: v.size, linkage: vt.linkage });
    }
    return out.sort((a, b) => a.offset - b.offset);
  }

  // -----------------------------------------------------------------------------------------
  // decoding

  /** Decode the value of type `typeId` at `offset` of `bytes`. */
  decode(typeId: number, bytes: Uint8Array | Buffer, offset = 0): BtfValue {
    const b = u8(bytes);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const size = this.#sizeOrZero(typeId);
    if (offset + size > b.byteLength) {
      throw new BtfCodecError(`${this.typeName(typeId)} needs ${size} bytes at offset ${offset}, the data has ${b.byteLength}`, '');
    }
    this.#budget = decodeBudget(b.byteLength - offset);
    return this.#decode(typeId, b, view, offset, 0);
  }

  #sizeOrZero(typeId: number): number {
    try {
      return this.sizeOf(typeId);
    } catch {
      return 0;
    }
  }

  #decode(typeId: number, b: Uint8Array, view: DataView, off: number, depth: number): BtfValue {
    if (depth > MAX_DEPTH) throw new BtfCodecError('type nesting too deep', '');
    if (--this.#budget < 0) {
      throw new BtfCodecError(`decoding ${this.typeName(typeId)} would produce more values than its bytes can hold (zero-size array elements?)`, '');
    }
    const t = this.resolve(typeId);
    const le = this.littleEndian;
    switch (t.kind) {
      case BTF_KIND_INT: {
        if (t.bool && t.bits <= 8 && t.bitOffset === 0) return b[off] !== 0;
        if (t.bitOffset !== 0 || t.bits !== t.size * 8) {
          return this.#intResult(this.#readBits(b, off, t.bitOffset, t.bits), t.size, t.signed, t.bits, t.bool);
        }
        return this.#readInt(view, off, t.size, t.signed);
      }
      case BTF_KIND_ENUM: case BTF_KIND_ENUM64: {
        const v = this.#readInt(view, off, t.size, t.signed);
        return t.kind === BTF_KIND_ENUM64 ? BigInt(v) : v;
      }
      case BTF_KIND_PTR: {
        const size = this.btf.pointerSize;
        return size === 8 ? view.getBigUint64(off, le) : BigInt(view.getUint32(off, le));
      }
      case BTF_KIND_FLOAT:
        if (t.size === 4) return view.getFloat32(off, le);
        if (t.size === 8) return view.getFloat64(off, le);
        return Buffer.from(b.slice(off, off + t.size));
      case BTF_KIND_ARRAY: {
        if (this.isCharType(t.elemType)) {
          const s = b.subarray(off, off + t.nelems);
          const nul = s.indexOf(0);
          return decoder.decode(nul < 0 ? s : s.subarray(0, nul));
        }
        const es = this.sizeOf(t.elemType);
        if (t.nelems > this.#budget) {
          throw new BtfCodecError(`decoding ${this.typeName(t.id)} would produce ${t.nelems} elements from ${es * t.nelems} bytes (zero-size elements?)`, '');
        }
        const out: BtfValue[] = new Array(t.nelems);
        for (let i = 0; i < t.nelems; i++) out[i] = this.#decode(t.elemType, b, view, off + i * es, depth + 1);
        return out;
      }
      case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
        const obj: { [k: string]: BtfValue } = {};
        this.#decodeMembers(t.members, b, view, off, 0, obj, depth);
        return obj;
      }
      case BTF_KIND_DATASEC: {
        const obj: { [k: string]: BtfValue } = {};
        for (const v of this.datasecVars(t.id)) obj[v.name] = this.#decode(v.typeId, b, view, off + v.offset, depth + 1);
        return obj;
      }
      case BTF_KIND_VAR:
        return this.#decode(t.type, b, view, off, depth + 1);
      default: {
        const size = this.#sizeOrZero(t.id);
        return Buffer.from(b.slice(off, off + size));
      }
    }
  }

  #decodeMembers(members: readonly BtfMember[], b: Uint8Array, view: DataView, off: number, baseBits: number,
    obj: { [k: string]: BtfValue }, depth: number): void {
    for (const m of members) {
      const bitOff = baseBits + m.bitOffset;
      if (m.bitfieldSize > 0 || bitOff % 8 !== 0) {
        if (!m.name) continue; // unnamed padding bitfield
        const mt = this.resolve(m.type);
        const width = m.bitfieldSize || (mt.kind === BTF_KIND_INT ? mt.bits : this.sizeOf(m.type) * 8);
        const size = this.sizeOf(m.type);
        const signed = (mt.kind === BTF_KIND_INT && mt.signed) || ((mt.kind === BTF_KIND_ENUM || mt.kind === BTF_KIND_ENUM64) && mt.signed);
        const raw = this.#readBits(b, off, bitOff, width);
        obj[m.name] = this.#intResult(raw, size, signed, width, mt.kind === BTF_KIND_INT && mt.bool);
        continue;
      }
      const at = off + bitOff / 8;
      if (!m.name) {
        const mt = this.resolve(m.type);
        if (mt.kind === BTF_KIND_STRUCT || mt.kind === BTF_KIND_UNION) {
          // anonymous struct/union: its members belong to the parent (C semantics)
          this.#decodeMembers(mt.members, b, view, at, 0, obj, depth + 1);
        }
        continue;
      }
      obj[m.name] = this.#decode(m.type, b, view, at, depth + 1);
    }
  }

  #readInt(view: DataView, off: number, size: number, signed: boolean): number | bigint {
    const le = this.littleEndian;
    switch (size) {
      case 1: return signed ? view.getInt8(off) : view.getUint8(off);
      case 2: return signed ? view.getInt16(off, le) : view.getUint16(off, le);
      case 4: return signed ? view.getInt32(off, le) : view.getUint32(off, le);
      case 8: return signed ? view.getBigInt64(off, le) : view.getBigUint64(off, le);
      case 16: {
        const lo = view.getBigUint64(off + (le ? 0 : 8), le);
        const hi = view.getBigUint64(off + (le ? 8 : 0), le);
        const v = (hi << 64n) | lo;
        return signed ? BigInt.asIntN(128, v) : v;
      }
      default: throw new BtfCodecError(`unsupported integer size ${size}`, '');
    }
  }

  /** `bits` bits at bit offset `bitOff` (from byte `off`), as an unsigned bigint. */
  #readBits(b: Uint8Array, off: number, bitOff: number, bits: number): bigint {
    const first = off + Math.floor(bitOff / 8);
    const last = off + Math.ceil((bitOff + bits) / 8); // exclusive
    let v = 0n;
    if (this.littleEndian) {
      for (let i = last - 1; i >= first; i--) v = (v << 8n) | BigInt(b[i]!);
      v >>= BigInt(bitOff % 8);
    } else {
      for (let i = first; i < last; i++) v = (v << 8n) | BigInt(b[i]!);
      v >>= BigInt((last - off) * 8 - (bitOff + bits));
    }
    return BigInt.asUintN(bits, v);
  }

  #intResult(raw: bigint, size: number, signed: boolean, bits: number, bool: boolean): number | bigint | boolean {
    if (bool) return raw !== 0n;
    const v = signed ? BigInt.asIntN(bits, raw) : raw;
    return size <= 4 ? Number(v) : v;
  }

  // -----------------------------------------------------------------------------------------
  // encoding

  /**
   * Encode `value` as type `typeId` into `out` at `offset` (default: a fresh zeroed buffer
   * of the type's size). `path` names the value in error messages.
   */
  encode(typeId: number, value: unknown, out?: Uint8Array | Buffer, offset = 0, path = 'value'): Uint8Array {
    const size = this.sizeOf(typeId);
    const b = out ? u8(out) : new Uint8Array(size);
    if (offset + size > b.byteLength) {
      throw new BtfCodecError(`${path}: ${this.typeName(typeId)} needs ${size} bytes at offset ${offset}, the buffer has ${b.byteLength}`, path);
    }
    this.#encode(typeId, value, b, new DataView(b.buffer, b.byteOffset, b.byteLength), offset, path, 0);
    return b;
  }

  #encode(typeId: number, value: unknown, b: Uint8Array, view: DataView, off: number, path: string, depth: number): void {
    if (depth > MAX_DEPTH) throw new BtfCodecError(`${path}: type nesting too deep`, path);
    const t = this.resolve(typeId);
    const le = this.littleEndian;
    if (value instanceof Uint8Array && !(t.kind === BTF_KIND_ARRAY)) {
      const size = this.sizeOf(t.id);
      if (value.byteLength !== size) {
        throw new BtfCodecError(`${path}: ${value.byteLength} bytes given for ${this.typeName(typeId)} of ${size} bytes`, path);
      }
      b.set(value, off);
      return;
    }
    switch (t.kind) {
      case BTF_KIND_INT: {
        if (t.bitOffset !== 0 || t.bits !== t.size * 8) {
          const v = this.#intValue(value, t.bits, t.signed || false, t.bool, path, this.typeName(typeId));
          this.#writeBits(b, off, t.bitOffset, t.bits, v);
          return;
        }
        const v = this.#intValue(value, t.size * 8, t.signed, t.bool, path, this.typeName(typeId));
        this.#writeInt(view, off, t.size, v);
        return;
      }
      case BTF_KIND_ENUM: case BTF_KIND_ENUM64: {
        let v: unknown = value;
        if (typeof value === 'string') {
          v = this.enumValue(t.id, value);
          if (v === undefined) {
            throw new BtfCodecError(`${path}: enum ${t.name || '(anon)'} has no enumerator '${value}' (it has ${t.values.map((e) => e.name).join(', ') || 'none'})`, path);
          }
        }
        const iv = this.#intValue(v, t.size * 8, t.signed, false, path, this.typeName(typeId), true);
        this.#writeInt(view, off, t.size, iv);
        return;
      }
      case BTF_KIND_PTR: {
        const size = this.btf.pointerSize;
        const v = this.#intValue(value, size * 8, false, false, path, this.typeName(typeId));
        this.#writeInt(view, off, size, v);
        return;
      }
      case BTF_KIND_FLOAT: {
        if (typeof value !== 'number') throw new BtfCodecError(`${path}: expected a number for ${t.name}, got ${describe(value)}`, path);
        if (t.size === 4) view.setFloat32(off, value, le);
        else if (t.size === 8) view.setFloat64(off, value, le);
        else throw new BtfCodecError(`${path}: cannot encode a ${t.size}-byte float`, path);
        return;
      }
      case BTF_KIND_ARRAY: {
        const es = this.sizeOf(t.elemType);
        const total = es * t.nelems;
        if (typeof value === 'string') {
          if (!this.isCharType(t.elemType)) {
            throw new BtfCodecError(`${path}: a string was given for ${this.typeName(typeId)}, which is not a char array`, path);
          }
          const e = encoder.encode(value);
          if (e.byteLength > t.nelems) {
            throw new BtfCodecError(`${path}: string of ${e.byteLength} bytes does not fit ${this.typeName(typeId)}`, path);
          }
          b.fill(0, off, off + total);
          b.set(e, off);
          return;
        }
        if (value instanceof Uint8Array) {
          if (value.byteLength > total || (es !== 1 && value.byteLength !== total)) {
            throw new BtfCodecError(`${path}: ${value.byteLength} bytes given for ${this.typeName(typeId)} of ${total} bytes`, path);
          }
          b.fill(0, off, off + total);
          b.set(value, off);
          return;
        }
        if (!Array.isArray(value)) {
          throw new BtfCodecError(`${path}: expected an array for ${this.typeName(typeId)}, got ${describe(value)}`, path);
        }
        if (value.length > t.nelems) {
          throw new BtfCodecError(`${path}: ${value.length} elements do not fit ${this.typeName(typeId)}`, path);
        }
        value.forEach((v, i) => {
          if (v !== undefined) this.#encode(t.elemType, v, b, view, off + i * es, `${path}[${i}]`, depth + 1);
        });
        return;
      }
      case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          throw new BtfCodecError(`${path}: expected an object for ${this.typeName(typeId)}, got ${describe(value)}`, path);
        }
        const fields = this.#fieldsOf(t.id);
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          if (v === undefined) continue;
          const f = fields.get(k);
          if (!f) {
            throw new BtfCodecError(
              `${path}: ${this.typeName(typeId)} has no field '${k}' (fields: ${[...fields.keys()].join(', ') || 'none'})`, path + '.' + k);
          }
          this.#encodeMember(f, v, b, view, off, `${path}.${k}`, depth);
        }
        return;
      }
      case BTF_KIND_DATASEC: {
        if (typeof value !== 'object' || value === null) throw new BtfCodecError(`${path}: expected an object for ${t.name}, got ${describe(value)}`, path);
        const vars = new Map(this.datasecVars(t.id).map((v) => [v.name, v]));
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          const dv = vars.get(k);
          if (!dv) throw new BtfCodecError(`${path}: ${t.name} has no variable '${k}' (variables: ${[...vars.keys()].join(', ') || 'none'})`, path);
          this.#encode(dv.typeId, v, b, view, off + dv.offset, `${path}.${k}`, depth + 1);
        }
        return;
      }
      case BTF_KIND_VAR:
        this.#encode(t.type, value, b, view, off, path, depth + 1);
        return;
      default:
        throw new BtfCodecError(`${path}: cannot encode ${this.typeName(typeId)} from ${describe(value)} (give a Uint8Array of its size)`, path);
    }
  }

  #encodeMember(f: FieldRef, v: unknown, b: Uint8Array, view: DataView, off: number, path: string, depth: number): void {
    const m = f.member;
    if (m.bitfieldSize > 0 || f.bitOffset % 8 !== 0) {
      const mt = this.resolve(m.type);
      const width = m.bitfieldSize || this.sizeOf(m.type) * 8;
      let val: unknown = v;
      if (typeof v === 'string' && (mt.kind === BTF_KIND_ENUM || mt.kind === BTF_KIND_ENUM64)) {
        val = this.enumValue(mt.id, v);
        if (val === undefined) throw new BtfCodecError(`${path}: enum ${mt.name || '(anon)'} has no enumerator '${v}'`, path);
      }
      const signed = (mt.kind === BTF_KIND_INT || mt.kind === BTF_KIND_ENUM || mt.kind === BTF_KIND_ENUM64) && mt.signed;
      const iv = this.#intValue(val, width, signed, mt.kind === BTF_KIND_INT && mt.bool, path, `${this.typeName(m.type)}:${width}`);
      this.#writeBits(b, off, f.bitOffset, width, iv);
      return;
    }
    this.#encode(m.type, v, b, view, off + f.bitOffset / 8, path, depth + 1);
  }

  /** Named fields of a struct/union, anonymous members flattened, with absolute bit offsets. */
  #fieldsOf(id: number): Map<string, FieldRef> {
    let m = this.#fields.get(id);
    if (m) return m;
    m = new Map();
    const walk = (members: readonly BtfMember[], base: number, depth: number): void => {
      if (depth > MAX_DEPTH) return;
      for (const mem of members) {
        const bitOffset = base + mem.bitOffset;
        if (mem.name) {
          if (!m!.has(mem.name)) m!.set(mem.name, { member: mem, bitOffset });
          continue;
        }
        if (mem.bitfieldSize > 0) continue;
        const mt = this.resolve(mem.type);
        if (mt.kind === BTF_KIND_STRUCT || mt.kind === BTF_KIND_UNION) walk(mt.members, bitOffset, depth + 1);
      }
    };
    const t = this.resolve(id);
    if (t.kind === BTF_KIND_STRUCT || t.kind === BTF_KIND_UNION) walk(t.members, 0, 0);
    this.#fields.set(id, m);
    return m;
  }

  /** Check and convert a JS value to a bigint of `bits` bits (two's complement when negative). */
  #intValue(value: unknown, bits: number, signed: boolean, bool: boolean, path: string, what: string, lenient = false): bigint {
    let v: bigint;
    if (typeof value === 'boolean') v = value ? 1n : 0n;
    else if (typeof value === 'bigint') v = value;
    else if (typeof value === 'number') {
      if (!Number.isInteger(value)) throw new BtfCodecError(`${path}: ${value} is not an integer (${what})`, path);
      if (!Number.isSafeInteger(value)) throw new BtfCodecError(`${path}: ${value} is not a safe integer; use a bigint (${what})`, path);
      v = BigInt(value);
    } else {
      throw new BtfCodecError(`${path}: expected ${bool ? 'a boolean' : 'an integer'} for ${what}, got ${describe(value)}`, path);
    }
    if (bool && v !== 0n && v !== 1n) throw new BtfCodecError(`${path}: ${v} is not a boolean (${what})`, path);
    const b = BigInt(bits);
    const lo = signed ? -(1n << (b - 1n)) : 0n;
    const hi = signed ? (1n << (b - 1n)) - 1n : (1n << b) - 1n;
    // enums: accept both the signed and unsigned spelling of a value
    const okLenient = lenient && v >= -(1n << (b - 1n)) && v <= (1n << b) - 1n;
    if ((v < lo || v > hi) && !okLenient) {
      throw new BtfCodecError(`${path}: ${v} does not fit ${what} (${signed ? 'signed' : 'unsigned'} ${bits}-bit: ${lo}..${hi})`, path);
    }
    return BigInt.asUintN(bits, v);
  }

  #writeInt(view: DataView, off: number, size: number, v: bigint): void {
    const le = this.littleEndian;
    switch (size) {
      case 1: view.setUint8(off, Number(v)); break;
      case 2: view.setUint16(off, Number(v), le); break;
      case 4: view.setUint32(off, Number(v), le); break;
      case 8: view.setBigUint64(off, v, le); break;
      case 16: {
        const lo = BigInt.asUintN(64, v), hi = v >> 64n;
        view.setBigUint64(off + (le ? 0 : 8), lo, le);
        view.setBigUint64(off + (le ? 8 : 0), hi, le);
        break;
      }
      default: throw new BtfCodecError(`unsupported integer size ${size}`, '');
    }
  }

  #writeBits(b: Uint8Array, off: number, bitOff: number, bits: number, v: bigint): void {
    const first = off + Math.floor(bitOff / 8);
    const last = off + Math.ceil((bitOff + bits) / 8);
    let cur = 0n;
    if (this.littleEndian) {
      for (let i = last - 1; i >= first; i--) cur = (cur << 8n) | BigInt(b[i]!);
      const shift = BigInt(bitOff % 8);
      const mask = ((1n << BigInt(bits)) - 1n) << shift;
      cur = (cur & ~mask) | ((v << shift) & mask);
      for (let i = first; i < last; i++) { b[i] = Number(cur & 0xffn); cur >>= 8n; }
    } else {
      for (let i = first; i < last; i++) cur = (cur << 8n) | BigInt(b[i]!);
      const shift = BigInt((last - off) * 8 - (bitOff + bits));
      const mask = ((1n << BigInt(bits)) - 1n) << shift;
      cur = (cur & ~mask) | ((v << shift) & mask);
      for (let i = last - 1; i >= first; i--) { b[i] = Number(cur & 0xffn); cur >>= 8n; }
    }
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Uint8Array) return `${v.byteLength} bytes`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

// ---------------------------------------------------------------------------------------------
// raw codecs: maps without BTF

/**
 * Encode a key or value of a map without BTF: a Uint8Array of exactly `size` bytes, or an
 * unsigned integer (number, bigint) when `size` is 1, 2, 4 or 8.
 */
export function encodeRaw(value: unknown, size: number, path = 'value', littleEndian = true): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.byteLength !== size) throw new BtfCodecError(`${path}: ${value.byteLength} bytes given, the map wants ${size}`, path);
    return value;
  }
  if ((typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') && [1, 2, 4, 8].includes(size)) {
    const v = typeof value === 'boolean' ? (value ? 1n : 0n) : typeof value === 'number'
      ? (Number.isSafeInteger(value) ? BigInt(value) : NaN)
      : value;
    if (typeof v !== 'bigint') throw new BtfCodecError(`${path}: ${String(value)} is not an integer`, path);
    const max = (1n << BigInt(size * 8)) - 1n;
    if (v < 0n || v > max) throw new BtfCodecError(`${path}: ${v} does not fit an unsigned ${size * 8}-bit integer`, path);
    const out = new Uint8Array(size);
    const dv = new DataView(out.buffer);
    switch (size) {
      case 1: dv.setUint8(0, Number(v)); break;
      case 2: dv.setUint16(0, Number(v), littleEndian); break;
      case 4: dv.setUint32(0, Number(v), littleEndian); break;
      default: dv.setBigUint64(0, v, littleEndian); break;
    }
    return out;
  }
  throw new BtfCodecError(
    `${path}: expected a Uint8Array of ${size} bytes${[1, 2, 4, 8].includes(size) ? ' or an integer' : ''}, got ${describe(value)}`, path);
}
