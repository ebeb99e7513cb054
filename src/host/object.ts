// BpfObject: a BPF object relocated for a kernel (a load plan) and, once loaded, the live
// maps and programs it created. Everything it creates is owned by it and closed by close().
// Its open phase is object-open.ts, its load phase object-load.ts, its handles and finding
// them by name object-handles.ts, its BTF object-btf.ts, its global variables globals.ts,
// its record decoding record-decoder.ts.
//
//   const obj = await BpfObject.open('execsnoop.bpf.o', { rodata: { target_uid: 1000 } });
//   obj.load();
//   const counts = obj.map('counts');
//   for await (const ev of await obj.ringbuf('events', { type: 'event' })) ...
//   obj.close();
import type { Btf } from '../btf/reader.js';
import { CorebpfError } from '../errors.js';
import { checkPlan, parsePlan, type LoadPlan, type RelocationRecord } from '../plan.js';
import { madeHere } from '../plan-origin.js';
import { checkPlanSources } from '../plan-validate.js';
import type { RelocateResult } from '../relocate.js';
import { sha256 } from '../inputs.js';
import type { Adjustments } from '../adjust.js';
import type { BtfCodec, BtfValue } from './btf-codec.js';
import { GlobalVars, type GlobalVariable } from './globals.js';

export type { GlobalVariable } from './globals.js';
export type { LoadOptions, ObjectOptions, OpenOptions, RecordBufferOptions } from './object-options.js';
import * as U from './generated/uapi.js';
import { ResourceSet, trackLeak, untrackLeak } from './leaks.js';
import { BpfMap, mapTypeName } from './map.js';
import { ObjectBtf } from './object-btf.js';
import { createdMap, findMap, findProgram, mapHandles, programHandle, programHandles } from './object-handles.js';
import { replayObject } from './object-load.js';
import { openObject } from './object-open.js';
import type { LoadOptions, ObjectOptions, OpenOptions, RecordBufferOptions } from './object-options.js';
import type { OpenedObject } from './opened.js';
import { openPerfBuffer, type PerfBufferReader } from './perfbuf.js';
import type { Program } from './program.js';
import { recordDecoder, recordDecoderOf } from './record-decoder.js';
import { openRingBuffer, type RingBufferReader } from './ringbuf.js';
import { resolvePinPath } from './replay.js';
import { attachStructOps, planStructOps, updateStructOpsLink, type StructOpsMap, type StructOpsProgFd } from './link/struct-ops.js';
import type { Link } from './link.js';

/** what a plan was relocated from: the adjustments made so far (their version) and the
 *  programs asked for; load() relocates again when it differs */
const planKey = (version: number, programs?: readonly string[]) => `${version}:${programs ? JSON.stringify(programs) : ''}`;

/** A BPF object: opened with {@link BpfObject.open} (libbpf's open phase, adjustable), loaded into the kernel with `load()`, its programs attached; owns its maps, programs and links, which `close()` releases. */
export class BpfObject implements Disposable, AsyncDisposable {
  readonly #opts: ObjectOptions;
  readonly #res = new ResourceSet();
  /** opened by BpfObject.open(): libbpf's open phase, relocated at load */
  readonly #opened: OpenedObject | null;
  readonly #reusePins: boolean;
  #plan: LoadPlan | null = null;
  #result: RelocateResult | null = null;
  /** the adjustments version and program selection the plan was relocated with */
  #planKey = '';
  readonly #btf: ObjectBtf;
  /** handles of every program and map, in libbpf's order; bound to fds at load */
  #allPrograms: Program[];
  #allMaps: BpfMap[];
  /** fromPlan objects: host-side autoload by plan program name */
  readonly #autoload = new Map<string, boolean>();
  readonly #globals: GlobalVars;
  #maps: BpfMap[] | null = null;
  #programs: Program[] | null = null;
  #closed = false;

  private constructor(src: { plan: LoadPlan } | { opened: OpenedObject }, opts: ObjectOptions = {}) {
    this.#opts = opts;
    this.#btf = new ObjectBtf(opts);
    this.#opened = 'opened' in src ? src.opened : null;
    if ('plan' in src) this.#plan = src.plan;
    // an object relocated here reuses its own pins; a plan from elsewhere only when asked
    this.#reusePins = opts.reusePins ?? ('opened' in src || madeHere(src.plan));
    this.#globals = new GlobalVars(this, {
      currentPlan: () => this.#plan, opened: this.#opened, createdMap: (name) => createdMap(this.#maps, name),
    });
    this.#allPrograms = programHandles(this.#opened, this.#plan, this, this.name, this.#autoload);
    this.#allMaps = mapHandles(this.#opened, this.#plan, this.codec, this.btf);
    const sets: [Record<string, unknown> | undefined, string][] = [[opts.rodata, '.rodata'], [opts.data, '.data'], [opts.bss, '.bss']];
    for (const [vals, prefix] of sets) {
      for (const [k, v] of Object.entries(vals ?? {})) this.#globals.set(k, v, prefix);
    }
  }

  /**
   * Open an object (path or bytes): libbpf's bpf_object__open() in a worker, nothing
   * relocated yet. Adjust it (program(name).setAutoload / setAttachTarget, map(name).
   * setMaxEntries, globals, ...), then `await load()` relocates it with libbpf applying
   * those adjustments and loads it here.
   *
   * Without `btf`, the object is relocated for the running kernel, and this machine is read
   * as libbpf reads it when loading here:
   *   - kernel BTF: /sys/kernel/btf/vmlinux, else libbpf's fallbacks (/boot/vmlinux-$(uname -r),
   *     /usr/lib/debug/boot/vmlinux-$(uname -r), ...); none: NotSupportedError
   *   - the feature profile: libbpf's feature probes run against this kernel once per
   *     process (real bpf() calls; without bpf() permission nothing is probed)
   *   - uname -r / -v for LINUX_KERNEL_VERSION and kern_version (Debian: -v)
   *   - only if the object has CONFIG_* .kconfig externs: /boot/config-$(uname -r), else
   *     /proc/config.gz; none: NotSupportedError naming both and the `kconfig` option
   *   - only if it has typeless __ksym externs: /proc/kallsyms
   *   - the BTF of loaded kernel modules (/sys/kernel/btf/<module>), where libbpf looks for
   *     CO-RE candidates, kfuncs, ksyms and attach targets that vmlinux lacks
   * `kconfig`, `kallsyms`, `kernelRelease`, `kernelVersion`, `features` and `moduleBtfs` given here win
   * (features per name, over the probed ones). With `btf` (another machine's kernel)
   * nothing of this machine is read or probed: pass its kconfig, kallsyms and features.
   * load() raises RLIMIT_MEMLOCK first where the kernel charges BPF memory to it (< 5.11).
   *
   * With `cacheDir` (or COREBPF_CACHE_DIR) the worker's outputs (the opened object, the
   * relocation result) are kept on disk, by every input they were made from; a later process
   * with equal inputs reads them and starts no worker (README, "On-disk cache").
   * CacheDirError when the directory is not this user's own (mode 0700-like).
   */
  static async open(object: string | Uint8Array, opts: OpenOptions = {}): Promise<BpfObject> {
    const { opened, opts: objectOpts } = await openObject(object, opts);
    return new BpfObject({ opened }, objectOpts);
  }

  /** An object from a load plan (a LoadPlan, or its JSON text or bytes). */
  static fromPlan(plan: LoadPlan | string | Uint8Array, opts: ObjectOptions = {}): BpfObject {
    const p = typeof plan === 'string' || plan instanceof Uint8Array ? parsePlan(plan) : checkPlan(plan);
    if (opts.expect) checkPlanSources(p, opts.expect, sha256);
    return new BpfObject({ plan: p }, opts);
  }

  /** the object's name (libbpf's: the file name up to the first dot) */
  get name(): string {
    return this.#opened ? this.#opened.spec.object : this.#plan!.object;
  }

  /** load() has finished: the maps and programs are in the kernel */
  get loaded(): boolean {
    return this.#maps !== null;
  }

  /** close() was called */
  get closed(): boolean {
    return this.#closed;
  }

  /** The load plan (after load() or relocate(); at once for fromPlan objects). */
  get plan(): LoadPlan {
    if (!this.#plan) throw new CorebpfError(`object '${this.name}' is opened, not relocated yet: call load() or relocate() first`);
    return this.#plan;
  }

  /** The adjustments made in the open phase, as plain data (relocate({ adjustments }) takes the same). */
  get adjustments(): Adjustments {
    return this.#opened?.adjustments ?? {};
  }

  /** the CO-RE relocation report (after load() or relocate()) */
  get relocations(): readonly RelocationRecord[] {
    return this.plan.relocations;
  }

  /** libbpf's log of the relocation (objects from open()) */
  get relocationLog(): string {
    return this.#result?.log ?? '';
  }

  /** Relocations that failed (their instructions are poisoned). */
  get failedRelocations(): RelocationRecord[] {
    return this.plan.relocations.filter((r) => r.status === 'failed');
  }

  /** The object's BTF, parsed (the plan's once relocated; null when the object has none). */
  get btf(): Btf | null {
    return this.#btfState().btf;
  }

  /** the codec of the object's BTF (null without BTF) */
  get codec(): BtfCodec | null {
    return this.#btfState().codec;
  }

  #btfState(): { btf: Btf | null; codec: BtfCodec | null } {
    return this.#btf.of(this.#plan ? this.#plan.btf : this.#opened!.spec.btf);
  }

  // ---------------------------------------------------------------------------------------
  // global variables

  /** The global variables the object's BTF describes (settable with setGlobal). */
  globals(): GlobalVariable[] {
    return this.#globals.list();
  }

  /**
   * Set a global variable: before load() for any section (.rodata's `const volatile` knobs
   * included); after load() only where the map is not frozen (.data, .bss). `section`
   * ('.rodata', '.data', '.bss', '.data.custom', ...) disambiguates.
   */
  setGlobal(name: string, value: unknown, section?: string): this {
    this.#assertOpen();
    this.#globals.set(name, value, section);
    return this;
  }

  /** A global variable's value: the pending one before load(), the map's after. `T`: the
   *  type the codec decodes it to (`corebpf gen` writes it; default the untyped BtfValue). */
  getGlobal<T = BtfValue>(name: string, section?: string): T {
    this.#assertOpen();
    return this.#globals.get(name, section) as T;
  }

  // ---------------------------------------------------------------------------------------
  // loading

  /** Load (or not) a program on load(): program(name).setAutoload(on). */
  setAutoload(program: string, on: boolean): this {
    this.#assertOpen();
    this.#programHandle(program).setAutoload(on);
    return this;
  }

  /**
   * Relocate the opened object in a worker with the adjustments made so far (libbpf's own
   * setters apply them between its open and load), without loading it: the plan and the
   * relocation report. `programs`: only these (the others turned off), as load() would.
   */
  async relocate(opts: { programs?: readonly string[] } = {}): Promise<RelocateResult> {
    this.#assertOpen();
    const o = this.#opened;
    if (!o) throw new CorebpfError(`object '${this.name}' comes from a load plan: it is relocated already`);
    if (this.loaded) throw new CorebpfError(`object '${this.name}' is already loaded`);
    const key = planKey(o.version, opts.programs);
    const r = await o.relocate(opts.programs);
    this.#result = r;
    this.#plan = r.plan;
    this.#planKey = key;
    this.#globals.reset();
    return r;
  }

  /**
   * Relocate (objects from open(), with their adjustments; in a worker), create the maps
   * and load the programs into the kernel, all or nothing. Objects from a plan load at
   * once, before this returns; either way the promise resolves to the object.
   */
  load(opts: LoadOptions = {}): Promise<this> {
    this.#assertOpen();
    if (this.loaded) throw new CorebpfError(`object '${this.name}' is already loaded`);
    const o = this.#opened;
    if (!o) {
      if (opts.programs) for (const n of opts.programs) this.#programHandle(n);
      this.#replay(opts);
      return Promise.resolve(this);
    }
    const key = planKey(o.version, opts.programs);
    return (async () => {
      if (!this.#plan || this.#planKey !== key) await this.relocate({ programs: opts.programs });
      this.#assertOpen();
      if (this.loaded) throw new CorebpfError(`object '${this.name}' is already loaded`);
      this.#replay(opts);
      return this;
    })();
  }

  #replay(opts: LoadOptions): void {
    const o = this.#opened;
    const { maps, programs } = replayObject({
      plan: this.#plan!, opened: o, autoload: this.#autoload, pendingGlobals: this.#globals.pending,
      pinRoot: this.#opts.pinRoot, reusePins: this.#reusePins, btf: this.btf, codec: () => this.codec,
      attachPrograms: this.#opts.attachPrograms, allMaps: this.#allMaps, allPrograms: this.#allPrograms,
      owner: this, adopt: (r) => this.#res.adopt(r),
    }, opts);
    this.#maps = maps;
    this.#programs = programs;
    this.#globals.reset();
    trackLeak(this, `BpfObject '${this.name}'`);
  }

  #programHandle(name: string): Program {
    return programHandle(this.name, this.#allPrograms, name);
  }

  #assertOpen(): void {
    if (this.#closed) throw new CorebpfError(`object '${this.name}' is closed`);
  }

  // ---------------------------------------------------------------------------------------
  // access

  /** Before load: every map of the object (adjustable); after: the maps load() created. */
  get maps(): readonly BpfMap[] {
    this.#assertOpen();
    return this.#maps ?? this.#allMaps;
  }

  /** Before load: every program (adjustable); after: the programs load() loaded. */
  get programs(): readonly Program[] {
    this.#assertOpen();
    return this.#programs ?? this.#allPrograms;
  }

  /** A map by name (internal maps also by section: '.rodata', '.bss', ...); before load a
   *  handle whose attributes can be read and set (setMaxEntries, ...). `K`, `V`: the types
   *  its BTF key and value decode to (`corebpf gen` writes them; default BtfValue). */
  map<K = BtfValue, V = BtfValue>(name: string): BpfMap<K, V> {
    this.#assertOpen();
    return findMap(this.name, this.#maps, this.#allMaps, name) as BpfMap<unknown, unknown> as BpfMap<K, V>;
  }

  /** A program by name; before load a handle whose attributes can be read and set
   *  (setAutoload, setAttachTarget, ...). */
  program(name: string): Program {
    this.#assertOpen();
    return findProgram(this.name, this.#programs, this.#allPrograms, name);
  }

  /** Where a map of this object is (or would be) pinned, or null. */
  pinPath(mapName: string): string | null {
    const m = this.#allMaps.find((x) => x.name === mapName);
    return m ? resolvePinPath(m.pinPath, this.#opts.pinRoot, m.name) : null;
  }

  /** A decoder for records of a BTF type of this object ('event', 'struct event', a typedef). */
  decoderFor<T = BtfValue>(typeName: string): (b: Buffer) => T {
    return recordDecoder<T>(this.name, this.btf, this.codec, typeName);
  }

  /** Read a BPF_MAP_TYPE_RINGBUF map: an async iterable of records (Buffers, or decoded).
   *  `T`: what `opts.type` / `opts.decode` yields (e.g. a `corebpf gen` interface). */
  async ringbuf<T = unknown>(name: string, opts: RecordBufferOptions = {}): Promise<RingBufferReader<T>> {
    const { ref, decode } = this.#recordMap<T>(name, U.BPF_MAP_TYPE_RINGBUF, 'ringbuf', opts);
    return this.#res.adopt(openRingBuffer(ref, decode, opts));
  }

  /** Read a BPF_MAP_TYPE_PERF_EVENT_ARRAY map: an async iterable of records (`T` as for ringbuf). */
  async perfbuf<T = unknown>(name: string, opts: RecordBufferOptions = {}): Promise<PerfBufferReader<T>> {
    const { ref, decode } = this.#recordMap<T>(name, U.BPF_MAP_TYPE_PERF_EVENT_ARRAY, 'perf_event_array', opts);
    return this.#res.adopt(openPerfBuffer(ref, decode, opts));
  }

  /** the map a record reader reads (checked to be of `type`) and its records' decoder */
  #recordMap<T>(name: string, type: number, typeName: string, opts: RecordBufferOptions) {
    const m = this.map(name);
    if (m.type !== type) throw new CorebpfError(`map '${name}' is a ${mapTypeName(m.type)} map, not a ${typeName}`);
    const decode = recordDecoderOf(opts, (t) => this.decoderFor(t)) as ((b: Buffer) => T) | undefined;
    this.#assertOpen();
    return { ref: { fd: m.fd, name: m.name, maxEntries: m.maxEntries }, decode };
  }

  /**
   * Register a struct_ops map (SEC(".struct_ops") / SEC(".struct_ops.link")) with the
   * kernel, as libbpf's bpf_map__attach_struct_ops(): its programs' fds written into the
   * value, the value set (which registers it), and for `.struct_ops.link` maps a struct_ops
   * link (Linux 6.4+). The Link's close() (or the object's) unregisters it.
   */
  attachStructOps(mapName: string): Link {
    const [map, progFd] = this.#structOps(mapName, 'attaching');
    return this.#res.adopt(attachStructOps(map, progFd));
  }

  /**
   * Switch a struct_ops link (from attachStructOps of a SEC(".struct_ops.link") map) to
   * another such map of this object, as libbpf's `bpf_link__update_map()`: the kernel swaps
   * the registered ops in place (Linux 6.4+; the same struct and, for tcp_congestion_ops,
   * the same name).
   */
  updateStructOps(link: Link, mapName: string): void {
    const [map, progFd] = this.#structOps(mapName, 'switching a link to');
    updateStructOpsLink(link, map, progFd);
  }

  #structOps(mapName: string, what: string): [StructOpsMap, StructOpsProgFd] {
    const m = this.map(mapName);
    if (!this.#programs) throw new CorebpfError(`object '${this.name}' is not loaded: load() it before ${what} map '${mapName}'`);
    return planStructOps(this.#plan!, m, this.#programs);
  }

  /** Adopt a resource (a link, a reader) so that close() closes it with the object. */
  adopt<T extends { close(): void }>(r: T): T {
    this.#assertOpen();
    return this.#res.adopt(r);
  }

  // ---------------------------------------------------------------------------------------
  // lifetime

  /** Close every map, program and reader of the object (once; later calls do nothing). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    untrackLeak(this);
    this.#res.close();
  }

  /** Same as close(). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Same as close(). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
