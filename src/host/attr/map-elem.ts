// The element hot path of one map: BPF_MAP_LOOKUP_ELEM / BPF_MAP_UPDATE_ELEM with a bpf_attr
// built once per map. The attr, a key buffer and a value buffer share one ArrayBuffer
// (off the V8 heap: it never moves), and the attr's key and value pointers are written
// once, so a call only stores the fd and the flags, copies the key (and value) in and
// calls bpf(); nothing is allocated and no address is asked of the FFI per call. As
// libbpf's bpf_map_lookup_elem() does, the attr passed is offsetofend(bpf_attr, flags)
// bytes long (offsets from the generated layout).
//
// The buffers belong to the channel's owner (BpfMap) for the length of one synchronous call:
// the owner copies results out (or decodes them) before returning, and takes its slow path
// when a call of its own is already using them (a reentrant call from a getter run while
// encoding a key or value).
import * as U from '../generated/uapi.js';
import { bpfCmdName, syscallError, type Bytes, type Syscalls } from '../syscall.js';
import { isErrno } from './bpf-attr.js';

const EA = U.layouts.bpf_attr.fields;
const ATTR_SIZE = Math.max(EA.map_fd.offset + EA.map_fd.size, EA.key.offset + EA.key.size,
  EA.value.offset + EA.value.size, EA.flags.offset + EA.flags.size);
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const ENOENT = U.ERRNO.ENOENT;

const align8 = (n: number) => Math.ceil(n / 8) * 8;

/** bpf(2) through a layer, returning -ENOENT instead of throwing it. */
type BpfOrErrno = (cmd: number, attr: Bytes) => number;

/**
 * A layer's bpf() as a call that returns -errno: the libc layer's own variant when its bpf
 * is unchanged (no exception built for an expected ENOENT), else bpf() with ENOENT caught
 * (fake and wrapping layers keep seeing every call through their bpf()).
 */
function orErrno(sys: Syscalls): BpfOrErrno {
  const fast = sys.bpf.orErrno;
  if (fast) return fast;
  return (cmd, attr) => {
    try {
      return sys.bpf(cmd, attr);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return -ENOENT;
      throw e;
    }
  };
}

/**
 * Copy `src` into `dst` (same length): a plain loop for the few bytes of typical keys and
 * values, where TypedArray.prototype.set's own checks cost about twice as much.
 */
export function copyBytes(dst: Uint8Array, src: Bytes): void {
  const n = src.byteLength;
  if (n > 32) {
    dst.set(src);
    return;
  }
  for (let i = 0; i < n; i++) dst[i] = src[i]!;
}

/** One map's prebuilt element attr with its key and value buffers. */
export class MapElemChannel {
  /** the key bytes the kernel reads (keySize; empty for maps without keys: a NULL pointer) */
  readonly key: Uint8Array;
  /** the value bytes the kernel reads or fills (valueSize; all CPUs for per-CPU maps) */
  readonly value: Uint8Array;
  /** a view of the whole buffer; `keyView` / `valueView` start at the key / value */
  readonly keyView: DataView;
  readonly valueView: DataView;
  /** set by the owner while a call uses the buffers */
  busy = false;
  readonly #attr: Uint8Array;
  readonly #view: DataView;
  readonly #call: BpfOrErrno;

  constructor(readonly sys: Syscalls, keySize: number, valueSize: number) {
    const keyOff = align8(ATTR_SIZE);
    const valueOff = keyOff + align8(keySize);
    const ab = new ArrayBuffer(valueOff + align8(Math.max(valueSize, 1)));
    this.#attr = new Uint8Array(ab, 0, ATTR_SIZE);
    this.#view = new DataView(ab);
    this.key = new Uint8Array(ab, keyOff, keySize);
    this.value = new Uint8Array(ab, valueOff, valueSize);
    this.keyView = new DataView(ab, keyOff, keySize);
    this.valueView = new DataView(ab, valueOff, valueSize);
    if (keySize > 0) this.#view.setBigUint64(EA.key.offset, BigInt(sys.addressOf(this.key)), LE);
    if (valueSize > 0) this.#view.setBigUint64(EA.value.offset, BigInt(sys.addressOf(this.value)), LE);
    this.#call = orErrno(sys);
  }

  /** BPF_MAP_LOOKUP_ELEM of `key` into `value`; false when the key is absent (ENOENT). */
  lookup(fd: number, flags: number | bigint): boolean {
    this.#set(fd, flags);
    const r = this.#call(U.BPF_MAP_LOOKUP_ELEM, this.#attr);
    if (r >= 0) return true;
    if (r === -ENOENT) return false;
    // the error the libc layer's bpf() throws for this errno (other layers threw their own)
    throw syscallError(bpfCmdName(U.BPF_MAP_LOOKUP_ELEM), -r);
  }

  /** BPF_MAP_UPDATE_ELEM of `key` to `value`. */
  update(fd: number, flags: number | bigint): void {
    this.#set(fd, flags);
    this.sys.bpf(U.BPF_MAP_UPDATE_ELEM, this.#attr);
  }

  #set(fd: number, flags: number | bigint): void {
    const v = this.#view;
    v.setUint32(EA.map_fd.offset, fd, LE);
    if (typeof flags === 'number' && flags >>> 0 === flags) {
      v.setUint32(EA.flags.offset + (LE ? 0 : 4), flags, LE);
      v.setUint32(EA.flags.offset + (LE ? 4 : 0), 0, LE);
    } else {
      v.setBigUint64(EA.flags.offset, BigInt(flags), LE);
    }
  }
}
