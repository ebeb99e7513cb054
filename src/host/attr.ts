// bpf_attr (and other UAPI struct) buffers built from the GENERATED layouts only: no offset
// or size in this file is written by hand. Each builder returns a `StructBuf` whose `buf` is
// passed to bpf(); the `commands` section below runs them through the current syscall layer
// and turns the results into plain values and owned fds.
import { SyscallError, VerifierError } from '../errors.js';
import { OwnedFd } from './fd.js';
import { bumpMemlockRlimit } from './memlock.js';
import * as U from './generated/uapi.js';
import { getSyscalls, syscallError, type Bytes, type Syscalls } from './syscall.js';

type Layout = U.StructLayout;
type Field = U.FieldLayout | U.BitFieldLayout;
type FieldsOf<L extends Layout> = keyof L['fields'] & string;

export type BpfAttrLayout = typeof U.layouts.bpf_attr;
export type BpfAttrField = FieldsOf<BpfAttrLayout>;

/** Buffers whose addresses are written into a struct buffer stay alive as long as it does. */
const retained = new WeakMap<Uint8Array, Bytes[]>();

function isBitField(f: Field): f is U.BitFieldLayout {
  return (f as U.BitFieldLayout).bitOffset !== undefined;
}

/** Zero-filled bytes off the V8 heap (an explicit ArrayBuffer never moves). */
export function bytes(size: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(size));
}

/** A Buffer is a Uint8Array at run time; this only reconciles the two type declarations. */
function u8(b: Bytes): Uint8Array {
  return b as Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A zero-filled C struct with typed access to its fields by C access path. */
export class StructBuf<L extends Layout> {
  readonly buf: Uint8Array;
  readonly #view: DataView;

  constructor(readonly layout: L, readonly name = 'struct', size: number = layout.size) {
    this.buf = bytes(size);
    this.#view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  field(name: FieldsOf<L>): Field {
    const f = this.layout.fields[name] as Field | undefined;
    if (!f) throw new Error(`${this.name} has no field '${name}'`);
    return f;
  }

  /** Write an integer field (or a bit-field). Values are truncated to the field's width. */
  set(name: FieldsOf<L>, value: number | bigint | boolean): this {
    const f = this.field(name);
    const v = typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value);
    if (isBitField(f)) {
      for (let i = 0; i < f.bitSize; i++) {
        const bit = f.bitOffset + i;
        const byte = bit >> 3;
        const mask = 1 << (bit & 7);
        if ((v >> BigInt(i)) & 1n) this.buf[byte] |= mask;
        else this.buf[byte] &= ~mask;
      }
      return this;
    }
    const { offset, size } = f;
    const d = this.#view;
    switch (size) {
      case 1: d.setUint8(offset, Number(BigInt.asUintN(8, v))); break;
      case 2: d.setUint16(offset, Number(BigInt.asUintN(16, v)), true); break;
      case 4: d.setUint32(offset, Number(BigInt.asUintN(32, v)), true); break;
      case 8: d.setBigUint64(offset, BigInt.asUintN(64, v), true); break;
      default: throw new Error(`${this.name}.${name} is ${size} bytes: not an integer field`);
    }
    return this;
  }

  /** Read an integer field as a bigint (sign-extended for signed fields). */
  getBig(name: FieldsOf<L>): bigint {
    const f = this.field(name);
    if (isBitField(f)) {
      let v = 0n;
      for (let i = 0; i < f.bitSize; i++) {
        const bit = f.bitOffset + i;
        if (this.buf[bit >> 3] & (1 << (bit & 7))) v |= 1n << BigInt(i);
      }
      return v;
    }
    const { offset, size } = f;
    const d = this.#view;
    let v: bigint;
    switch (size) {
      case 1: v = BigInt(d.getUint8(offset)); break;
      case 2: v = BigInt(d.getUint16(offset, true)); break;
      case 4: v = BigInt(d.getUint32(offset, true)); break;
      case 8: v = d.getBigUint64(offset, true); break;
      default: throw new Error(`${this.name}.${name} is ${size} bytes: not an integer field`);
    }
    return f.signed ? BigInt.asIntN(size * 8, v) : v;
  }

  /** Read an integer field as a number (throws if it does not fit exactly). */
  get(name: FieldsOf<L>): number {
    const v = this.getBig(name);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new RangeError(`${this.name}.${name} = ${v} does not fit a number; use getBig()`);
    }
    return Number(v);
  }

  /** Write the address of `data` (or 0) into a pointer (u64) field and keep `data` alive with this buffer. */
  setPtr(name: FieldsOf<L>, data: Bytes | null | undefined, sys: Syscalls = getSyscalls()): this {
    if (!data || data.byteLength === 0) return this.set(name, 0n);
    let list = retained.get(this.buf);
    if (!list) {
      list = [];
      retained.set(this.buf, list);
    }
    list.push(data);
    return this.set(name, sys.addressOf(data));
  }

  /** Copy bytes into a byte-array field (zero-padded; must fit). */
  setBytes(name: FieldsOf<L>, data: Bytes): this {
    const f = this.field(name);
    if (isBitField(f) || data.byteLength > f.size) throw new RangeError(`${data.byteLength} bytes do not fit ${this.name}.${name}`);
    this.buf.fill(0, f.offset, f.offset + f.size);
    this.buf.set(u8(data), f.offset);
    return this;
  }

  /** Write a NUL-terminated string into a char array field, truncated to fit (like libbpf). */
  setString(name: FieldsOf<L>, s: string): this {
    const f = this.field(name);
    if (isBitField(f)) throw new Error(`${this.name}.${name} is a bit-field`);
    return this.setBytes(name, encoder.encode(s).subarray(0, f.size - 1));
  }

  /** A copy of a byte-array field. */
  getBytes(name: FieldsOf<L>): Uint8Array {
    const f = this.field(name);
    if (isBitField(f)) throw new Error(`${this.name}.${name} is a bit-field`);
    return this.buf.slice(f.offset, f.offset + f.size);
  }

  getString(name: FieldsOf<L>): string {
    return cStringAt(this.getBytes(name));
  }
}

/** The text of a NUL-terminated string at the start of `b`. */
export function cStringAt(b: Bytes, length = b.byteLength): string {
  const u = u8(b).subarray(0, Math.min(length, b.byteLength));
  const end = u.indexOf(0);
  return decoder.decode(end < 0 ? u : u.subarray(0, end));
}

export function bpfAttr(): StructBuf<BpfAttrLayout> {
  return new StructBuf(U.layouts.bpf_attr, 'bpf_attr');
}

/** A NUL-terminated C string in a Buffer. */
export function cString(s: string): Uint8Array {
  const e = encoder.encode(s);
  const b = bytes(e.byteLength + 1);
  b.set(e);
  return b;
}

// ---------------------------------------------------------------------------------------------
// builders, one per command (or command family)

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

export interface InfoRecords {
  /** The records, back to back. */
  data: Bytes;
  recSize: number;
  count: number;
}

export interface ProgLoadOptions {
  progType: number;
  /** Instructions as bytes (8 per instruction). */
  insns: Bytes;
  license: string;
  name?: string;
  expectedAttachType?: number;
  progFlags?: number;
  ifindex?: number;
  kernVersion?: number;
  logLevel?: number;
  logBuf?: Bytes | null;
  progBtfFd?: number;
  funcInfo?: InfoRecords;
  lineInfo?: InfoRecords;
  attachBtfId?: number;
  attachProgFd?: number;
  attachBtfObjFd?: number;
  /** u32 fds, for BPF_PSEUDO_MAP_IDX and kfunc module BTFs. */
  fdArray?: Bytes;
  tokenFd?: number;
}

export function progLoadAttr(o: ProgLoadOptions): StructBuf<BpfAttrLayout> {
  const insnSize = U.layouts.bpf_insn.size;
  if (o.insns.byteLength % insnSize !== 0) throw new RangeError(`instructions are ${o.insns.byteLength} bytes, not a multiple of ${insnSize}`);
  const a = bpfAttr()
    .set('prog_type', o.progType).set('insn_cnt', o.insns.byteLength / insnSize).setPtr('insns', o.insns)
    .setPtr('license', cString(o.license))
    .set('expected_attach_type', o.expectedAttachType ?? 0).set('prog_flags', o.progFlags ?? 0)
    .set('prog_ifindex', o.ifindex ?? 0).set('kern_version', o.kernVersion ?? 0)
    .set('prog_btf_fd', o.progBtfFd ?? 0).set('attach_btf_id', o.attachBtfId ?? 0)
    .set('prog_token_fd', o.tokenFd ?? 0);
  if (o.attachProgFd) a.set('attach_prog_fd', o.attachProgFd);
  else if (o.attachBtfObjFd) a.set('attach_btf_obj_fd', o.attachBtfObjFd);
  if (o.logBuf && o.logBuf.byteLength > 0) {
    a.set('log_level', o.logLevel ?? 1).set('log_size', o.logBuf.byteLength).setPtr('log_buf', o.logBuf);
  } else if (o.logLevel) {
    a.set('log_level', o.logLevel);
  }
  if (o.funcInfo && o.funcInfo.count) {
    a.set('func_info_rec_size', o.funcInfo.recSize).set('func_info_cnt', o.funcInfo.count).setPtr('func_info', o.funcInfo.data);
  }
  if (o.lineInfo && o.lineInfo.count) {
    a.set('line_info_rec_size', o.lineInfo.recSize).set('line_info_cnt', o.lineInfo.count).setPtr('line_info', o.lineInfo.data);
  }
  if (o.fdArray) a.setPtr('fd_array', o.fdArray);
  if (o.name) a.setString('prog_name', o.name);
  return a;
}

/** BPF_OBJ_PIN (fd + path) and BPF_OBJ_GET (path; fd 0). */
export function objAttr(path: string, bpfFd = 0, fileFlags = 0): StructBuf<BpfAttrLayout> {
  return bpfAttr().setPtr('pathname', cString(path)).set('bpf_fd', bpfFd).set('file_flags', fileFlags);
}

export interface ProgAttachOptions {
  targetFd: number;
  attachBpfFd: number;
  attachType: number;
  attachFlags?: number;
  replaceBpfFd?: number;
  relativeFd?: number;
  relativeId?: number;
  expectedRevision?: bigint | number;
}

/** BPF_PROG_ATTACH / BPF_PROG_DETACH. */
export function progAttachAttr(o: ProgAttachOptions): StructBuf<BpfAttrLayout> {
  const a = bpfAttr()
    .set('target_fd', o.targetFd).set('attach_bpf_fd', o.attachBpfFd).set('attach_type', o.attachType)
    .set('attach_flags', o.attachFlags ?? 0).set('replace_bpf_fd', o.replaceBpfFd ?? 0)
    .set('expected_revision', o.expectedRevision ?? 0);
  if (o.relativeId !== undefined) a.set('relative_id', o.relativeId);
  else a.set('relative_fd', o.relativeFd ?? 0);
  return a;
}

export interface LinkCreateOptions {
  progFd: number;
  /** Target fd (cgroup, perf event, ...) or ifindex (XDP, tcx). */
  targetFd?: number;
  targetIfindex?: number;
  attachType: number;
  flags?: number;
  /** Tracing/LSM/iter targets: BTF type id. */
  targetBtfId?: number;
  iterInfo?: Bytes;
  perfEvent?: { bpfCookie?: bigint | number };
  tracing?: { targetBtfId?: number; cookie?: bigint | number };
  kprobeMulti?: { flags?: number; cnt: number; syms?: Bytes; addrs?: Bytes; cookies?: Bytes };
  uprobeMulti?: { path: string; offsets: Bytes; refCtrOffsets?: Bytes; cookies?: Bytes; cnt: number; flags?: number; pid?: number };
  netfilter?: { pf: number; hooknum: number; priority: number; flags?: number };
  tcx?: { relativeFd?: number; relativeId?: number; expectedRevision?: bigint | number };
  netkit?: { relativeFd?: number; relativeId?: number; expectedRevision?: bigint | number };
}

export function linkCreateAttr(o: LinkCreateOptions): StructBuf<BpfAttrLayout> {
  const a = bpfAttr()
    .set('link_create.prog_fd', o.progFd).set('link_create.attach_type', o.attachType)
    .set('link_create.flags', o.flags ?? 0);
  if (o.targetIfindex !== undefined) a.set('link_create.target_ifindex', o.targetIfindex);
  else a.set('link_create.target_fd', o.targetFd ?? 0);
  if (o.targetBtfId !== undefined) a.set('link_create.target_btf_id', o.targetBtfId);
  if (o.iterInfo) a.setPtr('link_create.iter_info', o.iterInfo).set('link_create.iter_info_len', o.iterInfo.byteLength);
  if (o.perfEvent) a.set('link_create.perf_event.bpf_cookie', o.perfEvent.bpfCookie ?? 0);
  if (o.tracing) {
    a.set('link_create.tracing.target_btf_id', o.tracing.targetBtfId ?? o.targetBtfId ?? 0)
      .set('link_create.tracing.cookie', o.tracing.cookie ?? 0);
  }
  if (o.kprobeMulti) {
    const k = o.kprobeMulti;
    a.set('link_create.kprobe_multi.flags', k.flags ?? 0).set('link_create.kprobe_multi.cnt', k.cnt)
      .setPtr('link_create.kprobe_multi.syms', k.syms).setPtr('link_create.kprobe_multi.addrs', k.addrs)
      .setPtr('link_create.kprobe_multi.cookies', k.cookies);
  }
  if (o.uprobeMulti) {
    const u = o.uprobeMulti;
    a.setPtr('link_create.uprobe_multi.path', cString(u.path)).setPtr('link_create.uprobe_multi.offsets', u.offsets)
      .setPtr('link_create.uprobe_multi.ref_ctr_offsets', u.refCtrOffsets).setPtr('link_create.uprobe_multi.cookies', u.cookies)
      .set('link_create.uprobe_multi.cnt', u.cnt).set('link_create.uprobe_multi.flags', u.flags ?? 0)
      .set('link_create.uprobe_multi.pid', u.pid ?? 0);
  }
  if (o.netfilter) {
    const n = o.netfilter;
    a.set('link_create.netfilter.pf', n.pf).set('link_create.netfilter.hooknum', n.hooknum)
      .set('link_create.netfilter.priority', n.priority).set('link_create.netfilter.flags', n.flags ?? 0);
  }
  if (o.tcx) {
    if (o.tcx.relativeId !== undefined) a.set('link_create.tcx.relative_id', o.tcx.relativeId);
    else a.set('link_create.tcx.relative_fd', o.tcx.relativeFd ?? 0);
    a.set('link_create.tcx.expected_revision', o.tcx.expectedRevision ?? 0);
  }
  if (o.netkit) {
    if (o.netkit.relativeId !== undefined) a.set('link_create.netkit.relative_id', o.netkit.relativeId);
    else a.set('link_create.netkit.relative_fd', o.netkit.relativeFd ?? 0);
    a.set('link_create.netkit.expected_revision', o.netkit.expectedRevision ?? 0);
  }
  return a;
}

export function linkUpdateAttr(linkFd: number, newProgFd: number, flags = 0, oldProgFd = 0): StructBuf<BpfAttrLayout> {
  return bpfAttr().set('link_update.link_fd', linkFd).set('link_update.new_prog_fd', newProgFd)
    .set('link_update.flags', flags).set('link_update.old_prog_fd', oldProgFd);
}

export function linkDetachAttr(linkFd: number): StructBuf<BpfAttrLayout> {
  return bpfAttr().set('link_detach.link_fd', linkFd);
}

/** BPF_RAW_TRACEPOINT_OPEN; `name` null for BTF-typed programs (tp_btf, fentry, lsm...). */
export function rawTracepointOpenAttr(name: string | null, progFd: number, cookie: bigint | number = 0): StructBuf<BpfAttrLayout> {
  return bpfAttr().setPtr('raw_tracepoint.name', name === null ? null : cString(name))
    .set('raw_tracepoint.prog_fd', progFd).set('raw_tracepoint.cookie', cookie);
}

export interface ProgTestRunOptions {
  progFd: number;
  dataIn?: Bytes | null;
  /** Room for the output packet (its size goes in data_size_out). */
  dataOut?: Bytes | null;
  ctxIn?: Bytes | null;
  ctxOut?: Bytes | null;
  repeat?: number;
  flags?: number;
  cpu?: number;
  batchSize?: number;
}

export function progTestRunAttr(o: ProgTestRunOptions): StructBuf<BpfAttrLayout> {
  return bpfAttr()
    .set('test.prog_fd', o.progFd)
    .setPtr('test.data_in', o.dataIn).set('test.data_size_in', o.dataIn?.byteLength ?? 0)
    .setPtr('test.data_out', o.dataOut).set('test.data_size_out', o.dataOut?.byteLength ?? 0)
    .setPtr('test.ctx_in', o.ctxIn).set('test.ctx_size_in', o.ctxIn?.byteLength ?? 0)
    .setPtr('test.ctx_out', o.ctxOut).set('test.ctx_size_out', o.ctxOut?.byteLength ?? 0)
    .set('test.repeat', o.repeat ?? 0).set('test.flags', o.flags ?? 0)
    .set('test.cpu', o.cpu ?? 0).set('test.batch_size', o.batchSize ?? 0);
}

export interface BtfLoadOptions {
  btf: Bytes;
  logBuf?: Bytes | null;
  logLevel?: number;
  flags?: number;
  tokenFd?: number;
}

export function btfLoadAttr(o: BtfLoadOptions): StructBuf<BpfAttrLayout> {
  const a = bpfAttr().setPtr('btf', o.btf).set('btf_size', o.btf.byteLength)
    .set('btf_flags', o.flags ?? 0).set('btf_token_fd', o.tokenFd ?? 0);
  if (o.logBuf && o.logBuf.byteLength) {
    a.setPtr('btf_log_buf', o.logBuf).set('btf_log_size', o.logBuf.byteLength).set('btf_log_level', o.logLevel ?? 1);
  }
  return a;
}

export function objGetInfoByFdAttr(fd: number, info: Bytes): StructBuf<BpfAttrLayout> {
  return bpfAttr().set('info.bpf_fd', fd).set('info.info_len', info.byteLength).setPtr('info.info', info);
}

/** BPF_{PROG,MAP,BTF,LINK}_GET_FD_BY_ID (the id fields share one union). */
export function getFdByIdAttr(id: number, openFlags = 0): StructBuf<BpfAttrLayout> {
  return bpfAttr().set('start_id', id).set('open_flags', openFlags);
}

/** BPF_{PROG,MAP,BTF,LINK}_GET_NEXT_ID. */
export function getNextIdAttr(startId: number): StructBuf<BpfAttrLayout> {
  return bpfAttr().set('start_id', startId);
}

export function progBindMapAttr(progFd: number, mapFd: number, flags = 0): StructBuf<BpfAttrLayout> {
  return bpfAttr().set('prog_bind_map.prog_fd', progFd).set('prog_bind_map.map_fd', mapFd).set('prog_bind_map.flags', flags);
}

export function enableStatsAttr(type: number): StructBuf<BpfAttrLayout> {
  return bpfAttr().set('enable_stats.type', type);
}

export function iterCreateAttr(linkFd: number, flags = 0): StructBuf<BpfAttrLayout> {
  return bpfAttr().set('iter_create.link_fd', linkFd).set('iter_create.flags', flags);
}

export interface ProgQueryOptions {
  targetFd?: number;
  targetIfindex?: number;
  attachType: number;
  queryFlags?: number;
  /** Room for u32 program ids (count = byteLength / 4). */
  progIds?: Bytes | null;
}

export function progQueryAttr(o: ProgQueryOptions): StructBuf<BpfAttrLayout> {
  const a = bpfAttr().set('query.attach_type', o.attachType).set('query.query_flags', o.queryFlags ?? 0)
    .setPtr('query.prog_ids', o.progIds).set('query.prog_cnt', o.progIds ? o.progIds.byteLength / 4 : 0);
  if (o.targetIfindex !== undefined) a.set('query.target_ifindex', o.targetIfindex);
  else a.set('query.target_fd', o.targetFd ?? 0);
  return a;
}

// perf_event_attr ------------------------------------------------------------------------------

export type PerfEventAttrLayout = typeof U.layouts.perf_event_attr;
/** The single-bit flags of perf_event_attr (disabled, inherit, exclude_kernel, watermark, ...). */
export type PerfEventFlag = {
  [K in FieldsOf<PerfEventAttrLayout>]: PerfEventAttrLayout['fields'][K] extends { bitSize: 1 } ? K : never
}[FieldsOf<PerfEventAttrLayout>];

export interface PerfEventOptions {
  type: number;
  config?: bigint | number;
  samplePeriod?: bigint | number;
  sampleFreq?: bigint | number;
  sampleType?: bigint | number;
  readFormat?: bigint | number;
  wakeupEvents?: number;
  wakeupWatermark?: number;
  bpType?: number;
  config1?: bigint | number;
  config2?: bigint | number;
  config3?: bigint | number;
  /** kprobe_func / uprobe_path (kept alive with the buffer). */
  probePath?: string;
  probeOffset?: bigint | number;
  flags?: Partial<Record<PerfEventFlag, boolean>>;
  precise_ip?: number;
}

/** A perf_event_attr with `size` set to this UAPI's sizeof(struct perf_event_attr). */
export function perfEventAttr(o: PerfEventOptions): StructBuf<PerfEventAttrLayout> {
  const a = new StructBuf(U.layouts.perf_event_attr, 'perf_event_attr')
    .set('type', o.type).set('size', U.layouts.perf_event_attr.size).set('config', o.config ?? 0)
    .set('sample_type', o.sampleType ?? 0).set('read_format', o.readFormat ?? 0)
    .set('bp_type', o.bpType ?? 0).set('config2', o.config2 ?? 0).set('config3', o.config3 ?? 0);
  if (o.sampleFreq !== undefined) a.set('sample_freq', o.sampleFreq).set('freq', true);
  else a.set('sample_period', o.samplePeriod ?? 0);
  if (o.wakeupWatermark !== undefined) a.set('wakeup_watermark', o.wakeupWatermark).set('watermark', true);
  else a.set('wakeup_events', o.wakeupEvents ?? 0);
  if (o.probePath !== undefined) a.setPtr('uprobe_path', cString(o.probePath)).set('probe_offset', o.probeOffset ?? 0);
  else a.set('config1', o.config1 ?? 0);
  for (const [k, v] of Object.entries(o.flags ?? {})) a.set(k as PerfEventFlag, Boolean(v));
  if (o.precise_ip) a.set('precise_ip', o.precise_ip);
  return a;
}

// object info ----------------------------------------------------------------------------------

export type InfoLayoutName = 'bpf_prog_info' | 'bpf_map_info' | 'bpf_link_info' | 'bpf_btf_info';

export function infoBuf<N extends InfoLayoutName>(name: N): StructBuf<(typeof U.layouts)[N]> {
  return new StructBuf(U.layouts[name], name);
}

/** `struct bpf_map_info` (BPF_OBJ_GET_INFO_BY_FD of a map). */
export interface MapInfo {
  type: number; id: number; keySize: number; valueSize: number; maxEntries: number; mapFlags: number;
  name: string; ifindex: number; btfId: number; btfKeyTypeId: number; btfValueTypeId: number;
  btfVmlinuxValueTypeId: number; mapExtra: bigint;
}

export function parseMapInfo(s: StructBuf<typeof U.layouts.bpf_map_info>): MapInfo {
  return {
    type: s.get('type'), id: s.get('id'), keySize: s.get('key_size'), valueSize: s.get('value_size'),
    maxEntries: s.get('max_entries'), mapFlags: s.get('map_flags'), name: s.getString('name'),
    ifindex: s.get('ifindex'), btfId: s.get('btf_id'), btfKeyTypeId: s.get('btf_key_type_id'),
    btfValueTypeId: s.get('btf_value_type_id'), btfVmlinuxValueTypeId: s.get('btf_vmlinux_value_type_id'),
    mapExtra: s.getBig('map_extra'),
  };
}

/** `struct bpf_prog_info` (BPF_OBJ_GET_INFO_BY_FD of a program). */
export interface ProgInfo {
  type: number; id: number; tag: string; name: string; jitedProgLen: number; xlatedProgLen: number;
  loadTime: bigint; createdByUid: number; nrMapIds: number; gplCompatible: boolean; btfId: number;
  runTimeNs: bigint; runCnt: bigint; verifiedInsns: number; attachBtfObjId: number; attachBtfId: number;
}

export function parseProgInfo(s: StructBuf<typeof U.layouts.bpf_prog_info>): ProgInfo {
  return {
    type: s.get('type'), id: s.get('id'), tag: hex(s.getBytes('tag')), name: s.getString('name'),
    jitedProgLen: s.get('jited_prog_len'), xlatedProgLen: s.get('xlated_prog_len'), loadTime: s.getBig('load_time'),
    createdByUid: s.get('created_by_uid'), nrMapIds: s.get('nr_map_ids'), gplCompatible: s.get('gpl_compatible') === 1,
    btfId: s.get('btf_id'), runTimeNs: s.getBig('run_time_ns'), runCnt: s.getBig('run_cnt'),
    verifiedInsns: s.get('verified_insns'), attachBtfObjId: s.get('attach_btf_obj_id'), attachBtfId: s.get('attach_btf_id'),
  };
}

export interface LinkInfo { type: number; id: number; progId: number }

export function parseLinkInfo(s: StructBuf<typeof U.layouts.bpf_link_info>): LinkInfo {
  return { type: s.get('type'), id: s.get('id'), progId: s.get('prog_id') };
}

// ---------------------------------------------------------------------------------------------
// commands: run a builder through the current syscall layer

function run(cmd: number, a: StructBuf<BpfAttrLayout>): number {
  return getSyscalls().bpf(cmd, a.buf);
}

function isErrno(e: unknown, ...names: string[]): e is SyscallError {
  return e instanceof SyscallError && names.includes(e.errnoName);
}

// Like libbpf's bpf_map_create() / bpf_prog_load() / bpf_btf_load(), the creating calls raise
// RLIMIT_MEMLOCK first where the kernel charges BPF memory to it (before 5.11).
export function mapCreate(o: MapCreateOptions): OwnedFd {
  bumpMemlockRlimit();
  return new OwnedFd(run(U.BPF_MAP_CREATE, mapCreateAttr(o)), 'map');
}

/** Look up `key`, filling `value`; false when the key is absent (ENOENT). */
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

function cutLog(log: Bytes, trueSize = 0): string {
  return cStringAt(log, trueSize || log.byteLength);
}

function hex(b: Bytes): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** The most telling line of a verifier log: the last line before the summary lines. */
export function verifierSummary(log: string): string {
  const lines = log.split('\n').map((l) => l.trim()).filter(Boolean);
  const skip = /^(processed \d+ insns|verification time|stack depth|max_states_per_insn|-- END)/;
  for (let i = lines.length - 1; i >= 0; i--) if (!skip.test(lines[i])) return lines[i];
  return '';
}

const DEFAULT_LOG_SIZE = 1 << 20;
const MAX_LOG_SIZE = 1 << 30 >>> 2; // the kernel's limit is UINT_MAX >> 2

/**
 * BPF_PROG_LOAD. Loads without a log first; if the kernel rejects the program (EINVAL,
 * EACCES, ...) loads again with a log (level 1, or `logLevel`) and throws a VerifierError
 * carrying the full log. A caller-given `logBuf` is used from the start.
 */
/** BPF_PROG_LOAD, retried as libbpf does when the verifier was interrupted (EAGAIN) */
function loadRetrying(a: StructBuf<BpfAttrLayout>): number {
  for (let attempt = 1; ; attempt++) {
    try {
      return run(U.BPF_PROG_LOAD, a);
    } catch (e) {
      if (!(e instanceof SyscallError) || e.errnoName !== 'EAGAIN' || attempt >= PROG_LOAD_ATTEMPTS) throw e;
    }
  }
}
const PROG_LOAD_ATTEMPTS = 5;

export function progLoad(o: ProgLoadOptions): OwnedFd {
  bumpMemlockRlimit();
  const name = o.name ?? '';
  try {
    return new OwnedFd(loadRetrying(progLoadAttr(o)), 'prog');
  } catch (e) {
    if (!(e instanceof SyscallError) || e.errnoName === 'EPERM') throw e;
    let logBuf = o.logBuf && o.logBuf.byteLength ? o.logBuf : null;
    let a: StructBuf<BpfAttrLayout> | null = null;
    let err: SyscallError = e;
    if (!logBuf) {
      // retry with a log; grow it when the kernel says the log did not fit
      let size = DEFAULT_LOG_SIZE;
      for (;;) {
        logBuf = bytes(size);
        a = progLoadAttr({ ...o, logBuf, logLevel: o.logLevel || 1 });
        try {
          return new OwnedFd(loadRetrying(a), 'prog'); // loaded this time: odd, but fine
        } catch (e2) {
          if (!(e2 instanceof SyscallError)) throw e2;
          err = e2;
        }
        const need = a.get('log_true_size');
        if (err.errnoName === 'ENOSPC' && size < MAX_LOG_SIZE) {
          size = Math.min(MAX_LOG_SIZE, need > size ? need : size * 4);
          continue;
        }
        break;
      }
    }
    const log = cutLog(logBuf, a ? a.get('log_true_size') : 0);
    if (!log) throw err;
    const summary = verifierSummary(log);
    throw new VerifierError(
      `program${name ? ` '${name}'` : ''} rejected by the verifier (${err.errnoName}): ${summary}`,
      { ...err.details, program: name, log, summary }, { cause: err });
  }
}

export function objPin(fd: number, path: string, fileFlags = 0): void {
  run(U.BPF_OBJ_PIN, objAttr(path, fd, fileFlags));
}

export function objGet(path: string, fileFlags = 0, kind = 'pinned'): OwnedFd {
  return new OwnedFd(run(U.BPF_OBJ_GET, objAttr(path, 0, fileFlags)), kind);
}

export interface TestRunResult {
  retval: number;
  duration: number;
  dataSizeOut: number;
  ctxSizeOut: number;
}

export function progTestRun(o: ProgTestRunOptions): TestRunResult {
  const a = progTestRunAttr(o);
  run(U.BPF_PROG_TEST_RUN, a);
  return {
    retval: a.get('test.retval'), duration: a.get('test.duration'),
    dataSizeOut: a.get('test.data_size_out'), ctxSizeOut: a.get('test.ctx_size_out'),
  };
}

/** BPF_BTF_LOAD; on failure retries with a log and attaches it to the error (details.log). */
export function btfLoad(o: BtfLoadOptions): OwnedFd {
  bumpMemlockRlimit();
  try {
    return new OwnedFd(run(U.BPF_BTF_LOAD, btfLoadAttr(o)), 'btf');
  } catch (e) {
    if (!(e instanceof SyscallError) || e.errnoName === 'EPERM' || (o.logBuf && o.logBuf.byteLength)) throw e;
    const logBuf = bytes(DEFAULT_LOG_SIZE);
    const a = btfLoadAttr({ ...o, logBuf, logLevel: o.logLevel || 1 });
    try {
      return new OwnedFd(run(U.BPF_BTF_LOAD, a), 'btf');
    } catch (e2) {
      if (!(e2 instanceof SyscallError)) throw e2;
      const log = cutLog(logBuf, a.get('btf_log_true_size'));
      throw syscallError('BPF_BTF_LOAD', e2.errno, { log, summary: verifierSummary(log) });
    }
  }
}

/** BPF_OBJ_GET_INFO_BY_FD into a fresh info struct of the named layout. */
export function objGetInfo<N extends InfoLayoutName>(fd: number, name: N): StructBuf<(typeof U.layouts)[N]> {
  const info = infoBuf(name);
  run(U.BPF_OBJ_GET_INFO_BY_FD, objGetInfoByFdAttr(fd, info.buf));
  return info;
}

export function mapInfo(fd: number): MapInfo {
  return parseMapInfo(objGetInfo(fd, 'bpf_map_info'));
}

export function progInfo(fd: number): ProgInfo {
  return parseProgInfo(objGetInfo(fd, 'bpf_prog_info'));
}

export function linkInfo(fd: number): LinkInfo {
  return parseLinkInfo(objGetInfo(fd, 'bpf_link_info'));
}

export function linkCreate(o: LinkCreateOptions): OwnedFd {
  return new OwnedFd(run(U.BPF_LINK_CREATE, linkCreateAttr(o)), 'link');
}

export function rawTracepointOpen(name: string | null, progFd: number, cookie: bigint | number = 0): OwnedFd {
  return new OwnedFd(run(U.BPF_RAW_TRACEPOINT_OPEN, rawTracepointOpenAttr(name, progFd, cookie)), 'link');
}

export function progAttach(o: ProgAttachOptions): void {
  run(U.BPF_PROG_ATTACH, progAttachAttr(o));
}

export function progDetach(o: ProgAttachOptions): void {
  run(U.BPF_PROG_DETACH, progAttachAttr(o));
}

export function linkDetach(linkFd: number): void {
  run(U.BPF_LINK_DETACH, linkDetachAttr(linkFd));
}

/** BPF_ITER_CREATE: a new run of an iterator link, as an fd to read (libbpf's bpf_iter_create). */
export function iterCreate(linkFd: number): OwnedFd {
  return new OwnedFd(run(U.BPF_ITER_CREATE, iterCreateAttr(linkFd)), 'iter');
}

export function linkUpdate(linkFd: number, newProgFd: number, flags = 0, oldProgFd = 0): void {
  run(U.BPF_LINK_UPDATE, linkUpdateAttr(linkFd, newProgFd, flags, oldProgFd));
}

export function progBindMap(progFd: number, mapFd: number): void {
  run(U.BPF_PROG_BIND_MAP, progBindMapAttr(progFd, mapFd));
}

/** perf_event_open with a perf_event_attr built by perfEventAttr(). */
export function perfEventOpen(attr: StructBuf<PerfEventAttrLayout>, pid: number, cpu: number, groupFd = -1, flags: number = U.PERF_FLAG_FD_CLOEXEC): OwnedFd {
  return new OwnedFd(getSyscalls().perfEventOpen(attr.buf, pid, cpu, groupFd, flags), 'perf_event');
}
