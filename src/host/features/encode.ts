// The raw material of libbpf's feature probes: instructions and minimal BTF blobs, encoded
// the way libbpf's macros (linux/filter.h, libbpf_internal.h) and libbpf__load_raw_btf()
// encode them, in this host's byte order (the kernel reads both in its own).
import { endianness } from 'node:os';
import {
  BTF_HEADER_SIZE, BTF_KIND_DECL_TAG, BTF_KIND_FLOAT, BTF_KIND_INT, BTF_KIND_TYPE_TAG, BTF_MAGIC, BTF_VERSION,
} from '../../btf/kinds.js';
import { StructBuf } from '../attr.js';
import * as U from '../generated/uapi.js';

const LE = endianness() === 'LE';

export interface Insn {
  code: number;
  dst?: number;
  src?: number;
  off?: number;
  imm?: number;
}

/** struct bpf_insn[] as bytes (the generated layout places the register bit-fields). */
export function insns(list: readonly Insn[]): Uint8Array {
  const size = U.layouts.bpf_insn.size;
  const out = new Uint8Array(new ArrayBuffer(size * list.length));
  list.forEach((i, k) => {
    const s = new StructBuf(U.layouts.bpf_insn, 'bpf_insn')
      .set('code', i.code).set('dst_reg', i.dst ?? 0).set('src_reg', i.src ?? 0).set('off', i.off ?? 0).set('imm', i.imm ?? 0);
    out.set(s.buf, k * size);
  });
  return out;
}

export const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R10 = 10;
/** BPF_MOV64_IMM */
export const mov64Imm = (dst: number, imm: number): Insn => ({ code: U.BPF_ALU64 | U.BPF_MOV | U.BPF_K, dst, imm });
/** BPF_MOV64_REG */
export const mov64Reg = (dst: number, src: number): Insn => ({ code: U.BPF_ALU64 | U.BPF_MOV | U.BPF_X, dst, src });
/** BPF_ALU64_IMM(BPF_ADD, ...) */
export const add64Imm = (dst: number, imm: number): Insn => ({ code: U.BPF_ALU64 | U.BPF_ADD | U.BPF_K, dst, imm });
/** BPF_ST_MEM(BPF_DW, ...) */
export const stMemDw = (dst: number, off: number, imm: number): Insn => ({ code: U.BPF_ST | U.BPF_MEM | U.BPF_DW, dst, off, imm });
/** BPF_LD_MAP_VALUE(dst, map_fd, value_off): a two-slot ld_imm64 */
export const ldMapValue = (dst: number, mapFd: number, valueOff: number): Insn[] => [
  { code: U.BPF_LD | U.BPF_DW | U.BPF_IMM, dst, src: U.BPF_PSEUDO_MAP_VALUE, imm: mapFd },
  { code: 0, imm: valueOff },
];
/** BPF_EMIT_CALL / BPF_RAW_INSN(BPF_JMP | BPF_CALL, 0, 0, 0, fn) */
export const callHelper = (fn: number): Insn => ({ code: U.BPF_JMP | U.BPF_CALL, imm: fn });
/** BPF_CALL_REL(imm): a call of a subprogram */
export const callRel = (imm: number): Insn => ({ code: U.BPF_JMP | U.BPF_CALL, src: U.BPF_PSEUDO_CALL, imm });
/** BPF_EXIT_INSN */
export const exit = (): Insn => ({ code: U.BPF_JMP | U.BPF_EXIT });

// BTF type records (libbpf_internal.h's BTF_*_ENC macros); each returns u32 words

/** BTF_INFO_ENC */
export const btfInfo = (kind: number, kflag: number, vlen: number): number =>
  ((kflag ? 1 : 0) << 31 | (kind & 0x1f) << 24 | (vlen & 0xffff)) >>> 0;
/** BTF_TYPE_ENC */
export const btfType = (name: number, info: number, sizeOrType: number): number[] => [name, info, sizeOrType];
/** BTF_TYPE_INT_ENC */
export const btfTypeInt = (name: number, encoding: number, bitsOffset: number, bits: number, size: number): number[] => [
  ...btfType(name, btfInfo(BTF_KIND_INT, 0, 0), size), ((encoding << 24) | (bitsOffset << 16) | bits) >>> 0,
];
/** BTF_PARAM_ENC */
export const btfParam = (name: number, type: number): number[] => [name, type];
/** BTF_VAR_SECINFO_ENC */
export const btfVarSecinfo = (type: number, offset: number, size: number): number[] => [type, offset, size];
/** BTF_TYPE_FLOAT_ENC */
export const btfTypeFloat = (name: number, size: number): number[] => btfType(name, btfInfo(BTF_KIND_FLOAT, 0, 0), size);
/** BTF_TYPE_DECL_TAG_ENC */
export const btfTypeDeclTag = (value: number, type: number, componentIdx: number): number[] => [
  ...btfType(value, btfInfo(BTF_KIND_DECL_TAG, 0, 0), type), componentIdx >>> 0,
];
/** BTF_TYPE_TYPE_TAG_ENC */
export const btfTypeTypeTag = (value: number, type: number): number[] => btfType(value, btfInfo(BTF_KIND_TYPE_TAG, 0, 0), type);
/** BTF_VAR_STATIC */
export const BTF_VAR_STATIC = 0;

/**
 * libbpf__load_raw_btf()'s blob: a btf_header, the type words, then the string section
 * exactly as given (a C string literal's bytes including its terminating NUL).
 */
export function rawBtf(types: readonly number[], strs: string): Uint8Array {
  const str = new TextEncoder().encode(strs);
  const typeLen = types.length * 4;
  const out = new Uint8Array(new ArrayBuffer(BTF_HEADER_SIZE + typeLen + str.length));
  const dv = new DataView(out.buffer);
  dv.setUint16(0, BTF_MAGIC, LE);
  dv.setUint8(2, BTF_VERSION);
  dv.setUint8(3, 0);
  dv.setUint32(4, BTF_HEADER_SIZE, LE); // hdr_len
  dv.setUint32(8, 0, LE); // type_off
  dv.setUint32(12, typeLen, LE);
  dv.setUint32(16, typeLen, LE); // str_off
  dv.setUint32(20, str.length, LE);
  types.forEach((w, i) => dv.setUint32(BTF_HEADER_SIZE + i * 4, w >>> 0, LE));
  out.set(str, BTF_HEADER_SIZE + typeLen);
  return out;
}

/** struct bpf_func_info_min[] (insn_off, type_id) */
export function funcInfos(recs: readonly [number, number][]): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(recs.length * 8));
  const dv = new DataView(out.buffer);
  recs.forEach(([off, id], i) => {
    dv.setUint32(i * 8, off, LE);
    dv.setUint32(i * 8 + 4, id, LE);
  });
  return out;
}
