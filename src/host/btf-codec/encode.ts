// Encoding plain JS values as BTF-typed bytes (see btf-codec.ts for the mapping): every value
// is checked against its C type and an error names the path of the one that does not fit.
import {
  BTF_KIND_ARRAY, BTF_KIND_DATASEC, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_VAR,
} from '../../btf/kinds.js';
import type { BtfMember } from '../../btf/types.js';
import type { BtfCodec } from '../btf-codec.js';
import { intValue, writeBits, writeInt } from './int.js';
import { BtfCodecError, describe, MAX_DEPTH, u8 } from './value.js';

const encoder = new TextEncoder();

interface FieldRef {
  member: BtfMember;
  /** bit offset from the start of the outermost struct/union */
  bitOffset: number;
}

/** The encoder of one BtfCodec, with its cache of struct fields. */
export class BtfEncoder {
  readonly #c: BtfCodec;
  readonly #fields = new Map<number, Map<string, FieldRef>>();

  constructor(codec: BtfCodec) {
    this.#c = codec;
  }

  /**
   * Encode `value` as type `typeId` into `out` at `offset` (default: a fresh zeroed buffer
   * of the type's size). `path` names the value in error messages.
   */
  encode(typeId: number, value: unknown, out?: Uint8Array | Buffer, offset = 0, path = 'value'): Uint8Array {
    const size = this.#c.sizeOf(typeId);
    const b = out ? u8(out) : new Uint8Array(size);
    if (offset + size > b.byteLength) {
      throw new BtfCodecError(`${path}: ${this.#c.typeName(typeId)} needs ${size} bytes at offset ${offset}, the buffer has ${b.byteLength}`, path);
    }
    this.#encodeType(typeId, value, b, new DataView(b.buffer, b.byteOffset, b.byteLength), offset, path, 0);
    return b;
  }

  #encodeType(typeId: number, value: unknown, b: Uint8Array, view: DataView, off: number, path: string, depth: number): void {
    if (depth > MAX_DEPTH) throw new BtfCodecError(`${path}: type nesting too deep`, path);
    const t = this.#c.resolve(typeId);
    const le = this.#c.littleEndian;
    if (value instanceof Uint8Array && !(t.kind === BTF_KIND_ARRAY)) {
      const size = this.#c.sizeOf(t.id);
      if (value.byteLength !== size) {
        throw new BtfCodecError(`${path}: ${value.byteLength} bytes given for ${this.#c.typeName(typeId)} of ${size} bytes`, path);
      }
      b.set(value, off);
      return;
    }
    switch (t.kind) {
      case BTF_KIND_INT: {
        if (t.bitOffset !== 0 || t.bits !== t.size * 8) {
          const v = intValue(value, t.bits, t.signed || false, t.bool, path, this.#c.typeName(typeId));
          writeBits(b, off, t.bitOffset, t.bits, v, this.#c.littleEndian);
          return;
        }
        const v = intValue(value, t.size * 8, t.signed, t.bool, path, this.#c.typeName(typeId));
        writeInt(view, off, t.size, v, this.#c.littleEndian);
        return;
      }
      case BTF_KIND_ENUM: case BTF_KIND_ENUM64: {
        let v: unknown = value;
        if (typeof value === 'string') {
          v = this.#c.enumValue(t.id, value);
          if (v === undefined) {
            throw new BtfCodecError(`${path}: enum ${t.name || '(anon)'} has no enumerator '${value}' (it has ${t.values.map((e) => e.name).join(', ') || 'none'})`, path);
          }
        }
        const iv = intValue(v, t.size * 8, t.signed, false, path, this.#c.typeName(typeId), true);
        writeInt(view, off, t.size, iv, this.#c.littleEndian);
        return;
      }
      case BTF_KIND_PTR: {
        const size = this.#c.btf.pointerSize;
        const v = intValue(value, size * 8, false, false, path, this.#c.typeName(typeId));
        writeInt(view, off, size, v, this.#c.littleEndian);
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
        const es = this.#c.sizeOf(t.elemType);
        const total = es * t.nelems;
        if (typeof value === 'string') {
          if (!this.#c.isCharType(t.elemType)) {
            throw new BtfCodecError(`${path}: a string was given for ${this.#c.typeName(typeId)}, which is not a char array`, path);
          }
          const e = encoder.encode(value);
          if (e.byteLength > t.nelems) {
            throw new BtfCodecError(`${path}: string of ${e.byteLength} bytes does not fit ${this.#c.typeName(typeId)}`, path);
          }
          b.fill(0, off, off + total);
          b.set(e, off);
          return;
        }
        if (value instanceof Uint8Array) {
          if (value.byteLength > total || (es !== 1 && value.byteLength !== total)) {
            throw new BtfCodecError(`${path}: ${value.byteLength} bytes given for ${this.#c.typeName(typeId)} of ${total} bytes`, path);
          }
          b.fill(0, off, off + total);
          b.set(value, off);
          return;
        }
        if (!Array.isArray(value)) {
          throw new BtfCodecError(`${path}: expected an array for ${this.#c.typeName(typeId)}, got ${describe(value)}`, path);
        }
        if (value.length > t.nelems) {
          throw new BtfCodecError(`${path}: ${value.length} elements do not fit ${this.#c.typeName(typeId)}`, path);
        }
        value.forEach((v, i) => {
          if (v !== undefined) this.#encodeType(t.elemType, v, b, view, off + i * es, `${path}[${i}]`, depth + 1);
        });
        return;
      }
      case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          throw new BtfCodecError(`${path}: expected an object for ${this.#c.typeName(typeId)}, got ${describe(value)}`, path);
        }
        const fields = this.#fieldsOf(t.id);
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          if (v === undefined) continue;
          const f = fields.get(k);
          if (!f) {
            throw new BtfCodecError(
              `${path}: ${this.#c.typeName(typeId)} has no field '${k}' (fields: ${[...fields.keys()].join(', ') || 'none'})`, path + '.' + k);
          }
          this.#encodeMember(f, v, b, view, off, `${path}.${k}`, depth);
        }
        return;
      }
      case BTF_KIND_DATASEC: {
        if (typeof value !== 'object' || value === null) throw new BtfCodecError(`${path}: expected an object for ${t.name}, got ${describe(value)}`, path);
        const vars = new Map(this.#c.datasecVars(t.id).map((v) => [v.name, v]));
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          const dv = vars.get(k);
          if (!dv) throw new BtfCodecError(`${path}: ${t.name} has no variable '${k}' (variables: ${[...vars.keys()].join(', ') || 'none'})`, path);
          this.#encodeType(dv.typeId, v, b, view, off + dv.offset, `${path}.${k}`, depth + 1);
        }
        return;
      }
      case BTF_KIND_VAR:
        this.#encodeType(t.type, value, b, view, off, path, depth + 1);
        return;
      default:
        throw new BtfCodecError(`${path}: cannot encode ${this.#c.typeName(typeId)} from ${describe(value)} (give a Uint8Array of its size)`, path);
    }
  }

  #encodeMember(f: FieldRef, v: unknown, b: Uint8Array, view: DataView, off: number, path: string, depth: number): void {
    const m = f.member;
    if (m.bitfieldSize > 0 || f.bitOffset % 8 !== 0) {
      const mt = this.#c.resolve(m.type);
      const width = m.bitfieldSize || this.#c.sizeOf(m.type) * 8;
      let val: unknown = v;
      if (typeof v === 'string' && (mt.kind === BTF_KIND_ENUM || mt.kind === BTF_KIND_ENUM64)) {
        val = this.#c.enumValue(mt.id, v);
        if (val === undefined) throw new BtfCodecError(`${path}: enum ${mt.name || '(anon)'} has no enumerator '${v}'`, path);
      }
      const signed = (mt.kind === BTF_KIND_INT || mt.kind === BTF_KIND_ENUM || mt.kind === BTF_KIND_ENUM64) && mt.signed;
      const iv = intValue(val, width, signed, mt.kind === BTF_KIND_INT && mt.bool, path, `${this.#c.typeName(m.type)}:${width}`);
      writeBits(b, off, f.bitOffset, width, iv, this.#c.littleEndian);
      return;
    }
    this.#encodeType(m.type, v, b, view, off + f.bitOffset / 8, path, depth + 1);
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
        const mt = this.#c.resolve(mem.type);
        if (mt.kind === BTF_KIND_STRUCT || mt.kind === BTF_KIND_UNION) walk(mt.members, bitOffset, depth + 1);
      }
    };
    const t = this.#c.resolve(id);
    if (t.kind === BTF_KIND_STRUCT || t.kind === BTF_KIND_UNION) walk(t.members, 0, 0);
    this.#fields.set(id, m);
    return m;
  }
}
