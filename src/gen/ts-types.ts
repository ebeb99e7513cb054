// TypeScript types for BTF types: exactly what src/host/btf-codec.ts decodes each type to
// (and accepts back). The rules are the codec's, case by case:
//
//   bool (8 bits, no bit offset)      boolean    INT <= 4 bytes      number
//   INT 8 or 16 bytes                 bigint     ENUM / ENUM64       number / bigint
//   pointer                           bigint     float / double      number
//   char[N]                           string     other arrays        T[]
//   struct / union                    interface (anonymous members flattened, unnamed
//                                     bitfields skipped, bitfields by their type's size)
//   DATASEC                           object of its variables
//   anything else (void, FWD, FUNC)   Buffer
//
// Named structs and unions (and anonymous ones behind a typedef) become exported
// interfaces; the others are written inline. Names are given in the order types are first
// reached, so the same BTF and the same requests give the same text.
import { skipModifiers, type Btf } from '../btf/reader.js';
import {
  BTF_KIND_ARRAY, BTF_KIND_DATASEC, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_UNION, BTF_KIND_VAR,
} from '../btf/kinds.js';
import type { BtfMember, BtfType } from '../btf/types.js';

const MAX_DEPTH = 64;

/** Identifiers the generated module uses itself, or global types a struct must not shadow. */
const RESERVED = new Set([
  'corebpf', 'os', 'Buffer', 'Promise', 'Array', 'Object', 'String', 'Number', 'Boolean', 'BigInt', 'Symbol',
  'Map', 'Set', 'Error', 'Record', 'Partial', 'Readonly', 'Uint8Array', 'Date', 'Function', 'Iterable',
]);

/** snake_case / kebab -> PascalCase identifier ("lpm_key" -> "LpmKey"). */
export function pascalCase(name: string): string {
  const s = name.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  return /^[0-9]/.test(s) ? `_${s}` : s || '_';
}

/** A JS property name: bare when it is an identifier, else quoted. */
export function propName(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

export interface Declaration {
  name: string;
  /** the C type it was made from ("struct event", "typedef foo_t") */
  cType: string;
  size: number;
  /** member name -> TS type */
  fields: ReadonlyMap<string, string>;
  body: string;
}

export class TsTypes {
  readonly #names = new Map<number, string>();
  readonly #used: Set<string>;
  readonly #decls: Declaration[] = [];

  /** `reserved`: identifiers the caller emits itself (interface and class names). */
  constructor(readonly btf: Btf, reserved: Iterable<string> = []) {
    this.#used = new Set([...RESERVED, ...reserved]);
  }

  /** The exported interfaces, in the order they were first needed. */
  get declarations(): readonly Declaration[] {
    return this.#decls;
  }

  /** Follow typedefs and modifiers, as the codec's resolve(). */
  resolve(typeId: number): BtfType {
    const t = skipModifiers(this.btf, typeId, MAX_DEPTH);
    if (t) return t;
    throw new Error(`BTF type chain from [${typeId}] is too deep`);
  }

  /** Reserve an identifier (fresh: suffixed when taken). */
  claim(wanted: string): string {
    let name = wanted;
    for (let i = 2; this.#used.has(name); i++) name = `${wanted}${i}`;
    this.#used.add(name);
    return name;
  }

  /** The TS type of values of BTF type `typeId` (declaring interfaces it needs). */
  typeOf(typeId: number, depth = 0): string {
    if (depth > MAX_DEPTH) throw new Error('BTF type nesting too deep');
    const t = this.resolve(typeId);
    switch (t.kind) {
      case BTF_KIND_INT:
        if (t.bool && t.bits <= 8 && t.bitOffset === 0) return 'boolean';
        if (t.bitOffset !== 0 || t.bits !== t.size * 8) return t.bool ? 'boolean' : t.size <= 4 ? 'number' : 'bigint';
        return t.size <= 4 ? 'number' : 'bigint';
      case BTF_KIND_ENUM: return 'number';
      case BTF_KIND_ENUM64: return 'bigint';
      case BTF_KIND_PTR: return 'bigint';
      case BTF_KIND_FLOAT: return t.size === 4 || t.size === 8 ? 'number' : 'Buffer';
      case BTF_KIND_ARRAY: {
        if (this.#isChar(t.elemType)) return 'string';
        const e = this.typeOf(t.elemType, depth + 1);
        return /^[A-Za-z0-9_]+$/.test(e) ? `${e}[]` : `Array<${e}>`;
      }
      case BTF_KIND_STRUCT: case BTF_KIND_UNION:
        return this.#named(typeId, t, depth) ?? inlineObject(this.#fields(t.members, depth));
      case BTF_KIND_DATASEC: {
        const fields = new Map<string, string>();
        for (const v of t.vars) {
          const vt = this.btf.typeById(v.type);
          if (vt.kind === BTF_KIND_VAR) fields.set(vt.name, this.typeOf(vt.type, depth + 1));
        }
        return inlineObject(fields);
      }
      case BTF_KIND_VAR:
        return this.typeOf(t.type, depth + 1);
      default:
        return 'Buffer';
    }
  }

  #isChar(typeId: number): boolean {
    const t = this.resolve(typeId);
    return t.kind === BTF_KIND_INT && t.size === 1 && (t.char || t.name === 'char');
  }

  /** A named struct/union's interface name, declared on first use; null for anonymous ones
   *  not reached through a typedef. */
  #named(typeId: number, t: BtfType & { kind: typeof BTF_KIND_STRUCT | typeof BTF_KIND_UNION }, depth: number): string | null {
    let cName = t.name ? `${t.kind === BTF_KIND_UNION ? 'union' : 'struct'} ${t.name}` : '';
    let key = t.id;
    if (!t.name) {
      // an anonymous struct behind a typedef takes the typedef's name
      const td = this.btf.typeById(typeId);
      if (td.kind !== BTF_KIND_TYPEDEF || !td.name) return null;
      cName = `typedef ${td.name}`;
    }
    const known = this.#names.get(key);
    if (known) return known;
    const name = this.claim(pascalCase(t.name || this.btf.typeById(typeId).name));
    this.#names.set(key, name);
    const decl = { name, cType: cName, size: t.size, fields: new Map<string, string>(), body: '' };
    this.#decls.push(decl); // before its members: interfaces come in the order they are first reached
    decl.fields = this.#fields(t.members, depth);
    decl.body = blockObject(decl.fields);
    return name;
  }

  /** The codec's named fields of a struct/union, with their TS types. */
  #fields(members: readonly BtfMember[], depth: number, out = new Map<string, string>()): Map<string, string> {
    for (const m of members) {
      if (m.bitfieldSize > 0 || m.bitOffset % 8 !== 0) {
        if (!m.name) continue;
        const mt = this.resolve(m.type);
        const bool = mt.kind === BTF_KIND_INT && mt.bool;
        out.set(m.name, bool ? 'boolean' : this.btf.resolveSize(m.type) <= 4 ? 'number' : 'bigint');
        continue;
      }
      if (!m.name) {
        const mt = this.resolve(m.type);
        if (mt.kind === BTF_KIND_STRUCT || mt.kind === BTF_KIND_UNION) this.#fields(mt.members, depth + 1, out);
        continue;
      }
      // the codec decodes a later member of the same name over an earlier one
      out.delete(m.name);
      out.set(m.name, this.typeOf(m.type, depth + 1));
    }
    return out;
  }
}

/** `{ a: number; b: string }` (an anonymous struct inside another type) */
function inlineObject(fields: Map<string, string>): string {
  if (!fields.size) return 'Record<string, never>';
  return `{ ${[...fields].map(([k, v]) => `${propName(k)}: ${v}`).join('; ')} }`;
}

/** an interface's body, one member a line */
export function blockObject(fields: Map<string, string>): string {
  if (!fields.size) return '{}';
  return `{\n${[...fields].map(([k, v]) => `  ${propName(k)}: ${v};`).join('\n')}\n}`;
}
