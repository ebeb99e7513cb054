// corebpf gen from C (src/gen/compile.ts): a program written against a generated vmlinux.h and
// the libbpf headers the package ships compiles for both byte orders, the same bytes from any
// directory, without DWARF or local paths; its CO-RE reads relocate against real kernel BTF;
// clang's errors reach the user; and on this kernel it loads and yields typed events through
// the generated module.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Relocator } from '../dist/index.js';
import { needs, skipWith } from './kernel.js';

const ROOT = new URL('../', import.meta.url).pathname;
const CLI = `${ROOT}dist/cli.js`;
const FIXTURE = `${ROOT}testdata/btf/amd64-6.1.176.btf.xz`;
const SOURCE = `${ROOT}testdata/gen/exec_events.bpf.c`;
const CLANG = 'clang-16';
const tmp = mkdtempSync(join(tmpdir(), 'corebpf-genc-'));
const relocator = new Relocator({ size: 1 });
afterAll(() => {
  relocator.close();
  rmSync(tmp, { recursive: true, force: true });
});

function clangMissing(): string | null {
  return spawnSync(CLANG, ['--version']).status === 0 ? null : `${CLANG} is not installed (scripts/install-deps.sh installs it; the lab's guests have no compiler)`;
}

function gen(args: string[], cwd = ROOT): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'gen', ...args], { encoding: 'utf8', cwd });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** the two objects a module embeds (the little-endian one first) */
function embedded(module: string): Buffer[] {
  return [...module.matchAll(/const OBJECT(?:_BE)? = \[\n([\s\S]*?)\n\]\.join/g)].map((m) =>
    Buffer.from(m[1]!.split('\n').map((l) => l.trim().slice(1, -2)).join(''), 'base64'));
}

/** section names of an ELF64 object, either byte order */
function sections(o: Buffer): string[] {
  const le = o[5] === 1;
  const u16 = (at: number) => (le ? o.readUInt16LE(at) : o.readUInt16BE(at));
  const u32 = (at: number) => (le ? o.readUInt32LE(at) : o.readUInt32BE(at));
  const u64 = (at: number) => Number(le ? o.readBigUInt64LE(at) : o.readBigUInt64BE(at));
  const shoff = u64(0x28), shentsize = u16(0x3a), shnum = u16(0x3c), shstrndx = u16(0x3e);
  const strOff = u64(shoff + shstrndx * shentsize + 0x18);
  return Array.from({ length: shnum }, (_, i) => {
    const at = strOff + u32(shoff + i * shentsize);
    return o.toString('latin1', at, o.indexOf(0, at));
  });
}

describe('corebpf gen prog.bpf.c', () => {
  it('compiles bpfel and bpfeb against the fixture kernel\'s vmlinux.h and the shipped headers: same bytes from any directory, no DWARF, no local paths', (ctx) => {
    const why = clangMissing();
    if (why) skipWith(ctx, why);
    expect(existsSync(`${ROOT}dist/include/bpf/bpf_helpers.h`)).toBe(true);
    const outs = ['a', 'b/deeper'].map((d) => {
      const dir = join(tmp, d);
      mkdirSync(dir, { recursive: true });
      cpSync(SOURCE, join(dir, 'exec_events.bpf.c'));
      cpSync(FIXTURE, join(dir, 'kernel.btf.xz'));
      const r = gen(['exec_events.bpf.c', '--btf', 'kernel.btf.xz', '--type', 'exec_event', '--clang', CLANG], dir);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      return { dir, text: r.stdout };
    });
    expect(outs[1]!.text).toBe(outs[0]!.text);
    const text = outs[0]!.text;
    expect(text).toContain('//   corebpf gen exec_events.bpf.c --btf kernel.btf.xz --type exec_event\n');
    expect(text).toMatch(/export interface ExecEvent \{\n {2}pid: number;\n {2}ppid: number;\n {2}cgroup_id: bigint;\n {2}comm: string;\n\}/);
    const objs = embedded(text);
    expect(objs).toHaveLength(2);
    expect(objs.map((o) => o[5])).toEqual([1, 2]); // EI_DATA: little, then big
    for (const o of objs) {
      const names = sections(o);
      expect(names).toContain('.BTF');
      expect(names).toContain('.BTF.ext');
      expect(names.filter((n) => n.startsWith('.debug_'))).toEqual([]);
      for (const local of [...outs.map((x) => x.dir), tmpdir(), ROOT]) expect(o.includes(local)).toBe(false);
    }
  });

  it('its CO-RE reads are libbpf relocations against real kernel BTF: task_struct.real_parent and .tgid resolve on 6.1', async (ctx) => {
    const why = clangMissing();
    if (why) skipWith(ctx, why);
    const r = gen([SOURCE, '--btf', FIXTURE, '--clang', CLANG]);
    expect(r.status).toBe(0);
    const [little] = embedded(r.stdout);
    const out = await relocator.relocate(little!, { btf: FIXTURE, kernelRelease: '6.1.0-50-cloud-amd64' });
    const fields = out.relocations.map((x) => `${x.kind} ${x.access}`).join('\n');
    expect(fields).toContain('field_byte_offset task_struct.real_parent');
    expect(fields).toContain('field_byte_offset task_struct.tgid');
    expect(out.relocations.map((x) => x.status)).toEqual(['resolved', 'resolved']);
  });

  it('says what went wrong: clang\'s own error, a missing compiler, object-only and C-only options', (ctx) => {
    const why = clangMissing();
    if (why) skipWith(ctx, why);
    const bad = join(tmp, 'bad.bpf.c');
    writeFileSync(bad, '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\nSEC("tp/x/y") int f(void *ctx) { return undeclared_thing; }\n');
    const e1 = gen([bad, '--clang', CLANG, '--btf', FIXTURE]);
    expect(e1.status).toBe(2);
    expect(e1.stderr).toContain('could not compile');
    expect(e1.stderr).toMatch(/bad\.bpf\.c:3:\d+: error: use of undeclared identifier 'undeclared_thing'/);
    const nohdr = join(tmp, 'nohdr.bpf.c');
    writeFileSync(nohdr, '#include "vmlinux.h"\n');
    const e2 = gen([nohdr, '--clang', '/nonexistent/clang']);
    expect(e2.status).toBe(2);
    expect(e2.stderr).toContain("clang '/nonexistent/clang' was not found");
    const e3 = gen([`${ROOT}testdata/progs/execsnoop.bpf.o`, '--btf', FIXTURE]);
    expect(e3.status).toBe(2);
    expect(e3.stderr).toContain('--btf is for a C source');
    const e4 = gen([SOURCE, '--object-eb', `${ROOT}testdata/progs/execsnoop.bpfeb.o`]);
    expect(e4.status).not.toBe(0);
    expect(e4.stderr).toContain('--object-eb is for objects');
  });
});

describe('corebpf gen prog.bpf.c on this kernel', () => {
  it('the module compiled from C against this kernel\'s own BTF loads, attaches and yields typed exec events', async (ctx) => {
    const why = clangMissing();
    if (why) skipWith(ctx, why);
    needs(ctx, 'bpf', 'btf', 'ringbuf');
    const dir = `${ROOT}build/gen-test`;
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `exec-events-${process.pid}.gen.ts`);
    execFileSync(process.execPath, [CLI, 'gen', SOURCE, '--clang', CLANG, '--type', 'exec_event', '--import', `${ROOT}dist/index.js`, '-o', file]);
    expect(readFileSync(file, 'utf8')).toContain('corebpf gen exec_events.bpf.c --type exec_event');
    const mod = await import(file);
    const skel = await mod.load({ relocator, rodata: { only_ppid: process.pid } });
    try {
      expect(skel.rodata.only_ppid).toBe(process.pid);
      await skel.programs.handle_exec.attach();
      const rb = await skel.ringbuf('events', 'exec_event');
      const child = spawnSync('/bin/true');
      expect(child.status).toBe(0);
      const ours = rb.drain().filter((e: { pid: number }) => e.pid === child.pid);
      expect(ours).toHaveLength(1);
      expect(ours[0].ppid).toBe(process.pid);
      expect(ours[0].comm).toBe('true');
      expect(typeof ours[0].cgroup_id).toBe('bigint');
      expect(skel.maps.execs.get(0)).toBeGreaterThanOrEqual(1n);
      rb.close();
    } finally {
      skel.close();
      rmSync(file, { force: true });
    }
  }, 60_000);
});
