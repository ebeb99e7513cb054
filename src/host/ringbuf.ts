// BPF ring buffer (BPF_MAP_TYPE_RINGBUF) consumer.
//
// Memory: the consumer page (read-write: we publish consumer_pos there) and, right after
// it, the producer page (producer_pos) followed by the data area mapped twice back to back
// (read-only), so a record that wraps past the end is contiguous in our view. Each record
// starts with an 8-byte header: u32 len (with BPF_RINGBUF_BUSY_BIT while the producer still
// writes it and BPF_RINGBUF_DISCARD_BIT when it was discarded) and u32 pg_off, then `len`
// bytes, padded to 8.
//
// Positions are read with Atomics.load (acquire) and consumer_pos is published with
// Atomics.store (release), which on non-shared ArrayBuffers still compile to the ordered
// loads/stores the kernel's smp_load_acquire / smp_store_release pair expects.
//
// Waiting: epoll_wait on the map fd runs on the libuv threadpool (koffi async), so the event
// loop stays free; the wait is bounded (pollTimeoutMs) so a close() releases the
// threadpool thread soon after. Back-pressure: records are copied out only when the
// consumer pulls (a bounded batch of `queueSize` at most), and consumer_pos advances only
// past copied records; what the reader has not pulled stays in the kernel ring, where a
// full ring makes the BPF program's bpf_ringbuf_output/reserve fail (the kernel counts no
// drops for ring buffers: the program sees the failure).
import { CorebpfError } from '../errors.js';
import * as U from './generated/uapi.js';
import { getSyscalls, type Mapping, type Syscalls } from './syscall.js';

export interface RingBufferMap {
  fd: number;
  name: string;
  maxEntries: number;
}

export interface ReaderOptions {
  /** Records copied out per refill at most (the bound of the internal queue). Default 256. */
  queueSize?: number;
  /** Upper bound of one epoll_wait (ms) on the threadpool. Default 200. */
  pollTimeoutMs?: number;
}

/**
 * Shared async machinery of the ring and perf buffer readers: a bounded queue refilled by
 * `fill(max)` (synchronous reads of what is available now), and waiting via epoll.
 */
export abstract class EpollReader<E> implements AsyncIterableIterator<E>, AsyncDisposable, Disposable {
  protected readonly sys: Syscalls;
  protected readonly epfd: number;
  protected readonly queueSize: number;
  protected readonly pollTimeoutMs: number;
  #queue: E[] = [];
  #closed = false;
  #released = false;
  #waiting: Promise<void> | null = null;
  #waitError: unknown = null;
  #onClose!: () => void;
  readonly #closedSignal: Promise<void>;

  protected constructor(sys: Syscalls, epfd: number, opts: ReaderOptions) {
    this.sys = sys;
    this.epfd = epfd;
    this.queueSize = Math.max(1, opts.queueSize ?? 256);
    this.pollTimeoutMs = Math.max(1, opts.pollTimeoutMs ?? 200);
    this.#closedSignal = new Promise((resolve) => { this.#onClose = resolve; });
  }

  /** Read up to `max` records available now, consuming them from the kernel buffer. */
  protected abstract fill(max: number): E[];

  /** Take up to `max` records the async iterator queued already. */
  protected takeQueued(max: number): E[] {
    return this.#queue.splice(0, max);
  }
  /** Unmap and close everything (called once, when no epoll_wait is in flight). */
  protected abstract release(): void;
  protected abstract get label(): string;

  /** close() was called */
  get closed(): boolean {
    return this.#closed;
  }

  /** Records queued in JS (pulled from the kernel but not yet returned). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Everything available now (queued first), without waiting. */
  drain(): E[] {
    return this.poll(Infinity);
  }

  /** Up to `max` records available now (queued first), without waiting. */
  poll(max = Infinity): E[] {
    if (this.#closed) return [];
    const out = this.#queue.splice(0, max);
    if (out.length < max) {
      // a loop, not push(...): a large backlog would overflow the call stack (and the
      // consumer position has already moved past those records)
      for (const r of this.fill(max - out.length)) out.push(r);
    }
    return out;
  }

  /**
   * Wait until records are available (true) or `timeoutMs` passes / the reader closes
   * (false). Does not consume anything.
   */
  async wait(timeoutMs = -1): Promise<boolean> {
    const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      if (this.#closed) return false;
      if (this.#queue.length) return true;
      const got = this.fill(this.queueSize);
      this.#queue.push(...got);
      if (got.length) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.#waitReadable(Math.min(left, this.pollTimeoutMs));
    }
  }

  /** The next record, waiting for one (async iteration). */
  async next(): Promise<IteratorResult<E>> {
    for (;;) {
      if (this.#closed) return { done: true, value: undefined };
      if (this.#queue.length) return { done: false, value: this.#queue.shift()! };
      this.#queue.push(...this.fill(this.queueSize));
      if (this.#queue.length) continue;
      await this.#waitReadable(this.pollTimeoutMs);
    }
  }

  /** Ends this iteration (for await … break); the reader stays open. */
  async return(): Promise<IteratorResult<E>> {
    return { done: true, value: undefined };
  }

  /** The reader itself: `for await (const e of reader)`. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  #waitReadable(timeoutMs: number): Promise<void> {
    if (this.#waitError) {
      const e = this.#waitError;
      this.#waitError = null;
      return Promise.reject(e);
    }
    if (!this.#waiting) {
      const ms = Math.max(1, Math.ceil(timeoutMs === Infinity ? this.pollTimeoutMs : timeoutMs));
      this.#waiting = this.sys.epollWait(this.epfd, 8, ms).then(
        () => undefined,
        (e: unknown) => { this.#waitError = e; },
      ).finally(() => {
        this.#waiting = null;
        if (this.#closed) {
          try {
            this.#releaseOnce();
          } catch { /* closed while waiting: nobody to report an munmap/close failure to */ }
        }
      });
    }
    return Promise.race([this.#waiting, this.#closedSignal]).then(() => {
      if (this.#waitError && !this.#closed) {
        const e = this.#waitError;
        this.#waitError = null;
        throw e;
      }
    });
  }

  #releaseOnce(): void {
    if (this.#released) return;
    this.#released = true;
    this.#queue = [];
    this.release();
  }

  /**
   * Stop: pending and later next() calls end the iteration. Memory and fds are released at
   * once, or when an in-flight epoll_wait returns (within pollTimeoutMs).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    if (!this.#waiting) this.#releaseOnce();
  }

  /** close(), then wait for a pending next() to settle. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    if (this.#waiting) await this.#waiting;
  }

  /** Same as close(). */
  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `${this.label}${this.#closed ? ' (closed)' : ''}`;
  }
}

const HDR = U.BPF_RINGBUF_HDR_SZ;
const BUSY = U.BPF_RINGBUF_BUSY_BIT;
const DISCARD = U.BPF_RINGBUF_DISCARD_BIT;
const LEN_MASK = ~(BUSY | DISCARD) >>> 0;

/** Reads a BPF_MAP_TYPE_RINGBUF: records mapped from the kernel's ring, as an async iterator (or synchronously with `poll()` / `consume()`). */
export class RingBufferReader<T = Buffer> extends EpollReader<T> {
  readonly name: string;
  readonly size: number;
  /** Records the producer discarded (bpf_ringbuf_discard), skipped by the reader. */
  discarded = 0;
  /** Records delivered so far. */
  delivered = 0;
  readonly #mapFd: number;
  readonly #decode: (b: Buffer) => T;
  readonly #raw: boolean;
  #cons: Mapping | null;
  #prod: Mapping | null;
  #consPos: BigUint64Array;
  #prodPos: BigUint64Array;
  #hdr: Uint32Array;
  #data: Uint8Array;
  #pos: number;

  /** @internal use openRingBuffer() */
  constructor(map: RingBufferMap, decode: ((b: Buffer) => T) | undefined, opts: ReaderOptions, sys: Syscalls) {
    const page = sys.pageSize();
    const size = map.maxEntries;
    if (!Number.isInteger(size) || size <= 0 || (size & (size - 1)) !== 0 || size % page !== 0) {
      throw new CorebpfError(`ring buffer '${map.name}': max_entries ${size} is not a power of 2 multiple of the page size ${page}`);
    }
    const cons = sys.mmap(map.fd, page, U.LIBC_PROT_READ | U.LIBC_PROT_WRITE, U.LIBC_MAP_SHARED, 0);
    let prod: Mapping | null = null;
    let epfd = -1;
    try {
      prod = sys.mmap(map.fd, page + 2 * size, U.LIBC_PROT_READ, U.LIBC_MAP_SHARED, page);
      epfd = sys.epollCreate();
      sys.epollCtl(epfd, U.LIBC_EPOLL_CTL_ADD, map.fd, U.LIBC_EPOLLIN, 0);
    } catch (e) {
      if (epfd >= 0) try { sys.close(epfd); } catch { /* first error wins */ }
      if (prod) try { sys.munmap(prod); } catch { /* first error wins */ }
      try { sys.munmap(cons); } catch { /* first error wins */ }
      throw e;
    }
    super(sys, epfd, opts);
    this.name = map.name;
    this.size = size;
    this.#mapFd = map.fd;
    this.#decode = decode ?? ((b: Buffer) => b as unknown as T);
    this.#raw = decode === undefined;
    this.#cons = cons;
    this.#prod = prod;
    this.#consPos = new BigUint64Array(cons.buffer, 0, 1);
    this.#prodPos = new BigUint64Array(prod.buffer, 0, 1);
    this.#hdr = new Uint32Array(prod.buffer, page, (2 * size) / 4);
    this.#data = new Uint8Array(prod.buffer, page, 2 * size);
    this.#pos = Number(Atomics.load(this.#consPos, 0));
  }

  protected get label(): string {
    return `RingBufferReader(${this.name}, map fd ${this.#mapFd})`;
  }

  /** Bytes written by the producer and not consumed yet. */
  get pending(): number {
    if (this.closed) return 0;
    return Number(Atomics.load(this.#prodPos, 0)) - this.#pos;
  }

  protected fill(max: number): T[] {
    const raw: Buffer[] = [];
    let pos = this.#pos;
    const mask = this.size - 1;
    let prod = Number(Atomics.load(this.#prodPos, 0));
    while (raw.length < max) {
      if (pos >= prod) {
        prod = Number(Atomics.load(this.#prodPos, 0));
        if (pos >= prod) break;
      }
      const off = pos % (mask + 1);
      const hdr = Atomics.load(this.#hdr, off >>> 2) >>> 0;
      if (hdr & BUSY) break; // still being written: stop here, in order
      const len = hdr & LEN_MASK;
      if (!(hdr & DISCARD)) raw.push(Buffer.from(this.#data.subarray(off + HDR, off + HDR + len)));
      else this.discarded++;
      pos += (len + HDR + 7) & ~7;
    }
    if (pos !== this.#pos) {
      this.#pos = pos;
      Atomics.store(this.#consPos, 0, BigInt(pos));
    }
    this.delivered += raw.length;
    return raw.map(this.#decode);
  }

  /**
   * Zero-copy consumption, like libbpf's ring_buffer__consume(): calls `cb` with a view of
   * each available record *in the ring itself* — valid only during the call (copy what you
   * keep) — and frees the space as it goes. Records already queued by the async iterator
   * come first. Returns how many records were consumed.
   */
  consume(cb: (record: Uint8Array) => void, max = Infinity): number {
    if (this.closed) return 0;
    if (!this.#raw && this.queued) {
      throw new CorebpfError(`ring buffer '${this.name}': consume() gives raw records; ${this.queued} decoded records are queued by the async iterator — read those first`);
    }
    let n = 0;
    for (const q of this.takeQueued(max)) {
      cb(q as unknown as Uint8Array);
      n++;
    }
    const mask = this.size - 1;
    let pos = this.#pos;
    let prod = Number(Atomics.load(this.#prodPos, 0));
    try {
      while (n < max) {
        if (pos >= prod) {
          prod = Number(Atomics.load(this.#prodPos, 0));
          if (pos >= prod) break;
        }
        const off = pos & mask;
        const hdr = Atomics.load(this.#hdr, off >>> 2) >>> 0;
        if (hdr & BUSY) break;
        const len = hdr & LEN_MASK;
        pos += (len + HDR + 7) & ~7;
        if (hdr & DISCARD) {
          this.discarded++;
          continue;
        }
        n++;
        cb(this.#data.subarray(off + HDR, off + HDR + len));
        // give the space back in batches: a store per record costs more than the record
        if ((n & 63) === 0) this.#commit(pos);
      }
    } finally {
      this.#commit(pos);
    }
    this.delivered += n;
    return n;
  }

  #commit(pos: number): void {
    if (pos !== this.#pos) {
      this.#pos = pos;
      Atomics.store(this.#consPos, 0, BigInt(pos));
    }
  }

  protected release(): void {
    const errors: unknown[] = [];
    for (const m of [this.#prod, this.#cons]) {
      if (m) try { this.sys.munmap(m); } catch (e) { errors.push(e); }
    }
    this.#prod = this.#cons = null;
    try { this.sys.close(this.epfd); } catch (e) { errors.push(e); }
    if (errors.length) throw errors[0];
  }
}

/**
 * Open a consumer of a BPF ring buffer map. Iterate with `for await (const rec of rb)`
 * (records are Buffers, or what `decode` makes of them), or take what is available now
 * with `poll()` / `drain()`. close() (or `await using`) ends iteration and unmaps.
 */
export function openRingBuffer<T = Buffer>(map: RingBufferMap, decode?: (b: Buffer) => T, opts: ReaderOptions = {}): RingBufferReader<T> {
  return new RingBufferReader<T>(map, decode, opts, getSyscalls());
}
