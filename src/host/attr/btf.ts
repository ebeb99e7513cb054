// BPF_BTF_LOAD, retried with a log when the kernel rejects the BTF.
import { SyscallError } from '../../errors.js';
import * as U from '../generated/uapi.js';
import { OwnedFd } from '../fd.js';
import { bumpMemlockRlimit } from '../memlock.js';
import { syscallError, type Bytes } from '../syscall.js';
import { bpfAttr, cutLog, DEFAULT_LOG_SIZE, run, verifierSummary, type BpfAttrLayout } from './bpf-attr.js';
import { bytes, type StructBuf } from './struct-buf.js';

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
