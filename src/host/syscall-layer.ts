// The syscall layer's contract: everything corebpf asks of the OS, as the libc layer of
// syscall.ts implements it and tests' fake layers do (setSyscalls). Types only.

/**
 * Bytes handed to the kernel: any Uint8Array, Node Buffers included (spelled out because
 * @types/node 20.9's Buffer is not assignable to TypeScript 5.9's Uint8Array type).
 */
export type Bytes = Uint8Array | Buffer;

/** An mmap'ed region. `buffer` views the mapped memory itself (no copy). */
export interface Mapping {
  readonly address: bigint;
  readonly length: number;
  /** The mapped memory; invalid (faults) after munmap. */
  readonly buffer: ArrayBuffer;
  readonly unmapped: boolean;
}

export interface EpollEvent {
  readonly events: number;
  /** The u64 user data given to epollCtl (as a number: callers store small integers). */
  readonly data: number;
}

export interface PollFd {
  fd: number;
  events: number;
}

export interface Rlimit {
  cur: bigint;
  max: bigint;
}

/** bpf(2): returns the result (an fd for commands that create objects, else 0); throws on failure. */
export interface BpfCall {
  (cmd: number, attr: Bytes): number;
  /**
   * The same call returning -errno instead of throwing (the libc layer's: map lookups take
   * ENOENT as an answer, without building an error). Optional: without it, callers catch.
   */
  readonly orErrno?: (cmd: number, attr: Bytes) => number;
}

/** Everything corebpf asks of the OS. Errors are thrown as SyscallError (or a subclass). */
export interface Syscalls {
  /** bpf(2). Returns the result (an fd for commands that create objects, else 0). */
  bpf: BpfCall;
  /** perf_event_open(2) with a perf_event_attr buffer. Returns an fd. */
  perfEventOpen(attr: Bytes, pid: number, cpu: number, groupFd: number, flags: number): number;
  /** ioctl(2); `arg` is an integer argument or a buffer whose address is passed. */
  ioctl(fd: number, request: number, arg?: number | bigint | Bytes | null): number;
  /** mmap(2) of an fd (shared mappings of BPF maps and perf buffers). */
  mmap(fd: number, length: number, prot: number, flags: number, offset: number): Mapping;
  munmap(mapping: Mapping): void;
  close(fd: number): void;
  read(fd: number, buf: Bytes): number;
  epollCreate(): number;
  epollCtl(epfd: number, op: number, fd: number, events: number, data: number): void;
  /** epoll_wait(2) on a worker thread: never blocks the event loop. */
  epollWait(epfd: number, maxEvents: number, timeoutMs: number): Promise<EpollEvent[]>;
  /** poll(2) on a worker thread; resolves with each fd's revents. */
  poll(fds: readonly PollFd[], timeoutMs: number): Promise<number[]>;
  getpid(): number;
  geteuid(): number;
  getrlimit(resource: number): Rlimit;
  setrlimit(resource: number, limit: Rlimit): void;
  sysconf(name: number): number;
  pageSize(): number;
  /** Number of possible CPUs (highest index in /sys/devices/system/cpu/possible + 1): per-CPU map value count. */
  possibleCpus(): number;
  /** Indexes of the online CPUs. */
  onlineCpus(): number[];
  ifNameToIndex(name: string): number;
  /** Address of a buffer's memory, for pointer fields of bpf_attr. The caller keeps the buffer alive. */
  addressOf(buf: Bytes): bigint;
  /** setsockopt(2) with the option value in a buffer (SO_ATTACH_BPF / SO_DETACH_BPF). */
  setsockopt(fd: number, level: number, optname: number, value: Bytes): void;
  /** mount(2) (to mount tracefs when it is not mounted yet). */
  mount(source: string, target: string, fstype: string, flags: number, data?: string | null): void;
}
