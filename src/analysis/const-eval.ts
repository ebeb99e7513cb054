// Constant folding of single BPF operations on known 64-bit values: what an ALU op, a byte
// swap or a conditional jump does when every operand is a constant, and constants read out
// of frozen map bytes. Apart from reach.ts because it is plain arithmetic on the
// instruction set's semantics, with no abstract state.
export const s64 = (v: bigint) => BigInt.asIntN(64, v);

export function aluConst(o: number, a: bigint, b: bigint, is64: boolean, off: number): bigint | null {
  const w = is64 ? 64 : 32;
  const ua = BigInt.asUintN(w, a);
  const ub = BigInt.asUintN(w, b);
  const sa = BigInt.asIntN(w, a);
  const sb = BigInt.asIntN(w, b);
  const sh = Number(ub & BigInt(w - 1));
  let r: bigint;
  switch (o) {
    case 0x00: r = ua + ub; break; // ADD
    case 0x10: r = ua - ub; break; // SUB
    case 0x20: r = ua * ub; break; // MUL
    case 0x30: // DIV, SDIV (off 1): x / 0 = 0
      if (ub === 0n) r = 0n;
      else r = off === 1 ? sa / sb : ua / ub;
      break;
    case 0x40: r = ua | ub; break; // OR
    case 0x50: r = ua & ub; break; // AND
    case 0x60: r = ua << BigInt(sh); break; // LSH
    case 0x70: r = ua >> BigInt(sh); break; // RSH
    case 0x80: r = -ua; break; // NEG
    case 0x90: // MOD, SMOD: x % 0 = x
      if (ub === 0n) r = ua;
      else r = off === 1 ? sa % sb : ua % ub;
      break;
    case 0xa0: r = ua ^ ub; break; // XOR
    case 0xb0: // MOV, MOVSX (off 8/16/32)
      r = off === 8 || off === 16 || off === 32 ? BigInt.asIntN(off, b) : ub;
      break;
    case 0xc0: r = sa >> BigInt(sh); break; // ARSH
    default: return null;
  }
  return BigInt.asUintN(w, r);
}

export function bswap(v: bigint, bits: number): bigint {
  let r = 0n;
  for (let i = 0; i < bits / 8; i++) r = (r << 8n) | ((v >> BigInt(i * 8)) & 0xffn);
  return r;
}

/** both-constant conditional jump: taken? */
export function jmpConst(o: number, a: bigint, b: bigint, is64: boolean): boolean | null {
  const w = is64 ? 64 : 32;
  const ua = BigInt.asUintN(w, a);
  const ub = BigInt.asUintN(w, b);
  const sa = BigInt.asIntN(w, a);
  const sb = BigInt.asIntN(w, b);
  switch (o) {
    case 0x10: return ua === ub; // JEQ
    case 0x20: return ua > ub; // JGT
    case 0x30: return ua >= ub; // JGE
    case 0x40: return (ua & ub) !== 0n; // JSET
    case 0x50: return ua !== ub; // JNE
    case 0x60: return sa > sb; // JSGT
    case 0x70: return sa >= sb; // JSGE
    case 0xa0: return ua < ub; // JLT
    case 0xb0: return ua <= ub; // JLE
    case 0xc0: return sa < sb; // JSLT
    case 0xd0: return sa <= sb; // JSLE
    default: return null;
  }
}

export function readConst(bytes: Uint8Array, at: number, n: number, le: boolean, signed: boolean): bigint | null {
  if (at < 0 || at + n > bytes.byteLength) return null;
  let v = 0n;
  for (let i = 0; i < n; i++) {
    const byte = BigInt(bytes[at + (le ? n - 1 - i : i)]!);
    v = (v << 8n) | byte;
  }
  return signed ? BigInt.asUintN(64, BigInt.asIntN(n * 8, v)) : v;
}
