// Target BTFs reach a worker through memory shared with it and reused for its next targets
// (src/worker/pool.ts, stageTarget): a target staged while another call's target is still
// there must not overwrite it, the next target overwrites it only after the worker answered,
// and nothing the worker keeps (the parsed target, the kernel profile of `check`) is a view
// of it. Every result is compared with the same relocation in a fresh pool.
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerPool } from '../dist/index.js';
import { CorebpfError } from '../src/errors.js';
import { readInputShared } from '../src/inputs.js';
import { ROOT, fixtureBytes, fixtures, obj } from './helpers.js';

const pools: WorkerPool[] = [];
const pool = () => {
  const p = new WorkerPool({ size: 1 });
  pools.push(p);
  return p;
};
afterAll(() => Promise.all(pools.map((p) => p.close())));

const targets = ['amd64-6.1.176.btf.xz', 'amd64-5.10.223.btf.xz', 'amd64-6.12.107.btf.xz'].map((file) => {
  const f = fixtures().find((x) => x.file === file)!;
  return { key: file, btf: fixtureBytes(file), release: f.kernelRelease };
});
// ctx_access: fentry programs whose context loads the kernel's BTF judges (src/analysis/
// ctx-access.ts, read lazily from the profile's BTF): 5.10 refuses some, later kernels fewer
const objects = [`${ROOT}testdata/verify/ctx_access.bpf.o`, obj('execsnoop')].map((path) => ({
  name: path.replace(/.*\//, '').replace(/\..*/, ''), bytes: new Uint8Array(readFileSync(path)),
}));

type Target = (typeof targets)[number];
const request = (o: (typeof objects)[number], t: Target) => ({
  object: o.bytes.slice(), objectName: o.name, btf: t.btf, btfKey: t.key, kernelRelease: t.release, profileTarget: true,
});
/** what must not change with the way the target travelled */
const essence = (r: Awaited<ReturnType<WorkerPool['relocate']>>) => JSON.stringify({
  relocations: r.relocations, unmet: r.unmet, missingFeatures: r.missingFeatures, programs: r.plan.programs.map((p) => p.insns),
});

const expected = new Map<string, string>();
async function reference(o: (typeof objects)[number], t: Target): Promise<string> {
  const k = `${o.name} ${t.key}`;
  if (!expected.has(k)) expected.set(k, essence(await pool().relocate({ ...request(o, t), btfKey: undefined })));
  return expected.get(k)!;
}

describe('target staging', () => {
  it('the references differ between kernels (so a target mixed up would show)', async () => {
    for (const o of objects) {
      const [a, b, c] = await Promise.all(targets.map((t) => reference(o, t)));
      expect(new Set([a, b, c]).size).toBe(3);
    }
    // 5.10 refuses context loads that 6.1 allows: the profile's BTF is read
    const unmet = (t: Target) => (JSON.parse(expected.get(`${objects[0]!.name} ${t.key}`)!) as { unmet: { need: string }[] }).unmet.filter((u) => u.need === 'ctx-access').length;
    expect(unmet(targets[1]!)).toBeGreaterThan(unmet(targets[0]!));
  });

  it('targets sent at once to one worker each relocate against their own kernel', async () => {
    const p = pool();
    const order = [targets[0]!, targets[1]!, targets[2]!, targets[0]!];
    const rs = await Promise.all(order.map((t) => p.relocate(request(objects[0]!, t))));
    for (const [i, r] of rs.entries()) expect(essence(r)).toBe(await reference(objects[0]!, order[i]!));
    expect(rs.map((r) => r.stats.targetCached)).toEqual([false, false, false, true]);
  });

  it('one after another: a parsed target and its kernel profile outlive the staging memory', async () => {
    const p = pool();
    // the second object against every target, then the first: the targets and their profiles
    // (which read the kernel's BTF lazily: ctx_access's context loads) are used after the
    // staging memory was overwritten
    for (const o of [objects[1]!, objects[0]!]) {
      for (const t of targets) expect(essence(await p.relocate(request(o, t)))).toBe(await reference(o, t));
    }
    // the caller's arrays are never moved or changed
    for (const t of targets) expect(Buffer.from(t.btf).equals(fixtureBytes(t.key))).toBe(true);
  });
});

describe('targets in shared memory', () => {
  it('readInputShared: a file into a SharedArrayBuffer; .xz, a procfs file and errors as readInput', () => {
    const file = `${tmpdir()}/corebpf-shared-${process.pid}.btf`;
    writeFileSync(file, fixtureBytes(targets[0]!.key));
    const shared = readInputShared(file, 'target BTF');
    expect(shared.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Buffer.from(shared).equals(fixtureBytes(targets[0]!.key))).toBe(true);
    const xz = readInputShared(`${ROOT}testdata/btf/${targets[0]!.key}`, 'target BTF');
    expect(xz.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(Buffer.from(xz).equals(shared)).toBe(true);
    // procfs says size 0: read the ordinary way, whole
    expect(new TextDecoder().decode(readInputShared('/proc/self/status', 'status'))).toMatch(/^Name:[\s\S]*\nPid:/);
    expect(() => readInputShared(`${file}.missing`, 'target BTF')).toThrow(CorebpfError);
    expect(() => readInputShared(`${file}.missing`, 'target BTF')).toThrow(/cannot read target BTF .*ENOENT/);
  });

  it('goes to the worker as it is (no staging memory), and relocates as a private copy does', async () => {
    const p = pool();
    const t = targets[1]!;
    const shared = new Uint8Array(new SharedArrayBuffer(t.btf.byteLength));
    shared.set(t.btf);
    const r = await p.relocate({ ...request(objects[0]!, t), btf: shared });
    expect(essence(r)).toBe(await reference(objects[0]!, t));
    expect((p as unknown as { slots: { staging?: SharedArrayBuffer }[] }).slots[0]!.staging).toBeUndefined();
    // a private array is staged (the check above would see a change in the pool's fields)
    await p.relocate({ ...request(objects[0]!, targets[2]!), btfKey: 'other' });
    expect((p as unknown as { slots: { staging?: SharedArrayBuffer }[] }).slots[0]!.staging).toBeInstanceOf(SharedArrayBuffer);
  });
});
