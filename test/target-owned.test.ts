// cb_target_register_owned: a target's raw BTF, copied into wasm memory by the worker,
// becomes libbpf's own copy (wasm/libbpf/btf_unit.c), so a kernel's BTF is in wasm memory
// once; an ELF target, or a BTF libbpf refuses, leaves no buffer behind and no second owner.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixtureBytes, obj, rawWasm, type RawWasm } from './helpers.js';

let w: RawWasm;
let kernel: Uint8Array;
beforeAll(async () => {
  w = await rawWasm();
  kernel = fixtureBytes('amd64-6.1.176.btf.xz');
});

const err = () => w.module.UTF8ToString(w.call('cb_target_error'));

const used = () => w.call('cb_heap_used');

describe('a target registered with its buffer handed over', () => {
  it('keeps the very buffer as its raw BTF: the kernel\'s BTF is in wasm memory once', () => {
    const before = used();
    const q = w.bytes(kernel);
    const c = w.call('cb_target_register', q, kernel.length);
    expect(c, err()).toBeGreaterThan(0);
    const raw = w.call('cb_target_raw_data', c);
    expect(raw).not.toBe(q);
    expect(w.module.HEAPU8.subarray(raw, raw + kernel.length)).toEqual(kernel);
    w.module._free(q);
    const copied = used() - before;
    w.call('cb_target_release', c);
    expect(used()).toBe(before);

    const p = w.bytes(kernel);
    const h = w.call('cb_target_register_owned', p, kernel.length);
    expect(h, err()).toBeGreaterThan(0);
    expect(w.call('cb_target_raw_data', h)).toBe(p);
    // the same parse and index, kept with the caller's copy instead of one of libbpf's
    expect(used() - before).toBe(copied);
    w.call('cb_target_release', h); // frees p with the BTF
    expect(used()).toBe(before);
  });

  it('relocates exactly as against a copied target', () => {
    const o = new Uint8Array(readFileSync(obj('bench_tasks')));
    const p = w.bytes(kernel);
    const owned = w.call('cb_target_register_owned', p, kernel.length);
    const q = w.bytes(kernel);
    const copied = w.call('cb_target_register', q, kernel.length);
    w.module._free(q);
    expect(owned).toBeGreaterThan(0);
    expect(copied).toBeGreaterThan(0);
    const a = w.run(o, 'bench_tasks', owned, '6.1.0');
    expect(a).toContain('"relocations"');
    expect(w.run(o, 'bench_tasks', copied, '6.1.0')).toBe(a);
    w.call('cb_target_release', owned);
    w.call('cb_target_release', copied);
  });

  it('frees a buffer whose BTF libbpf refuses, with the same reason as a copied one', () => {
    const bad = kernel.slice(0, 4096); // the header promises sections past the end
    const before = used();
    const q = w.bytes(bad);
    expect(w.call('cb_target_register', q, bad.length)).toBeLessThan(0);
    const why = err();
    expect(why).toMatch(/target BTF is not valid/);
    w.module._free(q);
    expect(used()).toBe(before);

    const p = w.bytes(bad);
    expect(w.call('cb_target_register_owned', p, bad.length)).toBeLessThan(0);
    expect(err()).toBe(why);
    expect(used()).toBe(before); // libbpf took it and freed it with the half-made BTF
  });

  it('frees the buffer of an ELF target, whose .BTF libbpf copies out of it', () => {
    const elf = new Uint8Array(readFileSync(obj('bench_tasks'))); // an ELF file with a .BTF section
    const before = used();
    const p = w.bytes(elf);
    const h = w.call('cb_target_register_owned', p, elf.length);
    expect(h, err()).toBeGreaterThan(0);
    const raw = w.call('cb_target_raw_data', h);
    expect(raw < p || raw >= p + elf.length).toBe(true);
    w.call('cb_target_release', h);
    expect(used()).toBe(before);
  });
});
