#!/usr/bin/env node
// The floor under load-peers' start and memory goals: a process that does only what any
// load through corebpf's design must do before libbpf can relocate anything, and nothing
// else (no package import, no relocation, no bpf(2)):
//   - start a worker thread (the relocation runs off the caller's thread),
//   - compile corebpf.wasm there (V8 compiles lazily, as the pool does),
//   - read the target kernel's BTF into wasm memory (libbpf holds it there while it relocates).
//
//   node bench/lib/floor-child.cjs WASM BTF
//
// Prints `vmhwm KB` (VmHWM of /proc/self/status, as bench/lib/load-child.mjs) and exits;
// load-peers times it from spawn to exit. Exits 1 with the error on stderr on any failure.
'use strict';
const { readFileSync } = require('node:fs');
const { Worker } = require('node:worker_threads');

const [wasm, btf] = process.argv.slice(2);
const worker = new Worker(`
const { closeSync, openSync, readFileSync, readSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const module = new WebAssembly.Module(readFileSync(workerData.wasm));
// read straight into wasm memory (sysfs BTF's size is known from the read, not from stat)
const fd = openSync(workerData.btf, 'r');
let memory = new WebAssembly.Memory({ initial: 1 });
let size = 0;
for (;;) {
  if (memory.buffer.byteLength - size < 1 << 20) memory.grow(64);
  const n = readSync(fd, new Uint8Array(memory.buffer), size, memory.buffer.byteLength - size, null);
  if (n === 0) break;
  size += n;
}
closeSync(fd);
parentPort.postMessage({ exports: WebAssembly.Module.exports(module).length, size });
`, { eval: true, workerData: { wasm, btf } });
worker.once('error', (e) => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
worker.once('message', (m) => {
  if (!(m.exports > 0 && m.size > 0)) {
    process.stderr.write(`the worker compiled ${m.exports} exports and read ${m.size} bytes of BTF\n`);
    process.exit(1);
  }
  const kb = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+)/m)?.[1] ?? -1;
  process.stdout.write(`vmhwm ${kb}\n`);
  process.exit(0);
});
