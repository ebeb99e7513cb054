// The oracle: for each corpus object and target BTF, the wasm build's output (plan and
// relocation report) equals the native gcc build's, byte for byte.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { HOST_BTF, TARGETS, corpus, fixtureBytes, fixtures, hasHostBtf, nativeRun, obj, rawWasm } from './helpers.js';

let wasm: Awaited<ReturnType<typeof rawWasm>>;
const dir = mkdtempSync(`${tmpdir()}/corebpf-diff-`);
beforeAll(async () => {
  wasm = await rawWasm();
});

function targets(): { name: string; path: string }[] {
  const t = [{ name: 'synthetic core_target', path: `${TARGETS}/core_target.target.btf` }];
  if (hasHostBtf) t.push({ name: 'this kernel', path: HOST_BTF });
  const f = fixtures().filter((x) => !x.base && x.endianness === 'little');
  for (const x of [f[0], f[f.length - 1]]) {
    if (!x) continue;
    const path = `${dir}/${x.file.replace(/\.xz$/, '')}`;
    writeFileSync(path, fixtureBytes(x.file));
    t.push({ name: x.file, path });
  }
  return t;
}

describe('native vs wasm', () => {
  const objects = corpus();
  it('has a corpus to compare', () => {
    expect(objects.length).toBeGreaterThanOrEqual(4);
  });
  for (const t of targets()) {
    it(`every corpus object against ${t.name}: identical output`, () => {
      const btf = new Uint8Array(readFileSync(t.path));
      let compared = 0;
      for (const name of objects) {
        const native = nativeRun(obj(name), t.path, ['--name', name]);
        const w = wasm(new Uint8Array(readFileSync(obj(name))), name, btf);
        expect(w.length, name).toBe(native.length);
        expect(w === native, `${name} against ${t.name}`).toBe(true);
        compared++;
      }
      expect(compared).toBe(objects.length);
    });
  }

  it('the comparison sees plan differences (a different kernel release changes the output)', () => {
    const a = nativeRun(obj('core_basic'), obj('core_basic'), ['--name', 'core_basic', '--release', '6.1.0']);
    const b = wasm(new Uint8Array(readFileSync(obj('core_basic'))), 'core_basic', new Uint8Array(readFileSync(obj('core_basic'))), '5.10.0');
    expect(a).not.toBe(b);
  });
});
