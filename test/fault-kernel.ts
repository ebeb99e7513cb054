// Fault injection for the host (issue 15 part 3): a Syscalls layer that fails the Nth
// system call with a chosen errno and keeps the books of every fd handed out, wrapped
// around either the real kernel (root) or a simulated one (no privileges needed: bpf()
// commands answered from a table, fds that are numbers in a set).
import * as U from '../src/host/generated/uapi.js';
import { syscallError, type Bytes, type Mapping, type Syscalls } from '../src/host/syscall.js';

/** bpf commands that return a new fd */
const FD_CMDS = new Set<number>([
  U.BPF_MAP_CREATE, U.BPF_PROG_LOAD, U.BPF_BTF_LOAD, U.BPF_OBJ_GET, U.BPF_LINK_CREATE, U.BPF_RAW_TRACEPOINT_OPEN,
  U.BPF_MAP_GET_FD_BY_ID, U.BPF_PROG_GET_FD_BY_ID, U.BPF_BTF_GET_FD_BY_ID, U.BPF_LINK_GET_FD_BY_ID, U.BPF_ITER_CREATE,
]);

export const FAULT_ERRNOS = ['EPERM', 'ENOMEM', 'EAGAIN', 'EINTR', 'E2BIG', 'EBADF'] as const;
export type FaultErrno = (typeof FAULT_ERRNOS)[number];

export interface CallRecord {
  /** bpf command name, or the syscall's name */
  what: string;
  /** the injected errno, when this call was the one failed */
  failed?: FaultErrno;
}

function bpfName(cmd: number): string {
  for (const [k, v] of Object.entries(U.bpf_cmd)) if (Number(v) === cmd && !k.startsWith('__')) return k;
  return `BPF_CMD_${cmd}`;
}

/**
 * Wraps `inner`; `failAt(n, errno)` makes the nth counted call (1-based, from the last
 * reset) throw the typed error the real layer would build for that errno. Calls that only
 * read process facts (page size, CPUs, addresses) are neither counted nor failed.
 */
export class FaultSyscalls implements Syscalls {
  calls: CallRecord[] = [];
  /** fds handed out by the inner layer and not closed since */
  readonly open = new Set<number>();
  #n = 0;
  #failAt = 0;
  #errno: FaultErrno = 'EPERM';

  constructor(readonly inner: Syscalls) {}

  #failName = '';
  #failTimes = 0;

  reset(failAt = 0, errno: FaultErrno = 'EPERM'): void {
    this.calls = [];
    this.#n = 0;
    this.#failAt = failAt;
    this.#errno = errno;
    this.#failTimes = 0;
  }

  /** Fail the next `times` calls named `what` (e.g. 'BPF_PROG_LOAD') with `errno`. */
  failNext(what: string, times: number, errno: FaultErrno): void {
    this.reset(0, errno);
    this.#failName = what;
    this.#failTimes = times;
  }

  #gate(what: string): void {
    this.#n++;
    if (this.#failTimes > 0 && what === this.#failName) {
      this.#failTimes--;
      this.calls.push({ what, failed: this.#errno });
      throw syscallError(what, U.ERRNO[this.#errno]);
    }
    if (this.#n === this.#failAt) {
      this.calls.push({ what, failed: this.#errno });
      throw syscallError(what, U.ERRNO[this.#errno]);
    }
    this.calls.push({ what });
  }

  #fd(fd: number): number {
    this.open.add(fd);
    return fd;
  }

  bpf(cmd: number, attr: Bytes): number {
    this.#gate(bpfName(cmd));
    const r = this.inner.bpf(cmd, attr);
    return FD_CMDS.has(cmd) ? this.#fd(r) : r;
  }
  perfEventOpen(attr: Bytes, pid: number, cpu: number, groupFd: number, flags: number): number {
    this.#gate('perf_event_open');
    return this.#fd(this.inner.perfEventOpen(attr, pid, cpu, groupFd, flags));
  }
  ioctl(fd: number, request: number, arg?: number | bigint | Bytes | null): number {
    this.#gate('ioctl');
    return this.inner.ioctl(fd, request, arg);
  }
  mmap(fd: number, length: number, prot: number, flags: number, offset: number): Mapping {
    this.#gate('mmap');
    return this.inner.mmap(fd, length, prot, flags, offset);
  }
  munmap(m: Mapping): void {
    this.inner.munmap(m);
  }
  close(fd: number): void {
    this.open.delete(fd);
    this.inner.close(fd);
  }
  read(fd: number, buf: Bytes): number {
    this.#gate('read');
    return this.inner.read(fd, buf);
  }
  epollCreate(): number {
    this.#gate('epoll_create1');
    return this.#fd(this.inner.epollCreate());
  }
  epollCtl(epfd: number, op: number, fd: number, events: number, data: number): void {
    this.#gate('epoll_ctl');
    this.inner.epollCtl(epfd, op, fd, events, data);
  }
  epollWait(epfd: number, maxEvents: number, timeoutMs: number) {
    return this.inner.epollWait(epfd, maxEvents, timeoutMs);
  }
  poll(fds: readonly { fd: number; events: number }[], timeoutMs: number) {
    return this.inner.poll(fds, timeoutMs);
  }
  setsockopt(fd: number, level: number, optname: number, value: Bytes): void {
    this.#gate('setsockopt');
    this.inner.setsockopt(fd, level, optname, value);
  }
  mount(source: string, target: string, fstype: string, flags: number, data?: string | null): void {
    this.#gate('mount');
    this.inner.mount(source, target, fstype, flags, data);
  }
  getpid() { return this.inner.getpid(); }
  geteuid() { return this.inner.geteuid(); }
  getrlimit(r: number) { return this.inner.getrlimit(r); }
  setrlimit(r: number, l: { cur: bigint; max: bigint }) { this.inner.setrlimit(r, l); }
  sysconf(n: number) { return this.inner.sysconf(n); }
  pageSize() { return this.inner.pageSize(); }
  possibleCpus() { return this.inner.possibleCpus(); }
  onlineCpus() { return this.inner.onlineCpus(); }
  ifNameToIndex(name: string) { return this.inner.ifNameToIndex(name); }
  addressOf(buf: Bytes) { return this.inner.addressOf(buf); }
}

/**
 * A simulated kernel for the unprivileged tier: answers what plan replay asks of bpf()
 * (BTF, maps, updates, freezes, programs, bind-map; nothing pinned) with fresh fd numbers
 * that never collide with the process's real ones, and delegates process facts (page
 * size, CPUs, buffer addresses) to the real layer, which needs no privileges for them.
 */
export class SimulatedKernel implements Syscalls {
  readonly live = new Set<number>();
  #next = 100_000;
  /** refuse maps created with BTF (EINVAL), as kernels without some map BTF support do */
  refuseMapBtf = false;

  constructor(readonly real: Syscalls) {}

  bpf(cmd: number, attr: Bytes): number {
    if (cmd === U.BPF_MAP_CREATE && this.refuseMapBtf) {
      const dv = new DataView(attr.buffer, attr.byteOffset, attr.byteLength);
      if (dv.getUint32(U.layouts.bpf_attr.fields.btf_fd.offset, true) !== 0) throw syscallError('BPF_MAP_CREATE', U.ERRNO.EINVAL);
    }
    switch (cmd) {
      case U.BPF_MAP_CREATE: case U.BPF_PROG_LOAD: case U.BPF_BTF_LOAD: {
        const fd = this.#next++;
        this.live.add(fd);
        return fd;
      }
      case U.BPF_MAP_UPDATE_ELEM: case U.BPF_MAP_FREEZE: case U.BPF_PROG_BIND_MAP: case U.BPF_OBJ_PIN:
        return 0;
      case U.BPF_OBJ_GET:
        throw syscallError('BPF_OBJ_GET', U.ERRNO.ENOENT);
      default:
        throw syscallError(bpfName(cmd), U.ERRNO.EOPNOTSUPP);
    }
  }
  close(fd: number): void {
    if (!this.live.delete(fd)) throw syscallError('close', U.ERRNO.EBADF);
  }
  perfEventOpen(): number { throw syscallError('perf_event_open', U.ERRNO.EOPNOTSUPP); }
  ioctl(): number { throw syscallError('ioctl', U.ERRNO.EOPNOTSUPP); }
  mmap(): Mapping { throw syscallError('mmap', U.ERRNO.EOPNOTSUPP); }
  munmap(): void {}
  read(): number { throw syscallError('read', U.ERRNO.EOPNOTSUPP); }
  epollCreate(): number { throw syscallError('epoll_create1', U.ERRNO.EOPNOTSUPP); }
  epollCtl(): void { throw syscallError('epoll_ctl', U.ERRNO.EOPNOTSUPP); }
  epollWait() { return Promise.resolve([]); }
  poll(fds: readonly unknown[]) { return Promise.resolve(fds.map(() => 0)); }
  setsockopt(): void { throw syscallError('setsockopt', U.ERRNO.EOPNOTSUPP); }
  mount(): void { throw syscallError('mount', U.ERRNO.EPERM); }
  getpid() { return this.real.getpid(); }
  geteuid() { return this.real.geteuid(); }
  getrlimit(r: number) { return this.real.getrlimit(r); }
  setrlimit(): void {}
  sysconf(n: number) { return this.real.sysconf(n); }
  pageSize() { return this.real.pageSize(); }
  possibleCpus() { return this.real.possibleCpus(); }
  onlineCpus() { return this.real.onlineCpus(); }
  ifNameToIndex(name: string) { return this.real.ifNameToIndex(name); }
  addressOf(buf: Bytes) { return this.real.addressOf(buf); }
}
