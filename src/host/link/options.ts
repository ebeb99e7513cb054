// What attaching takes: the loaded program's identity and the explicit targets of each
// link family (every field optional: the section name supplies what it names).
import type * as A from '../attr.js';
import type { UsdtOptions } from '../usdt/attach.js';
import type { KprobeMultiOptions } from './kprobe-multi.js';
import type { UprobeMultiOptions } from './uprobe-multi.js';

/** What attachProgram needs of a loaded program. */
export interface AttachableProgram {
  fd: number;
  name: string;
  section: string;
  type: number;
  expectedAttachType: number;
  attachBtfId: number;
}

/** A network device, by index or name. */
export interface NetDevice {
  ifindex?: number;
  ifname?: string;
}

/** Where and how {@link Program.attach} attaches, by program type (the section gives the rest). */
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
  /** uprobe.multi link (Linux 6.6+): a pattern, symbols or offsets in one file; `retprobe` defaults to the section's. */
  uprobeMulti?: UprobeMultiOptions;
  /** USDT probe (programs using libbpf's usdt.bpf.h); binary/provider/name default to the section's usdt/PATH:PROVIDER:NAME. */
  usdt?: Partial<UsdtOptions>;
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
