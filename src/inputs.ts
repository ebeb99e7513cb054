// Reading the caller's inputs (files, compressed fixtures) happens in the caller's thread:
// the worker only ever sees bytes.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync, type BigIntStats } from 'node:fs';
import { basename } from 'node:path';
import { CorebpfError } from './errors.js';
import { childProcess } from './lazy-modules.js';

export const HOST_BTF_PATH = '/sys/kernel/btf/vmlinux';

/** A file version's identity, for the caches of what was read from a file (object files,
 *  target BTF, kernel config, uprobe targets): a new inode (a replaced file), size, mtime or
 *  ctime (which a write bumps even when the writer sets mtime back) makes a new one; all in
 *  nanoseconds, so two writes within a millisecond differ. From a `{ bigint: true }` stat. */
export function fileIdentity(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/* Decompressed inputs are capped: a few hundred KB of .xz can expand to gigabytes. The
 * largest kernel BTF (all of vmlinux) is under 10 MiB; 256 MiB leaves room for vmlinux
 * ELF files and stays well under any machine's memory. COREBPF_MAX_INPUT_SIZE (bytes, or
 * with a K/M/G suffix) or setMaxInputSize() changes it. */
const DEFAULT_MAX_INPUT = 256 << 20;
let maxInput: number | undefined;

function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+)\s*([kmg]?)i?b?\s*$/i.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * ({ '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30 } as Record<string, number>)[m[2]!.toLowerCase()]!;
}

/** The most bytes a decompressed input may have. */
export function maxInputSize(): number {
  if (maxInput !== undefined) return maxInput;
  const env = process.env.COREBPF_MAX_INPUT_SIZE;
  const n = env ? parseSize(env) : undefined;
  return n && n > 0 ? n : DEFAULT_MAX_INPUT;
}

/** Set the decompression limit for this process (undefined: back to the default). */
export function setMaxInputSize(bytes: number | undefined): void {
  if (bytes !== undefined && !(Number.isSafeInteger(bytes) && bytes > 0)) throw new CorebpfError(`input size limit must be a positive integer, got ${bytes}`);
  maxInput = bytes;
}

export function inputTooLarge(path: string, what: string, limit: number): CorebpfError {
  return new CorebpfError(
    `cannot read ${what} '${path}': it decompresses to more than ${limit} bytes (the limit; set COREBPF_MAX_INPUT_SIZE to raise it)`,
    { path, limit, code: 'input_too_large' });
}

/** A file's bytes; `.xz` files (our kernel BTF fixtures) are decompressed with xz(1). */
export function readInput(path: string, what: string): Uint8Array {
  try {
    if (path.endsWith('.xz')) {
      const limit = maxInputSize();
      try {
        return new Uint8Array(childProcess().execFileSync('xz', ['-dc', '--', path], { maxBuffer: limit, stdio: ['ignore', 'pipe', 'pipe'] }));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOBUFS') throw inputTooLarge(path, what, limit);
        throw e;
      }
    }
    const b = readFileSync(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT' && path.endsWith('.xz')) {
      throw new CorebpfError(`cannot read ${what} '${path}': file missing or xz(1) not installed (apt-get install xz-utils)`, { path }, { cause: e });
    }
    throw new CorebpfError(`cannot read ${what} '${path}': ${err.message}`, { path, code: err.code }, { cause: e });
  }
}

/**
 * A file's bytes as readInput() gives them, read into shared memory when the file is not
 * compressed: a target BTF there reaches a worker without a copy (the pool sends shared
 * memory as it is, WorkerPool's stageTarget), where a private array would be copied into
 * memory shared with the worker first — megabytes, freshly paged in, on the first
 * relocation of every process. The caller must never change the bytes.
 */
export function readInputShared(path: string, what: string): Uint8Array {
  if (path.endsWith('.xz')) return readInput(path, what);
  return readWhole(path, (size) => new Uint8Array(new SharedArrayBuffer(size))) ?? readInput(path, what);
}

/**
 * File `path` read whole into the buffer `into(size)` gives it, when the file reports its
 * size (sysfs and regular files do) and holds no more than that; undefined for a file that
 * says 0 or grows while read (procfs style), or that cannot be read: readInput() then reads
 * it the ordinary way, or says what is wrong. A buffer `into` gave is the caller's either way.
 */
export function readWhole(path: string, into: (size: number) => Uint8Array): Uint8Array | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    if (size > 0 && size <= maxInputSize()) {
      const bytes = into(size);
      if (readFully(fd, bytes) && readSync(fd, new Uint8Array(1), 0, 1, size) === 0) return bytes;
    }
  } catch {
    // the caller's readInput says what is wrong
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return undefined;
}

/** Fill `buf` from the start of `fd` (reads return less than asked: sysfs gives a page at a
 *  time); false when the file ended first. */
export function readFully(fd: number, buf: Uint8Array): boolean {
  for (let off = 0, n; off < buf.byteLength; off += n) {
    n = readSync(fd, buf, off, buf.byteLength - off, off);
    if (n === 0) return false;
  }
  return true;
}

/** The object name libbpf uses (prefix of internal map names): file name up to the first dot. */
export function objectNameOf(path: string): string {
  return basename(path).replace(/\..*$/, '') || 'obj';
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
