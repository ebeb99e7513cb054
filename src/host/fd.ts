// An owned file descriptor: closed exactly once, by close(), `using` ([Symbol.dispose]) or,
// as a last resort against leaks, when the wrapper is garbage collected unclosed.
import { getSyscalls, type Syscalls } from './syscall.js';

const leakGuard = new FinalizationRegistry<{ fd: number; sys: Syscalls }>(({ fd, sys }) => {
  try {
    sys.close(fd);
  } catch {
    /* nothing to report to: the owner is gone */
  }
});

/** A file descriptor owned by its holder, closed exactly once (close(), `using`, or when collected unclosed). */
export class OwnedFd implements Disposable {
  #fd: number;
  readonly #sys: Syscalls;
  /** What this fd is (for messages): 'map', 'prog', 'link', 'btf', 'perf_event', ... */
  readonly kind: string;

  /** Take ownership of `fd` (a non-negative integer) obtained from `sys` (default: the current layer). */
  constructor(fd: number, kind = 'fd', sys: Syscalls = getSyscalls()) {
    if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`invalid file descriptor ${fd}`);
    this.#fd = fd;
    this.#sys = sys;
    this.kind = kind;
    leakGuard.register(this, { fd, sys }, this);
  }

  /** The descriptor number; throws once closed or released. */
  get fd(): number {
    if (this.#fd < 0) throw new Error(`${this.kind} fd is closed`);
    return this.#fd;
  }

  /** closed or released */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Close the descriptor (idempotent: only the first call closes). */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    leakGuard.unregister(this);
    this.#sys.close(fd);
  }

  /** Give up ownership without closing; returns the descriptor. */
  release(): number {
    const fd = this.fd;
    this.#fd = -1;
    leakGuard.unregister(this);
    return fd;
  }

  /** Same as close(). */
  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return this.#fd < 0 ? `${this.kind}(closed)` : `${this.kind}(fd ${this.#fd})`;
  }
}

/** Close every fd given, in reverse order, ignoring errors after the first (which is thrown). */
export function closeAll(fds: Iterable<OwnedFd | null | undefined>): void {
  let first: unknown = null;
  for (const f of [...fds].reverse()) {
    try {
      f?.close();
    } catch (e) {
      first ??= e;
    }
  }
  if (first) throw first;
}
