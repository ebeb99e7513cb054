// USDT (src/host/usdt/*.ts) with libbpf's own BPF side (usdt.bpf.h, BPF_USDT): the
// notes and argument specs of a binary built with sys/sdt.h (test/c/usdt_target.c), and on
// the real kernel the sums testdata/progs/usdt.bpf.c adds up equal what the binary fired,
// for int, long and pointer arguments, with and without a semaphore.
import { release } from 'node:os';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BpfObject, CorebpfError, Relocator } from '../dist/index.js';
import { NotSupportedError as SrcNotSupportedError, ObjectFormatError } from '../src/errors.js';
import { BpfObject as SrcBpfObject } from '../src/host/object.js';
import { getSyscalls, setSyscalls, syscallError } from '../src/host/syscall.js';
import * as U from '../src/host/generated/uapi.js';
import { openElf } from '../src/host/uprobe.js';
import { encodeUsdtSpec, parseUsdtSpec, USDT_ARG_CONST, USDT_ARG_REG, USDT_ARG_REG_DEREF } from '../src/host/usdt/args.js';
import { usdtNotes, usdtTargets } from '../src/host/usdt/notes.js';
// @ts-expect-error -- a plain .mjs build script without type declarations
import { buildUsdtTarget } from './c/build-test-binaries.mjs';
import { helperMissing, needs, needsEach, skipWith, unmet } from './kernel.js';
import { linksOfProgram } from './link-helpers.js';

const PROGS = new URL('../testdata/progs/', import.meta.url).pathname;
// built per architecture: without BPF cookies usdt.bpf.h reads the probe's address (PT_REGS_IP)
const USDT_OBJ = `${PROGS}usdt.${({ x64: 'x86', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? 'x86'}.bpf.o`;
const EM_X86_64 = 62, EM_AARCH64 = 183;
let target: string | null = null;
let whyNoTarget = '';
function usdtTarget(): string | null {
  if (target || whyNoTarget) return target;
  const un = unmet('test_binaries');
  if (un) { whyNoTarget = un; return null; }
  target = buildUsdtTarget();
  if (!target) whyNoTarget = 'sys/sdt.h is not installed for the compiler (apt-get install systemtap-sdt-dev) and build/test/usdt_target is not prebuilt';
  return target;
}

describe('USDT argument specs (libbpf usdt.c parse_usdt_arg)', () => {
  it('x86-64: registers of every width, memory with and without offset, constants; sizes and signs', () => {
    const s = parseUsdtSpec('-4@%ebx -8@%rcx 8@%rax 1@%sil 2@-20(%rbp) -8@(%rsp) 4@$-9 8@$42 -2@%r10w', EM_X86_64, 7n);
    expect(s.cookie).toBe(7n);
    expect(s.args.map((a) => [a.type, a.regOff, a.signed, a.bitshift, a.valOff])).toEqual([
      [USDT_ARG_REG, 40, true, 32, 0n], [USDT_ARG_REG, 88, true, 0, 0n], [USDT_ARG_REG, 80, false, 0, 0n],
      [USDT_ARG_REG, 104, false, 56, 0n], [USDT_ARG_REG_DEREF, 32, false, 48, BigInt.asUintN(64, -20n)],
      [USDT_ARG_REG_DEREF, 152, true, 0, 0n], [USDT_ARG_CONST, 0, false, 32, BigInt.asUintN(64, -9n)],
      [USDT_ARG_CONST, 0, false, 0, 42n], [USDT_ARG_REG, 56, true, 48, 0n],
    ]);
    expect(parseUsdtSpec('', EM_X86_64).args).toEqual([]);
  });

  it('arm64: xN, sp, [reg, off], [reg], constants', () => {
    const s = parseUsdtSpec('-4@x0 8@[sp, 96] -8@[x29] 4@5 8@sp', EM_AARCH64);
    expect(s.args.map((a) => [a.type, a.regOff, a.signed, a.bitshift, a.valOff])).toEqual([
      [USDT_ARG_REG, 0, true, 32, 0n], [USDT_ARG_REG_DEREF, 248, false, 0, 96n], [USDT_ARG_REG_DEREF, 29 * 8, true, 0, 0n],
      [USDT_ARG_CONST, 0, false, 32, 5n], [USDT_ARG_REG, 248, false, 0, 0n],
    ]);
  });

  it('bad specs are ObjectFormatErrors naming the argument', () => {
    expect(() => parseUsdtSpec('4@%xmm0', EM_X86_64)).toThrow(/unrecognized x86-64 register 'xmm0'/);
    expect(() => parseUsdtSpec('3@%eax', EM_X86_64)).toThrow(/unsupported size 3/);
    expect(() => parseUsdtSpec('-4@%eax nonsense', EM_X86_64)).toThrow(ObjectFormatError);
    expect(() => parseUsdtSpec(Array(13).fill('8@%rax').join(' '), EM_X86_64)).toThrow(/too many USDT arguments/);
  });

  it('struct __bpf_usdt_spec bytes: args at 16-byte strides, the cookie at 192, arg_cnt at 200', () => {
    const b = encodeUsdtSpec(parseUsdtSpec('-4@%ebx 2@-20(%rbp)', EM_X86_64, 0x1122334455n));
    const dv = new DataView(b.buffer);
    expect(b.byteLength).toBe(208);
    expect([dv.getBigUint64(0, true), dv.getUint32(8, true), dv.getInt16(12, true), b[14], b[15]]).toEqual([0n, USDT_ARG_REG, 40, 1, 32]);
    expect([dv.getBigInt64(16, true), dv.getUint32(24, true), dv.getInt16(28, true), b[30], b[31]]).toEqual([-20n, USDT_ARG_REG_DEREF, 32, 0, 48]);
    expect(dv.getBigUint64(192, true)).toBe(0x1122334455n);
    expect(dv.getInt16(200, true)).toBe(2);
  });
});

describe('USDT notes of a sys/sdt.h binary', () => {
  it('both probes, their argument specs, the semaphore as a file offset in a writable segment', (ctx) => {
    const t = usdtTarget();
    if (!t) skipWith(ctx, whyNoTarget);
    const elf = openElf(t);
    const notes = usdtNotes(elf);
    expect(notes.map((n) => `${n.provider}:${n.name}`).sort()).toEqual(['corebpf:plain', 'corebpf:sema']);
    // independently, from binutils' view of the notes where readelf exists
    let readelf = '';
    try { readelf = execFileSync('readelf', ['-n', t], { encoding: 'utf8' }); } catch { /* no binutils */ }
    for (const n of notes) {
      expect(n.args.split(' ')).toHaveLength(n.name === 'plain' ? 3 : 2);
      if (readelf) expect(readelf).toContain(`Arguments: ${n.args}`);
      if (readelf) expect(readelf).toMatch(new RegExp(`Location: 0x0*${n.locAddr.toString(16)}, Base: 0x0*${n.baseAddr.toString(16)}, Semaphore: 0x0*${n.semaAddr.toString(16)}`));
    }
    const [plain] = usdtTargets(elf, 'corebpf', 'plain', true);
    const [sema] = usdtTargets(elf, 'corebpf', 'sema', true);
    expect(plain.semaOff).toBe(0n);
    expect(sema.semaOff).toBeGreaterThan(0n);
    expect(sema.note.semaAddr).toBeGreaterThan(0n);
    expect(usdtTargets(elf, 'corebpf', 'nope', true)).toEqual([]);
    expect(() => usdtTargets(elf, 'corebpf', 'sema', false)).toThrow(/semaphore/);
  });
});

// BPF cookies are in every kernel from 5.15: the helper probe decides only below that (in the
// lab's 6.1 it once answered "missing" although the attach then worked)
const COOKIE_MISSING = () => {
  const m = /^(\d+)\.(\d+)/.exec(release());
  const before515 = m ? Number(m[1]) < 5 || (Number(m[1]) === 5 && Number(m[2]) < 15) : false;
  return before515 ? helperMissing(U.BPF_FUNC_get_attach_cookie, 'bpf_get_attach_cookie', '5.15') ?? 'Linux before 5.15 has no BPF cookies' : null;
};

describe('real kernel: USDT through libbpf\'s usdt.bpf.h', () => {
  needsEach('bpf', 'uprobe', 'btf');
  beforeEach((ctx) => { const why = COOKIE_MISSING(); if (why) skipWith(ctx, why); });
  const relocator = new Relocator({ size: 1 });
  afterAll(() => relocator.close());
  type Out = { pa: bigint; pb: bigint; pp: bigint; fired: bigint; sa: bigint; sb: bigint };
  const run = (n: number): Out => {
    const [pa, pb, pp, fired, sa, sb] = execFileSync(target!, [String(n)], { encoding: 'utf8' }).trim().split(' ').map((x) => BigInt(x));
    return { pa, pb, pp, fired, sa, sb };
  };
  beforeAll(() => { if (!unmet('bpf', 'uprobe', 'btf')) usdtTarget(); });

  it('corebpf:plain (no semaphore): the int, long and pointer sums, the hit count, the USDT cookie and argument count', async (ctx) => {
    if (!usdtTarget()) skipWith(ctx, whyNoTarget);
    const obj = await (await BpfObject.open(USDT_OBJ, { relocator })).load();
    try {
      const prog = obj.program('usdt_plain');
      expect(linksOfProgram(prog.fd)).toEqual([]);
      const link = await prog.attach({ usdt: { binary: target!, provider: 'corebpf', name: 'plain', cookie: 0xc0ffeen } });
      expect(link.target).toBe(`usdt ${target}:corebpf:plain (1 site)`);
      // libbpf loads SEC("usdt") programs for uprobe.multi where the kernel has it (6.6+): one link; else one uprobe per site
      expect(link.kind).toBe(prog.expectedAttachType === U.BPF_TRACE_UPROBE_MULTI ? 'link' : 'perf_event');
      expect(linksOfProgram(prog.fd).length).toBeGreaterThan(0);
      const out = run(9);
      expect(out.pa).toBe(-45n);
      expect(obj.getGlobal('plain_hits')).toBe(9n);
      expect(obj.getGlobal('plain_a')).toBe(out.pa); // signed 4-byte: sign-extended
      expect(obj.getGlobal('plain_b')).toBe(out.pb);
      expect(obj.getGlobal('plain_p')).toBe(out.pp);
      expect(obj.getGlobal('plain_cookie')).toBe(0xc0ffeen);
      expect(obj.getGlobal('plain_argc')).toBe(3n);
      link.close();
      expect(linksOfProgram(prog.fd)).toEqual([]);
      run(4);
      expect(obj.getGlobal('plain_hits')).toBe(9n);
    } finally {
      obj.close();
    }
  });

  it('corebpf:sema: the semaphore is raised only while attached, and the sums match what fired', async (ctx) => {
    if (!usdtTarget()) skipWith(ctx, whyNoTarget);
    const obj = await (await BpfObject.open(USDT_OBJ, { relocator })).load();
    try {
      expect(run(5).fired).toBe(0n); // nobody attached: the probe's guard stays off
      const prog = obj.program('usdt_sema');
      const link = await prog.attach({ usdt: { binary: target!, provider: 'corebpf', name: 'sema' } });
      const out = run(6);
      expect(out.fired).toBe(6n);
      expect(out.sa).toBe(63n);
      expect(obj.getGlobal('sema_hits')).toBe(6n);
      expect(obj.getGlobal('sema_a')).toBe(out.sa);
      expect(obj.getGlobal('sema_b')).toBe(out.sb); // negative 8-byte values
      expect(out.sb).toBe(-21n * 4294967296n);
      link.close();
      expect(run(3).fired).toBe(0n); // detached: the kernel dropped its reference
      expect(linksOfProgram(prog.fd)).toEqual([]);
    } finally {
      obj.close();
    }
  });

  it('both programs at once share the specs map (distinct spec ids); wrong targets are typed errors', async (ctx) => {
    if (!usdtTarget()) skipWith(ctx, whyNoTarget);
    const obj = await (await BpfObject.open(USDT_OBJ, { relocator })).load();
    try {
      const a = await obj.program('usdt_plain').attach({ usdt: { binary: target!, provider: 'corebpf', name: 'plain', cookie: 5 } });
      const b = await obj.program('usdt_sema').attach({ usdt: { binary: target!, provider: 'corebpf', name: 'sema' } });
      const out = run(4);
      expect([obj.getGlobal('plain_hits'), obj.getGlobal('sema_hits')]).toEqual([4n, 4n]);
      expect([obj.getGlobal('plain_b'), obj.getGlobal('sema_b'), obj.getGlobal('plain_cookie')]).toEqual([out.pb, out.sb, 5n]);
      a.close();
      b.close();
      await expect(obj.program('usdt_plain').attach({ usdt: { binary: target!, provider: 'corebpf', name: 'nope' } })).rejects.toThrow(CorebpfError);
      await expect(obj.program('usdt_plain').attach({ usdt: { binary: '/bin/true', provider: 'corebpf', name: 'plain' } })).rejects.toThrow(/no USDT notes section|no USDT probe/);
      await expect(obj.program('usdt_plain').attach()).rejects.toThrow(/usdt: \{ binary, provider, name \}/);
    } finally {
      obj.close();
    }
  });
});

describe('USDT without BPF cookies: libbpf\'s IP-to-spec-id map', () => {
  needsEach('bpf', 'uprobe', 'btf');
  const relocator = new Relocator({ size: 1 });
  afterAll(() => relocator.close());
  afterEach(() => setSyscalls(null));
  let exec: string | null = null;
  beforeAll(() => { if (!unmet('bpf', 'uprobe', 'btf') && usdtTarget()) exec = buildUsdtTarget('gcc', undefined, { pie: false }); });
  /** this kernel as one before 5.15 looks to the attach code: libbpf's cookie probe (a
   *  two-instruction kprobe program calling bpf_get_attach_cookie) fails; everything else is
   *  the real kernel. A kernel before 5.15 answers so itself. */
  const withoutCookies = (): void => {
    if (COOKIE_MISSING()) return;
    const real = getSyscalls();
    setSyscalls({
      ...real,
      bpf(cmd, attr) {
        const b = attr as Uint8Array;
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        if (cmd === U.BPF_PROG_LOAD && dv.getUint32(0, true) === U.BPF_PROG_TYPE_KPROBE && dv.getUint32(4, true) === 2) throw syscallError('BPF_PROG_LOAD', U.ERRNO.EINVAL);
        return real.bpf(cmd, attr);
      },
    });
  };
  // loaded as libbpf loads it there: LINUX_HAS_BPF_COOKIE is 0 (usdt.bpf.h looks spec ids up by
  // IP), and no uprobe.multi (6.6+): a uprobe per site
  const open = async () => (await SrcBpfObject.open(USDT_OBJ, { relocator, features: { bpf_cookie: false, uprobe_multi_link: false } })).load();
  const ipEntries = (obj: SrcBpfObject): bigint[] => [...obj.map('__bpf_usdt_ip_to_spec_id').keys()].map((k) => BigInt(k as number | bigint));

  it('an executable (ET_EXEC): its sites\' own addresses, no pid needed; sums, hits and the USDT cookie as with cookies', async (ctx) => {
    if (!exec) skipWith(ctx, whyNoTarget || 'the -no-pie USDT target could not be built');
    const obj = await open();
    try {
      withoutCookies();
      const link = await obj.program('usdt_plain').attach({ usdt: { binary: exec!, provider: 'corebpf', name: 'plain', cookie: 0xc0ffeen } });
      expect(link.kind).toBe('perf_event');
      const site = usdtTargets(openElf(exec!), 'corebpf', 'plain', true)[0]!;
      expect(ipEntries(obj)).toEqual([site.absIp]);
      const [pa, pb, pp] = execFileSync(exec!, ['9'], { encoding: 'utf8' }).trim().split(' ').map((x) => BigInt(x));
      expect(obj.getGlobal('plain_hits')).toBe(9n);
      expect([obj.getGlobal('plain_a'), obj.getGlobal('plain_b'), obj.getGlobal('plain_p')]).toEqual([pa, pb, pp]);
      expect(obj.getGlobal('plain_cookie')).toBe(0xc0ffeen);
      expect(obj.getGlobal('plain_argc')).toBe(3n);
      link.close();
      expect(ipEntries(obj)).toEqual([]);
      execFileSync(exec!, ['4']);
      expect(obj.getGlobal('plain_hits')).toBe(9n);
    } finally {
      obj.close();
    }
  });

  it('a position-independent executable: refused without a pid (NotSupportedError naming cookies and 5.15), placed through /proc/PID/maps with one', async (ctx) => {
    if (!usdtTarget()) skipWith(ctx, whyNoTarget);
    const obj = await open();
    try {
      withoutCookies();
      const e = await obj.program('usdt_plain').attach({ usdt: { binary: target!, provider: 'corebpf', name: 'plain' } }).catch((x: unknown) => x) as Error;
      expect(e).toBeInstanceOf(SrcNotSupportedError);
      expect(e.message).toMatch(/needs a pid .*BPF cookies \(before 5\.15\)/);
      expect(ipEntries(obj)).toEqual([]);
      // the target waits for a line before firing: attach to its pid first
      const child = spawn(target!, ['5', 'wait'], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      for (let i = 0; i < 200 && !readFileSync(`/proc/${child.pid}/maps`, 'utf8').includes(target!); i++) await new Promise((r) => setTimeout(r, 10));
      const link = await obj.program('usdt_plain').attach({ usdt: { binary: target!, provider: 'corebpf', name: 'plain', pid: child.pid } });
      const site = usdtTargets(openElf(target!), 'corebpf', 'plain', true)[0]!;
      const [ip] = ipEntries(obj);
      // the site's file offset, where the process mapped the file
      expect(ip! % 4096n).toBe(site.relIp % 4096n);
      expect(ip).not.toBe(site.absIp);
      child.stdin.end('go\n');
      expect(await exited).toBe(0);
      const [pa, pb] = out.trim().split(' ').map((x) => BigInt(x));
      expect(obj.getGlobal('plain_hits')).toBe(5n);
      expect([obj.getGlobal('plain_a'), obj.getGlobal('plain_b')]).toEqual([pa, pb]);
      link.close();
      expect(ipEntries(obj)).toEqual([]);
    } finally {
      obj.close();
    }
  });
});
