// check's cache of decompressed kernel files (src/check/btf-cache.ts): keyed by the
// compressed file's sha256, read instead of running xz again, best effort, and off on request.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { btfCacheDir, readThroughCache } from '../src/check/btf-cache.js';
import { readKernel } from '../src/check/kernels.js';
import { setMaxInputSize } from '../src/inputs.js';
import { BTF_DIR } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'corebpf-btf-cache-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const FIXTURE = join(BTF_DIR, 'amd64-5.10.223.btf.xz');

describe('the cache of decompressed kernel files', () => {
  it('decompresses a file once: the second read comes from the cache, byte for byte what xz gives', async () => {
    const dir = join(tmp, 'a');
    const want = new Uint8Array(execFileSync('xz', ['-dc', FIXTURE], { maxBuffer: 1 << 28 }));
    let calls = 0;
    const unxz = async () => { calls++; return want; };
    const first = await readThroughCache(FIXTURE, unxz, dir);
    expect([first.hit, calls]).toEqual([false, 1]);
    const second = await readThroughCache(FIXTURE, async () => { throw new Error('decompressed again'); }, dir);
    expect(second.hit).toBe(true);
    expect(Buffer.compare(Buffer.from(second.bytes), Buffer.from(want))).toBe(0);
    // one file, named by the compressed input's sha256
    const sha = execFileSync('sha256sum', [FIXTURE], { encoding: 'utf8' }).split(' ')[0];
    expect(readdirSync(dir)).toEqual([`${sha}.btf`]);
  });

  it('check\'s reader goes through it (COREBPF_CACHE_DIR), and counts the hits', async () => {
    const prev = process.env.COREBPF_CACHE_DIR;
    process.env.COREBPF_CACHE_DIR = join(tmp, 'b');
    try {
      const stats = { cacheHits: 0 };
      const a = await readKernel(FIXTURE, stats);
      const b = await readKernel(FIXTURE, stats);
      expect(stats.cacheHits).toBe(1);
      expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
      expect(readdirSync(join(tmp, 'b', 'btf'))).toHaveLength(1);
    } finally {
      if (prev === undefined) delete process.env.COREBPF_CACHE_DIR;
      else process.env.COREBPF_CACHE_DIR = prev;
    }
  });

  it('the input size limit holds for cached files too', async () => {
    const prev = process.env.COREBPF_CACHE_DIR;
    process.env.COREBPF_CACHE_DIR = join(tmp, 'c');
    try {
      expect((await readKernel(FIXTURE)).byteLength).toBeGreaterThan(1 << 20);
      setMaxInputSize(1 << 20);
      await expect(readKernel(FIXTURE)).rejects.toThrow(/decompresses to more than 1048576 bytes/);
    } finally {
      setMaxInputSize(undefined);
      if (prev === undefined) delete process.env.COREBPF_CACHE_DIR;
      else process.env.COREBPF_CACHE_DIR = prev;
    }
  });

  it('is off with COREBPF_CACHE_DIR=off, and under XDG_CACHE_HOME or ~/.cache otherwise', () => {
    expect(btfCacheDir({ COREBPF_CACHE_DIR: 'off' })).toBeNull();
    expect(btfCacheDir({ COREBPF_CACHE_DIR: '/x' })).toBe('/x/btf');
    expect(btfCacheDir({ XDG_CACHE_HOME: '/c' })).toBe('/c/corebpf/btf');
  });

  it('a cache that cannot be written is skipped, not an error', async () => {
    const blocked = join(tmp, 'file-in-the-way');
    writeFileSync(blocked, 'not a directory');
    let calls = 0;
    const r1 = await readThroughCache(FIXTURE, async () => { calls++; return new Uint8Array([1, 2, 3]); }, join(blocked, 'btf'));
    const r2 = await readThroughCache(FIXTURE, async () => { calls++; return new Uint8Array([1, 2, 3]); }, join(blocked, 'btf'));
    expect([r1.hit, r2.hit, calls]).toEqual([false, false, 2]);
    expect([...r2.bytes]).toEqual([1, 2, 3]);
  });
});
