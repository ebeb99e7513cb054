// Keys and values of maps without BTF: raw bytes or an unsigned integer.
import { BtfCodecError, describe } from './value.js';

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
