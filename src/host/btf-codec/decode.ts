// Decoding BTF-typed bytes into plain JS values (see btf-codec.ts for the mapping), within a
// budget of values per call.
import {
  BTF_KIND_ARRAY, BTF_KIND_DATASEC, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_VAR,
} from '../../btf/kinds.js';
import type { BtfMember } from '../../btf/types.js';
import type { BtfCodec } from '../btf-codec.js';
import { intResult, readBits, readInt } from './int.js';
import { BtfCodecError, MAX_DEPTH, u8, type BtfValue } from './value.js';

const decoder = new TextDecoder('utf-8', { fatal: false });
/* Values one decode() may produce: the BTF comes from the plan, so a type of zero-size
 * elements (`struct {} x[4000000000]`) must not turn a 0-byte record into billions of
 * array slots. Real data yields at most one value per bit (bitfields); the floor covers
 * zero-size members of small records. */
const decodeBudget = (bytes: number) => Math.max(1 << 16, 8 * bytes + 1024);

/** Decode the value of type `typeId` at `offset` of `bytes`. */
export function decodeBtfValue(codec: BtfCodec, typeId: number, bytes: Uint8Array | Buffer, offset: number): BtfValue {
  const b = u8(bytes);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const size = sizeOrZero(codec, typeId);
  if (offset + size > b.byteLength) {
    throw new BtfCodecError(`${codec.typeName(typeId)} needs ${size} bytes at offset ${offset}, the data has ${b.byteLength}`, '');
  }
  return new Decoding(codec, decodeBudget(b.byteLength - offset)).decode(typeId, b, view, offset, 0);
}

function sizeOrZero(codec: BtfCodec, typeId: number): number {
  try {
    return codec.sizeOf(typeId);
  } catch {
    return 0;
  }
}

/** One decode() call: the budget it may still spend. */
class Decoding {
  readonly #c: BtfCodec;
  #budget: number;

  constructor(codec: BtfCodec, budget: number) {
    this.#c = codec;
    this.#budget = budget;
  }

  decode(typeId: number, b: Uint8Array, view: DataView, off: number, depth: number): BtfValue {
    if (depth > MAX_DEPTH) throw new BtfCodecError('type nesting too deep', '');
    if (--this.#budget < 0) {
      throw new BtfCodecError(`decoding ${this.#c.typeName(typeId)} would produce more values than its bytes can hold (zero-size array elements?)`, '');
    }
    const t = this.#c.resolve(typeId);
    const le = this.#c.littleEndian;
    switch (t.kind) {
      case BTF_KIND_INT: {
        if (t.bool && t.bits <= 8 && t.bitOffset === 0) return b[off] !== 0;
        if (t.bitOffset !== 0 || t.bits !== t.size * 8) {
          return intResult(readBits(b, off, t.bitOffset, t.bits, this.#c.littleEndian), t.size, t.signed, t.bits, t.bool);
        }
        return readInt(view, off, t.size, t.signed, le);
      }
      case BTF_KIND_ENUM: case BTF_KIND_ENUM64: {
        const v = readInt(view, off, t.size, t.signed, le);
        return t.kind === BTF_KIND_ENUM64 ? BigInt(v) : v;
      }
      case BTF_KIND_PTR: {
        const size = this.#c.btf.pointerSize;
        return size === 8 ? view.getBigUint64(off, le) : BigInt(view.getUint32(off, le));
      }
      case BTF_KIND_FLOAT:
        if (t.size === 4) return view.getFloat32(off, le);
        if (t.size === 8) return view.getFloat64(off, le);
        return Buffer.from(b.slice(off, off + t.size));
      case BTF_KIND_ARRAY: {
        if (this.#c.isCharType(t.elemType)) {
          const s = b.subarray(off, off + t.nelems);
          const nul = s.indexOf(0);
          return decoder.decode(nul < 0 ? s : s.subarray(0, nul));
        }
        const es = this.#c.sizeOf(t.elemType);
        if (t.nelems > this.#budget) {
          throw new BtfCodecError(`decoding ${this.#c.typeName(t.id)} would produce ${t.nelems} elements from ${es * t.nelems} bytes (zero-size elements?)`, '');
        }
        const out: BtfValue[] = new Array(t.nelems);
        for (let i = 0; i < t.nelems; i++) out[i] = this.decode(t.elemType, b, view, off + i * es, depth + 1);
        return out;
      }
      case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
        const obj: { [k: string]: BtfValue } = {};
        this.#decodeMembers(t.members, b, view, off, 0, obj, depth);
        return obj;
      }
      case BTF_KIND_DATASEC: {
        const obj: { [k: string]: BtfValue } = {};
        for (const v of this.#c.datasecVars(t.id)) obj[v.name] = this.decode(v.typeId, b, view, off + v.offset, depth + 1);
        return obj;
      }
      case BTF_KIND_VAR:
        return this.decode(t.type, b, view, off, depth + 1);
      default: {
        const size = sizeOrZero(this.#c, t.id);
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
        const mt = this.#c.resolve(m.type);
        const width = m.bitfieldSize || (mt.kind === BTF_KIND_INT ? mt.bits : this.#c.sizeOf(m.type) * 8);
        const size = this.#c.sizeOf(m.type);
        const signed = (mt.kind === BTF_KIND_INT && mt.signed) || ((mt.kind === BTF_KIND_ENUM || mt.kind === BTF_KIND_ENUM64) && mt.signed);
        const raw = readBits(b, off, bitOff, width, this.#c.littleEndian);
        obj[m.name] = intResult(raw, size, signed, width, mt.kind === BTF_KIND_INT && mt.bool);
        continue;
      }
      const at = off + bitOff / 8;
      if (!m.name) {
        const mt = this.#c.resolve(m.type);
        if (mt.kind === BTF_KIND_STRUCT || mt.kind === BTF_KIND_UNION) {
          // anonymous struct/union: its members belong to the parent (C semantics)
          this.#decodeMembers(mt.members, b, view, at, 0, obj, depth + 1);
        }
        continue;
      }
      obj[m.name] = this.decode(m.type, b, view, at, depth + 1);
    }
  }
}
