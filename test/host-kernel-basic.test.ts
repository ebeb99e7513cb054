// Real-kernel tests of the host's syscall layer, attr builders and fd wrapper.
// They skip (and say why) only when not root or when bpf() answers EPERM.
import { existsSync, fstatSync, readdirSync, unlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PermissionError, SyscallError, VerifierError } from '../src/errors.js';
import * as A from '../src/host/attr.js';
import { OwnedFd } from '../src/host/fd.js';
import * as U from '../src/host/generated/uapi.js';
import { getSyscalls } from '../src/host/syscall.js';
import { needsEach, skipWith } from './kernel.js';


// --- a tiny assembler: instructions written through the generated bpf_insn layout ----------
interface Insn { code: number; dst?: number; src?: number; off?: number; imm?: number }
function asm(insns: Insn[]): Uint8Array {
  const size = U.layouts.bpf_insn.size;
  const out = new Uint8Array(size * insns.length);
  insns.forEach((i, k) => {
    const s = new A.StructBuf(U.layouts.bpf_insn, 'bpf_insn')
      .set('code', i.code).set('dst_reg', i.dst ?? 0).set('src_reg', i.src ?? 0)
      .set('off', i.off ?? 0).set('imm', i.imm ?? 0);
    out.set(s.buf, k * size);
  });
  return out;
}
const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R10 = 10;
const movImm = (dst: number, imm: number): Insn => ({ code: U.BPF_ALU64 | U.BPF_MOV | U.BPF_K, dst, imm });
const movReg = (dst: number, src: number): Insn => ({ code: U.BPF_ALU64 | U.BPF_MOV | U.BPF_X, dst, src });
const addImm = (dst: number, imm: number): Insn => ({ code: U.BPF_ALU64 | U.BPF_ADD | U.BPF_K, dst, imm });
const stW = (dst: number, off: number, imm: number): Insn => ({ code: U.BPF_ST | U.BPF_MEM | U.BPF_W, dst, off, imm });
const stDW = (dst: number, off: number, imm: number): Insn => ({ code: U.BPF_ST | U.BPF_MEM | U.BPF_DW, dst, off, imm });
const ldxW = (dst: number, src: number, off: number): Insn => ({ code: U.BPF_LDX | U.BPF_MEM | U.BPF_W, dst, src, off });
const ldMapFd = (dst: number, fd: number): Insn[] => [
  { code: U.BPF_LD | U.BPF_DW | U.BPF_IMM, dst, src: U.BPF_PSEUDO_MAP_FD, imm: fd },
  { code: 0 },
];
const call = (fn: number): Insn => ({ code: U.BPF_JMP | U.BPF_CALL, imm: fn });
const jeqImm = (dst: number, imm: number, off: number): Insn => ({ code: U.BPF_JMP | U.BPF_JEQ | U.BPF_K, dst, imm, off });
const exit = (): Insn => ({ code: U.BPF_JMP | U.BPF_EXIT });

const u32 = (v: number) => { const b = A.bytes(4); new DataView(b.buffer).setUint32(0, v, true); return b; };
const u64 = (v: bigint) => { const b = A.bytes(8); new DataView(b.buffer).setBigUint64(0, v, true); return b; };
const rdU32 = (b: Uint8Array, o = 0) => new DataView(b.buffer, b.byteOffset).getUint32(o, true);
const rdU64 = (b: Uint8Array, o = 0) => new DataView(b.buffer, b.byteOffset).getBigUint64(o, true);
const packet = () => A.bytes(64); // >= ETH_HLEN for skb test runs

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}
/** Whether fd is open (fstat opens nothing, unlike listing /proc/self/fd). */
function isOpen(fd: number): boolean {
  try { fstatSync(fd); return true; } catch { return false; }
}

describe('real kernel: maps', () => {
  needsEach('bpf');
  it('array map: update, lookup, get_next_key; delete is refused', () => {
    using m = A.mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, name: 'corebpf_arr' });
    A.mapUpdateElem(m.fd, u32(2), u64(0x1122334455667788n));
    const v = A.bytes(8);
    expect(A.mapLookupElem(m.fd, u32(2), v)).toBe(true);
    expect(rdU64(v)).toBe(0x1122334455667788n);
    expect(A.mapLookupElem(m.fd, u32(1), v)).toBe(true);
    expect(rdU64(v)).toBe(0n); // arrays are preallocated and zeroed
    expect(A.mapLookupElem(m.fd, u32(4), v)).toBe(false); // out of range: ENOENT
    const keys: number[] = [];
    let key: Uint8Array | null = null;
    const next = A.bytes(4);
    while (A.mapGetNextKey(m.fd, key, next)) { keys.push(rdU32(next)); key = next.slice(); }
    expect(keys).toEqual([0, 1, 2, 3]);
    const err = (() => { try { A.mapDeleteElem(m.fd, u32(0)); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).errnoName).toBe('EINVAL');
    expect((err as SyscallError).cmd).toBe('BPF_MAP_DELETE_ELEM');
    const info = A.mapInfo(m.fd);
    expect(info).toMatchObject({ type: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, name: 'corebpf_arr' });
    expect(info.id).toBeGreaterThan(0);
  });

  it('hash map: NOEXIST/EXIST flags, lookup of a missing key, delete, iteration', () => {
    using m = A.mapCreate({ mapType: U.BPF_MAP_TYPE_HASH, keySize: 8, valueSize: 4, maxEntries: 16 });
    for (const k of [10n, 20n, 30n]) A.mapUpdateElem(m.fd, u64(k), u32(Number(k) * 2), U.BPF_NOEXIST);
    expect(() => A.mapUpdateElem(m.fd, u64(10n), u32(1), U.BPF_NOEXIST)).toThrow(expect.objectContaining({ errnoName: 'EEXIST' }));
    expect(() => A.mapUpdateElem(m.fd, u64(99n), u32(1), U.BPF_EXIST)).toThrow(expect.objectContaining({ errnoName: 'ENOENT' }));
    const v = A.bytes(4);
    expect(A.mapLookupElem(m.fd, u64(20n), v)).toBe(true);
    expect(rdU32(v)).toBe(40);
    expect(A.mapLookupElem(m.fd, u64(21n), v)).toBe(false);
    expect(A.mapDeleteElem(m.fd, u64(20n))).toBe(true);
    expect(A.mapDeleteElem(m.fd, u64(20n))).toBe(false);
    const keys: bigint[] = [];
    let key: Uint8Array | null = null;
    const next = A.bytes(8);
    while (A.mapGetNextKey(m.fd, key, next)) { keys.push(rdU64(next)); key = next.slice(); }
    expect(keys.sort()).toEqual([10n, 30n]);
  });

  it('hash map: lookup-and-delete returns the value and removes the key', (ctx) => {
    using m = A.mapCreate({ mapType: U.BPF_MAP_TYPE_HASH, keySize: 8, valueSize: 4, maxEntries: 16 });
    A.mapUpdateElem(m.fd, u64(30n), u32(60));
    const out = A.bytes(4);
    let found: boolean;
    try {
      found = A.mapLookupAndDeleteElem(m.fd, u64(30n), out);
    } catch (e) {
      // hash maps got BPF_MAP_LOOKUP_AND_DELETE_ELEM in 5.14 (queues and stacks before)
      if ((e as { errnoName?: string }).errnoName === 'ENOTSUPP') skipWith(ctx, 'needs BPF_MAP_LOOKUP_AND_DELETE_ELEM on hash maps: the kernel answers ENOTSUPP (Linux 5.14+)');
      throw e;
    }
    expect(found).toBe(true);
    expect(rdU32(out)).toBe(60);
    expect(A.mapLookupElem(m.fd, u64(30n), out)).toBe(false);
  });

  it('batch lookup over a hash map returns every element', () => {
    using m = A.mapCreate({ mapType: U.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 64 });
    const want = new Map<number, bigint>();
    for (let k = 1; k <= 40; k++) { want.set(k, BigInt(k) * 1000n + 7n); A.mapUpdateElem(m.fd, u32(k), u64(BigInt(k) * 1000n + 7n)); }
    const got = new Map<number, bigint>();
    let inBatch: Uint8Array | null = null;
    for (let round = 0; round < 20; round++) {
      const keys = A.bytes(4 * 16), values = A.bytes(8 * 16), outBatch = A.bytes(4);
      const r = A.mapLookupBatch({ mapFd: m.fd, inBatch, outBatch, keys, values, count: 16 });
      for (let i = 0; i < r.count; i++) got.set(rdU32(keys, i * 4), rdU64(values, i * 8));
      if (r.done) break;
      expect(r.count).toBeGreaterThan(0);
      inBatch = outBatch;
    }
    expect(got).toEqual(want);
    // batch update + delete round trip
    const keys = A.bytes(8), values = A.bytes(16);
    new DataView(keys.buffer).setUint32(0, 100, true); new DataView(keys.buffer).setUint32(4, 101, true);
    new DataView(values.buffer).setBigUint64(0, 5n, true); new DataView(values.buffer).setBigUint64(8, 6n, true);
    expect(A.mapBatchOp(U.BPF_MAP_UPDATE_BATCH, { mapFd: m.fd, keys, values, count: 2 })).toBe(2);
    const v = A.bytes(8);
    expect(A.mapLookupElem(m.fd, u32(101), v) && rdU64(v)).toBe(6n);
    expect(A.mapBatchOp(U.BPF_MAP_DELETE_BATCH, { mapFd: m.fd, keys, count: 2 })).toBe(2);
    expect(A.mapLookupElem(m.fd, u32(100), v)).toBe(false);
  });

  it('per-CPU array: values are rounded to 8 bytes × possible CPUs', () => {
    const sys = getSyscalls();
    const ncpu = sys.possibleCpus();
    expect(ncpu).toBeGreaterThanOrEqual(sys.onlineCpus().length);
    using m = A.mapCreate({ mapType: U.BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
    const stride = 8; // round_up(4, 8)
    const vals = A.bytes(stride * ncpu);
    for (let c = 0; c < ncpu; c++) new DataView(vals.buffer).setUint32(c * stride, 1000 + c, true);
    A.mapUpdateElem(m.fd, u32(1), vals);
    const back = A.bytes(stride * ncpu);
    expect(A.mapLookupElem(m.fd, u32(1), back)).toBe(true);
    for (let c = 0; c < ncpu; c++) expect(rdU32(back, c * stride)).toBe(1000 + c);
  });

  it('mmapable array: stores through the mapping and bpf() lookups see the same memory', () => {
    const sys = getSyscalls();
    using m = A.mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: U.BPF_F_MMAPABLE });
    const mem = sys.mmap(m.fd, sys.pageSize(), U.LIBC_PROT_READ | U.LIBC_PROT_WRITE, U.LIBC_MAP_SHARED, 0);
    try {
      const view = new DataView(mem.buffer);
      view.setBigUint64(2 * 8, 0xfeedn, true);
      const v = A.bytes(8);
      expect(A.mapLookupElem(m.fd, u32(2), v) && rdU64(v)).toBe(0xfeedn);
      A.mapUpdateElem(m.fd, u32(3), u64(77n));
      expect(view.getBigUint64(3 * 8, true)).toBe(77n);
    } finally {
      sys.munmap(mem);
    }
  });

  it('freeze makes a map read-only for user space', () => {
    using m = A.mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    A.mapUpdateElem(m.fd, u32(0), u32(5));
    A.mapFreeze(m.fd);
    expect(() => A.mapUpdateElem(m.fd, u32(0), u32(6))).toThrow(expect.objectContaining({ errnoName: 'EPERM' }));
    const v = A.bytes(4);
    expect(A.mapLookupElem(m.fd, u32(0), v) && rdU32(v)).toBe(5);
  });
});

describe('real kernel: programs', () => {
  needsEach('bpf');
  function lookupProg(mapFd: number): Uint8Array {
    return asm([
      stW(R10, -4, 0), // key = 0
      movReg(R2, R10), addImm(R2, -4),
      ...ldMapFd(R1, mapFd),
      call(U.BPF_FUNC_map_lookup_elem),
      jeqImm(R0, 0, 2),
      ldxW(R0, R0, 0), // return *value
      exit(),
      movImm(R0, 7), // not found
      exit(),
    ]);
  }

  it('loads a hand-assembled socket filter and test-runs it; it reads the map value', () => {
    using m = A.mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    A.mapUpdateElem(m.fd, u32(0), u32(0x1234));
    using p = A.progLoad({ progType: U.BPF_PROG_TYPE_SOCKET_FILTER, insns: lookupProg(m.fd), license: 'GPL', name: 'corebpf_lookup' });
    expect(A.progTestRun({ progFd: p.fd, dataIn: packet(), repeat: 1 }).retval).toBe(0x1234);
    A.mapUpdateElem(m.fd, u32(0), u32(99));
    const r = A.progTestRun({ progFd: p.fd, dataIn: packet(), repeat: 3 });
    expect(r.retval).toBe(99);
    const info = A.progInfo(p.fd);
    expect(info).toMatchObject({ type: U.BPF_PROG_TYPE_SOCKET_FILTER, name: 'corebpf_lookup', gplCompatible: true, nrMapIds: 1 });
    expect(info.tag).toMatch(/^[0-9a-f]{16}$/);
    expect(info.xlatedProgLen).toBeGreaterThan(0);
  });

  it('a program the verifier rejects gives a VerifierError with the log (log buffer given)', () => {
    const logBuf = A.bytes(64 * 1024);
    let err: unknown;
    try {
      A.progLoad({ progType: U.BPF_PROG_TYPE_SOCKET_FILTER, insns: asm([exit()]), license: 'GPL', name: 'bad', logBuf });
    } catch (e) { err = e; }
    expect(err).toBeInstanceOf(VerifierError);
    expect(err).toBeInstanceOf(SyscallError);
    const v = err as VerifierError;
    expect(v.cmd).toBe('BPF_PROG_LOAD');
    expect(['EACCES', 'EINVAL']).toContain(v.errnoName);
    expect(v.log).toContain('R0 !read_ok');
    expect(v.message).toContain('R0 !read_ok');
    expect(v.program).toBe('bad');
  });

  it('without a log buffer, a rejected load is retried with a log', () => {
    // reads past the 4-byte map value: the verifier refuses the access
    using m = A.mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    const insns = asm([
      stW(R10, -4, 0), movReg(R2, R10), addImm(R2, -4), ...ldMapFd(R1, m.fd), call(U.BPF_FUNC_map_lookup_elem),
      jeqImm(R0, 0, 1), ldxW(R0, R0, 8), movImm(R0, 0), exit(),
    ]);
    const err = (() => { try { A.progLoad({ progType: U.BPF_PROG_TYPE_SOCKET_FILTER, insns, license: 'GPL' }); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(VerifierError);
    expect((err as VerifierError).log).toMatch(/invalid access to map value/);
  });

  it('ring buffer: the consumer and producer pages and data are reachable through mmap', async () => {
    const sys = getSyscalls();
    const page = sys.pageSize();
    const size = 4 * page;
    using rb = A.mapCreate({ mapType: U.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: size });
    const cons = sys.mmap(rb.fd, page, U.LIBC_PROT_READ | U.LIBC_PROT_WRITE, U.LIBC_MAP_SHARED, 0);
    const prod = sys.mmap(rb.fd, page + 2 * size, U.LIBC_PROT_READ, U.LIBC_MAP_SHARED, page);
    try {
      const consView = new DataView(cons.buffer);
      const prodView = new DataView(prod.buffer);
      expect(consView.getBigUint64(0, true)).toBe(0n);
      expect(prodView.getBigUint64(0, true)).toBe(0n);
      // program: *(u64 *)(r10 - 8) = 0x0badcafe; bpf_ringbuf_output(rb, r10 - 8, 8, 0)
      const insns = asm([
        stDW(R10, -8, 0x0badcafe), ...ldMapFd(R1, rb.fd), movReg(R2, R10), addImm(R2, -8),
        movImm(R3, 8), movImm(R4, 0), call(U.BPF_FUNC_ringbuf_output), movImm(R0, 0), exit(),
      ]);
      using p = A.progLoad({ progType: U.BPF_PROG_TYPE_SOCKET_FILTER, insns, license: 'GPL' });
      const ep = sys.epollCreate();
      try {
        sys.epollCtl(ep, U.LIBC_EPOLL_CTL_ADD, rb.fd, U.LIBC_EPOLLIN, 42);
        // nothing yet: the wait times out without blocking the event loop
        let ticked = false;
        setTimeout(() => { ticked = true; }, 10);
        expect(await sys.epollWait(ep, 4, 150)).toEqual([]);
        expect(ticked).toBe(true);

        A.progTestRun({ progFd: p.fd, dataIn: packet(), repeat: 1 });
        const evs = await sys.epollWait(ep, 4, 1000);
        expect(evs).toHaveLength(1);
        expect(evs[0].data).toBe(42);
        expect(evs[0].events & U.LIBC_EPOLLIN).toBeTruthy();
      } finally {
        sys.close(ep);
      }
      const prodPos = prodView.getBigUint64(0, true);
      expect(prodPos).toBe(BigInt(U.BPF_RINGBUF_HDR_SZ + 8));
      const data = new DataView(prod.buffer, page);
      const hdrLen = data.getUint32(0, true);
      expect(hdrLen & ~(U.BPF_RINGBUF_BUSY_BIT | U.BPF_RINGBUF_DISCARD_BIT)).toBe(8);
      expect(hdrLen & U.BPF_RINGBUF_BUSY_BIT).toBe(0);
      expect(data.getBigUint64(U.BPF_RINGBUF_HDR_SZ, true)).toBe(0x0badcafen);
      // the data area is mapped twice back to back: the same bytes appear at +size
      expect(new DataView(prod.buffer, page + size).getBigUint64(U.BPF_RINGBUF_HDR_SZ, true)).toBe(0x0badcafen);
      // consume: the consumer page is writable from JS
      consView.setBigUint64(0, prodPos, true);
      expect(consView.getBigUint64(0, true)).toBe(prodPos);
    } finally {
      sys.munmap(prod);
      sys.munmap(cons);
    }
    expect(prod.unmapped).toBe(true);
    expect(() => prod.buffer).toThrow(/unmapped/);
  });

  it('perf_event_open + ioctl: a software counter counts while enabled', () => {
    const attr = A.perfEventAttr({ type: U.PERF_TYPE_SOFTWARE, config: U.PERF_COUNT_SW_TASK_CLOCK, flags: { disabled: true, exclude_hv: true } });
    expect(attr.get('disabled')).toBe(1);
    using ev = A.perfEventOpen(attr, 0, -1);
    const sys = getSyscalls();
    const b = A.bytes(8);
    sys.read(ev.fd, b);
    expect(rdU64(b)).toBe(0n); // disabled: nothing counted
    sys.ioctl(ev.fd, U.PERF_EVENT_IOC_ENABLE, 0);
    const t = Date.now();
    let x = 0;
    while (Date.now() - t < 20) x += Math.sqrt(x + 1);
    sys.ioctl(ev.fd, U.PERF_EVENT_IOC_DISABLE, 0);
    expect(sys.read(ev.fd, b)).toBe(8);
    expect(rdU64(b)).toBeGreaterThan(1_000_000n); // > 1 ms of task clock, in ns
  });
});

describe('real kernel: pinning and fds', () => {
  needsEach('bpf');
  it('pins a map to /sys/fs/bpf and gets it back with BPF_OBJ_GET', () => {
    const path = `/sys/fs/bpf/corebpf-test-${process.pid}-map`;
    using m = A.mapCreate({ mapType: U.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4, name: 'pinned' });
    A.objPin(m.fd, path);
    try {
      expect(existsSync(path)).toBe(true);
      expect(() => A.objPin(m.fd, path)).toThrow(expect.objectContaining({ errnoName: 'EEXIST' }));
      using again = A.objGet(path);
      expect(again.fd).not.toBe(m.fd);
      expect(A.mapInfo(again.fd).id).toBe(A.mapInfo(m.fd).id);
      A.mapUpdateElem(again.fd, u32(3), u32(33));
      const v = A.bytes(4);
      expect(A.mapLookupElem(m.fd, u32(3), v) && rdU32(v)).toBe(33);
    } finally {
      unlinkSync(path);
    }
    expect(() => A.objGet(path)).toThrow(expect.objectContaining({ errnoName: 'ENOENT', cmd: 'BPF_OBJ_GET' }));
  });

  it('the fd count is unchanged after 200 create/close cycles', () => {
    const before = fdCount();
    for (let i = 0; i < 200; i++) {
      const m = A.mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      if (i % 2) m.close();
      else m[Symbol.dispose]();
      m.close(); // a second close is a no-op, never a close of someone else's fd
    }
    expect(fdCount()).toBe(before);
  });

  it('OwnedFd closes once and rejects use after close', () => {
    const m = A.mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    const n = m.fd;
    expect(isOpen(n)).toBe(true);
    m.close();
    expect(m.closed).toBe(true);
    expect(() => m.fd).toThrow(/closed/);
    expect(isOpen(n)).toBe(false);
    const r = A.mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    const raw = r.release();
    r.close(); // released: does not close
    expect(isOpen(raw)).toBe(true);
    new OwnedFd(raw, 'map').close();
    expect(isOpen(raw)).toBe(false);
  });
});
