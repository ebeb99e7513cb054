// Public relocation API: relocate(object, {btf, ...}) -> load plan + CO-RE report,
// computed by libbpf in a worker thread.
import { machine, release, version } from 'node:os';
import { statSync } from 'node:fs';
import { fileIdentity, readInput, readInputShared, objectNameOf, sha256, HOST_BTF_PATH } from './inputs.js';
import { knownObject, readObjectFile } from './object-bytes.js';
import { ResultCache, type OpenKey } from './relocate-cache.js';
import { diskCache, resolveCacheDir, type DiskCache } from './disk-cache.js';
import { buildIdentity, openDescription, readResult, readSpec, relocateDescription, targetIdentity, writeResult, writeSpec } from './relocate-disk.js';
import { rememberDigest, rememberPlanLater } from './plan-origin.js';
import { hostBtfPath } from './host/kernel-files.js';
import type { Adjustments } from './adjust.js';
import type { ObjectSpec } from './object-spec.js';
import type { LoadPlan, RelocationRecord } from './plan.js';
import { WorkerPool, type PoolOptions } from './worker/pool.js';
import { decodeOutcome, type LogLevel, type RelocateOutcome, type RelocateRequest, type RelocateStats } from './worker/service.js';

/** Options of {@link relocate}: the target kernel and the open-phase adjustments. */
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
  /** kernel modules' BTF (/sys/kernel/btf/<module>, split on `btf`), where libbpf looks for
   * CO-RE candidates, kfuncs, ksyms and attach targets that vmlinux lacks */
  moduleBtfs?: { name: string; data: Uint8Array }[];
  /** the BTF of loaded programs that freplace programs extend (bpf_prog_info's btf_id's
   *  object, as the kernel gives it), indexed by ProgramAdjustment.attachProgram */
  targetPrograms?: Uint8Array[];
  /** name libbpf gives the object (default: file name without extensions, or 'obj') */
  objectName?: string;
  /** libbpf messages kept in `log`: 'warn', 'info' (default) or 'debug' */
  logLevel?: LogLevel;
  /** the open phase: programs turned off or retargeted, maps resized, ... applied by
   *  libbpf's own setters between its open and load (see src/adjust.ts) */
  adjustments?: Adjustments;
  /** the on-disk cache of worker outputs (opened specs, relocation results): a directory,
   *  `true` for $XDG_CACHE_HOME/corebpf (~/.cache/corebpf), `false` for none; default: the
   *  Relocator's `cacheDir`, else the COREBPF_CACHE_DIR environment variable, else none
   *  (nothing is written). See the README's "On-disk cache". */
  cacheDir?: string | boolean;
}

/** The result of {@link relocate}: the load plan and the relocation report. */
export interface RelocateResult {
  plan: LoadPlan;
  relocations: RelocationRecord[];
  /** true when every CO-RE relocation resolved */
  ok: boolean;
  failed: RelocationRecord[];
  /** the failed relocations whose poisoned instruction is dead code (guarded fallbacks) */
  guarded: RelocationRecord[];
  /** ok: all resolved; ok-guarded: the failures are all guarded (the programs load);
   * failed: some poisoned instruction may run (its record has a reachPath) */
  verdict: 'ok' | 'ok-guarded' | 'failed';
  stats: RelocateStats;
  /** libbpf's debug log of the run */
  log: string;
}

/** target BTF files kept read (a kernel's BTF is 3-7 MB) */
const MAX_TARGET_FILES = 8;

/** Options of a {@link Relocator}: its workers, and how many results it keeps. */
export interface RelocatorOptions extends PoolOptions {
  /** relocation results kept (by object content and every input; default 16, 0: none):
   *  the same object relocated again with equal inputs is not sent to a worker */
  resultCache?: number;
  /** the on-disk cache (see {@link RelocateOptions.cacheDir}) of every call that names none */
  cacheDir?: string | boolean;
  /** size cap of the on-disk cache directory in bytes (default 64 MiB; the least recently
   *  used entries are removed) */
  cacheMaxBytes?: number;
  /** @internal where the boot id is read (tests) */
  bootIdPath?: string;
}

/** A set of relocation workers; each keeps the target BTFs it parsed for later objects. */
export class Relocator {
  readonly pool: WorkerPool;
  /** results and opened specs by object content and inputs (the worker is pure: equal
   *  inputs, equal plan) */
  readonly #cache: ResultCache;
  /* Target BTF identity, without hashing megabytes on the caller's thread: a byte array
   * is known by its instance, a file by device, inode, size and mtime (read once). */
  private btfKeys = new WeakMap<Uint8Array, string>();
  private btfFiles = new Map<string, Uint8Array>();
  /** sha256 of each target BTF, recorded in the plans (hashed once per byte array) */
  private btfHashes = new WeakMap<Uint8Array, string>();
  private nextKey = 0;
  private hostBtf: Uint8Array | undefined;
  /** the plan-origin digest of each cached result's plan (by the result's bytes) */
  readonly #digests = new WeakMap<Uint8Array, string>();
  readonly #disk: Pick<RelocatorOptions, 'cacheDir' | 'cacheMaxBytes' | 'bootIdPath' | 'wasmDir'>;
  /** sha256 of the running kernel's sysfs BTF (read, or from a cache entry) */
  private hostBtfHash: string | undefined;

  constructor(opts: RelocatorOptions = {}) {
    const { resultCache, cacheDir, cacheMaxBytes, bootIdPath, ...pool } = opts;
    this.pool = new WorkerPool(pool);
    this.#cache = new ResultCache(resultCache ?? 16);
    this.#disk = { cacheDir, cacheMaxBytes, bootIdPath, wasmDir: pool.wasmDir };
  }

  /** @internal the on-disk cache a call uses (its `cacheDir`, else this relocator's, else
   *  COREBPF_CACHE_DIR), or null; CacheDirError when the directory is unsafe */
  diskCache(cacheDir?: string | boolean): DiskCache | null {
    const dir = resolveCacheDir(cacheDir ?? this.#disk.cacheDir);
    return dir === undefined ? null : diskCache(dir, this.#disk.cacheMaxBytes);
  }

  /** Relocate an object (bytes or a path) as {@link relocate} does, in this relocator's workers. */
  async relocate(object: Uint8Array | string, opts: RelocateOptions = {}): Promise<RelocateResult> {
    const known = knownObject(typeof object === 'string' ? readObjectFile(object) : object);
    const objectName = opts.objectName ?? (typeof object === 'string' ? objectNameOf(object) : 'obj');
    // no target named: this machine's kernel BTF, where libbpf finds it (NotSupportedError
    // saying how to pass one when the kernel has none); its uname is the natural default
    const btfSrc = opts.btf ?? hostBtfPath();
    const host = opts.btf === undefined || opts.btf === HOST_BTF_PATH ? hostKernel() : undefined;
    // the running kernel's BTF is one target for the process's life, which the worker reads
    // itself when it needs it (into wasm memory: this thread holds no copy; a hit of the
    // on-disk cache never reads it)
    const target = this.#target(btfSrc);
    const { sysfs, btfKey } = target;
    let btf = target.btf;
    const req: RelocateRequest = {
      object: known.bytes, objectName, btf, btfKey,
      kconfig: opts.kconfig, kallsyms: opts.kallsyms, kernelRelease: opts.kernelRelease ?? host?.release,
      kernelVersion: opts.kernelVersion ?? host?.version, machine: opts.machine ?? host?.machine, pageSize: opts.pageSize, features: opts.features, logLevel: opts.logLevel,
      moduleBtfs: opts.moduleBtfs,
      targetPrograms: opts.targetPrograms,
      adjustments: opts.adjustments,
    };
    let wire = this.#cache.result(known.sha256, req);
    let btfHash = sysfs ? this.hostBtfHash : this.btfHashes.get(btf!);
    const disk = wire ? null : this.diskCache(opts.cacheDir);
    let description: string | undefined;
    let decoded: RelocateOutcome | undefined;
    if (disk) {
      const hash = () => (btfHash ??= this.#btfHash(btf ??= this.readTarget(btfSrc as string), sysfs));
      description = relocateDescription(buildIdentity(this.#disk.wasmDir), known.sha256,
        targetIdentity(sysfs ? HOST_BTF_PATH : undefined, hash, this.#disk.bootIdPath), req);
      const hit = readResult(disk, description);
      if (hit) {
        btfHash = hit.btfSha256;
        if (sysfs) this.hostBtfHash = btfHash;
        wire = this.#cache.keepResult(known.sha256, req, hit.wire);
        decoded = hit.outcome;
      }
    }
    if (!wire) {
      if (!sysfs) btf ??= this.readTarget(btfSrc as string);
      // the worker gets what libbpf reads (no DWARF), in a buffer of its own, moved
      const image = new Uint8Array(known.image()); // a copy (Buffer#slice would be a view)
      const pending = this.pool.relocateWire({ ...req, btf, ...(btf ? {} : { btfFile: HOST_BTF_PATH }), object: image }, [image.buffer]);
      // the BTF's hash (megabytes: milliseconds) is computed while the worker relocates
      // (the worker's own, of the file it read)
      if (btf) btfHash ??= this.#btfHash(btf, sysfs);
      wire = this.#cache.keepResult(known.sha256, req, await pending);
      if (sysfs && wire.btfSha256) btfHash ??= this.hostBtfHash = wire.btfSha256;
      if (disk) writeResult(disk, description!, wire, btfHash ??= this.#btfHash(btf ??= this.readTarget(btfSrc as string), sysfs));
    }
    const out = decoded ?? decodeOutcome(wire);
    if (out.plan) {
      if (sysfs) btfHash ??= wire.btfSha256; // a kept result's, from the worker that read the file
      btfHash ??= this.#btfHash(btf ??= this.readTarget(btfSrc as string), sysfs);
      const sources = { object: known.sha256, btf: btfHash };
      out.plan.sources = { ...sources };
      // a result's bytes and sources are the same on every hit: so is its plan's digest
      const d = this.#digests.get(wire.result);
      if (d) rememberDigest(d);
      else {
        const result = wire.result;
        // the plan as made, from the bytes (the caller may change out.plan before it is hashed)
        rememberPlanLater(() => ({ ...decodeOutcome({ result, targetCached: false }).plan, sources }), result.byteLength, (digest) => this.#digests.set(result, digest));
      }
    }
    const failed = out.relocations.filter((r) => r.status === 'failed');
    const guarded = failed.filter((r) => r.guarded === true);
    const verdict = !failed.length ? 'ok' : guarded.length === failed.length ? 'ok-guarded' : 'failed';
    return { ...out, ok: failed.length === 0, failed, guarded, verdict };
  }

  /** a target named by `btfSrc`: its bytes (read, unless it is the running kernel's, which
   *  a worker reads itself when it needs it) and the key workers cache its parsed form by */
  #target(btfSrc: Uint8Array | string): { sysfs: boolean; btf: Uint8Array | undefined; btfKey: string } {
    const sysfs = btfSrc === HOST_BTF_PATH;
    const btf = sysfs ? undefined : typeof btfSrc === 'string' ? this.readTarget(btfSrc) : btfSrc;
    let btfKey = sysfs ? 'btf-host' : this.btfKeys.get(btf!);
    if (!btfKey) {
      btfKey = `btf-${++this.nextKey}`;
      this.btfKeys.set(btf!, btfKey);
    }
    return { sysfs, btf, btfKey };
  }

  /** @internal Have a worker parse the target BTF `btf` names (default: this machine's) now,
   *  ahead of the relocation that needs it: BpfObject.open() calls this while its object
   *  opens, so that load() finds the kernel's types parsed (libbpf's BTF parse of a 5 MiB
   *  vmlinux is the longest step of a first load). Best effort: a target that cannot be
   *  read or parsed is reported by the relocation, which reads and sends it again. */
  prepareTarget(btf?: Uint8Array | string): void {
    try {
      const btfSrc = btf ?? hostBtfPath();
      const t = this.#target(btfSrc);
      const bytes = t.sysfs ? HOST_BTF_PATH : t.btf ?? this.readTarget(btfSrc as string);
      this.pool.prepareTarget(bytes, t.btfKey).catch(() => {});
    } catch {
      // the relocation reads it again and says what is wrong
    }
  }

  #btfHash(btf: Uint8Array, sysfs: boolean): string {
    let h = this.btfHashes.get(btf);
    if (!h) this.btfHashes.set(btf, (h = sha256(btf)));
    if (sysfs) this.hostBtfHash = h;
    return h;
  }

  /** libbpf's open phase only (no kernel, nothing relocated): programs, maps and BTF. */
  async open(object: Uint8Array | string, opts: { objectName?: string; cacheDir?: string | boolean } = {}): Promise<ObjectSpec> {
    return structuredClone(await this.openShared(object, opts));
  }

  /** @internal open(), the spec shared with other callers (deeply frozen): BpfObject reads
   *  it and never changes it */
  async openShared(object: Uint8Array | string, opts: { objectName?: string; cacheDir?: string | boolean } = {}): Promise<ObjectSpec> {
    const known = knownObject(typeof object === 'string' ? readObjectFile(object) : object);
    const objectName = opts.objectName ?? (typeof object === 'string' ? objectNameOf(object) : 'obj');
    const have = this.cachedSpec(known.bytes, { objectName, cacheDir: opts.cacheDir });
    if (have) return have;
    const image = new Uint8Array(known.image()); // a copy (Buffer#slice would be a view)
    const spec = await this.pool.open({ object: image, objectName }, [image.buffer]);
    const disk = this.diskCache(opts.cacheDir);
    if (disk) writeSpec(disk, openDescription(buildIdentity(this.#disk.wasmDir), known.sha256, objectName), spec);
    return this.#cache.keepSpec({ sha256: known.sha256, objectName }, spec);
  }

  /** @internal the opened spec of an earlier open of equal inputs (this process's, else the
   *  on-disk cache's), without a worker; undefined when there is none */
  cachedSpec(object: Uint8Array, opts: { objectName: string; cacheDir?: string | boolean }): ObjectSpec | undefined {
    const known = knownObject(object);
    const key: OpenKey = { sha256: known.sha256, objectName: opts.objectName };
    const have = this.#cache.spec(key);
    if (have) return have;
    const disk = this.diskCache(opts.cacheDir);
    const spec = disk ? readSpec(disk, openDescription(buildIdentity(this.#disk.wasmDir), known.sha256, opts.objectName)) : undefined;
    return spec && this.#cache.keepSpec(key, spec);
  }

  private readTarget(path: string): Uint8Array {
    // the running kernel's own BTF does not change while it runs; a stat of it (sysfs) costs
    // as much as the rest of a warm load's host work
    if (path === HOST_BTF_PATH && this.hostBtf) return this.hostBtf;
    let id: string;
    try {
      id = `${fileIdentity(statSync(path, { bigint: true }))}:${path}`;
    } catch {
      return readInput(path, 'target BTF'); // readInput says what is wrong
    }
    let bytes = this.btfFiles.get(id);
    if (bytes) {
      this.btfFiles.delete(id); // most recent last
    } else {
      bytes = readInputShared(path, 'target BTF');
    }
    this.btfFiles.set(id, bytes);
    if (path === HOST_BTF_PATH) this.hostBtf = bytes;
    while (this.btfFiles.size > MAX_TARGET_FILES) this.btfFiles.delete(this.btfFiles.keys().next().value as string);
    return bytes;
  }

  /** Terminate the workers. */
  close(): Promise<void> {
    return this.pool.close();
  }

  /** Same as close(). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function hostKernel(): { release: string; version: string; machine: string } {
  return { release: release(), version: version(), machine: machine() };
}

let shared: Relocator | undefined;

/** The shared Relocator (created on first use). */
export function sharedRelocator(): Relocator {
  return (shared ??= new Relocator());
}

/** Relocate with a shared Relocator (workers are created on first use and do not keep the process alive). */
export function relocate(object: Uint8Array | string, opts: RelocateOptions = {}): Promise<RelocateResult> {
  shared ??= new Relocator();
  return shared.relocate(object, opts);
}
