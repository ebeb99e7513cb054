// V8 CPU profile of the raw wasm relocation loop (after warm-up), through the inspector:
// the same .cpuprofile that `node --cpu-prof` writes, minus module load and warm-up.
import { Session } from 'node:inspector/promises';
import { basename } from 'node:path';
import { RawWasm } from './env.mjs';

/** @returns {{ profile: object, msPerRun: number }} */
export async function profileWasm({ wasmDir, objPath, object, btf, mode, runs = 30, warmup = 8, intervalUs = 100 }) {
  const raw = await RawWasm.load(wasmDir);
  const name = basename(objPath).replace(/\..*$/, '');
  let h = raw.register(btf);
  const once = () => {
    if (mode === 'cold') {
      raw.release(h);
      h = raw.register(btf);
    }
    return raw.run(object, name, h);
  };
  for (let i = 0; i < warmup; i++) once();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) once();
  const msPerRun = (performance.now() - t0) / runs;
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  raw.release(h);
  return { profile, msPerRun };
}

/** self and inclusive time per function name (ms and %) from a V8 .cpuprofile; with
 * `within`, only samples whose stack holds a function of that name (the timed loop) */
export function summarizeProfile(profile, within) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n) => {
    const f = n.callFrame;
    const fn = f.functionName || '(anonymous)';
    return f.url && !f.url.startsWith('wasm://') ? `${fn} (${f.url.replace(/^.*\//, '')})` : fn;
  };
  const self = new Map();
  const incl = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    if (within) {
      let cur = id;
      while (cur !== undefined && byId.get(cur).callFrame.functionName !== within) cur = parent.get(cur);
      if (cur === undefined) return;
    }
    total += dt;
    const n = byId.get(id);
    self.set(label(n), (self.get(label(n)) ?? 0) + dt);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur));
      if (!seen.has(l)) {
        seen.add(l);
        incl.set(l, (incl.get(l) ?? 0) + dt);
      }
    }
  });
  const rank = (m) => [...m].sort((a, b) => b[1] - a[1]).map(([name, ms]) => ({ name, ms, pct: (100 * ms) / total }));
  return { totalMs: total, self: rank(self), inclusive: rank(incl) };
}

/** time under function `name`, split by its direct callees ('(self)' for its own code) */
export function calleesOf(profile, name) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const agg = new Map();
  let under = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    let child = '(self)';
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const fn = byId.get(cur).callFrame.functionName;
      if (fn === name) {
        under += dt;
        agg.set(child, (agg.get(child) ?? 0) + dt);
        return;
      }
      child = fn || '(anonymous)';
    }
  });
  return { ms: under, callees: [...agg].sort((a, b) => b[1] - a[1]).map(([n, ms]) => ({ name: n, ms, pct: (100 * ms) / (under || 1) })) };
}
