// Worker thread entry: exposes a RelocationService over comlink.
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { installErrorTransfer } from './errors-transfer.js';
import { RelocationService } from './service.js';

if (!parentPort) throw new Error('corebpf worker must run in a worker thread');
installErrorTransfer();
const service = new RelocationService((workerData as { wasmDir?: string } | undefined)?.wasmDir);
Comlink.expose(service, nodeEndpoint(parentPort));
