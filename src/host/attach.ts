// Attaching loaded programs: from the section name (what libbpf's bpf_program__attach does)
// or from an explicit target. BPF links (BPF_LINK_CREATE / BPF_RAW_TRACEPOINT_OPEN) are used
// wherever the kernel has them; the older link-less paths (PERF_EVENT_IOC_SET_BPF,
// BPF_PROG_ATTACH, tracefs probe events) are the fallback when LINK_CREATE answers
// EINVAL / ENOTSUPP / EOPNOTSUPP, or when `legacy: true` asks for them.
//
// kprobe.multi / kprobe.session and uprobe.multi live in link/, USDT in usdt/.
// Not implemented (NotSupportedError naming it): XDP and tc through netlink (only XDP links,
// Linux 5.9+, and tcx links, Linux 6.6+, are used), struct_ops (attached through their
// map), lirc_mode2, lwt_* and tc actions.
import { openSync, constants as fsc } from 'node:fs';
import { release } from 'node:os';
import { CorebpfError, NotSupportedError, SyscallError } from '../errors.js';
import * as A from './attr.js';
import { OwnedFd } from './fd.js';
import * as U from './generated/uapi.js';
import { checkKernelSupport, explainUnsupported } from './kernel-support.js';
import { Link, type LinkParts } from './link.js';
import { parseSection, type SectionSpec } from './sections.js';
import { enumName, getSyscalls } from './syscall.js';
import { createProbeEvent, pmuRetprobeBit, pmuType, probeEventsAvailable, tracepointId, type ProbeEvent } from './tracefs.js';
import { resolveBinaryPath, resolveSymbolOffset } from './uprobe.js';
import { attachKprobeMulti, type KprobeMultiOptions } from './link/kprobe-multi.js';
import { attachUprobeMulti, type UprobeMultiOptions } from './link/uprobe-multi.js';
import { attachUsdt, type UsdtOptions } from './usdt/attach.js';

/** What attachProgram needs of a loaded program. */
export interface AttachableProgram {
  fd: number;
  name: string;
  section: string;
  type: number;
  expectedAttachType: number;
  attachBtfId: number;
}

export interface NetDevice {
  ifindex?: number;
  ifname?: string;
}

export interface AttachOptions {
  /** 'category:name' or 'category/name' (tracepoint programs). */
  tracepoint?: string | { category: string; name: string };
  /** Raw tracepoint name, e.g. 'sys_enter' (raw_tracepoint programs). */
  rawTracepoint?: string;
  /** Kernel function [+offset] (kprobe programs); needs CONFIG_KPROBE_EVENTS. */
  kprobe?: string | { func: string; offset?: number; retprobe?: boolean };
  uprobe?: {
    /** Path, or a bare name looked up in PATH (executables) or the library directories (*.so*). */
    binary: string;
    /** Function symbol; `offset` is added to its file offset (or is the file offset without one). */
    symbol?: string;
    offset?: number;
    /** Only this process (default: every process). */
    pid?: number;
    retprobe?: boolean;
    /** Offset of a USDT-style semaphore (reference counter) in the file. */
    refCtrOffset?: number;
  };
  /** kprobe.multi / kretprobe.multi (5.18+) or kprobe.session (6.10+) link; `retprobe` and `session` default to the section's. */
  kprobeMulti?: KprobeMultiOptions;
  /** USDT probe (programs using libbpf's usdt.bpf.h); binary/provider/name default to the section's usdt/PATH:PROVIDER:NAME. */
  usdt?: Partial<UsdtOptions>;
  /** uprobe.multi link (Linux 6.6+): a pattern, symbols or offsets in one file; `retprobe` defaults to the section's. */
  uprobeMulti?: UprobeMultiOptions;
  perfEvent?: {
    type: number;
    config: number | bigint;
    config1?: number | bigint;
    config2?: number | bigint;
    samplePeriod?: number | bigint;
    sampleFreq?: number | bigint;
    /** CPU to sample on (-1: any); default -1 when `pid` is given, else 0. */
    cpu?: number;
    /** Process to sample (-1: all); default -1 when `cpu` is given, else 0 (this process). */
    pid?: number;
    flags?: A.PerfEventOptions['flags'];
  };
  xdp?: NetDevice & { mode?: 'auto' | 'skb' | 'generic' | 'drv' | 'native' | 'hw'; flags?: number };
  /** tcx link (Linux 6.6+); `direction` defaults to the section's (tc/ingress, tcx/egress...). */
  tcx?: NetDevice & { direction?: 'ingress' | 'egress'; flags?: number; relativeFd?: number; relativeId?: number; expectedRevision?: number | bigint };
  /** Same as tcx (legacy tc through netlink is not implemented). */
  tc?: NetDevice & { direction?: 'ingress' | 'egress'; flags?: number; relativeFd?: number; relativeId?: number; expectedRevision?: number | bigint };
  netkit?: NetDevice & { peer?: boolean; flags?: number };
  /** A cgroup v2 directory (path or open fd), with an optional attach type override and flags. */
  cgroup?: string | number | { path?: string; fd?: number; attachType?: number; flags?: number };
  /** A socket fd (socket filters via SO_ATTACH_BPF, sk_reuseport via SO_ATTACH_REUSEPORT_EBPF). */
  socketFd?: number;
  /** A sockmap / sockhash map fd (sk_skb, sk_msg). */
  sockmap?: number;
  /** Network namespace (path or fd; default /proc/self/ns/net) for flow_dissector and sk_lookup. */
  netns?: string | number;
  netfilter?: { pf: number; hooknum: number; priority: number; flags?: number };
  /** Iterator parameters (iter programs). */
  iter?: { mapFd?: number; cgroupFd?: number; cgroupOrder?: number; tid?: number; pid?: number; pidFd?: number };
  /** BPF cookie (perf-event based, raw_tp and tracing links). */
  cookie?: number | bigint;
  /** Override the attach type (cgroup, netns, sockmap, generic targets). */
  attachType?: number;
  /** Use the link-less paths (PERF_EVENT_IOC_SET_BPF, BPF_PROG_ATTACH, tracefs probe events). */
  legacy?: boolean;
}

// socket option numbers (asm-generic, also x86, arm64, riscv, powerpc, s390, loongarch)
const SOL_SOCKET = 1;
const SO_DETACH_FILTER = 27;
const SO_ATTACH_BPF = 50;
const SO_ATTACH_REUSEPORT_EBPF = 52;
const SO_DETACH_REUSEPORT_BPF = 68;

const LINK_FALLBACK_ERRNOS = new Set(['EINVAL', 'ENOTSUPP', 'EOPNOTSUPP']);

function isErrno(e: unknown, names: ReadonlySet<string> | string[]): e is SyscallError {
  const set = Array.isArray(names) ? new Set(names) : names;
  return e instanceof SyscallError && set.has(e.errnoName);
}

function u32buf(v: number): Uint8Array {
  const b = A.bytes(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

/** Kernel release as [major, minor] (from uname). */
export function kernelVersion(): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release());
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

function kernelBefore(major: number, minor: number): boolean {
  const [a, b] = kernelVersion();
  return a < major || (a === major && b < minor);
}

function attachTypeName(t: number): string {
  return enumName(U.bpf_attach_type, t) ?? `attach type ${t}`;
}

// ---------------------------------------------------------------------------------------------
// helpers

function ifindexOf(dev: NetDevice, what: string): { ifindex: number; label: string } {
  if (dev.ifindex !== undefined) return { ifindex: dev.ifindex, label: dev.ifname ?? `ifindex ${dev.ifindex}` };
  if (dev.ifname) return { ifindex: getSyscalls().ifNameToIndex(dev.ifname), label: dev.ifname };
  throw new CorebpfError(`${what} needs an ifindex or ifname`);
}

function openPath(path: string, flags: number, kind: string): OwnedFd {
  try {
    return new OwnedFd(openSync(path, flags), kind) // libuv opens with O_CLOEXEC;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new SyscallError(`open(${path}) failed: ${err.code ?? err.message}`, {
      cmd: 'open', errno: -(err.errno ?? 0), errnoName: err.code ?? '', path,
    }, { cause: e });
  }
}

/** A new fd of the same program (BPF_PROG_GET_FD_BY_ID), for detaching after the caller closed theirs. */
function ownProgFd(progFd: number): OwnedFd {
  const id = A.progInfo(progFd).id;
  return new OwnedFd(getSyscalls().bpf(U.BPF_PROG_GET_FD_BY_ID, A.getFdByIdAttr(id).buf), 'prog');
}

/** A new fd of the same map (BPF_MAP_GET_FD_BY_ID): owned by whoever asked, independent of `mapFd`. */
export function ownMapFd(mapFd: number): OwnedFd {
  const id = A.mapInfo(mapFd).id;
  return new OwnedFd(getSyscalls().bpf(U.BPF_MAP_GET_FD_BY_ID, A.getFdByIdAttr(id).buf), 'map');
}

function needTarget(prog: AttachableProgram, what: string): never {
  throw new CorebpfError(`program '${prog.name}' (SEC("${prog.section}")) cannot be attached from its section name: pass ${what}`,
    { program: prog.name, section: prog.section });
}

function notImplemented(prog: AttachableProgram, what: string): never {
  throw new NotSupportedError(`attaching ${what} (program '${prog.name}', SEC("${prog.section}")) is not implemented by corebpf`,
    { feature: `corebpf: ${what}`, program: prog.name });
}

// ---------------------------------------------------------------------------------------------
// perf-event based attachments: tracepoint, kprobe, uprobe, perf_event

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

function splitTracepoint(tp: string | { category: string; name: string }): { category: string; name: string } {
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

export function attachRawTracepoint(prog: AttachableProgram, name: string | null, opts: AttachOptions = {}): Link {
  const fd = A.rawTracepointOpen(name, prog.fd, opts.cookie ?? 0);
  return new Link({ kind: 'link', program: prog.name, target: name === null ? 'raw tracepoint (BTF)' : `raw_tracepoint ${name}`, link: fd });
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

const SYSCALL_PREFIX: Record<string, string> = {
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

// ---------------------------------------------------------------------------------------------
// BTF-targeted programs: tp_btf, fentry/fexit/fmod_ret, freplace, lsm, iter

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

// ---------------------------------------------------------------------------------------------
// networking

const XDP_MODES: Record<string, number> = {
  auto: 0, skb: U.XDP_FLAGS_SKB_MODE, generic: U.XDP_FLAGS_SKB_MODE, drv: U.XDP_FLAGS_DRV_MODE, native: U.XDP_FLAGS_DRV_MODE, hw: U.XDP_FLAGS_HW_MODE,
};

export function attachXdp(prog: AttachableProgram, x: NonNullable<AttachOptions['xdp']>): Link {
  const { ifindex, label } = ifindexOf(x, 'XDP attach');
  const mode = XDP_MODES[x.mode ?? 'auto'];
  if (mode === undefined) throw new TypeError(`unknown XDP mode '${x.mode}'`);
  const flags = mode | (x.flags ?? 0);
  try {
    const fd = A.linkCreate({ progFd: prog.fd, targetIfindex: ifindex, attachType: U.BPF_XDP, flags });
    return new Link({ kind: 'link', program: prog.name, target: `xdp ${label}`, attachType: U.BPF_XDP, link: fd });
  } catch (e) {
    if (isErrno(e, LINK_FALLBACK_ERRNOS) && kernelBefore(5, 9)) {
      throw new NotSupportedError('XDP BPF links need Linux 5.9+; attaching XDP through netlink (IFLA_XDP) is not implemented by corebpf',
        { feature: 'bpf_link xdp' }, { cause: e });
    }
    throw e;
  }
}

export function attachTcx(prog: AttachableProgram, t: NonNullable<AttachOptions['tcx']>, spec: SectionSpec | undefined): Link {
  const { ifindex, label } = ifindexOf(t, 'tcx attach');
  const sectionDir = spec?.target?.kind === 'direction' ? spec.target.direction : undefined;
  const direction = t.direction ?? sectionDir ??
    (prog.expectedAttachType === U.BPF_TCX_EGRESS ? 'egress' : prog.expectedAttachType === U.BPF_TCX_INGRESS ? 'ingress' : undefined);
  if (!direction) throw new CorebpfError(`tc program '${prog.name}' needs a direction ('ingress' or 'egress')`);
  const attachType = direction === 'egress' ? U.BPF_TCX_EGRESS : U.BPF_TCX_INGRESS;
  try {
    const fd = A.linkCreate({
      progFd: prog.fd, targetIfindex: ifindex, attachType, flags: t.flags ?? 0,
      tcx: { relativeFd: t.relativeFd, relativeId: t.relativeId, expectedRevision: t.expectedRevision },
    });
    return new Link({ kind: 'link', program: prog.name, target: `tcx ${direction} ${label}`, attachType, link: fd });
  } catch (e) {
    if (isErrno(e, LINK_FALLBACK_ERRNOS) && kernelBefore(6, 6)) {
      throw new NotSupportedError('tcx links need Linux 6.6+; legacy tc (clsact qdisc + cls_bpf filter over netlink) is not implemented by corebpf',
        { feature: 'tcx' }, { cause: e });
    }
    throw e;
  }
}

export function attachNetkit(prog: AttachableProgram, n: NonNullable<AttachOptions['netkit']>, spec: SectionSpec | undefined): Link {
  const { ifindex, label } = ifindexOf(n, 'netkit attach');
  const peer = n.peer ?? (spec?.target?.kind === 'direction' && spec.target.direction === 'egress');
  const attachType = peer ? U.BPF_NETKIT_PEER : U.BPF_NETKIT_PRIMARY;
  const fd = A.linkCreate({ progFd: prog.fd, targetIfindex: ifindex, attachType, flags: n.flags ?? 0, netkit: {} });
  return new Link({ kind: 'link', program: prog.name, target: `netkit ${peer ? 'peer' : 'primary'} ${label}`, attachType, link: fd });
}

/**
 * Link to `targetFd` (cgroup, netns, sockmap) with BPF_LINK_CREATE; on EINVAL / ENOTSUPP
 * (kernels without that link type) or with `legacy`, BPF_PROG_ATTACH instead, detached by
 * close() with BPF_PROG_DETACH. Takes ownership of `holder` (the target fd we opened).
 */
function attachToFd(prog: AttachableProgram, holder: OwnedFd | number, attachType: number, target: string,
  opts: { legacy?: boolean; flags?: number; multi?: boolean; progAttachTargetFd?: number }): Link {
  const targetFd = holder instanceof OwnedFd ? holder.fd : holder;
  let linkErr: unknown = null;
  if (!opts.legacy) {
    try {
      const fd = A.linkCreate({ progFd: prog.fd, targetFd, attachType, flags: opts.flags ?? 0 });
      if (holder instanceof OwnedFd) holder.close(); // the link holds the target itself
      return new Link({ kind: 'link', program: prog.name, target, attachType, link: fd });
    } catch (e) {
      if (!isErrno(e, LINK_FALLBACK_ERRNOS)) {
        if (holder instanceof OwnedFd) holder.close();
        throw e;
      }
      linkErr = e;
    }
  }
  // BPF_PROG_ATTACH: keep our own program fd so that close() can detach after the caller closed theirs
  let own: OwnedFd | null = null;
  try {
    own = ownProgFd(prog.fd);
    const paTarget = opts.progAttachTargetFd ?? targetFd;
    const attachFlags = (opts.flags ?? 0) | (opts.multi === false ? 0 : U.BPF_F_ALLOW_MULTI);
    A.progAttach({ targetFd: paTarget, attachBpfFd: prog.fd, attachType, attachFlags });
    const ownFd = own;
    const parts: LinkParts = {
      kind: 'prog_attach', program: prog.name, target, attachType, holder,
      detach: () => {
        try {
          A.progDetach({ targetFd: paTarget, attachBpfFd: ownFd.fd, attachType });
        } finally {
          ownFd.close();
        }
      },
    };
    return new Link(parts);
  } catch (e) {
    own?.close();
    if (holder instanceof OwnedFd) holder.close();
    if (linkErr && e instanceof SyscallError && e.errnoName === (linkErr as SyscallError).errnoName) throw linkErr;
    throw e;
  }
}

export function attachCgroup(prog: AttachableProgram, cg: NonNullable<AttachOptions['cgroup']>, opts: AttachOptions = {}): Link {
  const o = typeof cg === 'string' ? { path: cg } : typeof cg === 'number' ? { fd: cg } : cg;
  const attachType = o.attachType ?? opts.attachType ?? prog.expectedAttachType;
  let holder: OwnedFd | number;
  if (o.fd !== undefined) holder = o.fd;
  else if (o.path) holder = openPath(o.path, fsc.O_RDONLY | fsc.O_DIRECTORY, 'cgroup');
  else throw new CorebpfError('cgroup attach needs a path or fd');
  // a caller's cgroup fd is not ours: with BPF_PROG_ATTACH they keep it open until close()
  return attachToFd(prog, holder, attachType, `cgroup ${o.path ?? `fd ${o.fd}`} (${attachTypeName(attachType)})`, { legacy: opts.legacy, flags: o.flags });
}

export function attachNetns(prog: AttachableProgram, ns: string | number | undefined, opts: AttachOptions = {}): Link {
  const attachType = opts.attachType ?? prog.expectedAttachType;
  const holder = typeof ns === 'number' ? ns : openPath(ns ?? '/proc/self/ns/net', fsc.O_RDONLY, 'netns');
  // the legacy flow dissector attach works on the caller's current netns (target_fd 0)
  return attachToFd(prog, holder, attachType, `netns ${typeof ns === 'number' ? `fd ${ns}` : ns ?? '/proc/self/ns/net'} (${attachTypeName(attachType)})`,
    { legacy: opts.legacy, multi: false, progAttachTargetFd: 0 });
}

export function attachSockmap(prog: AttachableProgram, mapFd: number, opts: AttachOptions = {}): Link {
  const attachType = opts.attachType ?? prog.expectedAttachType;
  const holder = ownMapFd(mapFd);
  return attachToFd(prog, holder, attachType, `sockmap fd ${mapFd} (${attachTypeName(attachType)})`, { legacy: opts.legacy, multi: false });
}

export function attachSocket(prog: AttachableProgram, socketFd: number): Link {
  const sys = getSyscalls();
  const reuseport = prog.type === U.BPF_PROG_TYPE_SK_REUSEPORT;
  sys.setsockopt(socketFd, SOL_SOCKET, reuseport ? SO_ATTACH_REUSEPORT_EBPF : SO_ATTACH_BPF, u32buf(prog.fd));
  return new Link({
    kind: 'socket', program: prog.name, target: `socket fd ${socketFd}`, holder: socketFd,
    detach: () => {
      try {
        sys.setsockopt(socketFd, SOL_SOCKET, reuseport ? SO_DETACH_REUSEPORT_BPF : SO_DETACH_FILTER, u32buf(0));
      } catch (e) {
        // the socket is gone (EBADF / ENOTSOCK) or its filter was already removed (ENOENT)
        if (!isErrno(e, ['EBADF', 'ENOTSOCK', 'ENOENT'])) throw e;
      }
    },
  });
}

export function attachNetfilter(prog: AttachableProgram, nf: NonNullable<AttachOptions['netfilter']>): Link {
  const fd = A.linkCreate({ progFd: prog.fd, attachType: U.BPF_NETFILTER, netfilter: nf });
  return new Link({ kind: 'link', program: prog.name, target: `netfilter pf ${nf.pf} hook ${nf.hooknum} prio ${nf.priority}`, attachType: U.BPF_NETFILTER, link: fd });
}

// ---------------------------------------------------------------------------------------------
// the entry point

/**
 * Attach a loaded program. An explicit target in `opts` wins; otherwise the section name
 * says what to do (as libbpf's bpf_program__attach does). Throws NotSupportedError when the
 * kernel lacks what the attachment needs (naming it), CorebpfError when a target is missing.
 */
export function attachProgram(prog: AttachableProgram, opts: AttachOptions = {}): Link {
  const spec = parseSection(prog.section);
  if (opts.tracepoint) {
    const { category, name } = splitTracepoint(opts.tracepoint);
    return attachTracepoint(prog, category, name, opts);
  }
  if (opts.rawTracepoint !== undefined) return attachRawTracepoint(prog, opts.rawTracepoint, opts);
  if (opts.kprobe !== undefined) {
    const k = typeof opts.kprobe === 'string' ? parseKprobeSpec(opts.kprobe) : opts.kprobe;
    const retprobe = k.retprobe ?? (spec?.target?.kind === 'kprobe' ? spec.target.retprobe : prog.section.startsWith('kretprobe'));
    return attachKprobe(prog, k.func, k.offset ?? 0, retprobe, opts);
  }
  if (opts.uprobe) {
    const retprobe = opts.uprobe.retprobe ?? (spec?.kind === 'uprobe' && /^uretprobe/.test(prog.section));
    return attachUprobe(prog, { ...opts.uprobe, retprobe }, opts);
  }
  if (opts.kprobeMulti) {
    return attachKprobeMulti(prog, {
      ...opts.kprobeMulti, retprobe: opts.kprobeMulti.retprobe ?? prog.section.startsWith('kretprobe.multi'),
      session: opts.kprobeMulti.session ?? spec?.kind === 'kprobe_session',
    });
  }
  if (opts.usdt) {
    const t = spec?.target?.kind === 'usdt' ? spec.target : undefined;
    const binary = opts.usdt.binary ?? t?.binary, provider = opts.usdt.provider ?? t?.provider, name = opts.usdt.name ?? t?.name;
    if (!binary || !provider || !name) needTarget(prog, '{ usdt: { binary, provider, name } }');
    return attachUsdt(prog, { ...opts.usdt, binary, provider, name });
  }
  if (opts.uprobeMulti) return attachUprobeMulti(prog, { ...opts.uprobeMulti, retprobe: opts.uprobeMulti.retprobe ?? prog.section.startsWith('uretprobe.multi') });
  if (opts.perfEvent) return attachPerfEventProgram(prog, opts.perfEvent, opts);
  if (opts.xdp) return attachXdp(prog, opts.xdp);
  if (opts.tcx ?? opts.tc) return attachTcx(prog, (opts.tcx ?? opts.tc)!, spec);
  if (opts.netkit) return attachNetkit(prog, opts.netkit, spec);
  if (opts.cgroup !== undefined) return attachCgroup(prog, opts.cgroup, opts);
  if (opts.socketFd !== undefined) return attachSocket(prog, opts.socketFd);
  if (opts.sockmap !== undefined) return attachSockmap(prog, opts.sockmap, opts);
  if (opts.netfilter) return attachNetfilter(prog, opts.netfilter);
  if (opts.netns !== undefined) return attachNetns(prog, opts.netns, opts);
  if (opts.iter) return attachIter(prog, opts.iter);

  if (!spec) return attachByProgType(prog, opts);
  if (spec.error) throw new CorebpfError(`program '${prog.name}': ${spec.error}`, { program: prog.name, section: prog.section });
  const t = spec.target;
  switch (spec.kind) {
    case 'tracepoint':
      if (t?.kind !== 'tracepoint') needTarget(prog, "{ tracepoint: 'category:name' }");
      return attachTracepoint(prog, t.category, t.name, opts);
    case 'raw_tracepoint':
      if (t?.kind !== 'raw_tracepoint') needTarget(prog, "{ rawTracepoint: 'name' }");
      return attachRawTracepoint(prog, t.name, opts);
    case 'kprobe':
      if (t?.kind !== 'kprobe') needTarget(prog, "{ kprobe: 'function' }");
      return attachKprobe(prog, t.func, t.offset, t.retprobe, opts);
    case 'ksyscall': {
      if (t?.kind !== 'ksyscall') needTarget(prog, "{ kprobe: '__<arch>_sys_<name>' }");
      const prefix = SYSCALL_PREFIX[process.arch] ?? 'sys_';
      return attachKprobe(prog, `${prefix}${t.syscall}`, 0, t.retprobe, opts);
    }
    case 'uprobe':
      if (t?.kind !== 'uprobe') needTarget(prog, '{ uprobe: { binary, symbol | offset } }');
      return attachUprobe(prog, { binary: t.binary, symbol: t.func || undefined, offset: t.offset, retprobe: t.retprobe }, opts);
    case 'tp_btf': case 'fentry': case 'fexit': case 'fmod_ret': case 'freplace': case 'lsm':
      return attachBtf(prog, opts);
    case 'iter':
      return attachIter(prog);
    case 'perf_event':
      return needTarget(prog, '{ perfEvent: { type, config, samplePeriod | sampleFreq, cpu | pid } }');
    case 'xdp':
      return needTarget(prog, '{ xdp: { ifname | ifindex, mode? } }');
    case 'tcx': case 'tc':
      return needTarget(prog, '{ tcx: { ifname | ifindex, direction } }');
    case 'netkit':
      return needTarget(prog, '{ netkit: { ifname | ifindex } }');
    case 'cgroup': case 'sockops': case 'lsm_cgroup':
      return needTarget(prog, "{ cgroup: '/sys/fs/cgroup/...' }");
    case 'socket': case 'sk_reuseport':
      return needTarget(prog, '{ socketFd }');
    case 'sk_skb': case 'sk_msg':
      return needTarget(prog, '{ sockmap: mapFd }');
    case 'flow_dissector': case 'sk_lookup':
      return attachNetns(prog, undefined, opts);
    case 'netfilter':
      return needTarget(prog, '{ netfilter: { pf, hooknum, priority } }');
    case 'kprobe_multi': case 'kprobe_session':
      if (t?.kind !== 'kprobe_multi') needTarget(prog, "{ kprobeMulti: { pattern | symbols | addrs } }");
      return attachKprobeMulti(prog, { pattern: t.pattern, retprobe: t.retprobe, session: spec.kind === 'kprobe_session' });
    case 'uprobe_multi':
      if (t?.kind !== 'uprobe_multi') needTarget(prog, "{ uprobeMulti: { binary, pattern | symbols | offsets } }");
      return attachUprobeMulti(prog, { binary: t.binary, pattern: t.pattern, retprobe: t.retprobe });
    case 'usdt':
      if (t?.kind !== 'usdt') needTarget(prog, '{ usdt: { binary, provider, name } }');
      return attachUsdt(prog, { binary: t.binary, provider: t.provider, name: t.name });
    case 'struct_ops':
      return notImplemented(prog, 'struct_ops programs on their own (they attach through their struct_ops map)');
    case 'xdp_devmap': case 'xdp_cpumap':
      return needTarget(prog, 'a devmap/cpumap entry (these programs run from map entries, not from an attachment)');
    case 'lirc': case 'lwt': case 'action': case 'syscall':
      return notImplemented(prog, `${spec.kind} attachment`);
    default:
      return notImplemented(prog, `SEC("${prog.section}")`);
  }
}

function parseKprobeSpec(s: string): { func: string; offset: number; retprobe?: boolean } {
  const m = /^([a-zA-Z0-9_.]+)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(s);
  if (!m) throw new TypeError(`invalid kprobe target '${s}' (want function[+offset])`);
  return { func: m[1], offset: m[2] ? Number(m[2]) : 0 };
}

/** Attach a program whose section libbpf does not know, from its program type. */
function attachByProgType(prog: AttachableProgram, opts: AttachOptions): Link {
  switch (prog.type) {
    case U.BPF_PROG_TYPE_TRACING:
    case U.BPF_PROG_TYPE_LSM:
    case U.BPF_PROG_TYPE_EXT:
      return prog.expectedAttachType === U.BPF_TRACE_ITER ? attachIter(prog, opts.iter) : attachBtf(prog, opts);
    default:
      return needTarget(prog, 'an explicit target in the attach options (the section name is not one libbpf knows)');
  }
}

