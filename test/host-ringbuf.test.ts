// Real-kernel tests of the ring buffer and perf buffer readers (src/host/ringbuf.ts,
// src/host/perfbuf.ts). Records come from hand-assembled BPF programs: raw tracepoint
// programs run with BPF_PROG_TEST_RUN (deterministic: the record's sequence number comes
// from the test's context, and BPF_F_TEST_RUN_ON_CPU picks the CPU), and a tracepoint
// program on syscalls:sys_enter_getpid triggered by calling getpid(2).
// Skipped (with the reason printed) only when not root or when bpf() answers EPERM.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermissionError } from '../src/errors.js';
import { attachProgram } from '../src/host/attach.js';
import * as A from '../src/host/attr.js';
import type { OwnedFd } from '../src/host/fd.js';
import * as U from '../src/host/generated/uapi.js';
import { openPerfBuffer, type PerfEvent } from '../src/host/perfbuf.js';
import { openRingBuffer } from '../src/host/ringbuf.js';
import { getSyscalls } from '../src/host/syscall.js';
// @ts-expect-error -- a plain .mjs build script without type declarations
import { buildGetpidLoop } from './c/build-test-binaries.mjs';
import { needs, needsEach, unmet } from './kernel.js';
import { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, add, asm, call, exit, ja, jeq, jne, jneR, jset, label, ld64, ldMap, ldxDW, mov, mov32, movr, mul, stDW, stW, stxDW, type Insn } from './asm.js';


// getpid(2) calls come from a child (test/c/getpid_loop.c), recognized by its comm: the test
// process itself makes stray getpid calls (V8/Node do, e.g. around garbage collections).
const GETPID_COMM = 'corebpf_getpid';
/** Run the child making `n` getpid calls; returns its pid. */
function getpids(n: number): number {
  const r = spawnSync(buildGetpidLoop(), [String(n)]);
  if (r.status !== 0) throw new Error(`getpid loop failed: ${r.status}`);
  return r.pid!;
}


// --- a tiny assembler with labels ------------------------------------------------------------
/** Continue only when bpf_get_current_comm() is `comm` (compared as two u64 words at r10-16). */
function commFilter(comm: string, out: string): Insn[] {
  const b = Buffer.alloc(16);
  b.write(comm.slice(0, 15), 'latin1');
  return [
    // zeroed first: older kernels' bpf_get_current_comm() copies with strscpy and leaves the
    // bytes after the NUL as they were, and the compare covers all 16
    stDW(R10, -16, 0), stDW(R10, -8, 0),
    movr(R1, R10), add(R1, -16), mov(R2, 16), call(U.BPF_FUNC_get_current_comm),
    ldxDW(R1, R10, -16), ...ld64(R2, b.readBigUInt64LE(0)), jneR(R1, R2, out),
    ldxDW(R1, R10, -8), ...ld64(R2, b.readBigUInt64LE(8)), jneR(R1, R2, out),
  ];
}

const MAGIC = 0xc0ffee;
const MAGIC2 = 0x5eed;
const u32 = (v: number) => { const b = A.bytes(4); new DataView(b.buffer).setUint32(0, v, true); return b; };
const u64s = (...v: bigint[]) => { const b = A.bytes(8 * v.length); v.forEach((x, i) => new DataView(b.buffer).setBigUint64(i * 8, x, true)); return b; };

/** A 40-byte record {MAGIC, seq, tag, seq*3, MAGIC2} (48 bytes in the ring: does not divide the ring size). */
interface Rec { magic: bigint; seq: number; tag: bigint; triple: bigint; magic2: bigint }
function decodeRec(b: Buffer): Rec {
  return { magic: b.readBigUInt64LE(0), seq: Number(b.readBigUInt64LE(8)), tag: b.readBigUInt64LE(16), triple: b.readBigUInt64LE(24), magic2: b.readBigUInt64LE(32) };
}
function expectRecs(recs: Rec[], seqs: number[], tag = 7n): void {
  expect(recs.map((r) => r.seq)).toEqual(seqs);
  for (const r of recs) {
    expect(r).toEqual({ magic: BigInt(MAGIC), seq: r.seq, tag, triple: BigInt(r.seq) * 3n, magic2: BigInt(MAGIC2) });
  }
}

/** raw_tp program: ctx args[0] = seq, args[1] = tag; bpf_ringbuf_output of the 40-byte record. */
function ringOutputProg(rbFd: number): Uint8Array {
  return asm([
    movr(R6, R1), ldxDW(R7, R6, 0), ldxDW(R8, R6, 8),
    stDW(R10, -40, MAGIC), stxDW(R10, -32, R7), stxDW(R10, -24, R8),
    movr(R9, R7), mul(R9, 3), stxDW(R10, -16, R9), stDW(R10, -8, MAGIC2),
    ...ldMap(R1, rbFd), movr(R2, R10), add(R2, -40), mov(R3, 40), mov(R4, 0), call(U.BPF_FUNC_ringbuf_output),
    mov(R0, 0), exit(),
  ]);
}

/** raw_tp program: `count` records seq, seq+1, ... per run (a bounded loop: one test run per
 *  thousand records keeps a large backlog cheap to make, even in the lab's emulated guests) */
function ringOutputLoopProg(rbFd: number, count: number): Uint8Array {
  return asm([
    ldxDW(R7, R1, 0), ldxDW(R8, R1, 8), mov(R6, 0),
    label('loop'),
    stDW(R10, -40, MAGIC), stxDW(R10, -32, R7), stxDW(R10, -24, R8),
    movr(R1, R7), mul(R1, 3), stxDW(R10, -16, R1), stDW(R10, -8, MAGIC2),
    ...ldMap(R1, rbFd), movr(R2, R10), add(R2, -40), mov(R3, 40), mov(R4, 0), call(U.BPF_FUNC_ringbuf_output),
    add(R7, 1), add(R6, 1), jne(R6, count, 'loop'),
    mov(R0, 0), exit(),
  ]);
}

/** raw_tp program: bpf_ringbuf_reserve the record, then submit it (even seq) or discard it (odd seq). */
function ringReserveProg(rbFd: number): Uint8Array {
  return asm([
    movr(R6, R1), ldxDW(R7, R6, 0), ldxDW(R8, R6, 8),
    ...ldMap(R1, rbFd), mov(R2, 40), mov(R3, 0), call(U.BPF_FUNC_ringbuf_reserve),
    jeq(R0, 0, 'out'),
    movr(R6, R0),
    stDW(R6, 0, MAGIC), stxDW(R6, 8, R7), stxDW(R6, 16, R8), movr(R9, R7), mul(R9, 3), stxDW(R6, 24, R9), stDW(R6, 32, MAGIC2),
    movr(R1, R6), mov(R2, 0),
    jset(R7, 1, 'discard'),
    call(U.BPF_FUNC_ringbuf_submit), ja('out'),
    label('discard'), call(U.BPF_FUNC_ringbuf_discard),
    label('out'), mov(R0, 0), exit(),
  ]);
}

/** raw_tp program: bpf_perf_event_output(ctx, map, BPF_F_CURRENT_CPU, {MAGIC, seq, tag, cpu, MAGIC2}, 40). */
function perfOutputProg(mapFd: number): Uint8Array {
  return asm([
    movr(R6, R1), ldxDW(R7, R6, 0), ldxDW(R8, R6, 8),
    call(U.BPF_FUNC_get_smp_processor_id), movr(R9, R0),
    stDW(R10, -40, MAGIC), stxDW(R10, -32, R7), stxDW(R10, -24, R8), stxDW(R10, -16, R9), stDW(R10, -8, MAGIC2),
    movr(R1, R6), ...ldMap(R2, mapFd), mov32(R3, -1) /* BPF_F_CURRENT_CPU, zero-extended */, movr(R4, R10), add(R4, -40), mov(R5, 40),
    call(U.BPF_FUNC_perf_event_output),
    mov(R0, 0), exit(),
  ]);
}

function rawTpProg(insns: Uint8Array, name: string): OwnedFd {
  return A.progLoad({ progType: U.BPF_PROG_TYPE_RAW_TRACEPOINT, insns, license: 'GPL', name });
}

/** Run a raw_tp program once with args (seq, tag), optionally on a given CPU. */
function fire(prog: OwnedFd, seq: number, tag = 7n, cpu?: number): void {
  A.progTestRun({ progFd: prog.fd, ctxIn: u64s(BigInt(seq), tag), ...(cpu !== undefined ? { flags: U.BPF_F_TEST_RUN_ON_CPU, cpu } : {}) });
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fdCount = () => readdirSync('/proc/self/fd').length;
const mappingCount = () => readdirSync('/proc/self/map_files').length;

describe('ring buffer reader', () => {
  needsEach('bpf', 'ringbuf');
  const sys = () => getSyscalls();
  const page = () => sys().pageSize();

  function ringbuf(size: number, name = 'rb'): OwnedFd & { maxEntries: number } {
    const fd = A.mapCreate({ mapType: U.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: size, name });
    return Object.assign(fd, { maxEntries: size });
  }

  it('poll() returns exactly the records produced, decoded, in order', () => {
    using rb = ringbuf(16 * page());
    using prog = rawTpProg(ringOutputProg(rb.fd), 'rb_out');
    using r = openRingBuffer({ fd: rb.fd, name: 'rb', maxEntries: rb.maxEntries }, decodeRec);
    expect(r.poll()).toEqual([]);
    for (const s of range(0, 5)) fire(prog, s);
    expect(r.pending).toBe(5 * 48);
    expectRecs(r.poll(), range(0, 5));
    expect(r.pending).toBe(0);
    expect(r.poll()).toEqual([]);
    for (const s of range(5, 8)) fire(prog, s, 9n);
    expectRecs(r.poll(2), [5, 6], 9n);
    expectRecs(r.drain(), [7], 9n);
    expect(r.delivered).toBe(8);
  });

  it('consume() hands out views of the ring itself, frees the space, and keeps order across a wrap', () => {
    using rb = ringbuf(page());
    using prog = rawTpProg(ringOutputProg(rb.fd), 'rb_consume');
    using r = openRingBuffer({ fd: rb.fd, name: 'rb', maxEntries: rb.maxEntries });
    const seen: number[] = [];
    let views = 0;
    // 3 rounds of 60 records of 48 bytes through a 4 KiB ring: it wraps, and only works
    // if consume() gave the space back
    for (let round = 0; round < 3; round++) {
      for (const s of range(round * 60, round * 60 + 60)) fire(prog, s);
      const n = r.consume((rec) => {
        if (rec.byteOffset !== 0 || rec.buffer.byteLength > rec.byteLength) views++; // not a copy
        seen.push(Number(decodeRec(Buffer.from(rec)).seq));
      });
      expect(n).toBe(60);
      expect(r.pending).toBe(0);
    }
    expect(seen).toEqual(range(0, 180));
    expect(views).toBe(180);
    expect(r.consume(() => { throw new Error('nothing to consume'); })).toBe(0);
  });

  it('poll() and drain() survive a backlog far larger than the call stack allows to spread', () => {
    // ~600k records: spreading that many into push(...) overflowed the stack (and lost them)
    const size = 32 << 20;
    using rb = ringbuf(size);
    const perRun = 1000;
    using prog = rawTpProg(ringOutputLoopProg(rb.fd, perRun), 'rb_backlog');
    using r = openRingBuffer({ fd: rb.fd, name: 'rb', maxEntries: rb.maxEntries });
    const total = 600_000;
    for (let s = 0; s < total; s += perRun) fire(prog, s);
    const got = r.drain();
    expect(got.length).toBe(total);
    expect(decodeRec(got[total - 1]!).seq).toBe(total - 1);
    expect(r.pending).toBe(0);
  }, 120_000);

  it('records that wrap around the end of the ring come out whole (48-byte records, 4 KiB ring)', () => {
    using rb = ringbuf(page());
    using prog = rawTpProg(ringOutputProg(rb.fd), 'rb_wrap');
    using r = openRingBuffer({ fd: rb.fd, name: 'rb', maxEntries: rb.maxEntries }, decodeRec);
    const got: Rec[] = [];
    let seq = 0;
    for (let batch = 0; batch < 12; batch++) { // 12 × 50 × 48 bytes ≈ 7 laps of a 4 KiB ring
      for (let i = 0; i < 50; i++) fire(prog, seq++);
      got.push(...r.drain());
    }
    expectRecs(got, range(0, seq));
  });

  it('a full ring keeps the oldest records: exactly floor(size / 48) fit', () => {
    using rb = ringbuf(page());
    using prog = rawTpProg(ringOutputProg(rb.fd), 'rb_full');
    using r = openRingBuffer({ fd: rb.fd, name: 'rb', maxEntries: rb.maxEntries }, decodeRec);
    for (const s of range(0, 200)) fire(prog, s);
    const fit = Math.floor(page() / 48);
    expectRecs(r.drain(), range(0, fit));
    // space again: the next record goes in
    fire(prog, 1000);
    expectRecs(r.drain(), [1000]);
  });

  it('discarded records (bpf_ringbuf_discard) are skipped and counted', () => {
    using rb = ringbuf(4 * page());
    using prog = rawTpProg(ringReserveProg(rb.fd), 'rb_reserve');
    using r = openRingBuffer({ fd: rb.fd, name: 'rb', maxEntries: rb.maxEntries }, decodeRec);
    for (const s of range(0, 20)) fire(prog, s);
    expectRecs(r.drain(), range(0, 20).filter((s) => s % 2 === 0));
    expect(r.discarded).toBe(10);
  });

  it('for await waits on epoll without blocking the event loop, and close() ends the iteration', async () => {
    using rb = ringbuf(4 * page());
    using prog = rawTpProg(ringOutputProg(rb.fd), 'rb_async');
    const r = openRingBuffer({ fd: rb.fd, name: 'rb', maxEntries: rb.maxEntries }, decodeRec, { pollTimeoutMs: 50 });
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 5);
    // records arrive over 600 ms: a loop that waits on epoll runs its 5 ms timer dozens of
    // times (a few at least on the lab's emulated guests); a blocked one runs it once
    setTimeout(() => { for (const s of range(0, 3)) fire(prog, s); }, 300);
    setTimeout(() => { for (const s of range(3, 6)) fire(prog, s); }, 600);
    const got: Rec[] = [];
    for await (const rec of r) {
      got.push(rec);
      if (got.length === 6) break;
    }
    clearInterval(timer);
    expectRecs(got, range(0, 6));
    expect(ticks).toBeGreaterThan(5); // the loop ran timers while the reader waited
    // a pending next() ends (done) when the reader is closed
    const pending = r.next();
    setTimeout(() => r.close(), 20);
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(r.closed).toBe(true);
    expect(r.poll()).toEqual([]);
    expect(await r.next()).toEqual({ done: true, value: undefined });
    await r[Symbol.asyncDispose]();
  });

  it('back-pressure: a slow consumer loses nothing, keeps order, and the kernel keeps what is not pulled', async () => {
    using rb = ringbuf(16 * page());
    using prog = rawTpProg(ringOutputProg(rb.fd), 'rb_slow');
    await using r = openRingBuffer({ fd: rb.fd, name: 'rb', maxEntries: rb.maxEntries }, decodeRec, { queueSize: 8 });
    const N = 300; // 300 × 48 bytes fit the 64 KiB ring; 300 ≫ the queue of 8
    for (const s of range(0, N)) fire(prog, s);
    const got: Rec[] = [];
    const it = r[Symbol.asyncIterator]();
    const first = await it.next();
    got.push(first.value as Rec);
    // one refill copied 8 records out: the consumer position moved past those 8 only
    expect(r.queued).toBe(7);
    expect(r.pending).toBe((N - 8) * 48);
    let maxQueued = 0;
    for (;;) {
      const n = await Promise.race([it.next(), sleep(500).then(() => null)]);
      if (n === null || n.done) break;
      got.push(n.value);
      maxQueued = Math.max(maxQueued, r.queued);
      if (got.length % 50 === 0) await sleep(5); // slow consumer
      if (got.length === N) break;
    }
    expect(maxQueued).toBeLessThanOrEqual(7);
    expectRecs(got, range(0, N));
    expect(r.pending).toBe(0);
  });

  it('open/close releases the mappings, the epoll fd and nothing else (50 cycles)', async () => {
    using rb = ringbuf(4 * page());
    const fds = fdCount();
    const maps = mappingCount();
    for (let i = 0; i < 50; i++) {
      const r = openRingBuffer({ fd: rb.fd, name: 'rb', maxEntries: rb.maxEntries });
      if (i % 2) r.close();
      else await r[Symbol.asyncDispose]();
      r.close();
    }
    // a reader closed while waiting releases when its epoll_wait returns
    const r = openRingBuffer({ fd: rb.fd, name: 'rb', maxEntries: rb.maxEntries }, undefined, { pollTimeoutMs: 30 });
    const n = r.next();
    await sleep(5);
    await r[Symbol.asyncDispose]();
    expect((await n).done).toBe(true);
    expect(fdCount()).toBe(fds);
    expect(mappingCount()).toBe(maps);
  });

  it('rejects a map whose size is not a power-of-two multiple of the page size', () => {
    expect(() => openRingBuffer({ fd: 0, name: 'bad', maxEntries: 3 * page() })).toThrow(/power of 2/);
  });
});

describe('tracepoint → ring buffer (attachProgram)', () => {
  needsEach('bpf', 'ringbuf', 'test_binaries');
  it('syscalls:sys_enter_getpid program emits {magic, pid_tgid, seq} for each getpid of the trigger process', () => {
    const sys = getSyscalls();
    using rb = A.mapCreate({ mapType: U.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4 * sys.pageSize() });
    using counter = A.mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
    const insns = asm([
      ...commFilter(GETPID_COMM, 'out'),
      call(U.BPF_FUNC_get_current_pid_tgid), movr(R9, R0),
      stW(R10, -4, 0), // key
      movr(R2, R10), add(R2, -4), ...ldMap(R1, counter.fd), call(U.BPF_FUNC_map_lookup_elem),
      jeq(R0, 0, 'out'),
      // r1 = old counter, then +1 (one trigger process, no race; BPF_FETCH atomics are 5.12+)
      ldxDW(R1, R0, 0), movr(R2, R1), add(R2, 1), stxDW(R0, 0, R2),
      stDW(R10, -24, MAGIC), stxDW(R10, -16, R9), stxDW(R10, -8, R1),
      ...ldMap(R1, rb.fd), movr(R2, R10), add(R2, -24), mov(R3, 24), mov(R4, 0), call(U.BPF_FUNC_ringbuf_output),
      label('out'), mov(R0, 0), exit(),
    ]);
    using prog = A.progLoad({ progType: U.BPF_PROG_TYPE_TRACEPOINT, insns, license: 'GPL', name: 'getpid_rb' });
    using r = openRingBuffer({ fd: rb.fd, name: 'rb', maxEntries: 4 * sys.pageSize() },
      (b) => ({ magic: b.readBigUInt64LE(0), pidTgid: b.readBigUInt64LE(8), seq: b.readBigUInt64LE(16) }));
    const link = attachProgram({ fd: prog.fd, name: 'getpid_rb', section: 'tracepoint/syscalls/sys_enter_getpid', type: U.BPF_PROG_TYPE_TRACEPOINT, expectedAttachType: 0, attachBtfId: 0 });
    try {
      expect(r.drain()).toEqual([]);
      const pid = BigInt(getpids(5));
      const pidTgid = (pid << 32n) | pid; // the child is single-threaded: tid = tgid
      expect(r.drain()).toEqual(range(0, 5).map((s) => ({ magic: BigInt(MAGIC), pidTgid, seq: BigInt(s) })));
      const pid2 = BigInt(getpids(2));
      expect(r.drain()).toEqual([5, 6].map((s) => ({ magic: BigInt(MAGIC), pidTgid: (pid2 << 32n) | pid2, seq: BigInt(s) })));
    } finally {
      link.close();
    }
    getpids(1);
    expect(r.drain()).toEqual([]); // detached
  });
});

describe('perf buffer reader', () => {
  needsEach('bpf');
  const sys = () => getSyscalls();
  let perfMap: OwnedFd;
  let ncpu = 0;
  beforeAll(() => {
    if (unmet('bpf')) return;
    ncpu = sys().possibleCpus();
    perfMap = A.mapCreate({ mapType: U.BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: ncpu, name: 'events' });
  });
  afterAll(() => perfMap?.close());
  const mapRef = () => ({ fd: perfMap.fd, name: 'events', maxEntries: ncpu });
  const decodePerf = (b: Buffer) => ({ ...decodeRec(b), len: b.length });

  it('delivers {cpu, data} from every CPU; data.cpu (bpf_get_smp_processor_id) matches', () => {
    using prog = rawTpProg(perfOutputProg(perfMap.fd), 'perf_out');
    using pb = openPerfBuffer(mapRef(), decodePerf);
    const cpus = sys().onlineCpus();
    expect(pb.cpus).toEqual(cpus);
    let seq = 0;
    const want: { cpu: number; seq: number }[] = [];
    for (const cpu of cpus) for (let i = 0; i < 3; i++) { fire(prog, seq, 7n, cpu); want.push({ cpu, seq: seq++ }); }
    const got = pb.drain();
    expect(got.map((e) => ({ cpu: e.cpu, seq: e.data.seq })).sort((a, b) => a.seq - b.seq)).toEqual(want);
    for (const e of got) {
      expect(e.data.triple).toBe(0n + BigInt(e.cpu)); // the 4th u64 is the CPU the program ran on
      expect(e.data.magic).toBe(BigInt(MAGIC));
      expect(e.data.magic2).toBe(BigInt(MAGIC2));
      expect(e.data.len).toBe(44); // 40 bytes padded so that u32 size + data is 8-byte aligned
    }
    // per CPU, order is kept
    for (const cpu of cpus) {
      const s = got.filter((e) => e.cpu === cpu).map((e) => e.data.seq);
      expect(s).toEqual([...s].sort((a, b) => a - b));
    }
    expect(pb.lost).toBe(0);
  });

  it('wrap-around of the per-CPU ring (1 page, 56-byte records, several laps)', () => {
    using prog = rawTpProg(perfOutputProg(perfMap.fd), 'perf_wrap');
    using pb = openPerfBuffer(mapRef(), decodePerf, { pagesPerCpu: 1 });
    const cpu = sys().onlineCpus()[0];
    const got: PerfEvent<ReturnType<typeof decodePerf>>[] = [];
    let seq = 0;
    for (let b = 0; b < 8; b++) {
      for (let i = 0; i < 40; i++) fire(prog, seq++, 7n, cpu);
      got.push(...pb.drain());
    }
    expect(got.map((e) => e.data.seq)).toEqual(range(0, seq));
    expect(got.every((e) => e.cpu === cpu && e.data.magic2 === BigInt(MAGIC2))).toBe(true);
    expect(pb.lost).toBe(0);
  });

  it('counts PERF_RECORD_LOST: delivered + lost = produced', () => {
    using prog = rawTpProg(perfOutputProg(perfMap.fd), 'perf_lost');
    const lostCalls: [number, number][] = [];
    using pb = openPerfBuffer(mapRef(), decodePerf, { pagesPerCpu: 1, onLost: (cpu, n) => lostCalls.push([cpu, n]) });
    const cpu = sys().onlineCpus().at(-1)!;
    const N = 200; // 200 × 56 bytes ≫ 4 KiB
    for (let s = 0; s < N; s++) fire(prog, s, 7n, cpu);
    const first = pb.drain();
    expect(first.length).toBeLessThan(N);
    expect(first.map((e) => e.data.seq)).toEqual(range(0, first.length)); // the oldest were kept
    // the kernel writes the LOST record with the next sample that fits
    fire(prog, N, 7n, cpu);
    const second = pb.drain();
    expect(second.map((e) => e.data.seq)).toEqual([N]);
    expect(pb.lost).toBe(N - first.length);
    expect(pb.lostByCpu.get(cpu)).toBe(N - first.length);
    expect(lostCalls).toEqual([[cpu, N - first.length]]);
    expect(pb.delivered + pb.lost).toBe(N + 1);
  });

  it('async iteration, and close() removes the map entries and releases every fd', async () => {
    using prog = rawTpProg(perfOutputProg(perfMap.fd), 'perf_async');
    const fds = fdCount();
    const pb = openPerfBuffer(mapRef(), decodePerf, { pollTimeoutMs: 50 });
    // all on CPU 0: records of different CPUs come out in poll order, not in firing order
    setTimeout(() => { for (let s = 0; s < 4; s++) fire(prog, s, 7n, 0); }, 40);
    const seqs: number[] = [];
    for await (const e of pb) {
      seqs.push(e.data.seq);
      if (seqs.length === 4) break;
    }
    expect(seqs).toEqual([0, 1, 2, 3]);
    await pb[Symbol.asyncDispose]();
    // entries gone (ENOENT): the perf event array no longer holds (and keeps alive) our events
    for (const cpu of sys().onlineCpus()) expect(A.mapDeleteElem(perfMap.fd, u32(cpu))).toBe(false);
    expect(fdCount()).toBe(fds);
  });

  it('tracepoint program with BPF_F_CURRENT_CPU: one event per getpid, on the CPU it ran', (ctx) => {
    needs(ctx, 'test_binaries');
    const insns = asm([
      movr(R6, R1), ...commFilter(GETPID_COMM, 'out'), call(U.BPF_FUNC_get_current_pid_tgid), movr(R7, R0),
      call(U.BPF_FUNC_get_smp_processor_id),
      stDW(R10, -24, MAGIC), stxDW(R10, -16, R7), stxDW(R10, -8, R0),
      movr(R1, R6), ...ldMap(R2, perfMap.fd), mov32(R3, -1), movr(R4, R10), add(R4, -24), mov(R5, 24),
      call(U.BPF_FUNC_perf_event_output),
      label('out'), mov(R0, 0), exit(),
    ]);
    using prog = A.progLoad({ progType: U.BPF_PROG_TYPE_TRACEPOINT, insns, license: 'GPL', name: 'getpid_perf' });
    using pb = openPerfBuffer(mapRef(), (b) => ({ magic: b.readBigUInt64LE(0), pidTgid: b.readBigUInt64LE(8), cpu: Number(b.readBigUInt64LE(16)) }));
    using _link = attachProgram({ fd: prog.fd, name: 'getpid_perf', section: 'tp/syscalls/sys_enter_getpid', type: U.BPF_PROG_TYPE_TRACEPOINT, expectedAttachType: 0, attachBtfId: 0 });
    const pid = BigInt(getpids(6));
    const got = pb.drain();
    expect(got).toHaveLength(6);
    for (const e of got) expect(e.data).toEqual({ magic: BigInt(MAGIC), pidTgid: (pid << 32n) | pid, cpu: e.cpu });
  });
});
