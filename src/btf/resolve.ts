// Following chains of BTF types (typedefs, modifiers, VARs, arrays) to the type or size they
// come to, apart from the reader: these walk types through Btf's public API only and never
// read a record themselves. Btf's resolveType / resolveSize methods are these.
import { BtfFormatError } from './errors.js';
import {
  BTF_KIND_ARRAY, BTF_KIND_CONST, BTF_KIND_DATASEC, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FLOAT,
  BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_TYPE_TAG,
  BTF_KIND_UNION, BTF_KIND_VAR, BTF_KIND_VOLATILE,
} from './kinds.js';
import type { Btf } from './reader.js';
import type { BtfType } from './types.js';

/** Same limit as libbpf's MAX_RESOLVE_DEPTH. */
const MAX_RESOLVE_DEPTH = 32;

/** {@link Btf.resolveType} */
export function resolveType(btf: Btf, id: number): number {
  let depth = 0;
  for (;;) {
    const t = btf.typeById(id);
    switch (t.kind) {
      case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
      case BTF_KIND_TYPE_TAG: case BTF_KIND_VAR:
        id = t.type;
        break;
      default:
        return id;
    }
    if (++depth > MAX_RESOLVE_DEPTH) throw new BtfFormatError(`BTF type chain from [${t.id}] is too deep or loops`, { typeId: t.id });
  }
}

/** {@link Btf.resolveSize} */
export function resolveSize(btf: Btf, id: number): number {
  let mult = 1;
  let depth = 0;
  for (;;) {
    const t = btf.typeById(id);
    let size: number | undefined;
    switch (t.kind) {
      case BTF_KIND_INT: case BTF_KIND_STRUCT: case BTF_KIND_UNION: case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64: case BTF_KIND_DATASEC: case BTF_KIND_FLOAT:
        size = t.size;
        break;
      case BTF_KIND_PTR:
        size = btf.pointerSize;
        break;
      case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
      case BTF_KIND_TYPE_TAG: case BTF_KIND_VAR:
        id = t.type;
        break;
      case BTF_KIND_ARRAY:
        mult *= t.nelems;
        id = t.elemType;
        break;
      default:
        throw new BtfFormatError(
          `BTF type [${t.id}] ${t.kindName}${t.name ? ` '${t.name}'` : ''} has no size`, { typeId: t.id });
    }
    if (size !== undefined) {
      const total = size * mult;
      if (!Number.isSafeInteger(total) || total > 0xffffffff) {
        throw new BtfFormatError(`BTF type size overflows (${size} x ${mult})`, { typeId: id });
      }
      return total;
    }
    if (++depth > MAX_RESOLVE_DEPTH) throw new BtfFormatError(`BTF type chain from [${t.id}] is too deep or loops`, { typeId: t.id });
  }
}

/** Follow typedefs and modifiers (volatile, const, restrict, type tags; not VARs) from a type
 *  id: the type a value of it is decoded as. null when the chain is longer than `maxDepth`. */
export function skipModifiers(btf: Btf, typeId: number, maxDepth = 64): BtfType | null {
  let t = btf.typeById(typeId);
  for (let depth = 0; depth < maxDepth; depth++) {
    switch (t.kind) {
      case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
      case BTF_KIND_TYPE_TAG:
        t = btf.typeById(t.type);
        break;
      default:
        return t;
    }
  }
  return null;
}
