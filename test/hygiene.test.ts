// Worker and input hygiene (issue 15, parts 2 and 4): the worker's Node options, a worker
// killed from outside, bounded wasm memory, capped decompression, and control characters
// in names escaped in every text output. No kernel needed.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Relocator, WasmTrapError } from '../dist/index.js';
import { CorebpfError as SrcCorebpfError } from '../src/errors.js';
import { readKernel } from '../src/check/kernels.js';
import { maxInputSize, readInput, setMaxInputSize } from '../src/inputs.js';
import { workerExecArgv } from '../src/worker/exec-argv.js';
import { CB_EXPORT_NAMES } from '../src/worker/generated/exports.js';
import { BTF_DIR, CLI, PROGS, ROOT } from './helpers.js';

const BTF = `${BTF_DIR}/amd64-6.12.107.btf.xz`;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'corebpf-hygiene-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('worker execArgv', () => {
  it('drops inline-script and inspector options, keeps the rest', () => {
    expect(workerExecArgv(['--input-type=module', '-e', 'code', '--max-old-space-size=512', '--inspect=9229', '--import', 'tsx']))
      .toEqual(['--max-old-space-size=512', '--import', 'tsx']);
    expect(workerExecArgv(['--input-type', 'module', '--eval', 'x', '-p', 'y', '--inspect-brk', '--inspect-port', '9230', '--enable-source-maps']))
      .toEqual(['--enable-source-maps']);
  });

  it('BpfObject.open works from `node --input-type=module -e` (the worker used to inherit --input-type)', () => {
    const script = `import { BpfObject } from '${ROOT}dist/index.js';
      const o = await BpfObject.open('${PROGS}/execsnoop.bpf.o', { btf: '${BTF}' });
      await o.relocate();
      console.log('programs', o.plan.programs.length);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).not.toMatch(/WasmTrapError|input-type/);
    expect(r.stdout.trim()).toBe('programs 2');
    expect(r.status).toBe(0);
    // per-process V8 flags, which Node refuses in a worker's explicit execArgv, are dropped
    const g = spawnSync(process.execPath, ['--expose-gc', '--stack-size=2000', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(g.stderr).toBe('');
    expect(g.stdout.trim()).toBe('programs 2');
  });
});

describe('a worker killed from outside', () => {
  it('fails the in-flight call with a typed error and is replaced', async () => {
    const relocator = new Relocator({ size: 1 });
    try {
      const btf = readInput(BTF, 'target BTF');
      await relocator.relocate(`${PROGS}/maps.bpf.o`, { btf }); // a worker exists
      const slots = (relocator.pool as unknown as { slots: { worker: { terminate(): Promise<number>; threadId: number } }[] }).slots;
      const first = slots[0]!.worker;
      const inFlight = relocator.relocate(`${PROGS}/execsnoop.bpf.o`, { btf: new Uint8Array(btf) });
      void first.terminate(); // killed by someone else while the call runs
      const err = await inFlight.then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(WasmTrapError);
      expect((err as Error).message).toMatch(/relocation worker exited .* it was replaced/);
      const again = await relocator.relocate(`${PROGS}/execsnoop.bpf.o`, { btf });
      expect(again.ok).toBe(true);
      expect(slots[0]!.worker.threadId).not.toBe(first.threadId);
      expect(relocator.pool.replaced).toBe(1);
    } finally {
      await relocator.close();
    }
  });
});

describe('bounded wasm memory', () => {
  it('the module cannot grow past 1 GiB: malloc fails (and libbpf reports ENOMEM) instead of taking the machine', async () => {
    const require = createRequire(import.meta.url);
    const factory = require(`${ROOT}dist/wasm/corebpf.cjs`) as (o: object) => Promise<{ _malloc(n: number): number; _free(p: number): void; HEAPU8: Uint8Array }>;
    const m = await factory({ wasmBinary: readFileSync(`${ROOT}dist/wasm/corebpf.wasm`) });
    expect(m._malloc(1.25 * 2 ** 30)).toBe(0);
    const p = m._malloc(512 << 20); // below the limit still works
    expect(p).not.toBe(0);
    m._free(p);
    expect(m.HEAPU8.buffer.byteLength).toBeLessThanOrEqual(2 ** 30);
  });
});

describe('the glue\'s entry points', () => {
  it('the built module exports exactly the CB_EXPORT functions of wasm/*.c that the worker declares', async () => {
    const require = createRequire(import.meta.url);
    const factory = require(`${ROOT}dist/wasm/corebpf.cjs`) as (o: object) => Promise<Record<string, unknown>>;
    const m = await factory({ wasmBinary: readFileSync(`${ROOT}dist/wasm/corebpf.wasm`) });
    const exported = Object.keys(m).filter((k) => /^_cb_/.test(k) && typeof m[k] === 'function').map((k) => k.slice(1)).sort();
    expect(exported).toEqual([...CB_EXPORT_NAMES]);
    const fromC = execFileSync(process.execPath, [`${ROOT}scripts/gen-exports.mjs`, '--list'], { encoding: 'utf8' }).trim().split('\n');
    expect(fromC).toEqual([...CB_EXPORT_NAMES]);
  });
});

describe('decompression is capped', () => {
  let bomb: string;
  beforeAll(() => {
    bomb = join(dir, 'bomb.btf.xz');
    writeFileSync(bomb, execFileSync('xz', ['-9', '-c'], { input: Buffer.alloc(16 << 20) }));
  });

  it('readInput and check\'s reader stop at the limit with a typed error', async () => {
    expect(readFileSync(bomb).length).toBeLessThan(8192);
    expect(maxInputSize()).toBe(256 << 20);
    setMaxInputSize(1 << 20);
    try {
      expect(() => readInput(bomb, 'target BTF')).toThrow(SrcCorebpfError);
      expect(() => readInput(bomb, 'target BTF')).toThrow(/decompresses to more than 1048576 bytes .*COREBPF_MAX_INPUT_SIZE/);
      await expect(readKernel(bomb)).rejects.toThrow(/decompresses to more than 1048576 bytes/);
      await expect(readKernel(bomb)).rejects.toBeInstanceOf(SrcCorebpfError);
    } finally {
      setMaxInputSize(undefined);
    }
    expect(readInput(bomb, 'target BTF').byteLength).toBe(16 << 20); // under the default limit
  });

  it('the CLI honours COREBPF_MAX_INPUT_SIZE', () => {
    const r = spawnSync(process.execPath, [CLI, 'relocate', `${PROGS}/maps.bpf.o`, '--btf', bomb], {
      encoding: 'utf8', env: { ...process.env, COREBPF_MAX_INPUT_SIZE: '2M' },
    });
    expect(r.stderr).toMatch(/decompresses to more than 2097152 bytes/);
    expect(r.status).not.toBe(0);
  });
});

describe('control characters in names are escaped in text output', () => {
  let esc: string;
  beforeAll(() => {
    // rename program handle_getppid in the ELF string table (its last occurrence)
    const b = Buffer.from(readFileSync(`${PROGS}/core_basic.bpf.o`));
    const at = b.lastIndexOf(Buffer.from('handle_getppid\0'));
    Buffer.from('\x1b[2Jgetppid\x07xx').copy(b, at);
    esc = join(dir, 'esc.bpf.o');
    writeFileSync(esc, b);
  });

  it('corebpf relocate', () => {
    const out = execFileSync(process.execPath, [CLI, 'relocate', esc, '--btf', BTF], { encoding: 'utf8' });
    expect(out).toContain('\\x1b[2Jgetppid\\x07xx');
    expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });

  it('corebpf check', () => {
    const btfs = join(dir, 'btfs');
    execFileSync('mkdir', ['-p', btfs]);
    symlinkSync(BTF, join(btfs, 'amd64-6.12.107.btf.xz'));
    // the object's name (from its file name) and a program name, both with escapes
    const named = join(dir, 'evil\x1b[31mred.bpf.o');
    writeFileSync(named, readFileSync(esc));
    const r = spawnSync(process.execPath, [CLI, 'check', named, '--btf-dir', btfs, '-j', '1'], { encoding: 'utf8' });
    expect(r.stdout).toContain('evil\\x1b[31mred');
    expect(r.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(r.stderr).not.toMatch(/\x1b\[2J/);
  });

  it('error messages', () => {
    const r = spawnSync(process.execPath, [CLI, 'relocate', join(dir, 'no\x1b]0;title\x07such.o'), '--btf', BTF], { encoding: 'utf8' });
    expect(r.stderr).toContain('no\\x1b]0;title\\x07such.o');
    expect(r.stderr).not.toContain('\x1b');
    expect(r.status).not.toBe(0);
  });
});


