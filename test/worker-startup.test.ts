// Start-up of the relocation workers (issue 14): workers are started on demand and reused
// while idle, so a process that opens and loads one object runs one worker, not one per core.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Relocator, WorkerPool } from '../dist/index.js';
import { obj } from './helpers.js';

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
