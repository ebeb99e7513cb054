// Bad input and wasm traps: typed errors that survive the worker hop, and a worker that
// survives or is replaced.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CorebpfError, ObjectFormatError, Relocator, WasmTrapError, WorkerPool,
} from '../dist/index.js';
import { obj } from './helpers.js';

const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());
const good = new Uint8Array(readFileSync(obj('core_basic')));
const btf = obj('core_basic'); // its own BTF is a fine target for these tests

async function rejects(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('bad objects', () => {
  it('a truncated ELF is an ObjectFormatError', async () => {
    const e = await rejects(relocator.relocate(good.slice(0, 200), { btf, objectName: 'truncated' }));
    expect(e).toBeInstanceOf(ObjectFormatError);
    expect(e).toBeInstanceOf(CorebpfError);
    expect(e.message).toMatch(/'truncated' is not a loadable BPF object/);
  });

  it('random bytes are an ObjectFormatError saying it is not ELF', async () => {
    const junk = new Uint8Array(4096).map((_, i) => (i * 2654435761) >>> 24);
    const e = await rejects(relocator.relocate(junk, { btf, objectName: 'junk' }));
    expect(e).toBeInstanceOf(ObjectFormatError);
    expect(e.message).toMatch(/not a proper ELF object|format invalid/i);
  });

  it('an ELF that is not BPF (this machine\'s /bin/true) is an ObjectFormatError', async () => {
    const e = await rejects(relocator.relocate('/bin/true', { btf }));
    expect(e).toBeInstanceOf(ObjectFormatError);
    expect(e.message).toMatch(/not a loadable BPF object/);
  });

  it('an object without BTF is an ObjectFormatError that says how to fix it', async () => {
    const dir = mkdtempSync(`${tmpdir()}/corebpf-`);
    const stripped = `${dir}/nobtf.bpf.o`;
    execFileSync('llvm-objcopy-16', ['--remove-section=.BTF', '--remove-section=.BTF.ext', '--remove-section=.rel.BTF', '--remove-section=.rel.BTF.ext', obj('core_basic'), stripped]);
    const e = await rejects(relocator.relocate(stripped, { btf }));
    expect(e).toBeInstanceOf(ObjectFormatError);
    expect(e.message).toMatch(/no BTF.*clang -g/);
  });

  it('the worker survives bad input: the next good object relocates', async () => {
    const r = await relocator.relocate(good, { btf, objectName: 'core_basic' });
    expect(r.ok).toBe(true);
    expect(relocator.pool.replaced).toBe(0);
  });
});

describe('bad target BTF', () => {
  it('corrupt BTF is an ObjectFormatError naming the target', async () => {
    const raw = new Uint8Array(readFileSync(obj('core_basic')));
    const bad = new Uint8Array(64);
    bad.set([0x9f, 0xeb, 1, 0, 24, 0, 0, 0]);
    bad[12] = 200; // type section length past the end
    const e = await rejects(relocator.relocate(raw, { btf: bad, objectName: 'core_basic' }));
    expect(e).toBeInstanceOf(ObjectFormatError);
    expect(e.message).toMatch(/^target BTF: /);
  });

  it('a truncated vmlinux-like blob with the BTF magic is rejected, not trusted', async () => {
    const e = await rejects(relocator.relocate(good, { btf: new Uint8Array([0x9f, 0xeb, 1, 0]) }));
    expect(e).toBeInstanceOf(ObjectFormatError);
  });

  it('an ELF target without .BTF is an ObjectFormatError', async () => {
    const e = await rejects(relocator.relocate(good, { btf: '/bin/true' }));
    expect(e).toBeInstanceOf(ObjectFormatError);
    expect(e.message).toMatch(/no \.BTF section/);
  });

  it('an unknown feature name is a CorebpfError listing the known ones', async () => {
    const e = await rejects(relocator.relocate(good, { btf, features: { warp_drive: true } }));
    expect(e).toBeInstanceOf(CorebpfError);
    expect(e.message).toMatch(/unknown kernel feature 'warp_drive'.*btf_enum64/);
  });
});


describe('wasm traps', () => {
  it('a trap fails that call with WasmTrapError, the worker is replaced, the next call works', async () => {
    const pool = new WorkerPool({ size: 1 });
    try {
      const e = await rejects(pool.run((r) => r.selftestTrap()));
      expect(e).toBeInstanceOf(WasmTrapError);
      expect(e.message).toMatch(/trapped/);
      expect(pool.replaced).toBe(1);
      const out = await pool.relocate({ object: good, objectName: 'core_basic', btf: good });
      expect(out.relocations.length).toBeGreaterThan(0);
    } finally {
      await pool.close();
    }
  });

});
