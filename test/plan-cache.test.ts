// The on-disk cache of worker outputs (src/disk-cache.ts, src/relocate-disk.ts): a later
// Relocator with equal inputs gets the result without a worker; any input changed misses;
// bad entries are misses and removed; unsafe directories are refused; concurrent writers
// leave whole entries. Against a Debian kernel's BTF fixture: no kernel needed.
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CacheDirError, Relocator, type RelocateOptions } from '../dist/index.js';
import { CacheDirError as SrcCacheDirError, DiskCache, resolveCacheDir } from '../src/disk-cache.js';
import { ROOT, fixtureBytes, isRoot, obj, runNode } from './helpers.js';

const toClose: Relocator[] = [];
const made: string[] = [];
afterAll(async () => {
  await Promise.all(toClose.map((r) => r.close()));
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

const tmp = (tag: string) => {
  const d = mkdtempSync(join(tmpdir(), `corebpf-plancache-${tag}-`));
  made.push(d, `${d}-link`, `${d}-boot_id`);
  return d;
};
const BTF = fixtureBytes('amd64-6.1.176.btf.xz');
const MOD = fixtureBytes('amd64-6.1.176.mod-ext4.btf.xz');
const OBJ = obj('core_basic');
const BASE: RelocateOptions = { btf: BTF, kernelRelease: '6.1.0-30-amd64', kconfig: 'CONFIG_BPF=y\n', features: { btf_enum64: false } };

/** relocate on a fresh Relocator (no in-memory results): what it returned and whether a
 *  worker ran */
async function fresh(dir: string, object: string | Uint8Array = OBJ, opts: RelocateOptions = BASE, ro: ConstructorParameters<typeof Relocator>[0] = {}) {
  const r = new Relocator({ cacheDir: dir, ...ro });
  toClose.push(r);
  // (one DiskCache per directory and process: its counts are read before and after)
  const before = { ...r.diskCache()!.stats };
  const res = await r.relocate(object, opts);
  const after = r.diskCache()!.stats;
  const stats = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof typeof before]]));
  return { res, workers: r.pool.started, stats };
}

const BUILT = join(ROOT, 'build/tsc/disk-cache.js');
/** the entries in a directory (a cacheDir's are in its plans/) */
const entries = (dir: string) => readdirSync(statSafe(join(dir, 'plans')) ? join(dir, 'plans') : dir).filter((n) => n.endsWith('.entry'));
const plans = (dir: string) => join(dir, 'plans');

describe('on-disk cache: hits and misses', () => {
  const dir = tmp('keys');
  let first: Awaited<ReturnType<typeof fresh>>;

  it('a miss runs a worker and writes an entry (mode 0600 in a 0700 directory)', async () => {
    first = await fresh(dir);
    expect(first.workers).toBe(1);
    expect(entries(dir)).toHaveLength(1);
    expect(statSync(plans(dir)).mode & 0o777).toBe(0o700);
    expect(statSync(join(plans(dir), entries(dir)[0]!)).mode & 0o777).toBe(0o600);
  });

  it('equal inputs: the same plan and report, no worker', async () => {
    const again = await fresh(dir);
    expect(again.workers).toBe(0);
    expect(again.res.plan).toEqual(first.res.plan);
    expect(again.res.plan.sources).toEqual(first.res.plan.sources);
    expect(again.res.relocations).toEqual(first.res.relocations);
    expect(again.res.log).toBe(first.res.log);
  });

  const object = new Uint8Array(readFileSync(OBJ));
  const changed = new Uint8Array(object.length + 1); // a byte more after the section headers: still an ELF
  changed.set(object);
  const variants: [string, () => Promise<Awaited<ReturnType<typeof fresh>>>][] = [
    ['one byte of the object', () => fresh(dir, changed, { ...BASE, objectName: 'core_basic' })],
    ['the object name', () => fresh(dir, OBJ, { ...BASE, objectName: 'other' })],
    ['a kconfig line', () => fresh(dir, OBJ, { ...BASE, kconfig: 'CONFIG_BPF=m\n' })],
    ['a feature', () => fresh(dir, OBJ, { ...BASE, features: { btf_enum64: true } })],
    ['an adjustment', () => fresh(dir, OBJ, { ...BASE, adjustments: { programs: { [first.res.plan.programs[0]!.name]: { autoload: false } } } })],
    ['the kernel release', () => fresh(dir, OBJ, { ...BASE, kernelRelease: '6.1.0-31-amd64' })],
    ['the log level', () => fresh(dir, OBJ, { ...BASE, logLevel: 'debug' })],
    ['kallsyms', () => fresh(dir, OBJ, { ...BASE, kallsyms: 'ffffffff81000000 T _stext\n' })],
    ['module BTF given', () => fresh(dir, OBJ, { ...BASE, moduleBtfs: [{ name: 'ext4', data: MOD }] })],
    ['one byte of a module BTF', () => {
      const data = new Uint8Array(MOD);
      data[data.length - 2] = data[data.length - 2] === 0x41 ? 0x42 : 0x41;
      return fresh(dir, OBJ, { ...BASE, moduleBtfs: [{ name: 'ext4', data }] });
    }],
    ['a module BTF\'s name', () => fresh(dir, OBJ, { ...BASE, moduleBtfs: [{ name: 'ext5', data: MOD }] })],
    ['the target BTF (one byte)', () => {
      const btf = new Uint8Array(BTF);
      btf[btf.length - 2] = btf[btf.length - 2] === 0x41 ? 0x42 : 0x41; // a letter of the string table
      return fresh(dir, OBJ, { ...BASE, btf });
    }],
  ];
  for (const [what, run] of variants) {
    it(`${what} changed: a miss (a worker runs)`, async () => {
      const before = entries(dir).length;
      const r = await run();
      expect(r.workers).toBe(1);
      expect(r.stats.hits).toBe(0);
      expect(entries(dir).length).toBe(before + 1);
    });
  }

  it('a rebuilt wasm module misses', async () => {
    const wasmDir = tmp('wasm');
    for (const f of ['corebpf.wasm', 'corebpf.cjs']) copyFileSync(join(ROOT, 'dist/wasm', f), join(wasmDir, f));
    // a custom section (id 0, size, name "x") appended: a valid module with other bytes
    appendFileSync(join(wasmDir, 'corebpf.wasm'), Buffer.from([0, 2, 1, 0x78]));
    const r = await fresh(dir, OBJ, BASE, { wasmDir });
    expect(r.workers).toBe(1);
    expect(r.stats.hits).toBe(0);
    expect(r.res.plan).toEqual(first.res.plan); // the same code in effect: the same plan
  });
});

describe('on-disk cache: the running kernel BTF by boot id', () => {
  it.skipIf(!statSafe('/sys/kernel/btf/vmlinux'))('sysfs vmlinux is known by (boot id, path): another boot id misses', async () => {
    const dir = tmp('boot');
    const bootIdPath = join(dir, '..', `${dir.split('/').pop()}-boot_id`);
    writeFileSync(bootIdPath, '11111111-2222-3333-4444-555555555555\n');
    const opts: RelocateOptions = { btf: '/sys/kernel/btf/vmlinux', kernelRelease: '6.1.0', features: {} };
    const a = await fresh(dir, OBJ, opts, { bootIdPath });
    expect(a.workers).toBe(1);
    const b = await fresh(dir, OBJ, opts, { bootIdPath });
    expect(b.workers).toBe(0);
    expect(b.res.plan.sources).toEqual(a.res.plan.sources); // the BTF's sha256, kept in the entry
    writeFileSync(bootIdPath, '11111111-2222-3333-4444-666666666666\n');
    const c = await fresh(dir, OBJ, opts, { bootIdPath });
    expect(c.workers).toBe(1);
  });
});

function statSafe(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

describe('on-disk cache: bad entries', () => {
  const damage: [string, (path: string) => void][] = [
    ['truncated', (p) => truncateSync(p, statSync(p).size - 7)],
    ['a flipped byte in the value', (p) => {
      const b = readFileSync(p);
      b[b.length - 10] ^= 0x20;
      writeFileSync(p, b);
    }],
    ['another format version', (p) => {
      const b = readFileSync(p);
      b.writeUInt32LE(99, 8);
      writeFileSync(p, b);
    }],
    ['not an entry at all', (p) => writeFileSync(p, 'hello')],
    ['empty', (p) => writeFileSync(p, '')],
  ];
  for (const [what, hurt] of damage) {
    it(`${what}: a miss, the entry removed, then written again`, async () => {
      const dir = tmp('bad');
      await fresh(dir);
      const [name] = entries(dir);
      hurt(join(plans(dir), name!));
      const r = await fresh(dir);
      expect(r.workers).toBe(1);
      expect(r.stats.rejected).toBe(1);
      expect(entries(dir)).toEqual([name]); // removed, and the worker's result written again
      expect((await fresh(dir)).workers).toBe(0);
    });
  }

  it('an intact entry whose plan is not a valid plan is rejected (checked as an untrusted plan file)', async () => {
    const dir = tmp('plan');
    await fresh(dir);
    const path = join(plans(dir), entries(dir)[0]!);
    const b = readFileSync(path);
    const dlen = b.readUInt32LE(12);
    const description = b.toString('utf8', 52, 52 + dlen); // after the 52-byte header
    const value = Buffer.from(b.subarray(52 + dlen));
    const at = value.indexOf('"pageSize":4096');
    expect(at).toBeGreaterThan(0);
    value.write('"pageSize":4095', at); // same length: the result message stays well-formed
    DiskCache.open(plans(dir)).put('relocate', description, value); // a correct checksum
    const r = await fresh(dir);
    expect(r.workers).toBe(1);
    expect(r.stats.rejected).toBe(1);
    expect(r.res.plan.kernel.pageSize).toBe(4096);
  });

  it('an entry stored for another description (a name collision) is not returned', () => {
    const dir = tmp('collide');
    const c = DiskCache.open(dir);
    c.put('open', 'A', new Uint8Array([1]));
    const [name] = entries(dir);
    // the file of description B, holding A's entry: as if sha256(A) == sha256(B)
    const c2 = DiskCache.open(dir);
    c2.put('open', 'B', new Uint8Array([2]));
    const nameB = entries(dir).find((n) => n !== name)!;
    copyFileSync(join(dir, name!), join(dir, nameB));
    expect(c2.get('open', 'B')).toBeUndefined();
    expect(c2.get('open', 'A')).toEqual(new Uint8Array([1]));
  });
});

describe('on-disk cache: the directory', () => {
  it('a group- or world-writable directory is refused', () => {
    const dir = tmp('perm');
    chmodSync(dir, 0o777);
    expect(() => DiskCache.open(dir)).toThrow(SrcCacheDirError);
    chmodSync(dir, 0o770);
    expect(() => DiskCache.open(dir)).toThrow(/writable by its group/);
    chmodSync(dir, 0o755);
    expect(() => DiskCache.open(dir)).not.toThrow();
  });

  it('a symlink is refused', () => {
    const dir = tmp('link');
    symlinkSync(dir, `${dir}-link`);
    expect(() => DiskCache.open(`${dir}-link`)).toThrow(/symbolic link/);
  });

  it.skipIf(!isRoot())('a directory of another user is refused, and so is an entry of another user', () => {
    const dir = tmp('owner');
    chownSync(dir, 65534, 65534);
    expect(() => DiskCache.open(dir)).toThrow(/owned by uid 65534/);
    const mine = tmp('owner2');
    const c = DiskCache.open(mine);
    c.put('open', 'D', new Uint8Array([7]));
    chownSync(join(mine, entries(mine)[0]!), 65534, 65534);
    expect(c.get('open', 'D')).toBeUndefined();
    expect(entries(mine)).toEqual([]);
  });

  it('a relocation with an unsafe cacheDir fails with CacheDirError', async () => {
    const dir = tmp('unsafe');
    mkdirSync(plans(dir));
    chmodSync(plans(dir), 0o777);
    const r = new Relocator({ cacheDir: dir });
    toClose.push(r);
    await expect(r.relocate(OBJ, BASE)).rejects.toThrow(CacheDirError);
    expect(r.pool.started).toBe(0);
  });

  it('a directory in a parent others can write (not sticky) is refused', () => {
    const parent = tmp('parent');
    chmodSync(parent, 0o777);
    expect(() => DiskCache.open(join(parent, 'plans'))).toThrow(/parent .* is writable by others/);
    chmodSync(parent, 0o1777);
    expect(() => DiskCache.open(join(parent, 'plans'))).not.toThrow();
  });

  it('cacheDir false, a path, true and COREBPF_CACHE_DIR (plans/ under corebpf\'s cache directory)', () => {
    expect(resolveCacheDir(undefined, undefined)).toBeUndefined();
    expect(resolveCacheDir(undefined, 'off')).toBeUndefined();
    expect(resolveCacheDir(undefined, '/x')).toBe('/x/plans');
    expect(resolveCacheDir(false, '/x')).toBeUndefined();
    expect(resolveCacheDir('/y', '/x')).toBe('/y/plans');
    expect(resolveCacheDir(true, undefined)).toMatch(/\/corebpf\/plans$/);
  });

  it('the size cap evicts the least recently used entries', () => {
    const dir = tmp('cap');
    const c = DiskCache.open(dir, 3000);
    const v = new Uint8Array(900);
    const now = Date.now();
    for (const [d, age] of [['b', 30], ['c', 20], ['a', 10]] as const) {
      c.put('open', d, v);
      const t = new Date(now - age * 1000);
      utimesSync(join(dir, entryName('open', d)), t, t);
    }
    expect(c.get('open', 'b')).toBeDefined(); // used now: 'c' is the least recently used
    c.put('open', 'd', v); // four entries of ~960 bytes: one has to go
    expect(c.stats.evicted).toBe(1);
    expect(entries(dir).sort()).toEqual(['a', 'b', 'd'].map((d) => entryName('open', d)).sort());
  });

  // (the store is internal: the child processes run tsc's output of it, build/tsc, which
  // `make` writes before it bundles dist/)
  it.skipIf(!statSafe(BUILT))(`concurrent writers of the same entry leave a whole entry${statSafe(BUILT) ? '' : ' (skipped: build/tsc/disk-cache.js is missing, run make)'}`, async () => {
    const dir = tmp('race');
    mkdirSync(dir, { recursive: true });
    const script = `
      import { DiskCache } from ${JSON.stringify(BUILT)};
      const c = DiskCache.open(${JSON.stringify(dir)});
      const me = Number(process.argv[1]);
      for (let i = 0; i < 200; i++) {
        c.put('relocate', 'same', new Uint8Array(200_000 + me * 1000).fill(me));
        const v = c.get('relocate', 'same');
        if (!v || v.some((x) => x !== v[0]) || v.length !== 200_000 + v[0] * 1000) { console.log('torn'); process.exit(1); }
      }
      console.log('ok', c.stats.rejected);`;
    const runs = await Promise.all([1, 2, 3].map((n) => runNode(['--input-type=module', '-e', script, String(n)])));
    for (const r of runs) {
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^ok 0/);
    }
    expect(readdirSync(dir).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });
});

function entryName(kind: string, description: string): string {
  return `${kind}-${createHash('sha256').update(description).digest('hex')}.entry`;
}
