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
  BTF_KIND_ARRAY, BTF_KIND_CONST, BTF_KIND_DATASEC, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPE_TAG, BTF_KIND_UNION, BTF_KIND_VAR, BTF_KIND_VOLATILE,
} from '../btf/kinds.js';
import type { BtfType } from '../btf/types.js';
import { decodeBtfValue } from './btf-codec/decode.js';
import { BtfEncoder } from './btf-codec/encode.js';
import { BtfCodecError, MAX_DEPTH, type BtfValue } from './btf-codec/value.js';

export { BtfCodecError, type BtfValue } from './btf-codec/value.js';
export { encodeRaw } from './btf-codec/raw.js';

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

/** Encodes and decodes map keys, values, ring buffer records and global variables between raw bytes and plain JS values ({@link BtfValue}), by their BTF types. */
export class BtfCodec {
  readonly littleEndian: boolean;
  readonly #encoder = new BtfEncoder(this);

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
  // decoding and encoding (btf-codec/decode.ts, btf-codec/encode.ts)

  /** Decode the value of type `typeId` at `offset` of `bytes`. */
  decode(typeId: number, bytes: Uint8Array | Buffer, offset = 0): BtfValue {
    return decodeBtfValue(this, typeId, bytes, offset);
  }

  /**
   * Encode `value` as type `typeId` into `out` at `offset` (default: a fresh zeroed buffer
   * of the type's size). `path` names the value in error messages.
   */
  encode(typeId: number, value: unknown, out?: Uint8Array | Buffer, offset = 0, path = 'value'): Uint8Array {
    return this.#encoder.encode(typeId, value, out, offset, path);
  }
}
