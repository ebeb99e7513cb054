// The corebpf CLI as a user runs it: exit codes, report, plan file, JSON.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parsePlan } from '../dist/index.js';
import { CLI, HOST_BTF, TARGETS, hasHostBtf, obj } from './helpers.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const tmp = mkdtempSync(`${tmpdir()}/corebpf-cli-`);

describe('corebpf relocate', () => {
  it('exit 0, a report and a plan file when every relocation resolves', () => {
    const plan = `${tmp}/core_basic.plan`;
    const r = cli('relocate', obj('core_basic'), '--btf', obj('core_basic'), '-o', plan);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/core_basic\.bpf\.o against .*: (\d+) CO-RE relocations, \1 resolved, 0 failed/);
    expect(r.out).toMatch(/field_byte_offset\s+task_struct\.real_parent/);
    const p = parsePlan(readFileSync(plan, 'utf8'));
    expect(p.object).toBe('core_basic');
    expect(p.programs.length).toBeGreaterThan(0);
  });

  it('exit 1 and the failed relocations named when some fail', () => {
    const r = cli('relocate', obj('core_target'), '--btf', `${TARGETS}/core_target.target.btf`);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/\d+ failed/);
    expect(r.out).toMatch(/^FAILED \S+ insn \d+ \w+ \S+: .+/m);
  });

  it('--json gives the relocations, stats and plan', () => {
    const r = cli('relocate', obj('execsnoop'), '--btf', obj('execsnoop'), '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { ok: boolean; relocations: { kind: string }[]; plan: { format: string }; stats: { relocations: number } };
    expect(j.ok).toBe(true);
    expect(j.plan.format).toBe('corebpf-load-plan');
    expect(j.stats.relocations).toBe(j.relocations.length);
  });

  it('exit 2 on bad input, with a typed message', () => {
    const r = cli('relocate', '/bin/true', '--btf', obj('execsnoop'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/ObjectFormatError: 'true' is not a loadable BPF object/);
    const missing = cli('relocate', `${tmp}/nope.o`, '--btf', obj('execsnoop'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read BPF object/);
  });

  it('exit 2 on usage errors', () => {
    expect(cli('relocate').code).toBe(2);
    expect(cli('relocate', 'a', 'b').code).toBe(2);
    expect(cli('relocate', obj('execsnoop'), '--bogus').code).toBe(2);
    expect(cli('relocate', obj('execsnoop'), '--feature', 'nope').code).toBe(2);
    expect(cli('frobnicate').code).toBe(2);
  });

  it('--help describes the options', () => {
    const r = cli('relocate', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--btf PATH/);
    expect(r.out).toMatch(/Exit status: 0/);
  });

  it('--feature changes what libbpf prepares: without BTF_KIND_FUNC support the BTF is sanitized', () => {
    const withFunc = JSON.parse(cli('relocate', obj('core_basic'), '--btf', obj('core_basic'), '--json').out) as { plan: { btf: string; programs: { funcInfo: unknown }[] } };
    const without = JSON.parse(cli('relocate', obj('core_basic'), '--btf', obj('core_basic'), '--json', '--feature', 'btf_func=off').out) as { plan: { btf: string; programs: { funcInfo: unknown }[] } };
    expect(withFunc.plan.programs[0]!.funcInfo).not.toBeNull();
    // libbpf drops func_info when the kernel lacks BTF functions, and rewrites FUNCs in the BTF
    expect(without.plan.programs[0]!.funcInfo).toBeNull();
    expect(without.plan.btf).not.toBe(withFunc.plan.btf);
  });
});

describe.skipIf(!hasHostBtf)('corebpf relocate --kallsyms', () => {
  it('typeless __ksym externs resolve from the given kallsyms, and only then', () => {
    const ks = `${tmp}/kallsyms`;
    // a made-up kernel's address for vfs_read: the plan's ld_imm64 must carry exactly it
    writeFileSync(ks, 'ffffffff81000000 T _stext\nffffffff8123abc0 T vfs_read\nffffffff82b00000 d some_static\n');
    const without = cli('relocate', obj('ksyms'), '--btf', HOST_BTF);
    expect(without.code).toBe(2);
    expect(without.err).toMatch(/failed to open \/proc\/kallsyms/);
    const r = cli('relocate', obj('ksyms'), '--btf', HOST_BTF, '--kallsyms', ks, '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const plan = (JSON.parse(r.out) as { plan: { programs: { insns: string }[] } }).plan;
    const found = plan.programs.some((p) => {
      const b = Buffer.from(p.insns, 'base64');
      for (let o = 0; o + 16 <= b.length; o += 8) {
        if (b[o] === 0x18 && b.readUInt32LE(o + 4) === 0x8123abc0 && b.readUInt32LE(o + 12) === 0xffffffff) return true;
      }
      return false;
    });
    expect(found).toBe(true);
  });
});

describe('corebpf relocate --verbose', () => {
  it('prints libbpf\'s debug log with the formatted CO-RE specs (they are only formatted then)', () => {
    const r = cli('relocate', obj('execsnoop'), '--btf', obj('execsnoop'), '-v');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/relo #0: <byte_off> \[\d+\] struct task_struct\.real_parent \(0:\d+ @ offset 104\)/);
    expect(r.err).toMatch(/relo #0: matching candidate #0 <byte_off> \[\d+\] struct task_struct\.real_parent/);
    const quiet = cli('relocate', obj('execsnoop'), '--btf', obj('execsnoop'));
    expect(quiet.err).toBe('');
  });
});

describe('corebpf --version and help', () => {
  it('--version, -V and version print the package\'s version; help lists every command', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V', 'version']) {
      const r = spawnSync(process.execPath, [CLI, flag], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^corebpf ${pkg.version.replace(/\./g, '\\.')} \\(libbpf 1\\.5 `));
    }
    const help = spawnSync(process.execPath, [CLI, 'help'], { encoding: 'utf8' }).stdout;
    for (const cmd of ['relocate', 'check', 'run', 'btf dump', 'demo', 'help', 'version']) expect(help).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
  });
});
