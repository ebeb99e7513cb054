// Guarded relocations: for each failed CO-RE relocation libbpf poisoned, can the poisoned
// instruction run in the programs of the load plan? (reach.ts decides, per program.)
//
// A relocation record names the (sub)program it is in and the instruction index inside it;
// libbpf appends a sub-program's instructions to every entry program that calls it, at an
// offset the plan's bpf_func_info records give (FUNC names from the plan's BTF). A failed
// relocation is guarded when its poisoned instruction is dead in every program that
// carries it, and also when no loaded program carries it (libbpf did not load its code).
import { parseBtf, type Btf } from '../btf/reader.js';
import type { LoadPlan, PlanProgram, RelocationRecord } from '../plan.js';
import { analyzeReach, type ReachResult } from './reach.js';

/** A path of a program's control flow that reaches a poisoned instruction. */
export interface ReachPath {
  /** the plan program (entry point) whose final instructions the path indexes */
  program: string;
  /** control-flow decisions from instruction 0 to the poisoned instruction (the last) */
  insns: number[];
}

/** what the analysis says about one failed relocation */
export interface GuardVerdict {
  /** the poisoned instruction is dead in every loaded program that carries it */
  guarded: boolean;
  /** not guarded: a path that reaches it */
  path?: ReachPath;
  /** not guarded because the analysis could not place the instruction (why) */
  unknown?: string;
  /** guarded because no loaded program carries the instruction */
  notLoaded?: boolean;
}

function bytes(b64: string): Uint8Array {
  const b = Buffer.from(b64, 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** where each function starts in a program's final instructions, by FUNC name */
function funcOffsets(prog: PlanProgram, btf: Btf | null, le: boolean): Map<string, number> | null {
  const fi = prog.funcInfo;
  if (!fi || fi.recSize < 8 || !btf) return null;
  const b = bytes(fi.data);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Map<string, number>();
  for (let o = 0; o + fi.recSize <= v.byteLength; o += fi.recSize) {
    try {
      const name = btf.typeById(v.getUint32(o + 4, le)).name;
      if (name && !out.has(name)) out.set(name, v.getUint32(o, le));
    } catch { /* a type id outside the BTF: leave it out */ }
  }
  return out;
}

/** the contents of the plan's frozen maps (libbpf freezes .rodata and .kconfig after filling them) */
export function frozenMaps(plan: LoadPlan): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  plan.maps.forEach((m, idx) => {
    if (!m.freeze || m.maxEntries !== 1) return;
    const init = m.initial.find((e) => e.value !== undefined && bytes(e.key).every((x) => x === 0));
    if (init) out.set(idx, bytes(init.value!));
  });
  return out;
}

/**
 * Decide every failed, poisoned relocation of `relocations` against the plan's programs.
 * Returns a verdict per record index (records that did not fail, or were not poisoned,
 * have none).
 */
export function guardVerdicts(plan: LoadPlan, relocations: RelocationRecord[]): Map<number, GuardVerdict> {
  const out = new Map<number, GuardVerdict>();
  const failed = relocations.flatMap((r, i) => (r.status === 'failed' && r.poisoned && r.insn !== null ? [i] : []));
  if (!failed.length) return out;
  const le = plan.byteOrder === 'little';
  let btf: Btf | null = null;
  try {
    btf = plan.btf ? parseBtf(bytes(plan.btf)) : null;
  } catch { /* no FUNC names: only entry programs can be placed */ }
  const frozen = frozenMaps(plan);
  const analyzed = new Map<PlanProgram, ReachResult>();
  const reach = (p: PlanProgram): ReachResult => {
    let r = analyzed.get(p);
    if (!r) {
      r = analyzeReach({
        insns: bytes(p.insns), littleEndian: le, frozen,
        mapRefs: new Map(p.mapRefs.map((m) => [m.insn, m.map])),
      });
      analyzed.set(p, r);
    }
    return r;
  };
  const offsets = new Map(plan.programs.map((p) => [p, funcOffsets(p, btf, le)]));
  const entryNames = new Set(plan.programs.map((p) => p.name));

  for (const idx of failed) {
    const rec = relocations[idx]!;
    let carriers = 0;
    let unplaced = false;
    let verdict: GuardVerdict | undefined;
    for (const p of plan.programs) {
      let base: number | undefined;
      if (p.name === rec.program) base = 0;
      else {
        const offs = offsets.get(p);
        if (offs === null) {
          // without func_info this program may carry the sub-program somewhere
          if (!entryNames.has(rec.program)) unplaced = true;
          continue;
        }
        base = offs!.get(rec.program);
        if (base === undefined || base === 0) continue;
      }
      const r = reach(p);
      const at = base + rec.insn!;
      const poison = r.poisons.find((x) => x.insn === at);
      if (!poison) {
        verdict = { guarded: false, unknown: `instruction ${at} of program '${p.name}' is not the poisoned call libbpf left` };
        break;
      }
      carriers++;
      if (poison.reachable) {
        verdict = { guarded: false, path: { program: p.name, insns: poison.path ?? [at] } };
        break;
      }
    }
    if (!verdict && unplaced) verdict = { guarded: false, unknown: 'a program without func_info may carry this sub-program' };
    out.set(idx, verdict ?? (carriers ? { guarded: true } : { guarded: true, notLoaded: true }));
  }
  return out;
}

/** Write the verdicts into the records: `guarded`, and `reachPath` for the reachable ones. */
export function annotateGuards(plan: LoadPlan, relocations: RelocationRecord[]): void {
  for (const [i, v] of guardVerdicts(plan, relocations)) {
    const r = relocations[i]!;
    r.guarded = v.guarded;
    if (v.path) r.reachPath = v.path;
    if (v.unknown) r.reachNote = v.unknown;
    else if (v.notLoaded) r.reachNote = 'no loaded program carries this code';
  }
}
