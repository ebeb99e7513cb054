// What a plan needs of a kernel beyond its types (src/analysis/needs.ts), judged against what
// real Debian kernels' BTF says they offer (src/btf/kernel-features.ts): the helpers that may
// run, the map types, the program types. Offline; the kernels' own verdicts on the same
// cells are asserted in test/check-verify.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import { Relocator, kernelFeaturesFromBtf, kernelOffersFromBtf, parseBtf, unmetNeeds, type LoadPlan } from '../dist/index.js';
import { fixtureBytes, obj } from './helpers.js';

const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());

const K510 = fixtureBytes('amd64-5.10.223.btf.xz');
const K61 = fixtureBytes('amd64-6.1.176.btf.xz');
const profile510 = kernelFeaturesFromBtf(parseBtf(K510), '5.10.0-32-amd64');
const offers510 = kernelOffersFromBtf(parseBtf(K510));
const offers61 = kernelOffersFromBtf(parseBtf(K61));

async function plan(name: string, btf: Uint8Array, features?: Record<string, boolean>): Promise<LoadPlan> {
  const r = await relocator.relocate(obj(name), { btf, kernelRelease: btf === K510 ? '5.10.0-32-amd64' : '6.1.0-50-amd64', features });
  return r.plan;
}

describe('a plan\'s needs against what a kernel offers', () => {
  it('bpf_loop / bpf_for_each_map_elem callbacks: missing on 5.10, present on 6.1', async () => {
    const p = await plan('subprogs', K510, profile510.features);
    const unmet = unmetNeeds(p, offers510);
    expect(unmet.map((u) => [u.program, u.need, u.name])).toEqual([
      ['prog_a', 'helper', 'bpf_loop'],
      ['prog_b', 'helper', 'bpf_for_each_map_elem'],
    ]);
    expect(unmet.every((u) => typeof u.insn === 'number')).toBe(true);
    expect(unmetNeeds(await plan('subprogs', K61), offers61)).toEqual([]);
  });

  it('a map type belongs to the programs that use the map', async () => {
    const p = await plan('maps', K510, profile510.features);
    const unmet = unmetNeeds(p, offers510);
    expect(unmet.map((u) => [u.need, u.name, u.map])).toContainEqual(['map-type', 'BPF_MAP_TYPE_BLOOM_FILTER', 'bloom']);
    const users = p.programs.filter((q) => q.mapRefs.some((r) => p.maps[r.map]!.name === 'bloom')).map((q) => q.name);
    expect(unmet.filter((u) => u.need === 'map-type').map((u) => u.program)).toEqual(users);
  });

  it('a helper call in code the plan\'s constants make dead is not a need (usdt.bpf.h without BPF cookies)', async () => {
    // 5.10 as libbpf sees it: no BPF cookies, LINUX_HAS_BPF_COOKIE is 0, the cookie branch is dead
    const asOn510 = await plan('usdt.x86', K510, profile510.features);
    expect(unmetNeeds(asOn510, offers510)).toEqual([]);
    // the same object relocated as if the kernel had cookies: the call is live, and 5.10 lacks it
    const assumed = await plan('usdt.x86', K510, { ...profile510.features, bpf_cookie: true });
    const unmet = unmetNeeds(assumed, offers510);
    expect(unmet.length).toBeGreaterThan(0);
    expect(unmet.every((u) => u.need === 'helper' && u.name === 'bpf_get_attach_cookie' && u.id === 174)).toBe(true);
  });

  it('nothing is judged where the kernel\'s BTF carries no enum to judge by', async () => {
    const p = await plan('subprogs', K510, profile510.features);
    expect(unmetNeeds(p, { helpers: null, mapTypes: null, progTypes: null })).toEqual([]);
  });
});
