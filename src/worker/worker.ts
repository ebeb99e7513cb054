// Worker thread entry: exposes a RelocationService over comlink.
import { parentPort, workerData } from 'node:worker_threads';
import { comlink, nodeEndpoint } from '../lazy-modules.js';
import { installErrorTransfer } from './errors-transfer.js';
import { RelocationService } from './service.js';
import { CorebpfWasm, Wasm, type WasmModule } from './wasm.js';
import type { WorkerStart } from './pool.js';

if (!parentPort) throw new Error('corebpf worker must run in a worker thread');
installErrorTransfer();
const start = (workerData ?? {}) as WorkerStart;
// the module arrives compiled (the pool compiles it once, while this thread was starting);
// instantiated now, before the first request
const compiled = start.wasmPort && new Promise<WasmModule | undefined>((resolve) => {
  start.wasmPort!.once('message', (m: unknown) => {
    start.wasmPort!.close();
    resolve(m instanceof Wasm.Module ? m : undefined);
  });
});
CorebpfWasm.preload(start.wasmDir, compiled);
const service = new RelocationService(start.wasmDir);
comlink().expose(service, nodeEndpoint()(parentPort));
