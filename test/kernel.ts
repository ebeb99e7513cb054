// What the running kernel (and machine) offers the real-kernel tests, and why not.
//
// A test declares what it needs and is SKIPPED WITH THE REASON where it is missing, never
// silently:
//   it('...', (ctx) => { needs(ctx, 'kprobe'); ... })      inside one test
//   describe('...', () => { needsEach('bpf', 'gcc'); ... }) every test of a describe block
// The reason is the skip note vitest prints ("↓ name [needs kprobe: ...]") and is also stored
// as `meta.skipReason` of the test, which vitest's JSON reporter writes out
// (testResults[].assertionResults[].meta.skipReason): the lab builds its per-kernel table of
// passed / failed / skipped-with-reason from it.
//
// Every feature is detected for real on this kernel, independently of corebpf's own checks
// (src/host/attach.ts checkKernelSupport), so that a wrong check in corebpf fails a test
// instead of skipping it: PMUs and tracefs files, the function in BTF and kallsyms, and for
// the BTF-based hooks a minimal program loaded AND attached. The kernel version is never used.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { beforeEach, type TestContext } from 'vitest';
import { parseBtf, type Btf } from '../src/btf/reader.js';
import { SyscallError } from '../src/errors.js';
import * as A from '../src/host/attr.js';
import type { OwnedFd } from '../src/host/fd.js';
import * as U from '../src/host/generated/uapi.js';
import { createNetkit, deleteLink } from './netlink.js';

export type Need =
  | 'bpf' // root, and bpf() works
  | 'btf' // /sys/kernel/btf/vmlinux
  | 'kprobe' | 'kretprobe' | 'ksyscall' | 'kprobe_multi' | 'uprobe'
  | 'kprobe_session' // kprobe.session links (Linux 6.10+, CONFIG_FPROBE)
  | 'uprobe_multi' // uprobe.multi links (Linux 6.6+, CONFIG_UPROBES)
  | 'fentry' | 'fexit' | 'lsm' | 'tp_btf' | 'raw_tp'
  | 'ringbuf'
  | 'perf_link' // BPF links over perf events (BPF_LINK_CREATE with BPF_PERF_EVENT, Linux 5.15+)
  | 'perf_link_info' // bpf_link_info of perf-event links says what the event is (Linux 6.6+)
  | 'tcx' // tcx links (Linux 6.6+)
  | 'netkit' // netkit devices (Linux 6.7+ with CONFIG_NETKIT), created over rtnetlink (test/netlink.ts)
  | 'struct_ops' // a BPF tcp_congestion_ops (BPF_PROG_TYPE_STRUCT_OPS through BPF trampolines, Linux 5.6+)
  | 'struct_ops_link' // struct_ops links (SEC(".struct_ops.link"), BPF_F_LINK, Linux 6.4+)
  | 'iter_task' // BPF iterators over tasks (SEC("iter/task"), BPF_TRACE_ITER links, Linux 5.8+)
  | 'bpf_loop' // the bpf_loop() helper and its callbacks (ld_imm64 BPF_PSEUDO_FUNC), Linux 5.17+
  // BTF kinds the kernel accepts (libbpf's features.c probes: a tiny BTF with that kind, loaded)
  | 'btf_float' | 'btf_decl_tag' | 'btf_type_tag' | 'btf_enum64'
  | 'kconfig' // the kernel's config: /proc/config.gz or /boot/config-$(uname -r)
  | 'cgroup2' // a mounted cgroup v2 hierarchy
  | 'gcc' // a C compiler (and binutils), for tests that build and inspect ELF files
  | 'test_binaries' // test/c helper binaries: prebuilt in build/test for this architecture, or gcc to build them
  | 'ip' // iproute2, for network namespaces and veth pairs
  | 'bash' // bash (its /dev/udp redirections send the test datagrams)
  | 'xz'; // xz, to decompress the kernel BTF fixtures of testdata/btf

/** Functions the tracing tests hook: in the BTF and kallsyms of every Debian kernel 5.10 .. 7.x (amd64, arm64). */
export const HOOK_FUNC = 'vfs_read';
export const LSM_HOOK = 'file_ioctl';

const cache = new Map<Need, string | null>();

/** null when the need is met here, else why not (one sentence, naming what is missing). */
export function missing(need: Need): string | null {
  if (!cache.has(need)) {
    let why: string | null;
    try {
      why = DETECT[need]();
    } catch (e) {
      why = `detecting ${need} failed: ${(e as Error).message}`;
    }
    cache.set(need, why);
  }
  return cache.get(need)!;
}

/** The first unmet need as "needs NAME: reason", or null when all are met. */
export function unmet(...needs: Need[]): string | null {
  for (const n of needs) {
    const why = missing(n);
    if (why !== null) return `needs ${n}: ${why}`;
  }
  return null;
}

/** Skip the running test, with the reason, unless all needs are met. */
export function needs(ctx: TestContext, ...list: Need[]): void {
  const why = unmet(...list);
  if (why !== null) skipWith(ctx, why);
}

/** Skip the running test with a reason the reporters show (and the JSON reporter writes as meta.skipReason). */
export function skipWith(ctx: TestContext, reason: string): never {
  (ctx.task.meta as Record<string, unknown>).skipReason = reason;
  ctx.skip(reason);
  throw new Error('unreachable: ctx.skip() returned');
}

/** In a describe block: every test in it needs these (a beforeEach that skips with the reason). */
export function needsEach(...list: Need[]): void {
  beforeEach((ctx) => needs(ctx, ...list));
}

/** null when bpf() works for this process, else the reason it does not. */
export function bpfUsable(): string | null {
  return missing('bpf');
}

// ---------------------------------------------------------------------------------------------
// detection

const TRACEFS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];
const tracefsFile = (name: string): string | null => TRACEFS.map((d) => `${d}/${name}`).find((p) => existsSync(p)) ?? null;

function errText(e: unknown): string {
  return e instanceof SyscallError ? (e.errnoName || e.message) : (e as Error).message;
}

let kallsymsText: string | null | undefined;
function kallsyms(): string | null {
  if (kallsymsText === undefined) {
    try {
      kallsymsText = readFileSync('/proc/kallsyms', 'utf8');
    } catch {
      kallsymsText = null;
    }
  }
  return kallsymsText;
}
/** Whether /proc/kallsyms has a text symbol `name` (null: no kallsyms to tell). */
export function kallsymsHas(name: string): boolean | null {
  const t = kallsyms();
  if (t === null) return null;
  return new RegExp(`^[0-9a-f]+ [tTwW] ${name.replace(/[.$]/g, '\\$&')}(\\s|$)`, 'm').test(t);
}

let vmlinux: Btf | null | undefined;
function kernelBtf(): Btf | null {
  if (vmlinux === undefined) {
    try {
      vmlinux = parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux')));
    } catch {
      vmlinux = null;
    }
  }
  return vmlinux;
}
/** The id of a FUNC / TYPEDEF in the kernel's BTF, or null. */
export function kernelBtfId(name: string, kind: 'func' | 'typedef'): number | null {
  const t = kernelBtf()?.findAllByName(name).find((x) => x.kind === (kind === 'func' ? U.BTF_KIND_FUNC : U.BTF_KIND_TYPEDEF));
  return t ? t.id : null;
}

/** The syscall wrapper prefix of this architecture (what libbpf's ksyscall attaches to). */
export function syscallPrefix(): string | null {
  return ({ x64: '__x64_sys_', arm64: '__arm64_sys_', s390x: '__s390x_sys_', riscv64: '__riscv_sys_' } as Record<string, string>)[process.arch] ?? null;
}

const RET0 = (() => {
  const b = A.bytes(16);
  b[0] = U.BPF_ALU64 | U.BPF_MOV | U.BPF_K; // r0 = 0
  b[8] = U.BPF_JMP | U.BPF_EXIT;
  return b;
})();

/**
 * Load `r0 = 0; exit` as a BTF-targeted program (tracing, lsm) against kernel function /
 * typedef `target` and attach it (BPF_RAW_TRACEPOINT_OPEN with no name, which every kernel
 * with these program types has); close both. null when that works, else why not.
 */
function loadAndAttachBtf(progType: number, attachType: number, target: string, kind: 'func' | 'typedef'): string | null {
  const bpf = missing('bpf');
  if (bpf) return bpf;
  if (missing('btf')) return missing('btf');
  const id = kernelBtfId(target, kind);
  if (id === null) return `${target} is not in the kernel's BTF (/sys/kernel/btf/vmlinux)`;
  let prog: OwnedFd;
  try {
    prog = A.progLoad({ progType, insns: RET0, license: 'GPL', expectedAttachType: attachType, attachBtfId: id, name: 'probe' });
  } catch (e) {
    return `BPF_PROG_LOAD of a minimal ${enumKey(U.bpf_prog_type, progType)} program on ${target} fails: ${errText(e)}`;
  }
  try {
    A.rawTracepointOpen(null, prog.fd).close();
    return null;
  } catch (e) {
    return `a minimal ${enumKey(U.bpf_prog_type, progType)} program on ${target} loads but does not attach: ${errText(e)}`;
  } finally {
    prog.close();
  }
}

function enumKey(e: Readonly<Record<string, number | bigint>>, v: number): string {
  return Object.entries(e).find(([, x]) => x === v)?.[0] ?? String(v);
}

function kprobeMissing(): string | null {
  if (existsSync('/sys/bus/event_source/devices/kprobe') || tracefsFile('kprobe_events')) return null;
  return 'no kprobe perf PMU (/sys/bus/event_source/devices/kprobe) and no kprobe_events in tracefs: the kernel was built without CONFIG_KPROBE_EVENTS';
}

function kernelConfigFile(): string | null {
  if (existsSync('/proc/config.gz')) return '/proc/config.gz';
  const boot = `/boot/config-${release()}`;
  return existsSync(boot) ? boot : null;
}

/** The active LSMs: securityfs, else lsm= on the command line, else CONFIG_LSM (null: unknown). */
function activeLsms(): { list: string[]; from: string } | null {
  try {
    return { list: readFileSync('/sys/kernel/security/lsm', 'utf8').trim().split(','), from: '/sys/kernel/security/lsm' };
  } catch { /* securityfs not mounted */ }
  const cmd = /(?:^|\s)lsm=(\S+)/.exec(readFileSync('/proc/cmdline', 'utf8'));
  if (cmd) return { list: cmd[1]!.split(','), from: 'lsm= on /proc/cmdline' };
  const boot = `/boot/config-${release()}`;
  if (existsSync(boot)) {
    const m = /^CONFIG_LSM="([^"]*)"$/m.exec(readFileSync(boot, 'utf8'));
    if (m) return { list: m[1]!.split(','), from: `CONFIG_LSM in ${boot}` };
  }
  return null;
}

/** Raw BTF (header, type words, strings) as libbpf's feature probes build it. */
function rawBtf(types: number[], strs: string): Uint8Array {
  const t = Buffer.alloc(4 * types.length);
  types.forEach((v, i) => t.writeUInt32LE(v >>> 0, 4 * i));
  const s = Buffer.from(strs, 'latin1');
  const h = Buffer.alloc(24);
  h.writeUInt16LE(0xeb9f, 0); h[2] = 1;
  h.writeUInt32LE(24, 4); h.writeUInt32LE(0, 8); h.writeUInt32LE(t.length, 12);
  h.writeUInt32LE(t.length, 16); h.writeUInt32LE(s.length, 20);
  return new Uint8Array(Buffer.concat([h, t, s]));
}
const info = (kind: number, vlen = 0, kflag = 0): number => ((kflag << 31) | (kind << 24) | vlen) >>> 0;
const INT_S32 = [0, info(U.BTF_KIND_INT), 4, (1 << 24) | 32]; // signed 32-bit int, no name

/** The BTF of libbpf's probe for a kind (features.c), and the first kernel that has it. */
const BTF_KIND_PROBES: Record<'btf_float' | 'btf_decl_tag' | 'btf_type_tag' | 'btf_enum64', { btf: () => Uint8Array; kind: string; since: string }> = {
  btf_float: { kind: 'BTF_KIND_FLOAT', since: '5.13', btf: () => rawBtf([1, info(U.BTF_KIND_FLOAT), 4], '\0float\0') },
  btf_decl_tag: {
    kind: 'BTF_KIND_DECL_TAG', since: '5.16',
    btf: () => rawBtf([...INT_S32, 1, info(U.BTF_KIND_VAR), 1, 0, 1, info(U.BTF_KIND_DECL_TAG), 2, -1], '\0tag\0'),
  },
  btf_type_tag: {
    kind: 'BTF_KIND_TYPE_TAG', since: '5.17',
    btf: () => rawBtf([...INT_S32, 1, info(U.BTF_KIND_TYPE_TAG), 1, 0, info(U.BTF_KIND_PTR), 2], '\0tag\0'),
  },
  btf_enum64: { kind: 'BTF_KIND_ENUM64', since: '6.0', btf: () => rawBtf([1, info(U.BTF_KIND_ENUM64), 8], '\0enum64\0') },
};

function btfKindMissing(need: keyof typeof BTF_KIND_PROBES): string | null {
  const bpf = missing('bpf');
  if (bpf) return bpf;
  const p = BTF_KIND_PROBES[need];
  try {
    A.btfLoad({ btf: p.btf() }).close();
    return null;
  } catch (e) {
    return `the kernel refuses BTF with ${p.kind} (BPF_BTF_LOAD: ${errText(e)}; the kind is in Linux ${p.since}+)`;
  }
}

const ROOT = new URL('..', import.meta.url).pathname;
const ELF_MACHINE: Record<string, number> = { x64: 62, arm64: 183, riscv64: 243, s390x: 22, ppc64: 21 };

/**
 * The helper binaries of test/c (build-test-binaries.mjs) exist in build/test, are newer than
 * their sources and are ELF files for this machine: then no compiler is needed (the lab builds
 * them outside the guest); else gcc must be there to build them.
 */
function testBinariesMissing(): string | null {
  if (spawnSync('gcc', ['--version']).status === 0) return null;
  const bins: [string, string][] = [['uprobe_target', 'uprobe_target.c'], ['corebpf_getpid', 'getpid_loop.c'], ['multi_target', 'multi_target.c']];
  const bad: string[] = [];
  for (const [bin, src] of bins) {
    const path = `${ROOT}build/test/${bin}`;
    try {
      const b = readFileSync(path);
      const machine = b.readUInt16LE(18);
      if (b.readUInt32BE(0) !== 0x7f454c46) bad.push(`${bin} (not ELF)`);
      else if (machine !== ELF_MACHINE[process.arch]) bad.push(`${bin} (ELF machine ${machine}, not ${process.arch})`);
      else if (statSync(path).mtimeMs < statSync(`${ROOT}test/c/${src}`).mtimeMs) bad.push(`${bin} (older than test/c/${src})`);
    } catch {
      bad.push(`${bin} (absent)`);
    }
  }
  if (!bad.length) return null;
  return `gcc is not installed and the helper binaries are not prebuilt in build/test for ${process.arch}: ${bad.join(', ')} (build them with node test/c/build-test-binaries.mjs)`;
}

/**
 * libbpf's helper probe (libbpf_probe_bpf_helper): a socket filter that calls the helper with
 * no arguments; the verifier says "invalid func" / "unknown func" when it does not know it,
 * and complains about the arguments when it does.
 */
export function helperMissing(id: number, name: string, since: string): string | null {
  const bpf = missing('bpf');
  if (bpf) return bpf;
  const insns = A.bytes(24);
  insns[0] = U.BPF_JMP | U.BPF_CALL;
  new DataView(insns.buffer).setInt32(4, id, true);
  insns[8] = U.BPF_ALU64 | U.BPF_MOV | U.BPF_K; // r0 = 0
  insns[16] = U.BPF_JMP | U.BPF_EXIT;
  try {
    A.progLoad({ progType: U.BPF_PROG_TYPE_SOCKET_FILTER, insns, license: 'GPL', name: 'probe' }).close();
    return null;
  } catch (e) {
    const log = String((e as SyscallError).details?.log ?? '');
    if (/invalid func |unknown func /.test(log)) return `the kernel does not know the ${name}() helper (Linux ${since}+)`;
    if (log) return null; // known; the probe's missing arguments were refused
    return `probing the ${name}() helper failed: ${errText(e)}`;
  }
}

const DETECT: Record<Need, () => string | null> = {
  bpf() {
    if (process.platform !== 'linux') return `not Linux (${process.platform})`;
    if (process.geteuid?.() !== 0) return 'not root (real-kernel tests need root or CAP_BPF)';
    try {
      A.mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }).close();
      return null;
    } catch (e) {
      if ((e as Error).name === 'PermissionError') return `bpf() answered EPERM: ${(e as Error).message}`;
      throw e;
    }
  },
  btf: () => (existsSync('/sys/kernel/btf/vmlinux') ? null : 'no kernel BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)'),
  kprobe: kprobeMissing,
  kretprobe() {
    const k = kprobeMissing();
    if (k) return k;
    if (existsSync('/sys/bus/event_source/devices/kprobe') && !existsSync('/sys/bus/event_source/devices/kprobe/format/retprobe') && !tracefsFile('kprobe_events')) {
      return 'the kprobe PMU has no retprobe format bit and there is no kprobe_events in tracefs';
    }
    return null;
  },
  ksyscall() {
    const k = kprobeMissing();
    if (k) return k;
    const prefix = syscallPrefix();
    if (!prefix) return `no known syscall wrapper prefix for ${process.arch}`;
    const has = kallsymsHas(`${prefix}read`);
    if (has === null) return '/proc/kallsyms is not readable';
    return has ? null : `${prefix}read is not in /proc/kallsyms (no syscall wrappers on this kernel)`;
  },
  kprobe_multi() {
    // multi-kprobe links are fprobe based: the link code exists only with CONFIG_FPROBE
    const has = kallsymsHas('bpf_kprobe_multi_link_release');
    if (has === null) return '/proc/kallsyms is not readable';
    return has ? null : 'bpf_kprobe_multi_link_release is not in /proc/kallsyms: the kernel has no multi-kprobe links (Linux 5.18+ with CONFIG_FPROBE)';
  },
  kprobe_session() {
    const multi = missing('kprobe_multi');
    if (multi) return multi;
    // the session kfuncs came with the link type
    const has = kallsymsHas('bpf_session_cookie');
    if (has === null) return '/proc/kallsyms is not readable';
    return has ? null : 'bpf_session_cookie is not in /proc/kallsyms: the kernel has no kprobe.session links (Linux 6.10+)';
  },
  uprobe_multi() {
    const up = missing('uprobe');
    if (up) return up;
    const has = kallsymsHas('bpf_uprobe_multi_link_attach');
    if (has === null) return '/proc/kallsyms is not readable';
    return has ? null : 'bpf_uprobe_multi_link_attach is not in /proc/kallsyms: the kernel has no uprobe.multi links (Linux 6.6+ with CONFIG_UPROBES)';
  },
  uprobe() {
    if (existsSync('/sys/bus/event_source/devices/uprobe') || tracefsFile('uprobe_events')) return null;
    return 'no uprobe perf PMU (/sys/bus/event_source/devices/uprobe) and no uprobe_events in tracefs: the kernel was built without CONFIG_UPROBE_EVENTS';
  },
  struct_ops() {
    // a tcp_congestion_ops.ssthresh program that returns 2, loaded for real
    const btf = kernelBtf();
    if (!btf) return 'no kernel BTF at /sys/kernel/btf/vmlinux';
    const ops = btf.findAllByName('tcp_congestion_ops').find((t) => t.kind === U.BTF_KIND_STRUCT);
    if (!ops || !btf.findAllByName('bpf_struct_ops_tcp_congestion_ops').length) {
      return 'the kernel BTF has no struct bpf_struct_ops_tcp_congestion_ops: no BPF TCP congestion controls (struct_ops, Linux 5.6+, CONFIG_BPF_JIT)';
    }
    const member = (ops as { members: readonly { name: string }[] }).members.findIndex((m) => m.name === 'ssthresh');
    const insns = new Uint8Array(16);
    insns[0] = U.BPF_ALU64 | U.BPF_MOV | U.BPF_K;
    insns[4] = 2; // r0 = 2
    insns[8] = U.BPF_JMP | U.BPF_EXIT;
    try {
      A.progLoad({ progType: U.BPF_PROG_TYPE_STRUCT_OPS, insns, license: 'GPL', expectedAttachType: member, attachBtfId: ops.id, name: 'probe' }).close();
      return null;
    } catch (e) {
      return `a minimal tcp_congestion_ops.ssthresh struct_ops program is refused: ${(e as Error).message}`;
    }
  },
  struct_ops_link() {
    const so = missing('struct_ops');
    if (so) return so;
    const has = kallsymsHas('bpf_struct_ops_link_create');
    if (has === null) return '/proc/kallsyms is not readable';
    return has ? null : 'bpf_struct_ops_link_create is not in /proc/kallsyms: the kernel has no struct_ops links (BPF_F_LINK, Linux 6.4+)';
  },
  iter_task() {
    const bpf = missing('bpf') ?? missing('btf');
    if (bpf) return bpf;
    const id = kernelBtfId('bpf_iter_task', 'func');
    if (id === null) return "bpf_iter_task is not in the kernel's BTF: no task iterator (Linux 5.8+)";
    let prog: OwnedFd;
    try {
      prog = A.progLoad({ progType: U.BPF_PROG_TYPE_TRACING, insns: RET0, license: 'GPL', expectedAttachType: U.BPF_TRACE_ITER, attachBtfId: id, name: 'probe' });
    } catch (e) {
      return `BPF_PROG_LOAD of a minimal iter/task program fails: ${errText(e)}`;
    }
    try {
      A.linkCreate({ progFd: prog.fd, targetFd: 0, attachType: U.BPF_TRACE_ITER }).close();
      return null;
    } catch (e) {
      return `a minimal iter/task program loads but BPF_LINK_CREATE refuses it: ${errText(e)}`;
    } finally {
      prog.close();
    }
  },
  fentry: () => loadAndAttachBtf(U.BPF_PROG_TYPE_TRACING, U.BPF_TRACE_FENTRY, HOOK_FUNC, 'func'),
  fexit: () => loadAndAttachBtf(U.BPF_PROG_TYPE_TRACING, U.BPF_TRACE_FEXIT, HOOK_FUNC, 'func'),
  tp_btf: () => loadAndAttachBtf(U.BPF_PROG_TYPE_TRACING, U.BPF_TRACE_RAW_TP, 'btf_trace_sys_enter', 'typedef'),
  lsm() {
    const lsms = activeLsms();
    if (lsms && !lsms.list.includes('bpf')) return `the BPF LSM is not active (${lsms.from}: ${lsms.list.join(',')}); boot with lsm=...,bpf`;
    const load = loadAndAttachBtf(U.BPF_PROG_TYPE_LSM, U.BPF_LSM_MAC, `bpf_lsm_${LSM_HOOK}`, 'func');
    if (load) return load;
    if (!lsms) return 'cannot tell whether the BPF LSM is active: no /sys/kernel/security/lsm (mount securityfs), no lsm= on the command line, no CONFIG_LSM in /boot';
    return null;
  },
  raw_tp() {
    const bpf = missing('bpf');
    if (bpf) return bpf;
    let prog: OwnedFd;
    try {
      prog = A.progLoad({ progType: U.BPF_PROG_TYPE_RAW_TRACEPOINT, insns: RET0, license: 'GPL', name: 'probe' });
    } catch (e) {
      return `BPF_PROG_LOAD of a raw_tracepoint program fails: ${errText(e)}`;
    }
    try {
      A.rawTracepointOpen('sys_enter', prog.fd).close();
      return null;
    } catch (e) {
      return `BPF_RAW_TRACEPOINT_OPEN(sys_enter) fails: ${errText(e)}`;
    } finally {
      prog.close();
    }
  },
  ringbuf() {
    const bpf = missing('bpf');
    if (bpf) return bpf;
    try {
      A.mapCreate({ mapType: U.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 * 4 }).close();
      return null;
    } catch (e) {
      return `BPF_MAP_CREATE of a BPF_MAP_TYPE_RINGBUF fails: ${errText(e)} (ring buffers need Linux 5.8+)`;
    }
  },
  btf_float: () => btfKindMissing('btf_float'),
  btf_decl_tag: () => btfKindMissing('btf_decl_tag'),
  btf_type_tag: () => btfKindMissing('btf_type_tag'),
  btf_enum64: () => btfKindMissing('btf_enum64'),
  perf_link() {
    // libbpf's probe_perf_link: a kernel with perf links looks at the (bad) perf event fd
    const bpf = missing('bpf');
    if (bpf) return bpf;
    using prog = A.progLoad({ progType: U.BPF_PROG_TYPE_TRACEPOINT, insns: RET0, license: 'GPL', name: 'probe' });
    try {
      A.linkCreate({ progFd: prog.fd, targetFd: 0x7fffffff, attachType: U.BPF_PERF_EVENT }).close();
      return 'BPF_LINK_CREATE(BPF_PERF_EVENT) accepted a bad perf event fd';
    } catch (e) {
      return e instanceof SyscallError && e.errnoName === 'EBADF' ? null
        : `BPF_LINK_CREATE(BPF_PERF_EVENT) answers ${errText(e)}, not EBADF: no perf-event BPF links (Linux 5.15+)`;
    }
  },
  perf_link_info() {
    const pl = missing('perf_link');
    if (pl) return pl;
    using perf = A.perfEventOpen(A.perfEventAttr({ type: U.PERF_TYPE_SOFTWARE, config: U.PERF_COUNT_SW_DUMMY, samplePeriod: 1n << 40n }), 0, -1);
    using prog = A.progLoad({ progType: U.BPF_PROG_TYPE_PERF_EVENT, insns: RET0, license: 'GPL', name: 'probe' });
    using link = A.linkCreate({ progFd: prog.fd, targetFd: perf.fd, attachType: U.BPF_PERF_EVENT });
    const t = A.objGetInfo(link.fd, 'bpf_link_info').get('perf_event.type');
    return t === U.BPF_PERF_EVENT_EVENT ? null
      : `bpf_link_info of a perf-event link does not say what the event is (perf_event.type ${t}; Linux 6.6+ fills it)`;
  },
  tcx() {
    // with tcx links the kernel looks the (absent) device up: ENODEV; without, the attach type is unknown: EINVAL
    const bpf = missing('bpf');
    if (bpf) return bpf;
    using prog = A.progLoad({ progType: U.BPF_PROG_TYPE_SCHED_CLS, insns: RET0, license: 'GPL', name: 'probe', expectedAttachType: U.BPF_TCX_INGRESS });
    try {
      A.linkCreate({ progFd: prog.fd, targetIfindex: 0x7ffffff0, attachType: U.BPF_TCX_INGRESS }).close();
      return 'BPF_LINK_CREATE(BPF_TCX_INGRESS) succeeded on a device that does not exist';
    } catch (e) {
      return e instanceof SyscallError && e.errnoName === 'ENODEV' ? null
        : `BPF_LINK_CREATE(BPF_TCX_INGRESS) answers ${errText(e)}, not ENODEV: no tcx links (Linux 6.6+)`;
    }
  },
  netkit() {
    // a pair created and deleted for real (no iproute2 needed): EOPNOTSUPP where the kind is unknown
    if (process.geteuid?.() !== 0) return 'not root (creating network devices needs CAP_NET_ADMIN)';
    const name = `nkprobe${process.pid}`;
    try {
      createNetkit(name, `${name}p`);
    } catch (e) {
      const err = errText(e);
      return err === 'EOPNOTSUPP'
        ? `the kernel cannot create netkit devices (rtnetlink RTM_NEWLINK kind "netkit": EOPNOTSUPP): netkit is Linux 6.7+ with CONFIG_NETKIT, this is ${release()}`
        : `creating a netkit pair over rtnetlink fails: ${err}`;
    }
    deleteLink(name);
    return null;
  },
  bpf_loop: () => helperMissing(U.BPF_FUNC_loop, 'bpf_loop', '5.17'),
  bash: () => (spawnSync('bash', ['-c', 'true']).status === 0 ? null : 'bash is not installed (the test sends datagrams with its /dev/udp redirections)'),
  kconfig: () => (kernelConfigFile() ? null : `no kernel config: neither /proc/config.gz nor /boot/config-${release()}`),
  cgroup2() {
    const mounted = readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[2] === 'cgroup2');
    return mounted ? null : 'no cgroup2 filesystem is mounted';
  },
  test_binaries: testBinariesMissing,
  gcc: () => (spawnSync('gcc', ['--version']).status === 0 ? null : 'gcc is not installed (the test compiles and inspects ELF files with gcc and readelf)'),
  xz: () => (spawnSync('xz', ['--version']).status === 0 ? null : 'the xz command is not installed (testdata/btf fixtures are .xz)'),
  ip: () => (spawnSync('ip', ['-V']).status === 0 ? null : 'the ip command (iproute2) is not installed'),
};
