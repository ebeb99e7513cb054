// What every link family shares: errno tests, the kernel release, fds of the target
// objects, and the errors for a missing target or an unimplemented attachment.
import { openSync } from 'node:fs';
import { release } from 'node:os';
import { CorebpfError, NotSupportedError, SyscallError } from '../../errors.js';
import * as A from '../attr.js';
import { OwnedFd } from '../fd.js';
import * as U from '../generated/uapi.js';
import { enumName, getSyscalls } from '../syscall.js';
import type { AttachableProgram } from './options.js';

export const LINK_FALLBACK_ERRNOS = new Set(['EINVAL', 'ENOTSUPP', 'EOPNOTSUPP']);

export function isErrno(e: unknown, names: ReadonlySet<string> | string[]): e is SyscallError {
  const set = Array.isArray(names) ? new Set(names) : names;
  return e instanceof SyscallError && set.has(e.errnoName);
}

export function u32buf(v: number): Uint8Array {
  const b = A.bytes(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

/** Kernel release as [major, minor] (from uname). */
export function kernelVersion(): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release());
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

export function kernelBefore(major: number, minor: number): boolean {
  const [a, b] = kernelVersion();
  return a < major || (a === major && b < minor);
}

export function attachTypeName(t: number): string {
  return enumName(U.bpf_attach_type, t) ?? `attach type ${t}`;
}

export function openPath(path: string, flags: number, kind: string): OwnedFd {
  try {
    return new OwnedFd(openSync(path, flags), kind) // libuv opens with O_CLOEXEC;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new SyscallError(`open(${path}) failed: ${err.code ?? err.message}`, {
      cmd: 'open', errno: -(err.errno ?? 0), errnoName: err.code ?? '', path,
    }, { cause: e });
  }
}

/** A new fd of the same program (BPF_PROG_GET_FD_BY_ID), for detaching after the caller closed theirs. */
export function ownProgFd(progFd: number): OwnedFd {
  const id = A.progInfo(progFd).id;
  return new OwnedFd(getSyscalls().bpf(U.BPF_PROG_GET_FD_BY_ID, A.getFdByIdAttr(id).buf), 'prog');
}

/** A new fd of the same map (BPF_MAP_GET_FD_BY_ID): owned by whoever asked, independent of `mapFd`. */
export function ownMapFd(mapFd: number): OwnedFd {
  const id = A.mapInfo(mapFd).id;
  return new OwnedFd(getSyscalls().bpf(U.BPF_MAP_GET_FD_BY_ID, A.getFdByIdAttr(id).buf), 'map');
}

export function needTarget(prog: AttachableProgram, what: string): never {
  throw new CorebpfError(`program '${prog.name}' (SEC("${prog.section}")) cannot be attached from its section name: pass ${what}`,
    { program: prog.name, section: prog.section });
}

export function notImplemented(prog: AttachableProgram, what: string): never {
  throw new NotSupportedError(`attaching ${what} (program '${prog.name}', SEC("${prog.section}")) is not implemented by corebpf`,
    { feature: `corebpf: ${what}`, program: prog.name });
}
