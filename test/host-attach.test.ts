// Attaching programs (src/host/attach.ts, link.ts, sections.ts, uprobe.ts, tracefs.ts).
// The section-name and ELF tests need no privileges; the rest run on the real kernel with
// hand-assembled programs and skip (printing why) only when not root / bpf() answers EPERM.
import { execFileSync, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorebpfError, NotSupportedError, ObjectFormatError, PermissionError, SyscallError } from '../src/errors.js';
import { attachProgram, type AttachableProgram, type AttachOptions } from '../src/host/attach.js';
import { checkKernelSupport } from '../src/host/kernel-support.js';
import * as A from '../src/host/attr.js';
import type { OwnedFd } from '../src/host/fd.js';
import * as U from '../src/host/generated/uapi.js';
import { openPinnedLink, type Link } from '../src/host/link.js';
import { findSectionDef, parseSection, SECTION_DEFS } from '../src/host/sections.js';
import { getSyscalls } from '../src/host/syscall.js';
import { listProbeEvents } from '../src/host/tracefs.js';
import { ElfFile, resolveBinaryPath, resolveSymbolOffset } from '../src/host/uprobe.js';
// @ts-expect-error -- a plain .mjs build script without type declarations
import { buildGetpidLoop, buildUprobeTarget } from './c/build-test-binaries.mjs';
import { missing, needs, needsEach, skipWith, unmet } from './kernel.js';
import { R0, R1, R2, R6, R10, add, asm, atomicAdd, call, exit, jeq, jne, jneR, label, ld64, ldMap, ldxDW, mov, movr, stDW, stW, type Insn } from './asm.js';


// --- a tiny assembler with labels ------------------------------------------------------------

/** Continue only when bpf_get_current_comm() is `comm` (compared as two u64 words at r10-16). */
function commFilter(comm: string, out: string): Insn[] {
  const b = Buffer.alloc(16);
  b.write(comm.slice(0, 15), 'latin1');
  return [
    // zeroed first: older kernels' bpf_get_current_comm() copies with strscpy and leaves the
    // bytes after the NUL as they were, and the compare covers all 16
    stDW(R10, -16, 0), stDW(R10, -8, 0),
    movr(R1, R10), add(R1, -16), mov(R2, 16), call(U.BPF_FUNC_get_current_comm),
    ldxDW(R1, R10, -16), ...ld64(R2, b.readBigUInt64LE(0)), jneR(R1, R2, out),
    ldxDW(R1, R10, -8), ...ld64(R2, b.readBigUInt64LE(8)), jneR(R1, R2, out),
  ];
}

interface CountOpts {
  /** Count only this thread (bpf_get_current_pid_tgid() == value). */
  pidTgid?: bigint;
  /** Count only tasks with this comm (bpf_get_current_comm). */
  comm?: string;
  /** Count only when the u64 at ctx+8 equals this (raw_tp sys_enter: the syscall number). */
  arg1?: number;
  /** Add the u64 at ctx+addOff instead of 1 (uretprobe: the return value register). */
  addOff?: number;
  /** The program's return value. */
  ret?: number;
}
/** counter[0] += 1 (or += ctx[addOff]) when the filters match; returns `ret`. */
function countingProg(counterFd: number, o: CountOpts = {}): Uint8Array {
  return asm([
    movr(R6, R1),
    ...(o.pidTgid !== undefined ? [call(U.BPF_FUNC_get_current_pid_tgid), ...ld64(R2, o.pidTgid), jneR(R0, R2, 'out')] : []),
    ...(o.comm !== undefined ? commFilter(o.comm, 'out') : []),
    ...(o.arg1 !== undefined ? [ldxDW(R2, R6, 8), jne(R2, o.arg1, 'out')] : []),
    stW(R10, -4, 0), movr(R2, R10), add(R2, -4), ...ldMap(R1, counterFd), call(U.BPF_FUNC_map_lookup_elem),
    jeq(R0, 0, 'out'),
    ...(o.addOff !== undefined ? [ldxDW(R1, R6, o.addOff)] : [mov(R1, 1)]),
    atomicAdd(R0, 0, R1),
    label('out'), mov(R0, o.ret ?? 0), exit(),
  ]);
}

const u32 = (v: number) => { const b = A.bytes(4); new DataView(b.buffer).setUint32(0, v, true); return b; };
function readCounter(m: OwnedFd): bigint {
  const v = A.bytes(8);
  A.mapLookupElem(m.fd, u32(0), v);
  return new DataView(v.buffer).getBigUint64(0, true);
}
function resetCounter(m: OwnedFd): void {
  A.mapUpdateElem(m.fd, u32(0), A.bytes(8));
}
const counterMap = () => A.mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, name: 'counter' });
const thisThread = () => (BigInt(process.pid) << 32n) | BigInt(Number(readlinkSync('/proc/thread-self').split('/').pop()));
const fdCount = () => readdirSync('/proc/self/fd').length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pause = new Int32Array(new SharedArrayBuffer(4));
const GETPID_NR: Record<string, number> = { x64: 39, arm64: 172, riscv64: 172, loong64: 172 };
// getpid(2) calls are triggered by a child (test/c/getpid_loop.c) and counted by comm: the test
// process itself makes stray getpid calls (V8/Node do, e.g. around garbage collections)
const GETPID_COMM = 'corebpf_getpid';
let getpidBin = '';
function getpids(n: number): void {
  getpidBin ||= buildGetpidLoop();
  execFileSync(getpidBin, [String(n)]);
}

function load(progType: number, insns: Uint8Array, name: string, expectedAttachType = 0): OwnedFd {
  return A.progLoad({ progType, insns, license: 'GPL', name, expectedAttachType });
}
function ref(fd: OwnedFd, name: string, section: string, type: number, expectedAttachType = 0): AttachableProgram {
  return { fd: fd.fd, name, section, type, expectedAttachType, attachBtfId: 0 };
}
function errorOf(f: () => unknown): unknown {
  try { f(); } catch (e) { return e; }
  return undefined;
}

// =============================================================================================
describe('section names follow libbpf 1.5 section_defs', () => {
  const libbpfC = '.deps/src/libbpf/src/libbpf.c';

  it('SECTION_DEFS is libbpf\'s table: same names, order, types and flags', (ctx) => {
    if (!existsSync(libbpfC)) skipWith(ctx, `the pinned libbpf source is not here (${libbpfC}; scripts/fetch-sources.sh libbpf)`);
    const src = readFileSync(libbpfC, 'utf8');
    const table = src.slice(src.indexOf('static const struct bpf_sec_def section_defs[] = {'));
    const body = table.slice(0, table.indexOf('\n};'));
    const rows = [...body.matchAll(/SEC_DEF\("([^"]+)",\s*(\w+),\s*(\w+),\s*([\w| ]+?)\s*(?:,\s*\w+)?\)/g)];
    expect(rows.length).toBeGreaterThan(90);
    const flagVal: Record<string, number> = { SEC_NONE: 0, SEC_EXP_ATTACH_OPT: 1, SEC_ATTACHABLE: 2, SEC_ATTACHABLE_OPT: 3, SEC_ATTACH_BTF: 4, SEC_SLEEPABLE: 8, SEC_XDP_FRAGS: 16, SEC_USDT: 32 };
    const num = (name: string) => (name === '0' ? 0 : (U as unknown as Record<string, number>)[name]);
    expect(SECTION_DEFS.map((d) => d.sec)).toEqual(rows.map((r) => r[1]));
    rows.forEach((r, i) => {
      const d = SECTION_DEFS[i];
      expect({ sec: d.sec, progType: d.progType }).toEqual({ sec: r[1], progType: num(`BPF_PROG_TYPE_${r[2]}`) });
      expect(d.expectedAttachType).toBe(num(r[3]));
      expect(d.flags).toBe(r[4].split('|').map((f) => flagVal[f.trim()]).reduce((a, b) => a | b, 0));
      // libbpf auto-attaches exactly the rows that carry an attach function
      const hasAttachFn = /,\s*attach_\w+\)\s*$/.test(r[0]);
      expect(d.attachFn !== null).toBe(hasAttachFn);
    });
  });

  it('matches like sec_def_matches: exact names, "+" prefixes with a "/" separator, first match wins', () => {
    expect(findSectionDef('socket')?.progType).toBe(U.BPF_PROG_TYPE_SOCKET_FILTER);
    expect(findSectionDef('socket/x')).toBeUndefined(); // "socket" has no '+'
    expect(findSectionDef('kprobexyz')).toBeUndefined();
    expect(findSectionDef('kprobe.multi/do_*')?.sec).toBe('kprobe.multi+'); // not "kprobe+"
    expect(findSectionDef('sk_reuseport/migrate')?.expectedAttachType).toBe(U.BPF_SK_REUSEPORT_SELECT_OR_MIGRATE);
    expect(findSectionDef('sk_reuseport')?.expectedAttachType).toBe(U.BPF_SK_REUSEPORT_SELECT);
    expect(findSectionDef('xdp.frags/devmap')?.expectedAttachType).toBe(U.BPF_XDP_DEVMAP);
    expect(findSectionDef('cgroup/unknown')).toBeUndefined();
    expect(findSectionDef('uprobe.s//bin/true:main')?.sec).toBe('uprobe.s+');
  });

  it('parses targets like libbpf\'s attach functions', () => {
    const p = (s: string) => {
      const r = parseSection(s);
      return r && { kind: r.kind, progType: r.progType, expectedAttachType: r.expectedAttachType, autoAttach: r.autoAttach, target: r.target, error: r.error, sleepable: r.sleepable, xdpFrags: r.xdpFrags };
    };
    const base = { error: undefined, sleepable: false, xdpFrags: false };
    expect(p('tracepoint/syscalls/sys_enter_getpid')).toEqual({ ...base, kind: 'tracepoint', progType: U.BPF_PROG_TYPE_TRACEPOINT, expectedAttachType: 0, autoAttach: true, target: { kind: 'tracepoint', category: 'syscalls', name: 'sys_enter_getpid' } });
    expect(p('tp/sched/sched_switch')?.target).toEqual({ kind: 'tracepoint', category: 'sched', name: 'sched_switch' });
    expect(p('tracepoint')).toMatchObject({ autoAttach: false, target: undefined });
    expect(p('tp/nocategory')).toMatchObject({ autoAttach: false, error: expect.stringMatching(/category/) });
    expect(p('raw_tp/sys_enter')).toMatchObject({ kind: 'raw_tracepoint', progType: U.BPF_PROG_TYPE_RAW_TRACEPOINT, autoAttach: true, target: { kind: 'raw_tracepoint', name: 'sys_enter' } });
    expect(p('raw_tracepoint.w/foo')).toMatchObject({ progType: U.BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, target: { name: 'foo' } });
    expect(p('raw_tp')).toMatchObject({ autoAttach: false });
    expect(p('tp_btf/sched_switch')).toMatchObject({ kind: 'tp_btf', progType: U.BPF_PROG_TYPE_TRACING, expectedAttachType: U.BPF_TRACE_RAW_TP, autoAttach: true, target: { kind: 'btf', name: 'sched_switch' } });
    expect(p('kprobe/do_sys_open+0x10')).toMatchObject({ kind: 'kprobe', progType: U.BPF_PROG_TYPE_KPROBE, autoAttach: true, target: { kind: 'kprobe', func: 'do_sys_open', offset: 16, retprobe: false } });
    expect(p('kretprobe/do_sys_open')?.target).toEqual({ kind: 'kprobe', func: 'do_sys_open', offset: 0, retprobe: true });
    expect(p('kretprobe/do_sys_open+4')).toMatchObject({ autoAttach: false, error: expect.stringMatching(/offset/) });
    expect(p('kprobe')).toMatchObject({ autoAttach: false, target: undefined });
    expect(p('ksyscall/openat')?.target).toEqual({ kind: 'ksyscall', syscall: 'openat', retprobe: false });
    expect(p('kprobe.multi/do_*')).toMatchObject({ kind: 'kprobe_multi', expectedAttachType: U.BPF_TRACE_KPROBE_MULTI });
    expect(p('uprobe//usr/lib/libc.so.6:malloc+0x8')?.target).toEqual({ kind: 'uprobe', binary: '/usr/lib/libc.so.6', func: 'malloc', offset: 8, retprobe: false });
    expect(p('uretprobe.s/libc.so.6:free')).toMatchObject({ sleepable: true, autoAttach: true, target: { binary: 'libc.so.6', func: 'free', retprobe: true } });
    expect(p('uprobe/libc.so.6')).toMatchObject({ autoAttach: false, error: expect.stringMatching(/function/) });
    expect(p('uprobe')).toMatchObject({ autoAttach: false, target: undefined, error: undefined });
    expect(p('usdt/./app:myprov:probe1')?.target).toEqual({ kind: 'usdt', binary: './app', provider: 'myprov', name: 'probe1' });
    expect(p('fentry/do_nanosleep')).toMatchObject({ kind: 'fentry', progType: U.BPF_PROG_TYPE_TRACING, expectedAttachType: U.BPF_TRACE_FENTRY, autoAttach: true });
    expect(p('fexit.s/x')).toMatchObject({ kind: 'fexit', expectedAttachType: U.BPF_TRACE_FEXIT, sleepable: true });
    expect(p('fmod_ret/x')?.expectedAttachType).toBe(U.BPF_MODIFY_RETURN);
    expect(p('lsm/file_open')).toMatchObject({ kind: 'lsm', progType: U.BPF_PROG_TYPE_LSM, expectedAttachType: U.BPF_LSM_MAC, autoAttach: true });
    expect(p('lsm_cgroup/socket_bind')).toMatchObject({ expectedAttachType: U.BPF_LSM_CGROUP, autoAttach: false });
    expect(p('iter/bpf_map')).toMatchObject({ kind: 'iter', expectedAttachType: U.BPF_TRACE_ITER, autoAttach: true });
    expect(p('xdp')).toMatchObject({ kind: 'xdp', progType: U.BPF_PROG_TYPE_XDP, expectedAttachType: U.BPF_XDP, autoAttach: false });
    expect(p('xdp.frags')).toMatchObject({ kind: 'xdp', xdpFrags: true });
    expect(p('tc/ingress')).toMatchObject({ kind: 'tcx', progType: U.BPF_PROG_TYPE_SCHED_CLS, expectedAttachType: U.BPF_TCX_INGRESS, target: { kind: 'direction', direction: 'ingress' } });
    expect(p('tcx/egress')).toMatchObject({ expectedAttachType: U.BPF_TCX_EGRESS, target: { direction: 'egress' } });
    expect(p('classifier')).toMatchObject({ kind: 'tc', progType: U.BPF_PROG_TYPE_SCHED_CLS, expectedAttachType: 0 });
    expect(p('cgroup_skb/egress')).toMatchObject({ kind: 'cgroup', progType: U.BPF_PROG_TYPE_CGROUP_SKB, expectedAttachType: U.BPF_CGROUP_INET_EGRESS, target: { direction: 'egress' } });
    expect(p('cgroup/sock')).toMatchObject({ progType: U.BPF_PROG_TYPE_CGROUP_SOCK, expectedAttachType: U.BPF_CGROUP_INET_SOCK_CREATE });
    expect(p('cgroup/connect4')).toMatchObject({ progType: U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, expectedAttachType: U.BPF_CGROUP_INET4_CONNECT });
    expect(p('cgroup/dev')?.expectedAttachType).toBe(U.BPF_CGROUP_DEVICE);
    expect(p('socket')).toMatchObject({ kind: 'socket', progType: U.BPF_PROG_TYPE_SOCKET_FILTER, autoAttach: false });
    expect(p('sk_skb/stream_verdict')).toMatchObject({ kind: 'sk_skb', expectedAttachType: U.BPF_SK_SKB_STREAM_VERDICT });
    expect(p('sk_msg')).toMatchObject({ kind: 'sk_msg', expectedAttachType: U.BPF_SK_MSG_VERDICT });
    expect(p('flow_dissector')).toMatchObject({ kind: 'flow_dissector', expectedAttachType: U.BPF_FLOW_DISSECTOR });
    expect(p('struct_ops/tcp_init')).toMatchObject({ kind: 'struct_ops', progType: U.BPF_PROG_TYPE_STRUCT_OPS });
    expect(p('perf_event')).toMatchObject({ kind: 'perf_event', progType: U.BPF_PROG_TYPE_PERF_EVENT });
    expect(p('syscall')).toMatchObject({ kind: 'syscall', sleepable: true });
    expect(p('not_a_section')).toBeUndefined();
  });
});

// =============================================================================================
describe('ELF symbol → file offset (uprobe.ts)', () => {
  needsEach('gcc');
  let target = '';
  beforeAll(() => { if (!unmet('gcc')) target = buildUprobeTarget(); });

  /** What readelf says: st_value - sh_addr + sh_offset of the symbol's section. */
  function readelfOffset(path: string, sym: string, dyn = false): number {
    const syms = execFileSync('readelf', ['-W', dyn ? '--dyn-syms' : '-s', path], { encoding: 'utf8' });
    const line = syms.split('\n').find((l) => l.trim().split(/\s+/)[7] === sym && /FUNC/.test(l));
    if (!line) throw new Error(`${sym} not in readelf output`);
    const f = line.trim().split(/\s+/);
    const value = parseInt(f[1], 16);
    const ndx = Number(f[6]);
    const secs = execFileSync('readelf', ['-W', '-S', path], { encoding: 'utf8' });
    const s = secs.split('\n').find((l) => new RegExp(`^\\s*\\[\\s*${ndx}\\]`).test(l))!;
    const sf = s.replace(/^\s*\[\s*\d+\]\s*/, '').split(/\s+/); // name type addr off size ...
    return value - parseInt(sf[2], 16) + parseInt(sf[3], 16);
  }

  it('finds the function in .symtab and converts its address to the file offset', () => {
    const off = resolveSymbolOffset(target, 'corebpf_uprobe_target');
    expect(off).toBe(readelfOffset(target, 'corebpf_uprobe_target'));
    // built -no-pie: the address (0x40....) is not the offset, so the conversion mattered
    const elf = new ElfFile(new Uint8Array(readFileSync(target)), target);
    const sym = [...elf.symbols()].find((s) => s.name === 'corebpf_uprobe_target')!;
    expect(Number(sym.value)).not.toBe(off);
    expect(elf.is64).toBe(true);
  });

  it('finds functions of a shared library in .dynsym (bare library names resolve like libbpf)', () => {
    const libc = resolveBinaryPath('libc.so.6');
    expect(existsSync(libc)).toBe(true);
    const off = resolveSymbolOffset(libc, 'getpid');
    expect(off).toBe(readelfOffset(libc, 'getpid@@GLIBC_2.2.5', true) || readelfOffset(libc, 'getpid', true));
    expect(resolveSymbolOffset(libc, 'getpid@@GLIBC_2.2.5')).toBe(off);
    expect(resolveBinaryPath('bash')).toMatch(/\/bash$/);
  });

  it('reports missing symbols and non-ELF files as ObjectFormatError', () => {
    expect(() => resolveSymbolOffset(target, 'no_such_function_here')).toThrow(ObjectFormatError);
    expect(() => resolveSymbolOffset('/etc/hostname', 'main')).toThrow(/not an ELF file/);
  });
});

// =============================================================================================
describe('real kernel: tracing attachments', () => {
  needsEach('bpf', 'test_binaries');
  const sys = () => getSyscalls();

  it('tracepoint syscalls:sys_enter_getpid through a perf-event BPF link: exact count, link info, detach on close', (ctx) => {
    needs(ctx, 'perf_link');
    using counter = counterMap();
    using prog = load(U.BPF_PROG_TYPE_TRACEPOINT, countingProg(counter.fd, { comm: GETPID_COMM }), 'tp_count');
    const link = attachProgram(ref(prog, 'tp_count', 'tracepoint/syscalls/sys_enter_getpid', U.BPF_PROG_TYPE_TRACEPOINT));
    try {
      expect(link.kind).toBe('link');
      expect(link.perfEventFd).not.toBeNull();
      getpids(7);
      expect(readCounter(counter)).toBe(7n);
      const info = link.info();
      expect(info).toMatchObject({ typeName: 'perf_event', type: U.BPF_LINK_TYPE_PERF_EVENT, progId: A.progInfo(prog.fd).id });
      // what the event is: only kernels that fill bpf_link_info.perf_event (6.6+) say
      if (!missing('perf_link_info')) expect(info).toMatchObject({ perfEventType: U.BPF_PERF_EVENT_TRACEPOINT, tpName: 'sys_enter_getpid' });
      expect(info.id).toBeGreaterThan(0);
    } finally {
      link.close();
    }
    expect(link.closed).toBe(true);
    getpids(1);
    expect(readCounter(counter)).toBe(7n);
    link.close(); // idempotent
  });

  it('explicit { tracepoint } target and the legacy PERF_EVENT_IOC_SET_BPF path', () => {
    using counter = counterMap();
    using prog = load(U.BPF_PROG_TYPE_TRACEPOINT, countingProg(counter.fd, { comm: GETPID_COMM }), 'tp_legacy');
    const p = ref(prog, 'tp_legacy', 'tracepoint', U.BPF_PROG_TYPE_TRACEPOINT);
    expect(errorOf(() => attachProgram(p))).toBeInstanceOf(CorebpfError); // SEC("tracepoint") names no target
    const link = attachProgram(p, { tracepoint: 'syscalls:sys_enter_getpid', legacy: true });
    try {
      expect(link.kind).toBe('perf_event');
      expect(link.isBpfLink).toBe(false);
      expect(link.fd).toBe(link.perfEventFd);
      getpids(4);
      expect(readCounter(counter)).toBe(4n);
      expect(errorOf(() => link.pin('/sys/fs/bpf/never'))).toBeInstanceOf(NotSupportedError);
      expect(errorOf(() => link.info())).toBeInstanceOf(NotSupportedError);
    } finally {
      link.close();
    }
    getpids(1);
    expect(readCounter(counter)).toBe(4n);
    const missing = errorOf(() => attachProgram(p, { tracepoint: 'syscalls:sys_enter_no_such_syscall' }));
    expect(missing).toBeInstanceOf(SyscallError);
    expect((missing as SyscallError).errnoName).toBe('ENOENT');
  });

  it('raw_tp/sys_enter via BPF_RAW_TRACEPOINT_OPEN: exact count of getpid syscalls', (ctx) => {
    if (GETPID_NR[process.arch] === undefined) skipWith(ctx, `the getpid syscall number of ${process.arch} is not in the test's table`);
    using counter = counterMap();
    using prog = load(U.BPF_PROG_TYPE_RAW_TRACEPOINT, countingProg(counter.fd, { comm: GETPID_COMM, arg1: GETPID_NR[process.arch] }), 'rawtp_count');
    {
      using link = attachProgram(ref(prog, 'rawtp_count', 'raw_tp/sys_enter', U.BPF_PROG_TYPE_RAW_TRACEPOINT));
      getpids(9); // the child's other system calls (exec, mmap, exit...) are not counted
      expect(readCounter(counter)).toBe(9n);
      expect(link.info()).toMatchObject({ typeName: 'raw_tracepoint', tpName: 'sys_enter', progId: A.progInfo(prog.fd).id });
    }
    // an explicit name works for a bare SEC("raw_tp") too (after the first link is gone:
    // older kernels (5.10) refuse the same program on the same tracepoint twice, EEXIST)
    using l2 = attachProgram(ref(prog, 'rawtp_count', 'raw_tp', U.BPF_PROG_TYPE_RAW_TRACEPOINT), { rawTracepoint: 'sys_enter' });
    getpids(1);
    expect(readCounter(counter)).toBe(10n);
    expect(l2.info().tpName).toBe('sys_enter');
  });

  it('perf_event program on a software clock of this thread samples while it runs', () => {
    using counter = counterMap();
    using prog = load(U.BPF_PROG_TYPE_PERF_EVENT, countingProg(counter.fd), 'perf_count');
    const p = ref(prog, 'perf_count', 'perf_event', U.BPF_PROG_TYPE_PERF_EVENT);
    expect(errorOf(() => attachProgram(p))).toBeInstanceOf(CorebpfError);
    const link = attachProgram(p, { perfEvent: { type: U.PERF_TYPE_SOFTWARE, config: U.PERF_COUNT_SW_TASK_CLOCK, samplePeriod: 100_000, pid: 0, cpu: -1 } });
    const t = Date.now();
    let x = 0;
    while (Date.now() - t < 40) x += Math.sqrt(x + 1); // 40 ms of CPU ≈ 400 samples of 0.1 ms
    const n = readCounter(counter);
    expect(n).toBeGreaterThan(20n);
    // (perfType is not checked: recent kernels report the dynamic type of their task_clock PMU)
    if (!missing('perf_link_info')) expect(link.info()).toMatchObject({ typeName: 'perf_event', perfEventType: U.BPF_PERF_EVENT_EVENT, config: BigInt(U.PERF_COUNT_SW_TASK_CLOCK) });
    else if (!missing('perf_link')) expect(link.info()).toMatchObject({ typeName: 'perf_event' });
    else expect(link.kind).toBe('perf_event'); // before 5.15: PERF_EVENT_IOC_SET_BPF, no link
    link.close();
    const after = readCounter(counter);
    const t2 = Date.now();
    while (Date.now() - t2 < 20) x += Math.sqrt(x + 1);
    expect(readCounter(counter)).toBe(after);
  });

  it('pinned link outlives its Link object; openPinnedLink() gets it back; unpin + close detaches', (ctx) => {
    needs(ctx, 'perf_link');
    const path = `/sys/fs/bpf/corebpf-attach-${process.pid}`;
    using counter = counterMap();
    using prog = load(U.BPF_PROG_TYPE_TRACEPOINT, countingProg(counter.fd, { comm: GETPID_COMM }), 'tp_pinned');
    const link = attachProgram(ref(prog, 'tp_pinned', 'tp/syscalls/sys_enter_getpid', U.BPF_PROG_TYPE_TRACEPOINT));
    const id = link.info().id;
    link.pin(path);
    expect(link.pinnedPath).toBe(path);
    link.close();
    getpids(1);
    expect(readCounter(counter)).toBe(1n); // still attached through the pin
    const again = openPinnedLink(path);
    expect(again.info()).toMatchObject({ id, typeName: 'perf_event' });
    if (!missing('perf_link_info')) expect(again.info()).toMatchObject({ tpName: 'sys_enter_getpid' });
    again.pin(`${path}-2`);
    again.unpin();
    expect(existsSync(`${path}-2`)).toBe(false);
    execFileSync('rm', [path]);
    again.close();
    getpids(1);
    expect(readCounter(counter)).toBe(1n);
  });

  // closing a tracepoint perf event waits for an RCU grace period (~70-90 ms here): allow time
  it('the fd count is unchanged after 100 attach/close cycles (perf-event links, raw_tp links, legacy perf events)', { timeout: 60_000 }, () => {
    using counter = counterMap();
    using tp = load(U.BPF_PROG_TYPE_TRACEPOINT, countingProg(counter.fd, { pidTgid: thisThread() }), 'tp_cycle');
    using raw = load(U.BPF_PROG_TYPE_RAW_TRACEPOINT, countingProg(counter.fd, { pidTgid: thisThread(), arg1: -1 }), 'raw_cycle');
    attachProgram(ref(tp, 'tp_cycle', 'tp/syscalls/sys_enter_getpid', U.BPF_PROG_TYPE_TRACEPOINT)).close(); // warm up (tracefs, caches)
    const before = fdCount();
    let attachedAndCounting = 0;
    for (let i = 0; i < 100; i++) {
      const links: Link[] = [
        attachProgram(ref(tp, 'tp_cycle', 'tp/syscalls/sys_enter_getpid', U.BPF_PROG_TYPE_TRACEPOINT), { legacy: i % 3 === 0 }),
        attachProgram(ref(raw, 'raw_cycle', 'raw_tp/sys_enter', U.BPF_PROG_TYPE_RAW_TRACEPOINT)),
      ];
      const n = readCounter(counter);
      sys().getpid();
      if (readCounter(counter) > n) attachedAndCounting++;
      for (const l of links) (i % 2 ? l.close() : l[Symbol.dispose]());
    }
    expect(fdCount()).toBe(before);
    expect(attachedAndCounting).toBe(100);
  });
});

// =============================================================================================
describe('real kernel: uprobes', () => {
  needsEach('bpf', 'uprobe', 'test_binaries');
  let target = '';
  beforeAll(() => { if (!unmet('bpf', 'uprobe', 'test_binaries')) target = buildUprobeTarget(); });
  const run = (n: number) => Number(execFileSync(target, [String(n)], { encoding: 'utf8' }).trim());

  it('uprobe on a function of a test binary counts every call (uprobe PMU + perf-event link)', () => {
    using counter = counterMap();
    using prog = load(U.BPF_PROG_TYPE_KPROBE, countingProg(counter.fd), 'uprobe_count');
    using link = attachProgram(ref(prog, 'uprobe_count', 'uprobe', U.BPF_PROG_TYPE_KPROBE), { uprobe: { binary: target, symbol: 'corebpf_uprobe_target' } });
    expect(run(7)).toBe(49);
    expect(readCounter(counter)).toBe(7n);
    expect(run(5)).toBe(25);
    expect(readCounter(counter)).toBe(12n);
    // the link (5.15+) and what it probes (6.6+), where the kernel says
    if (!missing('perf_link_info')) expect(link.info()).toMatchObject({ typeName: 'perf_event', perfEventType: U.BPF_PERF_EVENT_UPROBE, fileName: target, offset: resolveSymbolOffset(target, 'corebpf_uprobe_target') });
    else expect(link.kind).toBe(missing('perf_link') ? 'perf_event' : 'link');
  });

  it('uprobe from the section name (uprobe/<path>:<function>), and a pid filter', () => {
    using counter = counterMap();
    using prog = load(U.BPF_PROG_TYPE_KPROBE, countingProg(counter.fd), 'uprobe_sec');
    const p = ref(prog, 'uprobe_sec', `uprobe/${target}:corebpf_uprobe_target`, U.BPF_PROG_TYPE_KPROBE);
    const link = attachProgram(p);
    run(3);
    expect(readCounter(counter)).toBe(3n);
    link.close();
    run(3);
    expect(readCounter(counter)).toBe(3n);
    // only this process (which never runs the function): nothing counted
    using only = attachProgram(p, { uprobe: { binary: target, symbol: 'corebpf_uprobe_target', pid: process.pid } });
    run(4);
    expect(readCounter(counter)).toBe(3n);
    expect(only.target).toContain(`pid ${process.pid}`);
  });

  it('uretprobe sees the return values: their sum is N²', (ctx) => {
    // where struct pt_regs keeps the return value: ax on x86-64, regs[0] on arm64
    const rcOff = ({ x64: 80, arm64: 0 } as Record<string, number>)[process.arch];
    if (rcOff === undefined) skipWith(ctx, `the return-value register offset in struct pt_regs of ${process.arch} is not in the test's table`);
    using counter = counterMap();
    using prog = load(U.BPF_PROG_TYPE_KPROBE, countingProg(counter.fd, { addOff: rcOff }), 'uretprobe_sum');
    using _link = attachProgram(ref(prog, 'uretprobe_sum', `uretprobe/${target}:corebpf_uprobe_target`, U.BPF_PROG_TYPE_KPROBE));
    expect(run(9)).toBe(81);
    expect(readCounter(counter)).toBe(81n);
  });

  it('legacy uprobe through tracefs uprobe_events: counts, and the probe event is removed on close', () => {
    using counter = counterMap();
    using prog = load(U.BPF_PROG_TYPE_KPROBE, countingProg(counter.fd), 'uprobe_legacy');
    const link = attachProgram(ref(prog, 'uprobe_legacy', 'uprobe', U.BPF_PROG_TYPE_KPROBE), { uprobe: { binary: target, symbol: 'corebpf_uprobe_target' }, legacy: true });
    try {
      expect(link.kind).toBe('perf_event');
      const events = listProbeEvents('uprobe');
      expect(events).toHaveLength(1);
      expect(events[0]).toMatch(new RegExp(`^p:corebpf/u_${process.pid}_\\d+_uprobe_target_corebpf_uprobe_target_0x[0-9a-f]+ ${target}:0x0*${resolveSymbolOffset(target, 'corebpf_uprobe_target').toString(16)}$`));
      run(6);
      expect(readCounter(counter)).toBe(6n);
    } finally {
      link.close();
    }
    expect(listProbeEvents('uprobe')).toEqual([]);
  });

  it('a missing symbol is an ObjectFormatError before anything is opened', () => {
    using counter = counterMap();
    using prog = load(U.BPF_PROG_TYPE_KPROBE, countingProg(counter.fd), 'uprobe_missing');
    const before = fdCount();
    expect(errorOf(() => attachProgram(ref(prog, 'uprobe_missing', `uprobe/${target}:nope`, U.BPF_PROG_TYPE_KPROBE)))).toBeInstanceOf(ObjectFormatError);
    expect(fdCount()).toBe(before);
  });
});

// =============================================================================================
describe('real kernel: features this kernel lacks give NotSupportedError', () => {
  needsEach('bpf');

  it('kprobe / kretprobe / ksyscall: NotSupportedError naming CONFIG_KPROBE_EVENTS', (ctx) => {
    if (!missing('kprobe')) skipWith(ctx, 'this kernel has kprobes: the missing-kprobe NotSupportedError path cannot be exercised');
    using counter = counterMap();
    using prog = load(U.BPF_PROG_TYPE_KPROBE, countingProg(counter.fd), 'kp');
    const before = fdCount();
    for (const [section, opts] of [
      ['kprobe/do_nanosleep', {}], ['kretprobe/do_nanosleep', {}], ['ksyscall/getpid', {}], ['kprobe', { kprobe: 'do_nanosleep+4' }],
    ] as [string, AttachOptions][]) {
      const err = errorOf(() => attachProgram(ref(prog, 'kp', section, U.BPF_PROG_TYPE_KPROBE), opts));
      expect(err, section).toBeInstanceOf(NotSupportedError);
      expect((err as NotSupportedError).feature).toBe('CONFIG_KPROBE_EVENTS');
      expect((err as Error).message).toMatch(/no 'kprobe' perf PMU .* built without CONFIG_KPROBE_EVENTS/);
    }
    expect(fdCount()).toBe(before);
    expect(checkKernelSupport('kprobe')).toBeInstanceOf(NotSupportedError);
    expect(checkKernelSupport('uprobe')).toBeNull();
  });

  /** The probe libbpf and bpftool use: with trampolines the kernel answers EINVAL to attach_btf_id 1. */
  function probeErrno(progType: number, attachType: number): string {
    const insns = asm([mov(R0, 0), exit()]);
    const e = errorOf(() => getSyscalls().bpf(U.BPF_PROG_LOAD, A.progLoadAttr({ progType, insns, license: 'GPL', expectedAttachType: attachType, attachBtfId: 1 }).buf));
    return e instanceof SyscallError ? e.errnoName : 'loaded';
  }

  it('fentry / fexit / fmod_ret: NotSupportedError naming BPF trampolines', (ctx) => {
    if (probeErrno(U.BPF_PROG_TYPE_TRACING, U.BPF_TRACE_FENTRY) === 'EINVAL') {
      skipWith(ctx, 'this kernel has BPF trampolines: the missing-trampoline NotSupportedError path cannot be exercised');
    }
    using counter = counterMap();
    // any loaded program stands in: this kernel cannot load a tracing program at all
    using stand = load(U.BPF_PROG_TYPE_RAW_TRACEPOINT, countingProg(counter.fd), 'stand_in');
    for (const [section, eat] of [['fentry/do_nanosleep', U.BPF_TRACE_FENTRY], ['fexit/do_nanosleep', U.BPF_TRACE_FEXIT], ['fmod_ret/x', U.BPF_MODIFY_RETURN]] as const) {
      const err = errorOf(() => attachProgram({ fd: stand.fd, name: 'f', section, type: U.BPF_PROG_TYPE_TRACING, expectedAttachType: eat, attachBtfId: 1 }));
      expect(err, section).toBeInstanceOf(NotSupportedError);
      expect((err as NotSupportedError).feature).toBe('BPF trampolines (fentry/fexit)');
      expect((err as Error).message).toMatch(/BPF trampolines .* refused/);
      expect((err as Error).cause).toBeInstanceOf(SyscallError); // the attach error itself
    }
  });

  it('lsm: NotSupportedError naming the BPF LSM', (ctx) => {
    if (probeErrno(U.BPF_PROG_TYPE_LSM, U.BPF_LSM_MAC) === 'EINVAL') {
      skipWith(ctx, 'this kernel has BPF LSM programs: the missing-LSM NotSupportedError path cannot be exercised');
    }
    using counter = counterMap();
    using stand = load(U.BPF_PROG_TYPE_RAW_TRACEPOINT, countingProg(counter.fd), 'stand_in');
    const err = errorOf(() => attachProgram({ fd: stand.fd, name: 'l', section: 'lsm/file_open', type: U.BPF_PROG_TYPE_LSM, expectedAttachType: U.BPF_LSM_MAC, attachBtfId: 1 }));
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as NotSupportedError).feature).toBe('CONFIG_BPF_LSM');
    expect((err as Error).message).toMatch(/BPF LSM programs are not available/);
  });

  it('unimplemented or target-less attachments say so', () => {
    using counter = counterMap();
    using stand = load(U.BPF_PROG_TYPE_SOCKET_FILTER, countingProg(counter.fd), 'stand_in');
    const e1 = errorOf(() => attachProgram(ref(stand, 'x', 'xdp', U.BPF_PROG_TYPE_XDP, U.BPF_XDP)));
    expect(e1).toBeInstanceOf(CorebpfError);
    expect((e1 as Error).message).toMatch(/pass \{ xdp: \{ ifname \| ifindex/);
    expect((errorOf(() => attachProgram(ref(stand, 'x', 'lirc_mode2', U.BPF_PROG_TYPE_LIRC_MODE2, U.BPF_LIRC_MODE2))) as Error).message).toMatch(/lirc attachment .* not implemented/);
    // USDT is attached now (test/host-usdt.test.ts): a file that is not there is said so
    expect((errorOf(() => attachProgram(ref(stand, 'x', 'usdt/corebpf_no_such_binary:p:n', U.BPF_PROG_TYPE_KPROBE))) as Error).message).toMatch(/cannot find 'corebpf_no_such_binary' in PATH/);
    expect(errorOf(() => attachProgram(ref(stand, 'x', 'struct_ops/x', U.BPF_PROG_TYPE_STRUCT_OPS)))).toBeInstanceOf(NotSupportedError);
    expect((errorOf(() => attachProgram(ref(stand, 'x', 'socket', U.BPF_PROG_TYPE_SOCKET_FILTER))) as Error).message).toMatch(/socketFd/);
  });
});

// =============================================================================================
function cgroup2Root(): string | null {
  for (const l of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const f = l.split(' ');
    if (f[2] === 'cgroup2') return f[1];
  }
  return null;
}
describe('real kernel: networking attachments', () => {
  needsEach('bpf');
  const tag = process.pid % 100000;
  const ns = `corebpf-${tag}`;
  const vethA = `cbA${tag}`;
  const vethB = `cbB${tag}`;
  const net = `10.251.${tag % 250}`;
  let netReady = false;
  let netWhy = '';
  const needNet = (ctx: Parameters<typeof needs>[0]) => {
    needs(ctx, 'ip', 'bash');
    if (!netReady) skipWith(ctx, `the veth pair / network namespace could not be set up: ${netWhy}`);
  };
  const sh = (...args: string[]) => execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

  beforeAll(() => {
    if (unmet('bpf', 'ip', 'bash')) return;
    try {
      sh('ip', 'netns', 'add', ns);
      sh('ip', 'link', 'add', vethA, 'type', 'veth', 'peer', 'name', vethB);
      // The pair must carry only what a test sends: an IPv6 router solicitation, an MLD report
      // or an ARP re-probe arriving between two reads of a counter made the exact counts flaky.
      quietIpv6(vethA, []);
      sh('ip', 'link', 'set', vethB, 'netns', ns);
      quietIpv6(vethB, ['ip', 'netns', 'exec', ns]);
      sh('ip', 'addr', 'add', `${net}.1/24`, 'dev', vethA);
      sh('ip', 'link', 'set', vethA, 'up');
      sh('ip', 'netns', 'exec', ns, 'ip', 'addr', 'add', `${net}.2/24`, 'dev', vethB);
      sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', vethB, 'up');
      const macA = readFileSync(`/sys/class/net/${vethA}/address`, 'utf8').trim();
      const macB = sh('ip', 'netns', 'exec', ns, 'cat', `/sys/class/net/${vethB}/address`).trim();
      sh('ip', 'neigh', 'replace', `${net}.2`, 'lladdr', macB, 'dev', vethA, 'nud', 'permanent');
      sh('ip', 'netns', 'exec', ns, 'ip', 'neigh', 'replace', `${net}.1`, 'lladdr', macA, 'dev', vethB, 'nud', 'permanent');
      netReady = true;
    } catch (e) {
      netWhy = (e as Error).message;
    }
  });
  afterAll(() => {
    if (unmet('bpf', 'ip')) return;
    spawnSync('ip', ['link', 'del', vethA]);
    spawnSync('ip', ['netns', 'del', ns]);
  });

  /** Turn IPv6 off on a device (run under `pre`, e.g. inside the namespace) so it sends nothing unasked. */
  function quietIpv6(dev: string, pre: string[]): void {
    const knob = `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`;
    if (pre.length === 0) {
      if (existsSync(knob)) writeFileSync(knob, '1');
    } else {
      sh(...pre, 'sh', '-c', `[ ! -e ${knob} ] || echo 1 > ${knob}`);
    }
  }
  /**
   * The counter once packets in flight have been counted: veth runs XDP from NAPI after the
   * sender returns, so a read right after a send can come before the program ran.
   */
  function settled(m: OwnedFd): bigint {
    let v = readCounter(m);
    for (let same = 0, spins = 0; same < 5 && spins < 400; spins++) {
      Atomics.wait(pause, 0, 0, 5);
      const w = readCounter(m);
      same = w === v ? same + 1 : 0;
      v = w;
    }
    return v;
  }
  /** Send `n` UDP datagrams from inside the namespace to the root-namespace end of the veth pair. */
  function sendFromNs(n: number): void {
    sh('ip', 'netns', 'exec', ns, 'bash', '-c', `for i in $(seq ${n}); do echo x > /dev/udp/${net}.1/9; done`);
  }

  it('XDP through a BPF link on a veth device: packets counted, link info, detached on close', (ctx) => {
    needNet(ctx);
    using counter = counterMap();
    using prog = load(U.BPF_PROG_TYPE_XDP, countingProg(counter.fd, { ret: U.XDP_PASS }), 'xdp_count', U.BPF_XDP);
    const ifindex = getSyscalls().ifNameToIndex(vethA);
    for (const mode of ['auto', 'skb'] as const) {
      resetCounter(counter);
      const link = attachProgram(ref(prog, 'xdp_count', 'xdp', U.BPF_PROG_TYPE_XDP, U.BPF_XDP), { xdp: { ifname: vethA, mode } });
      try {
        expect(link.info()).toMatchObject({ typeName: 'xdp', ifindex });
        expect(sh('ip', 'link', 'show', 'dev', vethA)).toMatch(/xdp/);
        sendFromNs(3);
        expect(settled(counter)).toBeGreaterThanOrEqual(3n);
      } finally {
        link.close();
      }
      expect(sh('ip', 'link', 'show', 'dev', vethA)).not.toMatch(/xdp/);
      const n = settled(counter);
      sendFromNs(2);
      expect(settled(counter)).toBe(n);
    }
  });

  it('BPF_LINK_UPDATE swaps the program of an XDP link; BPF_LINK_DETACH detaches with the fd still open', (ctx) => {
    needNet(ctx);
    using c1 = counterMap();
    using c2 = counterMap();
    using p1 = load(U.BPF_PROG_TYPE_XDP, countingProg(c1.fd, { ret: U.XDP_PASS }), 'xdp_one', U.BPF_XDP);
    using p2 = load(U.BPF_PROG_TYPE_XDP, countingProg(c2.fd, { ret: U.XDP_PASS }), 'xdp_two', U.BPF_XDP);
    using link = attachProgram(ref(p1, 'xdp_one', 'xdp', U.BPF_PROG_TYPE_XDP, U.BPF_XDP), { xdp: { ifname: vethA } });
    sendFromNs(2);
    const n1 = settled(c1);
    expect(n1).toBeGreaterThanOrEqual(2n);
    link.update({ fd: p2.fd });
    expect(link.info().progId).toBe(A.progInfo(p2.fd).id);
    sendFromNs(2);
    expect(settled(c1)).toBe(n1);
    expect(settled(c2)).toBeGreaterThanOrEqual(2n);
    link.detach();
    expect(link.closed).toBe(false);
    expect(sh('ip', 'link', 'show', 'dev', vethA)).not.toMatch(/xdp/);
    const n2 = settled(c2);
    sendFromNs(2);
    expect(settled(c2)).toBe(n2);
  });

  it('tcx ingress link on the veth device counts arriving packets', (ctx) => {
    needs(ctx, 'tcx');
    needNet(ctx);
    using counter = counterMap();
    using prog = load(U.BPF_PROG_TYPE_SCHED_CLS, countingProg(counter.fd, { ret: U.TCX_PASS }), 'tcx_count', U.BPF_TCX_INGRESS);
    const ifindex = getSyscalls().ifNameToIndex(vethA);
    const link = attachProgram(ref(prog, 'tcx_count', 'tc/ingress', U.BPF_PROG_TYPE_SCHED_CLS, U.BPF_TCX_INGRESS), { tcx: { ifindex } });
    try {
      expect(link.info()).toMatchObject({ typeName: 'tcx', ifindex, attachType: U.BPF_TCX_INGRESS });
      sendFromNs(3);
      expect(settled(counter)).toBeGreaterThanOrEqual(3n);
    } finally {
      link.close();
    }
    const n = settled(counter);
    sendFromNs(2);
    expect(settled(counter)).toBe(n);
    // a legacy SEC("classifier") program goes through a tcx link too, in the direction asked
    using cls = load(U.BPF_PROG_TYPE_SCHED_CLS, countingProg(counter.fd, { ret: U.TCX_PASS }), 'cls_count');
    const p = ref(cls, 'cls_count', 'classifier', U.BPF_PROG_TYPE_SCHED_CLS);
    expect((errorOf(() => attachProgram(p, { tc: { ifname: vethA } })) as Error).message).toMatch(/needs a direction/);
    using egress = attachProgram(p, { tc: { ifname: vethA, direction: 'egress' } });
    expect(egress.info()).toMatchObject({ typeName: 'tcx', ifindex, attachType: U.BPF_TCX_EGRESS });
    resetCounter(counter);
    sh('bash', '-c', `for i in 1 2 3; do echo x > /dev/udp/${net}.2/9; done`);
    expect(settled(counter)).toBeGreaterThanOrEqual(3n);
  });

  it('tcx on a kernel without tcx links: NotSupportedError naming tcx', (ctx) => {
    if (!missing('tcx')) skipWith(ctx, 'this kernel has tcx links: the missing-tcx NotSupportedError path cannot be exercised');
    using counter = counterMap();
    using prog = load(U.BPF_PROG_TYPE_SCHED_CLS, countingProg(counter.fd, { ret: U.TCX_PASS }), 'tcx_none');
    const err = errorOf(() => attachProgram(ref(prog, 'tcx_none', 'tc/ingress', U.BPF_PROG_TYPE_SCHED_CLS), { tcx: { ifname: 'lo' } }));
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as NotSupportedError).feature).toBe('tcx');
    expect((err as Error).message).toMatch(/tcx links need Linux 6\.6\+/);
  });

  it('cgroup_skb/egress: a dropping program blocks a process of the cgroup (BPF link and BPF_PROG_ATTACH)', (ctx) => {
    needs(ctx, 'cgroup2');
    const dir = `${cgroup2Root()}/corebpf-test-${process.pid}`;
    mkdirSync(dir, { recursive: true });
    // a child node joins the cgroup, then sends one UDP datagram (no shell needed: the lab's
    // guests have none but busybox)
    const script = `require('fs').writeFileSync(process.argv[1] + '/cgroup.procs', String(process.pid));
      const s = require('dgram').createSocket('udp4');
      s.send('x', 9, '127.0.0.1', (e) => { if (e) { console.error(e.message); process.exit(1); } s.close(); });`;
    const send = () => spawnSync(process.execPath, ['-e', script, dir], { encoding: 'utf8' });
    try {
      using counter = counterMap();
      using prog = load(U.BPF_PROG_TYPE_CGROUP_SKB, countingProg(counter.fd, { ret: 0 }), 'cg_drop', U.BPF_CGROUP_INET_EGRESS);
      expect(send().status).toBe(0);
      for (const legacy of [false, true]) {
        resetCounter(counter);
        const link = attachProgram(ref(prog, 'cg_drop', 'cgroup_skb/egress', U.BPF_PROG_TYPE_CGROUP_SKB, U.BPF_CGROUP_INET_EGRESS), { cgroup: dir, legacy });
        try {
          expect(link.kind).toBe(legacy ? 'prog_attach' : 'link');
          if (!legacy) expect(link.info()).toMatchObject({ typeName: 'cgroup', attachType: U.BPF_CGROUP_INET_EGRESS });
          const r = send();
          expect(r.status).not.toBe(0);
          expect(r.stderr).toMatch(/EPERM/);
          expect(readCounter(counter)).toBeGreaterThanOrEqual(1n);
        } finally {
          link.close();
        }
        expect(send().status).toBe(0); // detached
      }
    } finally {
      rmdirSync(dir);
    }
  });

  it('socket filter via SO_ATTACH_BPF: a dropping filter stops delivery; close() detaches it', async () => {
    using counter = counterMap();
    using prog = load(U.BPF_PROG_TYPE_SOCKET_FILTER, countingProg(counter.fd, { ret: 0 }), 'sock_drop');
    const server: Socket = createSocket('udp4');
    const client: Socket = createSocket('udp4');
    const got: string[] = [];
    server.on('message', (m) => got.push(m.toString()));
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
    const port = server.address().port;
    const send = async (s: string) => { await new Promise<void>((r) => client.send(s, port, '127.0.0.1', () => r())); await sleep(80); };
    try {
      await send('a');
      const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
      const link = attachProgram(ref(prog, 'sock_drop', 'socket', U.BPF_PROG_TYPE_SOCKET_FILTER), { socketFd: fd });
      expect(link.kind).toBe('socket');
      await send('b');
      expect(readCounter(counter)).toBe(1n);
      link.close();
      await send('c');
      expect(got).toEqual(['a', 'c']);
      expect(readCounter(counter)).toBe(1n);
    } finally {
      server.close();
      client.close();
    }
  });
});
