// A link to an fd-named target (cgroup, netns, sockmap): BPF_LINK_CREATE, or BPF_PROG_ATTACH
// on kernels without that link type, detached on close() with BPF_PROG_DETACH.
import { SyscallError } from '../../errors.js';
import * as A from '../attr.js';
import { OwnedFd } from '../fd.js';
import * as U from '../generated/uapi.js';
import { Link, type LinkParts } from '../link.js';
import { isErrno, LINK_FALLBACK_ERRNOS, ownProgFd } from './common.js';
import type { AttachableProgram } from './options.js';

/**
 * Link to `targetFd` (cgroup, netns, sockmap) with BPF_LINK_CREATE; on EINVAL / ENOTSUPP
 * (kernels without that link type) or with `legacy`, BPF_PROG_ATTACH instead, detached by
 * close() with BPF_PROG_DETACH. Takes ownership of `holder` (the target fd we opened).
 */
export function attachToFd(prog: AttachableProgram, holder: OwnedFd | number, attachType: number, target: string,
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
