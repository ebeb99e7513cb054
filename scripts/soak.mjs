#!/usr/bin/env node
// A bounded soak of the host on the real kernel (issue 15 part 6); root only, minutes.
// Not part of `npx vitest run`; run it with `npm run soak` (SOAK_SECONDS=N per phase,
// default 60). Two phases:
//
//  1. cycles: open a relocated execsnoop plan, load, attach both programs, detach, close,
//     over and over; fd count and RSS are sampled after a warm-up and at the end and must
//     stay flat (fds exactly, RSS within SOAK_RSS_SLACK_MB, default 48).
//  2. ring buffer under a flat-out producer: a tracepoint program on sys_enter_getppid
//     counts every attempt in an array map, writes a 16-byte record with
//     bpf_ringbuf_output() and counts the failures (ring full); a child process calls
//     getppid() in a tight loop while this process reads with the async iterator. At the
//     end (detached, ring drained): attempts counted by the kernel == records received +
//     drops counted by the kernel.
//
// Prints one summary line per phase (the numbers in the README) and exits non-zero when an
// invariant fails.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { BpfObject, relocate } from '../dist/index.js';

const ROOT = new URL('..', import.meta.url).pathname;
const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const RSS_SLACK = Number(process.env.SOAK_RSS_SLACK_MB ?? 48) * (1 << 20);
const fdCount = () => readdirSync('/proc/self/fd').length;
const fdList = () => readdirSync('/proc/self/fd').map((f) => { try { return `${f}:${readlinkSync(`/proc/self/fd/${f}`)}`; } catch { return f; } });
const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
const heap = () => { globalThis.gc?.(); return process.memoryUsage().heapUsed; };
const mb = (b) => `${(b / (1 << 20)).toFixed(1)} MiB`;
let failed = false;
const check = (ok, what) => {
  if (!ok) failed = true;
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
};

async function cycles() {
  const { plan } = await relocate(`${ROOT}testdata/progs/execsnoop.bpf.o`);
  const one = async () => {
    const obj = BpfObject.fromPlan(plan).load();
    for (const p of obj.programs) (await p.attach()).close();
    obj.close();
  };
  for (let i = 0; i < 50; i++) await one(); // warm-up: JIT, koffi, allocator pools
  globalThis.gc?.();
  const fd0 = fdCount();
  const rss0 = rss();
  const heap0 = heap();
  const t0 = Date.now();
  let n = 0;
  let peak = rss0;
  let rssMid = 0;
  while (Date.now() - t0 < SECONDS * 1000) {
    await one();
    if (++n % 100 === 0) peak = Math.max(peak, rss());
    if (!rssMid && Date.now() - t0 >= SECONDS * 500) {
      globalThis.gc?.();
      rssMid = rss();
    }
  }
  globalThis.gc?.();
  const fd1 = fdCount();
  const rss1 = rss();
  const secs = (Date.now() - t0) / 1000;
  console.log(`soak cycles: ${n} load/attach/detach/close cycles in ${secs.toFixed(0)}s (${(n / secs).toFixed(0)}/s); fds ${fd0} -> ${fd1}; ` +
    `RSS ${mb(rss0)} -> ${mb(rssMid)} (half-way) -> ${mb(rss1)} (peak ${mb(peak)})`);
  check(fd1 === fd0, 'fd count flat');
  check(rss1 - rss0 < RSS_SLACK, `RSS growth ${mb(rss1 - rss0)} < ${mb(RSS_SLACK)}`);
  // RSS moves in steps (allocator arenas, shared with other processes' timing); the JS heap
  // after a full GC is the precise measure of objects kept alive
  check(heap() - heap0 < 4 << 20, `JS heap after GC ${mb(heap0)} -> ${mb(heap())}`);
}

// ---- a tiny encoder for the ring buffer program (struct bpf_insn, little-endian host)
function insn(code, dst = 0, src = 0, off = 0, imm = 0) {
  const b = Buffer.alloc(8);
  b[0] = code;
  b[1] = (src << 4) | dst;
  b.writeInt16LE(off, 2);
  b.writeInt32LE(imm, 4);
  return b;
}
const LD_MAP = (dst, mapIndex) => [insn(0x18, dst, 1, 0, mapIndex), insn(0)];
const MOV_IMM = (dst, imm) => insn(0xb7, dst, 0, 0, imm);
const MOV_REG = (dst, src) => insn(0xbf, dst, src);
const ADD_IMM = (dst, imm) => insn(0x07, dst, 0, 0, imm);
const ST_W = (dst, off, imm) => insn(0x62, dst, 0, off, imm);
const STX_DW = (dst, off, src) => insn(0x7b, dst, src, off);
const ATOMIC_ADD_DW = (dst, off, src) => insn(0xdb, dst, src, off, 0);
const CALL = (fn) => insn(0x85, 0, 0, 0, fn);
const JEQ_IMM = (dst, imm, off) => insn(0x15, dst, 0, off, imm);
const EXIT = () => insn(0x95);

function ringPlan(ringSize) {
  // counters[0] += 1; if (ringbuf_output(rb, {ktime, ktime}, 16, 0)) counters[1] += 1
  const bump = (slot) => [
    ST_W(10, -4, slot), MOV_REG(2, 10), ADD_IMM(2, -4), ...LD_MAP(1, 1), CALL(1 /* map_lookup_elem */),
    JEQ_IMM(0, 0, 2), MOV_IMM(1, 1), ATOMIC_ADD_DW(0, 0, 1),
  ];
  const body = [
    ...bump(0),
    CALL(5 /* ktime_get_ns */), STX_DW(10, -16, 0), STX_DW(10, -24, 0),
    ...LD_MAP(1, 0), MOV_REG(2, 10), ADD_IMM(2, -24), MOV_IMM(3, 16), MOV_IMM(4, 0), CALL(130 /* ringbuf_output */),
  ];
  const tail = bump(1);
  const all = [...body, JEQ_IMM(0, 0, tail.length), ...tail, MOV_IMM(0, 0), EXIT()];
  const refs = [];
  all.forEach((b, i) => { if (b[0] === 0x18) refs.push({ insn: i, map: b.readInt32LE(4) }); });
  const map = (name, type, keySize, valueSize, maxEntries) => ({
    name, type, keySize, valueSize, maxEntries, flags: 0, numaNode: 0, mapExtra: '0', ifindex: 0, btf: false,
    btfKeyTypeId: 0, btfValueTypeId: 0, btfVmlinuxValueTypeId: 0, innerMap: null, innerTemplate: false, internal: false,
    freeze: false, pinPath: null, initial: [],
  });
  return {
    format: 'corebpf-load-plan', version: 1, object: 'soak', byteOrder: 'little', btf: null,
    kernel: { release: '', version: '', machine: '', pageSize: 4096 },
    maps: [map('rb', 27 /* RINGBUF */, 0, 0, ringSize), map('counters', 2 /* ARRAY */, 4, 8, 2)],
    programs: [{
      name: 'soak_getppid', section: 'tracepoint/syscalls/sys_enter_getppid', type: 5 /* TRACEPOINT */, expectedAttachType: 0,
      attachBtfId: 0, license: 'GPL', kernVersion: 0, flags: 0, ifindex: 0, btf: false, mapRefs: refs,
      insns: Buffer.concat(all).toString('base64'), funcInfo: null, lineInfo: null, boundMaps: [],
    }],
    relocations: [],
  };
}

async function ring() {
  const obj = BpfObject.fromPlan(ringPlan(256 << 10), { raw: true }).load();
  const fd0 = fdCount(); // before the reader and the link, after them: the same
  const list0 = fdList();
  const reader = await obj.ringbuf('rb');
  const link = await obj.program('soak_getppid').attach();
  const producer = spawn('python3', ['-c', 'import os\nwhile True: os.getppid()'], { stdio: 'ignore' });
  let received = 0;
  const rss0 = rss();
  const reading = (async () => {
    for await (const rec of reader) {
      if (rec.byteLength !== 16) throw new Error(`record of ${rec.byteLength} bytes`);
      received++;
    }
  })();
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  producer.kill('SIGKILL');
  await new Promise((r) => producer.once('exit', r));
  link.close(); // no more events: everything produced is in the ring or was dropped
  const secs = (Date.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 300));
  received += reader.drain().length;
  reader.close();
  await reading;
  await new Promise((r) => setTimeout(r, 500)); // the epoll fd goes once its last wait returns (<= 200 ms)
  const counters = obj.map('counters');
  const u64 = (i) => Buffer.from(counters.getRaw(Buffer.from([i, 0, 0, 0]))).readBigUInt64LE(0);
  const attempts = u64(0);
  const drops = u64(1);
  globalThis.gc?.();
  const fd1 = fdCount();
  const list1 = fdList();
  const rss1 = rss();
  obj.close();
  console.log(`soak ring buffer: ${secs.toFixed(0)}s flat-out producer: kernel counted ${attempts} events; received ${received} ` +
    `(${(received / secs / 1e3).toFixed(0)}k/s), ${drops} dropped (ring full); fds ${fd0} -> ${fd1}; RSS ${mb(rss0)} -> ${mb(rss1)}`);
  check(attempts === BigInt(received) + drops, `kernel count ${attempts} == received ${received} + dropped ${drops}`);
  check(received > 0 && attempts > 0n, 'events flowed');
  check(fd1 === fd0, 'fd count flat');
  if (fd1 !== fd0) console.log(`    new: ${list1.filter((f) => !list0.includes(f)).join(' ')}; gone: ${list0.filter((f) => !list1.includes(f)).join(' ')}`);
  check(rss1 - rss0 < RSS_SLACK, `RSS growth ${mb(rss1 - rss0)} < ${mb(RSS_SLACK)}`);
}

if (process.geteuid?.() !== 0) {
  console.log('soak: SKIPPED: needs root (or CAP_BPF + CAP_PERFMON) for the real kernel');
  process.exit(0);
}
await cycles();
await ring();
process.exitCode = failed ? 1 : 0;
