// The real verifier agrees with the reachability analysis (src/analysis/reach.ts).
//
// 1. guards.bpf.o, relocated for this kernel, loads: its failed flavor relocations are dead
//    code the verifier never visits.
// 2. guards.bpf.o and core_flavors.bpf.o relocated for EVERY little-endian kernel fixture
//    (with the fixture's kconfig and uname -v, so LINUX_KERNEL_VERSION and CONFIG_* are that
//    kernel's), loaded program by program into THIS kernel. The programs are tracepoints that
//    read kernel memory with bpf_probe_read_kernel, so another kernel's offsets are just
//    numbers here: what decides the verdict is whether a poisoned instruction is reachable,
//    with the frozen .kconfig map's values as constants. Every program the analysis calls ok
//    (guarded or not) must be accepted; every program with a reachable poisoned relocation
//    must be rejected at that poisoned call.
// Skips, saying why, without root / bpf().
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfObject, Relocator, VerifierError } from '../dist/index.js';
import { BTF_DIR, PROGS, fixtureBytes, fixtures } from './helpers.js';
import { bpfUsable } from './kernel.js';

const skipReason = bpfUsable();
if (skipReason) console.warn(`[kernel-guards] real-kernel tests SKIPPED: ${skipReason}`);

const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());

/** this kernel's config, as libbpf would read it */
function hostKconfig(): string | null {
  const boot = `/boot/config-${release()}`;
  if (existsSync(boot)) return readFileSync(boot, 'utf8');
  if (existsSync('/proc/config.gz')) return execFileSync('sh', ['-c', 'zcat /proc/config.gz'], { maxBuffer: 1 << 26 }).toString();
  return null;
}

const HOST_KCONFIG = skipReason ? null : hostKconfig();
if (!skipReason && HOST_KCONFIG === null) console.warn('[kernel-guards] no /boot/config-$(uname -r) nor /proc/config.gz: the this-kernel test is SKIPPED');

interface ManifestKernel { file: string; arch: string; kernelRelease: string; endianness: string; base?: string | null; version?: string; kconfig?: { file: string } }
const little = (fixtures() as unknown as ManifestKernel[]).filter((f) => !f.base && f.endianness === 'little');

/** Open `path` with `opts`; load each program alone: those whose failed relocations are all
 * guarded must load, those with a reachable one must be rejected at the poisoned call.
 * Returns how many failed relocations were guarded. */
async function expectVerdicts(path: string, opts: Parameters<typeof BpfObject.open>[1]): Promise<number> {
  const probe = await BpfObject.open(path, opts);
  await probe.relocate();
  const names = probe.plan.programs.map((p) => p.name);
  const reachable = new Set(probe.relocations.filter((r) => r.status === 'failed' && !r.guarded).map((r) => r.reachPath?.program ?? r.program));
  const guarded = probe.relocations.filter((r) => r.guarded).length;
  probe.close();
  for (const name of names) {
    const o = await BpfObject.open(path, opts);
    try {
      if (reachable.has(name)) {
        let err: unknown;
        try {
          await o.load({ programs: [name] });
        } catch (e) {
          err = e;
        }
        expect(err, `${name}: the analysis says a poisoned instruction is reachable`).toBeInstanceOf(VerifierError);
        expect((err as VerifierError).message).toMatch(/unknown#195896080|CO-RE relocation/);
      } else {
        await o.load({ programs: [name] });
        expect(o.program(name).fd, name).toBeGreaterThan(0);
      }
    } finally {
      o.close();
    }
  }
  return guarded;
}

describe.skipIf(skipReason !== null)('the verifier accepts what the analysis calls dead', () => {
  // guards.bpf.o has .kconfig externs: without this kernel's config it cannot be relocated for it
  it.skipIf(HOST_KCONFIG === null)('guards.bpf.o relocated for this kernel: every program without a reachable poisoned relocation loads', async () => {
    const guarded = await expectVerdicts(`${PROGS}/guards.bpf.o`, { relocator, kconfig: HOST_KCONFIG! });
    expect(guarded, 'one flavor of the state pair is missing on any kernel').toBeGreaterThan(0);
  }, 60_000);

  for (const f of little) {
    for (const object of ['guards', 'core_flavors']) {
      it(`${object} relocated for ${f.file}: accepted iff no poisoned instruction is reachable`, async () => {
        const cfg = f.kconfig?.file ?? f.file.replace(/\.btf\.xz$/, '.config.xz');
        expect(existsSync(`${BTF_DIR}/${cfg}`), `${cfg}: every fixture brings its kconfig`).toBe(true);
        const kconfig = execFileSync('xz', ['-dc', `${BTF_DIR}/${cfg}`], { maxBuffer: 1 << 26 }).toString();
        const opts = { relocator, btf: fixtureBytes(f.file), kconfig, kernelRelease: f.kernelRelease, kernelVersion: f.version ? `#1 SMP Debian ${f.version}` : undefined };
        const guarded = await expectVerdicts(`${PROGS}/${object}.bpf.o`, opts);
        expect(guarded, 'something to guard on every kernel').toBeGreaterThan(0);
      }, 60_000);
    }
  }
});
