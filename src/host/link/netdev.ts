// Links on a network device: XDP (BPF links, 5.9+), tcx (6.6+) and netkit (6.7+).
import { CorebpfError, NotSupportedError, SyscallError } from '../../errors.js';
import * as A from '../attr.js';
import * as U from '../generated/uapi.js';
import { Link } from '../link.js';
import type { SectionSpec } from '../sections.js';
import { getSyscalls } from '../syscall.js';
import { isErrno, kernelBefore, LINK_FALLBACK_ERRNOS } from './common.js';
import type { AttachableProgram, AttachOptions, NetDevice } from './options.js';

function ifindexOf(dev: NetDevice, what: string): { ifindex: number; label: string } {
  if (dev.ifindex !== undefined) return { ifindex: dev.ifindex, label: dev.ifname ?? `ifindex ${dev.ifindex}` };
  if (dev.ifname) return { ifindex: getSyscalls().ifNameToIndex(dev.ifname), label: dev.ifname };
  throw new CorebpfError(`${what} needs an ifindex or ifname`);
}

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
  const where = `netkit ${peer ? 'peer' : 'primary'} ${label}`;
  try {
    const fd = A.linkCreate({ progFd: prog.fd, targetIfindex: ifindex, attachType, flags: n.flags ?? 0, netkit: {} });
    return new Link({ kind: 'link', program: prog.name, target: where, attachType, link: fd });
  } catch (e) {
    // the kernel's netkit_dev_fetch(): ENXIO not a netkit device, EACCES the pair's peer
    // (both hooks are named by the primary's ifindex); without netkit the attach type is unknown
    if (isErrno(e, LINK_FALLBACK_ERRNOS) && kernelBefore(6, 7)) {
      throw new NotSupportedError('netkit links need Linux 6.7+ (netkit devices came with it)', { feature: 'netkit' }, { cause: e });
    }
    if (isErrno(e, ['EINVAL']) && !n.flags) {
      throw new NotSupportedError(`this kernel refuses netkit links (EINVAL for ${where}): it was built without CONFIG_NETKIT`,
        { feature: 'netkit', ifindex }, { cause: e });
    }
    if (isErrno(e, ['ENXIO'])) {
      throw new SyscallError(`${e.message}: ${label} is not a netkit device; netkit programs attach to the primary device of a netkit pair`,
        { ...e.details, program: prog.name, ifindex }, { cause: e });
    }
    if (isErrno(e, ['EACCES'])) {
      // a SyscallError, not the PermissionError (root / CAP_BPF hint) EACCES otherwise becomes
      const hint = typeof e.details.hint === 'string' ? `: ${e.details.hint}` : '';
      throw new SyscallError(`${hint && e.message.endsWith(hint) ? e.message.slice(0, -hint.length) : e.message}: ${label} is the peer of its netkit pair; netkit links name ` +
        "the primary device, for the peer's hook too (SEC(\"netkit/peer\") or { netkit: { peer: true } })",
        { cmd: e.cmd, errno: e.details.errno, errnoName: e.errnoName, program: prog.name, ifindex }, { cause: e });
    }
    throw e;
  }
}
