// The running kernel's config goes to the worker as the lines libbpf reads for the object's
// .kconfig externs (src/object-externs.ts configFor), not all ~8000: the plan must be the
// one the whole config gives, for every corpus object with CONFIG_ externs.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Relocator } from '../dist/index.js';
import { configFor, objectExterns } from '../src/object-externs.js';
import { BTF_DIR, PROGS, corpus, fixtureBytes } from './helpers.js';

const relocator = new Relocator({ size: 1, resultCache: 0 });
afterAll(() => relocator.close());
const full = execFileSync('xz', ['-dc', `${BTF_DIR}/amd64-6.1.176.config.xz`], { encoding: 'utf8', maxBuffer: 1 << 24 });
const btf = fixtureBytes('amd64-6.1.176.btf.xz');
const withKconfig = corpus().filter((n) => objectExterns(readFileSync(`${PROGS}/${n}.bpf.o`)).kconfig.length > 0);

describe('kernel config lines for the externs', () => {
  it('there are objects with CONFIG_ externs to check', () => expect(withKconfig.length).toBeGreaterThan(1));

  for (const name of withKconfig) {
    it(`${name}: the same plan as with the whole config, from a small part of it`, async () => {
      const bytes = new Uint8Array(readFileSync(`${PROGS}/${name}.bpf.o`));
      const names = objectExterns(bytes).kconfig;
      const lines = configFor(full, names);
      expect(lines.length).toBeLessThan(full.length / 20);
      for (const l of lines.trim().split('\n')) expect(names).toContain(l.slice(0, l.indexOf('=')));
      const run = async (kconfig: string) => {
        try {
          const r = await relocator.relocate(bytes, { btf, kernelRelease: '6.1.0-0-amd64', kconfig });
          return JSON.stringify({ plan: { ...r.plan, sources: undefined }, relocations: r.relocations });
        } catch (e) {
          return `${(e as Error).constructor.name}: ${(e as Error).message}`;
        }
      };
      const whole = await run(full);
      if (name !== 'host_env') expect(whole).toMatch(/^\{"plan"/); // relocated (host_env also needs kallsyms)
      expect(await run(lines)).toBe(whole);
    });
  }

  it('keeps what libbpf would refuse, and the whole text when none of the lines is there', () => {
    const text = '# comment\nCONFIG_A=y\nCONFIG_HZ=300\n\nCONFIG_BROKEN\nCONFIG_B=m\n';
    expect(configFor(text, ['CONFIG_HZ'])).toBe('CONFIG_HZ=300\nCONFIG_BROKEN\n');
    expect(configFor('CONFIG_A=y\n', ['CONFIG_HZ'])).toBe('CONFIG_A=y\n');
    expect(configFor('CONFIG_HZ=1\0CONFIG_A=y\n', ['CONFIG_HZ'])).toBe('CONFIG_HZ=1\0CONFIG_A=y\n');
  });
});
