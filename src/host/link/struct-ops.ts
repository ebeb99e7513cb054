// struct_ops maps: a BPF implementation of a kernel ops table (tcp_congestion_ops, ...),
// registered the way libbpf's bpf_map__attach_struct_ops() registers it. The plan carries
// the map's value (libbpf's kern_vdata: the kernel's `struct bpf_struct_ops_<name>` with the
// object's data) and which 8-byte slots take which program's fd. Attaching writes the fds,
// updates key 0 -- which registers the ops on any kernel with struct_ops -- and, for a
// SEC(".struct_ops.link") map (BPF_F_LINK, Linux 6.4+), creates the BPF_LINK_CREATE link
// that holds the registration. close() unregisters as libbpf's bpf_link__detach_struct_ops
// does: delete key 0, or close the link.
import { readFileSync } from 'node:fs';
import { parseBtf } from '../../btf/reader.js';
import { BTF_KIND_ENUM, BTF_KIND_ENUM64 } from '../../btf/kinds.js';
import { CorebpfError, NotSupportedError, SyscallError } from '../../errors.js';
import { planBytes, type LoadPlan, type PlanMap } from '../../plan.js';
import * as A from '../attr.js';
import * as U from '../generated/uapi.js';
import { Link } from '../link.js';

export interface StructOpsMap {
  name: string;
  fd: number;
  spec: PlanMap;
  /** the plan's (and so the kernel's) byte order */
  byteOrder: 'little' | 'big';
}

/** The program fd of plan program i, or null when it was not loaded. */
export type StructOpsProgFd = (program: number) => { name: string; fd: number } | null;

/** An object's struct_ops map as attachStructOps takes it: its plan entry and its loaded programs' fds. */
export function planStructOps(plan: LoadPlan, map: { name: string; fd: number }, programs: readonly { name: string; fd: number }[]): [StructOpsMap, StructOpsProgFd] {
  const spec = plan.maps.find((x) => x.name === map.name && !x.innerTemplate)!;
  return [{ name: map.name, fd: map.fd, spec, byteOrder: plan.byteOrder }, (i) => {
    const name = plan.programs[i]?.name;
    const p = programs.find((x) => x.name === name);
    return p ? { name: p.name, fd: p.fd } : null;
  }];
}

/** The map's value with its programs' fds written in, set as key 0 (which registers a plain
 *  struct_ops map; a link map's value is only stored, and EBUSY once a link has used it). */
function setStructOpsValue(map: StructOpsMap, progFd: StructOpsProgFd): void {
  const m = requireStructOps(map);
  if (!m.structOps) {
    throw new CorebpfError(`map '${map.name}': the load plan has no struct_ops value for it (a plan made before struct_ops support: relocate again)`,
      { map: map.name });
  }
  const value = Buffer.from(planBytes(m.structOps.value));
  for (const slot of m.structOps.programs) {
    const p = progFd(slot.program);
    if (!p) {
      throw new CorebpfError(`map '${map.name}': the struct_ops program for value offset ${slot.offset} (plan program ${slot.program}) ` +
        'was not loaded: load it with the map', { map: map.name, program: slot.program });
    }
    if (map.byteOrder === 'big') value.writeBigUInt64BE(BigInt(p.fd), slot.offset);
    else value.writeBigUInt64LE(BigInt(p.fd), slot.offset);
  }
  const withLink = (m.flags & U.BPF_F_LINK) !== 0;
  try {
    A.mapUpdateElem(map.fd, KEY0, value, 0);
  } catch (e) {
    // a link map whose value a link has used before keeps it (libbpf skips EBUSY too)
    if (!(withLink && e instanceof SyscallError && e.errnoName === 'EBUSY')) throw e;
  }
}

const KEY0 = Buffer.alloc(4);

function requireStructOps(map: StructOpsMap): PlanMap {
  const m = map.spec;
  if (m.type !== U.BPF_MAP_TYPE_STRUCT_OPS) {
    throw new CorebpfError(`map '${map.name}' is not a struct_ops map (type ${m.type}): only SEC(".struct_ops") / SEC(".struct_ops.link") maps attach this way`,
      { map: map.name });
  }
  return m;
}

/** Register a struct_ops map with its programs' fds. */
export function attachStructOps(map: StructOpsMap, progFd: StructOpsProgFd): Link {
  setStructOpsValue(map, progFd);
  const target = `struct_ops map '${map.name}'`;
  if ((map.spec.flags & U.BPF_F_LINK) === 0) {
    // the registration lives in the map's value: deleting it unregisters
    return new Link({
      kind: 'struct_ops', program: map.name, target, attachType: U.BPF_STRUCT_OPS, holder: map.fd,
      detach: () => { A.mapDeleteElem(map.fd, KEY0); },
    });
  }
  // link_create.map_fd shares prog_fd's place in bpf_attr
  const link = A.linkCreate({ progFd: map.fd, attachType: U.BPF_STRUCT_OPS });
  return new Link({ kind: 'link', program: map.name, target, attachType: U.BPF_STRUCT_OPS, link });
}

/**
 * Switch a struct_ops link to another map, as libbpf's bpf_link__update_map(): the new map's
 * value set, then BPF_LINK_UPDATE with its fd (Linux 6.4+). The kernel swaps the registered
 * ops in place, so the new map must implement the same struct under the same name (for
 * tcp_congestion_ops, the same `.name`); it refuses others with EINVAL.
 */
export function updateStructOpsLink(link: Link, map: StructOpsMap, progFd: StructOpsProgFd): void {
  if (link.closed) throw new CorebpfError(`cannot switch ${link.toString()} to map '${map.name}': the link is closed`, { map: map.name });
  if (link.attachType !== U.BPF_STRUCT_OPS || !link.isBpfLink) {
    throw new CorebpfError(`${link.toString()} is not a struct_ops link: only a SEC(".struct_ops.link") map's link can switch maps`,
      { map: map.name });
  }
  if ((requireStructOps(map).flags & U.BPF_F_LINK) === 0) {
    throw new CorebpfError(`map '${map.name}' is a SEC(".struct_ops") map: a struct_ops link can only switch to a SEC(".struct_ops.link") map`,
      { map: map.name });
  }
  setStructOpsValue(map, progFd);
  // link_update.new_map_fd shares new_prog_fd's place in bpf_attr
  A.linkUpdate(link.fd, map.fd);
}

let linkFlagKnown: boolean | null | undefined;

/** Whether the running kernel's BTF knows BPF_F_LINK (struct_ops links, Linux 6.4+); null when it cannot be read. */
function kernelHasStructOpsLinks(): boolean | null {
  if (linkFlagKnown !== undefined) return linkFlagKnown;
  try {
    const btf = parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux')));
    linkFlagKnown = false;
    for (let id = 1; id <= btf.lastId && !linkFlagKnown; id++) {
      const k = btf.kindOf(id);
      if (k !== BTF_KIND_ENUM && k !== BTF_KIND_ENUM64) continue;
      const t = btf.typeById(id);
      linkFlagKnown = 'values' in t && (t.values as readonly { name: string }[]).some((v) => v.name === 'BPF_F_LINK');
    }
  } catch {
    linkFlagKnown = null;
  }
  return linkFlagKnown;
}

/**
 * For a failed BPF_MAP_CREATE: the NotSupportedError to throw instead when a
 * SEC(".struct_ops.link") map meets a kernel without struct_ops links (before 6.4 the
 * kernel refuses the BPF_F_LINK flag with EINVAL), else null.
 */
export function explainStructOpsMapCreate(m: PlanMap, err: unknown): NotSupportedError | null {
  if (m.type !== U.BPF_MAP_TYPE_STRUCT_OPS || !(m.flags & U.BPF_F_LINK)) return null;
  if (!(err instanceof SyscallError) || err.errnoName !== 'EINVAL') return null;
  if (kernelHasStructOpsLinks() !== false) return null;
  return new NotSupportedError(
    `struct_ops map '${m.name}' is a SEC(".struct_ops.link") map, which needs struct_ops links (BPF_F_LINK, Linux 6.4+): ` +
    'this kernel refuses the flag (EINVAL) and its BTF has no BPF_F_LINK; declare the map SEC(".struct_ops") (registered ' +
    `by a map update), or setAutocreate(false) on it [${err.message}]`,
    { feature: 'struct_ops links (BPF_F_LINK)', map: m.name, errno: err.errno, errnoName: err.errnoName }, { cause: err });
}
