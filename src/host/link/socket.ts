// Socket attachments: sk_skb / sk_msg on a sockmap, socket filters and sk_reuseport on a
// socket (SO_ATTACH_BPF / SO_ATTACH_REUSEPORT_EBPF, detached with their SO_DETACH_*).
import * as U from '../generated/uapi.js';
import { Link } from '../link.js';
import { getSyscalls } from '../syscall.js';
import { attachTypeName, isErrno, ownMapFd, u32buf } from './common.js';
import { attachToFd } from './fd-target.js';
import type { AttachableProgram, AttachOptions } from './options.js';

// socket option numbers (asm-generic, also x86, arm64, riscv, powerpc, s390, loongarch)
const SOL_SOCKET = 1;
const SO_DETACH_FILTER = 27;
const SO_ATTACH_BPF = 50;
const SO_ATTACH_REUSEPORT_EBPF = 52;
const SO_DETACH_REUSEPORT_BPF = 68;

export function attachSockmap(prog: AttachableProgram, mapFd: number, opts: AttachOptions = {}): Link {
  const attachType = opts.attachType ?? prog.expectedAttachType;
  const holder = ownMapFd(mapFd);
  return attachToFd(prog, holder, attachType, `sockmap fd ${mapFd} (${attachTypeName(attachType)})`, { legacy: opts.legacy, multi: false });
}

export function attachSocket(prog: AttachableProgram, socketFd: number): Link {
  const sys = getSyscalls();
  const reuseport = prog.type === U.BPF_PROG_TYPE_SK_REUSEPORT;
  sys.setsockopt(socketFd, SOL_SOCKET, reuseport ? SO_ATTACH_REUSEPORT_EBPF : SO_ATTACH_BPF, u32buf(prog.fd));
  return new Link({
    kind: 'socket', program: prog.name, target: `socket fd ${socketFd}`, holder: socketFd,
    detach: () => {
      try {
        sys.setsockopt(socketFd, SOL_SOCKET, reuseport ? SO_DETACH_REUSEPORT_BPF : SO_DETACH_FILTER, u32buf(0));
      } catch (e) {
        // the socket is gone (EBADF / ENOTSOCK) or its filter was already removed (ENOENT)
        if (!isErrno(e, ['EBADF', 'ENOTSOCK', 'ENOENT'])) throw e;
      }
    },
  });
}
