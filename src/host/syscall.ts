// The one entry point from corebpf to the kernel. This is the ONLY file that imports koffi.
//
// Everything the host needs from the operating system goes through the `Syscalls` interface
// (syscall-layer.ts): the default instance calls libc through koffi; tests swap it with
// `setSyscalls()` for a fake layer. Failures throw typed errors (src/errors.ts) that carry
// the command name and errno name.
//
// errno: koffi's synchronous calls leave the thread's errno as the C call left it, and
// `koffi.errno()` reads it. We clear it before each call, and read it immediately after a
// call that returned -1, before anything else in JS runs. For async calls (epoll_wait, poll)
// koffi saves errno on the worker thread right after the call and restores it while the
// completion callback runs, so reading it first thing in the callback is reliable too.
//
// Memory: pointers are BigInt in koffi 3. `koffi.address(buffer)` gives the address of a
// Node Buffer / typed array (their backing stores are off the V8 heap and do not move);
// `koffi.view(ptr, len)` wraps external memory (an mmap'ed region) in an ArrayBuffer without
// copying. Such an ArrayBuffer cannot be detached: after munmap, touching it faults, so the
// owner of a Mapping must drop every view before unmapping.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type KoffiModule from 'koffi';
import type { LibraryHandle } from 'koffi';
import { NotSupportedError, PermissionError, SyscallError } from '../errors.js';
import * as U from './generated/uapi.js';
import type { Bytes, EpollEvent, Mapping, Syscalls } from './syscall-layer.js';

export type { BpfCall, Bytes, EpollEvent, Mapping, PollFd, Rlimit, Syscalls } from './syscall-layer.js';

// ---------------------------------------------------------------------------------------------
// names

/** Kernel-internal errno values that leak to user space from bpf() (include/linux/errno.h). */
const KERNEL_ERRNO: Readonly<Record<number, string>> = {
  512: 'ERESTARTSYS', 513: 'ERESTARTNOINTR', 514: 'ERESTARTNOHAND', 515: 'ENOIOCTLCMD',
  516: 'ERESTART_RESTARTBLOCK', 517: 'EPROBE_DEFER', 518: 'EOPENSTALE', 519: 'ENOPARAM',
  521: 'EBADHANDLE', 522: 'ENOTSYNC', 523: 'EBADCOOKIE', 524: 'ENOTSUPP', 525: 'ETOOSMALL',
  526: 'ESERVERFAULT', 527: 'EBADTYPE', 528: 'EJUKEBOX', 529: 'EIOCBQUEUED', 530: 'ERECALLCONFLICT',
};

export function errnoName(errno: number): string {
  return U.ERRNO_NAMES[errno] ?? KERNEL_ERRNO[errno] ?? `E#${errno}`;
}

/** Name of a constant in an enum object of the generated UAPI (first declared on ties). */
export function enumName(e: Readonly<Record<string, number | bigint>>, value: number): string | undefined {
  for (const [k, v] of Object.entries(e)) if (Number(v) === value && !k.startsWith('__')) return k;
  return undefined;
}

export function bpfCmdName(cmd: number): string {
  return enumName(U.bpf_cmd, cmd) ?? `BPF_CMD_${cmd}`;
}

const PERF_IOCTLS: Readonly<Record<string, number>> = {
  PERF_EVENT_IOC_ENABLE: U.PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_DISABLE: U.PERF_EVENT_IOC_DISABLE,
  PERF_EVENT_IOC_REFRESH: U.PERF_EVENT_IOC_REFRESH, PERF_EVENT_IOC_RESET: U.PERF_EVENT_IOC_RESET,
  PERF_EVENT_IOC_PERIOD: U.PERF_EVENT_IOC_PERIOD, PERF_EVENT_IOC_SET_OUTPUT: U.PERF_EVENT_IOC_SET_OUTPUT,
  PERF_EVENT_IOC_SET_FILTER: U.PERF_EVENT_IOC_SET_FILTER, PERF_EVENT_IOC_ID: U.PERF_EVENT_IOC_ID,
  PERF_EVENT_IOC_SET_BPF: U.PERF_EVENT_IOC_SET_BPF, PERF_EVENT_IOC_PAUSE_OUTPUT: U.PERF_EVENT_IOC_PAUSE_OUTPUT,
  PERF_EVENT_IOC_QUERY_BPF: U.PERF_EVENT_IOC_QUERY_BPF,
  PERF_EVENT_IOC_MODIFY_ATTRIBUTES: U.PERF_EVENT_IOC_MODIFY_ATTRIBUTES,
};

const PERMISSION_HINT =
  'run as root, or grant CAP_BPF (plus CAP_PERFMON for tracing, CAP_NET_ADMIN for networking programs); ' +
  'check kernel.unprivileged_bpf_disabled, and RLIMIT_MEMLOCK on kernels before 5.11';
/** For a process that has the privileges already, "run as root" would send the user the wrong way. */
const PRIVILEGED_HINT =
  'this process already has the privileges (root or CAP_SYS_ADMIN/CAP_BPF), so something else refused: ' +
  'kernel lockdown (/sys/kernel/security/lockdown), an LSM (SELinux, AppArmor, a BPF LSM program), ' +
  'a frozen or read-only map, the file mode of a pinned object, or a user namespace the kernel does not delegate BPF to';

/** CAP_SYS_ADMIN (21) or CAP_BPF (39) in the effective set (root's, unless it dropped them). */
const PRIVILEGED_CAPS = (1n << 21n) | (1n << 39n);
/** read at each refusal, not cached: a process may drop its privileges (setuid) after its first call */
function hasBpfPrivileges(): boolean {
  try {
    const cap = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return cap !== undefined && (BigInt(`0x${cap}`) & PRIVILEGED_CAPS) !== 0n;
  } catch {
    return process.geteuid?.() === 0;
  }
}

/**
 * Build the typed error for a failed call: EPERM (and EACCES outside program loading) is a
 * PermissionError with a hint (to get privileges, or, for a process that has them, where else
 * a refusal comes from); everything else a SyscallError. `cmd` names the operation (a bpf
 * command name such as BPF_MAP_CREATE, or a syscall name).
 */
export function syscallError(cmd: string, errno: number, extra: Record<string, unknown> = {}): SyscallError {
  const name = errnoName(errno);
  const details = { cmd, errno, errnoName: name, ...extra };
  const what = cmd.startsWith('BPF_') ? `bpf(${cmd})` : cmd;
  const desc = describeErrno(errno);
  if (errno === U.ERRNO.EPERM || (errno === U.ERRNO.EACCES && cmd !== 'BPF_PROG_LOAD')) {
    const hint = hasBpfPrivileges() ? PRIVILEGED_HINT : PERMISSION_HINT;
    return new PermissionError(`${what} failed: ${name} (${desc}): ${hint}`, { ...details, hint });
  }
  return new SyscallError(`${what} failed: ${name} (${desc})`, details);
}

// ---------------------------------------------------------------------------------------------
// the default layer: libc through koffi

/**
 * The live host runs where it has generated C library values (src/host/generated/libc-ARCH.ts,
 * picked from process.arch) and koffi has a build; elsewhere only offline relocation works.
 */
function unsupportedArch(): NotSupportedError {
  return new NotSupportedError(
    `corebpf's live host does not run on ${process.arch}: it has the C library's syscall numbers and layouts ` +
    `for ${Object.keys(U.LIBC_SETS).join(', ')} only (src/host/generated/libc-*.ts) and koffi, its FFI, has no build ` +
    `for every architecture; offline relocation still works here (\`corebpf relocate\`, \`corebpf check\`, ` +
    'relocate() with an explicit target BTF): load the plan on a supported host', { feature: 'arch', arch: process.arch });
}

/**
 * koffi, loaded on first use rather than imported: its native module exists only for some
 * architectures, and a static import would make the whole package (offline relocation
 * included) fail to load elsewhere.
 */
function loadKoffi(): typeof KoffiModule {
  try {
    return createRequire(import.meta.url)('koffi') as typeof KoffiModule;
  } catch (e) {
    throw new NotSupportedError(`cannot load koffi's native module on ${process.platform}-${process.arch}: ${(e as Error).message}`,
      { feature: 'koffi' }, { cause: e });
  }
}

let strerrorFn: ((e: number) => string) | null = null;
function describeErrno(errno: number): string {
  if (errno === 524) return 'Operation is not supported (kernel ENOTSUPP)';
  try {
    return strerrorFn ? strerrorFn(errno) : errnoName(errno);
  } catch {
    return errnoName(errno);
  }
}

function cpuListFile(path: string): number[] {
  return parseCpuList(readFileSync(path, 'utf8'));
}

/** Parse a kernel CPU list such as "0-3,5,7-8". */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`bad CPU list '${text.trim()}'`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let c = lo; c <= hi; c++) out.push(c);
  }
  return out;
}

const MAP_FAILED = (1n << 64n) - 1n;

class NativeMapping implements Mapping {
  unmapped = false;
  #buffer: ArrayBuffer | null;
  constructor(readonly address: bigint, readonly length: number, buffer: ArrayBuffer) {
    this.#buffer = buffer;
  }
  get buffer(): ArrayBuffer {
    if (this.#buffer === null) throw new Error('mapping was unmapped');
    return this.#buffer;
  }
  drop(): void {
    this.#buffer = null;
    this.unmapped = true;
  }
}

/** Create the libc-backed syscall layer (loads libc with koffi). */
export function createNativeSyscalls(): Syscalls {
  if (process.platform !== 'linux') throw new NotSupportedError(`corebpf needs Linux (this is ${process.platform})`, { feature: 'linux' });
  if (U.LIBC === null) throw unsupportedArch();
  const koffi = loadKoffi();
  let libc: LibraryHandle | null = null;
  for (const name of ['libc.so.6', 'libc.so']) {
    try {
      libc = koffi.load(name);
      break;
    } catch { /* try the next name */ }
  }
  if (!libc) throw new NotSupportedError('cannot load the C library with koffi', { feature: 'libc' });

  const syscall = libc.func('long syscall(long number, ...)');
  // bpf(2) is the hot call: a fixed signature instead of the variadic form (the
  // arguments are passed as C longs either way; koffi prepares this call once)
  const bpfCall = libc.func('syscall', 'long', ['long', 'long', 'void *', 'long']);
  const ioctlFn = libc.func('int ioctl(int fd, unsigned long request, ...)');
  const mmapFn = libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)');
  const munmapFn = libc.func('int munmap(void *addr, size_t length)');
  const closeFn = libc.func('int close(int fd)');
  const readFn = libc.func('intptr_t read(int fd, void *buf, size_t count)');
  const epollCreate1 = libc.func('int epoll_create1(int flags)');
  const epollCtlFn = libc.func('int epoll_ctl(int epfd, int op, int fd, void *event)');
  const epollWaitFn = libc.func('int epoll_wait(int epfd, void *events, int maxevents, int timeout)');
  const pollFn = libc.func('int poll(void *fds, unsigned long nfds, int timeout)');
  const getpidFn = libc.func('int getpid(void)');
  const geteuidFn = libc.func('uint32_t geteuid(void)');
  const getrlimitFn = libc.func('int getrlimit(int resource, void *rlim)');
  const setrlimitFn = libc.func('int setrlimit(int resource, const void *rlim)');
  const sysconfFn = libc.func('long sysconf(int name)');
  const ifNameToIndexFn = libc.func('unsigned int if_nametoindex(const char *ifname)');
  const strerror = libc.func('const char *strerror(int errnum)');
  const setsockoptFn = libc.func('int setsockopt(int fd, int level, int optname, const void *optval, uint32_t optlen)');
  const mountFn = libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)');
  strerrorFn = (e) => String(strerror(e));

  const EE = U.libcLayouts.epoll_event;
  const PF = U.libcLayouts.pollfd;
  const RL = U.libcLayouts.rlimit;

  /** Run a sync call; on -1 read errno at once and throw. */
  function check(cmd: string, r: number | bigint, extra?: Record<string, unknown>): number {
    if (r === -1 || r === -1n) throw syscallError(cmd, koffi.errno(), extra);
    return Number(r);
  }
  function call<T extends number | bigint>(f: () => T): T {
    koffi.errno(0);
    return f();
  }

  // bpf(2) needs no errno(0) first: syscall() sets errno whenever it returns -1
  const bpf = Object.assign((cmd: number, attr: Bytes): number => {
    const r = bpfCall(U.LIBC_SYS_bpf, cmd, attr, attr.byteLength) as number;
    // the command's name only when it failed: looking it up is most of a fast call
    if (r === -1) throw syscallError(bpfCmdName(cmd), koffi.errno());
    return r;
  }, {
    orErrno(cmd: number, attr: Bytes): number {
      const r = bpfCall(U.LIBC_SYS_bpf, cmd, attr, attr.byteLength) as number;
      return r === -1 ? -koffi.errno() : r;
    },
  });

  return {
    bpf,
    perfEventOpen(attr, pid, cpu, groupFd, flags) {
      const r = call(() => syscall(U.LIBC_SYS_perf_event_open, 'void *', attr, 'long', pid, 'long', cpu, 'long', groupFd, 'unsigned long', flags) as number);
      return check('perf_event_open', r);
    },
    ioctl(fd, request, arg = null) {
      const r = call(() => (arg instanceof Uint8Array
        ? ioctlFn(fd, request, 'void *', arg)
        : typeof arg === 'bigint' ? ioctlFn(fd, request, 'uint64_t', arg)
          : ioctlFn(fd, request, 'long', arg ?? 0)) as number);
      const name = enumName(PERF_IOCTLS, request) ?? `0x${request.toString(16)}`;
      return check(`ioctl(${name})`, r);
    },
    mmap(fd, length, prot, flags, offset) {
      koffi.errno(0);
      const p = mmapFn(null, length, prot, flags, fd, BigInt(offset)) as bigint | null;
      if (p === null || p === MAP_FAILED) throw syscallError('mmap', koffi.errno(), { fd, length, offset });
      return new NativeMapping(p, length, koffi.view(p, length));
    },
    munmap(mapping) {
      if (mapping.unmapped) return;
      if (!(mapping instanceof NativeMapping)) throw new TypeError('not a mapping of this syscall layer');
      mapping.drop();
      check('munmap', call(() => munmapFn(mapping.address, mapping.length) as number));
    },
    close(fd) {
      check('close', call(() => closeFn(fd) as number), { fd });
    },
    read(fd, buf) {
      return check('read', call(() => readFn(fd, buf, buf.byteLength) as number | bigint));
    },
    epollCreate() {
      return check('epoll_create1', call(() => epollCreate1(U.LIBC_EPOLL_CLOEXEC) as number));
    },
    epollCtl(epfd, op, fd, events, data) {
      const ev = Buffer.alloc(EE.size);
      ev.writeUInt32LE(events >>> 0, EE.fields.events.offset);
      ev.writeBigUInt64LE(BigInt(data), EE.fields.data.offset);
      check('epoll_ctl', call(() => epollCtlFn(epfd, op, fd, ev) as number), { fd });
    },
    epollWait(epfd, maxEvents, timeoutMs) {
      const buf = Buffer.alloc(EE.size * Math.max(1, maxEvents));
      return new Promise((resolve, reject) => {
        epollWaitFn.async(epfd, buf, maxEvents, timeoutMs, (err: unknown, r: number) => {
          const errno = koffi.errno(); // restored by koffi for this callback
          if (err) return reject(err);
          if (r === -1) {
            if (errno === U.ERRNO.EINTR) return resolve([]);
            return reject(syscallError('epoll_wait', errno));
          }
          const out: EpollEvent[] = [];
          for (let i = 0; i < r; i++) {
            const o = i * EE.size;
            out.push({ events: buf.readUInt32LE(o + EE.fields.events.offset), data: Number(buf.readBigUInt64LE(o + EE.fields.data.offset)) });
          }
          resolve(out);
        });
      });
    },
    poll(fds, timeoutMs) {
      const buf = Buffer.alloc(PF.size * Math.max(1, fds.length));
      fds.forEach((p, i) => {
        buf.writeInt32LE(p.fd, i * PF.size + PF.fields.fd.offset);
        buf.writeInt16LE(p.events, i * PF.size + PF.fields.events.offset);
      });
      return new Promise((resolve, reject) => {
        pollFn.async(buf, fds.length, timeoutMs, (err: unknown, r: number) => {
          const errno = koffi.errno();
          if (err) return reject(err);
          if (r === -1 && errno !== U.ERRNO.EINTR) return reject(syscallError('poll', errno));
          resolve(fds.map((_, i) => (r === -1 ? 0 : buf.readUInt16LE(i * PF.size + PF.fields.revents.offset))));
        });
      });
    },
    getpid() {
      return getpidFn() as number;
    },
    geteuid() {
      return geteuidFn() as number;
    },
    getrlimit(resource) {
      const b = Buffer.alloc(RL.size);
      check('getrlimit', call(() => getrlimitFn(resource, b) as number));
      return { cur: b.readBigUInt64LE(RL.fields.rlim_cur.offset), max: b.readBigUInt64LE(RL.fields.rlim_max.offset) };
    },
    setrlimit(resource, limit) {
      const b = Buffer.alloc(RL.size);
      b.writeBigUInt64LE(limit.cur, RL.fields.rlim_cur.offset);
      b.writeBigUInt64LE(limit.max, RL.fields.rlim_max.offset);
      check('setrlimit', call(() => setrlimitFn(resource, b) as number));
    },
    sysconf(name) {
      return check('sysconf', call(() => sysconfFn(name) as number));
    },
    pageSize() {
      return check('sysconf', call(() => sysconfFn(U.LIBC_SC_PAGESIZE) as number));
    },
    possibleCpus() {
      const cpus = cpuListFile('/sys/devices/system/cpu/possible');
      return Math.max(...cpus) + 1;
    },
    onlineCpus() {
      return cpuListFile('/sys/devices/system/cpu/online');
    },
    ifNameToIndex(name) {
      const r = call(() => ifNameToIndexFn(name) as number);
      if (r === 0) throw syscallError('if_nametoindex', koffi.errno() || U.ERRNO.ENODEV, { ifname: name });
      return r;
    },
    addressOf(buf) {
      return koffi.address(buf);
    },
    setsockopt(fd, level, optname, value) {
      check('setsockopt', call(() => setsockoptFn(fd, level, optname, value, value.byteLength) as number), { fd, level, optname });
    },
    mount(source, target, fstype, flags, data = null) {
      check('mount', call(() => mountFn(source, target, fstype, flags, data) as number), { source, target, fstype });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// the swappable instance

let current: Syscalls | null = null;

/** The syscall layer in use (the libc one, created on first use, unless a test set another). */
export function getSyscalls(): Syscalls {
  if (!current) current = createNativeSyscalls();
  return current;
}

/** Swap the syscall layer (tests); returns the previous one. `null` restores the default. */
export function setSyscalls(s: Syscalls | null): Syscalls | null {
  const prev = current;
  current = s;
  return prev;
}

/** bpf(2) through the current layer. */
export function bpf(cmd: number, attr: Bytes): number {
  return getSyscalls().bpf(cmd, attr);
}
