// Warm relocation: the target BTF was parsed once and is reused (many objects, one kernel).
//   raw     the wasm module in this thread: cb_run against a registered target handle
//   worker  the public API: one Relocator without result cache (every call is relocated in
//           the worker, which ctx.expect checks), the same BTF bytes every call (the worker
//           keeps the parsed target; only the object travels): the object's image to the
//           worker, relocate, the result back as bytes, parsed by the caller
//   native  corebpf-native OBJ BTF --repeat N --warm (cb_run per run, target parsed once)
import { nativeSamples } from '../lib/env.mjs';

export default {
  id: 'warm',
  variants: ['raw', 'worker'],
  title: 'warm relocation (target BTF parsed once, reused)',
  // issue 14: relocation through the worker (the public API) within 1.2x of native; the raw
  // row (no worker) is informative: the floor the worker row stands on
  goals: { worker: { kind: 'ratio', max: 1.2, text: '<=1.2x native' } },
  // V8 tiers a wasm function up after --wasm-tiering-budget bytes of it ran (the pool raises
  // the budget, src/worker/pool.ts): ~40 warm relocations before the steady state
  minWarmup: 50,
  async run(ctx, target) {
    const { raw, object } = ctx;
    const h = raw.register(target.bytes);
    const rawOnce = () => raw.run(object.bytes, object.name, h);
    const relocator = ctx.wants('worker') ? ctx.relocator() : undefined;
    const btf = target.bytes.slice(); // one array for the whole case: hashed once, cached by the worker
    const workerOnce = async () => {
      const t0 = performance.now();
      const r = await relocator.relocate(object.bytes, { btf, objectName: object.name });
      const dt = performance.now() - t0;
      ctx.expect(r, { cached: true, relocator });
      return dt;
    };
    try {
      // parses the target
      if (relocator) ctx.expect(await relocator.relocate(object.bytes, { btf, objectName: object.name }), { cached: false, relocator });
      for (let i = 0; i < ctx.warmup; i++) {
        if (ctx.wants('raw')) rawOnce();
        if (relocator) await workerOnce();
      }
      return await ctx.interleave({
        native: (n) => nativeSamples(ctx.native, object.path, target.path, { n, warm: true }),
        raw: (n) => ctx.timeEach(n, rawOnce),
        worker: (n) => ctx.timeEachAsync(n, workerOnce),
      });
    } finally {
      raw.release(h);
    }
  },
};
