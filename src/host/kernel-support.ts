// What the running kernel can attach, asked the way libbpf and bpftool ask: probe loads
// of the program type, an attach probe where a type loads but cannot attach (no BPF
// trampolines), the perf PMUs and tracefs for probes. A failed load or attach of such a
// program becomes a NotSupportedError naming what the kernel lacks.
import { readFileSync } from 'node:fs';
import { NotSupportedError, SyscallError } from '../errors.js';
import { parseBtf } from '../btf/reader.js';
import { BTF_KIND_FUNC } from '../btf/kinds.js';
import * as A from './attr.js';
import type { OwnedFd } from './fd.js';
import * as U from './generated/uapi.js';
import { enumName, getSyscalls } from './syscall.js';
import { pmuType, probeEventsAvailable } from './tracefs.js';
import { zlib } from '../lazy-modules.js';

function isErrno(e: unknown, names: ReadonlySet<string> | string[]): e is SyscallError {
  const set = Array.isArray(names) ? new Set(names) : names;
  return e instanceof SyscallError && set.has(e.errnoName);
}

let kconfigCache: Map<string, string> | null | undefined;

/** CONFIG_* values from /proc/config.gz (null when the kernel does not expose its config). */
export function kernelConfig(): Map<string, string> | null {
  if (kconfigCache !== undefined) return kconfigCache;
  kconfigCache = null;
  try {
    const text = zlib().gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
    const m = new Map<string, string>();
    for (const line of text.split('\n')) {
      const set = /^(CONFIG_\w+)=(.*)$/.exec(line);
      if (set) m.set(set[1], set[2]);
      const unset = /^# (CONFIG_\w+) is not set$/.exec(line);
      if (unset) m.set(unset[1], 'n');
    }
    kconfigCache = m;
  } catch { /* no /proc/config.gz */ }
  return kconfigCache;
}

function configNote(names: string[]): string {
  const cfg = kernelConfig();
  if (!cfg) return '';
  const parts = names.map((n) => `${n}=${cfg.get(n) ?? 'n'}`);
  return ` (/proc/config.gz: ${parts.join(', ')})`;
}

function privileged(): boolean {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (!m) return getSyscalls().geteuid() === 0;
    const caps = BigInt(`0x${m[1]}`);
    const has = (bit: number): boolean => ((caps >> BigInt(bit)) & 1n) === 1n;
    return has(21) || (has(39) && has(38)); // CAP_SYS_ADMIN, or CAP_BPF + CAP_PERFMON
  } catch {
    return getSyscalls().geteuid() === 0;
  }
}

function readSecurityFile(name: string): string | null {
  try {
    return readFileSync(`/sys/kernel/security/${name}`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** libbpf's program type probe: load `r0 = 0; exit` with attach_btf_id 1; EINVAL means the type exists. */
function probeProgType(progType: number, expectedAttachType: number): SyscallError | null {
  const insns = A.bytes(16);
  insns[0] = U.BPF_ALU64 | U.BPF_MOV | U.BPF_K; // r0 = 0
  insns[8] = U.BPF_JMP | U.BPF_EXIT;
  try {
    const fd = getSyscalls().bpf(U.BPF_PROG_LOAD, A.progLoadAttr({ progType, insns, license: 'GPL', expectedAttachType, attachBtfId: 1 }).buf);
    getSyscalls().close(fd); // loaded (unexpectedly): the type certainly exists
    return null;
  } catch (e) {
    if (isErrno(e, ['EINVAL'])) return null;
    if (e instanceof SyscallError) return e;
    throw e;
  }
}

/**
 * A kernel may have the program type and still no BPF trampoline to attach it with (arm64
 * before 6.4): load `r0 = 0; exit` against kernel function `target` and attach it (then
 * close both). The refusal (ENOTSUPP), or null when it attaches or cannot be tried.
 */
function attachProbeRefused(progType: number, attachType: number, target: string): SyscallError | null {
  let id: number | undefined;
  try {
    id = parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux'))).findAllByName(target).find((t) => t.kind === BTF_KIND_FUNC)?.id;
  } catch {
    return null;
  }
  if (!id) return null;
  const insns = A.bytes(16);
  insns[0] = U.BPF_ALU64 | U.BPF_MOV | U.BPF_K; // r0 = 0 (an LSM hook: allow)
  insns[8] = U.BPF_JMP | U.BPF_EXIT;
  let prog: OwnedFd;
  try {
    prog = A.progLoad({ progType, insns, license: 'GPL', expectedAttachType: attachType, attachBtfId: id, name: 'probe' });
  } catch {
    return null;
  }
  try {
    A.rawTracepointOpen(null, prog.fd).close();
    return null;
  } catch (e) {
    return isErrno(e, ['ENOTSUPP', 'EOPNOTSUPP']) ? (e as SyscallError) : null;
  } finally {
    prog.close();
  }
}

export type KernelFeature = 'kprobe' | 'uprobe' | 'fentry' | 'lsm' | 'freplace' | 'struct_ops';

// per syscall layer: a simulated kernel's answers must never stand for the real one's
const featureCaches = new WeakMap<object, Map<KernelFeature, NotSupportedError | null>>();
function featureCacheOf(): Map<KernelFeature, NotSupportedError | null> {
  const sys = getSyscalls();
  let c = featureCaches.get(sys);
  if (!c) featureCaches.set(sys, (c = new Map()));
  return c;
}

/**
 * Whether the kernel can attach `feature`; null when it can, else the NotSupportedError
 * (naming what is missing) that attaching would throw. Cached per process.
 *   kprobe: a 'kprobe' perf PMU or tracefs kprobe_events (CONFIG_KPROBE_EVENTS);
 *   uprobe: the same for uprobes (CONFIG_UPROBE_EVENTS);
 *   fentry: BPF trampolines, probed with a BPF_PROG_TYPE_TRACING/BPF_TRACE_FENTRY load (as libbpf and bpftool do);
 *   lsm:    BPF LSM, probed with a BPF_PROG_TYPE_LSM/BPF_LSM_MAC load, plus 'bpf' in the active LSM list;
 *   freplace: extension programs, probed with a BPF_PROG_TYPE_EXT load;
 *   struct_ops: BPF_PROG_TYPE_STRUCT_OPS programs (BPF trampolines), probed with a load.
 */
export function checkKernelSupport(feature: KernelFeature): NotSupportedError | null {
  const featureCache = featureCacheOf();
  if (featureCache.has(feature)) return featureCache.get(feature)!;
  let err: NotSupportedError | null = null;
  switch (feature) {
    case 'kprobe':
    case 'uprobe': {
      if (pmuType(feature) === null && !probeEventsAvailable(feature)) {
        const cfg = `CONFIG_${feature.toUpperCase()}_EVENTS`;
        err = new NotSupportedError(
          `${feature}s are not available on this kernel: there is no '${feature}' perf PMU (/sys/bus/event_source/devices/${feature}) ` +
          `and no ${feature}_events file in tracefs; the kernel was built without ${cfg}` +
          configNote(feature === 'kprobe' ? ['CONFIG_KPROBES', cfg] : ['CONFIG_UPROBES', cfg]),
          { feature: cfg });
      }
      break;
    }
    case 'fentry': {
      const e = probeProgType(U.BPF_PROG_TYPE_TRACING, U.BPF_TRACE_FENTRY);
      // EPERM without privileges is a permission problem, not a missing feature
      if (e && !(e.errnoName === 'EPERM' && !privileged())) {
        const lockdown = readSecurityFile('lockdown');
        err = new NotSupportedError(
          `fentry/fexit/fmod_ret programs are not available on this kernel: BPF trampolines (BPF_PROG_TYPE_TRACING with ` +
          `BPF_TRACE_FENTRY) are refused — a probe BPF_PROG_LOAD fails with ${e.errnoName} where a kernel with trampolines ` +
          `answers EINVAL, although this process is privileged; they need CONFIG_BPF_JIT, CONFIG_FUNCTION_TRACER and CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS` +
          configNote(['CONFIG_BPF_JIT', 'CONFIG_FUNCTION_TRACER', 'CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS']) +
          (lockdown ? `; lockdown: ${lockdown}` : ''),
          { feature: 'BPF trampolines (fentry/fexit)', errno: e.errno, errnoName: e.errnoName });
      } else if (!e) {
        const r = attachProbeRefused(U.BPF_PROG_TYPE_TRACING, U.BPF_TRACE_FENTRY, 'vfs_read');
        if (r) {
          err = new NotSupportedError('fentry/fexit/fmod_ret programs are not available on this kernel: BPF trampolines are missing — '
            + `a probe fentry program on vfs_read loads but its attach answers ${r.errnoName} (no ftrace direct calls for trampolines `
            + 'on this architecture; arm64 has them since 6.4)', { feature: 'BPF trampolines (fentry/fexit)', errno: r.errno, errnoName: r.errnoName });
        }
      }
      break;
    }
    case 'freplace': {
      const e = probeProgType(U.BPF_PROG_TYPE_EXT, 0);
      if (e && !(e.errnoName === 'EPERM' && !privileged())) {
        err = new NotSupportedError(
          `freplace programs (BPF_PROG_TYPE_EXT) are not available on this kernel: a probe BPF_PROG_LOAD fails with ${e.errnoName} ` +
          'where a kernel with extension programs answers EINVAL, although this process is privileged; they need CONFIG_BPF_JIT and BPF trampolines' +
          configNote(['CONFIG_BPF_JIT']), { feature: 'BPF_PROG_TYPE_EXT', errno: e.errno, errnoName: e.errnoName });
      }
      break;
    }
    case 'struct_ops': {
      // a kernel with the type refuses attach_btf_id 1 (not an ops struct) with EINVAL or ENOTSUPP
      const e = probeProgType(U.BPF_PROG_TYPE_STRUCT_OPS, 0);
      if (e && e.errnoName !== 'ENOTSUPP' && !(e.errnoName === 'EPERM' && !privileged())) {
        err = new NotSupportedError(
          `struct_ops programs (BPF_PROG_TYPE_STRUCT_OPS) are not available on this kernel: a probe BPF_PROG_LOAD fails with ${e.errnoName} ` +
          'where a kernel with struct_ops answers EINVAL or ENOTSUPP, although this process is privileged; they need Linux 5.6+, ' +
          'CONFIG_BPF_JIT and BPF trampolines' + configNote(['CONFIG_BPF_JIT', 'CONFIG_BPF_SYSCALL']),
          { feature: 'BPF_PROG_TYPE_STRUCT_OPS', errno: e.errno, errnoName: e.errnoName });
      }
      break;
    }
    case 'lsm': {
      const lsms = readSecurityFile('lsm');
      const e = probeProgType(U.BPF_PROG_TYPE_LSM, U.BPF_LSM_MAC);
      if (e && !(e.errnoName === 'EPERM' && !privileged())) {
        err = new NotSupportedError(
          `BPF LSM programs are not available on this kernel: a probe BPF_PROG_LOAD of BPF_PROG_TYPE_LSM (BPF_LSM_MAC) fails with ` +
          `${e.errnoName} where a kernel with the BPF LSM answers EINVAL; it needs CONFIG_BPF_LSM and 'bpf' in the lsm= boot list` +
          configNote(['CONFIG_BPF_LSM']) + (lsms !== null ? `; active LSMs: ${lsms}` : ''),
          { feature: 'CONFIG_BPF_LSM', errno: e.errno, errnoName: e.errnoName });
      } else if (lsms !== null && !lsms.split(',').includes('bpf')) {
        err = new NotSupportedError(`BPF LSM programs cannot run: the 'bpf' LSM is not active (active LSMs: ${lsms}); add 'bpf' to the lsm= boot parameter`,
          { feature: 'lsm=bpf' });
      } else if (!e) {
        const r = attachProbeRefused(U.BPF_PROG_TYPE_LSM, U.BPF_LSM_MAC, 'bpf_lsm_file_ioctl');
        if (r) {
          err = new NotSupportedError('BPF LSM programs are not available on this kernel: a probe LSM program on bpf_lsm_file_ioctl loads but '
            + `its attach answers ${r.errnoName} (LSM programs attach through BPF trampolines, which this architecture lacks here; arm64 has them since 6.4)`,
            { feature: 'CONFIG_BPF_LSM', errno: r.errno, errnoName: r.errnoName });
        }
      }
      break;
    }
  }
  featureCache.set(feature, err);
  return err;
}

/** The kernel feature a program of this type / attach type needs beyond plain BPF, if any. */
export function featureOf(progType: number, expectedAttachType: number): KernelFeature | null {
  if (progType === U.BPF_PROG_TYPE_LSM) return 'lsm';
  if (progType === U.BPF_PROG_TYPE_EXT) return 'freplace';
  if (progType === U.BPF_PROG_TYPE_STRUCT_OPS) return 'struct_ops';
  if (progType === U.BPF_PROG_TYPE_TRACING &&
      (expectedAttachType === U.BPF_TRACE_FENTRY || expectedAttachType === U.BPF_TRACE_FEXIT || expectedAttachType === U.BPF_MODIFY_RETURN)) return 'fentry';
  return null;
}

const TRANSIENT = new Set(['ENOMEM', 'EAGAIN', 'EINTR', 'EBADF', 'E2BIG', 'EFAULT']);

/**
 * For a failed BPF_PROG_LOAD (or attach): the NotSupportedError to throw instead when the
 * program needs a kernel feature that is missing (fentry/fexit/fmod_ret, LSM), else null.
 */
export function explainUnsupported(progType: number, expectedAttachType: number, err: unknown): NotSupportedError | null {
  if (!(err instanceof SyscallError)) return null;
  // out of memory, interrupted, a bad fd, too many instructions: the kernel has the feature
  // and said something else; only a refusal is worth probing for what it lacks
  if (TRANSIENT.has(err.errnoName)) return null;
  const young = youngProgType(progType, expectedAttachType, err);
  if (young) return young;
  const f = featureOf(progType, expectedAttachType);
  if (!f) return null;
  let ns = checkKernelSupport(f);
  if (!ns && err.errnoName === 'ENOTSUPP' && f === 'freplace') {
    ns = new NotSupportedError('freplace programs cannot attach on this kernel: the program loads but its attach answers ENOTSUPP '
      + '(the BPF trampoline that patches the target program is missing on this architecture)',
    { feature: 'BPF_PROG_TYPE_EXT', errno: err.errno, errnoName: err.errnoName });
  } else if (!ns && err.errnoName === 'ENOTSUPP' && (f === 'fentry' || f === 'lsm')) {
    // the program loaded but the attach is refused: the kernel has the program type and no
    // BPF trampoline to hook it with (arm64 before 6.4, without ftrace direct calls); the
    // load probe cannot tell, so what the attach said is remembered for checkKernelSupport
    ns = f === 'fentry'
      ? new NotSupportedError('fentry/fexit/fmod_ret programs are not available on this kernel: BPF trampolines are missing — the '
        + 'program loads but BPF_LINK_CREATE answers ENOTSUPP (no ftrace direct calls for trampolines on this architecture; arm64 has them since 6.4)',
        { feature: 'BPF trampolines (fentry/fexit)', errno: err.errno, errnoName: err.errnoName })
      : new NotSupportedError('BPF LSM programs are not available on this kernel: the program loads but BPF_LINK_CREATE answers ENOTSUPP '
        + '(LSM programs attach through BPF trampolines, which this kernel lacks on this architecture; arm64 has them since 6.4)',
        { feature: 'CONFIG_BPF_LSM', errno: err.errno, errnoName: err.errnoName });
    featureCacheOf().set(f, ns);
  }
  if (!ns) return null;
  // the call and errno stay in the message: the probe's verdict explains them, never hides them
  return new NotSupportedError(`${ns.message} [${err.message}]`, { ...ns.details }, { cause: err });
}


// Program types younger than the oldest kernels we run on, with the release that brought them.
const PROG_TYPE_SINCE: Record<number, string> = {
  [U.BPF_PROG_TYPE_SK_LOOKUP]: '5.9',
  [U.BPF_PROG_TYPE_NETFILTER]: '6.4',
};

/**
 * A load refused with EINVAL of a program type the kernel may not know: a minimal program of
 * that type (`r0 = 1; exit`, a valid verdict for all of them) tells; when it fails too, the
 * NotSupportedError names the release the type needs.
 */
function youngProgType(progType: number, expectedAttachType: number, err: SyscallError): NotSupportedError | null {
  const since = PROG_TYPE_SINCE[progType];
  if (!since || err.errnoName !== 'EINVAL') return null;
  const insns = A.bytes(16);
  insns[0] = U.BPF_ALU64 | U.BPF_MOV | U.BPF_K;
  new DataView(insns.buffer).setInt32(4, 1, true); // r0 = 1
  insns[8] = U.BPF_JMP | U.BPF_EXIT;
  try {
    A.progLoad({ progType, insns, license: 'GPL', expectedAttachType, name: 'probe' }).close();
    return null; // the type exists: the program itself was refused
  } catch (e) {
    if (!isErrno(e, ['EINVAL'])) return null;
  }
  const type = enumName(U.bpf_prog_type, progType) ?? `program type ${progType}`;
  const name = type.replace(/^BPF_PROG_TYPE_/, '').toLowerCase();
  return new NotSupportedError(`${name} programs need Linux ${since}+: this kernel does not know ${type} `
    + `(a minimal ${name} program is refused with EINVAL too)`, { feature: type, since, errno: err.errno, errnoName: err.errnoName }, { cause: err });
}
