// Attaching loaded programs: from the section name (what libbpf's bpf_program__attach does)
// or from an explicit target. BPF links (BPF_LINK_CREATE / BPF_RAW_TRACEPOINT_OPEN) are used
// wherever the kernel has them; the older link-less paths (PERF_EVENT_IOC_SET_BPF,
// BPF_PROG_ATTACH, tracefs probe events) are the fallback when LINK_CREATE answers
// EINVAL / ENOTSUPP / EOPNOTSUPP, or when `legacy: true` asks for them.
//
// Not implemented (NotSupportedError naming it): XDP and tc through netlink (only XDP links,
// Linux 5.9+, and tcx links, Linux 6.6+, are used), struct_ops programs on their own (their
// map attaches them: obj.attachStructOps, ./link/struct-ops.ts), lirc_mode2, lwt_* and tc actions.
//
// This module only routes: each link family lives in ./link/ (one module each, as
// cilium/ebpf's link package; USDT in ./usdt/), what the kernel can attach in ./kernel-support.ts.
import { CorebpfError } from '../errors.js';
import * as U from './generated/uapi.js';
import type { Link } from './link.js';
import { attachCgroup, attachNetns } from './link/cgroup.js';
import { needTarget, notImplemented } from './link/common.js';
import { attachNetfilter } from './link/netfilter.js';
import { attachKprobeMulti } from './link/kprobe-multi.js';
import { attachNetkit, attachTcx, attachXdp } from './link/netdev.js';
import type { AttachableProgram, AttachOptions } from './link/options.js';
import { attachKprobe, attachPerfEventProgram, attachTracepoint, attachUprobe, splitTracepoint, SYSCALL_PREFIX } from './link/perf-event.js';
import { attachSocket, attachSockmap } from './link/socket.js';
import { attachBtf, attachIter, attachRawTracepoint } from './link/tracing.js';
import { attachUprobeMulti } from './link/uprobe-multi.js';
import { parseSection } from './sections.js';
import { attachUsdt } from './usdt/attach.js';

export type { AttachableProgram, AttachOptions, NetDevice } from './link/options.js';
export { ownMapFd } from './link/common.js';

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
      if (t?.kind !== 'kprobe_multi') needTarget(prog, '{ kprobeMulti: { pattern | symbols | addrs } }');
      return attachKprobeMulti(prog, { pattern: t.pattern, retprobe: t.retprobe, session: spec.kind === 'kprobe_session' });
    case 'uprobe_multi':
      if (t?.kind !== 'uprobe_multi') needTarget(prog, '{ uprobeMulti: { binary, pattern | symbols | offsets } }');
      return attachUprobeMulti(prog, { binary: t.binary, pattern: t.pattern, retprobe: t.retprobe });
    case 'usdt':
      if (t?.kind !== 'usdt') needTarget(prog, '{ usdt: { binary, provider, name } }');
      return attachUsdt(prog, { binary: t.binary, provider: t.provider, name: t.name });
    case 'struct_ops':
      return notImplemented(prog, 'struct_ops programs on their own (they attach through their struct_ops map: obj.attachStructOps(mapName))');
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
