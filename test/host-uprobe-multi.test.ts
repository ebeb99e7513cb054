// uprobe.multi links (src/host/link/uprobe-multi.ts, glob.ts, multi-support.ts) on the real
// kernel: test/c/multi_target.c calls corebpf_multi_{alpha,beta,gamma} and corebpf_other a
// number of times given on its command line; hand-assembled programs count per BPF cookie.
import { execFileSync } from 'node:child_process';
import { describe, expect, it, beforeAll } from 'vitest';
import { CorebpfError, NotSupportedError, ObjectFormatError } from '../src/errors.js';
import { attachProgram, type AttachableProgram } from '../src/host/attach.js';
import * as A from '../src/host/attr.js';
import type { OwnedFd } from '../src/host/fd.js';
import * as U from '../src/host/generated/uapi.js';
import { globMatch } from '../src/host/link/glob.js';
import { multiLinkMissing } from '../src/host/link/multi-support.js';
import { resolvePatternOffsets } from '../src/host/link/uprobe-multi.js';
import { resolveBinaryPath, resolveSymbolOffset } from '../src/host/uprobe.js';
// @ts-expect-error -- a plain .mjs build script without type declarations
import { buildMultiTarget } from './c/build-test-binaries.mjs';
import { missing, needs, needsEach, skipWith, unmet } from './kernel.js';
import { cookieCountingProg, countsMap, linksOfProgram, readCounts } from './link-helpers.js';

const load = (insns: Uint8Array, name: string): OwnedFd =>
  A.progLoad({ progType: U.BPF_PROG_TYPE_KPROBE, insns, license: 'GPL', name, expectedAttachType: U.BPF_TRACE_UPROBE_MULTI });
const ref = (fd: OwnedFd, name: string, section: string, expectedAttachType = U.BPF_TRACE_UPROBE_MULTI): AttachableProgram =>
  ({ fd: fd.fd, name, section, type: U.BPF_PROG_TYPE_KPROBE, expectedAttachType, attachBtfId: 0 });
const errorOf = (f: () => unknown): unknown => { try { f(); } catch (e) { return e; } return undefined; };

describe('glob patterns: libbpf\'s glob_match', () => {
  it.each([
    ['do_sys_open', 'do_sys_*', true], ['do_sys_open', 'do_sys_open', true], ['do_sys_open', 'do_sys_ope', false],
    ['do_sys_open', '*open', true], ['do_sys_open', '*', true], ['', '*', true], ['abc', 'a?c', true], ['ac', 'a?c', false],
    ['vfs_read', '*_re?d', true], ['vfs_read', 'v*s*d', true], ['vfs_write', 'v*s*d', false], ['a*b', 'a[*]b', false],
    ['xx', 'x**', true], ['abcabd', '*abd', true], ['abcabc', '*abd', false],
  ])('%j ~ %j → %j', (s, p, want) => {
    expect(globMatch(s, p)).toBe(want);
  });
});

describe('uprobe.multi targets from the ELF file', () => {
  needsEach('test_binaries');
  let target = '';
  beforeAll(() => { if (!unmet('test_binaries')) target = buildMultiTarget(); });

  it('a pattern resolves to the matching functions\' file offsets, the same as one uprobe each', () => {
    const m = resolvePatternOffsets(target, 'corebpf_multi_*');
    expect(m.map((x) => x.name).sort()).toEqual(['corebpf_multi_alpha', 'corebpf_multi_beta', 'corebpf_multi_gamma']);
    for (const x of m) expect(x.offset).toBe(resolveSymbolOffset(target, x.name));
    expect(new Set(m.map((x) => x.offset)).size).toBe(3);
    expect(resolvePatternOffsets(target, 'corebpf_?ther').map((x) => x.name)).toEqual(['corebpf_other']);
  });

  it('.dynsym serves when .symtab has no match (a stripped shared library), and undefined imports never match', (ctx) => {
    let libc: string;
    try { libc = resolveBinaryPath('libc.so.6'); } catch (e) { skipWith(ctx, `no libc.so.6 here: ${(e as Error).message}`); }
    const m = resolvePatternOffsets(libc, 'getpid');
    expect(m).toHaveLength(1);
    expect(m[0].offset).toBe(resolveSymbolOffset(libc, 'getpid'));
    // multi_target imports printf but does not define it
    expect(errorOf(() => resolvePatternOffsets(target, 'printf'))).toBeInstanceOf(ObjectFormatError);
  });

  it('no match is an ObjectFormatError naming the file and pattern', () => {
    const e = errorOf(() => resolvePatternOffsets(target, 'corebpf_nothing_*')) as ObjectFormatError;
    expect(e).toBeInstanceOf(ObjectFormatError);
    expect(e.message).toContain(target);
    expect(e.message).toContain("'corebpf_nothing_*'");
  });
});

describe('real kernel: uprobe.multi links', () => {
  needsEach('bpf', 'uprobe_multi', 'test_binaries');
  let target = '';
  beforeAll(() => { if (!unmet('bpf', 'uprobe_multi', 'test_binaries')) target = buildMultiTarget(); });
  // alpha returns 1, beta 10, gamma 100, other 1000: the printed sum says what ran
  const run = (a: number, b: number, c: number, d: number) => Number(execFileSync(target, [a, b, c, d].map(String), { encoding: 'utf8' }).trim());

  it('the feature probe agrees with the kernel', () => {
    expect(multiLinkMissing('uprobe_multi')).toBeNull();
  });

  it('SEC("uprobe.multi/PATH:corebpf_multi_*") counts the calls of the three matching functions and not the others', () => {
    using counts = countsMap();
    using prog = load(cookieCountingProg(counts.fd), 'um_pattern');
    expect(linksOfProgram(prog.fd)).toEqual([]);
    const link = attachProgram(ref(prog, 'um_pattern', `uprobe.multi/${target}:corebpf_multi_*`));
    try {
      expect(link.kind).toBe('link');
      expect(link.target).toBe(`uprobe.multi ${target}:corebpf_multi_* (3 probes)`);
      expect(linksOfProgram(prog.fd)).toHaveLength(1);
      expect(run(2, 3, 5, 7)).toBe(2 + 30 + 500 + 7000);
      expect(readCounts(counts)[0]).toBe(10n); // no cookies: all at index 0; corebpf_other's 7 not counted
      expect(run(1, 0, 0, 4)).toBe(4001);
      expect(readCounts(counts)[0]).toBe(11n);
    } finally {
      link.close();
    }
    // detached: the kernel has no link of this program left, and nothing counts any more
    expect(linksOfProgram(prog.fd)).toEqual([]);
    run(3, 3, 3, 3);
    expect(readCounts(counts)[0]).toBe(11n);
  });

  it('explicit symbols with cookies: each function counts under its own cookie', () => {
    using counts = countsMap();
    using prog = load(cookieCountingProg(counts.fd), 'um_cookies');
    using link = attachProgram(ref(prog, 'um_cookies', 'uprobe.multi'), {
      uprobeMulti: { binary: target, symbols: ['corebpf_multi_alpha', 'corebpf_multi_beta', 'corebpf_other'], cookies: [1, 2, 5] },
    });
    expect(link.target).toContain('(3 probes)');
    run(4, 6, 9, 2);
    expect(readCounts(counts)).toEqual([0n, 4n, 6n, 0n, 0n, 2n, 0n, 0n]);
  });

  it('explicit file offsets with cookies, the same as by symbol', () => {
    using counts = countsMap();
    using prog = load(cookieCountingProg(counts.fd), 'um_offsets');
    const offsets = ['corebpf_multi_gamma', 'corebpf_multi_alpha'].map((s) => resolveSymbolOffset(target, s));
    using _link = attachProgram(ref(prog, 'um_offsets', 'uprobe.multi'), { uprobeMulti: { binary: target, offsets, cookies: [7, 3n] } });
    run(5, 1, 8, 0);
    expect(readCounts(counts)).toEqual([0n, 0n, 0n, 5n, 0n, 0n, 0n, 8n]);
  });

  it('SEC("uretprobe.multi/...") sees the return values: the sum is A + 10 B + 100 C', (ctx) => {
    const rcOff = ({ x64: 80, arm64: 0 } as Record<string, number>)[process.arch];
    if (rcOff === undefined) skipWith(ctx, `the return-value register offset in struct pt_regs of ${process.arch} is not in the test's table`);
    using counts = countsMap();
    using prog = load(cookieCountingProg(counts.fd, { addOff: rcOff }), 'urm_sum');
    using link = attachProgram(ref(prog, 'urm_sum', `uretprobe.multi/${target}:corebpf_multi_*`));
    expect(link.target).toMatch(/^uretprobe\.multi /);
    expect(run(3, 4, 2, 1)).toBe(3 + 40 + 200 + 1000);
    expect(readCounts(counts)[0]).toBe(243n);
  });

  it('a pid filter: only that process is probed (this one never calls the functions)', () => {
    using counts = countsMap();
    using prog = load(cookieCountingProg(counts.fd), 'um_pid');
    using link = attachProgram(ref(prog, 'um_pid', 'uprobe.multi'), { uprobeMulti: { binary: target, pattern: 'corebpf_multi_*', pid: process.pid } });
    expect(link.target).toContain(`pid ${process.pid}`);
    run(3, 3, 3, 3);
    expect(readCounts(counts)[0]).toBe(0n);
  });

  it('a shared library by bare name (libc.so.6): its printf counted for the target process only (by comm)', (ctx) => {
    let libc: string;
    try { libc = resolveBinaryPath('libc.so.6'); } catch (e) { skipWith(ctx, `no libc.so.6 here: ${(e as Error).message}`); }
    using counts = countsMap();
    using prog = load(cookieCountingProg(counts.fd, { comm: 'multi_target' }), 'um_libc');
    using link = attachProgram(ref(prog, 'um_libc', 'uprobe.multi/libc.so.6:printf'));
    expect(link.target).toBe(`uprobe.multi ${libc}:printf (1 probe)`);
    run(1, 0, 0, 0);
    run(0, 1, 0, 0);
    expect(readCounts(counts)[0]).toBe(2n); // one printf per run
  });

  it('mistakes are typed errors that say what to do', () => {
    using counts = countsMap();
    using prog = load(cookieCountingProg(counts.fd), 'um_errors');
    const p = ref(prog, 'um_errors', 'uprobe.multi');
    expect(errorOf(() => attachProgram(p))).toBeInstanceOf(CorebpfError); // no target in the section
    expect((errorOf(() => attachProgram(p, { uprobeMulti: { binary: target, pattern: 'x*', cookies: [1] } })) as Error).message).toMatch(/pattern excludes/);
    expect((errorOf(() => attachProgram(p, { uprobeMulti: { binary: target, symbols: ['corebpf_other'], cookies: [1, 2] } })) as Error).message).toMatch(/cookies has 2 entries for 1 probes/);
    expect(errorOf(() => attachProgram(p, { uprobeMulti: { binary: target, pattern: 'nothing_*' } }))).toBeInstanceOf(ObjectFormatError);
    // a program loaded for single uprobes is not taken for uprobe.multi
    using single = A.progLoad({ progType: U.BPF_PROG_TYPE_KPROBE, insns: cookieCountingProg(counts.fd), license: 'GPL', name: 'um_single' });
    const e = errorOf(() => attachProgram(ref(single, 'um_single', 'uprobe', 0), { uprobeMulti: { binary: target, pattern: 'corebpf_*' } })) as Error;
    expect(e).toBeInstanceOf(CorebpfError);
    expect(e.message).toMatch(/BPF_TRACE_UPROBE_MULTI/);
    expect(linksOfProgram(prog.fd)).toEqual([]);
  });
});

describe('uprobe.multi on a kernel without it', () => {
  it('NotSupportedError naming the link type and Linux 6.6', (ctx) => {
    needs(ctx, 'bpf', 'test_binaries');
    if (!missing('uprobe_multi')) skipWith(ctx, 'this kernel has uprobe.multi links (the refusal is tested on kernels before 6.6)');
    const target = buildMultiTarget();
    using prog = load(new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), 'um_missing'); // r0 = 0; exit: no cookie helper (5.15+) needed
    const e = errorOf(() => attachProgram(ref(prog, 'um_missing', `uprobe.multi/${target}:corebpf_multi_*`))) as NotSupportedError;
    expect(e).toBeInstanceOf(NotSupportedError);
    expect(e.message).toMatch(/uprobe\.multi links \(BPF_TRACE_UPROBE_MULTI\)/);
    expect(e.message).toMatch(/6\.6|CONFIG_UPROBES/);
  });
});
