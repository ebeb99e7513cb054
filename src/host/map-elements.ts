// The element calls of a map (lookup, update, has) on their fast path: one prebuilt attr
// and key/value buffers per map (attr/map-elem.ts, an element channel) and, for whole-byte
// integer keys and values, the codec's scalar path (btf-codec/scalar.ts), so a call costs
// one syscall and no allocation. Anything the channel cannot take (no fd yet, a map too
// large for one, a call made while a getter of this map is encoding) takes the general path.
// The raw calls' size checks are here too; delete and lookup-and-delete have only that path.
import * as A from './attr.js';
import { encodeRaw } from './btf-codec.js';
import { scalarCodec, type ScalarCodec } from './btf-codec/scalar.js';
import type { BpfMap } from './map.js';
import { isFdValueMapType, updateFlags, type UpdateFlags } from './map-type.js';
import { buf, encodeMapValueInto } from './map-value.js';
import { getSyscalls, type Bytes, type Syscalls } from './syscall.js';

/** An empty key: passed as a NULL pointer (queues, stacks). */
export const NO_KEY = new Uint8Array(0);

/**
 * Key plus value bytes above which a map keeps no element channel (its per-call buffers
 * would cost more memory than the calls they save: large global-data sections).
 */
const CHANNEL_MAX_BYTES = 16384;

type AnyMap = BpfMap<unknown, unknown>;

// the kernel copies key_size bytes from the key's address: a shorter buffer would have it
// read past the end of ours (cilium/ebpf refuses a wrong-sized key the same way)
export function checkRawKey(m: { readonly name: string; readonly keySize: number }, key: Bytes | null): void {
  const n = key?.byteLength ?? 0;
  if (n !== m.keySize) {
    throw new TypeError(`map '${m.name}': key of ${n} bytes, expected ${m.keySize}${m.keySize === 0 ? ' (this map has no keys: pass null)' : ''}`);
  }
}

/** Raw value bytes are exactly what the kernel reads and writes (all CPUs for per-CPU maps). */
export function checkRawValue(m: { readonly name: string; readonly valueBufferSize: number }, value: Bytes): void {
  if (value.byteLength !== m.valueBufferSize) {
    throw new TypeError(`map '${m.name}': value of ${value.byteLength} bytes, expected ${m.valueBufferSize}`);
  }
}

/** One map's element channel and scalar codecs; reset when the map is bound to a new fd. */
export class MapElements {
  /** the prebuilt element attr and buffers; null: none (too large); undefined: not made yet */
  #chan: A.MapElemChannel | null | undefined;
  #keyScalar: ScalarCodec | null = null;
  #valueScalar: ScalarCodec | null = null;

  reset(): void {
    this.#chan = undefined;
  }

  /**
   * The element channel for one call, or null for the general path: the map is not created,
   * too large for one, or a call of this map is using it (a getter run while encoding).
   */
  #channel(m: AnyMap): A.MapElemChannel | null {
    if (!m.loaded) return null;
    const sys = getSyscalls();
    let ch = this.#chan;
    if (ch === undefined || (ch !== null && ch.sys !== sys)) ch = this.#newChannel(m, sys);
    return ch === null || ch.busy ? null : ch;
  }

  #newChannel(m: AnyMap, sys: Syscalls): A.MapElemChannel | null {
    const vs = m.valueBufferSize;
    if (m.keySize + vs > CHANNEL_MAX_BYTES) return (this.#chan = null);
    const scalar = (id: number, size: number) => {
      const c = m.codec && id ? scalarCodec(m.codec, id) : null;
      return c && c.size === size ? c : null;
    };
    this.#keyScalar = scalar(m.btfKeyTypeId, m.keySize);
    this.#valueScalar = m.perCpu || isFdValueMapType(m.type) ? null : scalar(m.btfValueTypeId, m.valueSize);
    return (this.#chan = new A.MapElemChannel(sys, m.keySize, vs));
  }

  /** Encode a key into the channel's key buffer (as keyBytes does). */
  #putKey(m: AnyMap, ch: A.MapElemChannel, key: unknown): void {
    if (m.keySize === 0) return;
    if (this.#keyScalar?.encode(ch.keyView, 0, key)) return;
    if (m.codec && m.btfKeyTypeId && !(key instanceof Uint8Array)) {
      ch.key.fill(0);
      m.codec.encode(m.btfKeyTypeId, key, ch.key, 0, 'key');
      return;
    }
    A.copyBytes(ch.key, encodeRaw(key, m.keySize, 'key'));
  }

  /** BPF_MAP_LOOKUP_ELEM of raw key bytes (checked here): a copy of the value, or undefined. */
  getRaw(m: AnyMap, key: Bytes | null, flags: number): Buffer | undefined {
    checkRawKey(m, key);
    const ch = this.#channel(m);
    if (ch === null || key === null || key.byteLength !== ch.key.byteLength) {
      const v = A.bytes(m.valueBufferSize);
      return A.mapLookupElem(m.fd, key ?? NO_KEY, v, flags) ? buf(v) : undefined;
    }
    A.copyBytes(ch.key, key);
    if (!ch.lookup(m.fd, flags)) return undefined;
    // a copy (on its own ArrayBuffer): the channel's buffer serves the next call
    const out = Buffer.allocUnsafeSlow(ch.value.byteLength);
    A.copyBytes(out, ch.value);
    return out;
  }

  /** BPF_MAP_LOOKUP_ELEM, the value decoded, or undefined when absent. */
  get(m: AnyMap, key: unknown, flags: number): unknown {
    const fd = m.fd;
    const ch = this.#channel(m);
    if (ch === null) {
      const v = A.bytes(m.valueBufferSize);
      return A.mapLookupElem(fd, keyBytes(m, key) ?? NO_KEY, v, flags) ? m.decodeValue(v) : undefined;
    }
    ch.busy = true;
    try {
      this.#putKey(m, ch, key);
      if (!ch.lookup(fd, flags)) return undefined;
      // decoding copies out of the channel's value buffer
      const vs = this.#valueScalar;
      return vs ? vs.decode(ch.valueView, 0) : m.decodeValue(ch.value);
    } finally {
      ch.busy = false;
    }
  }

  /** Whether the key has an element (the value is read into the channel, not copied out). */
  has(m: AnyMap, key: unknown): boolean {
    const ch = this.#channel(m);
    if (ch === null) return m.getRaw(m.encodeKey(key)) !== undefined;
    ch.busy = true;
    try {
      this.#putKey(m, ch, key);
      return ch.lookup(m.fd, 0);
    } finally {
      ch.busy = false;
    }
  }

  /** BPF_MAP_UPDATE_ELEM of raw bytes (sizes checked here). */
  setRaw(m: AnyMap, key: Bytes | null, value: Bytes, flags: UpdateFlags): void {
    checkRawValue(m, value);
    checkRawKey(m, key);
    const ch = this.#channel(m);
    if (ch === null || key === null || key.byteLength !== ch.key.byteLength) {
      A.mapUpdateElem(m.fd, key ?? NO_KEY, value, updateFlags(flags));
      return;
    }
    const fd = m.fd;
    const f = updateFlags(flags);
    A.copyBytes(ch.key, key);
    A.copyBytes(ch.value, value);
    ch.update(fd, f);
  }

  /** BPF_MAP_UPDATE_ELEM, key and value encoded. */
  set(m: AnyMap, key: unknown, value: unknown, flags: UpdateFlags): void {
    const ch = this.#channel(m);
    if (ch === null) {
      m.setRaw(keyBytes(m, key), m.encodeValue(value), flags);
      return;
    }
    ch.busy = true;
    try {
      this.#putKey(m, ch, key);
      if (!this.#valueScalar?.encode(ch.valueView, 0, value)) {
        ch.value.fill(0);
        encodeMapValueInto(m, value, ch.value);
      }
      const fd = m.fd;
      ch.update(fd, updateFlags(flags));
    } finally {
      ch.busy = false;
    }
  }
}

/** BPF_MAP_DELETE_ELEM of raw key bytes (checked here): true when the key was there. */
export function deleteElem(m: AnyMap, key: Bytes): boolean {
  checkRawKey(m, key);
  return A.mapDeleteElem(m.fd, key);
}

/** BPF_MAP_LOOKUP_AND_DELETE_ELEM: the value decoded, or undefined when absent. */
export function takeElem(m: AnyMap, key: unknown): unknown {
  const v = A.bytes(m.valueBufferSize);
  const k = m.keySize === 0 ? null : m.encodeKey(key);
  return A.mapLookupAndDeleteElem(m.fd, k, v) ? m.decodeValue(v) : undefined;
}

/** the key's bytes for one synchronous call (null: a map without keys) */
function keyBytes(m: AnyMap, key: unknown): Uint8Array | null {
  if (m.keySize === 0) return null;
  // a fresh buffer: this path also serves calls made while the channel is in use
  return m.encodeKey(key);
}
