// The oracle at scale: for every corpus object (both byte orders) and every target BTF
// (real Debian kernels, synthetic targets, this machine's kernel), the wasm build's output
// (plan and relocation report, or the error) equals the native gcc build's byte for byte.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_BTF, PROGS, TARGETS, corpusFiles, fixtureBytes, fixtures, hasHostBtf, nativeRun, obj, rawWasm, type RawWasm } from './helpers.js';

let wasm: RawWasm;
const dir = mkdtempSync(`${tmpdir()}/corebpf-diff-`);
beforeAll(async () => {
  wasm = await rawWasm();
});

function targets(): { name: string; path: string }[] {
  const t = [
    { name: 'synthetic core_target', path: `${TARGETS}/core_target.target.btf` },
    { name: 'synthetic core_ambiguous', path: `${TARGETS}/core_ambiguous.target.btf` },
  ];
  if (hasHostBtf) t.push({ name: 'this kernel', path: HOST_BTF });
  for (const x of fixtures().filter((f) => !f.base)) {
    const path = `${dir}/${x.file.replace(/\.xz$/, '')}`;
    t.push({ name: x.file, path });
  }
  return t;
}

describe('native vs wasm over the whole matrix', () => {
  const objects = corpusFiles();
  const all = targets();
  beforeAll(() => {
    for (const x of fixtures().filter((f) => !f.base)) writeFileSync(`${dir}/${x.file.replace(/\.xz$/, '')}`, fixtureBytes(x.file));
  });

  it('has a corpus in both byte orders and many kernels', () => {
    expect(objects.filter((o) => o.endsWith('.bpfeb.o')).length).toBeGreaterThanOrEqual(10);
    expect(all.length).toBeGreaterThanOrEqual(14);
  });

  for (const t of all) {
    it(`every corpus object against ${t.name}: identical output`, async () => {
      const h = wasm.register(new Uint8Array(readFileSync(t.path)));
      let compared = 0, plans = 0;
      try {
        for (const file of objects) {
          const name = basename(file).replace(/\..*$/, '');
          const native = await nativeRun(`${PROGS}/${file}`, t.path, ['--name', name]);
          const w = wasm.run(new Uint8Array(readFileSync(`${PROGS}/${file}`)), name, h);
          expect(w === native, `${file} against ${t.name}`).toBe(true);
          if (native.includes('"plan":{')) plans++;
          compared++;
        }
      } finally {
        wasm.release(h);
      }
      expect(compared).toBe(objects.length);
      // each target relocates at least the objects of its byte order that have no ___err_ load stops
      expect(plans).toBeGreaterThan(0);
    });
  }

  it('the comparison sees plan differences (a different kernel release changes the output)', async () => {
    const h = wasm.register(new Uint8Array(readFileSync(obj('core_basic'))));
    const a = await nativeRun(obj('core_basic'), obj('core_basic'), ['--name', 'core_basic', '--release', '6.1.0']);
    const b = wasm.run(new Uint8Array(readFileSync(obj('core_basic'))), 'core_basic', h, '5.10.0');
    wasm.release(h);
    expect(a).not.toBe(b);
  });
});

afterAll(() => undefined);
