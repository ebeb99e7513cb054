// corebpf check / merge: the program × kernel matrix over the test corpus and the Debian
// kernel BTF fixtures (testdata/btf/manifest.json), expectations, shards and merge, JUnit.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ERR_CONVENTION, checkProgressReporter, checkProgressMode, mergeReports, parseCheckReport, parseExpectations, runCheck, withoutTiming,
  type CheckReport, type Expectation, type ObjectResult,
} from '../dist/index.js';
import { BTF_DIR, CLI, PROGS, TARGETS, fixtures } from './helpers.js';

/** What the corpus is expected to fail on, and why (besides ___err_ programs). */
export const CORPUS_EXPECTATIONS: { version: 1; expectations: Expectation[] } = {
  version: 1,
  expectations: [
    { object: 'core_ambiguous', program: 'amb_ok', access: 'core_amb.*', reason: 'struct core_amb exists only in the synthetic target testdata/targets/core_ambiguous.target.btf' },
    { object: 'core_target', access: ['core_*', 'core_*::*'], reason: 'synthetic types of testdata/targets/core_target.target.btf, in no kernel' },
    // core_flavors needs none: the missing flavor of each pair is guarded (dead code), not a failure
    { object: 'guards', program: 'unguarded_state', kernel: '*-5.10.*', access: 'task_struct___new.__state', reason: 'reads task_struct.__state (5.14+) with no guard' },
    { object: 'guards', program: 'type_guard', kernel: '*-6.1.*', access: 'bpf_timer___local.__opaque[1]', reason: '6.1 has struct bpf_timer, but without __opaque: the type guard does not cover the field' },
    { object: 'heldout_filemtime', program: 'read_mtime', kernel: ['*-6.12.*', '*-6.18.*', '*-7.*'], access: 'inode___old.i_mtime.tv_sec', reason: 'inode.i_mtime is gone in 6.11+ and the read has no fallback' },
    { object: 'btf_tracing', program: 'on_switch', access: 'task_struct.__state', kernel: '*-5.10.*', reason: 'task_struct.state became __state in 5.14' },
    { object: ['bench_tasks', 'uprobe', 'tcp_connect'], access: ['pt_regs.di', 'pt_regs.si', 'pt_regs.ax'], arch: ['arm64', 'ppc64el', 'riscv64', 's390x'], reason: 'x86 register names in pt_regs (built for x86)' },
    { object: 'fentry', program: ['unlink_entry', 'unlink_exit'], kernel: '*-7.*', error: '*do_unlinkat*', reason: 'do_unlinkat is not in 7.x kernels\' BTF' },
    // kconfig needs none either: every fixture brings its config; ksyms fails only where the kernel lacks what it uses
    { object: 'ksyms', kernel: '*-5.10.*', error: '*bpf_prog_active*', reason: 'per-CPU variables are not in the 5.10 kernels\' BTF' },
    { object: 'ksyms', kernel: '*-6.1.*', error: '*bpf_task_from_pid*', reason: 'the bpf_task_from_pid kfunc is 6.2+' },
    { object: 'ksyms', kernel: 'amd64-6.18.15', error: '*kallsyms*', reason: 'no kallsyms for this fixture: Debian backports ship no -dbg package (System.map)' },
    { object: 'host_env', kernel: 'amd64-6.18.15', error: '*kallsyms*', reason: 'its typeless ksym needs kallsyms, and this fixture has none (no -dbg package in backports)' },
    { object: 'open_phase', error: '*', reason: 'placeholder attach targets and an unsized map: user space adjusts it at open (test/check-open-phase.test.ts)' },
    { object: 'static_prog', error: '*is static and not supported*', reason: 'libbpf refuses static programs (test/errors-open-phase.test.ts)' },
    { object: 'freplace', program: 'new_decide', error: '*attach program FD is not set*', reason: 'a freplace program extends a loaded program (setAttachTarget(func, program)); offline there is none (test/kernel-freplace.test.ts)' },
    { object: 'module_btf', error: '*corebpf_mod_counter*not found in kernel BTF*', reason: 'needs module BTF (ext4 and a synthetic module), and check offers none' },
    { object: 'kernel_hooks.x86.bpf*.o', access: 'pt_regs.*', arch: ['arm64', 'ppc64el', 'riscv64', 's390x'], reason: 'x86 register names in pt_regs (the x86 build of kernel_hooks)' },
    { object: 'kernel_hooks.arm64.bpf*.o', access: ['user_pt_regs.*', 'pt_regs___arm64.*'], arch: ['amd64', 'ppc64el', 'riscv64', 's390x'], reason: 'arm64 user_pt_regs / orig_x0 (the arm64 build of kernel_hooks)' },
    // what the kernel's BTF says it lacks (its UAPI enums): the kernel refuses these at load
    { object: 'btf_tracing', program: 'on_switch', kernel: '*-5.10.*', error: '*map type BPF_MAP_TYPE_TASK_STORAGE*', reason: 'task storage maps (and bpf_task_storage_get) are 5.11+' },
    { object: 'maps', kernel: '*-5.10.*', error: '*map type BPF_MAP_TYPE_BLOOM_FILTER*', reason: 'bloom filter maps are 5.16+' },
    { object: 'netfilter_hook', kernel: ['*-5.10.*', '*-6.1.*'], error: '*program type BPF_PROG_TYPE_NETFILTER*', reason: 'netfilter programs are 6.4+' },
    // BTF-typed context access, judged by the kernel's argument types (src/analysis/ctx-access.ts)
    { object: ['heldout_filemtime', 'heldout_runqslower'], program: ['read_mtime', 'vfs_unlink'], kernel: '*-5.10.*', error: "*func 'vfs_unlink' arg2 type PTR is not a struct*", reason: 'written for vfs_unlink(idmap, dir, dentry, ...) of 6.3+: 5.10\'s third argument is struct inode **, which BTF-typed context access refuses' },
    { object: 'subprogs', kernel: '*-5.10.*', error: ['*helper bpf_loop*', '*helper bpf_for_each_map_elem*'], reason: 'bpf_for_each_map_elem is 5.13+, bpf_loop 5.17+' },
    { object: 'usdt.x86.bpf*.o', access: 'pt_regs.ip', arch: ['arm64', 'ppc64el', 'riscv64', 's390x'], reason: 'the x86 build: without BPF cookies (before 5.15) usdt.bpf.h finds its spec by pt_regs.ip' },
    { object: 'usdt.arm64.bpf*.o', access: 'user_pt_regs.pc', arch: ['amd64', 'ppc64el', 'riscv64', 's390x'], reason: 'the arm64 build: without BPF cookies usdt.bpf.h finds its spec by user_pt_regs.pc' },
    { object: 'kernel_hooks.*.bpf*.o', program: 'lsm_file_ioctl', arch: 's390x', error: '*file_ioctl*', reason: 'Debian\'s s390x kernels have no BPF LSM (no bpf_lsm_file_ioctl in their BTF)' },
    { object: 'struct_ops', arch: 's390x', error: '*bpf_struct_ops_tcp_congestion_ops is not found*', reason: 'Debian\'s s390x kernels have no BPF TCP congestion controls (no bpf_struct_ops_tcp_congestion_ops in their BTF)' },
  ],
};

const tmp = mkdtempSync(join(tmpdir(), 'corebpf-check-'));
const EXPECT = join(tmp, 'expect.json');
writeFileSync(EXPECT, JSON.stringify(CORPUS_EXPECTATIONS, null, 1));

interface Cli { status: number | null; stdout: string; stderr: string }
/** `corebpf check ARGS` in the test's directory (CI set: plain progress lines) */
/* asynchronous: a long synchronous spawn starves vitest's worker RPC */
function cli(args: string[], env: Record<string, string> = { CI: '1' }): Promise<Cli> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'check', ...args], { cwd: tmp, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
function readReport(name: string): CheckReport {
  return parseCheckReport(readFileSync(join(tmp, name), 'utf8'), name);
}

const kernelFixtures = fixtures().filter((f) => !f.base);
const little = kernelFixtures.filter((f) => f.endianness === 'little').map((f) => f.file.replace(/\.btf\.xz$/, ''));
const big = kernelFixtures.filter((f) => f.endianness === 'big').map((f) => f.file.replace(/\.btf\.xz$/, ''));

function result(rep: CheckReport, object: string, kernel: string): ObjectResult {
  const r = rep.results.find((x) => x.object === object && x.kernel === kernel);
  if (!r) throw new Error(`no result for ${object} on ${kernel}`);
  return r;
}
function verdict(rep: CheckReport, object: string, program: string, kernel: string) {
  const v = result(rep, object, kernel).programs.find((p) => p.program === program);
  if (!v) throw new Error(`no program ${program} in ${object}`);
  return v;
}

let full: Cli;
let report: CheckReport;

// COREBPF_KEEP_TEST_OUTPUT=1 keeps the reports (and the screenshot) to look at
afterAll(() => {
  if (process.env.COREBPF_KEEP_TEST_OUTPUT) console.log(`check: test output kept in ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
});

beforeAll(async () => {
  full = await cli([PROGS, '--btf-dir', BTF_DIR, '--expect-fail', EXPECT, '--json', 'full.json', '--junit', 'full.xml', '-j', '2']);
  report = readReport('full.json');
}, 300_000);

describe('corebpf check over the corpus and the Debian kernel fixtures', () => {
  it('exits 0 with the corpus expectations and says so', () => {
    expect(full.status, `${full.stdout}\n${full.stderr}`).toBe(0);
    expect(full.stdout).toMatch(/^OK: no unexpected failures/m);
    expect(report.summary.unexpectedFail).toBe(0);
    expect(report.format).toBe('corebpf-check-report');
    expect(report.version).toBe(1);
  });

  it('checks every kernel of the manifest, with its arch and release, and skips split module BTF', () => {
    expect(report.kernels.map((k) => k.id)).toEqual(kernelFixtures.map((f) => f.file.replace(/\.btf\.xz$/, '')).sort());
    for (const f of kernelFixtures) {
      const k = report.kernels.find((x) => x.file === f.file)!;
      expect(k.kernelRelease).toBe(f.kernelRelease);
      expect(k.arch).toBe(f.arch);
      expect(k.endianness).toBe(f.endianness);
      expect(k.btfSha256).toMatch(/^[0-9a-f]{64}$/);
    }
    const split = fixtures().filter((f) => f.base);
    expect(split.length).toBeGreaterThan(0);
    for (const f of split) {
      expect(report.skippedKernels).toContainEqual({ file: f.file, reason: expect.stringMatching(/split BTF of a module \(base .*\)/) });
    }
    expect(full.stdout).toMatch(/skipped amd64-6\.1\.176\.mod-ext4\.btf\.xz: split BTF/);
    // every object against every kernel, kernel-major
    expect(report.results.length).toBe(report.objects.length * report.kernels.length);
    expect(report.results.map((r) => r.kernel)).toEqual(report.kernels.flatMap((k) => report.objects.map(() => k.id)));
  });

  it('execsnoop relocates on every little-endian kernel; big-endian kernels are not applicable to it', () => {
    expect(little.length).toBeGreaterThanOrEqual(10);
    expect(big.length).toBeGreaterThan(0);
    const o = report.objects.find((x) => x.id === 'execsnoop.bpf.o')!;
    expect(o.programs.map((p) => p.name)).toEqual(['tracepoint__syscalls__sys_enter_execve', 'tracepoint__syscalls__sys_exit_execve']);
    for (const k of little) {
      const r = result(report, 'execsnoop.bpf.o', k);
      expect(r.outcome).toBe('relocated');
      expect(r.relocations).toBe(4);
      expect(r.programs.map((p) => p.status)).toEqual(['pass', 'pass']);
    }
    for (const k of big) {
      const r = result(report, 'execsnoop.bpf.o', k);
      expect(r.outcome).toBe('not-applicable');
      expect(r.note).toMatch(/endianness: the object is little-endian, the kernel big-endian/);
      expect(r.programs.every((p) => p.status === 'not-applicable')).toBe(true);
      // and the big-endian build is tried there (whatever libbpf says), not on little-endian kernels
      expect(result(report, 'execsnoop.bpfeb.o', k).outcome).not.toBe('not-applicable');
    }
    for (const k of little) expect(result(report, 'execsnoop.bpfeb.o', k).outcome).toBe('not-applicable');
    expect(full.stdout).toMatch(new RegExp(`^execsnoop\\.bpf\\.o: all 2 programs: relocate on all ${little.length} kernels; not applicable on ${big.length} kernels \\(endianness\\)$`, 'm'));
  });

  it('___err_ programs fail everywhere, are counted as expected, and say exactly why', () => {
    const errProgs = ['core___err_missing_field', 'core___err_incompat_field', 'core___err_missing_type', 'core___err_missing_enumval'];
    for (const k of little) {
      expect(verdict(report, 'core_errors.bpf.o', 'core_ok', k).status).toBe('pass');
      for (const p of errProgs) {
        const v = verdict(report, 'core_errors.bpf.o', p, k);
        expect(v.status).toBe('expected-fail');
        expect(v.expected).toBe(ERR_CONVENTION);
      }
      const r = result(report, 'core_errors.bpf.o', k);
      const f = (program: string) => r.failed.find((x) => x.program === program)!;
      expect(f('core___err_missing_field')).toMatchObject({ kind: 'field_byte_offset', access: 'task_struct___err_missing.no_such_field', cause: 'field-missing', insn: 1, poisoned: true });
      expect(f('core___err_missing_type')).toMatchObject({ access: 'corebpf_no_such_struct.value', cause: 'type-missing', candidates: 0 });
      expect(f('core___err_missing_type').reason).toBe('target BTF has no struct corebpf_no_such_struct (no type with this name and a compatible kind)');
      expect(f('core___err_missing_enumval')).toMatchObject({ kind: 'enumval_value', access: 'pid_type___err::PIDTYPE_NOT_THERE', cause: 'enumval-missing', local: '9' });
    }
    // counted: 4 programs × every little-endian kernel at least
    expect(report.summary.expectedFail).toBeGreaterThanOrEqual(errProgs.length * little.length);
    expect(full.stdout).toMatch(/^ {2}core___err_missing_field +relocates on 0\/\d+; expected failure on all$/m);
  });

  it('reports the flavor that is missing on each kernel, with the relocation that failed, as guarded (dead code)', () => {
    // kernel_cap_t became { u64 val } in 6.3: 5.10 and 6.1 lack .val, later kernels the pre-6.3 cap[2]
    const old = result(report, 'core_flavors.bpf.o', 'amd64-5.10.223').failed.filter((f) => f.program === 'capabilities');
    expect(old.map((f) => f.access)).toEqual(['cred.cap_effective.val']);
    const recent = result(report, 'core_flavors.bpf.o', 'amd64-6.12.107').failed.filter((f) => f.program === 'capabilities');
    expect(recent.map((f) => f.access)).toEqual(['cred___pre63.cap_effective.cap[0]', 'cred___pre63.cap_effective.cap[1]']);
    for (const f of [...old, ...recent]) {
      expect(f).toMatchObject({ kind: 'field_byte_offset', cause: 'field-missing', poisoned: true, guarded: true, expected: null });
      expect(f.insn).toEqual(expect.any(Number));
    }
    // every core_flavors program passes on every kernel of its byte order, its failed flavors guarded
    for (const k of little) {
      for (const v of result(report, 'core_flavors.bpf.o', k).programs) expect(v.status, `${v.program} on ${k}`).toBe('pass');
    }
    expect(verdict(report, 'core_flavors.bpf.o', 'capabilities', 'amd64-6.12.107').guarded).toHaveLength(2);
    // kconfig and ksyms resolve with each kernel's own config and symbols
    for (const k of little) expect(result(report, 'kconfig.bpf.o', k).outcome, k).toBe('relocated');
    for (const k of little.filter((id) => /-(6\.12|7)\./.test(id))) {
      expect(result(report, 'ksyms.bpf.o', k).error, k).toBeNull();
      for (const v of result(report, 'ksyms.bpf.o', k).programs) expect(v.status, `${v.program} on ${k}`).toBe('pass');
    }
    // on 5.10 it is task_struct.__state that is missing (renamed in 5.14), and the program's old flavor relocates
    expect(result(report, 'core_flavors.bpf.o', 'arm64-5.10.223').failed.filter((f) => f.program === 'task_state').map((f) => f.access)).toEqual(['task_struct.__state']);
    expect(result(report, 'core_flavors.bpf.o', 'arm64-6.1.176').failed.filter((f) => f.program === 'task_state').map((f) => f.access)).toEqual(['task_struct___pre514.state']);
  });

  it('attributes a libbpf error to the program libbpf names; that program is turned off and the others checked', () => {
    const k = little.find((id) => /-7\./.test(id))!;
    expect(verdict(report, 'fentry.bpf.o', 'unlink_entry', k)).toMatchObject({
      status: 'expected-fail', error: true, expected: 'do_unlinkat is not in 7.x kernels\' BTF',
      note: expect.stringMatching(/^turned off \(autoload\) so that the other programs could be checked: .*prog 'unlink_entry': failed to find kernel BTF type ID of 'do_unlinkat': -3 \(ESRCH\)/),
    });
    // with unlink_entry off, libbpf stops at unlink_exit (fexit on the same missing function)
    expect(verdict(report, 'fentry.bpf.o', 'unlink_exit', k)).toMatchObject({ status: 'expected-fail', error: true });
    expect(result(report, 'fentry.bpf.o', k).disabled!.map((d) => d.program)).toEqual(['unlink_entry']);
    expect(result(report, 'fentry.bpf.o', k).error!.message).toMatch(/prog 'unlink_exit': failed to find kernel BTF type ID of 'do_unlinkat'/);
    expect(verdict(report, 'fentry.bpf.o', 'unlink_exit', 'amd64-6.12.107').status).toBe('pass');
  });

  it('counts what every expectation matched', () => {
    const uses = report.expectations.uses;
    expect(uses.length).toBe(CORPUS_EXPECTATIONS.expectations.length);
    const idx = (reason: RegExp) => CORPUS_EXPECTATIONS.expectations.findIndex((e) => reason.test(e.reason ?? ''));
    // core_amb's three field offsets on every little-endian kernel (and on big-endian ones for the bpfeb build)
    expect(uses[idx(/core_amb exists only/)]).toBeGreaterThanOrEqual(3 * little.length);
    expect(uses[idx(/4 kernels|do_unlinkat/)]).toBe(little.filter((id) => /-7\./.test(id)).length + big.filter((id) => /-7\./.test(id)).length);
  });

  it('exits 1 when an expectation is removed, naming the failing relocations', async () => {
    const fewer = { ...CORPUS_EXPECTATIONS, expectations: CORPUS_EXPECTATIONS.expectations.filter((e) => !/core_target/.test(String(e.object))) };
    writeFileSync(join(tmp, 'fewer.json'), JSON.stringify(fewer));
    const r = await cli([join(PROGS, 'core_target.bpf.o'), join(PROGS, 'execsnoop.bpf.o'), '--btf-dir', BTF_DIR, '--expect-fail', 'fewer.json', '--json', 'fewer-report.json', '-q']);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^FAILED: \d+ unexpected failures$/m);
    expect(r.stdout).toMatch(/^UNEXPECTED FAILURES/m);
    expect(r.stdout).toMatch(/field_offsets: insn \d+ field_byte_offset core_basic\.a: type missing: target BTF has no struct core_basic/);
    const rep = readReport('fewer-report.json');
    // still expected: its ___err_ programs; now unexpected: the programs reading synthetic types
    for (const k of little) {
      expect(verdict(rep, 'core_target.bpf.o', 'field_offsets', k).status).toBe('unexpected-fail');
      expect(verdict(rep, 'core_target.bpf.o', 'prog___err_memsz', k).status).toBe('expected-fail');
      expect(verdict(rep, 'core_target.bpf.o', 'field_exists', k).status).toBe('pass');
    }
    // ... and without any expectation file only ___err_ programs are expected
    const none = await cli([join(PROGS, 'execsnoop.bpf.o'), '--btf-dir', BTF_DIR, '-q']);
    expect(none.status, none.stdout + none.stderr).toBe(0);
  });

  it('rejects bad usage with exit status 2', async () => {
    expect((await cli([PROGS])).status).toBe(2);
    const shard = await cli([PROGS, '--btf-dir', BTF_DIR, '--shard', '3/2']);
    expect(shard.status).toBe(2);
    expect(shard.stderr).toMatch(/--shard expects I\/N with 1 <= I <= N/);
    const bad = await cli([PROGS, '--btf-dir', join(tmp, 'nope')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/is not a directory/);
    writeFileSync(join(tmp, 'bad-expect.json'), JSON.stringify([{ object: 'x', acess: 'typo' }]));
    const typo = await cli([PROGS, '--btf-dir', BTF_DIR, '--expect-fail', 'bad-expect.json']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(/entry 0: unknown field "acess"/);
    expect((await cli(['--help'])).stdout).toMatch(/^usage: corebpf check OBJECT\.\.\. --btf-dir DIR/);
  });

  it('prints plain progress lines when stderr is not a terminal, a bar on one', () => {
    expect(full.stderr).toMatch(new RegExp(`^corebpf check: ${report.kernels.length}/${report.kernels.length} kernels \\(100%\\), ${report.results.length}/${report.results.length} object × kernel, 0 unexpected failures`, 'm'));
    expect(full.stderr).not.toMatch(/\r|\x1b\[/);
    expect(checkProgressMode({ isTTY: true }, {}, false)).toBe('bar');
    expect(checkProgressMode({ isTTY: true }, { CI: 'true' }, false)).toBe('lines');
    expect(checkProgressMode({ isTTY: false }, {}, false)).toBe('lines');
    expect(checkProgressMode({ isTTY: true }, {}, true)).toBe('off');
    const out: string[] = [];
    const bar = checkProgressReporter({ write: (s: string) => { out.push(s); return true; }, columns: 100 } as never, 'bar');
    bar.update({ done: 5, total: 10, kernelsDone: 1, kernels: 2, unexpected: 0, current: ['amd64-6.1.176'], elapsedMs: 1200 });
    bar.end();
    expect(out[0]).toMatch(/^\r\x1b\[Kchecking \[#+-+\]  50% 5\/10 {2}kernels 1\/2/);
    expect(out.at(-1)).toBe('\r\x1b[K');
  });
});

describe('scheduling', () => {
  it('parses each kernel\'s BTF once, in one worker, for all objects', async () => {
    const objects = ['execsnoop.bpf.o', 'core_basic.bpf.o', 'core_kinds.bpf.o', 'subprogs.bpf.o'].map((o) => join(PROGS, o));
    const run = await runCheck({ objects, btfDir: BTF_DIR, jobs: 2 });
    const applicable = run.report.results.filter((r) => r.outcome !== 'not-applicable').length;
    expect(run.stats.relocations).toBe(applicable);
    expect(run.stats.btfParses).toBe(little.length);
    expect(run.report.timing.jobs).toBe(2);
  });

  it('--strict also fails on unexpected passes', async () => {
    const objs = [join(PROGS, 'execsnoop.bpf.o'), join(PROGS, 'verifier_reject.bpf.o')];
    const plain = await cli([...objs, '--btf-dir', BTF_DIR, '-q']);
    expect(plain.status, plain.stdout).toBe(0);
    expect(plain.stdout).toMatch(/^unexpected passes \(\d+ program × kernels; expected to fail, but relocate\):\n {2}verifier_reject\.bpf\.o reject___err_\w+ on all kernels$/m);
    expect((await cli([...objs, '--btf-dir', BTF_DIR, '-q', '--strict'])).status).toBe(1);
  });
});

describe('kernels without a manifest', () => {
  const objcopy = spawnSync('objcopy', ['--version']).status === 0 && spawnSync('gcc', ['--version']).status === 0;
  it.skipIf(!objcopy)('finds raw BTF and vmlinux ELF files, with the release from the file name and the arch from the ELF', async () => {
    const dir = join(tmp, 'btf-files');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    const raw = join(tmp, 'k.btf');
    writeFileSync(raw, spawnSync('xz', ['-dc', join(BTF_DIR, 'amd64-6.1.176.btf.xz')], { maxBuffer: 1 << 28 }).stdout);
    copyFileSync(raw, join(dir, '6.1.0-50-amd64.btf'));
    const empty = join(tmp, 'empty.o');
    expect(spawnSync('gcc', ['-c', '-x', 'c', '-', '-o', empty], { input: 'int x;\n' }).status).toBe(0);
    // a vmlinux stand-in: an x86-64 ELF whose .BTF section is the kernel's BTF
    expect(spawnSync('objcopy', ['--add-section', `.BTF=${raw}`, empty, join(dir, 'sub', 'vmlinux-6.1.0-50-cloud')]).status).toBe(0);
    writeFileSync(join(dir, 'README.md'), 'not a kernel');
    const { report: rep } = await runCheck({ objects: [join(PROGS, 'execsnoop.bpf.o')], btfDir: dir, jobs: 2 });
    expect(rep.kernels.map((k) => [k.id, k.kernelRelease, k.arch, k.machine, k.endianness, k.source])).toEqual([
      ['6.1.0-50-amd64', '6.1.0-50-amd64', 'amd64', 'x86_64', 'little', 'file'],
      ['sub/vmlinux-6.1.0-50-cloud', '6.1.0-50-cloud', 'amd64', 'x86_64', 'little', 'file'],
    ]);
    // the same BTF either way: the same offsets
    expect(rep.results.map((r) => r.programs.map((p) => p.status))).toEqual([['pass', 'pass'], ['pass', 'pass']]);
    expect(rep.kernels[0]!.btfSha256).toBe((fixtures().find((f) => f.file === 'amd64-6.1.176.btf.xz') as { btfSha256?: string }).btfSha256);
  });
});

describe('synthetic target: libbpf stops at an ambiguous relocation', () => {
  it('reports the ambiguity, the programs relocated before it, and what was not checked', async () => {
    const dir = join(tmp, 'btf-synthetic');
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(TARGETS, 'core_ambiguous.target.btf'), join(dir, 'core_ambiguous.target.btf'));
    const { report: rep } = await runCheck({ objects: [join(PROGS, 'core_ambiguous.bpf.o')], btfDir: dir, jobs: 1 });
    expect(rep.kernels).toEqual([expect.objectContaining({ id: 'core_ambiguous.target', source: 'file', kernelRelease: null, endianness: 'little' })]);
    const r = rep.results[0]!;
    expect(r.outcome).toBe('stopped');
    expect(r.error!.name).toBe('RelocationError');
    const amb = r.failed.find((f) => f.program === 'amb___err_offset')!;
    expect(amb).toMatchObject({ cause: 'ambiguous', insn: null, kind: 'field_byte_offset' });
    expect(amb.reason).toMatch(/field offset ambiguity/);
    expect(r.programs.map((p) => [p.program, p.status])).toEqual([
      ['amb_ok', 'pass'], ['amb___err_offset', 'expected-fail'], ['amb___err_size', 'skipped'],
    ]);
    expect(rep.summary.unexpectedFail).toBe(0);
  });
});

describe('shards and merge', () => {
  it('--shard 1/2 and 2/2 split the sorted kernels round-robin, and merge to the unsharded report', async () => {
    const a = await cli([PROGS, '--btf-dir', BTF_DIR, '--expect-fail', EXPECT, '--shard', '1/2', '--json', 'a.json', '-j', '2', '-q']);
    const b = await cli([PROGS, '--btf-dir', BTF_DIR, '--expect-fail', EXPECT, '--shard', '2/2', '--json', 'b.json', '-j', '2', '-q']);
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    expect(a.stdout).toMatch(/\(shard 1\/2 of \d+ kernels\)/);
    const ids = report.kernels.map((k) => k.id);
    const ra = readReport('a.json');
    const rb = readReport('b.json');
    expect(ra.kernels.map((k) => k.id)).toEqual(ids.filter((_, i) => i % 2 === 0));
    expect(rb.kernels.map((k) => k.id)).toEqual(ids.filter((_, i) => i % 2 === 1));
    const mm = spawnSync(process.execPath, [CLI, 'merge', 'b.json', 'a.json', '--json', 'merged.json'], { cwd: tmp, encoding: 'utf8' });
    expect(mm.status, mm.stderr).toBe(0);
    expect(mm.stdout).toMatch(/\(2 shards merged\)/);
    const mr = readReport('merged.json');
    expect(withoutTiming(mr)).toEqual(withoutTiming(report));
    expect(mr.shards.map((s) => `${s.index}/${s.count}`)).toEqual(['1/2', '2/2']);
    // the library gives the same
    expect(withoutTiming(mergeReports([ra, rb]))).toEqual(withoutTiming(report));
  });

  it('refuses overlapping kernels, different objects, different expectations and missing shards', async () => {
    const merge = (...files: string[]) => spawnSync(process.execPath, [CLI, 'merge', ...files], { cwd: tmp, encoding: 'utf8' });
    const twice = merge('a.json', 'a.json');
    expect(twice.status).toBe(2);
    expect(twice.stderr).toMatch(/kernels were checked by more than one report:\n {2}amd64-5\.10\.223 \(in a\.json and a\.json\)/);
    const missing = merge('a.json');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/incomplete: shard 2\/2 missing/);
    expect(merge('a.json', '--allow-partial').status).toBe(0);

    // shard 2/2 of fewer objects
    const { report: other } = await runCheck({ objects: [join(PROGS, 'execsnoop.bpf.o')], btfDir: BTF_DIR, shard: { index: 2, count: 2 }, expectations: CORPUS_EXPECTATIONS.expectations, jobs: 2 });
    writeFileSync(join(tmp, 'other.json'), JSON.stringify(other));
    const diff = merge('a.json', 'other.json');
    expect(diff.status).toBe(2);
    expect(diff.stderr).toMatch(/cannot merge a\.json and other\.json: they checked different objects:\n {2}.*\.o is only in a\.json/);

    const ra = readReport('a.json');
    const rb = readReport('b.json');
    rb.expectations.entries = rb.expectations.entries.slice(1);
    expect(() => mergeReports([ra, rb], ['a.json', 'b2.json'])).toThrow(/different expectations/);
    const rb2 = readReport('b.json');
    rb2.objects[0]!.sha256 = '0'.repeat(64);
    expect(() => mergeReports([ra, rb2], ['a.json', 'b2.json'])).toThrow(/differs \(sha256/);
    writeFileSync(join(tmp, 'not-a-report.json'), '{"format": "corebpf-load-plan"}');
    const notReport = merge('a.json', 'not-a-report.json');
    expect(notReport.status).toBe(2);
    expect(notReport.stderr).toMatch(/not-a-report\.json is not a check report/);
  });
});

// a tiny XML reader: enough to check well-formedness and read the JUnit structure
interface XmlEl { name: string; attrs: Record<string, string>; children: XmlEl[]; text: string }
function parseXml(xml: string): XmlEl {
  const decode = (s: string) => s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: '\'', amp: '&' })[e]!);
  expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')).toBe(true);
  const body = xml.slice(xml.indexOf('?>') + 2);
  const root: XmlEl = { name: '#root', attrs: {}, children: [], text: '' };
  const stack = [root];
  const re = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/g;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(body))) {
    if (m.index !== pos) throw new Error(`not well-formed XML at ${pos}: ${body.slice(pos, pos + 60)}`);
    pos = re.lastIndex;
    if (m[5] !== undefined) {
      if (/&(?!(lt|gt|quot|apos|amp);)/.test(m[5])) throw new Error(`bare & in text: ${m[5].slice(0, 60)}`);
      stack.at(-1)!.text += decode(m[5]);
      continue;
    }
    if (m[1]) {
      const open = stack.pop()!;
      if (open.name !== m[2]) throw new Error(`</${m[2]}> closes <${open.name}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of m[3]!.matchAll(/([\w.-]+)="([^"]*)"/g)) attrs[a[1]!] = decode(a[2]!);
    const el: XmlEl = { name: m[2]!, attrs, children: [], text: '' };
    stack.at(-1)!.children.push(el);
    if (!m[4]) stack.push(el);
  }
  if (pos !== body.length || stack.length !== 1) throw new Error('not well-formed XML: unclosed elements or trailing data');
  expect(root.children.filter((c) => c.name).length).toBe(1);
  return root.children[0]!;
}

describe('JUnit XML', () => {
  it('has a testsuite per kernel and a testcase per object:program, with counts that match the report', () => {
    const suites = parseXml(readFileSync(join(tmp, 'full.xml'), 'utf8'));
    expect(suites.name).toBe('testsuites');
    const s = report.summary;
    expect(Number(suites.attrs.tests)).toBe(s.cells);
    expect(Number(suites.attrs.failures) + Number(suites.attrs.errors)).toBe(s.unexpectedFail);
    expect(Number(suites.attrs.skipped)).toBe(s.expectedFail + s.notApplicable + s.skipped);
    const list = suites.children.filter((c) => c.name === 'testsuite');
    expect(list.map((t) => t.attrs.name)).toEqual(report.kernels.map((k) => k.id));
    const programs = report.objects.reduce((n, o) => n + o.programs.length, 0);
    for (const t of list) {
      const cases = t.children.filter((c) => c.name === 'testcase');
      expect(cases.length).toBe(programs);
      expect(Number(t.attrs.tests)).toBe(programs);
      const props = Object.fromEntries(t.children.find((c) => c.name === 'properties')!.children.map((p) => [p.attrs.name, p.attrs.value]));
      const k = report.kernels.find((x) => x.id === t.attrs.name)!;
      expect(props.kernelRelease).toBe(k.kernelRelease);
      expect(props.arch).toBe(k.arch);
    }
    const amd = list.find((t) => t.attrs.name === 'amd64-6.1.176')!;
    const tc = (name: string) => amd.children.find((c) => c.attrs.name === name)!;
    expect(tc('execsnoop.bpf.o:tracepoint__syscalls__sys_enter_execve').children).toEqual([]);
    const skipped = tc('core_errors.bpf.o:core___err_missing_type').children[0]!;
    expect(skipped.name).toBe('skipped');
    expect(skipped.attrs.message).toBe(`expected failure: ${ERR_CONVENTION}`);
    expect(skipped.text).toMatch(/insn 1 field_byte_offset corebpf_no_such_struct\.value: type missing: target BTF has no struct corebpf_no_such_struct/);
    expect(tc('execsnoop.bpfeb.o:tracepoint__syscalls__sys_enter_execve').children[0]!.attrs.message).toMatch(/^not applicable: endianness/);
  });

  it('lists unexpected relocation failures as <failure> with every relocation', async () => {
    const r = await cli([join(PROGS, 'core_errors.bpf.o'), '--btf-dir', BTF_DIR, '--expect-fail', EXPECT, '--junit', 'errs.xml', '-q']);
    expect(r.status).toBe(0);
    // the same object without the ___err_ convention's help: rename nothing, but expect nothing else either
    writeFileSync(join(tmp, 'none.json'), '[]');
    const flavors = await cli([join(PROGS, 'core_flavors.bpf.o'), join(PROGS, 'guards.bpf.o'), '--btf-dir', BTF_DIR, '--expect-fail', 'none.json', '--junit', 'flavors.xml', '--json', 'flavors.json', '-q']);
    expect(flavors.status).toBe(1);
    const rep = readReport('flavors.json');
    const suites = parseXml(readFileSync(join(tmp, 'flavors.xml'), 'utf8'));
    expect(Number(suites.attrs.failures)).toBe(rep.summary.unexpectedFail);
    const suite = suites.children.find((t) => t.attrs.name === 'amd64-5.10.223')!;
    // core_flavors' missing flavor is guarded: a passing test case saying so
    const guarded = suite.children.find((c) => c.attrs.name === 'core_flavors.bpf.o:capabilities')!.children[0]!;
    expect(guarded.name).toBe('system-out');
    expect(guarded.text).toMatch(/^ok: 1 guarded relocation \(failed, in dead code\):\ninsn \d+ field_byte_offset cred\.cap_effective\.val: 1 candidate type in target BTF, but none has field cred\.cap_effective\.val \[guarded: the poisoned instruction is dead code\]$/);
    const failure = suite.children.find((c) => c.attrs.name === 'guards.bpf.o:unguarded_state')!.children[0]!;
    expect(failure.name).toBe('failure');
    expect(failure.attrs.message).toBe('1 CO-RE relocation failed (field missing) on amd64-5.10.223 (amd64 5.10.0-32-amd64)');
    expect(failure.text).toMatch(/^insn 1 field_byte_offset task_struct___new\.__state: field missing: 1 candidate type in target BTF, but none has field task_struct___new\.__state \[instruction poisoned\] \(reached by insn 0 → 1 of unguarded_state\)$/);
  });
});

describe('expectations file', () => {
  it('accepts globs and lists, and rejects what it does not understand', () => {
    expect(parseExpectations('[{"object": "a*", "program": ["x", "y"], "reason": "r"}]')).toEqual([{ object: 'a*', program: ['x', 'y'], reason: 'r' }]);
    expect(() => parseExpectations('{"version": 2, "expectations": []}')).toThrow(/version 2 is not supported/);
    expect(() => parseExpectations('[{"error": "*", "access": "x"}]')).toThrow(/use one or the other/);
    expect(() => parseExpectations('[{"program": 3}]')).toThrow(/"program" must be a glob string/);
    expect(() => parseExpectations('{')).toThrow(/invalid JSON/);
  });
});
