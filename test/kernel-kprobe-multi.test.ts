// kprobe.multi / kretprobe.multi / kprobe.session links (src/host/link/kprobe-multi.ts) on the
// real kernel. The hooks are the getpid(2) syscall functions (__<arch>_sys_getpid): the
// helper test/c/getpid_loop.c ("corebpf_getpid N") makes exactly N getpid calls, and the
// hand-assembled programs count per BPF cookie only in tasks of that comm. Kernels without
// the link type (or built without CONFIG_FPROBE, like the dev machine's) get the
// NotSupportedError tests instead; the counting tests run in the lab (6.1, 6.12, 7.x).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CorebpfError, NotSupportedError } from '../src/errors.js';
import { attachProgram, type AttachableProgram } from '../src/host/attach.js';
import * as A from '../src/host/attr.js';
import type { OwnedFd } from '../src/host/fd.js';
import * as U from '../src/host/generated/uapi.js';
import { multiLinkMissing } from '../src/host/link/multi-support.js';
import { resolveKprobePattern } from '../src/host/link/kprobe-multi.js';
import { tracefsRoot } from '../src/host/tracefs.js';
// @ts-expect-error -- a plain .mjs build script without type declarations
import { buildGetpidLoop } from './c/build-test-binaries.mjs';
import { missing, needs, skipWith, syscallPrefix } from './kernel.js';
import { cookieCountingProg, countsMap, linksOfProgram, readCounts } from './link-helpers.js';

const COMM = 'corebpf_getpid';
// ftrace lists each address under one name: on x86-64 the getpid wrapper may appear as its
// alias __ia32_sys_getpid, so patterns match any wrapper prefix (only the native one runs)
const GETPID_GLOB = '__*_sys_getpid';
const getpids = (n: number) => { execFileSync(buildGetpidLoop(), [String(n)]); };
const load = (insns: Uint8Array, name: string, attachType: number): OwnedFd =>
  A.progLoad({ progType: U.BPF_PROG_TYPE_KPROBE, insns, license: 'GPL', name, expectedAttachType: attachType });
const ref = (fd: OwnedFd, name: string, section: string, attachType: number): AttachableProgram =>
  ({ fd: fd.fd, name, section, type: U.BPF_PROG_TYPE_KPROBE, expectedAttachType: attachType, attachBtfId: 0 });
// r0 = 0; exit: loads on every kernel (the refusal tests must not need bpf_get_attach_cookie, 5.15+)
const RET0 = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
const errorOf = (f: () => unknown): unknown => { try { f(); } catch (e) { return e; } return undefined; };

function prefixOrSkip(ctx: Parameters<typeof skipWith>[0]): string {
  const p = syscallPrefix();
  if (!p) skipWith(ctx, `no syscall wrapper prefix known for ${process.arch}`);
  return p;
}

describe('kprobe.multi patterns resolve like libbpf', () => {
  it('the pattern\'s addresses are those of the matching functions ftrace can hook', (ctx) => {
    needs(ctx, 'bpf');
    let root: string;
    try { root = tracefsRoot({ mount: false }); } catch (e) { skipWith(ctx, (e as Error).message); }
    const lines = (f: string) => readFileSync(f, 'latin1').split('\n').map((l) => l.split(/\s+/));
    let want: bigint[];
    // independently of globMatch (a regex for the glob): 6.5+ lists ftrace's own addresses (past
    // an ENDBR, not the symbol's), older kernels only names, whose kallsyms addresses libbpf takes
    try {
      want = lines(`${root}/available_filter_functions_addrs`).filter((w) => /^vfs_rea.$/.test(w[1] ?? '')).map((w) => BigInt(`0x${w[0]}`));
    } catch {
      let names: Set<string>;
      try { names = new Set(lines(`${root}/available_filter_functions`).map((w) => w[0]).filter((n) => /^vfs_rea.$/.test(n))); } catch (e) { skipWith(ctx, `${root}/available_filter_functions is not readable here: ${(e as Error).message}`); }
      want = lines('/proc/kallsyms').filter((w) => names.has(w[2])).map((w) => BigInt(`0x${w[0]}`));
    }
    if (!want.length) skipWith(ctx, 'ftrace lists no vfs_rea? function here');
    expect(resolveKprobePattern('vfs_rea?').slice().sort()).toEqual(want.sort());
    expect(() => resolveKprobePattern('corebpf_no_such_function_*')).toThrow(/no kernel function ftrace can hook matches 'corebpf_no_such_function_\*'/);
  });
});

describe('real kernel: kprobe.multi links', () => {
  it('SEC("kprobe.multi/__*_sys_getpid") counts every getpid(2) of the trigger; detached, nothing is left', (ctx) => {
    needs(ctx, 'bpf', 'kprobe_multi', 'test_binaries');
    using counts = countsMap();
    using prog = load(cookieCountingProg(counts.fd, { comm: COMM }), 'km_pattern', U.BPF_TRACE_KPROBE_MULTI);
    const link = attachProgram(ref(prog, 'km_pattern', `kprobe.multi/${GETPID_GLOB}`, U.BPF_TRACE_KPROBE_MULTI));
    try {
      expect(link.target).toMatch(new RegExp(`^kprobe\\.multi ${GETPID_GLOB.replace(/\*/g, '\\*')} \\(\\d+ functions?\\)$`));
      expect(linksOfProgram(prog.fd)).toHaveLength(1);
      getpids(7);
      expect(readCounts(counts)[0]).toBe(7n);
      getpids(5);
      expect(readCounts(counts)[0]).toBe(12n);
    } finally {
      link.close();
    }
    expect(linksOfProgram(prog.fd)).toEqual([]);
    getpids(3);
    expect(readCounts(counts)[0]).toBe(12n);
  });

  it('explicit symbols with cookies: getpid counts under its cookie, getppid (not called) under none', (ctx) => {
    needs(ctx, 'bpf', 'kprobe_multi', 'test_binaries');
    const prefix = prefixOrSkip(ctx);
    using counts = countsMap();
    using prog = load(cookieCountingProg(counts.fd, { comm: COMM }), 'km_cookies', U.BPF_TRACE_KPROBE_MULTI);
    using link = attachProgram(ref(prog, 'km_cookies', 'kprobe.multi', U.BPF_TRACE_KPROBE_MULTI),
      { kprobeMulti: { symbols: [`${prefix}getppid`, `${prefix}getpid`], cookies: [4, 6] } });
    expect(link.target).toContain('(2 functions)');
    getpids(9);
    expect(readCounts(counts)).toEqual([0n, 0n, 0n, 0n, 0n, 0n, 9n, 0n]);
  });

  it('SEC("kretprobe.multi/...") runs on return: one count per call', (ctx) => {
    needs(ctx, 'bpf', 'kprobe_multi', 'test_binaries');
    using counts = countsMap();
    using prog = load(cookieCountingProg(counts.fd, { comm: COMM }), 'krm_count', U.BPF_TRACE_KPROBE_MULTI);
    using link = attachProgram(ref(prog, 'krm_count', `kretprobe.multi/${GETPID_GLOB}`, U.BPF_TRACE_KPROBE_MULTI));
    expect(link.target).toMatch(/^kretprobe\.multi /);
    getpids(4);
    expect(readCounts(counts)[0]).toBe(4n);
  });

  it('SEC("kprobe.session/...") runs at entry and, when the entry returns 0, at return: two counts per call', (ctx) => {
    needs(ctx, 'bpf', 'kprobe_session', 'test_binaries');
    using counts = countsMap();
    using prog = load(cookieCountingProg(counts.fd, { comm: COMM }), 'ks_count', U.BPF_TRACE_KPROBE_SESSION);
    using link = attachProgram(ref(prog, 'ks_count', `kprobe.session/${GETPID_GLOB}`, U.BPF_TRACE_KPROBE_SESSION));
    expect(link.target).toMatch(/^kprobe\.session /);
    getpids(6);
    expect(readCounts(counts)[0]).toBe(12n);
  });

  it('a program loaded for another attach type is refused before the kernel is asked', (ctx) => {
    needs(ctx, 'bpf');
    using prog = load(RET0, 'km_wrong', 0);
    const e = errorOf(() => attachProgram(ref(prog, 'km_wrong', 'kprobe', 0), { kprobeMulti: { pattern: 'vfs_read' } })) as Error;
    expect(e).toBeInstanceOf(CorebpfError);
    expect(e.message).toMatch(/BPF_TRACE_KPROBE_MULTI/);
  });
});

describe('kernels without the link types', () => {
  it('kprobe.multi: NotSupportedError naming the link type and what provides it', (ctx) => {
    needs(ctx, 'bpf');
    if (!missing('kprobe_multi')) skipWith(ctx, 'this kernel has kprobe.multi links');
    const prefix = prefixOrSkip(ctx);
    expect(multiLinkMissing('kprobe_multi')).toBeInstanceOf(NotSupportedError);
    using prog = load(RET0, 'km_missing', U.BPF_TRACE_KPROBE_MULTI);
    for (const opts of [undefined, { kprobeMulti: { symbols: [`${prefix}getpid`] } }]) {
      const e = errorOf(() => attachProgram(ref(prog, 'km_missing', `kprobe.multi/${prefix}getpid`, U.BPF_TRACE_KPROBE_MULTI), opts)) as NotSupportedError;
      expect(e).toBeInstanceOf(NotSupportedError);
      expect(e.message).toMatch(/kprobe\.multi links \(BPF_TRACE_KPROBE_MULTI\)/);
      expect(e.message).toMatch(/Linux 5\.18\+|CONFIG_FPROBE/);
    }
    expect(linksOfProgram(prog.fd)).toEqual([]);
  });

  it('kprobe.session: NotSupportedError naming the link type and what provides it', (ctx) => {
    needs(ctx, 'bpf');
    if (!missing('kprobe_session')) skipWith(ctx, 'this kernel has kprobe.session links');
    const prefix = prefixOrSkip(ctx);
    using prog = load(RET0, 'ks_missing', U.BPF_TRACE_KPROBE_SESSION);
    const e = errorOf(() => attachProgram(ref(prog, 'ks_missing', `kprobe.session/${prefix}getpid`, U.BPF_TRACE_KPROBE_SESSION))) as NotSupportedError;
    expect(e).toBeInstanceOf(NotSupportedError);
    expect(e.message).toMatch(/kprobe\.session links \(BPF_TRACE_KPROBE_SESSION\)/);
    expect(e.message).toMatch(/Linux 6\.10\+|CONFIG_FPROBE/);
  });
});
