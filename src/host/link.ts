// A program's attachment. Most are BPF links (an fd from BPF_LINK_CREATE or
// BPF_RAW_TRACEPOINT_OPEN: closing the last reference detaches); tracing attachments through
// perf events also own the perf event fd (and, for legacy kprobes/uprobes, the tracefs probe
// event); attachments made without links (PERF_EVENT_IOC_SET_BPF, BPF_PROG_ATTACH,
// SO_ATTACH_BPF) are undone explicitly by close().
import { unlinkSync } from 'node:fs';
import { CorebpfError, NotSupportedError, SyscallError } from '../errors.js';
import * as A from './attr.js';
import { OwnedFd } from './fd.js';
import * as U from './generated/uapi.js';
import { enumName, getSyscalls } from './syscall.js';

/**
 * - 'link': a BPF link fd (plus a perf event fd for perf-event links);
 * - 'perf_event': a perf event with the program set by PERF_EVENT_IOC_SET_BPF (no link);
 * - 'prog_attach': BPF_PROG_ATTACH to a cgroup / netns / sockmap (no link);
 * - 'socket': SO_ATTACH_BPF on a socket the caller owns (no link);
 * - 'struct_ops': a struct_ops map registered by its value (no link; close() deletes it).
 */
export type LinkKind = 'link' | 'perf_event' | 'prog_attach' | 'socket' | 'struct_ops';

export interface LinkParts {
  kind: LinkKind;
  /** Program name (for messages). */
  program: string;
  /** What it is attached to, for messages: 'tracepoint syscalls:sys_enter_getpid', 'xdp eth0'... */
  target: string;
  attachType?: number;
  link?: OwnedFd | null;
  perfEvent?: OwnedFd | null;
  /** The fd holding a link-less attachment (a cgroup dir fd we own, or the caller's socket fd). */
  holder?: OwnedFd | number | null;
  /** Undo a link-less attachment (runs first on close). */
  detach?: (() => void) | null;
  /** Runs last on close (e.g. removes a tracefs probe event); skipped while pinned. */
  cleanup?: (() => void) | null;
}

/** Decoded bpf_link_info. Type-specific fields are present for their link type only. */
export interface LinkDetails {
  type: number;
  /** BPF_LINK_TYPE_* name without the prefix, lower case ('perf_event', 'xdp', ...). */
  typeName: string;
  id: number;
  progId: number;
  attachType?: number;
  tpName?: string;
  ifindex?: number;
  cgroupId?: bigint;
  netnsIno?: number;
  targetObjId?: number;
  targetBtfId?: number;
  iterTarget?: string;
  mapId?: number;
  /** For perf-event links: BPF_PERF_EVENT_* (uprobe, kprobe, tracepoint, event). */
  perfEventType?: number;
  fileName?: string;
  funcName?: string;
  offset?: number;
  addr?: bigint;
  cookie?: bigint;
  config?: bigint;
  perfType?: number;
  netfilter?: { pf: number; hooknum: number; priority: number; flags: number };
}

const NAME_LEN = 512;

function linkTypeName(type: number): string {
  return (enumName(U.bpf_link_type, type) ?? `BPF_LINK_TYPE_${type}`).replace(/^BPF_LINK_TYPE_/, '').toLowerCase();
}

/** BPF_OBJ_GET_INFO_BY_FD on a link fd, with the names (tracepoint, file, function) filled in. */
export function linkDetails(fd: number): LinkDetails {
  const first = A.objGetInfo(fd, 'bpf_link_info');
  const type = first.get('type');
  let info = first;
  const name = A.bytes(NAME_LEN);
  const withName = (ptr: Parameters<typeof first.setPtr>[0], len: Parameters<typeof first.set>[0]): void => {
    const s = A.infoBuf('bpf_link_info');
    s.setPtr(ptr, name).set(len, NAME_LEN);
    getSyscalls().bpf(U.BPF_OBJ_GET_INFO_BY_FD, A.objGetInfoByFdAttr(fd, s.buf).buf);
    info = s;
  };
  if (type === U.BPF_LINK_TYPE_RAW_TRACEPOINT) withName('raw_tracepoint.tp_name', 'raw_tracepoint.tp_name_len');
  else if (type === U.BPF_LINK_TYPE_ITER) withName('iter.target_name', 'iter.target_name_len');
  else if (type === U.BPF_LINK_TYPE_PERF_EVENT) {
    const pt = first.get('perf_event.type');
    if (pt === U.BPF_PERF_EVENT_UPROBE || pt === U.BPF_PERF_EVENT_URETPROBE) withName('perf_event.uprobe.file_name', 'perf_event.uprobe.name_len');
    else if (pt === U.BPF_PERF_EVENT_KPROBE || pt === U.BPF_PERF_EVENT_KRETPROBE) withName('perf_event.kprobe.func_name', 'perf_event.kprobe.name_len');
    else if (pt === U.BPF_PERF_EVENT_TRACEPOINT) withName('perf_event.tracepoint.tp_name', 'perf_event.tracepoint.name_len');
  }
  const d: LinkDetails = { type, typeName: linkTypeName(type), id: info.get('id'), progId: info.get('prog_id') };
  switch (type) {
    case U.BPF_LINK_TYPE_RAW_TRACEPOINT: d.tpName = A.cStringAt(name); break;
    case U.BPF_LINK_TYPE_TRACING:
      d.attachType = info.get('tracing.attach_type'); d.targetObjId = info.get('tracing.target_obj_id'); d.targetBtfId = info.get('tracing.target_btf_id');
      break;
    case U.BPF_LINK_TYPE_CGROUP: d.cgroupId = info.getBig('cgroup.cgroup_id'); d.attachType = info.get('cgroup.attach_type'); break;
    case U.BPF_LINK_TYPE_ITER: d.iterTarget = A.cStringAt(name); break;
    case U.BPF_LINK_TYPE_NETNS: d.netnsIno = info.get('netns.netns_ino'); d.attachType = info.get('netns.attach_type'); break;
    case U.BPF_LINK_TYPE_XDP: d.ifindex = info.get('xdp.ifindex'); break;
    case U.BPF_LINK_TYPE_STRUCT_OPS: d.mapId = info.get('struct_ops.map_id'); break;
    case U.BPF_LINK_TYPE_NETFILTER:
      d.netfilter = { pf: info.get('netfilter.pf'), hooknum: info.get('netfilter.hooknum'), priority: info.get('netfilter.priority'), flags: info.get('netfilter.flags') };
      break;
    case U.BPF_LINK_TYPE_TCX: d.ifindex = info.get('tcx.ifindex'); d.attachType = info.get('tcx.attach_type'); break;
    case U.BPF_LINK_TYPE_NETKIT: d.ifindex = info.get('netkit.ifindex'); d.attachType = info.get('netkit.attach_type'); break;
    case U.BPF_LINK_TYPE_SOCKMAP: d.mapId = info.get('sockmap.map_id'); d.attachType = info.get('sockmap.attach_type'); break;
    case U.BPF_LINK_TYPE_PERF_EVENT: {
      const pt = info.get('perf_event.type');
      d.perfEventType = pt;
      if (pt === U.BPF_PERF_EVENT_UPROBE || pt === U.BPF_PERF_EVENT_URETPROBE) {
        d.fileName = A.cStringAt(name); d.offset = info.get('perf_event.uprobe.offset'); d.cookie = info.getBig('perf_event.uprobe.cookie');
      } else if (pt === U.BPF_PERF_EVENT_KPROBE || pt === U.BPF_PERF_EVENT_KRETPROBE) {
        d.funcName = A.cStringAt(name); d.offset = info.get('perf_event.kprobe.offset'); d.addr = info.getBig('perf_event.kprobe.addr');
        d.cookie = info.getBig('perf_event.kprobe.cookie');
      } else if (pt === U.BPF_PERF_EVENT_TRACEPOINT) {
        d.tpName = A.cStringAt(name); d.cookie = info.getBig('perf_event.tracepoint.cookie');
      } else if (pt === U.BPF_PERF_EVENT_EVENT) {
        d.config = info.getBig('perf_event.event.config'); d.perfType = info.get('perf_event.event.type'); d.cookie = info.getBig('perf_event.event.cookie');
      }
      break;
    }
    default: break;
  }
  return d;
}

/** An attachment of a program (a BPF link, a perf event, a legacy attach); close() detaches it unless pinned. */
export class Link implements Disposable {
  readonly kind: LinkKind;
  readonly program: string;
  readonly target: string;
  readonly attachType: number | undefined;
  #link: OwnedFd | null;
  #perf: OwnedFd | null;
  #holder: OwnedFd | number | null;
  #detach: (() => void) | null;
  #cleanup: (() => void) | null;
  #pinned: string | null = null;
  #closed = false;

  constructor(parts: LinkParts) {
    this.kind = parts.kind;
    this.program = parts.program;
    this.target = parts.target;
    this.attachType = parts.attachType;
    this.#link = parts.link ?? null;
    this.#perf = parts.perfEvent ?? null;
    this.#holder = parts.holder ?? null;
    this.#detach = parts.detach ?? null;
    this.#cleanup = parts.cleanup ?? null;
    if (this.kind === 'link' && !this.#link) throw new TypeError('a BPF link needs its fd');
  }

  /** close() was called */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The fd of this attachment: the BPF link fd; for link-less attachments the fd holding it
   * (the perf event, the cgroup directory, or the caller's socket).
   */
  get fd(): number {
    if (this.#closed) throw new CorebpfError(`link of '${this.program}' (${this.target}) is closed`);
    if (this.#link) return this.#link.fd;
    if (this.#perf) return this.#perf.fd;
    if (this.#holder instanceof OwnedFd) return this.#holder.fd;
    if (typeof this.#holder === 'number') return this.#holder;
    throw new CorebpfError(`link of '${this.program}' (${this.target}) has no fd`);
  }

  /** The perf event fd, for attachments through perf events (tracepoint, uprobe, kprobe, perf_event). */
  get perfEventFd(): number | null {
    return this.#perf && !this.#perf.closed ? this.#perf.fd : null;
  }

  /** True for BPF links (which can be pinned, queried and updated). */
  get isBpfLink(): boolean {
    return this.#link !== null;
  }

  /** where the link is pinned in bpffs, or null */
  get pinnedPath(): string | null {
    return this.#pinned;
  }

  #requireLink(what: string): OwnedFd {
    if (this.#closed) throw new CorebpfError(`cannot ${what}: link of '${this.program}' (${this.target}) is closed`);
    if (!this.#link) {
      throw new NotSupportedError(`cannot ${what}: '${this.program}' is attached to ${this.target} without a BPF link (${this.kind})`,
        { feature: 'bpf_link', kind: this.kind });
    }
    return this.#link;
  }

  /** Pin the link in bpffs; it then stays attached after close() until the pin is removed. */
  pin(path: string): void {
    A.objPin(this.#requireLink('pin').fd, path);
    this.#pinned = path;
  }

  /** Remove the pin made by pin() (the attachment then lasts as long as this object). */
  unpin(): void {
    if (!this.#pinned) return;
    unlinkSync(this.#pinned);
    this.#pinned = null;
  }

  /** BPF_LINK_DETACH: detach now, even if pinned or shared; the fd stays open (defunct). */
  detach(): void {
    A.linkDetach(this.#requireLink('detach').fd);
  }

  /** BPF_LINK_UPDATE: replace the attached program (links of attach types that allow it). */
  update(prog: { fd: number }, oldProg?: { fd: number }): void {
    A.linkUpdate(this.#requireLink('update').fd, prog.fd, oldProg ? U.BPF_F_REPLACE : 0, oldProg?.fd ?? 0);
  }

  /**
   * One run of an iterator (`iter/task`, `iter/bpf_map`, ...; attached with attach() or
   * attachIter): BPF_ITER_CREATE, then read(2) to the end, as libbpf's bpf_iter_create() and
   * cilium/ebpf's Iter.Open(). Each call is a new iteration; what the program wrote with
   * bpf_seq_printf / bpf_seq_write comes back as bytes.
   */
  readIter(maxBytes = 64 << 20): Buffer {
    if (this.attachType !== U.BPF_TRACE_ITER) {
      throw new CorebpfError(`'${this.program}' is attached to ${this.target}, not an iterator: readIter() is for iter/ programs`);
    }
    const link = this.#requireLink('read an iterator');
    const sys = getSyscalls();
    const it = A.iterCreate(link.fd);
    try {
      const chunks: Buffer[] = [];
      let total = 0;
      for (;;) {
        const buf = Buffer.alloc(64 << 10);
        const n = sys.read(it.fd, buf);
        if (n === 0) break;
        chunks.push(buf.subarray(0, n));
        total += n;
        if (total > maxBytes) throw new CorebpfError(`iterator '${this.program}' wrote more than ${maxBytes} bytes: pass a larger maxBytes to readIter()`);
      }
      return Buffer.concat(chunks, total);
    } finally {
      it.close();
    }
  }

  /** The kernel's view of the link (BPF_OBJ_GET_INFO_BY_FD). */
  info(): LinkDetails {
    return linkDetails(this.#requireLink('query').fd);
  }

  /** Detach (unless pinned) and close every fd this link owns. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const errors: unknown[] = [];
    const step = (f: () => void): void => {
      try {
        f();
      } catch (e) {
        errors.push(e);
      }
    };
    if (this.#detach) step(this.#detach);
    if (this.#link) step(() => this.#link!.close());
    if (this.#perf) {
      const perf = this.#perf;
      if (!this.#link && !this.#pinned) step(() => { getSyscalls().ioctl(perf.fd, U.PERF_EVENT_IOC_DISABLE, 0); });
      step(() => perf.close());
    }
    if (this.#holder instanceof OwnedFd) step(() => (this.#holder as OwnedFd).close());
    if (this.#cleanup && !this.#pinned) step(this.#cleanup);
    this.#link = this.#perf = null;
    this.#holder = null;
    if (errors.length) throw errors[0];
  }

  /** Same as close(). */
  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `Link(${this.program} → ${this.target}${this.#closed ? ', closed' : ''})`;
  }
}

/** Open a link pinned in bpffs (BPF_OBJ_GET). Closing it does not remove the pin. */
export function openPinnedLink(path: string): Link {
  const fd = A.objGet(path, 0, 'link');
  try {
    const d = linkDetails(fd.fd);
    const link = new Link({ kind: 'link', program: `prog#${d.progId}`, target: `pinned ${path} (${d.typeName})`, link: fd });
    return link;
  } catch (e) {
    fd.close();
    if (e instanceof SyscallError && e.errnoName === 'EINVAL') throw new CorebpfError(`${path} is not a pinned BPF link`, { path }, { cause: e });
    throw e;
  }
}
