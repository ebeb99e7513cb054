// `corebpf check` tells guarded relocations from failures, per kernel fixture, and every
// fixture brings its kconfig and symbols: testdata/progs/guards (each guard shape, and one
// reachable failure) and the libbpf-tools-style heldout_* objects, over every kernel of
// testdata/btf. What each kernel has (task_struct.__state, struct bpf_timer, BPF_FUNC_loop,
// pt_regs.ip/pc, inode.i_mtime) is read from its BTF here, with the TS BTF reader,
// independently of libbpf; the expected verdicts follow from those facts.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  mergeReports, parseCheckReport, renderCheckHtml, renderCheckJunit, runCheck, withoutTiming,
  type CheckReport, type ObjectResult, type ProgramVerdict,
} from '../dist/index.js';
import { BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_PTR, BTF_KIND_STRUCT, BTF_KIND_UNION, parseBtf, skipModifiers, type Btf, type BtfType } from '../src/btf/reader.js';
import { BTF_DIR, CLI, PROGS, fixtureBytes, fixtures } from './helpers.js';

const kernels = fixtures().filter((f) => !f.base);
const idOf = (file: string) => file.replace(/\.btf\.xz$/, '');

/** a member by name, through anonymous struct/union members as libbpf matches fields */
function hasMember(btf: Btf, t: BtfType | undefined, name: string): boolean {
  if (!t || (t.kind !== BTF_KIND_STRUCT && t.kind !== BTF_KIND_UNION)) return false;
  return t.members.some((m) => m.name === name || (!m.name && hasMember(btf, btf.typeById(btf.resolveType(m.type)), name)));
}
const factCache = new Map<string, ReturnType<typeof readFacts>>();
/** what a kernel has, read once per fixture (parsing is synchronous: keep it short) */
function facts(file: string) {
  let f = factCache.get(file);
  if (!f) factCache.set(file, (f = readFacts(file)));
  return f;
}
function readFacts(file: string) {
  const btf = parseBtf(fixtureBytes(file));
  const struct = (n: string) => btf.findByName(n, BTF_KIND_STRUCT);
  const en = btf.findByName('bpf_func_id', BTF_KIND_ENUM) ?? btf.findByName('bpf_func_id', BTF_KIND_ENUM64);
  return {
    state: hasMember(btf, struct('task_struct'), '__state'),
    oldState: hasMember(btf, struct('task_struct'), 'state'),
    timer: struct('bpf_timer') !== undefined,
    // 6.1's struct bpf_timer is two anonymous 64-bit bitfields: no __opaque to read
    timerOpaque: hasMember(btf, struct('bpf_timer'), '__opaque'),
    loop: !!en && (en.kind === BTF_KIND_ENUM || en.kind === BTF_KIND_ENUM64) && en.values.some((v) => v.name === 'BPF_FUNC_loop'),
    ip: hasMember(btf, struct('pt_regs'), 'ip'),
    pc: hasMember(btf, struct('pt_regs'), 'pc'),
    mtime: hasMember(btf, struct('inode'), 'i_mtime'),
    // the held-out fentry programs read vfs_unlink's third argument (slot 2) as the 6.3+
    // `struct dentry *`; BTF-typed context access refuses it where it points to no struct
    unlinkArg2Struct: pointsToStruct(btf, 'vfs_unlink', 2),
  };
}
/** whether argument `i` of function `fn` is a pointer to a struct or union */
function pointsToStruct(btf: Btf, fn: string, i: number): boolean {
  const f = btf.findByName(fn, BTF_KIND_FUNC);
  const proto = f?.kind === BTF_KIND_FUNC ? btf.typeById(f.type) : undefined;
  if (proto?.kind !== BTF_KIND_FUNC_PROTO || !proto.params[i]) return false;
  const t = skipModifiers(btf, proto.params[i].type);
  if (t?.kind !== BTF_KIND_PTR) return false;
  const target = skipModifiers(btf, t.type);
  return target?.kind === BTF_KIND_STRUCT || target?.kind === BTF_KIND_UNION;
}
type Facts = ReturnType<typeof facts>;

/** the relocations of `program` that must fail on a kernel with these facts, and whether guarded */
function expected(program: string, f: Facts, arch: string): { guarded: string[]; failed: string[] } {
  const flavor = [...(f.state ? [] : ['task_struct___new.__state']), ...(f.oldState ? [] : ['task_struct___old.state'])];
  switch (program) {
    case 'state_flavor': case 'kconfig_version': case 'subprog_returns': case 'state_of':
      return { guarded: flavor, failed: [] };
    case 'type_guard':
      // the guard only says the type exists: where it has no __opaque the read runs, and fails
      if (!f.timer) return { guarded: ['bpf_timer___local.__opaque[1]'], failed: [] };
      return { guarded: [], failed: f.timerOpaque ? [] : ['bpf_timer___local.__opaque[1]'] };
    case 'enum_guard': return { guarded: f.loop ? [] : ['bpf_func_id___local::BPF_FUNC_loop___local'], failed: [] };
    case 'kconfig_arch':
      // CONFIG_X86 / CONFIG_ARM64 from the kernel's own config pick the branch
      if (arch === 'amd64' && !f.ip) return { guarded: [], failed: ['pt_regs___x86.ip'] };
      if (arch === 'arm64' && !f.pc) return { guarded: [], failed: ['pt_regs___arm64.pc'] };
      return { guarded: [...(f.ip ? [] : ['pt_regs___x86.ip']), ...(f.pc ? [] : ['pt_regs___arm64.pc'])], failed: [] };
    case 'unguarded_state': return { guarded: [], failed: f.state ? [] : ['task_struct___new.__state'] };
    case 'read_mtime': return { guarded: [], failed: f.mtime ? [] : ['inode___old.i_mtime.tv_sec'] };
    default: return { guarded: [], failed: [] };
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'corebpf-guards-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const OBJECTS = ['guards', 'heldout_runqslower', 'heldout_filemtime'].flatMap((n) => [join(PROGS, `${n}.bpf.o`), join(PROGS, `${n}.bpfeb.o`)]);

let report: CheckReport;
beforeAll(async () => {
  ({ report } = await runCheck({ objects: OBJECTS, btfDir: BTF_DIR, jobs: 2 }));
}, 300_000);

function cell(object: string, kernel: string, program: string): { r: ObjectResult; v: ProgramVerdict } {
  const r = report.results.find((x) => x.object === object && x.kernel === kernel)!;
  const v = r.programs.find((p) => p.program === program);
  if (!v) throw new Error(`no ${program} in ${object} on ${kernel}`);
  return { r, v };
}
const accesses = (r: ObjectResult, idx: number[] | undefined) => (idx ?? []).map((i) => r.failed[i]!.access).sort();
const objectFor = (name: string, endianness: string) => `${name}.${endianness === 'big' ? 'bpfeb' : 'bpf'}.o`;

describe('every kernel fixture brings its kconfig (and symbols where Debian ships them)', () => {
  it('the manifest names NAME.config.xz for each kernel, NAME.kallsyms.xz where a -dbg package exists, and check uses them', () => {
    for (const f of kernels) {
      const k = report.kernels.find((x) => x.file === f.file)!;
      expect(k.kconfig, f.file).toBe(`${idOf(f.file)}.config.xz`);
      if (k.kallsyms !== undefined) expect(k.kallsyms).toBe(`${idOf(f.file)}.kallsyms.xz`);
    }
    // Debian's backports ship no -dbg package: every other fixture has its symbols
    expect(report.kernels.filter((k) => !k.kallsyms).map((k) => k.id)).toEqual(['amd64-6.18.15']);
  });

  it('resolves .kconfig externs per kernel offline: no libbpf error on any kernel', () => {
    for (const r of report.results) expect(r.outcome, `${r.object} on ${r.kernel}: ${r.error?.message}`).not.toBe('error');
  });
});

describe('guards.bpf.o: guarded relocations per kernel, from the kernels\' BTF', () => {
  for (const f of kernels) {
    it(`${idOf(f.file)} (${f.arch})`, () => {
      const fx = facts(f.file);
      const object = objectFor('guards', f.endianness);
      const o = report.objects.find((x) => x.id === object)!;
      expect(o.programs.map((p) => p.name)).toEqual(expect.arrayContaining(['state_flavor', 'type_guard', 'enum_guard', 'kconfig_version', 'kconfig_arch', 'subprog_guard', 'subprog_returns', 'unguarded_state', 'state_of']));
      for (const p of o.programs) {
        const { r, v } = cell(object, idOf(f.file), p.name);
        const want = expected(p.name, fx, f.arch);
        expect(accesses(r, v.guarded), `${p.name} guarded`).toEqual(want.guarded.sort());
        expect(accesses(r, v.failures), `${p.name} failures`).toEqual(want.failed.sort());
        expect(v.status, p.name).toBe(want.failed.length ? 'unexpected-fail' : 'pass');
        for (const i of v.failures) {
          // a reachable failure comes with the path to its poisoned instruction
          const path = r.failed[i]!.path!;
          expect(path.program).toBe(p.name);
          expect(path.insns[0]).toBe(0);
          expect(path.insns.at(-1)).toBe(r.failed[i]!.insn);
        }
      }
    });
  }

  it('covers both sides of every guard somewhere (a test that could not fail otherwise)', () => {
    const all = kernels.map((f) => facts(f.file));
    for (const k of ['state', 'timer', 'timerOpaque', 'loop', 'mtime', 'unlinkArg2Struct'] as const) expect(new Set(all.map((x) => x[k])).size, k).toBe(2);
  });
});

describe('held-out style objects', () => {
  it('heldout_runqslower (guarded fallbacks, libbpf-tools idioms) relocates clean on every kernel; its fentry program is refused where vfs_unlink\'s third argument is no struct pointer', () => {
    for (const f of kernels) {
      const object = objectFor('heldout_runqslower', f.endianness);
      const r = report.results.find((x) => x.object === object && x.kernel === idOf(f.file))!;
      expect(r.outcome).toBe('relocated');
      for (const v of r.programs) {
        expect(v.failures, `${v.program} on ${r.kernel}`).toEqual([]);
        if (v.program === 'vfs_unlink' && !facts(f.file).unlinkArg2Struct) {
          // written for vfs_unlink(idmap, dir, dentry, ...) of 6.3+: on 5.10 slot 2 is `struct inode **`
          expect(v.status, `${v.program} on ${r.kernel}`).toBe('unexpected-fail');
          expect(r.unmet?.filter((u) => u.program === 'vfs_unlink')).toEqual([
            { program: 'vfs_unlink', need: 'ctx-access', id: 2, name: "func 'vfs_unlink' arg2 type PTR is not a struct", insn: expect.any(Number) },
          ]);
        } else expect(v.status, `${v.program} on ${r.kernel}`).toBe('pass');
      }
      // the state fallback always fails one way or the other: there is something to guard
      expect(accesses(r, r.programs.find((p) => p.program === 'handle_sched_switch')!.guarded).length).toBeGreaterThan(0);
    }
  });

  it('heldout_filemtime fails on exactly the kernels whose inode has no i_mtime, or whose vfs_unlink takes no struct pointer third', () => {
    const failing = kernels.filter((f) => !facts(f.file).mtime || !facts(f.file).unlinkArg2Struct).map((f) => idOf(f.file));
    expect(failing.length).toBeGreaterThan(0);
    expect(failing.length).toBeLessThan(kernels.length);
    const got = kernels.filter((f) => cell(objectFor('heldout_filemtime', f.endianness), idOf(f.file), 'read_mtime').v.status === 'unexpected-fail').map((f) => idOf(f.file));
    expect(got).toEqual(failing);
    // each for its own reason: the missing field with its path, or the refused context access
    for (const f of kernels.filter((k) => failing.includes(idOf(k.file)))) {
      const { r, v } = cell(objectFor('heldout_filemtime', f.endianness), idOf(f.file), 'read_mtime');
      expect(accesses(r, v.failures)).toEqual(facts(f.file).mtime ? [] : ['inode___old.i_mtime.tv_sec']);
      expect(r.unmet?.some((u) => u.program === 'read_mtime' && u.need === 'ctx-access') ?? false).toBe(!facts(f.file).unlinkArg2Struct);
    }
    for (const f of kernels) expect(cell(objectFor('heldout_filemtime', f.endianness), idOf(f.file), 'open_count').v.status).toBe('pass');
  });
});

describe('the distinction in every output, and merge keeps it', () => {
  it('JSON summary, text, JUnit and HTML say "guarded"', async () => {
    expect(report.summary.guarded).toBeGreaterThan(0);
    expect(report.summary.guarded).toBe(report.results.reduce((n, r) => n + r.programs.filter((p) => p.status === 'pass' && p.guarded?.length).length, 0));
    const junit = renderCheckJunit(report);
    expect(junit).toMatch(/<testcase classname="amd64-6\.12\.107\.guards\.bpf\.o" name="guards\.bpf\.o:state_flavor" time="[\d.]+">\n {6}<system-out>ok: 1 guarded relocation \(failed, in dead code\):\ninsn \d+ field_byte_offset task_struct___old\.state: .* \[guarded: the poisoned instruction is dead code\]<\/system-out>/);
    expect(junit).toMatch(/name="guards\.bpf\.o:unguarded_state"[^>]*>\n {6}<failure type="CO-RE relocation" message="1 CO-RE relocation failed \(field missing\) on amd64-5\.10\.223[^"]*">insn 1 field_byte_offset task_struct___new\.__state: .*\(reached by insn 0 → 1 of unguarded_state\)/);
    const html = renderCheckHtml(report);
    expect(html).toContain("'guarded': 'relocates, guarded fallbacks'");
    expect(html).toContain('"guarded":true');
    const text = await cliCheck([join(PROGS, 'guards.bpf.o'), join(PROGS, 'heldout_runqslower.bpf.o'), '--btf-dir', BTF_DIR, '-q']);
    expect(text.stdout).toMatch(/^ {2}\d+ pass \(\d+ with guarded relocations in dead code\)/m);
    expect(text.stdout).toMatch(/^ {2}state_flavor +relocates on 13\/13; guarded fallbacks on all$/m);
    expect(text.stdout).toMatch(/unguarded_state: insn 1 field_byte_offset task_struct___new\.__state: field missing: .* \(reached by insn 0 → 1 of unguarded_state\)\n {6}on amd64-5\.10\.223 \(amd64 5\.10\.0-32-amd64\), arm64-5\.10\.223 \(arm64 5\.10\.0-32-arm64\)$/m);
    // only the reachable failure fails the run
    expect(text.status).toBe(1);
    // every relocation resolves or is guarded: what fails it is 5.10's refusal of the fentry
    // program's context access, and with that listed as expected the run is clean
    const both = [join(PROGS, 'heldout_runqslower.bpf.o'), join(PROGS, 'heldout_runqslower.bpfeb.o'), '--btf-dir', BTF_DIR, '-q'];
    const refused = await cliCheck(both);
    expect(refused.status, refused.stdout).toBe(1);
    expect(refused.stdout).toMatch(/kernel: VerifierError: the kernel's verifier refuses func 'vfs_unlink' arg2 type PTR is not a struct \(the context load at insn \d+\)\n {6}on amd64-5\.10\.223 \(amd64 5\.10\.0-32-amd64\), arm64-5\.10\.223 \(arm64 5\.10\.0-32-arm64\)$/m);
    const expectFile = join(tmp, 'unlink-expect.json');
    writeFileSync(expectFile, JSON.stringify({ version: 1, expectations: [{ object: 'heldout_runqslower', program: 'vfs_unlink', kernel: '*-5.10.*', error: "*func 'vfs_unlink' arg2 type PTR is not a struct*", reason: '5.10\'s vfs_unlink takes struct inode ** third' }] }));
    const clean = await cliCheck([...both, '--expect-fail', expectFile]);
    expect(clean.status, clean.stdout).toBe(0);
  }, 120_000);

  it('merge of two shards equals the unsharded report, guarded relocations and paths included', async () => {
    const [a, b] = await Promise.all([1, 2].map((index) => runCheck({ objects: OBJECTS, btfDir: BTF_DIR, jobs: 1, shard: { index, count: 2 } })));
    const merged = mergeReports([a!.report, b!.report].map((r) => parseCheckReport(JSON.stringify(r))), ['a', 'b']);
    expect(withoutTiming(merged)).toEqual(withoutTiming(report));
    expect(merged.summary.guarded).toBe(report.summary.guarded);
  }, 300_000);

  it('relocate exits 0 when every failure is guarded, 1 with the path when one may run', async () => {
    const k612 = join(tmp, '6.12.btf');
    const k510 = join(tmp, '5.10.btf');
    writeFileSync(k612, fixtureBytes('amd64-6.12.107.btf.xz'));
    writeFileSync(k510, fixtureBytes('amd64-5.10.223.btf.xz'));
    const cfg = (id: string) => {
      const p = join(tmp, `${id}.config`);
      writeFileSync(p, readFileXz(join(BTF_DIR, `${id}.config.xz`)));
      return p;
    };
    const ok = await cliRun(['relocate', join(PROGS, 'guards.bpf.o'), '--btf', k612, '--kconfig', cfg('amd64-6.12.107'), '--kernel-version', '#1 SMP Debian 6.12.107-1']);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^GUARDED state_flavor insn \d+ field_byte_offset task_struct___old\.state: .* \[dead code\]$/m);
    expect(ok.stdout).toMatch(/^ok: the \d+ failed relocations are guarded/m);
    const bad = await cliRun(['relocate', join(PROGS, 'guards.bpf.o'), '--btf', k510, '--kconfig', cfg('amd64-5.10.223'), '--kernel-version', '#1 SMP Debian 5.10.223-1']);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/^FAILED unguarded_state insn 1 field_byte_offset task_struct___new\.__state: .* \[reached by insn 0 -> 1 of unguarded_state\]$/m);
    expect(bad.stdout).toMatch(/^GUARDED state_flavor insn \d+ field_byte_offset task_struct___new\.__state/m);
  }, 120_000);
});

function readFileXz(path: string): Buffer {
  return execFileSync('xz', ['-dc', path], { maxBuffer: 1 << 26 });
}

interface Cli { status: number | null; stdout: string; stderr: string }
function cliRun(args: string[]): Promise<Cli> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: tmp, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
const cliCheck = (args: string[]) => cliRun(['check', ...args]);
