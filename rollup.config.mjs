// Bundles tsc's output (build/tsc) into dist/: the library, the worker and the CLI, each a
// single self-contained file (no shared chunks: import.meta.url must be dist/ in all of them,
// for ./worker.cjs and ./wasm/). Dependencies stay external; dist/wasm comes from the Makefile.
const external = (id) => id.startsWith('node:') || id === 'comlink' || id.startsWith('comlink/') || id === 'koffi';
const bundle = (name, input, extra = {}) => ({
  input,
  external,
  output: { file: `dist/${name}.js`, format: 'es', ...extra },
});
// The worker is CommonJS: a new thread runs a CommonJS entry ~10-15 ms sooner than an ES
// module one (Node sets up its ES module loader for the thread first), and nothing imports it.
const workerBundle = { input: 'build/tsc/worker/worker.js', external, output: { file: 'dist/worker.cjs', format: 'cjs' } };

export default [
  bundle('index', 'build/tsc/index.js'),
  workerBundle,
  bundle('cli', 'build/tsc/cli.js', { banner: '#!/usr/bin/env node' }),
];
