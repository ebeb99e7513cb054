// Abstract values and machine state of the reachability analysis (reach.ts).
//
// A register holds a known 64-bit constant, a pointer into this frame's stack or into a map
// value, or something unknown. "Unknown" comes in two strengths, because a store through a
// pointer that might point into this frame's stack has to forget every stack slot:
//   u  anything but a pointer into this frame's stack (helper results, ctx, loaded values)
//   T  anything at all
export type Val =
  | { t: 'c'; v: bigint } // constant, as an unsigned 64-bit value
  | { t: 's'; off: number } // this frame's stack: r10 + off
  | { t: 'S' } // this frame's stack, offset unknown
  | { t: 'm'; map: number; off: number } // map value of plan map `map`, + off
  | { t: 'u' }
  | { t: 'T' };

export const U: Val = { t: 'u' };
export const TOP: Val = { t: 'T' };
export const c = (v: bigint): Val => ({ t: 'c', v: BigInt.asUintN(64, v) });

export const stackish = (v: Val): boolean => v.t === 's' || v.t === 'S' || v.t === 'T';

export function sameVal(a: Val, b: Val): boolean {
  if (a.t !== b.t) return false;
  switch (a.t) {
    case 'c': return a.v === (b as typeof a).v;
    case 's': return a.off === (b as typeof a).off;
    case 'm': return a.map === (b as typeof a).map && a.off === (b as typeof a).off;
    default: return true;
  }
}

export function joinVal(a: Val, b: Val): Val {
  if (sameVal(a, b)) return a;
  if (a.t === 'T' || b.t === 'T') return TOP;
  const sa = a.t === 's' || a.t === 'S';
  const sb = b.t === 's' || b.t === 'S';
  if (sa && sb) return { t: 'S' };
  if (sa || sb) return TOP;
  return U;
}

/** a stack slot written by a store: bytes [off, off + size) of this frame */
export interface Slot {
  off: number;
  size: number;
  val: Val;
}

export interface State {
  regs: Val[]; // r0..r10
  /** known stack slots, by offset; a byte not covered holds something unknown (T) */
  stack: Map<number, Slot>;
}

export function entryState(): State {
  const regs: Val[] = new Array(11).fill(U);
  regs[10] = { t: 's', off: 0 };
  return { regs, stack: new Map() };
}

export function cloneState(s: State): State {
  return { regs: s.regs.slice(), stack: new Map(s.stack) };
}

/** join b into a: the new state, or null when a already covers b */
export function joinState(a: State, b: State): State | null {
  let changed = false;
  const regs = a.regs.map((v, i) => {
    const j = joinVal(v, b.regs[i]!);
    if (j !== v && !sameVal(j, v)) changed = true;
    return j;
  });
  const stack = new Map<number, Slot>();
  for (const [off, sa] of a.stack) {
    const sb = b.stack.get(off);
    if (!sb || sb.size !== sa.size) {
      changed = true;
      continue;
    }
    const j = joinVal(sa.val, sb.val);
    if (!sameVal(j, sa.val)) changed = true;
    stack.set(off, j === sa.val ? sa : { off, size: sa.size, val: j });
  }
  return changed ? { regs, stack } : null;
}

/** forget the slots that overlap [off, off + size) */
export function clobber(s: State, off: number, size: number): void {
  for (const [o, slot] of s.stack) if (o < off + size && o + slot.size > off) s.stack.delete(o);
}
