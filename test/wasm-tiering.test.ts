// The tiering budget the pool compiles the wasm module with (src/worker/wasm-tiering.ts):
// raised only where V8's default is lower, and V8's default put back after the compile, so
// that Node's code cache stays usable in the caller's process and in new worker threads.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { WASM_TIERING_BUDGET, v8TieringDefault, wasmTieringBudget } from '../src/worker/wasm-tiering.js';
import { ROOT, obj, runNode } from './helpers.js';

describe('V8 tiering budget', () => {
  it("knows the running V8's default budget, as node --v8-options prints it", () => {
    const out = spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' }).stdout;
    const m = /default: --wasm-tiering-budget=(\d+)/.exec(out);
    expect(m, 'node --v8-options names the flag').not.toBeNull();
    expect(v8TieringDefault()).toBe(Number(m![1]));
    expect(v8TieringDefault('11.3.244.8-node.38')).toBe(1_800_000);
    expect(v8TieringDefault('13.6.233.17-node.53')).toBe(13_000_000);
    expect(v8TieringDefault('99.1.0')).toBeUndefined();
    expect(v8TieringDefault('')).toBeUndefined();
  });

  it('raises a lower default, keeps a higher one, takes COREBPF_WASM_TIERING_BUDGET, never overrides a flag given to Node', () => {
    expect(wasmTieringBudget('', undefined, 1_800_000)).toBe(WASM_TIERING_BUDGET);
    expect(wasmTieringBudget('', undefined, 13_000_000)).toBeUndefined();
    expect(wasmTieringBudget('', '12345678', 13_000_000)).toBe(12_345_678);
    expect(wasmTieringBudget('--enable-source-maps', '2000000', 1_800_000)).toBe(2_000_000);
    expect(wasmTieringBudget('', '1800000', 1_800_000)).toBeUndefined();
    expect(wasmTieringBudget('', undefined, undefined)).toBeUndefined(); // V8's default unknown: it could not be put back
    expect(wasmTieringBudget('', '0', 1_800_000)).toBeUndefined();
    expect(wasmTieringBudget('', 'lots', 1_800_000)).toBeUndefined();
    for (const given of ['--liftoff-only', '--no-liftoff', '--wasm-tiering-budget=1', '--wasm_tiering_budget=9', '--no-wasm-dynamic-tiering', '--no-wasm-tier-up']) {
      expect(wasmTieringBudget(`--max-old-space-size=100 ${given}`, undefined, 1_800_000), given).toBeUndefined();
    }
  });

  it("leaves the process's V8 flags as they were once the pool compiled the module", async () => {
    // v8.cachedDataVersionTag() hashes the non-default V8 flags: the value code caches are
    // checked against. A budget asked for is set for the compile on every V8.
    const script = `
      import v8 from 'node:v8';
      const { Relocator } = await import(${JSON.stringify(`${ROOT}dist/index.js`)});
      const before = v8.cachedDataVersionTag();
      v8.setFlagsFromString('--wasm-tiering-budget=7000000');
      const changed = v8.cachedDataVersionTag();
      v8.setFlagsFromString('--wasm-tiering-budget=${v8TieringDefault() ?? 0}');
      const r = new Relocator({ size: 1 });
      const path = ${JSON.stringify(obj('core_basic'))};
      const out = await r.relocate(path, { btf: new Uint8Array((await import('node:fs')).readFileSync(path)) });
      await r.close();
      console.log(JSON.stringify({ before, changed, after: v8.cachedDataVersionTag(), relocations: out.relocations.length }));`;
    const r = await runNode(['--input-type=module', '-e', script], { timeoutMs: 60_000, env: { COREBPF_WASM_TIERING_BUDGET: '7000000' } });
    expect(r.stderr).toBe('');
    const tags = JSON.parse(r.stdout) as { before: number; changed: number; after: number; relocations: number };
    expect(tags.relocations).toBeGreaterThan(0);
    expect(tags.changed).not.toBe(tags.before); // the tag does see the flag
    expect(tags.after).toBe(tags.before);
  });
});
