// enum bpf_map_type, as the host needs it: which types hold per-CPU values, take batches,
// hold fds as values; their short names; and BPF_MAP_UPDATE_ELEM's flags by name.
import * as U from './generated/uapi.js';
import { enumName, getSyscalls } from './syscall.js';

/** BPF_MAP_UPDATE_ELEM flags: a number, or `'any'` (BPF_ANY), `'noexist'` (BPF_NOEXIST), `'exist'` (BPF_EXIST), `'lock'` (BPF_F_LOCK). */
export type UpdateFlags = number | 'any' | 'noexist' | 'exist' | 'lock';

const PERCPU_TYPES = new Set<number>([
  U.BPF_MAP_TYPE_PERCPU_HASH, U.BPF_MAP_TYPE_PERCPU_ARRAY, U.BPF_MAP_TYPE_LRU_PERCPU_HASH,
  U.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE,
]);
/** Map types implementing BPF_MAP_LOOKUP_BATCH (kernel 5.6+). */
const BATCH_TYPES = new Set<number>([
  U.BPF_MAP_TYPE_HASH, U.BPF_MAP_TYPE_PERCPU_HASH, U.BPF_MAP_TYPE_LRU_HASH, U.BPF_MAP_TYPE_LRU_PERCPU_HASH,
  U.BPF_MAP_TYPE_ARRAY, U.BPF_MAP_TYPE_PERCPU_ARRAY,
]);
/** Maps whose values are fds on update (and ids on lookup). */
const FD_VALUE_TYPES = new Set<number>([
  U.BPF_MAP_TYPE_PROG_ARRAY, U.BPF_MAP_TYPE_PERF_EVENT_ARRAY, U.BPF_MAP_TYPE_CGROUP_ARRAY,
  U.BPF_MAP_TYPE_ARRAY_OF_MAPS, U.BPF_MAP_TYPE_HASH_OF_MAPS, U.BPF_MAP_TYPE_SOCKMAP, U.BPF_MAP_TYPE_SOCKHASH,
  U.BPF_MAP_TYPE_XSKMAP, U.BPF_MAP_TYPE_REUSEPORT_SOCKARRAY,
]);

/** Whether a map type holds one value per possible CPU (per-CPU hash, array, LRU hash and cgroup storage). */
export function isPerCpuMapType(type: number): boolean {
  return PERCPU_TYPES.has(type);
}

/** Whether this map type implements the BPF_MAP_*_BATCH commands. */
export function isBatchMapType(type: number): boolean {
  return BATCH_TYPES.has(type);
}

/** Whether values of this map type are fds on update, decoded as 32-bit ids without BTF. */
export function isFdValueMapType(type: number): boolean {
  return FD_VALUE_TYPES.has(type);
}

export function mapTypeName(type: number): string {
  return (enumName(U.bpf_map_type, type) ?? `BPF_MAP_TYPE_${type}`).replace(/^BPF_MAP_TYPE_/, '').toLowerCase();
}

let cpuCount: number | undefined;
/** Number of possible CPUs (cached). */
export function possibleCpus(): number {
  return (cpuCount ??= getSyscalls().possibleCpus());
}

export function updateFlags(f: UpdateFlags | undefined): number {
  if (f === undefined) return U.BPF_ANY;
  if (typeof f === 'number') return f;
  switch (f) {
    case 'any': return U.BPF_ANY;
    case 'noexist': return U.BPF_NOEXIST;
    case 'exist': return U.BPF_EXIST;
    case 'lock': return U.BPF_F_LOCK;
    default: throw new TypeError(`unknown update flag '${String(f)}' (any, noexist, exist, lock)`);
  }
}
