// A fast path of the codec for the commonest map keys and values: a whole-byte integer or
// enum (u8..u64, signed or not, through typedefs and modifiers). Map lookups and updates
// run once per key, per event; the generic encoder and decoder (encode.ts, decode.ts)
// resolve the type, build a DataView and convert through BigInt on every call, which costs
// more than the bpf() call itself. These give the same results as the generic paths:
//   decode  INT of 1, 2, 4 bytes → number, 8 bytes → bigint; ENUM the same; ENUM64 → bigint
//   encode  numbers, bigints and booleans that fit (enums: the signed or the unsigned
//           spelling); anything else (enumerator names, values that do not fit, other
//           types) returns false and the caller takes the generic path, which encodes it or
//           throws its usual error naming what does not fit.
// Bool, char-as-bool, bitfield (BTF_INT_OFFSET / bits < size) and 16-byte integers are not
// handled here (they keep the generic path).
import { BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_INT } from '../../btf/kinds.js';
import type { BtfCodec } from '../btf-codec.js';

/** Encode into `view` at `off`; false when the value is not one this path takes (nothing written). */
export type ScalarEncode = (view: DataView, off: number, value: unknown) => boolean;
export type ScalarDecode = (view: DataView, off: number) => number | bigint;

export interface ScalarCodec {
  readonly size: number;
  readonly encode: ScalarEncode;
  readonly decode: ScalarDecode;
}

const TWO32 = 4294967296;

/** The fast codec of `typeId` when it is a whole-byte integer or enum, else null. */
export function scalarCodec(codec: BtfCodec, typeId: number): ScalarCodec | null {
  let t;
  try {
    t = codec.resolve(typeId);
  } catch {
    return null;
  }
  const le = codec.littleEndian;
  let signed: boolean;
  let lenient: boolean;
  let big: boolean;
  if (t.kind === BTF_KIND_INT) {
    if (t.bool || t.bitOffset !== 0 || t.bits !== t.size * 8) return null;
    signed = t.signed;
    lenient = false;
    big = t.size === 8;
  } else if (t.kind === BTF_KIND_ENUM || t.kind === BTF_KIND_ENUM64) {
    signed = t.signed;
    lenient = true;
    big = t.size === 8 || t.kind === BTF_KIND_ENUM64;
  } else {
    return null;
  }
  const size = t.size;
  if (size !== 1 && size !== 2 && size !== 4 && size !== 8) return null;
  const bits = size * 8;
  // the accepted range (intValue in int.ts): signed or unsigned, enums either spelling
  const loN = signed || lenient ? -(2 ** (bits - 1)) : 0;
  const hiN = signed && !lenient ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const loB = BigInt(signed || lenient ? -(2n ** BigInt(bits - 1)) : 0n);
  const hiB = signed && !lenient ? 2n ** BigInt(bits - 1) - 1n : 2n ** BigInt(bits) - 1n;

  let encode: ScalarEncode;
  let decode: ScalarDecode;
  switch (size) {
    case 1:
      encode = (view, off, value) => {
        const v = num(value, loN, hiN, loB, hiB);
        if (v === null) return false;
        view.setUint8(off, v & 0xff);
        return true;
      };
      decode = signed ? (view, off) => view.getInt8(off) : (view, off) => view.getUint8(off);
      break;
    case 2:
      encode = (view, off, value) => {
        const v = num(value, loN, hiN, loB, hiB);
        if (v === null) return false;
        view.setUint16(off, v & 0xffff, le);
        return true;
      };
      decode = signed ? (view, off) => view.getInt16(off, le) : (view, off) => view.getUint16(off, le);
      break;
    case 4:
      encode = (view, off, value) => {
        const v = num(value, loN, hiN, loB, hiB);
        if (v === null) return false;
        view.setUint32(off, v >>> 0, le);
        return true;
      };
      decode = signed ? (view, off) => view.getInt32(off, le) : (view, off) => view.getUint32(off, le);
      break;
    default:
      encode = (view, off, value) => {
        if (typeof value === 'number') {
          // a safe integer in range, split into 32-bit halves (two's complement) without BigInt
          if (!Number.isSafeInteger(value) || value < loN || value > hiN) return false;
          const hi = Math.floor(value / TWO32);
          const lo = value - hi * TWO32;
          view.setUint32(le ? off : off + 4, lo, le);
          view.setUint32(le ? off + 4 : off, hi >>> 0, le);
          return true;
        }
        let b: bigint;
        if (typeof value === 'bigint') b = value;
        else if (typeof value === 'boolean') b = value ? 1n : 0n;
        else return false;
        if (b < loB || b > hiB) return false;
        view.setBigUint64(off, BigInt.asUintN(64, b), le);
        return true;
      };
      decode = signed ? (view, off) => view.getBigInt64(off, le) : (view, off) => view.getBigUint64(off, le);
      break;
  }
  if (big && size !== 8) {
    // ENUM64 of fewer than 8 bytes decodes to a bigint all the same
    const d = decode;
    decode = (view, off) => BigInt(d(view, off));
  }
  return { size, encode, decode };
}

/** A value of at most 32 bits as a number in [lo, hi], or null when this path does not take it. */
function num(value: unknown, lo: number, hi: number, loB: bigint, hiB: bigint): number | null {
  if (typeof value === 'number') {
    // integers only (the generic path names non-integers in its error)
    return Number.isInteger(value) && value >= lo && value <= hi ? value : null;
  }
  if (typeof value === 'bigint') return value >= loB && value <= hiB ? Number(value) : null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return null;
}
