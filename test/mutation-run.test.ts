// A mutation run over hostile input (issue 15): hundreds of mutated BPF objects, target
// BTFs and load plans, with a fixed seed so a failure replays. Every one must end in a
// result or a typed error (CorebpfError, or BtfCodecError where documented): zero
// untyped errors, zero hangs, zero leaked fds. Plans load on a simulated kernel (no
// privileges, no kernel memory at stake); those whose maps are small also on the real
// kernel when bpf() is usable.
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as D from '../dist/index.js';
import { CorebpfError } from '../src/errors.js';
import { BpfObject } from '../src/host/object.js';
import { createNativeSyscalls, setSyscalls } from '../src/host/syscall.js';
import { SimulatedKernel } from './fault-kernel.js';
import { BTF_DIR, PROGS, TARGETS, corpus, fixtureBytes } from './helpers.js';
import { bpfUsable } from './kernel.js';

const SEED = 0x15c0ffee;
const COUNTS = { objects: 160, btfs: 100, plans: 300 };
const HANG_MS = 20_000;
const fdCount = (): number => readdirSync('/proc/self/fd').length;

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const int = (n: number) => Math.floor(rand() * n);
const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

/** byte-level mutations: flips, interesting 32-bit values, truncation, splices */
function mutateBytes(src: Uint8Array, from = 0): Uint8Array {
  let b = Uint8Array.from(src);
  const kind = int(5);
  const at = () => from + int(Math.max(1, b.length - from - 4));
  if (kind === 0) for (let i = 0, n = 1 + int(8); i < n; i++) b[at()]! ^= 1 << int(8);
  else if (kind === 1) new DataView(b.buffer).setUint32(at(), pick(INTERESTING), rand() < 0.5);
  else if (kind === 2) b = b.slice(0, from + int(b.length - from));
  else if (kind === 3) {
    const s = at();
    const len = 1 + int(64);
    b.copyWithin(at(), s, s + len);
  } else for (let i = 0, n = 1 + int(32); i < n; i++) b[at()] = int(256);
  return b;
}

/** JSON-level mutations of a plan: a random leaf or container gets a hostile value */
function mutatePlan(plan: unknown): unknown {
  const p = structuredClone(plan) as Record<string, unknown>;
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[], depth: number) => {
    if (depth > 6) return;
    paths.push(path);
    if (Array.isArray(v)) v.slice(0, 8).forEach((x, i) => walk(x, [...path, i], depth + 1));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (k !== 'relocations') walk(x, [...path, k], depth + 1);
  };
  walk(p, [], 0);
  const values: (() => unknown)[] = [
    () => null, () => -1, () => 2 ** 32, () => 2 ** 53, () => 1.5, () => 'x', () => '', () => ({}), () => [], () => true,
    () => '18446744073709551616', () => { const x: unknown[] = []; x.length = 3; return x; }, () => pick(INTERESTING),
    () => '/sys/fs/bpf/../../tmp/corebpf-mutation', () => Buffer.from(Uint8Array.from({ length: int(64) }, () => int(256))).toString('base64'),
    () => 0, () => 4096,
  ];
  for (let n = 1 + int(3); n > 0; n--) {
    const path = pick(paths.filter((x) => x.length > 0));
    let parent: Record<string | number, unknown> = p;
    for (const k of path.slice(0, -1)) parent = (parent?.[k] ?? null) as Record<string | number, unknown>;
    if (typeof parent !== 'object' || parent === null) continue; // an earlier change replaced it
    const key = path[path.length - 1]!;
    const old = parent[key];
    const b64 = typeof old === 'string' && /^[A-Za-z0-9+/]+=*$/.test(old) && old.length > 8;
    if (rand() < 0.6) {
      // plausible: same type, nearby or small values, same-length binary: these get past
      // the validator and reach replay and the kernel
      if (typeof old === 'number') parent[key] = pick([0, 1, 2, 4, 8, 16, old + 1, Math.max(0, old - 1), int(64)]);
      else if (typeof old === 'boolean') parent[key] = !old;
      else if (b64) {
        const bytes = Buffer.from(old, 'base64');
        for (let i = 0, n = 1 + int(4); i < n; i++) bytes[int(bytes.length)]! ^= 1 << int(8);
        parent[key] = bytes.toString('base64');
      } else parent[key] = pick(values)();
    } else if (b64 && rand() < 0.5) {
      parent[key] = Buffer.from(mutateBytes(Buffer.from(old, 'base64'))).toString('base64'); // binary field: mutate its bytes
    } else if (rand() < 0.1 && !Array.isArray(parent)) delete parent[key];
    else parent[key] = pick(values)();
  }
  return p;
}

async function bounded<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`HANG: ${what}`)), HANG_MS); })]);
  } finally {
    clearTimeout(timer);
  }
}

interface Tally { ok: number; typed: number; untyped: string[] }
const tally = (): Tally => ({ ok: 0, typed: 0, untyped: [] });
function classify(t: Tally, what: string, e: unknown, typed: (e: unknown) => boolean): void {
  if (typed(e)) t.typed++;
  else t.untyped.push(`${what}: ${(e as Error)?.name}: ${(e as Error)?.message?.slice(0, 200)}`);
}
const typedDist = (e: unknown) => e instanceof D.CorebpfError || e instanceof D.BtfCodecError;
const typedSrc = (e: unknown) => e instanceof CorebpfError;

const relocator = new D.Relocator({ size: 1 });
afterAll(async () => {
  setSyscalls(null);
  await relocator.close();
});

describe(`mutation run (seed ${SEED.toString(16)})`, () => {
  const objects = corpus().map((n) => ({ name: n, bytes: new Uint8Array(readFileSync(`${PROGS}/${n}.bpf.o`)) }));
  const target = fixtureBytes('amd64-6.12.107.btf.xz');

  it(`${COUNTS.objects} mutated objects through relocate(): a plan or a typed error, no hang`, async () => {
    const t = tally();
    for (let i = 0; i < COUNTS.objects; i++) {
      const o = pick(objects);
      const bytes = mutateBytes(o.bytes, 64); // past the ELF header: deeper into the file
      try {
        const r = await bounded(`object ${i}`, relocator.relocate(bytes, { btf: target, objectName: `m${i}` }));
        D.checkPlan(r.plan);
        t.ok++;
      } catch (e) {
        classify(t, `object ${i} (${o.name})`, e, typedDist);
      }
    }
    console.log(`[mutation-run] objects: ${t.ok} relocated, ${t.typed} typed errors, ${t.untyped.length} untyped; worker replaced ${relocator.pool.replaced}x`);
    expect(t.untyped).toEqual([]);
    expect(t.typed).toBeGreaterThan(0);
  });

  it(`${COUNTS.btfs} mutated target BTFs: a plan or a typed error, no hang`, async () => {
    const t = tally();
    const btf = new Uint8Array(readFileSync(`${TARGETS}/core_target.target.btf`));
    const objBytes = new Uint8Array(readFileSync(`${PROGS}/core_target.bpf.o`));
    for (let i = 0; i < COUNTS.btfs; i++) {
      const bytes = mutateBytes(btf);
      try {
        await bounded(`btf ${i}`, relocator.relocate(objBytes, { btf: bytes, objectName: 'core_target' }));
        t.ok++;
      } catch (e) {
        classify(t, `btf ${i}`, e, typedDist);
      }
    }
    console.log(`[mutation-run] target BTFs: ${t.ok} relocated, ${t.typed} typed errors, ${t.untyped.length} untyped`);
    expect(t.untyped).toEqual([]);
    expect(t.typed).toBeGreaterThan(0);
  });

  it(`${COUNTS.plans} mutated plans through fromPlan().load(): typed errors only, no fd left`, async () => {
    const plans: D.LoadPlan[] = [];
    for (const n of ['execsnoop', 'maps', 'global_data', 'map_in_map', 'tailcall', 'map_pinning', 'subprogs', 'core_kinds']) {
      plans.push((await relocator.relocate(`${PROGS}/${n}.bpf.o`, { btf: BTF_DIR + '/amd64-6.12.107.btf.xz' })).plan);
    }
    const real = bpfUsable() === null;
    const sim = new SimulatedKernel(createNativeSyscalls());
    const simT = tally();
    const realT = tally();
    const before = fdCount();
    for (let i = 0; i < COUNTS.plans; i++) {
      const text = JSON.stringify(mutatePlan(pick(plans)));
      // the simulated kernel: validation and replay logic, no kernel memory at stake
      setSyscalls(sim);
      try {
        const o = BpfObject.fromPlan(text);
        try {
          o.load();
          simT.ok++;
        } finally {
          o.close();
        }
      } catch (e) {
        classify(simT, `plan ${i} (simulated)`, e, typedSrc);
      } finally {
        setSyscalls(null);
      }
      expect(sim.live.size, `plan ${i}: simulated fds left open`).toBe(0);
      // the real kernel, for plans whose maps are small (a mutated max_entries must not
      // make this shared machine allocate gigabytes)
      if (!real) continue;
      let small = false;
      try {
        const p = D.parsePlan(text);
        small = p.maps.every((m) => m.maxEntries <= 1 << 16 && m.valueSize <= 1 << 16 && !m.pinPath);
      } catch { /* invalid plans are refused before the kernel anyway */ }
      try {
        const o = D.BpfObject.fromPlan(text);
        try {
          if (small) o.load();
          realT.ok++;
        } finally {
          o.close();
        }
      } catch (e) {
        classify(realT, `plan ${i} (real kernel)`, e, typedDist);
      }
    }
    expect(fdCount()).toBe(before);
    console.log(`[mutation-run] plans: simulated ${simT.ok} loaded / ${simT.typed} typed errors / ${simT.untyped.length} untyped; ` +
      `real kernel ${real ? `${realT.ok} loaded-or-skipped / ${realT.typed} typed errors / ${realT.untyped.length} untyped` : `skipped: ${bpfUsable()}`}`);
    expect(simT.untyped).toEqual([]);
    expect(realT.untyped).toEqual([]);
    expect(simT.typed).toBeGreaterThan(COUNTS.plans / 3);
  });
});
