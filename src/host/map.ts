// A live BPF map: an owned fd plus the map's attributes, with keys and values encoded and
// decoded through the map's BTF (src/host/btf-codec.ts) or as raw bytes. BpfMap is the
// handle; the map-*.ts modules beside it do its work, each named where BpfMap uses it.
import type { InnerMapAdjustment, MapAdjustment } from '../adjust.js';
import { CorebpfError } from '../errors.js';
import * as A from './attr.js';
import { PinState } from './pin.js';
import { BtfCodec, type BtfValue } from './btf-codec.js';
import { OwnedFd } from './fd.js';
import { createMap, openPinnedMap } from './map-create.js';
import { mapTypeArg, MapOpenPhase, u32Arg, type MapAdjuster } from './map-adjust.js';
import { clearMap, deleteKeys, lookupBatch, updateBatch } from './map-batch.js';
import { deleteElem, MapElements, NO_KEY, takeElem } from './map-elements.js';
import { setSpec, setTypes, type MapInput, type MapSpec, type MapTypeInfo } from './map-spec.js';
import { countKeys, nextKeys, rawEntries } from './map-iter.js';
import { isBatchMapType, mapTypeName, updateFlags, type UpdateFlags } from './map-type.js';
import { decodeMapKey, decodeMapValue, encodeMapKey, encodeMapValue, valueBufferSize } from './map-value.js';
import type { Bytes } from './syscall.js';

export { isFdValueMapType, isPerCpuMapType, mapTypeName, possibleCpus, type UpdateFlags } from './map-type.js';
export type { MapInput, MapSpec, MapTypeInfo } from './map-spec.js';

/** BpfObject binds a map handle to its fd at load (not part of the public API). */
export const BIND_MAP = Symbol('corebpf.bindMap');
/** BpfObject sets an opened map handle's pin path, autocreate and inner map. */
export const OPENED_MAP = Symbol('corebpf.openedMap');

/** A BPF map: its attributes (adjustable until the object is loaded) and, once loaded, its elements, read and written through its fd with keys and values encoded by its BTF. Got from {@link BpfObject.map}; `K` and `V` type the keys and values. */
export class BpfMap<K = BtfValue, V = BtfValue> implements Disposable {
  /** the map's name in the kernel (truncated to 15 bytes there) */
  readonly name: string;
  // set by setSpec and setTypes (map-spec.ts), here and at load
  readonly type!: number;
  readonly keySize!: number;
  readonly valueSize!: number;
  readonly maxEntries!: number;
  readonly flags!: number;
  /** internal maps: the section they hold (".rodata", ".bss", ".data.custom", ...), else null */
  readonly sectionName!: string | null;
  readonly perCpu!: boolean;
  readonly codec!: BtfCodec | null;
  readonly btfKeyTypeId!: number;
  readonly btfValueTypeId!: number;
  #fd: OwnedFd | null;
  #pin: PinState;
  readonly #elems = new MapElements();
  readonly #open: MapOpenPhase;

  /**
   * Without an fd: a map of an opened object not loaded yet, whose attributes can still be
   * changed (libbpf's bpf_map__set_*, through `opened`); the object binds the fd at load.
   */
  constructor(fd: OwnedFd | null, spec: MapSpec, types: MapTypeInfo = {}, opened: MapAdjuster | null = null) {
    this.#fd = fd;
    this.#open = new MapOpenPhase(opened, types.pinnedPath ?? null);
    this.name = spec.name;
    setSpec(this, spec);
    setTypes(this, types);
    this.#pin = new PinState(types.pinnedPath ?? null);
  }

  /** set the opened-state attributes a handle starts with (BpfObject, before load) @internal */
  [OPENED_MAP](pinPath: string | null, autocreate: boolean, innerMap: InnerMapAdjustment | null): void {
    this.#open.init(pinPath, autocreate, innerMap);
  }

  /** Create a standalone map (not part of an object). */
  static create(o: A.MapCreateOptions & { codec?: BtfCodec; btfKeyTypeId?: number; btfValueTypeId?: number }): BpfMap {
    return createMap(o, (fd, spec, types) => new BpfMap(fd, spec, types));
  }

  /** Open a pinned map (raw keys and values unless a codec and type ids are given). */
  static fromPin(path: string, types: MapTypeInfo = {}): BpfMap {
    return openPinnedMap(path, types, (fd, spec, t) => new BpfMap(fd, spec, t));
  }

  /** @internal */
  [BIND_MAP](fd: OwnedFd, spec: MapSpec, types: MapTypeInfo): void {
    this.#fd = fd;
    setSpec(this, spec);
    setTypes(this, types);
    this.#pin = new PinState(types.pinnedPath ?? null);
    this.#elems.reset();
  }

  /** created in the kernel (it has an fd) */
  get loaded(): boolean {
    return this.#fd !== null;
  }

  #adjust(what: string, a: MapAdjustment): this {
    setSpec(this, this.#open.adjust(this.name, this.#fd !== null, what, a));
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
    return this.#adjust('setType', { type: mapTypeArg(type) });
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
    this.#open.reuseFd(this.name, this.#fd !== null, fd, (a) => this.#adjust('reuseFd', a));
    return this;
  }

  /** where it is (or will be) pinned: set with setPinPath or LIBBPF_PIN_BY_NAME */
  get pinPath(): string | null {
    return this.#fd ? this.#pin.path : this.#open.pinPath;
  }

  /** whether load() creates it (libbpf's bpf_map__autocreate) */
  get autocreate(): boolean {
    return this.#fd ? true : this.#open.autocreate;
  }

  /** the inner-map template's attributes of a map-in-map, before load */
  get innerMap(): InnerMapAdjustment | null {
    return this.#open.innerMap;
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
  // encoding (map-value.ts)

  /** A key as the bytes the kernel takes (by the key's BTF type; bytes pass through). */
  encodeKey(key: unknown): Uint8Array {
    return encodeMapKey(this, key);
  }

  /** Key bytes as a JS value (by the key's BTF type; a Buffer without BTF). */
  decodeKey(b: Uint8Array): K {
    return decodeMapKey(this, b) as K;
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
  // elements (map-elements.ts)

  /** Raw lookup: the value bytes (all CPUs for per-CPU maps), or undefined when absent. */
  getRaw(key: Bytes | null, flags = 0): Buffer | undefined {
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
    this.#elems.setRaw(this as BpfMap<unknown, unknown>, key, value, flags);
  }

  /** BPF_MAP_UPDATE_ELEM. `flags`: 'any' (default), 'noexist', 'exist', 'lock' or a number. */
  set(key: MapInput<K>, value: MapInput<V>, flags: UpdateFlags = 'any'): this {
    this.#elems.set(this as BpfMap<unknown, unknown>, key, value, flags);
    return this;
  }

  /** Raw delete: true when the key was there. */
  deleteRaw(key: Bytes): boolean {
    return deleteElem(this as BpfMap<unknown, unknown>, key);
  }

  /** Delete a key; false when it was absent. */
  delete(key: MapInput<K>): boolean {
    return this.deleteRaw(this.encodeKey(key));
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM (hash maps, queues, stacks). */
  take(key?: MapInput<K>): V | undefined {
    return takeElem(this as BpfMap<unknown, unknown>, key) as V | undefined;
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
  // iteration (map-iter.ts)

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
    yield* rawEntries(this);
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
    return countKeys(this);
  }

  // ---------------------------------------------------------------------------------------
  // batches (map-batch.ts)

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
    return deleteKeys(this as BpfMap<unknown, unknown>, keys);
  }

  /** Delete every key (hash-like maps; arrays cannot delete). Returns the count deleted. */
  clear(): number {
    return clearMap(this as BpfMap<unknown, unknown>);
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

/** The usual name (shadows the global Map where imported as `Map`). */
export { BpfMap as Map };
