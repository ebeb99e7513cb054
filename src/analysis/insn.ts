// struct bpf_insn decoding for the reachability analysis: the kernel UAPI's opcode fields,
// in either byte order (a big-endian object keeps dst_reg in the high nibble).
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_JMP32 = 0x06;
export const BPF_ALU64 = 0x07;

export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_MEMSX = 0x80;
export const BPF_ATOMIC = 0xc0;

export const BPF_K = 0x00;
export const BPF_X = 0x08;

export const BPF_JA = 0x00;
export const BPF_CALL = 0x80;
export const BPF_EXIT = 0x90;

export const BPF_PSEUDO_MAP_FD = 1;
export const BPF_PSEUDO_MAP_VALUE = 2;
export const BPF_PSEUDO_BTF_ID = 3;
export const BPF_PSEUDO_FUNC = 4;
export const BPF_PSEUDO_MAP_IDX = 5;
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;
export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_KFUNC_CALL = 2;

export const BPF_FETCH = 0x01;
export const BPF_XCHG = 0xe0 | BPF_FETCH;
export const BPF_CMPXCHG = 0xf0 | BPF_FETCH;

/* libbpf's poison values (relo_core.c, libbpf.c): an invalid helper call the verifier
 * rejects ("invalid func unknown#N") if, and only if, it reaches it */
export const POISON_CORE = 0xbad2310;
export const POISON_LDIMM64_MAP_BASE = 2001000000;
export const POISON_CALL_KFUNC_BASE = 2002000000;

export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

export const cls = (code: number): number => code & 0x07;
export const op = (code: number): number => code & 0xf0;
export const size = (code: number): number => [4, 2, 1, 8][(code >> 3) & 0x03]!;
export const mode = (code: number): number => code & 0xe0;

export function decodeInsns(bytes: Uint8Array, littleEndian: boolean): Insn[] {
  if (bytes.byteLength % 8) throw new RangeError(`instructions are ${bytes.byteLength} bytes, not a multiple of 8`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Insn[] = new Array(bytes.byteLength / 8);
  for (let i = 0; i < out.length; i++) {
    const o = i * 8;
    const regs = v.getUint8(o + 1);
    out[i] = {
      code: v.getUint8(o),
      dst: littleEndian ? regs & 0x0f : regs >> 4,
      src: littleEndian ? regs >> 4 : regs & 0x0f,
      off: v.getInt16(o + 2, littleEndian),
      imm: v.getInt32(o + 4, littleEndian),
    };
  }
  return out;
}

export const isLdImm64 = (i: Insn): boolean => i.code === (BPF_LD | BPF_IMM | 0x18);

/** a call the verifier rejects if it gets there: which kind of poison, or null */
export function poisonOf(i: Insn): 'core' | 'map' | 'kfunc' | null {
  if (i.code !== (BPF_JMP | BPF_CALL) || i.src !== 0) return null;
  if (i.imm === POISON_CORE) return 'core';
  if (i.imm >= POISON_LDIMM64_MAP_BASE && i.imm < POISON_LDIMM64_MAP_BASE + 1000000) return 'map';
  if (i.imm >= POISON_CALL_KFUNC_BASE && i.imm < POISON_CALL_KFUNC_BASE + 1000000) return 'kfunc';
  return null;
}
