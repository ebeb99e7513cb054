// Cold relocation: the target BTF is parsed in every run (a kernel seen for the first time).
//   raw     the wasm module in this thread: copy BTF in, cb_target_register_owned, cb_run,
//           cb_target_release (what native's `--repeat N` times, plus the copies in/out)
//   worker  the public API: Relocator.relocate(object bytes, { btf }) with a BTF array no
//           worker has seen (a new array each run; no result cache): copy to the worker,
//           parse, relocate, the result back as bytes, parsed by the caller (the BTF's
//           sha256 for the plan's sources is computed meanwhile)
//   native  corebpf-native OBJ BTF --repeat N (cb_target_register_owned + cb_run per run)
import { freshTarget, nativeSamples } from '../lib/env.mjs';

export default {
  id: 'cold',
  variants: ['raw', 'worker'],
  title: 'cold relocation (target BTF parsed every run)',
  // issue 14: through the worker (the public API) within 1.3x of native; raw is informative
  goals: { worker: { kind: 'ratio', max: 1.3, text: '<=1.3x native' } },
  async run(ctx, target) {
    const { raw, object } = ctx;
    const rawOnce = () => {
      const h = raw.register(target.bytes);
      try {
        return raw.run(object.bytes, object.name, h);
      } finally {
        raw.release(h);
      }
    };
    const relocator = ctx.wants('worker') ? ctx.relocator() : undefined;
    const workerOnce = async () => {
      const btf = freshTarget(target.bytes, ctx.unique());
      const t0 = performance.now();
      const r = await relocator.relocate(object.bytes, { btf, objectName: object.name });
      const dt = performance.now() - t0;
      ctx.expect(r, { cached: false, relocator });
      return dt;
    };
    for (let i = 0; i < ctx.warmup; i++) {
      if (ctx.wants('raw')) rawOnce();
      if (relocator) await workerOnce();
    }
    return ctx.interleave({
      native: (n) => nativeSamples(ctx.native, object.path, target.path, { n }),
      raw: (n) => ctx.timeEach(n, rawOnce),
      worker: (n) => ctx.timeEachAsync(n, workerOnce),
    });
  },
};
