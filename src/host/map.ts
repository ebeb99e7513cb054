// A live BPF map: an owned fd plus the map's attributes, with keys and values encoded and
// decoded through the map's BTF (src/host/btf-codec.ts) or as raw bytes. Beside it: the map
// types (map-type.ts), the value layout of per-CPU and fd maps (map-value.ts), the key walk
// (map-iter.ts), the batch commands (map-batch.ts) and the element calls' fast path
// (map-elements.ts).
import type { InnerMapAdjustment, MapAdjustment } from '../adjust.js';
import { CorebpfError } from '../errors.js';
import * as A from './attr.js';
import { bumpMemlockRlimit } from './memlock.js';
import { PinState } from './pin.js';
import { BtfCodec, encodeRaw, type BtfValue } from './btf-codec.js';
import { OwnedFd } from './fd.js';
import * as U from './generated/uapi.js';
import { lookupBatch, updateBatch } from './map-batch.js';
import { buf, MapElements, NO_KEY } from './map-elements.js';
import { nextKeys } from './map-iter.js';
import { isBatchMapType, isPerCpuMapType, mapTypeName, updateFlags, type UpdateFlags } from './map-type.js';
import { decodeMapValue, encodeMapValue, valueBufferSize } from './map-value.js';
import type { Bytes } from './syscall.js';

export { isFdValueMapType, isPerCpuMapType, mapTypeName, possibleCpus, type UpdateFlags } from './map-type.js';

/** The attributes of a map. */
export interface MapSpec {
  name: string;
  /** enum bpf_map_type */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** BPF_F_* map flags */
  flags: number;
}

export interface MapTypeInfo {
  /** BTF of the key and value types (the object's BTF) */
  codec?: BtfCodec | null;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  /** libbpf's "real name" of an internal map: the section (".rodata", ".data.custom", ...) */
  sectionName?: string | null;
  pinnedPath?: string | null;
}

/** The opened object's side of a map handle before load: where adjustments go. */
export interface MapAdjuster {
  /** record an adjustment (throws when it is not possible); returns the map's attributes after it */
  adjustMap(name: string, a: MapAdjustment): MapSpec & { pinPath: string | null; autocreate: boolean; innerMap: InnerMapAdjustment | null };
  /** bpf_map__reuse_fd: use this map instead of creating one */
  reuseFd(name: string, fd: number): void;
}

/** BpfObject binds a map handle to its fd at load (not part of the public API). */
export const BIND_MAP = Symbol('corebpf.bindMap');
/** BpfObject sets an opened map handle's pin path, autocreate and inner map. */
export const OPENED_MAP = Symbol('corebpf.openedMap');

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * What get/set/delete/push/... take for keys or values of type T: anything (checked when
 * encoded) while T is the untyped default (BtfValue, unknown); T or raw bytes once the map
 * is typed (`obj.map<number, Event>(...)`, `corebpf gen`).
 */
export type MapInput<T> = unknown extends T ? unknown : [BtfValue] extends [T] ? unknown : T | Uint8Array;

/** A BPF map: its attributes (adjustable until the object is loaded) and, once loaded, its elements, read and written through its fd with keys and values encoded by its BTF. Got from {@link BpfObject.map}; `K` and `V` type the keys and values. */
export class BpfMap<K = BtfValue, V = BtfValue> implements Disposable {
  /** the map's name in the kernel (truncated to 15 bytes there) */
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /** internal maps: the section they hold (".rodata", ".bss", ".data.custom", ...), else null */
  readonly sectionName: string | null;
  readonly perCpu: boolean;
  readonly codec: BtfCodec | null;
  readonly btfKeyTypeId: number;
  readonly btfValueTypeId: number;
  #fd: OwnedFd | null;
  #pin: PinState;
  readonly #elems = new MapElements();
  readonly #opened: MapAdjuster | null;
  #pinPath: string | null = null;
  #autocreate = true;
  #innerMap: InnerMapAdjustment | null = null;

  /**
   * Without an fd: a map of an opened object not loaded yet, whose attributes can still be
   * changed (libbpf's bpf_map__set_*, through `opened`); the object binds the fd at load.
   */
  constructor(fd: OwnedFd | null, spec: MapSpec, types: MapTypeInfo = {}, opened: MapAdjuster | null = null) {
    this.#fd = fd;
    this.#opened = opened;
    this.name = spec.name;
    this.type = spec.type;
    this.keySize = spec.keySize;
    this.valueSize = spec.valueSize;
    this.maxEntries = spec.maxEntries;
    this.flags = spec.flags;
    this.perCpu = isPerCpuMapType(spec.type);
    this.codec = types.codec ?? null;
    this.btfKeyTypeId = this.codec ? types.btfKeyTypeId ?? 0 : 0;
    this.btfValueTypeId = this.codec ? types.btfValueTypeId ?? 0 : 0;
    this.sectionName = types.sectionName ?? null;
    this.#pin = new PinState(types.pinnedPath ?? null);
    this.#pinPath = types.pinnedPath ?? null;
  }

  /** set the opened-state attributes a handle starts with (BpfObject, before load) @internal */
  [OPENED_MAP](pinPath: string | null, autocreate: boolean, innerMap: InnerMapAdjustment | null): void {
    this.#pinPath = pinPath;
    this.#autocreate = autocreate;
    this.#innerMap = innerMap;
  }

  /** Create a standalone map (not part of an object). */
  static create(o: A.MapCreateOptions & { codec?: BtfCodec; btfKeyTypeId?: number; btfValueTypeId?: number }): BpfMap {
    bumpMemlockRlimit(); // as libbpf's bpf_map_create()
    const fd = A.mapCreate(o);
    return new BpfMap(fd, {
      name: o.name ?? '', type: o.mapType, keySize: o.keySize, valueSize: o.valueSize, maxEntries: o.maxEntries, flags: o.mapFlags ?? 0,
    }, { codec: o.codec, btfKeyTypeId: o.btfKeyTypeId, btfValueTypeId: o.btfValueTypeId });
  }

  /** Open a pinned map (raw keys and values unless a codec and type ids are given). */
  static fromPin(path: string, types: MapTypeInfo = {}): BpfMap {
    const fd = A.objGet(path, 0, 'map');
    try {
      const info = A.mapInfo(fd.fd);
      return new BpfMap(fd, {
        name: info.name, type: info.type, keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries, flags: info.mapFlags,
      }, { ...types, pinnedPath: path });
    } catch (e) {
      fd.close();
      throw e;
    }
  }

  /** @internal */
  [BIND_MAP](fd: OwnedFd, spec: MapSpec, types: MapTypeInfo): void {
    const self = this as Mutable<BpfMap<K, V>>;
    this.#fd = fd;
    self.type = spec.type;
    self.keySize = spec.keySize;
    self.valueSize = spec.valueSize;
    self.maxEntries = spec.maxEntries;
    self.flags = spec.flags;
    self.perCpu = isPerCpuMapType(spec.type);
    self.codec = types.codec ?? null;
    self.btfKeyTypeId = self.codec ? types.btfKeyTypeId ?? 0 : 0;
    self.btfValueTypeId = self.codec ? types.btfValueTypeId ?? 0 : 0;
    self.sectionName = types.sectionName ?? null;
    this.#pin = new PinState(types.pinnedPath ?? null);
    this.#elems.reset();
  }

  /** created in the kernel (it has an fd) */
  get loaded(): boolean {
    return this.#fd !== null;
  }

  #adjust(what: string, a: MapAdjustment): this {
    if (!this.#opened) throw new CorebpfError(`map '${this.name}': ${what} needs an opened object (BpfObject.open), not a created map or a load plan`, { map: this.name });
    if (this.#fd) throw new CorebpfError(`map '${this.name}' is already created: ${what} before load()`, { map: this.name });
    const r = this.#opened.adjustMap(this.name, a);
    const self = this as Mutable<BpfMap<K, V>>;
    self.type = r.type;
    self.keySize = r.keySize;
    self.valueSize = r.valueSize;
    self.maxEntries = r.maxEntries;
    self.flags = r.flags;
    self.perCpu = isPerCpuMapType(r.type);
    this.#pinPath = r.pinPath;
    this.#autocreate = r.autocreate;
    this.#innerMap = r.innerMap;
    return this;
  }

  /** libbpf's bpf_map__set_max_entries (e.g. a per-CPU array sized by the CPU count) */
  setMaxEntries(n: number): this {
    return this.#adjust('setMaxEntries', { maxEntries: u32Arg('max_entries', n) });
  }

  /** libbpf's bpf_map__set_value_size (a global-data map: its last variable must be an array) */
  setValueSize(n: number): this {
    return this.#adjust('setValueSize', { valueSize: u32Arg('value_size', n) });
  }

  /** libbpf's bpf_map__set_key_size */
  setKeySize(n: number): this {
    return this.#adjust('setKeySize', { keySize: u32Arg('key_size', n) });
  }

  /** libbpf's bpf_map__set_map_flags (BPF_F_*) */
  setMapFlags(flags: number): this {
    return this.#adjust('setMapFlags', { flags: u32Arg('map_flags', flags) });
  }

  /** libbpf's bpf_map__set_type: a number or a name ('hash', 'BPF_MAP_TYPE_LRU_HASH') */
  setType(type: number | string): this {
    let v = type;
    if (typeof v === 'string') {
      const want = v.toUpperCase().startsWith('BPF_MAP_TYPE_') ? v.toUpperCase() : `BPF_MAP_TYPE_${v.toUpperCase()}`;
      v = (U.bpf_map_type as Record<string, number>)[want] ?? NaN;
      if (Number.isNaN(v)) throw new CorebpfError(`unknown map type '${type}'`);
    }
    return this.#adjust('setType', { type: v });
  }

  /** libbpf's bpf_map__set_autocreate: false leaves the map out (programs using it must be off) */
  setAutocreate(on: boolean): this {
    return this.#adjust('setAutocreate', { autocreate: on });
  }

  /**
   * The inner-map template of a map-in-map (what bpf_map__inner_map() + setters change in
   * libbpf): e.g. `setInnerMap({ maxEntries: 4096 })` for inner maps created later.
   */
  setInnerMap(inner: InnerMapAdjustment): this {
    return this.#adjust('setInnerMap', { innerMap: inner });
  }

  /** libbpf's bpf_map__set_pin_path: reuse a compatible map pinned there, else pin the new one there */
  setPinPath(path: string | null): this {
    return this.#adjust('setPinPath', { pinPath: path });
  }

  /**
   * libbpf's bpf_map__reuse_fd: load() uses this existing map (its attributes are taken
   * from the fd now, as libbpf does) instead of creating one; the caller keeps its fd.
   */
  reuseFd(fd: number): this {
    if (!this.#opened) throw new CorebpfError(`map '${this.name}': reuseFd needs an opened object (BpfObject.open)`, { map: this.name });
    if (this.#fd) throw new CorebpfError(`map '${this.name}' is already created: reuseFd before load()`, { map: this.name });
    const info = A.mapInfo(fd);
    this.#adjust('reuseFd', { type: info.type, keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries, flags: info.mapFlags });
    this.#opened.reuseFd(this.name, fd);
    return this;
  }

  /** where it is (or will be) pinned: set with setPinPath or LIBBPF_PIN_BY_NAME */
  get pinPath(): string | null {
    return this.#fd ? this.#pin.path : this.#pinPath;
  }

  /** whether load() creates it (libbpf's bpf_map__autocreate) */
  get autocreate(): boolean {
    return this.#fd ? true : this.#autocreate;
  }

  /** the inner-map template's attributes of a map-in-map, before load */
  get innerMap(): InnerMapAdjustment | null {
    return this.#innerMap;
  }

  /** the map's fd; throws when the object is not loaded */
  get fd(): number {
    const f = this.#fd;
    if (f === null) throw new CorebpfError(`map '${this.name}' is not created: its object is not loaded: call load() first`, { map: this.name });
    return f.fd;
  }

  /** the map's fd was closed */
  get closed(): boolean {
    return this.#fd?.closed ?? false;
  }

  /** Short type name: "hash", "percpu_array", "ringbuf", ... */
  get typeName(): string {
    return mapTypeName(this.type);
  }

  /** Where this map is pinned (by pin() or by the object's pinning), or null. */
  get pinnedPath(): string | null {
    return this.#pin.path;
  }

  /** BPF_OBJ_GET_INFO_BY_FD. */
  info(): A.MapInfo {
    return A.mapInfo(this.fd);
  }

  /** The kernel's id of this map. */
  get id(): number {
    return this.info().id;
  }

  /** Bytes of a value as the kernel reads and writes it (all CPUs for per-CPU maps). */
  get valueBufferSize(): number {
    return valueBufferSize(this);
  }

  // ---------------------------------------------------------------------------------------
  // encoding

  /** A key as the bytes the kernel takes (by the key's BTF type; bytes pass through). */
  encodeKey(key: unknown): Uint8Array {
    if (this.keySize === 0) return new Uint8Array(0);
    if (this.codec && this.btfKeyTypeId && !(key instanceof Uint8Array)) {
      return this.codec.encode(this.btfKeyTypeId, key, new Uint8Array(this.keySize), 0, 'key');
    }
    return encodeRaw(key, this.keySize, 'key');
  }

  /** Key bytes as a JS value (by the key's BTF type; a Buffer without BTF). */
  decodeKey(b: Uint8Array): K {
    if (this.codec && this.btfKeyTypeId) return this.codec.decode(this.btfKeyTypeId, b) as K;
    return buf(b) as K;
  }

  /**
   * Encode a value. Per-CPU maps take an array with one value per possible CPU, or a single
   * value that is written for every CPU.
   */
  encodeValue(value: unknown): Uint8Array {
    return encodeMapValue(this, value);
  }

  /** Decode a value (per-CPU maps: an array, one entry per possible CPU). */
  decodeValue(b: Uint8Array): V {
    return decodeMapValue(this, b) as V;
  }

  // ---------------------------------------------------------------------------------------
  // elements

  /** Raw lookup: the value bytes (all CPUs for per-CPU maps), or undefined when absent. */
  getRaw(key: Bytes | null, flags = 0): Buffer | undefined {
    this.#checkRawKey(key);
    return this.#elems.getRaw(this as BpfMap<unknown, unknown>, key, flags);
  }

  /** The value for a key, decoded (an array of one value per CPU for per-CPU maps), or undefined when absent. */
  get(key?: MapInput<K>, flags = 0): V | undefined {
    return this.#elems.get(this as BpfMap<unknown, unknown>, key, flags) as V | undefined;
  }

  /** Whether the map has an element for this key. */
  has(key: MapInput<K>): boolean {
    return this.#elems.has(this as BpfMap<unknown, unknown>, key);
  }

  /** Raw update: value bytes of exactly the map's value size (all CPUs for per-CPU maps). */
  setRaw(key: Bytes | null, value: Bytes, flags: UpdateFlags = 'any'): void {
    if (value.byteLength !== this.valueBufferSize) {
      throw new TypeError(`map '${this.name}': value of ${value.byteLength} bytes, expected ${this.valueBufferSize}`);
    }
    this.#checkRawKey(key);
    this.#elems.setRaw(this as BpfMap<unknown, unknown>, key, value, flags);
  }

  /** BPF_MAP_UPDATE_ELEM. `flags`: 'any' (default), 'noexist', 'exist', 'lock' or a number. */
  set(key: MapInput<K>, value: MapInput<V>, flags: UpdateFlags = 'any'): this {
    this.#elems.set(this as BpfMap<unknown, unknown>, key, value, flags);
    return this;
  }

  /** Raw delete: true when the key was there. */
  deleteRaw(key: Bytes): boolean {
    this.#checkRawKey(key);
    return A.mapDeleteElem(this.fd, key);
  }

  // the kernel copies key_size bytes from the key's address: a shorter buffer would have it
  // read past the end of ours (cilium/ebpf refuses a wrong-sized key the same way)
  #checkRawKey(key: Bytes | null): void {
    const n = key?.byteLength ?? 0;
    if (n !== this.keySize) {
      throw new TypeError(`map '${this.name}': key of ${n} bytes, expected ${this.keySize}${this.keySize === 0 ? ' (this map has no keys: pass null)' : ''}`);
    }
  }

  /** Delete a key; false when it was absent. */
  delete(key: MapInput<K>): boolean {
    return this.deleteRaw(this.encodeKey(key));
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM (hash maps, queues, stacks). */
  take(key?: MapInput<K>): V | undefined {
    const v = A.bytes(this.valueBufferSize);
    const k = this.keySize === 0 ? null : this.encodeKey(key);
    return A.mapLookupAndDeleteElem(this.fd, k, v) ? this.decodeValue(v) : undefined;
  }

  /** Queue/stack: push a value (flags 'exist' overwrites the oldest when full). */
  push(value: MapInput<V>, flags: UpdateFlags = 'any'): void {
    A.mapUpdateElem(this.fd, NO_KEY, this.encodeValue(value), updateFlags(flags));
  }

  /** Queue/stack: remove and return the next value, or undefined when empty. */
  pop(): V | undefined {
    return this.take();
  }

  /** Queue/stack: the next value without removing it. */
  peek(): V | undefined {
    return this.get();
  }

  // ---------------------------------------------------------------------------------------
  // iteration

  /** Raw keys via BPF_MAP_GET_NEXT_KEY (safe against deleting the current key). */
  *keysRaw(): Generator<Buffer, void, undefined> {
    yield* nextKeys(this);
  }

  /** The keys, decoded, by BPF_MAP_GET_NEXT_KEY. */
  *keys(): Generator<K, void, undefined> {
    for (const k of this.keysRaw()) yield this.decodeKey(k);
  }

  /** Raw [key, value] pairs; keys deleted between the key walk and the lookup are skipped. */
  *entriesRaw(): Generator<[Buffer, Buffer], void, undefined> {
    for (const k of this.keysRaw()) {
      const v = this.getRaw(k);
      if (v !== undefined) yield [k, v];
    }
  }

  /** The [key, value] pairs, decoded. */
  *entries(): Generator<[K, V], void, undefined> {
    for (const [k, v] of this.entriesRaw()) yield [this.decodeKey(k), this.decodeValue(v)];
  }

  /** The values, decoded. */
  *values(): Generator<V, void, undefined> {
    for (const [, v] of this.entriesRaw()) yield this.decodeValue(v);
  }

  /** Same as entries(). */
  [Symbol.iterator](): Generator<[K, V], void, undefined> {
    return this.entries();
  }

  /** Number of keys (walks the map). */
  count(): number {
    let n = 0;
    for (const _ of this.keysRaw()) n++;
    return n;
  }

  // ---------------------------------------------------------------------------------------
  // batches

  /** Whether this map type implements the BPF_MAP_*_BATCH commands. */
  get supportsBatch(): boolean {
    return isBatchMapType(this.type);
  }

  /**
   * All [key, value] pairs through BPF_MAP_LOOKUP_BATCH (`batchSize` elements per call),
   * falling back to key-by-key iteration where the map type or the kernel lacks batches.
   */
  entriesBatchRaw(batchSize = 256): [Buffer, Buffer][] {
    return lookupBatch(this as BpfMap<unknown, unknown>, batchSize);
  }

  /** All [key, value] pairs, decoded, read in batches (see entriesBatchRaw). */
  entriesBatch(batchSize = 256): [K, V][] {
    return this.entriesBatchRaw(batchSize).map(([k, v]) => [this.decodeKey(k), this.decodeValue(v)]);
  }

  /** Look up several keys (one lookup each: the kernel has no batch lookup by key). */
  getBatch(keys: Iterable<MapInput<K>>): (V | undefined)[] {
    return [...keys].map((k) => this.get(k));
  }

  /** BPF_MAP_UPDATE_BATCH (falls back to one update per element). Returns the count written. */
  setBatch(entries: Iterable<readonly [MapInput<K>, MapInput<V>]>, flags: UpdateFlags = 'any'): number {
    return updateBatch(this as BpfMap<unknown, unknown>, entries, flags);
  }

  /** Delete several keys; returns how many existed. */
  deleteBatch(keys: Iterable<MapInput<K>>): number {
    let n = 0;
    for (const k of keys) if (this.delete(k)) n++;
    return n;
  }

  /** Delete every key (hash-like maps; arrays cannot delete). Returns the count deleted. */
  clear(): number {
    let n = 0;
    for (const k of this.keysRaw()) if (this.deleteRaw(k)) n++;
    return n;
  }

  /** BPF_MAP_FREEZE: no more writes from user space. */
  freeze(): void {
    A.mapFreeze(this.fd);
  }

  // ---------------------------------------------------------------------------------------
  // pinning and lifetime

  /** Pin the map at `path` (on a bpffs). */
  pin(path: string): void {
    this.#pin.pin(this.fd, path);
  }

  /** Remove the pin (the map lives on while fds refer to it). */
  unpin(): void {
    this.#pin.unpin();
  }

  /** Close the map's fd (the kernel frees the map when nothing else holds it). */
  close(): void {
    this.#fd?.close();
  }

  /** Same as close(). */
  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `BpfMap(${this.name}, ${this.typeName}, ${this.#fd ?? 'not created'})`;
  }
}

function u32Arg(what: string, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new CorebpfError(`bad ${what} ${n}: expected an unsigned 32-bit integer`);
  return n;
}

/** The usual name (shadows the global Map where imported as `Map`). */
export { BpfMap as Map };
