// Which instructions of a relocated BPF program can run: conditional constant propagation
// over the final instructions (a program and the sub-programs libbpf appended to it),
// folding the branches whose operands are constants. The constants are what CO-RE and
// kconfig patched in (field/type/enum existence, sizes, offsets as immediates) and what the
// program loads from frozen maps (.rodata, .kconfig) whose contents the plan knows.
//
// Conservative by construction: a branch is folded only when both operands are known; any
// value the analysis cannot follow is unknown, joins lose precision, never gain it. So an
// instruction it calls dead is dead on every execution; one it calls reachable may still be
// dead (the verifier, which tracks ranges and paths, can prune more).
//
// Calls: bpf-to-bpf calls are analyzed context-insensitively (the callee's entry state is
// the join over its call sites, the value it returns the join over its exits); callbacks
// (ld_imm64 of a function, for bpf_loop & co.) are entered with unknown arguments.
import { functionStarts, pathTo } from './cfg.js';
import { aluConst, bswap, jmpConst, readConst, s64 } from './const-eval.js';
import {
  BPF_ABS, BPF_ALU, BPF_ALU64, BPF_ATOMIC, BPF_CALL, BPF_CMPXCHG, BPF_EXIT, BPF_FETCH, BPF_IND, BPF_JA,
  BPF_JMP, BPF_JMP32, BPF_LD, BPF_LDX, BPF_MEM, BPF_MEMSX, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC,
  BPF_PSEUDO_MAP_IDX_VALUE, BPF_PSEUDO_MAP_VALUE, BPF_ST, BPF_STX, BPF_X, BPF_XCHG, cls, decodeInsns,
  isLdImm64, mode, op, poisonOf, size,
} from './insn.js';
import {
  TOP, U, c, clobber, cloneState, entryState, joinState, joinVal, sameVal, stackish, type State, type Val,
} from './values.js';

/** The input of {@link analyzeReach}: one program's final instructions and what the plan knows of its constants. */
export interface ReachInput {
  /** the program's final instructions (struct bpf_insn[]) */
  insns: Uint8Array;
  littleEndian: boolean;
  /** ld_imm64 instruction index -> plan map index (the plan's mapRefs) */
  mapRefs: Map<number, number>;
  /** contents of frozen maps (BPF_MAP_FREEZE after their initial value): plan map index -> value bytes */
  frozen: Map<number, Uint8Array>;
}

/** An instruction libbpf poisoned (a failed CO-RE relocation, a missing map or kfunc) and whether it can run. */
export interface Poison {
  insn: number;
  kind: 'core' | 'map' | 'kfunc';
  reachable: boolean;
  /** reachable: the branches, calls and jumps on a path from instruction 0 to it, then it */
  path?: number[];
}

/** The output of {@link analyzeReach}. */
export interface ReachResult {
  count: number;
  /** per instruction: whether some execution may get there */
  reachable: boolean[];
  poisons: Poison[];
}

/** Which instructions of a relocated program can run: conditional constant propagation over its final instructions (conservative: what it calls dead is dead). */
export function analyzeReach(input: ReachInput): ReachResult {
  const insns = decodeInsns(input.insns, input.littleEndian);
  const n = insns.length;
  const le = input.littleEndian;
  const starts = functionStarts(insns);
  const funcOf = new Int32Array(n);
  for (let f = 0, k = 0; f < n; f++) {
    while (k + 1 < starts.length && starts[k + 1]! <= f) k++;
    funcOf[f] = starts[k]!;
  }
  const states: (State | undefined)[] = new Array(n);
  const pred = new Int32Array(n).fill(-2); // -2: not reached; -1: an entry
  const work: number[] = [];
  const queued = new Uint8Array(n);
  const enqueue = (pc: number) => {
    if (!queued[pc]) {
      queued[pc] = 1;
      work.push(pc);
    }
  };
  const flow = (from: number, to: number, s: State) => {
    if (to < 0 || to >= n) return; // the verifier rejects jumps out of the program
    const old = states[to];
    if (!old) {
      states[to] = s;
      pred[to] = from;
      enqueue(to);
      return;
    }
    const j = joinState(old, s);
    if (j) {
      states[to] = j;
      enqueue(to);
    }
  };
  // per function: the value its exits return, the call instructions reaching it
  const returns = new Map<number, Val>();
  const callers = new Map<number, Set<number>>();
  const calleeEntry = (s: State): State => {
    const e = entryState();
    // the caller's stack pointers do not point into the callee's frame
    for (let r = 1; r <= 5; r++) e.regs[r] = stackish(s.regs[r]!) ? U : s.regs[r]!;
    return e;
  };
  /** what a call (helper, kfunc or bpf-to-bpf) leaves in the caller's frame */
  const afterCall = (s: State, r0: Val): State => {
    const t = cloneState(s);
    for (let r = 1; r <= 5; r++) {
      const a = s.regs[r]!;
      if (a.t === 's') clobber(t, a.off, 1 << 20); // may write from there up to the frame's top
      else if (a.t === 'S' || a.t === 'T') t.stack.clear();
      t.regs[r] = U;
    }
    t.regs[0] = r0;
    return t;
  };
  const returnTo = (call: number, callee: number) => {
    const r0 = returns.get(callee);
    if (r0 === undefined || !states[call]) return;
    flow(call, call + 1, afterCall(states[call]!, r0));
  };

  states[0] = entryState();
  pred[0] = -1;
  enqueue(0);
  while (work.length) {
    const pc = work.pop()!;
    queued[pc] = 0;
    const s = states[pc]!;
    const i = insns[pc]!;
    const k = cls(i.code);
    const src = (): Val => (i.code & BPF_X ? s.regs[i.src]! : c(BigInt(i.imm)));
    const next = (t: State) => flow(pc, pc + 1, t);

    if (k === BPF_ALU || k === BPF_ALU64) {
      const t = cloneState(s);
      const is64 = k === BPF_ALU64;
      const o = op(i.code);
      const a = s.regs[i.dst]!;
      if (o === 0xd0) { // END: byte swaps
        const bits = i.imm;
        if (a.t === 'c' && (bits === 16 || bits === 32 || bits === 64)) {
          const v = a.v & ((1n << BigInt(bits)) - 1n);
          // BPF_TO_LE on a little-endian target / BPF_TO_BE on big: truncation only; ALU64 is bswap
          const swap = is64 || ((i.code & BPF_X) !== 0) === le;
          t.regs[i.dst] = c(swap ? bswap(v, bits) : v);
        } else t.regs[i.dst] = stackish(a) ? TOP : U;
      } else {
        const b = src();
        let r: Val;
        if (o === 0xb0) { // MOV
          if (is64 && i.off === 0) r = b;
          else r = b.t === 'c' ? c(aluConst(o, 0n, b.v, is64, i.off)!) : stackish(b) ? TOP : U;
        } else if (a.t === 'c' && b.t === 'c') {
          const v = aluConst(o, a.v, b.v, is64, i.off);
          r = v === null ? U : c(v);
        } else if (is64 && (o === 0x00 || o === 0x10) && (a.t === 's' || a.t === 'm') && b.t === 'c') {
          const d = Number(s64(o === 0x00 ? b.v : -b.v));
          r = a.t === 's' ? { t: 's', off: a.off + d } : { t: 'm', map: a.map, off: a.off + d };
        } else if (is64 && o === 0x00 && a.t === 'c' && (b.t === 's' || b.t === 'm')) {
          const d = Number(s64(a.v));
          r = b.t === 's' ? { t: 's', off: b.off + d } : { t: 'm', map: b.map, off: b.off + d };
        } else if (is64 && (o === 0x00 || o === 0x10) && (a.t === 's' || a.t === 'S' || ((b.t === 's' || b.t === 'S') && o === 0x00))) {
          r = a.t === 'T' || b.t === 'T' ? TOP : { t: 'S' };
        } else r = stackish(a) || stackish(b) ? TOP : U;
        t.regs[i.dst] = r;
      }
      next(t);
      continue;
    }

    if (k === BPF_LD) {
      const t = cloneState(s);
      if (isLdImm64(i)) {
        const hi = insns[pc + 1];
        if (!hi) continue;
        const map = input.mapRefs.get(pc);
        if (i.src === 0) t.regs[i.dst] = c((BigInt(hi.imm >>> 0) << 32n) | BigInt(i.imm >>> 0));
        else if ((i.src === BPF_PSEUDO_MAP_VALUE || i.src === BPF_PSEUDO_MAP_IDX_VALUE) && map !== undefined) {
          t.regs[i.dst] = { t: 'm', map, off: hi.imm };
        } else {
          if (i.src === BPF_PSEUDO_FUNC) {
            const target = pc + i.imm + 1;
            if (target >= 0 && target < n) flow(pc, target, entryState()); // a callback: the kernel calls it
          }
          t.regs[i.dst] = U;
        }
        flow(pc, pc + 2, t);
        continue;
      }
      const m = mode(i.code);
      if (m === BPF_ABS || m === BPF_IND) { // legacy packet loads: clobber like a call
        for (let r = 1; r <= 5; r++) t.regs[r] = U;
        t.regs[0] = U;
      }
      next(t);
      continue;
    }

    if (k === BPF_LDX) {
      const t = cloneState(s);
      const base = s.regs[i.src]!;
      const n8 = size(i.code);
      const signed = mode(i.code) === BPF_MEMSX;
      let v: Val = U;
      if (mode(i.code) !== BPF_MEM && !signed) v = U;
      else if (base.t === 's') {
        const at = base.off + i.off;
        const slot = s.stack.get(at);
        if (slot && slot.size === n8) {
          if (n8 === 8 || slot.val.t !== 'c') v = n8 === 8 ? slot.val : U;
          else v = c(signed ? BigInt.asIntN(n8 * 8, slot.val.v) : slot.val.v & ((1n << BigInt(n8 * 8)) - 1n));
        } else v = TOP; // never stored (or not as one piece): might be a spilled stack pointer
      } else if (base.t === 'S' || base.t === 'T') v = TOP;
      else if (base.t === 'm') {
        const bytes = input.frozen.get(base.map);
        const k8 = bytes ? readConst(bytes, base.off + i.off, n8, le, signed) : null;
        v = k8 === null ? U : c(k8);
      }
      t.regs[i.dst] = v;
      next(t);
      continue;
    }

    if (k === BPF_ST || k === BPF_STX) {
      const t = cloneState(s);
      const base = s.regs[i.dst]!;
      const n8 = size(i.code);
      if (k === BPF_STX && mode(i.code) === BPF_ATOMIC) {
        if (base.t === 's') clobber(t, base.off + i.off, n8);
        else if (stackish(base)) t.stack.clear();
        if (i.imm === BPF_CMPXCHG) t.regs[0] = U;
        else if (i.imm & BPF_FETCH || i.imm === BPF_XCHG) t.regs[i.src] = U;
      } else if (base.t === 's') {
        const at = base.off + i.off;
        clobber(t, at, n8);
        let v: Val = k === BPF_ST ? c(BigInt(i.imm)) : s.regs[i.src]!;
        if (n8 < 8) v = v.t === 'c' ? c(v.v & ((1n << BigInt(n8 * 8)) - 1n)) : U;
        t.stack.set(at, { off: at, size: n8, val: v });
      } else if (stackish(base)) t.stack.clear();
      next(t);
      continue;
    }

    // BPF_JMP / BPF_JMP32
    const o = op(i.code);
    if (o === BPF_EXIT && k === BPF_JMP) {
      const f = funcOf[pc]!;
      const r0 = stackish(s.regs[0]!) ? TOP : s.regs[0]!;
      const old = returns.get(f);
      const j = old === undefined ? r0 : joinVal(old, r0);
      if (old === undefined || !sameVal(j, old)) {
        returns.set(f, j);
        for (const call of callers.get(f) ?? []) returnTo(call, f);
      }
      continue;
    }
    if (o === BPF_CALL && k === BPF_JMP) {
      if (i.src === BPF_PSEUDO_CALL) {
        const callee = pc + i.imm + 1;
        if (callee < 0 || callee >= n) continue;
        let set = callers.get(callee);
        if (!set) callers.set(callee, (set = new Set()));
        set.add(pc);
        flow(pc, callee, calleeEntry(s));
        returnTo(pc, callee);
      } else next(afterCall(s, U)); // a helper or kfunc (a poisoned call too: see poisons below)
      continue;
    }
    if (o === BPF_JA) {
      flow(pc, pc + 1 + (k === BPF_JMP32 ? i.imm : i.off), cloneState(s));
      continue;
    }
    // conditional jumps
    const is64 = k === BPF_JMP;
    const a = s.regs[i.dst]!;
    const b = src();
    const taken = a.t === 'c' && b.t === 'c' ? jmpConst(o, a.v, b.v, is64) : null;
    const target = pc + 1 + i.off;
    if (taken !== false) {
      const t = cloneState(s);
      // "if rX == K goto": on the taken edge rX is K
      if (o === 0x10 && is64 && b.t === 'c' && (a.t === 'u' || a.t === 'c')) t.regs[i.dst] = b;
      flow(pc, target, t);
    }
    if (taken !== true) {
      const t = cloneState(s);
      if (o === 0x50 && is64 && b.t === 'c' && (a.t === 'u' || a.t === 'c')) t.regs[i.dst] = b;
      next(t);
    }
  }

  const reachable = Array.from({ length: n }, (_, pc) => pred[pc] !== -2);
  const poisons: Poison[] = [];
  for (let pc = 0; pc < n; pc++) {
    const kind = poisonOf(insns[pc]!);
    if (!kind) continue;
    if (pc > 0 && isLdImm64(insns[pc - 1]!) && !poisonOf(insns[pc - 1]!)) continue; // an ld_imm64's second half
    const p: Poison = { insn: pc, kind, reachable: reachable[pc]! };
    if (p.reachable) p.path = pathTo(pc, pred, insns);
    poisons.push(p);
  }
  return { count: n, reachable, poisons };
}
