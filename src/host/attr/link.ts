// BPF_LINK_* commands (create, update, detach), BPF_RAW_TRACEPOINT_OPEN and BPF_ITER_CREATE.
import * as U from '../generated/uapi.js';
import { OwnedFd } from '../fd.js';
import type { Bytes } from '../syscall.js';
import { bpfAttr, run, type BpfAttrLayout } from './bpf-attr.js';
import { cString, type StructBuf } from './struct-buf.js';

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

export function iterCreateAttr(linkFd: number, flags = 0): StructBuf<BpfAttrLayout> {
  return bpfAttr().set('iter_create.link_fd', linkFd).set('iter_create.flags', flags);
}

export function linkCreate(o: LinkCreateOptions): OwnedFd {
  return new OwnedFd(run(U.BPF_LINK_CREATE, linkCreateAttr(o)), 'link');
}

export function rawTracepointOpen(name: string | null, progFd: number, cookie: bigint | number = 0): OwnedFd {
  return new OwnedFd(run(U.BPF_RAW_TRACEPOINT_OPEN, rawTracepointOpenAttr(name, progFd, cookie)), 'link');
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
