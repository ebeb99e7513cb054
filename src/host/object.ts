// BpfObject: a BPF object relocated for a kernel (a load plan) and, once loaded, the live
// maps and programs it created. Everything it creates is owned by it and closed by close().
//
//   const obj = await BpfObject.open('execsnoop.bpf.o', { rodata: { target_uid: 1000 } });
//   obj.load();
//   const counts = obj.map('counts');
//   for await (const ev of await obj.ringbuf('events', { type: 'event' })) ...
//   obj.close();
import { parseBtf, type Btf } from '../btf/reader.js';
import { BTF_KIND_DATASEC, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_UNION, type BtfKind } from '../btf/kinds.js';
import { CorebpfError } from '../errors.js';
import { checkPlan, parsePlan, planBytes, type LoadPlan, type PlanMap, type RelocationRecord } from '../plan.js';
import { madeHere } from '../plan-origin.js';
import { checkPlanSources, type PlanExpectation } from '../plan-validate.js';
import { sha256 } from '../inputs.js';
import { relocate, type RelocateOptions, type RelocateResult, type Relocator } from '../relocate.js';
import { BtfCodec, BtfCodecError, type BtfValue, type DatasecVar } from './btf-codec.js';
import * as U from './generated/uapi.js';
import { ResourceSet, trackLeak, untrackLeak } from './leaks.js';
import { BpfMap, mapTypeName } from './map.js';
import { openPerfBuffer, type PerfBufferOptions, type PerfBufferReader } from './perfbuf.js';
import { Program } from './program.js';
import { openRingBuffer, type RingBufferReader } from './ringbuf.js';
import { replayPlan, resolvePinPath } from './replay.js';

export interface ObjectOptions {
  /** values of `const volatile` globals (.rodata*) to set before load */
  rodata?: Record<string, unknown>;
  /** initial values of .data* globals */
  data?: Record<string, unknown>;
  /** initial values of .bss* globals */
  bss?: Record<string, unknown>;
  /** directory for LIBBPF_PIN_BY_NAME maps (default: the plan's, /sys/fs/bpf) */
  pinRoot?: string;
  /** raw Buffers for every key and value (no BTF decoding) */
  raw?: boolean;
  /** reuse compatible maps already pinned at the plan's pin paths (default: only for plans
   * made in this process; a plan from elsewhere could otherwise take over another tool's map) */
  reusePins?: boolean;
  /** fromPlan: refuse a plan not made from this object / target BTF (sha256 hex, or the bytes) */
  expect?: PlanExpectation;
}

export interface OpenOptions extends RelocateOptions, Omit<ObjectOptions, 'expect'> {
  /** relocate with this Relocator (default: a shared one) */
  relocator?: Relocator;
}

export interface LoadOptions {
  /** load only these programs (default: those with autoload on, i.e. all) */
  programs?: readonly string[];
  /** verifier log level for every program; the log is kept on Program.verifierLog */
  logLevel?: number;
  logSize?: number;
}

export interface GlobalVariable {
  name: string;
  /** the section: .rodata, .data, .bss, .rodata.NAME, ... */
  section: string;
  /** C type, e.g. "volatile const u32" */
  type: string;
  offset: number;
  size: number;
  /** writable after load (not in a frozen .rodata map) */
  writableAfterLoad: boolean;
}

export interface RecordBufferOptions extends PerfBufferOptions {
  /** decode records as this BTF type of the object (e.g. 'event' or 'struct event') */
  type?: string;
  /** or decode them with this function */
  decode?: (record: Buffer) => unknown;
}

/** larger than any ring buffer (or perf) record the kernel hands out */
const MAX_RECORD_SIZE = 1 << 28;

interface GlobalRef extends DatasecVar {
  mapIndex: number;
  section: string;
}


function sectionOfInternal(m: PlanMap, btf: Btf | null): string {
  if (btf && m.btfValueTypeId) {
    try {
      const t = btf.typeById(m.btfValueTypeId);
      if (t.kind === BTF_KIND_DATASEC) return t.name;
    } catch { /* fall through */ }
  }
  const dot = m.name.indexOf('.');
  return dot >= 0 ? m.name.slice(dot) : m.name;
}

export class BpfObject implements Disposable, AsyncDisposable {
  readonly plan: LoadPlan;
  /** the CO-RE relocation report */
  readonly relocations: readonly RelocationRecord[];
  /** the plan's BTF, parsed (null when the object has none) */
  readonly btf: Btf | null;
  readonly codec: BtfCodec | null;
  /** libbpf's debug log of the relocation (open() only) */
  readonly relocationLog: string;
  readonly #opts: ObjectOptions;
  readonly #res = new ResourceSet();
  readonly #initial = new Map<number, Uint8Array>();
  readonly #autoload: boolean[];
  #globals: Map<string, GlobalRef[]> | null = null;
  #maps: BpfMap[] | null = null;
  #programs: Program[] | null = null;
  #closed = false;
  readonly #reusePins: boolean;

  private constructor(plan: LoadPlan, opts: ObjectOptions = {}, result?: RelocateResult) {
    this.plan = plan;
    this.#reusePins = opts.reusePins ?? (result !== undefined || madeHere(plan));
    this.relocations = plan.relocations;
    this.relocationLog = result?.log ?? '';
    this.#opts = opts;
    this.btf = plan.btf ? parseBtf(planBytes(plan.btf)) : null;
    this.codec = this.btf && !opts.raw ? new BtfCodec(this.btf) : null;
    this.#autoload = plan.programs.map(() => true);
    const sets: [Record<string, unknown> | undefined, string][] = [[opts.rodata, '.rodata'], [opts.data, '.data'], [opts.bss, '.bss']];
    for (const [vals, prefix] of sets) {
      for (const [k, v] of Object.entries(vals ?? {})) this.#setGlobal(k, v, prefix);
    }
  }

  /** Relocate an object (path or bytes) for a kernel in a worker and return it, not loaded. */
  static async open(object: string | Uint8Array, opts: OpenOptions = {}): Promise<BpfObject> {
    const { relocator, rodata, data, bss, pinRoot, raw, reusePins, ...relocOpts } = opts;
    let result: RelocateResult;
    if (relocator) result = await relocator.relocate(object, relocOpts);
    else result = await relocate(object, relocOpts);
    return new BpfObject(result.plan, { rodata, data, bss, pinRoot, raw, reusePins }, result);
  }

  /**
   * An object from a load plan (a LoadPlan, or its JSON text or bytes), checked field by
   * field first. Loading it runs the plan's programs in the kernel as root: take plans only
   * from where you would take the object itself, and pin them with `expect`.
   */
  static fromPlan(plan: LoadPlan | string | Uint8Array, opts: ObjectOptions = {}): BpfObject {
    const p = typeof plan === 'string' || plan instanceof Uint8Array ? parsePlan(plan) : checkPlan(plan);
    if (opts.expect) checkPlanSources(p, opts.expect, sha256);
    return new BpfObject(p, opts);
  }

  get name(): string {
    return this.plan.object;
  }

  get loaded(): boolean {
    return this.#maps !== null;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Relocations that failed (their instructions are poisoned). */
  get failedRelocations(): RelocationRecord[] {
    return this.plan.relocations.filter((r) => r.status === 'failed');
  }

  // ---------------------------------------------------------------------------------------
  // global variables

  #globalIndex(): Map<string, GlobalRef[]> {
    if (this.#globals) return this.#globals;
    const idx = new Map<string, GlobalRef[]>();
    const codec = this.codec ?? (this.btf ? new BtfCodec(this.btf) : null);
    this.plan.maps.forEach((m, mapIndex) => {
      if (!m.internal || !codec || !m.btfValueTypeId) return;
      let t;
      try {
        t = codec.btf.typeById(m.btfValueTypeId);
      } catch {
        return;
      }
      if (t.kind !== BTF_KIND_DATASEC || t.name === '.kconfig' || t.name.startsWith('.ksyms')) return;
      for (const v of codec.datasecVars(t.id)) {
        const list = idx.get(v.name) ?? [];
        list.push({ ...v, mapIndex, section: t.name });
        idx.set(v.name, list);
      }
    });
    this.#globals = idx;
    return idx;
  }

  /** The global variables the object's BTF describes (settable with setGlobal). */
  globals(): GlobalVariable[] {
    const codec = this.#codecOrThrow();
    const out: GlobalVariable[] = [];
    for (const list of this.#globalIndex().values()) {
      for (const g of list) {
        out.push({
          name: g.name, section: g.section, type: codec.typeName(g.typeId), offset: g.offset, size: g.size,
          writableAfterLoad: !this.plan.maps[g.mapIndex]!.freeze,
        });
      }
    }
    return out.sort((a, b) => a.section.localeCompare(b.section) || a.offset - b.offset);
  }

  #codecOrThrow(): BtfCodec {
    if (!this.btf) throw new CorebpfError(`object '${this.name}' has no BTF: its global variables cannot be found by name`);
    return this.codec ?? new BtfCodec(this.btf);
  }

  #findGlobal(name: string, sectionPrefix?: string): GlobalRef {
    this.#codecOrThrow();
    const all = this.#globalIndex();
    const matches = (all.get(name) ?? []).filter((g) => !sectionPrefix || g.section === sectionPrefix || g.section.startsWith(sectionPrefix + '.'));
    if (matches.length === 1) return matches[0]!;
    const avail = [...all.values()].flat()
      .filter((g) => !sectionPrefix || g.section === sectionPrefix || g.section.startsWith(sectionPrefix + '.'))
      .map((g) => `${g.name} (${g.section})`);
    if (matches.length === 0) {
      throw new CorebpfError(
        `object '${this.name}' has no global variable '${name}'${sectionPrefix ? ` in ${sectionPrefix}` : ''}; ` +
        `available: ${avail.length ? avail.join(', ') : 'none'}`, { variable: name, available: avail });
    }
    throw new CorebpfError(
      `global variable '${name}' is ambiguous (${matches.map((g) => g.section).join(', ')}); name its section`,
      { variable: name, sections: matches.map((g) => g.section) });
  }

  #pendingValue(mapIndex: number): Uint8Array {
    let v = this.#initial.get(mapIndex);
    if (!v) {
      const m = this.plan.maps[mapIndex]!;
      const init = m.initial.find((i) => i.value !== undefined);
      v = new Uint8Array(m.valueSize);
      if (init?.value) v.set(planBytes(init.value).subarray(0, m.valueSize));
      this.#initial.set(mapIndex, v);
    }
    return v;
  }

  #setGlobal(name: string, value: unknown, section?: string): void {
    const g = this.#findGlobal(name, section);
    const codec = this.#codecOrThrow();
    if (this.loaded) {
      const m = this.plan.maps[g.mapIndex]!;
      if (m.freeze) {
        throw new CorebpfError(`global '${name}' (${g.section}) is read-only once loaded: set it before load()`, { variable: name });
      }
      const map = this.#mapByIndex(g.mapIndex);
      const key = new Uint8Array(4);
      const cur = map.getRaw(key) ?? Buffer.alloc(m.valueSize);
      const bytes = Uint8Array.from(cur);
      this.#encodeVar(codec, g, value, bytes);
      map.setRaw(key, bytes);
      return;
    }
    const bytes = this.#pendingValue(g.mapIndex);
    const scratch = Uint8Array.from(bytes);
    this.#encodeVar(codec, g, value, scratch); // all or nothing: only copy back when it encoded
    bytes.set(scratch);
  }

  #encodeVar(codec: BtfCodec, g: GlobalRef, value: unknown, bytes: Uint8Array): void {
    try {
      codec.encode(g.typeId, value, bytes, g.offset, g.name);
    } catch (e) {
      if (e instanceof BtfCodecError) {
        throw new CorebpfError(`cannot set global '${g.name}' (${codec.typeName(g.typeId)} in ${g.section}): ${e.message}`,
          { variable: g.name, section: g.section }, { cause: e });
      }
      throw e;
    }
  }

  /**
   * Set a global variable: before load() for any section (.rodata's `const volatile` knobs
   * included); after load() only where the map is not frozen (.data, .bss). `section`
   * ('.rodata', '.data', '.bss', '.data.custom', ...) disambiguates.
   */
  setGlobal(name: string, value: unknown, section?: string): this {
    this.#assertOpen();
    this.#setGlobal(name, value, section);
    return this;
  }

  /** A global variable's value: the pending one before load(), the map's after. */
  getGlobal(name: string, section?: string): BtfValue {
    this.#assertOpen();
    const g = this.#findGlobal(name, section);
    const codec = this.#codecOrThrow();
    const bytes = this.loaded
      ? this.#mapByIndex(g.mapIndex).getRaw(new Uint8Array(4)) ?? new Uint8Array(this.plan.maps[g.mapIndex]!.valueSize)
      : this.#pendingValue(g.mapIndex);
    return codec.decode(g.typeId, bytes, g.offset);
  }

  // ---------------------------------------------------------------------------------------
  // loading

  /** Load (or not) a program on load(); all programs load by default. */
  setAutoload(program: string, on: boolean): this {
    const i = this.plan.programs.findIndex((p) => p.name === program);
    if (i < 0) throw new CorebpfError(`object '${this.name}' has no program '${program}' (programs: ${this.plan.programs.map((p) => p.name).join(', ')})`);
    this.#autoload[i] = on;
    return this;
  }

  /**
   * Create the maps and load the programs into the kernel (all or nothing). Synchronous;
   * returns the object.
   */
  load(opts: LoadOptions = {}): this {
    this.#assertOpen();
    if (this.loaded) throw new CorebpfError(`object '${this.name}' is already loaded`);
    if (opts.programs) {
      for (const n of opts.programs) this.setAutoload(n, true);
    }
    const only = opts.programs ? new Set(opts.programs) : null;
    const res = replayPlan(this.plan, {
      initialValues: this.#initial, pinRoot: this.#opts.pinRoot, reusePins: this.#reusePins, btf: this.btf,
      loadProgram: (p, i) => (only ? only.has(p.name) : this.#autoload[i]!),
      logLevel: opts.logLevel, logSize: opts.logSize,
    });
    const maps: BpfMap[] = [];
    const programs: Program[] = [];
    res.btf?.close(); // maps and programs hold their own references to the BTF
    const byIndex: (BpfMap | null)[] = this.plan.maps.map(() => null);
    this.plan.maps.forEach((m, i) => {
      const fd = res.maps[i];
      if (!fd) return;
      const pin = res.pins.find((p) => p.map === i);
      maps.push(byIndex[i] = this.#res.adopt(new BpfMap(fd, {
        name: m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: res.maxEntries[i]!, flags: m.flags,
      }, {
        codec: m.btf ? this.codec : null, btfKeyTypeId: m.btfKeyTypeId, btfValueTypeId: m.btfValueTypeId,
        sectionName: m.internal ? sectionOfInternal(m, this.btf) : null,
        pinnedPath: pin?.path ?? null,
      })));
    });
    this.plan.programs.forEach((p, i) => {
      const fd = res.programs[i];
      if (!fd) return;
      programs.push(this.#res.adopt(new Program(fd, p, res.verifierLogs[i], this)));
    });
    this.#maps = maps;
    this.#programs = programs;
    this.#mapIndex = byIndex;
    trackLeak(this, `BpfObject '${this.name}'`);
    return this;
  }

  #mapIndex: (BpfMap | null)[] = [];

  #mapByIndex(i: number): BpfMap {
    const m = this.#mapIndex[i];
    if (!m) throw new CorebpfError(`map '${this.plan.maps[i]!.name}' was not created`);
    return m;
  }

  #assertOpen(): void {
    if (this.#closed) throw new CorebpfError(`object '${this.name}' is closed`);
  }

  #assertLoaded(what: string): void {
    this.#assertOpen();
    if (!this.loaded) throw new CorebpfError(`object '${this.name}' is not loaded: call load() before using ${what}`);
  }

  // ---------------------------------------------------------------------------------------
  // access

  get maps(): readonly BpfMap[] {
    this.#assertLoaded('its maps');
    return this.#maps!;
  }

  get programs(): readonly Program[] {
    this.#assertLoaded('its programs');
    return this.#programs!;
  }

  /** A map by name (internal maps also by section: '.rodata', '.bss', ...). */
  map(name: string): BpfMap {
    this.#assertLoaded(`map '${name}'`);
    const m = this.#maps!.find((x) => x.name === name) ?? this.#maps!.find((x) => x.sectionName === name);
    if (!m) {
      throw new CorebpfError(`object '${this.name}' has no map '${name}' (maps: ${this.#maps!.map((x) => x.sectionName ?? x.name).join(', ')})`);
    }
    return m;
  }

  program(name: string): Program {
    this.#assertLoaded(`program '${name}'`);
    const p = this.#programs!.find((x) => x.name === name);
    if (!p) {
      const notLoaded = this.plan.programs.some((x) => x.name === name);
      throw new CorebpfError(notLoaded
        ? `program '${name}' of object '${this.name}' was not loaded (autoload off)`
        : `object '${this.name}' has no program '${name}' (programs: ${this.#programs!.map((x) => x.name).join(', ')})`);
    }
    return p;
  }

  /** Where a map of this object is (or would be) pinned, or null. */
  pinPath(mapName: string): string | null {
    const m = this.plan.maps.find((x) => x.name === mapName);
    return m ? resolvePinPath(m.pinPath, this.#opts.pinRoot, m.name) : null;
  }

  /** A decoder for records of a BTF type of this object ('event', 'struct event', a typedef). */
  decoderFor(typeName: string): (b: Buffer) => BtfValue {
    if (!this.btf) throw new CorebpfError(`object '${this.name}' has no BTF: cannot decode records as '${typeName}'`);
    const codec = this.codec ?? new BtfCodec(this.btf);
    const m = /^(struct|union)\s+(.+)$/.exec(typeName.trim());
    const kinds: BtfKind[] = m ? [m[1] === 'union' ? BTF_KIND_UNION : BTF_KIND_STRUCT] : [BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_TYPEDEF];
    const name = m ? m[2]! : typeName.trim();
    let t;
    for (const k of kinds) {
      t = this.btf.findByName(name, k);
      if (t) break;
    }
    if (!t) throw new CorebpfError(`object '${this.name}' has no BTF type '${typeName}' to decode records with`);
    const id = t.id;
    const size = codec.sizeOf(id);
    if (size > MAX_RECORD_SIZE) {
      throw new CorebpfError(`BTF type '${typeName}' of object '${this.name}' is ${size} bytes: too large for a record (at most ${MAX_RECORD_SIZE})`, { type: typeName, size });
    }
    return (b: Buffer) => {
      let data: Uint8Array = b;
      if (b.byteLength < size) {
        data = new Uint8Array(size);
        data.set(b);
      }
      return codec.decode(id, data);
    };
  }

  #recordDecoder(opts: RecordBufferOptions): ((b: Buffer) => unknown) | undefined {
    if (opts.decode) return opts.decode;
    if (opts.type) return this.decoderFor(opts.type);
    return undefined;
  }

  /** Read a BPF_MAP_TYPE_RINGBUF map: an async iterable of records (Buffers, or decoded). */
  async ringbuf(name: string, opts: RecordBufferOptions = {}): Promise<RingBufferReader<unknown>> {
    const m = this.map(name);
    if (m.type !== U.BPF_MAP_TYPE_RINGBUF) throw new CorebpfError(`map '${name}' is a ${mapTypeName(m.type)} map, not a ringbuf`);
    const decode = this.#recordDecoder(opts);
    this.#assertOpen();
    return this.#res.adopt(openRingBuffer({ fd: m.fd, name: m.name, maxEntries: m.maxEntries }, decode, opts));
  }

  /** Read a BPF_MAP_TYPE_PERF_EVENT_ARRAY map: an async iterable of records. */
  async perfbuf(name: string, opts: RecordBufferOptions = {}): Promise<PerfBufferReader<unknown>> {
    const m = this.map(name);
    if (m.type !== U.BPF_MAP_TYPE_PERF_EVENT_ARRAY) throw new CorebpfError(`map '${name}' is a ${mapTypeName(m.type)} map, not a perf_event_array`);
    const decode = this.#recordDecoder(opts);
    this.#assertOpen();
    return this.#res.adopt(openPerfBuffer({ fd: m.fd, name: m.name, maxEntries: m.maxEntries }, decode, opts));
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

  [Symbol.dispose](): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
