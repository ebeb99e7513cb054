// Decoded BTF type records. `kind` is the BTF_KIND_* number (the discriminant), and
// `kindName` its short name ('STRUCT', as bpftool prints it).
import type {
  BTF_KIND_ARRAY, BTF_KIND_CONST, BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM,
  BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_FWD,
  BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF,
  BTF_KIND_TYPE_TAG, BTF_KIND_UNION, BTF_KIND_UNKN, BTF_KIND_VAR, BTF_KIND_VOLATILE,
} from './kinds.js';

interface Common<K extends number, N extends string> {
  /** Type id (0 is void; split BTF ids continue after its base's last id). */
  readonly id: number;
  readonly kind: K;
  readonly kindName: N;
  /** Name, '' when anonymous. */
  readonly name: string;
  /** Offset of the name in the string section (split BTF: continues after the base's). */
  readonly nameOff: number;
  /** Raw BTF_INFO_VLEN and BTF_INFO_KFLAG of the record (decoded into the fields below). */
  readonly vlen: number;
  readonly kflag: boolean;
}

/** Type id 0. */
export type BtfVoid = Common<typeof BTF_KIND_UNKN, 'UNKN'>;

/** A BTF_KIND_INT record. */
export interface BtfInt extends Common<typeof BTF_KIND_INT, 'INT'> {
  readonly size: number;
  /** BTF_INT_ENCODING: BTF_INT_SIGNED | BTF_INT_CHAR | BTF_INT_BOOL bits. */
  readonly encoding: number;
  readonly signed: boolean;
  readonly char: boolean;
  readonly bool: boolean;
  /** BTF_INT_OFFSET: bit offset of the value inside `size` bytes (almost always 0). */
  readonly bitOffset: number;
  /** BTF_INT_BITS: number of value bits. */
  readonly bits: number;
}

/** A BTF_KIND_PTR record. */
export interface BtfPtr extends Common<typeof BTF_KIND_PTR, 'PTR'> { readonly type: number }

/** A BTF_KIND_ARRAY record (`struct btf_array`). */
export interface BtfArray extends Common<typeof BTF_KIND_ARRAY, 'ARRAY'> {
  readonly elemType: number;
  readonly indexType: number;
  readonly nelems: number;
}

/** A member of a struct or union (`struct btf_member`). */
export interface BtfMember {
  readonly name: string;
  readonly nameOff: number;
  readonly type: number;
  /** Bit offset of the member from the start of the struct/union. */
  readonly bitOffset: number;
  /** Bitfield size in bits; 0 when not a bitfield (or when the parent's kflag is clear). */
  readonly bitfieldSize: number;
}

/** A BTF_KIND_STRUCT record. */
export interface BtfStruct extends Common<typeof BTF_KIND_STRUCT, 'STRUCT'> {
  readonly size: number;
  readonly members: readonly BtfMember[];
}

/** A BTF_KIND_UNION record. */
export interface BtfUnion extends Common<typeof BTF_KIND_UNION, 'UNION'> {
  readonly size: number;
  readonly members: readonly BtfMember[];
}

/** An enumerator of an enum (`struct btf_enum`, `struct btf_enum64`). */
export interface BtfEnumValue<V> { readonly name: string; readonly nameOff: number; readonly value: V }

/** A BTF_KIND_ENUM record (32-bit values). */
export interface BtfEnum extends Common<typeof BTF_KIND_ENUM, 'ENUM'> {
  readonly size: number;
  /** kflag: values are signed. */
  readonly signed: boolean;
  readonly values: readonly BtfEnumValue<number>[];
}

/** A BTF_KIND_ENUM64 record (64-bit values). */
export interface BtfEnum64 extends Common<typeof BTF_KIND_ENUM64, 'ENUM64'> {
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly BtfEnumValue<bigint>[];
}

/** A BTF_KIND_FWD record: a forward declaration. */
export interface BtfFwd extends Common<typeof BTF_KIND_FWD, 'FWD'> {
  readonly fwdKind: 'struct' | 'union';
}

/** A BTF_KIND_TYPEDEF record. */
export interface BtfTypedef extends Common<typeof BTF_KIND_TYPEDEF, 'TYPEDEF'> { readonly type: number }
/** A BTF_KIND_VOLATILE record. */
export interface BtfVolatile extends Common<typeof BTF_KIND_VOLATILE, 'VOLATILE'> { readonly type: number }
/** A BTF_KIND_CONST record. */
export interface BtfConst extends Common<typeof BTF_KIND_CONST, 'CONST'> { readonly type: number }
/** A BTF_KIND_RESTRICT record. */
export interface BtfRestrict extends Common<typeof BTF_KIND_RESTRICT, 'RESTRICT'> { readonly type: number }

/** A BTF_KIND_TYPE_TAG record. */
export interface BtfTypeTag extends Common<typeof BTF_KIND_TYPE_TAG, 'TYPE_TAG'> {
  readonly type: number;
  /** kflag: the tag is an `__attribute__((...))` rather than a btf_type_tag. */
  readonly attribute: boolean;
}

/** Linkage of a BTF_KIND_FUNC. */
export type BtfFuncLinkage = 'static' | 'global' | 'extern';

/** A BTF_KIND_FUNC record. */
export interface BtfFunc extends Common<typeof BTF_KIND_FUNC, 'FUNC'> {
  /** The FUNC_PROTO. */
  readonly type: number;
  readonly linkage: BtfFuncLinkage;
}

/** A parameter of a function prototype (`struct btf_param`). */
export interface BtfParam { readonly name: string; readonly nameOff: number; readonly type: number }

/** A BTF_KIND_FUNC_PROTO record. */
export interface BtfFuncProto extends Common<typeof BTF_KIND_FUNC_PROTO, 'FUNC_PROTO'> {
  readonly returnType: number;
  /** Parameters, without the trailing `...` marker (name 0, type 0) of a variadic function. */
  readonly params: readonly BtfParam[];
  readonly variadic: boolean;
}

/** Linkage of a BTF_KIND_VAR. */
export type BtfVarLinkage = 'static' | 'global' | 'extern';

/** A BTF_KIND_VAR record. */
export interface BtfVar extends Common<typeof BTF_KIND_VAR, 'VAR'> {
  readonly type: number;
  readonly linkage: BtfVarLinkage;
}

/** A variable of a data section (`struct btf_var_secinfo`). */
export interface BtfVarSecinfo { readonly type: number; readonly offset: number; readonly size: number }

/** A BTF_KIND_DATASEC record. */
export interface BtfDatasec extends Common<typeof BTF_KIND_DATASEC, 'DATASEC'> {
  readonly size: number;
  readonly vars: readonly BtfVarSecinfo[];
}

/** A BTF_KIND_FLOAT record. */
export interface BtfFloat extends Common<typeof BTF_KIND_FLOAT, 'FLOAT'> { readonly size: number }

/** A BTF_KIND_DECL_TAG record. */
export interface BtfDeclTag extends Common<typeof BTF_KIND_DECL_TAG, 'DECL_TAG'> {
  readonly type: number;
  /** Member/parameter index the tag applies to, -1 for the type/function/variable itself. */
  readonly componentIdx: number;
  readonly attribute: boolean;
}

/** A BTF type record, told apart by its `kind` (type id 0 is {@link BtfVoid}). */
export type BtfType =
  | BtfVoid | BtfInt | BtfPtr | BtfArray | BtfStruct | BtfUnion | BtfEnum | BtfFwd | BtfTypedef
  | BtfVolatile | BtfConst | BtfRestrict | BtfFunc | BtfFuncProto | BtfVar | BtfDatasec
  | BtfFloat | BtfDeclTag | BtfTypeTag | BtfEnum64;

/** `struct btf_header`. */
export interface BtfHeader {
  readonly magic: number;
  readonly version: number;
  readonly flags: number;
  readonly hdrLen: number;
  readonly typeOff: number;
  readonly typeLen: number;
  readonly strOff: number;
  readonly strLen: number;
}
