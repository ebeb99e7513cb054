// A C struct in a zero-filled buffer, with typed access to its fields by C access path; the
// layouts come from the GENERATED UAPI tables (no offset or size here is written by hand).
import * as U from '../generated/uapi.js';
import { getSyscalls, type Bytes, type Syscalls } from '../syscall.js';

type Layout = U.StructLayout;
type Field = U.FieldLayout | U.BitFieldLayout;
export type FieldsOf<L extends Layout> = keyof L['fields'] & string;

/** Buffers whose addresses are written into a struct buffer stay alive as long as it does. */
const retained = new WeakMap<Uint8Array, Bytes[]>();

function isBitField(f: Field): f is U.BitFieldLayout {
  return (f as U.BitFieldLayout).bitOffset !== undefined;
}

/** Zero-filled bytes off the V8 heap (an explicit ArrayBuffer never moves). */
export function bytes(size: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(size));
}

/** A Buffer is a Uint8Array at run time; this only reconciles the two type declarations. */
function u8(b: Bytes): Uint8Array {
  return b as Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A zero-filled C struct with typed access to its fields by C access path. */
export class StructBuf<L extends Layout> {
  readonly buf: Uint8Array;
  readonly #view: DataView;

  constructor(readonly layout: L, readonly name = 'struct', size: number = layout.size) {
    this.buf = bytes(size);
    this.#view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  field(name: FieldsOf<L>): Field {
    const f = this.layout.fields[name] as Field | undefined;
    if (!f) throw new Error(`${this.name} has no field '${name}'`);
    return f;
  }

  /** Write an integer field (or a bit-field). Values are truncated to the field's width. */
  set(name: FieldsOf<L>, value: number | bigint | boolean): this {
    const f = this.field(name);
    const v = typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value);
    if (isBitField(f)) {
      for (let i = 0; i < f.bitSize; i++) {
        const bit = f.bitOffset + i;
        const byte = bit >> 3;
        const mask = 1 << (bit & 7);
        if ((v >> BigInt(i)) & 1n) this.buf[byte] |= mask;
        else this.buf[byte] &= ~mask;
      }
      return this;
    }
    const { offset, size } = f;
    const d = this.#view;
    switch (size) {
      case 1: d.setUint8(offset, Number(BigInt.asUintN(8, v))); break;
      case 2: d.setUint16(offset, Number(BigInt.asUintN(16, v)), true); break;
      case 4: d.setUint32(offset, Number(BigInt.asUintN(32, v)), true); break;
      case 8: d.setBigUint64(offset, BigInt.asUintN(64, v), true); break;
      default: throw new Error(`${this.name}.${name} is ${size} bytes: not an integer field`);
    }
    return this;
  }

  /** Read an integer field as a bigint (sign-extended for signed fields). */
  getBig(name: FieldsOf<L>): bigint {
    const f = this.field(name);
    if (isBitField(f)) {
      let v = 0n;
      for (let i = 0; i < f.bitSize; i++) {
        const bit = f.bitOffset + i;
        if (this.buf[bit >> 3] & (1 << (bit & 7))) v |= 1n << BigInt(i);
      }
      return v;
    }
    const { offset, size } = f;
    const d = this.#view;
    let v: bigint;
    switch (size) {
      case 1: v = BigInt(d.getUint8(offset)); break;
      case 2: v = BigInt(d.getUint16(offset, true)); break;
      case 4: v = BigInt(d.getUint32(offset, true)); break;
      case 8: v = d.getBigUint64(offset, true); break;
      default: throw new Error(`${this.name}.${name} is ${size} bytes: not an integer field`);
    }
    return f.signed ? BigInt.asIntN(size * 8, v) : v;
  }

  /** Read an integer field as a number (throws if it does not fit exactly). */
  get(name: FieldsOf<L>): number {
    const v = this.getBig(name);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new RangeError(`${this.name}.${name} = ${v} does not fit a number; use getBig()`);
    }
    return Number(v);
  }

  /** Write the address of `data` (or 0) into a pointer (u64) field and keep `data` alive with this buffer. */
  setPtr(name: FieldsOf<L>, data: Bytes | null | undefined, sys: Syscalls = getSyscalls()): this {
    if (!data || data.byteLength === 0) return this.set(name, 0n);
    let list = retained.get(this.buf);
    if (!list) {
      list = [];
      retained.set(this.buf, list);
    }
    list.push(data);
    return this.set(name, sys.addressOf(data));
  }

  /** Copy bytes into a byte-array field (zero-padded; must fit). */
  setBytes(name: FieldsOf<L>, data: Bytes): this {
    const f = this.field(name);
    if (isBitField(f) || data.byteLength > f.size) throw new RangeError(`${data.byteLength} bytes do not fit ${this.name}.${name}`);
    this.buf.fill(0, f.offset, f.offset + f.size);
    this.buf.set(u8(data), f.offset);
    return this;
  }

  /** Write a NUL-terminated string into a char array field, truncated to fit (like libbpf). */
  setString(name: FieldsOf<L>, s: string): this {
    const f = this.field(name);
    if (isBitField(f)) throw new Error(`${this.name}.${name} is a bit-field`);
    return this.setBytes(name, encoder.encode(s).subarray(0, f.size - 1));
  }

  /** A copy of a byte-array field. */
  getBytes(name: FieldsOf<L>): Uint8Array {
    const f = this.field(name);
    if (isBitField(f)) throw new Error(`${this.name}.${name} is a bit-field`);
    return this.buf.slice(f.offset, f.offset + f.size);
  }

  getString(name: FieldsOf<L>): string {
    return cStringAt(this.getBytes(name));
  }
}

/** The text of a NUL-terminated string at the start of `b`. */
export function cStringAt(b: Bytes, length = b.byteLength): string {
  const u = u8(b).subarray(0, Math.min(length, b.byteLength));
  const end = u.indexOf(0);
  return decoder.decode(end < 0 ? u : u.subarray(0, end));
}

/** A NUL-terminated C string in a Buffer. */
export function cString(s: string): Uint8Array {
  const e = encoder.encode(s);
  const b = bytes(e.byteLength + 1);
  b.set(e);
  return b;
}
