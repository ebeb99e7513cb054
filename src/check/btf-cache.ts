// Decompressed kernel BTF (and the kernel's config and symbols), kept by the sha256 of the
// compressed file: a CI job that checks
// the same fixtures run after run decompresses each once (xz -d of a 7 MB vmlinux BTF takes
// longer than relocating a dozen objects against it). Best effort: a cache that cannot be
// read or written is skipped, never an error.
//
// Where: $COREBPF_CACHE_DIR, else $XDG_CACHE_HOME/corebpf, else ~/.cache/corebpf (under
// btf/); COREBPF_CACHE_DIR=off turns it off.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** the cache's directory, or null when it is off */
export function btfCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const own = env.COREBPF_CACHE_DIR;
  if (own !== undefined) return own === '' || own === 'off' ? null : join(own, 'btf');
  let home: string;
  try {
    home = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  } catch {
    return null;
  }
  return join(home, 'corebpf', 'btf');
}

export interface CachedRead {
  bytes: Uint8Array;
  /** whether the bytes came from the cache (no decompression) */
  hit: boolean;
}

/**
 * The decompressed bytes of the compressed file at `path`: from the cache when it holds them,
 * else from `decompress`, then kept there.
 */
export async function readThroughCache(path: string, decompress: () => Promise<Uint8Array>, dir = btfCacheDir()): Promise<CachedRead> {
  const key = dir ? await keyOf(path) : undefined;
  if (!key) return { bytes: await decompress(), hit: false };
  const file = join(dir!, `${key}.btf`);
  try {
    const b = readFileSync(file);
    // whole by construction (renamed into place); empty only if something else wrote it
    if (b.byteLength > 0) return { bytes: new Uint8Array(b.buffer, b.byteOffset, b.byteLength), hit: true };
  } catch { /* not cached yet */ }
  const bytes = await decompress();
  keep(dir!, file, bytes);
  return { bytes, hit: false };
}

/**
 * Something derived from the compressed file at `path` (kallsyms lines for a set of names,
 * say), kept beside its decompressed bytes as KEY.TAG, KEY the file's sha256 as above: from
 * the cache when it holds it (empty text included), else from `derive`, then kept there. A
 * plain (uncompressed) file is derived every time.
 */
export async function readDerivedThroughCache(path: string, tag: string, derive: () => Promise<string>, dir = btfCacheDir()): Promise<string> {
  const key = dir && path.endsWith('.xz') ? await keyOf(path) : undefined;
  if (!key) return derive();
  const file = join(dir!, `${key}.${tag}`);
  try {
    return readFileSync(file, 'utf8');
  } catch { /* not derived yet */ }
  const out = await derive();
  keep(dir!, file, out);
  return out;
}

/** a compressed file's key in the cache: the sha256 of its bytes (undefined: unreadable, so
 *  not cached; the caller's own read says what is wrong) */
async function keyOf(path: string): Promise<string | undefined> {
  try {
    return createHash('sha256').update(await readFile(path)).digest('hex');
  } catch {
    return undefined;
  }
}

/** write `file` whole under another name, then rename it: a reader never sees half a file */
function keep(dir: string, file: string, bytes: Uint8Array | string): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
  } catch {
    try { rmSync(tmp, { force: true }); } catch { /* best effort */ }
  }
}
