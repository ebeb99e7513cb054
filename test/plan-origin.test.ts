// Which plans this process made (src/plan-origin.ts): a Relocator's plan counts, unchanged or
// as a copy of its content; a plan changed in any field does not — also when the change is
// made at once, before the digest (taken only when a plan is checked) was computed; plans of
// the last PENDING_MAX relocations are remembered unhashed, older ones only if a check
// hashed them meanwhile. Uses tsc's
// per-module output (build/tsc, built by `make`), so the test sees the Relocator's own
// plan-origin module (dist/index.js bundles its own copy and does not export it).
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, fixtureBytes, fixtures, obj } from './helpers.js';

const { Relocator } = (await import(`${ROOT}build/tsc/relocate.js`)) as typeof import('../src/relocate.js');
const { madeHere, PENDING_MAX } = (await import(`${ROOT}build/tsc/plan-origin.js`)) as typeof import('../src/plan-origin.js');

const wasmDir = `${ROOT}dist/wasm`;
const f61 = fixtures().find((f) => f.file === 'amd64-6.1.176.btf.xz')!;
const btf = fixtureBytes(f61.file);
const bytes = new Uint8Array(readFileSync(obj('execsnoop')));
const relocators: InstanceType<typeof Relocator>[] = [];
const relocator = (resultCache = 0) => {
  const r = new Relocator({ size: 1, wasmDir, resultCache });
  relocators.push(r);
  return r;
};
afterAll(() => Promise.all(relocators.map((r) => r.close())));

const idle = () => new Promise((resolve) => setImmediate(resolve));

describe('plan origin', () => {
  it('a Relocator\'s plan counts, and so does a copy of its content', async () => {
    const r = await relocator().relocate(bytes, { btf, kernelRelease: f61.kernelRelease });
    expect(r.plan.programs.length).toBeGreaterThan(0);
    const copy = structuredClone(r.plan);
    const text = JSON.stringify(r.plan);
    expect(madeHere(r.plan)).toBe(true);
    expect(madeHere(copy)).toBe(true);
    expect(madeHere(JSON.parse(text))).toBe(true);
    await idle();
    expect(madeHere(JSON.parse(text))).toBe(true);
  });

  it('a plan changed before its digest was taken does not count; its original content does', async () => {
    const r = await relocator().relocate(bytes, { btf, kernelRelease: '6.1.999-other' });
    // synchronously after relocate() resolved: no idle turn has run yet
    const original = structuredClone(r.plan);
    r.plan.maps[0]!.maxEntries += 1;
    const changedSources = structuredClone(original);
    changedSources.sources!.btf = '0'.repeat(64);
    expect(madeHere(r.plan)).toBe(false);
    expect(madeHere(original)).toBe(true);
    expect(madeHere(changedSources)).toBe(false);
  });

  it('the same, when the change comes later', async () => {
    const r = await relocator().relocate(bytes, { btf, kernelRelease: '6.1.998-other' });
    const original = structuredClone(r.plan);
    await idle();
    r.plan.programs[0]!.license = 'Proprietary';
    expect(madeHere(r.plan)).toBe(false);
    expect(madeHere(original)).toBe(true);
  });

  it('a plan made again from the result cache counts, in its new objects', async () => {
    const rel = relocator(4);
    const a = await rel.relocate(bytes, { btf, kernelRelease: '6.1.997-other' });
    a.plan.kernel.release = 'changed by the caller';
    const b = await rel.relocate(bytes, { btf, kernelRelease: '6.1.997-other' });
    expect(b.plan).not.toBe(a.plan);
    expect(madeHere(b.plan)).toBe(true);
    expect(madeHere(a.plan)).toBe(false);
    await idle();
    const c = await rel.relocate(bytes, { btf, kernelRelease: '6.1.997-other' });
    expect(madeHere(c.plan)).toBe(true);
  });

  it('the last PENDING_MAX plans are remembered unhashed; an older one only if a check hashed it', async () => {
    const rel = relocator();
    const first = await rel.relocate(bytes, { btf, kernelRelease: '6.1.900-first' });
    const checked = await rel.relocate(bytes, { btf, kernelRelease: '6.1.900-checked' });
    expect(madeHere(structuredClone(checked.plan))).toBe(true); // hashes every plan noted so far
    const firstUnchecked = await rel.relocate(bytes, { btf, kernelRelease: '6.1.900-unchecked' });
    const later = [];
    for (let i = 0; i < PENDING_MAX; i++) later.push(await rel.relocate(bytes, { btf, kernelRelease: `6.1.${901 + i}-later` }));
    expect(madeHere(firstUnchecked.plan)).toBe(false); // forgotten unhashed: reusePins is off for it
    expect(madeHere(first.plan)).toBe(true);
    expect(madeHere(checked.plan)).toBe(true);
    expect(later.every((r) => madeHere(r.plan))).toBe(true);
  });
});
