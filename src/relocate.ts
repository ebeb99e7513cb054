// Public relocation API: relocate(object, {btf, ...}) -> load plan + CO-RE report,
// computed by libbpf in a worker thread.
import { machine, release, version } from 'node:os';
import { readInput, objectNameOf, sha256, HOST_BTF_PATH } from './inputs.js';
import type { LoadPlan, RelocationRecord } from './plan.js';
import { WorkerPool, type PoolOptions } from './worker/pool.js';
import type { LogLevel, RelocateStats } from './worker/service.js';

export interface RelocateOptions {
  /** target kernel BTF: bytes, or a path (raw BTF, vmlinux ELF, or .xz of either);
   *  default: this machine's /sys/kernel/btf/vmlinux */
  btf?: Uint8Array | string;
  /** kernel config text (CONFIG_FOO=y lines) for .kconfig externs */
  kconfig?: string;
  /** uname -r of the target: drives LINUX_KERNEL_VERSION and the programs' kern_version */
  kernelRelease?: string;
  /** uname -v of the target (Debian kernels put their real version there) */
  kernelVersion?: string;
  machine?: string;
  pageSize?: number;
  /** libbpf kernel features to assume (default: all supported), e.g. { btf_enum64: false } */
  features?: Record<string, boolean>;
  /** /proc/kallsyms text, for typeless __ksym externs */
  kallsyms?: string;
  /** name libbpf gives the object (default: file name without extensions, or 'obj') */
  objectName?: string;
  /** libbpf messages kept in `log`: 'warn', 'info' (default) or 'debug' */
  logLevel?: LogLevel;
}

export interface RelocateResult {
  plan: LoadPlan;
  relocations: RelocationRecord[];
  /** true when every CO-RE relocation resolved */
  ok: boolean;
  failed: RelocationRecord[];
  stats: RelocateStats;
  /** libbpf's debug log of the run */
  log: string;
}

/** A set of relocation workers; each keeps the target BTFs it parsed for later objects. */
export class Relocator {
  readonly pool: WorkerPool;
  private btfKeys = new WeakMap<Uint8Array, string>();

  constructor(opts: PoolOptions = {}) {
    this.pool = new WorkerPool(opts);
  }

  async relocate(object: Uint8Array | string, opts: RelocateOptions = {}): Promise<RelocateResult> {
    const objectBytes = typeof object === 'string' ? readInput(object, 'BPF object') : object;
    const objectName = opts.objectName ?? (typeof object === 'string' ? objectNameOf(object) : 'obj');
    const btfSrc = opts.btf ?? HOST_BTF_PATH;
    // relocating for this machine's kernel: its uname is the natural default
    const host = btfSrc === HOST_BTF_PATH ? hostKernel() : undefined;
    const btf = typeof btfSrc === 'string' ? readInput(btfSrc, 'target BTF') : btfSrc;
    let btfKey = this.btfKeys.get(btf);
    if (!btfKey) {
      btfKey = sha256(btf);
      this.btfKeys.set(btf, btfKey);
    }
    const out = await this.pool.relocate({
      object: objectBytes, objectName, btf, btfKey,
      kconfig: opts.kconfig, kallsyms: opts.kallsyms, kernelRelease: opts.kernelRelease ?? host?.release,
      kernelVersion: opts.kernelVersion ?? host?.version, machine: opts.machine ?? host?.machine, pageSize: opts.pageSize, features: opts.features, logLevel: opts.logLevel,
    });
    const failed = out.relocations.filter((r) => r.status === 'failed');
    return { ...out, ok: failed.length === 0, failed };
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function hostKernel(): { release: string; version: string; machine: string } {
  return { release: release(), version: version(), machine: machine() };
}

let shared: Relocator | undefined;

/** Relocate with a shared Relocator (workers are created on first use and do not keep the process alive). */
export function relocate(object: Uint8Array | string, opts: RelocateOptions = {}): Promise<RelocateResult> {
  shared ??= new Relocator();
  return shared.relocate(object, opts);
}
