// RLIMIT_MEMLOCK, as libbpf's bump_rlimit_memlock() handles it: kernels before 5.11 charge
// BPF maps and programs to the locked-memory limit (a ring buffer map alone needs more
// than the usual 64 KiB-8 MiB), later ones charge them to the memory cgroup. libbpf tells
// the two apart by probe_memcg_account() (bpf_ktime_get_coarse_ns came in the same
// release) and, on the older kernels, raises the limit to infinity once per process.
import { endianness } from 'node:os';
import { progLoadAttr } from './attr.js';
import * as U from './generated/uapi.js';
import { getSyscalls, type Rlimit, type Syscalls } from './syscall.js';
import { SyscallError } from '../errors.js';

/**
 * libbpf's probe_memcg_account() (bpf.c): a socket filter calling bpf_ktime_get_coarse_ns(),
 * which came in the release that moved BPF memory to memory cgroups (5.11). 1 when it loads.
 * The two instructions are encoded here by hand: this module sits below attr.ts (whose
 * creating calls ask for the decision) and may use nothing of it at load time.
 */
export function probeMemcgAccount(): number {
  const insns = new Uint8Array(16);
  const le = endianness() === 'LE';
  insns[0] = U.BPF_JMP | U.BPF_CALL;
  new DataView(insns.buffer).setInt32(4, U.BPF_FUNC_ktime_get_coarse_ns, le);
  insns[8] = U.BPF_JMP | U.BPF_EXIT;
  const sys = getSyscalls();
  let fd: number;
  try {
    fd = sys.bpf(U.BPF_PROG_LOAD, progLoadAttr({ progType: U.BPF_PROG_TYPE_SOCKET_FILTER, insns, license: 'GPL' }).buf);
  } catch (e) {
    if (e instanceof SyscallError) return 0;
    throw e;
  }
  sys.close(fd);
  return 1;
}

export const RLIM_INFINITY = U.LIBC_RLIM_INFINITY;

/** What {@link setMemlockLimit} decided about RLIMIT_MEMLOCK, as libbpf does. */
export interface MemlockDecision {
  /** the kernel charges BPF memory to memory cgroups (5.11+): the limit is left alone */
  memcgAccount: boolean;
  /** the limit was raised (to `limit`) by this process */
  raised: boolean;
  /** the limit wanted: libbpf's default, RLIM_INFINITY (0 disables raising) */
  limit: bigint;
  /** errno name when setrlimit failed (not root / no CAP_SYS_RESOURCE): loads may then fail with EPERM */
  error?: string;
}

let decided: { sys: Syscalls; decision: MemlockDecision } | null = null;
let wantedLimit = RLIM_INFINITY;

/**
 * libbpf_set_memlock_rlim(): the value to raise RLIMIT_MEMLOCK to on kernels that need it
 * (0: never touch it). Only before the first load, as in libbpf.
 */
export function setMemlockLimit(bytes: bigint | number): void {
  if (decided) throw new Error('RLIMIT_MEMLOCK was already handled for this process: set the limit before the first load');
  wantedLimit = BigInt(bytes);
}

/**
 * Before creating BPF objects: raise RLIMIT_MEMLOCK when this kernel charges BPF memory to
 * it. Decided once per process (per syscall layer); returns the decision.
 */
export function bumpMemlockRlimit(): MemlockDecision {
  const sys = getSyscalls();
  if (decided && decided.sys === sys) return decided.decision;
  const memcgAccount = probeMemcgAccount() > 0;
  const decision: MemlockDecision = { memcgAccount, raised: false, limit: wantedLimit };
  if (!memcgAccount && wantedLimit !== 0n) {
    const lim: Rlimit = { cur: wantedLimit, max: wantedLimit };
    try {
      sys.setrlimit(U.LIBC_RLIMIT_MEMLOCK, lim);
      decision.raised = true;
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      decision.error = e.errnoName;
    }
  }
  decided = { sys, decision };
  return decision;
}

/** Forget the decision (tests). */
export function resetMemlock(): void {
  decided = null;
  wantedLimit = RLIM_INFINITY;
}
