// `btf dump` (src/btf-dump.ts, wasm/btf_dump.c): libbpf's btf_dump in the worker writes a
// vmlinux.h. Oracle: Debian's bpftool (`btf dump file F format c`, its own libbpf) on the
// same BTF, byte for byte; then a CO-RE program compiled against our header relocates.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { btfDumpC, ObjectFormatError, readBtf, Relocator } from '../dist/index.js';
import { parseBtf } from '../src/btf/reader.js';
import { BTF_DIR, CLI, HOST_BTF, ROOT } from './helpers.js';
import { skipWith } from './kernel.js';

const relocator = new Relocator({ size: 1 });
const tmp = mkdtempSync(join(tmpdir(), 'corebpf-btf-dump-'));
afterAll(() => {
  relocator.close();
  rmSync(tmp, { recursive: true, force: true });
});

const bpftool = ['/usr/sbin/bpftool', '/usr/bin/bpftool'].find((p) => existsSync(p));
const hasXz = spawnSync('xz', ['--version']).status === 0;
// the newest kernel of every architecture (both byte orders) and the oldest amd64: each
// bpftool run is seconds, and the rest of the fixtures add no new code path
const fixtures = readdirSync(BTF_DIR).filter((f) => /^([a-z0-9]+-7\.2\.\d+|amd64-5\.10\.\d+)\.btf\.xz$/.test(f)).sort();

/** bpftool's header for raw BTF `raw` (split on `base` when given) */
function bpftoolHeader(raw: Uint8Array, base?: Uint8Array): string {
  const f = join(tmp, 'in.btf');
  writeFileSync(f, raw);
  const args = ['btf', 'dump', 'file', f, 'format', 'c'];
  if (base) {
    writeFileSync(join(tmp, 'base.btf'), base);
    args.unshift('-B', join(tmp, 'base.btf'));
  }
  return execFileSync(bpftool!, args, { maxBuffer: 1 << 28, encoding: 'utf8' });
}

/** enums libbpf >= 1.2 sizes with a mode attribute (btf_dump_emit_enum_def): 1-byte ones,
 *  and 8-byte ones on 64-bit targets unless a value needs the upper 32 bits */
function sizedEnums(raw: Uint8Array): number {
  let n = 0;
  for (const t of parseBtf(raw).types()) {
    if (t.kindName === 'ENUM' && (t.size === 1 || t.size === 8)) n++;
    if (t.kindName === 'ENUM64' && t.size === 8 && t.values.every((v) => BigInt.asUintN(64, v.value) >> 32n === 0n)) n++;
  }
  return n;
}

/** Ours against bpftool 7.1's (libbpf 1.1): the same text but for the mode attributes newer
 *  libbpf writes on enums whose size is not an int's, each of which must be one of those. */
function expectBpftoolHeader(ours: string, raw: Uint8Array, base?: Uint8Array): void {
  const theirs = bpftoolHeader(raw, base);
  const mode = /^(\t*)\} __attribute__\(\(mode\((byte|word)\)\)\);$/gm;
  const modes = [...ours.matchAll(mode)].length;
  expect(ours.replace(mode, '$1};')).toBe(theirs);
  if (!base) expect(modes).toBe(sizedEnums(raw));
}

describe('btf dump --format c equals bpftool\'s header', () => {
  it.each(fixtures)('%s', async (name, ctx) => {
    if (!bpftool) skipWith(ctx, 'bpftool is not installed (apt-get install bpftool)');
    if (!hasXz) skipWith(ctx, 'xz is not installed');
    const raw = readBtf(join(BTF_DIR, name));
    const ours = await btfDumpC(raw, { relocator });
    expect(ours.length).toBeGreaterThan(1 << 20);
    expectBpftoolHeader(ours, raw);
  });

  it('this machine\'s kernel BTF', async (ctx) => {
    if (!bpftool) skipWith(ctx, 'bpftool is not installed (apt-get install bpftool)');
    if (!existsSync(HOST_BTF)) skipWith(ctx, `no ${HOST_BTF}`);
    expectBpftoolHeader(await btfDumpC(HOST_BTF, { relocator }), readBtf(HOST_BTF));
  });

  it('a module\'s split BTF on its base (ext4 on 6.1): base and module types, as bpftool -B', async (ctx) => {
    if (!bpftool) skipWith(ctx, 'bpftool is not installed (apt-get install bpftool)');
    if (!hasXz) skipWith(ctx, 'xz is not installed');
    const base = join(BTF_DIR, 'amd64-6.1.176.btf.xz');
    const mod = join(BTF_DIR, 'amd64-6.1.176.mod-ext4.btf.xz');
    const ours = await btfDumpC(mod, { base, relocator });
    expect(ours).toMatch(/^struct ext4_inode_info \{$/m);
    expect(ours).toMatch(/^struct task_struct \{$/m);
    expectBpftoolHeader(ours, readBtf(mod), readBtf(base));
    // without its base the module's BTF does not stand: typed error naming the input
    await expect(btfDumpC(mod, { relocator })).rejects.toBeInstanceOf(ObjectFormatError);
  });

  it('an ELF\'s .BTF section is dumped like the raw BTF; garbage is an ObjectFormatError', async () => {
    const obj = join(ROOT, 'testdata/progs/core_basic.bpf.o');
    const header = await btfDumpC(obj, { relocator });
    const fromSection = await btfDumpC(readBtf(obj), { relocator });
    expect(header).toBe(fromSection);
    const types = [...parseBtf(readBtf(obj)).types()].filter((t) => t.name && t.kindName === 'STRUCT');
    expect(types.length).toBeGreaterThan(0);
    expect(header.startsWith('#ifndef __VMLINUX_H__\n')).toBe(true);
    for (const t of types) expect(header).toContain(`struct ${t.name} {`);
    await expect(btfDumpC(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), { relocator })).rejects.toThrow(ObjectFormatError);
  });
});

describe('a CO-RE program compiled against the header', () => {
  it('compiles with the pinned clang and relocates against the same kernel with every relocation resolved', async (ctx) => {
    const clang = spawnSync('clang-16', ['--version']).status === 0 ? 'clang-16' : null;
    const libbpfSrc = join(ROOT, '.deps/src/libbpf/src');
    if (!clang) skipWith(ctx, 'clang-16 is not installed');
    if (!existsSync(join(libbpfSrc, 'bpf_helpers.h'))) skipWith(ctx, 'the pinned libbpf source is not fetched (scripts/fetch-sources.sh libbpf)');
    if (!hasXz) skipWith(ctx, 'xz is not installed');
    const btf = join(BTF_DIR, 'amd64-6.1.176.btf.xz');
    // through the CLI, as a user would
    const r = spawnSync(process.execPath, [CLI, 'btf', 'dump', btf, '-o', join(tmp, 'vmlinux.h')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    writeFileSync(join(tmp, 'prog.bpf.c'), `#include "vmlinux.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>
char LICENSE[] SEC("license") = "GPL";
u32 last_ppid = 0;
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	last_ppid = BPF_CORE_READ(p, real_parent, tgid) + bprm->argc;
	return 0;
}
`);
    execFileSync(clang, ['-target', 'bpfel', '-O2', '-g', '-D__TARGET_ARCH_x86', '-I', tmp, '-I', libbpfSrc, '-c', join(tmp, 'prog.bpf.c'), '-o', join(tmp, 'prog.bpf.o')]);
    const out = await relocator.relocate(join(tmp, 'prog.bpf.o'), { btf, kernelRelease: '6.1.0-50-cloud-amd64' });
    expect(out.relocations.length).toBeGreaterThanOrEqual(3);
    expect(out.failed).toEqual([]);
    expect(out.relocations.map((x) => x.access)).toEqual(expect.arrayContaining(['task_struct.real_parent', 'task_struct.tgid']));
  });
});
