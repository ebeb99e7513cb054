// Tracing links: raw tracepoints, and the BTF-targeted programs (tp_btf, fentry/fexit/
// fmod_ret, freplace, lsm) and iterators, all through BPF_LINK_CREATE (or
// BPF_RAW_TRACEPOINT_OPEN on kernels before tracing links).
import { NotSupportedError } from '../../errors.js';
import * as A from '../attr.js';
import type { OwnedFd } from '../fd.js';
import * as U from '../generated/uapi.js';
import { explainUnsupported } from '../kernel-support.js';
import { Link } from '../link.js';
import { attachTypeName, isErrno, LINK_FALLBACK_ERRNOS } from './common.js';
import type { AttachableProgram, AttachOptions } from './options.js';

export function attachRawTracepoint(prog: AttachableProgram, name: string | null, opts: AttachOptions = {}): Link {
  const fd = A.rawTracepointOpen(name, prog.fd, opts.cookie ?? 0);
  return new Link({ kind: 'link', program: prog.name, target: name === null ? 'raw tracepoint (BTF)' : `raw_tracepoint ${name}`, link: fd });
}

export function attachBtf(prog: AttachableProgram, opts: AttachOptions = {}): Link {
  const attachType = opts.attachType ?? prog.expectedAttachType;
  try {
    let fd: OwnedFd;
    try {
      fd = A.linkCreate({ progFd: prog.fd, targetFd: 0, attachType, ...(opts.cookie ? { tracing: { cookie: opts.cookie } } : {}) });
    } catch (e) {
      // kernels before 5.11 (tracing) / 5.x: BPF_RAW_TRACEPOINT_OPEN with a NULL name
      if (!isErrno(e, LINK_FALLBACK_ERRNOS) || opts.cookie) throw e;
      try {
        fd = A.rawTracepointOpen(null, prog.fd);
      } catch {
        throw e;
      }
    }
    return new Link({ kind: 'link', program: prog.name, target: `${attachTypeName(attachType)}${prog.attachBtfId ? ` btf_id ${prog.attachBtfId}` : ''}`, attachType, link: fd });
  } catch (e) {
    const ns = explainUnsupported(prog.type, attachType, e);
    if (ns) throw new NotSupportedError(`cannot attach '${prog.name}' (SEC("${prog.section}")): ${ns.message}`, ns.details, { cause: e });
    throw e;
  }
}

export function attachIter(prog: AttachableProgram, it: AttachOptions['iter'] = {}): Link {
  let iterInfo: Uint8Array | undefined;
  if (it && Object.keys(it).length) {
    const s = new A.StructBuf(U.layouts.bpf_iter_link_info, 'bpf_iter_link_info');
    if (it.mapFd !== undefined) s.set('map.map_fd', it.mapFd);
    if (it.cgroupFd !== undefined) s.set('cgroup.cgroup_fd', it.cgroupFd).set('cgroup.order', it.cgroupOrder ?? 0);
    if (it.tid !== undefined) s.set('task.tid', it.tid);
    if (it.pid !== undefined) s.set('task.pid', it.pid);
    if (it.pidFd !== undefined) s.set('task.pid_fd', it.pidFd);
    iterInfo = s.buf;
  }
  const fd = A.linkCreate({ progFd: prog.fd, targetFd: 0, attachType: U.BPF_TRACE_ITER, iterInfo });
  return new Link({ kind: 'link', program: prog.name, target: 'iter', attachType: U.BPF_TRACE_ITER, link: fd });
}
