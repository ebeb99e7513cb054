// Reading the caller's inputs (files, compressed fixtures) happens in the caller's thread:
// the worker only ever sees bytes.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { CorebpfError } from './errors.js';

export const HOST_BTF_PATH = '/sys/kernel/btf/vmlinux';

/** A file's bytes; `.xz` files (our kernel BTF fixtures) are decompressed with xz(1). */
export function readInput(path: string, what: string): Uint8Array {
  try {
    if (path.endsWith('.xz')) {
      return new Uint8Array(execFileSync('xz', ['-dc', '--', path], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] }));
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

/** The object name libbpf uses (prefix of internal map names): file name up to the first dot. */
export function objectNameOf(path: string): string {
  return basename(path).replace(/\..*$/, '') || 'obj';
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
