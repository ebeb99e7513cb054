// Perf buffer (BPF_MAP_TYPE_PERF_EVENT_ARRAY + bpf_perf_event_output) consumer, as libbpf's
// perf_buffer: one PERF_COUNT_SW_BPF_OUTPUT event per online CPU (sample_type
// PERF_SAMPLE_RAW, wakeup on every sample), its ring mmap'ed (1 metadata page + pagesPerCpu
// data pages) and its fd stored in the map at the CPU's index; epoll over all of them.
//
// Records: struct perf_event_header { u32 type; u16 misc; u16 size; } then, for
// PERF_RECORD_SAMPLE with PERF_SAMPLE_RAW, { u32 size; u8 data[size]; } (the kernel pads
// the raw data so that the record is 8-byte aligned: `size` includes that padding, as in
// libbpf), and for PERF_RECORD_LOST { u64 id; u64 lost; }. Records can wrap around the end
// of the data area; those are copied together.
import { CorebpfError } from '../errors.js';
import * as A from './attr.js';
import * as U from './generated/uapi.js';
import { EpollReader, type ReaderOptions } from './ringbuf.js';
import { getSyscalls, type Mapping, type Syscalls } from './syscall.js';

export interface PerfBufferMap {
  fd: number;
  name: string;
  maxEntries: number;
}

/** A perf buffer sample and the CPU it came from. */
export interface PerfEvent<T = Buffer> {
  cpu: number;
  data: T;
}

/** Options of a {@link PerfBufferReader}. */
export interface PerfBufferOptions extends ReaderOptions {
  /** Data pages per CPU (a power of 2). Default 8. */
  pagesPerCpu?: number;
  /** Called for each PERF_RECORD_LOST with the CPU and the number of samples lost. */
  onLost?: (cpu: number, lost: number) => void;
  /** CPUs to open (default: every online CPU below the map's max_entries). */
  cpus?: number[];
}

const MP = U.layouts.perf_event_mmap_page.fields;
const HEAD_IDX = MP.data_head.offset / 8;
const TAIL_IDX = MP.data_tail.offset / 8;
const HDR_SIZE = U.layouts.perf_event_header.size;

interface CpuRing {
  cpu: number;
  fd: number;
  mapping: Mapping;
  meta: BigUint64Array;
  data: Uint8Array;
  view: DataView;
  size: number;
  tail: number;
  inMap: boolean;
}

/** Reads a BPF_MAP_TYPE_PERF_EVENT_ARRAY: one perf ring per CPU, read as an async iterator of {@link PerfEvent}s (samples with their CPU); lost samples are counted. */
export class PerfBufferReader<T = Buffer> extends EpollReader<PerfEvent<T>> {
  readonly name: string;
  /** Samples the kernel reported lost (PERF_RECORD_LOST), in total and per CPU. */
  lost = 0;
  readonly lostByCpu = new Map<number, number>();
  delivered = 0;
  readonly #mapFd: number;
  readonly #rings: CpuRing[];
  readonly #decode: (b: Buffer) => T;
  readonly #onLost?: (cpu: number, lost: number) => void;
  #next = 0;

  /** @internal use openPerfBuffer() */
  constructor(map: PerfBufferMap, decode: ((b: Buffer) => T) | undefined, opts: PerfBufferOptions, sys: Syscalls) {
    const pages = opts.pagesPerCpu ?? 8;
    if (!Number.isInteger(pages) || pages <= 0 || (pages & (pages - 1)) !== 0) {
      throw new CorebpfError(`perf buffer '${map.name}': pagesPerCpu ${pages} is not a power of 2`);
    }
    const page = sys.pageSize();
    const cpus = (opts.cpus ?? sys.onlineCpus()).filter((c) => c < map.maxEntries);
    if (cpus.length === 0) throw new CorebpfError(`perf buffer '${map.name}': no online CPU below max_entries ${map.maxEntries}`);
    const rings: CpuRing[] = [];
    const epfd = sys.epollCreate();
    const cleanup = (): void => {
      for (const r of rings.reverse()) closeRing(sys, map.fd, r);
      try { sys.close(epfd); } catch { /* first error wins */ }
    };
    try {
      for (const cpu of cpus) {
        const attr = A.perfEventAttr({
          type: U.PERF_TYPE_SOFTWARE, config: U.PERF_COUNT_SW_BPF_OUTPUT, sampleType: U.PERF_SAMPLE_RAW,
          samplePeriod: 1, wakeupEvents: 1,
        });
        const fd = sys.perfEventOpen(attr.buf, -1, cpu, -1, U.PERF_FLAG_FD_CLOEXEC);
        let mapping: Mapping;
        try {
          mapping = sys.mmap(fd, page * (1 + pages), U.LIBC_PROT_READ | U.LIBC_PROT_WRITE, U.LIBC_MAP_SHARED, 0);
        } catch (e) {
          sys.close(fd);
          throw e;
        }
        const size = page * pages;
        const ring: CpuRing = {
          cpu, fd, mapping, meta: new BigUint64Array(mapping.buffer, 0, page / 8), data: new Uint8Array(mapping.buffer, page, size),
          view: new DataView(mapping.buffer, page, size), size, tail: 0, inMap: false,
        };
        rings.push(ring);
        ring.tail = Number(Atomics.load(ring.meta, TAIL_IDX));
        sys.ioctl(fd, U.PERF_EVENT_IOC_ENABLE, 0);
        A.mapUpdateElem(map.fd, u32(cpu), u32(fd));
        ring.inMap = true;
        sys.epollCtl(epfd, U.LIBC_EPOLL_CTL_ADD, fd, U.LIBC_EPOLLIN, rings.length - 1);
      }
    } catch (e) {
      cleanup();
      throw e;
    }
    super(sys, epfd, opts);
    this.name = map.name;
    this.#mapFd = map.fd;
    this.#rings = rings;
    this.#decode = decode ?? ((b: Buffer) => b as unknown as T);
    this.#onLost = opts.onLost;
  }

  protected get label(): string {
    return `PerfBufferReader(${this.name}, map fd ${this.#mapFd}, ${this.#rings.length} CPUs)`;
  }

  /** CPUs with a ring. */
  get cpus(): number[] {
    return this.#rings.map((r) => r.cpu);
  }

  protected fill(max: number): PerfEvent<T>[] {
    const out: PerfEvent<Buffer>[] = [];
    const n = this.#rings.length;
    // round robin over the CPUs, starting after the one served first last time
    for (let k = 0; k < n && out.length < max; k++) {
      const r = this.#rings[(this.#next + k) % n];
      this.#readRing(r, out, max);
    }
    this.#next = (this.#next + 1) % n;
    this.delivered += out.length;
    return out.map((e) => ({ cpu: e.cpu, data: this.#decode(e.data) }));
  }

  #readRing(r: CpuRing, out: PerfEvent<Buffer>[], max: number): void {
    const head = Number(Atomics.load(r.meta, HEAD_IDX));
    let tail = r.tail;
    while (tail < head && out.length < max) {
      const off = tail % r.size;
      const type = r.view.getUint32(off, true);
      const size = r.view.getUint16(off + 6, true);
      if (size < HDR_SIZE) break; // corrupt; never expected
      const rec = off + size <= r.size
        ? r.data.subarray(off, off + size)
        : Buffer.concat([r.data.subarray(off, r.size), r.data.subarray(0, off + size - r.size)]);
      const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
      if (type === U.PERF_RECORD_SAMPLE) {
        const rawSize = dv.getUint32(HDR_SIZE, true);
        out.push({ cpu: r.cpu, data: Buffer.from(rec.subarray(HDR_SIZE + 4, HDR_SIZE + 4 + rawSize)) });
      } else if (type === U.PERF_RECORD_LOST) {
        const lost = Number(dv.getBigUint64(HDR_SIZE + 8, true));
        this.lost += lost;
        this.lostByCpu.set(r.cpu, (this.lostByCpu.get(r.cpu) ?? 0) + lost);
        this.#onLost?.(r.cpu, lost);
      }
      tail += size;
    }
    if (tail !== r.tail) {
      r.tail = tail;
      Atomics.store(r.meta, TAIL_IDX, BigInt(tail));
    }
  }

  protected release(): void {
    const errors: unknown[] = [];
    for (const r of [...this.#rings].reverse()) {
      try { closeRing(this.sys, this.#mapFd, r); } catch (e) { errors.push(e); }
    }
    try { this.sys.close(this.epfd); } catch (e) { errors.push(e); }
    if (errors.length) throw errors[0];
  }
}

function u32(v: number): Uint8Array {
  const b = A.bytes(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

/** Remove the CPU's map entry (the map holds the perf event file), disable, unmap, close. */
function closeRing(sys: Syscalls, mapFd: number, r: CpuRing): void {
  let first: unknown = null;
  if (r.inMap) {
    try { A.mapDeleteElem(mapFd, u32(r.cpu)); } catch (e) { first ??= e; }
    r.inMap = false;
  }
  try { sys.ioctl(r.fd, U.PERF_EVENT_IOC_DISABLE, 0); } catch { /* closing anyway */ }
  try { sys.munmap(r.mapping); } catch (e) { first ??= e; }
  try { sys.close(r.fd); } catch (e) { first ??= e; }
  if (first) throw first;
}

/**
 * Open a consumer of a BPF_MAP_TYPE_PERF_EVENT_ARRAY map: iterate `{ cpu, data }` with
 * `for await`, or poll()/drain(); lost samples are counted in `lost` / `lostByCpu` and
 * reported to `opts.onLost`. close() removes the map entries and releases everything.
 */
export function openPerfBuffer<T = Buffer>(map: PerfBufferMap, decode?: (b: Buffer) => T, opts: PerfBufferOptions = {}): PerfBufferReader<T> {
  return new PerfBufferReader<T>(map, decode, opts, getSyscalls());
}
