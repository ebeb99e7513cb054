// Warm relocation: the target BTF was parsed once and is reused (many objects, one kernel).
//   raw     the wasm module in this thread: cb_run against a registered target handle
//   worker  the public API: one Relocator, the same BTF bytes every call (the worker keeps
//           the parsed target; only the object travels): copy to the worker, relocate,
//           JSON.parse, structured clone of the result back
//   native  corebpf-native OBJ BTF --repeat N --warm (cb_run per run, target parsed once)
import { nativeSamples } from '../lib/env.mjs';

export default {
  id: 'warm',
  variants: ['raw', 'worker'],
  title: 'warm relocation (target BTF parsed once, reused)',
  goal: { kind: 'ms', max: 0.7, text: '<=0.7 ms' },
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
      ctx.expect(r, { cached: true });
      return dt;
    };
    try {
      if (relocator) await relocator.relocate(object.bytes, { btf, objectName: object.name }); // parses the target
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
