// The open phase offline (src/adjust.ts, wasm/adjust.c, src/check/run.ts): the same
// adjustments through relocate()'s options, the CLI's flags and the API give the same plan;
// check relocates an object the way its user space loads it (expectations file
// "adjustments") and fails only the program libbpf stops at, turning it off to check the
// others; errors keep libbpf's reason with Linux errno names.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BpfObject, LibbpfError, Relocator, adjustmentsFromFlags, parsePlan, runCheck, serializePlan,
} from '../dist/index.js';
import { adjustmentsText } from '../src/adjust.js';
import { linuxErrnos } from '../src/worker/service.js';
import { BTF_DIR, CLI, PROGS } from './helpers.js';

const OBJ = join(PROGS, 'open_phase.bpf.o');
const BTF_612 = join(BTF_DIR, 'amd64-6.12.107.btf.xz');
const tmp = mkdtempSync(join(tmpdir(), 'corebpf-open-phase-'));
const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** how libbpf-tools' user space would load open_phase on a kernel without trampolines */
const FLAGS = ['--attach-target', 'tp_placeholder=sched_process_exec', '--disable', 'fentry_placeholder', '--disable', 'kprobe_unlink',
  '--max-entries', 'counts=4096', '--max-entries', 'percpu_hits=8'];

describe('the same adjustments through the CLI, relocate() and the API', () => {
  it('flags parse to adjustments, and the glue text names libbpf\'s setters', () => {
    const a = adjustmentsFromFlags({
      disable: ['fentry_placeholder', 'kprobe_unlink'], attachTarget: ['tp_placeholder=sched_process_exec'], maxEntries: ['counts=4096', 'percpu_hits=8'],
    });
    expect(a).toEqual({
      programs: { fentry_placeholder: { autoload: false }, kprobe_unlink: { autoload: false }, tp_placeholder: { attachTarget: 'sched_process_exec' } },
      maps: { counts: { maxEntries: 4096 }, percpu_hits: { maxEntries: 8 } },
    });
    expect(adjustmentsText(a).split('\n')).toEqual([
      'prog\tfentry_placeholder\tautoload\t0', 'prog\tkprobe_unlink\tautoload\t0', 'prog\ttp_placeholder\tattach_target\tsched_process_exec',
      'map\tcounts\tmax_entries\t4096', 'map\tpercpu_hits\tmax_entries\t8',
    ]);
    expect(() => adjustmentsFromFlags({ maxEntries: ['counts'] })).toThrow(/--max-entries expects NAME=VALUE/);
    expect(() => adjustmentsFromFlags({ maxEntries: ['counts=-1'] })).toThrow(/unsigned 32-bit/);
  });

  it('relocate --disable/--attach-target/--max-entries writes the plan the API makes', async () => {
    const planFile = join(tmp, 'cli.plan');
    const r = cli('relocate', OBJ, '--btf', BTF_612, '--kernel-release', '6.12.0', ...FLAGS, '-o', planFile);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/load plan written to .*cli\.plan \(5 maps, 2 programs\)/);
    const fromCli = parsePlan(readFileSync(planFile, 'utf8'));

    const viaOptions = await relocator.relocate(OBJ, {
      btf: BTF_612, kernelRelease: '6.12.0', kernelVersion: '', machine: '',
      adjustments: {
        programs: { tp_placeholder: { attachTarget: 'sched_process_exec' }, fentry_placeholder: { autoload: false }, kprobe_unlink: { autoload: false } },
        maps: { counts: { maxEntries: 4096 }, percpu_hits: { maxEntries: 8 } },
      },
    });
    const obj = await BpfObject.open(OBJ, { relocator, btf: BTF_612, kernelRelease: '6.12.0', kernelVersion: '', machine: '' });
    obj.program('tp_placeholder').setAttachTarget('sched_process_exec');
    obj.program('fentry_placeholder').setAutoload(false);
    obj.program('kprobe_unlink').setAutoload(false);
    obj.map('counts').setMaxEntries(4096);
    obj.map('percpu_hits').setMaxEntries(8);
    const viaApi = await obj.relocate();
    obj.close();

    expect(serializePlan(viaOptions.plan)).toBe(serializePlan(fromCli));
    expect(serializePlan(viaApi.plan)).toBe(serializePlan(fromCli));
    expect(fromCli.programs.map((p) => p.name)).toEqual(['tp_placeholder', 'block_io_start']);
    expect(fromCli.maps.find((m) => m.name === 'counts')!.maxEntries).toBe(4096);
    expect(fromCli.maps.find((m) => m.name === 'percpu_hits')!.maxEntries).toBe(8);
    // and the retarget changed the program: its attach BTF id is not block_io_start's
    expect(fromCli.programs[0]!.attachBtfId).toBeGreaterThan(0);
    expect(fromCli.programs[0]!.attachBtfId).not.toBe(fromCli.programs[1]!.attachBtfId);
  });

  it('setInnerMap changes a map-in-map\'s inner template (bpf_map__inner_map + setters), not the other outer maps\'', async () => {
    const obj = await BpfObject.open(join(PROGS, 'map_in_map.bpf.o'), { relocator, btf: BTF_612 });
    const dyn = obj.map('dyn_outer');
    expect(dyn.innerMap).toEqual({ type: 2, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 }); // BPF_MAP_TYPE_ARRAY
    dyn.setInnerMap({ maxEntries: 64 });
    expect(dyn.innerMap!.maxEntries).toBe(64);
    const { plan } = await obj.relocate();
    const tmpl = (name: string) => plan.maps[plan.maps.find((m) => m.name === name)!.innerMap!]!;
    expect(tmpl('dyn_outer')).toMatchObject({ innerTemplate: true, maxEntries: 64 });
    expect(tmpl('outer_array').maxEntries).toBe(4);
    obj.close();
  });

  it('relocate without the adjustments fails with libbpf\'s reason (exit 2)', () => {
    const r = cli('relocate', OBJ, '--btf', BTF_612, '--max-entries', 'counts=16');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/prog 'tp_placeholder': failed to find kernel BTF type ID of 'dummy_tp': -3 \(ESRCH\)/);
    expect(cli('relocate', OBJ, '--btf', BTF_612, '--max-entries', 'counts').code).toBe(2);
  });
});

describe('check: per-program cells, adjustments from the expectations file', () => {
  it('one kernel-specific program fails its own cells; the others are relocated and pass', async () => {
    const adjustments = [{ object: 'open_phase*', programs: { tp_placeholder: { attachTarget: 'sched_process_exec' }, fentry_placeholder: { attachTarget: 'vfs_read' } }, maps: { counts: { maxEntries: 1024 } } }];
    const { report } = await runCheck({ objects: [OBJ], btfDir: BTF_DIR, adjustments, jobs: 2 });
    const little = report.kernels.filter((k) => k.endianness === 'little').map((k) => k.id);
    expect(little.length).toBeGreaterThanOrEqual(10);
    for (const k of little) {
      const r = report.results.find((x) => x.kernel === k)!;
      const st = Object.fromEntries(r.programs.map((p) => [p.program, p.status]));
      const old = /-(5\.10|6\.1)\./.test(k); // block_io_start arrived in Linux 6.5
      expect(st, k).toEqual({ tp_placeholder: 'pass', fentry_placeholder: 'pass', kprobe_unlink: 'pass', block_io_start: old ? 'unexpected-fail' : 'pass' });
      expect(r.outcome).toBe('relocated');
      if (old) {
        expect(r.disabled).toEqual([{ program: 'block_io_start', error: { name: 'LibbpfError', message: expect.stringMatching(/prog 'block_io_start': failed to find kernel BTF type ID of 'block_io_start': -3 \(ESRCH\)/) } }]);
        expect(r.programs.find((p) => p.program === 'block_io_start')!.note).toMatch(/^turned off \(autoload\) so that the other programs could be checked/);
      } else {
        expect(r.disabled).toBeUndefined();
      }
    }
  });

  it('the CLI reads "adjustments" from --expect-fail; expecting the old kernels\' failure makes it pass', () => {
    const file = join(tmp, 'expect.json');
    writeFileSync(file, JSON.stringify({
      version: 1,
      expectations: [{ object: 'open_phase*', program: 'block_io_start', kernel: ['*-5.10.*', '*-6.1.*'], error: '*block_io_start*', reason: 'block_io_start arrived in Linux 6.5' }],
      adjustments: [{ object: 'open_phase*', programs: { tp_placeholder: { attachTarget: 'sched_process_exec' }, fentry_placeholder: { autoload: false } }, maps: { counts: { maxEntries: 1024 } } }],
    }));
    const r = cli('check', OBJ, '--btf-dir', BTF_DIR, '--expect-fail', file, '--json', join(tmp, 'r.json'), '-q');
    expect(r.code, r.out + r.err).toBe(0);
    const rep = JSON.parse(readFileSync(join(tmp, 'r.json'), 'utf8')) as { summary: { expectedFail: number; pass: number; unexpectedFail: number } };
    expect(rep.summary.unexpectedFail).toBe(0);
    expect(rep.summary.expectedFail).toBe(4); // amd64/arm64 x 5.10/6.1
    writeFileSync(file, JSON.stringify({ version: 1, expectations: [], adjustments: [{ object: 'open_phase*', maps: { counts: { maxSize: 1 } } }] }));
    const bad = cli('check', OBJ, '--btf-dir', BTF_DIR, '--expect-fail', file, '-q');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/adjustments entry 0: maps\.counts: unknown attribute 'maxSize'/);
  });
});

describe('errors keep libbpf\'s reason, with Linux errno names', () => {
  it('a static program: libbpf\'s own line, not only EOPNOTSUPP', async () => {
    const err = await BpfObject.open(join(PROGS, 'static_prog.bpf.o'), { relocator }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LibbpfError);
    expect((err as LibbpfError).errnoName).toBe('EOPNOTSUPP');
    expect((err as LibbpfError).errno).toBe(95);
    expect((err as Error).message).toMatch(/could not open the object: EOPNOTSUPP\n.*sec 'tracepoint\/syscalls\/sys_enter_getpid': program 'handle' is static and not supported/);
  });

  it('a missing attach target: ESRCH (Linux 3), named', async () => {
    const obj = await BpfObject.open(OBJ, { relocator, btf: BTF_612 });
    obj.program('tp_placeholder').setAttachTarget('no_such_tracepoint_x');
    obj.map('counts').setMaxEntries(8);
    const err = await obj.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LibbpfError);
    expect((err as LibbpfError).errnoName).toBe('ESRCH');
    expect((err as LibbpfError).errno).toBe(3);
    expect((err as Error).message).toMatch(/libbpf refused an adjustment of the opened object: ESRCH\n.*prog 'tp_placeholder': cannot set attach_target to 'no_such_tracepoint_x': -3 \(ESRCH\) \(no such function or tracepoint in the target kernel's BTF\)/);
    expect(obj.loaded).toBe(false);
    obj.close();
  });

  it('a bad map size: libbpf\'s "failed to create" with EINVAL (Linux 22), before any kernel sees it', async () => {
    const obj = await BpfObject.open(OBJ, { relocator, btf: BTF_612 });
    obj.program('tp_placeholder').setAttachTarget('sched_switch');
    obj.program('fentry_placeholder').setAutoload(false);
    // counts left at max_entries 0, as compiled
    const err = await obj.relocate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LibbpfError);
    expect((err as LibbpfError).errno).toBe(22);
    expect((err as Error).message).toMatch(/map 'counts': failed to create: Invalid argument\(-22 EINVAL\)/);
    obj.map('counts').setMaxEntries(128).setValueSize(0);
    const err2 = await obj.relocate().catch((e: unknown) => e);
    expect((err2 as Error).message).toMatch(/map 'counts': failed to create: Invalid argument\(-22 EINVAL\)/);
    obj.close();
  });

  it('a successful relocation\'s log has Linux errno numbers too', async () => {
    const r = await relocator.relocate(OBJ, {
      btf: BTF_612, logLevel: 'debug',
      adjustments: { programs: { tp_placeholder: { attachTarget: 'sched_switch' }, fentry_placeholder: { autoload: false } }, maps: { counts: { maxEntries: 8 } } },
    });
    // libbpf looks for the bpffs of the pinned-by-name map; the virtual kernel has none
    expect(r.log).toMatch(/failed \(-2 ENOENT\) to open BPF FS mount at '\/sys\/fs\/bpf'/);
  });

  it('the wasm\'s errno numbers become Linux\'s in message text, only where libbpf prints an error code', () => {
    const wasm: Record<number, string> = { 71: 'ESRCH', 28: 'EINVAL', 44: 'ENOENT' };
    const nameOf = (n: number) => wasm[n] ?? 'unknown';
    expect(linuxErrnos("libbpf: prog 'x': failed to load: -71\nlibbpf: map 'm': failed to create: Invalid argument(-28)\nerr -44, relo #-71 at -28x",
      nameOf)).toBe("libbpf: prog 'x': failed to load: -3 (ESRCH)\nlibbpf: map 'm': failed to create: Invalid argument(-22 EINVAL)\nerr -2 (ENOENT), relo #-71 at -28x");
  });
});
