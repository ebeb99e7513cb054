// Fault injection in the host (issue 15 part 3): the Nth system call of a plan replay or
// of an attach fails with EPERM, ENOMEM, EAGAIN, EINTR, E2BIG or EBADF, for every N. After
// each: the error is typed and names the call that failed, every fd handed out is closed,
// and a retry (no fault) succeeds. The first tier replays every corpus plan on a
// simulated kernel and needs no privileges; the second does the same on the real kernel
// (replay and attach) and skips, saying why, without bpf().
import { mkdirSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Relocator, type LoadPlan } from '../dist/index.js';
import { CorebpfError, SyscallError, VerifierError } from '../src/errors.js';
import { BpfObject } from '../src/host/object.js';
import { createNativeSyscalls, setSyscalls } from '../src/host/syscall.js';
import { FAULT_ERRNOS, FaultSyscalls, SimulatedKernel } from './fault-kernel.js';
import { BTF_DIR, PROGS, corpus } from './helpers.js';
import { bpfUsable } from './kernel.js';

const BTF = `${BTF_DIR}/amd64-6.12.107.btf.xz`;
/** calls whose failure the host answers with another try, as libbpf does: a map created
 * again without BTF, a program loaded again (with a log, or after EAGAIN), a perf-event
 * attach through ioctl when BPF_LINK_CREATE is refused, BTF loaded again with a log */
const RETRIED = new Set(['BPF_MAP_CREATE', 'BPF_PROG_LOAD', 'BPF_BTF_LOAD', 'BPF_LINK_CREATE']);
const fdCount = (): number => readdirSync('/proc/self/fd').length;

const relocator = new Relocator({ size: 1 });
const plans = new Map<string, LoadPlan>();
beforeAll(async () => {
  for (const name of corpus()) {
    try {
      plans.set(name, (await relocator.relocate(`${PROGS}/${name}.bpf.o`, { btf: BTF })).plan);
    } catch { /* libbpf refuses some objects for this kernel: nothing to replay */ }
  }
  await relocator.close();
});
afterEach(() => {
  setSyscalls(null);
});

interface Tally { failures: number; absorbed: number; loads: number }

/** Replay `plan` failing each call in turn with each errno; returns what happened. */
function sweep(plan: LoadPlan, fault: FaultSyscalls, live: () => number, opts: { pinRoot?: string } = {}): Tally {
  const t: Tally = { failures: 0, absorbed: 0, loads: 0 };
  // pins outlive their object: each load here starts from an empty pin root
  const unpin = () => {
    if (!opts.pinRoot) return;
    for (const f of readdirSync(opts.pinRoot)) unlinkSync(`${opts.pinRoot}/${f}`);
  };
  // a warm-up load first: once per process the host probes the kernel (RLIMIT_MEMLOCK
  // accounting), and those calls must not shift the numbering of the sweep
  const warm = BpfObject.fromPlan(plan, opts);
  void warm.load();
  warm.close();
  unpin();
  fault.reset();
  // a plan's load completes before load() returns (nothing to relocate)
  const clean = BpfObject.fromPlan(plan, opts);
  void clean.load();
  const total = fault.calls.length;
  clean.close();
  unpin();
  expect(live(), `${plan.object}: fds left after a clean load and close`).toBe(0);
  expect(total).toBeGreaterThan(0);
  for (let n = 1; n <= total; n++) {
    for (const errno of FAULT_ERRNOS) {
      fault.reset(n, errno);
      const obj = BpfObject.fromPlan(plan, opts);
      let err: unknown = null;
      try {
        obj.load();
      } catch (e) {
        err = e;
      }
      const failed = fault.calls.find((c) => c.failed);
      const where = `${plan.object}: call ${n}/${total} (${failed?.what}) failing with ${errno}`;
      expect(failed, where).toBeDefined();
      t.loads++;
      if (err === null) {
        // the host tried again and the second try worked
        expect(RETRIED.has(failed!.what), `${where}: absorbed without a retry rule`).toBe(true);
        t.absorbed++;
        obj.close();
        unpin();
        expect(live(), `${where}: fds left after close`).toBe(0);
        continue;
      }
      t.failures++;
      expect(err, where).toBeInstanceOf(CorebpfError);
      expect((err as Error).message, where).toContain(failed!.what);
      expect((err as Error).message, where).toContain(errno);
      // and which step of the replay: the map or program it was creating
      if (err instanceof SyscallError && !(err instanceof VerifierError)) {
        expect((err as Error).message, where).toMatch(/^load plan '[^']+': (loading the BTF|creating map '|writing the initial contents of map '|pinning map '|loading program '|filling the program slots of map '|freezing maps)/);
      }
      expect(live(), `${where}: fds left open after the failure`).toBe(0);
      expect(obj.loaded).toBe(false);
      if (opts.pinRoot) expect(readdirSync(opts.pinRoot), `${where}: pins left by the failed load`).toEqual([]);
      // the same object loads once the fault is gone
      fault.reset();
      obj.load();
      expect(obj.loaded).toBe(true);
      obj.close();
      unpin();
      expect(live(), `${where}: fds left after the retry and close`).toBe(0);
    }
  }
  return t;
}

describe('fault injection: plan replay on a simulated kernel (no privileges)', () => {
  it('every corpus plan, every call, every errno: typed error naming the call, no fd left, retry works', () => {
    const sim = new SimulatedKernel(createNativeSyscalls());
    const fault = new FaultSyscalls(sim);
    setSyscalls(fault);
    let total: Tally = { failures: 0, absorbed: 0, loads: 0 };
    for (const [name, p] of plans) {
      const plan = structuredClone(p);
      for (const m of plan.maps) m.pinPath = null; // pins are the real tier's (bpffs)
      const t = sweep(plan, fault, () => sim.live.size);
      expect(fault.open.size, name).toBe(0);
      total = { failures: total.failures + t.failures, absorbed: total.absorbed + t.absorbed, loads: total.loads + t.loads };
    }
    expect(plans.size).toBeGreaterThanOrEqual(18);
    console.log(`[fault-injection] simulated kernel: ${plans.size} plans, ${total.loads} faulted loads, ${total.failures} typed failures, ${total.absorbed} absorbed by retries`);
    expect(total.failures).toBeGreaterThan(plans.size);
  });
});

describe('retries the host owes the kernel (simulated kernel)', () => {
  it('EAGAIN from BPF_PROG_LOAD (an interrupted verifier) is retried up to 5 times, as libbpf does', () => {
    const sim = new SimulatedKernel(createNativeSyscalls());
    const fault = new FaultSyscalls(sim);
    setSyscalls(fault);
    const plan = structuredClone(plans.get('socket_filter')!);
    fault.failNext('BPF_PROG_LOAD', 4, 'EAGAIN');
    const obj = BpfObject.fromPlan(plan);
    void obj.load();
    expect(fault.calls.filter((c) => c.what === 'BPF_PROG_LOAD').map((c) => c.failed ?? 'ok').slice(0, 5)).toEqual(['EAGAIN', 'EAGAIN', 'EAGAIN', 'EAGAIN', 'ok']);
    obj.close();
    // a fifth EAGAIN in a row is an error (and the log retry that follows does not hide it)
    fault.failNext('BPF_PROG_LOAD', 100, 'EAGAIN');
    expect(() => BpfObject.fromPlan(plan).load()).toThrow(/BPF_PROG_LOAD.*EAGAIN/);
    expect(sim.live.size).toBe(0);
  });

  it('a kernel that refuses map BTF gets the maps created again without it, as libbpf does', () => {
    const sim = new SimulatedKernel(createNativeSyscalls());
    const fault = new FaultSyscalls(sim);
    setSyscalls(fault);
    sim.refuseMapBtf = true;
    const plan = plans.get('maps')!;
    const withBtf = plan.maps.filter((m) => m.btf && (m.btfKeyTypeId || m.btfValueTypeId)).length;
    expect(withBtf).toBeGreaterThan(0);
    fault.reset();
    const obj = BpfObject.fromPlan(plan);
    void obj.load();
    expect(fault.calls.filter((c) => c.what === 'BPF_MAP_CREATE').length).toBe(plan.maps.length + withBtf);
    obj.close();
    expect(sim.live.size).toBe(0);
  });
});

const skip = bpfUsable();
if (skip) console.warn(`[fault-injection] real-kernel tier SKIPPED: ${skip}`);

describe.skipIf(skip !== null)('fault injection on the real kernel', () => {
  it('replay: execsnoop, map_in_map, tailcall, global_data, map_pinning', async () => {
    const fault = new FaultSyscalls(createNativeSyscalls());
    setSyscalls(fault);
    const before = fdCount();
    const root = `/sys/fs/bpf/corebpf-fault-${process.pid}`;
    mkdirSync(root);
    try {
      for (const name of ['execsnoop', 'map_in_map', 'tailcall', 'global_data', 'map_pinning']) {
        const p = plans.get(name)!;
        const t = sweep(p, fault, () => fault.open.size, name === 'map_pinning' ? { pinRoot: root } : {});
        expect(t.failures, name).toBeGreaterThan(0);
      }
    } finally {
      setSyscalls(null);
      rmSync(root, { recursive: true, force: true });
    }
    expect(fdCount()).toBe(before);
  });

  it('attach: a tracepoint program, every call of the attach failing in turn', async () => {
    const fault = new FaultSyscalls(createNativeSyscalls());
    setSyscalls(fault);
    const before = fdCount();
    const obj = BpfObject.fromPlan(plans.get('execsnoop')!);
    void obj.load();
    try {
      const prog = obj.programs[0]!;
      const mine = new Set(fault.open);
      fault.reset();
      (await prog.attach()).close();
      const total = fault.calls.length;
      expect(total).toBeGreaterThan(0);
      let failures = 0;
      for (let n = 1; n <= total; n++) {
        for (const errno of FAULT_ERRNOS) {
          fault.reset(n, errno);
          let err: unknown = null;
          let link: { close(): void } | null = null;
          try {
            link = await prog.attach();
          } catch (e) {
            err = e;
          }
          const failed = fault.calls.find((c) => c.failed);
          const where = `attach call ${n}/${total} (${failed?.what}) failing with ${errno}`;
          if (err === null) {
            expect(RETRIED.has(failed!.what), `${where}: absorbed without a retry rule`).toBe(true);
            link!.close();
          } else {
            failures++;
            expect(err, where).toBeInstanceOf(CorebpfError);
            expect((err as Error).message, where).toContain(errno);
          }
          expect([...fault.open].filter((fd) => !mine.has(fd)), `${where}: attach fds left open`).toEqual([]);
          fault.reset();
          (await prog.attach()).close(); // and attaching again works
        }
      }
      expect(failures).toBeGreaterThan(0);
    } finally {
      obj.close();
      setSyscalls(null);
    }
    expect(fault.open.size).toBe(0);
    expect(fdCount()).toBe(before);
  });
});

afterAll(() => setSyscalls(null));
