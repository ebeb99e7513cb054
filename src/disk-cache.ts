// An on-disk store of the worker's outputs (opt-in: a `cacheDir`, or COREBPF_CACHE_DIR), so
// that a process whose inputs equal an earlier run's never starts a worker. The entries live
// in `plans/` under corebpf's cache directory (check keeps decompressed BTF in `btf/`).
// Root loads BPF programs from what is read here, so the store trusts nothing it did not
// just check:
//   - the directory is created 0700 and refused (CacheDirError) unless it is a real
//     directory (not a symlink) owned by this euid and not writable by group or others, in
//     a parent that others cannot write either (or that is sticky, as /tmp);
//   - every entry file is checked the same way once opened (fstat of the open fd);
//   - an entry is written to a temp file of its own and renamed into place: a reader sees
//     a whole entry or none, whatever other processes write at the same time;
//   - an entry carries a magic, a format version, its lengths and the sha256 of its
//     content, and the full description of the inputs it was made from, compared on read
//     with the caller's (a hash of the inputs only names the file): a corrupt, truncated,
//     foreign or colliding entry is a miss, and is removed;
//   - the directory is kept under a size cap, the least recently used entries evicted.
// What a value means (and its validation as an untrusted plan) is the caller's business
// (src/relocate-disk.ts); this module only stores bytes under descriptions.
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync, constants, fstatSync, futimesSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, statSync,
  unlinkSync, writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CorebpfError } from './errors.js';
import { readFully } from './inputs.js';

/** The cache directory given to BpfObject.open / the Relocator is unsafe to load BPF from:
 *  not a directory, a symlink, owned by another user, or writable by group or others. */
export class CacheDirError extends CorebpfError {}

/** entry header: magic, format version, description length, value length, sha256 */
const MAGIC = Buffer.from('CBPFCACH', 'latin1');
/** bumped whenever the entry layout or the meaning of a description changes */
export const CACHE_FORMAT = 1;
const HEADER = 8 + 4 + 4 + 4 + 32;
const ENTRY = /^[a-z]+-[0-9a-f]{64}\.entry$/;
const TEMP = /^\.tmp-.*$/;
/** default size cap of a cache directory */
export const DEFAULT_CACHE_MAX_BYTES = 64 << 20;
/** an entry larger than this is neither written nor read */
const MAX_ENTRY = 64 << 20;

/** Counts of what a DiskCache did (tests, benchmarks). */
export interface DiskCacheStats {
  hits: number;
  misses: number;
  /** entries found bad (corrupt, truncated, foreign, unsafe, or for other inputs) and removed */
  rejected: number;
  writes: number;
  evicted: number;
}

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest();

/** corebpf's default cache directory: $XDG_CACHE_HOME/corebpf, else ~/.cache/corebpf
 *  (load plans go to its `plans/`, check's decompressed BTF to its `btf/`). */
export function defaultCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'corebpf');
}

/**
 * The directory of the plan cache a call uses: `plans/` under `given` (a path, `true` for
 * {@link defaultCacheDir}, `false` for none), else under the COREBPF_CACHE_DIR environment
 * variable (a path; `off` or empty: none); undefined: no disk cache (the default: nothing
 * is written).
 */
export function resolveCacheDir(given: string | boolean | undefined, env: string | undefined = process.env.COREBPF_CACHE_DIR): string | undefined {
  if (given === false) return undefined;
  if (given === true) return join(defaultCacheDir(), 'plans');
  if (typeof given === 'string' && given !== '') return join(given, 'plans');
  return env && env !== 'off' ? join(env, 'plans') : undefined;
}

function euid(): number {
  return process.geteuid?.() ?? -1;
}

function unsafe(st: { uid: number; mode: number }, what: string): string | null {
  if (st.uid !== euid()) return `${what} is owned by uid ${st.uid}, not by this process's euid ${euid()}`;
  if (st.mode & 0o022) return `${what} is writable by ${(st.mode & 0o022) === 0o022 ? 'its group and others' : st.mode & 0o020 ? 'its group' : 'others'} (mode ${(st.mode & 0o777).toString(8)})`;
  return null;
}

/** A checked cache directory (see the file's comment). */
export class DiskCache {
  readonly stats: DiskCacheStats = { hits: 0, misses: 0, rejected: 0, writes: 0, evicted: 0 };

  private constructor(readonly dir: string, readonly maxBytes: number) {}

  /** Create (0700) or check `dir`; throws CacheDirError when it is unsafe to load from. */
  static open(dir: string, maxBytes: number = DEFAULT_CACHE_MAX_BYTES): DiskCache {
    if (!dir.startsWith('/')) dir = join(process.cwd(), dir);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new CacheDirError(`cache directory ${dir} cannot be created: ${(e as Error).message}`, { path: dir }, { cause: e });
    }
    const st = lstatSync(dir);
    const up = statSync(dirname(dir));
    const why = st.isSymbolicLink() ? `${dir} is a symbolic link`
      : !st.isDirectory() ? `${dir} is not a directory`
        : unsafe(st, `cache directory ${dir}`)
          // a parent others can write (and not sticky) lets them swap the directory for theirs
          ?? ((up.mode & 0o022) && !(up.mode & 0o1000) ? `its parent ${dirname(dir)} is writable by others (mode ${(up.mode & 0o7777).toString(8)})` : null);
    if (why) {
      throw new CacheDirError(`refusing to use the corebpf cache: ${why}. Load plans read from it run as BPF programs: ` +
        `use a directory of your own with mode 0700 (or no cache: unset COREBPF_CACHE_DIR / cacheDir)`, { path: dir });
    }
    return new DiskCache(dir, maxBytes);
  }

  #path(kind: string, description: string): string {
    return join(this.dir, `${kind}-${sha(description).toString('hex')}.entry`);
  }

  /** The value stored for exactly this description, or undefined (a bad entry is removed).
   *  With `decode`, the decoded value: an entry that passes the store's checks but that
   *  `decode` throws on (a valid file of the wrong shape) is bad too, and counted as such. */
  get(kind: string, description: string): Uint8Array | undefined;
  get<T>(kind: string, description: string, decode: (value: Uint8Array) => T): T | undefined;
  get<T>(kind: string, description: string, decode?: (value: Uint8Array) => T): T | Uint8Array | undefined {
    const path = this.#path(kind, description);
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch {
      this.stats.misses++;
      return undefined;
    }
    let value: T | Uint8Array | undefined;
    try {
      const bytes = this.#readEntry(fd, description);
      value = bytes && decode ? decode(bytes) : bytes;
      if (value !== undefined) futimesSync(fd, new Date(), new Date()); // recently used: evicted last
    } catch {
      value = undefined;
    } finally {
      closeSync(fd);
    }
    if (value === undefined) {
      this.stats.rejected++;
      this.stats.misses++;
      this.remove(kind, description);
      return undefined;
    }
    this.stats.hits++;
    return value;
  }

  #readEntry(fd: number, description: string): Uint8Array | undefined {
    const st = fstatSync(fd);
    if (!st.isFile() || unsafe(st, 'entry') || st.size < HEADER || st.size > MAX_ENTRY) return undefined;
    const buf = Buffer.allocUnsafe(st.size);
    if (!readFully(fd, buf)) return undefined; // truncated since the fstat
    if (!buf.subarray(0, 8).equals(MAGIC) || buf.readUInt32LE(8) !== CACHE_FORMAT) return undefined;
    const dlen = buf.readUInt32LE(12);
    const vlen = buf.readUInt32LE(16);
    if (HEADER + dlen + vlen !== buf.length) return undefined;
    const body = buf.subarray(HEADER);
    if (!sha(body).equals(buf.subarray(20, HEADER))) return undefined;
    if (body.toString('utf8', 0, dlen) !== description) return undefined;
    return new Uint8Array(buf.buffer, buf.byteOffset + HEADER + dlen, vlen);
  }

  /** Store `value` for `description` (atomically; failures only count as not written). */
  put(kind: string, description: string, value: Uint8Array): boolean {
    const desc = Buffer.from(description, 'utf8');
    if (HEADER + desc.length + value.byteLength > MAX_ENTRY) return false;
    const head = Buffer.alloc(HEADER);
    MAGIC.copy(head, 0);
    head.writeUInt32LE(CACHE_FORMAT, 8);
    head.writeUInt32LE(desc.length, 12);
    head.writeUInt32LE(value.byteLength, 16);
    createHash('sha256').update(desc).update(value).digest().copy(head, 20);
    const path = this.#path(kind, description);
    const temp = join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    let fd = -1;
    try {
      fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      for (const part of [head, desc, value]) {
        let off = 0;
        while (off < part.byteLength) off += writeSync(fd, part, off, part.byteLength - off);
      }
      closeSync(fd);
      fd = -1;
      renameSync(temp, path);
    } catch {
      if (fd >= 0) closeSync(fd);
      try { unlinkSync(temp); } catch { /* never created */ }
      return false;
    }
    this.stats.writes++;
    this.#evict(path);
    return true;
  }

  /** Remove the entry of `description` (if any). */
  remove(kind: string, description: string): void {
    try {
      unlinkSync(this.#path(kind, description));
    } catch { /* gone already */ }
  }

  /** Keep the directory under maxBytes: the least recently used entries go first (never
   *  `keep`, just written), and temp files a crashed writer left (older than a minute). */
  #evict(keep: string): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    const entries: { path: string; size: number; mtime: number }[] = [];
    let total = 0;
    const now = Date.now();
    for (const n of names) {
      const path = join(this.dir, n);
      try {
        const st = statSync(path);
        if (TEMP.test(n)) {
          if (now - st.mtimeMs > 60_000) unlinkSync(path);
          continue;
        }
        if (!ENTRY.test(n)) continue;
        total += st.size;
        if (path !== keep) entries.push({ path, size: st.size, mtime: st.mtimeMs });
      } catch { /* removed meanwhile */ }
    }
    if (total <= this.maxBytes) return;
    entries.sort((a, b) => a.mtime - b.mtime);
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      try {
        unlinkSync(e.path);
        this.stats.evicted++;
      } catch { /* removed meanwhile */ }
      total -= e.size;
    }
  }
}

/** The DiskCache of each directory this process uses (checked once). */
const opened = new Map<string, DiskCache>();

/** The cache of `dir` (created and checked on first use; CacheDirError when unsafe). */
export function diskCache(dir: string, maxBytes?: number): DiskCache {
  let c = opened.get(dir);
  if (!c) {
    c = DiskCache.open(dir, maxBytes);
    opened.set(dir, c);
  }
  return c;
}
