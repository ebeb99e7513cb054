// Start-up of the relocation workers (issue 14): workers are started on demand and reused
// while idle, so a process that opens and loads one object runs one worker, not one per core.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfObject, CorebpfError, ObjectFormatError, Relocator, WasmProtocolError, WasmTrapError, WorkerPool } from '../dist/index.js';
import { ROOT, obj, patchResultVersion, runNode } from './helpers.js';
import { v8TieringDefault, wasmTieringBudget } from '../src/worker/wasm-tiering.js';

const HOST_BTF = '/sys/kernel/btf/vmlinux';
const toClose: { close(): Promise<void> }[] = [];
afterAll(() => Promise.all(toClose.map((x) => x.close())));

describe('worker pool start-up', () => {
  it('sequential calls on a pool of 4 run on one worker', async () => {
    const r = new Relocator({ size: 4 });
    toClose.push(r);
    const path = obj('core_basic');
    const self = new Uint8Array(readFileSync(path));
    expect(r.pool.live).toBe(0); // nothing started before the first call
    await r.open(path);
    await r.relocate(path, { btf: self });
    await r.relocate(path, { btf: self });
    await r.pool.run((w) => w.info());
    expect(r.pool.live).toBe(1);
  });

  it('concurrent calls start more workers, up to the size', async () => {
    const pool = new WorkerPool({ size: 2 });
    toClose.push(pool);
    const path = obj('core_basic');
    const object = new Uint8Array(readFileSync(path));
    const outs = await Promise.all([0, 1, 2].map(() => pool.relocate({ object, objectName: 'core_basic', btf: object })));
    expect(outs.every((o) => o.relocations.length > 0)).toBe(true);
    expect(pool.live).toBe(2);
  });
});

describe('what importing corebpf loads', () => {
  // which of the modules src/lazy-modules.ts defers a process has loaded, after `step`
  const loadedAfter = async (step: string): Promise<{ builtins: string[]; comlink: string[] }> => {
    const script = `
      import { createRequire } from 'node:module';
      const corebpf = await import(${JSON.stringify(`${ROOT}dist/index.js`)});
      ${step}
      console.log(JSON.stringify({
        builtins: process.moduleLoadList.filter((m) => /^NativeModule (child_process|zlib|worker_threads|v8)$/.test(m)),
        comlink: Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('/comlink/')).map((k) => k.slice(k.lastIndexOf('/comlink/') + 9)),
      }));`;
    const r = await runNode(['--input-type=module', '-e', script], { timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as { builtins: string[]; comlink: string[] };
  };

  it('no worker, spawn or decompression module until a call needs one', async () => {
    expect(await loadedAfter('')).toEqual({ builtins: [], comlink: [] });
  });

  it('the first relocation loads the worker modules, and one comlink for the thread', async () => {
    const after = await loadedAfter(`
      const r = new corebpf.Relocator();
      const path = ${JSON.stringify(obj('core_basic'))};
      const out = await r.relocate(path, { btf: new Uint8Array((await import('node:fs')).readFileSync(path)) });
      if (!out.relocations.length) throw new Error('no relocations');
      await r.close();`);
    // v8 only where the module is compiled with a tiering budget (src/worker/wasm-tiering.ts)
    const tiering = wasmTieringBudget('', undefined, v8TieringDefault()) !== undefined;
    expect(after.builtins.sort()).toEqual(tiering ? ['NativeModule v8', 'NativeModule worker_threads'] : ['NativeModule worker_threads']);
    expect(after.comlink.sort()).toEqual(['dist/umd/comlink.js', 'dist/umd/node-adapter.js']);
  });
});

describe('the wasm module the workers run', () => {
  const object = () => new Uint8Array(readFileSync(obj('core_basic')));
  const copyOfDist = (): string => {
    const dir = mkdtempSync(`${tmpdir()}/corebpf-wasm-`);
    copyFileSync(`${ROOT}dist/wasm/corebpf.cjs`, `${dir}/corebpf.cjs`);
    copyFileSync(`${ROOT}dist/wasm/corebpf.wasm`, `${dir}/corebpf.wasm`);
    return dir;
  };

  it('a missing module is a CorebpfError saying to build it', async () => {
    const pool = new WorkerPool({ size: 1, wasmDir: mkdtempSync(`${tmpdir()}/corebpf-nowasm-`) });
    toClose.push(pool);
    const e = await pool.open({ object: object(), objectName: 'core_basic' }).then(() => null, (x: Error) => x);
    expect(e).toBeInstanceOf(CorebpfError);
    expect(e!.message).toMatch(/wasm module is not built .*run `make`/);
  });

  it('a corrupt module is a CorebpfError naming the file, not an untyped abort', async () => {
    const dir = copyOfDist();
    writeFileSync(`${dir}/corebpf.wasm`, Buffer.from('this is not a wasm module'));
    const pool = new WorkerPool({ size: 1, wasmDir: dir });
    toClose.push(pool);
    const e = await pool.open({ object: object(), objectName: 'core_basic' }).then(() => null, (x: Error) => x);
    expect(e).toBeInstanceOf(CorebpfError);
    expect((e as CorebpfError).details.code).toBe('wasm_load');
    expect(e!.message).toContain(`${dir}/corebpf.wasm cannot be loaded`);
  });

  it('a module rebuilt while the pool runs is what a new worker runs (not the one compiled before)', async () => {
    const dir = copyOfDist();
    const pool = new WorkerPool({ size: 1, wasmDir: dir });
    toClose.push(pool);
    const req = () => ({ object: object(), objectName: 'core_basic', btf: object() });
    expect((await pool.relocate(req())).relocations.length).toBeGreaterThan(0);
    // "rebuilt": a module whose result header says another protocol version (as in
    // result-protocol.test.ts), written as a new file the way a build replaces it
    const wasm = readFileSync(`${dir}/corebpf.wasm`);
    patchResultVersion(wasm);
    writeFileSync(`${dir}/corebpf.wasm.new`, wasm);
    renameSync(`${dir}/corebpf.wasm.new`, `${dir}/corebpf.wasm`);
    // the worker is replaced after a trap; its successor starts with the module of now
    await expect(pool.run((w) => w.selftestTrap())).rejects.toBeInstanceOf(WasmTrapError);
    await expect(pool.relocate(req())).rejects.toBeInstanceOf(WasmProtocolError);
  });
});

describe('WorkerPool.start()', () => {
  it('starts one worker ahead of the first call, which then runs on it', async () => {
    const pool = new WorkerPool({ size: 3 });
    toClose.push(pool);
    pool.start();
    pool.start();
    expect(pool.live).toBe(1);
    await pool.open({ object: new Uint8Array(readFileSync(obj('core_basic'))), objectName: 'core_basic' });
    expect(pool.live).toBe(1);
  });
});

describe('a target parsed ahead of its relocation (prepareTarget)', () => {
  const object = () => new Uint8Array(readFileSync(obj('core_basic')));

  it('is parsed once, on the worker that opens, and the relocation waits for it there', async () => {
    const pool = new WorkerPool({ size: 2 });
    toClose.push(pool);
    pool.start();
    const opened = pool.open({ object: object(), objectName: 'core_basic' });
    const btf = object();
    const prepared = pool.prepareTarget(btf, 'k');
    await opened;
    // the worker may still be parsing: the relocation goes to it, not to a second worker
    const out = await pool.relocateWire({ object: object(), objectName: 'core_basic', btf, btfKey: 'k' });
    await prepared;
    expect(out.targetCached).toBe(true);
    expect(pool.started).toBe(1);
    // a target the pool has is not sent again
    await pool.prepareTarget(btf, 'k');
    expect((await pool.relocateWire({ object: object(), objectName: 'core_basic', btf, btfKey: 'k' })).targetCached).toBe(true);
  });

  it('a target that does not parse rejects the preparation, and the relocation says what is wrong', async () => {
    const pool = new WorkerPool({ size: 1 });
    toClose.push(pool);
    const junk = new Uint8Array(4096).fill(7);
    await expect(pool.prepareTarget(junk, 'junk')).rejects.toBeInstanceOf(ObjectFormatError);
    const e = await pool.relocate({ object: object(), objectName: 'core_basic', btf: junk, btfKey: 'junk' }).then(() => null, (x: Error) => x);
    expect(e).toBeInstanceOf(ObjectFormatError);
    expect(e!.message).toMatch(/^target BTF: /);
  });

  it('a target named by its file is read by the worker, which gives its sha256 and the result bytes would give', async () => {
    const pool = new WorkerPool({ size: 1 });
    toClose.push(pool);
    const path = obj('core_basic'); // an ELF with .BTF: a target libbpf takes
    await pool.prepareTarget(path, 'file');
    const out = await pool.relocateWire({ object: object(), objectName: 'core_basic', btfFile: path, btfKey: 'file' });
    expect(out.targetCached).toBe(true);
    expect(out.btfSha256).toBe(createHash('sha256').update(readFileSync(path)).digest('hex'));
    const fromBytes = await pool.relocateWire({ object: object(), objectName: 'core_basic', btf: object(), btfKey: 'bytes' });
    expect(fromBytes.btfSha256).toBeUndefined();
    expect(Buffer.from(out.result).equals(Buffer.from(fromBytes.result))).toBe(true);
    // judged by its own BTF (check's profileTarget): the worker reads the file for that too
    const judged = await pool.relocateWire({ object: object(), objectName: 'core_basic', btfFile: path, btfKey: 'file', profileTarget: true });
    const judgedBytes = await pool.relocateWire({ object: object(), objectName: 'core_basic', btf: object(), btfKey: 'bytes', profileTarget: true });
    expect(Buffer.from(judged.result).equals(Buffer.from(judgedBytes.result))).toBe(true);
  });

  it('a target file that cannot be read, or is not BTF, is reported as such', async () => {
    const pool = new WorkerPool({ size: 1 });
    toClose.push(pool);
    const missing = await pool.relocate({ object: object(), objectName: 'core_basic', btfFile: '/nonexistent/vmlinux', btfKey: 'm' }).then(() => null, (x: Error) => x);
    expect(missing).toBeInstanceOf(CorebpfError);
    expect(missing!.message).toMatch(/^cannot read target BTF '\/nonexistent\/vmlinux': ENOENT/);
    const junk = `${mkdtempSync(`${tmpdir()}/corebpf-target-`)}/junk.btf`;
    writeFileSync(junk, new Uint8Array(4096).fill(7));
    await expect(pool.prepareTarget(junk, 'junk')).rejects.toBeInstanceOf(ObjectFormatError);
    const e = await pool.relocate({ object: object(), objectName: 'core_basic', btfFile: junk, btfKey: 'junk' }).then(() => null, (x: Error) => x);
    expect(e).toBeInstanceOf(ObjectFormatError);
    expect(e!.message).toMatch(/^target BTF: /);
  });

  it.skipIf(!existsSync(HOST_BTF))('the running kernel\'s BTF is read by the worker: the caller holds no copy, the plan names its sha256', async () => {
    const r = new Relocator({ size: 1 });
    toClose.push(r);
    const before = process.memoryUsage().arrayBuffers;
    const res = await r.relocate(obj('core_basic'));
    const size = statSync(HOST_BTF).size;
    // a copy here would be the BTF's size in array buffers (5 MiB on Debian's kernels)
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(size / 2);
    expect(res.plan.sources?.btf).toBe(createHash('sha256').update(readFileSync(HOST_BTF)).digest('hex'));
  });

  it('BpfObject.open() has the worker parse the target while the object opens', async () => {
    const r = new Relocator({ size: 2 });
    toClose.push(r);
    const path = obj('core_basic');
    const o = await BpfObject.open(path, { relocator: r, btf: new Uint8Array(readFileSync(path)) });
    const res = await o.relocate();
    expect(res.relocations.length).toBeGreaterThan(0);
    expect(res.stats.targetCached).toBe(true); // parsed before this relocation asked
    expect(r.pool.started).toBe(1);
    o.close();
  });
});
