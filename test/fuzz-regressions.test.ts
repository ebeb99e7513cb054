// Every input the native fuzzers (fuzz/, `make fuzz`, docs/fuzzing.md) found, and a few of
// their minimized corpus inputs, replayed through the real wasm worker via the public API,
// each the way its fuzz target feeds it: as the object (relocated, or only opened), as the
// target BTF, as kconfig or kallsyms text. Each must end in a plan or a typed CorebpfError;
// a worker that trapped must have been replaced (the next call works). The regression
// inputs' bugs are fixed, so none of them may trap any more.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as D from '../dist/index.js';
import { PROGS, ROOT, TARGETS, fixtureBytes } from './helpers.js';

const FUZZ = `${ROOT}fuzz`;
const CORPUS_PER_TARGET = 6;
const relocator = new D.Relocator({ size: 1 });
afterAll(() => relocator.close());

const kernelBtf = fixtureBytes('amd64-6.12.107.btf.xz');
const smallBtf = new Uint8Array(readFileSync(`${TARGETS}/core_target.target.btf`));
const prog = (n: string) => new Uint8Array(readFileSync(`${PROGS}/${n}.bpf.o`));
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

/* each fuzz target's input, through the public API (the fixed inputs are the fuzz
 * targets' own: fuzz/fuzz_*.c, mk/fuzz.mk FUZZ_DEFS) */
const feed: Record<string, (b: Uint8Array) => Promise<unknown>> = {
  reloc: (b) => relocator.relocate(b, { btf: kernelBtf, objectName: 'fuzz', kernelRelease: '6.12.107' }),
  open: (b) => relocator.open(b, { objectName: 'fuzz' }),
  target_btf: (b) => relocator.relocate(prog('core_target'), { btf: b, objectName: 'core_target' }),
  kconfig: (b) => relocator.relocate(prog('kconfig'), { btf: kernelBtf, kconfig: text(b), kernelRelease: '6.12.107' }),
  kallsyms: (b) => relocator.relocate(prog('ksyms'), { btf: smallBtf, kallsyms: text(b), kernelRelease: '6.12.107' }),
};

function inputs(kind: 'regressions' | 'corpus', target: string, max = Infinity): { name: string; bytes: Uint8Array }[] {
  const dir = `${FUZZ}/${kind}/${target}`;
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().slice(0, max).map((f) => ({ name: `${kind}/${target}/${f}`, bytes: new Uint8Array(readFileSync(`${dir}/${f}`)) }));
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
async function replay(target: string, bytes: Uint8Array): Promise<Outcome> {
  const replacedBefore = relocator.pool.replaced;
  let out: Outcome;
  try {
    out = { ok: true, value: await feed[target]!(bytes) };
  } catch (error) {
    out = { ok: false, error };
  }
  if (!out.ok) {
    expect(out.error, `untyped error: ${(out.error as Error)?.stack}`).toBeInstanceOf(D.CorebpfError);
    if (out.error instanceof D.WasmTrapError) {
      // the trapped worker is gone: a known-good relocation works on its replacement
      expect(relocator.pool.replaced).toBeGreaterThan(replacedBefore);
      const good = await relocator.relocate(prog('core_target'), { btf: smallBtf });
      expect(good.plan.programs.length).toBeGreaterThan(0);
    }
  }
  return out;
}

describe('fuzz regression inputs through the wasm worker', () => {
  for (const target of Object.keys(feed)) {
    for (const { name, bytes } of inputs('regressions', target)) {
      it(`${name}: a plan or a typed error, no trap (fixed)`, async () => {
        const out = await replay(target, bytes);
        if (!out.ok) expect(out.error).not.toBeInstanceOf(D.WasmTrapError);
      });
    }
  }

  it('the CO-RE record past its program fails the load with libbpf-style message, not a leak', async () => {
    const [leak] = inputs('regressions', 'reloc').filter((i) => i.name.endsWith('core-relo-insn-off-leak'));
    const out = await replay('reloc', leak!.bytes);
    expect(out.ok).toBe(false);
    expect(String((out as { error: D.CorebpfError }).error.details.log ?? (out as { error: Error }).error.message))
      .toMatch(/CO-RE relocation #\d+ points outside its program/);
  });

  it('a .kconfig extern sized 2 GiB: a typed open error where libbpf handed back a wild pointer', async () => {
    const [kcfg] = inputs('regressions', 'open').filter((i) => i.name.endsWith('kcfg-size-2gib'));
    for (const target of ['open', 'reloc']) {
      const out = await replay(target, kcfg!.bytes);
      expect(out.ok).toBe(false);
      const e = (out as { error: D.CorebpfError }).error;
      expect(e).not.toBeInstanceOf(D.WasmTrapError);
      expect(`${e.message} ${String(e.details.log ?? '')}`).toMatch(/failed to resolve size of extern \(kcfg\)/);
    }
  });
});

describe('minimized fuzz corpus inputs through the wasm worker', () => {
  for (const target of Object.keys(feed)) {
    const some = inputs('corpus', target, CORPUS_PER_TARGET);
    it.skipIf(!some.length)(`${target}: ${some.length} inputs, each a plan or a typed error`, async () => {
      for (const { bytes } of some) await replay(target, bytes);
    });
  }

  it('the worker still relocates after all of them', async () => {
    const r = await relocator.relocate(prog('core_target'), { btf: smallBtf });
    expect(r.plan.programs.length).toBeGreaterThan(0);
  });
});
