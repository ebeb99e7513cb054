// BTF constants, with the names of the kernel UAPI (include/uapi/linux/btf.h).

export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
/** Size of `struct btf_header` as of BTF version 1 (hdr_len may be larger, never smaller). */
export const BTF_HEADER_SIZE = 24;
/** Size of `struct btf_type` (name_off, info, size/type). */
export const BTF_TYPE_SIZE = 12;

export const BTF_KIND_UNKN = 0;
export const BTF_KIND_INT = 1;
export const BTF_KIND_PTR = 2;
export const BTF_KIND_ARRAY = 3;
export const BTF_KIND_STRUCT = 4;
export const BTF_KIND_UNION = 5;
export const BTF_KIND_ENUM = 6;
export const BTF_KIND_FWD = 7;
export const BTF_KIND_TYPEDEF = 8;
export const BTF_KIND_VOLATILE = 9;
export const BTF_KIND_CONST = 10;
export const BTF_KIND_RESTRICT = 11;
export const BTF_KIND_FUNC = 12;
export const BTF_KIND_FUNC_PROTO = 13;
export const BTF_KIND_VAR = 14;
export const BTF_KIND_DATASEC = 15;
export const BTF_KIND_FLOAT = 16;
export const BTF_KIND_DECL_TAG = 17;
export const BTF_KIND_TYPE_TAG = 18;
export const BTF_KIND_ENUM64 = 19;
export const NR_BTF_KINDS = 20;
export const BTF_KIND_MAX = NR_BTF_KINDS - 1;

/** BTF_INT_ENCODING bits. */
export const BTF_INT_SIGNED = 1 << 0;
export const BTF_INT_CHAR = 1 << 1;
export const BTF_INT_BOOL = 1 << 2;

/** Linkage of a BTF_KIND_FUNC (stored in its vlen). */
export const BTF_FUNC_STATIC = 0;
export const BTF_FUNC_GLOBAL = 1;
export const BTF_FUNC_EXTERN = 2;

/** Linkage of a BTF_KIND_VAR (`struct btf_var`). */
export const BTF_VAR_STATIC = 0;
export const BTF_VAR_GLOBAL_ALLOCATED = 1;
export const BTF_VAR_GLOBAL_EXTERN = 2;

/** Short kind names, as printed by `bpftool btf dump` and libbpf's btf_kind_str(). */
export const BTF_KIND_NAMES = [
  'UNKN', 'INT', 'PTR', 'ARRAY', 'STRUCT', 'UNION', 'ENUM', 'FWD', 'TYPEDEF', 'VOLATILE',
  'CONST', 'RESTRICT', 'FUNC', 'FUNC_PROTO', 'VAR', 'DATASEC', 'FLOAT', 'DECL_TAG',
  'TYPE_TAG', 'ENUM64',
] as const;

/** Short name of a BTF kind (`'STRUCT'`, `'FUNC_PROTO'`, ...), as bpftool prints it. */
export type BtfKindName = (typeof BTF_KIND_NAMES)[number];

/** Kind of a valid BTF type record (BTF_KIND_UNKN only denotes `void`, type id 0). */
export type BtfKind =
  | typeof BTF_KIND_INT | typeof BTF_KIND_PTR | typeof BTF_KIND_ARRAY | typeof BTF_KIND_STRUCT
  | typeof BTF_KIND_UNION | typeof BTF_KIND_ENUM | typeof BTF_KIND_FWD | typeof BTF_KIND_TYPEDEF
  | typeof BTF_KIND_VOLATILE | typeof BTF_KIND_CONST | typeof BTF_KIND_RESTRICT
  | typeof BTF_KIND_FUNC | typeof BTF_KIND_FUNC_PROTO | typeof BTF_KIND_VAR
  | typeof BTF_KIND_DATASEC | typeof BTF_KIND_FLOAT | typeof BTF_KIND_DECL_TAG
  | typeof BTF_KIND_TYPE_TAG | typeof BTF_KIND_ENUM64;

/** BTF_INFO_KIND(info) */
export const btfInfoKind = (info: number): number => (info >>> 24) & 0x1f;
/** BTF_INFO_VLEN(info) */
export const btfInfoVlen = (info: number): number => info & 0xffff;
/** BTF_INFO_KFLAG(info) */
export const btfInfoKflag = (info: number): boolean => info >>> 31 === 1;

/**
 * Bytes that follow the 12-byte `struct btf_type` for a record of this kind and vlen,
 * or -1 for an unknown kind.
 */
export function btfTypeExtraSize(kind: number, vlen: number): number {
  switch (kind) {
    case BTF_KIND_INT: return 4;                       // u32 encoding
    case BTF_KIND_ARRAY: return 12;                    // struct btf_array
    case BTF_KIND_STRUCT: case BTF_KIND_UNION: return 12 * vlen; // struct btf_member
    case BTF_KIND_ENUM: return 8 * vlen;               // struct btf_enum
    case BTF_KIND_FUNC_PROTO: return 8 * vlen;         // struct btf_param
    case BTF_KIND_VAR: return 4;                       // struct btf_var
    case BTF_KIND_DATASEC: return 12 * vlen;           // struct btf_var_secinfo
    case BTF_KIND_DECL_TAG: return 4;                  // struct btf_decl_tag
    case BTF_KIND_ENUM64: return 12 * vlen;            // struct btf_enum64
    case BTF_KIND_PTR: case BTF_KIND_FWD: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST: case BTF_KIND_RESTRICT: case BTF_KIND_FUNC: case BTF_KIND_FLOAT:
    case BTF_KIND_TYPE_TAG:
      return 0;
    default: return -1;
  }
}
