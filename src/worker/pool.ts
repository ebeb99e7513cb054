// Relocation workers seen from the caller's thread. Each worker owns one wasm instance;
// a worker whose wasm trapped, or that died, is replaced before the next call.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { MessagePort, TransferListItem, Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type * as Comlink from 'comlink';
import { CorebpfError, WasmTrapError } from '../errors.js';
import { comlink, nodeEndpoint, workerThreads } from '../lazy-modules.js';
import { installErrorTransfer } from './errors-transfer.js';
import { startWorker } from './exec-argv.js';
import { wasmPaths, type WasmModule } from './wasm.js';
import { compileWasm } from './wasm-tiering.js';
import { TARGET_NOT_CACHED, decodeOutcome, type OpenRequest, type RelocateOutcome, type RelocateRequest, type RelocateWire, type RelocationService } from './service.js';
import type { ObjectSpec } from '../object-spec.js';

/** Options of a {@link WorkerPool} (and of a {@link Relocator}). */
export interface PoolOptions {
  /** number of workers (default: one per core) */
  size?: number;
  /** directory holding corebpf.cjs + corebpf.wasm (default: dist/wasm beside this file) */
  wasmDir?: string;
}

/** what a worker starts with (its workerData) */
export interface WorkerStart {
  wasmDir?: string;
  /** the compiled wasm module comes on this port (or null: the worker reads and compiles it) */
  wasmPort?: MessagePort;
}

interface Slot {
  worker: Worker;
  /** target BTFs (by key) this worker has been sent; it may have evicted some since */
  targets: Set<string>;
  remote: Comlink.Remote<RelocationService>;
  busy: number;
  dead: boolean;
  /** memory shared with this worker that target BTFs are copied into (see stageTarget) */
  staging?: SharedArrayBuffer;
  /** a call's target is in `staging` until the worker answered it */
  stagingBusy?: boolean;
  /** prepareTarget() calls this worker has not answered yet */
  preparing: number;
}

let entry: URL | undefined;
/** The worker's entry beside this module: dist/worker.cjs in the package (a CommonJS bundle:
 *  rollup.config.mjs says why), worker.js in the unbundled build (build/tsc, some tests). */
function workerEntry(): URL {
  if (!entry) {
    const cjs = new URL('./worker.cjs', import.meta.url);
    entry = existsSync(cjs) ? cjs : new URL('./worker.js', import.meta.url);
  }
  return entry;
}

/** staging memory grows in steps of this (a kernel's BTF is 3-7 MiB) */
const STAGING_STEP = 1 << 20;

/**
 * The target BTF as a worker is sent it: bytes already in shared memory as they are (the
 * caller promises not to change them); otherwise a copy either way (the caller keeps its
 * array), into memory shared with that worker and kept for its next targets when that
 * memory is free, else into an array of its own that is moved. A new array of megabytes costs its
 * page faults on every cold relocation (1.5-5 ms for 5 MiB on this VM, ten times the copy
 * into memory already touched), and its external memory drives the caller's GC. The worker
 * copies the target into wasm memory before it answers, and keeps no view of it.
 */
function stageTarget(slot: Slot, btf: Uint8Array): { bytes: Uint8Array; transfer: ArrayBuffer[]; release(): void } {
  // shared already, and never changed (the Relocator reads target files so: readInputShared)
  if (btf.buffer instanceof SharedArrayBuffer) return { bytes: btf, transfer: [], release() {} };
  if (slot.stagingBusy) {
    const own = btf.slice();
    return { bytes: own, transfer: [own.buffer], release() {} };
  }
  if (!slot.staging || slot.staging.byteLength < btf.byteLength) {
    slot.staging = new SharedArrayBuffer(Math.ceil(Math.max(btf.byteLength, 1) / STAGING_STEP) * STAGING_STEP);
  }
  const bytes = new Uint8Array(slot.staging, 0, btf.byteLength);
  bytes.set(btf);
  slot.stagingBusy = true;
  return { bytes, transfer: [], release: () => { slot.stagingBusy = false; } };
}

/** Worker threads each running libbpf in wasm, started on demand; a call goes to an idle worker (a new one while all are busy, up to `size`, else the least busy), and a worker whose wasm trapped is replaced. */
export class WorkerPool {
  private slots: (Slot | undefined)[];
  private readonly wasmDir?: string;
  /** the wasm module, compiled once for every worker (undefined: a worker compiles its own),
   * and the sha256 of the bytes it was compiled from */
  private compiled: { sha256: string; module: WasmModule | undefined } | undefined;
  private closed = false;
  /** how many workers were replaced after a trap or a crash */
  replaced = 0;
  /** how many workers this pool has started (a cache hit starts none) */
  started = 0;

  constructor(opts: PoolOptions = {}) {
    this.slots = new Array(Math.max(1, opts.size ?? availableParallelism())).fill(undefined);
    this.wasmDir = opts.wasmDir;
  }

  /** the number of workers */
  get size(): number {
    return this.slots.length;
  }

  /** the number of workers running now (they are started on demand, up to `size`) */
  get live(): number {
    return this.slots.filter((s) => s && !s.dead).length;
  }

  /** The module, compiled once for all workers, before a worker starts (compileWasm: V8
   * compiles its functions lazily, on first call, so this takes milliseconds). A worker
   * pairs it with the glue (corebpf.cjs) it reads when it starts, so a module file whose
   * bytes changed since (a rebuild) is compiled again. Any failure leaves it to the worker,
   * which reads the files itself and says what is wrong. */
  private compile(): WasmModule | undefined {
    let bytes: Buffer;
    try {
      bytes = readFileSync(wasmPaths(this.wasmDir).wasm);
    } catch {
      return undefined;
    }
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (this.compiled?.sha256 !== sha) {
      let module: WasmModule | undefined;
      try {
        module = compileWasm(bytes);
      } catch {
        module = undefined;
      }
      this.compiled = { sha256: sha, module };
    }
    return this.compiled.module;
  }

  private spawn(i: number): Slot {
    const { port1, port2 } = new (workerThreads().MessageChannel)();
    const start: WorkerStart = { wasmDir: this.wasmDir, wasmPort: port2 };
    // compiled before the thread starts: the tiering flag it sets for a moment (compileWasm)
    // must not be in effect while the new thread compiles Node's internal modules
    const module = this.compile();
    const worker = startWorker(workerEntry(), { workerData: start, transferList: [port2] });
    this.started++;
    port1.postMessage(module ?? null);
    installErrorTransfer(); // with the first worker (a pool that starts none loads no comlink), once it boots
    worker.unref();
    const slot: Slot = { worker, remote: comlink().wrap<RelocationService>(nodeEndpoint()(worker)), busy: 0, dead: false, targets: new Set<string>(), preparing: 0 };
    const onDeath = () => {
      slot.dead = true;
      if (this.slots[i] === slot) this.slots[i] = undefined;
    };
    worker.on('exit', onDeath);
    worker.on('error', onDeath);
    this.slots[i] = slot;
    return slot;
  }

  private pick(worker?: number): [number, Slot] {
    if (this.closed) throw new Error('worker pool is closed');
    if (worker !== undefined) {
      const i = ((worker % this.slots.length) + this.slots.length) % this.slots.length;
      const s = this.slots[i];
      return [i, s && !s.dead ? s : this.spawn(i)];
    }
    // an idle worker first; a new one only while every live worker is busy: a worker costs
    // a thread start, a wasm instance and its memory, which sequential calls never need
    const best = this.leastBusy();
    if (best >= 0 && this.slots[best]!.busy === 0) return [best, this.slots[best]!];
    const free = this.slots.findIndex((s) => !s || s.dead);
    if (free >= 0) return [free, this.spawn(free)];
    return [best, this.slots[best]!];
  }

  /** the running worker with the fewest calls in flight (the first of equals), or -1 */
  private leastBusy(): number {
    let best = -1;
    this.slots.forEach((s, i) => {
      if (s && !s.dead && (best < 0 || s.busy < this.slots[best]!.busy)) best = i;
    });
    return best;
  }

  /** Start a worker now unless one runs: a caller that will need one soon (BpfObject.open)
   *  lets it boot while it reads its own inputs. */
  start(): void {
    if (this.closed || this.live > 0) return;
    this.spawn(this.slots.findIndex((s) => !s || s.dead));
  }

  /** Run `fn` on an idle worker (see the class) (or on worker `worker % size`, to keep a target's
   * parsed BTF in one worker); replace that worker if its wasm trapped or it died. */
  async run<T>(fn: (remote: Comlink.Remote<RelocationService>, slot: Slot) => Promise<T>, worker?: number): Promise<T> {
    const [i, slot] = this.pick(worker);
    if (slot.busy++ === 0) slot.worker.ref();
    let died: (e: Error) => void = () => {};
    const death = new Promise<never>((_, reject) => {
      died = reject;
    });
    const onExit = (code: number) => died(new WasmTrapError(`relocation worker exited (code ${code}) during the call; it was replaced`));
    const onError = (e: Error) => died(new WasmTrapError(`relocation worker crashed: ${e.message}; it was replaced`, {}, { cause: e }));
    slot.worker.once('exit', onExit);
    slot.worker.once('error', onError);
    try {
      return await Promise.race([fn(slot.remote, slot), death]);
    } catch (e) {
      if (e instanceof WasmTrapError) this.retire(i, slot);
      throw e;
    } finally {
      slot.worker.off('exit', onExit);
      slot.worker.off('error', onError);
      if (--slot.busy === 0 && !slot.dead) slot.worker.unref();
    }
  }

  private retire(i: number, slot: Slot): void {
    if (this.slots[i] === slot) this.slots[i] = undefined;
    if (!slot.dead) {
      slot.dead = true;
      void slot.worker.terminate();
    }
    this.replaced++;
  }

  /** Have a worker parse target `key` (bytes `btf`, or the file named by a string, which the
   *  worker reads itself) now, before a relocation needs it: the least busy running worker
   *  (one is started when none runs), which then takes the relocations against that target
   *  first (relocateWire). Rejects as the worker did; the relocation then sends the target
   *  again and reports what is wrong with it. */
  async prepareTarget(btf: Uint8Array | string, key: string): Promise<void> {
    if (this.closed || this.slots.some((s) => s && !s.dead && s.targets.has(key))) return;
    const i = this.leastBusy();
    await this.run(async (r, slot) => {
      slot.targets.add(key);
      slot.preparing++;
      const staged = typeof btf === 'string' ? undefined : stageTarget(slot, btf);
      try {
        const req = staged ? { btf: staged.bytes, btfKey: key } : { btfFile: btf as string, btfKey: key };
        await r.prepareTarget(comlink().transfer(req, (staged?.transfer ?? []) as never[]));
      } catch (e) {
        slot.targets.delete(key);
        throw e;
      } finally {
        staged?.release();
        slot.preparing--;
      }
    }, i < 0 ? undefined : i);
  }

  /** a running worker that has target `key` (or is parsing it, and does nothing else), if one
   *  does: a relocation against `key` goes there rather than to a worker that would parse it again */
  private holding(key: string): number | undefined {
    const i = this.slots.findIndex((s) => s && !s.dead && s.targets.has(key) && s.busy <= s.preparing);
    return i < 0 ? undefined : i;
  }

  /** Relocate on the least busy worker. With `btfKey`, the target BTF bytes (or the name of
   * its file, `btfFile`) are sent only to a worker that has not been sent that target yet; a
   * worker that dropped it from its cache since says so, and gets them again. */
  async relocate(req: RelocateRequest, transfer: TransferListItem[] = [], worker?: number): Promise<RelocateOutcome> {
    return decodeOutcome(await this.relocateWire(req, transfer, worker));
  }

  /** @internal relocate(), the result still as the worker's bytes (decodeOutcome parses them): the Relocator keeps them in its result cache */
  async relocateWire(req: RelocateRequest, transfer: TransferListItem[] = [], worker?: number): Promise<RelocateWire> {
    const key = req.btfKey;
    if (key === undefined || (!req.btf && req.btfFile === undefined)) return this.run((r) => r.relocate(comlink().transfer(req, transfer as never[])), worker);
    const { btf, btfFile, ...lean } = req;
    return this.run(async (r, slot) => {
      if (slot.targets.has(key)) {
        try {
          return await r.relocate(lean);
        } catch (e) {
          if (!(e instanceof CorebpfError && e.details.code === TARGET_NOT_CACHED)) throw e;
          slot.targets.delete(key);
        }
      }
      // the first attempt copies (a retry needs the request again); this one moves `transfer`,
      // and the target BTF (megabytes) staged for this worker (stageTarget): cloned, it would
      // be held three times at once (here, in the message, in the worker)
      if (!btf) {
        const out = await r.relocate(comlink().transfer({ ...lean, btfFile }, transfer as never[]));
        slot.targets.add(key);
        return out;
      }
      const staged = stageTarget(slot, btf);
      try {
        const out = await r.relocate(comlink().transfer({ ...lean, btf: staged.bytes }, [...transfer, ...staged.transfer] as never[]));
        slot.targets.add(key);
        return out;
      } finally {
        staged.release();
      }
    }, worker ?? this.holding(key));
  }

  /** libbpf's open phase only: the object's programs, maps and BTF. */
  async open(req: OpenRequest, transfer: TransferListItem[] = []): Promise<ObjectSpec> {
    return this.run((r) => r.open(comlink().transfer(req, transfer as never[])));
  }

  /** libbpf's btf_dump of `btf` (split on `base`) as a C header. */
  async btfDumpC(req: { btf: Uint8Array; base?: Uint8Array; name: string }): Promise<Uint8Array> {
    return this.run((r) => r.btfDumpC(req));
  }

  /** BTFGen of `target` for the objects' CO-RE relocations (wasm/btfgen.c). */
  async btfMin(req: { target: Uint8Array; objects: { name: string; btf: Uint8Array; ext: Uint8Array }[]; name: string }): Promise<Uint8Array> {
    return this.run((r) => r.btfMin(req));
  }

  /** Run the same call on every worker (e.g. to warm each one's BTF cache). */
  async each<T>(fn: (remote: Comlink.Remote<RelocationService>) => Promise<T>): Promise<T[]> {
    return Promise.all(this.slots.map((_, i) => {
      const s = this.slots[i] && !this.slots[i]!.dead ? this.slots[i]! : this.spawn(i);
      return fn(s.remote);
    }));
  }

  /** Terminate the workers. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s && !s.dead && s.worker.terminate()));
    this.slots.fill(undefined);
  }

  /** Same as close(). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
