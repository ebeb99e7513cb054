// What the caller's thread keeps of each BPF object it was given: a private copy, its sha256
// (the plan's sources.object) and its relocation image (src/object-image.ts). Known by the
// array instance, and checked against the copy on every use (a memcmp, ~20x cheaper than
// hashing again), so an array changed in place is a new object, never a stale one.
import { statSync } from 'node:fs';
import { fileIdentity, readInput, sha256 } from './inputs.js';
import { relocationImage } from './object-image.js';

export interface KnownObject {
  /** the bytes as they were first seen (never handed out to be changed) */
  readonly bytes: Uint8Array;
  readonly sha256: string;
  /** what the worker is sent (computed once) */
  image(): Uint8Array;
  /** per-object values derived from the bytes by other modules (externs, ...) */
  readonly derived: Map<string, unknown>;
}

const known = new WeakMap<Uint8Array, KnownObject>();

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/** The object's kept state, recomputed when `bytes` is new or changed since. */
export function knownObject(bytes: Uint8Array): KnownObject {
  const k = known.get(bytes);
  if (k && (k.bytes === bytes || same(k.bytes, bytes))) return k;
  // new Uint8Array(x) copies; a Node Buffer's slice() would share its memory (a pooled one too)
  return remember(bytes, new Uint8Array(bytes));
}

function remember(bytes: Uint8Array, copy: Uint8Array): KnownObject {
  let image: Uint8Array | undefined;
  const entry: KnownObject = { bytes: copy, sha256: sha256(copy), image: () => (image ??= relocationImage(copy)), derived: new Map() };
  known.set(bytes, entry);
  known.set(copy, entry);
  return entry;
}

/** object files read, by file identity (device, inode, size, mtime, ctime) */
const files = new Map<string, Uint8Array>();
const MAX_FILES = 16;

/** A BPF object file's bytes, read again only when the file changed (stat identity). The
 *  array is shared between calls: callers must not change it. */
export function readObjectFile(path: string, what = 'BPF object'): Uint8Array {
  let id: string;
  try {
    const st = statSync(path, { bigint: true });
    if (!st.isFile()) return readInput(path, what);
    id = `${fileIdentity(st)}:${path}`;
  } catch {
    return readInput(path, what); // readInput says what is wrong
  }
  let bytes = files.get(id);
  if (bytes) {
    files.delete(id);
  } else {
    bytes = readInput(path, what);
    remember(bytes, bytes); // nobody changes these bytes: they are their own copy
  }
  files.set(id, bytes);
  while (files.size > MAX_FILES) files.delete(files.keys().next().value as string);
  return bytes;
}
