// What a load plan needs of a kernel beyond its types: the helpers its programs call, the
// map types it creates, its program types. Relocation cannot see these (libbpf leaves a call
// to a helper the kernel lacks as it is; the kernel refuses it at BPF_PROG_LOAD); `check`
// compares them with what the kernel's BTF says it offers (src/btf/kernel-features.ts).
//
// A helper call only counts where it may run: a call in code the plan's own constants make
// dead (usdt.bpf.h calls bpf_get_attach_cookie only `if (LINUX_HAS_BPF_COOKIE)`, a .kconfig
// value) is pruned by the verifier before it looks at the call, as by src/analysis/reach.ts.
// With the kernel's BTF, the context loads of BTF-attached tracing programs are judged by the
// attach target's argument types there too (src/analysis/ctx-access.ts).
import type { KernelOffers } from '../btf/kernel-features.js';
import * as U from '../host/generated/uapi.js';
import type { LoadPlan } from '../plan.js';
import { ctxAccessRefusals, type CtxTarget } from './ctx-access.js';
import { frozenMaps } from './guards.js';
import { BPF_CALL, BPF_JMP, decodeInsns, poisonOf } from './insn.js';
import { analyzeReach } from './reach.js';

/** A helper, map type or program type a relocated program needs and the kernel's BTF says the kernel lacks (see {@link unmetNeeds}). */
export interface UnmetNeed {
  /** the program that cannot load (a map type: each program that uses the map, or all of
   *  them when none does) */
  program: string;
  need: 'helper' | 'map-type' | 'prog-type' | 'ctx-access';
  /** the helper id, map type or program type; ctx-access: the argument slot read */
  id: number;
  /** its UAPI name (bpf_get_attach_cookie, BPF_MAP_TYPE_BLOOM_FILTER), or #id when unknown;
   *  ctx-access: the kernel's refusal ("func 'vfs_unlink' arg2 type PTR is not a struct") */
  name: string;
  /** helper: the first instruction that calls it; ctx-access: the load; map-type: the map */
  insn?: number;
  map?: string;
}

function namesOf(prefix: string, strip: boolean): Map<number, string> {
  const out = new Map<number, string>();
  for (const [k, v] of Object.entries(U)) {
    if (typeof v === 'number' && k.startsWith(prefix) && !k.startsWith(`${prefix}_`) && !out.has(v)) out.set(v, strip ? k.slice(prefix.length) : k);
  }
  return out;
}
let names: { helper: Map<number, string>; map: Map<number, string>; prog: Map<number, string> } | undefined;
const uapiNames = () => (names ??= {
  helper: namesOf('BPF_FUNC_', true), map: namesOf('BPF_MAP_TYPE_', false), prog: namesOf('BPF_PROG_TYPE_', false),
});

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

/** Every need of `plan` that `offers` does not meet, in program order; with `ctx` (the
 *  kernel's BTF and release), also the context loads its verifier refuses. */
export function unmetNeeds(plan: LoadPlan, offers: KernelOffers, ctx?: CtxTarget): UnmetNeed[] {
  const out: UnmetNeed[] = [];
  const n = uapiNames();
  const le = plan.byteOrder === 'little';
  if (offers.mapTypes) {
    const have = new Set(offers.mapTypes);
    plan.maps.forEach((m, idx) => {
      if (have.has(m.type)) return;
      const name = n.map.get(m.type) ?? `#${m.type}`;
      // a program loaded alone (load({ programs })) creates only the maps it uses; a map no
      // program uses is created by a whole load, which it stops
      const users = plan.programs.filter((p) => p.mapRefs.some((r) => r.map === idx) || p.boundMaps.includes(idx));
      for (const p of users.length ? users : plan.programs) out.push({ program: p.name, need: 'map-type', id: m.type, name, map: m.name });
    });
  }
  const helpers = offers.helpers ? new Set(offers.helpers) : null;
  const progTypes = offers.progTypes ? new Set(offers.progTypes) : null;
  let frozen: Map<number, Uint8Array> | undefined;
  for (const p of plan.programs) {
    if (progTypes && !progTypes.has(p.type)) out.push({ program: p.name, need: 'prog-type', id: p.type, name: n.prog.get(p.type) ?? `#${p.type}` });
    const tracing = ctx !== undefined && p.attachBtfId !== 0 && (p.type === U.BPF_PROG_TYPE_TRACING || p.type === U.BPF_PROG_TYPE_LSM);
    if (!helpers && !tracing) continue;
    const bytes = b64(p.insns);
    const insns = decodeInsns(bytes, le);
    // libbpf's poisoned calls (a failed relocation, a missing kfunc) are the relocation
    // report's to judge (src/analysis/guards.ts)
    const calls = helpers ? insns.flatMap((x, i) => (x.code === (BPF_JMP | BPF_CALL) && x.src === 0 && !helpers.has(x.imm) && !poisonOf(x) ? [i] : [])) : [];
    if (!calls.length && !tracing) continue;
    frozen ??= frozenMaps(plan);
    const reach = analyzeReach({ insns: bytes, littleEndian: le, frozen, mapRefs: new Map(p.mapRefs.map((m) => [m.insn, m.map])) });
    if (tracing && ctx) {
      for (const r of ctxAccessRefusals(p, insns, reach.reachable, ctx)) out.push({ program: p.name, need: 'ctx-access', id: r.arg, name: r.message, insn: r.insn });
    }
    const seen = new Set<number>();
    for (const i of calls) {
      const id = insns[i]!.imm;
      if (!reach.reachable[i] || seen.has(id)) continue;
      seen.add(id);
      out.push({ program: p.name, need: 'helper', id, name: n.helper.get(id) ? `bpf_${n.helper.get(id)}` : `#${id}`, insn: i });
    }
  }
  return out;
}

/** one line for a report: what the program needs that this kernel lacks */
export function describeNeeds(needs: UnmetNeed[]): string {
  return needs.filter((u) => u.need !== 'ctx-access').map((u) => (u.need === 'helper' ? `helper ${u.name} (#${u.id}), called at insn ${u.insn}`
    : u.need === 'map-type' ? `map type ${u.name} (${u.id}) of map '${u.map}'`
      : `program type ${u.name} (${u.id})`)).join('; ');
}

/** one line for a report: the context loads the kernel's verifier refuses */
export function describeCtxRefusals(needs: UnmetNeed[]): string {
  return needs.filter((u) => u.need === 'ctx-access').map((u) => `${u.name} (the context load at insn ${u.insn})`).join('; ');
}
