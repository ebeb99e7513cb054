// Perf-event based links: tracepoints, kprobes, uprobes and perf events. The program goes on
// a perf event (the kprobe/uprobe PMU, or a tracefs probe event on older kernels) through a
// BPF link (BPF_LINK_CREATE with BPF_PERF_EVENT, 5.15+) or PERF_EVENT_IOC_SET_BPF.
import { CorebpfError, NotSupportedError } from '../../errors.js';
import * as A from '../attr.js';
import type { OwnedFd } from '../fd.js';
import * as U from '../generated/uapi.js';
import { checkKernelSupport } from '../kernel-support.js';
import { Link } from '../link.js';
import { getSyscalls } from '../syscall.js';
import { createProbeEvent, pmuRetprobeBit, pmuType, probeEventsAvailable, tracepointId, type ProbeEvent } from '../tracefs.js';
import { resolveBinaryPath, resolveSymbolOffset } from '../uprobe.js';
import { isErrno, LINK_FALLBACK_ERRNOS } from './common.js';
import type { AttachableProgram, AttachOptions } from './options.js';

/**
 * Attach `prog` to an open perf event: BPF_LINK_CREATE(BPF_PERF_EVENT) when the kernel has
 * perf links (5.15+), else PERF_EVENT_IOC_SET_BPF; then PERF_EVENT_IOC_ENABLE. Takes
 * ownership of `perf` (closed on failure).
 */
export function attachPerfEvent(prog: AttachableProgram, perf: OwnedFd, target: string, opts: { legacy?: boolean; cookie?: number | bigint; cleanup?: (() => void) | null } = {}): Link {
  const sys = getSyscalls();
  let link: OwnedFd | null = null;
  try {
    if (!opts.legacy) {
      try {
        link = A.linkCreate({ progFd: prog.fd, targetFd: perf.fd, attachType: U.BPF_PERF_EVENT, perfEvent: { bpfCookie: opts.cookie ?? 0 } });
      } catch (e) {
        if (!isErrno(e, LINK_FALLBACK_ERRNOS)) throw e;
        link = null;
      }
    }
    if (!link) {
      if (opts.cookie) throw new NotSupportedError('BPF cookies on perf events need perf-event BPF links (Linux 5.15+)', { feature: 'bpf_link perf_event' });
      sys.ioctl(perf.fd, U.PERF_EVENT_IOC_SET_BPF, prog.fd);
    }
    sys.ioctl(perf.fd, U.PERF_EVENT_IOC_ENABLE, 0);
  } catch (e) {
    try { (link as OwnedFd | null)?.close(); } catch { /* first error wins */ }
    try { perf.close(); } catch { /* first error wins */ }
    try { opts.cleanup?.(); } catch { /* first error wins */ }
    throw e;
  }
  return new Link({
    kind: link ? 'link' : 'perf_event', program: prog.name, target, attachType: U.BPF_PERF_EVENT,
    link, perfEvent: perf, cleanup: opts.cleanup ?? null,
  });
}

export function splitTracepoint(tp: string | { category: string; name: string }): { category: string; name: string } {
  if (typeof tp !== 'string') return tp;
  const m = /^([^:/]+)[:/](.+)$/.exec(tp);
  if (!m) throw new TypeError(`tracepoint '${tp}' is not 'category:name'`);
  return { category: m[1], name: m[2] };
}

export function attachTracepoint(prog: AttachableProgram, category: string, name: string, opts: AttachOptions = {}): Link {
  const id = tracepointId(category, name);
  const perf = A.perfEventOpen(A.perfEventAttr({ type: U.PERF_TYPE_TRACEPOINT, config: id }), -1, 0);
  return attachPerfEvent(prog, perf, `tracepoint ${category}:${name}`, { legacy: opts.legacy, cookie: opts.cookie });
}

function probePerfEvent(kind: 'kprobe' | 'uprobe', retprobe: boolean, location: { path: string; offset: number; refCtrOffset?: number },
  pid: number, legacyWanted: boolean, label: string): { perf: OwnedFd; event: ProbeEvent | null } {
  const type = pmuType(kind);
  const cpu = pid === -1 ? 0 : -1;
  if (type !== null && !legacyWanted) {
    let config = 0n;
    if (retprobe) {
      const bit = pmuRetprobeBit(kind);
      if (bit === null) throw new NotSupportedError(`the ${kind} PMU has no retprobe format bit`, { feature: `${kind} PMU retprobe` });
      config |= 1n << BigInt(bit);
    }
    if (location.refCtrOffset) config |= BigInt(location.refCtrOffset) << 32n; // PERF_UPROBE_REF_CTR_OFFSET_SHIFT
    const attr = A.perfEventAttr({ type, config, probePath: location.path, probeOffset: location.offset });
    return { perf: A.perfEventOpen(attr, pid, cpu), event: null };
  }
  if (!probeEventsAvailable(kind)) {
    const ns = checkKernelSupport(kind);
    if (ns) throw ns;
    throw new NotSupportedError(`${kind} events are not available in tracefs`, { feature: `CONFIG_${kind.toUpperCase()}_EVENTS` });
  }
  if (location.refCtrOffset) throw new NotSupportedError('uprobe reference counters need the uprobe PMU', { feature: 'uprobe PMU' });
  const where = kind === 'kprobe'
    ? `${location.path}${location.offset ? `+${location.offset}` : ''}`
    : `${location.path}:0x${location.offset.toString(16)}`;
  const event = createProbeEvent(kind, retprobe, where, label);
  try {
    const perf = A.perfEventOpen(A.perfEventAttr({ type: U.PERF_TYPE_TRACEPOINT, config: event.id }), pid, cpu);
    return { perf, event };
  } catch (e) {
    event.remove();
    throw e;
  }
}

export function attachKprobe(prog: AttachableProgram, func: string, offset: number, retprobe: boolean, opts: AttachOptions = {}): Link {
  const ns = checkKernelSupport('kprobe');
  if (ns) {
    throw new NotSupportedError(`cannot attach ${retprobe ? 'kretprobe' : 'kprobe'} '${prog.name}' to ${func}: ${ns.message}`,
      { ...ns.details, program: prog.name });
  }
  if (retprobe && offset) throw new CorebpfError('kretprobes do not support an offset');
  const { perf, event } = probePerfEvent('kprobe', retprobe, { path: func, offset }, -1, !!opts.legacy, func);
  return attachPerfEvent(prog, perf, `${retprobe ? 'kretprobe' : 'kprobe'} ${func}${offset ? `+${offset}` : ''}`,
    { legacy: opts.legacy, cookie: opts.cookie, cleanup: event ? () => event.remove() : null });
}

export const SYSCALL_PREFIX: Record<string, string> = {
  x64: '__x64_sys_', arm64: '__arm64_sys_', s390x: '__s390x_sys_', riscv64: '__riscv_sys_', loong64: 'sys_', ppc64: 'sys_',
};

export function attachUprobe(prog: AttachableProgram, u: NonNullable<AttachOptions['uprobe']>, opts: AttachOptions = {}): Link {
  const binary = resolveBinaryPath(u.binary);
  const retprobe = !!u.retprobe;
  let offset = u.offset ?? 0;
  if (u.symbol) offset += resolveSymbolOffset(binary, u.symbol);
  const ns = checkKernelSupport('uprobe');
  if (ns) throw new NotSupportedError(`cannot attach uprobe '${prog.name}': ${ns.message}`, { ...ns.details, program: prog.name });
  const pid = u.pid ?? -1;
  const label = `${binary.split('/').pop()}_${u.symbol ?? ''}_0x${offset.toString(16)}`;
  const { perf, event } = probePerfEvent('uprobe', retprobe, { path: binary, offset, refCtrOffset: u.refCtrOffset }, pid, !!opts.legacy, label);
  const what = `${retprobe ? 'uretprobe' : 'uprobe'} ${binary}:${u.symbol ?? ''}${u.symbol && u.offset ? '+' : ''}${u.offset || !u.symbol ? `0x${(u.offset ?? offset).toString(16)}` : ''}${pid === -1 ? '' : ` pid ${pid}`}`;
  return attachPerfEvent(prog, perf, what, { legacy: opts.legacy, cookie: opts.cookie, cleanup: event ? () => event.remove() : null });
}

export function attachPerfEventProgram(prog: AttachableProgram, p: NonNullable<AttachOptions['perfEvent']>, opts: AttachOptions = {}): Link {
  const pid = p.pid ?? (p.cpu !== undefined ? -1 : 0);
  const cpu = p.cpu ?? (p.pid !== undefined ? -1 : (pid === 0 ? -1 : 0));
  const attr = A.perfEventAttr({
    type: p.type, config: p.config, config1: p.config1, config2: p.config2,
    samplePeriod: p.samplePeriod, sampleFreq: p.sampleFreq, flags: p.flags,
  });
  const perf = A.perfEventOpen(attr, pid, cpu);
  return attachPerfEvent(prog, perf, `perf_event type ${p.type} config ${p.config} (pid ${pid}, cpu ${cpu})`, { legacy: opts.legacy, cookie: opts.cookie });
}
