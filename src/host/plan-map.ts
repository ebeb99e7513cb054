// A plan's maps as this machine creates and uses them: the attributes libbpf adjusts at load
// (perf event arrays sized by the CPU count, ring buffers rounded to pages), whether an
// existing map may stand in for one, and the map fds patched into the programs' ld_imm64.
import { ObjectFormatError } from '../errors.js';
import type { LoadPlan, PlanMap, PlanProgram } from '../plan.js';
import type * as A from './attr.js';
import type { OwnedFd } from './fd.js';
import * as U from './generated/uapi.js';

const BPF_LD_IMM64 = U.BPF_LD | U.BPF_IMM | U.BPF_DW;
const INSN = 8;

/** Round a ring buffer size up to a power-of-2 multiple of the page size (libbpf's adjust_ringbuf_sz). */
function ringbufSize(sz: number, page: number): number {
  if (sz > 0 && sz % page === 0 && (sz & (sz - 1)) === 0) return sz;
  let n = page;
  while (n < sz && n < 2 ** 31) n *= 2;
  return n;
}

/** max_entries as created here: perf event arrays of 0 entries get one per possible CPU. */
export function effectiveMaxEntries(m: PlanMap, possibleCpus: () => number, pageSize: number): number {
  if (m.type === U.BPF_MAP_TYPE_PERF_EVENT_ARRAY && m.maxEntries === 0) return possibleCpus();
  if (m.type === U.BPF_MAP_TYPE_RINGBUF || m.type === U.BPF_MAP_TYPE_USER_RINGBUF) return ringbufSize(m.maxEntries, pageSize);
  return m.maxEntries;
}

interface MapCompat {
  type: number; keySize: number; valueSize: number; maxEntries: number; flags: number; mapExtra: bigint;
}

/** libbpf's map_is_reuse_compat: the differences between a pinned map and the plan's, or []. */
export function pinnedMapMismatches(info: A.MapInfo, want: MapCompat): string[] {
  const out: string[] = [];
  if (info.type !== want.type) out.push(`type ${info.type} (pinned) vs ${want.type}`);
  if (info.keySize !== want.keySize) out.push(`key_size ${info.keySize} vs ${want.keySize}`);
  if (info.valueSize !== want.valueSize) out.push(`value_size ${info.valueSize} vs ${want.valueSize}`);
  if (info.maxEntries !== want.maxEntries) out.push(`max_entries ${info.maxEntries} vs ${want.maxEntries}`);
  if (info.mapFlags !== want.flags) out.push(`map_flags 0x${info.mapFlags.toString(16)} vs 0x${want.flags.toString(16)}`);
  if (info.mapExtra !== want.mapExtra) out.push(`map_extra ${info.mapExtra} vs ${want.mapExtra}`);
  return out;
}

/**
 * Write the fds of the created maps into a program's ld_imm64 map references (their imm holds
 * the plan map index), turning fd_array references into plain fds.
 */
export function patchMapRefs(plan: LoadPlan, p: PlanProgram, insns: Uint8Array, mapFds: readonly (OwnedFd | null)[]): void {
  const dv = new DataView(insns.buffer);
  for (const ref of p.mapRefs) {
    const o = ref.insn * INSN;
    if (o + 2 * INSN > insns.byteLength || insns[o] !== BPF_LD_IMM64) {
      throw new ObjectFormatError(`load plan program '${p.name}': instruction ${ref.insn} is not an ld_imm64 (map reference to '${plan.maps[ref.map]?.name}')`);
    }
    const imm = dv.getInt32(o + 4, true);
    if (imm !== ref.map) {
      throw new ObjectFormatError(`load plan program '${p.name}': instruction ${ref.insn} holds map index ${imm}, the plan says ${ref.map}`);
    }
    const mfd = mapFds[ref.map];
    if (!mfd) throw new ObjectFormatError(`load plan program '${p.name}' references map '${plan.maps[ref.map]!.name}', which was not created`);
    // BPF_PSEUDO_MAP_IDX(_VALUE) take fd_array indexes: turn them into plain fds
    const src = insns[o + 1]! >> 4;
    if (src === U.BPF_PSEUDO_MAP_IDX) insns[o + 1] = (insns[o + 1]! & 0x0f) | (U.BPF_PSEUDO_MAP_FD << 4);
    else if (src === U.BPF_PSEUDO_MAP_IDX_VALUE) insns[o + 1] = (insns[o + 1]! & 0x0f) | (U.BPF_PSEUDO_MAP_VALUE << 4);
    dv.setInt32(o + 4, mfd.fd, true);
  }
}
