// The open phase on the real kernel (src/host/object.ts, opened.ts, wasm/adjust.c): an
// object shaped like libbpf-tools' (testdata/progs/open_phase.bpf.c) that cannot load as
// compiled is adjusted between open and load — placeholders retargeted or turned off,
// maps sized, selective load, a reused pinned map — and the kernel is asked what it got.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfObject, BpfMap, CorebpfError, LibbpfError, Relocator, possibleCpus } from '../dist/index.js';
import * as A from '../src/host/attr.js';
import { checkKernelSupport } from '../src/host/kernel-support.js';
import * as U from '../src/host/generated/uapi.js';
import { bpfUsable } from './kernel.js';

const OBJ = new URL('../testdata/progs/open_phase.bpf.o', import.meta.url).pathname;
const skipReason = bpfUsable();
if (skipReason) console.warn(`[host-open-phase] real-kernel tests SKIPPED: ${skipReason}`);

const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());
const open = () => BpfObject.open(OBJ, { relocator });
/** a Debian kernel's BTF (testdata/btf): relocation without this machine's kernel */
const BTF_61 = new URL('../testdata/btf/amd64-6.1.176.btf.xz', import.meta.url).pathname;
const openOffline = () => BpfObject.open(OBJ, { relocator, btf: BTF_61, kernelRelease: '6.1.0-44-amd64' });

/** what this kernel lacks for the fentry and kprobe programs (null: it has it) */
const noFentry = skipReason ? null : checkKernelSupport('fentry')?.message ?? null;
const noKprobe = skipReason ? null : checkKernelSupport('kprobe')?.message ?? null;
/** the block_io_start tracepoint arrived in Linux 6.5: its BTF type names it */
const hasBlockIoStart = existsSync('/sys/kernel/btf/vmlinux')
  && readFileSync('/sys/kernel/btf/vmlinux').includes(Buffer.from('\0btf_trace_block_io_start\0'));

/** the adjustments every test needs: counts sized, the programs this kernel cannot run off */
function basic(obj: BpfObject): BpfObject {
  obj.map('counts').setMaxEntries(1024);
  obj.program('tp_placeholder').setAttachTarget('sched_process_exec');
  obj.program('fentry_placeholder').setAttachTarget('vfs_unlink'); // do_unlinkat left 7.x kernels' BTF
  if (noFentry) obj.program('fentry_placeholder').setAutoload(false);
  if (noKprobe) obj.program('kprobe_unlink').setAutoload(false);
  if (!hasBlockIoStart) obj.program('block_io_start').setAutoload(false);
  return obj;
}

describe('open phase without a kernel: attributes of the opened object', () => {
  it('reads libbpf\'s attributes before load and the adjustments made since', async () => {
    const obj = await openOffline();
    try {
      expect(obj.loaded).toBe(false);
      expect(obj.programs.map((p) => [p.name, p.section, p.autoload, p.attachTarget])).toEqual([
        ['tp_placeholder', 'tp_btf/dummy_tp', true, 'dummy_tp'],
        ['fentry_placeholder', 'fentry/dummy_fentry', true, 'dummy_fentry'],
        ['kprobe_unlink', 'kprobe/do_unlinkat', true, 'do_unlinkat'],
        ['block_io_start', 'tp_btf/block_io_start', true, 'block_io_start'],
      ]);
      expect(obj.program('fentry_placeholder').type).toBe(U.BPF_PROG_TYPE_TRACING);
      expect(obj.program('fentry_placeholder').expectedAttachType).toBe(U.BPF_TRACE_FENTRY);
      const counts = obj.map('counts');
      expect([counts.type, counts.keySize, counts.valueSize, counts.maxEntries]).toEqual([U.BPF_MAP_TYPE_HASH, 4, 8, 0]);
      expect(obj.map('shared_seen').pinPath).toBe('/sys/fs/bpf/shared_seen');
      expect(() => obj.plan).toThrow(/opened, not relocated yet/);
      expect(() => counts.get(1)).toThrow(/not loaded: call load\(\)/);

      counts.setMaxEntries(4096).setMapFlags(U.BPF_F_NO_PREALLOC);
      obj.program('tp_placeholder').setAttachTarget('sched_switch').setLogLevel(1);
      obj.program('fentry_placeholder').setAttachTarget('vfs_unlink'); // do_unlinkat left 7.x kernels' BTF
      obj.program('kprobe_unlink').setAutoload(false);
      obj.program('block_io_start').setType('raw_tracepoint').setExpectedAttachType(0);
      expect([counts.maxEntries, counts.flags]).toEqual([4096, U.BPF_F_NO_PREALLOC]);
      expect(obj.program('tp_placeholder').attachTarget).toBe('sched_switch');
      expect(obj.program('tp_placeholder').logLevel).toBe(1);
      expect(obj.program('kprobe_unlink').autoload).toBe(false);
      expect(obj.program('block_io_start').type).toBe(U.BPF_PROG_TYPE_RAW_TRACEPOINT);
      expect(obj.adjustments).toEqual({
        programs: {
          tp_placeholder: { attachTarget: 'sched_switch', logLevel: 1 },
          fentry_placeholder: { attachTarget: 'vfs_unlink' },
          kprobe_unlink: { autoload: false },
          block_io_start: { type: U.BPF_PROG_TYPE_RAW_TRACEPOINT, expectedAttachType: 0 },
        },
        maps: { counts: { maxEntries: 4096, flags: U.BPF_F_NO_PREALLOC } },
      });
      expect(() => obj.program('nope')).toThrow(/has no program 'nope' \(programs: tp_placeholder, fentry_placeholder, kprobe_unlink, block_io_start\)/);
      expect(() => counts.setMaxEntries(-1)).toThrow(CorebpfError);
      expect(() => obj.program('tp_placeholder').setType('no_such_type')).toThrow(/unknown BPF_PROG_TYPE 'no_such_type'/);
      expect(() => obj.map('counts').setInnerMap({ maxEntries: 2 })).toThrow(/has no inner-map template/);
      // relocated without loading: libbpf applied the adjustments (the retargeted program has
      // sched_switch's BTF id, the disabled one is not in the plan, counts is sized)
      const r = await obj.relocate();
      expect(r.plan.programs.map((p) => p.name)).toEqual(['tp_placeholder', 'fentry_placeholder', 'block_io_start']);
      expect(r.plan.programs[2]!.type).toBe(U.BPF_PROG_TYPE_RAW_TRACEPOINT);
      expect(r.plan.maps.find((m) => m.name === 'counts')).toMatchObject({ maxEntries: 4096, flags: U.BPF_F_NO_PREALLOC });
      expect(r.plan.programs[0]!.attachBtfId).toBeGreaterThan(0);
      expect(r.plan.programs[0]!.attachBtfId).not.toBe(r.plan.programs[1]!.attachBtfId);
    } finally {
      obj.close();
    }
  });

  it('open() can start from recorded adjustments; the handles show them and load applies them', async () => {
    const adjustments = { programs: { kprobe_unlink: { autoload: false }, tp_placeholder: { attachTarget: 'sched_switch' }, fentry_placeholder: { autoload: false } }, maps: { counts: { maxEntries: 99 } } };
    const obj = await BpfObject.open(OBJ, { relocator, btf: BTF_61, adjustments });
    expect(obj.program('kprobe_unlink').autoload).toBe(false);
    expect(obj.program('tp_placeholder').attachTarget).toBe('sched_switch');
    expect(obj.map('counts').maxEntries).toBe(99);
    obj.program('block_io_start').setAutoload(false); // not in 6.1
    const { plan } = await obj.relocate();
    expect(plan.programs.map((p) => p.name)).toEqual(['tp_placeholder']);
    expect(plan.maps.find((m) => m.name === 'counts')!.maxEntries).toBe(99);
    obj.close();
  });

  it('as compiled, the object does not load: libbpf\'s reason with the Linux errno', async () => {
    const obj = await openOffline();
    obj.map('counts').setMaxEntries(16);
    const err = await obj.relocate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LibbpfError);
    expect((err as LibbpfError).message).toMatch(/prog 'tp_placeholder': failed to find kernel BTF type ID of 'dummy_tp': -3 \(ESRCH\)/);
    expect((err as LibbpfError).errnoName).toBe('ESRCH');
    expect((err as LibbpfError).errno).toBe(3);
    obj.close();
  });
});

describe.skipIf(skipReason !== null)('open phase on the real kernel', () => {
  it('tp_btf placeholder retargeted with setAttachTarget fires on the real tracepoint; sized maps per BPF_OBJ_GET_INFO_BY_FD', async () => {
    const obj = basic(await open());
    const cpus = possibleCpus();
    obj.map('percpu_hits').setMaxEntries(cpus);
    obj.map('shared_seen').setPinPath(null); // no pin: this test is about the others
    obj.program('tp_placeholder').setLogLevel(1); // its own verifier log, kept on success
    await obj.load();
    try {
      expect(obj.loaded).toBe(true);
      const counts = obj.map('counts');
      const hashInfo = A.mapInfo(counts.fd);
      expect([hashInfo.type, hashInfo.maxEntries, hashInfo.keySize, hashInfo.valueSize]).toEqual([U.BPF_MAP_TYPE_HASH, 1024, 4, 8]);
      const pcInfo = A.mapInfo(obj.map('percpu_hits').fd);
      expect([pcInfo.type, pcInfo.maxEntries]).toEqual([U.BPF_MAP_TYPE_PERCPU_ARRAY, cpus]);
      expect(obj.map('percpu_hits').maxEntries).toBe(cpus);
      const prog = obj.program('tp_placeholder');
      expect(prog.info().type).toBe(U.BPF_PROG_TYPE_TRACING);
      expect(prog.verifierLog).toMatch(/processed \d+ insns/);
      for (const p of obj.programs) if (p.name !== 'tp_placeholder') expect(p.verifierLog, p.name).toBe(''); // no level: no log
      await prog.attach();
      const child = spawnSync('/bin/true');
      expect(child.status).toBe(0);
      // sched_process_exec runs in the exec'ing process: the child's tgid was counted
      expect(counts.get(child.pid)).toBe(1n);
    } finally {
      obj.close();
    }
  });

  it.skipIf(noFentry !== null)('fentry placeholder retargeted to vfs_unlink fires (needs BPF trampolines)', async () => {
    const obj = basic(await open());
    obj.map('shared_seen').setPinPath(null);
    obj.program('tp_placeholder').setAutoload(false);
    await obj.load();
    try {
      await obj.program('fentry_placeholder').attach();
      const dir = mkdtempSync(join(tmpdir(), 'corebpf-fentry-'));
      writeFileSync(join(dir, 'f'), 'x');
      unlinkSync(join(dir, 'f'));
      rmSync(dir, { recursive: true });
      expect(obj.map('counts').get(process.pid)).toBeGreaterThanOrEqual(1n);
    } finally {
      obj.close();
    }
  });
  if (noFentry) console.warn(`[host-open-phase] fentry retarget test skipped: ${noFentry}`);

  it('a program turned off lets the object load on a kernel without its hook', async () => {
    // with every program on, a kernel lacking fentry or kprobes refuses the object
    const all = await open();
    all.map('counts').setMaxEntries(64);
    all.map('shared_seen').setPinPath(null);
    all.program('tp_placeholder').setAttachTarget('sched_process_exec');
    all.program('fentry_placeholder').setAttachTarget('vfs_unlink');
    if (noFentry || noKprobe || !hasBlockIoStart) {
      await expect(all.load()).rejects.toThrow(CorebpfError);
      expect(all.loaded).toBe(false);
    } else {
      console.warn('[host-open-phase] this kernel has fentry, kprobes and block_io_start: the refusal half of this test cannot be exercised');
      await all.load();
    }
    all.close();
    const obj = await open();
    obj.map('counts').setMaxEntries(64);
    obj.map('shared_seen').setPinPath(null);
    obj.program('tp_placeholder').setAttachTarget('sched_process_exec');
    obj.program('fentry_placeholder').setAutoload(false);
    obj.program('kprobe_unlink').setAutoload(false);
    if (!hasBlockIoStart) obj.program('block_io_start').setAutoload(false);
    await obj.load();
    try {
      expect(obj.programs.map((p) => p.name)).toEqual(['tp_placeholder', ...(hasBlockIoStart ? ['block_io_start'] : [])]);
      expect(() => obj.program('kprobe_unlink')).toThrow(/was not loaded \(autoload off\)/);
      expect(obj.maps.map((m) => m.name)).toContain('kprobe_hits'); // libbpf creates every map
    } finally {
      obj.close();
    }
  });

  it('selective load: only the programs asked for, and the maps they use', async () => {
    const obj = basic(await open());
    obj.map('shared_seen').setPinPath(null);
    await obj.load({ programs: ['tp_placeholder'] });
    try {
      expect(obj.programs.map((p) => p.name)).toEqual(['tp_placeholder']);
      const made = obj.maps.map((m) => m.name).sort();
      expect(made).toEqual(['counts', 'open_pha.rodata', 'percpu_hits', 'shared_seen']);
      expect(() => obj.map('kprobe_hits')).toThrow(/was not created \(no program loaded uses it/);
      expect(A.progInfo(obj.program('tp_placeholder').fd).type).toBe(U.BPF_PROG_TYPE_TRACING);
    } finally {
      obj.close();
    }
  });

  it('a pinned map is reused (same id) by a second object; reuseFd uses a given map', async () => {
    const dir = mkdtempSync('/sys/fs/bpf/corebpf-open-phase-');
    const pin = join(dir, 'seen');
    try {
      const first = basic(await open());
      first.map('shared_seen').setPinPath(pin);
      await first.load();
      const id = first.map('shared_seen').id;
      expect(existsSync(pin)).toBe(true);
      first.map('shared_seen').set(3, 77n);
      const second = basic(await open());
      second.map('shared_seen').setPinPath(pin);
      await second.load();
      expect(second.map('shared_seen').id).toBe(id);
      expect(second.map('shared_seen').get(3)).toBe(77n);
      second.close();

      // reuseFd: attributes taken from the fd at once, as bpf_map__reuse_fd does
      using own = BpfMap.create({ mapType: U.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 333, name: 'mine' });
      const third = basic(await open());
      third.map('shared_seen').setPinPath(null);
      third.map('counts').reuseFd(own.fd);
      expect(third.map('counts').maxEntries).toBe(333);
      await third.load();
      expect(third.map('counts').id).toBe(own.id);
      expect(third.map('counts').fd).not.toBe(own.fd); // its own fd of the same map
      third.close();
      expect(own.closed).toBe(false);
      first.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
