// The running kernel's feature profile, probed in TypeScript (src/host/features), against
// libbpf 1.5 itself deciding on the same kernel (build/native/feature-oracle, built by
// `make native` from the pinned sources without the virtual kernel): same answer for every
// feature. Runs in the lab guests too (the oracle is a static binary).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FEATURE_PROBES, kernelFeatures, probeFeatures, resetKernelFeatures } from '../src/host/features/index.js';
import * as U from '../src/host/generated/uapi.js';
import { resetMemlock } from '../src/host/memlock.js';
import { bpfCmdName, getSyscalls, setSyscalls, syscallError } from '../src/host/syscall.js';
import { CorebpfWasm } from '../src/worker/wasm.js';
import { bpfUsable } from './kernel.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const oracle = process.env.COREBPF_FEATURE_ORACLE ?? join(root, 'build/native/feature-oracle');
const skipReason = bpfUsable();
if (skipReason) console.warn(`[kernel-features] real-kernel cases SKIPPED: ${skipReason}`);
const noOracle = existsSync(oracle) ? null : `${oracle} is not built (make native)`;
if (!skipReason && noOracle) console.warn(`[kernel-features] oracle comparison SKIPPED: ${noOracle}`);

afterEach(() => {
  setSyscalls(null);
  resetKernelFeatures();
  resetMemlock();
});

describe('feature probes', () => {
  it('cover exactly the features of the pinned libbpf, by the relocator\'s names', async () => {
    const wasm = await CorebpfWasm.load(join(root, 'dist/wasm'));
    const libbpf = wasm.features();
    const names = libbpf.map((f) => f.name.replace(/^FEAT_/, '').toLowerCase());
    expect(Object.keys(FEATURE_PROBES).sort()).toEqual([...names].sort());
    // and with libbpf's own descriptions
    for (const f of libbpf) expect(FEATURE_PROBES[f.name.replace(/^FEAT_/, '').toLowerCase()]!.desc).toBe(f.desc);
  });

  it.skipIf(skipReason !== null || noOracle !== null)('give the same answer as libbpf on this kernel, for every feature', () => {
    const want = JSON.parse(execFileSync(oracle, { encoding: 'utf8' })) as { features: Record<string, boolean> };
    const got = probeFeatures();
    expect(got.probed).toBe(true);
    expect(Object.keys(want.features).length).toBe(Object.keys(FEATURE_PROBES).length);
    expect(got.features).toEqual(want.features);
    // a kernel this suite runs on has BTF and global data at least: the probes did reach it
    expect(got.features.btf).toBe(true);
    expect(got.features.global_data).toBe(true);
  });

  it.skipIf(skipReason !== null)('probe once per process (per syscall layer) and cache', () => {
    const real = getSyscalls();
    let calls = 0;
    setSyscalls({ ...real, bpf: (cmd, attr) => (calls++, real.bpf(cmd, attr)) });
    const a = kernelFeatures();
    const first = calls;
    expect(first).toBeGreaterThan(Object.keys(FEATURE_PROBES).length - 2); // every probe asked the kernel
    const b = kernelFeatures();
    expect(b).toBe(a);
    expect(calls).toBe(first);
  });

  it('without bpf() permission: nothing probed, no features handed on', () => {
    const real = getSyscalls();
    let setrlimit = 0;
    setSyscalls({
      ...real,
      bpf: (cmd) => { throw syscallError(bpfCmdName(cmd), U.ERRNO.EPERM); },
      setrlimit: () => { setrlimit++; throw syscallError('setrlimit', U.ERRNO.EPERM); },
    });
    const p = probeFeatures();
    expect(p.probed).toBe(false);
    expect(p.features).toEqual({});
    expect(setrlimit).toBe(1); // memcg accounting could not be shown: libbpf tries to raise the limit
  });
});
