// Netfilter hooks (BPF_PROG_TYPE_NETFILTER, Linux 6.4+).
import * as A from '../attr.js';
import * as U from '../generated/uapi.js';
import { Link } from '../link.js';
import type { AttachableProgram, AttachOptions } from './options.js';

export function attachNetfilter(prog: AttachableProgram, nf: NonNullable<AttachOptions['netfilter']>): Link {
  const fd = A.linkCreate({ progFd: prog.fd, attachType: U.BPF_NETFILTER, netfilter: nf });
  return new Link({ kind: 'link', program: prog.name, target: `netfilter pf ${nf.pf} hook ${nf.hooknum} prio ${nf.priority}`, attachType: U.BPF_NETFILTER, link: fd });
}
