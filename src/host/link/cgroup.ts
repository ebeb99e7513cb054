// Cgroup and network-namespace links (cgroup_skb/sock/sockaddr/sysctl/sockopt/dev, sockops,
// flow_dissector, sk_lookup).
import { constants as fsc } from 'node:fs';
import { CorebpfError } from '../../errors.js';
import type { OwnedFd } from '../fd.js';
import type { Link } from '../link.js';
import { attachTypeName, openPath } from './common.js';
import { attachToFd } from './fd-target.js';
import type { AttachableProgram, AttachOptions } from './options.js';

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
