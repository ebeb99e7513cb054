// `btf min` (src/btf-min.ts, wasm/btfgen.c): BTFGen. The minimal BTF must relocate each
// object to the same instructions as the full kernel BTF, be a small fraction of it, and
// (oracle) equal what Debian's bpftool `gen min_core_btf` writes for the same inputs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { btfMin, ObjectFormatError, readBtf, Relocator } from '../dist/index.js';
import { parseBtf } from '../src/btf/reader.js';
import { BTF_DIR, PROGS } from './helpers.js';
import { skipWith } from './kernel.js';

const relocator = new Relocator({ size: 1 });
const tmp = mkdtempSync(join(tmpdir(), 'corebpf-btf-min-'));
afterAll(() => {
  relocator.close();
  rmSync(tmp, { recursive: true, force: true });
});
const bpftool = ['/usr/sbin/bpftool', '/usr/bin/bpftool'].find((p) => existsSync(p));

/** corpus objects with CO-RE relocations of every kind: fields, flavors, guards, enums, types */
const OBJECTS = ['execsnoop', 'core_basic', 'core_kinds', 'core_flavors', 'guards', 'heldout_runqslower', 'heldout_filemtime', 'tcp_connect'];
/** both byte orders, the oldest and newest amd64, arm64 */
const KERNELS = ['amd64-5.10.223', 'amd64-7.2.13', 'arm64-6.1.176', 's390x-7.2.13'];
const obj = (n: string, k = 'amd64') => join(PROGS, `${n}.${k.startsWith('s390x') ? 'bpfeb' : 'bpf'}.o`);
const fixture = (k: string) => join(BTF_DIR, `${k}.btf.xz`);
const insnsOf = (plan: { programs: { name: string; insns: string }[] }) => plan.programs.map((p) => [p.name, p.insns]);
const kconfigOf = (k: string) => new TextDecoder().decode(execFileSync('xz', ['-dc', join(BTF_DIR, `${k}.config.xz`)], { maxBuffer: 1 << 26 }));
/** BTF-attached programs (tp_btf, fentry, ...) name their hook in the kernel's own BTF,
 *  which BTFGen does not keep (bpftool's neither: kernels without BTF have no such hooks);
 *  they are turned off for the comparison */
async function withoutBtfHooks(o: string): Promise<{ adjustments: { programs: Record<string, { autoload: boolean }> } }> {
  const spec = await relocator.open(o);
  const off = spec.programs.filter((p) => /^(tp_btf|fentry|fexit|fmod_ret|lsm|iter|freplace)[./]/.test(p.section));
  return { adjustments: { programs: Object.fromEntries(off.map((p) => [p.name, { autoload: false }])) } };
}
type Result = Awaited<ReturnType<Relocator['relocate']>>;

/** The same relocation results; type_id_target values are ids into the BTF itself, renumbered
 *  by construction (as with bpftool's files): they must name the same type instead. */
function expectSameRelocation(withMin: Result, withFull: Result, min: Uint8Array, full: Uint8Array, what: string): void {
  const minBtf = parseBtf(min);
  const fullBtf = parseBtf(full);
  const view = (r: Result, btf: ReturnType<typeof parseBtf>) => r.relocations.map((x) =>
    [x.access, x.kind, x.status, x.kind === 'type_id_target' && x.target !== null ? `type ${btf.typeById(Number(x.target)).name}` : x.target]);
  expect(view(withMin, minBtf), what).toEqual(view(withFull, fullBtf));
  if (!withFull.relocations.some((x) => x.kind === 'type_id_target')) expect(insnsOf(withMin.plan), what).toEqual(insnsOf(withFull.plan));
}

function bpftoolMin(full: Uint8Array, objects: string[]): Uint8Array {
  writeFileSync(join(tmp, 'full.btf'), full);
  execFileSync(bpftool!, ['gen', 'min_core_btf', join(tmp, 'full.btf'), join(tmp, 'min.btf'), ...objects], { stdio: 'ignore' });
  return new Uint8Array(readFileSync(join(tmp, 'min.btf')));
}

describe('btf min: relocates as the full BTF does, a fraction of its size', () => {
  it.each(KERNELS)('%s: every corpus object, same instructions with the minimal BTF', async (k) => {
    const full = readBtf(fixture(k));
    // the objects with .kconfig externs (guards) need the kernel's version and config
    const kconf = { kernelRelease: k.split('-')[1], kconfig: kconfigOf(k) };
    let compared = 0;
    for (const o of OBJECTS) {
      const min = await btfMin([obj(o, k)], full, { relocator });
      expect(min.byteLength, `${o} on ${k}`).toBeLessThan(full.byteLength * 0.02);
      const adj = await withoutBtfHooks(obj(o, k));
      const withFull = await relocator.relocate(obj(o, k), { btf: full, ...kconf, ...adj });
      const withMin = await relocator.relocate(obj(o, k), { btf: min, ...kconf, ...adj });
      compared += withFull.relocations.length;
      expectSameRelocation(withMin, withFull, min, full, `${o} on ${k}`);
    }
    expect(compared).toBeGreaterThan(40);
  });

  it('one minimal BTF for several objects serves each of them', async () => {
    const full = readBtf(fixture('amd64-7.2.13'));
    const min = await btfMin(OBJECTS.map((o) => obj(o)), full, { relocator });
    for (const o of OBJECTS) {
      const opts = { kernelRelease: '7.2.13', kconfig: kconfigOf('amd64-7.2.13'), ...await withoutBtfHooks(obj(o)) };
      expectSameRelocation(await relocator.relocate(obj(o), { btf: min, ...opts }), await relocator.relocate(obj(o), { btf: full, ...opts }), min, full, o);
    }
  });

  it('inputs that are not what they should be: typed errors naming them', async () => {
    const full = readBtf(fixture('amd64-7.2.13'));
    // an object without CO-RE records keeps nothing: an empty BTF (as bpftool writes)
    expect(parseBtf(await btfMin([join(PROGS, 'socket_filter.bpf.o')], full, { relocator })).typeCount).toBe(0);
    // an ELF that is no BPF object (no .BTF)
    await expect(btfMin([process.execPath], full, { relocator })).rejects.toThrow(/no \.BTF section/);
    await expect(btfMin([obj('execsnoop')], new Uint8Array(64), { relocator })).rejects.toThrow(/not valid BTF/);
    await expect(btfMin([], full, { relocator })).rejects.toThrow(ObjectFormatError);
  });
});

describe('btf min equals bpftool gen min_core_btf', () => {
  // Debian's bpftool 7.1 cannot read big-endian objects (s390x's): little-endian kernels only
  it.each(KERNELS.filter((k) => !k.startsWith('s390x')))('%s: each corpus object, and all of them at once, byte for byte', async (k, ctx) => {
    if (!bpftool) skipWith(ctx, 'bpftool is not installed (apt-get install bpftool)');
    const full = readBtf(fixture(k));
    for (const o of OBJECTS) {
      expect(Buffer.from(await btfMin([obj(o, k)], full, { relocator })).equals(Buffer.from(bpftoolMin(full, [obj(o, k)]))), `${o} on ${k}`).toBe(true);
    }
    const all = OBJECTS.map((o) => obj(o, k));
    expect(Buffer.from(await btfMin(all, full, { relocator })).equals(Buffer.from(bpftoolMin(full, all)))).toBe(true);
  });
});
