// The value layout of a map as the kernel reads and writes it, and its encoding: per-CPU maps
// (PERCPU_HASH, PERCPU_ARRAY, LRU_PERCPU_HASH, PERCPU_CGROUP_STORAGE) hold one value per
// possible CPU, round_up(value_size, 8) bytes each, and decode to an array with one entry
// per possible CPU; maps of fds take a handle with an fd and read back 32-bit ids. Keys are
// one value each, by their BTF type or as raw bytes.
import { encodeRaw, type BtfCodec } from './btf-codec.js';
import { isFdValueMapType, possibleCpus } from './map-type.js';

/** What the key encoding depends on (a BpfMap's attributes). */
export interface MapKeyLayout {
  readonly keySize: number;
  readonly codec: BtfCodec | null;
  readonly btfKeyTypeId: number;
}

export function buf(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** A key as the bytes the kernel takes (by the key's BTF type; bytes pass through). */
export function encodeMapKey(m: MapKeyLayout, key: unknown): Uint8Array {
  if (m.keySize === 0) return new Uint8Array(0);
  if (m.codec && m.btfKeyTypeId && !(key instanceof Uint8Array)) {
    return m.codec.encode(m.btfKeyTypeId, key, new Uint8Array(m.keySize), 0, 'key');
  }
  return encodeRaw(key, m.keySize, 'key');
}

/** Key bytes as a JS value (by the key's BTF type; a Buffer without BTF). */
export function decodeMapKey(m: MapKeyLayout, b: Uint8Array): unknown {
  if (m.codec && m.btfKeyTypeId) return m.codec.decode(m.btfKeyTypeId, b);
  return buf(b);
}

/** What the value layout depends on (a BpfMap's attributes). */
export interface MapValueLayout {
  readonly name: string;
  readonly type: number;
  readonly valueSize: number;
  readonly perCpu: boolean;
  readonly codec: BtfCodec | null;
  readonly btfValueTypeId: number;
}

/** Bytes of a value as the kernel reads and writes it (all CPUs for per-CPU maps). */
export function valueBufferSize(m: MapValueLayout): number {
  return m.perCpu ? Math.ceil(m.valueSize / 8) * 8 * possibleCpus() : m.valueSize;
}

function encodeOne(m: MapValueLayout, value: unknown, out: Uint8Array, offset: number, path: string): void {
  if (value instanceof Uint8Array) {
    if (value.byteLength !== m.valueSize) throw new TypeError(`${path}: ${value.byteLength} bytes given, map '${m.name}' values are ${m.valueSize} bytes`);
    out.set(value, offset);
    return;
  }
  if (isFdValueMapType(m.type) && typeof value === 'object' && value !== null && typeof (value as { fd?: unknown }).fd === 'number') {
    out.set(encodeRaw((value as { fd: number }).fd, m.valueSize, path), offset);
    return;
  }
  if (m.codec && m.btfValueTypeId) {
    m.codec.encode(m.btfValueTypeId, value, out, offset, path);
    return;
  }
  out.set(encodeRaw(value, m.valueSize, path), offset);
}

/**
 * Encode a value. Per-CPU maps take an array with one value per possible CPU, or a single
 * value that is written for every CPU.
 */
export function encodeMapValue(m: MapValueLayout, value: unknown): Uint8Array {
  return encodeMapValueInto(m, value, new Uint8Array(valueBufferSize(m)));
}

/** encodeMapValue into `out`: zero-filled, of the value buffer's size (returned). */
export function encodeMapValueInto(m: MapValueLayout, value: unknown, out: Uint8Array): Uint8Array {
  if (!m.perCpu) {
    encodeOne(m, value, out, 0, 'value');
    return out;
  }
  const n = possibleCpus();
  const stride = Math.ceil(m.valueSize / 8) * 8;
  if (value instanceof Uint8Array && value.byteLength === out.byteLength) {
    out.set(value);
    return out;
  }
  const valueIsArrayType = m.codec && m.btfValueTypeId
    ? m.codec.resolve(m.btfValueTypeId).kindName === 'ARRAY' : false;
  if (Array.isArray(value) && (!valueIsArrayType || value.length === n && value.every((v) => Array.isArray(v) || typeof v === 'string'))) {
    if (value.length !== n) {
      throw new TypeError(`value: per-CPU map '${m.name}' needs ${n} values (one per possible CPU), got ${value.length}`);
    }
    value.forEach((v, cpu) => encodeOne(m, v, out, cpu * stride, `value[${cpu}]`));
    return out;
  }
  for (let cpu = 0; cpu < n; cpu++) encodeOne(m, value, out, cpu * stride, 'value');
  return out;
}

function decodeOne(m: MapValueLayout, b: Uint8Array): unknown {
  if (m.codec && m.btfValueTypeId) return m.codec.decode(m.btfValueTypeId, b);
  if (isFdValueMapType(m.type) && m.valueSize === 4) return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
  return Buffer.from(b);
}

/** Decode a value (per-CPU maps: an array, one entry per possible CPU). */
export function decodeMapValue(m: MapValueLayout, b: Uint8Array): unknown {
  if (!m.perCpu) return decodeOne(m, b.subarray(0, m.valueSize));
  const stride = Math.ceil(m.valueSize / 8) * 8;
  const n = Math.floor(b.byteLength / stride);
  const out: unknown[] = new Array(n);
  for (let cpu = 0; cpu < n; cpu++) out[cpu] = decodeOne(m, b.subarray(cpu * stride, cpu * stride + m.valueSize));
  return out;
}
