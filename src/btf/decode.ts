// Decoding one BTF type record into its object (BtfType), apart from the reader: it is the
// one place that knows each kind's record layout past the common header, while the reader
// only finds records and caches what this returns.
import { BtfFormatError } from './errors.js';
import {
  BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, BTF_KIND_ARRAY, BTF_KIND_CONST,
  BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FLOAT,
  BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_FWD, BTF_KIND_INT, BTF_KIND_PTR,
  BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_TYPE_TAG, BTF_KIND_UNION,
  BTF_KIND_UNKN, BTF_KIND_VAR, BTF_KIND_VOLATILE, BTF_TYPE_SIZE,
  btfInfoKflag, btfInfoKind, btfInfoVlen,
} from './kinds.js';
import type { Btf } from './reader.js';
import type {
  BtfEnumValue, BtfFuncLinkage, BtfMember, BtfParam, BtfType, BtfVarLinkage, BtfVarSecinfo, BtfVoid,
} from './types.js';

/** Type id 0. */
export const VOID: BtfVoid = { id: 0, kind: BTF_KIND_UNKN, kindName: 'UNKN', name: '', nameOff: 0, vlen: 0, kflag: false };
const FUNC_LINKAGE: readonly BtfFuncLinkage[] = ['static', 'global', 'extern'];
const VAR_LINKAGE: readonly BtfVarLinkage[] = ['static', 'global', 'extern'];

/** The type `id`, whose record starts at byte `p` of `v`; `strings` names it and its members. */
export function decodeType(strings: Pick<Btf, 'strAt'>, v: DataView, le: boolean, id: number, p: number): BtfType {
  const u32 = (o: number): number => v.getUint32(o, le);
  const nameOff = u32(p), info = u32(p + 4), sizeOrType = u32(p + 8);
  const kind = btfInfoKind(info), vlen = btfInfoVlen(info), kflag = btfInfoKflag(info);
  const name = nameOff === 0 ? '' : strings.strAt(nameOff);
  const q = p + BTF_TYPE_SIZE;
  const c = { id, name, nameOff, vlen, kflag };
  switch (kind) {
    case BTF_KIND_INT: {
      const enc = u32(q), encoding = (enc >>> 24) & 0x0f;
      return {
        ...c, kind, kindName: 'INT', size: sizeOrType, encoding,
        signed: (encoding & BTF_INT_SIGNED) !== 0, char: (encoding & BTF_INT_CHAR) !== 0,
        bool: (encoding & BTF_INT_BOOL) !== 0, bitOffset: (enc >>> 16) & 0xff, bits: enc & 0xff,
      };
    }
    case BTF_KIND_PTR: return { ...c, kind, kindName: 'PTR', type: sizeOrType };
    case BTF_KIND_ARRAY:
      return { ...c, kind, kindName: 'ARRAY', elemType: u32(q), indexType: u32(q + 4), nelems: u32(q + 8) };
    case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
      const members: BtfMember[] = new Array(vlen);
      for (let k = 0; k < vlen; k++) {
        const m = q + 12 * k, mName = u32(m), off = u32(m + 8);
        members[k] = {
          name: mName === 0 ? '' : strings.strAt(mName), nameOff: mName, type: u32(m + 4),
          bitOffset: kflag ? off & 0xffffff : off, bitfieldSize: kflag ? off >>> 24 : 0,
        };
      }
      return kind === BTF_KIND_STRUCT
        ? { ...c, kind, kindName: 'STRUCT', size: sizeOrType, members }
        : { ...c, kind, kindName: 'UNION', size: sizeOrType, members };
    }
    case BTF_KIND_ENUM: {
      const values: BtfEnumValue<number>[] = new Array(vlen);
      for (let k = 0; k < vlen; k++) {
        const e = q + 8 * k, eName = u32(e);
        values[k] = { name: eName === 0 ? '' : strings.strAt(eName), nameOff: eName, value: kflag ? v.getInt32(e + 4, le) : u32(e + 4) };
      }
      return { ...c, kind, kindName: 'ENUM', size: sizeOrType, signed: kflag, values };
    }
    case BTF_KIND_ENUM64: {
      const values: BtfEnumValue<bigint>[] = new Array(vlen);
      for (let k = 0; k < vlen; k++) {
        const e = q + 12 * k, eName = u32(e);
        const raw = (BigInt(u32(e + 8)) << 32n) | BigInt(u32(e + 4));
        values[k] = { name: eName === 0 ? '' : strings.strAt(eName), nameOff: eName, value: kflag ? BigInt.asIntN(64, raw) : raw };
      }
      return { ...c, kind, kindName: 'ENUM64', size: sizeOrType, signed: kflag, values };
    }
    case BTF_KIND_FWD: return { ...c, kind, kindName: 'FWD', fwdKind: kflag ? 'union' : 'struct' };
    case BTF_KIND_TYPEDEF: return { ...c, kind, kindName: 'TYPEDEF', type: sizeOrType };
    case BTF_KIND_VOLATILE: return { ...c, kind, kindName: 'VOLATILE', type: sizeOrType };
    case BTF_KIND_CONST: return { ...c, kind, kindName: 'CONST', type: sizeOrType };
    case BTF_KIND_RESTRICT: return { ...c, kind, kindName: 'RESTRICT', type: sizeOrType };
    case BTF_KIND_TYPE_TAG: return { ...c, kind, kindName: 'TYPE_TAG', type: sizeOrType, attribute: kflag };
    case BTF_KIND_FUNC: {
      const linkage = FUNC_LINKAGE[vlen];
      if (!linkage) throw new BtfFormatError(`BTF type [${id}] FUNC has invalid linkage ${vlen}`, { offset: p + 4, typeId: id });
      return { ...c, kind, kindName: 'FUNC', type: sizeOrType, linkage };
    }
    case BTF_KIND_FUNC_PROTO: {
      const params: BtfParam[] = [];
      let variadic = false;
      for (let k = 0; k < vlen; k++) {
        const e = q + 8 * k, pName = u32(e), pType = u32(e + 4);
        if (k === vlen - 1 && pName === 0 && pType === 0) { variadic = true; break; }
        params.push({ name: pName === 0 ? '' : strings.strAt(pName), nameOff: pName, type: pType });
      }
      return { ...c, kind, kindName: 'FUNC_PROTO', returnType: sizeOrType, params, variadic };
    }
    case BTF_KIND_VAR: {
      const linkage = VAR_LINKAGE[u32(q)];
      if (!linkage) throw new BtfFormatError(`BTF type [${id}] VAR has invalid linkage ${u32(q)}`, { offset: q, typeId: id });
      return { ...c, kind, kindName: 'VAR', type: sizeOrType, linkage };
    }
    case BTF_KIND_DATASEC: {
      const vars: BtfVarSecinfo[] = new Array(vlen);
      for (let k = 0; k < vlen; k++) {
        const e = q + 12 * k;
        vars[k] = { type: u32(e), offset: u32(e + 4), size: u32(e + 8) };
      }
      return { ...c, kind, kindName: 'DATASEC', size: sizeOrType, vars };
    }
    case BTF_KIND_FLOAT: return { ...c, kind, kindName: 'FLOAT', size: sizeOrType };
    case BTF_KIND_DECL_TAG:
      return { ...c, kind, kindName: 'DECL_TAG', type: sizeOrType, componentIdx: v.getInt32(q, le), attribute: kflag };
    default:
      // unreachable: kinds were checked while indexing the records
      throw new BtfFormatError(`BTF type [${id}] has invalid kind ${kind}`, { offset: p + 4, typeId: id });
  }
}
