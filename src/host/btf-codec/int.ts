// Integers and bitfields in BTF-typed data: reading and writing them in either byte order,
// and checking that a JS value fits the C type before it is written.
import { BtfCodecError, describe } from './value.js';

export function readInt(view: DataView, off: number, size: number, signed: boolean, le: boolean): number | bigint {
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
export function readBits(b: Uint8Array, off: number, bitOff: number, bits: number, le: boolean): bigint {
  const first = off + Math.floor(bitOff / 8);
  const last = off + Math.ceil((bitOff + bits) / 8); // exclusive
  let v = 0n;
  if (le) {
    for (let i = last - 1; i >= first; i--) v = (v << 8n) | BigInt(b[i]!);
    v >>= BigInt(bitOff % 8);
  } else {
    for (let i = first; i < last; i++) v = (v << 8n) | BigInt(b[i]!);
    v >>= BigInt((last - off) * 8 - (bitOff + bits));
  }
  return BigInt.asUintN(bits, v);
}

export function intResult(raw: bigint, size: number, signed: boolean, bits: number, bool: boolean): number | bigint | boolean {
  if (bool) return raw !== 0n;
  const v = signed ? BigInt.asIntN(bits, raw) : raw;
  return size <= 4 ? Number(v) : v;
}

/** Check and convert a JS value to a bigint of `bits` bits (two's complement when negative). */
export function intValue(value: unknown, bits: number, signed: boolean, bool: boolean, path: string, what: string, lenient = false): bigint {
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

export function writeInt(view: DataView, off: number, size: number, v: bigint, le: boolean): void {
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

export function writeBits(b: Uint8Array, off: number, bitOff: number, bits: number, v: bigint, le: boolean): void {
  const first = off + Math.floor(bitOff / 8);
  const last = off + Math.ceil((bitOff + bits) / 8);
  let cur = 0n;
  if (le) {
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
