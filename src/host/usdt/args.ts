// USDT argument specs → libbpf's `struct __bpf_usdt_spec` (usdt.bpf.h), exactly as usdt.c's
// parse_usdt_spec() / parse_usdt_arg() build it, so that programs using BPF_USDT(),
// bpf_usdt_arg() and bpf_usdt_cookie() read the same values they read under libbpf.
// An argument is "SIZE@LOCATION" (SIZE negative: signed): a constant, a register, or memory
// at register + offset; registers become offsets into the kernel's struct pt_regs.
// x86-64 and arm64 (the architectures corebpf runs on); others are refused by name.
import { NotSupportedError, ObjectFormatError } from '../../errors.js';

/** enum __bpf_usdt_arg_type */
export const USDT_ARG_CONST = 0;
export const USDT_ARG_REG = 1;
export const USDT_ARG_REG_DEREF = 2;

/** BPF_USDT_MAX_ARG_CNT of usdt.bpf.h (USDT_MAX_ARG_CNT in usdt.c). */
export const USDT_MAX_ARG_CNT = 12;
/** sizeof(struct __bpf_usdt_arg_spec): u64 val_off; u32 arg_type; s16 reg_off; bool arg_signed; s8 arg_bitshift. */
const ARG_SPEC_SIZE = 16;
/** sizeof(struct __bpf_usdt_spec): args[12], u64 usdt_cookie, s16 arg_cnt, padded to 8. */
export const USDT_SPEC_SIZE = 208;

export interface UsdtArgSpec {
  type: number;
  valOff: bigint;
  regOff: number;
  signed: boolean;
  bitshift: number;
}

export interface UsdtSpec {
  args: UsdtArgSpec[];
  cookie: bigint;
}

const EM_X86_64 = 62;
const EM_AARCH64 = 183;

// offsetof(struct pt_regs, ...) of x86-64 (arch/x86/include/asm/ptrace.h)
const X86_64_REGS: [string[], number][] = [
  [['rip', 'eip', '', ''], 128], [['rax', 'eax', 'ax', 'al'], 80], [['rbx', 'ebx', 'bx', 'bl'], 40],
  [['rcx', 'ecx', 'cx', 'cl'], 88], [['rdx', 'edx', 'dx', 'dl'], 96], [['rsi', 'esi', 'si', 'sil'], 104],
  [['rdi', 'edi', 'di', 'dil'], 112], [['rbp', 'ebp', 'bp', 'bpl'], 32], [['rsp', 'esp', 'sp', 'spl'], 152],
  [['r8', 'r8d', 'r8w', 'r8b'], 72], [['r9', 'r9d', 'r9w', 'r9b'], 64], [['r10', 'r10d', 'r10w', 'r10b'], 56],
  [['r11', 'r11d', 'r11w', 'r11b'], 48], [['r12', 'r12d', 'r12w', 'r12b'], 24], [['r13', 'r13d', 'r13w', 'r13b'], 16],
  [['r14', 'r14d', 'r14w', 'r14b'], 8], [['r15', 'r15d', 'r15w', 'r15b'], 0],
];

function x86RegOff(name: string, spec: string): number {
  for (const [names, off] of X86_64_REGS) if (name !== '' && names.includes(name)) return off;
  throw new ObjectFormatError(`USDT argument '${spec}': unrecognized x86-64 register '${name}'`, { spec });
}

// offsetof(struct user_pt_regs, ...) of arm64: regs[31], sp
function arm64RegOff(name: string, spec: string): number {
  const m = /^x(\d+)$/.exec(name);
  if (m && Number(m[1]) < 31) return Number(m[1]) * 8;
  if (name === 'sp') return 31 * 8;
  throw new ObjectFormatError(`USDT argument '${spec}': unrecognized arm64 register '${name}'`, { spec });
}

type Parsed = { size: number; type: number; valOff: bigint; regOff: number; len: number };

// the sscanf formats of usdt.c, in its order; each regex consumes trailing blanks like " %n"
const N = '([+-]?\\d+)';
function parseX86(s: string): Parsed | null {
  let m;
  if ((m = new RegExp(`^\\s*${N}\\s*@\\s*${N}\\s*\\(\\s*%([^)]{1,15})\\)\\s*`).exec(s))) {
    return { size: Number(m[1]), type: USDT_ARG_REG_DEREF, valOff: BigInt(m[2]), regOff: x86RegOff(m[3].trim(), s), len: m[0].length };
  }
  if ((m = new RegExp(`^\\s*${N}\\s*@\\s*\\(\\s*%([^)]{1,15})\\)\\s*`).exec(s))) {
    return { size: Number(m[1]), type: USDT_ARG_REG_DEREF, valOff: 0n, regOff: x86RegOff(m[2].trim(), s), len: m[0].length };
  }
  if ((m = new RegExp(`^\\s*${N}\\s*@\\s*%(\\S{1,15})\\s*`).exec(s))) {
    return { size: Number(m[1]), type: USDT_ARG_REG, valOff: 0n, regOff: x86RegOff(m[2], s), len: m[0].length };
  }
  if ((m = new RegExp(`^\\s*${N}\\s*@\\s*\\$${N}\\s*`).exec(s))) {
    return { size: Number(m[1]), type: USDT_ARG_CONST, valOff: BigInt(m[2]), regOff: 0, len: m[0].length };
  }
  return null;
}

function parseArm64(s: string): Parsed | null {
  let m;
  if ((m = new RegExp(`^\\s*${N}\\s*@\\s*\\[\\s*([a-z0-9]{1,15})\\s*,\\s*${N}\\s*\\]\\s*`).exec(s))) {
    return { size: Number(m[1]), type: USDT_ARG_REG_DEREF, valOff: BigInt(m[3]), regOff: arm64RegOff(m[2], s), len: m[0].length };
  }
  if ((m = new RegExp(`^\\s*${N}\\s*@\\s*\\[\\s*([a-z0-9]{1,15})\\s*\\]\\s*`).exec(s))) {
    return { size: Number(m[1]), type: USDT_ARG_REG_DEREF, valOff: 0n, regOff: arm64RegOff(m[2], s), len: m[0].length };
  }
  if ((m = new RegExp(`^\\s*${N}\\s*@\\s*${N}(?![a-z0-9])\\s*`).exec(s))) {
    return { size: Number(m[1]), type: USDT_ARG_CONST, valOff: BigInt(m[2]), regOff: 0, len: m[0].length };
  }
  if ((m = new RegExp(`^\\s*${N}\\s*@\\s*([a-z0-9]{1,15})\\s*`).exec(s))) {
    return { size: Number(m[1]), type: USDT_ARG_REG, valOff: 0n, regOff: arm64RegOff(m[2], s), len: m[0].length };
  }
  return null;
}

/** Parse a note's argument spec string for ELF machine `machine` (libbpf's parse_usdt_spec()). */
export function parseUsdtSpec(args: string, machine: number, cookie: bigint | number = 0n): UsdtSpec {
  const parse = machine === EM_X86_64 ? parseX86 : machine === EM_AARCH64 ? parseArm64 : null;
  if (!parse) throw new NotSupportedError(`USDT argument specs of ELF machine ${machine} are not implemented by corebpf (x86-64 and arm64 are)`, { feature: 'usdt args', machine });
  const out: UsdtArgSpec[] = [];
  let s = args;
  while (s.length) {
    if (out.length >= USDT_MAX_ARG_CNT) throw new ObjectFormatError(`too many USDT arguments (> ${USDT_MAX_ARG_CNT}) in '${args}'`, { spec: args });
    const p = parse(s);
    if (!p || p.len === 0) throw new ObjectFormatError(`unrecognized USDT argument #${out.length} '${s}' (in '${args}')`, { spec: args, arg: out.length });
    const size = Math.abs(p.size);
    if (![1, 2, 4, 8].includes(size)) throw new ObjectFormatError(`USDT argument #${out.length} '${s}' has unsupported size ${p.size}`, { spec: args, arg: out.length });
    out.push({ type: p.type, valOff: BigInt.asUintN(64, p.valOff), regOff: p.regOff, signed: p.size < 0, bitshift: 64 - size * 8 });
    s = s.slice(p.len);
  }
  return { args: out, cookie: BigInt.asUintN(64, BigInt(cookie)) };
}

/** The `struct __bpf_usdt_spec` bytes (little-endian hosts: x86-64, arm64). */
export function encodeUsdtSpec(spec: UsdtSpec): Uint8Array {
  const b = new Uint8Array(USDT_SPEC_SIZE);
  const dv = new DataView(b.buffer);
  spec.args.forEach((a, i) => {
    const o = i * ARG_SPEC_SIZE;
    dv.setBigUint64(o, a.valOff, true);
    dv.setUint32(o + 8, a.type, true);
    dv.setInt16(o + 12, a.regOff, true);
    dv.setUint8(o + 14, a.signed ? 1 : 0);
    dv.setInt8(o + 15, a.bitshift);
  });
  dv.setBigUint64(USDT_MAX_ARG_CNT * ARG_SPEC_SIZE, spec.cookie, true);
  dv.setInt16(USDT_MAX_ARG_CNT * ARG_SPEC_SIZE + 8, spec.args.length, true);
  return b;
}
