// Cgroup and network-namespace links (cgroup_skb/sock/sockaddr/sysctl/sockopt/dev, sockops,
// lsm_cgroup, flow_dissector, sk_lookup).
import { constants as fsc } from 'node:fs';
import { CorebpfError, SyscallError } from '../../errors.js';
import * as A from '../attr.js';
import type { OwnedFd } from '../fd.js';
import * as U from '../generated/uapi.js';
import type { Link } from '../link.js';
import { getSyscalls } from '../syscall.js';
import { attachTypeName, isErrno, openPath } from './common.js';
import { attachToFd } from './fd-target.js';
import type { AttachableProgram, AttachOptions } from './options.js';

export function attachCgroup(prog: AttachableProgram, cg: NonNullable<AttachOptions['cgroup']>, opts: AttachOptions = {}): Link {
  const o = typeof cg === 'string' ? { path: cg } : typeof cg === 'number' ? { fd: cg } : cg;
  const attachType = o.attachType ?? opts.attachType ?? prog.expectedAttachType;
  const flags = o.flags ?? 0;
  // BPF_F_ALLOW_OVERRIDE is a mode of BPF_PROG_ATTACH only (links are always multi), and the
  // kernel refuses it together with BPF_F_ALLOW_MULTI
  const override = (flags & U.BPF_F_ALLOW_OVERRIDE) !== 0;
  let holder: OwnedFd | number;
  if (o.fd !== undefined) holder = o.fd;
  else if (o.path) holder = openPath(o.path, fsc.O_RDONLY | fsc.O_DIRECTORY, 'cgroup');
  else throw new CorebpfError('cgroup attach needs a path or fd');
  const target = `cgroup ${o.path ?? `fd ${o.fd}`} (${attachTypeName(attachType)})`;
  try {
    // a caller's cgroup fd is not ours: with BPF_PROG_ATTACH they keep it open until close()
    return attachToFd(prog, holder, attachType, target, { legacy: opts.legacy || override, flags, multi: !override });
  } catch (e) {
    // (lsm_cgroup programs are multi only, and the kernel reports their mode per program)
    throw (isErrno(e, ['EPERM']) && attachType !== U.BPF_LSM_CGROUP && modeConflict(o, attachType, override ? U.BPF_F_ALLOW_OVERRIDE : U.BPF_F_ALLOW_MULTI, target, e)) || e;
  }
}

const MODE_NAMES: Record<number, string> = { 0: 'exclusively (no flags)', [U.BPF_F_ALLOW_OVERRIDE]: 'with BPF_F_ALLOW_OVERRIDE', [U.BPF_F_ALLOW_MULTI]: 'with BPF_F_ALLOW_MULTI (or through BPF links)' };

/**
 * The kernel answers EPERM, even to root, when a cgroup already has programs of this attach
 * type in another mode (exclusive, BPF_F_ALLOW_OVERRIDE, BPF_F_ALLOW_MULTI): say so instead
 * of letting it read as missing privileges. null when that is not the reason.
 */
function modeConflict(o: { path?: string; fd?: number }, attachType: number, wanted: number, target: string, cause: SyscallError): SyscallError | null {
  const { hint: _permissionHint, ...details } = cause.details;
  let fd: OwnedFd | null = null;
  try {
    if (o.fd === undefined) fd = openPath(o.path!, fsc.O_RDONLY | fsc.O_DIRECTORY, 'cgroup');
    const attr = A.progQueryAttr({ targetFd: fd?.fd ?? o.fd!, attachType });
    getSyscalls().bpf(U.BPF_PROG_QUERY, attr.buf);
    const count = attr.get('query.prog_cnt');
    const mode = attr.get('query.attach_flags') & (U.BPF_F_ALLOW_OVERRIDE | U.BPF_F_ALLOW_MULTI);
    if (count === 0 || mode === wanted) return null;
    return new SyscallError(`cannot attach to ${target} ${MODE_NAMES[wanted]}: ${count} program(s) are attached there ${MODE_NAMES[mode] ?? `with attach flags ${mode}`}, ` +
      'and the kernel does not mix attach modes on one cgroup (EPERM); detach those first or attach in their mode',
    { ...details, attachFlags: mode, attachedPrograms: count }, { cause });
  } catch {
    return null; // cannot tell (no privileges to query): the kernel's answer stands
  } finally {
    fd?.close();
  }
}

export function attachNetns(prog: AttachableProgram, ns: string | number | undefined, opts: AttachOptions = {}): Link {
  const attachType = opts.attachType ?? prog.expectedAttachType;
  const holder = typeof ns === 'number' ? ns : openPath(ns ?? '/proc/self/ns/net', fsc.O_RDONLY, 'netns');
  // the legacy flow dissector attach works on the caller's current netns (target_fd 0)
  return attachToFd(prog, holder, attachType, `netns ${typeof ns === 'number' ? `fd ${ns}` : ns ?? '/proc/self/ns/net'} (${attachTypeName(attachType)})`,
    { legacy: opts.legacy, multi: false, progAttachTargetFd: 0 });
}
