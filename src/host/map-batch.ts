// The BPF_MAP_*_BATCH commands for a map, falling back to one element at a time where the
// map type or the kernel lacks them (batches: kernel 5.6+); deleting several keys or every
// key is one element at a time.
import { SyscallError } from '../errors.js';
import * as A from './attr.js';
import * as U from './generated/uapi.js';
import type { BpfMap } from './map.js';
import { updateFlags, type UpdateFlags } from './map-type.js';

function errnoIs(e: unknown, ...names: string[]): boolean {
  return e instanceof SyscallError && names.includes(e.errnoName);
}

/**
 * All [key, value] pairs through BPF_MAP_LOOKUP_BATCH (`batchSize` elements per call),
 * falling back to key-by-key iteration where the map type or the kernel lacks batches.
 */
export function lookupBatch(m: BpfMap<unknown, unknown>, batchSize: number): [Buffer, Buffer][] {
  if (!m.supportsBatch) return [...m.entriesRaw()];
  const ks = m.keySize;
  const vs = m.valueBufferSize;
  const tokenSize = Math.max(ks, 8);
  let n = Math.max(1, Math.min(batchSize, Math.max(m.maxEntries, 1)));
  let keys = A.bytes(ks * n);
  let vals = A.bytes(vs * n);
  let inBatch: Uint8Array | null = null;
  let outBatch = A.bytes(tokenSize);
  const out: [Buffer, Buffer][] = [];
  for (;;) {
    let r: A.BatchResult;
    try {
      r = A.mapLookupBatch({ mapFd: m.fd, inBatch, outBatch, keys, values: vals, count: n });
    } catch (e) {
      if (errnoIs(e, 'ENOSPC') && n < 1 << 20) {
        // a hash bucket holds more elements than fit: retry the same position with more room
        n *= 2;
        keys = A.bytes(ks * n);
        vals = A.bytes(vs * n);
        continue;
      }
      if (out.length === 0 && inBatch === null && errnoIs(e, 'EINVAL', 'ENOTSUPP', 'EOPNOTSUPP', 'ENOSYS')) {
        return [...m.entriesRaw()];
      }
      throw e;
    }
    for (let i = 0; i < r.count; i++) {
      out.push([Buffer.from(keys.slice(i * ks, (i + 1) * ks)), Buffer.from(vals.slice(i * vs, (i + 1) * vs))]);
    }
    if (r.done) return out;
    inBatch = outBatch;
    outBatch = A.bytes(tokenSize);
  }
}

/** BPF_MAP_UPDATE_BATCH (falls back to one update per element). Returns the count written. */
export function updateBatch(m: BpfMap<unknown, unknown>, entries: Iterable<readonly [unknown, unknown]>, flags: UpdateFlags): number {
  const list = [...entries];
  if (list.length === 0) return 0;
  const ks = m.keySize, vs = m.valueBufferSize;
  const keys = A.bytes(ks * list.length), vals = A.bytes(vs * list.length);
  list.forEach(([k, v], i) => {
    keys.set(m.encodeKey(k), i * ks);
    vals.set(m.encodeValue(v), i * vs);
  });
  if (m.supportsBatch) {
    try {
      return A.mapBatchOp(U.BPF_MAP_UPDATE_BATCH, { mapFd: m.fd, keys, values: vals, count: list.length, elemFlags: updateFlags(flags) });
    } catch (e) {
      if (!errnoIs(e, 'EINVAL', 'ENOTSUPP', 'EOPNOTSUPP', 'ENOSYS')) throw e;
    }
  }
  for (let i = 0; i < list.length; i++) {
    A.mapUpdateElem(m.fd, keys.subarray(i * ks, (i + 1) * ks), vals.subarray(i * vs, (i + 1) * vs), updateFlags(flags));
  }
  return list.length;
}

/** Delete several keys; returns how many existed. */
export function deleteKeys(m: BpfMap<unknown, unknown>, keys: Iterable<unknown>): number {
  let n = 0;
  for (const k of keys) if (m.delete(k)) n++;
  return n;
}

/** Delete every key (hash-like maps; arrays cannot delete). Returns the count deleted. */
export function clearMap(m: BpfMap<unknown, unknown>): number {
  let n = 0;
  for (const k of m.keysRaw()) if (m.deleteRaw(k)) n++;
  return n;
}
