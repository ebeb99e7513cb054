// Typed context access of BTF-attached tracing programs (fentry, fexit, fmod_ret, tp_btf, lsm).
// Their context is the attach target's arguments, one u64 slot each, and the kernel's
// btf_ctx_access() (kernel/bpf/btf.c) judges every load from it by the target's FUNC_PROTO in
// the kernel's own BTF. Relocation cannot see this: an object written for one signature loads
// its slots by offset, and on a kernel whose function takes other types there the verifier
// refuses the load ("func 'vfs_unlink' arg2 type PTR is not a struct": 5.10's vfs_unlink has
// `struct inode **` where 6.3+ has `struct dentry *`).
//
// Conservative by construction: a refusal is reported only for a load the verifier must judge
// (reachable by src/analysis/reach.ts, from a register that holds the context on every path,
// at a constant offset) whose slot the kernel's rule refuses on every release of the range the
// kernel's version falls in. Whatever the analysis cannot place is left to the verifier: the
// context passed to a sub-program or through the stack, a target with a struct argument (from
// 6.1 a slot index is not off / 8 past one), a target in a module's BTF or a BPF program
// (freplace-style fentry), non-pointer arguments other than integers (struct by value,
// fexit's void return), fmod_ret's return value.
//
// The rule over time (btf_ctx_access of 5.10, read in its source; the switch points are the
// upstream commits that relaxed it, by first release; each kernel's verdict on each kind of
// slot is asserted against the lab's 5.10, 6.1, 6.12 and 7.2 verifiers by
// test/check-verify.test.ts with testdata/verify/ctx_access.bpf.c):
//   - 5.5: a pointer argument must point to a struct or union, except `void *` (exactly) and
//     `[const] char *` (is_string_ptr): else "func '%s' arg%d type %s is not a struct".
//     Slot past the last argument: "func '%s' doesn't have %d-th argument", but for fexit
//     and lsm the slot right after the arguments is the return value.
//   - 5.17: "bpf: Allow access to int pointer arguments in tracing programs" (bb6728d75611):
//     a pointer to any integer is read as a scalar. (Until "bpf/btf: Fix is_int_ptr()" only
//     through one const; modifiers are skipped here from 5.17 on, which reports less.)
//   - 6.16: "bpf: Allow access to const void pointer arguments in tracing programs"
//     (is_void_or_int_ptr): a pointer to void through modifiers (`const void *`) too.
// A pointer to a pointer, an enum, a function or a forward declaration stays refused.
import {
  BTF_KIND_CONST, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_INT, BTF_KIND_PTR,
  BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_UNION, BTF_KIND_UNKN, skipModifiers, type Btf, type BtfFuncProto, type BtfType,
} from '../btf/reader.js';
import * as U from '../host/generated/uapi.js';
import {
  BPF_ALU, BPF_ALU64, BPF_ATOMIC, BPF_CALL, BPF_CMPXCHG, BPF_EXIT, BPF_FETCH, BPF_JA, BPF_JMP, BPF_JMP32, BPF_LD, BPF_LDX,
  BPF_MEM, BPF_ST, BPF_STX, BPF_X, cls, isLdImm64, mode, op, size, type Insn,
} from './insn.js';

/** the kernel's btf_kind_str[], as its messages print a kind */
const KIND_STR = ['UNKNOWN', 'INT', 'PTR', 'ARRAY', 'STRUCT', 'UNION', 'ENUM', 'FWD', 'TYPEDEF', 'VOLATILE', 'CONST',
  'RESTRICT', 'FUNC', 'FUNC_PROTO', 'VAR', 'DATASEC', 'FLOAT', 'DECL_TAG', 'TYPE_TAG', 'ENUM64'];
const kindStr = (t: BtfType): string => KIND_STR[t.kind] ?? `#${t.kind}`;

/** MAX_BPF_FUNC_ARGS: the context is at most this many u64 slots */
const MAX_BPF_FUNC_ARGS = 12;
const BPF_MOV = 0xb0;

/** Which of btf_ctx_access()'s later relaxations a kernel has. */
export interface CtxRules {
  /** 5.17+: pointers to integers read as scalars */
  intPointers: boolean;
  /** 6.16+: pointers to void through modifiers (const void *) read as scalars */
  voidThroughModifiers: boolean;
}

/** the rules of a kernel release ([major, minor]); null (release unknown): the newest
 *  kernels', which refuse least */
export function ctxRulesFor(version: [number, number] | null): CtxRules {
  const atLeast = (a: number, b: number) => !version || version[0] > a || (version[0] === a && version[1] >= b);
  return { intPointers: atLeast(5, 17), voidThroughModifiers: atLeast(6, 16) };
}

/** The kernel a program's context loads are judged for. */
export interface CtxTarget {
  /** the kernel's vmlinux BTF, where the plan's attachBtfId points */
  btf: Btf;
  /** its release as [major, minor], null when unknown */
  version: [number, number] | null;
}

/** The plan's fields of a program that say what its context is (its attach target). */
export interface CtxProgram {
  name: string;
  type: number;
  expectedAttachType: number;
  attachBtfId: number;
  attachProgram?: number;
  moduleBtf?: { attach?: string };
}

/** A context load the kernel's verifier would refuse, in the kernel's words. */
export interface CtxRefusal {
  /** the load from the context */
  insn: number;
  off: number;
  /** the argument slot it reads (nr_args: the return value) */
  arg: number;
  /** the kernel's words */
  message: string;
}

/** the attach target: its name and FUNC_PROTO, whether the first parameter is the
 *  tracepoint's hidden `void *__data` (tp_btf), or null when this is not judged */
function attachProto(p: CtxProgram, btf: Btf): { name: string; proto: BtfFuncProto; skipFirst: boolean } | null {
  if (p.type !== U.BPF_PROG_TYPE_TRACING && p.type !== U.BPF_PROG_TYPE_LSM) return null;
  if (![U.BPF_TRACE_FENTRY, U.BPF_TRACE_FEXIT, U.BPF_MODIFY_RETURN, U.BPF_LSM_MAC, U.BPF_TRACE_RAW_TP].includes(p.expectedAttachType)) return null;
  if (!p.attachBtfId || p.attachProgram !== undefined || p.moduleBtf?.attach || !btf.hasType(p.attachBtfId)) return null;
  const t = btf.typeById(p.attachBtfId);
  if (p.expectedAttachType === U.BPF_TRACE_RAW_TP) {
    // btf_trace_<tp>: a typedef of a pointer to the FUNC_PROTO of the tracepoint's probe
    if (t.kind !== BTF_KIND_TYPEDEF || !t.name.startsWith('btf_trace_')) return null;
    const ptr = btf.typeById(t.type);
    if (ptr.kind !== BTF_KIND_PTR) return null;
    const proto = btf.typeById(ptr.type);
    return proto.kind === BTF_KIND_FUNC_PROTO && proto.params.length > 0 ? { name: t.name.slice('btf_trace_'.length), proto, skipFirst: true } : null;
  }
  if (t.kind !== BTF_KIND_FUNC) return null;
  const proto = btf.typeById(t.type);
  return proto.kind === BTF_KIND_FUNC_PROTO ? { name: t.name, proto, skipFirst: false } : null;
}

/** One argument slot as btf_ctx_access judges it: null (accepted, or not judged here), or
 *  the kernel's message. */
export function judgeCtxSlot(btf: Btf, proto: BtfFuncProto, name: string, skipFirst: boolean, attachType: number, off: number, rules: CtxRules): string | null {
  if (off % 8 !== 0 || off < 0 || off >= 8 * MAX_BPF_FUNC_ARGS) return null;
  if (proto.variadic) return null;
  const params = skipFirst ? proto.params.slice(1) : proto.params;
  // from 6.1 a struct argument takes two slots (get_ctx_arg_idx): with one, slots are not
  // off / 8, and before 6.1 such a target does not attach at all
  for (const q of params) {
    const s = skipModifiers(btf, q.type);
    if (!s || (s.kind !== BTF_KIND_PTR && s.kind !== BTF_KIND_INT && s.kind !== BTF_KIND_ENUM && s.kind !== BTF_KIND_ENUM64)) return null;
    if (s.kind === BTF_KIND_INT && s.size > 8) return null;
  }
  const arg = off / 8;
  const nrArgs = params.length;
  if (arg > nrArgs || (arg === nrArgs && attachType !== U.BPF_TRACE_FEXIT && attachType !== U.BPF_LSM_MAC && attachType !== U.BPF_MODIFY_RETURN)) {
    return `func '${name}' doesn't have ${arg + 1}-th argument`;
  }
  // the return value: fmod_ret's rule (a small int) is not judged here
  if (arg === nrArgs && attachType === U.BPF_MODIFY_RETURN) return null;
  const t = skipModifiers(btf, arg === nrArgs ? proto.returnType : params[arg]!.type);
  if (!t || t.kind !== BTF_KIND_PTR) return null;
  if (t.type === 0) return null; // void *
  // [const] char * (is_string_ptr, 5.5+): a 1-byte int, through one const at most
  let direct = btf.typeById(t.type);
  if (direct.kind === BTF_KIND_CONST) direct = btf.typeById(direct.type);
  if (direct.kind === BTF_KIND_INT && direct.size === 1) return null;
  const pointee = skipModifiers(btf, t.type);
  if (!pointee) return null;
  if (pointee.kind === BTF_KIND_STRUCT || pointee.kind === BTF_KIND_UNION) return null;
  if (pointee.kind === BTF_KIND_INT && rules.intPointers) return null;
  if (pointee.kind === BTF_KIND_UNKN && rules.voidThroughModifiers) return null;
  return `func '${name}' arg${arg} type ${kindStr(pointee)} is not a struct`;
}

/**
 * Which registers hold the context, unmodified, at each instruction of the entry program, on
 * every path: r1 at entry, copied by `rX = rY`, lost when written otherwise or by a call
 * (r0-r5). Sub-programs are not entered. -1: not reached from instruction 0.
 */
export function ctxRegisters(insns: Insn[]): Int32Array {
  const n = insns.length;
  const state = new Int32Array(n).fill(-1);
  if (!n) return state;
  state[0] = 1 << 1;
  const work = [0];
  const flow = (to: number, s: number) => {
    if (to < 0 || to >= n) return;
    const had = state[to]!;
    const next = had === -1 ? s : had & s;
    if (next !== had) {
      state[to] = next;
      work.push(to);
    }
  };
  while (work.length) {
    const i = work.pop()!;
    const x = insns[i]!;
    const s = state[i]!;
    const c = cls(x.code);
    const kill = (r: number) => s & ~(1 << r);
    if (c === BPF_JMP || c === BPF_JMP32) {
      const o = op(x.code);
      if (c === BPF_JMP && o === BPF_EXIT) continue;
      if (c === BPF_JMP && o === BPF_CALL) flow(i + 1, s & ~0x3f);
      else if (o === BPF_JA) flow(i + 1 + (c === BPF_JMP32 ? x.imm : x.off), s);
      else {
        flow(i + 1, s);
        flow(i + 1 + x.off, s);
      }
    } else if (isLdImm64(x)) flow(i + 2, kill(x.dst));
    else if (c === BPF_LD) flow(i + 1, s & ~0x3f); // LD_ABS / LD_IND: r0, and r1-r5 clobbered
    else if (c === BPF_LDX) flow(i + 1, kill(x.dst));
    else if (c === BPF_ST) flow(i + 1, s);
    else if (c === BPF_STX) {
      let t = s;
      if (mode(x.code) === BPF_ATOMIC) {
        if (x.imm === BPF_CMPXCHG) t &= ~1;
        else if (x.imm & BPF_FETCH) t &= ~(1 << x.src);
      }
      flow(i + 1, t);
    } else if (c === BPF_ALU64 && x.code === (BPF_ALU64 | BPF_MOV | BPF_X) && x.off === 0) {
      flow(i + 1, (s >> x.src) & 1 ? s | (1 << x.dst) : kill(x.dst));
    } else if (c === BPF_ALU || c === BPF_ALU64) flow(i + 1, kill(x.dst));
    else flow(i + 1, s);
  }
  return state;
}

/**
 * The context loads of a program that the kernel's btf_ctx_access refuses, in instruction
 * order: `reachable` is reach.ts's verdict per instruction.
 */
export function ctxAccessRefusals(p: CtxProgram, insns: Insn[], reachable: boolean[], target: CtxTarget): CtxRefusal[] {
  let at;
  try {
    at = attachProto(p, target.btf);
  } catch {
    return []; // a BTF that does not say what the kernel's does: not judged
  }
  if (!at) return [];
  const rules = ctxRulesFor(target.version);
  const regs = ctxRegisters(insns);
  const out: CtxRefusal[] = [];
  insns.forEach((x, i) => {
    if (cls(x.code) !== BPF_LDX || mode(x.code) !== BPF_MEM || !reachable[i]) return;
    const s = regs[i]!;
    if (s === -1 || !((s >> x.src) & 1)) return;
    // tracing_prog_is_valid_access(): a load at an offset that is no multiple of its size is
    // refused before btf_ctx_access, with no message of its own; not judged here
    if (x.off % size(x.code) !== 0) return;
    let message: string | null;
    try {
      message = judgeCtxSlot(target.btf, at.proto, at.name, at.skipFirst, p.expectedAttachType, x.off, rules);
    } catch {
      message = null;
    }
    if (message) out.push({ insn: i, off: x.off, arg: x.off / 8, message });
  });
  return out;
}

