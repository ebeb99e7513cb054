// BPF_MAP_* commands: create, the element hot path, batches, freeze.
import * as U from '../generated/uapi.js';
import { OwnedFd } from '../fd.js';
import { bumpMemlockRlimit } from '../memlock.js';
import { getSyscalls, type Bytes } from '../syscall.js';
import { bpfAttr, isErrno, run, type BpfAttrLayout } from './bpf-attr.js';
import type { StructBuf } from './struct-buf.js';

/** The attributes of BPF_MAP_CREATE. */
export interface MapCreateOptions {
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags?: number;
  innerMapFd?: number;
  numaNode?: number;
  /** Truncated to BPF_OBJ_NAME_LEN - 1 bytes; the kernel accepts [A-Za-z0-9_.] only. */
  name?: string;
  ifindex?: number;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  btfVmlinuxValueTypeId?: number;
  mapExtra?: bigint | number;
  valueTypeBtfObjFd?: number;
  tokenFd?: number;
}

export function mapCreateAttr(o: MapCreateOptions): StructBuf<BpfAttrLayout> {
  const a = bpfAttr()
    .set('map_type', o.mapType).set('key_size', o.keySize).set('value_size', o.valueSize)
    .set('max_entries', o.maxEntries).set('map_flags', o.mapFlags ?? 0)
    .set('inner_map_fd', o.innerMapFd ?? 0).set('numa_node', o.numaNode ?? 0)
    .set('map_ifindex', o.ifindex ?? 0).set('btf_fd', o.btfFd ?? 0)
    .set('btf_key_type_id', o.btfKeyTypeId ?? 0).set('btf_value_type_id', o.btfValueTypeId ?? 0)
    .set('btf_vmlinux_value_type_id', o.btfVmlinuxValueTypeId ?? 0).set('map_extra', o.mapExtra ?? 0)
    .set('value_type_btf_obj_fd', o.valueTypeBtfObjFd ?? 0).set('map_token_fd', o.tokenFd ?? 0);
  if (o.name) a.setString('map_name', o.name);
  return a;
}

/** BPF_MAP_LOOKUP_ELEM / UPDATE_ELEM / DELETE_ELEM / LOOKUP_AND_DELETE_ELEM. */
export function mapElemAttr(mapFd: number, key: Bytes | null, value: Bytes | null, flags: number | bigint = 0): StructBuf<BpfAttrLayout> {
  return bpfAttr().set('map_fd', mapFd).setPtr('key', key).setPtr('value', value).set('flags', flags);
}

export function mapGetNextKeyAttr(mapFd: number, key: Bytes | null, nextKey: Bytes): StructBuf<BpfAttrLayout> {
  return bpfAttr().set('map_fd', mapFd).setPtr('key', key).setPtr('next_key', nextKey);
}

export interface MapBatchOptions {
  mapFd: number;
  /** Opaque batch position from the previous call (null: start). */
  inBatch?: Bytes | null;
  outBatch?: Bytes | null;
  keys: Bytes;
  values?: Bytes | null;
  count: number;
  elemFlags?: number | bigint;
  flags?: number | bigint;
}

/** BPF_MAP_{LOOKUP,LOOKUP_AND_DELETE,UPDATE,DELETE}_BATCH. */
export function mapBatchAttr(o: MapBatchOptions): StructBuf<BpfAttrLayout> {
  return bpfAttr()
    .setPtr('batch.in_batch', o.inBatch).setPtr('batch.out_batch', o.outBatch)
    .setPtr('batch.keys', o.keys).setPtr('batch.values', o.values)
    .set('batch.count', o.count).set('batch.map_fd', o.mapFd)
    .set('batch.elem_flags', o.elemFlags ?? 0).set('batch.flags', o.flags ?? 0);
}

export function mapFdAttr(mapFd: number): StructBuf<BpfAttrLayout> {
  return bpfAttr().set('map_fd', mapFd);
}

// Like libbpf's bpf_map_create() / bpf_prog_load() / bpf_btf_load(), the creating calls raise
// RLIMIT_MEMLOCK first where the kernel charges BPF memory to it (before 5.11).
export function mapCreate(o: MapCreateOptions): OwnedFd {
  bumpMemlockRlimit();
  return new OwnedFd(run(U.BPF_MAP_CREATE, mapCreateAttr(o)), 'map');
}

/*
 * The element commands are the hot path (a map lookup per event, per key): one scratch
 * attr, reused, only as long as the element part (offsets from the generated layout), and
 * no per-call allocation. Safe because the syscall is synchronous: the pointers written in
 * it are only read by the kernel during the call, while the caller holds the buffers.
 */
const EA = U.layouts.bpf_attr.fields;
const elemSize = Math.max(EA.map_fd.offset + EA.map_fd.size, EA.key.offset + EA.key.size,
  EA.value.offset + EA.value.size, EA.flags.offset + EA.flags.size);
const elemScratch = new Uint8Array(new ArrayBuffer(elemSize));
const elemView = new DataView(elemScratch.buffer);
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function elemOp(cmd: number, mapFd: number, key: Bytes | null, value: Bytes | null, flags: number | bigint): number {
  const sys = getSyscalls();
  elemScratch.fill(0);
  elemView.setUint32(EA.map_fd.offset, mapFd, LE);
  if (key && key.byteLength) elemView.setBigUint64(EA.key.offset, BigInt(sys.addressOf(key)), LE);
  if (value && value.byteLength) elemView.setBigUint64(EA.value.offset, BigInt(sys.addressOf(value)), LE);
  elemView.setBigUint64(EA.flags.offset, BigInt(flags), LE);
  return sys.bpf(cmd, elemScratch);
}

/** Look up `key`, filling `value`; false when the key is absent (ENOENT). */
export function mapLookupElem(mapFd: number, key: Bytes, value: Bytes, flags: number | bigint = 0): boolean {
  try {
    elemOp(U.BPF_MAP_LOOKUP_ELEM, mapFd, key, value, flags);
    return true;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return false;
    throw e;
  }
}

export function mapUpdateElem(mapFd: number, key: Bytes, value: Bytes, flags: number | bigint = U.BPF_ANY): void {
  elemOp(U.BPF_MAP_UPDATE_ELEM, mapFd, key, value, flags);
}

/** Delete `key`; false when it was absent (ENOENT). */
export function mapDeleteElem(mapFd: number, key: Bytes): boolean {
  try {
    elemOp(U.BPF_MAP_DELETE_ELEM, mapFd, key, null, 0);
    return true;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return false;
    throw e;
  }
}

export function mapLookupAndDeleteElem(mapFd: number, key: Bytes | null, value: Bytes, flags: number | bigint = 0): boolean {
  try {
    run(U.BPF_MAP_LOOKUP_AND_DELETE_ELEM, mapElemAttr(mapFd, key, value, flags));
    return true;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return false;
    throw e;
  }
}

/** Fill `nextKey` with the key after `key` (null: the first key); false at the end (ENOENT). */
export function mapGetNextKey(mapFd: number, key: Bytes | null, nextKey: Bytes): boolean {
  try {
    run(U.BPF_MAP_GET_NEXT_KEY, mapGetNextKeyAttr(mapFd, key, nextKey));
    return true;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return false;
    throw e;
  }
}

export interface BatchResult {
  /** Elements processed (the kernel's output count). */
  count: number;
  /** True when the map has no more elements (the kernel returned ENOENT). */
  done: boolean;
}

/**
 * BPF_MAP_LOOKUP_BATCH (or LOOKUP_AND_DELETE_BATCH with cmd): `outBatch` receives the position
 * to pass as `inBatch` next time (its size is the map's key size for hash maps, 4 for arrays).
 */
export function mapLookupBatch(o: MapBatchOptions, cmd: number = U.BPF_MAP_LOOKUP_BATCH): BatchResult {
  const a = mapBatchAttr(o);
  try {
    getSyscalls().bpf(cmd, a.buf);
    return { count: a.get('batch.count'), done: false };
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return { count: a.get('batch.count'), done: true };
    throw e;
  }
}

/** BPF_MAP_UPDATE_BATCH / DELETE_BATCH; returns the count processed. */
export function mapBatchOp(cmd: number, o: MapBatchOptions): number {
  const a = mapBatchAttr(o);
  getSyscalls().bpf(cmd, a.buf);
  return a.get('batch.count');
}

export function mapFreeze(mapFd: number): void {
  run(U.BPF_MAP_FREEZE, mapFdAttr(mapFd));
}
