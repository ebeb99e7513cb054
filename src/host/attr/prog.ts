// BPF_PROG_* commands: load (with the verifier's log on rejection), test run, attach and
// detach to a target fd, bind a map, query, and the stats switch.
import { SyscallError, VerifierError } from '../../errors.js';
import * as U from '../generated/uapi.js';
import { OwnedFd } from '../fd.js';
import { bumpMemlockRlimit } from '../memlock.js';
import type { Bytes } from '../syscall.js';
import { bpfAttr, cutLog, DEFAULT_LOG_SIZE, run, verifierSummary, type BpfAttrLayout } from './bpf-attr.js';
import { bytes, cString, type StructBuf } from './struct-buf.js';

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

export function progBindMapAttr(progFd: number, mapFd: number, flags = 0): StructBuf<BpfAttrLayout> {
  return bpfAttr().set('prog_bind_map.prog_fd', progFd).set('prog_bind_map.map_fd', mapFd).set('prog_bind_map.flags', flags);
}

export function enableStatsAttr(type: number): StructBuf<BpfAttrLayout> {
  return bpfAttr().set('enable_stats.type', type);
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

const MAX_LOG_SIZE = 1 << 30 >>> 2; // the kernel's limit is UINT_MAX >> 2

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

/**
 * BPF_PROG_LOAD. Loads without a log first; if the kernel rejects the program (EINVAL,
 * EACCES, ...) loads again with a log (level 1, or `logLevel`) and throws a VerifierError
 * carrying the full log. A caller-given `logBuf` is used from the start.
 */
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

export function progAttach(o: ProgAttachOptions): void {
  run(U.BPF_PROG_ATTACH, progAttachAttr(o));
}

export function progDetach(o: ProgAttachOptions): void {
  run(U.BPF_PROG_DETACH, progAttachAttr(o));
}

export function progBindMap(progFd: number, mapFd: number): void {
  run(U.BPF_PROG_BIND_MAP, progBindMapAttr(progFd, mapFd));
}
