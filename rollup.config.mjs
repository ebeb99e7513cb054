// Bundles tsc's output (build/tsc) into dist/: the library, the worker and the CLI, each a
// single self-contained file (no shared chunks: import.meta.url must be dist/ in all of them,
// for ./worker.js and ./wasm/). Dependencies stay external; dist/wasm comes from the Makefile.
const external = (id) => id.startsWith('node:') || id === 'comlink' || id.startsWith('comlink/') || id === 'koffi';
const bundle = (name, input, extra = {}) => ({
  input,
  external,
  output: { file: `dist/${name}.js`, format: 'es', ...extra },
});

export default [
  bundle('index', 'build/tsc/index.js'),
  bundle('worker', 'build/tsc/worker/worker.js'),
  bundle('cli', 'build/tsc/cli.js', { banner: '#!/usr/bin/env node' }),
];
